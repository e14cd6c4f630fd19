/* SPDX-License-Identifier: MIT */
/*
 * KVM_RUN for a host that returns from it with the vCPU's TPIDR_EL0 in
 * the calling thread's.
 *
 * Seen on Linux 6.1 running KVM at EL2 under qemu-system-aarch64 -accel
 * tcg: up to a few KVM_RUNs in ten thousand came back with the thread
 * pointer set to the vCPU's TPIDR_EL0 (KVM's reset marker
 * 0x1de7ec7edbadc0de for a vCPU that never wrote it), the vCPU's own
 * value intact.  The thread's next access to its own variables faults;
 * glibc's ioctl() makes one at once when it sets errno.  So the system
 * call is made here, with the thread's own pointer kept in a register
 * across it and written back before any C code can run.  A signal
 * handler that runs as KVM_RUN returns still sees the host's value; the
 * VMM's kick handlers touch no thread-local storage.
 */
#include <errno.h>
#include <sys/syscall.h>

#include "a64.h"

int a64_kvm_run(int vcpu_fd, bool *repaired)
{
	register long x0 __asm__("x0") = vcpu_fd;
	register long x1 __asm__("x1") = KVM_RUN;
	register long x2 __asm__("x2") = 0;
	register long x8 __asm__("x8") = __NR_ioctl;
	uint64_t own, returned;

	__asm__ volatile("mrs	%[own], tpidr_el0\n\t"
			 "svc	#0\n\t"
			 "mrs	%[returned], tpidr_el0\n\t"
			 "msr	tpidr_el0, %[own]"
			 : "+r"(x0), [own] "=&r"(own), [returned] "=&r"(returned)
			 : "r"(x1), "r"(x2), "r"(x8)
			 : "memory");
	*repaired = returned != own;
	/* The kernel returns -errno for errors, in [-4095, -1]. */
	if ((unsigned long)x0 > -4096ul) {
		errno = (int)-x0;
		return -1;
	}
	return (int)x0;
}
