/* SPDX-License-Identifier: MIT */
/* The arm64 watchpoint encoding, for any numbers a debugger may send. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "watchrange.h"

static void test_byte_selects(void **state)
{
	struct a64_watch_range r;

	assert_int_equal(a64_watch_range(0x40001003, 2, &r), 0);
	assert_int_equal(r.wvr, 0x40001000);
	assert_int_equal(r.bas, 0x18);
	assert_int_equal(r.mask, 0);
	assert_int_equal(r.first, 0x40001000);
	assert_int_equal(r.last, 0x40001007);

	assert_int_equal(a64_watch_range(0x40001007, 1, &r), 0);
	assert_int_equal(r.bas, 0x80);
	assert_int_equal(a64_watch_range(0x40001000, 8, &r), 0);
	assert_int_equal(r.bas, 0xff);
	assert_int_equal(r.mask, 0);
	/* Still one doubleword, crossing none. */
	assert_int_equal(a64_watch_range(0x40001001, 7, &r), 0);
	assert_int_equal(r.bas, 0xfe);
}

static void test_address_mask(void **state)
{
	struct a64_watch_range r;

	assert_int_equal(a64_watch_range(0x40001000, 0x1000, &r), 0);
	assert_int_equal(r.wvr, 0x40001000);
	assert_int_equal(r.bas, 0xff);
	assert_int_equal(r.mask, 12);
	assert_int_equal(r.first, 0x40001000);
	assert_int_equal(r.last, 0x40001fff);

	assert_int_equal(a64_watch_range(0x80000000, 0x80000000, &r), 0);
	assert_int_equal(r.mask, 31);
	assert_int_equal(r.last, 0xffffffff);
	/* The top of the address space is a range like any other. */
	assert_int_equal(a64_watch_range(0xfffffffffffffff0ull, 16, &r), 0);
	assert_int_equal(r.last, UINT64_MAX);
	assert_int_equal(a64_watch_range(0xfffffffffffffff8ull, 8, &r), 0);
	assert_int_equal(r.last, UINT64_MAX);
}

static void test_inexpressible(void **state)
{
	struct a64_watch_range r;

	assert_int_equal(a64_watch_range(0x40001000, 0, &r), -EINVAL);
	/* Across a doubleword boundary, unaligned or not a power of two. */
	assert_int_equal(a64_watch_range(0x40001004, 8, &r), -EINVAL);
	assert_int_equal(a64_watch_range(0x40001007, 2, &r), -EINVAL);
	assert_int_equal(a64_watch_range(0x40001000, 24, &r), -EINVAL);
	assert_int_equal(a64_watch_range(0x40001800, 0x1000, &r), -EINVAL);
	/* Beyond the largest address mask. */
	assert_int_equal(a64_watch_range(0, 1ull << 32, &r), -EINVAL);
	assert_int_equal(a64_watch_range(0, 1ull << 63, &r), -EINVAL);
}

/*
 * Lengths that wrap the sums: with addr & 7 == 7, 7 + len is 1 for this
 * len, so a plain "fits in the doubleword" test accepts it and the byte
 * select mask is then shifted by more than its width.
 */
static void test_wrapping_lengths(void **state)
{
	static const uint64_t lens[] = {
		UINT64_MAX, UINT64_MAX - 1, UINT64_MAX - 5, UINT64_MAX - 6,
		1ull << 63, (1ull << 63) + 1, 9, 64, 65,
	};
	static const uint64_t addrs[] = {
		0x40001007, 0x40001001, 0x40001000, 0xffffffffffffffffull,
		0xfffffffffffffff9ull, 0xfffffffffffffff0ull,
	};
	struct a64_watch_range r;

	for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
		for (size_t j = 0; j < sizeof(lens) / sizeof(lens[0]); j++) {
			uint64_t a = addrs[i], l = lens[j];
			int err;

			memset(&r, 0xa5, sizeof(r));
			err = a64_watch_range(a, l, &r);
			if (l - 1 > UINT64_MAX - a) {
				assert_int_equal(err, -EINVAL);
				continue;
			}
			if (err)
				continue;
			/* Whatever is accepted covers the range and no
			 * more than its doubleword or mask block. */
			assert_true(r.first <= a);
			assert_true(r.last >= a + (l - 1));
			assert_true(r.mask ? r.mask <= 31 : r.last - r.first == 7);
		}
	}
	assert_int_equal(a64_watch_range(0x40001007, UINT64_MAX - 5, &r), -EINVAL);
	assert_int_equal(a64_watch_range(0x40001001, UINT64_MAX, &r), -EINVAL);
	assert_int_equal(a64_watch_range(0xfffffffffffffff9ull, 8, &r), -EINVAL);
	assert_int_equal(a64_watch_range(0xffffffffffffffffull, 2, &r), -EINVAL);
	assert_int_equal(a64_watch_range(0xfffffffffffffff0ull, 32, &r), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_byte_selects),
		cmocka_unit_test(test_address_mask),
		cmocka_unit_test(test_inexpressible),
		cmocka_unit_test(test_wrapping_lengths),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
