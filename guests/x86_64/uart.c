// SPDX-License-Identifier: MIT
/* Polled 16550 driver: the guests only ever transmit. */
#include "guest.h"
#include "io.h"

#define COM1		0x3f8
#define UART_THR	0
#define UART_IER	1
#define UART_DLL	0
#define UART_DLM	1
#define UART_FCR	2
#define UART_LCR	3
#define UART_MCR	4
#define UART_LSR	5
#define LCR_DLAB	0x80
#define LCR_8N1		0x03
#define LSR_THRE	0x20

#define EXIT_PORT	0xf4

void uart_init(void)
{
	outb(COM1 + UART_IER, 0);
	outb(COM1 + UART_LCR, LCR_DLAB);
	outb(COM1 + UART_DLL, 1);	/* 115200 baud */
	outb(COM1 + UART_DLM, 0);
	outb(COM1 + UART_LCR, LCR_8N1);
	outb(COM1 + UART_FCR, 0xc7);	/* enable and clear both FIFOs */
	outb(COM1 + UART_MCR, 0x0b);	/* DTR, RTS, OUT2 */
}

void uart_putc(char c)
{
	while (!(inb(COM1 + UART_LSR) & LSR_THRE))
		;
	outb(COM1 + UART_THR, (uint8_t)c);
}

void guest_exit(uint32_t code)
{
	outl(EXIT_PORT, code);
	/* Without an exit device, halting with interrupts off still ends the run. */
	for (;;)
		asm volatile("cli; hlt");
}
