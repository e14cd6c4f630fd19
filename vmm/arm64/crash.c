/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <ucontext.h>

#include "../vmm.h"

/* The link register: the caller, in a function that has not called
 * another yet, or the last call it made.  TPIDR_EL0 is the same in the
 * handler as where the signal struck. */
void arch_crash_pcs(const void *uctx, uint64_t *pc, uint64_t *ret, uint64_t *tp)
{
	const ucontext_t *uc = uctx;

	*pc = uc->uc_mcontext.pc;
	*ret = uc->uc_mcontext.regs[30];
	__asm__ volatile("mrs %0, tpidr_el0" : "=r"(*tp));
}
