/* SPDX-License-Identifier: MIT */
/* Locked read-modify-writes on a write-protected page: finding the
 * instruction that ended at rip from its bytes, and redoing it against
 * the memory's current value.  The host processor runs the same
 * instructions as the reference for what KVM's emulator computed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "x86.h"

#define RIP	0x401000ull
#define GS_BASE	0xffff888000000000ull

static struct x86_regs *regs64(void)
{
	struct x86_regs *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	r->sregs.cs.l = 1;
	r->sregs.efer = 0x500;		/* LME, LMA */
	r->sregs.gs.base = GS_BASE;
	r->regs.rip = RIP;
	r->regs.rsp = 0x7ff000;		/* never an index */
	r->regs.rflags = 0x202;
	return r;
}

static bool lin_is(uint64_t lin, void *opaque)
{
	return lin == *(const uint64_t *)opaque;
}

static bool any_lin(uint64_t lin, void *opaque)
{
	return true;
}

/* Finds the instruction in code (ending at rip) touching lin. */
static bool find(const struct x86_regs *r, const uint8_t *code, size_t n, unsigned width,
		 uint64_t lin, struct x86_rmw *i)
{
	memset(i, 0x5a, sizeof(*i));
	return x86_rmw_find(r, code, n, width, lin_is, &lin, i);
}

#define FIND(r, width, lin, i, ...) __extension__ ({			\
	static const uint8_t code_[] = { __VA_ARGS__ };			\
	find(r, code_, sizeof(code_), width, lin, i);			\
})

#define FIND_ANY(r, width, i, ...) __extension__ ({			\
	static const uint8_t code_[] = { __VA_ARGS__ };			\
	x86_rmw_find(r, code_, sizeof(code_), width, any_lin, NULL, i);	\
})

static void check(const struct x86_rmw *i, enum x86_rmw_op op, unsigned width, int reg,
		  bool high, unsigned len, uint64_t lin)
{
	assert_int_equal(i->op, op);
	assert_int_equal(i->width, width);
	assert_int_equal(i->reg, reg);
	assert_int_equal(i->high_byte, high);
	assert_int_equal(i->len, len);
	assert_int_equal(i->lin, lin);
}

static void test_find_xadd(void **state)
{
	struct x86_regs *r = regs64();
	struct x86_rmw i;

	/* lock xadd %eax,(%rdx) */
	r->regs.rdx = 0x7000;
	assert_true(FIND(r, 4, 0x7000, &i, 0xf0, 0x0f, 0xc1, 0x02));
	check(&i, X86_RMW_XADD, 4, 0, false, 4, 0x7000);
	assert_false(i.has_imm);
	/* lock xadd %rax,0x10(%rbx,%rcx,8) */
	r->regs.rbx = 0x10000;
	r->regs.rcx = 3;
	assert_true(FIND(r, 8, 0x10028, &i, 0xf0, 0x48, 0x0f, 0xc1, 0x44, 0xcb, 0x10));
	check(&i, X86_RMW_XADD, 8, 0, false, 7, 0x10028);
	free(r);
}

static void test_find_inc_add_or(void **state)
{
	struct x86_regs *r = regs64();
	struct x86_rmw i;

	r->regs.rdi = 0x9000;
	r->regs.rsi = 0x9800;
	/* lock incl (%rdi) */
	assert_true(FIND(r, 4, 0x9000, &i, 0xf0, 0xff, 0x07));
	check(&i, X86_RMW_INC, 4, -1, false, 3, 0x9000);
	assert_false(i.has_imm);
	/* lock addq $1,0x20(%rip): relative to the end of the instruction */
	assert_true(FIND(r, 8, RIP + 0x20, &i,
			 0xf0, 0x48, 0x83, 0x05, 0x20, 0x00, 0x00, 0x00, 0x01));
	check(&i, X86_RMW_ADD, 8, -1, false, 9, RIP + 0x20);
	assert_true(i.has_imm);
	assert_int_equal(i.imm, 1);
	/* lock orb $4,(%rsi) */
	assert_true(FIND(r, 1, 0x9800, &i, 0xf0, 0x80, 0x0e, 0x04));
	check(&i, X86_RMW_OR, 1, -1, false, 4, 0x9800);
	assert_int_equal(i.imm, 4);
	/* lock addq $-2,(%rdi): imm8 sign-extended */
	assert_true(FIND(r, 8, 0x9000, &i, 0xf0, 0x48, 0x83, 0x07, 0xfe));
	check(&i, X86_RMW_ADD, 8, -1, false, 5, 0x9000);
	assert_int_equal(i.imm, (uint64_t)-2);
	/* lock addw $0x1234,(%rdi): imm16 */
	assert_true(FIND(r, 2, 0x9000, &i, 0x66, 0xf0, 0x81, 0x07, 0x34, 0x12));
	check(&i, X86_RMW_ADD, 2, -1, false, 6, 0x9000);
	assert_int_equal(i.imm, 0x1234);
	/* lock andq $-0x10000,(%rdi): imm32 sign-extended to 64 */
	assert_true(FIND(r, 8, 0x9000, &i, 0xf0, 0x48, 0x81, 0x27, 0x00, 0x00, 0xff, 0xff));
	check(&i, X86_RMW_AND, 8, -1, false, 8, 0x9000);
	assert_int_equal(i.imm, 0xffffffffffff0000ull);
	/* lock sub %esi,(%rdi); lock negq (%rdi); lock decb (%rdi) */
	assert_true(FIND(r, 4, 0x9000, &i, 0xf0, 0x29, 0x37));
	check(&i, X86_RMW_SUB, 4, 6, false, 3, 0x9000);
	assert_true(FIND(r, 8, 0x9000, &i, 0xf0, 0x48, 0xf7, 0x1f));
	check(&i, X86_RMW_NEG, 8, -1, false, 4, 0x9000);
	assert_true(FIND(r, 1, 0x9000, &i, 0xf0, 0xfe, 0x0f));
	check(&i, X86_RMW_DEC, 1, -1, false, 3, 0x9000);
	free(r);
}

