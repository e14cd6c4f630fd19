/* SPDX-License-Identifier: MIT */
/*
 * Entry of every arm64 guest, at EL1 with the MMU off: the guest's own
 * stack (so it does not depend on what the loader left in SP), a zeroed bss,
 * then main().  The frame record chain ends here so backtraces stop cleanly.
 */
	.section .text.boot, "ax"
	.global _start
	.type _start, %function
_start:
	ldr	x1, =__stack0_top
	mov	sp, x1
	ldr	x1, =__bss_start
	ldr	x2, =__bss_end
1:	cmp	x1, x2
	b.hs	2f
	str	xzr, [x1], #8
	b	1b
2:	mov	x29, xzr
	mov	x30, xzr
	bl	main
	.size _start, . - _start
