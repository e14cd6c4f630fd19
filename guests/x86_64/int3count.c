// SPDX-License-Identifier: MIT
/*
 * Executes int3 itself and handles #BP through its own IDT: a debugger must
 * leave these traps to the guest.  Exits with the number of traps counted.
 */
#include "guest.h"
#include "idt.h"

#define INT3_ROUNDS	5
#define VEC_BREAKPOINT	3

void int3_fire(void);
void isr_breakpoint(void);
void tally(unsigned i);

volatile uint32_t int3_hits;
volatile uint64_t tally_sum;

/* An ordinary function for debugger breakpoints next to the guest's traps. */
__attribute__((noinline)) void tally(unsigned i)
{
	tally_sum += i;
}

void kmain(uint32_t magic, uint32_t info)
{
	unsigned i;

	uart_init();
	uart_puts("int3count: start\n");
	idt_set_gate(VEC_BREAKPOINT, isr_breakpoint);
	idt_load();
	for (i = 0; i < INT3_ROUNDS; i++) {
		int3_fire();
		tally(i);
	}
	uart_puts("int3 count: ");
	uart_putdec(int3_hits);
	uart_putc('\n');
	guest_exit(int3_hits);
}