static void test_find_bit_ops(void **state)
{
	struct x86_regs *r = regs64();
	struct x86_rmw i;

	r->regs.rdi = 0x8000;
	/* lock btsq %rax,(%rdi): the offset addresses a bit string */
	r->regs.rax = 0x1000 + 5;
	assert_true(FIND(r, 8, 0x8000 + 0x200, &i, 0xf0, 0x48, 0x0f, 0xab, 0x07));
	check(&i, X86_RMW_BTS, 8, 0, false, 5, 0x8000 + 0x200);
	assert_false(i.has_imm);
	r->regs.rax = (uint64_t)-1;		/* bit 63 of the quadword below */
	assert_true(FIND(r, 8, 0x8000 - 8, &i, 0xf0, 0x48, 0x0f, 0xab, 0x07));
	r->regs.rax = (uint64_t)-65;
	assert_true(FIND(r, 8, 0x8000 - 16, &i, 0xf0, 0x48, 0x0f, 0xab, 0x07));
	/* lock btc %si,(%rdi): a 16-bit offset is signed at 16 bits */
	r->regs.rsi = 0xabcd0000ffffull;
	assert_true(FIND(r, 2, 0x8000 - 2, &i, 0x66, 0xf0, 0x0f, 0xbb, 0x37));
	check(&i, X86_RMW_BTC, 2, 6, false, 5, 0x8000 - 2);
	/* lock btrl $3,(%rdi): no address adjustment */
	assert_true(FIND(r, 4, 0x8000, &i, 0xf0, 0x0f, 0xba, 0x37, 0x03));
	check(&i, X86_RMW_BTR, 4, -1, false, 5, 0x8000);
	assert_true(i.has_imm);
	assert_int_equal(i.imm, 3);
	free(r);
}

static void test_find_cmpxchg_xchg(void **state)
{
	struct x86_regs *r = regs64();
	struct x86_rmw i;

	r->regs.rdi = 0x6000;
	r->regs.rsi = 0x6100;
	/* lock cmpxchg %ecx,(%rdi) */
	assert_true(FIND(r, 4, 0x6000, &i, 0xf0, 0x0f, 0xb1, 0x0f));
	check(&i, X86_RMW_CMPXCHG, 4, 1, false, 4, 0x6000);
	/* lock cmpxchg %cl,(%rdi) */
	assert_true(FIND(r, 1, 0x6000, &i, 0xf0, 0x0f, 0xb0, 0x0f));
	check(&i, X86_RMW_CMPXCHG, 1, 1, false, 4, 0x6000);
	/* lock cmpxchg8b (%rsi) */
	assert_true(FIND(r, 8, 0x6100, &i, 0xf0, 0x0f, 0xc7, 0x0e));
	check(&i, X86_RMW_CMPXCHG8B, 8, -1, false, 4, 0x6100);
	/* xchg %eax,(%rdi): locked without the prefix */
	assert_true(FIND(r, 4, 0x6000, &i, 0x87, 0x07));
	check(&i, X86_RMW_XCHG, 4, 0, false, 2, 0x6000);
	free(r);
}

static void test_find_segments_and_rex(void **state)
{
	struct x86_regs *r = regs64();
	struct x86_rmw i;

	/* lock incq %gs:0x28 */
	assert_true(FIND(r, 8, GS_BASE + 0x28, &i,
			 0x65, 0xf0, 0x48, 0xff, 0x04, 0x25, 0x28, 0x00, 0x00, 0x00));
	check(&i, X86_RMW_INC, 8, -1, false, 10, GS_BASE + 0x28);
	/* lock xadd %r9,0x8(%r12,%r13,4) */
	r->regs.r12 = 0x20000;
	r->regs.r13 = 0x10;
	r->regs.r9 = 1;
	assert_true(FIND(r, 8, 0x20048, &i, 0xf0, 0x4f, 0x0f, 0xc1, 0x4c, 0xac, 0x08));
	check(&i, X86_RMW_XADD, 8, 9, false, 7, 0x20048);
	/* lock xadd %r8d,0x0(%r13): r13 needs a displacement */
	assert_true(FIND(r, 4, 0x10, &i, 0xf0, 0x45, 0x0f, 0xc1, 0x45, 0x00));
	check(&i, X86_RMW_XADD, 4, 8, false, 6, 0x10);
	/* lock incl (%r12): r12 needs a SIB */
	assert_true(FIND(r, 4, 0x20000, &i, 0xf0, 0x41, 0xff, 0x04, 0x24));
	check(&i, X86_RMW_INC, 4, -1, false, 5, 0x20000);
	/* lock xadd %ah,(%rsi) */
	r->regs.rsi = 0x3000;
	assert_true(FIND(r, 1, 0x3000, &i, 0xf0, 0x0f, 0xc0, 0x26));
	check(&i, X86_RMW_XADD, 1, 0, true, 4, 0x3000);
	/* lock xadd %spl,(%rdi): with a REX, 4 is spl */
	r->regs.rdi = 0x3100;
	assert_true(FIND(r, 1, 0x3100, &i, 0xf0, 0x40, 0x0f, 0xc0, 0x27));
	check(&i, X86_RMW_XADD, 1, 4, false, 5, 0x3100);
	/* xchg %spl,(%rdi) ends like xchg %ah,(%rdi) after some other
	 * instruction's 0x40: which register is not known */
	assert_false(FIND(r, 1, 0x3100, &i, 0x40, 0x86, 0x27));
	assert_true(FIND(r, 1, 0x3100, &i, 0x86, 0x27));
	check(&i, X86_RMW_XCHG, 1, 0, true, 2, 0x3100);
	free(r);
}

static void test_find_rejects(void **state)
{
	struct x86_regs *r = regs64();
	struct x86_rmw i;

	r->regs.rdi = 0x5000;
	r->regs.rsi = 0x5100;
	r->regs.rax = 0x5200;
	r->regs.rdx = 0x5300;
	/* mov %eax,(%rdi): no read */
	assert_false(FIND_ANY(r, 4, &i, 0x89, 0x07));
	/* lock incl (%rdi) without the lock */
	assert_false(FIND_ANY(r, 4, &i, 0xff, 0x07));
	/* lock adcl $1,(%rdi): reads CF, not redone */
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0x83, 0x17, 0x01));
	/* lock mull (%rdi), lock btl $3,(%rdi), 0f c7 /0: not read-modify-writes */
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0xf7, 0x27));
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0x0f, 0xba, 0x27, 0x03));
	assert_false(FIND_ANY(r, 8, &i, 0xf0, 0x0f, 0xc7, 0x06));
	/* lock cmpxchg16b (%rsi) */
	assert_false(FIND_ANY(r, 8, &i, 0xf0, 0x48, 0x0f, 0xc7, 0x0e));
	assert_false(FIND_ANY(r, 16, &i, 0xf0, 0x48, 0x0f, 0xc7, 0x0e));
	/* lock xadd %eax,(%rdx) seen as an 8-byte write */
	assert_false(FIND_ANY(r, 8, &i, 0xf0, 0x0f, 0xc1, 0x02));
	/* lock xadd %eax,(%rax): the address is gone with the old eax */
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0x0f, 0xc1, 0x00));
	/* lock cmpxchg %ecx,(%rax): likewise through rax */
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0x0f, 0xb1, 0x08));
	/* lock cmpxchg8b (%rdx) */
	assert_false(FIND_ANY(r, 8, &i, 0xf0, 0x0f, 0xc7, 0x0a));
	/* rep, repne, addr32 */
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0xf3, 0xff, 0x07));
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0xf2, 0xff, 0x07));
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0x67, 0xff, 0x07));
	/* lock incl on a register */
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0xff, 0xc0));
	/* garbage, and an instruction cut off before rip */
	assert_false(FIND_ANY(r, 4, &i, 0x0f, 0x0b, 0xcc, 0xc3, 0xff, 0xff, 0xff, 0xff));
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0x0f));
	assert_false(FIND_ANY(r, 4, &i, 0xf0, 0x81, 0x07, 0x01, 0x00));
	/* the right instruction, the wrong address */
	assert_false(FIND(r, 4, 0x5004, &i, 0xf0, 0xff, 0x07));
	/* 32-bit mode: the same bytes mean something else */
	r->sregs.cs.l = 0;
	assert_false(FIND(r, 4, 0x5000, &i, 0xf0, 0xff, 0x07));
	r->sregs.cs.l = 1;
	r->sregs.efer = 0;
	assert_false(FIND(r, 4, 0x5000, &i, 0xf0, 0xff, 0x07));
	r->sregs.efer = 0x500;
	assert_true(FIND(r, 4, 0x5000, &i, 0xf0, 0xff, 0x07));
	free(r);
}

static void test_find_among_other_bytes(void **state)
{
	struct x86_regs *r = regs64();
	struct x86_rmw i;

	r->regs.rdx = 0x7000;
	r->regs.rdi = 0x7100;
	/* call; mov %rax,%rdi; then lock xadd %eax,(%rdx) */
	assert_true(FIND(r, 4, 0x7000, &i, 0xe8, 0x10, 0x20, 0x30, 0x40, 0x48, 0x89, 0xc7,
			 0xf0, 0x0f, 0xc1, 0x02));
	check(&i, X86_RMW_XADD, 4, 0, false, 4, 0x7000);
	/* a byte 0x48 ending the previous instruction reads as an ignored REX */
	assert_true(FIND(r, 4, 0x7100, &i, 0x8b, 0x45, 0x48, 0xf0, 0xff, 0x07));
	check(&i, X86_RMW_INC, 4, -1, false, 3, 0x7100);
	/* a REX before a prefix is ignored: this is not (%r15) */
	r->regs.r15 = 0x7200;
	assert_true(FIND_ANY(r, 4, &i, 0x41, 0xf0, 0xff, 0x07));
	check(&i, X86_RMW_INC, 4, -1, false, 3, 0x7100);
	/* gs: or not gs: only the address tells */
	assert_false(FIND_ANY(r, 4, &i, 0x65, 0xf0, 0xff, 0x07));
	assert_true(FIND(r, 4, GS_BASE + 0x7100, &i, 0x65, 0xf0, 0xff, 0x07));
	check(&i, X86_RMW_INC, 4, -1, false, 4, GS_BASE + 0x7100);
	assert_true(FIND(r, 4, 0x7100, &i, 0x65, 0xf0, 0xff, 0x07));
	check(&i, X86_RMW_INC, 4, -1, false, 3, 0x7100);
	/* an operand-size prefix before changes the width: 4 still found */
	assert_true(FIND(r, 4, 0x7100, &i, 0x66, 0xf0, 0xff, 0x07));
	check(&i, X86_RMW_INC, 4, -1, false, 3, 0x7100);
	free(r);
}

