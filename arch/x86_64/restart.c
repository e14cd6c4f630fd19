/* SPDX-License-Identifier: MIT */
/*
 * Some reads cannot be served as MMIO at all (descriptor-table loads,
 * interrupt delivery): KVM restarts the instruction and asks again, for
 * one or a few addresses, with writes of accessed bits in between.  A read
 * seen again from the same pc twice, with no other kind of exit between,
 * is taken as that, and the instruction gets one step with the page
 * mapped.  A loop polling unwatched neighbours looks alike; for it the step
 * is merely slower.
 */
#include "x86.h"

bool x86_read_restarted(struct kvmdbg_read_history *h, uint64_t addr, uint32_t len,
			int vcpu_fd, void *regs)
{
	bool again = false;
	uint64_t pc;

	for (unsigned i = 0; i < h->n && !again; i++)
		again = h->reads[i].addr == addr && h->reads[i].len == len;
	if (!again) {
		if (h->n == KVMDBG_READ_RING)
			h->n = 0;
		h->reads[h->n].addr = addr;
		h->reads[h->n++].len = len;
		return false;
	}
	h->reads[0].addr = addr;
	h->reads[0].len = len;
	h->n = 1;
	if (x86_regs_load(vcpu_fd, regs) < 0)
		return false;
	pc = x86_pc(regs);
	if (h->repeated && pc == h->pc) {
		h->repeated = false;
		return true;
	}
	h->repeated = true;
	h->pc = pc;
	return false;
}
