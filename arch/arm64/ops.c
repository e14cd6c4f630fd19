/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "a64.h"

/* BRK #0, little-endian whatever the host's byte order. */
static const uint8_t a64_trap[] = { 0x00, 0x00, 0x20, 0xd4 };

static const struct kvmdbg_arch_ops a64_ops = {
	.name = "arm64",
	.gdb_arch = "aarch64",
	.triple = "aarch64-unknown-unknown",
	.ptr_size = 8,
	.target_xml = a64_target_xml,
	.trap = a64_trap,
	.trap_len = sizeof(a64_trap),
	.trap_name = "BRK #0",
	.hw_name = "DBGBCR/DBGWCR",
	.watch_before_access = true,
	.nregs = A64_NREGS,
	.pc_regnum = A64_REG_PC,
	.sp_regnum = A64_REG_SP,
	.fp_regnum = 29,
	.regs_size = sizeof(struct a64_regs),
	.max_reg_size = 16,	/* v0-v31 */
	.regs_load = a64_regs_load,
	.regs_store = a64_regs_store,
	.reg_size = a64_reg_size,
	.reg_get = a64_reg_get,
	.reg_set = a64_reg_set,
	.pc = a64_pc,
	.set_pc = a64_set_pc,
	.paging = a64_paging,
	.translate = a64_translate,
	.hw_check = a64_hw_check,
	.hw_pool = a64_hw_pool,
	.encode_debug = a64_encode_debug,
	.decode_exit = a64_decode_exit,
	.deliver = a64_deliver,
	.step_begin = a64_step_mask,
	.step_end = a64_step_unmask,
	.undecoded_store = a64_undecoded_store,
	.enable_undecoded_exits = a64_enable_undecoded_exits,
	.vcpu_run = a64_kvm_run,
	.probe = a64_probe,
};

const struct kvmdbg_arch_ops *kvmdbg_arch(void)
{
	return &a64_ops;
}

const struct kvmdbg_arch_ops *kvmdbg_arch_view(const char *gdb_arch)
{
	return strcmp(gdb_arch, a64_ops.gdb_arch) ? NULL : &a64_ops;
}
