/* SPDX-License-Identifier: MIT */
/*
 * A pure 32-bit Multiboot guest loaded through its ELF32 program headers (no
 * address fields in the header).  Reports what the loader handed over:
 *   mb32 ok mem_upper=0x<hex>       (or "mb32 bad magic")
 *   mb32 cmdline: <text>            (when the info has a command line)
 *   mb32 mmap ok                    (an available range covers 1 MiB)
 * and exits with MB32_EXIT through the debug-exit port.
 */
#include "multiboot_elf.h"

#define MB_BOOT_MAGIC	0x2badb002
#define MBI_FLAG_MEM	(1 << 0)
#define MBI_FLAG_CMDLINE (1 << 2)
#define MBI_FLAG_MMAP	(1 << 6)
#define MBI_MEM_UPPER	8
#define MBI_CMDLINE	16
#define MBI_MMAP_LENGTH	44
#define MBI_MMAP_ADDR	48
#define MMAP_TYPE_RAM	1
#define COM1_THR	0x3f8
#define COM1_LSR	0x3fd
#define LSR_THRE	0x20
#define EXIT_PORT	0xf4
#define MB32_EXIT	0x32
#define MB32_BAD_MAGIC	0x7e

	multiboot_elf_header

	.text
	.code32
	.globl _start
	.type _start, @function
_start:
	cli
	movl $stack_top, %esp
	movl %ebx, %ebp			/* info pointer, kept throughout */
	cmpl $MB_BOOT_MAGIC, %eax
	je 1f
	movl $msg_bad_magic, %esi
	call puts
	movl $MB32_BAD_MAGIC, %eax
	jmp exit

1:	movl $msg_ok, %esi
	call puts
	xorl %eax, %eax
	testl $MBI_FLAG_MEM, (%ebp)
	jz 2f
	movl MBI_MEM_UPPER(%ebp), %eax
2:	call puthex32
	movb $'\n', %al
	call putc

	testl $MBI_FLAG_CMDLINE, (%ebp)
	jz 3f
	movl $msg_cmdline, %esi
	call puts
	movl MBI_CMDLINE(%ebp), %esi
	call puts
	movb $'\n', %al
	call putc

3:	testl $MBI_FLAG_MMAP, (%ebp)
	jz 6f
	movl MBI_MMAP_ADDR(%ebp), %esi
	movl %esi, %edi
	addl MBI_MMAP_LENGTH(%ebp), %edi
	/* entries: size (not counting itself), base_lo, base_hi, len_lo, len_hi, type */
4:	cmpl %edi, %esi
	jae 6f
	cmpl $MMAP_TYPE_RAM, 20(%esi)
	jne 5f
	cmpl $0, 8(%esi)		/* base above 4 GiB */
	jne 5f
	movl 4(%esi), %eax
	cmpl $0x100000, %eax
	ja 5f
	cmpl $0, 16(%esi)		/* length of 4 GiB or more */
	jne 8f
	addl 12(%esi), %eax
	jc 8f
	cmpl $0x100000, %eax
	jbe 5f
8:	movl $msg_mmap, %esi
	call puts
	jmp 6f
5:	addl (%esi), %esi
	addl $4, %esi
	jmp 4b

6:	movl $MB32_EXIT, %eax
exit:
	outl %eax, $EXIT_PORT
7:	hlt
	jmp 7b
	.size _start, . - _start

/* putc: AL = character */
	.type putc, @function
putc:
	pushl %edx
	movb %al, %ah
	movw $COM1_LSR, %dx
1:	inb %dx, %al
	testb $LSR_THRE, %al
	jz 1b
	movb %ah, %al
	movw $COM1_THR, %dx
	outb %al, %dx
	popl %edx
	ret
	.size putc, . - putc

/* puts: ESI = NUL-terminated string */
	.type puts, @function
puts:
	pushl %esi
1:	movb (%esi), %al
	testb %al, %al
	jz 2f
	call putc
	incl %esi
	jmp 1b
2:	popl %esi
	ret
	.size puts, . - puts

/* puthex32: EAX = value, printed as 0x followed by eight digits */
	.type puthex32, @function
puthex32:
	pushl %ebx
	pushl %ecx
	movl %eax, %ebx
	movb $'0', %al
	call putc
	movb $'x', %al
	call putc
	movl $8, %ecx
1:	roll $4, %ebx
	movl %ebx, %eax
	andl $0xf, %eax
	movb hexdigits(%eax), %al
	call putc
	loop 1b
	popl %ecx
	popl %ebx
	ret
	.size puthex32, . - puthex32

	.section .rodata
hexdigits:	.ascii "0123456789abcdef"
msg_ok:		.asciz "mb32 ok mem_upper="
msg_bad_magic:	.asciz "mb32 bad magic\n"
msg_cmdline:	.asciz "mb32 cmdline: "
msg_mmap:	.asciz "mb32 mmap ok\n"

	.section .bss
	.balign 16
	.skip 4096
stack_top:

	.section .note.GNU-stack, "", @progbits
