// SPDX-License-Identifier: MIT
/*
 * Turns the MMU on with a GRANULE_KIB (4, 16 or 64) KiB translation granule
 * and 48-bit virtual addresses in both halves, so that a debugger's table
 * walk meets every kind of descriptor that granule has: tables at each
 * level, blocks, pages, and a top-level table smaller than a granule (16 and
 * 64 KiB).
 *
 *   TTBR0  identity: a Device block around the PL011 and the exit register
 *          and a Normal block over this image (level 1 with 4 KiB granules,
 *          level 2 otherwise);
 *          MMU_ALIAS: last-level pages onto mmu_pages, out of order and
 *          with a hole, so that neighbouring virtual pages are never
 *          neighbouring physical ones:
 *              alias page 0 -> mmu_pages page 2
 *              alias page 1 -> mmu_pages page 0
 *              alias page 2    unmapped
 *              alias page 3 -> mmu_pages page 1
 *   TTBR1  MMU_UPPER: pages 0 and 1 -> mmu_pages pages 1 and 2
 *
 * With the MMU on it fills mmu_pages with mmu_word(k) in its k-th
 * doubleword, checks every mapped page through its virtual addresses, stops
 * at mmu_checkpoint() for the debugger and exits with MMU_EXIT.
 */
#include "guest.h"

#if GRANULE_KIB == 4
#define G_SHIFT		12
#define TCR_TG0		(0ul << 14)
#define TCR_TG1		(2ul << 30)
#define RAM_LEVEL	1
#elif GRANULE_KIB == 16
#define G_SHIFT		14
#define TCR_TG0		(2ul << 14)
#define TCR_TG1		(1ul << 30)
#define RAM_LEVEL	2
#elif GRANULE_KIB == 64
#define G_SHIFT		16
#define TCR_TG0		(1ul << 14)
#define TCR_TG1		(3ul << 30)
#define RAM_LEVEL	2
#else
#error "GRANULE_KIB must be 4, 16 or 64"
#endif

#define MMU_EXIT		0x4d
#define MMU_BAD_EXIT		0x4e
#define MMU_NO_GRANULE_EXIT	0x4f
#define MMU_NO_TABLES_EXIT	0x4c

#define GRANULE		(1ul << G_SHIFT)
#define STRIDE		(G_SHIFT - 3)
#define ENTRIES		(1ul << STRIDE)
#define VA_BITS		48
#define LEVELS		((VA_BITS - G_SHIFT + STRIDE - 1) / STRIDE)
#define TOP_LEVEL	(4 - LEVELS)
#define N_TABLES	10
#define N_PAGES		3
#define WORDS		(N_PAGES * GRANULE / 8)

#define RAM_BASE	0x40000000ul
#define DEVICE_BASE	0x09000000ul
#define MMU_ALIAS	0x0000c0de00000000ul
#define MMU_UPPER	0xffffff8012340000ul

#define DESC_VALID	0x1ul
#define DESC_TABLE	0x3ul		/* also a page at the last level */
#define DESC_BLOCK	0x1ul
#define DESC_AF		(1ul << 10)
#define DESC_SH_INNER	(3ul << 8)
#define DESC_ATTR(i)	((uint64_t)(i) << 2)
#define OA_MASK		(0x0000fffffffff000ul & ~(GRANULE - 1))
#define ATTR_DEVICE	0
#define ATTR_NORMAL	1
#define MAIR_VALUE	((0x00ul << (8 * ATTR_DEVICE)) | (0xfful << (8 * ATTR_NORMAL)))
#define NORMAL		(DESC_AF | DESC_SH_INNER | DESC_ATTR(ATTR_NORMAL))
#define DEVICE		(DESC_AF | DESC_ATTR(ATTR_DEVICE))

/* Table walks are non-cacheable: the tables are written with the MMU off. */
#define TCR_T0SZ	(64ul - VA_BITS)
#define TCR_T1SZ	((64ul - VA_BITS) << 16)
#define TCR_VALUE	(TCR_T0SZ | TCR_TG0 | TCR_T1SZ | TCR_TG1)

/* ID_AA64MMFR0_EL1 fields saying whether a granule is implemented. */
#define MMFR0_TGRAN16(v)	(((v) >> 20) & 0xf)	/* 0: no */
#define MMFR0_TGRAN64(v)	(((v) >> 24) & 0xf)	/* 0xf: no */
#define MMFR0_TGRAN4(v)		(((v) >> 28) & 0xf)	/* 0xf: no */

struct alias_page {
	unsigned virt;		/* page index from the mapping's base */
	unsigned phys;		/* page index into mmu_pages */
};

static const struct alias_page alias_pages[] = { { 0, 2 }, { 1, 0 }, { 3, 1 } };
static const struct alias_page upper_pages[] = { { 0, 1 }, { 1, 2 } };

uint64_t mmu_tables[N_TABLES][ENTRIES] __attribute__((aligned(GRANULE)));
uint64_t mmu_pages[WORDS] __attribute__((aligned(GRANULE)));
uint64_t *mmu_root0, *mmu_root1;
unsigned mmu_tables_used;
volatile uint64_t mmu_seen;

