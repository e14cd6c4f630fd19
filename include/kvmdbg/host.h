/* SPDX-License-Identifier: MIT */
/*
 * The host and the guest's memory as the stub sees them: what the host's
 * KVM can do for a debugger (measured by running probe guests), and how
 * the stub reaches guest RAM through the embedding VMM.
 */
#ifndef KVMDBG_HOST_H
#define KVMDBG_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

/* The architecture backend: opaque outside the library. */
struct kvmdbg_arch_ops;

/* Guest-physical memory as the embedding VMM exposes it. */
struct kvmdbg_mem {
	/* Host pointer for [gpa, gpa+len) when all of it is RAM, else NULL. */
	void *(*gpa_to_hva)(void *opaque, uint64_t gpa, uint64_t len);
	void *opaque;
};

enum kvmdbg_mechanism {
	KVMDBG_MECH_NONE,	/* the host cannot do it */
	KVMDBG_MECH_DEBUG_EXIT,	/* KVM_EXIT_DEBUG, as documented */
	KVMDBG_MECH_EMULATION_EXIT, /* trap seen as an emulation failure exit */
};

/* What the host really does, learnt by running a probe guest. */
struct kvmdbg_caps {
	bool guest_debug;		/* KVM_CAP_SET_GUEST_DEBUG */
	uint32_t debug_flags;		/* KVM_CAP_SET_GUEST_DEBUG2, 0 when absent */
	unsigned hw_bps;		/* hardware breakpoint slots */
	unsigned hw_wps;		/* hardware watchpoint slots */
	bool hw_shared;			/* one pool serves both (x86 DR0-3) */
	enum kvmdbg_mechanism swbp;	/* trap instruction */
	enum kvmdbg_mechanism hwbp;	/* debug-register code breakpoint */
	enum kvmdbg_mechanism watch;	/* debug-register data breakpoint */
	enum kvmdbg_mechanism step;	/* single-step */
	bool blockirq;			/* steps can keep interrupts out */
	bool readonly_mem;		/* KVM_CAP_READONLY_MEM: write watches by page */
	/* Handing the guest its own trap instruction and debug exceptions
	 * back, as a probe guest with its own handlers saw it: for people,
	 * empty where the backend does not probe it. */
	char trap_delivery[200];
	char debug_delivery[200];
	/* Bytes the return address the probe guest saw after its own trap
	 * was off by, for exits of kind trap_fix_exit; the backend takes
	 * them off the pc it delivers with.  0 when delivery was verified. */
	int trap_pc_fix;
	enum kvmdbg_mechanism trap_fix_exit;
	char note[160];			/* why a probe failed, for the user */
	/* kvm_run.kvm_valid_regs bits under which a probe vCPU's exit left
	 * in kvm_run.s the registers regs_load reads (KVM_CAP_SYNC_REGS);
	 * 0 where the host does not or the backend has no regs_sync. */
	uint64_t sync_regs;
};

/* The backend this library was built for (the host's architecture). */
const struct kvmdbg_arch_ops *kvmdbg_arch(void);
/*
 * The same backend with the register layout and target description of
 * gdb's architecture gdb_arch (x86: "i386:x86-64", the default, or
 * "i386" for guests that run 32-bit code), or NULL when it has no such
 * view.  Views differ only in the fields that describe registers.
 */
const struct kvmdbg_arch_ops *kvmdbg_arch_view(const char *gdb_arch);

/*
 * Runs the backend's probe guests in throw-away VMs of kvm_fd (an open
 * /dev/kvm) and fills *caps.  Never fails: what cannot be probed is
 * KVMDBG_MECH_NONE, with the reason in caps->note.
 */
void kvmdbg_arch_probe(const struct kvmdbg_arch_ops *arch, int kvm_fd,
		       struct kvmdbg_caps *caps);

/*
 * KVM_RUN on vcpu_fd, for the VMM's vCPU loop: returns as
 * ioctl(vcpu_fd, KVM_RUN, 0) does, but survives hosts known to return
 * from it with thread state of the caller changed (arm64: the vCPU's
 * TPIDR_EL0 left as the thread pointer, so the first access to errno
 * or any thread-local variable crashed).  *repaired is set when this
 * call put such state back: the VMM may tell its user, once.
 */
int kvmdbg_kvm_run(const struct kvmdbg_arch_ops *arch, int vcpu_fd, bool *repaired);

/* What the host offers and which mechanism serves each feature, one
 * "feature: ..." line each, for `kvmdbg probe` and `monitor caps`. */
void kvmdbg_caps_describe(const struct kvmdbg_arch_ops *arch,
			  const struct kvmdbg_caps *caps, char *out, size_t len);

/* A throw-away VM for probes (the stub's, and a VMM's own): RAM at
 * guest-physical 0, one vCPU. */
struct kvmdbg_scratch {
	int vm, vcpu;
	uint8_t *ram;
	size_t ram_size;
	struct kvm_run *run;
	size_t run_size;
};

/* 0 or -errno; kvmdbg_scratch_close() is right either way. */
int kvmdbg_scratch_open(int kvm_fd, size_t ram_size, struct kvmdbg_scratch *s);
void kvmdbg_scratch_close(struct kvmdbg_scratch *s);

#endif
