/* SPDX-License-Identifier: MIT */
/* The guest's own brk and its handler (brk_vectors.S, brk_counts.c). */
#ifndef GUEST_BRK_H
#define GUEST_BRK_H

#define BRK_IMM		0x7
#define BRK_MAX_CPUS	8	/* a power of two: MPIDR_EL1.Aff0 is masked */

#ifndef __ASSEMBLER__
#include <stdint.h>

extern char brk_vectors[];
/* "brk #BRK_IMM; ret": the handler counts the trap and returns past it. */
void brk_fire(void);
/* Kept by the handler: traps taken by each vCPU, the last syndrome. */
extern volatile uint32_t brk_hits[BRK_MAX_CPUS];
extern volatile uint64_t brk_last_esr;
#endif

#endif
