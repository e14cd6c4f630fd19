// SPDX-License-Identifier: MIT
/*
 * Sets a debug-register breakpoint of its own on db_site and handles #DB
 * through its own IDT: a debugger must leave these exceptions to the guest,
 * with DR6 as the CPU leaves it.  Before each hit the guest leaves BS and a
 * stale B1 in DR6; the CPU keeps BS, clears B1 and sets B0.  Exits with the
 * number of #DB taken.
 */
#include "guest.h"
#include "idt.h"

#define DB_ROUNDS	3
#define VEC_DEBUG	1
#define DR6_FIXED	0xffff0ff0ull
#define DR6_B0		0x1ull
#define DR6_B1		0x2ull
#define DR6_BS		(1ull << 14)
#define DR7_L0		0x1ull

void db_site(void);
void isr_debug(void);
void tally(unsigned i);

/* Written by isr_debug: hits, and DR6 and the return address of the last. */
volatile uint32_t db_hits;
volatile uint64_t db_dr6;
volatile uint64_t db_ret;
volatile uint64_t tally_sum;

/* An ordinary function for debugger breakpoints next to the guest's own. */
__attribute__((noinline)) void tally(unsigned i)
{
	tally_sum += i;
}

void kmain(uint32_t magic, uint32_t info)
{
	unsigned i, wrong = 0;

	uart_init();
	uart_puts("dbowned: start\n");
	idt_set_gate(VEC_DEBUG, isr_debug);
	idt_load();
	for (i = 0; i < DB_ROUNDS; i++) {
		uint64_t dr6 = DR6_FIXED | DR6_BS | DR6_B1;

		/* DR0 execute, armed again each round: the handler disarms it. */
		asm volatile("mov %0, %%dr0" : : "r"((uint64_t)db_site));
		asm volatile("mov %0, %%dr6" : : "r"(dr6));
		asm volatile("mov %0, %%dr7" : : "r"(DR7_L0));
		db_site();
		if (db_hits != i + 1 || db_dr6 != (DR6_FIXED | DR6_BS | DR6_B0) ||
		    db_ret != (uint64_t)db_site) {
			uart_puts("dbowned: hit ");
			uart_putdec(db_hits);
			uart_puts(" dr6 ");
			uart_puthex(db_dr6, 8);
			uart_puts(" return ");
			uart_puthex(db_ret, 8);
			uart_putc('\n');
			wrong++;
		}
		tally(i);
	}
	uart_puts("db count: ");
	uart_putdec(db_hits);
	uart_puts(", wrong: ");
	uart_putdec(wrong);
	uart_putc('\n');
	guest_exit(db_hits);
}
