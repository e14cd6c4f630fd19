/* SPDX-License-Identifier: MIT */
/* The Linux boot structures: setup header checks, placement, zero page,
 * e820, PVH note and start info, ACPI tables. */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../vmm/x86_64/linuxboot.h"

#define IMG_SIZE	0x10000

static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t get32(const uint8_t *p) { return get16(p) | (uint32_t)get16(p + 2) << 16; }
static uint64_t get64(const uint8_t *p) { return get32(p) | (uint64_t)get32(p + 4) << 32; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* A bzImage header as Debian's 6.1 kernel has it, protocol 2.15. */
static uint8_t *fake_bzimage(void)
{
	uint8_t *d = calloc(1, IMG_SIZE);

	assert_non_null(d);
	d[0x1f1] = 0x1b;			/* setup_sects: 27, plus the boot sector */
	put16(d + 0x1fe, 0xaa55);
	d[0x200] = 0xeb;
	d[0x201] = 0x6a;			/* header ends at 0x26c */
	memcpy(d + 0x202, "HdrS", 4);
	put16(d + 0x206, 0x020f);
	d[0x211] = 0x01;			/* LOADED_HIGH */
	put32(d + 0x214, 0x100000);
	put32(d + 0x22c, 0x7fffffff);
	put32(d + 0x230, 0x200000);
	d[0x234] = 1;
	put16(d + 0x236, 0x7f);
	put32(d + 0x238, 2047);
	put64(d + 0x258, 0x1000000);
	put32(d + 0x260, 0x3378000);
	d[0x268] = 0x5a;			/* inside the header: copied */
	d[0x270] = 0xa5;			/* past it: not copied */
	return d;
}

static void test_bzimage_parse(void **state)
{
	uint8_t *d = fake_bzimage();
	struct bzimage bz;
	char err[256];

	assert_true(bzimage_detect(d, IMG_SIZE));
	assert_int_equal(bzimage_parse(d, IMG_SIZE, &bz, err, sizeof(err)), 0);
	assert_int_equal(bz.version, 0x020f);
	assert_int_equal(bz.setup_size, 28 * 512);
	assert_int_equal(bz.hdr_end, 0x26c);
	assert_true(bz.relocatable);
	assert_int_equal(bz.kernel_alignment, 0x200000);
	assert_int_equal(bz.pref_address, 0x1000000);
	assert_int_equal(bz.init_size, 0x3378000);
	assert_int_equal(bz.initrd_addr_max, 0x7fffffff);
	assert_int_equal(bz.xloadflags & BZ_XLF_KERNEL_64, BZ_XLF_KERNEL_64);
	free(d);
}

static void test_bzimage_refusals(void **state)
{
	uint8_t *d = fake_bzimage();
	struct bzimage bz;
	char err[256];

	put16(d + 0x206, 0x020b);
	assert_int_equal(bzimage_parse(d, IMG_SIZE, &bz, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "boot protocol 2.11"));
	assert_non_null(strstr(err, "2.12 or later"));
	put16(d + 0x206, 0x020f);

	d[0x211] = 0;
	assert_int_equal(bzimage_parse(d, IMG_SIZE, &bz, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "zImage"));
	d[0x211] = 1;

	put32(d + 0x230, 0x300000);
	assert_int_equal(bzimage_parse(d, IMG_SIZE, &bz, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "kernel_alignment"));
	put32(d + 0x230, 0x200000);

	/* Setup sectors covering the whole file, a header past its end. */
	assert_int_equal(bzimage_parse(d, 28 * 512, &bz, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no protected-mode kernel"));
	assert_int_equal(bzimage_parse(d, 0x260, &bz, err, sizeof(err)), -1);
	memcpy(d + 0x202, "HdrX", 4);
	assert_false(bzimage_detect(d, IMG_SIZE));
	assert_int_equal(bzimage_parse(d, IMG_SIZE, &bz, err, sizeof(err)), -1);
	free(d);
}

static void test_bzimage_place(void **state)
{
	uint8_t *d = fake_bzimage();
	struct bzimage bz;
	uint64_t load;
	char err[256];

	assert_int_equal(bzimage_parse(d, IMG_SIZE, &bz, err, sizeof(err)), 0);
	assert_int_equal(bzimage_footprint(&bz, IMG_SIZE), 0x3378000);
	/* pref_address when the kernel fits there. */
	assert_int_equal(bzimage_place(&bz, IMG_SIZE, 0x100000, 0x8000000, &load), 0);
	assert_int_equal(load, 0x1000000);
	/* Not enough room above pref_address: relocated, aligned. */
	assert_int_equal(bzimage_place(&bz, IMG_SIZE, 0x100000, 0x4000000, &load), 0);
	assert_int_equal(load, 0x200000);
	assert_int_equal(bzimage_place(&bz, IMG_SIZE, 0x100000, 0x3000000, &load), -1);
	/* A kernel that cannot move must have its preferred place. */
	bz.relocatable = false;
	assert_int_equal(bzimage_place(&bz, IMG_SIZE, 0x100000, 0x4000000, &load), -1);
	free(d);
}

static void test_zero_page(void **state)
{
	uint8_t *d = fake_bzimage();
	uint8_t zp[4096];
	struct bzimage bz;
	struct e820_entry map[E820_MAX];
	unsigned n = linux_e820(0x8000000, map);
	char err[256];

	assert_int_equal(bzimage_parse(d, IMG_SIZE, &bz, err, sizeof(err)), 0);
	memset(zp, 0xee, sizeof(zp));
	bzimage_zero_page(zp, d, &bz, 0x1000000, LINUX_CMDLINE, 0x7000000, 0x123456,
			  LINUX_BIOS, map, n);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(zp[0x268], 0x5a);
	assert_int_equal(zp[0x270], 0);
	assert_int_equal(zp[0x000], 0);
	assert_int_equal(zp[0x210], 0xff);		/* type_of_loader */
	assert_int_equal(zp[0x211] & 1, 1);		/* LOADED_HIGH */
	assert_int_equal(get32(zp + 0x214), 0x1000000);	/* code32_start */
	assert_int_equal(get32(zp + 0x228), LINUX_CMDLINE);
	assert_int_equal(get32(zp + 0x218), 0x7000000);
	assert_int_equal(get32(zp + 0x21c), 0x123456);
	assert_int_equal(get64(zp + 0x070), LINUX_BIOS);	/* acpi_rsdp_addr */
	assert_int_equal(zp[0x1e8], n);
	assert_memory_equal(zp + 0x2d0, map, n * sizeof(map[0]));
	free(d);
}

static void test_e820(void **state)
{
	struct e820_entry map[E820_MAX];
	unsigned n = linux_e820(128u << 20, map);
	uint64_t at = 0;

	assert_int_equal(n, 5);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(map[i].addr, at);	/* contiguous from 0 */
		at += map[i].size;
	}
	assert_int_equal(at, 128u << 20);
	/* kvmdbg's boot pages, the EBDA and BIOS area: reserved. */
	assert_int_equal(map[1].addr, LINUX_BOOT_START);
	assert_int_equal(map[1].addr + map[1].size, LINUX_BOOT_END);
	assert_int_equal(map[1].type, E820_RESERVED);
	assert_true(map[1].addr <= LINUX_ZERO_PAGE && LINUX_CMDLINE + LINUX_CMDLINE_MAX <= LINUX_BOOT_END);
	assert_int_equal(map[3].addr, LINUX_EBDA);
	assert_int_equal(map[3].addr + map[3].size, LINUX_HIGH);
	assert_int_equal(map[3].type, E820_RESERVED);
	assert_int_equal(map[4].type, E820_RAM);
	assert_int_equal(map[0].type, E820_RAM);
	assert_int_equal(map[2].type, E820_RAM);
}

static void test_initrd_addr(void **state)
{
	assert_int_equal(linux_initrd_addr(0x1800, 0x100000, 0x8000000), 0x7ffe000);
	assert_int_equal(linux_initrd_addr(0x8000000, 0x100000, 0x8000000), 0);
	assert_int_equal(linux_initrd_addr(0x9000000, 0x100000, 0x8000000), 0);
}

/* An ELF64 file with one PT_NOTE segment holding notes. */
static size_t elf_with_notes(uint8_t *buf, size_t size, const uint8_t *notes, size_t n)
{
	Elf64_Ehdr eh = { 0 };
	Elf64_Phdr ph = { 0 };
	size_t off = sizeof(eh) + sizeof(ph);

	assert_true(off + n <= size);
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_machine = EM_X86_64;
	eh.e_phoff = sizeof(eh);
	eh.e_phnum = 1;
	eh.e_phentsize = sizeof(ph);
	ph.p_type = PT_NOTE;
	ph.p_offset = off;
	ph.p_filesz = n;
	memcpy(buf, &eh, sizeof(eh));
	memcpy(buf + sizeof(eh), &ph, sizeof(ph));
	memcpy(buf + off, notes, n);
	return off + n;
}

static size_t note(uint8_t *p, const char *name, uint32_t type, const void *desc, uint32_t descsz)
{
	uint32_t namesz = (uint32_t)strlen(name) + 1;
	size_t at = 12;

	put32(p, namesz);
	put32(p + 4, descsz);
	put32(p + 8, type);
	memcpy(p + at, name, namesz);
	at += (namesz + 3) & ~3u;
	memcpy(p + at, desc, descsz);
	return at + ((descsz + 3) & ~3u);
}

static void test_pvh_note(void **state)
{
	uint8_t notes[256] = { 0 }, elf[512];
	uint64_t entry = 0x1000850, high = 0x100001000ull;
	uint32_t got = 0;
	size_t n = 0, size;

	n += note(notes + n, "GNU", 18, &entry, 8);	/* right type, other owner */
	n += note(notes + n, "Xen", 6, "linux", 6);
	n += note(notes + n, "Xen", 18, &entry, 8);
	size = elf_with_notes(elf, sizeof(elf), notes, n);
	assert_int_equal(pvh_entry(elf, size, &got), 0);
	assert_int_equal(got, 0x1000850);

	/* Truncated file, entry above 4 GiB, no such note: none. */
	assert_int_equal(pvh_entry(elf, size - 4, &got), -1);
	note(notes + n - 20, "Xen", 18, &high, 8);
	size = elf_with_notes(elf, sizeof(elf), notes, n);
	assert_int_equal(pvh_entry(elf, size, &got), -1);
	n = note(notes, "Xen", 6, "linux", 6);
	size = elf_with_notes(elf, sizeof(elf), notes, n);
	assert_int_equal(pvh_entry(elf, size, &got), -1);
	/* A note claiming more bytes than the segment has. */
	put32(notes + 4, 0x1000);
	size = elf_with_notes(elf, sizeof(elf), notes, n);
	assert_int_equal(pvh_entry(elf, size, &got), -1);
}

static void test_pvh_start_info(void **state)
{
	struct e820_entry map[E820_MAX];
	unsigned n = linux_e820(64u << 20, map);
	uint8_t buf[0x1000];
	size_t used;

	used = pvh_start_info(buf, sizeof(buf), 0x9000, 0xa000, 0xf0000, 0x3000000, 0x5000,
			      map, n);
	assert_int_equal(used, 56 + 32 + n * 24);
	assert_int_equal(get32(buf), 0x336ec578);
	assert_int_equal(get32(buf + 4), 1);
	assert_int_equal(get32(buf + 12), 1);			/* nr_modules */
	assert_int_equal(get64(buf + 16), 0x9000 + 56);	/* modlist_paddr */
	assert_int_equal(get64(buf + 24), 0xa000);
	assert_int_equal(get64(buf + 32), 0xf0000);
	assert_int_equal(get64(buf + 40), 0x9000 + 56 + 32);	/* memmap_paddr */
	assert_int_equal(get32(buf + 48), n);
	assert_int_equal(get64(buf + 56), 0x3000000);
	assert_int_equal(get64(buf + 64), 0x5000);
	for (unsigned i = 0; i < n; i++) {
		const uint8_t *e = buf + 56 + 32 + i * 24;

		assert_int_equal(get64(e), map[i].addr);
		assert_int_equal(get64(e + 8), map[i].size);
		assert_int_equal(get32(e + 16), map[i].type);
	}
	/* No initrd: no module. */
	used = pvh_start_info(buf, sizeof(buf), 0x9000, 0xa000, 0, 0, 0, map, n);
	assert_int_equal(used, 56 + n * 24);
	assert_int_equal(get32(buf + 12), 0);
	assert_int_equal(get64(buf + 40), 0x9000 + 56);
	assert_int_equal(pvh_start_info(buf, 64, 0x9000, 0xa000, 0, 0, 0, map, n), 0);
}

static uint8_t sum(const uint8_t *p, size_t n)
{
	uint8_t s = 0;

	while (n--)
		s += *p++;
	return s;
}

static const uint8_t *table(const uint8_t *buf, uint32_t base, uint64_t addr)
{
	assert_true(addr >= base && addr < base + 0x10000);
	return buf + (addr - base);
}

static void test_acpi(void **state)
{
	static uint8_t buf[0x10000];
	const uint32_t base = 0xf0000;
	const uint8_t *rsdp = buf, *xsdt, *fadt, *madt, *dsdt, *e;
	size_t used = acpi_build(buf, sizeof(buf), base, 3, 0xcf9, 0x06);
	unsigned cpus = 0, ioapics = 0;

	assert_true(used > 0);
	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	assert_int_equal(rsdp[15], 2);
	xsdt = table(buf, base, get64(rsdp + 24));
	assert_memory_equal(xsdt, "XSDT", 4);
	assert_int_equal(sum(xsdt, get32(xsdt + 4)), 0);
	assert_int_equal(get32(xsdt + 4), 36 + 16);
	fadt = table(buf, base, get64(xsdt + 36));
	madt = table(buf, base, get64(xsdt + 44));
	assert_memory_equal(fadt, "FACP", 4);
	assert_int_equal(sum(fadt, get32(fadt + 4)), 0);
	assert_int_equal(get32(fadt + 4), 276);
	assert_true(get32(fadt + 112) & (1u << 20));		/* hardware-reduced */
	assert_true(get32(fadt + 112) & (1u << 10));		/* reset register */
	assert_int_equal(fadt[116], 1);				/* system I/O */
	assert_int_equal(get64(fadt + 120), 0xcf9);
	assert_int_equal(fadt[128], 0x06);
	dsdt = table(buf, base, get64(fadt + 140));
	assert_int_equal(get32(fadt + 40), get64(fadt + 140));
	assert_memory_equal(dsdt, "DSDT", 4);
	assert_int_equal(sum(dsdt, get32(dsdt + 4)), 0);
	/* The UART by its PNP id, its IRQ 4, and the S5 sleep type. */
	assert_non_null(memmem(dsdt, get32(dsdt + 4), "\x0c\x41\xd0\x05\x01", 5));
	assert_non_null(memmem(dsdt, get32(dsdt + 4), "\x22\x10\x00", 3));
	assert_non_null(memmem(dsdt, get32(dsdt + 4), "_S5_\x12\x08\x04\x0a\x05", 9));
	/* Sleep control and status registers: one byte each in I/O space. */
	assert_int_equal(fadt[244], 1);
	assert_int_equal(fadt[245], 8);
	assert_int_equal(get64(fadt + 248), ACPI_SLEEP_CONTROL);
	assert_int_equal(fadt[256], 1);
	assert_int_equal(get64(fadt + 260), ACPI_SLEEP_STATUS);
	assert_memory_equal(madt, "APIC", 4);
	assert_int_equal(sum(madt, get32(madt + 4)), 0);
	assert_int_equal(get32(madt + 36), 0xfee00000);
	for (e = madt + 44; e < madt + get32(madt + 4); e += e[1]) {
		assert_true(e[1] > 0);
		if (e[0] == 0) {
			assert_int_equal(e[3], cpus);		/* APIC id */
			assert_int_equal(get32(e + 4) & 1, 1);	/* enabled */
			cpus++;
		} else if (e[0] == 1) {
			assert_int_equal(get32(e + 4), 0xfec00000);
			assert_int_equal(get32(e + 8), 0);	/* GSI base */
			ioapics++;
		}
	}
	assert_true(e == madt + get32(madt + 4));
	assert_int_equal(cpus, 3);
	assert_int_equal(ioapics, 1);
	assert_true((size_t)(madt + get32(madt + 4) - buf) <= used);
	assert_int_equal(acpi_build(buf, 100, base, 3, 0xcf9, 0x06), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bzimage_parse),
		cmocka_unit_test(test_bzimage_refusals),
		cmocka_unit_test(test_bzimage_place),
		cmocka_unit_test(test_zero_page),
		cmocka_unit_test(test_e820),
		cmocka_unit_test(test_initrd_addr),
		cmocka_unit_test(test_pvh_note),
		cmocka_unit_test(test_pvh_start_info),
		cmocka_unit_test(test_acpi),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
