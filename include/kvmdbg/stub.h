/* SPDX-License-Identifier: MIT */
/*
 * The embeddable GDB stub.  A VMM creates one per VM, registers its vCPUs,
 * gives it a gdb connection (it listens, or takes a connected socket),
 * starts it, and calls the hooks below from each vCPU thread:
 *
 *	for (;;) {
 *		kvmdbg_vcpu_pre_run(stub, i);		(may block while stopped)
 *		r = kvmdbg_kvm_run(arch, vcpu_fd, &repaired);	(host.h)
 *		if (kvmdbg_vcpu_post_run(stub, i, r < 0 ? errno : 0))
 *			continue;			(the stub's exit, handled)
 *		...the VMM's own exits (I/O, MMIO, ...)
 *	}
 *
 * and kvmdbg_stub_guest_exited() when the guest ends.  docs/embedding.md
 * tells the whole contract; in short:
 *
 * - The stub stops a vCPU by making KVM_RUN return: by default it sets
 *   kvm_run.immediate_exit and sends `signo` to the thread that last
 *   called kvmdbg_vcpu_pre_run for it.  The VMM installs a handler for
 *   signo (one that does nothing will do) WITHOUT SA_RESTART before
 *   kvmdbg_stub_start, and uses signo for nothing else.  The VMM may
 *   interrupt KVM_RUN with signals of its own: post_run treats EINTR as
 *   handled and the loop simply goes round.  A VMM that kicks vCPUs its
 *   own way supplies ops.kick instead.
 * - The stub clears immediate_exit only when it set it itself (with
 *   ops.kick, never: the flag is then the VMM's).
 * - The stub reads and writes a vCPU's KVM state (registers, guest debug,
 *   vCPU events) only inside pre_run and post_run on that vCPU's thread,
 *   or from its own thread while the vCPU is parked inside pre_run.  A
 *   VMM that caches vCPU state writes it back to KVM before calling either
 *   hook; ops.vcpu_changed tells it when the stub wrote some.
 * - While no debugger is attached, pre_run returns at once, without a
 *   lock, and post_run only looks at the exit.
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

/*
 * What the stub asks of the VMM beyond guest memory.  Each may be NULL for
 * today's behaviour, the default named; a VMM's own callback may do its
 * bookkeeping and then call that default.  All get config.opaque.
 */
struct kvmdbg_vmm_ops {
	/* Make KVM_RUN of this vCPU return soon (from the stub thread, with
	 * the stub's lock held: do not call back into the stub).
	 * kvmdbg_vcpu_kick_default(). */
	void (*kick)(void *opaque, struct kvmdbg_stub *stub, unsigned vcpu);
	/* Change one memory slot of guest RAM: the stub splits the slots of
	 * kvmdbg_stub_set_memslots() to write-protect (KVM_MEM_READONLY) or
	 * unmap (size 0) watched pages, always with every vCPU out of
	 * KVM_RUN.  A VMM with dirty logging adds its flags here.  0 or
	 * -errno.  kvmdbg_set_memslot_default(). */
	int (*set_memslot)(void *opaque, int vm_fd,
			   const struct kvm_userspace_memory_region *region);
	/* The stub wrote this vCPU's state into KVM (registers, a pending
	 * exception, the interrupt mask of a step): a VMM that caches vCPU
	 * state reads it again.  Called where the stub may touch that state
	 * (see above).  NULL: nothing to do. */
	void (*vcpu_changed)(void *opaque, unsigned vcpu);
};

struct kvmdbg_stub_config {
	const struct kvmdbg_arch_ops *arch;	/* kvmdbg_arch() */
	const struct kvmdbg_caps *caps;	/* from kvmdbg_arch_probe(), kept */
	struct kvmdbg_mem mem;
	int signo;			/* signal used to kick vCPU threads */
	bool wait;			/* hold vCPUs until gdb continues */
	/* Called (from the stub thread) when gdb asks to kill the guest. */
	void (*kill)(void *opaque);
	/* One line (no newline) for the VMM's log, from any thread; NULL:
	 * "kvmdbg: LINE" on stderr. */
	void (*log)(void *opaque, const char *line);
	struct kvmdbg_vmm_ops ops;
	void *opaque;
};

/* NULL with errno set on failure: EINVAL when a register of the arch is
 * larger than its max_reg_size. */
struct kvmdbg_stub *kvmdbg_stub_new(const struct kvmdbg_stub_config *cfg);
/*
 * Stops the stub as kvmdbg_stub_stop does, waits for its thread and frees
 * it.  Safe while the stub's thread runs and gdb is attached; the vCPU
 * threads must no longer call the hooks (their vCPUs count as stopped);
 * the vCPU fds and guest RAM must still be there (breakpoints are taken
 * out of guest memory).
 */
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
/*
 * Instead of listening: fd is a connected stream socket (one the VMM
 * accepted, or one end of a socketpair) that gdb speaks on.  The stub
 * owns it from now on.  When it closes, gdb is gone as after a
 * disconnect and no other can attach.  0, or -EBUSY when the stub already
 * listens, has a connection or runs.
 */
int kvmdbg_stub_connect_fd(struct kvmdbg_stub *stub, int fd);
/* Starts the stub's thread; 0 or -errno (-EINVAL: no vCPU, or neither
 * kvmdbg_stub_listen nor kvmdbg_stub_connect_fd). */
int kvmdbg_stub_start(struct kvmdbg_stub *stub);
/*
 * Asks the stub's thread to end, without waiting: gdb is disconnected as
 * if it had gone (breakpoints and watchpoints removed), a guest held for
 * gdb is let go, the listening socket is closed.  The vCPU threads must
 * go on calling the hooks until kvmdbg_stub_join returns (they are
 * stopped for the breakpoints to go); after that the guest runs
 * undebugged.
 */
void kvmdbg_stub_stop(struct kvmdbg_stub *stub);
/* Waits for the stub's thread to end (after kvmdbg_stub_stop, or after
 * kvmdbg_stub_guest_exited); returns at once when it is not running. */
void kvmdbg_stub_join(struct kvmdbg_stub *stub);

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

/* The guest ended with this status: tells gdb (waiting up to 2 seconds
 * for the reply to go out), then lets the stub end. */
void kvmdbg_stub_guest_exited(struct kvmdbg_stub *stub, int status);

/*
 * The guest was reset in place: the VMM put guest RAM and every vCPU back
 * to their power-on state, without changing the memory slots.  Call it
 * with no vCPU in KVM_RUN or inside a hook, before any runs again.  gdb
 * stays attached and keeps its breakpoints, which are written into the
 * new memory; a stop gdb was about to hear of still comes.
 */
void kvmdbg_stub_reset(struct kvmdbg_stub *stub);

/* The defaults of struct kvmdbg_vmm_ops. */
void kvmdbg_vcpu_kick_default(struct kvmdbg_stub *stub, unsigned vcpu);
int kvmdbg_set_memslot_default(int vm_fd, const struct kvm_userspace_memory_region *region);

#endif
