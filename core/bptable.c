/* SPDX-License-Identifier: MIT */
/*
 * Software breakpoint table.  Each entry is a node found by address through
 * one hash map and by physical page through another: the page map holds the
 * first node of a list threaded through every node whose trap bytes touch
 * that page.  A trap straddling two pages sits on both lists, hence two
 * links per node.
 */
#include <errno.h>
#include <stdlib.h>

#include <kvmdbg/debug_core.h>

#include "u64map.h"

#define KD_BP_PAGE_SHIFT 12

struct kd_bpnode {
	struct kd_swbp bp;
	uint64_t page[2];		/* first and last page of the trap bytes */
	struct kd_bpnode *prev[2];	/* neighbours on the list of page[i] */
	struct kd_bpnode *next[2];
};

struct kd_bptable {
	struct kd_u64map by_addr;	/* addr -> node */
	struct kd_u64map by_page;	/* gpa page -> head of its node list */
};

static unsigned kd_bpnode_pages(const struct kd_bpnode *n)
{
	return n->page[0] == n->page[1] ? 1 : 2;
}

/* Which of n's two links threads the list of page pg. */
static unsigned kd_bpnode_link(const struct kd_bpnode *n, uint64_t pg)
{
	return n->page[0] == pg ? 0 : 1;
}

static uint64_t kd_bpnode_last(const struct kd_bpnode *n)
{
	return n->bp.gpa + n->bp.len - 1;
}

struct kd_bptable *kd_bptable_new(void)
{
	struct kd_bptable *t = malloc(sizeof(*t));

	if (!t)
		return NULL;
	kd_u64map_init(&t->by_addr);
	kd_u64map_init(&t->by_page);
	return t;
}

void kd_bptable_free(struct kd_bptable *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->by_addr.cap; i++)
		free(t->by_addr.slot[i].val);
	kd_u64map_fini(&t->by_addr);
	kd_u64map_fini(&t->by_page);
	free(t);
}

static void kd_bptable_link(struct kd_bptable *t, struct kd_bpnode *n,
			    unsigned i)
{
	struct kd_bpnode *head = kd_u64map_get(&t->by_page, n->page[i]);

	n->prev[i] = NULL;
	n->next[i] = head;
	if (head)
		head->prev[kd_bpnode_link(head, n->page[i])] = n;
	kd_u64map_set(&t->by_page, n->page[i], n);
}

static void kd_bptable_unlink(struct kd_bptable *t, struct kd_bpnode *n,
			      unsigned i)
{
	struct kd_bpnode *prev = n->prev[i], *next = n->next[i];
	uint64_t pg = n->page[i];

	if (next)
		next->prev[kd_bpnode_link(next, pg)] = prev;
	if (prev)
		prev->next[kd_bpnode_link(prev, pg)] = next;
	else if (next)
		kd_u64map_set(&t->by_page, pg, next);
	else
		kd_u64map_del(&t->by_page, pg);
}

int kd_bptable_insert(struct kd_bptable *t, const struct kd_swbp *bp)
{
	struct kd_bpnode *n;
	unsigned i;

	if (bp->len == 0 || bp->len > KD_TRAP_MAX ||
	    bp->gpa > UINT64_MAX - (bp->len - 1))
		return -EINVAL;
	if (kd_u64map_get(&t->by_addr, bp->addr))
		return -EEXIST;
	/*
	 * Every allocation happens before the first change, so running out
	 * of memory leaves the table as it was (merely with roomier maps).
	 */
	if (kd_u64map_reserve(&t->by_addr, 1) ||
	    kd_u64map_reserve(&t->by_page, 2))
		return -ENOMEM;
	n = malloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->bp = *bp;
	n->page[0] = bp->gpa >> KD_BP_PAGE_SHIFT;
	n->page[1] = kd_bpnode_last(n) >> KD_BP_PAGE_SHIFT;
	kd_u64map_set(&t->by_addr, bp->addr, n);
	for (i = 0; i < kd_bpnode_pages(n); i++)
		kd_bptable_link(t, n, i);
	return 0;
}

int kd_bptable_remove(struct kd_bptable *t, uint64_t addr, struct kd_swbp *out)
{
	struct kd_bpnode *n = kd_u64map_del(&t->by_addr, addr);
	unsigned i;

	if (!n)
		return -ENOENT;
	for (i = 0; i < kd_bpnode_pages(n); i++)
		kd_bptable_unlink(t, n, i);
	if (out)
		*out = n->bp;
	free(n);
	return 0;
}

struct kd_swbp *kd_bptable_find(const struct kd_bptable *t, uint64_t addr)
{
	struct kd_bpnode *n = kd_u64map_get(&t->by_addr, addr);

	return n ? &n->bp : NULL;
}

size_t kd_bptable_count(const struct kd_bptable *t)
{
	return t->by_addr.count;
}

/* The query [gpa, last] with last inclusive, so it may end at 2^64 - 1. */
struct kd_bprange {
	uint64_t gpa;
	uint64_t last;
	uint64_t first_page;
	kd_swbp_fn fn;
	void *opaque;
};

static void kd_bprange_page(const struct kd_bprange *r, struct kd_bpnode *n,
			    uint64_t pg)
{
	struct kd_bpnode *next;
	uint64_t from;

	for (; n; n = next) {
		next = n->next[kd_bpnode_link(n, pg)];
		/*
		 * A trap on two pages of the range is met on both lists;
		 * only the first page of it inside the range reports it.
		 */
		from = n->page[0] > r->first_page ? n->page[0] : r->first_page;
		if (pg == from && n->bp.gpa <= r->last &&
		    kd_bpnode_last(n) >= r->gpa)
			r->fn(&n->bp, r->opaque);
	}
}

void kd_bptable_for_range(struct kd_bptable *t, uint64_t gpa, uint64_t len,
			  kd_swbp_fn fn, void *opaque)
{
	struct kd_bprange r = { .gpa = gpa, .fn = fn, .opaque = opaque };
	const struct kd_u64map_slot *s;
	uint64_t last_page, pg;
	size_t i;

	if (!len)
		return;
	r.last = len - 1 > UINT64_MAX - gpa ? UINT64_MAX : gpa + len - 1;
	r.first_page = gpa >> KD_BP_PAGE_SHIFT;
	last_page = r.last >> KD_BP_PAGE_SHIFT;
	/*
	 * A range spanning more pages than the page index has slots (a whole
	 * RAM region being rewritten) is cheaper to answer by scanning it.
	 */
	if (last_page - r.first_page >= t->by_page.cap) {
		for (i = 0; i < t->by_page.cap; i++) {
			s = &t->by_page.slot[i];
			if (s->val && s->key >= r.first_page &&
			    s->key <= last_page)
				kd_bprange_page(&r, s->val, s->key);
		}
		return;
	}
	for (pg = r.first_page; pg <= last_page; pg++)
		kd_bprange_page(&r, kd_u64map_get(&t->by_page, pg), pg);
}

void kd_bptable_for_each(struct kd_bptable *t, kd_swbp_fn fn, void *opaque)
{
	struct kd_bpnode *n;
	size_t i;

	for (i = 0; i < t->by_addr.cap; i++) {
		n = t->by_addr.slot[i].val;
		if (n)
			fn(&n->bp, opaque);
	}
}
