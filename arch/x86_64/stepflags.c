/* SPDX-License-Identifier: MIT */
/*
 * KVM single-steps an x86 guest by setting the trap flag in its RFLAGS.
 * KVM_GET_REGS hides that flag, but the processor does not hide it from a
 * pushf: the image on the guest's stack says TF=1.  The guest's popf or
 * iret loads it back later, often after the debugger has let it go, and
 * the guest takes a single-step trap nobody asked for.  Linux warns about
 * it in its #DB handler; early in its boot (text_poke_early pushes the
 * flags for an iret) the vCPU can fault beyond repair.  So when a step ran
 * a pushf, the image it stored gets the guest's own trap flag back.
 * KVM's instruction emulator pushes the flags the guest sees, so on hosts
 * that emulate guest kernel code there is nothing to take out.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86.h"

#define PUSHF			0x9c
#define OPSIZE_PREFIX		0x66
#define REX			0x40
#define REX_W			0x08
#define MAX_INSN		15

static bool long_mode(const struct kvm_sregs *s)
{
	return (s->efer & X86_EFER_LMA) && s->cs.l;
}

/* The stack pointer's width: 64 in long mode, else SS's B bit. */
static uint64_t sp_mask(const struct kvm_sregs *s)
{
	if (long_mode(s))
		return ~0ull;
	return s->ss.db ? 0xffffffffull : 0xffffull;
}

static uint64_t ip_mask(const struct kvm_sregs *s)
{
	if (long_mode(s))
		return ~0ull;
	return s->cs.db ? 0xffffffffull : 0xffffull;
}

/* The byte at a linear address, as the vCPU would read it. */
static uint8_t *guest_byte(const struct x86_regs *r, const struct kvmdbg_mem *mem,
			   uint64_t linear)
{
	uint64_t gpa, left;

	if (x86_translate(r, mem, linear, &gpa, &left) < 0)
		return NULL;
	return mem->gpa_to_hva(mem->opaque, gpa, 1);
}

static bool prefix(uint8_t b, bool long_mode)
{
	switch (b) {
	case OPSIZE_PREFIX: case 0x67: case 0xf0: case 0xf2: case 0xf3:
	case 0x26: case 0x2e: case 0x36: case 0x3e: case 0x64: case 0x65:
		return true;
	}
	return long_mode && (b & 0xf0) == REX;
}

bool x86_pushf_decode(const uint8_t *code, size_t n, bool long_mode, bool cs_32,
		      uint8_t *insn_len, uint8_t *push_len)
{
	bool opsize = false, rex_w = false;
	size_t i = 0;

	for (; i < n && i < MAX_INSN && prefix(code[i], long_mode); i++) {
		opsize |= code[i] == OPSIZE_PREFIX;
		/* A REX prefix counts only right before the opcode. */
		rex_w = (code[i] & 0xf8) == (REX | REX_W);
	}
	if (i == n || i == MAX_INSN || code[i] != PUSHF)
		return false;
	*insn_len = (uint8_t)(i + 1);
	if (long_mode)
		*push_len = opsize && !rex_w ? 2 : 8;
	else
		*push_len = opsize != cs_32 ? 4 : 2;
	return true;
}

/* KVM_GET_REGS and KVM_GET_SREGS into r, unless known holds them. */
static int current_regs(int vcpu_fd, const void *known, struct x86_regs *r)
{
	if (known) {
		const struct x86_regs *k = known;

		r->regs = k->regs;
		r->sregs = k->sregs;
		return 0;
	}
	if (ioctl(vcpu_fd, KVM_GET_REGS, &r->regs) < 0 ||
	    ioctl(vcpu_fd, KVM_GET_SREGS, &r->sregs) < 0)
		return -errno;
	return 0;
}

int x86_step_begin(int vcpu_fd, const struct kvmdbg_mem *mem, const void *regs,
		   struct kvmdbg_step_state *st)
{
	struct x86_regs r;
	uint8_t code[MAX_INSN];
	size_t n = 0;
	int err;

	memset(st, 0, sizeof(*st));
	err = current_regs(vcpu_fd, regs, &r);
	if (err)
		return err;
	/* A guest that traces itself pushes its own TF, which stays. */
	if (r.regs.rflags & X86_FL_TF)
		return 0;
	/* Prefixes, then the opcode: nothing past it matters. */
	while (n < sizeof(code)) {
		uint64_t ip = (r.regs.rip + n) & ip_mask(&r.sregs);
		const uint8_t *p = guest_byte(&r, mem, r.sregs.cs.base + ip);

		if (!p)
			break;
		code[n++] = *p;
		if (!prefix(*p, long_mode(&r.sregs)))
			break;
	}
	if (!x86_pushf_decode(code, n, long_mode(&r.sregs), r.sregs.cs.db, &st->insn_len,
			      &st->push_len))
		return 0;
	st->pc = r.regs.rip;
	st->sp = r.regs.rsp;
	st->active = true;
	return 0;
}

int x86_step_end(int vcpu_fd, const struct kvmdbg_mem *mem, struct kvmdbg_step_state *st)
{
	struct x86_regs r;
	uint64_t sp, base;
	uint8_t *flags_hi;
	int err = current_regs(vcpu_fd, NULL, &r);

	if (err)
		return err;
	/* Anything else (a fault on the push, an exit before it ran) left
	 * no image of the step's flags. */
	sp = (st->sp - st->push_len) & sp_mask(&r.sregs);
	if (r.regs.rip != ((st->pc + st->insn_len) & ip_mask(&r.sregs)) ||
	    (r.regs.rsp & sp_mask(&r.sregs)) != sp)
		return 0;
	base = long_mode(&r.sregs) ? 0 : r.sregs.ss.base;
	/* TF is bit 8: bit 0 of the image's second byte. */
	flags_hi = guest_byte(&r, mem, base + ((sp + 1) & sp_mask(&r.sregs)));
	if (flags_hi)
		*flags_hi &= (uint8_t)~(X86_FL_TF >> 8);
	return 0;
}
