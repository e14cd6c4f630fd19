/* SPDX-License-Identifier: MIT */
/*
 * The x86-64 'g' packet layout: general registers, rip, eflags, selectors,
 * x87, SSE, then fs_base/gs_base and the control registers kernel
 * developers look at.  All little-endian, as gdb expects for this target.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86.h"

/* Offsets in the legacy region of an XSAVE image (the FXSAVE layout). */
#define XS_FCW		0
#define XS_FSW		2
#define XS_FTW		4
#define XS_FOP		6
#define XS_FIP		8
#define XS_FDP		16
#define XS_MXCSR	24
#define XS_ST0		32
#define XS_XMM0		160
/* The XSAVE header's XSTATE_BV, and its x87 and SSE bits. */
#define XS_XSTATE_BV	512
#define XSTATE_X87_SSE	3ull

/*
 * Some hosts leave MXCSR out of KVM_GET_FPU; the XSAVE image is the
 * authoritative copy of x87 and SSE state, so it is used where available.
 */
static void fpu_from_xsave(struct kvm_fpu *f, const struct kvm_xsave *x)
{
	const uint8_t *b = (const uint8_t *)x->region;

	memcpy(&f->fcw, b + XS_FCW, 2);
	memcpy(&f->fsw, b + XS_FSW, 2);
	f->ftwx = b[XS_FTW];
	memcpy(&f->last_opcode, b + XS_FOP, 2);
	memcpy(&f->last_ip, b + XS_FIP, 8);
	memcpy(&f->last_dp, b + XS_FDP, 8);
	memcpy(&f->mxcsr, b + XS_MXCSR, 4);
	for (unsigned i = 0; i < 8; i++)
		memcpy(f->fpr[i], b + XS_ST0 + 16 * i, 16);
	for (unsigned i = 0; i < 16; i++)
		memcpy(f->xmm[i], b + XS_XMM0 + 16 * i, 16);
}

static void fpu_to_xsave(struct kvm_xsave *x, const struct kvm_fpu *f)
{
	uint8_t *b = (uint8_t *)x->region;
	uint64_t bv;

	memcpy(b + XS_FCW, &f->fcw, 2);
	memcpy(b + XS_FSW, &f->fsw, 2);
	b[XS_FTW] = f->ftwx;
	memcpy(b + XS_FOP, &f->last_opcode, 2);
	memcpy(b + XS_FIP, &f->last_ip, 8);
	memcpy(b + XS_FDP, &f->last_dp, 8);
	memcpy(b + XS_MXCSR, &f->mxcsr, 4);
	for (unsigned i = 0; i < 8; i++)
		memcpy(b + XS_ST0 + 16 * i, f->fpr[i], 16);
	for (unsigned i = 0; i < 16; i++)
		memcpy(b + XS_XMM0 + 16 * i, f->xmm[i], 16);
	/* A component whose XSTATE_BV bit is clear is in its initial state:
	 * KVM_SET_XSAVE then loads zeros, whatever the image holds.  The
	 * x87 and SSE state of a guest that never used them reads back with
	 * those bits clear (an AMD EPYC host, Linux 6.18), and a register
	 * gdb wrote there would be lost.  The legacy area now holds all of
	 * both components. */
	memcpy(&bv, b + XS_XSTATE_BV, sizeof(bv));
	bv |= XSTATE_X87_SSE;
	memcpy(b + XS_XSTATE_BV, &bv, sizeof(bv));
}

/* The x87 and SSE state waits until gdb asks for it: a stop needs rip,
 * rsp, rbp and the segments, and an XSAVE image is the costliest read. */
int x86_regs_load(int vcpu_fd, void *regs)
{
	struct x86_regs *r = regs;

	if (ioctl(vcpu_fd, KVM_GET_REGS, &r->regs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &r->sregs) < 0)
		return -errno;
	r->fpu_valid = false;
	r->dirty = 0;
	return 0;
}

void x86_regs_sync(const struct kvm_run *run, void *regs)
{
	struct x86_regs *r = regs;

	r->regs = run->s.regs.regs;
	r->sregs = run->s.regs.sregs;
	r->fpu_valid = false;
	r->dirty = 0;
}

static bool fpu_reg(unsigned regno)
{
	return regno >= X86_REG_ST0 && regno <= X86_REG_MXCSR;
}

