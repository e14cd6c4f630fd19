// SPDX-License-Identifier: MIT
/*
 * Loops that each sit on one source line, for range stepping: gdb's next
 * over such a line steps every instruction of every iteration.
 */
#include "guest.h"

#define RANGESTEP_EXIT	0x0b

volatile uint64_t range_sum;
/* The debugger may shorten the counted loop, or make the last one spin
 * until it clears range_spin again. */
volatile uint32_t range_iters = 10000;
volatile uint32_t range_spin;
/* Room for the debugger's own data (memory-read benchmarks). */
uint8_t range_buffer[256 << 10];

static __attribute__((noinline)) uint64_t range_leaf(uint64_t x)
{
	return x * 5 + 3;
}

void kmain(uint32_t magic, uint32_t info)
{
	uint64_t total = 1;
	uint32_t i;

	uart_init();
	uart_puts("rangestep: start\n");
	for (i = 0; i < range_iters; i++) total += i ^ (total >> 3);
	range_sum = total;
	total += range_leaf(total) + range_leaf(i);
	range_sum = total;
	while (range_spin) range_sum++;
	uart_puts("rangestep: sum 0x");
	uart_puthex(range_sum, 16);
	uart_putc('\n');
	guest_exit(RANGESTEP_EXIT);
}
