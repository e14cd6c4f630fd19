/* SPDX-License-Identifier: MIT */
/* Shared between the x86-64 backend's files; not part of the public API. */
#ifndef KVMDBG_ARCH_X86_H
#define KVMDBG_ARCH_X86_H

#include "kvmdbg/arch.h"

/* What one vCPU's registers look like while it is stopped. */
struct x86_regs {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;	/* x87 and SSE, whichever ioctl filled it */
	bool fpu_valid;		/* fpu and xsave hold the vCPU's */
	bool have_xsave;
	unsigned dirty;		/* X86_DIRTY_* parts to write back */
	/* The same state as the vCPU's XSAVE image; last, as the kernel
	 * header ends it with a flexible array. */
	struct kvm_xsave xsave;
};

#define X86_DIRTY_REGS	1u
#define X86_DIRTY_SREGS	2u
#define X86_DIRTY_FPU	4u

/* gdb register numbers of the target description. */
enum {
	X86_REG_RAX, X86_REG_RBX, X86_REG_RCX, X86_REG_RDX,
	X86_REG_RSI, X86_REG_RDI, X86_REG_RBP, X86_REG_RSP,
	X86_REG_R8, X86_REG_R15 = X86_REG_R8 + 7,
	X86_REG_RIP, X86_REG_EFLAGS,
	X86_REG_CS, X86_REG_SS, X86_REG_DS, X86_REG_ES, X86_REG_FS, X86_REG_GS,
	X86_REG_ST0, X86_REG_FCTRL = X86_REG_ST0 + 8, X86_REG_FSTAT, X86_REG_FTAG,
	X86_REG_FISEG, X86_REG_FIOFF, X86_REG_FOSEG, X86_REG_FOOFF, X86_REG_FOP,
	X86_REG_XMM0, X86_REG_MXCSR = X86_REG_XMM0 + 16,
	X86_REG_FS_BASE, X86_REG_GS_BASE,
	X86_REG_CR0, X86_REG_CR2, X86_REG_CR3, X86_REG_CR4, X86_REG_CR8,
	X86_REG_EFER,
	X86_NREGS
};

/* gdb register numbers of the i386 view (regs_i386.c). */
enum {
	X86_I386_REG_ESP = 4, X86_I386_REG_EBP = 5, X86_I386_REG_EIP = 8,
	X86_I386_NREGS = 49
};

#define X86_CR0_PE	(1ull << 0)
#define X86_CR0_PG	(1ull << 31)
#define X86_CR4_PSE	(1ull << 4)
#define X86_CR4_PAE	(1ull << 5)
#define X86_CR4_LA57	(1ull << 12)
#define X86_EFER_LMA	(1ull << 10)
#define X86_PTE_P	(1ull << 0)
#define X86_PTE_PS	(1ull << 7)
#define X86_PTE_ADDR	0x000ffffffffff000ull
#define X86_DR6_BS	(1ull << 14)
#define X86_INT3	0xcc
/* The arithmetic flags of RFLAGS. */
#define X86_FL_CF	0x001u
#define X86_FL_PF	0x004u
#define X86_FL_AF	0x010u
#define X86_FL_ZF	0x040u
#define X86_FL_SF	0x080u
#define X86_FL_OF	0x800u
#define X86_FL_TF	0x100u
#define X86_FL_ARITH	(X86_FL_CF | X86_FL_PF | X86_FL_AF | X86_FL_ZF | X86_FL_SF | X86_FL_OF)

extern const char x86_target_xml[];
extern const char x86_i386_target_xml[];

int x86_regs_load(int vcpu_fd, void *regs);
int x86_regs_store(int vcpu_fd, const void *regs);
int x86_regs_complete(int vcpu_fd, void *regs, unsigned regno);
void x86_regs_sync(const struct kvm_run *run, void *regs);
size_t x86_reg_size(unsigned regno);
void x86_reg_get(const void *regs, unsigned regno, uint8_t *out);
void x86_reg_set(void *regs, unsigned regno, const uint8_t *in);
size_t x86_i386_reg_size(unsigned regno);
void x86_i386_reg_get(const void *regs, unsigned regno, uint8_t *out);
void x86_i386_reg_set(void *regs, unsigned regno, const uint8_t *in);
int x86_i386_regs_complete(int vcpu_fd, void *regs, unsigned regno);
uint64_t x86_pc(const void *regs);
void x86_set_pc(void *regs, uint64_t pc);

