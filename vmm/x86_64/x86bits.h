/* SPDX-License-Identifier: MIT */
/*
 * Architectural bits of the control registers, EFER and page-table
 * entries that kvmdbg's entry states and boot page tables set, named once
 * for every file that builds them.
 */
#ifndef KVMDBG_X86BITS_H
#define KVMDBG_X86BITS_H

#define CR0_PE		(1ull << 0)
#define CR0_MP		(1ull << 1)
#define CR0_ET		(1ull << 4)
#define CR0_NE		(1ull << 5)
#define CR0_WP		(1ull << 16)
#define CR0_PG		(1ull << 31)
#define CR4_PAE		(1ull << 5)
#define CR4_OSFXSR	(1ull << 9)
#define CR4_OSXMMEXCPT	(1ull << 10)
#define EFER_LME	(1ull << 8)
#define EFER_LMA	(1ull << 10)

#define PTE_P		0x1ull
#define PTE_W		0x2ull
#define PTE_PS		0x80ull		/* in a PD entry: a 2 MiB page */

#endif
