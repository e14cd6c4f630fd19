// SPDX-License-Identifier: MIT
/* Where the guests' vector tables send what they do not expect (vectors.h). */
#include "guest.h"
#include "vectors.h"

#define UNEXPECTED_EXIT		0x7f

void vector_unexpected(uint64_t esr, uint64_t elr, uint64_t vector)
{
	uart_puts("guest: unexpected exception at vector 0x");
	uart_puthex(vector, 3);
	uart_puts(" esr 0x");
	uart_puthex(esr, 8);
	uart_puts(" elr 0x");
	uart_puthex(elr, 16);
	uart_putc('\n');
	guest_exit(UNEXPECTED_EXIT);
}
