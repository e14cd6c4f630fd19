// SPDX-License-Identifier: MIT
#include <stdint.h>

#include "idt.h"

#define KERNEL_CS		0x08
#define GATE_INTERRUPT_P	0x8e	/* present, DPL 0, 64-bit interrupt gate */

struct idt_gate {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
} __attribute__((packed));

struct idt_ptr {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

static struct idt_gate idt[256] __attribute__((aligned(16)));

void idt_set_gate(unsigned vector, void (*handler)(void))
{
	uint64_t a = (uint64_t)handler;
	struct idt_gate *g = &idt[vector & 0xff];

	g->offset_lo = (uint16_t)a;
	g->selector = KERNEL_CS;
	g->ist = 0;
	g->type = GATE_INTERRUPT_P;
	g->offset_mid = (uint16_t)(a >> 16);
	g->offset_hi = (uint32_t)(a >> 32);
	g->reserved = 0;
}

void idt_load(void)
{
	struct idt_ptr p = { sizeof(idt) - 1, (uint64_t)idt };

	asm volatile("lidt %0" : : "m"(p));
}
