/* SPDX-License-Identifier: MIT */
/*
 * Debug registers and debug exits.  DR0-DR3 hold addresses; DR7 enables
 * each with a type (execute, write, read/write) and a length; DR6 says
 * which fired and whether a single-step trap completed.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86.h"

#define DR7_GE		(1u << 9)
#define DR7_LE		(1u << 8)
#define DR7_G(i)	(2u << ((i) * 2))
#define DR7_RW_SHIFT(i)	(16 + (i) * 4)
#define DR7_LEN_SHIFT(i) (18 + (i) * 4)
#define DR7_RW_EXEC	0u
#define DR7_RW_WRITE	1u
#define DR7_RW_ACCESS	3u
#define DR7_GD		(1u << 13)
#define DR6_HIT_MASK	0xfu
#define DR6_BD		(1u << 13)
#define DR6_BT		(1u << 15)
#define DR6_STICKY	(DR6_BD | X86_DR6_BS | DR6_BT)
#define DR6_EVENT	(DR6_HIT_MASK | DR6_STICKY)
#define DR6_FIXED	0xffff0ff0u	/* read as one while inactive */

#define VEC_DB	1
#define VEC_BP	3

#define OP_INT1	0xf1	/* ICEBP */

int x86_hw_check(enum kd_hw_type type, uint64_t addr, uint64_t len)
{
	switch (type) {
	case KD_HW_EXEC:
		return 0;
	case KD_HW_READ:
		/* DR7 has no read-only condition. */
		return -EINVAL;
	case KD_HW_WRITE:
	case KD_HW_ACCESS:
		if ((len == 1 || len == 2 || len == 4 || len == 8) &&
		    !(addr & (len - 1)))
			return 0;
		return -EINVAL;
	}
	return -EINVAL;
}

unsigned x86_hw_pool(enum kd_hw_type type)
{
	return 0;	/* DR0-DR3 serve breakpoints and watchpoints alike */
}

static uint32_t len_bits(uint64_t len)
{
	switch (len) {
	case 2: return 1;
	case 8: return 2;
	case 4: return 3;
	default: return 0;
	}
}

void x86_encode_debug(struct kvm_guest_debug *dbg,
		      const struct kd_hwslots pools[2], bool swbp, bool step,
		      bool blockirq)
{
	const struct kd_hwslots *s = &pools[0];
	uint64_t dr7 = 0;

	memset(dbg, 0, sizeof(*dbg));
	for (unsigned i = 0; i < s->n && i < 4; i++) {
		const struct kd_hwslot *slot = &s->slot[i];
		uint32_t rw;

		if (!slot->used)
			continue;
		rw = slot->type == KD_HW_EXEC ? DR7_RW_EXEC :
		     slot->type == KD_HW_WRITE ? DR7_RW_WRITE : DR7_RW_ACCESS;
		dbg->arch.debugreg[i] = slot->addr;
		dr7 |= DR7_G(i) | ((uint64_t)rw << DR7_RW_SHIFT(i));
		if (slot->type != KD_HW_EXEC)
			dr7 |= (uint64_t)len_bits(slot->len) << DR7_LEN_SHIFT(i);
	}
	if (dr7) {
		dbg->arch.debugreg[7] = dr7 | DR7_GE | DR7_LE;
		dbg->control |= KVM_GUESTDBG_USE_HW_BP;
	}
	if (swbp)
		dbg->control |= KVM_GUESTDBG_USE_SW_BP;
	if (step)
		dbg->control |= KVM_GUESTDBG_SINGLESTEP |
				(blockirq ? KVM_GUESTDBG_BLOCKIRQ : 0);
	if (dbg->control)
		dbg->control |= KVM_GUESTDBG_ENABLE;
}

enum kvmdbg_exit_class x86_decode_exit(const struct kvm_run *run,
				       const void *regs,
				       const struct kd_hwslots pools[2],
				       struct kd_debug_event *ev,
				       unsigned *pool)
{
	memset(ev, 0, sizeof(*ev));
	*pool = 0;
	if (run->exit_reason == KVM_EXIT_DEBUG) {
		const struct kvm_debug_exit_arch *d = &run->debug.arch;

		ev->pc = d->pc;
		if (d->exception == VEC_BP) {
			ev->trap_insn = true;
		} else {
			ev->slots_hit = d->dr6 & DR6_HIT_MASK;
			ev->stepped = d->dr6 & X86_DR6_BS;
		}
		return KVMDBG_EXIT_DEBUG;
	}
	/* Where guest code is emulated, an int3 is not emulated at all: KVM
	 * gives up with RIP still on it.  Only the bytes there can tell. */
	if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION) {
		ev->pc = x86_pc(regs);
		ev->trap_insn = true;
		return KVMDBG_EXIT_MAYBE_TRAP;
	}
	return KVMDBG_EXIT_OTHER;
}

/*
 * Where rip must be when the guest's own int3 goes back to it as #BP, so
 * that its handler finds the address after the int3 in its frame, as on
 * hardware.  #BP is a software exception: delivering it pushes the address
 * of the next instruction, and KVM must learn the int3's length somewhere.
 *
 * KVM_EXIT_DEBUG (VMX, SVM): rip stays on the int3.  VMX keeps the length
 * of the instruction behind the #BP exit (event_exit_inst_len) for exactly
 * this re-injection and gives it to VM entry with the soft exception; SVM
 * decodes the instruction at rip and injects with next_rip past it.  A rip
 * already past the int3 would come back one instruction too far.
 *
 * Emulation failure (where KVM emulates the guest and cannot run an int3):
 * no #BP exit happened, KVM has no length and delivers with the rip it is
 * given, which must then be past the int3.
 *
 * The probe checks the kind this host produces; what it found that kind
 * off by (caps->trap_pc_fix) is taken off.
 */
