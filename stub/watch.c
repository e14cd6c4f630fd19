/* SPDX-License-Identifier: MIT */
/*
 * Watchpoints the debug registers cannot take: the guest pages they touch
 * are put in read-only memory slots (write watches) or left out of the
 * slots altogether (read and access watches), so the accesses exit as MMIO.
 * The stub performs each access on guest RAM itself, and stops when it hit
 * a watched range.  An instruction fetched from an unmapped page is run
 * for one step with that page mapped read-only, every other vCPU held.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

#define PAGE_SIZE	0x1000ull
#define NO_PAGE		UINT64_MAX

bool stub_page_watch_possible(struct kvmdbg_stub *s, enum kd_hw_type type)
{
	if (s->vm_fd < 0 || !s->nram)
		return false;
	if (type == KD_HW_WRITE)
		return s->cfg.caps->readonly_mem;
	return s->arch->fetch_from_unmapped_exits;
}

/* Physical fragments of [addr, addr+len) as the current vCPU maps it. */
static long fragments(struct kvmdbg_stub *s, uint64_t addr, uint64_t len,
		      struct kd_watch_frag **out)
{
	const void *regs = stub_regs(s, s->cur_g);
	size_t n = 0, cap = 4;
	struct kd_watch_frag *f = malloc(cap * sizeof(*f));
	uint64_t done = 0;

	if (!f)
		return -ENOMEM;
	while (regs && done < len) {
		uint64_t gpa, left, chunk;

		if (stub_translate(s, regs, s->phys, addr + done, &gpa, &left) < 0)
			break;
		chunk = len - done < left ? len - done : left;
		if (!stub_hva(s, gpa, chunk))
			break;
		if (n && f[n - 1].gpa + f[n - 1].len == gpa) {
			f[n - 1].len += chunk;
		} else {
			if (n == cap) {
				struct kd_watch_frag *g = realloc(f, 2 * cap * sizeof(*f));

				if (!g) {
					free(f);
					return -ENOMEM;
				}
				f = g;
				cap *= 2;
			}
			f[n++] = (struct kd_watch_frag){ gpa, chunk, addr + done };
		}
		done += chunk;
	}
	if (done < len) {
		free(f);
		return -EFAULT;
	}
	*out = f;
	return (long)n;
}

int stub_page_watch_insert(struct kvmdbg_stub *s, enum kd_hw_type type,
			   uint64_t addr, uint64_t len, const char **why)
{
	struct kd_watch_frag *f;
	long n = len ? fragments(s, addr, len, &f) : -EINVAL;
	int err;

	if (n < 0) {
		*why = n == -EFAULT ? "the watched range is not all mapped to guest RAM"
				    : "cannot record the watchpoint";
		return (int)n;
	}
	err = kd_watchset_add(s->watches, type, addr, len, f, (size_t)n);
	free(f);
	if (err == -EEXIST)
		return 0;
	if (err) {
		*why = "out of memory for the watchpoint table";
		return err;
	}
	s->layout_dirty = true;
	return 0;
}

