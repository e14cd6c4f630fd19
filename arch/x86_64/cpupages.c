/* SPDX-License-Identifier: MIT */
/*
 * The guest pages an x86 processor uses by itself: the page tables it
 * walks, and what it needs to deliver an interrupt or exception: the IDT,
 * the GDT entries of the gates' code segments, the TSS where it switches
 * stacks, and the stack it pushes the frame on.  KVM delivers events from
 * inside the kernel (or the hardware does, at VM entry): a page without a
 * memory slot or a read-only one there is a fault in the middle of the
 * delivery, and the guest shuts down; no exit reaches user space.
 */
#include <string.h>

#include "x86.h"

/* Bounds a walk over a guest's tables, which the guest controls. */
#define MAX_TABLES	65536
/* The largest frame: SS, RSP, RFLAGS, CS, RIP and an error code. */
#define FRAME64		48
/* EFLAGS, CS, EIP and an error code, at the same privilege level. */
#define FRAME32		16
#define FRAME16		6	/* FLAGS, CS, IP */
#define TSS64_RSP0	4
#define TSS64_IST1	0x24
#define TSS32_ESP0	4
#define GATE_PRESENT	0x80
/* How far up a caller's frame may be from the one below it. */
#define MAX_CALLERS	64
#define CALLER_REACH	0x10000

struct cpu_walk {
	const struct x86_regs *r;
	const struct kvmdbg_mem *mem;
	kvmdbg_cpu_page_fn fn;
	void *opaque;
	unsigned tables;
};

/* Every page of [lin, lin+len) the guest maps, as use. */
static void linear_range(struct cpu_walk *w, uint64_t lin, uint64_t len,
			 enum kvmdbg_cpu_use use)
{
	uint64_t end = lin + len;

	while (lin < end) {
		uint64_t gpa, left;

		if (x86_translate(w->r, w->mem, lin, &gpa, &left) < 0)
			left = 0x1000 - (lin & 0xfff);
		else
			w->fn(gpa & ~0xfffull, use, w->opaque);
		if (left > end - lin)
			break;
		lin += left;
	}
}

/* n bytes at a linear address, false where the guest maps no RAM. */
static bool read_linear(struct cpu_walk *w, uint64_t lin, void *out, size_t n)
{
	uint8_t *o = out;

	while (n) {
		uint64_t gpa, left;
		const void *p;
		size_t chunk;

		if (x86_translate(w->r, w->mem, lin, &gpa, &left) < 0)
			return false;
		chunk = left < n ? (size_t)left : n;
		p = w->mem->gpa_to_hva(w->mem->opaque, gpa, chunk);
		if (!p)
			return false;
		memcpy(o, p, chunk);
		o += chunk;
		lin += chunk;
		n -= chunk;
	}
	return true;
}

/* The table at `table` (level `level`, 1 = last) and every table below. */
static void visit_tables(struct cpu_walk *w, uint64_t table, unsigned level,
			 unsigned entries, unsigned entry_size, bool pse)
{
	uint64_t addr_mask = entry_size == 4 ? 0xfffff000ull : X86_PTE_ADDR;
	const uint8_t *p;

	table &= addr_mask;
	w->fn(table, KVMDBG_CPU_PAGE_TABLES, w->opaque);
	if (level == 1 || ++w->tables > MAX_TABLES)
		return;
	p = w->mem->gpa_to_hva(w->mem->opaque, table, entries * entry_size);
	if (!p)
		return;
	for (unsigned i = 0; i < entries; i++) {
		uint64_t e = 0;

		memcpy(&e, p + i * entry_size, entry_size);
		if (!(e & X86_PTE_P) || (pse && (e & X86_PTE_PS)))
			continue;
		visit_tables(w, e, level - 1, entries, entry_size, pse);
	}
}

static void page_tables(struct cpu_walk *w)
{
	const struct kvm_sregs *s = &w->r->sregs;

	if (s->efer & X86_EFER_LMA) {
		visit_tables(w, s->cr3, (s->cr4 & X86_CR4_LA57) ? 5 : 4, 512, 8, true);
	} else if (s->cr4 & X86_CR4_PAE) {
		const uint8_t *p = w->mem->gpa_to_hva(w->mem->opaque, s->cr3 & 0xffffffe0ull, 32);

		w->fn(s->cr3 & 0xfffff000ull, KVMDBG_CPU_PAGE_TABLES, w->opaque);
		for (unsigned i = 0; p && i < 4; i++) {
			uint64_t e;

			memcpy(&e, p + 8 * i, 8);
			if (e & X86_PTE_P)
				visit_tables(w, e, 2, 512, 8, true);
		}
	} else {
		visit_tables(w, s->cr3, 2, 1024, 4, s->cr4 & X86_CR4_PSE);
	}
}

