/* SPDX-License-Identifier: MIT */
/* Agent expressions: every opcode, the validator, printf, breakpoint lists. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/agent_expr.h>

/* A fake target: 256 bytes of memory at 0x1000, registers 0..15 of 8
 * bytes (value 0x100 + n) and register 16 of 4 bytes. */
#define MEM_BASE 0x1000
#define MEM_SIZE 256

struct target {
	uint8_t mem[MEM_SIZE];
	char out[8192];
	size_t out_len;
	unsigned reads;
};

static int t_read_mem(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct target *t = opaque;

	t->reads++;
	if (addr < MEM_BASE || addr - MEM_BASE > MEM_SIZE || len > MEM_SIZE - (addr - MEM_BASE))
		return -1;
	memcpy(buf, t->mem + (addr - MEM_BASE), len);
	return 0;
}

static int t_read_reg(void *opaque, unsigned regno, uint64_t *val)
{
	if (regno > 16)
		return -1;
	*val = regno == 16 ? 0xdeadbeef : 0x100 + regno;
	return 0;
}

static void t_output(void *opaque, const char *text, size_t len)
{
	struct target *t = opaque;

	assert_true(t->out_len + len < sizeof(t->out));
	memcpy(t->out + t->out_len, text, len);
	t->out_len += len;
	t->out[t->out_len] = 0;
}

static struct target tgt;
static const struct kd_ax_env env = {
	.read_mem = t_read_mem, .read_reg = t_read_reg, .output = t_output, .opaque = &tgt,
};

static int setup(void **state)
{
	memset(&tgt, 0, sizeof(tgt));
	for (unsigned i = 0; i < MEM_SIZE; i++)
		tgt.mem[i] = (uint8_t)(0x10 + i);
	return 0;
}

#define OP(x) KD_AX_##x
#define C64(v) OP(CONST64), (uint8_t)((uint64_t)(v) >> 56), (uint8_t)((uint64_t)(v) >> 48), \
	(uint8_t)((uint64_t)(v) >> 40), (uint8_t)((uint64_t)(v) >> 32), \
	(uint8_t)((uint64_t)(v) >> 24), (uint8_t)((uint64_t)(v) >> 16), \
	(uint8_t)((uint64_t)(v) >> 8), (uint8_t)(v)

/* Validates as a condition, then runs; the result or a failure. */
static enum kd_ax_result run(const uint8_t *code, size_t len, uint64_t *v)
{
	const char *why = NULL;

	assert_int_equal(kd_ax_validate(code, len, KD_AX_CONDITION, &why), 0);
	return kd_ax_eval(code, len, &env, v);
}

#define RUN(v, ...) ({ const uint8_t c_[] = { __VA_ARGS__ }; run(c_, sizeof(c_), (v)); })
#define VALUE(...) ({ uint64_t v_ = 0xbad; \
	assert_int_equal(RUN(&v_, __VA_ARGS__), KD_AX_OK); v_; })

static void refused(const uint8_t *code, size_t len, enum kd_ax_use use, const char *what)
{
	const char *why = NULL;

	assert_int_equal(kd_ax_validate(code, len, use, &why), -EINVAL);
	assert_non_null(why);
	assert_non_null(strstr(why, what));
}

#define REFUSED(what, ...) ({ const uint8_t c_[] = { __VA_ARGS__ }; \
	refused(c_, sizeof(c_), KD_AX_CONDITION, what); })

