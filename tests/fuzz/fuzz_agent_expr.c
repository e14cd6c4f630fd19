/* SPDX-License-Identifier: MIT */
/*
 * Agent expressions: the input's first byte picks condition or command,
 * the rest is the bytecode (in a buffer of exactly its size, so that ASan
 * sees any read past it).  It is validated and run whatever the verdict,
 * against a target of 64 bytes of memory and 32 registers.  Checked: the
 * interpreter ends (the instruction limit) without a memory error; an
 * expression the validator accepted never meets a failure the validator
 * exists to exclude (KD_AX_ERR_INVALID); printf text stays within its
 * bound; validation and evaluation are pure functions of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <kvmdbg/agent_expr.h>

#include "fuzz_check.h"

#define MEM_BASE 0x1000
#define MEM_SIZE 64

struct target {
	uint8_t mem[MEM_SIZE];
	size_t printed;
};

static int read_mem(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct target *t = opaque;

	if (addr < MEM_BASE || addr - MEM_BASE > MEM_SIZE || len > MEM_SIZE - (addr - MEM_BASE))
		return -1;
	memcpy(buf, t->mem + (addr - MEM_BASE), len);
	return 0;
}

static int read_reg(void *opaque, unsigned regno, uint64_t *val)
{
	if (regno >= 32)
		return -1;
	*val = regno < 16 ? MEM_BASE + regno : (uint64_t)regno << 40;
	return 0;
}

static void output(void *opaque, const char *text, size_t len)
{
	struct target *t = opaque;

	FUZZ_CHECK(len < KD_AX_PRINTF_MAX);
	t->printed += len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct target t;
	const struct kd_ax_env env = {
		.read_mem = read_mem, .read_reg = read_reg, .output = output, .opaque = &t,
	};
	enum kd_ax_use use;
	enum kd_ax_result r, again;
	const char *why = NULL;
	uint8_t *code;
	uint64_t v = 0, v2 = 0;
	size_t len, printed;
	int valid;

	if (!size)
		return 0;
	use = data[0] & 1 ? KD_AX_COMMAND : KD_AX_CONDITION;
	len = size - 1;
	code = malloc(len ? len : 1);
	if (!code)
		return 0;
	memcpy(code, data + 1, len);
	for (unsigned i = 0; i < MEM_SIZE; i++)
		t.mem[i] = (uint8_t)(i * 7 + 1);
	t.mem[MEM_SIZE - 1] = 0;
	t.printed = 0;

	valid = kd_ax_validate(code, len, use, &why);
	FUZZ_CHECK(valid == 0 || (why && *why));
	FUZZ_CHECK(kd_ax_validate(code, len, use, &why) == valid);
	r = kd_ax_eval(code, len, &env, &v);
	FUZZ_CHECK(r >= KD_AX_OK && r <= KD_AX_ERR_STEPS);
	if (valid == 0)
		FUZZ_CHECK(r != KD_AX_ERR_INVALID);
	printed = t.printed;
	t.printed = 0;
	again = kd_ax_eval(code, len, &env, &v2);
	FUZZ_CHECK(again == r && t.printed == printed && (r != KD_AX_OK || v == v2));
	free(code);
	return 0;
}
