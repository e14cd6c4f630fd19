/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM as memory slots cut around watched pages: each run of pages
 * with the same protection is one slot (none for unmapped runs).  KVM has
 * a fixed number of slots, so a watch is only accepted when the layout it
 * makes still fits; and a layout change touches only the slots that differ,
 * going back to the previous layout whole if KVM refuses part of it, so
 * that guest RAM is never left unmapped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"


/*
 * Slots kept free for the page one instruction runs with mapped back
 * (unhidden_page): mapping one page differently splits at most one run
 * into three.
 */
#define UNHIDE_SLOTS	2

int stub_memslots_init(struct kvmdbg_stub *s, const struct kvmdbg_ram_slot *ram,
		       unsigned nram, uint32_t spare_slot, unsigned nspare)
{
	struct stub_slot *slots = calloc(nram + nspare, sizeof(*slots));
	bool *busy = calloc(nram + nspare, sizeof(*busy));

	if (!slots || !busy) {
		free(slots);
		free(busy);
		return -ENOMEM;
	}
	free(s->slots);
	free(s->slot_id_busy);
	s->slots = slots;
	s->slot_id_busy = busy;
	s->nslots = 0;
	for (unsigned i = 0; i < nram; i++) {
		s->slots[s->nslots++] = (struct stub_slot){
			.id = ram[i].slot, .idx = i, .gpa = ram[i].gpa,
			.size = ram[i].size, .hva = ram[i].hva,
		};
		busy[i] = true;
	}
	s->ram = ram;
	s->nram = nram;
	s->spare_slot = spare_slot;
	s->nspare = nspare;
	s->slots_needed = nram;
	return 0;
}

static uint32_t slot_id(const struct kvmdbg_stub *s, unsigned idx)
{
	return idx < s->nram ? s->ram[idx].slot : s->spare_slot + (idx - s->nram);
}

/* The layout the watches need may use this many slots. */
static long slot_budget(const struct kvmdbg_stub *s)
{
	return (long)(s->nram + s->nspare) - UNHIDE_SLOTS;
}

long stub_memslots_free(const struct kvmdbg_stub *s)
{
	return slot_budget(s) - s->slots_needed;
}

static int set_slot(struct kvmdbg_stub *s, uint32_t slot, uint64_t gpa,
		    uint64_t size, uint8_t *hva, bool readonly)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = readonly ? KVM_MEM_READONLY : 0,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	int err = s->cfg.ops.set_memslot ? s->cfg.ops.set_memslot(s->cfg.opaque, s->vm_fd, &r)
					 : kvmdbg_set_memslot_default(s->vm_fd, &r);

	if (err < 0)
		stub_log(s, "memory slot %u at 0x%llx (+0x%llx): %s", slot,
			(unsigned long long)gpa, (unsigned long long)size, strerror(-err));
	return err;
}

int kvmdbg_set_memslot_default(int vm_fd, const struct kvm_userspace_memory_region *r)
{
	return ioctl(vm_fd, KVM_SET_USER_MEMORY_REGION, r) < 0 ? -errno : 0;
}

static enum kd_page_prot prot_of(const struct kvmdbg_stub *s, uint64_t page)
{
	enum kd_page_prot p = kd_watchset_page_prot(s->watches, page);

	/* Mapped back for one step of one instruction. */
	if ((page == s->unhidden_page || s->unhidden_page == STUB_ALL_PAGES) &&
	    p > s->unhidden_prot)
		return s->unhidden_prot;
	return p;
}

