/* SPDX-License-Identifier: MIT */
#include <kvmdbg/debug_core.h>

static enum kd_stop_kind kd_slot_kind(enum kd_hw_type type)
{
	switch (type) {
	case KD_HW_WRITE:
		return KD_STOP_WATCH;
	case KD_HW_READ:
		return KD_STOP_RWATCH;
	case KD_HW_ACCESS:
		return KD_STOP_AWATCH;
	case KD_HW_EXEC:
		break;
	}
	return KD_STOP_HWBREAK;
}

/*
 * The used slot a hit is reported for, or -1.  A watch wins over an exec
 * slot: an execution breakpoint is checked before its instruction runs and
 * fires again when it re-executes, whereas a data access already happened
 * and would be lost.
 */
static int kd_hit_slot(const struct kd_hwslots *s, uint32_t hit)
{
	unsigned n = s->n < KD_HW_MAX_SLOTS ? s->n : KD_HW_MAX_SLOTS;
	int exec = -1;
	unsigned i;

	for (i = 0; i < n; i++) {
		if (!(hit & (UINT32_C(1) << i)) || !s->slot[i].used)
			continue;
		if (s->slot[i].type != KD_HW_EXEC)
			return (int)i;
		if (exec < 0)
			exec = (int)i;
	}
	return exec;
}

struct kd_verdict kd_decide(const struct kd_bptable *t,
			    const struct kd_hwslots *slots,
			    bool step_requested,
			    const struct kd_debug_event *ev)
{
	struct kd_verdict v = { .kind = KD_STOP_SIGNAL, .addr = ev->pc };
	const struct kd_hwslot *h;
	int i;

	if (ev->trap_insn && kd_bptable_find(t, ev->pc)) {
		v.mine = true;
		v.kind = KD_STOP_SWBREAK;
		return v;
	}
	i = kd_hit_slot(slots, ev->slots_hit);
	if (i >= 0) {
		h = &slots->slot[i];
		v.mine = true;
		v.kind = kd_slot_kind(h->type);
		if (h->type != KD_HW_EXEC)
			v.addr = ev->data_addr_valid &&
				 ev->data_addr - h->addr < h->len ?
				 ev->data_addr : h->addr;
		return v;
	}
	/*
	 * The guest's own trap instruction has retired even when a step
	 * completed with it: swallowing it would lose the guest's #BP for
	 * good, so the guest gets it and the caller reports the step.
	 */
	if (ev->stepped && step_requested && !ev->trap_insn) {
		v.mine = true;
		return v;
	}
	v.deliver = true;
	return v;
}
