/* SPDX-License-Identifier: MIT */
/*
 * The hot page of the watchpoint guest (see watch.h).  Code and data share
 * one code section so that the linker keeps them on a single page; the
 * boot page tables map the whole image writable, so the data stays
 * writable there.
 */

	.section .text.watch_hot, "ax", @progbits
	.balign 4096
	.globl watch_hot_page
watch_hot_page:

	.globl watch_hot_step
	.type watch_hot_step, @function
watch_hot_step:
	movq watch_hot_data(%rip), %rax
	rolq $5, %rax
	xorq %rdi, %rax
	movq %rax, watch_hot_data(%rip)
	ret
	.size watch_hot_step, . - watch_hot_step

	.balign 64
	.globl watch_hot_data, watch_hot_var
	.type watch_hot_data, @object
watch_hot_data:
	.quad 0x0123456789abcdef
	.size watch_hot_data, 8
	.type watch_hot_var, @object
watch_hot_var:
	.quad 0
	.size watch_hot_var, 8
	/* Nothing else may share the page. */
	.balign 4096

	.section .note.GNU-stack, "", @progbits
