/* SPDX-License-Identifier: MIT */
/*
 * Watches as a plain growable array, with a count per watched page of the
 * watches on it: a debugger script may set thousands of watches, and the
 * protection of one page is asked for every page of every layout, so it
 * must not cost a pass over all of them.  Whether an access hits is still
 * one pass over the watches' fragments.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "kvmdbg/debug_core.h"
#include "u64map.h"

/* KVM's smallest page on every host it runs on. */
#define MIN_PAGE_SHIFT 12
/* 64 GiB: far more RAM than one watch covers, far less than the address
 * space, whose pages no table could count. */
#define MAX_WATCH_PAGES	(1ull << 24)

struct watch {
	enum kd_hw_type type;
	uint64_t addr, len;
	size_t nfrags;
	struct kd_watch_frag *frags;
	bool off;		/* kept for the debugger, protecting nothing */
};

/* Active watches on one page, by the protection they need, and the
 * guards (kd_watchset_guard) keeping it read-only for no watch. */
struct page_use {
	uint32_t ro, none, guard;
	uint64_t stamp;		/* last pass over a watch's pages that saw it */
};

struct kd_watchset {
	struct watch *w;
	size_t n, cap;
	struct kd_u64map pages;	/* page number -> struct page_use */
	uint64_t stamp;
	unsigned page_shift;	/* the host's pages, which memory slots split on */
};

struct kd_watchset *kd_watchset_new(void)
{
	struct kd_watchset *ws = calloc(1, sizeof(struct kd_watchset));

	if (ws) {
		kd_u64map_init(&ws->pages);
		ws->page_shift = MIN_PAGE_SHIFT;
	}
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
	/* The per-page counts are kept by page number. */
	if (ws->n)
		return -EBUSY;
	ws->page_shift = shift;
	return 0;
}

static void free_pages(struct kd_watchset *ws)
{
	for (size_t i = 0; i < ws->pages.cap; i++)
		free(ws->pages.slot[i].val);
	kd_u64map_fini(&ws->pages);
}

void kd_watchset_clear(struct kd_watchset *ws)
{
	for (size_t i = 0; i < ws->n; i++)
		free(ws->w[i].frags);
	ws->n = 0;
	free_pages(ws);
}

void kd_watchset_free(struct kd_watchset *ws)
{
	if (!ws)
		return;
	kd_watchset_clear(ws);
	free(ws->w);
	free(ws);
}

static uint64_t first_page(const struct kd_watchset *ws, const struct kd_watch_frag *f)
{
	return f->gpa >> ws->page_shift;
}

static uint64_t last_page(const struct kd_watchset *ws, const struct kd_watch_frag *f)
{
	return (f->gpa + (f->len - 1)) >> ws->page_shift;
}

/* Adds delta to w's count on each of its pages, once per page however
 * many fragments share it; pages left without watches go. */
static void count_pages(struct kd_watchset *ws, const struct watch *w, int delta)
{
	uint64_t stamp = ++ws->stamp;

	for (size_t j = 0; j < w->nfrags; j++) {
		for (uint64_t p = first_page(ws, &w->frags[j]); p <= last_page(ws, &w->frags[j]); p++) {
			struct page_use *u = kd_u64map_get(&ws->pages, p);
			uint32_t *n;

			if (!u || u->stamp == stamp)
				continue;
			u->stamp = stamp;
			n = w->type == KD_HW_WRITE ? &u->ro : &u->none;
			*n += delta;
			if (!u->ro && !u->none && !u->guard)
				free(kd_u64map_del(&ws->pages, p));
		}
	}
}

