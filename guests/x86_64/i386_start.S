/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 entry of the 32-bit guest: it stays in protected mode and
 * calls kmain32(magic, info) on its own stack, with a zero frame pointer
 * ending the chain of frames.
 */
#include "multiboot_elf.h"

#define STACK_SIZE	16384

	multiboot_elf_header

	.text
	.code32
	.globl _start
	.type _start, @function
_start:
	.cfi_startproc
	.cfi_undefined %eip
	cli
	movl $stack_top, %esp
	xorl %ebp, %ebp
	pushl %ebx
	pushl %eax
	call kmain32
1:	hlt
	jmp 1b
	.cfi_endproc
	.size _start, . - _start

	.bss
	.balign 16
stack:
	.skip STACK_SIZE
stack_top:
