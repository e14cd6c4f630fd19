/* SPDX-License-Identifier: MIT */
/*
 * Software breakpoints on addresses that do not translate to guest RAM
 * yet (a kernel's virtual addresses before it turns its MMU on or maps
 * itself there, a module, a page mapped later) are accepted and kept
 * pending, and software breakpoints follow their address when the guest
 * maps it elsewhere.
 *
 * The trigger.  Nothing the guest does to its translations exits to the
 * VMM: not writing a page-table entry, not loading CR3 or TTBR, not
 * turning paging on; and the page tables a guest is about to use are
 * unknown until it uses them (a kernel builds them in its own image,
 * then loads them).  Write-protecting the current tables would miss
 * every switch to new ones, which is exactly how a kernel reaches its
 * virtual addresses.  What does see every way an address starts to mean
 * code is the processor's own address match: a pending breakpoint takes a
 * free hardware breakpoint slot, which fires on the first instruction
 * fetched at that virtual address however it came to be mapped; the stub
 * then plants the software breakpoint where the address now leads, hands
 * the slot back and reports an ordinary breakpoint hit.  That costs
 * nothing while the guest runs, and nothing at all with nothing pending.
 * gdb's own hbreak and watch requests come first: a pending breakpoint
 * gives its slot up to them.  Pending breakpoints without a slot, and
 * every planted one, are looked at again at each stop before the guest
 * resumes: planted where they translate now, moved where the guest has
 * mapped their address onto another page, made pending again where it
 * has unmapped it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Hardware slots are matched by (type, addr, len): a pending breakpoint's
 * slot has length 0, which no hbreak request has, so the two never share
 * a slot. */
#define PENDING_SLOT_LEN	0

static struct stub_pending *find(struct kvmdbg_stub *s, uint64_t addr)
{
	for (size_t i = 0; i < s->npending; i++)
		if (s->pending[i].addr == addr)
			return &s->pending[i];
	return NULL;
}

bool stub_pending_has(struct kvmdbg_stub *s, uint64_t addr)
{
	return find(s, addr) != NULL;
}

int stub_pending_slot(struct kvmdbg_stub *s, uint64_t addr)
{
	const struct stub_pending *p = find(s, addr);

	return p ? p->slot : -1;
}

static struct kd_hwslots *exec_pool(struct kvmdbg_stub *s)
{
	return &s->pools[s->arch->hw_pool(KD_HW_EXEC)];
}

static void take_slot(struct kvmdbg_stub *s, struct stub_pending *p)
{
	const struct kvmdbg_caps *caps = s->cfg.caps;

	if (p->slot >= 0 || p->phys || !caps->guest_debug || caps->hwbp == KVMDBG_MECH_NONE ||
	    s->arch->hw_check(KD_HW_EXEC, p->addr, 1) < 0)
		return;
	p->slot = kd_hwslots_alloc(exec_pool(s), KD_HW_EXEC, p->addr, PENDING_SLOT_LEN);
	if (p->slot < 0)
		p->slot = -1;
}

static void drop_slot(struct kvmdbg_stub *s, struct stub_pending *p)
{
	if (p->slot >= 0)
		kd_hwslots_free(exec_pool(s), KD_HW_EXEC, p->addr, PENDING_SLOT_LEN);
	p->slot = -1;
}

