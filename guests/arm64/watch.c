// SPDX-License-Identifier: MIT
/*
 * Writes and reads globals in a fixed pattern for watchpoint tests: the
 * round number, an 8-byte value and its running sum, and single bytes of a
 * 16-byte and a 64-byte buffer (ranges that one arm64 watchpoint covers only
 * with an address mask).
 */
#include "guest.h"

#define WATCH_ROUNDS	4
#define WATCH_EXIT	0x3a

void watch_write(uint64_t round);
void watch_read(void);
void watch_fill(uint64_t round);

volatile uint64_t watch_rounds;
volatile uint64_t watch_value;
volatile uint64_t watch_sink;
volatile uint8_t watch_buf16[16] __attribute__((aligned(16)));
volatile uint8_t watch_buf64[64] __attribute__((aligned(64)));

__attribute__((noinline)) void watch_write(uint64_t round)
{
	watch_value = round * 0x1111;
}

__attribute__((noinline)) void watch_read(void)
{
	watch_sink += watch_value;
}

__attribute__((noinline)) void watch_fill(uint64_t round)
{
	watch_buf16[(round * 5) % 16] = (uint8_t)round;
	watch_buf64[(round * 19) % 64] = (uint8_t)(round << 4);
}

void main(void)
{
	uint64_t round;

	uart_puts("watch: start\n");
	for (round = 1; round <= WATCH_ROUNDS; round++) {
		watch_rounds = round;
		watch_write(round);
		watch_read();
		watch_fill(round);
	}
	uart_puts("watch: sink 0x");
	uart_puthex(watch_sink, 16);
	uart_putc('\n');
	guest_exit(WATCH_EXIT);
}