static void test_arithmetic(void **state)
{
	assert_int_equal(VALUE(C64(5), C64(7), OP(ADD), OP(END)), 12);
	assert_int_equal(VALUE(C64(UINT64_MAX), C64(2), OP(ADD), OP(END)), 1);
	assert_int_equal(VALUE(C64(5), C64(7), OP(SUB), OP(END)), (uint64_t)-2);
	assert_int_equal(VALUE(C64(6), C64(7), OP(MUL), OP(END)), 42);
	assert_int_equal(VALUE(C64(-7), C64(2), OP(DIV_SIGNED), OP(END)), (uint64_t)-3);
	assert_int_equal(VALUE(C64(INT64_MIN), C64(-1), OP(DIV_SIGNED), OP(END)), (uint64_t)INT64_MIN);
	assert_int_equal(VALUE(C64(-7), C64(2), OP(DIV_UNSIGNED), OP(END)), (UINT64_MAX - 6) / 2);
	assert_int_equal(VALUE(C64(-7), C64(2), OP(REM_SIGNED), OP(END)), (uint64_t)-1);
	assert_int_equal(VALUE(C64(INT64_MIN), C64(-1), OP(REM_SIGNED), OP(END)), 0);
	assert_int_equal(VALUE(C64(-7), C64(2), OP(REM_UNSIGNED), OP(END)), 1);
	assert_int_equal(VALUE(C64(3), C64(4), OP(LSH), OP(END)), 48);
	assert_int_equal(VALUE(C64(3), C64(64), OP(LSH), OP(END)), 0);
	assert_int_equal(VALUE(C64(-64), C64(3), OP(RSH_SIGNED), OP(END)), (uint64_t)-8);
	assert_int_equal(VALUE(C64(-64), C64(200), OP(RSH_SIGNED), OP(END)), UINT64_MAX);
	assert_int_equal(VALUE(C64(-64), C64(3), OP(RSH_UNSIGNED), OP(END)), UINT64_MAX >> 3 & ~UINT64_C(7));
	assert_int_equal(VALUE(C64(-64), C64(64), OP(RSH_UNSIGNED), OP(END)), 0);
}

static void test_division_by_zero(void **state)
{
	static const uint8_t ops[] = { OP(DIV_SIGNED), OP(DIV_UNSIGNED), OP(REM_SIGNED), OP(REM_UNSIGNED) };

	for (unsigned i = 0; i < 4; i++)
		assert_int_equal(RUN(NULL, C64(9), C64(0), ops[i], OP(END)), KD_AX_ERR_DIV_ZERO);
}

static void test_logic_and_compare(void **state)
{
	assert_int_equal(VALUE(C64(0), OP(LOG_NOT), OP(END)), 1);
	assert_int_equal(VALUE(C64(9), OP(LOG_NOT), OP(END)), 0);
	assert_int_equal(VALUE(C64(0xf0f0), C64(0xff00), OP(BIT_AND), OP(END)), 0xf000);
	assert_int_equal(VALUE(C64(0xf0f0), C64(0xff00), OP(BIT_OR), OP(END)), 0xfff0);
	assert_int_equal(VALUE(C64(0xf0f0), C64(0xff00), OP(BIT_XOR), OP(END)), 0x0ff0);
	assert_int_equal(VALUE(C64(0), OP(BIT_NOT), OP(END)), UINT64_MAX);
	assert_int_equal(VALUE(C64(4), C64(4), OP(EQUAL), OP(END)), 1);
	assert_int_equal(VALUE(C64(4), C64(5), OP(EQUAL), OP(END)), 0);
	assert_int_equal(VALUE(C64(-1), C64(1), OP(LESS_SIGNED), OP(END)), 1);
	assert_int_equal(VALUE(C64(1), C64(-1), OP(LESS_SIGNED), OP(END)), 0);
	assert_int_equal(VALUE(C64(-1), C64(1), OP(LESS_UNSIGNED), OP(END)), 0);
	assert_int_equal(VALUE(C64(1), C64(-1), OP(LESS_UNSIGNED), OP(END)), 1);
}

static void test_extend(void **state)
{
	assert_int_equal(VALUE(C64(0x80), OP(EXT), 8, OP(END)), (uint64_t)-128);
	assert_int_equal(VALUE(C64(0x17f), OP(EXT), 8, OP(END)), 0x7f);
	assert_int_equal(VALUE(C64(1), OP(EXT), 1, OP(END)), UINT64_MAX);
	assert_int_equal(VALUE(C64(0x1234), OP(EXT), 64, OP(END)), 0x1234);
	assert_int_equal(VALUE(C64(-1), OP(ZERO_EXT), 16, OP(END)), 0xffff);
	assert_int_equal(VALUE(C64(-1), OP(ZERO_EXT), 1, OP(END)), 1);
	assert_int_equal(VALUE(C64(-1), OP(ZERO_EXT), 64, OP(END)), UINT64_MAX);
	REFUSED("width", C64(1), OP(EXT), 0, OP(END));
	REFUSED("width", C64(1), OP(EXT), 65, OP(END));
	REFUSED("width", C64(1), OP(ZERO_EXT), 0, OP(END));
	REFUSED("width", C64(1), OP(ZERO_EXT), 255, OP(END));
}