/* The host's arithmetic flags after insn, which names the flags %0, its
 * operands from %1 on; the arguments after it are the asm's outputs, a
 * colon and its inputs.  The red zone is stepped over for pushfq. */
#define HW_FLAGS(insn, ...) __extension__ ({				\
	uint64_t fl_;							\
	__asm__ volatile(insn "\n\tlea -128(%%rsp),%%rsp\n\tpushfq\n\t"	\
			 "popq %0\n\tlea 128(%%rsp),%%rsp"		\
			 : "=r"(fl_), __VA_ARGS__ : "cc", "memory");	\
	fl_ & X86_FL_ARITH;							\
})

static void put(uint8_t *p, uint64_t v, unsigned n)
{
	for (unsigned j = 0; j < n; j++)
		p[j] = (uint8_t)(v >> (8 * j));
}

static uint64_t get(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned j = 0; j < n; j++)
		v |= (uint64_t)p[j] << (8 * j);
	return v;
}

/*
 * Redoes i on a copy of post, the registers KVM left, against now; KVM
 * wrote data.  Returns the copy, *out and *write the outcome, which does
 * not depend on what *write held before.
 */
static struct x86_regs *redo(const struct x86_rmw *i, const struct x86_regs *post,
			     uint64_t data, uint64_t now, uint64_t *out, bool *write)
{
	struct x86_regs *r = malloc(sizeof(*r)), *again = malloc(sizeof(*r));
	uint8_t d[8], n[8], o[8];
	bool other = true;

	assert_non_null(r);
	assert_non_null(again);
	memcpy(r, post, sizeof(*r));
	memcpy(again, post, sizeof(*r));
	put(d, data, i->width);
	put(n, now, i->width);
	memset(o, 0xee, sizeof(o));
	*write = false;
	assert_true(x86_rmw_redo(i, r, d, n, o, write));
	*out = get(o, i->width);
	assert_true(x86_rmw_redo(i, again, d, n, o, &other));
	assert_int_equal(other, *write);
	assert_memory_equal(again, r, sizeof(*r));
	free(again);
	return r;
}

/* Against the value KVM read, the redo gives KVM's write and changes no
 * register. */
static void check_same(const struct x86_rmw *i, const struct x86_regs *post, uint64_t data,
		       uint64_t old, bool written)
{
	uint64_t out;
	bool write = written;
	struct x86_regs *r = redo(i, post, data, old, &out, &write);

	assert_int_equal(write, written);
	if (written)
		assert_int_equal(out, data);
	assert_memory_equal(&r->regs, &post->regs, sizeof(r->regs));
	assert_int_equal(r->dirty, 0);
	free(r);
}

static const uint64_t values[] = {
	0, 1, 2, 7, 8, 0xf, 0x10, 0x35, 0x5a, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff,
	0x80000000, 0xffffffff, 0x100000000ull, 0x7fffffffffffffffull,
	0x8000000000000000ull, 0xffffffffffffffffull, 0x123456789abcdef0ull,
};
#define NVALUES (sizeof(values) / sizeof(values[0]))

static uint64_t with_flags(const struct x86_regs *r, uint64_t fl)
{
	return (r->regs.rflags & ~(uint64_t)X86_FL_ARITH) | fl;
}

/* inc and dec keep CF: the host's is its own. */
static uint64_t with_flags_but_cf(const struct x86_regs *r, uint64_t fl)
{
	return with_flags(r, (fl & ~(uint64_t)X86_FL_CF) | (r->regs.rflags & X86_FL_CF));
}

/* lock addl $imm,(mem) and lock subq %rsi,(mem) against the host. */
static void test_redo_add_sub(void **state)
{
	struct x86_regs *pre = regs64(), *post = regs64();
	struct x86_rmw add = { .op = X86_RMW_ADD, .width = 4, .reg = -1, .has_imm = true };
	struct x86_rmw sub = { .op = X86_RMW_SUB, .width = 8, .reg = 6 };

	pre->regs.rflags = 0x202 | X86_FL_AF;
	for (size_t a = 0; a < NVALUES; a++) {
		for (size_t b = 0; b < NVALUES; b++) {
			uint32_t m32 = (uint32_t)values[a], m32now = m32 + 1;
			uint64_t m64 = values[a], now64 = m64 + 0x10, out;
			uint64_t src = values[b], fl, flnow;
			struct x86_regs *r;
			bool write;

			/* add: imm32, sign-extended */
			add.imm = (uint64_t)(int64_t)(int32_t)values[b];
			*post = *pre;
			fl = HW_FLAGS("lock addl %2,%1", "+m"(m32) : "r"((uint32_t)add.imm));
			post->regs.rflags = with_flags(pre, fl);
			check_same(&add, post, m32, (uint32_t)values[a], true);
			/* another vCPU's +1 landed in between */
			flnow = HW_FLAGS("lock addl %2,%1", "+m"(m32now) : "r"((uint32_t)add.imm));
			r = redo(&add, post, m32, (uint32_t)values[a] + 1, &out, &write);
			assert_true(write);
			assert_int_equal(out, m32now);
			assert_int_equal(r->regs.rflags, with_flags(pre, flnow));
			assert_int_equal(r->dirty != 0, fl != flnow);
			free(r);

			/* sub: from a register */
			*post = *pre;
			post->regs.rsi = src;
			fl = HW_FLAGS("lock subq %2,%1", "+m"(m64) : "r"(src));
			post->regs.rflags = with_flags(pre, fl);
			check_same(&sub, post, m64, values[a], true);
			flnow = HW_FLAGS("lock subq %2,%1", "+m"(now64) : "r"(src));
			r = redo(&sub, post, m64, values[a] + 0x10, &out, &write);
			assert_true(write);
			assert_int_equal(out, now64);
			assert_int_equal(r->regs.rflags, with_flags(pre, flnow));
			assert_int_equal(r->regs.rsi, src);
			free(r);
		}
	}
	free(pre);
	free(post);
}

