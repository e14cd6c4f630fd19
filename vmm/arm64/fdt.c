/* SPDX-License-Identifier: MIT */
/*
 * The device tree a Linux guest boots with, written with libfdt: the
 * machine as kvmdbg really built it (RAM, one cpu node per vCPU named by
 * its MPIDR, the PSCI version KVM implements, the GIC that was created,
 * the generic timer's PPIs, the PL011 and the exit register) and /chosen.
 * With --dtb the user's tree is used instead and only /chosen is filled.
 */
#include <libfdt.h>
#include <stdio.h>
#include <string.h>

#include "arm64vmm.h"

#define MPIDR_EL1		ARM64_SYS_REG(3, 0, 0, 0, 5)
#define MPIDR_AFFINITY		0xff00ffffffull
#define PHANDLE_GIC		1
#define PHANDLE_CLOCK		2
#define PL011_CLOCK_HZ		24000000
#define GIC_SPI			0
#define GIC_PPI			1
#define IRQ_LEVEL_HIGH		4
/* The generic timers' PPIs (INTID - 16) as KVM wires them. */
#define PPI_SEC_PHYS		13
#define PPI_PHYS		14
#define PPI_VIRT		11
#define PPI_HYP			10

/* Writes the tree; the first libfdt error sticks and ends the build. */
struct tree {
	void *fdt;
	int err;
};

static int sub(struct tree *t, int parent, const char *name)
{
	int r;

	if (t->err)
		return -1;
	r = fdt_add_subnode(t->fdt, parent, name);
	if (r < 0)
		t->err = r;
	return r;
}

static void prop(struct tree *t, int node, const char *name, const void *val, int len)
{
	int r;

	if (t->err)
		return;
	r = fdt_setprop(t->fdt, node, name, val, len);
	if (r < 0)
		t->err = r;
}

static void prop_str(struct tree *t, int node, const char *name, const char *val)
{
	prop(t, node, name, val, strlen(val) + 1);
}

/* A string list: the strings with their NULs, one after the other. */
static void prop_strs(struct tree *t, int node, const char *name, const char *a, const char *b)
{
	char buf[128];
	size_t la = strlen(a) + 1, lb = strlen(b) + 1;

	memcpy(buf, a, la);
	memcpy(buf + la, b, lb);
	prop(t, node, name, buf, la + lb);
}

static void prop_cells(struct tree *t, int node, const char *name, const uint32_t *cells,
		       unsigned n)
{
	fdt32_t be[12];

	for (unsigned i = 0; i < n; i++)
		be[i] = cpu_to_fdt32(cells[i]);
	prop(t, node, name, be, n * sizeof(be[0]));
}

static void prop_u32(struct tree *t, int node, const char *name, uint32_t val)
{
	prop_cells(t, node, name, &val, 1);
}

static void prop_u64(struct tree *t, int node, const char *name, uint64_t val)
{
	fdt64_t be = cpu_to_fdt64(val);

	prop(t, node, name, &be, sizeof(be));
}

/* reg of a node under the root: two address cells, two size cells. */
static void prop_reg(struct tree *t, int node, uint64_t addr, uint64_t size)
{
	uint32_t cells[4] = { addr >> 32, (uint32_t)addr, size >> 32, (uint32_t)size };

	prop_cells(t, node, "reg", cells, 4);
}

static int add_cpus(struct tree *t, struct vm *vm, char *err, size_t len)
{
	int cpus = sub(t, 0, "cpus");

	prop_u32(t, cpus, "#address-cells", 1);
	prop_u32(t, cpus, "#size-cells", 0);
	/* Added in reverse: libfdt puts each new node first. */
	for (unsigned i = vm->nvcpus; i-- > 0;) {
		uint64_t mpidr;
		char name[32];
		int cpu;

		if (a64_get_reg(&vm->vcpus[i], MPIDR_EL1, &mpidr, err, len) < 0)
			return -1;
		mpidr &= MPIDR_AFFINITY;
		if (mpidr >> 32) {
			vmm_err(err, len, "vCPU %u has MPIDR affinity 0x%llx, beyond what one cell holds",
				i, (unsigned long long)mpidr);
			return -1;
		}
		snprintf(name, sizeof(name), "cpu@%llx", (unsigned long long)mpidr);
		cpu = sub(t, cpus, name);
		prop_str(t, cpu, "device_type", "cpu");
		prop_str(t, cpu, "compatible", "arm,armv8");
		prop_u32(t, cpu, "reg", (uint32_t)mpidr);
		prop_str(t, cpu, "enable-method", "psci");
	}
	return 0;
}

