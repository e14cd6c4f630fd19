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

#define PL011_DR	0x00
#define PL011_FR	0x18
#define PL011_FR_RXFE	0x10
#define PL011_FR_TXFE	0x80
#define PL011_ID	0xfe0	/* peripheral and PrimeCell ids, 8 words */
#define PSTATE_EL1H_MASKED 0x3c5ull
#define STACK_PER_VCPU	0x10000ull

#define CORE64(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
		       KVM_REG_ARM_CORE_REG(field))

const unsigned arch_max_vcpus = 8;
const uint64_t arch_ram_base = 0x40000000;
const bool arch_device_tree = true;
const char *const arch_gdb_views = "aarch64";

const char *const arch_vmm_usage =
	"\n"
	"GUEST is an arm64 Linux Image, an ELF64 AArch64 executable (loaded at its\n"
	"physical addresses) or a raw image with --load-addr and --entry.  RAM\n"
	"starts at 0x40000000.  vCPU 0 enters at EL1h with the MMU off, DAIF\n"
	"masked; the others start powered off for PSCI CPU_ON (HVC).\n"
	"A Linux Image is booted per Linux's arm64 booting.rst: x0 holds a device\n"
	"tree kvmdbg generates (or --dtb FILE's, with /chosen filled in) giving\n"
	"--append as bootargs and --initrd's place.  ELF and raw guests get\n"
	"x0 = 0 and SP_EL1 at the top of RAM.\n"
	"Devices: PL011 UART at 0x09000000 (stdout); PSCI SYSTEM_OFF ends the run\n"
	"with status 0, SYSTEM_RESET with status 6; writing V to the 32-bit\n"
	"register at 0x09010000 ends it with status (V << 1) | 1.\n"
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
	if (!img->raw && a64_image_is(img))
		return a64_image_load(vm, m, img, err, len);
	if (img->initrd || img->append || img->dtb_path || img->dump_dtb_path) {
		vmm_err(err, len, "%s: --initrd, --append, --dtb and --dump-dtb are for a Linux Image, and this is not one (no \"ARM\\x64\" magic at offset 0x38)",
			img->path);
		return -1;
	}
	if (img->raw) {
		if (vmm_copy_in(vm, img->load_addr, img->data, img->size, err, len) < 0)
			return -1;
		m->entry = img->entry;
		return 0;
	}
	if (img->size >= 2 && img->data[0] == 0x1f && img->data[1] == 0x8b) {
		vmm_err(err, len, "%s: a gzip-compressed file; a compressed kernel Image must be unpacked first (gunzip)",
			img->path);
		return -1;
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
	struct a64_machine *m = vm->arch;

	if (a64_gic_init(m, err, len) < 0)
		return -1;
	return m->image ? a64_image_finish(vm, m, err, len) : 0;
}

int a64_get_reg(struct vcpu *v, uint64_t id, uint64_t *val, char *err, size_t len)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)val };

	if (ioctl(v->fd, KVM_GET_ONE_REG, &reg) < 0) {
		vmm_err(err, len, "cannot read register 0x%llx of vCPU %u: %s",
			(unsigned long long)id, v->idx, strerror(errno));
		return -1;
	}
	return 0;
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
	    set_reg(v, CORE64(regs.regs[0]), m->x0, err, len) < 0)
		return -1;
	/* Linux wants x1-x3 zero; other guests get a stack. */
	for (unsigned i = 1; m->image && i < 4; i++)
		if (set_reg(v, CORE64(regs.regs[i]), 0, err, len) < 0)
			return -1;
	if (!m->image && set_reg(v, CORE64(sp_el1), vm->ram_base + vm->ram_size, err, len) < 0)
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

/* A read of the PL011: always ready to send, nothing received, and the
 * ids by which Linux's AMBA bus recognises a PL011. */
static uint8_t pl011_in(uint64_t off)
{
	static const uint8_t ids[8] = { 0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1 };

	if (off == PL011_FR)
		return PL011_FR_TXFE | PL011_FR_RXFE;
	if (off >= PL011_ID && off < PL011_ID + 4 * sizeof(ids) && !(off & 3))
		return ids[(off - PL011_ID) / 4];
	return 0;
}

static void handle_mmio(struct vm *vm, struct vcpu *v)
{
	struct kvm_run *run = v->run;
	uint64_t addr = run->mmio.phys_addr, val = 0;

	if (!run->mmio.is_write) {
		memset(run->mmio.data, 0, sizeof(run->mmio.data));
		if (addr >= PL011_BASE && addr < PL011_BASE + PL011_SIZE)
			run->mmio.data[0] = pl011_in(addr - PL011_BASE);
		return;
	}
	memcpy(&val, run->mmio.data, run->mmio.len <= 8 ? run->mmio.len : 8);
	if (addr >= PL011_BASE && addr < PL011_BASE + PL011_SIZE)
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
		if (run->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN)
			vmm_exit(vm, 0);
		if (run->system_event.type == KVM_SYSTEM_EVENT_RESET) {
			fprintf(stderr, "kvmdbg: the guest asked for a reset; kvmdbg does not restart guests\n");
			vmm_exit(vm, VMM_EXIT_RESET);
		}
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

const char *arch_gdb_view(const struct vm *vm)
{
	(void)vm;
	return NULL;
}

void arch_probe_describe(int kvm_fd, char *out, size_t len)
{
	if (len)
		out[0] = '\0';	/* the stub's table says it all */
}
