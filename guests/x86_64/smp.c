// SPDX-License-Identifier: MIT
/*
 * The SMP guest.  Every vCPU runs the same short loop: smp_work() calls
 * smp_mix(), which calls smp_fold(), a fixed number of times.  Each call
 * counts itself in the calling vCPU's own slot, and each vCPU carries its
 * own accumulator through the calls in registers, so a debugger can check
 * every reported hit against the guest's own counts, and the output is the
 * same however the vCPUs happen to interleave.  vCPU 0 reads the command
 * line, releases the others, waits until all of them are done and prints
 * the counts; the others halt when done.
 *
 * Command line words: cpus=N (vCPUs taking part, default 1), iter=N (calls
 * per vCPU), spin (vCPU 1 first spins, counting, until smp_spin_release is
 * set), int3 (before each smp_work call vCPU k executes int3 k + 1 times,
 * which its own #BP handler counts in smp_int3_hits; smp_int3.S).  The
 * int3 counts differ from vCPU to vCPU, so a trap handed to the wrong vCPU
 * changes them.  atomics: each call also updates the shared counters of
 * smp_atomics, on a page of their own, with every locked instruction form
 * a compiler uses for them (lock add, inc, xadd, cmpxchg, or, bts, and an
 * xchg spinlock around a plain increment); the totals tell whether any
 * update was lost.  A debugger may instead set smp_iterations or smp_spinner
 * while the guest is held before its first instruction; a word on the
 * command line wins over what it set.
 */
#include "guest.h"
#include "idt.h"
#include "smp.h"

#define SMP_EXIT_OK		0x2a
#define SMP_EXIT_BAD_COUNT	0x2b
#define SMP_EXIT_BAD_MAGIC	0x7e
#define SMP_DEFAULT_ITERATIONS	100
#define MB_INFO_CMDLINE		(1u << 2)
#define VEC_BREAKPOINT		3
#define MSR_GS_BASE		0xc0000101u

struct smp_counts {
	uint64_t work[SMP_MAX_CPUS];
	uint64_t mix[SMP_MAX_CPUS];
	uint64_t fold[SMP_MAX_CPUS];
};

/* Shared by every vCPU with the atomics word; alone on its page, so that
 * a watch there sees only these. */
struct smp_atomics {
	uint64_t added;		/* lock add */
	uint64_t incs;		/* lock inc */
	uint64_t xadds;		/* lock xadd */
	uint64_t swaps;		/* lock cmpxchg loop, += 3 */
	uint64_t locked;	/* plain ++ under the xchg lock */
	uint64_t bits;		/* lock or and lock bts: one bit per vCPU */
	uint64_t xadd_sum;	/* of the values lock xadd returned */
	uint32_t lock;
	uint32_t untouched;	/* written by nobody: a watch here never stops */
};

/* What the Multiboot loader handed to vCPU 0 (smp_boot32.S). */
extern uint32_t smp_boot_magic, smp_boot_info;

volatile uint32_t smp_iterations = SMP_DEFAULT_ITERATIONS;
volatile uint32_t smp_cpus = 1;
volatile uint32_t smp_spinner;
volatile uint32_t smp_spin_release;
volatile uint64_t smp_spin_count;
volatile struct smp_counts smp_counts;
uint64_t smp_acc[SMP_MAX_CPUS];
volatile uint32_t smp_go;
volatile uint32_t smp_finished;
volatile uint32_t smp_int3;
volatile uint64_t smp_int3_hits[SMP_MAX_CPUS];
volatile uint32_t smp_with_atomics;
struct smp_atomics smp_atomics __attribute__((aligned(4096)));

uint64_t smp_fold(uint32_t idx, uint64_t acc);
uint64_t smp_mix(uint32_t idx, uint64_t acc);
uint64_t smp_work(uint32_t idx, uint64_t acc);
void smp_spin(void);
void smp_halt(void) __attribute__((noreturn));
void smp_int3_fire(void);
void smp_isr_breakpoint(void);

static inline void cpu_relax(void)
{
	asm volatile("pause" ::: "memory");
}

