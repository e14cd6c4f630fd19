/* SPDX-License-Identifier: MIT */
/*
 * Learns what the host KVM really does with each debug mechanism by running
 * tiny 32-bit protected-mode snippets in a scratch VM.  Capability bits
 * alone cannot tell: an emulating KVM may advertise guest debug and still
 * report an int3 as an emulation failure, or never fire data breakpoints.
 * Two more snippets have handlers of their own for #BP and #DB, and check
 * that what the stub hands back to a guest arrives as hardware would have
 * delivered it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86.h"

#define PROBE_RAM	0x10000
#define STEP_CODE	0x1000
#define SWBP_CODE	0x1100
#define HWBP_CODE	0x1200
#define WATCH_CODE	0x1300
#define WATCH_DATA	0x2000
#define BP_HANDLER	0x1400
#define DB_HANDLER	0x1480
#define SEEN		0x2100	/* what the handlers saw: */
#define SEEN_BP_RET	(SEEN + 0)	/* #BP return address */
#define SEEN_DB_RET	(SEEN + 4)	/* #DB return address */
#define SEEN_DR6	(SEEN + 8)
#define SEEN_DR7	(SEEN + 12)
#define IDT		0x3000
#define GDT		0x3800
#define VEC_DB		1
#define VEC_BP		3
/* A return address further off than this is no length mistake. */
#define MAX_PC_FIX	15

static const uint8_t step_code[] = { 0x90, 0x90, 0xf4 };	/* nop nop hlt */
static const uint8_t swbp_code[] = { 0xcc, 0xf4 };		/* int3 hlt */
static const uint8_t hwbp_code[] = { 0x90, 0x90, 0xf4 };
/* mov [WATCH_DATA], eax ; hlt */
static const uint8_t watch_code[] = { 0xa3, 0x00, 0x20, 0x00, 0x00, 0xf4 };
/* mov eax, [esp] ; mov [SEEN_BP_RET], eax ; hlt */
static const uint8_t bp_handler[] = {
	0x8b, 0x04, 0x24, 0xa3, 0x00, 0x21, 0x00, 0x00, 0xf4,
};
/* mov eax, [esp] ; mov [SEEN_DB_RET], eax ; mov eax, dr6 ;
 * mov [SEEN_DR6], eax ; mov eax, dr7 ; mov [SEEN_DR7], eax ; hlt */
static const uint8_t db_handler[] = {
	0x8b, 0x04, 0x24, 0xa3, 0x04, 0x21, 0x00, 0x00,
	0x0f, 0x21, 0xf0, 0xa3, 0x08, 0x21, 0x00, 0x00,
	0x0f, 0x21, 0xf8, 0xa3, 0x0c, 0x21, 0x00, 0x00, 0xf4,
};
/* Null, flat 32-bit code (selector 8), flat data (0x10): delivering an
 * exception reloads CS from here. */
static const uint64_t gdt[] = {
	0, 0x00cf9b000000ffffull, 0x00cf93000000ffffull,
};

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