int x86_regs_complete(int vcpu_fd, void *regs, unsigned regno)
{
	struct x86_regs *r = regs;

	if (r->fpu_valid || (regno < X86_NREGS && !fpu_reg(regno)))
		return 0;
	r->have_xsave = ioctl(vcpu_fd, KVM_GET_XSAVE, &r->xsave) == 0;
	if (r->have_xsave)
		fpu_from_xsave(&r->fpu, &r->xsave);
	else if (ioctl(vcpu_fd, KVM_GET_FPU, &r->fpu) < 0)
		return -errno;
	r->fpu_valid = true;
	return 0;
}

int x86_regs_store(int vcpu_fd, const void *regs)
{
	/* Only the XSAVE image is updated in place before it is written. */
	struct x86_regs *r = (struct x86_regs *)regs;

	/* Only what changed: KVM_SET_SREGS also re-queues the pending
	 * interrupt bitmap, which must not happen behind the guest's back. */
	if ((r->dirty & X86_DIRTY_REGS) &&
	    ioctl(vcpu_fd, KVM_SET_REGS, &r->regs) < 0)
		return -errno;
	if ((r->dirty & X86_DIRTY_SREGS) &&
	    ioctl(vcpu_fd, KVM_SET_SREGS, &r->sregs) < 0)
		return -errno;
	/* Never an image that was not read: it would zero the guest's. */
	if ((r->dirty & X86_DIRTY_FPU) && !r->fpu_valid)
		return -EINVAL;
	if (r->dirty & X86_DIRTY_FPU) {
		if (r->have_xsave) {
			fpu_to_xsave(&r->xsave, &r->fpu);
			if (ioctl(vcpu_fd, KVM_SET_XSAVE, &r->xsave) < 0)
				return -errno;
		} else if (ioctl(vcpu_fd, KVM_SET_FPU, &r->fpu) < 0) {
			return -errno;
		}
	}
	return 0;
}

size_t x86_reg_size(unsigned regno)
{
	if (regno <= X86_REG_RIP)
		return 8;
	if (regno < X86_REG_ST0)
		return 4;
	if (regno < X86_REG_FCTRL)
		return 10;
	if (regno < X86_REG_XMM0)
		return 4;
	if (regno < X86_REG_MXCSR)
		return 16;
	if (regno == X86_REG_MXCSR)
		return 4;
	if (regno < X86_NREGS)
		return 8;
	return 0;
}

/* kvm_regs keeps the general registers in a different order than gdb. */
static __u64 *gpr(struct kvm_regs *k, unsigned regno)
{
	__u64 *const map[16] = {
		&k->rax, &k->rbx, &k->rcx, &k->rdx, &k->rsi, &k->rdi,
		&k->rbp, &k->rsp, &k->r8, &k->r9, &k->r10, &k->r11,
		&k->r12, &k->r13, &k->r14, &k->r15,
	};
	return map[regno];
}

static struct kvm_segment *seg(struct kvm_sregs *s, unsigned regno)
{
	struct kvm_segment *const map[6] = {
		&s->cs, &s->ss, &s->ds, &s->es, &s->fs, &s->gs,
	};
	return map[regno - X86_REG_CS];
}

static __u64 *sysreg(struct kvm_sregs *s, unsigned regno)
{
	switch (regno) {
	case X86_REG_FS_BASE: return &s->fs.base;
	case X86_REG_GS_BASE: return &s->gs.base;
	case X86_REG_CR0: return &s->cr0;
	case X86_REG_CR2: return &s->cr2;
	case X86_REG_CR3: return &s->cr3;
	case X86_REG_CR4: return &s->cr4;
	case X86_REG_CR8: return &s->cr8;
	default: return &s->efer;
	}
}

/* FXSAVE keeps an abridged tag (one bit per register, 1 = in use); gdb
 * shows the full x87 tag word (two bits per register, 3 = empty). */
static uint32_t full_tag(uint8_t abridged)
{
	uint32_t tag = 0;

	for (unsigned i = 0; i < 8; i++)
		if (!(abridged & (1u << i)))
			tag |= 3u << (2 * i);
	return tag;
}

static uint8_t abridged_tag(uint32_t tag)
{
	uint8_t ab = 0;

	for (unsigned i = 0; i < 8; i++)
		if (((tag >> (2 * i)) & 3) != 3)
			ab |= 1u << i;
	return ab;
}

static void put32(uint8_t *out, uint32_t v)
{
	memcpy(out, &v, 4);
}