static void test_memory(void **state)
{
	assert_int_equal(VALUE(C64(MEM_BASE + 2), OP(REF8), OP(END)), 0x12);
	assert_int_equal(VALUE(C64(MEM_BASE + 2), OP(REF16), OP(END)), 0x1312);
	assert_int_equal(VALUE(C64(MEM_BASE + 2), OP(REF32), OP(END)), 0x15141312);
	assert_int_equal(VALUE(C64(MEM_BASE + 2), OP(REF64), OP(END)), 0x1918171615141312);
	assert_int_equal(VALUE(C64(MEM_BASE + MEM_SIZE - 1), OP(REF8), OP(END)), 0x0f);
	assert_int_equal(RUN(NULL, C64(MEM_BASE + MEM_SIZE - 1), OP(REF16), OP(END)), KD_AX_ERR_MEMORY);
	assert_int_equal(RUN(NULL, C64(0), OP(REF64), OP(END)), KD_AX_ERR_MEMORY);
	/* Through a pointer: *(uint8_t *)*(uint64_t *)p */
	memcpy(tgt.mem + 0x40, &(uint64_t){ MEM_BASE + 5 }, 8);
	assert_int_equal(VALUE(C64(MEM_BASE + 0x40), OP(REF64), OP(REF8), OP(END)), 0x15);
}

static void test_constants_and_registers(void **state)
{
	assert_int_equal(VALUE(OP(CONST8), 0xfe, OP(END)), 0xfe);
	assert_int_equal(VALUE(OP(CONST16), 0x12, 0x34, OP(END)), 0x1234);
	assert_int_equal(VALUE(OP(CONST32), 0x89, 0xab, 0xcd, 0xef, OP(END)), 0x89abcdef);
	assert_int_equal(VALUE(C64(0x0123456789abcdef), OP(END)), 0x0123456789abcdef);
	assert_int_equal(VALUE(OP(REG), 0, 7, OP(END)), 0x107);
	assert_int_equal(VALUE(OP(REG), 0, 16, OP(END)), 0xdeadbeef);
	assert_int_equal(RUN(NULL, OP(REG), 1, 0, OP(END)), KD_AX_ERR_REGISTER);
}

static void test_stack_ops(void **state)
{
	assert_int_equal(VALUE(C64(3), OP(DUP), OP(ADD), OP(END)), 6);
	assert_int_equal(VALUE(C64(3), C64(4), OP(POP), OP(END)), 3);
	assert_int_equal(VALUE(C64(3), C64(4), OP(SWAP), OP(SUB), OP(END)), 1);
	/* pick 0 is dup; pick 2 copies the third from the top. */
	assert_int_equal(VALUE(C64(3), OP(PICK), 0, OP(ADD), OP(END)), 6);
	assert_int_equal(VALUE(C64(10), C64(20), C64(30), OP(PICK), 2, OP(END)), 10);
	/* rot: a b c => c a b */
	assert_int_equal(VALUE(C64(1), C64(2), C64(3), OP(ROT), OP(END)), 2);
	assert_int_equal(VALUE(C64(1), C64(2), C64(3), OP(ROT), OP(POP), OP(END)), 1);
	assert_int_equal(VALUE(C64(1), C64(2), C64(3), OP(ROT), OP(POP), OP(POP), OP(END)), 3);
}

static void test_jumps(void **state)
{
	/* 0: const8 1; 2: if_goto 8; 5: const8 5; 7: end; 8: const8 9; 10: end */
	assert_int_equal(VALUE(OP(CONST8), 1, OP(IF_GOTO), 0, 8, OP(CONST8), 5, OP(END),
			       OP(CONST8), 9, OP(END)), 9);
	assert_int_equal(VALUE(OP(CONST8), 0, OP(IF_GOTO), 0, 8, OP(CONST8), 5, OP(END),
			       OP(CONST8), 9, OP(END)), 5);
	/* 0: goto 5; 3: const8 1; 5: const8 2; 7: end */
	assert_int_equal(VALUE(OP(GOTO), 0, 5, OP(CONST8), 1, OP(CONST8), 2, OP(END)), 2);
}

static void test_end_value(void **state)
{
	const uint8_t cmd[] = { OP(END) };
	const char *why;
	uint64_t v = 7;

	REFUSED("without a value", OP(END));
	assert_int_equal(kd_ax_validate(cmd, 1, KD_AX_COMMAND, &why), 0);
	assert_int_equal(kd_ax_eval(cmd, 1, &env, &v), KD_AX_OK);
	assert_int_equal(v, 0);
}

