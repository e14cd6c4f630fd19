# SPDX-License-Identifier: MIT
"""Register reads and writes: general, control, segment-base and SSE registers."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (bp_address, check, check_eq, cont, cont_to_exit, debug, gdb, gdb_run,
                        main, pc, read_u64, reg, resume, set_reg, test, xmm)

DEMO_EXIT = 0x21
CR0_PE, CR0_PG = 1 << 0, 1 << 31
CR4_PAE, CR4_OSFXSR = 1 << 5, 1 << 9
EFER_LME, EFER_LMA = 1 << 8, 1 << 10
MXCSR_RESET = 0x1f80


def stop_in_compute():
    vm = debug("demo.elf")
    bp = gdb.Breakpoint("compute")
    check_eq(cont()["pc"], bp_address(bp), "stop at compute")
    bp.delete()
    return vm


@test
def test_info_registers():
    vm = stop_in_compute()
    out = gdb_run("info registers")
    names = set(re.findall(r"^(\w+)\s", out, re.M))
    for name in ("rax", "rbx", "rsp", "rbp", "rip", "eflags", "cs", "ss", "fs_base", "gs_base",
                 "cr0", "cr2", "cr3", "cr4", "cr8", "efer"):
        check(name in names, "info registers lacks %s: %r" % (name, out))
    rip = re.search(r"^rip\s+(0x[0-9a-f]+)", out, re.M)
    check_eq(int(rip.group(1), 16), pc(), "rip line of info registers")
    stack_lo, stack_hi = vm.elf.sym("boot_stack"), vm.elf.sym("boot_stack_top")
    check(stack_lo < reg("rsp") < stack_hi, "rsp %#x outside the boot stack" % reg("rsp"))
    check_eq(reg("cs"), 0x08, "cs")
    check_eq(reg("ss"), 0x10, "ss")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_control_registers():
    vm = stop_in_compute()
    check_eq(reg("cr0") & (CR0_PG | CR0_PE), CR0_PG | CR0_PE, "cr0 PG|PE")
    check_eq(reg("cr3") & ~0xfff, vm.elf.sym("boot_pml4"), "cr3")
    check_eq(reg("cr4") & (CR4_PAE | CR4_OSFXSR), CR4_PAE | CR4_OSFXSR, "cr4 PAE|OSFXSR")
    check_eq(reg("efer") & (EFER_LME | EFER_LMA), EFER_LME | EFER_LMA, "efer LME|LMA")
    check_eq(reg("cr2"), 0, "cr2 (the guest never faulted)")
    check_eq(reg("cr8"), 0, "cr8")
    check_eq(reg("fs_base"), 0, "fs_base")
    check_eq(reg("gs_base"), 0, "gs_base")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_registers_at_entry():
    # Stopped before the first instruction: the Multiboot hand-over state.
    vm = debug("demo.elf")
    check_eq(pc(), vm.elf.sym("_start"), "pc before the first instruction")
    check_eq(reg("rax") & 0xffffffff, 0x2badb002, "eax (Multiboot magic)")
    check(0 < reg("rbx") < 64 << 20, "ebx %#x is not a RAM address" % reg("rbx"))
    check_eq(reg("cr0") & (CR0_PG | CR0_PE), CR0_PE, "cr0: protected mode, paging off")
    check_eq(reg("eflags") & 0x200, 0, "eflags IF")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_sse_registers():
    vm = debug("demo.elf")
    gdb.Breakpoint("xmm_checkpoint")
    cont()
    pattern = vm.elf.bytes_at(vm.elf.sym("demo_xmm_pattern"), 16)
    check_eq(xmm(0), int.from_bytes(pattern, "little"), "xmm0")
    check_eq(reg("mxcsr"), MXCSR_RESET, "mxcsr")
    out = gdb_run("p $mxcsr")
    check("IM" in out and "PM" in out, "p $mxcsr printed %r" % out)
    gdb_run("delete")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_register_writes():
    vm = debug("demo.elf")
    site = vm.elf.sym("demo_bump")
    gdb.Breakpoint("*%#x" % site)
    check_eq(cont()["pc"], site, "stop at demo_bump")
    gdb_run("delete")
    set_reg("rax", 0x123456780000)
    check_eq(reg("rax"), 0x123456780000, "rax read back")
    resume("stepi")
    check_eq(pc(), site + 6, "pc after add $0x1000,%rax")
    check_eq(reg("rax"), 0x123456781000, "rax after the add")
    # r15 is unused by the guest: write a full 64-bit value and read it back.
    set_reg("r15", -0x0123456789abcdef)
    check_eq(reg("r15"), (-0x0123456789abcdef) & 0xffffffffffffffff, "r15 read back")
    resume("stepi")
    check_eq(reg("r15"), (-0x0123456789abcdef) & 0xffffffffffffffff, "r15 after a step")
    set_reg("r15", 0)
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_written_registers_survive_steps():
    """Registers gdb wrote are what the next steps start from and report,
    however the stub reads them at a stop (from kvm_run or by ioctl), the
    x87/SSE state included, which is read only when gdb asks for it."""
    vm = debug("demo.elf")
    site = vm.elf.sym("demo_bump")
    gdb.Breakpoint("*%#x" % site)
    check_eq(cont()["pc"], site, "stop at demo_bump")
    gdb_run("delete")
    sp = reg("rsp")
    ret = read_u64(sp)
    xmm1 = 0x0f1e2d3c4b5a69780796a5b4c3d2e1f0
    set_reg("rax", 0x1111000000)
    set_reg("r15", 0x7777)
    gdb_run("set $xmm1.v2_int64 = {%d, %d}" % (xmm1 & (2**64 - 1), xmm1 >> 64))
    resume("stepi")
    check_eq(pc(), site + 6, "pc after add $0x1000,%rax")
    check_eq(reg("rax"), 0x1111001000, "rax: written, then added to")
    check_eq(reg("r15"), 0x7777, "r15 written before the step")
    check_eq(xmm(1), xmm1, "xmm1 written before the step")
    # Written again between two steps, with the stack pointer the ret uses.
    set_reg("r15", 0x8888)
    set_reg("rsp", sp)
    resume("stepi")
    check_eq(pc(), ret, "pc after ret")
    check_eq(reg("rsp"), sp + 8, "rsp after ret")
    check_eq(reg("r15"), 0x8888, "r15 written between the steps")
    check_eq(xmm(1), xmm1, "xmm1 after two steps")
    set_reg("r15", 0)
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_pc_write_redirects():
    vm = debug("demo.elf")
    patch = vm.elf.sym("demo_patch")
    gdb.Breakpoint("*%#x" % patch)
    cont()
    gdb_run("delete")
    # Jump over the mov: demo_patch then returns whatever eax holds.
    set_reg("rax", 0x5a)
    set_reg("rip", patch + 5)
    check_eq(pc(), patch + 5, "pc read back")
    cont_to_exit(vm, DEMO_EXIT)
    check("demo: patch 0x0000005a\n" in vm.serial(), "serial output %r" % vm.serial())


main()
