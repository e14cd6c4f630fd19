/* SPDX-License-Identifier: MIT */
/*
 * arm64 registers through KVM_GET/SET_ONE_REG, in gdb's aarch64 layout:
 * x0-x30, sp, pc, cpsr, v0-v31, fpsr, fpcr, then the EL1 system registers
 * kernel developers look at.  gdb's "sp" is whichever stack pointer the
 * vCPU is using: SP_EL1 at EL1 with SPSel set, SP_EL0 otherwise.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>

#include "a64.h"

#define CORE(field) (KVM_REG_ARM64 | KVM_REG_ARM_CORE | KVM_REG_ARM_CORE_REG(field))

static const uint64_t sys_ids[A64_NSYS] = {
	[A64_SYS_SCTLR] = ARM64_SYS_REG(3, 0, 1, 0, 0),
	[A64_SYS_TCR] = ARM64_SYS_REG(3, 0, 2, 0, 2),
	[A64_SYS_TTBR0] = ARM64_SYS_REG(3, 0, 2, 0, 0),
	[A64_SYS_TTBR1] = ARM64_SYS_REG(3, 0, 2, 0, 1),
	[A64_SYS_MAIR] = ARM64_SYS_REG(3, 0, 10, 2, 0),
	[A64_SYS_VBAR] = ARM64_SYS_REG(3, 0, 12, 0, 0),
	[A64_SYS_ESR] = ARM64_SYS_REG(3, 0, 5, 2, 0),
	[A64_SYS_FAR] = ARM64_SYS_REG(3, 0, 6, 0, 0),
};

static bool on_sp_el1(const struct a64_regs *r)
{
	return (r->pstate & PSTATE_EL_MASK) && (r->pstate & PSTATE_SPSEL);
}

/* Where gdb register regno lives in the cache and in KVM. */
static void *locate(struct a64_regs *r, unsigned regno, uint64_t *id)
{
	if (regno <= A64_REG_X30) {
		*id = CORE(regs.regs[regno]) | KVM_REG_SIZE_U64;
		return &r->x[regno];
	}
	if (regno >= A64_REG_V0 && regno < A64_REG_FPSR) {
		*id = CORE(fp_regs.vregs[regno - A64_REG_V0]) | KVM_REG_SIZE_U128;
		return r->v[regno - A64_REG_V0];
	}
	if (regno >= A64_REG_SCTLR && regno <= A64_REG_FAR) {
		*id = sys_ids[regno - A64_REG_SCTLR];
		return &r->sys[regno - A64_REG_SCTLR];
	}
	switch (regno) {
	case A64_REG_SP:
		return locate(r, on_sp_el1(r) ? A64_REG_SP_EL1 : A64_REG_SP_EL0, id);
	case A64_REG_PC:
		*id = CORE(regs.pc) | KVM_REG_SIZE_U64;
		return &r->pc;
	case A64_REG_CPSR:
		*id = CORE(regs.pstate) | KVM_REG_SIZE_U64;
		return &r->pstate;
	case A64_REG_FPSR:
		*id = CORE(fp_regs.fpsr) | KVM_REG_SIZE_U32;
		return &r->fpsr;
	case A64_REG_FPCR:
		*id = CORE(fp_regs.fpcr) | KVM_REG_SIZE_U32;
		return &r->fpcr;
	case A64_REG_ELR:
		*id = CORE(elr_el1) | KVM_REG_SIZE_U64;
		return &r->elr_el1;
	case A64_REG_SPSR:
		*id = CORE(spsr[KVM_SPSR_EL1]) | KVM_REG_SIZE_U64;
		return &r->spsr_el1;
	case A64_REG_SP_EL0:
		*id = CORE(regs.sp) | KVM_REG_SIZE_U64;
		return &r->sp_el0;
	default:
		*id = CORE(sp_el1) | KVM_REG_SIZE_U64;
		return &r->sp_el1;
	}
}

