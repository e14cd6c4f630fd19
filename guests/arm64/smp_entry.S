/* SPDX-License-Identifier: MIT */
/* Where PSCI CPU_ON starts vCPU 1: x0 holds its stack top (the context id). */
	.text
	.global secondary_entry
	.type secondary_entry, %function
secondary_entry:
	mov	sp, x0
	mov	x29, xzr
	mov	x30, xzr
	bl	secondary_main
	.size secondary_entry, . - secondary_entry
