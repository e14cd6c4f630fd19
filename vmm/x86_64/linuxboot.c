/* SPDX-License-Identifier: MIT */
/*
 * Linux boot structures built in memory, without touching a VM, so that
 * each can be checked on its own: offsets and meanings follow the kernel's
 * Documentation/arch/x86/boot.rst (setup header, zero page), the Xen
 * hvm_start_info ABI (PVH) and the ACPI 6 specification.
 */
#include <elf.h>
#include <stdio.h>
#include <string.h>

#include "linuxboot.h"

/* Setup header and zero page offsets. */
#define HDR_START		0x1f1
#define HDR_SETUP_SECTS		0x1f1
#define HDR_BOOT_FLAG		0x1fe
#define HDR_JUMP		0x200
#define HDR_MAGIC		0x202
#define HDR_VERSION		0x206
#define HDR_TYPE_OF_LOADER	0x210
#define HDR_LOADFLAGS		0x211
#define HDR_CODE32_START	0x214
#define HDR_RAMDISK_IMAGE	0x218
#define HDR_RAMDISK_SIZE	0x21c
#define HDR_CMD_LINE_PTR	0x228
#define HDR_INITRD_ADDR_MAX	0x22c
#define HDR_KERNEL_ALIGNMENT	0x230
#define HDR_RELOCATABLE		0x234
#define HDR_XLOADFLAGS		0x236
#define HDR_CMDLINE_SIZE	0x238
#define HDR_PREF_ADDRESS	0x258
#define HDR_INIT_SIZE		0x260
#define HDR_END_2_12		0x268	/* end of the fields of protocol 2.12 */
#define ZP_ACPI_RSDP_ADDR	0x070
#define ZP_EXT_RAMDISK_IMAGE	0x0c0
#define ZP_EXT_RAMDISK_SIZE	0x0c4
#define ZP_EXT_CMD_LINE_PTR	0x0c8
#define ZP_E820_ENTRIES		0x1e8
#define ZP_E820_TABLE		0x2d0
#define ZP_E820_MAX		128

#define LOADER_UNDEFINED	0xff

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t rd32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t rd64(const uint8_t *p)
{
	return rd32(p) | (uint64_t)rd32(p + 4) << 32;
}

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void wr32(uint8_t *p, uint32_t v)
{
	wr16(p, (uint16_t)v);
	wr16(p + 2, (uint16_t)(v >> 16));
}

static void wr64(uint8_t *p, uint64_t v)
{
	wr32(p, (uint32_t)v);
	wr32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t align_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) & ~(a - 1);
}

unsigned linux_e820(uint64_t ram_size, struct e820_entry map[E820_MAX])
{
	/* Low RAM around kvmdbg's boot pages, then the EBDA, the VGA hole
	 * and the BIOS area (ACPI tables) as a PC has them, then the rest. */
	const struct e820_entry layout[] = {
		{ 0, LINUX_BOOT_START, E820_RAM },
		{ LINUX_BOOT_START, LINUX_BOOT_END - LINUX_BOOT_START, E820_RESERVED },
		{ LINUX_BOOT_END, LINUX_EBDA - LINUX_BOOT_END, E820_RAM },
		{ LINUX_EBDA, LINUX_HIGH - LINUX_EBDA, E820_RESERVED },
		{ LINUX_HIGH, 0, E820_RAM },
	};
	unsigned n = 0;

	for (unsigned i = 0; i < sizeof(layout) / sizeof(layout[0]); i++) {
		uint64_t start = layout[i].addr;
		uint64_t end = layout[i].size ? start + layout[i].size : ram_size;

		if (start >= ram_size)
			break;
		if (end > ram_size && layout[i].type == E820_RAM)
			end = ram_size;
		map[n++] = (struct e820_entry){ start, end - start, layout[i].type };
	}
	return n;
}

bool bzimage_detect(const uint8_t *data, size_t size)
{
	return size >= HDR_MAGIC + 4 && rd16(data + HDR_BOOT_FLAG) == 0xaa55 &&
	       !memcmp(data + HDR_MAGIC, "HdrS", 4);
}