static int one_reg(int fd, unsigned long req, uint64_t id, void *p)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)p };

	return ioctl(fd, req, &reg) < 0 ? -errno : 0;
}

int a64_regs_load(int vcpu_fd, void *regs)
{
	struct a64_regs *r = regs;

	memset(r, 0, sizeof(*r));
	for (unsigned i = 0; i < A64_NREGS; i++) {
		uint64_t id;
		void *p;
		int err;

		if (i == A64_REG_SP)
			continue;	/* an alias of SP_EL0 or SP_EL1 */
		p = locate(r, i, &id);
		err = one_reg(vcpu_fd, KVM_GET_ONE_REG, id, p);
		if (err)
			return err;
	}
	return 0;
}

int a64_regs_store(int vcpu_fd, const void *regs)
{
	/* locate() only computes addresses; nothing is written through. */
	struct a64_regs *r = (struct a64_regs *)regs;

	for (unsigned i = 0; i < A64_NREGS; i++) {
		uint64_t id;
		void *p;
		int err;

		if (!r->dirty[i] || i == A64_REG_SP)
			continue;
		p = locate(r, i, &id);
		err = one_reg(vcpu_fd, KVM_SET_ONE_REG, id, p);
		if (err)
			return err;
	}
	return 0;
}

size_t a64_reg_size(unsigned regno)
{
	if (regno >= A64_NREGS)
		return 0;
	if (regno == A64_REG_CPSR || regno == A64_REG_FPSR || regno == A64_REG_FPCR)
		return 4;
	if (regno >= A64_REG_V0 && regno < A64_REG_FPSR)
		return 16;
	return 8;
}

void a64_reg_get(const void *regs, unsigned regno, uint8_t *out)
{
	struct a64_regs *r = (struct a64_regs *)regs;
	uint64_t id;

	memcpy(out, locate(r, regno, &id), a64_reg_size(regno));
}

void a64_reg_set(void *regs, unsigned regno, const uint8_t *in)
{
	struct a64_regs *r = regs;
	uint64_t id;

	if (regno == A64_REG_SP)
		regno = on_sp_el1(r) ? A64_REG_SP_EL1 : A64_REG_SP_EL0;
	if (regno == A64_REG_CPSR) {
		uint32_t v;

		memcpy(&v, in, 4);
		r->pstate = v;	/* PSTATE has no bits above 31 KVM accepts */
	} else {
		memcpy(locate(r, regno, &id), in, a64_reg_size(regno));
	}
	r->dirty[regno] = true;
}

uint64_t a64_pc(const void *regs)
{
	const struct a64_regs *r = regs;

	return r->pc;
}

void a64_set_pc(void *regs, uint64_t pc)
{
	struct a64_regs *r = regs;

	r->pc = pc;
	r->dirty[A64_REG_PC] = true;
}

int a64_get(int vcpu_fd, unsigned regno, uint64_t *val)
{
	struct a64_regs scratch = { 0 };
	uint64_t id;

	locate(&scratch, regno, &id);
	return one_reg(vcpu_fd, KVM_GET_ONE_REG, id, val);
}

int a64_put(int vcpu_fd, unsigned regno, uint64_t val)
{
	struct a64_regs scratch = { 0 };
	uint64_t id;

	locate(&scratch, regno, &id);
	return one_reg(vcpu_fd, KVM_SET_ONE_REG, id, &val);
}

int a64_store_exception(int vcpu_fd, struct a64_regs *r)
{
	static const unsigned changed[] = {
		A64_REG_PC, A64_REG_CPSR, A64_REG_ELR, A64_REG_SPSR,
		A64_REG_ESR, A64_REG_FAR,
	};

	for (size_t i = 0; i < sizeof(changed) / sizeof(changed[0]); i++)
		r->dirty[changed[i]] = true;
	return a64_regs_store(vcpu_fd, r);
}
