/* SPDX-License-Identifier: MIT */
/*
 * Booting an arm64 Linux Image as Linux's arm64 boot protocol asks
 * (Documentation/arch/arm64/booting.rst): the Image text_offset bytes above
 * the 2 MiB-aligned start of RAM, entered at its first byte at EL1h with
 * the MMU and caches off and x0 = the device tree's physical address.  The
 * device tree gets the highest 2 MiB block that is both in RAM and within
 * 512 MiB of the kernel (older kernels map it from there), so no other data
 * shares its block; the initrd goes just below it, clear of the kernel's
 * image_size (which counts its BSS).
 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arm64vmm.h"

#define IMAGE_MAGIC		0x644d5241u	/* "ARM\x64" */
#define IMAGE_HEADER_SIZE	64
#define FLAG_BIG_ENDIAN		(1ull << 0)
#define FLAG_PAGE_SIZE(f)	(((f) >> 1) & 3)
#define SZ_2M			(2ull << 20)
#define SZ_512M			(512ull << 20)
#define PAGE_4K			0x1000ull

#define ID_AA64MMFR0_EL1	ARM64_SYS_REG(3, 0, 0, 7, 0)

struct image_header {
	uint32_t code0, code1;
	uint64_t text_offset;
	uint64_t image_size;
	uint64_t flags;
	uint64_t res2, res3, res4;
	uint32_t magic;
	uint32_t res5;
};

static void read_header(const struct guest_image *img, struct image_header *h)
{
	memcpy(h, img->data, sizeof(*h));
	h->text_offset = le64toh(h->text_offset);
	h->image_size = le64toh(h->image_size);
	h->flags = le64toh(h->flags);
	h->magic = le32toh(h->magic);
}

bool a64_image_is(const struct guest_image *img)
{
	struct image_header h;

	if (img->size < IMAGE_HEADER_SIZE)
		return false;
	read_header(img, &h);
	return h.magic == IMAGE_MAGIC;
}

static uint64_t align_down(uint64_t v, uint64_t a)
{
	return v & ~(a - 1);
}

static int check_header(const struct guest_image *img, const struct image_header *h,
			char *err, size_t len)
{
	if (h->flags & FLAG_BIG_ENDIAN) {
		vmm_err(err, len, "%s: a big-endian kernel Image; kvmdbg boots little-endian kernels only",
			img->path);
		return -1;
	}
	if (!h->image_size) {
		vmm_err(err, len, "%s: the Image header gives no image_size (a kernel older than Linux 3.17), which kvmdbg does not boot",
			img->path);
		return -1;
	}
	if (h->image_size < img->size || h->text_offset >= SZ_2M ||
	    h->text_offset % PAGE_4K) {
		vmm_err(err, len, "%s: corrupt Image header (text_offset 0x%llx, image_size 0x%llx for a file of 0x%zx bytes)",
			img->path, (unsigned long long)h->text_offset,
			(unsigned long long)h->image_size, img->size);
		return -1;
	}
	return 0;
}

int a64_image_load(struct vm *vm, struct a64_machine *m, const struct guest_image *img,
		   char *err, size_t len)
{
	static const unsigned granules[] = { 0, 4, 16, 64 };
	struct image_header h;
	struct a64_linux *l;
	uint64_t kernel_end, top, ram_end = vm->ram_base + vm->ram_size;

	read_header(img, &h);
	if (check_header(img, &h, err, len) < 0)
		return -1;
	if (strcmp(img->cmdline, img->path)) {
		vmm_err(err, len, "%s: a Linux Image takes its command line from --append, not after '--'",
			img->path);
		return -1;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		vmm_err(err, len, "out of memory");
		return -1;
	}
	m->image = l;
	l->img = img;
	l->granule_kib = granules[FLAG_PAGE_SIZE(h.flags)];
	/* RAM starts 2 MiB aligned: its base is also the kernel's. */
	l->kernel = vm->ram_base + h.text_offset;
	kernel_end = l->kernel + h.image_size;
	top = ram_end < vm->ram_base + SZ_512M ? ram_end : vm->ram_base + SZ_512M;
	l->dtb = align_down(top, SZ_2M) - SZ_2M;
	l->initrd_end = l->dtb;
	l->initrd_start = align_down(l->dtb - img->initrd_size, PAGE_4K);
	if (top < SZ_2M + vm->ram_base || l->initrd_start < kernel_end ||
	    l->initrd_start > l->dtb) {
		vmm_err(err, len, "%s: the kernel (%llu MiB with its BSS), %s and device tree (2 MiB) do not fit in %llu MiB of RAM: give a larger --mem",
			img->path, (unsigned long long)(h.image_size >> 20),
			img->initrd ? "the initrd" : "no initrd",
			(unsigned long long)(vm->ram_size >> 20));
		return -1;
	}
	if (!img->initrd)
		l->initrd_start = l->initrd_end = 0;
	else if (vmm_copy_in(vm, l->initrd_start, img->initrd, img->initrd_size, err, len) < 0)
		return -1;
	if (vmm_copy_in(vm, l->kernel, img->data, img->size, err, len) < 0)
		return -1;
	m->entry = l->kernel;
	m->x0 = l->dtb;
	return 0;
}

/* The kernel's page size must be one the vCPU's MMU offers. */
static int check_granule(struct vm *vm, const struct a64_linux *l, char *err, size_t len)
{
	uint64_t mmfr0;
	unsigned field;
	bool ok;

	if (!l->granule_kib)
		return 0;
	if (a64_get_reg(&vm->vcpus[0], ID_AA64MMFR0_EL1, &mmfr0, err, len) < 0)
		return -1;
	switch (l->granule_kib) {
	case 4:
		field = (mmfr0 >> 28) & 0xf;	/* TGran4: 0xf = none */
		ok = field != 0xf;
		break;
	case 16:
		field = (mmfr0 >> 20) & 0xf;	/* TGran16: 0 = none */
		ok = field != 0;
		break;
	default:
		field = (mmfr0 >> 24) & 0xf;	/* TGran64: 0xf = none */
		ok = field != 0xf;
		break;
	}
	if (!ok) {
		vmm_err(err, len, "%s: the kernel uses %u KiB pages, which this host's vCPUs do not support",
			l->img->path, l->granule_kib);
		return -1;
	}
	return 0;
}

static int write_file(const char *path, const void *data, size_t size, char *err, size_t len)
{
	const uint8_t *p = data;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0) {
		vmm_err(err, len, "cannot create %s: %s", path, strerror(errno));
		return -1;
	}
	while (size) {
		ssize_t n = write(fd, p, size);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			vmm_err(err, len, "cannot write %s: %s", path, strerror(errno));
			close(fd);
			return -1;
		}
		p += n;
		size -= n;
	}
	if (close(fd) < 0) {
		vmm_err(err, len, "cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

int a64_image_finish(struct vm *vm, struct a64_machine *m, char *err, size_t len)
{
	struct a64_linux *l = m->image;
	void *dtb = vmm_gpa(vm, l->dtb, SZ_2M);

	if (check_granule(vm, l, err, len) < 0)
		return -1;
	if (a64_fdt_build(vm, m, dtb, SZ_2M, err, len) < 0)
		return -1;
	if (!l->img->dump_dtb_path)
		return 0;
	if (write_file(l->img->dump_dtb_path, dtb, fdt_totalsize(dtb), err, len) < 0)
		return -1;
	fprintf(stderr, "kvmdbg: device tree written to %s\n", l->img->dump_dtb_path);
	exit(0);
}
