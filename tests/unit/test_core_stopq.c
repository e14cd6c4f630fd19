/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>

#include <cmocka.h>

#include <kvmdbg/debug_core.h>

static struct kd_stop_event ev(unsigned vcpu, enum kd_stop_kind kind,
			       uint64_t addr)
{
	return (struct kd_stop_event){
		.vcpu = vcpu, .kind = kind, .addr = addr, .signal = SIGTRAP,
	};
}

static void push_ok(struct kd_stopq *q, unsigned vcpu, enum kd_stop_kind kind,
		    uint64_t addr)
{
	struct kd_stop_event e = ev(vcpu, kind, addr);

	assert_int_equal(kd_stopq_push(q, &e), 0);
}

static unsigned pop_vcpu(struct kd_stopq *q)
{
	struct kd_stop_event e;

	assert_true(kd_stopq_pop(q, &e));
	return e.vcpu;
}

static void test_empty(void **state)
{
	struct kd_stopq *q = kd_stopq_new(4);
	struct kd_stop_event e = ev(7, KD_STOP_WATCH, 0x55);
	unsigned v;

	assert_non_null(q);
	assert_int_equal(kd_stopq_count(q), 0);
	assert_false(kd_stopq_pop(q, &e));
	/* A failed pop leaves *out alone. */
	assert_int_equal(e.vcpu, 7);
	assert_int_equal(e.addr, 0x55);
	for (v = 0; v < 4; v++)
		assert_false(kd_stopq_pending(q, v));
	assert_int_equal(kd_stopq_discard_swbreak(q, 0), 0);
	kd_stopq_free(q);
	kd_stopq_free(NULL);
}

static void test_push_pop_copies(void **state)
{
	struct kd_stopq *q = kd_stopq_new(2);
	struct kd_stop_event in = {
		.vcpu = 1, .kind = KD_STOP_SIGNAL, .addr = 0xffffffff80001234,
		.signal = SIGINT,
	};
	struct kd_stop_event out = { 0 };

	assert_int_equal(kd_stopq_push(q, &in), 0);
	in.addr = 0;		/* the queue holds its own copy */
	assert_true(kd_stopq_pending(q, 1));
	assert_false(kd_stopq_pending(q, 0));
	assert_int_equal(kd_stopq_count(q), 1);
	assert_true(kd_stopq_pop(q, &out));
	assert_int_equal(out.vcpu, 1);
	assert_int_equal(out.kind, KD_STOP_SIGNAL);
	assert_int_equal(out.addr, 0xffffffff80001234);
	assert_int_equal(out.signal, SIGINT);
	assert_false(kd_stopq_pending(q, 1));
	assert_int_equal(kd_stopq_count(q), 0);
	assert_false(kd_stopq_pop(q, &out));
	kd_stopq_free(q);
}

static void test_busy_and_invalid(void **state)
{
	struct kd_stopq *q = kd_stopq_new(3);
	struct kd_stop_event e;

	push_ok(q, 2, KD_STOP_SWBREAK, 0x1000);
	e = ev(2, KD_STOP_HWBREAK, 0x2000);
	assert_int_equal(kd_stopq_push(q, &e), -EBUSY);
	e = ev(3, KD_STOP_SWBREAK, 0x1000);
	assert_int_equal(kd_stopq_push(q, &e), -EINVAL);
	e = ev(UINT_MAX, KD_STOP_SWBREAK, 0x1000);
	assert_int_equal(kd_stopq_push(q, &e), -EINVAL);
	assert_int_equal(kd_stopq_count(q), 1);
	assert_false(kd_stopq_pending(q, 3));
	assert_false(kd_stopq_pending(q, UINT_MAX));

	/* The first event survives the rejected one. */
	assert_true(kd_stopq_pop(q, &e));
	assert_int_equal(e.vcpu, 2);
	assert_int_equal(e.kind, KD_STOP_SWBREAK);
	assert_int_equal(e.addr, 0x1000);
	push_ok(q, 2, KD_STOP_HWBREAK, 0x2000);
	kd_stopq_free(q);
}

static void test_no_vcpus(void **state)
{
	struct kd_stopq *q = kd_stopq_new(0);
	struct kd_stop_event e = ev(0, KD_STOP_SIGNAL, 0);

	assert_non_null(q);
	assert_int_equal(kd_stopq_push(q, &e), -EINVAL);
	assert_false(kd_stopq_pending(q, 0));
	assert_false(kd_stopq_pop(q, &e));
	assert_int_equal(kd_stopq_count(q), 0);
	kd_stopq_free(q);
}

