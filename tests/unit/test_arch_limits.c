/* SPDX-License-Identifier: MIT */
/*
 * The promises the host's architecture backend makes the stub about
 * numbers a debugger may send: register numbers and sizes, and debug
 * register ranges.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <kvmdbg/arch.h>
#include <kvmdbg/stub.h>

static void test_register_sizes(void **state)
{
	const struct kvmdbg_arch_ops *a = kvmdbg_arch();

	assert_true(a->max_reg_size > 0);
	for (unsigned i = 0; i < a->nregs; i++) {
		assert_true(a->reg_size(i) > 0);
		assert_true(a->reg_size(i) <= a->max_reg_size);
	}
	assert_int_equal(a->reg_size(a->nregs), 0);
	assert_int_equal(a->reg_size(UINT_MAX), 0);
}

/* A backend whose pc is one byte larger than the max_reg_size it claims. */
static struct kvmdbg_arch_ops lying;

static size_t lying_size(unsigned regno)
{
	return regno == lying.pc_regnum ? lying.max_reg_size + 1
					: kvmdbg_arch()->reg_size(regno);
}

static void test_stub_refuses_oversize_register(void **state)
{
	struct kvmdbg_caps caps = { 0 };
	struct kvmdbg_stub_config cfg = { .arch = kvmdbg_arch(), .caps = &caps };
	struct kvmdbg_stub *s = kvmdbg_stub_new(&cfg);

	assert_non_null(s);
	kvmdbg_stub_free(s);

	lying = *kvmdbg_arch();
	lying.reg_size = lying_size;
	cfg.arch = &lying;
	errno = 0;
	assert_null(kvmdbg_stub_new(&cfg));
	assert_int_equal(errno, EINVAL);
}

static void test_watch_ranges_that_wrap(void **state)
{
	static const enum kd_hw_type types[] = { KD_HW_WRITE, KD_HW_READ, KD_HW_ACCESS };
	static const struct { uint64_t addr, len; } bad[] = {
		{ 0x1000, 0 },
		{ 0x1007, UINT64_MAX - 5 },	/* (addr & 7) + len wraps to 1 */
		{ 0x1001, UINT64_MAX },
		{ 0xffffffffffffffffull, 2 },
		{ 0xfffffffffffffff8ull, 16 },
		{ 0, UINT64_MAX },
		{ 0, 1ull << 63 },
	};
	const struct kvmdbg_arch_ops *a = kvmdbg_arch();

	for (size_t t = 0; t < sizeof(types) / sizeof(types[0]); t++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(a->hw_check(types[t], bad[i].addr, bad[i].len),
					 -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_register_sizes),
		cmocka_unit_test(test_stub_refuses_oversize_register),
		cmocka_unit_test(test_watch_ranges_that_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
