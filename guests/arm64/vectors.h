/* SPDX-License-Identifier: MIT */
/*
 * For the guests' vector tables: every entry a guest does not handle is
 * "unexpected OFFSET" (or within "unexpected_range FROM, TO"), which ends
 * the run through vector_unexpected() with ESR_EL1, ELR_EL1 and the offset;
 * "vector_report" must follow the table.
 */
#ifndef GUEST_VECTORS_H
#define GUEST_VECTORS_H

#ifdef __ASSEMBLER__
	.macro unexpected offset
	.balign 0x80
	mov	x2, #\offset
	b	vector_report
	.endm

	.macro unexpected_range from, to
	.if \from < \to
	unexpected \from
	unexpected_range (\from + 0x80), \to
	.endif
	.endm

	.macro vector_report
vector_report:
	mrs	x0, esr_el1
	mrs	x1, elr_el1
	bl	vector_unexpected
	.endm
#else
#include <stdint.h>

void vector_unexpected(uint64_t esr, uint64_t elr, uint64_t vector) __attribute__((noreturn));
#endif

#endif