static void test_round_robin_order(void **state)
{
	struct kd_stopq *q = kd_stopq_new(4);

	/* Nothing popped yet: vCPU 0 goes first. */
	push_ok(q, 2, KD_STOP_SIGNAL, 0);
	push_ok(q, 0, KD_STOP_SIGNAL, 0);
	assert_int_equal(pop_vcpu(q), 0);
	assert_int_equal(pop_vcpu(q), 2);
	/* After 2 comes 3, then wrap to 1. */
	push_ok(q, 1, KD_STOP_SIGNAL, 0);
	push_ok(q, 3, KD_STOP_SIGNAL, 0);
	assert_int_equal(pop_vcpu(q), 3);
	/* 2 pushed again after 3 was served waits for 1. */
	push_ok(q, 2, KD_STOP_SIGNAL, 0);
	assert_int_equal(pop_vcpu(q), 1);
	assert_int_equal(pop_vcpu(q), 2);
	assert_int_equal(kd_stopq_count(q), 0);
	kd_stopq_free(q);
}

static void test_fairness(void **state)
{
	struct kd_stopq *q = kd_stopq_new(4);
	unsigned served[4] = { 0 };
	unsigned i, v, prev = 3;

	for (v = 0; v < 4; v++)
		push_ok(q, v, KD_STOP_SIGNAL, v);
	/* Every vCPU stops again at once; none may crowd the others out. */
	for (i = 0; i < 1000; i++) {
		v = pop_vcpu(q);
		assert_int_equal(v, (prev + 1) % 4);
		served[v]++;
		prev = v;
		push_ok(q, v, KD_STOP_SIGNAL, v);
		assert_int_equal(kd_stopq_count(q), 4);
	}
	for (v = 0; v < 4; v++)
		assert_int_equal(served[v], 250);
	kd_stopq_free(q);
}

static void test_no_starvation(void **state)
{
	struct kd_stopq *q = kd_stopq_new(8);
	bool seen[8] = { false };
	unsigned i, v;

	/* vCPU 0 stops again the moment it is resumed. */
	for (v = 0; v < 8; v++)
		push_ok(q, v, KD_STOP_SIGNAL, 0);
	for (i = 0; i < 8; i++) {
		v = pop_vcpu(q);
		assert_false(seen[v]);
		seen[v] = true;
		if (v == 0)
			push_ok(q, 0, KD_STOP_SIGNAL, 0);
	}
	for (v = 0; v < 8; v++)
		assert_true(seen[v]);
	assert_int_equal(pop_vcpu(q), 0);
	assert_int_equal(kd_stopq_count(q), 0);
	kd_stopq_free(q);
}

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

#define NV 5

/* Random pushes, pops and discards against a per-vCPU model. */
static void test_no_loss_no_duplicate(void **state)
{
	struct kd_stopq *q = kd_stopq_new(NV);
	struct kd_stop_event model[NV] = { { 0 } }, e;
	bool pending[NV] = { false };
	uint64_t seed = 0x2545f4914f6cdd1d, serial = 1;
	uint64_t pushed = 0, popped = 0, dropped = 0, last_seen[NV] = { 0 };
	size_t n, want;
	unsigned i, v, op;

	for (i = 0; i < 20000; i++) {
		op = next_rand(&seed) % 8;
		v = next_rand(&seed) % (NV + 1);
		if (op < 4) {
			/* serial makes every event unique and ordered */
			e = ev(v, op % 2 ? KD_STOP_SWBREAK : KD_STOP_WATCH,
			       serial);
			if (v == NV) {
				assert_int_equal(kd_stopq_push(q, &e), -EINVAL);
			} else if (pending[v]) {
				assert_int_equal(kd_stopq_push(q, &e), -EBUSY);
			} else {
				assert_int_equal(kd_stopq_push(q, &e), 0);
				pending[v] = true;
				model[v] = e;
				serial++;
				pushed++;
			}
		} else if (op < 7) {
			if (!kd_stopq_pop(q, &e)) {
				for (v = 0; v < NV; v++)
					assert_false(pending[v]);
				continue;
			}
			assert_true(e.vcpu < NV);
			assert_true(pending[e.vcpu]);
			assert_int_equal(e.addr, model[e.vcpu].addr);
			assert_int_equal(e.kind, model[e.vcpu].kind);
			assert_true(e.addr > last_seen[e.vcpu]);
			last_seen[e.vcpu] = e.addr;
			pending[e.vcpu] = false;
			popped++;
		} else {
			/* Discard the event of a random vCPU by its address. */
			v %= NV;
			want = pending[v] && model[v].kind == KD_STOP_SWBREAK;
			n = kd_stopq_discard_swbreak(q, model[v].addr);
			assert_int_equal(n, want);
			if (want) {
				pending[v] = false;
				dropped++;
			}
		}
		n = 0;
		for (v = 0; v < NV; v++) {
			assert_int_equal(kd_stopq_pending(q, v), pending[v]);
			n += pending[v];
		}
		assert_int_equal(kd_stopq_count(q), n);
	}
	while (kd_stopq_pop(q, &e)) {
		assert_true(pending[e.vcpu]);
		pending[e.vcpu] = false;
		popped++;
	}
	assert_int_equal(pushed, popped + dropped);
	assert_true(popped > 1000);
	assert_true(dropped > 100);
	kd_stopq_free(q);
}

