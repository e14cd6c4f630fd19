/* SPDX-License-Identifier: MIT */
/* What CPUID offers a Linux guest: only what this host's KVM can run. */
#ifndef KVMDBG_CPUID_H
#define KVMDBG_CPUID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

/* Outcome of the emulation probe.  Feature sets are bit masks over the
 * table in cpuid.c (bit n: its n-th feature). */
struct cpuid_hidden {
	uint32_t hidden;	/* features taken out of CPUID */
	uint32_t forced;	/* of those, what KVM offers the guest anyway */
	bool fwait_completed;	/* KVM gives up on fwait: kvmdbg completes it */
	bool probed;		/* false: the probe VM could not run */
};

/* Runs instructions Linux uses (cmpxchg16b, popcnt, movbe, clac, rdpid,
 * serialize, fwait) at CPL 0 in a scratch VM and notes what KVM cannot
 * run.  Never fails: an unusable probe VM hides nothing and leaves probed
 * false. */
void cpuid_probe(int kvm_fd, struct cpuid_hidden *h);
/* The features in set by their /proc/cpuinfo names, sep between them
 * ("none" when empty). */
void cpuid_names(uint32_t set, char sep, char *out, size_t len);
/* Makes KVM's supported CPUID the one vCPU apic_id sees: its APIC ids in
 * leaves 1, 0xb and 0x1f and the hidden features off. */
void cpuid_for_vcpu(struct kvm_cpuid2 *c, unsigned apic_id,
		    const struct cpuid_hidden *h);

#endif