static int set_cpuid(int kvm_fd, int vcpu)
{
	int n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	int ret = 0;

	if (!c)
		return -ENOMEM;
	c->nent = n;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0 ||
	    ioctl(vcpu, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

/* A present 32-bit interrupt gate, DPL 0, into the flat code segment. */
static void idt_gate(uint8_t *ram, unsigned vector, uint32_t handler)
{
	uint64_t gate = (handler & 0xffffu) | (8ull << 16) | (0x8eull << 40) |
			((uint64_t)(handler >> 16) << 48);

	memcpy(ram + IDT + vector * 8, &gate, sizeof(gate));
}

static int scratch_open(int kvm_fd, const struct kvmdbg_probe_env *env,
			struct kvmdbg_scratch *s, char *note, size_t len)
{
	struct kvm_sregs sregs;
	int err = env->scratch_open(kvm_fd, PROBE_RAM, s);

	if (!err)
		err = set_cpuid(kvm_fd, s->vcpu);
	if (!err && ioctl(s->vcpu, KVM_GET_SREGS, &sregs) < 0)
		err = -errno;
	if (!err) {
		flat_segment(&sregs.cs, 8, 0xb);
		flat_segment(&sregs.ds, 0x10, 3);
		sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
		sregs.cr0 = X86_CR0_PE | 0x10;
		sregs.gdt.base = GDT;
		sregs.gdt.limit = sizeof(gdt) - 1;
		sregs.idt.base = IDT;
		sregs.idt.limit = 32 * 8 - 1;
		if (ioctl(s->vcpu, KVM_SET_SREGS, &sregs) < 0)
			err = -errno;
	}
	if (err) {
		snprintf(note, len, "probe VM could not be set up: %s", strerror(-err));
		return -1;
	}
	memcpy(s->ram + STEP_CODE, step_code, sizeof(step_code));
	memcpy(s->ram + SWBP_CODE, swbp_code, sizeof(swbp_code));
	memcpy(s->ram + HWBP_CODE, hwbp_code, sizeof(hwbp_code));
	memcpy(s->ram + WATCH_CODE, watch_code, sizeof(watch_code));
	memcpy(s->ram + BP_HANDLER, bp_handler, sizeof(bp_handler));
	memcpy(s->ram + DB_HANDLER, db_handler, sizeof(db_handler));
	memcpy(s->ram + GDT, gdt, sizeof(gdt));
	idt_gate(s->ram, VEC_BP, BP_HANDLER);
	idt_gate(s->ram, VEC_DB, DB_HANDLER);
	return 0;
}

/* Runs from rip until the first exit; false when an ioctl failed. */
static bool scratch_run(struct kvmdbg_scratch *s, uint64_t rip,
			const struct kvm_guest_debug *dbg)
{
	struct kvm_regs regs = { .rip = rip, .rflags = 2, .rsp = 0x8000 };

	if (ioctl(s->vcpu, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(s->vcpu, KVM_SET_GUEST_DEBUG, dbg) < 0)
		return false;
	return ioctl(s->vcpu, KVM_RUN, 0) == 0;
}

static bool debug_exit_at(const struct kvmdbg_scratch *s, uint32_t exception,
			  uint64_t dr6_bits, uint64_t pc)
{
	const struct kvm_debug_exit_arch *d = &s->run->debug.arch;

	if (s->run->exit_reason != KVM_EXIT_DEBUG || d->exception != exception)
		return false;
	if (dr6_bits && (d->dr6 & dr6_bits) != dr6_bits)
		return false;
	return pc == UINT64_MAX || d->pc == pc;
}

static enum kvmdbg_mechanism probe_swbp(struct kvmdbg_scratch *s)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP,
	};
	struct kvm_regs regs;

	if (!scratch_run(s, SWBP_CODE, &dbg))
		return KVMDBG_MECH_NONE;
	if (debug_exit_at(s, 3, 0, SWBP_CODE))
		return KVMDBG_MECH_DEBUG_EXIT;
	if (s->run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    s->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    ioctl(s->vcpu, KVM_GET_REGS, &regs) == 0 && regs.rip == SWBP_CODE)
		return KVMDBG_MECH_EMULATION_EXIT;
	return KVMDBG_MECH_NONE;
}

static enum kvmdbg_mechanism probe_dr(struct kvmdbg_scratch *s, uint64_t rip,
				      uint64_t addr, uint64_t dr7,
				      uint64_t expect_pc)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
	};

	dbg.arch.debugreg[0] = addr;
	dbg.arch.debugreg[7] = dr7;
	if (!scratch_run(s, rip, &dbg))
		return KVMDBG_MECH_NONE;
	return debug_exit_at(s, 1, 1, expect_pc) ? KVMDBG_MECH_DEBUG_EXIT
						  : KVMDBG_MECH_NONE;
}

static enum kvmdbg_mechanism probe_step(struct kvmdbg_scratch *s)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};

	if (!scratch_run(s, STEP_CODE, &dbg))
		return KVMDBG_MECH_NONE;
	return debug_exit_at(s, 1, X86_DR6_BS, STEP_CODE + 1)
		       ? KVMDBG_MECH_DEBUG_EXIT : KVMDBG_MECH_NONE;
}

/*
 * KVM_CAP_SYNC_REGS: with the general and system registers in
 * kvm_valid_regs, an exit leaves them in kvm_run.s and a stop needs no
 * ioctl to read them.  Trusted only when a step's exit left there what
 * KVM_GET_REGS and KVM_GET_SREGS then read.
 */
static uint64_t probe_sync_regs(int kvm_fd, struct kvmdbg_scratch *s)
{
	const uint64_t want = KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS;
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};
	const struct kvm_sync_regs *sync = &s->run->s.regs;
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	int offered = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SYNC_REGS);
	bool same;

	if (offered <= 0 || ((uint64_t)offered & want) != want)
		return 0;
	memset(&s->run->s, 0, sizeof(s->run->s));
	s->run->kvm_valid_regs = want;
	s->run->kvm_dirty_regs = 0;
	same = scratch_run(s, STEP_CODE, &dbg) &&
	       ioctl(s->vcpu, KVM_GET_REGS, &regs) == 0 &&
	       ioctl(s->vcpu, KVM_GET_SREGS, &sregs) == 0 &&
	       regs.rip == STEP_CODE + 1 &&
	       !memcmp(&regs, &sync->regs, sizeof(regs)) &&
	       sregs.cr0 == sync->sregs.cr0 && sregs.cr3 == sync->sregs.cr3 &&
	       sregs.cr4 == sync->sregs.cr4 && sregs.efer == sync->sregs.efer &&
	       sregs.cs.base == sync->sregs.cs.base &&
	       sregs.cs.selector == sync->sregs.cs.selector &&
	       sregs.cs.l == sync->sregs.cs.l && sregs.cs.db == sync->sregs.cs.db;
	s->run->kvm_valid_regs = 0;
	return same ? want : 0;
}

