/* SPDX-License-Identifier: MIT */
/*
 * Guest page-table walk, in the stub rather than through KVM_TRANSLATE so
 * that it behaves the same on every host and reports the page size, which
 * memory accesses need to split correctly at mapping boundaries.
 */
#include <errno.h>
#include <string.h>

#include "x86.h"

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
		uint64_t addr_mask = entry_size == 4 ? 0xfffff000ull : X86_PTE_ADDR;

		if (read_entry(mem, (table & addr_mask) + idx * entry_size,
			       entry_size, &entry) < 0 || !(entry & X86_PTE_P))
			return -EFAULT;
		if (level > 1 && (entry & X86_PTE_PS) && pse) {
			uint64_t size = 1ull << shift;
			uint64_t base = entry & addr_mask & ~(size - 1);

			*gpa = base | (gva & (size - 1));
			*page_left = size - (gva & (size - 1));
			return 0;
		}
		table = entry;
	}
	*gpa = (table & (entry_size == 4 ? 0xfffff000ull : X86_PTE_ADDR)) |
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
			       8, &pdpte) < 0 || !(pdpte & X86_PTE_P))
			return -EFAULT;
		return walk(mem, pdpte, gva, 2, 9, 8, true, gpa, page_left);
	}
	return walk(mem, s->cr3, gva & 0xffffffffull, 2, 10, 4,
		    s->cr4 & X86_CR4_PSE, gpa, page_left);
}
