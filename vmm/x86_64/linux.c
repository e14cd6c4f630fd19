/* SPDX-License-Identifier: MIT */
/*
 * Linux kernels: a bzImage through the 64-bit (or, where that is all the
 * kernel offers, the 32-bit) boot protocol entry with a zero page, or a
 * vmlinux through its PVH entry with an hvm_start_info, which skips the
 * decompressor.  Both get the same e820 map, command line, initrd and MP
 * table; only the boot processor is set up, the others wait in KVM for
 * the guest's INIT/SIPI.
 */
#include <elf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "linuxboot.h"
#include "x86bits.h"
#include "x86vmm.h"

/* The boot protocol's __BOOT_CS and __BOOT_DS. */
#define BOOT_CS		0x10
#define BOOT_DS		0x18
#define STARTUP_64	0x200	/* 64-bit entry from the load address */

/* The initrd may not go above what the boot protocol reaches. */
#define INITRD_TOP_PVH	(1ull << 32)

bool linux_detect(const struct guest_image *img)
{
	uint32_t entry;

	return bzimage_detect(img->data, img->size) ||
	       pvh_entry(img->data, img->size, &entry) == 0;
}

static int fit_initrd(struct vm *vm, const struct guest_image *img,
		      uint64_t floor, uint64_t top, uint64_t *at,
		      char *err, size_t len)
{
	*at = 0;
	if (!img->initrd_size)
		return 0;
	if (top > vm->ram_size)
		top = vm->ram_size;
	*at = linux_initrd_addr(img->initrd_size, floor, top);
	if (!*at) {
		vmm_err(err, len, "initrd %s (%zu bytes) does not fit in guest RAM between the kernel (ends 0x%llx) and 0x%llx (try a larger --mem)",
			img->initrd_path, img->initrd_size, (unsigned long long)floor,
			(unsigned long long)top);
		return -1;
	}
	return vmm_copy_in(vm, *at, img->initrd, img->initrd_size, err, len);
}

/* Command line, page tables, GDT and ACPI: what every entry shares. */
static int common(struct vm *vm, struct x86_machine *m, const struct guest_image *img,
		  uint64_t cmdline_max, char *err, size_t len)
{
	const char *cmdline = img->append ? img->append : "";
	/*
	 * On a hardware-reduced ACPI platform Linux reboots by EFI, then by
	 * the BIOS; kvmdbg has neither, and the vCPUs would spin in real
	 * mode.  The keyboard controller's reset ends the run instead.  It
	 * goes first, so that a reboot= of the user's wins.
	 */
	static const char reboot[] = "reboot=k";
	/* Where KVM keeps offering features it cannot run, Linux is told
	 * to leave them alone. */
	char names[96], extra[128] = "";
	size_t n = strlen(cmdline), n_extra, n_reboot = strlen(reboot) + 1;

	if (m->hidden.forced) {
		cpuid_names(m->hidden.forced, ',', names, sizeof(names));
		snprintf(extra, sizeof(extra), "%sclearcpuid=%s", n ? " " : "", names);
	}
	n_extra = strlen(extra);
	uint8_t *boot = vmm_gpa(vm, LINUX_BOOT_START, LINUX_BOOT_END - LINUX_BOOT_START);
	uint64_t *gdt;
	uint8_t *bios = vmm_gpa(vm, LINUX_BIOS, LINUX_HIGH - LINUX_BIOS);

	if (cmdline_max > LINUX_CMDLINE_MAX)
		cmdline_max = LINUX_CMDLINE_MAX;
	if (n_reboot + n + n_extra >= cmdline_max) {
		vmm_err(err, len, "the kernel command line is %zu bytes; this kernel takes at most %llu",
			n_reboot + n + n_extra, (unsigned long long)cmdline_max - 1);
		return -1;
	}
	memset(boot, 0, LINUX_BOOT_END - LINUX_BOOT_START);
	memcpy(boot + (LINUX_CMDLINE - LINUX_BOOT_START), reboot, n_reboot - 1);
	boot[LINUX_CMDLINE - LINUX_BOOT_START + n_reboot - 1] = ' ';
	memcpy(boot + (LINUX_CMDLINE - LINUX_BOOT_START) + n_reboot, cmdline, n);
	memcpy(boot + (LINUX_CMDLINE - LINUX_BOOT_START) + n_reboot + n, extra, n_extra);
	if (n_extra)
		fprintf(stderr, "kvmdbg: this host's KVM offers features in CPUID whatever kvmdbg sets, and cannot run them in guest kernel code: added clearcpuid=%s to the kernel command line\n",
			names);
	/* Identity map of the low 4 GiB, all that the entry needs. */
	identity_map(boot + (LINUX_PML4 - LINUX_BOOT_START), LINUX_PML4, 4);
	gdt = (uint64_t *)(boot + (LINUX_GDT - LINUX_BOOT_START));
	gdt[BOOT_CS / 8] = m->mode == BOOT_LINUX64 ? GDT_CODE64 : GDT_CODE32;
	gdt[BOOT_DS / 8] = GDT_DATA;
	memset(bios, 0, LINUX_HIGH - LINUX_BIOS);
	if (!acpi_build(bios, LINUX_HIGH - LINUX_BIOS, LINUX_BIOS, vm->nvcpus,
			RESET_CONTROL, RESET_CONTROL_RESET | RESET_CONTROL_HARD)) {
		vmm_err(err, len, "cannot build ACPI tables for %u vCPUs", vm->nvcpus);
		return -1;
	}
	m->irqchip = true;
	return 0;
}

