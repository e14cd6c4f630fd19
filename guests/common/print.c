/* SPDX-License-Identifier: MIT */
#include "print.h"

void uart_puts(const char *s)
{
	while (*s)
		uart_putc(*s++);
}

void uart_puthex(uint64_t v, unsigned digits)
{
	while (digits--)
		uart_putc("0123456789abcdef"[(v >> (digits * 4)) & 0xf]);
}

void uart_putdec(uint64_t v)
{
	char buf[21];
	unsigned n = 0;

	do {
		buf[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		uart_putc(buf[--n]);
}
