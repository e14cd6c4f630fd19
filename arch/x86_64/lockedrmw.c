/* SPDX-License-Identifier: MIT */
/*
 * Locked read-modify-write instructions on a write-protected page.
 *
 * A write watchpoint puts the watched page in a read-only memory slot, so
 * that a write to it exits to user space as MMIO and the stub makes it.
 * A locked read-modify-write (or xchg with memory, locked by itself) is
 * done by KVM's instruction emulator: it reads the old value from the
 * slot, computes, finishes the instruction (rip past it, registers and
 * flags from that old value) and only then hands over the result as a
 * plain MMIO write, as it cannot exchange atomically on a read-only slot.
 * Another vCPU's write landing between that read and the stub's write
 * would be lost, and with it the guest's counters and spinlocks.  Every
 * write to the page is made by the stub under its lock, so there the
 * instruction that ended at rip is done again against what the bytes
 * hold now: read and write then happen at one point in time.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "x86.h"

/* The longest x86 instruction. */
#define MAX_INSN 15

/* struct kvm_regs in the processor's register numbering. */
static const size_t gpr_off[16] = {
	offsetof(struct kvm_regs, rax), offsetof(struct kvm_regs, rcx),
	offsetof(struct kvm_regs, rdx), offsetof(struct kvm_regs, rbx),
	offsetof(struct kvm_regs, rsp), offsetof(struct kvm_regs, rbp),
	offsetof(struct kvm_regs, rsi), offsetof(struct kvm_regs, rdi),
	offsetof(struct kvm_regs, r8), offsetof(struct kvm_regs, r9),
	offsetof(struct kvm_regs, r10), offsetof(struct kvm_regs, r11),
	offsetof(struct kvm_regs, r12), offsetof(struct kvm_regs, r13),
	offsetof(struct kvm_regs, r14), offsetof(struct kvm_regs, r15),
};

enum { REG_RAX = 0, REG_RDX = 2 };

static uint64_t gpr_get(const struct kvm_regs *k, unsigned n)
{
	uint64_t v;

	memcpy(&v, (const char *)k + gpr_off[n], sizeof(v));
	return v;
}

static void gpr_put(struct kvm_regs *k, unsigned n, uint64_t v)
{
	memcpy((char *)k + gpr_off[n], &v, sizeof(v));
}

static uint64_t mask(unsigned bits)
{
	return bits >= 64 ? ~0ull : (1ull << bits) - 1;
}

static uint64_t sext(uint64_t v, unsigned bits)
{
	uint64_t sign = 1ull << (bits - 1);

	return ((v & mask(bits)) ^ sign) - sign;
}

/* v >> s with the sign copied in, without relying on signed shifts. */
static uint64_t shift_signed(uint64_t v, unsigned s)
{
	return (v >> s) | (v >> 63 ? ~(~0ull >> s) : 0);
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned j = 0; j < n; j++)
		v |= (uint64_t)p[j] << (8 * j);
	return v;
}

static void put_le(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned j = 0; j < n; j++)
		p[j] = (uint8_t)(v >> (8 * j));
}

/* The next k bytes of the candidate, little-endian; false past its end. */
static bool fetch(const uint8_t *p, size_t n, size_t *at, unsigned k, uint64_t *v)
{
	if (n - *at < k)
		return false;
	*v = get_le(p + *at, k);
	*at += k;
	return true;
}

/* Segment overrides by their base in 64-bit mode. */
enum seg { SEG_NONE, SEG_ZERO, SEG_FS, SEG_GS };

static enum seg seg_of(uint8_t b)
{
	switch (b) {
	case 0x26: case 0x2e: case 0x36: case 0x3e:
		return SEG_ZERO;
	case 0x64:
		return SEG_FS;
	case 0x65:
		return SEG_GS;
	default:
		return SEG_NONE;
	}
}

enum src { SRC_NONE, SRC_REG, SRC_IMM8, SRC_IMMZ };

/* ModRM.reg of the 80/81/83 group: -1 where it is not a plain ALU op. */
static const int alu_op[8] = {
	X86_RMW_ADD, X86_RMW_OR, -1, -1, X86_RMW_AND, X86_RMW_SUB, X86_RMW_XOR, -1,
};

/* Which operation opcode op (after 0F where two) with ModRM.reg regf is,
 * and what it reads besides memory; false for anything else. */
