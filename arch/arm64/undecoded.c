/* SPDX-License-Identifier: MIT */
/*
 * Stores KVM cannot decode for the VMM: a data abort without a valid
 * instruction syndrome (pair and writeback stores) on a page with no
 * writable slot.  Without KVM_CAP_ARM_NISV_TO_USER KVM_RUN fails on one;
 * with it the VMM gets a KVM_EXIT_ARM_NISV naming the address.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "a64.h"

bool a64_undecoded_store(const struct kvm_run *run, uint64_t *gpa)
{
	if (run->exit_reason != KVM_EXIT_ARM_NISV)
		return false;
	*gpa = run->arm_nisv.fault_ipa;
	return true;
}

int a64_enable_undecoded_exits(int vm_fd)
{
	struct kvm_enable_cap cap = { .cap = KVM_CAP_ARM_NISV_TO_USER };

	/* A host without the capability fails such stores whatever we do. */
	if (ioctl(vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_ARM_NISV_TO_USER) <= 0)
		return 0;
	return ioctl(vm_fd, KVM_ENABLE_CAP, &cap) < 0 ? -errno : 0;
}
