// SPDX-License-Identifier: MIT
/*
 * Two vCPUs running the same function: vCPU 0 starts vCPU 1 with PSCI
 * CPU_ON, then both call smp_work() smp_rounds times, each counting in its
 * own slot.  Only vCPU 0 prints, so the console never interleaves.
 *
 * A debugger may change three globals before the guest runs: smp_rounds;
 * smp_spin, which makes vCPU 1 first spin in smp_spin_wait(), counting in
 * smp_spin_count, until the debugger sets smp_spin_release; and smp_brk,
 * which makes vCPU N run the guest's own "brk" N + 1 times in each
 * smp_work() call, handled and counted per vCPU by its own vector table
 * (brk_vectors.S); the guest then checks and prints those counts.
 */
#include "brk.h"
#include "guest.h"

#define SMP_ROUNDS		50
#define SMP_EXIT		0x02
#define CPU_ON_FAILED_EXIT	0x7e
#define BAD_BRK_COUNT_EXIT	0x7d

extern char __stack1_top[];
void secondary_entry(void);
void secondary_main(void) __attribute__((noreturn));
void smp_work(unsigned cpu);
void smp_spin_wait(void);

/* What a debugger may set before the first instruction: in .data, which
 * start.S leaves alone, not in .bss, which it clears. */
volatile uint32_t smp_rounds = SMP_ROUNDS;
volatile uint32_t smp_spin __attribute__((section(".data")));
volatile uint32_t smp_brk __attribute__((section(".data")));
volatile uint32_t smp_spin_release;
volatile uint64_t smp_spin_count;
volatile uint64_t smp_counts[2];
volatile uint32_t smp_started[2];
volatile uint32_t smp_done[2];

__attribute__((noinline)) void smp_work(unsigned cpu)
{
	smp_counts[cpu]++;
	for (unsigned i = 0; smp_brk && i <= cpu; i++)
		brk_fire();
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

static void set_vectors(void)
{
	asm volatile("msr vbar_el1, %0; isb" : : "r"(brk_vectors));
}

void secondary_main(void)
{
	set_vectors();
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
	set_vectors();
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
	if (smp_brk) {
		uart_puts("smp: brk counts ");
		uart_putdec(brk_hits[0]);
		uart_putc(' ');
		uart_putdec(brk_hits[1]);
		uart_putc('\n');
		if (brk_hits[0] != smp_rounds || brk_hits[1] != 2 * smp_rounds)
			guest_exit(BAD_BRK_COUNT_EXIT);
	}
	guest_exit(SMP_EXIT);
}