/* lock orb, andw, xorl: AF stays as it was. */
static void test_redo_logic(void **state)
{
	struct x86_regs *pre = regs64(), *post = regs64();
	struct x86_rmw orb = { .op = X86_RMW_OR, .width = 1, .reg = -1, .has_imm = true, .imm = 4 };
	struct x86_rmw andw = { .op = X86_RMW_AND, .width = 2, .reg = 2 };
	struct x86_rmw xorl = { .op = X86_RMW_XOR, .width = 4, .reg = 3 };
	struct x86_regs *r;
	uint64_t out;
	bool write;

	for (size_t a = 0; a < NVALUES; a++) {
		uint8_t m8 = (uint8_t)values[a], n8 = 0xfb;
		uint16_t m16 = (uint16_t)values[a], n16 = 0x8001;
		uint32_t m32 = (uint32_t)values[a], n32 = 0xffffffff;
		uint64_t fl;

		for (unsigned af = 0; af <= X86_FL_AF; af += X86_FL_AF) {
			pre->regs.rflags = 0x202 | af;
			pre->regs.rdx = 0x1111111111118f0full;
			pre->regs.rbx = 0x22222222f0f0f0f0ull;

			*post = *pre;
			fl = HW_FLAGS("lock orb $4,%1", "+m"(m8) :);
			post->regs.rflags = with_flags(pre, (fl & ~X86_FL_AF) | af);
			check_same(&orb, post, m8, (uint8_t)values[a], true);
			r = redo(&orb, post, m8, 0xfb, &out, &write);
			fl = HW_FLAGS("lock orb $4,%1", "+m"(n8) :);
			assert_int_equal(out, n8);
			assert_int_equal(r->regs.rflags, with_flags(pre, (fl & ~X86_FL_AF) | af));
			free(r);

			*post = *pre;
			fl = HW_FLAGS("lock andw %2,%1", "+m"(m16) : "r"((uint16_t)pre->regs.rdx));
			post->regs.rflags = with_flags(pre, (fl & ~X86_FL_AF) | af);
			check_same(&andw, post, m16, (uint16_t)values[a], true);
			r = redo(&andw, post, m16, 0x8001, &out, &write);
			fl = HW_FLAGS("lock andw %2,%1", "+m"(n16) : "r"((uint16_t)pre->regs.rdx));
			assert_int_equal(out, n16);
			assert_int_equal(out, 0x8001);
			assert_int_equal(r->regs.rflags, with_flags(pre, (fl & ~X86_FL_AF) | af));
			free(r);

			*post = *pre;
			fl = HW_FLAGS("lock xorl %2,%1", "+m"(m32) : "r"((uint32_t)pre->regs.rbx));
			post->regs.rflags = with_flags(pre, (fl & ~X86_FL_AF) | af);
			check_same(&xorl, post, m32, (uint32_t)values[a], true);
			r = redo(&xorl, post, m32, 0xffffffff, &out, &write);
			fl = HW_FLAGS("lock xorl %2,%1", "+m"(n32) : "r"((uint32_t)pre->regs.rbx));
			assert_int_equal(out, n32);
			assert_int_equal(out, 0x0f0f0f0f);
			assert_int_equal(r->regs.rflags, with_flags(pre, (fl & ~X86_FL_AF) | af));
			free(r);

			m8 = (uint8_t)values[a];
			m16 = (uint16_t)values[a];
			m32 = (uint32_t)values[a];
			n8 = 0xfb;
			n16 = 0x8001;
			n32 = 0xffffffff;
		}
	}
	free(pre);
	free(post);
}

