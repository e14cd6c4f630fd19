/* SPDX-License-Identifier: MIT */
/*
 * The arm64 machine, laid out like QEMU's virt board where it matters:
 * RAM at 0x40000000, a PL011 at 0x09000000, PSCI 0.2 through HVC for
 * power-off and secondary vCPUs.  An exit register at 0x09010000 lets a
 * test guest end the run with a status, like isa-debug-exit on x86.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arm64vmm.h"

#define PL011_BASE	0x09000000ull
#define PL011_DR	0x00
#define PL011_FR	0x18
#define PL011_FR_RXFE	0x10
#define PL011_FR_TXFE	0x80
#define EXIT_REG	0x09010000ull
#define PSTATE_EL1H_MASKED 0x3c5ull
#define STACK_PER_VCPU	0x10000ull

#define CORE64(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
		       KVM_REG_ARM_CORE_REG(field))

const unsigned arch_max_vcpus = 8;
const uint64_t arch_ram_base = 0x40000000;

const char *const arch_vmm_usage =
	"\n"
	"GUEST is an ELF64 AArch64 executable (loaded at its physical addresses)\n"
	"or a raw image with --load-addr and --entry.  RAM starts at 0x40000000.\n"
	"vCPU 0 enters at EL1h with the MMU off, DAIF masked, SP_EL1 at the top of\n"
	"RAM; the others start powered off for PSCI CPU_ON (HVC).\n"
	"Devices: PL011 UART at 0x09000000 (stdout); PSCI SYSTEM_OFF ends the run\n"
	"with status 0; writing V to the 32-bit register at 0x09010000 ends it\n"
	"with status (V << 1) | 1.\n"
	"Interrupts: an in-kernel GICv3 (distributor 0x08000000, redistributors\n"
	"0x080a0000) or, where the host has no GICv3, a GICv2 (distributor\n"
	"0x08000000, CPU interface 0x08010000); ID_AA64PFR0_EL1.GIC tells which.\n"
	"The generic timers interrupt through it: virtual PPI 27, physical PPI 30.\n";

int arch_load(struct vm *vm, const struct guest_image *img, char *err, size_t len)
{
	struct a64_machine *m = calloc(1, sizeof(*m));

	if (!m) {
		vmm_err(err, len, "out of memory");
		return -1;
	}
	vm->arch = m;
	if (img->raw) {
		if (vmm_copy_in(vm, img->load_addr, img->data, img->size, err, len) < 0)
			return -1;
		m->entry = img->entry;
		return 0;
	}
	if (!elf_is_elf(img)) {
		vmm_err(err, len, "%s: not a bootable guest: not an ELF file (for a raw image give --load-addr and --entry)",
			img->path);
		return -1;
	}
	if (elf_check(img, EM_AARCH64, err, len) < 0)
		return -1;
	if (img->data[EI_CLASS] != ELFCLASS64) {
		vmm_err(err, len, "%s: not an ELF64 AArch64 executable", img->path);
		return -1;
	}
	return elf_load(vm, img, &m->entry, err, len);
}

int arch_vm_create(struct vm *vm, char *err, size_t len)
{
	a64_gic_create(vm, vm->arch);
	return 0;
}

int arch_vcpus_created(struct vm *vm, char *err, size_t len)
{
	return a64_gic_init(vm->arch, err, len);
}

static int set_reg(struct vcpu *v, uint64_t id, uint64_t val, char *err, size_t len)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	if (ioctl(v->fd, KVM_SET_ONE_REG, &reg) < 0) {
		vmm_err(err, len, "cannot set vCPU %u entry state: %s", v->idx, strerror(errno));
		return -1;
	}
	return 0;
}

int arch_vcpu_setup(struct vm *vm, struct vcpu *v, char *err, size_t len)
{
	struct a64_machine *m = vm->arch;
	struct kvm_vcpu_init init;

	if (ioctl(vm->vm_fd, KVM_ARM_PREFERRED_TARGET, &init) < 0) {
		vmm_err(err, len, "KVM_ARM_PREFERRED_TARGET: %s", strerror(errno));
		return -1;
	}
	init.features[0] |= 1u << KVM_ARM_VCPU_PSCI_0_2;
	if (v->idx)
		init.features[0] |= 1u << KVM_ARM_VCPU_POWER_OFF;
	if (ioctl(v->fd, KVM_ARM_VCPU_INIT, &init) < 0) {
		vmm_err(err, len, "KVM_ARM_VCPU_INIT: %s", strerror(errno));
		return -1;
	}
	if (v->idx)
		return 0;	/* PSCI CPU_ON gives it its entry state */
	if (set_reg(v, CORE64(regs.pc), m->entry, err, len) < 0 ||
	    set_reg(v, CORE64(regs.pstate), PSTATE_EL1H_MASKED, err, len) < 0 ||
	    set_reg(v, CORE64(sp_el1), vm->ram_base + vm->ram_size, err, len) < 0 ||
	    set_reg(v, CORE64(regs.regs[0]), 0, err, len) < 0)
		return -1;
	return 0;
}

void arch_pre_run(struct vm *vm, struct vcpu *v)
{
}

static void pl011_out(uint64_t off, uint8_t c)
{
	if (off != PL011_DR)
		return;
	while (write(STDOUT_FILENO, &c, 1) < 0 && errno == EINTR)
		;
}

static void handle_mmio(struct vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t addr = run->mmio.phys_addr, val = 0;

	if (!run->mmio.is_write) {
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		if (addr == PL011_BASE + PL011_FR)
			run->mmio.data[0] = PL011_FR_TXFE | PL011_FR_RXFE;
		return;
	}
	memcpy(&val, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
	if (addr >= PL011_BASE && addr < PL011_BASE + 0x1000)
		pl011_out(addr - PL011_BASE, (uint8_t)val);
	else if (addr == EXIT_REG)
		vmm_exit(vm, (int)(((uint32_t)val << 1) | 1));
}

static uint64_t pc_of(struct vcpu *v)
{
	uint64_t pc = 0;
	struct kvm_one_reg reg = { .id = CORE64(regs.pc), .addr = (uintptr_t)&pc };

	return ioctl(v->fd, KVM_GET_ONE_REG, &reg) < 0 ? 0 : pc;
}

void arch_handle_exit(struct vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;

	switch (run->exit_reason) {
	case KVM_EXIT_MMIO:
		handle_mmio(vm, v);
		return;
	case KVM_EXIT_SYSTEM_EVENT:
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN ||
		    run->system_event.type == KVM_SYSTEM_EVENT_RESET)
			vmm_exit(vm, 0);
		fprintf(stderr, "kvmdbg: guest raised system event %u on vCPU %u\n",
			run->system_event.type, v->idx);
		vmm_exit(vm, VMM_EXIT_CRASH);
	case KVM_EXIT_FAIL_ENTRY:
		fprintf(stderr, "kvmdbg: KVM could not enter the guest on vCPU %u (reason 0x%llx)\n",
			v->idx, (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
		vmm_exit(vm, VMM_EXIT_CRASH);
	default:
		fprintf(stderr, "kvmdbg: unexpected KVM exit %u on vCPU %u at pc 0x%llx\n",
			run->exit_reason, v->idx, (unsigned long long)pc_of(v));
		vmm_exit(vm, VMM_EXIT_CRASH);
	}
}

void arch_probe_describe(int kvm_fd, char *out, size_t len)
{
	if (len)
		out[0] = '\0';	/* the stub's table says it all */
}
