/* SPDX-License-Identifier: MIT */
/*
 * Multiboot (version 1) loading, as the specification describes it: the
 * header in the first 8 KiB, the a.out-kludge address fields when flag 16
 * is set (whatever the file's format), ELF otherwise; an information
 * structure with memory sizes, a memory map, the command line and the
 * loader's name; the machine in 32-bit protected mode with paging off.
 */
#include <elf.h>
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86bits.h"
#include "x86vmm.h"

#define MB_MAGIC	0x1badb002u
#define MB_BOOT_MAGIC	0x2badb002u
#define MB_SEARCH	8192
#define MB_PAGE_ALIGN	(1u << 0)
#define MB_MEMORY_INFO	(1u << 1)
#define MB_VIDEO_MODE	(1u << 2)
#define MB_AOUT_KLUDGE	(1u << 16)
/* Required bits kvmdbg honours; video is satisfied by a text console. */
#define MB_KNOWN_REQUIRED (MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_VIDEO_MODE)

#define INFO_MEM	(1u << 0)
#define INFO_CMDLINE	(1u << 2)
#define INFO_MMAP	(1u << 6)
#define INFO_LOADER	(1u << 9)

/* Low memory kvmdbg uses for the information structure. */
#define INFO_ADDR	0x8000u
#define INFO_END	0xa000u
#define LOW_RAM_END	0x9fc00u
#define BIOS_AREA	0xf0000u
#define HIGH_RAM	0x100000u

struct mb_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr;
};

struct mb_info {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr, syms[4], mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
};

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

int multiboot_find(const struct guest_image *img, uint64_t *hdr_off)
{
	size_t limit = img->size < MB_SEARCH ? img->size : MB_SEARCH;

	for (size_t off = 0; off + 12 <= limit; off += 4) {
		uint32_t w[3];

		memcpy(w, img->data + off, sizeof(w));
		if (w[0] == MB_MAGIC && (uint32_t)(w[0] + w[1] + w[2]) == 0) {
			*hdr_off = off;
			return 0;
		}
	}
	return -1;
}

static bool overlaps_info(uint64_t start, uint64_t end)
{
	return start < INFO_END && end > INFO_ADDR;
}

static int load_kludge(struct vm *vm, struct x86_machine *m,
		       const struct guest_image *img, uint64_t off,
		       const struct mb_header *h, char *err, size_t len)
{
	uint64_t file_start, size, mem_end;
	uint8_t *dst;

	if (off + sizeof(*h) > img->size) {
		vmm_err(err, len, "%s: Multiboot header is truncated", img->path);
		return -1;
	}
	if (h->load_addr > h->header_addr || h->header_addr - h->load_addr > off) {
		vmm_err(err, len, "%s: Multiboot header_addr/load_addr do not match the file",
			img->path);
		return -1;
	}
	file_start = off - (h->header_addr - h->load_addr);
	size = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr
				: img->size - file_start;
	if (h->load_end_addr && h->load_end_addr < h->load_addr) {
		vmm_err(err, len, "%s: Multiboot load_end_addr is below load_addr", img->path);
		return -1;
	}
	if (size > img->size - file_start) {
		vmm_err(err, len, "%s: Multiboot load range is larger than the file", img->path);
		return -1;
	}
	mem_end = h->bss_end_addr > h->load_addr + size ? h->bss_end_addr
							: h->load_addr + size;
	dst = vmm_gpa(vm, h->load_addr, mem_end - h->load_addr);
	if (!dst || overlaps_info(h->load_addr, mem_end)) {
		vmm_err(err, len, "%s: Multiboot image 0x%x-0x%llx does not fit in guest RAM above 0x%x (try a larger --mem)",
			img->path, h->load_addr, (unsigned long long)mem_end, INFO_END);
		return -1;
	}
	memcpy(dst, img->data + file_start, size);
	memset(dst + size, 0, mem_end - h->load_addr - size);
	m->entry = h->entry_addr;
	return 0;
}

static int load_elf(struct vm *vm, struct x86_machine *m,
		    const struct guest_image *img, char *err, size_t len)
{
	uint64_t entry;

	if (elf_check(img, 0, err, len) < 0)
		return -1;
	if (elf_load(vm, img, &entry, err, len) < 0)
		return -1;
	if (entry >> 32) {
		vmm_err(err, len, "%s: Multiboot entry point 0x%llx is not a 32-bit address",
			img->path, (unsigned long long)entry);
		return -1;
	}
	m->entry = entry;
	return 0;
}

