// SPDX-License-Identifier: MIT
/*
 * A 32-bit guest: an ELF32 Multiboot kernel that never leaves protected
 * mode, built with gcc -m32: a call chain for backtraces, globals for
 * memory tests.  Paging stays off: a host whose KVM emulates guest code
 * may shut a 32-bit guest down when it turns paging on.
 */
#include <stdint.h>

#include "guest.h"

#define I386_EXIT_CODE	0x33
#define I386_BAD_MAGIC	0x7e
#define I386_ROUNDS	3

volatile uint32_t i386_counter;
volatile uint32_t i386_words[4] = { 0xcafef00d, 0x12345678, 0, 0 };
volatile uint32_t i386_result;

static void puts32(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

static void puthex32(uint32_t v)
{
	for (int shift = 28; shift >= 0; shift -= 4)
		uart_putc("0123456789abcdef"[(v >> shift) & 0xf]);
}

static __attribute__((noinline)) uint32_t i386_leaf(uint32_t x)
{
	return x * 5 + 2;
}

static __attribute__((noinline)) uint32_t i386_compute(uint32_t n)
{
	i386_counter++;
	return i386_leaf(n) + i386_leaf(n + 3);
}

/* A place to stop at after the calls, with their result in hand. */
static __attribute__((noinline)) void i386_checkpoint(uint32_t total)
{
	i386_result = total;
	i386_words[2] = i386_words[0] ^ total;
}

void kmain32(uint32_t magic, uint32_t info);

void kmain32(uint32_t magic, uint32_t info)
{
	uint32_t total = 0;

	uart_init();
	puts32("i386: hello from a 32-bit guest\n");
	if (magic != MB_BOOT_MAGIC) {
		puts32("i386: bad multiboot magic\n");
		guest_exit(I386_BAD_MAGIC);
	}
	for (uint32_t i = 0; i < I386_ROUNDS; i++)
		total += i386_compute(i);
	i386_checkpoint(total);
	puts32("i386: counter 0x");
	puthex32(i386_counter);
	puts32(" result 0x");
	puthex32(i386_result);
	puts32(" words 0x");
	puthex32(i386_words[0]);
	puts32(" 0x");
	puthex32(i386_words[2]);
	uart_putc('\n');
	guest_exit(I386_EXIT_CODE);
}
