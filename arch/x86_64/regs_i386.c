/* SPDX-License-Identifier: MIT */
/*
 * The i386 view of the same vCPU state, for guests gdb should see as
 * 32-bit: gdb's i386 register order (eax ecx edx ebx esp ebp esi edi),
 * the low halves of the 64-bit registers, eight xmm registers.  Writing a
 * 32-bit register keeps the upper half of the 64-bit one, so a guest that
 * has meanwhile entered long mode loses nothing it did not ask to change.
 */
#include <string.h>

#include "x86.h"

/* Each i386 register: the x86-64 register behind it and its width. */
struct view_reg {
	uint8_t reg64;
	uint8_t size;
};

static const struct view_reg view[X86_I386_NREGS] = {
	{ X86_REG_RAX, 4 }, { X86_REG_RCX, 4 }, { X86_REG_RDX, 4 }, { X86_REG_RBX, 4 },
	{ X86_REG_RSP, 4 }, { X86_REG_RBP, 4 }, { X86_REG_RSI, 4 }, { X86_REG_RDI, 4 },
	{ X86_REG_RIP, 4 }, { X86_REG_EFLAGS, 4 },
	{ X86_REG_CS, 4 }, { X86_REG_SS, 4 }, { X86_REG_DS, 4 },
	{ X86_REG_ES, 4 }, { X86_REG_FS, 4 }, { X86_REG_GS, 4 },
	{ X86_REG_ST0, 10 }, { X86_REG_ST0 + 1, 10 }, { X86_REG_ST0 + 2, 10 },
	{ X86_REG_ST0 + 3, 10 }, { X86_REG_ST0 + 4, 10 }, { X86_REG_ST0 + 5, 10 },
	{ X86_REG_ST0 + 6, 10 }, { X86_REG_ST0 + 7, 10 },
	{ X86_REG_FCTRL, 4 }, { X86_REG_FSTAT, 4 }, { X86_REG_FTAG, 4 },
	{ X86_REG_FISEG, 4 }, { X86_REG_FIOFF, 4 }, { X86_REG_FOSEG, 4 },
	{ X86_REG_FOOFF, 4 }, { X86_REG_FOP, 4 },
	{ X86_REG_XMM0, 16 }, { X86_REG_XMM0 + 1, 16 }, { X86_REG_XMM0 + 2, 16 },
	{ X86_REG_XMM0 + 3, 16 }, { X86_REG_XMM0 + 4, 16 }, { X86_REG_XMM0 + 5, 16 },
	{ X86_REG_XMM0 + 6, 16 }, { X86_REG_XMM0 + 7, 16 },
	{ X86_REG_MXCSR, 4 },
	{ X86_REG_FS_BASE, 4 }, { X86_REG_GS_BASE, 4 },
	/* Control registers and EFER keep their full width: a guest in
	 * PAE mode may point CR3 anywhere, and EFER is a 64-bit MSR. */
	{ X86_REG_CR0, 8 }, { X86_REG_CR2, 8 }, { X86_REG_CR3, 8 }, { X86_REG_CR4, 8 },
	{ X86_REG_CR8, 8 }, { X86_REG_EFER, 8 },
};

size_t x86_i386_reg_size(unsigned regno)
{
	return regno < X86_I386_NREGS ? view[regno].size : 0;
}

void x86_i386_reg_get(const void *regs, unsigned regno, uint8_t *out)
{
	uint8_t full[16];

	if (regno >= X86_I386_NREGS)
		return;
	x86_reg_get(regs, view[regno].reg64, full);
	memcpy(out, full, view[regno].size);
}

void x86_i386_reg_set(void *regs, unsigned regno, const uint8_t *in)
{
	uint8_t full[16];

	if (regno >= X86_I386_NREGS)
		return;
	x86_reg_get(regs, view[regno].reg64, full);
	memcpy(full, in, view[regno].size);
	x86_reg_set(regs, view[regno].reg64, full);
}

int x86_i386_regs_complete(int vcpu_fd, void *regs, unsigned regno)
{
	return x86_regs_complete(vcpu_fd, regs,
				 regno < X86_I386_NREGS ? view[regno].reg64 : X86_NREGS);
}