int bzimage_parse(const uint8_t *data, size_t size, struct bzimage *bz,
		  char *err, size_t len)
{
	unsigned sects;

	if (!bzimage_detect(data, size)) {
		snprintf(err, len, "not a bzImage (no boot sector signature or \"HdrS\")");
		return -1;
	}
	memset(bz, 0, sizeof(*bz));
	bz->version = rd16(data + HDR_VERSION);
	if (bz->version < BZ_MIN_VERSION) {
		snprintf(err, len, "the kernel speaks boot protocol %u.%02u; kvmdbg needs 2.12 or later (Linux 3.8 and newer)",
			 bz->version >> 8, bz->version & 0xff);
		return -1;
	}
	/* The setup header ends where the jump at 0x200 lands. */
	bz->hdr_end = HDR_JUMP + 2 + data[HDR_JUMP + 1];
	if (size < HDR_END_2_12 || bz->hdr_end < HDR_END_2_12 || bz->hdr_end > size) {
		snprintf(err, len, "the bzImage setup header is truncated");
		return -1;
	}
	sects = data[HDR_SETUP_SECTS] ? data[HDR_SETUP_SECTS] : 4;
	bz->setup_size = (size_t)(sects + 1) * 512;
	if (bz->setup_size < bz->hdr_end || bz->setup_size >= size) {
		snprintf(err, len, "the bzImage has no protected-mode kernel after its %u setup sectors",
			 sects);
		return -1;
	}
	bz->loadflags = data[HDR_LOADFLAGS];
	if (!(bz->loadflags & BZ_LOADED_HIGH)) {
		snprintf(err, len, "the kernel is a zImage (loaded below 1 MiB), which kvmdbg does not boot");
		return -1;
	}
	bz->code32_start = rd32(data + HDR_CODE32_START);
	bz->initrd_addr_max = rd32(data + HDR_INITRD_ADDR_MAX);
	bz->kernel_alignment = rd32(data + HDR_KERNEL_ALIGNMENT);
	bz->relocatable = data[HDR_RELOCATABLE];
	bz->xloadflags = rd16(data + HDR_XLOADFLAGS);
	bz->cmdline_size = rd32(data + HDR_CMDLINE_SIZE);
	bz->pref_address = rd64(data + HDR_PREF_ADDRESS);
	bz->init_size = rd32(data + HDR_INIT_SIZE);
	if (bz->relocatable && (!bz->kernel_alignment ||
				(bz->kernel_alignment & (bz->kernel_alignment - 1)))) {
		snprintf(err, len, "the bzImage's kernel_alignment 0x%x is not a power of two",
			 bz->kernel_alignment);
		return -1;
	}
	return 0;
}

uint64_t bzimage_footprint(const struct bzimage *bz, size_t file_size)
{
	uint64_t image = file_size - bz->setup_size;

	return align_up(bz->init_size > image ? bz->init_size : image, 0x1000);
}

int bzimage_place(const struct bzimage *bz, size_t file_size, uint64_t lo,
		  uint64_t hi, uint64_t *load)
{
	uint64_t need = bzimage_footprint(bz, file_size), at;

	if (bz->pref_address >= lo && bz->pref_address <= hi &&
	    need <= hi - bz->pref_address) {
		*load = bz->pref_address;
		return 0;
	}
	if (!bz->relocatable)
		return -1;
	at = align_up(lo, bz->kernel_alignment);
	if (at > hi || need > hi - at)
		return -1;
	*load = at;
	return 0;
}

void bzimage_zero_page(uint8_t zp[4096], const uint8_t *data,
		       const struct bzimage *bz, uint32_t load, uint32_t cmdline,
		       uint32_t initrd, uint32_t initrd_size, uint64_t rsdp,
		       const struct e820_entry *map, unsigned n)
{
	memset(zp, 0, 4096);
	memcpy(zp + HDR_START, data + HDR_START, bz->hdr_end - HDR_START);
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] |= BZ_LOADED_HIGH;
	wr32(zp + HDR_CODE32_START, load);
	wr32(zp + HDR_CMD_LINE_PTR, cmdline);
	wr32(zp + HDR_RAMDISK_IMAGE, initrd_size ? initrd : 0);
	wr32(zp + HDR_RAMDISK_SIZE, initrd_size);
	wr32(zp + ZP_EXT_RAMDISK_IMAGE, 0);
	wr32(zp + ZP_EXT_RAMDISK_SIZE, 0);
	wr32(zp + ZP_EXT_CMD_LINE_PTR, 0);
	wr64(zp + ZP_ACPI_RSDP_ADDR, rsdp);
	if (n > ZP_E820_MAX)
		n = ZP_E820_MAX;
	zp[ZP_E820_ENTRIES] = (uint8_t)n;
	memcpy(zp + ZP_E820_TABLE, map, n * sizeof(*map));
}

