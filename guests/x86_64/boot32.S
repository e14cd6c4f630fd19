/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 entry shared by the 64-bit Multiboot guests.  The loader
 * enters _start in 32-bit protected mode with paging
 * off; this code identity-maps the first GiB, maps the second GiB of virtual
 * space onto the same physical GiB (so debugger tests can tell virtual from
 * physical addressing), enters long mode and calls kmain(magic, info).
 */

#include "boot64.h"

	.cfi_sections .debug_frame


#define BOOT_STACK_SIZE	16384

	multiboot_header mb_header

	.section .text.boot, "ax"
	.code32
	.globl _start
	.type _start, @function
_start:
	cli
	movl %eax, boot_magic
	movl %ebx, boot_info
	movl $boot_stack_top, %esp

	movl $boot_pdpt, %eax
	orl $PTE_PRESENT_RW, %eax
	movl %eax, boot_pml4
	movl $boot_pd, %eax
	orl $PTE_PRESENT_RW, %eax
	movl %eax, boot_pdpt
	movl %eax, boot_pdpt + 8
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $PDE_LARGE, %eax
	movl %eax, boot_pd(, %ecx, 8)
	incl %ecx
	cmpl $512, %ecx
	jb 1b

	movl $boot_pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $(CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT), %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	andl $~CR0_EM, %eax
	orl $(CR0_PG | CR0_MP | CR0_PE), %eax
	movl %eax, %cr0
	lgdt gdt64_ptr
	ljmp $0x08, $start64
	.size _start, . - _start

	.code64
	.type start64, @function
start64:
	/* the outermost frame: backtraces end here */
	.cfi_startproc
	.cfi_undefined rip
	load_flat_data_segments
	movq $boot_stack_top, %rsp
	/*
	 * Upper register halves are undefined after the mode switch; clearing
	 * every register makes the guest's register state at any later stop
	 * independent of the loader (debugger comparisons rely on that).
	 */
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %ebp, %ebp
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	movl boot_magic(%rip), %edi
	movl boot_info(%rip), %esi
	call kmain
2:	cli
	hlt
	jmp 2b
	.cfi_endproc
	.size start64, . - start64

	flat_gdt64 gdt64

	.section .bss
	.balign 4096
boot_pml4:
	.skip 4096
boot_pdpt:
	.skip 4096
boot_pd:
	.skip 4096
	.balign 16
boot_stack:
	.skip BOOT_STACK_SIZE
boot_stack_top:
	.balign 4
	.globl boot_magic, boot_info
boot_magic:
	.skip 4
boot_info:
	.skip 4

	.section .note.GNU-stack, "", @progbits
