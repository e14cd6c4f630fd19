/* SPDX-License-Identifier: MIT */
/*
 * The vector table of the guests that run brk themselves (brkcount.elf,
 * smp.elf).  Only a synchronous exception from EL1 with SP_EL1 (offset
 * 0x200) is expected, and only for "brk #BRK_IMM": it is counted in the
 * slot of the vCPU that took it (MPIDR_EL1.Aff0, which no code the trap
 * interrupted can have changed) and the guest resumes after the brk.
 * Everything else reports ESR_EL1, ELR_EL1 and the vector offset through
 * vector_unexpected().
 */
#include "brk.h"
#include "vectors.h"

#define EC_BRK64	0x3c

	.text
	.global brk_fire
	.global brk_site
	.type brk_fire, %function
brk_fire:
brk_site:
	brk	#BRK_IMM
	ret
	.size brk_fire, . - brk_fire

	.balign 2048
	.global brk_vectors
brk_vectors:
	unexpected_range 0x000, 0x200
	.balign 0x80
	.global brk_sync_el1h
brk_sync_el1h:
	stp	x0, x1, [sp, #-16]!
	mrs	x0, esr_el1
	adrp	x1, brk_last_esr
	str	x0, [x1, :lo12:brk_last_esr]
	lsr	x1, x0, #26
	cmp	x1, #EC_BRK64
	b.ne	1f
	and	x1, x0, #0xffff
	cmp	x1, #BRK_IMM
	b.ne	1f
	mrs	x1, mpidr_el1
	and	x1, x1, #(BRK_MAX_CPUS - 1)
	adrp	x0, brk_hits
	add	x0, x0, :lo12:brk_hits
	add	x0, x0, x1, lsl #2
	ldr	w1, [x0]
	add	w1, w1, #1
	str	w1, [x0]
	mrs	x0, elr_el1
	add	x0, x0, #4
	msr	elr_el1, x0
	ldp	x0, x1, [sp], #16
	eret
1:	ldp	x0, x1, [sp], #16
	mov	x2, #0x200
	b	vector_report
	unexpected_range 0x280, 0x800

	vector_report