static void write_info(struct vm *vm, struct x86_machine *m, const char *cmdline)
{
	uint8_t *base = vmm_gpa(vm, INFO_ADDR, INFO_END - INFO_ADDR);
	struct mb_info info = { 0 };
	const uint32_t mmap_off = sizeof(info), name_off = 0x100, cmd_off = 0x200;
	const struct mb_mmap map[] = {
		{ 20, 0, LOW_RAM_END, 1 },
		{ 20, LOW_RAM_END, 0xa0000 - LOW_RAM_END, 2 },
		{ 20, BIOS_AREA, HIGH_RAM - BIOS_AREA, 2 },
		{ 20, HIGH_RAM, vm->ram_size - HIGH_RAM, 1 },
	};
	size_t cmd_max = INFO_END - INFO_ADDR - cmd_off - 1;
	size_t cmd_len = strlen(cmdline) < cmd_max ? strlen(cmdline) : cmd_max;

	info.flags = INFO_MEM | INFO_CMDLINE | INFO_MMAP | INFO_LOADER;
	info.mem_lower = LOW_RAM_END / 1024;
	info.mem_upper = (uint32_t)((vm->ram_size - HIGH_RAM) / 1024);
	info.mmap_addr = INFO_ADDR + mmap_off;
	info.mmap_length = sizeof(map);
	info.boot_loader_name = INFO_ADDR + name_off;
	info.cmdline = INFO_ADDR + cmd_off;
	memset(base, 0, INFO_END - INFO_ADDR);
	memcpy(base, &info, sizeof(info));
	memcpy(base + mmap_off, map, sizeof(map));
	strcpy((char *)base + name_off, "kvmdbg " KVMDBG_VERSION);
	memcpy(base + cmd_off, cmdline, cmd_len);
	m->info = INFO_ADDR;
}

int multiboot_load(struct vm *vm, struct x86_machine *m,
		   const struct guest_image *img, uint64_t off, char *err,
		   size_t len)
{
	struct mb_header h = { 0 };
	uint32_t unknown;

	memcpy(&h, img->data + off,
	       img->size - off < sizeof(h) ? img->size - off : sizeof(h));
	unknown = h.flags & 0xffff & ~MB_KNOWN_REQUIRED;
	if (unknown) {
		vmm_err(err, len, "%s: Multiboot header requires features kvmdbg does not provide (flags 0x%x)",
			img->path, unknown);
		return -1;
	}
	m->mode = BOOT_MULTIBOOT;
	if (h.flags & MB_AOUT_KLUDGE) {
		if (load_kludge(vm, m, img, off, &h, err, len) < 0)
			return -1;
	} else if (!elf_is_elf(img)) {
		vmm_err(err, len, "%s: Multiboot header without load addresses, and not an ELF file",
			img->path);
		return -1;
	} else if (load_elf(vm, m, img, err, len) < 0) {
		return -1;
	}
	write_info(vm, m, img->cmdline);
	/* The file's class is its author's word on the code: an ELF32
	 * kernel is shown as i386 even if it enters long mode later. */
	if (elf_is_elf(img) && img->data[EI_CLASS] == ELFCLASS32)
		m->gdb_view = "i386";
	return 0;
}

int multiboot_vcpu(struct vm *vm, struct x86_machine *m, struct vcpu *v,
		   char *err, size_t len)
{
	struct kvm_sregs sregs;
	/* Every vCPU enters the kernel; ESI tells it which one it is. */
	struct kvm_regs regs = {
		.rax = MB_BOOT_MAGIC, .rbx = m->info, .rsi = v->idx,
		.rip = m->entry, .rflags = 2,
	};

	if (ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0) {
		vmm_err(err, len, "KVM_GET_SREGS: %s", strerror(errno));
		return -1;
	}
	flat_segment(&sregs.cs, 0x08, 0xb, false);
	flat_segment(&sregs.ds, 0x10, 0x3, false);
	sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
	sregs.cr0 = CR0_PE | CR0_ET;	/* protected mode, paging off */
	sregs.cr4 = 0;
	sregs.efer = 0;
	return set_entry_state(v, &sregs, &regs, "Multiboot", err, len);
}