static void test_refused_opcodes(void **state)
{
	REFUSED("trace-only", C64(1), C64(2), OP(TRACE), C64(1), OP(END));
	REFUSED("trace-only", C64(1), OP(TRACE_QUICK), 4, OP(END));
	REFUSED("trace-only", OP(TRACEV), 0, 1, C64(1), OP(END));
	REFUSED("trace-only", C64(1), C64(2), OP(TRACENZ), C64(1), OP(END));
	REFUSED("trace-only", C64(1), OP(TRACE16), 0, 4, OP(END));
	REFUSED("trace state", OP(GETV), 0, 1, OP(END));
	REFUSED("trace state", C64(1), OP(SETV), 0, 1, OP(END));
	REFUSED("floating", OP(FLOAT), C64(1), OP(END));
	REFUSED("floating", C64(1), OP(REF_FLOAT), OP(END));
	REFUSED("floating", C64(1), OP(REF_DOUBLE), OP(END));
	REFUSED("floating", C64(1), OP(REF_LONG_DOUBLE), OP(END));
	REFUSED("floating", C64(1), OP(L_TO_D), OP(END));
	REFUSED("floating", C64(1), OP(D_TO_L), OP(END));
	REFUSED("unknown", 0x00, C64(1), OP(END));
	REFUSED("unknown", C64(1), 0x31, OP(END));
	REFUSED("unknown", C64(1), 0x35, OP(END));
	REFUSED("unknown", C64(1), 0xff, OP(END));
	/* Refused ones never run either. */
	assert_int_equal(kd_ax_eval((const uint8_t[]){ C64(1), OP(TRACE_QUICK), 4, OP(END) }, 12,
				    &env, NULL), KD_AX_ERR_INVALID);
}

static void test_hostile_structure(void **state)
{
	refused(NULL, 0, KD_AX_CONDITION, "empty");
	REFUSED("stack underflow", OP(ADD), OP(END));
	REFUSED("stack underflow", C64(1), OP(ROT), OP(END));
	REFUSED("stack underflow", C64(1), OP(PICK), 1, OP(END));
	REFUSED("stack underflow", OP(IF_GOTO), 0, 3, OP(END));
	REFUSED("operands run past", OP(CONST64), 1, 2, 3);
	REFUSED("operands run past", OP(CONST16), 1);
	REFUSED("operands run past", OP(GOTO), 0);
	REFUSED("past the end", C64(1));
	REFUSED("past the end", C64(1), OP(DUP));
	REFUSED("jump outside", OP(GOTO), 0, 200, OP(END));
	REFUSED("jump outside", OP(CONST8), 1, OP(IF_GOTO), 0xff, 0xff, C64(1), OP(END));
	/* Into the operand of const16 at 3. */
	REFUSED("middle of an instruction", OP(GOTO), 0, 4, OP(CONST16), 0, 1, OP(END));
	/* Paths meeting with different depths: a loop pushing each time. */
	REFUSED("differs between paths", OP(CONST8), 1, OP(GOTO), 0, 0);
	REFUSED("differs between paths", OP(CONST8), 1, OP(IF_GOTO), 0, 9, OP(CONST8), 2,
		OP(CONST8), 3, OP(END));
}

static void test_stack_overflow(void **state)
{
	uint8_t code[2 * (KD_AX_STACK_MAX + 1) + 1];
	size_t n = 0;
	const char *why;

	for (unsigned i = 0; i < KD_AX_STACK_MAX; i++) {
		code[n++] = OP(CONST8);
		code[n++] = (uint8_t)i;
	}
	code[n++] = OP(END);
	assert_int_equal(kd_ax_validate(code, n, KD_AX_CONDITION, &why), 0);
	n--;
	code[n++] = OP(DUP);
	code[n++] = OP(END);
	refused(code, n, KD_AX_CONDITION, "stack overflow");
	/* The interpreter checks as well. */
	assert_int_equal(kd_ax_eval(code, n, &env, NULL), KD_AX_ERR_INVALID);
}