uint64_t linux_initrd_addr(uint64_t size, uint64_t floor, uint64_t top)
{
	uint64_t at;

	if (size > top)
		return 0;
	at = (top - size) & ~0xfffull;
	return at >= floor ? at : 0;
}

/* XEN_ELFNOTE_PHYS32_ENTRY, in Xen's public elfnote.h. */
#define XEN_ELFNOTE_PHYS32_ENTRY	18

static int notes_entry(const uint8_t *p, uint64_t n, uint32_t *entry)
{
	uint64_t off = 0;

	while (n - off >= 12) {
		uint32_t namesz = rd32(p + off), descsz = rd32(p + off + 4);
		uint32_t type = rd32(p + off + 8);
		uint64_t name = off + 12, desc = name + align_up(namesz, 4);
		uint64_t next = desc + align_up(descsz, 4);

		if (namesz > n || descsz > n || next > n)
			return -1;
		if (namesz == 4 && !memcmp(p + name, "Xen", 4) &&
		    type == XEN_ELFNOTE_PHYS32_ENTRY) {
			uint64_t v;

			if (descsz == 4)
				v = rd32(p + desc);
			else if (descsz == 8)
				v = rd64(p + desc);
			else
				return -1;
			if (v >> 32)
				return -1;
			*entry = (uint32_t)v;
			return 0;
		}
		off = next;
	}
	return -1;
}

int pvh_entry(const uint8_t *data, size_t size, uint32_t *entry)
{
	bool is64;
	uint64_t phoff;
	unsigned phnum, phentsize;

	if (size < EI_NIDENT || memcmp(data, ELFMAG, SELFMAG) ||
	    data[EI_DATA] != ELFDATA2LSB)
		return -1;
	is64 = data[EI_CLASS] == ELFCLASS64;
	if (size < (is64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr)))
		return -1;
	phoff = is64 ? rd64(data + offsetof(Elf64_Ehdr, e_phoff))
		     : rd32(data + offsetof(Elf32_Ehdr, e_phoff));
	phnum = rd16(data + (is64 ? offsetof(Elf64_Ehdr, e_phnum)
				  : offsetof(Elf32_Ehdr, e_phnum)));
	phentsize = rd16(data + (is64 ? offsetof(Elf64_Ehdr, e_phentsize)
				      : offsetof(Elf32_Ehdr, e_phentsize)));
	if (phentsize != (is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr)) ||
	    phoff > size || (uint64_t)phnum * phentsize > size - phoff)
		return -1;
	for (unsigned i = 0; i < phnum; i++) {
		const uint8_t *ph = data + phoff + (uint64_t)i * phentsize;
		uint64_t off, filesz;

		if (rd32(ph) != PT_NOTE)
			continue;
		off = is64 ? rd64(ph + offsetof(Elf64_Phdr, p_offset))
			   : rd32(ph + offsetof(Elf32_Phdr, p_offset));
		filesz = is64 ? rd64(ph + offsetof(Elf64_Phdr, p_filesz))
			      : rd32(ph + offsetof(Elf32_Phdr, p_filesz));
		if (off > size || filesz > size - off)
			return -1;
		if (notes_entry(data + off, filesz, entry) == 0)
			return 0;
	}
	return -1;
}

/* Xen's public arch-x86/hvm/start_info.h, version 1. */
#define HVM_START_MAGIC		0x336ec578u
#define SI_SIZE			56
#define MOD_SIZE		32
#define MEMMAP_SIZE		24

