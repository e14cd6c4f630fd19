/* SPDX-License-Identifier: MIT */
/*
 * Watches against the pages the processors use by themselves (the
 * architecture's cpu_pages): a watch there is refused when it is set, and
 * turned off with a message to gdb when the processor has started to use
 * its page by the time the vCPUs resume, or when a vCPU turns paging on.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* The smallest page a guest's own tables map. */
#define GUEST_PAGE	0x1000ull

/* Pages the processors use by themselves, by address. */
struct cpu_pages {
	struct cpu_page {
		uint64_t gpa;
		enum kvmdbg_cpu_use use;
	} *p;
	size_t n, cap;
	bool short_of_memory;
};

static void add_cpu_page(uint64_t gpa, enum kvmdbg_cpu_use use, void *opaque)
{
	struct cpu_pages *c = opaque;

	if (c->n == c->cap) {
		size_t cap = c->cap ? 2 * c->cap : 64;
		struct cpu_page *p = realloc(c->p, cap * sizeof(*p));

		if (!p) {
			c->short_of_memory = true;
			return;
		}
		c->p = p;
		c->cap = cap;
	}
	c->p[c->n++] = (struct cpu_page){ gpa, use };
}

static int cmp_cpu_page(const void *a, const void *b)
{
	const struct cpu_page *x = a, *y = b;

	return x->gpa < y->gpa ? -1 : x->gpa > y->gpa;
}

/* For vCPU `only` (its registers loaded), or for every vCPU when it is
 * UINT_MAX; 0 or -ENOMEM. */
static int collect_cpu_pages(struct kvmdbg_stub *s, unsigned only, struct cpu_pages *c)
{
	*c = (struct cpu_pages){ 0 };
	if (!s->arch->cpu_pages)
		return 0;
	for (unsigned i = 0; i < s->nvcpus; i++) {
		const void *regs;

		if (only != UINT_MAX && i != only)
			continue;
		regs = i == only ? s->vcpus[i].regs : stub_regs(s, i);
		if (regs)
			s->arch->cpu_pages(regs, &s->cfg.mem, add_cpu_page, c);
	}
	if (c->short_of_memory) {
		free(c->p);
		return -ENOMEM;
	}
	qsort(c->p, c->n, sizeof(*c->p), cmp_cpu_page);
	return 0;
}

static const char *use_reason(enum kvmdbg_cpu_use use)
{
	switch (use) {
	case KVMDBG_CPU_PAGE_TABLES:
		return "the page holds the guest's page tables, which the processor walks behind any read watch; use a write watch there";
	case KVMDBG_CPU_IDT:
		return "the page holds the guest's interrupt descriptor table, which the processor reads behind any read watch to deliver interrupts and exceptions; use a write watch there";
	case KVMDBG_CPU_DESCRIPTORS:
		return "the page holds GDT entries or the TSS, which the processor reads behind any read watch to deliver interrupts and exceptions; use a write watch there";
	case KVMDBG_CPU_FRAMES:
		break;
	}
	return "the processor pushes interrupt and exception frames on this page (a vCPU's stack) behind any watch; a software watchpoint works there (set can-use-hw-watchpoints 0)";
}

/* Why the processors' own use of a page under the watch rules it out. */
static const char *cpu_conflict(const struct cpu_pages *c, enum kd_hw_type type,
				const struct kd_watch_frag *f, size_t n, uint64_t host_page)
{
	for (size_t i = 0; i < n; i++) {
		/* Protection covers whole host pages, each many guest pages. */
		uint64_t end = ((f[i].gpa + f[i].len - 1) | (host_page - 1)) + 1;

		for (uint64_t p = f[i].gpa & ~(host_page - 1); p != end; p += GUEST_PAGE) {
			struct cpu_page key = { .gpa = p };
			const struct cpu_page *hit = c->n ? bsearch(&key, c->p, c->n, sizeof(*c->p),
								    cmp_cpu_page) : NULL;

			if (!hit)
				continue;
			/* The first of the entries for p. */
			while (hit > c->p && hit[-1].gpa == p)
				hit--;
			for (; hit < c->p + c->n && hit->gpa == p; hit++)
				if (hit->use == KVMDBG_CPU_FRAMES || type != KD_HW_WRITE)
					return use_reason(hit->use);
		}
	}
	return NULL;
}

