/* SPDX-License-Identifier: MIT */
/*
 * gdb's agent expressions: the bytecode gdb compiles breakpoint conditions
 * and dprintf commands into (gdb manual, "Agent Expressions").  A
 * validator run once when the debugger hands an expression over, an
 * interpreter run at every breakpoint hit, and the condition and command
 * lists of the breakpoints that carry them.
 *
 * The interpreter reaches the target only through the callbacks of
 * struct kd_ax_env, so it knows neither KVM nor the wire format.  Values
 * in guest memory and registers are taken as little-endian, the byte
 * order of every architecture kvmdbg supports.  Hostile bytecode cannot
 * make it read outside the expression, overflow its stack or run longer
 * than KD_AX_STEP_MAX instructions.
 */
#ifndef KVMDBG_AGENT_EXPR_H
#define KVMDBG_AGENT_EXPR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The opcodes, numbered as gdb numbers them. */
enum kd_ax_op {
	KD_AX_FLOAT = 0x01, KD_AX_ADD, KD_AX_SUB, KD_AX_MUL, KD_AX_DIV_SIGNED,
	KD_AX_DIV_UNSIGNED, KD_AX_REM_SIGNED, KD_AX_REM_UNSIGNED, KD_AX_LSH,
	KD_AX_RSH_SIGNED, KD_AX_RSH_UNSIGNED, KD_AX_TRACE, KD_AX_TRACE_QUICK,
	KD_AX_LOG_NOT, KD_AX_BIT_AND, KD_AX_BIT_OR, KD_AX_BIT_XOR, KD_AX_BIT_NOT,
	KD_AX_EQUAL, KD_AX_LESS_SIGNED, KD_AX_LESS_UNSIGNED, KD_AX_EXT,
	KD_AX_REF8, KD_AX_REF16, KD_AX_REF32, KD_AX_REF64, KD_AX_REF_FLOAT,
	KD_AX_REF_DOUBLE, KD_AX_REF_LONG_DOUBLE, KD_AX_L_TO_D, KD_AX_D_TO_L,
	KD_AX_IF_GOTO, KD_AX_GOTO, KD_AX_CONST8, KD_AX_CONST16, KD_AX_CONST32,
	KD_AX_CONST64, KD_AX_REG, KD_AX_END, KD_AX_DUP, KD_AX_POP,
	KD_AX_ZERO_EXT, KD_AX_SWAP, KD_AX_GETV, KD_AX_SETV, KD_AX_TRACEV,
	KD_AX_TRACENZ, KD_AX_TRACE16, KD_AX_PICK = 0x32, KD_AX_ROT,
	KD_AX_PRINTF,
};

/* Deepest stack an expression may build. */
#define KD_AX_STACK_MAX 256
/* Instructions one evaluation may execute: gdb only ever jumps forward,
 * so a loop is hostile and ends here. */
#define KD_AX_STEP_MAX 100000
/* Longest text one printf produces, and longest %s string it reads. */
#define KD_AX_PRINTF_MAX 4096
#define KD_AX_STRING_MAX 1024

/* What the expression is for: a condition must leave a value. */
enum kd_ax_use {
	KD_AX_CONDITION,
	KD_AX_COMMAND,
};

/*
 * Checks an expression before it is ever run: known opcodes other than the
 * trace-only ones and those gdb documents as unimplemented (float ones),
 * operands inside the expression, jumps to instruction boundaries inside
 * it, the stack depth at every instruction the same on every path, never
 * below what an instruction consumes nor above KD_AX_STACK_MAX, ext and
 * zero_ext widths 1..64, printf formats that are terminated and take
 * exactly their argument count of conversions the interpreter prints, no
 * path running off the end, and a value left by a condition's end.
 * 0, or -EINVAL with *why saying what was wrong (a static string).
 */
int kd_ax_validate(const uint8_t *code, size_t len, enum kd_ax_use use,
		   const char **why);

struct kd_ax_env {
	/* 0, or -1 when [addr, addr+len) cannot be read whole. */
	int (*read_mem)(void *opaque, uint64_t addr, void *buf, size_t len);
	/* 0, or -1 when regno does not exist or is wider than 64 bits. */
	int (*read_reg)(void *opaque, unsigned regno, uint64_t *val);
	/* printf output; NULL discards it. */
	void (*output)(void *opaque, const char *text, size_t len);
	void *opaque;
};

