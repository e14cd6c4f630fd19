/* SPDX-License-Identifier: MIT */
/*
 * Enough of a 16550 for polling drivers: the transmitter is always empty,
 * so LSR reports THRE and TEMT, and bytes written to THR go straight to
 * stdout.  There is no input, and the divisor latch is only remembered.
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

#define LCR_DLAB	0x80
#define LSR_THRE	0x20
#define LSR_TEMT	0x40
#define IIR_NONE	0x01
#define MSR_DCD_DSR_CTS	0xb0

static void emit(uint8_t c)
{
	while (write(STDOUT_FILENO, &c, 1) < 0 && errno == EINTR)
		;
}

void uart_out(struct uart16550 *u, uint16_t port, uint8_t val)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (port - UART_BASE) {
	case REG_THR:
		if (dlab)
			u->dll = val;
		else
			emit(val);
		break;
	case REG_IER:
		if (dlab)
			u->dlm = val;
		else
			u->ier = val & 0x0f;
		break;
	case REG_LCR: u->lcr = val; break;
	case REG_MCR: u->mcr = val & 0x1f; break;
	case REG_SCR: u->scr = val; break;
	default: break;	/* FCR and the read-only registers */
	}
}

uint8_t uart_in(struct uart16550 *u, uint16_t port)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (port - UART_BASE) {
	case REG_THR: return dlab ? u->dll : 0;
	case REG_IER: return dlab ? u->dlm : u->ier;
	case REG_IIR: return IIR_NONE;
	case REG_LCR: return u->lcr;
	case REG_MCR: return u->mcr;
	case REG_LSR: return LSR_THRE | LSR_TEMT;
	case REG_MSR: return MSR_DCD_DSR_CTS;
	default: return u->scr;
	}
}