/* The slots the protected pages call for, ascending, ids not yet chosen. */
static long wanted_layout(struct kvmdbg_stub *s, struct stub_slot **out)
{
	long npages = kd_watchset_pages(s->watches, NULL, 0);
	size_t n = 0, cap = (size_t)s->nram + 2 * (npages > 0 ? npages : 0) + 1;
	struct stub_slot *want;
	uint64_t *pages;

	if (npages < 0)
		return npages;
	pages = malloc((npages ? npages : 1) * sizeof(*pages));
	want = malloc(cap * sizeof(*want));
	if (!pages || !want) {
		free(pages);
		free(want);
		return -ENOMEM;
	}
	kd_watchset_pages(s->watches, pages, npages);
	for (unsigned r = 0; r < s->nram; r++) {
		const struct kvmdbg_ram_slot *ram = &s->ram[r];
		uint64_t at = ram->gpa, end = ram->gpa + ram->size;
		long p = 0;

		while (p < npages && pages[p] < at)
			p++;
		while (at < end) {
			enum kd_page_prot prot = KD_PAGE_RW;
			uint64_t run_end = end;

			if (p < npages && pages[p] == at) {
				prot = prot_of(s, at);
				run_end = at + s->page_size;
				p++;
				while (p < npages && pages[p] == run_end &&
				       prot_of(s, run_end) == prot && run_end < end) {
					run_end += s->page_size;
					p++;
				}
			} else if (p < npages && pages[p] < end) {
				run_end = pages[p];
			}
			if (prot != KD_PAGE_NONE)
				want[n++] = (struct stub_slot){
					.gpa = at, .size = run_end - at,
					.hva = (uint8_t *)ram->hva + (at - ram->gpa),
					.ro = prot == KD_PAGE_RO,
				};
			at = run_end;
		}
	}
	free(pages);
	*out = want;
	return (long)n;
}

static bool same_slot(const struct stub_slot *a, const struct stub_slot *b)
{
	return a->gpa == b->gpa && a->size == b->size && a->hva == b->hva && a->ro == b->ro;
}

/* Puts the slots of the old layout that the new one dropped back, and
 * takes the ones it added away again. */
static void roll_back(struct kvmdbg_stub *s, const struct stub_slot *added, size_t nadded,
		      const bool *dropped)
{
	for (size_t i = 0; i < nadded; i++) {
		set_slot(s, added[i].id, added[i].gpa, 0, added[i].hva, false);
		s->slot_id_busy[added[i].idx] = false;
	}
	for (unsigned i = 0; i < s->nslots; i++) {
		const struct stub_slot *o = &s->slots[i];

		if (!dropped[i])
			continue;
		if (set_slot(s, o->id, o->gpa, o->size, o->hva, o->ro) < 0)
			stub_log(s, "guest RAM at 0x%llx (+0x%llx) could not be mapped again",
				(unsigned long long)o->gpa, (unsigned long long)o->size);
		s->slot_id_busy[o->idx] = true;
	}
}

/*
 * Changes the slots into the layout the protected pages need.  Only with
 * every vCPU out of KVM_RUN.  On failure the previous layout is back and
 * the layout stays due.
 */
