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

#define PML4_OFF	0x0000
#define PDPT_OFF	0x1000
#define PD_OFF		0x2000		/* one page per GiB of RAM */
#define GDT_OFF		0x70000
#define CMDLINE_OFF	0x71000
#define STACKS_OFF	0x80000		/* up to the top: one stack per vCPU */
#define STACK_SIZE	0x2000
#define CMDLINE_MAX	0x1000

static const uint64_t gdt[] = {
	0,
	0x00af9a000000ffffull,	/* 0x08: 64-bit code */
	0x00cf92000000ffffull,	/* 0x10: data */
	0x00cf9a000000ffffull,	/* 0x18: 32-bit code */
};

int longmode_prepare(struct vm *vm, struct x86_machine *m, const char *cmdline,
		     char *err, size_t len)
{
	uint64_t base = vm->ram_base + vm->ram_size - BOOT_AREA_SIZE;
	uint8_t *area = vmm_gpa(vm, base, BOOT_AREA_SIZE);
	uint64_t gib = (vm->ram_size + (1ull << 30) - 1) >> 30;
	uint64_t *pml4, *pdpt, *pd;
	size_t n = strlen(cmdline);

	if (!area || gib > (GDT_OFF - PD_OFF) / 0x1000) {
		vmm_err(err, len, "guest RAM is too small or too large for 64-bit boot structures");
		return -1;
	}
	memset(area, 0, BOOT_AREA_SIZE);
	pml4 = (uint64_t *)(area + PML4_OFF);
	pdpt = (uint64_t *)(area + PDPT_OFF);
	pd = (uint64_t *)(area + PD_OFF);
	pml4[0] = (base + PDPT_OFF) | PTE_P | PTE_W;
	for (uint64_t g = 0; g < gib; g++)
		pdpt[g] = (base + PD_OFF + g * 0x1000) | PTE_P | PTE_W;
	for (uint64_t i = 0; i < gib * 512; i++)
		pd[i] = (i << 21) | PTE_P | PTE_W | PTE_PS;
	memcpy(area + GDT_OFF, gdt, sizeof(gdt));
	if (n >= CMDLINE_MAX)
		n = CMDLINE_MAX - 1;
	memcpy(area + CMDLINE_OFF, cmdline, n);
	m->mode = BOOT_LONG;
	m->boot_area = base;
	m->info = base + CMDLINE_OFF;
	return 0;
}

static void seg64(struct kvm_segment *s, uint16_t sel, uint8_t type, bool code)
{
	*s = (struct kvm_segment){ .base = 0, .limit = 0xffffffff, .selector = sel,
				   .type = type, .present = 1, .s = 1, .g = 1,
				   .l = code, .db = !code };
}

int longmode_vcpu(struct vm *vm, struct x86_machine *m, struct vcpu *v,
		  char *err, size_t len)
{
	struct kvm_sregs sregs;
	struct kvm_fpu fpu = { .fcw = 0x37f, .mxcsr = 0x1f80 };
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
	seg64(&sregs.cs, 0x08, 0xb, true);
	seg64(&sregs.ds, 0x10, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = m->boot_area + GDT_OFF;
	sregs.gdt.limit = sizeof(gdt) - 1;
	sregs.cr3 = m->boot_area + PML4_OFF;
	sregs.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
	sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
	sregs.efer = EFER_LME | EFER_LMA;
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 ||
	    ioctl(v->fd, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) {
		vmm_err(err, len, "cannot set the 64-bit entry state: %s", strerror(errno));
		return -1;
	}
	return 0;
}