static void test_endless_loop_bounded(void **state)
{
	/* A loop with a balanced stack passes validation (jumps may go
	 * back): it ends at the instruction limit.  0: const8 1; 2: pop; 3: goto 0 */
	const uint8_t loop[] = { OP(CONST8), 1, OP(POP), OP(GOTO), 0, 0 };
	const char *why;

	assert_int_equal(kd_ax_validate(loop, sizeof(loop), KD_AX_COMMAND, &why), 0);
	assert_int_equal(kd_ax_eval(loop, sizeof(loop), &env, NULL), KD_AX_ERR_STEPS);
	{
		const uint8_t spin[] = { OP(GOTO), 0, 0, OP(END) };

		assert_int_equal(kd_ax_eval(spin, sizeof(spin), &env, NULL), KD_AX_ERR_STEPS);
	}
}

static void test_eval_unvalidated(void **state)
{
	/* Bytes that never passed validation stay inside their bounds. */
	assert_int_equal(kd_ax_eval((const uint8_t[]){ OP(ADD) }, 1, &env, NULL), KD_AX_ERR_INVALID);
	assert_int_equal(kd_ax_eval((const uint8_t[]){ OP(CONST8), 1 }, 2, &env, NULL), KD_AX_ERR_INVALID);
	assert_int_equal(kd_ax_eval((const uint8_t[]){ OP(CONST16), 1 }, 2, &env, NULL), KD_AX_ERR_INVALID);
	assert_int_equal(kd_ax_eval((const uint8_t[]){ OP(GOTO), 1, 0 }, 3, &env, NULL), KD_AX_ERR_INVALID);
	assert_int_equal(kd_ax_eval((const uint8_t[]){ OP(CONST8), 1, OP(EXT), 0, OP(END) }, 5,
				    &env, NULL), KD_AX_ERR_INVALID);
	assert_int_equal(kd_ax_eval((const uint8_t[]){ 0 }, 1, &env, NULL), KD_AX_ERR_INVALID);
	assert_int_equal(kd_ax_eval(NULL, 0, &env, NULL), KD_AX_ERR_INVALID);
}

/* printf nargs "fmt" with the arguments pushed last first, as gdb does. */
static size_t printf_code(uint8_t *code, const char *fmt, const uint64_t *args, unsigned nargs)
{
	size_t n = 0, slen = strlen(fmt) + 1;

	for (unsigned i = nargs; i-- > 0;) {
		uint8_t c[] = { C64(args[i]) };

		memcpy(code + n, c, sizeof(c));
		n += sizeof(c);
	}
	code[n++] = OP(CONST8);		/* function */
	code[n++] = 0;
	code[n++] = OP(CONST8);		/* channel */
	code[n++] = 0;
	code[n++] = OP(PRINTF);
	code[n++] = (uint8_t)nargs;
	code[n++] = (uint8_t)(slen >> 8);
	code[n++] = (uint8_t)slen;
	memcpy(code + n, fmt, slen);
	n += slen;
	code[n++] = OP(END);
	return n;
}

static const char *printed(const char *fmt, const uint64_t *args, unsigned nargs)
{
	uint8_t code[1024];
	size_t n = printf_code(code, fmt, args, nargs);
	const char *why = NULL;

	tgt.out_len = 0;
	tgt.out[0] = 0;
	assert_int_equal(kd_ax_validate(code, n, KD_AX_COMMAND, &why), 0);
	assert_int_equal(kd_ax_eval(code, n, &env, NULL), KD_AX_OK);
	return tgt.out;
}

static void test_printf(void **state)
{
	memcpy(tgt.mem + 0x80, "guest text", 11);
	assert_string_equal(printed("plain\\n", NULL, 0), "plain\n");
	assert_string_equal(printed("%d|%u|%x|%X|%o|%c|%%", (uint64_t[]){ -5, 7, 255, 255, 8, 'A' }, 6),
			    "-5|7|ff|FF|10|A|%");
	assert_string_equal(printed("%ld %lu %lld %llx %zu", (uint64_t[]){ -1, -1, -2, 1ULL << 40, 3 }, 5),
			    "-1 18446744073709551615 -2 10000000000 3");
	assert_string_equal(printed("[%5d][%-4x][%08.3d][%+d][% d][%#x]",
				    (uint64_t[]){ 42, 10, 7, 3, 3, 255 }, 6),
			    "[   42][a   ][     007][+3][ 3][0xff]");
	assert_string_equal(printed("%hhd %hd %d", (uint64_t[]){ 0x1ff, 0x1ffff, 0x1ffffffff }, 3),
			    "-1 -1 -1");
	assert_string_equal(printed("<%s> <%.5s> <%12s> <%s>",
				    (uint64_t[]){ MEM_BASE + 0x80, MEM_BASE + 0x80, MEM_BASE + 0x80, 0 }, 4),
			    "<guest text> <guest> <  guest text> <(null)>");
	assert_string_equal(printed("%p %p", (uint64_t[]){ 0x1234, 0 }, 2), "0x1234 (nil)");
	assert_string_equal(printed("tab\\there \\\"q\\\" back\\\\slash\\a\\e", NULL, 0),
			    "tab\there \"q\" back\\slash\a\033");
	/* An unescaped quote ends the format, as in gdb. */
	assert_string_equal(printed("before\"after", NULL, 0), "before");
}