static bool classify(bool two, uint8_t op, unsigned regf, enum x86_rmw_op *what,
		     enum src *src, bool *byte)
{
	int alu = -1;

	*byte = false;
	*src = SRC_NONE;
	if (!two) {
		switch (op) {
		case 0x00: case 0x01: case 0x08: case 0x09: case 0x20: case 0x21:
		case 0x28: case 0x29: case 0x30: case 0x31:
			alu = alu_op[op >> 3];
			*src = SRC_REG;
			*byte = !(op & 1);
			break;
		case 0x80: case 0x81: case 0x83:
			alu = alu_op[regf];
			*src = op == 0x81 ? SRC_IMMZ : SRC_IMM8;
			*byte = op == 0x80;
			break;
		case 0x86: case 0x87:
			*what = X86_RMW_XCHG;
			*src = SRC_REG;
			*byte = op == 0x86;
			return true;
		case 0xf6: case 0xf7:
			if (regf != 2 && regf != 3)
				return false;
			*what = regf == 2 ? X86_RMW_NOT : X86_RMW_NEG;
			*byte = op == 0xf6;
			return true;
		case 0xfe: case 0xff:
			if (regf > 1)
				return false;
			*what = regf == 0 ? X86_RMW_INC : X86_RMW_DEC;
			*byte = op == 0xfe;
			return true;
		default:
			return false;
		}
		if (alu < 0)
			return false;
		*what = (enum x86_rmw_op)alu;
		return true;
	}
	switch (op) {
	case 0xc0: case 0xc1:
		*what = X86_RMW_XADD;
		*src = SRC_REG;
		*byte = op == 0xc0;
		return true;
	case 0xb0: case 0xb1:
		*what = X86_RMW_CMPXCHG;
		*src = SRC_REG;
		*byte = op == 0xb0;
		return true;
	case 0xc7:
		*what = X86_RMW_CMPXCHG8B;
		return regf == 1;
	case 0xab: case 0xb3: case 0xbb:
		*what = op == 0xab ? X86_RMW_BTS : op == 0xb3 ? X86_RMW_BTR : X86_RMW_BTC;
		*src = SRC_REG;
		return true;
	case 0xba:
		if (regf < 5)
			return false;
		*what = regf == 5 ? X86_RMW_BTS : regf == 6 ? X86_RMW_BTR : X86_RMW_BTC;
		*src = SRC_IMM8;
		return true;
	default:
		return false;
	}
}

/* The registers instruction i writes, one bit each. */
static unsigned written_regs(const struct x86_rmw *i)
{
	switch (i->op) {
	case X86_RMW_XCHG: case X86_RMW_XADD:
		return 1u << i->reg;
	case X86_RMW_CMPXCHG:
		return 1u << REG_RAX;
	case X86_RMW_CMPXCHG8B:
		return 1u << REG_RAX | 1u << REG_RDX;
	default:
		return 0;
	}
}

/*
 * Decodes p[0..n) as one instruction of the kinds above, using exactly
 * those bytes, its memory operand's address computed from the registers
 * after it.
 */
