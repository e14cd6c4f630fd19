// SPDX-License-Identifier: MIT
/*
 * Executes "brk #0x7" itself and handles it through its own vector table: a
 * debugger must leave these traps to the guest.  Exits with the number of
 * traps counted.
 */
#include "brk.h"
#include "guest.h"

#define BRK_ROUNDS		5

void tally(unsigned i);

volatile uint64_t tally_sum;

/* An ordinary function for debugger breakpoints next to the guest's traps. */
__attribute__((noinline)) void tally(unsigned i)
{
	tally_sum += i;
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
	uart_putdec(brk_hits[0]);
	uart_putc('\n');
	guest_exit(brk_hits[0]);
}