static uint32_t seen(const struct kvmdbg_scratch *s, uint32_t at)
{
	uint32_t v;

	memcpy(&v, s->ram + at, sizeof(v));
	return v;
}

/*
 * Hands the debug event the vCPU has just exited with to the guest, by the
 * path the stub takes for one the guest owns, and runs the guest's handler
 * to its hlt.  false with *why filled when that did not happen.
 */
static bool deliver_and_run(struct kvmdbg_scratch *s, const struct kvmdbg_caps *caps,
			    char *why, size_t len)
{
	struct kd_hwslots pools[2] = { 0 };
	struct kd_debug_event ev;
	struct x86_regs *r = calloc(1, sizeof(*r));
	unsigned pool;
	int err = r ? x86_regs_load(s->vcpu, r) : -ENOMEM;
	bool ok = false;

	memset(s->ram + SEEN, 0xff, 16);
	if (err)
		snprintf(why, len, "registers could not be read: %s", strerror(-err));
	else if (x86_decode_exit(s->run, r, pools, &ev, &pool) == KVMDBG_EXIT_OTHER)
		snprintf(why, len, "the probe guest's exit (reason %u) was no debug event",
			 s->run->exit_reason);
	else if ((err = x86_deliver(s->vcpu, r, s->run, caps, &ev)) < 0)
		snprintf(why, len, "delivery failed: %s", strerror(-err));
	else if (ioctl(s->vcpu, KVM_RUN, 0) < 0)
		snprintf(why, len, "KVM_RUN failed: %s", strerror(errno));
	else if (s->run->exit_reason != KVM_EXIT_HLT)
		snprintf(why, len, "the probe guest's handler did not run (exit reason %u)",
			 s->run->exit_reason);
	else
		ok = true;
	free(r);
	return ok;
}

/* The guest's own int3 at SWBP_CODE, delivered: where its handler would
 * return to, or false with *why filled. */
static bool int3_return(struct kvmdbg_scratch *s, const struct kvmdbg_caps *caps,
			uint32_t *ret, char *why, size_t len)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP,
	};

	if (!scratch_run(s, SWBP_CODE, &dbg)) {
		snprintf(why, len, "the probe guest could not run: %s", strerror(errno));
		return false;
	}
	if (!deliver_and_run(s, caps, why, len))
		return false;
	*ret = seen(s, SEEN_BP_RET);
	return true;
}

/*
 * The guest's #BP handler must return right after its int3.  Where it
 * does not, the distance is taken off at delivery for exits of this kind,
 * and checked again.
 */
static void probe_trap_delivery(struct kvmdbg_scratch *s, struct kvmdbg_caps *caps)
{
	const uint32_t want = SWBP_CODE + 1;
	const char *kind = caps->swbp == KVMDBG_MECH_DEBUG_EXIT ? "KVM_EXIT_DEBUG"
							      : "emulation-failure";
	char why[96];
	uint32_t ret, again;
	int off;

	if (!caps->swbp) {
		snprintf(caps->trap_delivery, sizeof(caps->trap_delivery),
			 "not verified: this host does not report int3 to kvmdbg");
		return;
	}
	if (!int3_return(s, caps, &ret, why, sizeof(why))) {
		snprintf(caps->trap_delivery, sizeof(caps->trap_delivery),
			 "not verified: %s; kvmdbg delivers as KVM documents", why);
		return;
	}
	off = (int)(int32_t)(ret - want);
	if (!off) {
		snprintf(caps->trap_delivery, sizeof(caps->trap_delivery),
			 "verified (the handler returns right after the int3; %s exits)",
			 kind);
		return;
	}
	if (off < -MAX_PC_FIX || off > MAX_PC_FIX) {
		snprintf(caps->trap_delivery, sizeof(caps->trap_delivery),
			 "wrong: the handler saw return address %#x for an int3 at %#x (%s exits); kvmdbg delivers as KVM documents",
			 ret, SWBP_CODE, kind);
		return;
	}
	caps->trap_pc_fix = off;
	caps->trap_fix_exit = caps->swbp;
	if (int3_return(s, caps, &again, why, sizeof(why)) && again == want) {
		snprintf(caps->trap_delivery, sizeof(caps->trap_delivery),
			 "corrected: the handler returned %+d byte(s) off the instruction after the int3 (%s exits); kvmdbg moves the pc by %d first, verified",
			 off, kind, -off);
		return;
	}
	caps->trap_pc_fix = 0;
	caps->trap_fix_exit = KVMDBG_MECH_NONE;
	snprintf(caps->trap_delivery, sizeof(caps->trap_delivery),
		 "wrong: the handler returned %+d byte(s) off the instruction after the int3 (%s exits), moving the pc did not help; kvmdbg delivers as KVM documents",
		 off, kind);
}

