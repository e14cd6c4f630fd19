/* SPDX-License-Identifier: MIT */
/*
 * The Multiboot header of the 32-bit guests the loader takes as ELF files,
 * so no address fields: page-aligned modules and memory information only.
 * Included by assembly files only.
 */
#ifndef GUEST_MULTIBOOT_ELF_H
#define GUEST_MULTIBOOT_ELF_H

#define MB_HEADER_MAGIC	0x1badb002
#define MB_HEADER_FLAGS	((1 << 0) | (1 << 1))

.macro multiboot_elf_header
	.section .multiboot, "a"
	.balign 4
	.long MB_HEADER_MAGIC
	.long MB_HEADER_FLAGS
	.long -(MB_HEADER_MAGIC + MB_HEADER_FLAGS)
.endm

#endif
