// SPDX-License-Identifier: MIT
/*
 * Turns the MMU on with its own translation tables, so that the debugger
 * has to translate guest-virtual addresses: 4 KiB granule, 39-bit virtual
 * addresses, one level of 1 GiB blocks:
 *
 *   [0, 1 GiB)          identity, Device-nGnRnE (the PL011, the exit register)
 *   [1 GiB, 2 GiB)      identity, Normal write-back (RAM, this image)
 *   [2 GiB, 3 GiB)      the same RAM again: MMU_ALIAS + (pa - 1 GiB)
 *   [3 GiB, ...)        unmapped
 */
#include "guest.h"

#define MMU_EXIT	0x4d
#define MMU_BAD_EXIT	0x4e
#define GIB		(1ul << 30)
#define RAM_BASE	(1 * GIB)
#define MMU_ALIAS	(2 * GIB)

#define DESC_BLOCK	0x1ul
#define DESC_AF		(1ul << 10)
#define DESC_SH_INNER	(3ul << 8)
#define DESC_ATTR(i)	((uint64_t)(i) << 2)
#define ATTR_DEVICE	0
#define ATTR_NORMAL	1
#define MAIR_VALUE	((0x00ul << (8 * ATTR_DEVICE)) | (0xfful << (8 * ATTR_NORMAL)))

/*
 * Table walks are non-cacheable: the table was written with the MMU off,
 * so it is in memory, not in a cache.  TTBR1 walks are disabled.
 */
#define TCR_T0SZ_39	25ul
#define TCR_EPD1	(1ul << 23)
#define TCR_VALUE	(TCR_T0SZ_39 | TCR_EPD1)

uint64_t mmu_l1_table[512] __attribute__((aligned(4096)));
volatile uint64_t mmu_marker = 0x6d6d75206d61726bul;
volatile uint64_t mmu_seen;

void mmu_checkpoint(void);

/* A place to stop at with the MMU on. */
__attribute__((noinline)) void mmu_checkpoint(void)
{
	mmu_seen = *(volatile uint64_t *)(MMU_ALIAS + ((uintptr_t)&mmu_marker - RAM_BASE));
}

static void mmu_enable(void)
{
	uint64_t normal = DESC_BLOCK | DESC_AF | DESC_SH_INNER | DESC_ATTR(ATTR_NORMAL);

	mmu_l1_table[0] = 0 | DESC_BLOCK | DESC_AF | DESC_ATTR(ATTR_DEVICE);
	mmu_l1_table[1] = RAM_BASE | normal;
	mmu_l1_table[2] = RAM_BASE | normal;
	mmu_on(MAIR_VALUE, TCR_VALUE, (uintptr_t)mmu_l1_table, 0);
}

void main(void)
{
	uart_puts("mmu: start\n");
	mmu_enable();
	uart_puts("mmu: on\n");
	mmu_checkpoint();
	if (mmu_seen != mmu_marker) {
		uart_puts("mmu: alias reads 0x");
		uart_puthex(mmu_seen, 16);
		uart_putc('\n');
		guest_exit(MMU_BAD_EXIT);
	}
	uart_puts("mmu: alias ok\n");
	guest_exit(MMU_EXIT);
}
