// SPDX-License-Identifier: MIT
/*
 * Takes PIT timer interrupts through the 8259 while spinning in a loop:
 * single-stepping the loop must never land in the handler, yet ticks must
 * keep arriving while the guest runs freely.  The loop ends when irq_ticks
 * reaches irq_target, which a debugger may raise to keep the guest busy.
 */
#include "guest.h"
#include "idt.h"
#include "io.h"

#define IRQSTEP_EXIT	7
#define IRQ_BASE	32
#define PIC1_CMD	0x20
#define PIC1_DATA	0x21
#define PIC2_CMD	0xa0
#define PIC2_DATA	0xa1
#define PIC_EOI		0x20
#define PIT_CH0		0x40
#define PIT_CMD		0x43
#define PIT_HZ		1193182
#define TICK_HZ		1000

void isr_irq0(void);
void irq0_handler(void);
void spin_step(void);
void irqstep_done(uint32_t ticks);

volatile uint32_t irq_ticks;
volatile uint32_t irq_target = 20;
volatile uint64_t spin_count;

__attribute__((section(".text.irq"))) void irq0_handler(void)
{
	irq_ticks++;
	outb(PIC1_CMD, PIC_EOI);
}

static void pic_remap(void)
{
	outb(PIC1_CMD, 0x11);		/* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, IRQ_BASE);	/* ICW2: vector bases */
	outb(PIC2_DATA, IRQ_BASE + 8);
	outb(PIC1_DATA, 0x04);		/* ICW3: slave on IRQ 2 */
	outb(PIC2_DATA, 0x02);
	outb(PIC1_DATA, 0x01);		/* ICW4: 8086 mode */
	outb(PIC2_DATA, 0x01);
	outb(PIC1_DATA, 0xfe);		/* only IRQ 0 (the PIT) */
	outb(PIC2_DATA, 0xff);
}

static void pit_start(void)
{
	uint16_t div = PIT_HZ / TICK_HZ;

	outb(PIT_CMD, 0x34);		/* channel 0, lo/hi byte, rate generator */
	outb(PIT_CH0, (uint8_t)div);
	outb(PIT_CH0, (uint8_t)(div >> 8));
}

__attribute__((noinline)) void spin_step(void)
{
	spin_count++;
}

__attribute__((noinline)) void irqstep_done(uint32_t ticks)
{
	uart_puts("irqstep ticks: ");
	uart_putdec(ticks);
	uart_putc('\n');
}

void kmain(uint32_t magic, uint32_t info)
{
	uart_init();
	uart_puts("irqstep: start\n");
	idt_set_gate(IRQ_BASE, isr_irq0);
	idt_load();
	pic_remap();
	pit_start();
	asm volatile("sti");
	while (irq_ticks < irq_target)
		spin_step();
	asm volatile("cli");
	irqstep_done(irq_ticks);
	guest_exit(IRQSTEP_EXIT);
}
