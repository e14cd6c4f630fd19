/* SPDX-License-Identifier: MIT */
/*
 * Code whose exact bytes the debugger tests depend on, so it is written in
 * assembly rather than left to the compiler.
 */
#define DEMO_SLED_LEN	0x3000

	.text
	.globl demo_sled, demo_sled_bytes
	.type demo_sled, @function
demo_sled:
demo_sled_bytes:
	.fill DEMO_SLED_LEN, 1, 0x90
	ret
	.size demo_sled, . - demo_sled

	.globl demo_patch
	.type demo_patch, @function
demo_patch:
	movl $0x11, %eax
	ret
	.size demo_patch, . - demo_patch

	.globl demo_bump
	.type demo_bump, @function
demo_bump:
	addq $0x1000, %rax
	ret
	.size demo_bump, . - demo_bump

	/*
	 * Only a plain SSE load: the in-kernel instruction emulator of some
	 * hosts (which runs all CPL-0 code there) rejects ldmxcsr, so MXCSR
	 * keeps its reset value.
	 */
	.globl demo_load_sse
	.type demo_load_sse, @function
demo_load_sse:
	movdqu demo_xmm_pattern(%rip), %xmm0
	ret
	.size demo_load_sse, . - demo_load_sse

	.section .rodata
	.balign 16
	.globl demo_xmm_pattern
demo_xmm_pattern:
	.byte 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77
	.byte 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff
	.size demo_xmm_pattern, 16

	.section .note.GNU-stack, "", @progbits
