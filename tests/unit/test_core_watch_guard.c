/* SPDX-License-Identifier: MIT */
/* Pages kept read-only for software breakpoints (kd_watchset_guard). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <kvmdbg/debug_core.h>

#define PAGE 0x1000u

static struct kd_watchset *new_set(void)
{
	struct kd_watchset *ws = kd_watchset_new();

	assert_non_null(ws);
	return ws;
}

static void test_guard_makes_page_read_only(void **state)
{
	struct kd_watchset *ws = new_set();
	uint64_t pages[4];
	enum kd_stop_kind kind;
	uint64_t vaddr;

	assert_int_equal(kd_watchset_guard(ws, 0x5123, 1, 1), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x4000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 1);
	assert_int_equal(pages[0], 0x5000);
	/* A guard is no watch: no access hits it, and it is not listed. */
	assert_false(kd_watchset_match(ws, 0x5123, 1, true, &kind, &vaddr));
	assert_int_equal(kd_watchset_count(ws), 0);
	assert_int_equal(kd_watchset_guard(ws, 0x5123, 1, -1), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 0);
	kd_watchset_free(ws);
}

static void test_guards_count_per_page(void **state)
{
	struct kd_watchset *ws = new_set();

	assert_int_equal(kd_watchset_guard(ws, 0x5010, 4, 1), 0);
	assert_int_equal(kd_watchset_guard(ws, 0x5020, 4, 1), 0);
	assert_int_equal(kd_watchset_guard(ws, 0x5010, 4, -1), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_guard(ws, 0x5020, 4, -1), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_guard(ws, 0x5020, 4, -1), -ENOENT);
	kd_watchset_free(ws);
}

static void test_guard_straddling_two_pages(void **state)
{
	struct kd_watchset *ws = new_set();
	uint64_t pages[4];

	assert_int_equal(kd_watchset_guard(ws, 0x5ffe, 4, 1), 0);
	assert_int_equal(kd_watchset_pages(ws, pages, 4), 2);
	assert_int_equal(pages[0], 0x5000);
	assert_int_equal(pages[1], 0x6000);
	/* Dropping it where only one page is guarded changes nothing. */
	assert_int_equal(kd_watchset_guard(ws, 0x6ffe, 4, 1), 0);
	assert_int_equal(kd_watchset_guard(ws, 0x5ffe, 4, -1), 0);
	assert_int_equal(kd_watchset_guard(ws, 0x4ffe, 4, -1), -ENOENT);
	assert_int_equal(kd_watchset_page_prot(ws, 0x6000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x7000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RW);
	kd_watchset_free(ws);
}

static void test_guard_bad_ranges(void **state)
{
	struct kd_watchset *ws = new_set();

	assert_int_equal(kd_watchset_guard(ws, 0x5000, 0, 1), -EINVAL);
	assert_int_equal(kd_watchset_guard(ws, UINT64_MAX, 2, 1), -EINVAL);
	assert_int_equal(kd_watchset_guard(ws, 0x5000, 2 * PAGE + 1, 1), -EINVAL);
	assert_int_equal(kd_watchset_guard(ws, 0x5000, 1, 2), -EINVAL);
	assert_int_equal(kd_watchset_guard(ws, UINT64_MAX, 1, 1), 0);
	assert_int_equal(kd_watchset_page_prot(ws, UINT64_MAX & ~(uint64_t)(PAGE - 1)),
			 KD_PAGE_RO);
	kd_watchset_free(ws);
}

static void test_guard_with_watches(void **state)
{
	struct kd_watchset *ws = new_set();
	struct kd_watch_frag f = { .gpa = 0x5100, .len = 8, .vaddr = 0x9100 };
	enum kd_stop_kind kind;
	uint64_t vaddr;

	assert_int_equal(kd_watchset_guard(ws, 0x5010, 1, 1), 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_READ, 0x9100, 8, &f, 1), 0);
	/* The most restrictive need wins, and each goes on its own. */
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_NONE);
	assert_true(kd_watchset_match(ws, 0x5100, 4, false, &kind, &vaddr));
	assert_false(kd_watchset_match(ws, 0x5010, 1, false, &kind, &vaddr));
	assert_int_equal(kd_watchset_remove(ws, KD_HW_READ, 0x9100, 8), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_add(ws, KD_HW_WRITE, 0x9100, 8, &f, 1), 0);
	assert_int_equal(kd_watchset_guard(ws, 0x5010, 1, -1), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_remove(ws, KD_HW_WRITE, 0x9100, 8), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RW);
	/* Turning a watch off keeps the guard. */
	assert_int_equal(kd_watchset_guard(ws, 0x5010, 1, 1), 0);
	assert_int_equal(kd_watchset_add(ws, KD_HW_ACCESS, 0x9100, 8, &f, 1), 0);
	kd_watchset_turn_off(ws, 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RO);
	kd_watchset_clear(ws);
	assert_int_equal(kd_watchset_page_prot(ws, 0x5000), KD_PAGE_RW);
	kd_watchset_free(ws);
}

static void test_guard_follows_page_size(void **state)
{
	struct kd_watchset *ws = new_set();

	assert_int_equal(kd_watchset_set_page_size(ws, 0x10000), 0);
	assert_int_equal(kd_watchset_guard(ws, 0x4fffe, 4, 1), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x40000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x50000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_guard(ws, 0x41000, 4, 1), 0);
	assert_int_equal(kd_watchset_guard(ws, 0x4fffe, 4, -1), 0);
	assert_int_equal(kd_watchset_page_prot(ws, 0x40000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x50000), KD_PAGE_RW);
	kd_watchset_free(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_guard_makes_page_read_only),
		cmocka_unit_test(test_guards_count_per_page),
		cmocka_unit_test(test_guard_straddling_two_pages),
		cmocka_unit_test(test_guard_bad_ranges),
		cmocka_unit_test(test_guard_with_watches),
		cmocka_unit_test(test_guard_follows_page_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