static bool decode(const struct x86_regs *r, const uint8_t *p, size_t n, struct x86_rmw *out)
{
	const struct kvm_regs *k = &r->regs;
	bool lock = false, opsize = false, two = false, byte;
	enum seg seg = SEG_NONE;
	unsigned rex = 0, mod, regf, rm, used = 0;
	uint64_t modrm, v, addr = 0, disp = 0;
	struct x86_rmw i = { .reg = -1 };
	enum src src;
	size_t at;
	uint8_t op;

	for (at = 0; at < n; at++) {
		uint8_t b = p[at];

		if ((b & 0xf0) == 0x40) {
			rex = b;
			continue;
		}
		if (b == 0xf0) {
			lock = true;
		} else if (b == 0x66) {
			opsize = true;
		} else if (seg_of(b) != SEG_NONE) {
			/* Which of two different bases wins is not worth guessing. */
			if (seg != SEG_NONE && seg != seg_of(b))
				return false;
			seg = seg_of(b);
		} else if (b == 0xf2 || b == 0xf3 || b == 0x67) {
			return false;
		} else {
			break;
		}
		/* A REX before another prefix is ignored. */
		rex = 0;
	}
	if (at >= n)
		return false;
	op = p[at++];
	if (op == 0x0f) {
		if (at >= n)
			return false;
		two = true;
		op = p[at++];
	}
	if (!fetch(p, n, &at, 1, &modrm))
		return false;
	mod = (unsigned)modrm >> 6;
	regf = ((unsigned)modrm >> 3 & 7) | (rex & 4 ? 8 : 0);
	rm = (unsigned)modrm & 7;
	if (mod == 3 || !classify(two, op, (unsigned)modrm >> 3 & 7, &i.op, &src, &byte))
		return false;
	if (!lock && i.op != X86_RMW_XCHG)
		return false;
	if (i.op == X86_RMW_CMPXCHG8B) {
		/* REX.W makes it cmpxchg16b; 66 on it is too rare to model. */
		if ((rex & 8) || opsize)
			return false;
		i.width = 8;
	} else {
		i.width = byte ? 1 : rex & 8 ? 8 : opsize ? 2 : 4;
	}

	if (rm == 4) {
		uint64_t sib;
		unsigned index, base;

		if (!fetch(p, n, &at, 1, &sib))
			return false;
		index = ((unsigned)sib >> 3 & 7) | (rex & 2 ? 8 : 0);
		base = ((unsigned)sib & 7) | (rex & 1 ? 8 : 0);
		if (index != 4) {
			addr += gpr_get(k, index) << (sib >> 6);
			used |= 1u << index;
		}
		if ((sib & 7) == 5 && mod == 0) {
			if (!fetch(p, n, &at, 4, &disp))
				return false;
			disp = sext(disp, 32);
		} else {
			addr += gpr_get(k, base);
			used |= 1u << base;
		}
	} else if (rm == 5 && mod == 0) {
		if (!fetch(p, n, &at, 4, &disp))
			return false;
		disp = sext(disp, 32);
		/* The registers are those after the instruction: rip is its end. */
		addr = k->rip;
	} else {
		unsigned base = rm | (rex & 1 ? 8 : 0);

		addr = gpr_get(k, base);
		used |= 1u << base;
	}
	if (mod == 1) {
		if (!fetch(p, n, &at, 1, &disp))
			return false;
		disp = sext(disp, 8);
	} else if (mod == 2) {
		if (!fetch(p, n, &at, 4, &disp))
			return false;
		disp = sext(disp, 32);
	}
	addr += disp;

	if (src == SRC_REG) {
		if (byte && !rex && regf >= 4) {
			i.reg = (int)regf - 4;
			i.high_byte = true;
		} else {
			i.reg = (int)regf;
		}
	} else if (src == SRC_IMM8) {
		if (!fetch(p, n, &at, 1, &v))
			return false;
		i.imm = sext(v, 8);
		i.has_imm = true;
	} else if (src == SRC_IMMZ) {
		unsigned sz = i.width == 2 ? 2 : 4;

		if (!fetch(p, n, &at, sz, &v))
			return false;
		i.imm = sext(v, 8 * sz);
		i.has_imm = true;
	}
	if (at != n || (used & written_regs(&i)))
		return false;

	/* A bit offset in a register addresses a bit string around the operand. */
	if (src == SRC_REG && (i.op == X86_RMW_BTS || i.op == X86_RMW_BTR || i.op == X86_RMW_BTC)) {
		unsigned bits = 8 * i.width;
		unsigned log2 = i.width == 2 ? 4 : i.width == 4 ? 5 : 6;
		uint64_t off = sext(gpr_get(k, (unsigned)i.reg), bits);

		addr += shift_signed(off, log2) * i.width;
	}
	if (seg == SEG_FS)
		addr += r->sregs.fs.base;
	else if (seg == SEG_GS)
		addr += r->sregs.gs.base;
	i.lin = addr;
	i.len = (unsigned)n;
	*out = i;
	return true;
}

static bool same_access(const struct x86_rmw *a, const struct x86_rmw *b)
{
	return a->op == b->op && a->width == b->width && a->reg == b->reg &&
	       a->high_byte == b->high_byte && a->has_imm == b->has_imm &&
	       a->imm == b->imm && a->lin == b->lin;
}