int stub_page_watch_remove(struct kvmdbg_stub *s, enum kd_hw_type type,
			   uint64_t addr, uint64_t len)
{
	if (kd_watchset_remove(s->watches, type, addr, len) < 0)
		return -ENOENT;
	s->layout_dirty = true;
	return 0;
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

	if (ioctl(s->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
		fprintf(stderr, "kvmdbg: memory slot %u at 0x%llx (+0x%llx): %s\n", slot,
			(unsigned long long)gpa, (unsigned long long)size, strerror(errno));
		return -errno;
	}
	return 0;
}

static enum kd_page_prot prot_of(struct kvmdbg_stub *s, uint64_t page)
{
	enum kd_page_prot p = kd_watchset_page_prot(s->watches, page);

	/* The page an instruction is being fetched from, for one step. */
	if (page == s->unhidden_page && p == KD_PAGE_NONE)
		return KD_PAGE_RO;
	return p;
}

/*
 * Rebuilds every RAM slot from the protected pages: each run of pages with
 * the same protection becomes one slot (none for unmapped runs).  Only
 * with every vCPU out of KVM_RUN.
 */
int stub_memslots_apply(struct kvmdbg_stub *s)
{
	long npages = kd_watchset_pages(s->watches, NULL, 0);
	uint64_t *pages;
	unsigned next_spare = 0;
	int err = 0;

	if (npages < 0)
		return (int)npages;
	pages = malloc((npages ? npages : 1) * sizeof(*pages));
	if (!pages)
		return -ENOMEM;
	kd_watchset_pages(s->watches, pages, npages);
	for (unsigned i = 0; i < s->nslots_used; i++)
		set_slot(s, s->slots_used[i], 0, 0, NULL, false);
	s->nslots_used = 0;
	for (unsigned r = 0; r < s->nram && !err; r++) {
		const struct kvmdbg_ram_slot *ram = &s->ram[r];
		uint64_t at = ram->gpa, end = ram->gpa + ram->size;
		bool first = true;
		long p = 0;

		while (p < npages && pages[p] < at)
			p++;
		while (at < end && !err) {
			enum kd_page_prot prot = KD_PAGE_RW;
			uint64_t run_end = end;
			uint32_t slot;

			if (p < npages && pages[p] == at) {
				prot = prot_of(s, at);
				run_end = at + PAGE_SIZE;
				p++;
				while (p < npages && pages[p] == run_end &&
				       prot_of(s, run_end) == prot && run_end < end) {
					run_end += PAGE_SIZE;
					p++;
				}
			} else if (p < npages && pages[p] < end) {
				run_end = pages[p];
			}
			if (prot != KD_PAGE_NONE) {
				/* The region's own slot id first, then spares. */
				if (first)
					slot = ram->slot;
				else if (next_spare < s->nspare)
					slot = s->spare_slot + next_spare++;
				else {
					fprintf(stderr, "kvmdbg: out of memory slots for watched pages\n");
					err = -ENOSPC;
					break;
				}
				first = false;
				err = set_slot(s, slot, at, run_end - at,
					       (uint8_t *)ram->hva + (at - ram->gpa),
					       prot == KD_PAGE_RO);
				if (!err)
					s->slots_used[s->nslots_used++] = slot;
			}
			at = run_end;
		}
	}
	free(pages);
	s->layout_dirty = false;
	return err;
}

bool stub_watch_mmio(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : 0;
	uint8_t *hva = len ? stub_hva(s, run->mmio.phys_addr, len) : NULL;
	enum kd_stop_kind kind;
	uint64_t vaddr;

	if (!hva)
		return false;	/* a device of the VMM's */
	if (run->mmio.is_write)
		memcpy(hva, run->mmio.data, len);
	else
		memcpy(run->mmio.data, hva, len);
	if (kd_watchset_match(s->watches, run->mmio.phys_addr, len, run->mmio.is_write,
			      &kind, &vaddr))
		stub_push_stop(s, v, kind, vaddr);
	return true;
}

bool stub_exec_unmapped(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t pc)
{
	uint64_t gpa, left, page;

	if (stub_translate(s, v->regs, false, pc, &gpa, &left) < 0)
		return false;
	page = gpa & ~(PAGE_SIZE - 1);
	if (kd_watchset_page_prot(s->watches, page) != KD_PAGE_NONE)
		return false;
	/* Nobody else may touch the page unwatched meanwhile. */
	s->exclusive = v->idx + 1;
	for (unsigned i = 0; i < s->nvcpus; i++)
		if (i != v->idx && !s->vcpus[i].parked)
			stub_kick(s, &s->vcpus[i]);
	while (s->nparked + 1 < s->nvcpus && !s->exited)
		pthread_cond_wait(&s->cond, &s->lock);
	s->unhidden_page = page;
	v->unhide_step = true;
	if (stub_memslots_apply(s) < 0)
		fprintf(stderr, "kvmdbg: cannot map page 0x%llx back to run code from it\n",
			(unsigned long long)page);
	return true;
}

void stub_exec_unmapped_done(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	v->unhide_step = false;
	s->unhidden_page = NO_PAGE;
	if (stub_memslots_apply(s) < 0)
		fprintf(stderr, "kvmdbg: cannot unmap a watched page again\n");
	s->exclusive = 0;
	pthread_cond_broadcast(&s->cond);
}
