/* SPDX-License-Identifier: MIT */
/*
 * What the 32-to-64-bit Multiboot entries of the test guests share: the
 * Multiboot header, the long-mode control bits, a flat GDT and the segment
 * loads after the far jump.  Included by assembly files only.
 */
#ifndef GUEST_BOOT64_H
#define GUEST_BOOT64_H

#define MB_HEADER_MAGIC	0x1badb002
/* page-align modules, want memory info, use the address fields */
#define MB_HEADER_FLAGS	((1 << 0) | (1 << 1) | (1 << 16))

#define CR0_PE		(1 << 0)
#define CR0_MP		(1 << 1)
#define CR0_EM		(1 << 2)
#define CR0_PG		(1 << 31)
#define CR4_PAE		(1 << 5)
#define CR4_OSFXSR	(1 << 9)
#define CR4_OSXMMEXCPT	(1 << 10)
#define MSR_EFER	0xc0000080
#define EFER_LME	(1 << 8)
#define PTE_PRESENT_RW	0x3
#define PDE_LARGE	0x83

/*
 * The header uses the a.out-kludge address fields because Multiboot
 * loaders refuse ELF64 program headers; they describe the single image
 * segment laid out by mb64.ld.
 */
.macro multiboot_header name
	.section .multiboot, "a"
	.balign 4
\name:
	.long MB_HEADER_MAGIC
	.long MB_HEADER_FLAGS
	.long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
	.long \name
	.long __image_start
	.long __image_end
	.long __bss_end
	.long _start
.endm

/* Selector 0x08: 64-bit code, 0x10: flat data; `lgdt \name\()_ptr`. */
.macro flat_gdt64 name
	.section .rodata
	.balign 8
\name:
	.quad 0				/* null */
	.quad 0x00af9a000000ffff	/* 0x08: 64-bit code, DPL 0 */
	.quad 0x00cf92000000ffff	/* 0x10: flat data */
\name\()_end:
	.balign 4
	.word 0
\name\()_ptr:
	.word \name\()_end - \name - 1
	.long \name
.endm

.macro load_flat_data_segments
	movl $0x10, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	movl %eax, %fs
	movl %eax, %gs
.endm

#endif
