// SPDX-License-Identifier: MIT
/*
 * The arm64 code-patching guest (MMU off): it copies code over an address
 * a debugger may hold a software breakpoint on, then runs it.
 *
 *  1. tmpl_add into patch_page + PATCH_OFF by 32-bit stores; two calls.
 *  2. tmpl_mul over it by pair stores (ldp/stp); one call.
 *  3. tmpl_add over it again by 32-bit stores; one call.
 *
 * It ends with the results and a checksum of its whole image on the
 * console:
 *   codepatch: results r1 r2 r3 r4
 *   codepatch: sum 0x<FNV-1a of [image start, __bss_end)>
 */
#include "guest.h"

#define CODEPATCH_EXIT	0x2e
#define PAGE		4096
#define PATCH_OFF	0x100
#define TMPL_WORDS	4

typedef uint64_t (*fn2)(uint64_t a, uint64_t b);

extern const uint32_t tmpl_add[], tmpl_mul[];
extern const uint8_t _start[], __bss_end[];
void copy_pairs(void *dst, const void *src, uint64_t n16);

uint32_t patch_page[PAGE / 4] __attribute__((aligned(PAGE)));
uint64_t codepatch_results[4];

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

	for (const volatile uint8_t *p = _start; p < __bss_end; p++)
		h = (h ^ *p) * 0x100000001b3ull;
	uart_puts("codepatch: results");
	for (unsigned i = 0; i < 4; i++) {
		uart_putc(' ');
		uart_putdec(r[i]);
	}
	uart_puts("\ncodepatch: sum 0x");
	uart_puthex(h, 16);
	uart_putc('\n');
	guest_exit(CODEPATCH_EXIT);
}
