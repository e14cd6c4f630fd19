/* SPDX-License-Identifier: MIT */
/*
 * Agent-expression validator and interpreter.  The validator decodes the
 * expression linearly (gdb lays its instructions end to end) and then
 * follows every path from the first instruction, recording the stack
 * depth at each instruction as the bytecode verifiers of stack machines
 * do; the interpreter checks the same bounds again as it goes, so it
 * stays safe whatever it is given.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <kvmdbg/agent_expr.h>

/* Operand bytes, values popped and pushed; printf's are in its operands,
 * pick's in its operand. */
struct op_info {
	uint8_t operands;
	uint8_t pops;
	uint8_t pushes;
	const char *refused;	/* why validation refuses it, when it does */
};

#define TRACE_ONLY "a trace-only opcode (tracepoints are not supported)"
#define NO_FLOAT "a floating-point opcode (gdb documents these as unimplemented)"
#define NO_TSV "trace state variables exist only with tracepoints, which are not supported"

static const struct op_info ops[] = {
	[KD_AX_FLOAT] = { 0, 0, 0, NO_FLOAT },
	[KD_AX_ADD] = { 0, 2, 1, NULL },
	[KD_AX_SUB] = { 0, 2, 1, NULL },
	[KD_AX_MUL] = { 0, 2, 1, NULL },
	[KD_AX_DIV_SIGNED] = { 0, 2, 1, NULL },
	[KD_AX_DIV_UNSIGNED] = { 0, 2, 1, NULL },
	[KD_AX_REM_SIGNED] = { 0, 2, 1, NULL },
	[KD_AX_REM_UNSIGNED] = { 0, 2, 1, NULL },
	[KD_AX_LSH] = { 0, 2, 1, NULL },
	[KD_AX_RSH_SIGNED] = { 0, 2, 1, NULL },
	[KD_AX_RSH_UNSIGNED] = { 0, 2, 1, NULL },
	[KD_AX_TRACE] = { 0, 2, 0, TRACE_ONLY },
	[KD_AX_TRACE_QUICK] = { 1, 1, 1, TRACE_ONLY },
	[KD_AX_LOG_NOT] = { 0, 1, 1, NULL },
	[KD_AX_BIT_AND] = { 0, 2, 1, NULL },
	[KD_AX_BIT_OR] = { 0, 2, 1, NULL },
	[KD_AX_BIT_XOR] = { 0, 2, 1, NULL },
	[KD_AX_BIT_NOT] = { 0, 1, 1, NULL },
	[KD_AX_EQUAL] = { 0, 2, 1, NULL },
	[KD_AX_LESS_SIGNED] = { 0, 2, 1, NULL },
	[KD_AX_LESS_UNSIGNED] = { 0, 2, 1, NULL },
	[KD_AX_EXT] = { 1, 1, 1, NULL },
	[KD_AX_REF8] = { 0, 1, 1, NULL },
	[KD_AX_REF16] = { 0, 1, 1, NULL },
	[KD_AX_REF32] = { 0, 1, 1, NULL },
	[KD_AX_REF64] = { 0, 1, 1, NULL },
	[KD_AX_REF_FLOAT] = { 0, 1, 1, NO_FLOAT },
	[KD_AX_REF_DOUBLE] = { 0, 1, 1, NO_FLOAT },
	[KD_AX_REF_LONG_DOUBLE] = { 0, 1, 1, NO_FLOAT },
	[KD_AX_L_TO_D] = { 0, 1, 1, NO_FLOAT },
	[KD_AX_D_TO_L] = { 0, 1, 1, NO_FLOAT },
	[KD_AX_IF_GOTO] = { 2, 1, 0, NULL },
	[KD_AX_GOTO] = { 2, 0, 0, NULL },
	[KD_AX_CONST8] = { 1, 0, 1, NULL },
	[KD_AX_CONST16] = { 2, 0, 1, NULL },
	[KD_AX_CONST32] = { 4, 0, 1, NULL },
	[KD_AX_CONST64] = { 8, 0, 1, NULL },
	[KD_AX_REG] = { 2, 0, 1, NULL },
	[KD_AX_END] = { 0, 0, 0, NULL },
	[KD_AX_DUP] = { 0, 1, 2, NULL },
	[KD_AX_POP] = { 0, 1, 0, NULL },
	[KD_AX_ZERO_EXT] = { 1, 1, 1, NULL },
	[KD_AX_SWAP] = { 0, 2, 2, NULL },
	[KD_AX_GETV] = { 2, 0, 1, NO_TSV },
	[KD_AX_SETV] = { 2, 1, 1, NO_TSV },
	[KD_AX_TRACEV] = { 2, 0, 0, TRACE_ONLY },
	[KD_AX_TRACENZ] = { 0, 2, 0, TRACE_ONLY },
	[KD_AX_TRACE16] = { 2, 1, 1, TRACE_ONLY },
	[KD_AX_PICK] = { 1, 0, 1, NULL },
	[KD_AX_ROT] = { 0, 3, 3, NULL },
	[KD_AX_PRINTF] = { 3, 2, 0, NULL },
};

