/* SPDX-License-Identifier: MIT */
/*
 * The Linux x86 boot protocol and the PVH entry, as pure functions over
 * byte buffers: parsing a bzImage's setup header, the e820 map, the zero
 * page, the hvm_start_info block and the ACPI tables.  vmm/x86_64/linux.c
 * puts their results into guest RAM.
 */
#ifndef KVMDBG_LINUXBOOT_H
#define KVMDBG_LINUXBOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Guest-physical layout kvmdbg uses for a Linux guest.  Everything kvmdbg
 * writes lies in [LINUX_BOOT_START, LINUX_BOOT_END) or in the BIOS area,
 * and the e820 map marks both reserved. */
#define LINUX_BOOT_START	0x1000ull
#define LINUX_GDT		0x1000ull
#define LINUX_PML4		0x2000ull	/* then identity_map()'s PDPT and four
						 * PDs: 4 GiB of 2 MiB pages */
#define LINUX_ZERO_PAGE		0x8000ull
#define LINUX_START_INFO	0x9000ull	/* hvm_start_info, module, memory map */
#define LINUX_CMDLINE		0xa000ull
#define LINUX_CMDLINE_MAX	0x2000ull
#define LINUX_BOOT_END		0xc000ull
#define LINUX_EBDA		0x9fc00ull
#define LINUX_BIOS		0xf0000ull	/* the ACPI tables live here */
#define LINUX_HIGH		0x100000ull

#define E820_RAM	1
#define E820_RESERVED	2
#define E820_MAX	8

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

/* The e820 map of a machine with ram_size bytes of RAM from address 0. */
unsigned linux_e820(uint64_t ram_size, struct e820_entry map[E820_MAX]);

/* What kvmdbg needs from a bzImage's setup header. */
struct bzimage {
	uint16_t version;
	uint8_t loadflags;
	uint16_t xloadflags;
	bool relocatable;
	uint32_t code32_start, initrd_addr_max, kernel_alignment, cmdline_size;
	uint32_t init_size;
	uint64_t pref_address;
	size_t setup_size;	/* file bytes before the protected-mode kernel */
	size_t hdr_end;		/* end of the setup header in the file */
};

#define BZ_LOADED_HIGH		0x01
#define BZ_XLF_KERNEL_64	0x01
#define BZ_MIN_VERSION		0x020c

/* The boot sector signature and "HdrS": the file claims to be a bzImage. */
bool bzimage_detect(const uint8_t *data, size_t size);
/* 0, or -1 with a message: too old a protocol, truncated, inconsistent. */
int bzimage_parse(const uint8_t *data, size_t size, struct bzimage *bz,
		  char *err, size_t len);
/* Where the protected-mode kernel goes so that it and its init_size lie
 * in [lo, hi): pref_address when that fits, else (relocatable kernels)
 * the lowest suitably aligned address.  -1 when it cannot fit. */
int bzimage_place(const struct bzimage *bz, size_t file_size, uint64_t lo,
		  uint64_t hi, uint64_t *load);
/* Bytes the kernel occupies from its load address. */
uint64_t bzimage_footprint(const struct bzimage *bz, size_t file_size);

/* Fills the 4 KiB zero page (boot_params) for a bzImage loaded at load. */
void bzimage_zero_page(uint8_t zp[4096], const uint8_t *data,
		       const struct bzimage *bz, uint32_t load, uint32_t cmdline,
		       uint32_t initrd, uint32_t initrd_size, uint64_t rsdp,
		       const struct e820_entry *map, unsigned n);

/* The address of the highest page-aligned spot for size bytes ending at
 * or below top, or 0 when it would start below floor. */
uint64_t linux_initrd_addr(uint64_t size, uint64_t floor, uint64_t top);

/* The PVH entry (XEN_ELFNOTE_PHYS32_ENTRY) of a little-endian ELF file's
 * PT_NOTE segments; -1 when there is none.  Bounds are checked against
 * size. */
int pvh_entry(const uint8_t *data, size_t size, uint32_t *entry);

/* Fills buf (at guest address base) with hvm_start_info, the initrd as
 * module 0 when initrd_size is not 0, and the memory map; returns the
 * bytes used, 0 when buf is too small. */
size_t pvh_start_info(uint8_t *buf, size_t buf_size, uint64_t base,
		      uint64_t cmdline, uint64_t rsdp, uint64_t initrd, uint64_t initrd_size,
		      const struct e820_entry *map, unsigned n);

#define ACPI_IOAPIC_ADDR	0xfec00000u
#define ACPI_LAPIC_ADDR		0xfee00000u

/* The hardware-reduced sleep registers: Linux powers off by writing
 * ACPI_SLP_EN | ACPI_S5_TYPE << 2 to the control register. */
#define ACPI_SLEEP_CONTROL	0x600
#define ACPI_SLEEP_STATUS	0x601
#define ACPI_SLP_EN		0x20
#define ACPI_S5_TYPE		5

/* Fills buf (at guest address base, 16-byte aligned) with an RSDP, an
 * XSDT, a hardware-reduced FADT whose reset register is reset_port, a
 * DSDT naming the UART (its ports and IRQ) and the S5 sleep type, and a
 * MADT for ncpus processors (APIC ids 0..ncpus-1) and KVM's IOAPIC; the
 * RSDP comes first.  Returns the bytes used, 0 when buf is too small. */
size_t acpi_build(uint8_t *buf, size_t buf_size, uint32_t base, unsigned ncpus,
		  uint16_t reset_port, uint8_t reset_value);

#endif
