/* SPDX-License-Identifier: MIT */
/*
 * Guest page-table walk, in the stub rather than through KVM_TRANSLATE so
 * that it behaves the same on every host and reports the page size, which
 * memory accesses need to split correctly at mapping boundaries.
 */
#include <errno.h>
#include <string.h>

#include "x86.h"

#define PTE_P		(1ull << 0)
#define PTE_PS		(1ull << 7)
#define PTE_ADDR	0x000ffffffffff000ull

bool x86_paging(const void *regs)
{
	const struct x86_regs *r = regs;

	return r->sregs.cr0 & X86_CR0_PG;
}

static int read_entry(const struct kvmdbg_mem *mem, uint64_t gpa,
		      unsigned size, uint64_t *entry)
{
	const void *p = mem->gpa_to_hva(mem->opaque, gpa, size);

	if (!p)
		return -EFAULT;
	*entry = 0;
	memcpy(entry, p, size);
	return 0;
}

/*
 * Walks `levels` levels of `bits`-bit indices starting with the table at
 * `table`; large pages are allowed below the top level (or at every
 * level for legacy 32-bit paging with PSE).
 */
static int walk(const struct kvmdbg_mem *mem, uint64_t table, uint64_t gva,
		unsigned levels, unsigned bits, unsigned entry_size, bool pse,
		uint64_t *gpa, uint64_t *page_left)
{
	unsigned shift = 12 + bits * (levels - 1);
	uint64_t entry;

	for (unsigned level = levels; level > 0; level--, shift -= bits) {
		uint64_t idx = (gva >> shift) & ((1ull << bits) - 1);
		uint64_t addr_mask = entry_size == 4 ? 0xfffff000ull : PTE_ADDR;

		if (read_entry(mem, (table & addr_mask) + idx * entry_size,
			       entry_size, &entry) < 0 || !(entry & PTE_P))
			return -EFAULT;
		if (level > 1 && (entry & PTE_PS) && pse) {
			uint64_t size = 1ull << shift;
			uint64_t base = entry & addr_mask & ~(size - 1);

			*gpa = base | (gva & (size - 1));
			*page_left = size - (gva & (size - 1));
			return 0;
		}
		table = entry;
	}
	*gpa = (table & (entry_size == 4 ? 0xfffff000ull : PTE_ADDR)) |
	       (gva & 0xfff);
	*page_left = 0x1000 - (gva & 0xfff);
	return 0;
}

int x86_translate(const void *regs, const struct kvmdbg_mem *mem,
		  uint64_t gva, uint64_t *gpa, uint64_t *page_left)
{
	const struct x86_regs *r = regs;
	const struct kvm_sregs *s = &r->sregs;

	if (!(s->cr0 & X86_CR0_PG)) {
		*gpa = gva;
		*page_left = 0x1000 - (gva & 0xfff);
		return 0;
	}
	if (s->efer & X86_EFER_LMA) {
		unsigned levels = (s->cr4 & X86_CR4_LA57) ? 5 : 4;

		return walk(mem, s->cr3, gva, levels, 9, 8, true, gpa,
			    page_left);
	}
	if (s->cr4 & X86_CR4_PAE) {
		/* Four PDPTEs addressed by bits 31:30, then two 9-bit levels. */
		uint64_t pdpte;

		gva &= 0xffffffffull;
		if (read_entry(mem, (s->cr3 & 0xffffffe0ull) + (gva >> 30) * 8,
			       8, &pdpte) < 0 || !(pdpte & PTE_P))
			return -EFAULT;
		return walk(mem, pdpte, gva, 2, 9, 8, true, gpa, page_left);
	}
	return walk(mem, s->cr3, gva & 0xffffffffull, 2, 10, 4,
		    s->cr4 & X86_CR4_PSE, gpa, page_left);
}

/* Bounds a walk over a guest's tables, which the guest controls. */
#define MAX_TABLES 65536

struct table_search {
	const struct kvmdbg_mem *mem;
	uint64_t page;
	unsigned visited;
};

/* Whether the table at `table` (level `level`, 1 = last) or any table
 * below it is `page`. */
static bool tables_include(struct table_search *t, uint64_t table, unsigned level,
			   unsigned entries, unsigned entry_size, bool pse)
{
	uint64_t addr_mask = entry_size == 4 ? 0xfffff000ull : PTE_ADDR;
	const uint8_t *p;

	table &= addr_mask;
	if (table == t->page)
		return true;
	if (level == 1 || ++t->visited > MAX_TABLES)
		return false;
	p = t->mem->gpa_to_hva(t->mem->opaque, table, entries * entry_size);
	if (!p)
		return false;
	for (unsigned i = 0; i < entries; i++) {
		uint64_t e = 0;

		memcpy(&e, p + i * entry_size, entry_size);
		if (!(e & PTE_P) || (pse && (e & PTE_PS)))
			continue;
		if (tables_include(t, e, level - 1, entries, entry_size, pse))
			return true;
	}
	return false;
}

bool x86_cpu_reads_page(const void *regs, const struct kvmdbg_mem *mem, uint64_t gpa)
{
	const struct x86_regs *r = regs;
	const struct kvm_sregs *s = &r->sregs;
	struct table_search t = { .mem = mem, .page = gpa & ~0xfffull };

	if (!(s->cr0 & X86_CR0_PG))
		return false;
	if (s->efer & X86_EFER_LMA)
		return tables_include(&t, s->cr3, (s->cr4 & X86_CR4_LA57) ? 5 : 4,
				      512, 8, true);
	if (s->cr4 & X86_CR4_PAE) {
		const uint8_t *p = mem->gpa_to_hva(mem->opaque, s->cr3 & 0xffffffe0ull, 32);

		if ((s->cr3 & ~0xfffull) == t.page)
			return true;
		for (unsigned i = 0; p && i < 4; i++) {
			uint64_t e;

			memcpy(&e, p + 8 * i, 8);
			if ((e & PTE_P) && tables_include(&t, e, 2, 512, 8, true))
				return true;
		}
		return false;
	}
	return tables_include(&t, s->cr3, 2, 1024, 4, s->cr4 & X86_CR4_PSE);
}
