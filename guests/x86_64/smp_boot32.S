/* SPDX-License-Identifier: MIT */
/*
 * Multiboot v1 entry of the SMP guest.  kvmdbg starts every vCPU here in
 * 32-bit protected mode with paging off, ESI holding the vCPU's index.
 * vCPU 0 builds the page tables (an identity map of the first GiB) that
 * all vCPUs share; the others wait until they are complete.  Each vCPU then
 * enters long mode by itself and calls smp_main(index) on its own stack.
 */
#include "boot64.h"
#include "smp.h"

	.cfi_sections .debug_frame



	multiboot_header smp_mb_header

	.section .text.boot, "ax"
	.code32
	.globl _start
	.type _start, @function
_start:
	cli
	/* A vCPU the guest has no stack for takes no part. */
	cmpl $SMP_MAX_CPUS, %esi
	jae park32
	testl %esi, %esi
	jnz wait_tables

	movl %eax, smp_boot_magic
	movl %ebx, smp_boot_info
	movl $smp_pdpt, %eax
	orl $PTE_PRESENT_RW, %eax
	movl %eax, smp_pml4
	movl $smp_pd, %eax
	orl $PTE_PRESENT_RW, %eax
	movl %eax, smp_pdpt
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $PDE_LARGE, %eax
	movl %eax, smp_pd(, %ecx, 8)
	incl %ecx
	cmpl $512, %ecx
	jb 1b
	/* x86 keeps stores in order: the tables are complete once seen. */
	movl $1, smp_tables_ready
	jmp enter_long

wait_tables:
	pause
	cmpl $0, smp_tables_ready
	je wait_tables

enter_long:
	movl $smp_pml4, %eax
	movl %eax, %cr3
	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $MSR_EFER, %ecx
	rdmsr
	orl $EFER_LME, %eax
	wrmsr
	movl %cr0, %eax
	andl $~CR0_EM, %eax
	orl $(CR0_PG | CR0_MP | CR0_PE), %eax
	movl %eax, %cr0
	lgdt smp_gdt_ptr
	ljmp $0x08, $smp_start64

park32:
	cli
	hlt
	jmp park32
	.size _start, . - _start

	.code64
	.type smp_start64, @function
smp_start64:
	/* the outermost frame of every vCPU: backtraces end here */
	.cfi_startproc
	.cfi_undefined rip
	load_flat_data_segments
	/* Writing the 32-bit register clears the undefined upper half. */
	movl %esi, %edi
	leal 1(%esi), %eax
	imull $SMP_STACK_SIZE, %eax, %eax
	leaq smp_stacks(%rip), %rsp
	addq %rax, %rsp
	/*
	 * Upper register halves are undefined after the mode switch: zeros
	 * make every vCPU's registers at a stop a product of its own work.
	 */
	xorl %eax, %eax
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %ebp, %ebp
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	call smp_main
	.cfi_endproc
	.size smp_start64, . - smp_start64

	flat_gdt64 smp_gdt

	.section .bss
	.balign 4096
smp_pml4:
	.skip 4096
smp_pdpt:
	.skip 4096
smp_pd:
	.skip 4096
	.globl smp_stacks
smp_stacks:
	.skip SMP_MAX_CPUS * SMP_STACK_SIZE
	.size smp_stacks, . - smp_stacks
	.balign 4
	.globl smp_boot_magic, smp_boot_info
smp_boot_magic:
	.skip 4
smp_boot_info:
	.skip 4
smp_tables_ready:
	.skip 4

	.section .note.GNU-stack, "", @progbits