int stub_cpu_pages_conflict(struct kvmdbg_stub *s, enum kd_hw_type type,
			    const struct kd_watch_frag *f, size_t n, const char **why)
{
	struct cpu_pages c;

	if (collect_cpu_pages(s, UINT_MAX, &c) < 0) {
		*why = "out of memory for the watchpoint";
		return -ENOMEM;
	}
	*why = cpu_conflict(&c, type, f, n, s->page_size);
	free(c.p);
	return *why ? -EINVAL : 0;
}

static const char *const type_names[] = {
	[KD_HW_WRITE] = "write", [KD_HW_READ] = "read", [KD_HW_ACCESS] = "access",
};

/* Tells the log, and gdb's console now (stub thread) or at the stub
 * thread's next wake-up (vCPU thread); non-stop mode has no console
 * outside a monitor command's reply. */
static void tell(struct kvmdbg_stub *s, bool now, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void tell(struct kvmdbg_stub *s, bool now, const char *fmt, ...)
{
	char line[sizeof(s->note) - 16], text[sizeof(s->note)];
	size_t used = strlen(s->note);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	stub_log(s, "%s", line);
	snprintf(text, sizeof(text), "kvmdbg: %s\n", line);
	if (now) {
		if (!s->non_stop)
			stub_console(s, text);
	} else if (used < sizeof(s->note)) {
		snprintf(s->note + used, sizeof(s->note) - used, "%s", text);
		stub_wake(s);
	}
}

/* Turns off the active watches on pages the processors now use. */
static void turn_off_conflicts(struct kvmdbg_stub *s, const struct cpu_pages *c, bool now)
{
	struct kd_watch_info w;

	for (size_t i = 0; kd_watchset_at(s->watches, i, &w); i++) {
		const char *why = w.off ? NULL : cpu_conflict(c, w.type, w.frags, w.nfrags, s->page_size);

		if (!why)
			continue;
		tell(s, now, "%s watchpoint at 0x%llx (%llu bytes) is off from now on: %s",
		     type_names[w.type], (unsigned long long)w.addr, (unsigned long long)w.len,
		     why);
		if (stub_memslots_turn_off(s, i) < 0)
			stub_log(s, "out of memory turning a watchpoint off");
	}
}

/*
 * Before the vCPUs resume: what the processors use may have moved since
 * the watches were set (gdb keeps them inserted with breakpoint
 * always-inserted on).  From the stub thread, with every vCPU stopped.
 */
void stub_watch_check_cpu_pages(struct kvmdbg_stub *s)
{
	struct cpu_pages c;

	if (!kd_watchset_count(s->watches))
		return;
	if (collect_cpu_pages(s, UINT_MAX, &c) < 0) {
		stub_log(s, "out of memory checking the watched pages");
		return;
	}
	turn_off_conflicts(s, &c, true);
	free(c.p);
}

static bool reads_unmapped(struct kvmdbg_stub *s)
{
	struct kd_watch_info w;

	for (size_t i = 0; kd_watchset_at(s->watches, i, &w); i++)
		if (!w.off && w.type != KD_HW_WRITE)
			return true;
	return false;
}

/*
 * Where paging is off, the pages that will hold page tables are unknown
 * until the guest turns it on, which it does without an exit, and the
 * next instruction is fetched through them.  So a vCPU with paging off
 * runs one instruction at a time while read or access watches unmap
 * pages, and the watches on its tables are turned off before it goes on.
 */
void stub_watch_paging_wait(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	const void *regs = stub_regs(s, v->idx);

	v->paging_wait = s->arch->cpu_pages && regs && !s->arch->paging(regs) &&
			 reads_unmapped(s);
}

/* After each of those steps, with v->regs loaded and the lock held. */
void stub_watch_paging_step(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	struct cpu_pages c;

	if (!s->arch->paging(v->regs))
		return;
	v->paging_wait = false;
	if (collect_cpu_pages(s, v->idx, &c) < 0) {
		stub_log(s, "out of memory checking the watched pages");
		return;
	}
	turn_off_conflicts(s, &c, false);
	free(c.p);
	if (s->layout_dirty && stub_memslots_apply(s) < 0)
		stub_log(s, "watchpoint page protection could not be changed");
}
