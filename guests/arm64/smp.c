// SPDX-License-Identifier: MIT
/*
 * Two vCPUs running the same function: vCPU 0 starts vCPU 1 with PSCI
 * CPU_ON, then both call smp_work() smp_rounds times, each counting in its
 * own slot.  Only vCPU 0 prints, so the console never interleaves.
 *
 * A debugger may change two globals before the guest runs: smp_rounds, and
 * smp_spin, which makes vCPU 1 first spin in smp_spin_wait(), counting in
 * smp_spin_count, until the debugger sets smp_spin_release.
 */
#include "guest.h"

#define SMP_ROUNDS		50
#define SMP_EXIT		0x02
#define CPU_ON_FAILED_EXIT	0x7e

extern char __stack1_top[];
void secondary_entry(void);
void secondary_main(void) __attribute__((noreturn));
void smp_work(unsigned cpu);
void smp_spin_wait(void);

/* What a debugger may set before the first instruction: in .data, which
 * start.S leaves alone, not in .bss, which it clears. */
volatile uint32_t smp_rounds = SMP_ROUNDS;
volatile uint32_t smp_spin __attribute__((section(".data")));
volatile uint32_t smp_spin_release;
volatile uint64_t smp_spin_count;
volatile uint64_t smp_counts[2];
volatile uint32_t smp_started[2];
volatile uint32_t smp_done[2];

__attribute__((noinline)) void smp_work(unsigned cpu)
{
	smp_counts[cpu]++;
}

__attribute__((noinline)) void smp_spin_wait(void)
{
	while (!smp_spin_release)
		smp_spin_count++;
}

static void run_rounds(unsigned cpu)
{
	unsigned i;

	smp_started[cpu] = 1;
	for (i = 0; i < smp_rounds; i++)
		smp_work(cpu);
	smp_done[cpu] = 1;
}

void secondary_main(void)
{
	if (smp_spin)
		smp_spin_wait();
	run_rounds(1);
	psci_call(PSCI_CPU_OFF, 0, 0, 0);
	for (;;)
		asm volatile("wfi");
}

void main(void)
{
	uint64_t ret;

	uart_puts("smp: start\n");
	/* Target MPIDR affinity 1; the new vCPU gets its stack in x0. */
	ret = psci_call(PSCI_CPU_ON, 1, (uintptr_t)secondary_entry,
			(uintptr_t)__stack1_top);
	if (ret) {
		uart_puts("smp: CPU_ON failed 0x");
		uart_puthex(ret, 16);
		uart_putc('\n');
		guest_exit(CPU_ON_FAILED_EXIT);
	}
	/* Overlap the two loops as much as possible. */
	while (!smp_started[1])
		;
	run_rounds(0);
	while (!smp_done[1])
		;
	uart_puts("smp: counts ");
	uart_putdec(smp_counts[0]);
	uart_putc(' ');
	uart_putdec(smp_counts[1]);
	uart_putc('\n');
	guest_exit(SMP_EXIT);
}