static int load_bzimage(struct vm *vm, struct x86_machine *m,
			const struct guest_image *img, char *err, size_t len)
{
	struct bzimage bz;
	struct e820_entry map[E820_MAX];
	uint64_t load, initrd = 0, top, initrd_top;
	unsigned n;
	char why[256];

	if (bzimage_parse(img->data, img->size, &bz, why, sizeof(why)) < 0) {
		vmm_err(err, len, "%s: %s", img->path, why);
		return -1;
	}
	/* The initrd goes at the top; the kernel must stay below it. */
	top = vm->ram_size;
	initrd_top = (uint64_t)bz.initrd_addr_max + 1;
	if (img->initrd_size && fit_initrd(vm, img, LINUX_HIGH, initrd_top, &initrd,
					   err, len) < 0)
		return -1;
	if (img->initrd_size)
		top = initrd;
	if (bzimage_place(&bz, img->size, LINUX_HIGH, top, &load) < 0) {
		vmm_err(err, len, "%s: the kernel (0x%llx bytes once unpacked, at 0x%llx%s) does not fit in guest RAM below 0x%llx (try a larger --mem)",
			img->path, (unsigned long long)bzimage_footprint(&bz, img->size),
			(unsigned long long)bz.pref_address,
			bz.relocatable ? " or relocated" : "", (unsigned long long)top);
		return -1;
	}
	if (img->initrd_size && load + bzimage_footprint(&bz, img->size) > initrd) {
		vmm_err(err, len, "%s: the kernel and the initrd overlap in guest RAM (try a larger --mem)",
			img->path);
		return -1;
	}
	if (vmm_copy_in(vm, load, img->data + bz.setup_size, img->size - bz.setup_size,
			err, len) < 0)
		return -1;
	m->mode = (bz.xloadflags & BZ_XLF_KERNEL_64) ? BOOT_LINUX64 : BOOT_LINUX32;
	m->entry = m->mode == BOOT_LINUX64 ? load + STARTUP_64 : load;
	if (common(vm, m, img, bz.cmdline_size + 1ull, err, len) < 0)
		return -1;
	n = linux_e820(vm->ram_size, map);
	bzimage_zero_page(vmm_gpa(vm, LINUX_ZERO_PAGE, 4096), img->data, &bz,
			  (uint32_t)load, LINUX_CMDLINE, (uint32_t)initrd,
			  (uint32_t)img->initrd_size, LINUX_BIOS, map, n);
	m->info = LINUX_ZERO_PAGE;
	return 0;
}

