/* SPDX-License-Identifier: MIT */
/*
 * Enough of a 16550 for polling and interrupt-driven drivers: the
 * transmitter is always empty, so LSR reports THRE and TEMT, and bytes
 * written to THR go straight to stdout.  With an interrupt line wired
 * (Linux guests), the THR-empty interrupt is raised as a real 16550 does:
 * when ETBEI is enabled or a byte is sent, cleared by reading IIR or
 * writing THR, and gated by OUT2 as on a PC.  Loopback mode reflects the
 * modem control outputs in MSR, which drivers test when probing.  There
 * is no input, and the divisor latch is only remembered.
 */
#include <errno.h>
#include <unistd.h>

#include "x86vmm.h"

#define REG_THR	0
#define REG_IER	1
#define REG_IIR	2
#define REG_LCR	3
#define REG_MCR	4
#define REG_LSR	5
#define REG_MSR	6
#define REG_SCR	7

#define IER_THRI	0x02
#define LCR_DLAB	0x80
#define MCR_DTR		0x01
#define MCR_RTS		0x02
#define MCR_OUT1	0x04
#define MCR_OUT2	0x08
#define MCR_LOOP	0x10
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define IIR_NONE	0x01
#define IIR_THRI	0x02
#define MSR_CTS		0x10
#define MSR_DSR		0x20
#define MSR_RI		0x40
#define MSR_DCD		0x80
#define MSR_DCD_DSR_CTS	0xb0

static void emit(uint8_t c)
{
	while (write(STDOUT_FILENO, &c, 1) < 0 && errno == EINTR)
		;
}

static void update_irq(struct uart16550 *u)
{
	bool level = u->thri_pending && (u->ier & IER_THRI) && (u->mcr & MCR_OUT2);

	if (u->set_irq && level != u->irq_level) {
		u->irq_level = level;
		u->set_irq(u->irq_opaque, level);
	}
}

void uart_out(struct uart16550 *u, uint16_t port, uint8_t val)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (port - UART_BASE) {
	case REG_THR:
		if (dlab) {
			u->dll = val;
			break;
		}
		if (!(u->mcr & MCR_LOOP))
			emit(val);
		u->thri_pending = true;	/* sent at once: empty again */
		break;
	case REG_IER:
		if (dlab) {
			u->dlm = val;
			break;
		}
		if ((val & IER_THRI) && !(u->ier & IER_THRI))
			u->thri_pending = true;
		u->ier = val & 0x0f;
		break;
	case REG_LCR: u->lcr = val; break;
	case REG_MCR: u->mcr = val & 0x1f; break;
	case REG_SCR: u->scr = val; break;
	default: break;	/* FCR and the read-only registers */
	}
	update_irq(u);
}

static uint8_t modem_status(const struct uart16550 *u)
{
	if (!(u->mcr & MCR_LOOP))
		return MSR_DCD_DSR_CTS;
	return (u->mcr & MCR_RTS ? MSR_CTS : 0) | (u->mcr & MCR_DTR ? MSR_DSR : 0) |
	       (u->mcr & MCR_OUT1 ? MSR_RI : 0) | (u->mcr & MCR_OUT2 ? MSR_DCD : 0);
}

uint8_t uart_in(struct uart16550 *u, uint16_t port)
{
	bool dlab = u->lcr & LCR_DLAB;
	uint8_t val;

	switch (port - UART_BASE) {
	case REG_THR: return dlab ? u->dll : 0;
	case REG_IER: return dlab ? u->dlm : u->ier;
	case REG_IIR:
		if (u->thri_pending && (u->ier & IER_THRI)) {
			u->thri_pending = false;
			val = IIR_THRI;
		} else {
			val = IIR_NONE;
		}
		update_irq(u);
		return val;
	case REG_LCR: return u->lcr;
	case REG_MCR: return u->mcr;
	case REG_LSR: return LSR_THRE | LSR_TEMT;
	case REG_MSR: return modem_status(u);
	default: return u->scr;
	}
}
