/* SPDX-License-Identifier: MIT */
/*
 * The master 8259A interrupt controller, as much as ordinary kernels and
 * test guests use: the ICW1-ICW4 initialisation sequence (vector base,
 * auto-EOI), the mask register, non-specific and specific EOI, and
 * reading IRR/ISR through OCW3.  The slave is accepted and stays masked:
 * no device here raises IRQ 8-15.
 */
#include "x86vmm.h"

#define ICW1_INIT	0x10
#define ICW1_ICW4	0x01
#define ICW1_SINGLE	0x02
#define ICW4_AEOI	0x02
#define OCW3_SELECT	0x08
#define OCW3_READ_ISR	0x03
#define OCW2_EOI	0x20
#define OCW2_SPECIFIC	0x40

void pic_init(struct pic8259 *p)
{
	*p = (struct pic8259){ .imr = 0xff, .base = 0x08 };
}

static void command(struct pic8259 *p, uint8_t val)
{
	if (val & ICW1_INIT) {
		p->icw1 = val;
		p->init_step = 1;
		p->imr = 0;
		p->isr = 0;
		p->irr = 0;
		p->read_isr = false;
		return;
	}
	if (val & OCW3_SELECT) {
		if (val & 0x02)
			p->read_isr = (val & OCW3_READ_ISR) == OCW3_READ_ISR;
		return;
	}
	if (val & OCW2_EOI) {
		if (val & OCW2_SPECIFIC) {
			p->isr &= ~(1u << (val & 7));
		} else {
			for (unsigned i = 0; i < 8; i++) {
				if (p->isr & (1u << i)) {
					p->isr &= ~(1u << i);
					break;
				}
			}
		}
	}
}

static void data(struct pic8259 *p, uint8_t val)
{
	switch (p->init_step) {
	case 1:
		p->base = val & 0xf8;
		p->init_step = (p->icw1 & ICW1_SINGLE) ? 3 : 2;
		if (p->init_step == 3 && !(p->icw1 & ICW1_ICW4))
			p->init_step = 0;
		return;
	case 2:		/* ICW3: cascade wiring, nothing to model */
		p->init_step = (p->icw1 & ICW1_ICW4) ? 3 : 0;
		return;
	case 3:
		p->auto_eoi = val & ICW4_AEOI;
		p->init_step = 0;
		return;
	default:
		p->imr = val;
	}
}

void pic_out(struct pic8259 *p, uint16_t port, uint8_t val)
{
	if (port == PIC_MASTER)
		command(p, val);
	else if (port == PIC_MASTER + 1)
		data(p, val);
}

uint8_t pic_in(struct pic8259 *p, uint16_t port)
{
	if (port == PIC_MASTER)
		return p->read_isr ? p->isr : p->irr;
	if (port == PIC_MASTER + 1)
		return p->imr;
	return 0xff;	/* the slave: everything masked */
}

void pic_raise(struct pic8259 *p, unsigned irq)
{
	p->irr |= 1u << irq;
}

int pic_next(struct pic8259 *p)
{
	uint8_t pending = p->irr & ~p->imr;

	for (unsigned i = 0; i < 8; i++) {
		if (p->isr & (1u << i))
			return -1;	/* higher priority in service */
		if (pending & (1u << i))
			return (int)i;
	}
	return -1;
}

uint8_t pic_ack(struct pic8259 *p, unsigned irq)
{
	p->irr &= ~(1u << irq);
	if (!p->auto_eoi)
		p->isr |= 1u << irq;
	return p->base + irq;
}
