/* SPDX-License-Identifier: MIT */
/* What architecture probes share: capability bits and a throw-away VM. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmdbg/arch.h"

int kvmdbg_scratch_open(int kvm_fd, size_t ram_size, struct kvmdbg_scratch *s)
{
	struct kvm_userspace_memory_region region = { .memory_size = ram_size };
	int sz;

	memset(s, 0, sizeof(*s));
	s->vm = s->vcpu = -1;
	s->vm = ioctl(kvm_fd, KVM_CREATE_VM, 0);
	if (s->vm < 0)
		return -errno;
	s->ram = mmap(NULL, ram_size, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (s->ram == MAP_FAILED) {
		s->ram = NULL;
		return -errno;
	}
	s->ram_size = ram_size;
	region.userspace_addr = (uintptr_t)s->ram;
	if (ioctl(s->vm, KVM_SET_USER_MEMORY_REGION, &region) < 0)
		return -errno;
	s->vcpu = ioctl(s->vm, KVM_CREATE_VCPU, 0);
	if (s->vcpu < 0)
		return -errno;
	sz = ioctl(kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (sz < 0)
		return -errno;
	s->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, s->vcpu, 0);
	if (s->run == MAP_FAILED) {
		s->run = NULL;
		return -errno;
	}
	s->run_size = sz;
	return 0;
}

void kvmdbg_scratch_close(struct kvmdbg_scratch *s)
{
	if (s->run)
		munmap(s->run, s->run_size);
	if (s->vcpu >= 0)
		close(s->vcpu);
	if (s->vm >= 0)
		close(s->vm);
	if (s->ram)
		munmap(s->ram, s->ram_size);
}

bool kvmdbg_probe_caps(int kvm_fd, struct kvmdbg_caps *caps)
{
	int flags;

	memset(caps, 0, sizeof(*caps));
	caps->guest_debug =
		ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) > 0;
	flags = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);
	caps->debug_flags = flags > 0 ? (uint32_t)flags : 0;
	caps->readonly_mem =
		ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;
	if (!caps->guest_debug)
		snprintf(caps->note, sizeof(caps->note),
			 "host KVM lacks KVM_CAP_SET_GUEST_DEBUG");
	return caps->guest_debug;
}
