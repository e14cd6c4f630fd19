/* SPDX-License-Identifier: MIT */
/*
 * Interrupts held off single steps.  KVM arm64 has no BLOCKIRQ: an
 * interrupt pending when a step starts is taken first, the step ends on
 * the first instruction of the guest's IRQ handler, and "continue" from a
 * breakpoint (which steps off it first) meets the same breakpoint again
 * when the handler returns.  So for each KVM_RUN of a step the I and F
 * bits the guest left clear are set, and afterwards the guest is given the
 * state the instruction would have produced under its own mask: the bits
 * cleared again, or left set where MSR DAIFSet set them; the value an MRS
 * of DAIF read corrected; the SPSR_EL1 an exception entry saved
 * corrected.  MSR DAIF and ERET take the bits from guest data, so what
 * they leave stands.
 */
#include <string.h>

#include "a64.h"

#define DAIF_SHIFT		6
#define DAIF_IF			(3ull << DAIF_SHIFT)
#define VECTORS_SIZE		0x800
#define VECTOR_ALIGN		0x80

#define MSR_DAIF_IMM_MASK	0xfffff0ffu	/* CRm holds the bits */
#define MSR_DAIFSET		0xd50340dfu
#define SYSREG_RT_MASK		0xffffffe0u	/* Rt in bits 4:0 */
#define MRS_DAIF		0xd53b4220u
#define MSR_DAIF		0xd51b4220u
#define ERET			0xd69f03e0u
#define ERETAA			0xd69f0bffu
#define ERETAB			0xd69f0fffu
#define RT_XZR			31

/* The instruction at pc, fetched as the vCPU would fetch it. */
static bool fetch(int fd, const struct kvmdbg_mem *mem, uint64_t pc, uint32_t *insn)
{
	struct a64_regs r = { 0 };
	uint64_t gpa = pc, left = 4;
	const uint8_t *p;

	if (a64_get(fd, A64_REG_SCTLR, &r.sys[A64_SYS_SCTLR]))
		return false;
	if (a64_paging(&r) &&
	    (a64_get(fd, A64_REG_TCR, &r.sys[A64_SYS_TCR]) ||
	     a64_get(fd, A64_REG_TTBR0, &r.sys[A64_SYS_TTBR0]) ||
	     a64_get(fd, A64_REG_TTBR1, &r.sys[A64_SYS_TTBR1]) ||
	     a64_translate(&r, mem, pc, &gpa, &left)))
		return false;
	p = left >= 4 ? mem->gpa_to_hva(mem->opaque, gpa, 4) : NULL;
	if (!p)
		return false;
	*insn = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		(uint32_t)p[3] << 24;
	return true;
}

int a64_step_mask(int vcpu_fd, const struct kvmdbg_mem *mem, const void *regs,
		  struct kvmdbg_step_state *m)
{
	uint64_t pstate;
	int err;

	memset(m, 0, sizeof(*m));
	err = a64_get(vcpu_fd, A64_REG_CPSR, &pstate);
	if (!err)
		err = a64_get(vcpu_fd, A64_REG_PC, &m->pc);
	if (err || !(~pstate & DAIF_IF))
		return err;
	m->forced = ~pstate & DAIF_IF;
	m->insn_known = fetch(vcpu_fd, mem, m->pc, &m->insn);
	err = a64_put(vcpu_fd, A64_REG_CPSR, pstate | m->forced);
	m->active = !err;
	return err ? err : 1;
}

/* An exception entry saved the masked PSTATE in SPSR_EL1: the guest's
 * handler must see (and its ERET restore) the guest's own bits.  1 when
 * the step ended on an exception vector, 0 when it was a branch. */
static int fix_exception_entry(int fd, const struct kvmdbg_step_state *m, uint64_t pc)
{
	uint64_t vbar, elr, spsr;
	int err;

	err = a64_get(fd, A64_REG_VBAR, &vbar);
	if (!err)
		err = a64_get(fd, A64_REG_ELR, &elr);
	if (!err)
		err = a64_get(fd, A64_REG_SPSR, &spsr);
	if (err)
		return err;
	if (pc - vbar >= VECTORS_SIZE || pc % VECTOR_ALIGN ||
	    (elr != m->pc && elr != m->pc + 4) || (spsr & m->forced) != m->forced)
		return 0;
	err = a64_put(fd, A64_REG_SPSR, spsr & ~m->forced);
	return err ? err : 1;
}

int a64_step_unmask(int vcpu_fd, const struct kvmdbg_mem *mem, struct kvmdbg_step_state *m)
{
	uint32_t insn = m->insn_known ? m->insn : 0, rt = insn & 0x1f;
	bool next = false;
	uint64_t pc, pstate, keep = 0;
	int err;

	m->active = false;
	err = a64_get(vcpu_fd, A64_REG_PC, &pc);
	if (!err)
		err = a64_get(vcpu_fd, A64_REG_CPSR, &pstate);
	if (err)
		return err;
	if (pc != m->pc) {
		if (insn == ERET || insn == ERETAA || insn == ERETAB)
			return 0;
		next = pc == m->pc + 4;
		if (!next) {
			/* Exception entry masks everything: nothing of ours
			 * is left in PSTATE then. */
			err = fix_exception_entry(vcpu_fd, m, pc);
			if (err)
				return err;
		}
	}
	if (next && (insn & SYSREG_RT_MASK) == MSR_DAIF)
		return 0;
	if (next && (insn & MSR_DAIF_IMM_MASK) == MSR_DAIFSET)
		keep = (uint64_t)((insn >> 8) & 0xf) << DAIF_SHIFT;
	if (next && (insn & SYSREG_RT_MASK) == MRS_DAIF && rt != RT_XZR) {
		uint64_t xt;

		err = a64_get(vcpu_fd, rt, &xt);
		if (!err)
			err = a64_put(vcpu_fd, rt, xt & ~m->forced);
		if (err)
			return err;
	}
	/* What DAIFSet named stays set; everything else of ours goes. */
	err = a64_put(vcpu_fd, A64_REG_CPSR, pstate & ~(m->forced & ~keep));
	return err ? err : 1;
}
