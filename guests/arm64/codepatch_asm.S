/* SPDX-License-Identifier: MIT */
/*
 * Code the arm64 codepatch guest copies into place: two functions of
 * (x0, x1), different from their first instruction on, each four
 * instructions long so that two 8-byte pair stores copy one.
 */
	.text
	.balign 16
	.globl tmpl_add, tmpl_mul
tmpl_add:
	add x0, x0, x1
	ret
	nop
	nop
tmpl_mul:
	mul x0, x0, x1
	add x0, x0, #1
	ret
	nop

/* copy_pairs(dst, src, n16): 16 bytes at a time by ldp/stp, stores whose
 * faults carry no syndrome KVM can decode. */
	.globl copy_pairs
	.type copy_pairs, @function
copy_pairs:
	cbz x2, 2f
1:	ldp x3, x4, [x1], #16
	stp x3, x4, [x0], #16
	subs x2, x2, #1
	b.ne 1b
2:	ret
	.size copy_pairs, . - copy_pairs

	.section .note.GNU-stack, "", @progbits