/*
 * A debug-register breakpoint at HWBP_CODE + 1 delivered to the guest as
 * its own: a fault, so the handler returns to that instruction, and DR6
 * names DR0 alone while keeping the BS the guest has not cleared.
 */
static void probe_debug_delivery(struct kvmdbg_scratch *s, struct kvmdbg_caps *caps)
{
	const uint32_t want_ret = HWBP_CODE + 1;
	const uint32_t want_dr6 = 0xffff0ff0u | (uint32_t)X86_DR6_BS | 1u;
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP,
	};
	struct kvm_debugregs dr;
	char why[96];
	uint32_t ret, dr6, dr7;

	if (!caps->hwbp) {
		snprintf(caps->debug_delivery, sizeof(caps->debug_delivery),
			 "not verified: debug-register breakpoints do not exit to kvmdbg on this host");
		return;
	}
	if (probe_dr(s, HWBP_CODE, HWBP_CODE + 1, 0x602, HWBP_CODE + 1) != KVMDBG_MECH_DEBUG_EXIT) {
		snprintf(caps->debug_delivery, sizeof(caps->debug_delivery),
			 "not verified: the debug-register breakpoint did not fire again");
		return;
	}
	/* The breakpoint is the guest's from here on: kvmdbg's own goes, and
	 * the guest has a stale B1 and an uncleared BS in DR6. */
	if (ioctl(s->vcpu, KVM_SET_GUEST_DEBUG, &dbg) < 0 ||
	    ioctl(s->vcpu, KVM_GET_DEBUGREGS, &dr) < 0) {
		snprintf(caps->debug_delivery, sizeof(caps->debug_delivery),
			 "not verified: %s", strerror(errno));
		return;
	}
	dr.dr6 = 0xffff0ff0u | X86_DR6_BS | 2u;
	if (ioctl(s->vcpu, KVM_SET_DEBUGREGS, &dr) < 0) {
		snprintf(caps->debug_delivery, sizeof(caps->debug_delivery),
			 "not verified: KVM_SET_DEBUGREGS failed: %s", strerror(errno));
		return;
	}
	if (!deliver_and_run(s, caps, why, sizeof(why))) {
		snprintf(caps->debug_delivery, sizeof(caps->debug_delivery),
			 "not verified: %s", why);
		return;
	}
	ret = seen(s, SEEN_DB_RET);
	dr6 = seen(s, SEEN_DR6);
	dr7 = seen(s, SEEN_DR7);
	if (ret == want_ret && dr6 == want_dr6 && !(dr7 & (1u << 13)))
		snprintf(caps->debug_delivery, sizeof(caps->debug_delivery),
			 "verified (the handler sees DR6 %#x and returns to the breakpoint)",
			 dr6);
	else
		snprintf(caps->debug_delivery, sizeof(caps->debug_delivery),
			 "wrong: the handler saw DR6 %#x (not %#x), DR7 %#x, return address %#x (not %#x)",
			 dr6, want_dr6, dr7, ret, want_ret);
}

void x86_probe(int kvm_fd, const struct kvmdbg_probe_env *env, struct kvmdbg_caps *caps)
{
	struct kvmdbg_scratch s;

	if (!env->common_caps(kvm_fd, caps))
		return;
	caps->hw_bps = caps->hw_wps = 4;
	caps->hw_shared = true;
	caps->blockirq = caps->debug_flags & KVM_GUESTDBG_BLOCKIRQ;
	if (scratch_open(kvm_fd, env, &s, caps->note, sizeof(caps->note)) < 0) {
		env->scratch_close(&s);
		return;
	}
	caps->step = probe_step(&s);
	if (caps->step)
		caps->sync_regs = probe_sync_regs(kvm_fd, &s);
	caps->swbp = probe_swbp(&s);
	/* DR0 execute at the second nop: G0, RW0=00, LEN0=00. */
	caps->hwbp = probe_dr(&s, HWBP_CODE, HWBP_CODE + 1, 0x602,
			      HWBP_CODE + 1);
	/* DR0 write of 4 bytes: G0, RW0=01, LEN0=11.  A trap: the pc is
	 * after the store, which the check leaves open. */
	caps->watch = probe_dr(&s, WATCH_CODE, WATCH_DATA, 0x602 | (0xdull << 16),
			       UINT64_MAX);
	if (!caps->hwbp)
		caps->hw_bps = 0;
	if (!caps->watch)
		caps->hw_wps = 0;
	probe_trap_delivery(&s, caps);
	probe_debug_delivery(&s, caps);
	env->scratch_close(&s);
}