int stub_memslots_apply(struct kvmdbg_stub *s)
{
	struct stub_slot *want, *added;
	bool *kept, *dropped;
	long nwant = wanted_layout(s, &want);
	size_t nadded = 0, i, j;
	unsigned next_id = 0;
	int err = 0;

	if (nwant < 0)
		return (int)nwant;
	if (nwant > (long)(s->nram + s->nspare)) {
		stub_log(s, "the watched pages need %ld memory slots; KVM has %u",
			nwant, s->nram + s->nspare);
		free(want);
		return -ENOSPC;
	}
	kept = calloc(nwant + 1, sizeof(*kept));
	dropped = calloc(s->nslots + 1, sizeof(*dropped));
	added = malloc((nwant + 1) * sizeof(*added));
	if (!kept || !dropped || !added) {
		err = -ENOMEM;
		goto out;
	}
	/* Both lists ascend: one pass pairs the slots that stay. */
	for (i = 0, j = 0; i < s->nslots; i++) {
		while (j < (size_t)nwant && want[j].gpa < s->slots[i].gpa)
			j++;
		if (j < (size_t)nwant && same_slot(&want[j], &s->slots[i])) {
			want[j].id = s->slots[i].id;
			want[j].idx = s->slots[i].idx;
			kept[j++] = true;
		} else {
			dropped[i] = true;
		}
	}
	/* KVM refuses overlapping slots: the old ones go first. */
	for (i = 0; i < s->nslots && !err; i++) {
		if (!dropped[i])
			continue;
		err = set_slot(s, s->slots[i].id, s->slots[i].gpa, 0, s->slots[i].hva, false);
		if (err) {
			/* Only those before i went. */
			for (j = i; j < s->nslots; j++)
				dropped[j] = false;
			roll_back(s, NULL, 0, dropped);
			goto out;
		}
		s->slot_id_busy[s->slots[i].idx] = false;
	}
	for (j = 0; j < (size_t)nwant && !err; j++) {
		if (kept[j])
			continue;
		while (s->slot_id_busy[next_id])
			next_id++;
		want[j].idx = next_id;
		want[j].id = slot_id(s, next_id);
		err = set_slot(s, want[j].id, want[j].gpa, want[j].size, want[j].hva, want[j].ro);
		if (!err) {
			s->slot_id_busy[next_id] = true;
			added[nadded++] = want[j];
		}
	}
	if (err) {
		roll_back(s, added, nadded, dropped);
		goto out;
	}
	memcpy(s->slots, want, nwant * sizeof(*want));
	s->nslots = (unsigned)nwant;
	s->layout_dirty = false;
out:
	if (err)
		stub_log(s, "memory slots left as they were");
	free(kept);
	free(dropped);
	free(added);
	free(want);
	return err;
}

/* The RAM region holding page, or NULL. */
static const struct kvmdbg_ram_slot *region_of(const struct kvmdbg_stub *s, uint64_t page)
{
	for (unsigned r = 0; r < s->nram; r++)
		if (page >= s->ram[r].gpa && page - s->ram[r].gpa < s->ram[r].size)
			return &s->ram[r];
	return NULL;
}

