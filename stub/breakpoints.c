/* SPDX-License-Identifier: MIT */
/*
 * Z/z packets.  Software breakpoints live in the debug core's table and
 * as trap instructions in guest memory; hardware ones in slot pools that
 * every vCPU loads into its debug registers before it next runs.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

enum { Z_SW, Z_HW, Z_WRITE, Z_READ, Z_ACCESS };

void stub_trap_write(struct kvmdbg_stub *s, uint64_t gpa)
{
	uint8_t *hva = stub_hva(s, gpa, s->arch->trap_len);

	if (hva)
		memcpy(hva, s->arch->trap, s->arch->trap_len);
}

void stub_trap_restore(struct kvmdbg_stub *s, const struct kd_swbp *bp)
{
	uint8_t *hva = stub_hva(s, bp->gpa, bp->len);

	/* The guest may have rewritten its code since: then its bytes win. */
	if (hva && !memcmp(hva, s->arch->trap, bp->len))
		memcpy(hva, bp->orig, bp->len);
}

struct saved {
	uint64_t gpa;
	uint8_t *orig;
	unsigned len;
	unsigned others;
};

/* Another breakpoint's trap already covers these bytes: what it saved is
 * what the guest had there. */
static void take_saved(struct kd_swbp *bp, void *opaque)
{
	struct saved *sv = opaque;

	sv->others++;
	for (unsigned i = 0; i < sv->len; i++) {
		uint64_t a = sv->gpa + i;

		if (a >= bp->gpa && a < bp->gpa + bp->len)
			sv->orig[i] = bp->orig[a - bp->gpa];
	}
}

int stub_plant(struct kvmdbg_stub *s, uint64_t addr, bool phys, uint64_t gpa,
	       bool guard_now, const char **why)
{
	struct kd_swbp bp = { .addr = addr, .gpa = gpa, .len = s->arch->trap_len,
			      .phys = phys };
	uint8_t *hva = stub_hva(s, gpa, bp.len);
	struct saved sv;
	int err;

	if (!hva) {
		*why = "breakpoint address is not mapped to guest RAM";
		return -EFAULT;
	}
	memcpy(bp.orig, hva, bp.len);
	sv = (struct saved){ .gpa = bp.gpa, .orig = bp.orig, .len = bp.len };
	kd_bptable_for_range(s->bps, bp.gpa, bp.len, take_saved, &sv);
	err = kd_bptable_insert(s->bps, &bp);
	if (err) {
		*why = "out of memory for the breakpoint table";
		return err;
	}
	memcpy(hva, s->arch->trap, bp.len);
	if (guard_now)
		stub_bp_guard(s, kd_bptable_find(s->bps, addr));
	else
		s->guard_due = true;
	return 0;
}

bool stub_unplant(struct kvmdbg_stub *s, uint64_t addr)
{
	struct kd_swbp bp;
	struct saved sv = { 0 };
	uint8_t scratch[KD_TRAP_MAX];

	if (kd_bptable_remove(s->bps, addr, &bp) < 0)
		return false;
	sv = (struct saved){ .gpa = bp.gpa, .orig = scratch, .len = bp.len };
	kd_bptable_for_range(s->bps, bp.gpa, bp.len, take_saved, &sv);
	if (!sv.others)
		stub_trap_restore(s, &bp);
	stub_bp_unguard(s, &bp);
	return true;
}

static int insert_sw(struct kvmdbg_stub *s, uint64_t addr, const char **why)
{
	const struct kvmdbg_caps *caps = s->cfg.caps;
	const void *regs;
	uint64_t gpa, left;
	int err;

	if (!caps->guest_debug || caps->swbp == KVMDBG_MECH_NONE) {
		*why = "software breakpoints are unavailable on this host (see monitor caps)";
		return -ENOTSUP;
	}
	if (kd_bptable_find(s->bps, addr) || stub_pending_has(s, addr))
		return 0;
	regs = stub_regs(s, s->cur_g);
	if (!regs)
		return -EIO;
	/* Not there yet: planted once it is (pending.c). */
	if (stub_translate(s, regs, s->phys, addr, &gpa, &left) < 0 ||
	    left < s->arch->trap_len || !stub_hva(s, gpa, s->arch->trap_len)) {
		err = stub_pending_add(s, addr, s->phys);
		if (err)
			*why = "out of memory for the pending breakpoint";
		return err;
	}
	return stub_plant(s, addr, s->phys, gpa, true, why);
}

static int remove_sw(struct kvmdbg_stub *s, uint64_t addr)
{
	if (!stub_unplant(s, addr))
		stub_pending_remove(s, addr);
	kd_stopq_discard_swbreak(s->stopq, addr);
	return 0;
}

static const enum kd_hw_type hw_types[] = {
	[Z_HW] = KD_HW_EXEC, [Z_WRITE] = KD_HW_WRITE,
	[Z_READ] = KD_HW_READ, [Z_ACCESS] = KD_HW_ACCESS,
};