enum kd_ax_result {
	KD_AX_OK,
	KD_AX_ERR_INVALID,	/* what kd_ax_validate refuses met at run time */
	KD_AX_ERR_MEMORY,	/* a ref or %s read failed */
	KD_AX_ERR_REGISTER,
	KD_AX_ERR_DIV_ZERO,
	KD_AX_ERR_STEPS,	/* KD_AX_STEP_MAX reached */
};

/*
 * Runs an expression.  Bounds are checked again as it runs, so any bytes
 * are safe here, even ones kd_ax_validate would refuse.  On KD_AX_OK
 * *value (when value is not NULL) is the top of the stack at end, 0 when
 * the stack is empty.
 */
enum kd_ax_result kd_ax_eval(const uint8_t *code, size_t len,
			     const struct kd_ax_env *env, uint64_t *value);

/* For people: "division by zero". */
const char *kd_ax_result_name(enum kd_ax_result r);

/*
 * printf's format: the number of conversions (each consuming one
 * argument), or -1 with *why when the interpreter cannot print it
 * (floating point, wide characters, '*' widths, %n, unterminated).
 * fmt[0..len) includes the terminating NUL.
 */
long kd_ax_format_args(const char *fmt, size_t len, const char **why);
/*
 * Formats args[0..nargs) by fmt into out[0..cap) (always terminated),
 * reading %s strings through env; returns the length, or -1 when a
 * string could not be read (out then holds what was formatted before).
 * Output longer than cap - 1 is cut.
 */
long kd_ax_format(const char *fmt, size_t len, const uint64_t *args, size_t nargs,
		  const struct kd_ax_env *env, char *out, size_t cap);

/* ---- Condition and command lists of breakpoints --------------------- */

/* The lists of one breakpoint: any true condition (or none) stops the
 * guest, unless there are commands, which then run instead. */
struct kd_bpactions;

struct kd_bpactions *kd_bpactions_new(void);	/* NULL when out of memory */
void kd_bpactions_free(struct kd_bpactions *a);
/* Validates and copies one expression; 0, -EINVAL (with *why) or -ENOMEM. */
int kd_bpactions_add(struct kd_bpactions *a, enum kd_ax_use use,
		     const uint8_t *code, size_t len, const char **why);
size_t kd_bpactions_count(const struct kd_bpactions *a, enum kd_ax_use use);

enum kd_bp_outcome {
	KD_BP_STOP,		/* report the hit to the debugger */
	KD_BP_CONTINUE,		/* every condition false: resume */
	KD_BP_COMMANDS_RAN,	/* a condition held and the commands ran: resume */
};

/*
 * Decides a hit.  A condition that cannot be evaluated counts as true, as
 * in gdbserver, and the hit stops without running the commands: the
 * debugger then sees it and evaluates the condition itself.  Commands run
 * in order; one that fails ends the list (the guest still runs on, as
 * with gdbserver).  *err, when not NULL, is the evaluation error met
 * (KD_AX_OK when none).
 */
enum kd_bp_outcome kd_bpactions_hit(const struct kd_bpactions *a,
				    const struct kd_ax_env *env,
				    enum kd_ax_result *err);

/* Breakpoints' lists by address (one table per breakpoint type). */
struct kd_bpaction_table;

struct kd_bpaction_table *kd_bpaction_table_new(void);
void kd_bpaction_table_free(struct kd_bpaction_table *t);
/* Gives a (NULL: none) to addr, freeing what it had; 0 or -ENOMEM (a is
 * then freed as well). */
int kd_bpaction_table_set(struct kd_bpaction_table *t, uint64_t addr,
			  struct kd_bpactions *a);
const struct kd_bpactions *kd_bpaction_table_get(const struct kd_bpaction_table *t,
						 uint64_t addr);
size_t kd_bpaction_table_count(const struct kd_bpaction_table *t);
void kd_bpaction_table_clear(struct kd_bpaction_table *t);

#endif
