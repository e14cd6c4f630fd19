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
#define DR6_HIT_MASK	0xfu
#define DR6_FIXED	0xffff0ff0u	/* architecturally reads as one */

#define VEC_DB	1
#define VEC_BP	3

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

static int inject(int vcpu_fd, unsigned vector)
{
	struct kvm_vcpu_events events;

	if (ioctl(vcpu_fd, KVM_GET_VCPU_EVENTS, &events) < 0)
		return -errno;
	events.exception.injected = 1;
	events.exception.nr = vector;
	events.exception.has_error_code = 0;
	events.exception.error_code = 0;
	if (ioctl(vcpu_fd, KVM_SET_VCPU_EVENTS, &events) < 0)
		return -errno;
	return 0;
}

int x86_deliver(int vcpu_fd, void *regs, const struct kvm_run *run,
		const struct kd_debug_event *ev)
{
	struct x86_regs *r = regs;
	int err;

	if (ev->trap_insn) {
		/* #BP is a trap: the guest's handler returns after the int3. */
		r->regs.rip += 1;
		r->dirty |= X86_DIRTY_REGS;
		err = x86_regs_store(vcpu_fd, r);
		if (err)
			return err;
		r->dirty = 0;
		return inject(vcpu_fd, VEC_BP);
	}

	struct kvm_debugregs dr;

	if (ioctl(vcpu_fd, KVM_GET_DEBUGREGS, &dr) < 0)
		return -errno;
	dr.dr6 = DR6_FIXED | (run->debug.arch.dr6 & (DR6_HIT_MASK | X86_DR6_BS));
	if (ioctl(vcpu_fd, KVM_SET_DEBUGREGS, &dr) < 0)
		return -errno;
	return inject(vcpu_fd, VEC_DB);
}
