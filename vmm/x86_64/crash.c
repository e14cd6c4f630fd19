/* SPDX-License-Identifier: MIT */
#include <stdint.h>
#include <ucontext.h>

#include "../vmm.h"

/* x86-64 keeps the return address on the stack, where a fault may have
 * left it anywhere, and the thread pointer in the FS base, which only the
 * kernel switches: only the pc. */
void arch_crash_pcs(const void *uctx, uint64_t *pc, uint64_t *ret, uint64_t *tp)
{
	const ucontext_t *uc = uctx;

	*pc = (uint64_t)uc->uc_mcontext.gregs[REG_RIP];
	*ret = 0;
	*tp = 0;
}
