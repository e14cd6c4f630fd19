/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <ucontext.h>

#include "../vmm.h"

/* The link register: the caller, in a function that has not called
 * another yet, or the last call it made. */
void arch_crash_pcs(const void *uctx, uint64_t *pc, uint64_t *ret)
{
	const ucontext_t *uc = uctx;

	*pc = uc->uc_mcontext.pc;
	*ret = uc->uc_mcontext.regs[30];
}