static void test_printf_bad_string(void **state)
{
	uint8_t code[256];
	size_t n = printf_code(code, "x=%s", (uint64_t[]){ 0x99999 }, 1);

	tgt.out_len = 0;
	assert_int_equal(kd_ax_eval(code, n, &env, NULL), KD_AX_ERR_MEMORY);
	/* A string running off readable memory before its NUL. */
	n = printf_code(code, "%s", (uint64_t[]){ MEM_BASE + 241 }, 1);
	tgt.out_len = 0;
	assert_int_equal(kd_ax_eval(code, n, &env, NULL), KD_AX_ERR_MEMORY);
}

static void test_printf_refused(void **state)
{
	static const char *const bad[] = {
		"%f", "%e", "%g", "%Lf", "%n", "%*d", "%.*d", "%ls", "%lc", "%q",
		"%", "abc%", "%5", "%99999d", "%.99999d", "bad\\q escape", "%lp", "%jd",
	};
	uint8_t code[256];
	const char *why;

	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t n = printf_code(code, bad[i], (uint64_t[]){ 1 }, 1);

		why = NULL;
		assert_int_equal(kd_ax_validate(code, n, KD_AX_COMMAND, &why), -EINVAL);
		assert_non_null(why);
		assert_int_equal(kd_ax_eval(code, n, &env, NULL), KD_AX_ERR_INVALID);
	}
	/* Argument count against the format's. */
	{
		size_t n = printf_code(code, "%d %d", (uint64_t[]){ 1, 2 }, 2);

		code[n - 1 - 6 - 3] = 1;	/* nargs of printf */
		refused(code, n, KD_AX_COMMAND, "");
	}
	/* Unterminated format string. */
	{
		size_t n = printf_code(code, "abc", NULL, 0);

		code[n - 2] = 'x';
		refused(code, n, KD_AX_COMMAND, "not terminated");
	}
	/* A format length running past the expression. */
	{
		size_t n = printf_code(code, "abc", NULL, 0);

		code[n - 1 - 4 - 2] = 0x40;
		refused(code, n, KD_AX_COMMAND, "past the end");
	}
}

static void test_format_cut(void **state)
{
	char out[8];
	long n = kd_ax_format("%d%d", 5, (uint64_t[]){ 1234, 5678 }, 2, &env, out, sizeof(out));

	assert_int_equal(n, 7);
	assert_string_equal(out, "1234567");
	assert_int_equal(kd_ax_format_args("%d %s %%", 9, &(const char *){ NULL }), 2);
}

