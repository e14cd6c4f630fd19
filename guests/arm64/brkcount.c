// SPDX-License-Identifier: MIT
/*
 * Executes "brk #0x7" itself and handles it through its own vector table: a
 * debugger must leave these traps to the guest.  Exits with the number of
 * traps counted.
 */
#include "guest.h"

#define BRK_ROUNDS		5
#define UNEXPECTED_EXIT		0x7f

extern char brk_vectors[];
void brk_fire(void);
void tally(unsigned i);
void brk_unexpected(uint64_t esr, uint64_t elr, uint64_t vector);

/* Maintained by the sync handler in brkcount_vectors.S. */
volatile uint32_t brk_hits;
volatile uint64_t brk_last_esr;
volatile uint64_t tally_sum;

/* An ordinary function for debugger breakpoints next to the guest's traps. */
__attribute__((noinline)) void tally(unsigned i)
{
	tally_sum += i;
}

/* Any exception other than the guest's own BRK ends the run loudly. */
void brk_unexpected(uint64_t esr, uint64_t elr, uint64_t vector)
{
	uart_puts("brkcount: unexpected exception at vector 0x");
	uart_puthex(vector, 3);
	uart_puts(" esr 0x");
	uart_puthex(esr, 8);
	uart_puts(" elr 0x");
	uart_puthex(elr, 16);
	uart_putc('\n');
	guest_exit(UNEXPECTED_EXIT);
}

void main(void)
{
	unsigned i;

	uart_puts("brkcount: start\n");
	asm volatile("msr vbar_el1, %0; isb" : : "r"(brk_vectors));
	for (i = 0; i < BRK_ROUNDS; i++) {
		brk_fire();
		tally(i);
	}
	uart_puts("brk count: ");
	uart_putdec(brk_hits);
	uart_putc('\n');
	guest_exit(brk_hits);
}
