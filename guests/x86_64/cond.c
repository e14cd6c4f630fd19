// SPDX-License-Identifier: MIT
/*
 * The breakpoint-condition guest: a loop calling cond_hit() with an
 * incrementing argument and a pointer into a small table, after setting a
 * global, all from formulas a test can evaluate itself.  cond_iters (set
 * from the debugger before the loop starts) says how many calls there
 * are; cond_done() is called once after them.  cond_rounds runs the whole
 * loop that many times (benchmarks time each round).  It prints a checksum
 * of what cond_hit() saw, so runs with and without breakpoints compare.
 */
#include "guest.h"

#define COND_EXIT	0x2b
#define COND_ITEMS	16

struct cond_item {
	uint64_t key;
	uint64_t val;
	const char *name;
};

static const char *const cond_names[4] = { "zero", "one", "two", "three" };

volatile uint64_t cond_iters = 100;
volatile uint64_t cond_rounds = 1;
volatile uint64_t cond_global;
volatile uint64_t cond_sum;
struct cond_item cond_items[COND_ITEMS];
struct cond_item *volatile cond_ptr;

void cond_hit(uint64_t i, struct cond_item *p);
void cond_done(uint64_t n);

__attribute__((noinline)) void cond_hit(uint64_t i, struct cond_item *p)
{
	cond_sum += i ^ p->val;
}

__attribute__((noinline)) void cond_done(uint64_t n)
{
	asm volatile("" : : "r"(n) : "memory");
}

void kmain(uint32_t magic, uint32_t info)
{
	uint64_t i, r, n = cond_iters;

	uart_init();
	for (r = 0; r < cond_rounds; r++) {
		for (i = 0; i < n; i++) {
			struct cond_item *p = &cond_items[i % COND_ITEMS];

			p->key = i;
			p->val = i * 3 % 17;
			p->name = cond_names[i % 4];
			cond_global = i * 5 % 11;
			cond_ptr = p;
			cond_hit(i, p);
		}
		cond_done(n);
	}
	uart_puts("cond: calls ");
	uart_putdec(n);
	uart_puts(" sum 0x");
	uart_puthex(cond_sum, 16);
	uart_putc('\n');
	guest_exit(COND_EXIT);
}
