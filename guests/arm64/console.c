// SPDX-License-Identifier: MIT
/* Polled PL011 output, PSCI and the exit register. */
#include "guest.h"

#define PL011_BASE	0x09000000ul
#define PL011_DR	0x00
#define PL011_FR	0x18
#define FR_TXFF		(1u << 5)

#define EXIT_REGISTER	0x09010000ul

static inline uint32_t mmio_read32(uintptr_t addr)
{
	return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uintptr_t addr, uint32_t v)
{
	*(volatile uint32_t *)addr = v;
}

void uart_putc(char c)
{
	while (mmio_read32(PL011_BASE + PL011_FR) & FR_TXFF)
		;
	mmio_write32(PL011_BASE + PL011_DR, (uint8_t)c);
}

uint64_t psci_call(uint64_t fn, uint64_t a1, uint64_t a2, uint64_t a3)
{
	register uint64_t x0 asm("x0") = fn;
	register uint64_t x1 asm("x1") = a1;
	register uint64_t x2 asm("x2") = a2;
	register uint64_t x3 asm("x3") = a3;

	/* SMCCC lets the callee clobber x4-x17 as well. */
	asm volatile("hvc #0"
		     : "+r"(x0), "+r"(x1), "+r"(x2), "+r"(x3)
		     :
		     : "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11",
		       "x12", "x13", "x14", "x15", "x16", "x17", "memory");
	return x0;
}

void guest_exit(uint32_t code)
{
	mmio_write32(EXIT_REGISTER, code);
	/*
	 * Without an exit register (QEMU's virt board has an RTC there) the
	 * machine still stops, with status 0.
	 */
	psci_call(PSCI_SYSTEM_OFF, 0, 0, 0);
	for (;;)
		asm volatile("wfi");
}
