/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "x86.h"

static const uint8_t x86_trap[] = { X86_INT3 };

/* Everything but the register layout, which each view of the backend has
 * its own of. */
#define X86_SHARED_OPS \
	.name = "x86_64", \
	.trap = x86_trap, \
	.trap_len = sizeof(x86_trap), \
	.trap_name = "int3", \
	.hw_name = "DR0-DR3", \
	.fetch_from_unmapped_exits = true, \
	.regs_size = sizeof(struct x86_regs), \
	.max_reg_size = 16,	/* xmm */ \
	.regs_load = x86_regs_load, \
	.regs_store = x86_regs_store, \
	.regs_sync = x86_regs_sync, \
	.pc = x86_pc, \
	.set_pc = x86_set_pc, \
	.paging = x86_paging, \
	.translate = x86_translate, \
	.cpu_pages = x86_cpu_pages, \
	.hw_check = x86_hw_check, \
	.hw_pool = x86_hw_pool, \
	.encode_debug = x86_encode_debug, \
	.decode_exit = x86_decode_exit, \
	.deliver = x86_deliver, \
	.read_restarted = x86_read_restarted, \
	.redo_locked_write = x86_redo_locked_write, \
	.step_begin = x86_step_begin, \
	.step_end = x86_step_end, \
	.probe = x86_probe

static const struct kvmdbg_arch_ops x86_ops = {
	X86_SHARED_OPS,
	.gdb_arch = "i386:x86-64",
	.triple = "x86_64-unknown-unknown",
	.ptr_size = 8,
	.target_xml = x86_target_xml,
	.nregs = X86_NREGS,
	.pc_regnum = X86_REG_RIP,
	.sp_regnum = X86_REG_RSP,
	.fp_regnum = X86_REG_RBP,
	.regs_complete = x86_regs_complete,
	.reg_size = x86_reg_size,
	.reg_get = x86_reg_get,
	.reg_set = x86_reg_set,
};

static const struct kvmdbg_arch_ops x86_i386_ops = {
	X86_SHARED_OPS,
	.gdb_arch = "i386",
	.triple = "i386-unknown-unknown",
	.ptr_size = 4,
	.target_xml = x86_i386_target_xml,
	.nregs = X86_I386_NREGS,
	.pc_regnum = X86_I386_REG_EIP,
	.sp_regnum = X86_I386_REG_ESP,
	.fp_regnum = X86_I386_REG_EBP,
	.regs_complete = x86_i386_regs_complete,
	.reg_size = x86_i386_reg_size,
	.reg_get = x86_i386_reg_get,
	.reg_set = x86_i386_reg_set,
};

const struct kvmdbg_arch_ops *kvmdbg_arch(void)
{
	return &x86_ops;
}

const struct kvmdbg_arch_ops *kvmdbg_arch_view(const char *gdb_arch)
{
	if (!strcmp(gdb_arch, x86_ops.gdb_arch))
		return &x86_ops;
	if (!strcmp(gdb_arch, x86_i386_ops.gdb_arch))
		return &x86_i386_ops;
	return NULL;
}
