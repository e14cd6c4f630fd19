// SPDX-License-Identifier: MIT
/*
 * The demo guest: a short, deterministic program with a call chain for
 * backtraces, globals for memory tests and fixed code for breakpoint tests.
 */
#include "demo.h"
#include "guest.h"

#define DEMO_EXIT_CODE	0x21
#define DEMO_BAD_MAGIC	0x7e
#define DEMO_ROUNDS	3

volatile uint64_t demo_counter;
volatile uint64_t demo_total;
volatile uint32_t demo_words[4] = { 0xcafef00d, 0x12345678, 0, 0 };
/* The loader's info address; only kept for inspection from the debugger. */
uint32_t demo_mb_info;

__attribute__((noinline)) uint64_t leaf(uint64_t x)
{
	return x * 3 + 1;
}

__attribute__((noinline)) uint64_t compute(uint64_t n)
{
	demo_counter++;
	return leaf(n) + leaf(n + 7);
}

/* A place to stop at with the SSE state loaded. */
__attribute__((noinline)) void xmm_checkpoint(uint64_t total)
{
	demo_total = total;
}

static void sled_report(void)
{
	unsigned dirty = 0, i;

	for (i = 0; i < DEMO_SLED_LEN; i++)
		dirty += demo_sled_bytes[i] != 0x90;
	if (dirty) {
		uart_puts("demo: sled dirty ");
		uart_putdec(dirty);
		uart_putc('\n');
	} else {
		uart_puts("demo: sled clean\n");
	}
}

void kmain(uint32_t magic, uint32_t info)
{
	uint64_t total = 0;
	unsigned i;

	demo_mb_info = info;
	uart_init();
	uart_puts("demo: hello from the kvmdbg demo guest\n");
	if (magic != MB_BOOT_MAGIC) {
		uart_puts("demo: bad multiboot magic\n");
		guest_exit(DEMO_BAD_MAGIC);
	}
	for (i = 0; i < DEMO_ROUNDS; i++)
		total += compute(i);
	demo_sled();
	sled_report();
	uart_puts("demo: patch 0x");
	uart_puthex(demo_patch(), 8);
	uart_putc('\n');
	demo_bump();
	demo_load_sse();
	xmm_checkpoint(total);
	uart_puts("demo: counter ");
	uart_putdec(demo_counter);
	uart_puts(" result 0x");
	uart_puthex(demo_total, 16);
	uart_putc('\n');
	guest_exit(DEMO_EXIT_CODE);
}
