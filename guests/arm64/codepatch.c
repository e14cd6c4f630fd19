// SPDX-License-Identifier: MIT
/*
 * The arm64 code-patching guest (MMU off): it copies code over an address
 * a debugger may hold a software breakpoint on, then runs it.
 *
 *  1. tmpl_add into patch_page + PATCH_OFF by 32-bit stores; two calls.
 *  2. tmpl_mul over it by pair stores (ldp/stp); one call.
 *  3. tmpl_add over it again by 32-bit stores; one call.
 *  4. The MMU on (its own tables), ALIAS_VA mapped onto alias_a (a copy
 *     of tmpl_mul); one call.  Unmapped, codepatch_checkpoint(1), mapped
 *     onto alias_b (tmpl_add); one call.  Unmapped and mapped onto alias_b
 *     again with no call between; one call.  Unmapped,
 *     codepatch_checkpoint(2).
 *
 * It ends with the results and a checksum of its whole image on the
 * console:
 *   codepatch: results r1 r2 ... r7
 *   codepatch: sum 0x<FNV-1a of [image start, __bss_end)>
 */
#include "guest.h"

#define CODEPATCH_EXIT	0x2e
#define PAGE		4096
#define PATCH_OFF	0x100
#define TMPL_WORDS	4
#define NRESULTS	7
#define GIB		(1ul << 30)
#define RAM_BASE	(1 * GIB)
#define ALIAS_VA	(3 * GIB)	/* nothing else in that GiB */

/* 4 KiB granule, 39-bit addresses: L1 blocks of 1 GiB, an L2 and an L3
 * table under the alias.  Table walks are non-cacheable. */
#define DESC_BLOCK	0x1ul
#define DESC_TABLE	0x3ul
#define DESC_PAGE	0x3ul
#define DESC_AF		(1ul << 10)
#define DESC_SH_INNER	(3ul << 8)
#define DESC_ATTR(i)	((uint64_t)(i) << 2)
#define ATTR_DEVICE	0
#define ATTR_NORMAL	1
#define NORMAL		(DESC_AF | DESC_SH_INNER | DESC_ATTR(ATTR_NORMAL))
#define MAIR_VALUE	((0x00ul << (8 * ATTR_DEVICE)) | (0xfful << (8 * ATTR_NORMAL)))
#define TCR_VALUE	(25ul | (1ul << 23))	/* T0SZ 39 bits, no TTBR1 walks */

typedef uint64_t (*fn2)(uint64_t a, uint64_t b);

extern const uint32_t tmpl_add[], tmpl_mul[];
extern const uint8_t _start[], __bss_end[];
void copy_pairs(void *dst, const void *src, uint64_t n16);

uint32_t patch_page[PAGE / 4] __attribute__((aligned(PAGE)));
uint32_t alias_a[PAGE / 4] __attribute__((aligned(PAGE)));
uint32_t alias_b[PAGE / 4] __attribute__((aligned(PAGE)));
static uint64_t cp_l1[512] __attribute__((aligned(PAGE)));
static uint64_t cp_l2[512] __attribute__((aligned(PAGE)));
static uint64_t cp_l3[512] __attribute__((aligned(PAGE)));
uint64_t codepatch_results[NRESULTS];

void codepatch_checkpoint(unsigned n);

/* A debugger stops here between phases. */
void __attribute__((noinline)) codepatch_checkpoint(unsigned n)
{
	asm volatile("" : : "r"(n) : "memory");
}

/* The walker reads the table from memory, and no old translation stays. */
static void map_alias(const uint32_t *page)
{
	((volatile uint64_t *)cp_l3)[0] = page ? (uintptr_t)page | DESC_PAGE | NORMAL : 0;
	asm volatile("dc civac, %0; dsb sy; tlbi vmalle1; dsb sy; ic iallu; dsb sy; isb"
		     : : "r"(cp_l3) : "memory");
}

static void copy_words(uint32_t *dst, const uint32_t *src)
{
	for (unsigned i = 0; i < TMPL_WORDS; i++)
		((volatile uint32_t *)dst)[i] = src[i];
}

/* New instructions are fetched only after this. */
static void sync_code(void)
{
	asm volatile("dsb sy; ic iallu; dsb sy; isb" : : : "memory");
}

static uint64_t call(const void *code, uint64_t a, uint64_t b)
{
	fn2 f = (fn2)(uintptr_t)code;

	asm volatile("" : "+r"(f) : : "memory");
	return f(a, b);
}

void main(void)
{
	uint32_t *patch = patch_page + PATCH_OFF / 4;
	uint64_t *r = codepatch_results;
	uint64_t h = 0xcbf29ce484222325ull;

	copy_words(patch, tmpl_add);
	sync_code();
	r[0] = call(patch, 1, 2);
	r[1] = call(patch, 3, 4);
	copy_pairs(patch, tmpl_mul, TMPL_WORDS * 4 / 16);
	sync_code();
	r[2] = call(patch, 5, 6);
	copy_words(patch, tmpl_add);
	sync_code();
	r[3] = call(patch, 7, 8);

	copy_words(alias_a, tmpl_mul);
	copy_words(alias_b, tmpl_add);
	sync_code();
	cp_l1[0] = 0 | DESC_BLOCK | DESC_AF | DESC_ATTR(ATTR_DEVICE);
	cp_l1[1] = RAM_BASE | DESC_BLOCK | NORMAL;
	cp_l1[3] = (uintptr_t)cp_l2 | DESC_TABLE;
	cp_l2[0] = (uintptr_t)cp_l3 | DESC_TABLE;
	mmu_on(MAIR_VALUE, TCR_VALUE, (uintptr_t)cp_l1, 0);
	map_alias(alias_a);
	r[4] = call((const void *)ALIAS_VA, 10, 11);
	map_alias(0);
	codepatch_checkpoint(1);
	map_alias(alias_b);
	r[5] = call((const void *)ALIAS_VA, 30, 4);
	map_alias(0);
	map_alias(alias_b);
	r[6] = call((const void *)ALIAS_VA, 40, 2);
	map_alias(0);
	codepatch_checkpoint(2);

	for (const volatile uint8_t *p = _start; p < __bss_end; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	uart_puts("codepatch: results");
	for (unsigned i = 0; i < NRESULTS; i++) {
		uart_putc(' ');
		uart_putdec(r[i]);
	}
	uart_puts("\ncodepatch: sum 0x");
	uart_puthex(h, 16);
	uart_putc('\n');
	guest_exit(CODEPATCH_EXIT);
}
