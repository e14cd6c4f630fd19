/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <kvmdbg/debug_core.h>

#define BP_PC		0x1000	/* a breakpoint of the debugger */
#define GUEST_PC	0x1100	/* a trap instruction of the guest */
#define EXEC_ADDR	0x2000	/* slot 0 */
#define WRITE_ADDR	0x3000	/* slot 1, 8 bytes */
#define ACCESS_ADDR	0x5000	/* slot 3, 2 bytes; slot 2 is free */

struct fixture {
	struct kd_bptable *t;
	struct kd_hwslots s;
};

static int setup(void **state)
{
	static struct fixture f;
	struct kd_swbp bp = { .addr = BP_PC, .gpa = 0x81000, .len = 1 };

	f.t = kd_bptable_new();
	if (!f.t || kd_bptable_insert(f.t, &bp))
		return -1;
	kd_hwslots_init(&f.s, 4);
	if (kd_hwslots_alloc(&f.s, KD_HW_EXEC, EXEC_ADDR, 1) != 0 ||
	    kd_hwslots_alloc(&f.s, KD_HW_WRITE, WRITE_ADDR, 8) != 1 ||
	    kd_hwslots_alloc(&f.s, KD_HW_READ, 0x4000, 4) != 2 ||
	    kd_hwslots_alloc(&f.s, KD_HW_ACCESS, ACCESS_ADDR, 2) != 3 ||
	    kd_hwslots_free(&f.s, KD_HW_READ, 0x4000, 4) != 2)
		return -1;
	/* Stale data past n must never count as a used slot. */
	f.s.slot[4] = (struct kd_hwslot){
		.used = true, .type = KD_HW_WRITE, .addr = 0x6000, .len = 8,
	};
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	kd_bptable_free(f->t);
	return 0;
}

static struct kd_verdict decide(void **state, bool step_requested,
				struct kd_debug_event ev)
{
	struct fixture *f = *state;

	return kd_decide(f->t, &f->s, step_requested, &ev);
}

static void assert_mine(struct kd_verdict v, enum kd_stop_kind kind,
			uint64_t addr)
{
	assert_true(v.mine);
	assert_false(v.deliver);
	assert_int_equal(v.kind, kind);
	assert_int_equal(v.addr, addr);
}

static void assert_guest(struct kd_verdict v)
{
	assert_false(v.mine);
	assert_true(v.deliver);
}

static void test_own_breakpoint(void **state)
{
	struct kd_debug_event ev = { .pc = BP_PC, .trap_insn = true };

	assert_mine(decide(state, false, ev), KD_STOP_SWBREAK, BP_PC);
	assert_mine(decide(state, true, ev), KD_STOP_SWBREAK, BP_PC);
	ev.stepped = true;
	assert_mine(decide(state, true, ev), KD_STOP_SWBREAK, BP_PC);
	/* The breakpoint wins over a watch reported with it. */
	ev.slots_hit = 1u << 1;
	ev.data_addr_valid = true;
	ev.data_addr = WRITE_ADDR;
	assert_mine(decide(state, true, ev), KD_STOP_SWBREAK, BP_PC);
}

static void test_guest_trap(void **state)
{
	struct kd_debug_event ev = { .pc = GUEST_PC, .trap_insn = true };

	assert_guest(decide(state, false, ev));
	/* Stepping onto the guest's own int3: the guest gets its #BP. */
	assert_guest(decide(state, true, ev));
	ev.stepped = true;
	assert_guest(decide(state, true, ev));
	assert_guest(decide(state, false, ev));
	/* ...unless one of the debugger's slots fired too. */
	ev.slots_hit = 1u << 0;
	assert_mine(decide(state, true, ev), KD_STOP_HWBREAK, GUEST_PC);
}

static void test_breakpoint_address_without_trap(void **state)
{
	struct kd_debug_event ev = { .pc = BP_PC };

	/* Reaching a breakpoint's address is not hitting it. */
	assert_guest(decide(state, false, ev));
	assert_guest(decide(state, true, ev));
	ev.stepped = true;
	assert_mine(decide(state, true, ev), KD_STOP_SIGNAL, BP_PC);
}

static void test_exec_slot(void **state)
{
	struct kd_debug_event ev = { .pc = EXEC_ADDR, .slots_hit = 1u << 0 };

	assert_mine(decide(state, false, ev), KD_STOP_HWBREAK, EXEC_ADDR);
	ev.data_addr_valid = true;
	ev.data_addr = 0x9999;
	assert_mine(decide(state, false, ev), KD_STOP_HWBREAK, EXEC_ADDR);
}