/* Out of line so that a vCPU that is done shows up as such in backtraces. */
__attribute__((noinline, noreturn)) void smp_halt(void)
{
	for (;;)
		asm volatile("cli; hlt");
}

__attribute__((noinline)) uint64_t smp_fold(uint32_t idx, uint64_t acc)
{
	smp_counts.fold[idx]++;
	return (acc ^ (acc >> 29)) + idx;
}

__attribute__((noinline)) uint64_t smp_mix(uint32_t idx, uint64_t acc)
{
	smp_counts.mix[idx]++;
	return smp_fold(idx, acc * 0x9e3779b97f4a7c15ull);
}

__attribute__((noinline)) uint64_t smp_work(uint32_t idx, uint64_t acc)
{
	smp_counts.work[idx]++;
	return smp_mix(idx, acc + 1);
}

/* Keeps vCPU 1 busy for as long as a debugger wants it running. */
__attribute__((noinline)) void smp_spin(void)
{
	while (!smp_spin_release)
		smp_spin_count++;
}

/* The handler counts through GS; smp_int3.S says why. */
static void int3_setup(uint32_t idx)
{
	uint64_t slot = (uintptr_t)&smp_int3_hits[idx];

	idt_load();
	asm volatile("wrmsr" : : "c"(MSR_GS_BASE), "a"((uint32_t)slot),
		     "d"((uint32_t)(slot >> 32)));
}

/* Spelled out in assembly: each is the locked form under test. */
static void atomics_once(uint32_t idx)
{
	struct smp_atomics *a = &smp_atomics;
	uint64_t one = 1, old, want;

	asm volatile("lock addq $1, %0" : "+m"(a->added));
	asm volatile("lock incq %0" : "+m"(a->incs));
	asm volatile("lock xaddq %1, %0" : "+m"(a->xadds), "+r"(one));
	asm volatile("lock addq %1, %0" : "+m"(a->xadd_sum) : "r"(one));
	do {
		old = __atomic_load_n(&a->swaps, __ATOMIC_RELAXED);
		want = old + 3;
		asm volatile("lock cmpxchgq %2, %1" : "+a"(old), "+m"(a->swaps) : "r"(want)
			     : "cc");
	} while (old != want - 3);
	for (;;) {
		uint32_t taken = 1;

		asm volatile("xchgl %0, %1" : "+r"(taken), "+m"(a->lock));
		if (!taken)
			break;
		cpu_relax();
	}
	a->locked++;
	__atomic_store_n(&a->lock, 0, __ATOMIC_RELEASE);
	asm volatile("lock orq %1, %0" : "+m"(a->bits) : "r"(1ull << (2 * (idx % 32))));
	asm volatile("lock btsq %1, %0" : "+m"(a->bits) : "r"((uint64_t)(2 * (idx % 32) + 1)) : "cc");
}

static __attribute__((noinline)) void smp_run(uint32_t idx)
{
	uint32_t i, j, n = smp_iterations;
	uint32_t traps = smp_int3 ? idx + 1 : 0;
	uint64_t acc = idx;

	for (i = 0; i < n; i++) {
		for (j = 0; j < traps; j++)
			smp_int3_fire();
		acc = smp_work(idx, acc);
		if (smp_with_atomics)
			atomics_once(idx);
	}
	smp_acc[idx] = acc;
	__atomic_fetch_add(&smp_finished, 1, __ATOMIC_RELEASE);
}

static uint32_t parse_dec(const char *s)
{
	uint32_t v = 0;

	while (*s >= '0' && *s <= '9')
		v = v * 10 + (uint32_t)(*s++ - '0');
	return v;
}

/* The rest of word w after prefix, or 0 when w does not start with it. */
static const char *after(const char *w, const char *prefix)
{
	while (*prefix)
		if (*w++ != *prefix++)
			return 0;
	return w;
}

