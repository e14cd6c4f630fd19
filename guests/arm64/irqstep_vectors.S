/* SPDX-License-Identifier: MIT */
/*
 * irqstep's vector table and the code whose interrupt mask a debugger
 * steps through.  IRQs from EL1 with SP_EL1 (offset 0x280) go to
 * irq_handler() with every caller-saved register kept; "svc #SVC_IMM"
 * (offset 0x200) is counted and returns after the svc.  Anything else is
 * reported through vector_unexpected().
 */
#include "vectors.h"

#define SVC_IMM		0x5
#define EC_SVC64	0x15

	.text
	.global daif_dance
	.type daif_dance, %function
daif_dance:
	msr	daifset, #2
	mrs	x0, daif
	msr	daifclr, #2
	mrs	x1, daif
	adrp	x2, dance_masked
	str	x0, [x2, :lo12:dance_masked]
	adrp	x2, dance_unmasked
	str	x1, [x2, :lo12:dance_unmasked]
	.global dance_svc
dance_svc:
	svc	#SVC_IMM
	ret
	.size daif_dance, . - daif_dance

	.balign 2048
	.global irq_vectors
irq_vectors:
	unexpected_range 0x000, 0x200
	.balign 0x80
	.global irq_sync_el1h
irq_sync_el1h:
	stp	x0, x1, [sp, #-16]!
	mrs	x0, esr_el1
	lsr	x1, x0, #26
	cmp	x1, #EC_SVC64
	b.ne	1f
	and	x1, x0, #0xffff
	cmp	x1, #SVC_IMM
	b.ne	1f
	adrp	x0, svc_calls
	ldr	w1, [x0, :lo12:svc_calls]
	add	w1, w1, #1
	str	w1, [x0, :lo12:svc_calls]
	ldp	x0, x1, [sp], #16
	eret
1:	ldp	x0, x1, [sp], #16
	mov	x2, #0x200
	b	vector_report
	.balign 0x80
	.global irq_el1h
irq_el1h:
	stp	x29, x30, [sp, #-176]!
	stp	x0, x1, [sp, #16]
	stp	x2, x3, [sp, #32]
	stp	x4, x5, [sp, #48]
	stp	x6, x7, [sp, #64]
	stp	x8, x9, [sp, #80]
	stp	x10, x11, [sp, #96]
	stp	x12, x13, [sp, #112]
	stp	x14, x15, [sp, #128]
	stp	x16, x17, [sp, #144]
	str	x18, [sp, #160]
	bl	irq_handler
	ldr	x18, [sp, #160]
	ldp	x16, x17, [sp, #144]
	ldp	x14, x15, [sp, #128]
	ldp	x12, x13, [sp, #112]
	ldp	x10, x11, [sp, #96]
	ldp	x8, x9, [sp, #80]
	ldp	x6, x7, [sp, #64]
	ldp	x4, x5, [sp, #48]
	ldp	x2, x3, [sp, #32]
	ldp	x0, x1, [sp, #16]
	ldp	x29, x30, [sp], #176
	eret
	unexpected_range 0x300, 0x800

	vector_report