int stub_pending_add(struct kvmdbg_stub *s, uint64_t addr, bool phys)
{
	if (find(s, addr))
		return 0;
	if (s->npending == s->pending_cap) {
		size_t cap = s->pending_cap ? 2 * s->pending_cap : 8;
		struct stub_pending *p = realloc(s->pending, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		s->pending = p;
		s->pending_cap = cap;
	}
	s->pending[s->npending] = (struct stub_pending){ .addr = addr, .phys = phys, .slot = -1 };
	take_slot(s, &s->pending[s->npending]);
	s->npending++;
	return 0;
}

static void forget(struct kvmdbg_stub *s, struct stub_pending *p)
{
	drop_slot(s, p);
	*p = s->pending[--s->npending];
}

bool stub_pending_remove(struct kvmdbg_stub *s, uint64_t addr)
{
	struct stub_pending *p = find(s, addr);

	if (!p)
		return false;
	forget(s, p);
	return true;
}

void stub_pending_clear(struct kvmdbg_stub *s)
{
	while (s->npending)
		forget(s, &s->pending[0]);
}

bool stub_pending_yield_slot(struct kvmdbg_stub *s, unsigned pool)
{
	if (pool != s->arch->hw_pool(KD_HW_EXEC))
		return false;
	for (size_t i = 0; i < s->npending; i++) {
		if (s->pending[i].slot >= 0) {
			drop_slot(s, &s->pending[i]);
			return true;
		}
	}
	return false;
}

/* Where addr leads on vCPU i: 0 and *gpa when that is guest RAM. */
static int translate_on(struct kvmdbg_stub *s, unsigned i, uint64_t addr, bool phys,
			uint64_t *gpa)
{
	const void *regs = stub_regs(s, i);
	uint64_t left;

	if (!regs || stub_translate(s, regs, phys, addr, gpa, &left) < 0 ||
	    left < s->arch->trap_len || !stub_hva(s, *gpa, s->arch->trap_len))
		return -EFAULT;
	return 0;
}

/*
 * Where addr leads now: on the vCPU gdb looks at first, then on the
 * others (one may have paging off, or be out of the kernel's address
 * space).  When `keep` leads there on any of them, that is the answer.
 */
static int translate_any(struct kvmdbg_stub *s, uint64_t addr, bool phys, uint64_t keep,
			 uint64_t *gpa)
{
	bool found = false;

	for (unsigned k = 0; k < s->nvcpus; k++) {
		unsigned i = k == 0 ? s->cur_g : k == s->cur_g ? 0 : k;
		uint64_t g;

		if (i >= s->nvcpus || translate_on(s, i, addr, phys, &g) < 0)
			continue;
		if (!found)
			*gpa = g;
		found = true;
		if (g == keep) {
			*gpa = g;
			break;
		}
	}
	return found ? 0 : -EFAULT;
}

/*
 * A pending breakpoint's slot fired on vCPU v (its registers loaded):
 * the address translates there now.  The trap goes in, the slot is given
 * back, and the hit is reported as the software breakpoint gdb set.  The
 * page is guarded at the next resume, when every vCPU is stopped.
 */
bool stub_pending_hit(struct kvmdbg_stub *s, struct stub_vcpu *v,
		      const struct kd_debug_event *ev, unsigned pool)
{
	struct stub_pending *p;
	uint64_t gpa, left;
	const char *why;

	if (pool != s->arch->hw_pool(KD_HW_EXEC))
		return false;
	p = find(s, ev->pc);
	if (!p && ev->slots_hit && !ev->trap_insn && kd_bptable_find(s->bps, ev->pc)) {
		const struct kd_hwslots *h = exec_pool(s);
		bool used = false;

		for (unsigned i = 0; i < h->n; i++)
			used |= h->slot[i].used && (ev->slots_hit & (1u << i));
		/* Another vCPU met it at the same time and planted it: this
		 * one runs into the trap instead. */
		if (!used)
			return true;
	}
	if (!p || p->slot < 0 || !(ev->slots_hit & (1u << p->slot)))
		return false;
	if (stub_translate(s, v->regs, false, p->addr, &gpa, &left) == 0 &&
	    left >= s->arch->trap_len && stub_plant(s, p->addr, false, gpa, false, &why) == 0)
		forget(s, p);
	stub_push_stop(s, v, KD_STOP_SWBREAK, ev->pc);
	return true;
}

struct planted {
	uint64_t addr, gpa;
	bool phys;
};

struct planted_list {
	struct planted *p;
	size_t n;
};

static void list_planted(struct kd_swbp *bp, void *opaque)
{
	struct planted_list *l = opaque;

	l->p[l->n++] = (struct planted){ bp->addr, bp->gpa, bp->phys };
}

/* From the stub thread with every vCPU stopped, before they resume. */
void stub_pending_refresh(struct kvmdbg_stub *s)
{
	struct planted_list l = { .n = 0 };
	size_t count = kd_bptable_count(s->bps);
	const char *why;
	uint64_t gpa;

	if (count) {
		l.p = malloc(count * sizeof(*l.p));
		if (!l.p) {
			stub_log(s, "out of memory checking the breakpoints' addresses");
			return;
		}
		kd_bptable_for_each(s->bps, list_planted, &l);
	}
	for (size_t i = 0; i < l.n; i++) {
		const struct planted *b = &l.p[i];

		if (b->phys || (translate_any(s, b->addr, false, b->gpa, &gpa) == 0 &&
				gpa == b->gpa))
			continue;
		stub_unplant(s, b->addr);
		if (translate_any(s, b->addr, false, UINT64_MAX, &gpa) < 0 ||
		    stub_plant(s, b->addr, false, gpa, true, &why) < 0)
			stub_pending_add(s, b->addr, false);
	}
	free(l.p);
	for (size_t i = 0; i < s->npending;) {
		struct stub_pending *p = &s->pending[i];

		if (translate_any(s, p->addr, p->phys, UINT64_MAX, &gpa) == 0 &&
		    stub_plant(s, p->addr, p->phys, gpa, true, &why) == 0) {
			forget(s, p);
			continue;
		}
		i++;
	}
	for (size_t i = 0; i < s->npending; i++)
		take_slot(s, &s->pending[i]);
	if (s->guard_due) {
		s->guard_due = false;
		kd_bptable_for_each(s->bps, stub_bp_guard_cb, s);
	}
}
