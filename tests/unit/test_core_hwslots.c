/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/debug_core.h>

static void test_init_clamps_and_clears(void **state)
{
	static const unsigned asked[] = { 0, 1, 4, 16, 17, UINT_MAX };
	static const unsigned got[] = { 0, 1, 4, 16, 16, 16 };
	struct kd_hwslots s;
	unsigned i, j;

	for (i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
		memset(&s, 0xff, sizeof(s));
		kd_hwslots_init(&s, asked[i]);
		assert_int_equal(s.n, got[i]);
		assert_int_equal(kd_hwslots_used(&s), 0);
		for (j = 0; j < KD_HW_MAX_SLOTS; j++)
			assert_false(s.slot[j].used);
	}
}

static void test_alloc_lowest_free(void **state)
{
	struct kd_hwslots s;

	kd_hwslots_init(&s, 4);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_EXEC, 0x1000, 1), 0);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_WRITE, 0x2000, 8), 1);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_READ, 0x3000, 4), 2);
	assert_int_equal(kd_hwslots_used(&s), 3);
	assert_true(s.slot[1].used);
	assert_int_equal(s.slot[1].type, KD_HW_WRITE);
	assert_int_equal(s.slot[1].addr, 0x2000);
	assert_int_equal(s.slot[1].len, 8);

	assert_int_equal(kd_hwslots_free(&s, KD_HW_WRITE, 0x2000, 8), 1);
	assert_false(s.slot[1].used);
	assert_int_equal(kd_hwslots_used(&s), 2);
	/* The hole is refilled before the untouched slot 3. */
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_ACCESS, 0x4000, 2), 1);
	assert_int_equal(s.slot[1].type, KD_HW_ACCESS);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_EXEC, 0x5000, 1), 3);
	assert_int_equal(kd_hwslots_used(&s), 4);
}

static void test_alloc_duplicates(void **state)
{
	struct kd_hwslots s;

	kd_hwslots_init(&s, 8);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_WRITE, 0x2000, 8), 0);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_WRITE, 0x2000, 8), -EEXIST);
	assert_int_equal(kd_hwslots_used(&s), 1);
	/* Any differing field makes a distinct slot. */
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_READ, 0x2000, 8), 1);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_WRITE, 0x2000, 4), 2);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_WRITE, 0x2008, 8), 3);
	assert_int_equal(kd_hwslots_used(&s), 4);
	/* Once freed, the same triple can be allocated again. */
	assert_int_equal(kd_hwslots_free(&s, KD_HW_WRITE, 0x2000, 8), 0);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_WRITE, 0x2000, 8), 0);
}

static void test_full(void **state)
{
	struct kd_hwslots s;
	unsigned i;

	kd_hwslots_init(&s, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(kd_hwslots_alloc(&s, KD_HW_EXEC, 0x100 * i, 1),
				 (int)i);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_EXEC, 0x900, 1), -ENOSPC);
	/* A duplicate is reported as such even when no slot is free. */
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_EXEC, 0x100, 1), -EEXIST);
	assert_int_equal(kd_hwslots_used(&s), 4);
	for (i = 4; i < KD_HW_MAX_SLOTS; i++)
		assert_false(s.slot[i].used);

	kd_hwslots_init(&s, 0);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_EXEC, 0, 1), -ENOSPC);
	assert_int_equal(kd_hwslots_used(&s), 0);

	kd_hwslots_init(&s, 100);
	for (i = 0; i < KD_HW_MAX_SLOTS; i++)
		assert_int_equal(kd_hwslots_alloc(&s, KD_HW_ACCESS, i, 1),
				 (int)i);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_ACCESS, 99, 1), -ENOSPC);
	assert_int_equal(kd_hwslots_used(&s), KD_HW_MAX_SLOTS);
}

static void test_free_missing(void **state)
{
	struct kd_hwslots s;

	kd_hwslots_init(&s, 4);
	assert_int_equal(kd_hwslots_free(&s, KD_HW_EXEC, 0x1000, 1), -ENOENT);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_WRITE, 0x1000, 4), 0);
	assert_int_equal(kd_hwslots_free(&s, KD_HW_READ, 0x1000, 4), -ENOENT);
	assert_int_equal(kd_hwslots_free(&s, KD_HW_WRITE, 0x1000, 2), -ENOENT);
	assert_int_equal(kd_hwslots_free(&s, KD_HW_WRITE, 0x1004, 4), -ENOENT);
	assert_int_equal(kd_hwslots_used(&s), 1);
	assert_int_equal(kd_hwslots_free(&s, KD_HW_WRITE, 0x1000, 4), 0);
	assert_int_equal(kd_hwslots_free(&s, KD_HW_WRITE, 0x1000, 4), -ENOENT);
	assert_int_equal(kd_hwslots_used(&s), 0);
}

static void test_beyond_n_ignored(void **state)
{
	struct kd_hwslots s;

	kd_hwslots_init(&s, 2);
	/* Stale contents past n are neither counted nor matched. */
	s.slot[5] = (struct kd_hwslot){
		.used = true, .type = KD_HW_EXEC, .addr = 0x10, .len = 1,
	};
	assert_int_equal(kd_hwslots_used(&s), 0);
	assert_int_equal(kd_hwslots_free(&s, KD_HW_EXEC, 0x10, 1), -ENOENT);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_EXEC, 0x10, 1), 0);
	assert_int_equal(kd_hwslots_used(&s), 1);
}

static void test_clear(void **state)
{
	struct kd_hwslots s;
	unsigned i;

	kd_hwslots_init(&s, 4);
	for (i = 0; i < 4; i++)
		assert_int_equal(kd_hwslots_alloc(&s, KD_HW_READ, i * 8, 8),
				 (int)i);
	kd_hwslots_clear(&s);
	assert_int_equal(s.n, 4);
	assert_int_equal(kd_hwslots_used(&s), 0);
	for (i = 0; i < 4; i++)
		assert_false(s.slot[i].used);
	assert_int_equal(kd_hwslots_free(&s, KD_HW_READ, 0, 8), -ENOENT);
	assert_int_equal(kd_hwslots_alloc(&s, KD_HW_READ, 0, 8), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init_clamps_and_clears),
		cmocka_unit_test(test_alloc_lowest_free),
		cmocka_unit_test(test_alloc_duplicates),
		cmocka_unit_test(test_full),
		cmocka_unit_test(test_free_missing),
		cmocka_unit_test(test_beyond_n_ignored),
		cmocka_unit_test(test_clear),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