bool x86_rmw_find(const struct x86_regs *r, const uint8_t *code, size_t ncode,
		  unsigned width, bool (*lin_ok)(uint64_t lin, void *opaque),
		  void *opaque, struct x86_rmw *out)
{
	struct x86_rmw best, c;
	bool found = false;

	if (!r->sregs.cs.l || !(r->sregs.efer & X86_EFER_LMA))
		return false;
	if (ncode > MAX_INSN) {
		code += ncode - MAX_INSN;
		ncode = MAX_INSN;
	}
	/*
	 * Only the end of the instruction is known: every start that decodes
	 * to exactly rip and touches the exit's address is a reading of the
	 * bytes, and they must all mean the same access.  Shortest first.
	 */
	for (size_t len = 1; len <= ncode; len++) {
		if (!decode(r, code + ncode - len, len, &c) || c.width != width ||
		    !lin_ok(c.lin, opaque))
			continue;
		if (!found)
			best = c;
		else if (!same_access(&best, &c))
			return false;
		found = true;
	}
	if (found)
		*out = best;
	return found;
}

/* ZF, SF and PF of a result of bits bits. */
static unsigned szp(uint64_t res, unsigned bits)
{
	unsigned f = 0;

	if (!res)
		f |= X86_FL_ZF;
	if (res >> (bits - 1) & 1)
		f |= X86_FL_SF;
	if (!__builtin_parityll(res & 0xff))
		f |= X86_FL_PF;
	return f;
}

/* a + b, or a - b, of bits bits; *flags gets all six arithmetic flags. */
static uint64_t addsub(uint64_t a, uint64_t b, bool sub, unsigned bits, unsigned *flags)
{
	uint64_t res = (sub ? a - b : a + b) & mask(bits);
	uint64_t ovf = sub ? (a ^ b) & (a ^ res) : ~(a ^ b) & (a ^ res);
	unsigned f = szp(res, bits);

	if (sub ? a < b : res < a)
		f |= X86_FL_CF;
	if (ovf >> (bits - 1) & 1)
		f |= X86_FL_OF;
	if ((a ^ b ^ res) & 0x10)
		f |= X86_FL_AF;
	*flags = f;
	return res;
}

static uint64_t set_flags(uint64_t rflags, unsigned which, unsigned values)
{
	return (rflags & ~(uint64_t)which) | (values & which);
}

/* The value of i's register operand, width bytes. */
static uint64_t reg_value(const struct kvm_regs *k, const struct x86_rmw *i)
{
	return gpr_get(k, (unsigned)i->reg) >> (i->high_byte ? 8 : 0) & mask(8 * i->width);
}

/* Writes width bytes to a register as the processor does: 32-bit writes
 * clear the upper half, 8- and 16-bit ones keep the rest. */
static void reg_store(struct kvm_regs *k, unsigned reg, bool high, unsigned width, uint64_t v)
{
	uint64_t old = gpr_get(k, reg);

	switch (width) {
	case 1:
		if (high)
			v = (old & ~0xff00ull) | (v & 0xff) << 8;
		else
			v = (old & ~0xffull) | (v & 0xff);
		break;
	case 2:
		v = (old & ~0xffffull) | (v & 0xffff);
		break;
	case 4:
		v &= 0xffffffffull;
		break;
	default:
		break;
	}
	gpr_put(k, reg, v);
}

static bool redo_valid(const struct x86_rmw *i)
{
	bool needs_reg = i->op == X86_RMW_XCHG || i->op == X86_RMW_XADD ||
			 i->op == X86_RMW_CMPXCHG;
	bool needs_src = i->op <= X86_RMW_XOR || i->op >= X86_RMW_BTS;

	if (i->width != 1 && i->width != 2 && i->width != 4 && i->width != 8)
		return false;
	if (i->reg < -1 || i->reg > 15 ||
	    (i->high_byte && (i->width != 1 || i->reg < 0 || i->reg > 3)))
		return false;
	if (needs_reg && i->reg < 0)
		return false;
	if (needs_src && !i->has_imm && i->reg < 0)
		return false;
	return i->op != X86_RMW_CMPXCHG8B || i->width == 8;
}

