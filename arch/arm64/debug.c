/* SPDX-License-Identifier: MIT */
/*
 * Breakpoint and watchpoint control registers, debug exits decoded from
 * the exception syndrome, and exception entry emulated for the events
 * that are the guest's own: KVM arm64 has no ioctl to inject them.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "a64.h"
#include "watchrange.h"

#define ISS_WNR		(1u << 6)
#define VEC_CUR_SP0	0x000
#define VEC_CUR_SPX	0x200
#define VEC_LOWER_A64	0x400

int a64_hw_check(enum kd_hw_type type, uint64_t addr, uint64_t len)
{
	struct a64_watch_range r;

	if (type == KD_HW_EXEC)
		return addr & 3 ? -EINVAL : 0;
	return a64_watch_range(addr, len, &r);
}

unsigned a64_hw_pool(enum kd_hw_type type)
{
	return type == KD_HW_EXEC ? 0 : 1;
}

static void encode_watch(const struct kd_hwslot *w, __u64 *wcr, __u64 *wvr)
{
	uint64_t lsc = w->type == KD_HW_WRITE ? WCR_LSC_STORE :
		       w->type == KD_HW_READ ? WCR_LSC_LOAD :
		       WCR_LSC_LOAD | WCR_LSC_STORE;
	struct a64_watch_range r;

	/* Slots hold only what a64_hw_check accepted. */
	if (a64_watch_range(w->addr, w->len, &r) < 0) {
		*wcr = *wvr = 0;
		return;
	}
	*wvr = r.wvr;
	*wcr = CR_E | CR_EL1_EL0 | lsc | ((uint64_t)r.bas << WCR_BAS_SHIFT) |
	       ((uint64_t)r.mask << WCR_MASK_SHIFT);
}

void a64_encode_debug(struct kvm_guest_debug *dbg,
		      const struct kd_hwslots pools[2], bool swbp, bool step,
		      bool blockirq)
{
	bool hw = false;

	memset(dbg, 0, sizeof(*dbg));
	for (unsigned i = 0; i < pools[0].n && i < KVM_ARM_MAX_DBG_REGS; i++) {
		if (!pools[0].slot[i].used)
			continue;
		dbg->arch.dbg_bvr[i] = pools[0].slot[i].addr;
		dbg->arch.dbg_bcr[i] = CR_E | CR_EL1_EL0 | BCR_BAS_A64;
		hw = true;
	}
	for (unsigned i = 0; i < pools[1].n && i < KVM_ARM_MAX_DBG_REGS; i++) {
		if (!pools[1].slot[i].used)
			continue;
		encode_watch(&pools[1].slot[i], &dbg->arch.dbg_wcr[i],
			     &dbg->arch.dbg_wvr[i]);
		hw = true;
	}
	if (hw)
		dbg->control |= KVM_GUESTDBG_USE_HW;
	if (swbp)
		dbg->control |= KVM_GUESTDBG_USE_SW_BP;
	if (step)
		dbg->control |= KVM_GUESTDBG_SINGLESTEP;
	if (dbg->control)
		dbg->control |= KVM_GUESTDBG_ENABLE;
}

static bool watch_covers(const struct kd_hwslot *w, uint64_t far)
{
	struct a64_watch_range r;

	return a64_watch_range(w->addr, w->len, &r) == 0 &&
	       far >= r.first && far <= r.last;
}

enum kvmdbg_exit_class a64_decode_exit(const struct kvm_run *run,
				       const void *regs,
				       const struct kd_hwslots pools[2],
				       struct kd_debug_event *ev,
				       unsigned *pool)
{
	uint32_t hsr = run->debug.arch.hsr;
	unsigned ec = hsr >> ESR_EC_SHIFT;

	memset(ev, 0, sizeof(*ev));
	*pool = 0;
	if (run->exit_reason != KVM_EXIT_DEBUG)
		return KVMDBG_EXIT_OTHER;
	ev->pc = a64_pc(regs);
	switch (ec) {
	case EC_BRK64:
		ev->trap_insn = true;
		break;
	case EC_HW_BP_LOWER:
	case EC_HW_BP_CUR:
		/* The syndrome does not name the breakpoint: match the pc. */
		for (unsigned i = 0; i < pools[0].n; i++)
			if (pools[0].slot[i].used && pools[0].slot[i].addr == ev->pc)
				ev->slots_hit |= 1u << i;
		break;
	case EC_STEP_LOWER:
	case EC_STEP_CUR:
		ev->stepped = true;
		break;
	case EC_WATCH_LOWER:
	case EC_WATCH_CUR: {
		bool write = hsr & ISS_WNR;

		*pool = 1;
		ev->data_addr = run->debug.arch.far;
		ev->data_addr_valid = true;
		for (unsigned i = 0; i < pools[1].n; i++) {
			const struct kd_hwslot *w = &pools[1].slot[i];

			if (w->used && watch_covers(w, ev->data_addr) &&
			    (w->type == KD_HW_ACCESS ||
			     (w->type == KD_HW_WRITE) == write))
				ev->slots_hit |= 1u << i;
		}
		break;
	}
	default:
		break;
	}
	return KVMDBG_EXIT_DEBUG;
}

int a64_deliver(int vcpu_fd, void *regs, const struct kvm_run *run,
		const struct kvmdbg_caps *caps, const struct kd_debug_event *ev)
{
	struct a64_regs *r = regs;
	uint32_t hsr = run->debug.arch.hsr;
	unsigned ec = hsr >> ESR_EC_SHIFT;
	unsigned el = (r->pstate & PSTATE_EL_MASK) >> 2;
	uint64_t offset;

	/* KVM saw the exception from EL2: to an EL1 guest that was at EL1
	 * it is a "same level" exception, one class number higher. */
	if (el && (ec == EC_HW_BP_LOWER || ec == EC_STEP_LOWER || ec == EC_WATCH_LOWER))
		ec |= 1;
	offset = !el ? VEC_LOWER_A64 : (r->pstate & PSTATE_SPSEL) ? VEC_CUR_SPX
								 : VEC_CUR_SP0;
	r->sys[A64_SYS_ESR] = ((uint64_t)ec << ESR_EC_SHIFT) | (hsr & 0x03ffffffu);
	if (ec == EC_WATCH_LOWER || ec == EC_WATCH_CUR)
		r->sys[A64_SYS_FAR] = run->debug.arch.far;
	r->elr_el1 = r->pc;
	r->spsr_el1 = r->pstate;
	r->pstate = PSTATE_DAIF | PSTATE_EL1H;
	r->pc = r->sys[A64_SYS_VBAR] + offset;
	return a64_store_exception(vcpu_fd, r);
}
