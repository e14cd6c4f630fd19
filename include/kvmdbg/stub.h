/* SPDX-License-Identifier: MIT */
/*
 * The embeddable GDB stub.  A VMM creates one per VM, registers its vCPUs,
 * lets the stub listen, and calls three hooks from each vCPU thread:
 *
 *	for (;;) {
 *		kvmdbg_vcpu_pre_run(stub, i);		(may block while stopped)
 *		r = ioctl(vcpu_fd, KVM_RUN, 0);
 *		if (kvmdbg_vcpu_post_run(stub, i, r < 0 ? errno : 0))
 *			continue;			(a debug exit, handled)
 *		...the VMM's own exits (I/O, MMIO, ...)
 *	}
 *
 * and kvmdbg_stub_guest_exited() when the guest ends.  The stub runs its
 * own thread for the gdb connection and stops vCPUs with `signo` (a signal
 * the VMM must not use otherwise) and kvm_run.immediate_exit.
 */
#ifndef KVMDBG_STUB_H
#define KVMDBG_STUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "kvmdbg/host.h"

struct kvmdbg_stub;

/* A KVM memory slot of guest RAM the stub may split to protect pages. */
struct kvmdbg_ram_slot {
	uint32_t slot;
	uint64_t gpa;
	uint64_t size;
	void *hva;
};

struct kvmdbg_stub_config {
	const struct kvmdbg_arch_ops *arch;
	const struct kvmdbg_caps *caps;	/* from arch->probe() */
	struct kvmdbg_mem mem;
	int signo;			/* signal used to kick vCPU threads */
	bool wait;			/* hold vCPUs until gdb continues */
	/* Called (from the stub thread) when gdb asks to kill the guest. */
	void (*kill)(void *opaque);
	void *opaque;
};

/* NULL with errno set on failure: EINVAL when a register of the arch is
 * larger than its max_reg_size. */
struct kvmdbg_stub *kvmdbg_stub_new(const struct kvmdbg_stub_config *cfg);
void kvmdbg_stub_free(struct kvmdbg_stub *stub);

/*
 * Lets watchpoints beyond the debug registers write-protect or unmap guest
 * pages by re-laying the RAM slots out: the VM, its RAM slots (the array
 * must outlive the stub), and nspare slot ids from spare_slot that nobody
 * else uses.  Without this call such watchpoints are refused.  The stub
 * handles the MMIO exits these pages cause in kvmdbg_vcpu_post_run.
 */
void kvmdbg_stub_set_memslots(struct kvmdbg_stub *stub, int vm_fd,
			      const struct kvmdbg_ram_slot *ram, unsigned nram,
			      uint32_t spare_slot, unsigned nspare);

/* Registers a vCPU before kvmdbg_stub_start(); returns its index or -errno. */
int kvmdbg_stub_add_vcpu(struct kvmdbg_stub *stub, int vcpu_fd,
			 struct kvm_run *run);

/*
 * "tcp:HOST:PORT" (PORT 0 picks a free one) or "unix:PATH".  On failure
 * returns -1 and writes a message a user can act on into err.  On success
 * writes the address actually bound into bound (e.g. the real port).
 */
int kvmdbg_stub_listen(struct kvmdbg_stub *stub, const char *spec,
		       char *bound, size_t bound_len, char *err, size_t err_len);
/* Starts the connection thread; 0 or -errno. */
int kvmdbg_stub_start(struct kvmdbg_stub *stub);

/* vCPU thread hooks, see above. */
void kvmdbg_vcpu_pre_run(struct kvmdbg_stub *stub, unsigned vcpu);
/*
 * After KVM_RUN returned (err is its errno, or 0).  Returns true when the
 * exit was the stub's business and has been dealt with; false when the
 * VMM must handle it.  An emulation failure that is not a trap instruction
 * is left to the VMM.
 */
bool kvmdbg_vcpu_post_run(struct kvmdbg_stub *stub, unsigned vcpu, int err);

/*
 * false while the vCPU executes single instructions for gdb: a VMM that
 * injects interrupts itself holds them back then, so a step never lands
 * in an interrupt handler.  Call from the vCPU thread after pre_run.
 */
bool kvmdbg_vcpu_may_interrupt(struct kvmdbg_stub *stub, unsigned vcpu);

/* The guest ended with this status: tells gdb, then lets the stub end. */
void kvmdbg_stub_guest_exited(struct kvmdbg_stub *stub, int status);

#endif
