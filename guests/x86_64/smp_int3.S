/* SPDX-License-Identifier: MIT */
/*
 * The SMP guest's own use of int3 (command line word int3): smp_int3_fire
 * executes the instruction at smp_int3_site, and the guest's #BP handler
 * counts it.  #BP is a trap, so the handler returns after the int3.
 *
 * The handler counts through GS: each vCPU points its GS base at its own
 * slot of smp_int3_hits before its first int3 (smp.c).  The GS base is
 * state of the vCPU itself, written once and never again by the guest, and
 * not among the general registers and RIP that a debugger rewrites when it
 * hands a trap back; so the count lands in the slot of the vCPU that really
 * ran the handler even if a trap went to another vCPU or came back with
 * another vCPU's registers and stack, and a wrong delivery shows up in the
 * counts instead of being hidden by them.
 */
	.text
	.globl smp_int3_fire, smp_int3_site
	.type smp_int3_fire, @function
smp_int3_fire:
smp_int3_site:
	int3
	ret
	.size smp_int3_fire, . - smp_int3_fire

	.section .text.irq, "ax"
	.globl smp_isr_breakpoint
	.type smp_isr_breakpoint, @function
smp_isr_breakpoint:
	incq %gs:0
	iretq
	.size smp_isr_breakpoint, . - smp_isr_breakpoint

	.section .note.GNU-stack, "", @progbits
