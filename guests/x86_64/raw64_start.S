/* SPDX-License-Identifier: MIT */
/*
 * First bytes of the raw binary guest: the monitor enters here in long mode
 * at the address given with --entry.
 */
	.section .text.start, "ax"
	.globl _start
	.type _start, @function
_start:
	andq $-16, %rsp
	xorl %ebp, %ebp
	leaq _start(%rip), %rdi
	call raw64_main
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
