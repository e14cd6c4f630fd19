// SPDX-License-Identifier: MIT
/*
 * The demo guest: a short, deterministic program with a call chain for
 * backtraces (main -> compute -> leaf) and globals for memory tests.
 */
#include "guest.h"

#define DEMO_EXIT_CODE	0x21
#define DEMO_ROUNDS	3

/* External so that tests can name them; noinline keeps the frames real. */
uint64_t leaf(uint64_t x);
uint64_t compute(uint64_t n);

volatile uint64_t demo_counter;
volatile uint64_t demo_total;
volatile uint32_t demo_words[4] = { 0xcafef00d, 0x12345678, 0, 0 };

__attribute__((noinline)) uint64_t leaf(uint64_t x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) uint64_t compute(uint64_t n)
{
	demo_counter++;
	return leaf(n) + leaf(n + 7);
}

void main(void)
{
	uint64_t total = 0;
	unsigned i;

	uart_puts("demo: hello from the kvmdbg arm64 demo guest\n");
	for (i = 0; i < DEMO_ROUNDS; i++)
		total += compute(i);
	demo_total = total;
	uart_puts("demo: words 0x");
	uart_puthex(demo_words[0], 8);
	uart_puts(" 0x");
	uart_puthex(demo_words[1], 8);
	uart_putc('\n');
	uart_puts("demo: counter ");
	uart_putdec(demo_counter);
	uart_puts(" result 0x");
	uart_puthex(demo_total, 16);
	uart_putc('\n');
	guest_exit(DEMO_EXIT_CODE);
}
