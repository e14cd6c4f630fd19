/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <ucontext.h>

#include "../vmm.h"

/* x86-64 keeps the return address on the stack, where a fault may have
 * left it anywhere: only the pc. */
void arch_crash_pcs(const void *uctx, uint64_t *pc, uint64_t *ret)
{
	const ucontext_t *uc = uctx;

	*pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	*ret = 0;
}