uint64_t x86_bp_inject_rip(enum kvmdbg_mechanism exit, uint64_t int3_rip,
			   const struct kvmdbg_caps *caps)
{
	uint64_t rip = exit == KVMDBG_MECH_DEBUG_EXIT ? int3_rip : int3_rip + 1;

	if (caps && caps->trap_fix_exit == exit)
		rip -= (uint64_t)(int64_t)caps->trap_pc_fix;
	return rip;
}

/*
 * Where rip must be when the guest's own #DB that exited with exit_dr6 goes
 * back to it.  #DB is injected as a hardware exception: the handler's frame
 * holds rip as it is, which is right for every #DB the CPU reports in DR6.
 *
 * ICEBP (int1) is the exception: its #DB is trap-like, so on hardware the
 * frame holds the address after the int1, and it sets no event bit in DR6.
 * Where its #DB exits to the stub (KVM_GUESTDBG_SINGLESTEP or USE_HW_BP
 * on), VMX intercepts ICEBP as an instruction: the exit comes with rip
 * still on the int1 and an exit qualification of 0 (KVM moves past the
 * int1 itself only when it delivers the #DB without exiting).  SVM exits
 * on the #DB as delivered, already past it.  So an exit with no event bit
 * whose code at pc is an int1 is one that rip must be moved past; any
 * other instruction there means the trap has already moved it.  The one
 * case the code cannot tell is SVM stopping past an int1 that is followed
 * by another: that delivers one int1 too far.
 */
uint64_t x86_db_inject_rip(uint64_t exit_dr6, const struct kd_debug_event *ev,
			   uint64_t rip)
{
	if (exit_dr6 & DR6_EVENT)
		return rip;
	if (ev->code_len >= 1 && ev->code[0] == OP_INT1)
		return rip + 1;
	return rip;
}

/*
 * DR6 and DR7 as the guest's handler must find them for its own #DB that
 * exited with exit_dr6, from the guest's dr6 and dr7: as the CPU does (and
 * KVM when it delivers a #DB itself), B0-B3 describe this exception alone,
 * BD, BS and BT add to what the guest has not cleared yet, the other bits
 * read as fixed, and entering the handler clears DR7.GD so that it may use
 * the debug registers.
 */
void x86_db_deliver_regs(uint64_t exit_dr6, uint64_t *dr6, uint64_t *dr7)
{
	*dr6 = (*dr6 & DR6_STICKY) | DR6_FIXED | (exit_dr6 & DR6_EVENT);
	*dr7 &= ~(uint64_t)DR7_GD;
}

/*
 * Injected, not pending: KVM_SET_REGS cancels a pending exception, and the
 * stub writes back registers gdb changed while the vCPU waits to enter its
 * handler.  KVM ignores the payload of an injected exception even when the
 * VMM enabled KVM_CAP_EXCEPTION_PAYLOAD, so DR6 is written beforehand.
 */
static int inject(int vcpu_fd, unsigned vector, bool retired)
{
	struct kvm_vcpu_events events;

	if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &events) < 0)
		return -errno;
	/* An instruction the stub retires for the CPU ends the STI or
	 * MOV SS blocking it ran under, as it would have by running. */
	if (retired) {
		events.interrupt.shadow = 0;
		events.flags |= KVM_VCPUEVENT_VALID_SHADOW;
	}
	events.exception.injected = 1;
	events.exception.pending = 0;
	events.exception.nr = vector;
	events.exception.has_error_code = 0;
	events.exception.error_code = 0;
	events.exception_has_payload = 0;
	events.exception_payload = 0;
	if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &events) < 0)
		return -errno;
	return 0;
}

static int set_rip(int vcpu_fd, struct x86_regs *r, uint64_t rip)
{
	int err;

	if (rip == r->regs.rip)
		return 0;
	r->regs.rip = rip;
	r->dirty |= X86_DIRTY_REGS;
	err = x86_regs_store(vcpu_fd, r);
	if (!err)
		r->dirty = 0;
	return err;
}

int x86_deliver(int vcpu_fd, void *regs, const struct kvm_run *run,
		const struct kvmdbg_caps *caps, const struct kd_debug_event *ev)
{
	struct x86_regs *r = regs;
	struct kvm_debugregs dr;
	uint64_t dr6, dr7, rip;
	int err;

	if (ev->trap_insn) {
		enum kvmdbg_mechanism exit = run->exit_reason == KVM_EXIT_DEBUG ?
			KVMDBG_MECH_DEBUG_EXIT : KVMDBG_MECH_EMULATION_EXIT;

		err = set_rip(vcpu_fd, r, x86_bp_inject_rip(exit, r->regs.rip, caps));
		if (err)
			return err;
		return inject(vcpu_fd, VEC_BP, false);
	}
	if (ioctl(vcpu_fd, KVM_GET_DEBUGREGS, &dr) < 0)
		return -errno;
	dr6 = dr.dr6;
	dr7 = dr.dr7;
	x86_db_deliver_regs(run->debug.arch.dr6, &dr6, &dr7);
	dr.dr6 = dr6;
	dr.dr7 = dr7;
	if (ioctl(vcpu_fd, KVM_SET_DEBUGREGS, &dr) < 0)
		return -errno;
	rip = r->regs.rip;
	err = set_rip(vcpu_fd, r, x86_db_inject_rip(run->debug.arch.dr6, ev, rip));
	if (err)
		return err;
	return inject(vcpu_fd, VEC_DB, r->regs.rip != rip);
}
