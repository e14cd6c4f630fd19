/* SPDX-License-Identifier: MIT */
/*
 * Guest memory as gdb sees it: virtual addresses through the guest's page
 * tables (physical with paging off or `monitor phys on`), the stub's own
 * breakpoint instructions invisible on reads, and writes over a
 * breakpoint site landing in its saved bytes so the breakpoint survives.
 */
#include <errno.h>
#include <string.h>

#include "internal.h"

uint8_t *stub_hva(struct kvmdbg_stub *s, uint64_t gpa, uint64_t len)
{
	if (gpa + len < gpa)
		return NULL;
	return s->cfg.mem.gpa_to_hva(s->cfg.mem.opaque, gpa, len);
}

int stub_translate(struct kvmdbg_stub *s, const void *regs, bool phys,
		   uint64_t addr, uint64_t *gpa, uint64_t *page_left)
{
	if (phys || !s->arch->paging(regs)) {
		*gpa = addr;
		*page_left = 0x1000 - (addr & 0xfff);
		return 0;
	}
	return s->arch->translate(regs, &s->cfg.mem, addr, gpa, page_left);
}

enum access { READ, PROBE, WRITE };

struct overlay {
	struct kvmdbg_stub *s;
	uint64_t gpa;		/* start of the chunk */
	uint64_t len;
	uint8_t *buf;		/* chunk as gdb sees it */
	enum access mode;
};

/* Copies between a chunk and a breakpoint's saved bytes where they overlap. */
static void overlay_bp(struct kd_swbp *bp, void *opaque)
{
	struct overlay *o = opaque;
	uint64_t lo = bp->gpa > o->gpa ? bp->gpa : o->gpa;
	uint64_t hi = bp->gpa + bp->len < o->gpa + o->len ? bp->gpa + bp->len
							   : o->gpa + o->len;

	for (uint64_t a = lo; a < hi; a++) {
		if (o->mode == WRITE)
			bp->orig[a - bp->gpa] = o->buf[a - o->gpa];
		else
			o->buf[a - o->gpa] = bp->orig[a - bp->gpa];
	}
}

static void rearm_bp(struct kd_swbp *bp, void *opaque)
{
	struct overlay *o = opaque;

	stub_trap_write(o->s, bp->gpa);
}

/* Walks [addr, addr+len) in physically contiguous pieces; returns the
 * bytes that could be reached, or -errno when none could. */
static long walk_mem(struct kvmdbg_stub *s, const void *regs, bool phys, uint64_t addr,
		     uint8_t *buf, size_t len, enum access mode)
{
	size_t done = 0;

	while (done < len) {
		uint64_t gpa, left, n;
		struct overlay o;
		uint8_t *hva;

		if (stub_translate(s, regs, phys, addr + done, &gpa, &left) < 0)
			break;
		n = len - done < left ? len - done : left;
		hva = stub_hva(s, gpa, n);
		if (!hva)
			break;
		o = (struct overlay){ .s = s, .gpa = gpa, .len = n,
				      .buf = buf + done, .mode = mode };
		if (mode == READ) {
			memcpy(buf + done, hva, n);
			kd_bptable_for_range(s->bps, gpa, n, overlay_bp, &o);
		} else if (mode == WRITE) {
			kd_bptable_for_range(s->bps, gpa, n, overlay_bp, &o);
			memcpy(hva, buf + done, n);
			kd_bptable_for_range(s->bps, gpa, n, rearm_bp, &o);
		}
		done += n;
	}
	return done ? (long)done : -EFAULT;
}

static long access_mem(struct kvmdbg_stub *s, unsigned vcpu, uint64_t addr,
		       uint8_t *buf, size_t len, enum access mode)
{
	const void *regs = stub_regs(s, vcpu);

	return regs ? walk_mem(s, regs, s->phys, addr, buf, len, mode) : -EIO;
}

/* What the vCPU itself reads there, whatever gdb's view of addresses. */
long stub_read_virt(struct kvmdbg_stub *s, const void *regs, uint64_t addr,
		    uint8_t *out, size_t len)
{
	return walk_mem(s, regs, false, addr, out, len, READ);
}

long stub_read_mem(struct kvmdbg_stub *s, unsigned vcpu, uint64_t addr,
		   uint8_t *out, size_t len)
{
	return access_mem(s, vcpu, addr, out, len, READ);
}

/* All or nothing: a write that would run off guest RAM changes nothing. */
long stub_write_mem(struct kvmdbg_stub *s, unsigned vcpu, uint64_t addr,
		    uint8_t *in, size_t len)
{
	long n = access_mem(s, vcpu, addr, in, len, PROBE);

	if (n < 0 || (size_t)n < len)
		return -EFAULT;
	return access_mem(s, vcpu, addr, in, len, WRITE);
}
