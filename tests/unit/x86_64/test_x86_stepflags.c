/* SPDX-License-Identifier: MIT */
/* Which instructions are a pushf, and how many bytes of flags each stores:
 * a step over one must take the trap flag back out of exactly those. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "x86.h"

struct pushf_case {
	uint8_t code[4];
	size_t n;
	bool long_mode, cs_32;
	uint8_t insn_len, push_len;	/* 0: not a pushf */
};

static const struct pushf_case cases[] = {
	{ { 0x9c }, 1, true, false, 1, 8 },			/* pushfq */
	{ { 0x66, 0x9c }, 2, true, false, 2, 2 },		/* pushfw */
	{ { 0x48, 0x9c }, 2, true, false, 2, 8 },		/* rex.w pushfq */
	{ { 0x66, 0x48, 0x9c }, 3, true, false, 3, 8 },	/* REX.W beats 0x66 */
	{ { 0x48, 0x66, 0x9c }, 3, true, false, 3, 2 },	/* ...only right before */
	{ { 0x2e, 0x9c }, 2, true, false, 2, 8 },		/* segment prefix */
	{ { 0x9c }, 1, false, true, 1, 4 },			/* pushfd */
	{ { 0x66, 0x9c }, 2, false, true, 2, 2 },
	{ { 0x9c }, 1, false, false, 1, 2 },			/* real mode */
	{ { 0x66, 0x9c }, 2, false, false, 2, 4 },
	{ { 0x48, 0x9c }, 2, false, true, 0, 0 },		/* dec eax first */
	{ { 0x9d }, 1, true, false, 0, 0 },			/* popf */
	{ { 0x0f, 0x9c, 0xc0 }, 3, true, false, 0, 0 },	/* setl %al */
	{ { 0xb0, 0x9c }, 2, true, false, 0, 0 },		/* mov $0x9c, %al */
	{ { 0x66, 0x66 }, 2, true, false, 0, 0 },		/* cut short */
	{ { 0 }, 0, true, false, 0, 0 },
};

static void test_pushf_decode(void **state)
{
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct pushf_case *c = &cases[i];
		uint8_t insn_len = 0, push_len = 0;
		bool found = x86_pushf_decode(c->code, c->n, c->long_mode, c->cs_32,
					      &insn_len, &push_len);

		assert_int_equal(found, c->push_len != 0);
		assert_int_equal(insn_len, c->insn_len);
		assert_int_equal(push_len, c->push_len);
	}
}

/* Fifteen prefixes leave no room for the opcode: not an instruction. */
static void test_too_many_prefixes(void **state)
{
	uint8_t code[16];
	uint8_t insn_len = 0, push_len = 0;

	for (size_t i = 0; i < 15; i++)
		code[i] = 0x66;
	code[15] = 0x9c;
	assert_false(x86_pushf_decode(code, sizeof(code), true, false, &insn_len, &push_len));
	assert_true(x86_pushf_decode(code + 1, sizeof(code) - 1, true, false, &insn_len,
				     &push_len));
	assert_int_equal(insn_len, 15);
	assert_int_equal(push_len, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pushf_decode),
		cmocka_unit_test(test_too_many_prefixes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
