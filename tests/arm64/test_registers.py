# SPDX-License-Identifier: MIT
"""Registers on arm64: the entry state, general and system registers."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (DEFAULT_RAM, RAM_BASE, bp_address, check, check_eq, cont,  # noqa: E402
                       cont_to_exit, debug, gdb, gdb_run, main, reg, set_reg, test)

DEMO_EXIT = 0x21
DEMO_SERIAL = ("demo: hello from the kvmdbg arm64 demo guest\n"
               "demo: words 0xcafef00d 0x12345678\n"
               "demo: counter 3 result 0x%016x\n")
SYSTEM_REGISTERS = ("sctlr_el1", "tcr_el1", "ttbr0_el1", "ttbr1_el1", "vbar_el1", "esr_el1",
                    "far_el1", "elr_el1", "spsr_el1", "sp_el0", "sp_el1")
PSTATE_EL1H_DAIF = 0x3c5    # EL1 with SP_EL1, D, A, I and F masked
NZCV = 0xf << 28
SCTLR_M = 1 << 0
ESR_BRK_IMM7 = (0x3c << 26) | (1 << 25) | 0x7


def compute(n):
    return 3 * n + 1 + 3 * (n + 7) + 1


def check_entry_state(vm, ram):
    check_eq(reg("pc"), vm.elf.entry, "pc")
    check_eq(reg("cpsr"), PSTATE_EL1H_DAIF, "cpsr")
    check_eq(reg("x0"), 0, "x0")
    check_eq(reg("sp"), RAM_BASE + ram, "sp")
    check_eq(reg("sp_el1"), RAM_BASE + ram, "sp_el1")
    check_eq(reg("sctlr_el1") & SCTLR_M, 0, "sctlr_el1.M (the MMU is off)")


@test
def test_entry_state():
    vm = debug("demo.elf")
    check_entry_state(vm, DEFAULT_RAM)
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_entry_state_with_mem():
    vm = debug("demo.elf", ["--mem", "32M"])
    check_entry_state(vm, 32 << 20)
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_system_registers_listed():
    vm = debug("demo.elf")
    out = gdb_run("info registers " + " ".join(SYSTEM_REGISTERS))
    for name in SYSTEM_REGISTERS:
        check(any(line.split()[:1] == [name] for line in out.splitlines()),
              "info registers shows no %s: %r" % (name, out))
    for n in range(31):
        reg("x%d" % n)
    check(gdb.parse_and_eval("$v0").type.sizeof == 16, "v0 is not a 128-bit register")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_system_registers_after_guest_exception():
    # brkcount installs its vector table and takes its own brk exceptions:
    # the system registers show what the guest's handler saw.
    vm = debug("brkcount.elf")
    check(reg("vbar_el1") != vm.elf.sym("brk_vectors"), "vbar_el1 is set before the guest ran")
    gdb.Breakpoint("tally")
    cont()
    check_eq(reg("vbar_el1"), vm.elf.sym("brk_vectors"), "vbar_el1")
    check_eq(reg("esr_el1"), ESR_BRK_IMM7, "esr_el1 after the guest's brk #7")
    check_eq(reg("elr_el1"), vm.elf.sym("brk_site") + 4, "elr_el1 (advanced by the handler)")
    # Condition flags (bits 31-28) are whatever main's loop left.
    check_eq(reg("spsr_el1") & ~NZCV, PSTATE_EL1H_DAIF, "spsr_el1 without the flags")
    check_eq(reg("cpsr") & ~NZCV, PSTATE_EL1H_DAIF, "cpsr back in main, without the flags")
    gdb_run("delete")
    cont_to_exit(vm, 5)


@test
def test_write_general_register():
    vm = debug("demo.elf")
    bp = gdb.Breakpoint("*%#x" % vm.elf.sym("compute"))
    check_eq(cont()["pc"], bp_address(bp), "stop at compute's first instruction")
    check_eq(reg("x0"), 0, "compute's argument before the write")
    set_reg("x0", 5)
    check_eq(reg("x0"), 5, "x0 read back")
    gdb_run("delete")
    cont_to_exit(vm, DEMO_EXIT)
    total = compute(5) + compute(1) + compute(2)
    check_eq(vm.serial(), DEMO_SERIAL % total, "serial output with compute(5) first")


@test
def test_write_pc():
    # Skipping the first call of compute: the counter ends at 2.
    vm = debug("demo.elf")
    gdb.Breakpoint("*%#x" % vm.elf.sym("compute"))
    cont()
    set_reg("pc", reg("x30"))
    set_reg("x0", 0)
    check_eq(reg("pc"), gdb.selected_frame().pc(), "pc read back")
    gdb_run("delete")
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL.replace("counter 3", "counter 2")
             % (compute(1) + compute(2)), "serial output without compute(0)")


main()
