// SPDX-License-Identifier: MIT
/*
 * The port I/O loop guest: IOLOOP_ROUNDS one-byte writes to a port no
 * device answers, each a KVM_EXIT_IO the machine monitor handles, then
 * the exit port.  Prints "ioloop: done <rounds>" last.
 */
#include "guest.h"
#include "io.h"

#define IOLOOP_ROUNDS	100000u
#define IOLOOP_PORT	0x80	/* the POST code port: nothing behind it */
#define IOLOOP_EXIT	0x10

volatile uint32_t ioloop_rounds;

void kmain(uint32_t magic, uint32_t info)
{
	uart_init();
	if (magic != MB_BOOT_MAGIC) {
		uart_puts("ioloop: bad multiboot magic\n");
		guest_exit(IOLOOP_EXIT + 1);
	}
	for (uint32_t i = 0; i < IOLOOP_ROUNDS; i++) {
		outb(IOLOOP_PORT, (uint8_t)i);
		ioloop_rounds++;
	}
	uart_puts("ioloop: done ");
	uart_putdec(ioloop_rounds);
	uart_putc('\n');
	guest_exit(IOLOOP_EXIT);
}
