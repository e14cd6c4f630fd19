// SPDX-License-Identifier: MIT
/* The MMU switch of the guests that bring their own translation tables. */
#include "guest.h"

#define SCTLR_M		(1ul << 0)
#define SCTLR_C		(1ul << 2)
#define SCTLR_I		(1ul << 12)

void mmu_on(uint64_t mair, uint64_t tcr, uint64_t ttbr0, uint64_t ttbr1)
{
	uint64_t sctlr;

	/* The tables must be in memory and no stale translation left before
	 * the first walk. */
	asm volatile("msr mair_el1, %[mair]\n"
		     "msr tcr_el1, %[tcr]\n"
		     "msr ttbr0_el1, %[ttbr0]\n"
		     "msr ttbr1_el1, %[ttbr1]\n"
		     "dsb sy\n"
		     "tlbi vmalle1\n"
		     "dsb sy\n"
		     "isb\n"
		     "mrs %[sctlr], sctlr_el1\n"
		     "orr %[sctlr], %[sctlr], %[on]\n"
		     "msr sctlr_el1, %[sctlr]\n"
		     "isb"
		     : [sctlr] "=&r"(sctlr)
		     : [mair] "r"(mair), [tcr] "r"(tcr), [ttbr0] "r"(ttbr0),
		       [ttbr1] "r"(ttbr1), [on] "r"(SCTLR_M | SCTLR_C | SCTLR_I)
		     : "memory");
}