/* lock notl, negw, incl (the lost update), decb against the host. */
static void test_redo_unary(void **state)
{
	struct x86_regs *pre = regs64(), *post = regs64();
	struct x86_rmw notl = { .op = X86_RMW_NOT, .width = 4, .reg = -1 };
	struct x86_rmw negw = { .op = X86_RMW_NEG, .width = 2, .reg = -1 };
	struct x86_rmw incl = { .op = X86_RMW_INC, .width = 4, .reg = -1 };
	struct x86_rmw decb = { .op = X86_RMW_DEC, .width = 1, .reg = -1 };

	for (size_t a = 0; a < NVALUES; a++) {
		for (unsigned cf = 0; cf <= 1; cf++) {
			uint32_t m32 = (uint32_t)values[a], n32 = m32 + 1;
			uint16_t m16 = (uint16_t)values[a], n16 = (uint16_t)(m16 + 3);
			uint8_t m8 = (uint8_t)values[a], n8 = (uint8_t)(m8 + 1);
			struct x86_regs *r;
			uint64_t fl, out;
			bool write;

			pre->regs.rflags = 0x202 | cf;
			*post = *pre;
			/* not leaves the flags alone */
			check_same(&notl, post, ~(uint32_t)values[a], (uint32_t)values[a], true);
			r = redo(&notl, post, m32, 0x0ff00ff0, &out, &write);
			assert_int_equal(out, 0xf00ff00f);
			assert_int_equal(r->dirty, 0);
			free(r);

			fl = HW_FLAGS("lock negw %1", "+m"(m16) :);
			post->regs.rflags = with_flags(pre, fl);
			check_same(&negw, post, m16, (uint16_t)values[a], true);
			fl = HW_FLAGS("lock negw %1", "+m"(n16) :);
			r = redo(&negw, post, m16, (uint16_t)(values[a] + 3), &out, &write);
			assert_true(write);
			assert_int_equal(out, n16);
			assert_int_equal(r->regs.rflags, with_flags(pre, fl));
			free(r);

			/* incl: a counter's lost update */
			fl = HW_FLAGS("lock incl %1", "+m"(m32) :);
			post->regs.rflags = with_flags_but_cf(pre, fl);
			check_same(&incl, post, m32, (uint32_t)values[a], true);
			fl = HW_FLAGS("lock incl %1", "+m"(n32) :);
			r = redo(&incl, post, m32, (uint32_t)values[a] + 1, &out, &write);
			assert_int_equal(out, (uint32_t)(values[a] + 2));
			assert_int_equal(out, n32);
			assert_int_equal(r->regs.rflags, with_flags_but_cf(pre, fl));
			assert_int_equal(r->regs.rflags & X86_FL_CF, cf);
			free(r);

			fl = HW_FLAGS("lock decb %1", "+m"(m8) :);
			post->regs.rflags = with_flags_but_cf(pre, fl);
			check_same(&decb, post, m8, (uint8_t)values[a], true);
			fl = HW_FLAGS("lock decb %1", "+m"(n8) :);
			r = redo(&decb, post, m8, (uint8_t)(values[a] + 1), &out, &write);
			assert_int_equal(out, n8);
			assert_int_equal(r->regs.rflags, with_flags_but_cf(pre, fl));
			free(r);
		}
	}
	free(pre);
	free(post);
}

/* lock xaddl %ecx and lock xaddb %ah: another vCPU's +1 in between. */
static void test_redo_xadd(void **state)
{
	struct x86_regs *pre = regs64(), *post = regs64();
	struct x86_rmw xaddl = { .op = X86_RMW_XADD, .width = 4, .reg = 1 };
	struct x86_rmw xaddb = { .op = X86_RMW_XADD, .width = 1, .reg = 0, .high_byte = true };

	for (size_t a = 0; a < NVALUES; a++) {
		for (size_t b = 0; b < NVALUES; b++) {
			uint32_t m32 = (uint32_t)values[a], r32 = (uint32_t)values[b];
			uint32_t n32 = m32 + 1, rn32 = r32;
			uint64_t rax = 0x55555555555500aaull | (values[b] & 0xff) << 8, nrax = rax;
			uint8_t m8 = (uint8_t)values[a], n8 = (uint8_t)(m8 + 1);
			struct x86_regs *r;
			uint64_t fl, out;
			bool write;

			pre->regs.rcx = 0xdeadbeef00000000ull | r32;
			*post = *pre;
			fl = HW_FLAGS("lock xaddl %2,%1", "+m"(m32), "+r"(r32) :);
			post->regs.rflags = with_flags(pre, fl);
			post->regs.rcx = r32;		/* zero-extended */
			check_same(&xaddl, post, m32, (uint32_t)values[a], true);
			fl = HW_FLAGS("lock xaddl %2,%1", "+m"(n32), "+r"(rn32) :);
			r = redo(&xaddl, post, m32, (uint32_t)values[a] + 1, &out, &write);
			assert_true(write);
			assert_int_equal(out, n32);
			assert_int_equal(r->regs.rcx, rn32);
			assert_int_equal(r->regs.rflags, with_flags(pre, fl));
			assert_true(r->dirty & X86_DIRTY_REGS);
			free(r);

			pre->regs.rax = rax;
			*post = *pre;
			fl = HW_FLAGS("lock xaddb %%ah,%1", "+m"(m8), "+a"(rax) :);
			post->regs.rflags = with_flags(pre, fl);
			post->regs.rax = rax;
			check_same(&xaddb, post, m8, (uint8_t)values[a], true);
			fl = HW_FLAGS("lock xaddb %%ah,%1", "+m"(n8), "+a"(nrax) :);
			r = redo(&xaddb, post, m8, (uint8_t)(values[a] + 1), &out, &write);
			assert_int_equal(out, n8);
			assert_int_equal(r->regs.rax, nrax);
			assert_int_equal(r->regs.rflags, with_flags(pre, fl));
			free(r);
		}
	}
	free(pre);
	free(post);
}

