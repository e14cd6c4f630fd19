/* SPDX-License-Identifier: MIT */
/* The x86 backend's two register views: each target description agrees
 * with its 'g' layout, and the i386 view reads and writes the low halves
 * of the 64-bit registers in gdb's i386 order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "x86.h"

/* Every <reg> of a description has the size the view gives its regnum, and
 * the regnums run 0..nregs-1 in order. */
static void check_description(const struct kvmdbg_arch_ops *a)
{
	const char *p = a->target_xml;
	unsigned expect = 0;

	while ((p = strstr(p, "<reg name=")) != NULL) {
		const char *bits = strstr(p, "bitsize=\"");
		const char *num = strstr(p, "regnum=\"");
		const char *end = strchr(p, '>');

		assert_non_null(bits);
		assert_non_null(num);
		assert_true(bits < end && num < end);
		assert_int_equal(strtoul(num + 8, NULL, 10), expect);
		assert_int_equal(strtoul(bits + 9, NULL, 10), 8 * a->reg_size(expect));
		expect++;
		p = end;
	}
	assert_int_equal(expect, a->nregs);
	assert_int_equal(a->reg_size(a->nregs), 0);
}

static void test_views_by_name(void **state)
{
	const struct kvmdbg_arch_ops *x64 = kvmdbg_arch_view("i386:x86-64");
	const struct kvmdbg_arch_ops *x32 = kvmdbg_arch_view("i386");

	assert_ptr_equal(x64, kvmdbg_arch());
	assert_non_null(x32);
	assert_null(kvmdbg_arch_view("aarch64"));
	assert_null(kvmdbg_arch_view(""));
	assert_string_equal(x32->gdb_arch, "i386");
	assert_int_equal(x32->ptr_size, 4);
	assert_int_equal(x64->ptr_size, 8);
	assert_non_null(strstr(x32->target_xml, "<architecture>i386</architecture>"));
	assert_non_null(strstr(x64->target_xml, "<architecture>i386:x86-64</architecture>"));
	/* Only the register layout differs. */
	assert_ptr_equal(x32->translate, x64->translate);
	assert_ptr_equal(x32->decode_exit, x64->decode_exit);
	assert_int_equal(x32->regs_size, x64->regs_size);
}

static void test_descriptions_match_layouts(void **state)
{
	size_t total = 0;
	const struct kvmdbg_arch_ops *x32 = kvmdbg_arch_view("i386");

	check_description(kvmdbg_arch_view("i386:x86-64"));
	check_description(x32);
	for (unsigned i = 0; i < x32->nregs; i++)
		total += x32->reg_size(i);
	/* 16 core, st0-7, 8 x87 words, xmm0-7, mxcsr, fs/gs base, 6 system. */
	assert_int_equal(total, 16 * 4 + 8 * 10 + 8 * 4 + 8 * 16 + 4 + 2 * 4 + 6 * 8);
}

static void test_i386_low_halves(void **state)
{
	const struct kvmdbg_arch_ops *x32 = kvmdbg_arch_view("i386");
	struct x86_regs *r = calloc(1, sizeof(*r));
	uint8_t out[16];
	uint32_t v;
	uint64_t rcx = 0x1122334455667788ull;

	assert_non_null(r);
	r->regs.rax = 0xaaaaaaaa2badb002ull;
	r->regs.rcx = rcx;
	r->regs.rip = 0x100020;
	r->sregs.cr3 = 0x123456789000ull;
	x32->reg_get(r, 0, out);		/* eax */
	memcpy(&v, out, 4);
	assert_int_equal(v, 0x2badb002);
	x32->reg_get(r, 1, out);		/* ecx: second in gdb's i386 order */
	memcpy(&v, out, 4);
	assert_int_equal(v, 0x55667788);
	x32->reg_get(r, x32->pc_regnum, out);
	memcpy(&v, out, 4);
	assert_int_equal(v, 0x100020);
	x32->reg_get(r, 45, out);		/* cr3 keeps 64 bits */
	assert_memory_equal(out, &r->sregs.cr3, 8);
	v = 0xdeadbeef;
	memcpy(out, &v, 4);
	x32->reg_set(r, 1, out);
	assert_int_equal(r->regs.rcx, 0x11223344deadbeefull);
	assert_true(r->dirty & X86_DIRTY_REGS);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_views_by_name),
		cmocka_unit_test(test_descriptions_match_layouts),
		cmocka_unit_test(test_i386_low_halves),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
