/* SPDX-License-Identifier: MIT */
/* Console output shared by every architecture's test guests; each
 * architecture supplies uart_putc for its own serial device. */
#ifndef GUEST_PRINT_H
#define GUEST_PRINT_H

#include <stdint.h>

void uart_putc(char c);
void uart_puts(const char *s);
void uart_puthex(uint64_t v, unsigned digits);
void uart_putdec(uint64_t v);

#endif
