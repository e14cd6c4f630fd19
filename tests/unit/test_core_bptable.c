/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <kvmdbg/debug_core.h>

#define PAGE 0x1000u

static uint64_t next_rand(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* orig carries a tag so that callbacks can tell entries apart. */
static struct kd_swbp mkbp(uint64_t addr, uint64_t gpa, uint8_t len,
			   uint32_t tag)
{
	struct kd_swbp bp = { .addr = addr, .gpa = gpa, .len = len };

	memcpy(bp.orig, &tag, sizeof(tag));
	return bp;
}

static uint32_t tag_of(const struct kd_swbp *bp)
{
	uint32_t tag;

	memcpy(&tag, bp->orig, sizeof(tag));
	return tag;
}

static void insert_ok(struct kd_bptable *t, uint64_t addr, uint64_t gpa,
		      uint8_t len, uint32_t tag)
{
	struct kd_swbp bp = mkbp(addr, gpa, len, tag);

	assert_int_equal(kd_bptable_insert(t, &bp), 0);
}

/* Counts callbacks per tag; tags must be below max. */
struct visits {
	unsigned *count;
	uint32_t max;
	unsigned total;
};

static void count_visit(struct kd_swbp *bp, void *opaque)
{
	struct visits *v = opaque;
	uint32_t tag = tag_of(bp);

	assert_true(tag < v->max);
	v->count[tag]++;
	v->total++;
}

static unsigned range_total(struct kd_bptable *t, uint64_t gpa, uint64_t len,
			    unsigned *count, uint32_t max)
{
	struct visits v = { .count = count, .max = max };

	memset(count, 0, max * sizeof(*count));
	kd_bptable_for_range(t, gpa, len, count_visit, &v);
	return v.total;
}

static void test_empty(void **state)
{
	struct kd_bptable *t = kd_bptable_new();
	unsigned count[1];
	struct visits v = { .count = count, .max = 1 };
	struct kd_swbp out = mkbp(1, 2, 3, 0);

	assert_non_null(t);
	assert_int_equal(kd_bptable_count(t), 0);
	assert_null(kd_bptable_find(t, 0));
	assert_int_equal(kd_bptable_remove(t, 0, &out), -ENOENT);
	assert_int_equal(out.addr, 1);
	assert_int_equal(range_total(t, 0, UINT64_MAX, count, 1), 0);
	assert_int_equal(range_total(t, 0x1000, 0x1000, count, 1), 0);
	kd_bptable_for_each(t, count_visit, &v);
	assert_int_equal(v.total, 0);
	kd_bptable_free(t);
	kd_bptable_free(NULL);
}

static void test_insert_find_remove(void **state)
{
	struct kd_bptable *t = kd_bptable_new();
	struct kd_swbp bp = mkbp(0xffffffff81000000, 0x1000000, 1, 0xcc);
	struct kd_swbp dup = mkbp(0xffffffff81000000, 0x2000000, 4, 0xdd);
	struct kd_swbp out, *p;

	assert_int_equal(kd_bptable_insert(t, &bp), 0);
	bp.gpa = 0;		/* the table keeps its own copy */
	assert_int_equal(kd_bptable_insert(t, &dup), -EEXIST);
	assert_int_equal(kd_bptable_count(t), 1);

	p = kd_bptable_find(t, 0xffffffff81000000);
	assert_non_null(p);
	assert_int_equal(p->addr, 0xffffffff81000000);
	assert_int_equal(p->gpa, 0x1000000);
	assert_int_equal(p->len, 1);
	assert_int_equal(tag_of(p), 0xcc);
	assert_null(kd_bptable_find(t, 0xffffffff81000001));
	assert_null(kd_bptable_find(t, 0x1000000));

	/* The guest wrote over the trap: the caller records the new byte. */
	p->orig[0] = 0x90;
	assert_int_equal(kd_bptable_find(t, 0xffffffff81000000)->orig[0], 0x90);

	assert_int_equal(kd_bptable_remove(t, 0xffffffff81000000, &out), 0);
	assert_int_equal(out.addr, 0xffffffff81000000);
	assert_int_equal(out.gpa, 0x1000000);
	assert_int_equal(out.len, 1);
	assert_int_equal(out.orig[0], 0x90);
	assert_int_equal(kd_bptable_count(t), 0);
	assert_null(kd_bptable_find(t, 0xffffffff81000000));
	assert_int_equal(kd_bptable_remove(t, 0xffffffff81000000, &out),
			 -ENOENT);

	/* Reinserting after removal works, and out may be NULL. */
	assert_int_equal(kd_bptable_insert(t, &dup), 0);
	assert_int_equal(kd_bptable_find(t, dup.addr)->gpa, 0x2000000);
	assert_int_equal(kd_bptable_remove(t, dup.addr, NULL), 0);
	assert_int_equal(kd_bptable_count(t), 0);
	kd_bptable_free(t);
}

static void test_invalid(void **state)
{
	struct kd_bptable *t = kd_bptable_new();
	struct kd_swbp bp;
	unsigned count[3];

	bp = mkbp(0x10, 0x10, 0, 0);
	assert_int_equal(kd_bptable_insert(t, &bp), -EINVAL);
	bp = mkbp(0x10, 0x10, KD_TRAP_MAX + 1, 0);
	assert_int_equal(kd_bptable_insert(t, &bp), -EINVAL);
	bp = mkbp(0x10, UINT64_MAX, 2, 0);
	assert_int_equal(kd_bptable_insert(t, &bp), -EINVAL);
	bp = mkbp(0x10, UINT64_MAX - 6, KD_TRAP_MAX, 0);
	assert_int_equal(kd_bptable_insert(t, &bp), -EINVAL);
	assert_int_equal(kd_bptable_count(t), 0);
	assert_null(kd_bptable_find(t, 0x10));

	/* The very last bytes of the address space are fine. */
	insert_ok(t, 0x10, UINT64_MAX, 1, 0);
	insert_ok(t, 0x20, UINT64_MAX - 7, KD_TRAP_MAX, 1);
	insert_ok(t, 0x30, 0, KD_TRAP_MAX, 2);
	assert_int_equal(range_total(t, UINT64_MAX, 1, count, 3), 2);
	assert_int_equal(count[0] + count[1], 2);
	/* A range running past 2^64 stops there instead of wrapping to 0. */
	assert_int_equal(range_total(t, UINT64_MAX - 1, 100, count, 3), 2);
	assert_int_equal(count[2], 0);
	assert_int_equal(range_total(t, UINT64_MAX - 8, 1, count, 3), 0);
	/* [0, 2^64 - 1) misses only the last byte; [1, 2^64) misses byte 0. */
	assert_int_equal(range_total(t, 0, UINT64_MAX, count, 3), 2);
	assert_int_equal(count[0], 0);
	assert_int_equal(range_total(t, 1, UINT64_MAX, count, 3), 3);
	kd_bptable_free(t);
}

static void test_aliases(void **state)
{
	struct kd_bptable *t = kd_bptable_new();
	unsigned count[3];

	/* Two virtual addresses of one physical byte, and a neighbour. */
	insert_ok(t, 0x400000, 0x9000, 1, 0);
	insert_ok(t, 0xffff800000009000, 0x9000, 1, 1);
	insert_ok(t, 0x400001, 0x9001, 1, 2);
	assert_int_equal(kd_bptable_count(t), 3);

	assert_int_equal(range_total(t, 0x9000, 1, count, 3), 2);
	assert_int_equal(count[0], 1);
	assert_int_equal(count[1], 1);
	assert_int_equal(range_total(t, 0x9000, 2, count, 3), 3);

	assert_int_equal(kd_bptable_remove(t, 0x400000, NULL), 0);
	assert_int_equal(range_total(t, 0x9000, 1, count, 3), 1);
	assert_int_equal(count[1], 1);
	assert_int_equal(range_total(t, 0x9000, PAGE, count, 3), 2);
	assert_int_equal(kd_bptable_remove(t, 0xffff800000009000, NULL), 0);
	assert_int_equal(range_total(t, 0x9000, 1, count, 3), 0);
	assert_int_equal(range_total(t, 0x8000, 3 * PAGE, count, 3), 1);
	assert_int_equal(count[2], 1);
	kd_bptable_free(t);
}

static void test_straddling_trap(void **state)
{
	struct kd_bptable *t = kd_bptable_new();
	unsigned count[4];

	insert_ok(t, 0xa, 0x1ffe, 4, 0);	/* 0x1ffe..0x2001 */
	insert_ok(t, 0xb, 0x1fff, 1, 1);	/* last byte of a page */
	insert_ok(t, 0xc, 0x2000, 1, 2);	/* first byte of the next */
	insert_ok(t, 0xd, 0x2ff8, KD_TRAP_MAX, 3);

	assert_int_equal(range_total(t, 0x1000, PAGE, count, 4), 2);
	assert_int_equal(count[0], 1);
	assert_int_equal(count[1], 1);
	assert_int_equal(range_total(t, 0x2000, PAGE, count, 4), 3);
	assert_int_equal(count[0], 1);
	assert_int_equal(count[2], 1);
	assert_int_equal(count[3], 1);
	/* Seen from both pages but reported once. */
	assert_int_equal(range_total(t, 0x1000, 2 * PAGE, count, 4), 4);
	assert_int_equal(count[0], 1);
	assert_int_equal(range_total(t, 0x1ffe, 4, count, 4), 3);
	assert_int_equal(count[0], 1);
	/* Touching one byte of it at either end. */
	assert_int_equal(range_total(t, 0x2001, 1, count, 4), 1);
	assert_int_equal(count[0], 1);
	assert_int_equal(range_total(t, 0x1ff0, 0xf, count, 4), 1);
	assert_int_equal(count[0], 1);
	/* Just past it on both sides. */
	assert_int_equal(range_total(t, 0x2002, 0xff6, count, 4), 0);
	assert_int_equal(range_total(t, 0x1f00, 0xfe, count, 4), 0);
	assert_int_equal(range_total(t, 0x1ffe, 0, count, 4), 0);

	/* Removing it clears it from both pages. */
	assert_int_equal(kd_bptable_remove(t, 0xa, NULL), 0);
	assert_int_equal(range_total(t, 0x1000, PAGE, count, 4), 1);
	assert_int_equal(count[1], 1);
	assert_int_equal(range_total(t, 0x2000, PAGE, count, 4), 2);
	assert_int_equal(count[0], 0);
	kd_bptable_free(t);
}

static void bump_orig(struct kd_swbp *bp, void *opaque)
{
	bp->orig[KD_TRAP_MAX - 1]++;
}

static void test_callbacks_update_orig(void **state)
{
	struct kd_bptable *t = kd_bptable_new();
	uint64_t i;

	for (i = 0; i < 100; i++)
		insert_ok(t, i, 0x100000 + i * 0x80, 1, (uint32_t)i);
	kd_bptable_for_each(t, bump_orig, NULL);
	kd_bptable_for_range(t, 0x100000, 0x80 * 10, bump_orig, NULL);
	for (i = 0; i < 100; i++)
		assert_int_equal(kd_bptable_find(t, i)->orig[KD_TRAP_MAX - 1],
				 i < 10 ? 2 : 1);
	kd_bptable_free(t);
}

/* ---- Random operations against a reference model ------------------------ */

#define POOL 2048
#define REGION 0x40000000u	/* physical region: pages 0x40000 on */
#define REGION_PAGES 32

struct model {
	uint64_t addr[POOL];
	bool present[POOL];
	struct kd_swbp bp[POOL];
	size_t n;
	unsigned count[POOL];
};

static bool overlaps(const struct kd_swbp *bp, uint64_t gpa, uint64_t len)
{
	uint64_t last;

	if (!len)
		return false;
	last = len - 1 > UINT64_MAX - gpa ? UINT64_MAX : gpa + len - 1;
	return bp->gpa <= last && bp->gpa + bp->len - 1 >= gpa;
}

static void check_range(struct kd_bptable *t, struct model *m, uint64_t gpa,
			uint64_t len)
{
	unsigned total, want = 0;
	uint32_t i;

	total = range_total(t, gpa, len, m->count, POOL);
	for (i = 0; i < POOL; i++) {
		bool hit = m->present[i] && overlaps(&m->bp[i], gpa, len);

		assert_int_equal(m->count[i], hit);
		want += hit;
	}
	assert_int_equal(total, want);
}

static void pick_range(uint64_t *seed, uint64_t *gpa, uint64_t *len)
{
	uint64_t r = next_rand(seed);

	*gpa = REGION - 2 * PAGE + next_rand(seed) % ((REGION_PAGES + 4) * PAGE);
	switch (r % 7) {
	case 0:
		*len = 1 + r / 7 % 8;
		break;
	case 1:
		/* Around a page boundary. */
		*gpa = (*gpa & ~(uint64_t)(PAGE - 1)) - r / 7 % 8;
		*len = 1 + r / 64 % 16;
		break;
	case 2:
		*len = r / 7 % (3 * PAGE);
		break;
	case 3:
		*len = r / 7 % (REGION_PAGES * PAGE);
		break;
	case 4:
		/* Up to the top of the address space or past it. */
		*len = UINT64_MAX - *gpa + 1 + r / 7 % 3;
		break;
	case 5:
		*gpa = r / 7 % 2;
		*len = UINT64_MAX;
		break;
	default:
		*len = 0;
		break;
	}
}

static void check_all(struct kd_bptable *t, struct model *m, uint64_t *seed)
{
	struct visits v = { .count = m->count, .max = POOL };
	uint64_t gpa, len;
	struct kd_swbp *p;
	uint32_t i;

	assert_int_equal(kd_bptable_count(t), m->n);
	for (i = 0; i < POOL; i++) {
		p = kd_bptable_find(t, m->addr[i]);
		if (!m->present[i]) {
			assert_null(p);
			continue;
		}
		assert_non_null(p);
		assert_memory_equal(p, &m->bp[i], sizeof(*p));
	}
	memset(m->count, 0, sizeof(m->count));
	kd_bptable_for_each(t, count_visit, &v);
	assert_int_equal(v.total, m->n);
	for (i = 0; i < POOL; i++)
		assert_int_equal(m->count[i], m->present[i]);
	for (i = 0; i < 40; i++) {
		pick_range(seed, &gpa, &len);
		check_range(t, m, gpa, len);
	}
}

static void model_init(struct model *m, uint64_t *seed)
{
	uint32_t i, j;

	memset(m, 0, sizeof(*m));
	for (i = 0; i < POOL; i++) {
		/* Random, clustered and page-aligned keys; all distinct. */
		switch (i % 3) {
		case 0:
			m->addr[i] = next_rand(seed);
			break;
		case 1:
			m->addr[i] = 0xffffffff81000000 + i;
			break;
		default:
			m->addr[i] = (uint64_t)i << 32;
			break;
		}
		for (j = 0; j < i; j++)
			assert_true(m->addr[j] != m->addr[i]);
	}
}

static struct kd_swbp model_bp(struct model *m, uint64_t *seed, uint32_t i)
{
	uint64_t r = next_rand(seed);
	uint64_t gpa = REGION + r % (REGION_PAGES * PAGE);
	uint8_t len = r >> 40 & 1 ? 1 : 4;
	uint32_t j;

	if (r >> 41 & 1)
		len = 1 + (r >> 42) % KD_TRAP_MAX;
	/* Now and then an alias of an entry already present. */
	j = (uint32_t)(r >> 48) % POOL;
	if ((r >> 45 & 3) == 0 && m->present[j])
		gpa = m->bp[j].gpa;
	/* Keep some traps across page boundaries. */
	if ((r >> 47 & 7) == 0)
		gpa = (gpa | (PAGE - 1)) - (len > 1 ? 1 : 0);
	return mkbp(m->addr[i], gpa, len, i);
}

static void test_random_against_model(void **state)
{
	struct model *m = malloc(sizeof(*m));
	struct kd_bptable *t = kd_bptable_new();
	uint64_t seed = 0x9e3779b97f4a7c15;
	unsigned op, inserts = 0, removes = 0, eexist = 0, enoent = 0;
	unsigned aliases = 0, straddling = 0;
	struct kd_swbp bp, out;
	uint32_t i, j;

	assert_non_null(m);
	assert_non_null(t);
	model_init(m, &seed);
	for (op = 0; op < 10000; op++) {
		i = (uint32_t)(next_rand(&seed) % POOL);
		/* Lean towards inserting in the first half, removing later. */
		if (next_rand(&seed) % 10 < (op < 5000 ? 7u : 3u)) {
			bp = model_bp(m, &seed, i);
			if (m->present[i]) {
				assert_int_equal(kd_bptable_insert(t, &bp),
						 -EEXIST);
				eexist++;
			} else {
				assert_int_equal(kd_bptable_insert(t, &bp), 0);
				for (j = 0; j < POOL; j++) {
					if (m->present[j] &&
					    m->bp[j].gpa == bp.gpa) {
						aliases++;
						break;
					}
				}
				straddling += bp.gpa / PAGE !=
					      (bp.gpa + bp.len - 1) / PAGE;
				m->present[i] = true;
				m->bp[i] = bp;
				m->n++;
				inserts++;
			}
		} else if (m->present[i]) {
			assert_int_equal(kd_bptable_remove(t, m->addr[i], &out),
					 0);
			assert_memory_equal(&out, &m->bp[i], sizeof(out));
			m->present[i] = false;
			m->n--;
			removes++;
		} else {
			assert_int_equal(kd_bptable_remove(t, m->addr[i], &out),
					 -ENOENT);
			enoent++;
		}
		if (op % 250 == 0)
			check_all(t, m, &seed);
	}
	check_all(t, m, &seed);
	/* The sequence really exercised every outcome. */
	assert_true(inserts > 2000);
	assert_true(removes > 1000);
	assert_true(eexist > 500);
	assert_true(enoent > 500);
	assert_true(aliases > 100);
	assert_true(straddling > 100);
	for (i = 0; i < POOL; i++) {
		if (m->present[i]) {
			assert_int_equal(kd_bptable_remove(t, m->addr[i], NULL), 0);
			m->present[i] = false;
			m->n--;
		}
	}
	check_all(t, m, &seed);
	kd_bptable_free(t);
	free(m);
}

/* ---- Volume ------------------------------------------------------------- */

#define BULK 10000

static void test_bulk_insert_remove(void **state)
{
	struct kd_bptable *t = kd_bptable_new();
	struct kd_swbp *bp = calloc(BULK, sizeof(*bp));
	uint32_t *order = calloc(BULK, sizeof(*order));
	unsigned *count = calloc(BULK, sizeof(*count));
	uint64_t seed = 42;
	uint32_t i, j, tmp;

	assert_non_null(t);
	assert_non_null(bp);
	assert_non_null(order);
	assert_non_null(count);
	for (i = 0; i < BULK; i++) {
		uint64_t r = next_rand(&seed);

		/* Distinct by construction: the low bits hold i. */
		bp[i] = mkbp(r << 14 | i, r >> 20, 1 + i % KD_TRAP_MAX, i);
		assert_int_equal(kd_bptable_insert(t, &bp[i]), 0);
		assert_int_equal(kd_bptable_count(t), i + 1);
		order[i] = i;
	}
	for (i = 0; i < BULK; i++) {
		assert_memory_equal(kd_bptable_find(t, bp[i].addr), &bp[i],
				    sizeof(bp[i]));
		assert_true(range_total(t, bp[i].gpa, 1, count, BULK) >= 1);
		assert_int_equal(count[i], 1);
	}
	assert_int_equal(range_total(t, 0, UINT64_MAX, count, BULK), BULK);

	for (i = BULK - 1; i > 0; i--) {
		j = (uint32_t)(next_rand(&seed) % (i + 1));
		tmp = order[i];
		order[i] = order[j];
		order[j] = tmp;
	}
	for (i = 0; i < BULK; i++) {
		j = order[i];
		assert_int_equal(kd_bptable_remove(t, bp[j].addr, NULL), 0);
		assert_null(kd_bptable_find(t, bp[j].addr));
		assert_int_equal(range_total(t, bp[j].gpa, bp[j].len, count,
					     BULK), 0);
		assert_int_equal(kd_bptable_count(t), BULK - 1 - i);
		/* One not yet removed is still there, found both ways. */
		if (i + 1 < BULK) {
			j = order[BULK - 1];
			assert_non_null(kd_bptable_find(t, bp[j].addr));
			range_total(t, bp[j].gpa, bp[j].len, count, BULK);
			assert_int_equal(count[j], 1);
		}
	}
	assert_int_equal(range_total(t, 0, UINT64_MAX, count, BULK), 0);
	kd_bptable_free(t);
	free(count);
	free(order);
	free(bp);
}

static double seconds(void)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(CLOCK_MONOTONIC, &ts), 0);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count_only(struct kd_swbp *bp, void *opaque)
{
	(*(unsigned *)opaque)++;
}

