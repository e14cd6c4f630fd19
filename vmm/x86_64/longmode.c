/* SPDX-License-Identifier: MIT */
/*
 * Direct 64-bit entry for ELF64 and raw guests: identity page tables over
 * all of guest RAM with 2 MiB pages, a flat GDT, a stack, SSE on and
 * interrupts off.  All of it lives in the top megabyte of RAM, which the
 * guest's image may not overlap.  Every vCPU starts at the entry point, RSI
 * holding its index and RSP its own stack, so an SMP guest needs no
 * start-up IPIs.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86bits.h"
#include "x86vmm.h"

#define PML4_OFF	0x0000		/* then identity_map()'s PDPT and PDs */
#define GDT_OFF		0x70000
#define CMDLINE_OFF	0x71000
#define STACKS_OFF	0x80000		/* up to the top: one stack per vCPU */
#define STACK_SIZE	0x2000
#define CMDLINE_MAX	0x1000

static const uint64_t gdt[] = {
	0,
	GDT_CODE64,	/* 0x08 */
	GDT_DATA,	/* 0x10 */
	GDT_CODE32,	/* 0x18 */
};

int longmode_prepare(struct vm *vm, struct x86_machine *m, const char *cmdline,
		     char *err, size_t len)
{
	uint64_t base = vm->ram_base + vm->ram_size - BOOT_AREA_SIZE;
	uint8_t *area = vmm_gpa(vm, base, BOOT_AREA_SIZE);
	uint64_t gib = (vm->ram_size + (1ull << 30) - 1) >> 30;
	size_t n = strlen(cmdline);

	if (!area || 2 + gib > (GDT_OFF - PML4_OFF) / 0x1000) {
		vmm_err(err, len, "guest RAM is too small or too large for 64-bit boot structures");
		return -1;
	}
	memset(area, 0, BOOT_AREA_SIZE);
	identity_map(area + PML4_OFF, base + PML4_OFF, gib);
	memcpy(area + GDT_OFF, gdt, sizeof(gdt));
	if (n >= CMDLINE_MAX)
		n = CMDLINE_MAX - 1;
	memcpy(area + CMDLINE_OFF, cmdline, n);
	m->mode = BOOT_LONG;
	m->boot_area = base;
	m->info = base + CMDLINE_OFF;
	return 0;
}

int longmode_vcpu(struct vm *vm, struct x86_machine *m, struct vcpu *v,
		  char *err, size_t len)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = {
		.rip = m->entry,
		.rflags = 2,
		.rsp = m->boot_area + BOOT_AREA_SIZE - (uint64_t)v->idx * STACK_SIZE,
		.rdi = m->info,
		.rsi = v->idx,
	};

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		vmm_err(err, len, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	flat_segment(&sregs.cs, 0x08, 0xb, true);
	flat_segment(&sregs.ds, 0x10, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = m->boot_area + GDT_OFF;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.cr3 = m->boot_area + PML4_OFF;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	return set_entry_state(v, &sregs, &regs, "64-bit", err, len);
}