void mmu_checkpoint(void);
uint64_t mmu_word(uint64_t k);

/* Distinct in every doubleword of every page and granule. */
uint64_t mmu_word(uint64_t k)
{
	return k * 0x9e3779b97f4a7c15ul + GRANULE_KIB;
}

/* A place to stop at with the MMU on. */
__attribute__((noinline)) void mmu_checkpoint(void)
{
	mmu_seen = *(volatile uint64_t *)MMU_UPPER;
}

static void fail(const char *why, uint32_t code)
{
	uart_puts("mmu: ");
	uart_puts(why);
	uart_putc('\n');
	guest_exit(code);
}

static uint64_t *new_table(void)
{
	if (mmu_tables_used == N_TABLES)
		fail("out of translation tables", MMU_NO_TABLES_EXIT);
	return mmu_tables[mmu_tables_used++];
}

static unsigned level_shift(unsigned level)
{
	return G_SHIFT + STRIDE * (3 - level);
}

static uint64_t index_at(uint64_t va, unsigned level)
{
	unsigned bits = level == TOP_LEVEL ? VA_BITS - level_shift(level) : STRIDE;

	return (va >> level_shift(level)) & ((1ul << bits) - 1);
}

/* One block (level < 3) or page (level 3) descriptor, with the tables
 * above it made as needed. */
static void map(uint64_t *root, uint64_t va, uint64_t pa, unsigned level, uint64_t attrs)
{
	uint64_t *table = root;

	for (unsigned l = TOP_LEVEL; l < level; l++) {
		uint64_t *entry = &table[index_at(va, l)];

		if (!(*entry & DESC_VALID))
			*entry = (uintptr_t)new_table() | DESC_TABLE;
		table = (uint64_t *)(uintptr_t)(*entry & OA_MASK);
	}
	table[index_at(va, level)] = pa | attrs | (level == 3 ? DESC_TABLE : DESC_BLOCK);
}

static uint64_t block_base(uint64_t pa, unsigned level)
{
	return pa & ~((1ul << level_shift(level)) - 1);
}

static void map_pages(uint64_t *root, uint64_t va, const struct alias_page *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		map(root, va + p[i].virt * GRANULE,
		    (uintptr_t)mmu_pages + p[i].phys * GRANULE, 3, NORMAL);
}

static void check_granule(void)
{
	uint64_t mmfr0;
	int ok;

	asm volatile("mrs %0, id_aa64mmfr0_el1" : "=r"(mmfr0));
	ok = GRANULE_KIB == 4 ? MMFR0_TGRAN4(mmfr0) != 0xf :
	     GRANULE_KIB == 16 ? MMFR0_TGRAN16(mmfr0) != 0 :
	     MMFR0_TGRAN64(mmfr0) != 0xf;
	if (!ok)
		fail("granule not implemented", MMU_NO_GRANULE_EXIT);
}

static void mmu_enable(void)
{
	mmu_root0 = new_table();
	mmu_root1 = new_table();
	map(mmu_root0, block_base(DEVICE_BASE, 2), block_base(DEVICE_BASE, 2), 2, DEVICE);
	map(mmu_root0, block_base(RAM_BASE, RAM_LEVEL), block_base(RAM_BASE, RAM_LEVEL),
	    RAM_LEVEL, NORMAL);
	map_pages(mmu_root0, MMU_ALIAS, alias_pages, sizeof(alias_pages) / sizeof(alias_pages[0]));
	map_pages(mmu_root1, MMU_UPPER, upper_pages, sizeof(upper_pages) / sizeof(upper_pages[0]));
	mmu_on(MAIR_VALUE, TCR_VALUE, (uintptr_t)mmu_root0, (uintptr_t)mmu_root1);
}

static void check_pages(uint64_t va, const struct alias_page *p, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		const volatile uint64_t *virt =
			(const volatile uint64_t *)(va + p[i].virt * GRANULE);
		uint64_t first = p[i].phys * GRANULE / 8;

		for (uint64_t k = 0; k < GRANULE / 8; k++) {
			if (virt[k] != mmu_word(first + k)) {
				uart_puts("mmu: page at 0x");
				uart_puthex((uintptr_t)virt, 16);
				uart_puts(" reads 0x");
				uart_puthex(virt[k], 16);
				uart_puts(" at doubleword ");
				uart_putdec(k);
				uart_putc('\n');
				guest_exit(MMU_BAD_EXIT);
			}
		}
	}
}

void main(void)
{
	uart_puts("mmu: ");
	uart_putdec(GRANULE_KIB);
	uart_puts(" KiB granule\n");
	check_granule();
	mmu_enable();
	uart_puts("mmu: on\n");
	for (uint64_t k = 0; k < WORDS; k++)
		mmu_pages[k] = mmu_word(k);
	check_pages(MMU_ALIAS, alias_pages, sizeof(alias_pages) / sizeof(alias_pages[0]));
	check_pages(MMU_UPPER, upper_pages, sizeof(upper_pages) / sizeof(upper_pages[0]));
	uart_puts("mmu: pages ok\n");
	mmu_checkpoint();
	guest_exit(MMU_EXIT);
}