/*
 * 100,000 breakpoints queried 100,000 times: linear in the table this would
 * be 10^10 steps; with the indexes it is a fraction of a second even under
 * sanitizers.  The bound is loose enough for a loaded machine.
 */
#define HUGE_N 100000

static void test_scales(void **state)
{
	struct kd_bptable *t = kd_bptable_new();
	double start = seconds();
	unsigned found = 0;
	uint64_t i;

	assert_non_null(t);
	for (i = 0; i < HUGE_N; i++)
		insert_ok(t, 0xffff000000000000 + i * 16, i * PAGE + 0xffe,
			  4, (uint32_t)i);
	for (i = 0; i < HUGE_N; i++) {
		assert_non_null(kd_bptable_find(t, 0xffff000000000000 + i * 16));
		kd_bptable_for_range(t, i * PAGE, PAGE, count_only,
				     &found);
	}
	/* Each range meets its own trap and the tail of the previous one. */
	assert_int_equal(found, 2 * HUGE_N - 1);
	for (i = 0; i < HUGE_N; i += 2)
		assert_int_equal(kd_bptable_remove(t,
				 0xffff000000000000 + i * 16, NULL), 0);
	assert_int_equal(kd_bptable_count(t), HUGE_N / 2);
	assert_true(seconds() - start < 20.0);
	kd_bptable_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_insert_find_remove),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_straddling_trap),
		cmocka_unit_test(test_callbacks_update_orig),
		cmocka_unit_test(test_random_against_model),
		cmocka_unit_test(test_bulk_insert_remove),
		cmocka_unit_test(test_scales),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
