/* SPDX-License-Identifier: MIT */
#include <sys/ioctl.h>

#include "kvmdbg/arch.h"
#include "kvmdbg/host.h"

int kvmdbg_kvm_run(const struct kvmdbg_arch_ops *arch, int vcpu_fd, bool *repaired)
{
	*repaired = false;
	if (arch->vcpu_run)
		return arch->vcpu_run(vcpu_fd, repaired);
	return ioctl(vcpu_fd, KVM_RUN, 0);
}
