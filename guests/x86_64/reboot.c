// SPDX-License-Identifier: MIT
/*
 * The reboot guest: prints "reboot: boot" from reboot_boot(), then asks
 * for a reset through the keyboard controller (0xfe to port 0x64), as a PC
 * reboots.  A machine that resets in place runs it again from the start;
 * one that does not sees "reboot: no reset" and exit code 0x7e.
 */
#include "guest.h"
#include "io.h"

#define KBC_COMMAND	0x64
#define KBC_PULSE_RESET	0xfe
#define REBOOT_NO_RESET	0x7e

static __attribute__((noinline)) void reboot_boot(void)
{
	uart_puts("reboot: boot\n");
}

void kmain(uint32_t magic, uint32_t info)
{
	uart_init();
	reboot_boot();
	outb(KBC_COMMAND, KBC_PULSE_RESET);
	uart_puts("reboot: no reset\n");
	guest_exit(REBOOT_NO_RESET);
}