static void test_discard_swbreak(void **state)
{
	struct kd_stopq *q = kd_stopq_new(6);
	struct kd_stop_event e;

	push_ok(q, 0, KD_STOP_SWBREAK, 0xa000);
	push_ok(q, 1, KD_STOP_SWBREAK, 0xb000);
	push_ok(q, 2, KD_STOP_HWBREAK, 0xa000);
	push_ok(q, 3, KD_STOP_WATCH, 0xa000);
	push_ok(q, 4, KD_STOP_SWBREAK, 0xa000);
	push_ok(q, 5, KD_STOP_SIGNAL, 0xa000);
	assert_int_equal(kd_stopq_discard_swbreak(q, 0xa000), 2);
	assert_int_equal(kd_stopq_count(q), 4);
	assert_false(kd_stopq_pending(q, 0));
	assert_false(kd_stopq_pending(q, 4));
	assert_int_equal(kd_stopq_discard_swbreak(q, 0xa000), 0);
	assert_int_equal(kd_stopq_discard_swbreak(q, 0xa001), 0);
	assert_int_equal(kd_stopq_count(q), 4);

	assert_true(kd_stopq_pop(q, &e));
	assert_int_equal(e.vcpu, 1);
	assert_int_equal(e.kind, KD_STOP_SWBREAK);
	assert_int_equal(pop_vcpu(q), 2);
	assert_int_equal(pop_vcpu(q), 3);
	assert_int_equal(pop_vcpu(q), 5);
	assert_false(kd_stopq_pop(q, &e));
	/* A vCPU whose event was dropped may stop again. */
	push_ok(q, 0, KD_STOP_SWBREAK, 0xa000);
	assert_int_equal(kd_stopq_count(q), 1);
	kd_stopq_free(q);
}

static void test_pop_among_eligible(void **state)
{
	struct kd_stopq *q = kd_stopq_new(4);
	const bool only_2_3[4] = { false, false, true, true };
	const bool none[4] = { false };
	struct kd_stop_event e;

	assert_non_null(q);
	push_ok(q, 0, KD_STOP_SWBREAK, 0x1000);
	push_ok(q, 1, KD_STOP_SWBREAK, 0x1000);
	push_ok(q, 3, KD_STOP_HWBREAK, 0x2000);
	/* Held vCPUs' events wait; the eligible one is served. */
	assert_true(kd_stopq_pop_among(q, only_2_3, &e));
	assert_int_equal(e.vcpu, 3);
	assert_int_equal(e.kind, KD_STOP_HWBREAK);
	assert_false(kd_stopq_pop_among(q, only_2_3, &e));
	assert_false(kd_stopq_pop_among(q, none, &e));
	assert_int_equal(kd_stopq_count(q), 2);
	/* Round robin goes on after vCPU 3: vCPU 0, then 1. */
	assert_int_equal(pop_vcpu(q), 0);
	assert_int_equal(pop_vcpu(q), 1);
	assert_int_equal(kd_stopq_count(q), 0);
	kd_stopq_free(q);
}

static void test_discard_by_kind(void **state)
{
	struct kd_stopq *q = kd_stopq_new(3);

	assert_non_null(q);
	push_ok(q, 0, KD_STOP_HWBREAK, 0x1000);
	push_ok(q, 1, KD_STOP_SWBREAK, 0x1000);
	push_ok(q, 2, KD_STOP_HWBREAK, 0x2000);
	assert_int_equal(kd_stopq_discard(q, KD_STOP_HWBREAK, 0x1000), 1);
	assert_false(kd_stopq_pending(q, 0));
	assert_true(kd_stopq_pending(q, 1));
	assert_true(kd_stopq_pending(q, 2));
	assert_int_equal(kd_stopq_discard(q, KD_STOP_HWBREAK, 0x1000), 0);
	assert_int_equal(kd_stopq_count(q), 2);
	kd_stopq_free(q);
}

static void test_clear(void **state)
{
	struct kd_stopq *q = kd_stopq_new(3);
	struct kd_stop_event e;
	unsigned v;

	for (v = 0; v < 3; v++)
		push_ok(q, v, KD_STOP_SWBREAK, 0x10 * v);
	kd_stopq_clear(q);
	assert_int_equal(kd_stopq_count(q), 0);
	for (v = 0; v < 3; v++)
		assert_false(kd_stopq_pending(q, v));
	assert_false(kd_stopq_pop(q, &e));
	assert_int_equal(kd_stopq_discard_swbreak(q, 0x10), 0);
	push_ok(q, 1, KD_STOP_SIGNAL, 0);
	assert_int_equal(pop_vcpu(q), 1);
	kd_stopq_free(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_push_pop_copies),
		cmocka_unit_test(test_busy_and_invalid),
		cmocka_unit_test(test_no_vcpus),
		cmocka_unit_test(test_round_robin_order),
		cmocka_unit_test(test_fairness),
		cmocka_unit_test(test_no_starvation),
		cmocka_unit_test(test_no_loss_no_duplicate),
		cmocka_unit_test(test_discard_swbreak),
		cmocka_unit_test(test_pop_among_eligible),
		cmocka_unit_test(test_discard_by_kind),
		cmocka_unit_test(test_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
