/* SPDX-License-Identifier: MIT */
#include <kvmdbg/debug_core.h>

void kd_stall_reset(struct kd_stall *st)
{
	st->seen = false;
}

void kd_stall_first(struct kd_stall *st, uint64_t pc, uint64_t cpu_ns)
{
	*st = (struct kd_stall){ .seen = true, .pc = pc, .cpu_ns = cpu_ns };
}

bool kd_stall_look(struct kd_stall *st, uint64_t pc, uint64_t cpu_ns)
{
	bool clocked = cpu_ns != KD_STALL_NO_CLOCK && st->cpu_ns != KD_STALL_NO_CLOCK;

	if (!st->seen || pc != st->pc || (clocked && cpu_ns < st->cpu_ns)) {
		kd_stall_first(st, pc, cpu_ns);
		return false;
	}
	if (clocked && cpu_ns - st->cpu_ns < KD_STALL_CPU_NS)
		return false;
	st->seen = false;
	return true;
}