static void test_watch_kinds(void **state)
{
	struct fixture *f = *state;
	struct kd_debug_event ev = { .pc = 0x7000, .slots_hit = 1u << 1 };
	struct kd_hwslots s;

	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR);
	ev.slots_hit = 1u << 3;
	assert_mine(decide(state, false, ev), KD_STOP_AWATCH, ACCESS_ADDR);

	kd_hwslots_init(&s, 1);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_READ, 0x4000, 4), 0);
	ev.slots_hit = 1u << 0;
	assert_mine(kd_decide(f->t, &s, false, &ev), KD_STOP_RWATCH, 0x4000);
}

static void test_watch_address(void **state)
{
	struct fixture *f = *state;
	struct kd_debug_event ev = {
		.pc = 0x7000, .slots_hit = 1u << 1, .data_addr_valid = true,
	};
	struct kd_hwslots s;

	ev.data_addr = WRITE_ADDR;
	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR);
	ev.data_addr = WRITE_ADDR + 5;
	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR + 5);
	ev.data_addr = WRITE_ADDR + 7;
	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR + 7);
	ev.data_addr = WRITE_ADDR + 8;
	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR);
	ev.data_addr = WRITE_ADDR - 1;
	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR);
	ev.data_addr = 0;
	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR);
	/* An address inside the range counts only when marked valid. */
	ev.data_addr = WRITE_ADDR + 5;
	ev.data_addr_valid = false;
	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR);

	/* A slot ending at the top of the address space. */
	kd_hwslots_init(&s, 2);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_ACCESS,
					  UINT64_MAX - 3, 4), 0);
	ev.slots_hit = 1u << 0;
	ev.data_addr_valid = true;
	ev.data_addr = UINT64_MAX;
	assert_mine(kd_decide(f->t, &s, false, &ev), KD_STOP_AWATCH,
		    UINT64_MAX);
	ev.data_addr = 2;
	assert_mine(kd_decide(f->t, &s, false, &ev), KD_STOP_AWATCH,
		    UINT64_MAX - 3);
}

static void test_slot_preference(void **state)
{
	struct fixture *f = *state;
	struct kd_debug_event ev = { .pc = 0x7000 };
	struct kd_hwslots s;

	/* A watch beats an exec slot with a lower index. */
	ev.slots_hit = 1u << 0 | 1u << 3;
	assert_mine(decide(state, false, ev), KD_STOP_AWATCH, ACCESS_ADDR);
	/* Between watches the lowest index wins. */
	ev.slots_hit = 1u << 1 | 1u << 3;
	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR);
	ev.slots_hit = 1u << 0 | 1u << 1 | 1u << 3;
	assert_mine(decide(state, false, ev), KD_STOP_WATCH, WRITE_ADDR);

	/* The exec slot of the same pool as a later watch of each kind. */
	kd_hwslots_init(&s, 4);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_READ, 0x100, 1), 0);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_EXEC, 0x200, 1), 1);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_EXEC, 0x300, 1), 2);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_WRITE, 0x400, 1), 3);
	ev.slots_hit = 1u << 1 | 1u << 2;
	assert_mine(kd_decide(f->t, &s, false, &ev), KD_STOP_HWBREAK, 0x7000);
	ev.slots_hit = 1u << 1 | 1u << 2 | 1u << 3;
	assert_mine(kd_decide(f->t, &s, false, &ev), KD_STOP_WATCH, 0x400);
	ev.slots_hit = 0xf;
	assert_mine(kd_decide(f->t, &s, false, &ev), KD_STOP_RWATCH, 0x100);
}

static void test_unused_slot_bits(void **state)
{
	struct kd_debug_event ev = { .pc = 0x7000, .slots_hit = 1u << 2 };

	/* Slot 2 is free, slot 4 lies past n, bit 31 past every pool. */
	assert_guest(decide(state, false, ev));
	assert_guest(decide(state, true, ev));
	ev.slots_hit = 1u << 4 | 1u << 31 | 0xfff0;
	assert_guest(decide(state, false, ev));
	ev.stepped = true;
	assert_mine(decide(state, true, ev), KD_STOP_SIGNAL, 0x7000);
	/* An unused lower bit does not hide a used slot above it. */
	ev.stepped = false;
	ev.slots_hit = 1u << 2 | 1u << 3;
	assert_mine(decide(state, false, ev), KD_STOP_AWATCH, ACCESS_ADDR);
}

