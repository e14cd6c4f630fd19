/* SPDX-License-Identifier: MIT */
/*
 * Code the codepatch guest copies into place: three small functions of
 * (rdi, rsi), each different from its first byte on, and the copy loops
 * it uses (byte stores, a string move, 8-byte stores).
 */
	.text
	.globl tmpl_add, tmpl_add_end, tmpl_mul, tmpl_mul_end, tmpl_sub, tmpl_sub_end
tmpl_add:
	lea (%rdi, %rsi), %rax
	ret
tmpl_add_end:
tmpl_mul:
	mov %rdi, %rax
	imul %rsi, %rax
	add $1, %rax
	ret
tmpl_mul_end:
tmpl_sub:
	mov %rdi, %rax
	sub %rsi, %rax
	ret
tmpl_sub_end:

/* copy_rep(dst, src, n): one rep movsb. */
	.globl copy_rep
	.type copy_rep, @function
copy_rep:
	mov %rdx, %rcx
	rep movsb
	ret
	.size copy_rep, . - copy_rep

/* copy_quads(dst, src, n): 8-byte stores, the last one ending at dst + n
 * (it overlaps the one before when n is not a multiple of 8). */
	.globl copy_quads
	.type copy_quads, @function
copy_quads:
	xor %ecx, %ecx
1:	lea 8(%rcx), %rax
	cmp %rdx, %rax
	ja 2f
	mov (%rsi, %rcx), %rax
	mov %rax, (%rdi, %rcx)
	add $8, %rcx
	jmp 1b
2:	cmp %rdx, %rcx
	je 3f
	mov -8(%rsi, %rdx), %rax
	mov %rax, -8(%rdi, %rdx)
3:	ret
	.size copy_quads, . - copy_quads

	.section .note.GNU-stack, "", @progbits
