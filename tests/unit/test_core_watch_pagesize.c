/* SPDX-License-Identifier: MIT */
/* Watched pages on hosts whose pages are 16 KiB or 64 KiB. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/debug_core.h>

#define K16 0x4000ull
#define K64 0x10000ull

static void add1(struct kd_watchset *ws, enum kd_hw_type type, uint64_t gpa,
		 uint64_t len)
{
	struct kd_watch_frag f = { .gpa = gpa, .len = len, .vaddr = gpa };

	assert_int_equal(kd_watchset_add(ws, type, gpa, len, &f, 1), 0);
}

static void assert_pages(const struct kd_watchset *ws, const uint64_t *want, size_t n)
{
	uint64_t pages[16];

	memset(pages, 0xa5, sizeof(pages));
	assert_int_equal(kd_watchset_pages(ws, pages, 16), (long)n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(pages[i], want[i]);
}

static void test_page_sizes_accepted(void **state)
{
	static const uint64_t bad[] = {
		0, 1, 0x800, 0x1800, 0x3000, 0x10001, 1ull << 63, UINT64_MAX,
	};
	static const uint64_t good[] = { 0x1000, K16, K64, 1ull << 21, 1ull << 62 };
	struct kd_watchset *ws = kd_watchset_new();

	assert_non_null(ws);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(kd_watchset_set_page_size(ws, bad[i]), -EINVAL);
	/* A refused size leaves the one in use. */
	add1(ws, KD_HW_WRITE, 0x5800, 8);
	assert_pages(ws, (const uint64_t[]){ 0x5000 }, 1);
	kd_watchset_free(ws);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		ws = kd_watchset_new();
		assert_non_null(ws);
		assert_int_equal(kd_watchset_set_page_size(ws, good[i]), 0);
		add1(ws, KD_HW_WRITE, 0x5800, 8);
		assert_pages(ws, (const uint64_t[]){ 0x5800 & ~(good[i] - 1) }, 1);
		/* Pages are counted by number: the size stays while watched. */
		assert_int_equal(kd_watchset_set_page_size(ws, 0x1000), -EBUSY);
		kd_watchset_remove(ws, KD_HW_WRITE, 0x5800, 8);
		assert_int_equal(kd_watchset_set_page_size(ws, 0x1000), 0);
		kd_watchset_free(ws);
	}
}

/* The watches of a small guest, seen with each host page size. */
static struct kd_watchset *some_watches(uint64_t page_size)
{
	struct kd_watchset *ws = kd_watchset_new();

	assert_non_null(ws);
	assert_int_equal(kd_watchset_set_page_size(ws, page_size), 0);
	add1(ws, KD_HW_WRITE, 0x5800, 8);
	add1(ws, KD_HW_READ, 0x1ffc, 8);		/* 4 KiB pages 0x1000, 0x2000 */
	add1(ws, KD_HW_WRITE, 0x3ffe, 4);		/* across a 16 KiB boundary */
	add1(ws, KD_HW_ACCESS, 0x9ffc, 0x1008);	/* 0x9ffc..0xb003 */
	add1(ws, KD_HW_WRITE, 0x4000fff0, 0x20);	/* across a 64 KiB boundary */
	return ws;
}

static void test_split_4k(void **state)
{
	static const uint64_t want[] = {
		0x1000, 0x2000, 0x3000, 0x4000, 0x5000, 0x9000, 0xa000, 0xb000,
		0x4000f000, 0x40010000,
	};
	struct kd_watchset *ws = some_watches(0x1000);

	assert_pages(ws, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(kd_watchset_page_prot(ws, 0x3000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x6000), KD_PAGE_RW);
	kd_watchset_free(ws);
}

static void test_split_16k(void **state)
{
	static const uint64_t want[] = { 0x0, 0x4000, 0x8000, 0x4000c000, 0x40010000 };
	struct kd_watchset *ws = some_watches(K16);

	assert_pages(ws, want, sizeof(want) / sizeof(want[0]));
	/* A read watch anywhere in a host page takes the whole page away. */
	assert_int_equal(kd_watchset_page_prot(ws, 0x0), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_page_prot(ws, 0x4000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x8000), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_page_prot(ws, 0xc000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x4000c000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x40010000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x40014000), KD_PAGE_RW);
	kd_watchset_free(ws);
}

static void test_split_64k(void **state)
{
	static const uint64_t want[] = { 0x0, 0x40000000, 0x40010000 };
	struct kd_watchset *ws = some_watches(K64);

	assert_pages(ws, want, sizeof(want) / sizeof(want[0]));
	assert_int_equal(kd_watchset_page_prot(ws, 0x0), KD_PAGE_NONE);
	assert_int_equal(kd_watchset_page_prot(ws, 0x10000), KD_PAGE_RW);
	assert_int_equal(kd_watchset_page_prot(ws, 0x40000000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x40010000), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, 0x40020000), KD_PAGE_RW);
	kd_watchset_free(ws);
}

static void test_top_of_address_space_64k(void **state)
{
	struct kd_watchset *ws = kd_watchset_new();
	const uint64_t top = UINT64_MAX & ~(K64 - 1);

	assert_non_null(ws);
	assert_int_equal(kd_watchset_set_page_size(ws, K64), 0);
	add1(ws, KD_HW_WRITE, UINT64_MAX - 1, 2);
	assert_pages(ws, (const uint64_t[]){ top }, 1);
	assert_int_equal(kd_watchset_page_prot(ws, top), KD_PAGE_RO);
	assert_int_equal(kd_watchset_page_prot(ws, top - K64), KD_PAGE_RW);
	kd_watchset_free(ws);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_page_sizes_accepted),
		cmocka_unit_test(test_split_4k),
		cmocka_unit_test(test_split_16k),
		cmocka_unit_test(test_split_64k),
		cmocka_unit_test(test_top_of_address_space_64k),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