static void test_step(void **state)
{
	struct kd_debug_event ev = { .pc = 0x7000, .stepped = true };

	assert_mine(decide(state, true, ev), KD_STOP_SIGNAL, 0x7000);
	/* A step nobody asked for is the guest's own (its TF). */
	assert_guest(decide(state, false, ev));
	/* A step was asked for but something else happened. */
	ev.stepped = false;
	assert_guest(decide(state, true, ev));
	assert_guest(decide(state, false, ev));
	/* A slot of the debugger wins over the finished step. */
	ev.stepped = true;
	ev.slots_hit = 1u << 1;
	assert_mine(decide(state, true, ev), KD_STOP_WATCH, WRITE_ADDR);
}

static void test_empty_pools(void **state)
{
	struct kd_bptable *t = kd_bptable_new();
	struct kd_debug_event ev = {
		.pc = BP_PC, .trap_insn = true, .slots_hit = 0xffffffff,
	};
	struct kd_hwslots s;

	assert_non_null(t);
	kd_hwslots_init(&s, 0);
	assert_guest(kd_decide(t, &s, false, &ev));
	ev.trap_insn = false;
	ev.stepped = true;
	assert_mine(kd_decide(t, &s, true, &ev), KD_STOP_SIGNAL, BP_PC);
	kd_bptable_free(t);
}

/*
 * Every combination of causes against the rules written out as a table:
 * which cause wins, and that deliver is exactly !mine.  The loop counts
 * how often each rule decided, against figures worked out from the bit
 * layout, so that an enumeration that never reaches a rule fails.
 */
static void test_all_combinations(void **state)
{
	static const enum kd_stop_kind slot_kind[4] = {
		KD_STOP_HWBREAK, KD_STOP_WATCH, KD_STOP_SIGNAL, KD_STOP_AWATCH,
	};
	static const uint64_t slot_addr[4] = {
		EXEC_ADDR, WRITE_ADDR, 0, ACCESS_ADDR,
	};
	struct kd_debug_event ev;
	struct kd_verdict v;
	enum { OWN_TRAP, SLOT, AT_DATA_ADDR, STEP, GUEST, NRULES };
	unsigned bits, mask, w, decided[NRULES] = { 0 };
	bool own, req, inside;

	for (bits = 0; bits < 1u << 10; bits++) {
		mask = bits >> 5 & 0x1f;
		own = bits & 2;
		req = bits & 4;
		ev = (struct kd_debug_event){
			.pc = own ? BP_PC : GUEST_PC,
			.trap_insn = bits & 1,
			.stepped = bits & 8,
			.data_addr_valid = bits & 16,
			.slots_hit = mask,
		};
		/* Inside slot 1 (write) but outside slot 3 (access). */
		ev.data_addr = WRITE_ADDR + 3;
		v = decide(state, req, ev);
		assert_int_equal(v.deliver, !v.mine);
		if (ev.trap_insn && own) {
			assert_mine(v, KD_STOP_SWBREAK, ev.pc);
			decided[OWN_TRAP]++;
		} else if (mask & 0xb) {
			w = mask & 0x2 ? 1 : mask & 0x8 ? 3 : 0;
			inside = ev.data_addr_valid && w == 1;
			assert_mine(v, slot_kind[w],
				    w == 0 ? ev.pc :
				    inside ? ev.data_addr : slot_addr[w]);
			decided[SLOT]++;
			decided[AT_DATA_ADDR] += inside;
		} else if (ev.stepped && req && !ev.trap_insn) {
			assert_mine(v, KD_STOP_SIGNAL, ev.pc);
			decided[STEP]++;
		} else {
			assert_guest(v);
			decided[GUEST]++;
		}
	}
	/* trap_insn and own: a quarter of 1024. */
	assert_int_equal(decided[OWN_TRAP], 256);
	/* Of the other 768, the 28 in 32 masks with slot 0, 1 or 3 ... */
	assert_int_equal(decided[SLOT], 672);
	/* ... half of them with slot 1 (the write watch), and of those the
	 * half with a valid data address. */
	assert_int_equal(decided[AT_DATA_ADDR], 192);
	/* The 96 left: (trap, own) in 3 ways, stepped, req, data_addr_valid,
	 * 4 masks; stepped, requested and no trap in 2 * 2 * 4 of them. */
	assert_int_equal(decided[STEP], 16);
	assert_int_equal(decided[GUEST], 80);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_own_breakpoint, setup, teardown),
		cmocka_unit_test_setup_teardown(test_guest_trap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_breakpoint_address_without_trap,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_exec_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_kinds, setup, teardown),
		cmocka_unit_test_setup_teardown(test_watch_address, setup, teardown),
		cmocka_unit_test_setup_teardown(test_slot_preference, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unused_slot_bits, setup, teardown),
		cmocka_unit_test_setup_teardown(test_step, setup, teardown),
		cmocka_unit_test(test_empty_pools),
		cmocka_unit_test_setup_teardown(test_all_combinations, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