bool x86_paging(const void *regs);
int x86_translate(const void *regs, const struct kvmdbg_mem *mem,
		  uint64_t gva, uint64_t *gpa, uint64_t *page_left);

bool x86_cpu_pages(const void *regs, const struct kvmdbg_mem *mem,
		   kvmdbg_cpu_page_fn fn, void *opaque);
int x86_hw_check(enum kd_hw_type type, uint64_t addr, uint64_t len);
unsigned x86_hw_pool(enum kd_hw_type type);
void x86_encode_debug(struct kvm_guest_debug *dbg,
		      const struct kd_hwslots pools[2], bool swbp, bool step,
		      bool blockirq);
enum kvmdbg_exit_class x86_decode_exit(const struct kvm_run *run,
				       const void *regs,
				       const struct kd_hwslots pools[2],
				       struct kd_debug_event *ev,
				       unsigned *pool);
int x86_deliver(int vcpu_fd, void *regs, const struct kvm_run *run,
		const struct kvmdbg_caps *caps, const struct kd_debug_event *ev);
/* The pure decisions of x86_deliver, for the probe and the unit tests. */
uint64_t x86_bp_inject_rip(enum kvmdbg_mechanism exit, uint64_t int3_rip,
			   const struct kvmdbg_caps *caps);
uint64_t x86_db_inject_rip(uint64_t exit_dr6, const struct kd_debug_event *ev,
			   uint64_t rip);
void x86_db_deliver_regs(uint64_t exit_dr6, uint64_t *dr6, uint64_t *dr7);

/*
 * A locked read-modify-write instruction (or xchg with memory) whose write
 * reached user space as MMIO (lockedrmw.c).
 */
enum x86_rmw_op {
	X86_RMW_ADD, X86_RMW_OR, X86_RMW_AND, X86_RMW_SUB, X86_RMW_XOR,
	X86_RMW_NOT, X86_RMW_NEG, X86_RMW_INC, X86_RMW_DEC,
	X86_RMW_XCHG, X86_RMW_XADD, X86_RMW_CMPXCHG, X86_RMW_CMPXCHG8B,
	X86_RMW_BTS, X86_RMW_BTR, X86_RMW_BTC,
};

struct x86_rmw {
	enum x86_rmw_op op;
	unsigned len;		/* bytes of the instruction */
	unsigned width;		/* bytes of the memory operand */
	uint64_t lin;		/* linear address of the memory operand */
	int reg;		/* register operand, x86 encoding 0-15; -1: none */
	bool high_byte;		/* reg is ah, ch, dh or bh */
	bool has_imm;
	uint64_t imm;		/* immediate source, sign-extended */
};

bool x86_rmw_find(const struct x86_regs *r, const uint8_t *code, size_t ncode,
		  unsigned width, bool (*lin_ok)(uint64_t lin, void *opaque),
		  void *opaque, struct x86_rmw *out);
bool x86_rmw_redo(const struct x86_rmw *i, struct x86_regs *r, const uint8_t *data,
		  const uint8_t *now, uint8_t *out, bool *write);
bool x86_redo_locked_write(void *regs, const uint8_t *code, size_t ncode, uint32_t len,
			   bool (*lin_ok)(uint64_t lin, void *opaque), void *opaque,
			   const uint8_t *data, const uint8_t *now, uint8_t *out,
			   bool *write, bool *regs_changed);

/* Single steps: a pushf's image of the flags must not keep the step's
 * trap flag (stepflags.c). */
bool x86_pushf_decode(const uint8_t *code, size_t n, bool long_mode, bool cs_32,
		      uint8_t *insn_len, uint8_t *push_len);
int x86_step_begin(int vcpu_fd, const struct kvmdbg_mem *mem, const void *regs,
		   struct kvmdbg_step_state *st);
int x86_step_end(int vcpu_fd, const struct kvmdbg_mem *mem, struct kvmdbg_step_state *st);
bool x86_read_restarted(struct kvmdbg_read_history *h, uint64_t addr, uint32_t len,
			int vcpu_fd, void *regs);
void x86_probe(int kvm_fd, const struct kvmdbg_probe_env *env, struct kvmdbg_caps *caps);

#endif