/* xchg as test-and-set: someone else took the lock first. */
static void test_redo_xchg(void **state)
{
	struct x86_regs *post = regs64(), *r;
	struct x86_rmw xchgl = { .op = X86_RMW_XCHG, .width = 4, .reg = 0 };
	struct x86_rmw xchgw = { .op = X86_RMW_XCHG, .width = 2, .reg = 9 };
	uint64_t out;
	bool write;

	/* xchg %eax,(%rdi) with eax = 1 on a free lock: KVM gave eax 0. */
	post->regs.rax = 0;
	check_same(&xchgl, post, 1, 0, true);
	r = redo(&xchgl, post, 1, 1, &out, &write);
	assert_true(write);
	assert_int_equal(out, 1);
	assert_int_equal(r->regs.rax, 1);		/* the lock was taken */
	assert_true(r->dirty & X86_DIRTY_REGS);
	assert_memory_equal(&r->regs.rbx, &post->regs.rbx, sizeof(post->regs) - 8);
	free(r);
	/* 16 bits keep the rest of the register */
	post->regs.r9 = 0xaaaabbbbcccc1234ull;
	check_same(&xchgw, post, 0x5678, 0x1234, true);
	r = redo(&xchgw, post, 0x5678, 0x9abc, &out, &write);
	assert_int_equal(out, 0x5678);
	assert_int_equal(r->regs.r9, 0xaaaabbbbcccc9abcull);
	free(r);
	free(post);
}

/* lock cmpxchg %ecx,(%rdi) as a spinlock's acquire. */
static void test_redo_cmpxchg(void **state)
{
	struct x86_regs *pre = regs64(), *post, *r;
	struct x86_rmw c = { .op = X86_RMW_CMPXCHG, .width = 4, .reg = 1 };
	uint32_t mem = 0, eax = 0, n32 = 1, neax = 0;
	uint64_t fl, out;
	bool write;

	pre->regs.rax = 0;
	pre->regs.rcx = 1;
	post = regs64();
	*post = *pre;
	fl = HW_FLAGS("lock cmpxchgl %3,%1", "+m"(mem), "+a"(eax) : "r"(1u));
	assert_true(fl & X86_FL_ZF);
	post->regs.rflags = with_flags(pre, fl);
	check_same(&c, post, 1, 0, true);
	/* someone else acquired it: the compare now fails, no write */
	fl = HW_FLAGS("lock cmpxchgl %3,%1", "+m"(n32), "+a"(neax) : "r"(1u));
	r = redo(&c, post, 1, 1, &out, &write);
	assert_false(write);
	assert_int_equal(r->regs.rax, neax);
	assert_int_equal(r->regs.rax, 1);
	assert_int_equal(r->regs.rflags, with_flags(pre, fl));
	assert_false(r->regs.rflags & X86_FL_ZF);
	assert_true(r->dirty & X86_DIRTY_REGS);
	free(r);
	/* rax's upper half goes when eax is written */
	post->regs.rax = 0xffffffff00000005ull;
	r = redo(&c, post, 1, 7, &out, &write);
	assert_false(write);
	assert_int_equal(r->regs.rax, 7);
	free(r);
	post->regs.rax = 0;

	/* KVM's compare failed: a read, nothing to redo whatever now is */
	mem = 2;
	eax = 0;
	fl = HW_FLAGS("lock cmpxchgl %3,%1", "+m"(mem), "+a"(eax) : "r"(1u));
	post->regs.rflags = with_flags(pre, fl);
	post->regs.rax = eax;
	check_same(&c, post, 2, 2, false);
	r = redo(&c, post, 2, 0, &out, &write);
	assert_false(write);
	assert_memory_equal(&r->regs, &post->regs, sizeof(r->regs));
	assert_int_equal(r->dirty, 0);
	free(r);

	/* byte-wide: al against the byte, ah left alone */
	c.width = 1;
	post->regs.rax = 0x1200;
	post->regs.rflags = 0x202 | X86_FL_ZF;
	r = redo(&c, post, 1, 0x80, &out, &write);
	assert_false(write);
	assert_int_equal(r->regs.rax, 0x1280);
	assert_false(r->regs.rflags & X86_FL_ZF);
	assert_true(r->regs.rflags & X86_FL_CF);		/* 0 - 0x80 borrows */
	free(r);
	free(pre);
	free(post);
}

/* lock cmpxchg8b (%rsi) */
static void test_redo_cmpxchg8b(void **state)
{
	struct x86_regs *post = regs64(), *r;
	struct x86_rmw c = { .op = X86_RMW_CMPXCHG8B, .width = 8, .reg = -1 };
	uint64_t out;
	bool write;

	post->regs.rdx = 0x11111111;
	post->regs.rax = 0x22222222;
	post->regs.rcx = 0x33333333;
	post->regs.rbx = 0x44444444;
	post->regs.rflags = 0x202 | X86_FL_ZF | X86_FL_CF;
	check_same(&c, post, 0x3333333344444444ull, 0x1111111122222222ull, true);
	r = redo(&c, post, 0x3333333344444444ull, 0x99999999aaaaaaaaull, &out, &write);
	assert_false(write);
	assert_int_equal(r->regs.rdx, 0x99999999);
	assert_int_equal(r->regs.rax, 0xaaaaaaaa);
	assert_int_equal(r->regs.rflags, 0x202 | X86_FL_CF);
	assert_true(r->dirty & X86_DIRTY_REGS);
	free(r);
	/* failed in KVM: nothing */
	post->regs.rflags = 0x202;
	check_same(&c, post, 0x1111111122222222ull, 0x1111111122222222ull, false);
	r = redo(&c, post, 0x1111111122222222ull, 0x5ull, &out, &write);
	assert_false(write);
	assert_int_equal(r->dirty, 0);
	free(r);
	free(post);
}

