/* SPDX-License-Identifier: MIT */
/* Shared between the arm64 backend's files; not part of the public API. */
#ifndef KVMDBG_ARCH_A64_H
#define KVMDBG_ARCH_A64_H

#include "kvmdbg/arch.h"

/* gdb register numbers of the target description. */
enum {
	A64_REG_X0, A64_REG_X30 = 30,
	A64_REG_SP, A64_REG_PC, A64_REG_CPSR,
	A64_REG_V0, A64_REG_FPSR = A64_REG_V0 + 32, A64_REG_FPCR,
	A64_REG_SCTLR, A64_REG_TCR, A64_REG_TTBR0, A64_REG_TTBR1, A64_REG_MAIR,
	A64_REG_VBAR, A64_REG_ESR, A64_REG_FAR,
	A64_REG_ELR, A64_REG_SPSR, A64_REG_SP_EL0, A64_REG_SP_EL1,
	A64_NREGS
};

/* System registers reached through KVM_GET_ONE_REG's sysreg space. */
enum { A64_SYS_SCTLR, A64_SYS_TCR, A64_SYS_TTBR0, A64_SYS_TTBR1, A64_SYS_MAIR,
       A64_SYS_VBAR, A64_SYS_ESR, A64_SYS_FAR, A64_NSYS };

struct a64_regs {
	uint64_t x[31];
	uint64_t sp_el0, pc, pstate, sp_el1, elr_el1, spsr_el1;
	uint8_t v[32][16];
	uint32_t fpsr, fpcr;
	uint64_t sys[A64_NSYS];
	bool dirty[A64_NREGS];	/* by gdb register number: write back */
};

#define PSTATE_SPSEL	(1ull << 0)
#define PSTATE_EL_MASK	(3ull << 2)
#define PSTATE_EL1H	0x5ull
#define PSTATE_DAIF	(0xfull << 6)
#define SCTLR_M		(1ull << 0)
#define ESR_EC_SHIFT	26
#define EC_HW_BP_LOWER	0x30
#define EC_HW_BP_CUR	0x31
#define EC_STEP_LOWER	0x32
#define EC_STEP_CUR	0x33
#define EC_WATCH_LOWER	0x34
#define EC_WATCH_CUR	0x35
#define EC_BRK64	0x3c

/* DBGBCR/DBGWCR fields */
#define CR_E		1ull
#define CR_EL1_EL0	(3ull << 1)	/* PMC / PAC: match at EL1 and EL0 */
#define BCR_BAS_A64	(0xfull << 5)
#define WCR_LSC_LOAD	(1ull << 3)
#define WCR_LSC_STORE	(2ull << 3)
#define WCR_BAS_SHIFT	5
#define WCR_MASK_SHIFT	24

extern const char a64_target_xml[];

int a64_regs_load(int vcpu_fd, void *regs);
int a64_regs_store(int vcpu_fd, const void *regs);
size_t a64_reg_size(unsigned regno);
void a64_reg_get(const void *regs, unsigned regno, uint8_t *out);
void a64_reg_set(void *regs, unsigned regno, const uint8_t *in);
uint64_t a64_pc(const void *regs);
void a64_set_pc(void *regs, uint64_t pc);
/* One 64-bit register (not sp, v0-v31, fpsr, fpcr) straight from or to KVM. */
int a64_get(int vcpu_fd, unsigned regno, uint64_t *val);
int a64_put(int vcpu_fd, unsigned regno, uint64_t val);
/* Writes the registers an exception entry changes. */
int a64_store_exception(int vcpu_fd, struct a64_regs *r);

bool a64_paging(const void *regs);
int a64_translate(const void *regs, const struct kvmdbg_mem *mem,
		  uint64_t gva, uint64_t *gpa, uint64_t *page_left);

int a64_hw_check(enum kd_hw_type type, uint64_t addr, uint64_t len);
unsigned a64_hw_pool(enum kd_hw_type type);
void a64_encode_debug(struct kvm_guest_debug *dbg,
		      const struct kd_hwslots pools[2], bool swbp, bool step,
		      bool blockirq);
enum kvmdbg_exit_class a64_decode_exit(const struct kvm_run *run,
				       const void *regs,
				       const struct kd_hwslots pools[2],
				       struct kd_debug_event *ev,
				       unsigned *pool);
int a64_deliver(int vcpu_fd, void *regs, const struct kvm_run *run,
		const struct kvmdbg_caps *caps, const struct kd_debug_event *ev);

int a64_step_mask(int vcpu_fd, const struct kvmdbg_mem *mem, const void *regs,
		  struct kvmdbg_step_state *m);
int a64_step_unmask(int vcpu_fd, const struct kvmdbg_mem *mem,
		    struct kvmdbg_step_state *m);

bool a64_undecoded_store(const struct kvm_run *run, uint64_t *gpa);
int a64_enable_undecoded_exits(int vm_fd);
int a64_kvm_run(int vcpu_fd, bool *repaired);
void a64_probe(int kvm_fd, const struct kvmdbg_probe_env *env, struct kvmdbg_caps *caps);

#endif