#define NOPS (sizeof(ops) / sizeof(ops[0]))

static bool known(uint8_t op)
{
	return op < NOPS && (ops[op].pops || ops[op].pushes || ops[op].operands ||
			     ops[op].refused || op == KD_AX_END);
}

static uint64_t be(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

static uint64_t le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

/* Bytes of the instruction at pc, or 0 when its operands run past len. */
static size_t insn_size(const uint8_t *code, size_t len, size_t pc)
{
	size_t n = 1 + ops[code[pc]].operands;

	if (n > len - pc)
		return 0;
	if (code[pc] == KD_AX_PRINTF) {
		size_t slen = (size_t)be(code + pc + 2, 2);

		if (slen > len - pc - n)
			return 0;
		n += slen;
	}
	return n;
}

/* Values the instruction at pc pops, and how deep the stack must be. */
static void stack_effect(const uint8_t *code, size_t pc, unsigned *need,
			 unsigned *pops, unsigned *pushes)
{
	uint8_t op = code[pc];

	*pops = ops[op].pops;
	*pushes = ops[op].pushes;
	*need = *pops;
	if (op == KD_AX_PRINTF)
		*pops = *need = 2u + code[pc + 1];
	else if (op == KD_AX_PICK)
		*need = 1u + code[pc + 1];
}

static int refuse(const char **why, const char *text)
{
	*why = text;
	return -EINVAL;
}

static int check_insn(const uint8_t *code, size_t pc, size_t len, const char **why)
{
	uint8_t op = code[pc];

	if (op == KD_AX_EXT || op == KD_AX_ZERO_EXT) {
		if (code[pc + 1] == 0 || code[pc + 1] > 64)
			return refuse(why, "ext or zero_ext width outside 1..64");
	} else if (op == KD_AX_PRINTF) {
		size_t slen = (size_t)be(code + pc + 2, 2);
		long n;

		if (!slen)
			return refuse(why, "printf without a format string");
		n = kd_ax_format_args((const char *)code + pc + 4, slen, why);
		if (n < 0)
			return -EINVAL;
		if (n != code[pc + 1])
			return refuse(why, "printf's argument count differs from its format's");
	} else if (op == KD_AX_GOTO || op == KD_AX_IF_GOTO) {
		if (be(code + pc + 1, 2) >= len)
			return refuse(why, "jump outside the expression");
	}
	return 0;
}

struct walk {
	const uint8_t *code;
	size_t len;
	int32_t *depth;		/* by pc: -2 not an instruction, -1 unvisited */
	size_t *todo;
	size_t ntodo;
};

static int reach(struct walk *w, size_t pc, int32_t d, const char **why)
{
	if (pc >= w->len || w->depth[pc] == -2)
		return refuse(why, pc >= w->len ? "a path runs past the end of the expression"
						: "jump into the middle of an instruction");
	if (w->depth[pc] >= 0)
		return w->depth[pc] == d ? 0 :
			refuse(why, "stack depth differs between paths to one instruction");
	w->depth[pc] = d;
	w->todo[w->ntodo++] = pc;
	return 0;
}

static int walk_paths(struct walk *w, enum kd_ax_use use, const char **why)
{
	int err = reach(w, 0, 0, why);

	while (!err && w->ntodo) {
		size_t pc = w->todo[--w->ntodo];
		uint8_t op = w->code[pc];
		int32_t d = w->depth[pc];
		unsigned need, pops, pushes;

		stack_effect(w->code, pc, &need, &pops, &pushes);
		if ((unsigned)d < need)
			return refuse(why, "stack underflow");
		d = d - (int32_t)pops + (int32_t)pushes;
		if (d > KD_AX_STACK_MAX)
			return refuse(why, "stack overflow");
		if (op == KD_AX_END) {
			if (use == KD_AX_CONDITION && d < 1)
				return refuse(why, "a condition ends without a value");
			continue;
		}
		if (op == KD_AX_GOTO || op == KD_AX_IF_GOTO)
			err = reach(w, (size_t)be(w->code + pc + 1, 2), d, why);
		if (!err && op != KD_AX_GOTO)
			err = reach(w, pc + insn_size(w->code, w->len, pc), d, why);
	}
	return err;
}

int kd_ax_validate(const uint8_t *code, size_t len, enum kd_ax_use use,
		   const char **why)
{
	struct walk w = { .code = code, .len = len };
	size_t pc, n;
	int err = 0;

	if (!len)
		return refuse(why, "empty expression");
	w.depth = malloc(len * sizeof(*w.depth));
	w.todo = malloc(len * sizeof(*w.todo));
	if (!w.depth || !w.todo) {
		err = refuse(why, "out of memory checking the expression");
		goto out;
	}
	for (pc = 0; pc < len; pc++)
		w.depth[pc] = -2;
	for (pc = 0; pc < len && !err; pc += n) {
		if (!known(code[pc])) {
			err = refuse(why, "unknown opcode");
			break;
		}
		if (ops[code[pc]].refused) {
			err = refuse(why, ops[code[pc]].refused);
			break;
		}
		n = insn_size(code, len, pc);
		if (!n) {
			err = refuse(why, "operands run past the end of the expression");
			break;
		}
		err = check_insn(code, pc, len, why);
		w.depth[pc] = -1;
	}
	if (!err)
		err = walk_paths(&w, use, why);
out:
	free(w.depth);
	free(w.todo);
	return err;
}

/* ---- Interpreter ---------------------------------------------------- */

struct machine {
	uint64_t st[KD_AX_STACK_MAX];
	unsigned sp;
	const struct kd_ax_env *env;
};

static enum kd_ax_result binary(uint8_t op, uint64_t a, uint64_t b, uint64_t *r)
{
	int64_t sa = (int64_t)a, sb = (int64_t)b;

	switch (op) {
	case KD_AX_ADD: *r = a + b; break;
	case KD_AX_SUB: *r = a - b; break;
	case KD_AX_MUL: *r = a * b; break;
	case KD_AX_DIV_SIGNED:
	case KD_AX_REM_SIGNED:
		if (!b)
			return KD_AX_ERR_DIV_ZERO;
		/* The one quotient that does not fit wraps, as the hardware's
		 * would if it did not trap. */
		if (sa == INT64_MIN && sb == -1)
			*r = op == KD_AX_DIV_SIGNED ? a : 0;
		else
			*r = (uint64_t)(op == KD_AX_DIV_SIGNED ? sa / sb : sa % sb);
		break;
	case KD_AX_DIV_UNSIGNED:
	case KD_AX_REM_UNSIGNED:
		if (!b)
			return KD_AX_ERR_DIV_ZERO;
		*r = op == KD_AX_DIV_UNSIGNED ? a / b : a % b;
		break;
	/* Shifts by 64 or more give what shifting one bit at a time would. */
	case KD_AX_LSH: *r = b >= 64 ? 0 : a << b; break;
	case KD_AX_RSH_UNSIGNED: *r = b >= 64 ? 0 : a >> b; break;
	case KD_AX_RSH_SIGNED:
		*r = (uint64_t)(sa >> (b >= 64 ? 63 : b));
		break;
	case KD_AX_BIT_AND: *r = a & b; break;
	case KD_AX_BIT_OR: *r = a | b; break;
	case KD_AX_BIT_XOR: *r = a ^ b; break;
	case KD_AX_EQUAL: *r = a == b; break;
	case KD_AX_LESS_SIGNED: *r = sa < sb; break;
	default: *r = a < b; break;	/* KD_AX_LESS_UNSIGNED */
	}
	return KD_AX_OK;
}

static uint64_t extend(uint8_t op, unsigned bits, uint64_t v)
{
	uint64_t sign;

	if (bits >= 64)
		return v;
	v &= (UINT64_C(1) << bits) - 1;
	if (op == KD_AX_ZERO_EXT)
		return v;
	sign = UINT64_C(1) << (bits - 1);
	return (v ^ sign) - sign;
}

static enum kd_ax_result do_printf(struct machine *m, const uint8_t *p)
{
	unsigned nargs = p[1];
	size_t slen = (size_t)be(p + 2, 2);
	uint64_t args[256];
	char text[KD_AX_PRINTF_MAX];
	long n;

	/* The function and channel gdb passes mean nothing to a stub. */
	m->sp -= 2;
	for (unsigned i = 0; i < nargs; i++)
		args[i] = m->st[--m->sp];
	if (kd_ax_format_args((const char *)p + 4, slen, &(const char *){ NULL }) != nargs)
		return KD_AX_ERR_INVALID;
	n = kd_ax_format((const char *)p + 4, slen, args, nargs, m->env, text, sizeof(text));
	if (n > 0 && m->env->output)
		m->env->output(m->env->opaque, text, (size_t)n);
	return n < 0 ? KD_AX_ERR_MEMORY : KD_AX_OK;
}

/* One instruction, the bounds checked; the next pc in *pc. */
static enum kd_ax_result step(struct machine *m, const uint8_t *code, size_t len,
			      size_t *pc, bool *done)
{
	const uint8_t *p = code + *pc;
	uint8_t op = *p, buf[8];
	unsigned need, pops, pushes, w;
	size_t n;
	uint64_t v;
	enum kd_ax_result r = KD_AX_OK;

	if (!known(op) || ops[op].refused)
		return KD_AX_ERR_INVALID;
	n = insn_size(code, len, *pc);
	if (!n)
		return KD_AX_ERR_INVALID;
	stack_effect(code, *pc, &need, &pops, &pushes);
	if (m->sp < need || m->sp - pops + pushes > KD_AX_STACK_MAX)
		return KD_AX_ERR_INVALID;
	*pc += n;
	switch (op) {
	case KD_AX_LOG_NOT: m->st[m->sp - 1] = !m->st[m->sp - 1]; break;
	case KD_AX_BIT_NOT: m->st[m->sp - 1] = ~m->st[m->sp - 1]; break;
	case KD_AX_EXT:
	case KD_AX_ZERO_EXT:
		if (p[1] == 0 || p[1] > 64)
			return KD_AX_ERR_INVALID;
		m->st[m->sp - 1] = extend(op, p[1], m->st[m->sp - 1]);
		break;
	case KD_AX_REF8: case KD_AX_REF16: case KD_AX_REF32: case KD_AX_REF64:
		w = 1u << (op - KD_AX_REF8);
		if (m->env->read_mem(m->env->opaque, m->st[m->sp - 1], buf, w) < 0)
			return KD_AX_ERR_MEMORY;
		m->st[m->sp - 1] = le(buf, w);
		break;
	case KD_AX_IF_GOTO:
	case KD_AX_GOTO:
		v = op == KD_AX_GOTO || m->st[--m->sp];
		if (v) {
			*pc = (size_t)be(p + 1, 2);
			if (*pc >= len)
				return KD_AX_ERR_INVALID;
		}
		break;
	case KD_AX_CONST8: case KD_AX_CONST16: case KD_AX_CONST32: case KD_AX_CONST64:
		m->st[m->sp++] = be(p + 1, ops[op].operands);
		break;
	case KD_AX_REG:
		if (m->env->read_reg(m->env->opaque, (unsigned)be(p + 1, 2), &v) < 0)
			return KD_AX_ERR_REGISTER;
		m->st[m->sp++] = v;
		break;
	case KD_AX_END: *done = true; break;
	case KD_AX_DUP: m->st[m->sp] = m->st[m->sp - 1]; m->sp++; break;
	case KD_AX_POP: m->sp--; break;
	case KD_AX_SWAP:
		v = m->st[m->sp - 1];
		m->st[m->sp - 1] = m->st[m->sp - 2];
		m->st[m->sp - 2] = v;
		break;
	case KD_AX_PICK: m->st[m->sp] = m->st[m->sp - 1 - p[1]]; m->sp++; break;
	case KD_AX_ROT:		/* a b c => c a b */
		v = m->st[m->sp - 1];
		m->st[m->sp - 1] = m->st[m->sp - 2];
		m->st[m->sp - 2] = m->st[m->sp - 3];
		m->st[m->sp - 3] = v;
		break;
	case KD_AX_PRINTF: r = do_printf(m, p); break;
	default:
		r = binary(op, m->st[m->sp - 2], m->st[m->sp - 1], &v);
		m->sp--;
		m->st[m->sp - 1] = v;
		break;
	}
	return r;
}

enum kd_ax_result kd_ax_eval(const uint8_t *code, size_t len,
			     const struct kd_ax_env *env, uint64_t *value)
{
	struct machine m = { .sp = 0, .env = env };
	size_t pc = 0;
	bool done = false;
	enum kd_ax_result r = KD_AX_OK;

	for (unsigned long n = 0; !done; n++) {
		if (pc >= len)
			return KD_AX_ERR_INVALID;
		if (n == KD_AX_STEP_MAX)
			return KD_AX_ERR_STEPS;
		r = step(&m, code, len, &pc, &done);
		if (r != KD_AX_OK)
			return r;
	}
	if (value)
		*value = m.sp ? m.st[m.sp - 1] : 0;
	return KD_AX_OK;
}

const char *kd_ax_result_name(enum kd_ax_result r)
{
	switch (r) {
	case KD_AX_OK: return "no error";
	case KD_AX_ERR_INVALID: return "invalid bytecode";
	case KD_AX_ERR_MEMORY: return "unreadable memory";
	case KD_AX_ERR_REGISTER: return "no such register";
	case KD_AX_ERR_DIV_ZERO: return "division by zero";
	case KD_AX_ERR_STEPS: return "instruction limit reached";
	}
	return "unknown error";
}