static int add_psci(struct tree *t, struct vm *vm, char *err, size_t len)
{
	uint64_t version;
	int psci = sub(t, 0, "psci");

	/* Kernels before 4.16 have no version register and implement 0.2. */
	if (a64_get_reg(&vm->vcpus[0], KVM_REG_ARM_PSCI_VERSION, &version, err, len) < 0)
		version = 2;
	if (version >> 16 >= 1)
		prop_strs(t, psci, "compatible", "arm,psci-1.0", "arm,psci-0.2");
	else
		prop_str(t, psci, "compatible", "arm,psci-0.2");
	prop_str(t, psci, "method", "hvc");
	return 0;
}

static void add_gic(struct tree *t, struct vm *vm, const struct a64_machine *m)
{
	char name[32];
	int gic;

	snprintf(name, sizeof(name), "intc@%llx", GIC_DIST_BASE);
	gic = sub(t, 0, name);
	prop_u32(t, gic, "#interrupt-cells", 3);
	prop_u32(t, gic, "#address-cells", 0);
	prop(t, gic, "interrupt-controller", NULL, 0);
	prop_u32(t, gic, "phandle", PHANDLE_GIC);
	if (m->gic_version == 3) {
		uint32_t reg[8] = {
			0, GIC_DIST_BASE, 0, GICV3_DIST_SIZE,
			0, GICV3_REDIST_BASE, 0, GICV3_REDIST_SIZE * vm->nvcpus,
		};

		prop_str(t, gic, "compatible", "arm,gic-v3");
		prop_cells(t, gic, "reg", reg, 8);
	} else {
		uint32_t reg[8] = {
			0, GIC_DIST_BASE, 0, GICV2_DIST_SIZE,
			0, GICV2_CPU_BASE, 0, GICV2_CPU_SIZE,
		};

		prop_str(t, gic, "compatible", "arm,cortex-a15-gic");
		prop_cells(t, gic, "reg", reg, 8);
	}
}

static void add_timer(struct tree *t, struct vm *vm, const struct a64_machine *m)
{
	uint32_t flags = IRQ_LEVEL_HIGH, cells[12];
	static const uint32_t ppis[4] = { PPI_SEC_PHYS, PPI_PHYS, PPI_VIRT, PPI_HYP };
	int timer = sub(t, 0, "timer");

	/* GICv2 bindings name the CPUs a PPI goes to. */
	if (m->gic_version == 2)
		flags |= ((1u << vm->nvcpus) - 1) << 8;
	for (unsigned i = 0; i < 4; i++) {
		cells[3 * i] = GIC_PPI;
		cells[3 * i + 1] = ppis[i];
		cells[3 * i + 2] = flags;
	}
	prop_str(t, timer, "compatible", "arm,armv8-timer");
	prop_cells(t, timer, "interrupts", cells, 12);
	prop(t, timer, "always-on", NULL, 0);
}

