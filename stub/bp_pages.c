/* SPDX-License-Identifier: MIT */
/*
 * Software breakpoints the guest cannot overwrite.  The pages holding
 * their traps are kept read-only with the watchpoints' page protection
 * (a guard on the page, no watch), so a guest that loads, decompresses,
 * relocates or patches code there exits on each write.  The stub completes
 * the write: bytes under a trap go into the breakpoint's saved bytes, the
 * rest into guest memory, and the trap stays planted over the new code.
 * Only writes to such pages cost an exit; reads and fetches run freely.
 *
 * A page the processor itself uses (page tables, descriptor tables, the
 * stacks it pushes frames on) is never guarded: a write the processor
 * makes there with no exit the stub can serve would fault the guest.
 * Breakpoints there keep the old behaviour (a guest write replaces the
 * trap), and `monitor breakpoints` says so.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static const char cpu_page_why[] =
	"the processor uses its page itself (page tables, descriptor tables or a stack), "
	"so a guest write there replaces the trap";

const char *stub_bp_guard_refusal(struct kvmdbg_stub *s, const struct kd_swbp *bp)
{
	struct kd_watch_frag f = { .gpa = bp->gpa, .len = bp->len, .vaddr = bp->addr };
	const char *why;
	int err;

	if (s->vm_fd < 0 || !s->nram || !s->cfg.caps->readonly_mem)
		return "page protection is unavailable on this host, so a guest write replaces the trap";
	err = stub_cpu_pages_conflict(s, KD_HW_ACCESS, &f, 1, &why);
	if (err == -ENOMEM)
		return "out of memory checking its page";
	return err ? cpu_page_why : NULL;
}

void stub_bp_guard(struct kvmdbg_stub *s, struct kd_swbp *bp)
{
	if (bp->guarded || stub_bp_guard_refusal(s, bp))
		return;
	bp->guarded = stub_memslots_guard(s, bp->gpa, bp->len, 1) == 0;
	s->nguarded += bp->guarded;
}

void stub_bp_guard_cb(struct kd_swbp *bp, void *opaque)
{
	stub_bp_guard(opaque, bp);
}

void stub_bp_unguard(struct kvmdbg_stub *s, struct kd_swbp *bp)
{
	if (bp->guarded && stub_memslots_guard(s, bp->gpa, bp->len, -1) < 0)
		stub_log(s, "the page of the breakpoint at 0x%llx was not guarded",
			 (unsigned long long)bp->addr);
	s->nguarded -= bp->guarded;
	bp->guarded = false;
}

struct mmio_access {
	uint64_t gpa;
	uint32_t len;
	const uint8_t *data;	/* what the guest writes, or NULL for a read */
	uint8_t *hva;
	uint8_t *out;		/* the guest's bytes, for a read */
	const uint8_t *before;	/* memory before a write */
};

static void divert(struct kd_swbp *bp, void *opaque)
{
	struct mmio_access *m = opaque;

	for (uint32_t i = 0; i < m->len; i++) {
		uint64_t a = m->gpa + i;

		if (a < bp->gpa || a - bp->gpa >= bp->len)
			continue;
		if (m->data) {
			bp->orig[a - bp->gpa] = m->data[i];
			m->hva[i] = m->before[i];
		} else {
			m->out[i] = bp->orig[a - bp->gpa];
		}
	}
}

void stub_bp_mmio_write(struct kvmdbg_stub *s, uint64_t gpa, const uint8_t *data,
			uint32_t len, uint8_t *hva)
{
	uint8_t before[len ? len : 1];
	struct mmio_access m = { .gpa = gpa, .len = len, .data = data, .hva = hva,
				 .before = before };

	memcpy(before, hva, len);
	memcpy(hva, data, len);
	kd_bptable_for_range(s->bps, gpa, len, divert, &m);
}

void stub_bp_mmio_read(struct kvmdbg_stub *s, uint64_t gpa, uint8_t *out, uint32_t len,
		       const uint8_t *hva)
{
	struct mmio_access m = { .gpa = gpa, .len = len, .out = out };

	memcpy(out, hva, len);
	kd_bptable_for_range(s->bps, gpa, len, divert, &m);
}

/* A byte that is not the trap's was written by the guest. */
static void resync_one(struct kd_swbp *bp, void *opaque)
{
	struct kvmdbg_stub *s = opaque;
	uint8_t *hva = stub_hva(s, bp->gpa, bp->len);

	for (unsigned i = 0; hva && i < bp->len; i++) {
		if (hva[i] == s->arch->trap[i])
			continue;
		bp->orig[i] = hva[i];
		hva[i] = s->arch->trap[i];
	}
}

void stub_bp_resync(struct kvmdbg_stub *s, uint64_t gpa, uint64_t len)
{
	if (gpa == STUB_ALL_PAGES)
		kd_bptable_for_each(s->bps, resync_one, s);
	else
		kd_bptable_for_range(s->bps, gpa, len, resync_one, s);
}

struct guarded_list {
	struct kd_watch_frag *f;
	size_t n, cap;
	bool short_of_memory;
};

static void list_guarded(struct kd_swbp *bp, void *opaque)
{
	struct guarded_list *l = opaque;

	if (!bp->guarded || l->short_of_memory)
		return;
	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct kd_watch_frag *f = realloc(l->f, cap * sizeof(*f));

		if (!f) {
			l->short_of_memory = true;
			return;
		}
		l->f = f;
		l->cap = cap;
	}
	l->f[l->n++] = (struct kd_watch_frag){ .gpa = bp->gpa, .len = bp->len, .vaddr = bp->addr };
}

static void unguard_if_cpu_page(struct kd_swbp *bp, void *opaque)
{
	struct kvmdbg_stub *s = opaque;
	char text[256], line[sizeof(text) + 16];

	if (!bp->guarded || !stub_bp_guard_refusal(s, bp))
		return;
	stub_bp_unguard(s, bp);
	snprintf(text, sizeof(text), "the breakpoint at 0x%llx is no longer guarded: %s",
		 (unsigned long long)bp->addr, cpu_page_why);
	stub_log(s, "%s", text);
	/* gdb waits for a stop reply, which console output may precede,
	 * except in non-stop mode. */
	if (!s->non_stop) {
		snprintf(line, sizeof(line), "kvmdbg: %s\n", text);
		stub_console(s, line);
	}
}

/*
 * Before the vCPUs resume, from the stub thread: a guarded page the
 * processor has started to use since (a new stack, new page tables) is
 * given up, as watches there are.  One look at every vCPU for all of
 * them; each breakpoint is looked at again only when one conflicts.
 */
void stub_bp_check_cpu_pages(struct kvmdbg_stub *s)
{
	struct guarded_list l = { 0 };
	const char *why;

	if (!s->arch->cpu_pages || !kd_bptable_count(s->bps))
		return;
	kd_bptable_for_each(s->bps, list_guarded, &l);
	if (l.n && stub_cpu_pages_conflict(s, KD_HW_ACCESS, l.f, l.n, &why) == -EINVAL)
		kd_bptable_for_each(s->bps, unguard_if_cpu_page, s);
	free(l.f);
}