static void test_bpactions(void **state)
{
	const uint8_t is_reg7[] = { OP(REG), 0, 7, OP(CONST16), 1, 7, OP(EQUAL), OP(END) };
	const uint8_t never[] = { OP(CONST8), 0, OP(END) };
	const uint8_t fault[] = { OP(CONST8), 0, OP(REF8), OP(END) };
	uint8_t say[256];
	size_t say_len = printf_code(say, "said\\n", NULL, 0);
	struct kd_bpactions *a = kd_bpactions_new();
	enum kd_ax_result err;
	const char *why;

	/* No condition: stops. */
	assert_int_equal(kd_bpactions_hit(a, &env, &err), KD_BP_STOP);
	assert_int_equal(kd_bpactions_add(a, KD_AX_CONDITION, never, sizeof(never), &why), 0);
	assert_int_equal(kd_bpactions_hit(a, &env, &err), KD_BP_CONTINUE);
	assert_int_equal(err, KD_AX_OK);
	/* Any true condition of the list stops. */
	assert_int_equal(kd_bpactions_add(a, KD_AX_CONDITION, is_reg7, sizeof(is_reg7), &why), 0);
	assert_int_equal(kd_bpactions_count(a, KD_AX_CONDITION), 2);
	assert_int_equal(kd_bpactions_hit(a, &env, &err), KD_BP_STOP);
	/* With commands they run instead. */
	tgt.out_len = 0;
	assert_int_equal(kd_bpactions_add(a, KD_AX_COMMAND, say, say_len, &why), 0);
	assert_int_equal(kd_bpactions_hit(a, &env, &err), KD_BP_COMMANDS_RAN);
	assert_string_equal(tgt.out, "said\n");
	/* Refused expressions are not added. */
	assert_int_equal(kd_bpactions_add(a, KD_AX_CONDITION, (const uint8_t[]){ OP(END) }, 1, &why),
			 -EINVAL);
	assert_int_equal(kd_bpactions_count(a, KD_AX_CONDITION), 2);
	kd_bpactions_free(a);

	/* A condition that fails stops, its commands not run. */
	a = kd_bpactions_new();
	assert_int_equal(kd_bpactions_add(a, KD_AX_CONDITION, fault, sizeof(fault), &why), 0);
	assert_int_equal(kd_bpactions_add(a, KD_AX_COMMAND, say, say_len, &why), 0);
	tgt.out_len = 0;
	tgt.out[0] = 0;
	assert_int_equal(kd_bpactions_hit(a, &env, &err), KD_BP_STOP);
	assert_int_equal(err, KD_AX_ERR_MEMORY);
	assert_string_equal(tgt.out, "");
	kd_bpactions_free(a);
}

static void test_action_table(void **state)
{
	struct kd_bpaction_table *t = kd_bpaction_table_new();
	const uint8_t one[] = { OP(CONST8), 1, OP(END) };
	struct kd_bpactions *a = kd_bpactions_new(), *b = kd_bpactions_new();
	const char *why;

	assert_int_equal(kd_bpactions_add(a, KD_AX_CONDITION, one, sizeof(one), &why), 0);
	assert_int_equal(kd_bpaction_table_set(t, 0x1000, a), 0);
	assert_ptr_equal(kd_bpaction_table_get(t, 0x1000), a);
	assert_null(kd_bpaction_table_get(t, 0x1001));
	/* Replacing frees the old lists (ASan would see a leak). */
	assert_int_equal(kd_bpaction_table_set(t, 0x1000, b), 0);
	assert_ptr_equal(kd_bpaction_table_get(t, 0x1000), b);
	assert_int_equal(kd_bpaction_table_count(t), 1);
	assert_int_equal(kd_bpaction_table_set(t, 0x1000, NULL), 0);
	assert_int_equal(kd_bpaction_table_count(t), 0);
	assert_int_equal(kd_bpaction_table_set(t, 0x2000, kd_bpactions_new()), 0);
	kd_bpaction_table_clear(t);
	assert_null(kd_bpaction_table_get(t, 0x2000));
	assert_int_equal(kd_bpaction_table_set(t, 0x3000, kd_bpactions_new()), 0);
	kd_bpaction_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_arithmetic, setup),
		cmocka_unit_test_setup(test_division_by_zero, setup),
		cmocka_unit_test_setup(test_logic_and_compare, setup),
		cmocka_unit_test_setup(test_extend, setup),
		cmocka_unit_test_setup(test_memory, setup),
		cmocka_unit_test_setup(test_constants_and_registers, setup),
		cmocka_unit_test_setup(test_stack_ops, setup),
		cmocka_unit_test_setup(test_jumps, setup),
		cmocka_unit_test_setup(test_end_value, setup),
		cmocka_unit_test_setup(test_refused_opcodes, setup),
		cmocka_unit_test_setup(test_hostile_structure, setup),
		cmocka_unit_test_setup(test_stack_overflow, setup),
		cmocka_unit_test_setup(test_endless_loop_bounded, setup),
		cmocka_unit_test_setup(test_eval_unvalidated, setup),
		cmocka_unit_test_setup(test_printf, setup),
		cmocka_unit_test_setup(test_printf_bad_string, setup),
		cmocka_unit_test_setup(test_printf_refused, setup),
		cmocka_unit_test_setup(test_format_cut, setup),
		cmocka_unit_test_setup(test_bpactions, setup),
		cmocka_unit_test_setup(test_action_table, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
