/* SPDX-License-Identifier: MIT */
/*
 * Architecture backend interface.  Everything the generic stub must not
 * know about an instruction set lives behind one table: trap instruction
 * bytes, register layout and target description, debug-register encodings,
 * decoding of debug exits, delivery of exceptions the stub does not own,
 * guest page-table walks and the host capability probe.
 */
#ifndef KVMDBG_ARCH_H
#define KVMDBG_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "kvmdbg/debug_core.h"

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

enum kvmdbg_exit_class {
	KVMDBG_EXIT_OTHER,	/* not a debug event */
	KVMDBG_EXIT_DEBUG,	/* a debug event; the decoded event is exact */
	KVMDBG_EXIT_MAYBE_TRAP,	/* emulation failure at pc: a debug event only
				 * if the trap instruction is there */
};

/* How the processor itself uses a guest page (arch cpu_pages). */
enum kvmdbg_cpu_use {
	KVMDBG_CPU_PAGE_TABLES,	/* walked to translate addresses */
	KVMDBG_CPU_IDT,		/* read to deliver interrupts and exceptions */
	KVMDBG_CPU_DESCRIPTORS,	/* GDT entries and the TSS read to deliver them */
	KVMDBG_CPU_FRAMES,	/* where it pushes an interrupt or exception frame */
};

typedef void (*kvmdbg_cpu_page_fn)(uint64_t gpa, enum kvmdbg_cpu_use use, void *opaque);

/* What a backend that holds interrupts off a step itself keeps from just
 * before one KVM_RUN of the step to just after it. */
struct kvmdbg_step_mask {
	bool active;		/* the guest's mask was changed for this run */
	uint64_t pc;		/* where the step started */
	uint64_t forced;	/* mask bits set that the guest had clear */
	uint32_t insn;		/* the instruction at pc, when insn_known */
	bool insn_known;
};

struct kvmdbg_arch_ops {
	const char *name;
	/* The register layout this table describes: target_xml's
	 * <architecture>, LLDB's target triple, bytes of a pointer. */
	const char *gdb_arch;
	const char *triple;
	unsigned ptr_size;
	const char *target_xml;
	const uint8_t *trap;		/* breakpoint instruction, target order */
	size_t trap_len;
	const char *trap_name;		/* for people: "int3" */
	const char *hw_name;		/* for people: "DR0-DR3" */
	/* Fetching an instruction from guest RAM with no memory slot exits to
	 * userspace (rather than faulting the guest): pages can be unmapped
	 * to watch reads. */
	bool fetch_from_unmapped_exits;
	/* gdb expects watchpoints to stop before the access (and steps the
	 * instruction itself), as arm64 hardware does; x86 stops after. */
	bool watch_before_access;
	unsigned nregs;			/* gdb register numbers 0..nregs-1 */
	unsigned pc_regnum, sp_regnum, fp_regnum;
	size_t regs_size;		/* bytes of the register cache */
	/* Bytes of the largest register: reg_size never exceeds it, and the
	 * stub sizes its buffers for one register from it. */
	size_t max_reg_size;

	/* Register cache <-> vCPU.  0 or -errno (errno from the ioctl).
	 * regs_store writes back only what reg_set changed. */
	int (*regs_load)(int vcpu_fd, void *regs);
	int (*regs_store)(int vcpu_fd, const void *regs);
	/* regs_load leaves out what costs most to read and what no stop
	 * needs (x86: the x87 and SSE state, an XSAVE image); this reads it
	 * into the cache, once, before register regno (nregs: any register)
	 * is read or written.  0 or -errno.  NULL where regs_load reads
	 * everything. */
	int (*regs_complete)(int vcpu_fd, void *regs, unsigned regno);
	/* What regs_load reads, from kvm_run.s after an exit taken with
	 * caps->sync_regs in kvm_valid_regs.  NULL without KVM_CAP_SYNC_REGS. */
	void (*regs_sync)(const struct kvm_run *run, void *regs);
	/* Size of register regno in the 'g' layout, at most max_reg_size; 0
	 * when it does not exist. */
	size_t (*reg_size)(unsigned regno);
	void (*reg_get)(const void *regs, unsigned regno, uint8_t *out);
	void (*reg_set)(void *regs, unsigned regno, const uint8_t *in);
	uint64_t (*pc)(const void *regs);
	void (*set_pc)(void *regs, uint64_t pc);