/* Counts w on its pages; -ENOMEM with nothing changed. */
static int use_pages(struct kd_watchset *ws, const struct watch *w)
{
	size_t npages = 0;
	bool short_of_memory = false;

	for (size_t j = 0; j < w->nfrags; j++) {
		npages += last_page(ws, &w->frags[j]) - first_page(ws, &w->frags[j]) + 1;
		if (npages > MAX_WATCH_PAGES)
			return -ENOMEM;
	}
	if (kd_u64map_reserve(&ws->pages, npages) < 0)
		return -ENOMEM;
	/* Every page first gets an entry, so that counting cannot fail;
	 * new entries are the only ones with no watch counted. */
	for (size_t j = 0; j < w->nfrags && !short_of_memory; j++) {
		for (uint64_t p = first_page(ws, &w->frags[j]);
		     p <= last_page(ws, &w->frags[j]) && !short_of_memory; p++) {
			struct page_use *u;

			if (kd_u64map_get(&ws->pages, p))
				continue;
			u = calloc(1, sizeof(*u));
			if (u)
				kd_u64map_set(&ws->pages, p, u);
			short_of_memory = !u;
		}
	}
	if (short_of_memory) {
		for (size_t j = 0; j < w->nfrags; j++)
			for (uint64_t p = first_page(ws, &w->frags[j]); p <= last_page(ws, &w->frags[j]); p++) {
				struct page_use *u = kd_u64map_get(&ws->pages, p);

				if (u && !u->ro && !u->none && !u->guard)
					free(kd_u64map_del(&ws->pages, p));
			}
		return -ENOMEM;
	}
	count_pages(ws, w, 1);
	return 0;
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
	ws->w[ws->n] = (struct watch){ type, addr, len, nfrags, copy, false };
	if (use_pages(ws, &ws->w[ws->n]) < 0) {
		free(copy);
		return -ENOMEM;
	}
	ws->n++;
	return 0;
}

int kd_watchset_remove(struct kd_watchset *ws, enum kd_hw_type type,
		       uint64_t addr, uint64_t len)
{
	struct watch *w = find(ws, type, addr, len);

	if (!w)
		return -ENOENT;
	if (!w->off)
		count_pages(ws, w, -1);
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
	const struct page_use *u = kd_u64map_get(&ws->pages, page_gpa >> ws->page_shift);

	return !u ? KD_PAGE_RW : u->none ? KD_PAGE_NONE : KD_PAGE_RO;
}

int kd_watchset_guard(struct kd_watchset *ws, uint64_t gpa, uint64_t len, int delta)
{
	uint64_t first, last;

	if (!len || len - 1 > UINT64_MAX - gpa || (delta != 1 && delta != -1))
		return -EINVAL;
	first = gpa >> ws->page_shift;
	last = (gpa + (len - 1)) >> ws->page_shift;
	if (last - first >= 2)
		return -EINVAL;
	if (delta < 0) {
		for (uint64_t p = first; p <= last; p++) {
			struct page_use *u = kd_u64map_get(&ws->pages, p);

			if (!u || !u->guard)
				return -ENOENT;
		}
	} else if (kd_u64map_reserve(&ws->pages, 2) < 0) {
		return -ENOMEM;
	}
	/* Both pages are checked or reserved first: a failure changes nothing. */
	for (uint64_t p = first; p <= last; p++) {
		struct page_use *u = kd_u64map_get(&ws->pages, p);

		if (!u) {
			u = calloc(1, sizeof(*u));
			if (!u) {
				if (p != first)
					kd_watchset_guard(ws, first << ws->page_shift, 1, -1);
				return -ENOMEM;
			}
			kd_u64map_set(&ws->pages, p, u);
		}
		u->guard += (uint32_t)delta;
		if (!u->ro && !u->none && !u->guard)
			free(kd_u64map_del(&ws->pages, p));
	}
	return 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

long kd_watchset_pages(const struct kd_watchset *ws, uint64_t *pages, size_t max)
{
	size_t n = 0;
	uint64_t *all;

	if (!ws->pages.count)
		return 0;
	all = malloc(ws->pages.count * sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (size_t i = 0; i < ws->pages.cap; i++)
		if (ws->pages.slot[i].val)
			all[n++] = ws->pages.slot[i].key << ws->page_shift;
	qsort(all, n, sizeof(*all), cmp_u64);
	if (max)
		memcpy(pages, all, (n < max ? n : max) * sizeof(*all));
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

		if (w->off || w->type == (write ? KD_HW_READ : KD_HW_WRITE))
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

long kd_watchset_find(const struct kd_watchset *ws, enum kd_hw_type type,
		       uint64_t addr, uint64_t len)
{
	const struct watch *w = find(ws, type, addr, len);

	return w ? w - ws->w : -ENOENT;
}

bool kd_watchset_at(const struct kd_watchset *ws, size_t i, struct kd_watch_info *out)
{
	const struct watch *w;

	if (i >= ws->n)
		return false;
	w = &ws->w[i];
	*out = (struct kd_watch_info){ w->type, w->addr, w->len, w->frags, w->nfrags, w->off };
	return true;
}

void kd_watchset_turn_off(struct kd_watchset *ws, size_t i)
{
	if (i >= ws->n || ws->w[i].off)
		return;
	count_pages(ws, &ws->w[i], -1);
	ws->w[i].off = true;
}