size_t pvh_start_info(uint8_t *buf, size_t buf_size, uint64_t base,
		      uint64_t cmdline, uint64_t rsdp, uint64_t initrd, uint64_t initrd_size,
		      const struct e820_entry *map, unsigned n)
{
	unsigned mods = initrd_size ? 1 : 0;
	size_t mod_off = SI_SIZE, map_off = mod_off + mods * MOD_SIZE;
	size_t total = map_off + (size_t)n * MEMMAP_SIZE;

	if (total > buf_size)
		return 0;
	memset(buf, 0, total);
	wr32(buf + 0, HVM_START_MAGIC);
	wr32(buf + 4, 1);			/* version */
	wr32(buf + 12, mods);			/* nr_modules */
	wr64(buf + 16, mods ? base + mod_off : 0);	/* modlist_paddr */
	wr64(buf + 24, cmdline);		/* cmdline_paddr */
	wr64(buf + 32, rsdp);			/* rsdp_paddr */
	wr64(buf + 40, base + map_off);		/* memmap_paddr */
	wr32(buf + 48, n);			/* memmap_entries */
	if (mods) {
		wr64(buf + mod_off, initrd);
		wr64(buf + mod_off + 8, initrd_size);
	}
	for (unsigned i = 0; i < n; i++) {
		uint8_t *e = buf + map_off + (size_t)i * MEMMAP_SIZE;

		wr64(e, map[i].addr);
		wr64(e + 8, map[i].size);
		wr32(e + 16, map[i].type);
	}
	return total;
}

/*
 * Minimal ACPI rather than an MP table: Debian's kernels are built without
 * MP table parsing (CONFIG_X86_MPPARSE), so ACPI is the only way to tell
 * them about secondary processors and the IOAPIC.  The FADT declares
 * hardware-reduced ACPI: no PM timer, SCI or sleep registers to emulate,
 * and Linux then relies on the local APIC timer and KVM's clock; its
 * reset register is the 0xcf9 reset control port.  Such a platform has no
 * legacy interrupt mappings (Linux sets no 8259 up), so the DSDT names the
 * UART with its IRQ, or Linux's 8250 driver finds IRQ 4 unusable and its
 * console, though it opens, never sends what user space writes.  The DSDT
 * also gives the S5 sleep type, so that a power-off writes the sleep
 * control register instead of halting every CPU where kvmdbg cannot see.
 */
#define RSDP_SIZE	36
#define HDR_SIZE	36
#define FADT_SIZE	276	/* revision 6 */
#define MADT_LAPIC_SIZE	8
#define MADT_IOAPIC_SIZE 12
#define MADT_NMI_SIZE	6

#define FADT_FLAG_RESET_REG_SUP		(1u << 10)
#define FADT_FLAG_HW_REDUCED		(1u << 20)
#define FADT_BOOT_NO_VGA		(1u << 2)
#define FADT_BOOT_NO_CMOS_RTC		(1u << 5)

/*
 * Scope (\_SB) { Device (COM1) { Name (_HID, EisaId ("PNP0501"))
 *   Name (_UID, 1)  Name (_CRS, ResourceTemplate () {
 *     IO (Decode16, 0x3f8, 0x3f8, 1, 8)  IRQNoFlags () { 4 } }) } }
 * Name (\_S5, Package () { 5, 5, 0, 0 })
 */
static const uint8_t dsdt_aml[] = {
	0x10, 0x33, '\\', '_', 'S', 'B', '_',
	0x5b, 0x82, 0x2b, 'C', 'O', 'M', '1',
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x05, 0x01,
	0x08, '_', 'U', 'I', 'D', 0x01,
	0x08, '_', 'C', 'R', 'S', 0x11, 0x10, 0x0a, 0x0d,
	0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x01, 0x08,
	0x22, 0x10, 0x00,
	0x79, 0x00,
	0x08, '\\', '_', 'S', '5', '_', 0x12, 0x08, 0x04,
	0x0a, ACPI_S5_TYPE, 0x0a, ACPI_S5_TYPE, 0x00, 0x00,
};

static uint8_t checksum(const uint8_t *p, size_t n)
{
	uint8_t sum = 0;

	while (n--)
		sum += *p++;
	return (uint8_t)-sum;
}

static void table_header(uint8_t *t, const char *sig, uint32_t length, uint8_t rev)
{
	memcpy(t, sig, 4);
	wr32(t + 4, length);
	t[8] = rev;
	memcpy(t + 10, "KVMDBG", 6);		/* OEM id */
	memcpy(t + 16, "KVMDBG  ", 8);		/* OEM table id */
	wr32(t + 24, 1);			/* OEM revision */
	memcpy(t + 28, "KDBG", 4);		/* creator */
	wr32(t + 32, 1);
}

static void table_done(uint8_t *t, uint32_t length)
{
	t[9] = checksum(t, length);
}

