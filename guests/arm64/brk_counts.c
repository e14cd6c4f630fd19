// SPDX-License-Identifier: MIT
/* What brk_vectors.S keeps, and its way out for anything unexpected. */
#include "brk.h"
#include "guest.h"

#define UNEXPECTED_EXIT		0x7f

volatile uint32_t brk_hits[BRK_MAX_CPUS];
volatile uint64_t brk_last_esr;

/* Any exception other than the guest's own brk ends the run loudly. */
void brk_unexpected(uint64_t esr, uint64_t elr, uint64_t vector)
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
