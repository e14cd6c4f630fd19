// SPDX-License-Identifier: MIT
/*
 * Takes timer interrupts while it works, so that a debugger's single steps
 * have an interrupt pending at every instruction: a step must still end
 * on the next instruction of the work, never in the IRQ handler, and the
 * guest's own interrupt mask must be what the guest made it.
 *
 * The virtual timer (PPI 27) ticks every millisecond through whichever GIC
 * the machine has (ID_AA64PFR0_EL1.GIC: system-register interface means
 * GICv3).  main() works with interrupts unmasked until it has seen
 * IRQ_TICKS ticks, then runs daif_dance() (irqstep_vectors.S), which masks,
 * reads, unmasks, reads the mask and calls svc: a debugger stepping it sees
 * every change the guest makes.  Exits with IRQSTEP_EXIT after printing
 * what it saw, or with a status above 0x70 on anything unexpected.
 */
#include "guest.h"

#define IRQSTEP_EXIT		0x2c
#define EXIT_NO_GIC		0x71
#define EXIT_BAD_DAIF		0x72
#define IRQ_TICKS		20
#define TICK_HZ			1000
#define PPI_VTIMER		27
#define SPURIOUS		1020
#define DAIF_I			(1u << 7)

#define GICD_BASE		0x08000000ul
#define GICD_CTLR		0x000
#define GICD_ISENABLER0		0x100
#define GICD_IPRIORITYR		0x400
#define GICD_CTLR_ENABLE	0x1
#define GICD_CTLR_ARE_GRP1	0x12	/* ARE, EnableGrp1 */
#define GICC_BASE		0x08010000ul
#define GICC_CTLR		0x00
#define GICC_PMR		0x04
#define GICC_IAR		0x0c
#define GICC_EOIR		0x10
#define GICR_BASE		0x080a0000ul	/* vCPU 0's redistributor */
#define GICR_WAKER		0x0014
#define GICR_SGI		0x10000
#define GICR_IGROUPR0		(GICR_SGI + 0x080)
#define GICR_ISENABLER0		(GICR_SGI + 0x100)
#define GICR_IPRIORITYR		(GICR_SGI + 0x400)
#define WAKER_SLEEP		(1u << 1)
#define WAKER_CHILDREN_ASLEEP	(1u << 2)

#define sysreg_read(name) ({ uint64_t v_; asm volatile("mrs %0, " name : "=r"(v_)); v_; })
#define sysreg_write(name, v) asm volatile("msr " name ", %0; isb" : : "r"((uint64_t)(v)))
#define ICC_IAR1_EL1		"s3_0_c12_c12_0"
#define ICC_EOIR1_EL1		"s3_0_c12_c12_1"
#define ICC_SRE_EL1		"s3_0_c12_c12_5"
#define ICC_IGRPEN1_EL1		"s3_0_c12_c12_7"
#define ICC_PMR_EL1		"s3_0_c4_c6_0"

extern char irq_vectors[];
void daif_dance(void);
void irq_handler(void);
uint64_t irq_work(uint64_t acc);

volatile uint32_t irq_ticks;
volatile uint32_t svc_calls;		/* counted by the sync handler */
volatile uint64_t dance_masked;		/* DAIF as daif_dance read it */
volatile uint64_t dance_unmasked;
volatile uint64_t work_result;
static uint32_t gic_version;
static uint64_t tick_interval;

static void w32(uintptr_t a, uint32_t v)
{
	*(volatile uint32_t *)a = v;
}

static uint32_t r32(uintptr_t a)
{
	return *(volatile uint32_t *)a;
}

static void w8(uintptr_t a, uint8_t v)
{
	*(volatile uint8_t *)a = v;
}

static void gic_init(void)
{
	gic_version = (sysreg_read("id_aa64pfr0_el1") >> 24) & 0xf ? 3 : 2;
	if (gic_version == 3) {
		w32(GICD_BASE + GICD_CTLR, GICD_CTLR_ARE_GRP1);
		w32(GICR_BASE + GICR_WAKER, r32(GICR_BASE + GICR_WAKER) & ~WAKER_SLEEP);
		while (r32(GICR_BASE + GICR_WAKER) & WAKER_CHILDREN_ASLEEP)
			;
		w32(GICR_BASE + GICR_IGROUPR0, 1u << PPI_VTIMER);
		w8(GICR_BASE + GICR_IPRIORITYR + PPI_VTIMER, 0x80);
		w32(GICR_BASE + GICR_ISENABLER0, 1u << PPI_VTIMER);
		sysreg_write(ICC_SRE_EL1, sysreg_read(ICC_SRE_EL1) | 1);
		sysreg_write(ICC_PMR_EL1, 0xff);
		sysreg_write(ICC_IGRPEN1_EL1, 1);
		return;
	}
	w32(GICD_BASE + GICD_CTLR, GICD_CTLR_ENABLE);
	w8(GICD_BASE + GICD_IPRIORITYR + PPI_VTIMER, 0x80);
	w32(GICD_BASE + GICD_ISENABLER0, 1u << PPI_VTIMER);
	w32(GICC_BASE + GICC_PMR, 0xff);
	w32(GICC_BASE + GICC_CTLR, 1);
}

/* Called from the IRQ vector with the interrupted state saved. */
void irq_handler(void)
{
	uint32_t iar = gic_version == 3 ? sysreg_read(ICC_IAR1_EL1) : r32(GICC_BASE + GICC_IAR);

	if ((iar & 0x3ff) >= SPURIOUS)
		return;
	if ((iar & 0x3ff) == PPI_VTIMER) {
		irq_ticks++;
		sysreg_write("cntv_tval_el0", tick_interval);
	}
	if (gic_version == 3)
		sysreg_write(ICC_EOIR1_EL1, iar);
	else
		w32(GICC_BASE + GICC_EOIR, iar);
}

/* Straight-line arithmetic for a debugger to step through. */
__attribute__((noinline)) uint64_t irq_work(uint64_t acc)
{
	for (unsigned i = 0; i < 16; i++)
		acc = (acc ^ (acc >> 7)) * 0x9e3779b97f4a7c15ull + i;
	return acc;
}

void main(void)
{
	uint64_t acc = 1;

	uart_puts("irqstep: start\n");
	sysreg_write("vbar_el1", irq_vectors);
	gic_init();
	tick_interval = sysreg_read("cntfrq_el0") / TICK_HZ;
	sysreg_write("cntv_tval_el0", tick_interval);
	sysreg_write("cntv_ctl_el0", 1);
	asm volatile("msr daifclr, #2" ::: "memory");
	while (irq_ticks < IRQ_TICKS)
		acc = irq_work(acc);
	work_result = acc;
	daif_dance();
	asm volatile("msr daifset, #2" ::: "memory");
	sysreg_write("cntv_ctl_el0", 0);
	if (!(dance_masked & DAIF_I) || (dance_unmasked & DAIF_I)) {
		uart_puts("irqstep: daif read back wrong\n");
		guest_exit(EXIT_BAD_DAIF);
	}
	uart_puts("irqstep: ");
	uart_putdec(svc_calls);
	uart_puts(" svc, ticks seen\n");
	guest_exit(IRQSTEP_EXIT);
}