/* A generic address: one byte in system I/O space. */
static void sleep_register(uint8_t *gas, uint16_t port)
{
	gas[0] = 1;				/* system I/O */
	gas[1] = 8;				/* bit width */
	gas[3] = 1;				/* byte access */
	wr64(gas + 4, port);
}

size_t acpi_build(uint8_t *buf, size_t buf_size, uint32_t base, unsigned ncpus,
		  uint16_t reset_port, uint8_t reset_value)
{
	size_t rsdp = 0, xsdt = 64, fadt = xsdt + 64;
	uint32_t dsdt_len = HDR_SIZE + sizeof(dsdt_aml);
	size_t dsdt = fadt + FADT_SIZE + 4, madt = (dsdt + dsdt_len + 15) & ~(size_t)15;
	size_t madt_len = HDR_SIZE + 8 + (size_t)ncpus * MADT_LAPIC_SIZE +
			  MADT_IOAPIC_SIZE + MADT_NMI_SIZE;
	size_t total = madt + madt_len;
	uint32_t xsdt_len = HDR_SIZE + 2 * 8;
	uint8_t *t, *e;

	if (total > buf_size || ncpus > 255)
		return 0;
	memset(buf, 0, total);

	t = buf + rsdp;
	memcpy(t, "RSD PTR ", 8);
	memcpy(t + 9, "KVMDBG", 6);
	t[15] = 2;				/* revision: XSDT present */
	wr32(t + 20, RSDP_SIZE);
	wr64(t + 24, base + xsdt);
	t[8] = checksum(t, 20);
	t[32] = checksum(t, RSDP_SIZE);

	t = buf + xsdt;
	table_header(t, "XSDT", xsdt_len, 1);
	wr64(t + HDR_SIZE, base + fadt);
	wr64(t + HDR_SIZE + 8, base + madt);
	table_done(t, xsdt_len);

	t = buf + fadt;
	table_header(t, "FACP", FADT_SIZE, 6);
	wr32(t + 40, base + dsdt);		/* DSDT */
	wr16(t + 109, FADT_BOOT_NO_VGA | FADT_BOOT_NO_CMOS_RTC);
	wr32(t + 112, FADT_FLAG_HW_REDUCED | FADT_FLAG_RESET_REG_SUP);
	t[116] = 1;				/* reset register: system I/O */
	t[117] = 8;				/* bit width */
	t[119] = 1;				/* byte access */
	wr64(t + 120, reset_port);
	t[128] = reset_value;
	wr64(t + 140, base + dsdt);		/* X_DSDT */
	sleep_register(t + 244, ACPI_SLEEP_CONTROL);
	sleep_register(t + 256, ACPI_SLEEP_STATUS);
	table_done(t, FADT_SIZE);

	t = buf + dsdt;
	table_header(t, "DSDT", dsdt_len, 2);
	memcpy(t + HDR_SIZE, dsdt_aml, sizeof(dsdt_aml));
	table_done(t, dsdt_len);

	t = buf + madt;
	table_header(t, "APIC", (uint32_t)madt_len, 4);
	wr32(t + HDR_SIZE, ACPI_LAPIC_ADDR);
	wr32(t + HDR_SIZE + 4, 1);		/* PCAT_COMPAT: an 8259 pair exists */
	e = t + HDR_SIZE + 8;
	for (unsigned i = 0; i < ncpus; i++, e += MADT_LAPIC_SIZE) {
		e[0] = 0;			/* processor local APIC */
		e[1] = MADT_LAPIC_SIZE;
		e[2] = (uint8_t)i;		/* ACPI processor uid */
		e[3] = (uint8_t)i;		/* APIC id */
		wr32(e + 4, 1);			/* enabled */
	}
	e[0] = 1;				/* IOAPIC, GSI 0 up: ISA IRQ n is */
	e[1] = MADT_IOAPIC_SIZE;		/* pin n in KVM's default routing */
	e[2] = (uint8_t)ncpus;
	wr32(e + 4, ACPI_IOAPIC_ADDR);
	wr32(e + 8, 0);
	e += MADT_IOAPIC_SIZE;
	e[0] = 4;				/* local APIC NMI on LINT1 */
	e[1] = MADT_NMI_SIZE;
	e[2] = 0xff;				/* every processor */
	wr16(e + 3, 0);
	e[5] = 1;
	table_done(t, (uint32_t)madt_len);
	return total;
}
