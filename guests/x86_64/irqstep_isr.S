/* SPDX-License-Identifier: MIT */
/*
 * IRQ 0 entry: saves the registers the C ABI lets irq0_handler clobber.  The
 * CPU leaves RSP 16-byte aligned minus the 40-byte frame; nine pushes
 * restore the ABI's alignment at the call.
 */
	.section .text.irq, "ax"
	.globl isr_irq0
	.type isr_irq0, @function
isr_irq0:
	pushq %rax
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	call irq0_handler
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rax
	iretq
	.size isr_irq0, . - isr_irq0

	.section .note.GNU-stack, "", @progbits