	/* Virtual to physical through the guest's own page tables.  Returns 0,
	 * or -EFAULT when unmapped.  *page_left is the bytes up to the end of
	 * the mapping's page, so callers split accesses correctly. */
	bool (*paging)(const void *regs);
	int (*translate)(const void *regs, const struct kvmdbg_mem *mem,
			 uint64_t gva, uint64_t *gpa, uint64_t *page_left);

	/* Calls fn for the guest pages the processor itself reads or writes
	 * for one vCPU as it now is, behind any watch (a page may come more
	 * than once).  A page the processor walks or reads without an
	 * exit the stub can serve cannot be unmapped, one it writes cannot
	 * be read-only either: interrupt or exception delivery through it
	 * would fault the guest.  Returns false when paging is off: which
	 * pages will hold page tables is then unknown.  NULL where the
	 * processor uses no page that way. */
	bool (*cpu_pages)(const void *regs, const struct kvmdbg_mem *mem,
			  kvmdbg_cpu_page_fn fn, void *opaque);

	/* -EINVAL when the hardware cannot express this breakpoint. */
	int (*hw_check)(enum kd_hw_type type, uint64_t addr, uint64_t len);
	/* Which pool a slot type draws from: 0 breakpoints, 1 watchpoints. */
	unsigned (*hw_pool)(enum kd_hw_type type);
	/* Fills *dbg: control flags for software breakpoints, single-step
	 * (keeping interrupts out when blockirq) and the debug registers
	 * from the pools (pools[1] unused when hw_shared). */
	void (*encode_debug)(struct kvm_guest_debug *dbg,
			     const struct kd_hwslots pools[2], bool swbp,
			     bool step, bool blockirq);
	/* Classifies a vCPU exit; fills ev for DEBUG and MAYBE_TRAP (then
	 * ev->pc is the faulting instruction's address).  *pool tells which
	 * pool ev->slots_hit refers to; pools are the slots as programmed,
	 * for hardware that reports a hit without naming the slot. */
	enum kvmdbg_exit_class (*decode_exit)(const struct kvm_run *run,
					      const void *regs,
					      const struct kd_hwslots pools[2],
					      struct kd_debug_event *ev,
					      unsigned *pool);
	/* Gives a debug event the stub does not own to the guest, exactly as
	 * the hardware would have, and updates regs to the vCPU's new state.
	 * caps are what the probe measured of this host's delivery. */
	int (*deliver)(int vcpu_fd, void *regs, const struct kvm_run *run,
		       const struct kvmdbg_caps *caps,
		       const struct kd_debug_event *ev);
	/* For hosts whose KVM cannot hold interrupts off a single step
	 * (arm64 has no BLOCKIRQ: an interrupt pending when the step starts
	 * is taken first and the step stops in the guest's handler).  The
	 * stub calls step_mask before each KVM_RUN of a step, to mask
	 * interrupts in the vCPU for that instruction, and step_unmask
	 * after it returns, to leave the guest in the state its own mask
	 * would have given (what the instruction read, wrote or saved of
	 * the mask included).  NULL where KVM does it (x86 BLOCKIRQ).
	 * 0 or -errno. */
	int (*step_mask)(int vcpu_fd, const struct kvmdbg_mem *mem,
			 struct kvmdbg_step_mask *m);
	int (*step_unmask)(int vcpu_fd, struct kvmdbg_step_mask *m);
	/* Runs probe guests in scratch VMs; never fails the caller: what
	 * cannot be probed is reported as KVMDBG_MECH_NONE with a note. */
	void (*probe)(int kvm_fd, struct kvmdbg_caps *caps);
};

/* Fills the capability bits every backend shares and zeroes the rest;
 * false (with a note) when the host has no guest debugging at all. */
bool kvmdbg_probe_caps(int kvm_fd, struct kvmdbg_caps *caps);

/* A throw-away VM for probes: RAM at guest-physical 0, one vCPU. */
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

/* The backend this library was built for. */
const struct kvmdbg_arch_ops *kvmdbg_arch(void);
/*
 * The same backend with the register layout and target description of
 * gdb's architecture gdb_arch (x86: "i386:x86-64", the default, or
 * "i386" for guests that run 32-bit code), or NULL when it has no such
 * view.  Views differ only in the fields that describe registers.
 */
const struct kvmdbg_arch_ops *kvmdbg_arch_view(const char *gdb_arch);

#endif