static int insert_hw(struct kvmdbg_stub *s, unsigned type, uint64_t addr,
		     uint64_t len, const char **why)
{
	const struct kvmdbg_caps *caps = s->cfg.caps;
	enum kd_hw_type t = hw_types[type];
	struct kd_hwslots *pool = &s->pools[s->arch->hw_pool(t)];
	bool regs_ok = (t == KD_HW_EXEC ? caps->hwbp : caps->watch) != KVMDBG_MECH_NONE &&
		       s->arch->hw_check(t, addr, len) == 0;
	int idx;

	/* gdb's numbers are arbitrary 64-bit values: a range that is empty or
	 * runs past 2^64 would wrap in every sum made with it later. */
	if (t != KD_HW_EXEC && (!len || len - 1 > UINT64_MAX - addr)) {
		*why = "the watched range is empty or runs past the end of the address space";
		return -EINVAL;
	}
	/* Debug registers first: they cost nothing while the guest runs. */
	if (regs_ok) {
		idx = kd_hwslots_alloc(pool, t, addr, len);
		/* Pending software breakpoints only borrow their slots. */
		if (idx == -ENOSPC && stub_pending_yield_slot(s, s->arch->hw_pool(t)))
			idx = kd_hwslots_alloc(pool, t, addr, len);
		if (idx >= 0 || idx == -EEXIST)
			return 0;
	}
	if (t != KD_HW_EXEC && stub_page_watch_possible(s, t))
		return stub_page_watch_insert(s, t, addr, len, why);
	if (t == KD_HW_EXEC)
		*why = caps->hwbp == KVMDBG_MECH_NONE
			? "hardware breakpoints are unavailable on this host (see monitor caps)"
			: regs_ok ? "all hardware debug slots are in use"
				  : "the debug registers cannot express this address";
	else
		*why = "this watchpoint fits no free debug register and page protection is unavailable here (see monitor caps)";
	return regs_ok ? -ENOSPC : -ENOTSUP;
}

int stub_insert_bp(struct kvmdbg_stub *s, unsigned type, uint64_t addr,
		   uint64_t kind, const char **why)
{
	if (type == Z_SW)
		return insert_sw(s, addr, why);
	return insert_hw(s, type, addr, kind, why);
}

int stub_remove_bp(struct kvmdbg_stub *s, unsigned type, uint64_t addr,
		   uint64_t kind)
{
	enum kd_hw_type t;

	if (type <= Z_HW)
		kd_bpaction_table_set(s->bp_actions[type], addr, NULL);
	if (type == Z_SW)
		return remove_sw(s, addr);
	t = hw_types[type];
	if (kd_hwslots_free(&s->pools[s->arch->hw_pool(t)], t, addr, kind) < 0 &&
	    t != KD_HW_EXEC)
		stub_page_watch_remove(s, t, addr, kind);
	if (t == KD_HW_EXEC)
		kd_stopq_discard(s->stopq, KD_STOP_HWBREAK, addr);
	return 0;
}

static void restore_one(struct kd_swbp *bp, void *opaque)
{
	stub_trap_restore(opaque, bp);
	stub_bp_unguard(opaque, bp);
}

void stub_remove_all_bps(struct kvmdbg_stub *s)
{
	struct kd_bptable *fresh = kd_bptable_new();

	kd_bptable_for_each(s->bps, restore_one, s);
	stub_pending_clear(s);
	if (fresh) {
		kd_bptable_free(s->bps);
		s->bps = fresh;
	}
	kd_bpaction_table_clear(s->bp_actions[Z_SW]);
	kd_bpaction_table_clear(s->bp_actions[Z_HW]);
	s->console_len = 0;
	kd_hwslots_clear(&s->pools[0]);
	kd_hwslots_clear(&s->pools[1]);
	stub_memslots_clear(s);
	kd_stopq_clear(s->stopq);
	for (unsigned i = 0; i < s->nvcpus; i++)
		s->vcpus[i].step = false;
}

void stub_debug_control(struct kvmdbg_stub *s, const struct stub_vcpu *v,
			struct kvm_guest_debug *dbg)
{
	struct kd_hwslots pools[2] = { s->pools[0], s->pools[1] };
	/* Steps waiting for paging are the guest running: interrupts too. */
	bool step = v->step || v->stepping_over || v->unhide_step;

	/* Stepping off a hardware breakpoint: that slot must not fire on
	 * the very instruction it stopped at. */
	if (v->stepping_over)
		for (unsigned p = 0; p < 2; p++)
			for (unsigned i = 0; i < pools[p].n; i++)
				if (pools[p].slot[i].type == KD_HW_EXEC &&
				    pools[p].slot[i].addr == v->step_over_addr)
					pools[p].slot[i].used = false;
	s->arch->encode_debug(dbg, pools, kd_bptable_count(s->bps) > 0,
			      step || v->paging_wait, s->cfg.caps->blockirq && step);
}
