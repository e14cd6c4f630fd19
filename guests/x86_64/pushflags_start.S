/* SPDX-License-Identifier: MIT */
/*
 * Entered in long mode like long64.elf.  The first two instructions save
 * the flags with pushf, 8 and 2 bytes wide: a debugger steps them and then
 * lets the guest run.  The guest passes both images to pushflags_main and
 * loads the first with popf: had a step left its trap flag in it, the guest
 * would single-step itself with nobody to catch the trap and, having no
 * IDT, triple-fault.
 */
	.text
	.globl _start
	.type _start, @function
_start:
	pushfq
	pushfw
	popw %si
	movq (%rsp), %rdi
	popfq
	movzwl %si, %esi
	andq $-16, %rsp
	call pushflags_main
1:	cli
	hlt
	jmp 1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