static void add_devices(struct tree *t)
{
	uint32_t irq[3] = { GIC_SPI, PL011_SPI, IRQ_LEVEL_HIGH };
	uint32_t clocks[2] = { PHANDLE_CLOCK, PHANDLE_CLOCK };
	char name[32];
	int node;

	/* kvmdbg's exit register: writing V (32 bits) ends the run with
	 * status (V << 1) | 1. */
	snprintf(name, sizeof(name), "exit@%llx", EXIT_REG);
	node = sub(t, 0, name);
	prop_str(t, node, "compatible", "kvmdbg,exit");
	prop_reg(t, node, EXIT_REG, 4);

	snprintf(name, sizeof(name), "pl011@%llx", PL011_BASE);
	node = sub(t, 0, name);
	prop_strs(t, node, "compatible", "arm,pl011", "arm,primecell");
	prop_reg(t, node, PL011_BASE, PL011_SIZE);
	prop_cells(t, node, "interrupts", irq, 3);
	prop_cells(t, node, "clocks", clocks, 2);
	prop_strs(t, node, "clock-names", "uartclk", "apb_pclk");

	node = sub(t, 0, "apb-pclk");
	prop_str(t, node, "compatible", "fixed-clock");
	prop_u32(t, node, "#clock-cells", 0);
	prop_u32(t, node, "clock-frequency", PL011_CLOCK_HZ);
	prop_str(t, node, "clock-output-names", "clk24mhz");
	prop_u32(t, node, "phandle", PHANDLE_CLOCK);
}

static int generate(struct tree *t, struct vm *vm, const struct a64_machine *m,
		    char *err, size_t len)
{
	char name[32];
	int mem;

	prop_u32(t, 0, "#address-cells", 2);
	prop_u32(t, 0, "#size-cells", 2);
	prop_str(t, 0, "compatible", "kvmdbg,arm64-virt");
	prop_str(t, 0, "model", "kvmdbg arm64 virtual machine");
	if (m->gic_fd >= 0)
		prop_u32(t, 0, "interrupt-parent", PHANDLE_GIC);
	add_devices(t);
	if (m->gic_fd >= 0) {
		add_timer(t, vm, m);
		add_gic(t, vm, m);
	}
	if (add_psci(t, vm, err, len) < 0 || add_cpus(t, vm, err, len) < 0)
		return -1;
	snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)vm->ram_base);
	mem = sub(t, 0, name);
	prop_str(t, mem, "device_type", "memory");
	prop_reg(t, mem, vm->ram_base, vm->ram_size);
	return 0;
}

static void fill_chosen(struct tree *t, const struct a64_linux *l, bool generated)
{
	int chosen = fdt_path_offset(t->fdt, "/chosen");

	if (chosen == -FDT_ERR_NOTFOUND)
		chosen = sub(t, 0, "chosen");
	else if (chosen < 0 && !t->err)
		t->err = chosen;
	if (l->img->append || generated)
		prop_str(t, chosen, "bootargs", l->img->append ? l->img->append : "");
	if (generated) {
		char path[40];

		snprintf(path, sizeof(path), "/pl011@%llx", PL011_BASE);
		prop_str(t, chosen, "stdout-path", path);
	}
	if (l->img->initrd) {
		prop_u64(t, chosen, "linux,initrd-start", l->initrd_start);
		prop_u64(t, chosen, "linux,initrd-end", l->initrd_start + l->img->initrd_size);
	}
}

int a64_fdt_build(struct vm *vm, struct a64_machine *m, void *buf, size_t size,
		  char *err, size_t len)
{
	const struct a64_linux *l = m->image;
	struct tree t = { .fdt = buf };

	if (l->img->dtb_path) {
		const uint8_t *user;
		size_t user_size;
		int r;

		if (vmm_load_file(l->img->dtb_path, "device tree", &user, &user_size, size,
				  err, len) < 0)
			return -1;
		r = user_size < sizeof(struct fdt_header) ? -FDT_ERR_TRUNCATED :
			fdt_check_header(user);
		if (!r && fdt_totalsize(user) > user_size)
			r = -FDT_ERR_TRUNCATED;
		if (!r)
			r = fdt_open_into(user, buf, size);
		if (r < 0) {
			vmm_err(err, len, "%s: not a usable device tree blob: %s",
				l->img->dtb_path, fdt_strerror(r));
			return -1;
		}
		fill_chosen(&t, l, false);
	} else {
		t.err = fdt_create_empty_tree(buf, size);
		if (!t.err) {
			fill_chosen(&t, l, true);
			if (generate(&t, vm, m, err, len) < 0)
				return -1;
		}
	}
	if (!t.err)
		t.err = fdt_pack(buf);
	if (t.err) {
		vmm_err(err, len, "cannot build the device tree: %s", fdt_strerror(t.err));
		return -1;
	}
	return 0;
}
