/* SPDX-License-Identifier: MIT */
/* The arm64 machine's state, shared by its files. */
#ifndef KVMDBG_ARM64VMM_H
#define KVMDBG_ARM64VMM_H

#include "../vmm.h"

/* The machine's map, QEMU virt's where it has the same devices. */
#define GIC_DIST_BASE		0x08000000ull
#define GICV2_DIST_SIZE		0x1000ull
#define GICV2_CPU_BASE		0x08010000ull
#define GICV2_CPU_SIZE		0x2000ull
#define GICV3_DIST_SIZE		0x10000ull
#define GICV3_REDIST_BASE	0x080a0000ull
#define GICV3_REDIST_SIZE	0x20000ull	/* per vCPU */
#define PL011_BASE		0x09000000ull
#define PL011_SIZE		0x1000ull
#define PL011_SPI		1
#define EXIT_REG		0x09010000ull

/* A Linux Image being booted: where things went. */
struct a64_linux {
	const struct guest_image *img;
	uint64_t kernel;
	uint64_t dtb;		/* 2 MiB block for the device tree */
	uint64_t initrd_start, initrd_end;
	unsigned granule_kib;	/* the kernel's page size; 0: not stated */
};

struct a64_machine {
	uint64_t entry;
	uint64_t x0;		/* entry argument: the device tree */
	int gic_fd;		/* -1: no in-kernel GIC on this host */
	unsigned gic_version;
	struct a64_linux *image;	/* NULL: an ELF or raw guest */
};

/* Creates the vGIC before the vCPUs; without one, says so and goes on. */
void a64_gic_create(struct vm *vm, struct a64_machine *m);
/* Finishes it once every vCPU exists. */
int a64_gic_init(struct a64_machine *m, char *err, size_t len);

/* image.c: an arm64 Linux Image (Documentation/arch/arm64/booting.rst). */
bool a64_image_is(const struct guest_image *img);
int a64_image_load(struct vm *vm, struct a64_machine *m, const struct guest_image *img,
		   char *err, size_t len);
/* Checks what the vCPUs offer against the Image's header, then writes the
 * device tree; with --dump-dtb writes it to that file and exits instead. */
int a64_image_finish(struct vm *vm, struct a64_machine *m, char *err, size_t len);

/* fdt.c: the device tree for a Linux guest, into buf. */
int a64_fdt_build(struct vm *vm, struct a64_machine *m, void *buf, size_t size,
		  char *err, size_t len);

/* A vCPU register through KVM_GET_ONE_REG; -1 with err on failure. */
int a64_get_reg(struct vcpu *v, uint64_t id, uint64_t *val, char *err, size_t len);

#endif
