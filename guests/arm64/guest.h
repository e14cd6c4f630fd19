/* SPDX-License-Identifier: MIT */
/* Services shared by the arm64 test guests: PL011 console, PSCI and exit. */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H

#include <stdint.h>

#define PSCI_CPU_OFF		0x84000002u
#define PSCI_SYSTEM_OFF		0x84000008u
#define PSCI_CPU_ON		0xc4000003u

void uart_putc(char c);
void uart_puts(const char *s);
void uart_puthex(uint64_t v, unsigned digits);
void uart_putdec(uint64_t v);

/* A PSCI call through HVC, the conduit of QEMU's virt board and kvmdbg. */
uint64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3);

/*
 * Loads MAIR_EL1, TCR_EL1 and both TTBRs, then turns on the MMU with data
 * and instruction caches.
 */
void mmu_on(uint64_t mair, uint64_t tcr, uint64_t ttbr0, uint64_t ttbr1);

/* Ends the run through the exit register: status (code << 1) | 1. */
void guest_exit(uint32_t code) __attribute__((noreturn));

/* Entered by start.S on the boot vCPU with a stack and a zeroed bss. */
void main(void) __attribute__((noreturn));

#endif