/* The frame pushed below stack top `sp`, 16-byte aligned in long mode. */
static void frame_below(struct cpu_walk *w, uint64_t sp, unsigned size)
{
	linear_range(w, sp - size, size, KVMDBG_CPU_FRAMES);
}

/*
 * The callers' frames above the current one: the stack comes back up to
 * them, and interrupts push there then.  Followed through the saved frame
 * pointers as long as they lead up the same stack; where code keeps no
 * frame pointer the chain ends at once.
 */
static uint64_t callers_top(struct cpu_walk *w, uint64_t sp)
{
	uint64_t fp = w->r->regs.rbp, top = sp;

	for (unsigned i = 0; i < MAX_CALLERS; i++) {
		uint64_t next;

		if (fp < top || fp - top > CALLER_REACH || (fp & 7))
			break;
		top = fp + 16;		/* the saved frame pointer, the return address */
		if (!read_linear(w, fp, &next, 8) || next <= fp)
			break;
		fp = next;
	}
	return top;
}

/* Protected and long mode: the gates, what they lead to, the stacks. */
static void delivery(struct cpu_walk *w)
{
	const struct kvm_sregs *s = &w->r->sregs;
	bool lm = s->efer & X86_EFER_LMA;
	unsigned gate_size = lm ? 16 : 8;
	unsigned ngates = ((unsigned)s->idt.limit + 1) / gate_size;
	unsigned cpl = s->ss.dpl;
	uint32_t ists = 0;
	bool any = false;

	if (ngates > 256)
		ngates = 256;
	linear_range(w, s->idt.base, (uint64_t)s->idt.limit + 1, KVMDBG_CPU_IDT);
	for (unsigned i = 0; i < ngates; i++) {
		uint8_t g[16];
		uint16_t sel;

		if (!read_linear(w, s->idt.base + i * gate_size, g, gate_size) ||
		    !(g[5] & GATE_PRESENT))
			continue;
		any = true;
		sel = g[2] | g[3] << 8;
		if (!(sel & 4) && (sel | 7u) <= s->gdt.limit)
			linear_range(w, s->gdt.base + (sel & ~7u), 8, KVMDBG_CPU_DESCRIPTORS);
		if (lm && (g[4] & 7))
			ists |= 1u << (g[4] & 7);
	}
	/* Without a present gate, any event shuts the guest down anyway. */
	if (!any)
		return;
	for (unsigned ist = 1; ist <= 7; ist++) {
		uint64_t sp;

		if (!(ists & (1u << ist)))
			continue;
		linear_range(w, s->tr.base + TSS64_IST1 + (ist - 1) * 8, 8,
			     KVMDBG_CPU_DESCRIPTORS);
		if (read_linear(w, s->tr.base + TSS64_IST1 + (ist - 1) * 8, &sp, 8))
			frame_below(w, sp & ~0xfull, FRAME64);
	}
	if (cpl == 0) {
		uint64_t sp = w->r->regs.rsp & ~0xfull;

		if (lm)
			linear_range(w, sp - FRAME64, callers_top(w, sp) - (sp - FRAME64),
				     KVMDBG_CPU_FRAMES);
		else
			frame_below(w, s->ss.base + (uint32_t)w->r->regs.rsp, FRAME32);
		return;
	}
	/* From user mode, to the kernel stack the TSS names. */
	if (lm) {
		uint64_t sp;

		linear_range(w, s->tr.base + TSS64_RSP0, 8, KVMDBG_CPU_DESCRIPTORS);
		if (read_linear(w, s->tr.base + TSS64_RSP0, &sp, 8))
			frame_below(w, sp & ~0xfull, FRAME64);
	} else {
		uint32_t sp;

		linear_range(w, s->tr.base + TSS32_ESP0, 8, KVMDBG_CPU_DESCRIPTORS);
		if (read_linear(w, s->tr.base + TSS32_ESP0, &sp, 4))
			frame_below(w, sp, FRAME32 + 8);
	}
}

bool x86_cpu_pages(const void *regs, const struct kvmdbg_mem *mem,
		   kvmdbg_cpu_page_fn fn, void *opaque)
{
	struct cpu_walk w = { .r = regs, .mem = mem, .fn = fn, .opaque = opaque };
	const struct kvm_sregs *s = &w.r->sregs;

	if (!(s->cr0 & X86_CR0_PE)) {
		/* Real mode: the vector table and a 16-bit frame. */
		linear_range(&w, s->idt.base, (uint64_t)s->idt.limit + 1, KVMDBG_CPU_IDT);
		linear_range(&w, s->ss.base + ((w.r->regs.rsp - FRAME16) & 0xffff), FRAME16,
			     KVMDBG_CPU_FRAMES);
		return false;
	}
	delivery(&w);
	if (!(s->cr0 & X86_CR0_PG))
		return false;
	page_tables(&w);
	return true;
}