static uint64_t elf_end(const struct guest_image *img)
{
	const Elf64_Ehdr *eh = (const void *)img->data;
	uint64_t end = 0;

	for (unsigned i = 0; i < eh->e_phnum; i++) {
		Elf64_Phdr ph;

		memcpy(&ph, img->data + eh->e_phoff + (uint64_t)i * sizeof(ph), sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_paddr + ph.p_memsz > end)
			end = ph.p_paddr + ph.p_memsz;
	}
	return end;
}

static int load_pvh(struct vm *vm, struct x86_machine *m,
		    const struct guest_image *img, char *err, size_t len)
{
	struct e820_entry map[E820_MAX];
	uint64_t entry64, initrd;
	uint32_t entry;
	unsigned n;

	if (elf_check(img, EM_X86_64, err, len) < 0)
		return -1;
	if (img->data[EI_CLASS] != ELFCLASS64) {
		vmm_err(err, len, "%s: a PVH kernel for x86-64 must be an ELF64 file", img->path);
		return -1;
	}
	pvh_entry(img->data, img->size, &entry);
	if (elf_load(vm, img, &entry64, err, len) < 0)
		return -1;
	if (fit_initrd(vm, img, elf_end(img), INITRD_TOP_PVH, &initrd, err, len) < 0)
		return -1;
	m->mode = BOOT_PVH;
	m->entry = entry;
	/* The PVH ABI has no command-line limit; Linux keeps 2048 bytes. */
	if (common(vm, m, img, 2048, err, len) < 0)
		return -1;
	n = linux_e820(vm->ram_size, map);
	if (!pvh_start_info(vmm_gpa(vm, LINUX_START_INFO, LINUX_CMDLINE - LINUX_START_INFO),
			    LINUX_CMDLINE - LINUX_START_INFO, LINUX_START_INFO,
			    LINUX_CMDLINE, LINUX_BIOS, initrd, img->initrd_size, map, n)) {
		vmm_err(err, len, "the PVH start information does not fit its page");
		return -1;
	}
	m->info = LINUX_START_INFO;
	return 0;
}

int linux_load(struct vm *vm, struct x86_machine *m, const struct guest_image *img,
	       char *err, size_t len)
{
	if (vm->ram_size < (32ull << 20)) {
		vmm_err(err, len, "a Linux kernel needs at least 32M of guest RAM (--mem)");
		return -1;
	}
	if (bzimage_detect(img->data, img->size))
		return load_bzimage(vm, m, img, err, len);
	return load_pvh(vm, m, img, err, len);
}

int linux_vcpu(struct vm *vm, struct x86_machine *m, struct vcpu *v,
	       char *err, size_t len)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = m->entry, .rflags = 2 };

	if (v->idx) {
		struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_UNINITIALIZED };

		/* Started by the guest's INIT/SIPI through its local APIC. */
		if (ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0) {
			vmm_err(err, len, "KVM_SET_MP_STATE on vCPU %u: %s", v->idx,
				strerror(errno));
			return -1;
		}
		return 0;
	}
	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		vmm_err(err, len, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	flat_segment(&sregs.cs, BOOT_CS, 0xb, m->mode == BOOT_LINUX64);
	flat_segment(&sregs.ds, BOOT_DS, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.gdt.base = LINUX_GDT;
	sregs.gdt.limit = 4 * 8 - 1;
	if (m->mode == BOOT_LINUX64) {
		sregs.cr3 = LINUX_PML4;
		sregs.cr4 = CR4_PAE;
		sregs.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_PG;
		sregs.efer = EFER_LME | EFER_LMA;
		regs.rsi = m->info;
	} else {
		/* Protected mode, paging off: both the 32-bit boot protocol
		 * entry (ESI = zero page) and PVH (EBX = start info). */
		sregs.cr0 = CR0_PE | CR0_ET;
		sregs.cr4 = 0;
		sregs.efer = 0;
		if (m->mode == BOOT_PVH)
			regs.rbx = m->info;
		else
			regs.rsi = m->info;
	}
	return set_entry_state(v, &sregs, &regs, "Linux", err, len);
}
