/* SPDX-License-Identifier: MIT */
/* The x86 PC-ish machine: boot state and devices. */
#ifndef KVMDBG_X86VMM_H
#define KVMDBG_X86VMM_H

#include "../vmm.h"

#define UART_BASE	0x3f8
#define DEBUG_EXIT_PORT	0xf4

struct uart16550 {
	uint8_t ier, lcr, mcr, scr, dll, dlm;
};

enum boot_mode { BOOT_MULTIBOOT, BOOT_LONG };

struct x86_machine {
	enum boot_mode mode;
	uint64_t entry;
	uint64_t info;		/* multiboot info, or the command line (long) */
	uint64_t boot_area;	/* long mode: page tables, GDT, stack top */
	struct uart16550 uart;
};

/* Guest RAM kvmdbg keeps for long-mode boot structures: top of RAM. */
#define BOOT_AREA_SIZE	0x100000ull

int multiboot_find(const struct guest_image *img, uint64_t *hdr_off);
int multiboot_load(struct vm *vm, struct x86_machine *m,
		   const struct guest_image *img, uint64_t hdr_off,
		   char *err, size_t len);
int longmode_prepare(struct vm *vm, struct x86_machine *m,
		     const char *cmdline, char *err, size_t len);
int longmode_vcpu(struct vm *vm, struct x86_machine *m, struct vcpu *v,
		  char *err, size_t len);
int multiboot_vcpu(struct vm *vm, struct x86_machine *m, struct vcpu *v,
		   char *err, size_t len);

void uart_out(struct uart16550 *u, uint16_t port, uint8_t val);
uint8_t uart_in(struct uart16550 *u, uint16_t port);

#endif
