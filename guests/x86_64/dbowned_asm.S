/* SPDX-License-Identifier: MIT */
/*
 * The guest's own debug-register breakpoint: db_site is where DR0 points.
 * isr_debug records DR6 and the return address (the breakpoint is a fault:
 * the address of db_site itself), then disarms DR7 so that the return runs
 * db_site, and clears DR6 as handlers do.
 */
	.text
	.globl db_site
	.type db_site, @function
db_site:
	nop
	ret
	.size db_site, . - db_site

	.section .text.irq, "ax"
	.globl isr_debug
	.type isr_debug, @function
isr_debug:
	push %rax
	mov %dr6, %rax
	mov %rax, db_dr6(%rip)
	mov 8(%rsp), %rax
	mov %rax, db_ret(%rip)
	incl db_hits(%rip)
	xor %eax, %eax
	mov %rax, %dr7
	mov %rax, %dr6
	pop %rax
	iretq
	.size isr_debug, . - isr_debug

	.section .note.GNU-stack, "", @progbits
