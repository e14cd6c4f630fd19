/* SPDX-License-Identifier: MIT */
/*
 * Watches as a plain growable array: there are tens of them, not
 * thousands, and every question asked (which pages, does an access hit) is
 * answered by one pass over their fragments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvmdbg/debug_core.h"

/* KVM's smallest page on every host it runs on. */
#define MIN_PAGE_SHIFT 12

struct watch {
	enum kd_hw_type type;
	uint64_t addr, len;
	size_t nfrags;
	struct kd_watch_frag *frags;
};

struct kd_watchset {
	struct watch *w;
	size_t n, cap;
	unsigned page_shift;
};

struct kd_watchset *kd_watchset_new(void)
{
	struct kd_watchset *ws = calloc(1, sizeof(struct kd_watchset));

	if (ws)
		ws->page_shift = MIN_PAGE_SHIFT;
	return ws;
}

int kd_watchset_set_page_size(struct kd_watchset *ws, uint64_t size)
{
	unsigned shift = 0;

	if (!size || size & (size - 1))
		return -EINVAL;
	while (size >> shift > 1)
		shift++;
	/* A page the size of the address space would make every shift
	 * below undefined. */
	if (shift < MIN_PAGE_SHIFT || shift > 62)
		return -EINVAL;
	ws->page_shift = shift;
	return 0;
}

void kd_watchset_clear(struct kd_watchset *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i].frags);
	ws->n = 0;
}

void kd_watchset_free(struct kd_watchset *ws)
{
	if (!ws)
		return;
	kd_watchset_clear(ws);
	free(ws->w);
	free(ws);
}

static struct watch *find(const struct kd_watchset *ws, enum kd_hw_type type,
			  uint64_t addr, uint64_t len)
{
	for (size_t i = 0; i < ws->n; i++)
		if (ws->w[i].type == type && ws->w[i].addr == addr && ws->w[i].len == len)
			return &ws->w[i];
	return NULL;
}

int kd_watchset_add(struct kd_watchset *ws, enum kd_hw_type type, uint64_t addr,
		    uint64_t len, const struct kd_watch_frag *frags, size_t nfrags)
{
	struct kd_watch_frag *copy;

	if (!nfrags || type == KD_HW_EXEC)
		return -EINVAL;
	for (size_t i = 0; i < nfrags; i++)
		if (!frags[i].len || frags[i].len - 1 > UINT64_MAX - frags[i].gpa)
			return -EINVAL;
	if (find(ws, type, addr, len))
		return -EEXIST;
	if (ws->n == ws->cap) {
		size_t cap = ws->cap ? 2 * ws->cap : 8;
		struct watch *w = realloc(ws->w, cap * sizeof(*w));

		if (!w)
			return -ENOMEM;
		ws->w = w;
		ws->cap = cap;
	}
	copy = malloc(nfrags * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, frags, nfrags * sizeof(*copy));
	ws->w[ws->n++] = (struct watch){ type, addr, len, nfrags, copy };
	return 0;
}

int kd_watchset_remove(struct kd_watchset *ws, enum kd_hw_type type,
		       uint64_t addr, uint64_t len)
{
	struct watch *w = find(ws, type, addr, len);

	if (!w)
		return -ENOENT;
	free(w->frags);
	/* Keep insertion order: it decides which watch a hit reports. */
	memmove(w, w + 1, (ws->w + ws->n - (w + 1)) * sizeof(*w));
	ws->n--;
	return 0;
}

size_t kd_watchset_count(const struct kd_watchset *ws)
{
	return ws->n;
}

/*
 * Compares last bytes, not ends: the top page of the address space ends at
 * 2^64, and an access running past it stops there.
 */
static bool touches(const struct kd_watch_frag *f, uint64_t lo, uint64_t len)
{
	uint64_t last = len - 1 > UINT64_MAX - lo ? UINT64_MAX : lo + len - 1;

	return len && f->gpa <= last && f->gpa + (f->len - 1) >= lo;
}

enum kd_page_prot kd_watchset_page_prot(const struct kd_watchset *ws,
					 uint64_t page_gpa)
{
	enum kd_page_prot prot = KD_PAGE_RW;

	for (size_t i = 0; i < ws->n; i++) {
		for (size_t j = 0; j < ws->w[i].nfrags; j++) {
			if (!touches(&ws->w[i].frags[j], page_gpa,
				     1ull << ws->page_shift))
				continue;
			if (ws->w[i].type != KD_HW_WRITE)
				return KD_PAGE_NONE;
			prot = KD_PAGE_RO;
		}
	}
	return prot;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

long kd_watchset_pages(const struct kd_watchset *ws, uint64_t *pages, size_t max)
{
	const unsigned shift = ws->page_shift;
	size_t total = 0, n = 0;
	uint64_t *all;

	for (size_t i = 0; i < ws->n; i++)
		for (size_t j = 0; j < ws->w[i].nfrags; j++) {
			const struct kd_watch_frag *f = &ws->w[i].frags[j];

			total += ((f->gpa + f->len - 1) >> shift) - (f->gpa >> shift) + 1;
		}
	if (!total)
		return 0;
	all = malloc(total * sizeof(*all));
	if (!all)
		return -ENOMEM;
	total = 0;
	for (size_t i = 0; i < ws->n; i++)
		for (size_t j = 0; j < ws->w[i].nfrags; j++) {
			const struct kd_watch_frag *f = &ws->w[i].frags[j];

			for (uint64_t p = f->gpa >> shift;
			     p <= (f->gpa + f->len - 1) >> shift; p++)
				all[total++] = p << shift;
		}
	qsort(all, total, sizeof(*all), cmp_u64);
	for (size_t i = 0; i < total; i++) {
		if (i && all[i] == all[i - 1])
			continue;
		if (n < max)
			pages[n] = all[i];
		n++;
	}
	free(all);
	return (long)n;
}

bool kd_watchset_match(const struct kd_watchset *ws, uint64_t gpa, uint64_t len,
		       bool write, enum kd_stop_kind *kind, uint64_t *vaddr)
{
	for (size_t i = 0; i < ws->n; i++) {
		const struct watch *w = &ws->w[i];
		bool hit = false;
		uint64_t best = 0;

		if (w->type == (write ? KD_HW_READ : KD_HW_WRITE))
			continue;
		/*
		 * Fragments follow the virtual order, not the physical one: the
		 * access may meet a later fragment at a lower address.
		 */
		for (size_t j = 0; j < w->nfrags; j++) {
			const struct kd_watch_frag *f = &w->frags[j];
			uint64_t first;

			if (!touches(f, gpa, len))
				continue;
			first = gpa > f->gpa ? gpa : f->gpa;
			if (hit && first >= best)
				continue;
			hit = true;
			best = first;
			*vaddr = f->vaddr + (first - f->gpa);
		}
		if (hit) {
			*kind = w->type == KD_HW_WRITE ? KD_STOP_WATCH :
				w->type == KD_HW_READ ? KD_STOP_RWATCH : KD_STOP_AWATCH;
			return true;
		}
	}
	return false;
}

void kd_watchset_for_each(const struct kd_watchset *ws, kd_watch_fn fn, void *opaque)
{
	for (size_t i = 0; i < ws->n; i++)
		fn(ws->w[i].type, ws->w[i].addr, ws->w[i].len, opaque);
}