/* The first word is the guest's file name; no option looks like one. */
static void parse_cmdline(const char *s)
{
	const char *v;

	while (*s) {
		while (*s == ' ')
			s++;
		if ((v = after(s, "cpus=")))
			smp_cpus = parse_dec(v);
		else if ((v = after(s, "iter=")))
			smp_iterations = parse_dec(v);
		else if ((v = after(s, "spin")) && (*v == ' ' || !*v))
			smp_spinner = 1;
		else if ((v = after(s, "int3")) && (*v == ' ' || !*v))
			smp_int3 = 1;
		else if ((v = after(s, "atomics")) && (*v == ' ' || !*v))
			smp_with_atomics = 1;
		while (*s && *s != ' ')
			s++;
	}
	if (smp_cpus < 1 || smp_cpus > SMP_MAX_CPUS)
		smp_cpus = 1;
}

static void start_up(void)
{
	const volatile uint32_t *info = (const uint32_t *)(uintptr_t)smp_boot_info;

	uart_init();
	if (smp_boot_magic != MB_BOOT_MAGIC) {
		uart_puts("smp: bad multiboot magic\n");
		guest_exit(SMP_EXIT_BAD_MAGIC);
	}
	if (info[0] & MB_INFO_CMDLINE)
		parse_cmdline((const char *)(uintptr_t)info[4]);
	if (smp_int3)
		idt_set_gate(VEC_BREAKPOINT, smp_isr_breakpoint);
	uart_puts("smp: ");
	uart_putdec(smp_cpus);
	uart_puts(" vCPUs, ");
	uart_putdec(smp_iterations);
	uart_puts(" iterations\n");
}

static void __attribute__((noreturn)) report(void)
{
	uint32_t i, n = smp_iterations;
	uint64_t sum = 0;
	int ok = 1;

	for (i = 0; i < smp_cpus; i++) {
		uart_puts("smp: vCPU ");
		uart_putdec(i);
		uart_puts(" work ");
		uart_putdec(smp_counts.work[i]);
		uart_puts(" mix ");
		uart_putdec(smp_counts.mix[i]);
		uart_puts(" fold ");
		uart_putdec(smp_counts.fold[i]);
		if (smp_int3) {
			uart_puts(" int3 ");
			uart_putdec(smp_int3_hits[i]);
			ok &= smp_int3_hits[i] == (uint64_t)n * (i + 1);
		}
		uart_putc('\n');
		ok &= smp_counts.work[i] == n && smp_counts.mix[i] == n &&
		      smp_counts.fold[i] == n;
		sum += smp_acc[i];
	}
	if (smp_with_atomics) {
		const struct smp_atomics *a = &smp_atomics;
		uint64_t calls = (uint64_t)n * smp_cpus;
		uint64_t bits = smp_cpus >= 32 ? ~0ull : (1ull << (2 * smp_cpus)) - 1;

		uart_puts("smp: atomics add ");
		uart_putdec(a->added);
		uart_puts(" inc ");
		uart_putdec(a->incs);
		uart_puts(" xadd ");
		uart_putdec(a->xadds);
		uart_puts(" cmpxchg ");
		uart_putdec(a->swaps);
		uart_puts(" locked ");
		uart_putdec(a->locked);
		uart_puts(" bits 0x");
		uart_puthex(a->bits, 16);
		uart_putc('\n');
		/* Every value lock xadd returned once: their sum tells a
		 * duplicate or a gap in what the instruction read. */
		ok &= a->added == calls && a->incs == calls && a->xadds == calls &&
		      a->swaps == 3 * calls && a->locked == calls && a->bits == bits &&
		      a->xadd_sum == calls * (calls - 1) / 2;
	}
	uart_puts("smp: checksum 0x");
	uart_puthex(sum, 16);
	uart_putc('\n');
	guest_exit(ok ? SMP_EXIT_OK : SMP_EXIT_BAD_COUNT);
}

void smp_main(uint32_t idx)
{
	if (idx == 0) {
		start_up();
		smp_go = 1;
	} else {
		while (!smp_go)
			cpu_relax();
	}
	if (idx >= smp_cpus)
		smp_halt();
	if (smp_int3)
		int3_setup(idx);
	if (idx == 1 && smp_spinner)
		smp_spin();
	smp_run(idx);
	if (idx)
		smp_halt();
	while (__atomic_load_n(&smp_finished, __ATOMIC_ACQUIRE) != smp_cpus)
		cpu_relax();
	report();
}
