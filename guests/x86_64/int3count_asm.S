/* SPDX-License-Identifier: MIT */
/*
 * The guest's own use of int3: int3_fire executes the instruction at
 * int3_site and the #BP handler counts it.  #BP is a trap, so the handler
 * returns to the instruction after int3.
 */
	.text
	.globl int3_fire, int3_site
	.type int3_fire, @function
int3_fire:
int3_site:
	int3
	ret
	.size int3_fire, . - int3_fire

	.section .text.irq, "ax"
	.globl isr_breakpoint
	.type isr_breakpoint, @function
isr_breakpoint:
	incl int3_hits(%rip)
	iretq
	.size isr_breakpoint, . - isr_breakpoint

	.section .note.GNU-stack, "", @progbits
