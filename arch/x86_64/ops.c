/* SPDX-License-Identifier: MIT */
#include "x86.h"

static const uint8_t x86_trap[] = { X86_INT3 };

static const struct kvmdbg_arch_ops x86_ops = {
	.name = "x86_64",
	.target_xml = x86_target_xml,
	.trap = x86_trap,
	.trap_len = sizeof(x86_trap),
	.trap_name = "int3",
	.hw_name = "DR0-DR3",
	.fetch_from_unmapped_exits = true,
	.nregs = X86_NREGS,
	.pc_regnum = X86_REG_RIP,
	.sp_regnum = X86_REG_RSP,
	.fp_regnum = X86_REG_RBP,
	.regs_size = sizeof(struct x86_regs),
	.max_reg_size = 16,	/* xmm0-15 */
	.regs_load = x86_regs_load,
	.regs_store = x86_regs_store,
	.regs_complete = x86_regs_complete,
	.regs_sync = x86_regs_sync,
	.reg_size = x86_reg_size,
	.reg_get = x86_reg_get,
	.reg_set = x86_reg_set,
	.pc = x86_pc,
	.set_pc = x86_set_pc,
	.paging = x86_paging,
	.translate = x86_translate,
	.cpu_pages = x86_cpu_pages,
	.hw_check = x86_hw_check,
	.hw_pool = x86_hw_pool,
	.encode_debug = x86_encode_debug,
	.decode_exit = x86_decode_exit,
	.deliver = x86_deliver,
	.probe = x86_probe,
};

const struct kvmdbg_arch_ops *kvmdbg_arch(void)
{
	return &x86_ops;
}
