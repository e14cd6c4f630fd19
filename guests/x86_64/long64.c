// SPDX-License-Identifier: MIT
/*
 * ELF64 guest without a Multiboot header: checks the machine state the
 * monitor promises at entry and prints
 *   long64 cmdline: <text>              ("(none)" when RDI was 0)
 *   long64 rsp=0x<entry stack pointer>
 *   long64 checks: ok                    (or "failed 0x<mask of failures>")
 */
#include "guest.h"
#include "io.h"

#define LONG64_EXIT	0x40
#define DATA_MAGIC	0x1234abcdu

#define BAD_PAGING	(1u << 0)
#define BAD_LONG_MODE	(1u << 1)
#define BAD_SSE		(1u << 2)
#define BAD_IRQS_ON	(1u << 3)
#define BAD_DATA	(1u << 4)
#define BAD_BSS		(1u << 5)

void long64_main(const char *cmdline);

uint64_t long64_entry_rsp;
volatile uint32_t long64_data = DATA_MAGIC;
volatile uint32_t long64_bss[64];

static uint32_t check_machine(void)
{
	uint32_t bad = 0;
	unsigned i;

	if ((read_cr0() & (CR0_PG | CR0_PE)) != (CR0_PG | CR0_PE))
		bad |= BAD_PAGING;
	if ((read_msr(MSR_EFER) & (EFER_LME | EFER_LMA)) != (EFER_LME | EFER_LMA))
		bad |= BAD_LONG_MODE;
	if (!(read_cr4() & CR4_OSFXSR))
		bad |= BAD_SSE;
	else
		/* faults (and so never returns) unless SSE really is usable */
		asm volatile("movdqu %%xmm0, %%xmm1" : : : "memory");
	if (read_rflags() & RFLAGS_IF)
		bad |= BAD_IRQS_ON;
	if (long64_data != DATA_MAGIC)
		bad |= BAD_DATA;
	for (i = 0; i < sizeof(long64_bss) / sizeof(long64_bss[0]); i++)
		if (long64_bss[i])
			bad |= BAD_BSS;
	return bad;
}

void long64_main(const char *cmdline)
{
	uint32_t bad = check_machine();

	uart_init();
	uart_puts("long64 cmdline: ");
	uart_puts(cmdline ? cmdline : "(none)");
	uart_puts("\nlong64 rsp=0x");
	uart_puthex(long64_entry_rsp, 16);
	if (bad) {
		uart_puts("\nlong64 checks: failed 0x");
		uart_puthex(bad, 2);
	} else {
		uart_puts("\nlong64 checks: ok");
	}
	uart_putc('\n');
	guest_exit(LONG64_EXIT);
}