/* Whether a slot starts at page: the first page of a run that is mapped. */
static bool run_starts(const struct kvmdbg_stub *s, uint64_t page)
{
	const struct kvmdbg_ram_slot *ram = region_of(s, page);
	enum kd_page_prot p;

	if (!ram)
		return false;
	p = kd_watchset_page_prot(s->watches, page);
	return p != KD_PAGE_NONE &&
	       (page == ram->gpa || kd_watchset_page_prot(s->watches, page - s->page_size) != p);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/*
 * Slots starting on the pages of a watch and on the page after each: all
 * that adding or removing that watch can change in the slot count.
 */
static long runs_near(const struct kvmdbg_stub *s, const struct kd_watch_frag *f, size_t n)
{
	size_t npages = 0, k = 0;
	uint64_t *pages;
	long runs = 0;

	for (size_t i = 0; i < n; i++)
		npages += ((f[i].gpa + f[i].len - 1) / s->page_size - f[i].gpa / s->page_size) + 2;
	pages = malloc(npages * sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		uint64_t last = (f[i].gpa + f[i].len - 1) & ~(s->page_size - 1);

		for (uint64_t p = f[i].gpa & ~(s->page_size - 1); p <= last; p += s->page_size)
			pages[k++] = p;
		pages[k++] = last + s->page_size;
	}
	qsort(pages, k, sizeof(*pages), cmp_u64);
	for (size_t i = 0; i < k; i++)
		if (!i || pages[i] != pages[i - 1])
			runs += run_starts(s, pages[i]);
	free(pages);
	return runs;
}

int stub_memslots_add_watch(struct kvmdbg_stub *s, enum kd_hw_type type, uint64_t addr,
			    uint64_t len, const struct kd_watch_frag *f, size_t n,
			    const char **why)
{
	long before = runs_near(s, f, n), after;
	int err;

	if (before < 0) {
		*why = "out of memory for the watchpoint";
		return (int)before;
	}
	err = kd_watchset_add(s->watches, type, addr, len, f, n);
	if (err == -EEXIST)
		return 0;
	if (err) {
		*why = "out of memory for the watchpoint table";
		return err;
	}
	after = runs_near(s, f, n);
	if (after >= 0 && s->slots_needed + after - before <= slot_budget(s)) {
		s->slots_needed += after - before;
		s->layout_dirty = true;
		return 0;
	}
	kd_watchset_remove(s->watches, type, addr, len);
	if (after < 0) {
		*why = "out of memory for the watchpoint";
		return (int)after;
	}
	snprintf(s->why, sizeof(s->why),
		 "its pages would need %ld memory slots for guest RAM and KVM offers %ld "
		 "(%u, %d of them kept for single steps); remove other watchpoints first",
		 s->slots_needed + after - before, slot_budget(s), s->nram + s->nspare,
		 UNHIDE_SLOTS);
	*why = s->why;
	return -ENOSPC;
}

int stub_memslots_guard(struct kvmdbg_stub *s, uint64_t gpa, uint64_t len, int delta)
{
	struct kd_watch_frag f = { .gpa = gpa, .len = len, .vaddr = gpa };
	long before = runs_near(s, &f, 1), after;
	int err;

	if (before < 0)
		return (int)before;
	err = kd_watchset_guard(s->watches, gpa, len, delta);
	if (err)
		return err;
	after = runs_near(s, &f, 1);
	if (after < 0 && delta < 0) {
		/* The guard is gone; the count errs on the high side. */
		s->layout_dirty = true;
		return 0;
	}
	if (after >= 0 && (delta < 0 || s->slots_needed + after - before <= slot_budget(s))) {
		s->slots_needed += after - before;
		s->layout_dirty = true;
		return 0;
	}
	kd_watchset_guard(s->watches, gpa, len, -delta);
	return after < 0 ? (int)after : -ENOSPC;
}

/* Runs fn (a removal or turning off) on a watch, keeping the slot count. */
static int change_watch(struct kvmdbg_stub *s, long idx,
			void (*fn)(struct kvmdbg_stub *s, const struct kd_watch_info *w, long idx))
{
	struct kd_watch_info w;
	struct kd_watch_frag *copy;
	long before, after;

	if (!kd_watchset_at(s->watches, (size_t)idx, &w))
		return -ENOENT;
	copy = malloc(w.nfrags * sizeof(*copy));
	if (!copy)
		return -ENOMEM;
	memcpy(copy, w.frags, w.nfrags * sizeof(*copy));
	before = runs_near(s, copy, w.nfrags);
	fn(s, &w, idx);
	after = runs_near(s, copy, w.nfrags);
	free(copy);
	if (before < 0 || after < 0)
		return -ENOMEM;
	s->slots_needed += after - before;
	s->layout_dirty = true;
	return 0;
}

static void remove_one(struct kvmdbg_stub *s, const struct kd_watch_info *w, long idx)
{
	kd_watchset_remove(s->watches, w->type, w->addr, w->len);
}

static void turn_off_one(struct kvmdbg_stub *s, const struct kd_watch_info *w, long idx)
{
	kd_watchset_turn_off(s->watches, (size_t)idx);
}

int stub_memslots_remove_watch(struct kvmdbg_stub *s, enum kd_hw_type type, uint64_t addr,
			       uint64_t len)
{
	long idx = kd_watchset_find(s->watches, type, addr, len);

	return idx < 0 ? (int)idx : change_watch(s, idx, remove_one);
}

int stub_memslots_turn_off(struct kvmdbg_stub *s, size_t idx)
{
	return change_watch(s, (long)idx, turn_off_one);
}

void stub_memslots_clear(struct kvmdbg_stub *s)
{
	if (!kd_watchset_count(s->watches))
		return;
	kd_watchset_clear(s->watches);
	s->slots_needed = s->nram;
	s->layout_dirty = true;
}
