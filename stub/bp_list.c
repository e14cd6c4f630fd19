/* SPDX-License-Identifier: MIT */
/* `monitor breakpoints`: every breakpoint and what holds it, one line each. */
#include <stdio.h>

#include "internal.h"

static void line_for(struct kd_swbp *bp, void *opaque)
{
	struct kvmdbg_stub *s = opaque;
	const char *why = bp->guarded ? NULL : stub_bp_guard_refusal(s, bp);
	char text[384];

	if (!bp->guarded && !why)
		why = "no memory slot was left to protect its page, so a guest write replaces the trap";
	snprintf(text, sizeof(text), "break   0x%llx%s: planted at guest-physical 0x%llx, %s%s\n",
		 (unsigned long long)bp->addr, bp->phys ? " (physical)" : "",
		 (unsigned long long)bp->gpa,
		 bp->guarded ? "page write-protected" : "page not protected: ",
		 bp->guarded ? "" : why);
	stub_console(s, text);
}

void stub_list_breakpoints(struct kvmdbg_stub *s)
{
	const struct kd_hwslots *pool = &s->pools[s->arch->hw_pool(KD_HW_EXEC)];
	bool any;
	char text[256];

	/* As the guest's mappings are now, not as they were at the last resume. */
	stub_pending_refresh(s);
	any = kd_bptable_count(s->bps) || s->npending;

	kd_bptable_for_each(s->bps, line_for, s);
	for (size_t i = 0; i < s->npending; i++) {
		const struct stub_pending *p = &s->pending[i];

		if (p->slot >= 0)
			snprintf(text, sizeof(text),
				 "break   0x%llx%s: pending (not mapped to guest RAM yet), hardware slot %d watches for it\n",
				 (unsigned long long)p->addr, p->phys ? " (physical)" : "", p->slot);
		else
			snprintf(text, sizeof(text),
				 "break   0x%llx%s: pending (not mapped to guest RAM yet), looked for at each stop\n",
				 (unsigned long long)p->addr, p->phys ? " (physical)" : "");
		stub_console(s, text);
	}
	for (unsigned i = 0; i < pool->n; i++) {
		const struct kd_hwslot *h = &pool->slot[i];

		/* Slots of length 0 are the pending breakpoints' above. */
		if (!h->used || h->type != KD_HW_EXEC || !h->len)
			continue;
		snprintf(text, sizeof(text), "hbreak  0x%llx: hardware slot %u\n",
			 (unsigned long long)h->addr, i);
		stub_console(s, text);
		any = true;
	}
	if (!any)
		stub_console(s, "no breakpoints\n");
}