/* lock btsq %rax and lock btrl $3: someone else set or cleared the bit. */
static void test_redo_bit_ops(void **state)
{
	struct x86_regs *pre = regs64(), *post = regs64(), *r;
	struct x86_rmw bts = { .op = X86_RMW_BTS, .width = 8, .reg = 0 };
	struct x86_rmw btr = { .op = X86_RMW_BTR, .width = 4, .reg = -1, .has_imm = true, .imm = 3 };
	struct x86_rmw btc = { .op = X86_RMW_BTC, .width = 2, .reg = 6 };
	uint64_t out;
	bool write;

	/* bit 0x1000 + 37: bit 37 of the quadword found 0x200 bytes on */
	pre->regs.rax = 0x1000 + 37;
	*post = *pre;
	post->regs.rflags = 0x202;		/* CF clear: the bit was 0 */
	check_same(&bts, post, 1ull << 37 | 1, 1, true);
	r = redo(&bts, post, 1ull << 37 | 1, 1ull << 37 | 2, &out, &write);
	assert_true(write);
	assert_int_equal(out, 1ull << 37 | 2);
	assert_true(r->regs.rflags & X86_FL_CF);	/* someone else had it */
	assert_int_equal(r->regs.rflags, 0x202 | X86_FL_CF);
	assert_true(r->dirty & X86_DIRTY_REGS);
	free(r);
	/* a negative offset: -1 is bit 63 */
	post->regs.rax = (uint64_t)-1;
	post->regs.rflags = 0x202 | X86_FL_ZF;
	check_same(&bts, post, 1ull << 63, 0, true);

	post->regs.rflags = 0x202 | X86_FL_CF;	/* the bit was 1 */
	check_same(&btr, post, 0xf0, 0xf8, true);
	r = redo(&btr, post, 0xf0, 0xf0, &out, &write);
	assert_int_equal(out, 0xf0);
	assert_int_equal(r->regs.rflags, 0x202);
	free(r);

	post->regs.rsi = 0xffff;		/* -1 at 16 bits: bit 15 */
	post->regs.rflags = 0x202;
	check_same(&btc, post, 0x8001, 0x0001, true);
	r = redo(&btc, post, 0x8001, 0x8000, &out, &write);
	assert_int_equal(out, 0);
	assert_int_equal(r->regs.rflags, 0x202 | X86_FL_CF);
	free(r);
	free(pre);
	free(post);
}

/* Decoded, then redone: the whole path of a lock xadd counter. */
static void test_find_then_redo(void **state)
{
	struct x86_regs *post = regs64(), *r;
	static const uint8_t code[] = { 0x90, 0x90, 0xf0, 0x0f, 0xc1, 0x02 };
	struct x86_rmw i;
	uint64_t out;
	bool write;

	/* lock xadd %eax,(%rdx), eax = 1, memory was 41: KVM wrote 42, eax 41 */
	post->regs.rdx = 0x7000;
	post->regs.rax = 41;
	post->regs.rflags = 0x202;		/* 0x2a: odd parity, no AF */
	assert_true(find(post, code, sizeof(code), 4, 0x7000, &i));
	check_same(&i, post, 42, 41, true);
	r = redo(&i, post, 42, 42, &out, &write);
	assert_true(write);
	assert_int_equal(out, 43);
	assert_int_equal(r->regs.rax, 42);
	assert_int_equal(r->regs.rflags, 0x202 | X86_FL_PF);	/* 0x2b: even parity */
	free(r);
	free(post);
}

static void test_redo_refuses_nonsense(void **state)
{
	struct x86_regs *r = regs64(), *copy = regs64();
	struct x86_rmw i = { .op = X86_RMW_XADD, .width = 3, .reg = 0 };
	uint8_t d[8] = { 0 }, n[8] = { 0 }, o[8];
	bool write = false;

	*copy = *r;
	assert_false(x86_rmw_redo(&i, r, d, n, o, &write));
	i.width = 4;
	i.reg = -1;
	assert_false(x86_rmw_redo(&i, r, d, n, o, &write));
	i.reg = 16;
	assert_false(x86_rmw_redo(&i, r, d, n, o, &write));
	i.reg = 5;
	i.high_byte = true;
	assert_false(x86_rmw_redo(&i, r, d, n, o, &write));
	i.op = X86_RMW_CMPXCHG8B;
	i.high_byte = false;
	assert_false(x86_rmw_redo(&i, r, d, n, o, &write));
	assert_memory_equal(r, copy, sizeof(*r));
	free(r);
	free(copy);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find_xadd),
		cmocka_unit_test(test_find_inc_add_or),
		cmocka_unit_test(test_find_bit_ops),
		cmocka_unit_test(test_find_cmpxchg_xchg),
		cmocka_unit_test(test_find_segments_and_rex),
		cmocka_unit_test(test_find_rejects),
		cmocka_unit_test(test_find_among_other_bytes),
		cmocka_unit_test(test_redo_add_sub),
		cmocka_unit_test(test_redo_logic),
		cmocka_unit_test(test_redo_unary),
		cmocka_unit_test(test_redo_xadd),
		cmocka_unit_test(test_redo_xchg),
		cmocka_unit_test(test_redo_cmpxchg),
		cmocka_unit_test(test_redo_cmpxchg8b),
		cmocka_unit_test(test_redo_bit_ops),
		cmocka_unit_test(test_find_then_redo),
		cmocka_unit_test(test_redo_refuses_nonsense),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
