// SPDX-License-Identifier: MIT
/*
 * The watchpoint guest: a few rounds of writes and reads of globals laid
 * out so that every watched byte shares its page with bytes that must not
 * stop: the pages on either side of a page-sized buffer, 64 variables that
 * cross a page boundary, a variable on the page of hot code and hot data
 * (watch.h), one that straddles two pages.  It ends with a checksum of all
 * it wrote, so runs with and without watchpoints can be compared.
 */
#include "guest.h"
#include "watch.h"

#define WATCH_EXIT	0x2d
#define WATCH_ROUNDS	10
#define PAGE		4096
#define NVARS		64
#define HOT_CALLS	4
#define BENCH_SLOTS	16

struct watch_area {
	uint8_t below[PAGE];
	uint8_t buf[PAGE];
	uint8_t above[PAGE];
};

/* Half of the variables end one page, the other half start the next. */
struct watch_grid {
	uint8_t lead[PAGE - NVARS / 2 * 8];
	uint64_t vars[NVARS];
};

/* A store to straddle writes the last 4 bytes of one page and the first
 * 4 of the next. */
struct watch_edge {
	uint8_t lead[PAGE - 4];
	uint64_t straddle;
} __attribute__((packed));

/* The benchmark loop's page: it writes data, a benchmark watches the
 * untouched word. */
struct watch_bench {
	uint64_t data[BENCH_SLOTS];
	uint64_t untouched;
};

void watch_round(uint32_t r);
void watch_update_vars(void);
void watch_finish(void);
void watch_bench_loop(uint32_t n);
void watch_bench_done(void);
uint64_t watch_checksum(void);

/* A debugger may raise these before the loops run (the benchmarks do). */
volatile uint32_t watch_rounds = WATCH_ROUNDS;
volatile uint32_t watch_bench_iters;

volatile uint64_t watch_counter;
/* In .data, on one page with the .rodata that holds the boot GDT. */
volatile uint64_t watch_input = 0x5eed;
volatile uint64_t watch_acc;
volatile struct watch_area watch_area __attribute__((aligned(PAGE)));
volatile struct watch_grid watch_grid __attribute__((aligned(PAGE)));
volatile struct watch_edge watch_edge __attribute__((aligned(PAGE)));
volatile struct watch_bench watch_bench __attribute__((aligned(PAGE)));

/* Both ends of the buffer and places in between. */
static const uint16_t buf_offsets[WATCH_ROUNDS] = {
	0, 4095, 1, 2048, 4000, 7, 1234, 3000, 8, 4094,
};

__attribute__((noinline)) void watch_round(uint32_t r)
{
	uint32_t off = buf_offsets[r % WATCH_ROUNDS];
	unsigned k;

	watch_acc += watch_input * (r + 1);
	watch_counter = watch_counter * 3 + r + 1;
	/* The bytes next to the buffer, on its neighbouring pages. */
	watch_area.below[PAGE - 1 - r % 16] += (uint8_t)(r + 1);
	watch_area.above[r % 16] += (uint8_t)(r + 1);
	watch_area.buf[off] += (uint8_t)(7 * r + 1);
	watch_acc += watch_area.buf[(off + 1) % PAGE];
	for (k = 0; k < HOT_CALLS; k++)
		watch_acc += watch_hot_step(r * HOT_CALLS + k);
	if (r % 3 == 1)
		watch_hot_var += r + 1;
	if (r == 2 || r == 6)
		watch_edge.straddle = 0x0102030405060708ull * (r + 1);
}

/* Each variable once, in an order unlike their addresses. */
__attribute__((noinline)) void watch_update_vars(void)
{
	unsigned k, i;

	for (k = 0; k < NVARS; k++) {
		i = k * 37 % NVARS;
		watch_grid.vars[i] += ((uint64_t)(i + 1) << 32) | k;
	}
}

/* Where debuggers stop to read the final memory; the barrier keeps the
 * compiler from dropping the call. */
__attribute__((noinline)) void watch_finish(void)
{
	asm volatile("" : : : "memory");
}

__attribute__((noinline)) void watch_bench_done(void)
{
	asm volatile("" : : : "memory");
}

__attribute__((noinline)) void watch_bench_loop(uint32_t n)
{
	uint32_t i;

	for (i = 0; i < n; i++)
		watch_bench.data[i % BENCH_SLOTS] += i;
	watch_bench_done();
}

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ull;
}

__attribute__((noinline)) uint64_t watch_checksum(void)
{
	const volatile uint64_t *w = (const volatile uint64_t *)&watch_area;
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned i;

	for (i = 0; i < sizeof(watch_area) / 8; i++)
		h = mix(h, w[i]);
	for (i = 0; i < NVARS; i++)
		h = mix(h, watch_grid.vars[i]);
	h = mix(h, watch_edge.straddle);
	return mix(h, watch_hot_data);
}

static void put_field(const char *name, uint64_t v)
{
	uart_puts(name);
	uart_puts(" 0x");
	uart_puthex(v, 16);
}

void kmain(uint32_t magic, uint32_t info)
{
	uint32_t r;

	uart_init();
	uart_puts("watch: start\n");
	if (watch_bench_iters)
		watch_bench_loop(watch_bench_iters);
	for (r = 0; r < watch_rounds; r++)
		watch_round(r);
	watch_update_vars();
	watch_finish();
	put_field("watch: counter", watch_counter);
	put_field(" acc", watch_acc);
	put_field(" hot", watch_hot_var);
	put_field(" sum", watch_checksum());
	uart_putc('\n');
	guest_exit(WATCH_EXIT);
}
