/* SPDX-License-Identifier: MIT */
/*
 * Architecture backend interface.  Everything the generic stub must not
 * know about an instruction set lives behind one table: trap instruction
 * bytes, register layout and target description, debug-register encodings,
 * decoding of debug exits, delivery of exceptions the stub does not own,
 * guest page-table walks and the host capability probe.  Internal to
 * the library: an embedding VMM sees only kvmdbg/host.h.
 */
#ifndef KVMDBG_ARCH_H
#define KVMDBG_ARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#include "kvmdbg/debug_core.h"
#include "kvmdbg/host.h"

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

/* What a backend keeps from just before one KVM_RUN of a single step to
 * just after it (step_begin, step_end). */
struct kvmdbg_step_state {
	bool active;		/* step_end has work to do after this run */
	uint64_t pc;		/* where the step started */
	uint64_t sp;		/* x86: the stack pointer there */
	uint64_t forced;	/* arm64: mask bits set that the guest had clear */
	uint32_t insn;		/* arm64: the instruction at pc, when insn_known */
	bool insn_known;
	uint8_t insn_len;	/* x86: the length of the pushf at pc */
	uint8_t push_len;	/* x86: the bytes of flags that pushf stores */
};

/* Reads of watched RAM one vCPU made since its last other exit, kept for
 * the backend's read_restarted. */
#define KVMDBG_READ_RING	4	/* distinct reads before a restart */
struct kvmdbg_read_history {
	struct { uint64_t addr; uint32_t len; } reads[KVMDBG_READ_RING];
	unsigned n;
	bool repeated;		/* one of them came again at pc */
	uint64_t pc;
};

/* What a backend's probe gets from the rest of the library: throw-away
 * VMs to run its probe guests in, and the capability bits every backend
 * shares. */
struct kvmdbg_probe_env {
	int (*scratch_open)(int kvm_fd, size_t ram_size, struct kvmdbg_scratch *s);
	void (*scratch_close)(struct kvmdbg_scratch *s);
	bool (*common_caps)(int kvm_fd, struct kvmdbg_caps *caps);
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
	/* A single step must leave the guest as running the instruction
	 * would have, without what KVM or the stub changed to make it a
	 * step.  The stub calls step_begin before each KVM_RUN of a step,
	 * with regs when it holds the vCPU's current registers (else NULL),
	 * and, when it left st->active, step_end after that KVM_RUN returns.
	 * arm64, which has no BLOCKIRQ (an interrupt pending when the step
	 * starts is taken first and the step stops in the guest's handler),
	 * masks interrupts for the instruction and then gives the guest the
	 * state its own mask would have given, what the instruction read,
	 * wrote or saved of the mask included.  x86: a pushf stores the trap
	 * flag KVM set for the step, which the guest's popf or iret would
	 * load long after the debugger is gone; step_end takes it out of
	 * the image.  Both return 1 when they changed the vCPU's registers,
	 * else 0, or -errno.  NULL where nothing needs it. */
	int (*step_begin)(int vcpu_fd, const struct kvmdbg_mem *mem, const void *regs,
			  struct kvmdbg_step_state *st);
	int (*step_end)(int vcpu_fd, const struct kvmdbg_mem *mem,
			struct kvmdbg_step_state *st);
	/* Some reads the processor makes itself cannot be served as MMIO
	 * (x86: descriptor-table loads, interrupt delivery): KVM restarts
	 * the instruction and asks again.  Called for each read of watched
	 * RAM that hit no watch, with h empty after any other exit; true when
	 * the instruction is to run one step with the page mapped.  May load
	 * regs from the vCPU.  NULL where the processor makes no such reads
	 * of pages the stub unmaps. */
	bool (*read_restarted)(struct kvmdbg_read_history *h, uint64_t addr, uint32_t len,
			       int vcpu_fd, void *regs);
	/*
	 * A write to write-protected RAM that exited as MMIO by an instruction
	 * that read the same bytes first, inside KVM (x86: a locked
	 * read-modify-write, or xchg): KVM read the old value from the
	 * read-only slot and only hands over the result, so another vCPU's
	 * write in between would be lost.  code: the ncode bytes that end at
	 * the vCPU's pc; data: the len bytes KVM wants written; now: what
	 * they hold now.  True when the instruction was redone against now:
	 * out is to be written where *write, and where *regs_changed the
	 * registers in regs are to be stored.  lin_ok tells whether a linear
	 * address is the exit's.  NULL where no atomic access exits so.
	 */
	bool (*redo_locked_write)(void *regs, const uint8_t *code, size_t ncode, uint32_t len,
				  bool (*lin_ok)(uint64_t lin, void *opaque), void *opaque,
				  const uint8_t *data, const uint8_t *now, uint8_t *out,
				  bool *write, bool *regs_changed);
	/* A store KVM could not decode for the VMM (the exit names no
	 * access the stub could perform) to guest-physical *gpa, on a
	 * write-protected page: the stub steps it with the page writable.
	 * NULL where KVM decodes every access it exits for. */
	bool (*undecoded_store)(const struct kvm_run *run, uint64_t *gpa);
	/* Asks the VM to exit for those stores rather than fail KVM_RUN;
	 * 0 or -errno.  NULL where nothing needs asking. */
	int (*enable_undecoded_exits)(int vm_fd);
	/* KVM_RUN on vcpu_fd, returning as ioctl() does; *repaired when the
	 * host changed thread state it must not have (arm64: the thread
	 * pointer) and it was put back.  NULL where ioctl() is safe. */
	int (*vcpu_run)(int vcpu_fd, bool *repaired);
	/* Runs probe guests in scratch VMs from env; never fails the caller:
	 * what cannot be probed is reported as KVMDBG_MECH_NONE with a note. */
	void (*probe)(int kvm_fd, const struct kvmdbg_probe_env *env,
		      struct kvmdbg_caps *caps);
};

/* Fills the capability bits every backend shares and zeroes the rest;
 * false (with a note) when the host has no guest debugging at all. */
bool kvmdbg_probe_caps(int kvm_fd, struct kvmdbg_caps *caps);

#endif
