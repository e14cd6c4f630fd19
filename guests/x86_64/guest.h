/* SPDX-License-Identifier: MIT */
/* Services shared by the 64-bit test guests: serial console and exit. */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdint.h>

#define MB_BOOT_MAGIC	0x2badb002u

void uart_init(void);
void uart_putc(char c);
void uart_puts(const char *s);
void uart_puthex(uint64_t v, unsigned digits);
void uart_putdec(uint64_t v);

/* Ends the run through the isa-debug-exit port: status (code << 1) | 1. */
void guest_exit(uint32_t code) __attribute__((noreturn));

/* Entered by boot32.S in long mode with the loader's EAX and EBX. */
void kmain(uint32_t magic, uint32_t info);

#endif
