/* SPDX-License-Identifier: MIT */
/*
 * The in-kernel interrupt controller.  With it KVM routes the generic
 * timers' interrupts to the vCPUs by itself (virtual timer PPI 27,
 * physical timer PPI 30), so a guest can take timer interrupts while it
 * is being debugged, as on a real board.  GICv3 where the host can
 * emulate it, GICv2 otherwise, at QEMU virt's addresses; a host with
 * neither still runs the guest, without interrupts.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "arm64vmm.h"

static int set_attr(int fd, uint32_t group, uint64_t attr, void *val)
{
	struct kvm_device_attr a = {
		.group = group, .attr = attr, .addr = (uintptr_t)val,
	};

	return ioctl(fd, KVM_SET_DEVICE_ATTR, &a);
}

static int create(struct vm *vm, uint32_t type, uint64_t dist_kind, uint64_t other_kind,
		  uint64_t other_base)
{
	struct kvm_create_device dev = { .type = type };
	uint64_t dist = GIC_DIST_BASE;

	if (ioctl(vm->vm_fd, KVM_CREATE_DEVICE, &dev) < 0)
		return -errno;
	if (set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, dist_kind, &dist) < 0 ||
	    set_attr(dev.fd, KVM_DEV_ARM_VGIC_GRP_ADDR, other_kind, &other_base) < 0) {
		int e = -errno;

		close(dev.fd);
		return e;
	}
	return dev.fd;
}

void a64_gic_create(struct vm *vm, struct a64_machine *m)
{
	int v3, v2;

	m->gic_fd = -1;
	v3 = create(vm, KVM_DEV_TYPE_ARM_VGIC_V3, KVM_VGIC_V3_ADDR_TYPE_DIST,
		    KVM_VGIC_V3_ADDR_TYPE_REDIST, GICV3_REDIST_BASE);
	if (v3 >= 0) {
		m->gic_fd = v3;
		m->gic_version = 3;
		return;
	}
	v2 = create(vm, KVM_DEV_TYPE_ARM_VGIC_V2, KVM_VGIC_V2_ADDR_TYPE_DIST,
		    KVM_VGIC_V2_ADDR_TYPE_CPU, GICV2_CPU_BASE);
	if (v2 >= 0) {
		m->gic_fd = v2;
		m->gic_version = 2;
		return;
	}
	fprintf(stderr, "kvmdbg: this host's KVM emulates no GIC (GICv3: %s; GICv2: %s): the guest runs without interrupts\n",
		strerror(-v3), strerror(-v2));
}

int a64_gic_init(struct a64_machine *m, char *err, size_t len)
{
	if (m->gic_fd < 0)
		return 0;
	/* Only now that every vCPU exists: GICv3 sizes its redistributors
	 * by them. */
	if (set_attr(m->gic_fd, KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT, NULL) < 0) {
		vmm_err(err, len, "cannot initialise the in-kernel GICv%u: %s",
			m->gic_version, strerror(errno));
		return -1;
	}
	return 0;
}