static uint32_t get32(const uint8_t *in)
{
	uint32_t v;

	memcpy(&v, in, 4);
	return v;
}

void x86_reg_get(const void *regs, unsigned regno, uint8_t *out)
{
	/* Getters share the setters' field maps; nothing is written. */
	struct x86_regs *r = (struct x86_regs *)regs;
	const struct kvm_fpu *f = &r->fpu;

	if (regno < 16)
		memcpy(out, gpr(&r->regs, regno), 8);
	else if (regno == X86_REG_RIP)
		memcpy(out, &r->regs.rip, 8);
	else if (regno == X86_REG_EFLAGS)
		put32(out, (uint32_t)r->regs.rflags);
	else if (regno < X86_REG_ST0)
		put32(out, seg(&r->sregs, regno)->selector);
	else if (regno < X86_REG_FCTRL)
		memcpy(out, f->fpr[regno - X86_REG_ST0], 10);
	else if (regno == X86_REG_FCTRL)
		put32(out, f->fcw);
	else if (regno == X86_REG_FSTAT)
		put32(out, f->fsw);
	else if (regno == X86_REG_FTAG)
		put32(out, full_tag(f->ftwx));
	else if (regno == X86_REG_FIOFF)
		put32(out, (uint32_t)f->last_ip);
	else if (regno == X86_REG_FOOFF)
		put32(out, (uint32_t)f->last_dp);
	else if (regno == X86_REG_FOP)
		put32(out, f->last_opcode);
	else if (regno < X86_REG_XMM0)	/* fiseg, foseg: not kept in 64-bit FXSAVE */
		put32(out, 0);
	else if (regno < X86_REG_MXCSR)
		memcpy(out, f->xmm[regno - X86_REG_XMM0], 16);
	else if (regno == X86_REG_MXCSR)
		put32(out, f->mxcsr);
	else
		memcpy(out, sysreg(&r->sregs, regno), 8);
}

void x86_reg_set(void *regs, unsigned regno, const uint8_t *in)
{
	struct x86_regs *r = regs;
	struct kvm_fpu *f = &r->fpu;

	if (regno <= X86_REG_EFLAGS) {
		if (regno < 16)
			memcpy(gpr(&r->regs, regno), in, 8);
		else if (regno == X86_REG_RIP)
			memcpy(&r->regs.rip, in, 8);
		else
			r->regs.rflags = get32(in);
		r->dirty |= X86_DIRTY_REGS;
		return;
	}
	if (regno < X86_REG_ST0) {
		seg(&r->sregs, regno)->selector = (uint16_t)get32(in);
		r->dirty |= X86_DIRTY_SREGS;
		return;
	}
	if (regno <= X86_REG_MXCSR) {
		if (regno < X86_REG_FCTRL)
			memcpy(f->fpr[regno - X86_REG_ST0], in, 10);
		else if (regno == X86_REG_FCTRL)
			f->fcw = (uint16_t)get32(in);
		else if (regno == X86_REG_FSTAT)
			f->fsw = (uint16_t)get32(in);
		else if (regno == X86_REG_FTAG)
			f->ftwx = abridged_tag(get32(in));
		else if (regno == X86_REG_FIOFF)
			f->last_ip = get32(in);
		else if (regno == X86_REG_FOOFF)
			f->last_dp = get32(in);
		else if (regno == X86_REG_FOP)
			f->last_opcode = (uint16_t)get32(in);
		else if (regno >= X86_REG_XMM0 && regno < X86_REG_MXCSR)
			memcpy(f->xmm[regno - X86_REG_XMM0], in, 16);
		else if (regno == X86_REG_MXCSR)
			f->mxcsr = get32(in);
		/* fiseg and foseg do not exist in 64-bit FXSAVE: ignored */
		r->dirty |= X86_DIRTY_FPU;
		return;
	}
	if (regno < X86_NREGS) {
		memcpy(sysreg(&r->sregs, regno), in, 8);
		r->dirty |= X86_DIRTY_SREGS;
	}
}

uint64_t x86_pc(const void *regs)
{
	const struct x86_regs *r = regs;

	/* Linear address: what breakpoints and debug exits are keyed on. */
	return r->sregs.cs.base + r->regs.rip;
}

void x86_set_pc(void *regs, uint64_t pc)
{
	struct x86_regs *r = regs;

	r->regs.rip = pc - r->sregs.cs.base;
	r->dirty |= X86_DIRTY_REGS;
}
