/* SPDX-License-Identifier: MIT */
/*
 * ELF32 and ELF64 images: every PT_LOAD segment goes to its physical
 * address, as firmware and boot loaders do, and the BSS is zeroed.  Every
 * offset and size is checked against the file before it is used.
 */
#include <elf.h>
#include <string.h>

#include "vmm.h"

bool elf_is_elf(const struct guest_image *img)
{
	return img->size >= EI_NIDENT && !memcmp(img->data, ELFMAG, SELFMAG);
}

struct seg {
	uint32_t type;
	uint64_t offset, paddr, filesz, memsz;
};

static bool is64(const struct guest_image *img)
{
	return img->data[EI_CLASS] == ELFCLASS64;
}

static int header(const struct guest_image *img, uint64_t *phoff,
		  unsigned *phnum, unsigned *phentsize, uint64_t *entry,
		  unsigned *machine)
{
	if (is64(img)) {
		Elf64_Ehdr eh;

		if (img->size < sizeof(eh))
			return -1;
		memcpy(&eh, img->data, sizeof(eh));
		*phoff = eh.e_phoff;
		*phnum = eh.e_phnum;
		*phentsize = eh.e_phentsize;
		*entry = eh.e_entry;
		*machine = eh.e_machine;
		return eh.e_phentsize == sizeof(Elf64_Phdr) ? 0 : -1;
	}
	Elf32_Ehdr eh;

	if (img->size < sizeof(eh))
		return -1;
	memcpy(&eh, img->data, sizeof(eh));
	*phoff = eh.e_phoff;
	*phnum = eh.e_phnum;
	*phentsize = eh.e_phentsize;
	*entry = eh.e_entry;
	*machine = eh.e_machine;
	return eh.e_phentsize == sizeof(Elf32_Phdr) ? 0 : -1;
}

static void segment(const struct guest_image *img, uint64_t off, struct seg *s)
{
	if (is64(img)) {
		Elf64_Phdr ph;

		memcpy(&ph, img->data + off, sizeof(ph));
		*s = (struct seg){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz,
				   ph.p_memsz };
	} else {
		Elf32_Phdr ph;

		memcpy(&ph, img->data + off, sizeof(ph));
		*s = (struct seg){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz,
				   ph.p_memsz };
	}
}

int elf_check(const struct guest_image *img, unsigned machine, char *err, size_t len)
{
	uint64_t phoff, entry;
	unsigned phnum, phentsize, m, loads = 0;

	if (!elf_is_elf(img) ||
	    (img->data[EI_CLASS] != ELFCLASS32 && img->data[EI_CLASS] != ELFCLASS64) ||
	    img->data[EI_DATA] != ELFDATA2LSB) {
		vmm_err(err, len, "%s: not a little-endian ELF32/ELF64 file", img->path);
		return -1;
	}
	if (header(img, &phoff, &phnum, &phentsize, &entry, &m) < 0) {
		vmm_err(err, len, "%s: truncated or malformed ELF header", img->path);
		return -1;
	}
	if (machine && m != machine) {
		vmm_err(err, len, "%s: ELF file is for machine %u, not this guest architecture (%u)",
			img->path, m, machine);
		return -1;
	}
	if (!phnum || phoff > img->size ||
	    (uint64_t)phnum * phentsize > img->size - phoff) {
		vmm_err(err, len, "%s: ELF program headers are missing or truncated", img->path);
		return -1;
	}
	for (unsigned i = 0; i < phnum; i++) {
		struct seg s;

		segment(img, phoff + (uint64_t)i * phentsize, &s);
		if (s.type != PT_LOAD)
			continue;
		loads++;
		if (s.filesz > s.memsz || s.offset > img->size ||
		    s.filesz > img->size - s.offset) {
			vmm_err(err, len, "%s: ELF segment %u lies outside the file", img->path, i);
			return -1;
		}
	}
	if (!loads) {
		vmm_err(err, len, "%s: ELF file has nothing to load", img->path);
		return -1;
	}
	return 0;
}

int elf_load(struct vm *vm, const struct guest_image *img, uint64_t *entry,
	     char *err, size_t len)
{
	uint64_t phoff;
	unsigned phnum, phentsize, m;

	header(img, &phoff, &phnum, &phentsize, entry, &m);
	for (unsigned i = 0; i < phnum; i++) {
		struct seg s;
		uint8_t *dst;

		segment(img, phoff + (uint64_t)i * phentsize, &s);
		if (s.type != PT_LOAD || !s.memsz)
			continue;
		dst = vmm_gpa(vm, s.paddr, s.memsz);
		if (!dst) {
			vmm_err(err, len,
				"%s: segment at 0x%llx (+0x%llx) is outside guest RAM (try a larger --mem)",
				img->path, (unsigned long long)s.paddr,
				(unsigned long long)s.memsz);
			return -1;
		}
		memcpy(dst, img->data + s.offset, s.filesz);
		memset(dst + s.filesz, 0, s.memsz - s.filesz);
	}
	return 0;
}