bool x86_rmw_redo(const struct x86_rmw *i, struct x86_regs *r, const uint8_t *data,
		  const uint8_t *now, uint8_t *out, bool *write)
{
	struct kvm_regs k = r->regs;
	unsigned w, bits, f, bit;
	uint64_t m, cur, kvm, res, src = 0;
	bool store = true;

	if ((unsigned)i->op > X86_RMW_BTC || !redo_valid(i))
		return false;
	w = i->width;
	bits = 8 * w;
	m = mask(bits);
	cur = get_le(now, w);
	kvm = get_le(data, w);
	res = cur;
	if (i->has_imm)
		src = i->imm & m;
	else if (i->reg >= 0)
		src = reg_value(&k, i);

	switch (i->op) {
	case X86_RMW_ADD:
	case X86_RMW_SUB:
		res = addsub(cur, src, i->op == X86_RMW_SUB, bits, &f);
		k.rflags = set_flags(k.rflags, X86_FL_ARITH, f);
		break;
	case X86_RMW_OR:
	case X86_RMW_AND:
	case X86_RMW_XOR:
		res = i->op == X86_RMW_OR ? cur | src : i->op == X86_RMW_AND ? cur & src : cur ^ src;
		/* AF is undefined: it keeps what KVM left. */
		k.rflags = set_flags(k.rflags, X86_FL_ARITH & ~X86_FL_AF, szp(res, bits));
		break;
	case X86_RMW_NOT:
		res = ~cur & m;
		break;
	case X86_RMW_NEG:
		res = addsub(0, cur, true, bits, &f);
		k.rflags = set_flags(k.rflags, X86_FL_ARITH, f);
		break;
	case X86_RMW_INC:
	case X86_RMW_DEC:
		res = addsub(cur, 1, i->op == X86_RMW_DEC, bits, &f);
		k.rflags = set_flags(k.rflags, X86_FL_ARITH & ~X86_FL_CF, f);
		break;
	case X86_RMW_XCHG:
		/* KVM writes the register's old value and gave it what it read. */
		res = kvm;
		reg_store(&k, (unsigned)i->reg, i->high_byte, w, cur);
		break;
	case X86_RMW_XADD:
		/* The register holds what KVM read; the difference is the addend. */
		res = addsub(cur, (kvm - src) & m, false, bits, &f);
		k.rflags = set_flags(k.rflags, X86_FL_ARITH, f);
		reg_store(&k, (unsigned)i->reg, i->high_byte, w, cur);
		break;
	case X86_RMW_CMPXCHG:
		/* A failed compare only read: nothing to redo.  A successful one
		 * left the expected value in rax. */
		if (!(k.rflags & X86_FL_ZF)) {
			store = false;
			break;
		}
		if (cur == (gpr_get(&k, REG_RAX) & m)) {
			res = kvm;
			break;
		}
		store = false;
		addsub(gpr_get(&k, REG_RAX) & m, cur, true, bits, &f);
		k.rflags = set_flags(k.rflags, X86_FL_ARITH, f);
		reg_store(&k, REG_RAX, false, w, cur);
		break;
	case X86_RMW_CMPXCHG8B:
		if (!(k.rflags & X86_FL_ZF)) {
			store = false;
			break;
		}
		if (cur == ((gpr_get(&k, REG_RDX) & 0xffffffffull) << 32 |
			    (gpr_get(&k, REG_RAX) & 0xffffffffull))) {
			res = kvm;
			break;
		}
		store = false;
		k.rflags &= ~(uint64_t)X86_FL_ZF;
		reg_store(&k, REG_RAX, false, 4, cur);
		reg_store(&k, REG_RDX, false, 4, cur >> 32);
		break;
	case X86_RMW_BTS:
	case X86_RMW_BTR:
	case X86_RMW_BTC:
		bit = (unsigned)(src & (bits - 1));
		k.rflags = set_flags(k.rflags, X86_FL_CF, (cur >> bit & 1) ? X86_FL_CF : 0);
		res = i->op == X86_RMW_BTS ? cur | 1ull << bit :
		      i->op == X86_RMW_BTR ? cur & ~(1ull << bit) : cur ^ 1ull << bit;
		break;
	}

	put_le(out, store ? res : cur, w);
	*write = store;
	if (memcmp(&k, &r->regs, sizeof(k))) {
		r->regs = k;
		r->dirty |= X86_DIRTY_REGS;
	}
	return true;
}

bool x86_redo_locked_write(void *regs, const uint8_t *code, size_t ncode, uint32_t len,
			   bool (*lin_ok)(uint64_t lin, void *opaque), void *opaque,
			   const uint8_t *data, const uint8_t *now, uint8_t *out,
			   bool *write, bool *regs_changed)
{
	struct x86_regs *r = regs;
	unsigned dirty = r->dirty;
	struct x86_rmw i;

	r->dirty = 0;
	if (!x86_rmw_find(r, code, ncode, len, lin_ok, opaque, &i) ||
	    !x86_rmw_redo(&i, r, data, now, out, write)) {
		r->dirty = dirty;
		return false;
	}
	*regs_changed = r->dirty & X86_DIRTY_REGS;
	r->dirty |= dirty;
	return true;
}
