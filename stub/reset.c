/* SPDX-License-Identifier: MIT */
/*
 * A guest reset in place: the VMM has put guest RAM and every vCPU back to
 * their power-on state.  gdb stays attached and keeps its breakpoints and
 * watchpoints; the software breakpoints' traps go back into the new
 * memory, over bytes saved from it, and what the stub knew of each vCPU's
 * last run is forgotten.
 */
#include <string.h>

#include "internal.h"

/* First every breakpoint saves what the new memory holds, then the traps
 * go in: breakpoints sharing bytes all save the guest's. */
static void save_new_bytes(struct kd_swbp *bp, void *opaque)
{
	struct kvmdbg_stub *s = opaque;
	uint8_t *hva = stub_hva(s, bp->gpa, bp->len);

	if (hva)
		memcpy(bp->orig, hva, bp->len);
}

static void rewrite_trap(struct kd_swbp *bp, void *opaque)
{
	stub_trap_write(opaque, bp->gpa);
}

void kvmdbg_stub_reset(struct kvmdbg_stub *s)
{
	pthread_mutex_lock(&s->lock);
	kd_bptable_for_each(s->bps, save_new_bytes, s);
	kd_bptable_for_each(s->bps, rewrite_trap, s);
	for (unsigned i = 0; i < s->nvcpus; i++) {
		struct stub_vcpu *v = &s->vcpus[i];

		if (v->unhide_step)
			stub_unhide_cancel(s, v);
		v->stepping_over = false;
		v->io_pending = false;
		v->rewind = false;
		v->nisv = false;
		v->exec_step = false;
		v->exec_stalled = false;
		v->regs_valid = false;
		/* Whatever the VMM did to its vCPUs, KVM gets the stub's
		 * debug state again before they run. */
		v->debug_applied = false;
		v->step_state.active = false;
		stub_reads_forget(v);
		atomic_store_explicit(&v->quiet, false, memory_order_release);
	}
	s->exclusive = 0;
	/* A step over a breakpoint the reset ended is not waited for. */
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}
