// SPDX-License-Identifier: MIT
/*
 * The code-patching guest: it copies code over addresses a debugger may
 * hold software breakpoints on, then runs it, and maps, unmaps and maps
 * again a virtual alias of code pages before calling through it.
 *
 *  1. tmpl_add into patch_page + PATCH_OFF by byte stores; two calls.
 *  2. tmpl_mul over it by one rep movsb; one call; its result's low byte
 *     into patch_page + NOTE_OFF (a byte a watchpoint may watch).
 *  3. tmpl_sub at the end of edge_pages' first page, running into the
 *     second, by 8-byte stores (the first straddles the two); one call.
 *  4. tmpl_add over that by byte stores; one call.
 *  5. ALIAS_VA mapped onto alias_a (a copy of tmpl_mul); one call.
 *     Unmapped, codepatch_checkpoint(1), mapped onto alias_b (tmpl_sub);
 *     one call.  Unmapped and mapped onto alias_b again with no call
 *     between; one call.  Unmapped.
 *  6. codepatch_checkpoint(2), then a checksum of the whole image (code,
 *     data, page tables, stack) and the results on the serial console:
 *       codepatch: results r1 r2 ... r8
 *       codepatch: sum 0x<FNV-1a of [__image_start, __bss_end)>
 */
#include "guest.h"
#include "io.h"

#define CODEPATCH_EXIT	0x2e
#define PAGE		4096
#define PATCH_OFF	0x100
#define EDGE_OFF	(PAGE - 3)
#define NOTE_OFF	0x800
#define ALIAS_VA	0x8000000000ull	/* PML4 entry 1: nothing else there */
#define PTE_P_RW	3ull

typedef uint64_t (*fn2)(uint64_t a, uint64_t b);

extern const uint8_t tmpl_add[], tmpl_add_end[], tmpl_mul[], tmpl_mul_end[];
extern const uint8_t tmpl_sub[], tmpl_sub_end[];
extern const uint8_t __image_start[], __bss_end[];
void copy_rep(void *dst, const void *src, uint64_t n);
void copy_quads(void *dst, const void *src, uint64_t n);
void codepatch_checkpoint(unsigned n);

uint8_t patch_page[PAGE] __attribute__((aligned(PAGE)));
uint8_t edge_pages[2 * PAGE] __attribute__((aligned(PAGE)));
uint8_t alias_a[PAGE] __attribute__((aligned(PAGE)));
uint8_t alias_b[PAGE] __attribute__((aligned(PAGE)));
static uint64_t alias_pdpt[512] __attribute__((aligned(PAGE)));
static uint64_t alias_pd[512] __attribute__((aligned(PAGE)));
static uint64_t alias_pt[512] __attribute__((aligned(PAGE)));
uint64_t codepatch_results[8];

/* A debugger stops here between phases. */
void __attribute__((noinline)) codepatch_checkpoint(unsigned n)
{
	asm volatile("" : : "r"(n) : "memory");
}

static void copy_bytes(uint8_t *dst, const uint8_t *src, uint64_t n)
{
	for (uint64_t i = 0; i < n; i++)
		((volatile uint8_t *)dst)[i] = src[i];
}

static uint64_t call(const void *code, uint64_t a, uint64_t b)
{
	fn2 f = (fn2)(uintptr_t)code;

	asm volatile("" : "+r"(f) : : "memory");
	return f(a, b);
}

static void map_alias(const uint8_t *page)
{
	((volatile uint64_t *)alias_pt)[0] = page ? (uint64_t)(uintptr_t)page | PTE_P_RW : 0;
	asm volatile("invlpg (%0)" : : "r"(ALIAS_VA) : "memory");
}

static uint64_t read_cr3(void)
{
	uint64_t v;

	asm volatile("mov %%cr3, %0" : "=r"(v));
	return v;
}

void kmain(uint32_t magic, uint32_t info)
{
	uint64_t *pml4 = (uint64_t *)(uintptr_t)(read_cr3() & ~0xfffull);
	uint8_t *patch = patch_page + PATCH_OFF, *edge = edge_pages + EDGE_OFF;
	uint64_t *r = codepatch_results;
	uint64_t h = 0xcbf29ce484222325ull;

	uart_init();
	copy_bytes(patch, tmpl_add, tmpl_add_end - tmpl_add);
	r[0] = call(patch, 1, 2);
	r[1] = call(patch, 3, 4);
	copy_rep(patch, tmpl_mul, tmpl_mul_end - tmpl_mul);
	r[2] = call(patch, 5, 6);
	((volatile uint8_t *)patch_page)[NOTE_OFF] = (uint8_t)r[2];
	copy_quads(edge, tmpl_sub, tmpl_sub_end - tmpl_sub);
	r[3] = call(edge, 20, 7);
	copy_bytes(edge, tmpl_add, tmpl_add_end - tmpl_add);
	r[4] = call(edge, 8, 9);

	copy_bytes(alias_a, tmpl_mul, tmpl_mul_end - tmpl_mul);
	copy_bytes(alias_b, tmpl_sub, tmpl_sub_end - tmpl_sub);
	alias_pd[0] = (uint64_t)(uintptr_t)alias_pt | PTE_P_RW;
	alias_pdpt[0] = (uint64_t)(uintptr_t)alias_pd | PTE_P_RW;
	((volatile uint64_t *)pml4)[1] = (uint64_t)(uintptr_t)alias_pdpt | PTE_P_RW;
	map_alias(alias_a);
	r[5] = call((const void *)ALIAS_VA, 10, 11);
	map_alias(0);
	codepatch_checkpoint(1);
	map_alias(alias_b);
	r[6] = call((const void *)ALIAS_VA, 30, 4);
	map_alias(0);
	map_alias(alias_b);
	r[7] = call((const void *)ALIAS_VA, 40, 2);
	map_alias(0);
	codepatch_checkpoint(2);

	for (const uint8_t *p = __image_start; p < __bss_end; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	uart_puts("codepatch: results");
	for (unsigned i = 0; i < 8; i++) {
		uart_putc(' ');
		uart_putdec(r[i]);
	}
	uart_puts("\ncodepatch: sum 0x");
	uart_puthex(h, 16);
	uart_putc('\n');
	guest_exit(CODEPATCH_EXIT);
}
