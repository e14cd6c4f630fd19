/* SPDX-License-Identifier: MIT */
/*
 * Entry of the ELF64 guest, reached directly in long mode on the stack the
 * monitor provides; RDI holds the command line address (or 0).  The entry
 * stack pointer is recorded before any use so the guest can report it.
 */
	.text
	.globl _start
	.type _start, @function
_start:
	movq %rsp, long64_entry_rsp(%rip)
	andq $-16, %rsp
	xorl %ebp, %ebp
	call long64_main
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
