/* SPDX-License-Identifier: MIT */
/* A 256-entry long-mode IDT for the guests that take exceptions or IRQs. */
#ifndef GUEST_IDT_H
#define GUEST_IDT_H

void idt_set_gate(unsigned vector, void (*handler)(void));
void idt_load(void);

#endif
