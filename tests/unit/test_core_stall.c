/* SPDX-License-Identifier: MIT */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <kvmdbg/debug_core.h>

#define MS 1000000ull

static void test_busy_at_one_pc_is_stuck(void **state)
{
	struct kd_stall st = { 0 };

	(void)state;
	assert_false(kd_stall_look(&st, 0x1000, 5 * MS));
	assert_true(kd_stall_look(&st, 0x1000, 5 * MS + KD_STALL_CPU_NS));
	/* Once decided, the next look starts over. */
	assert_false(kd_stall_look(&st, 0x1000, 500 * MS));
}

static void test_moving_is_not_stuck(void **state)
{
	struct kd_stall st = { 0 };

	(void)state;
	assert_false(kd_stall_look(&st, 0x1000, 0));
	assert_false(kd_stall_look(&st, 0x1004, 100 * MS));
	/* The second look is the new first one. */
	assert_true(kd_stall_look(&st, 0x1004, 200 * MS));
}

/* A vCPU thread the host did not schedule between two looks: the same pc,
 * and no CPU time to have moved in. */
static void test_starved_thread_is_not_stuck(void **state)
{
	struct kd_stall st = { 0 };

	(void)state;
	assert_false(kd_stall_look(&st, 0x2000, 40 * MS));
	assert_false(kd_stall_look(&st, 0x2000, 40 * MS + 50000));
	assert_false(kd_stall_look(&st, 0x2000, 40 * MS + KD_STALL_CPU_NS - 1));
	/* The time adds up from the first look, not from the last. */
	assert_true(kd_stall_look(&st, 0x2000, 40 * MS + KD_STALL_CPU_NS));
}

static void test_exit_forgets(void **state)
{
	struct kd_stall st = { 0 };

	(void)state;
	assert_false(kd_stall_look(&st, 0x3000, 0));
	kd_stall_reset(&st);
	assert_false(kd_stall_look(&st, 0x3000, 100 * MS));
	assert_true(kd_stall_look(&st, 0x3000, 200 * MS));
}

static void test_first_look_given(void **state)
{
	struct kd_stall st = { 0 };

	(void)state;
	kd_stall_first(&st, 0x4000, 7 * MS);
	assert_false(kd_stall_look(&st, 0x4000, 8 * MS));
	assert_true(kd_stall_look(&st, 0x4000, 7 * MS + KD_STALL_CPU_NS));
}

/* A clock that went backwards is another thread's: no decision from it. */
static void test_clock_backwards_starts_over(void **state)
{
	struct kd_stall st = { 0 };

	(void)state;
	assert_false(kd_stall_look(&st, 0x5000, 900 * MS));
	assert_false(kd_stall_look(&st, 0x5000, 3 * MS));
	assert_false(kd_stall_look(&st, 0x5000, 3 * MS + KD_STALL_CPU_NS - 1));
	assert_true(kd_stall_look(&st, 0x5000, 3 * MS + KD_STALL_CPU_NS));
}

static void test_without_clock_the_pc_decides(void **state)
{
	struct kd_stall st = { 0 };

	(void)state;
	assert_false(kd_stall_look(&st, 0x6000, KD_STALL_NO_CLOCK));
	assert_true(kd_stall_look(&st, 0x6000, KD_STALL_NO_CLOCK));
	assert_false(kd_stall_look(&st, 0x6000, 10 * MS));
	assert_true(kd_stall_look(&st, 0x6000, KD_STALL_NO_CLOCK));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_busy_at_one_pc_is_stuck),
		cmocka_unit_test(test_moving_is_not_stuck),
		cmocka_unit_test(test_starved_thread_is_not_stuck),
		cmocka_unit_test(test_exit_forgets),
		cmocka_unit_test(test_first_look_given),
		cmocka_unit_test(test_clock_backwards_starts_over),
		cmocka_unit_test(test_without_clock_the_pc_decides),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
