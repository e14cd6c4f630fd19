# SPDX-License-Identifier: MIT
"""Single-stepping, stepping off breakpoints, finish on the arm64 demo guest."""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (bp_address, check, check_eq, cont, cont_to_exit, debug, events,  # noqa: E402
                       gdb, gdb_run, in_function, main, pc, reg, resume, stepi, test)

DEMO_EXIT = 0x21


def first_bl(vm, func):
    """The address of the first BL instruction in a function."""
    start = vm.elf.sym(func)
    for at in range(start, start + vm.elf.sym_size(func), 4):
        (word,) = struct.unpack("<I", vm.elf.bytes_at(at, 4))
        if word >> 26 == 0b100101:
            return at
    raise AssertionError("no bl in %s" % func)


@test
def test_stepi_from_entry():
    vm = debug("demo.elf")
    entry = vm.elf.entry
    check_eq(pc(), entry, "pc before the first instruction")
    check_eq(stepi(), entry + 4, "pc after one stepi")
    check_eq(reg("x1"), vm.elf.sym("__stack0_top"), "x1 after ldr x1, =__stack0_top")
    check_eq(stepi(), entry + 8, "pc after two stepi")
    check_eq(reg("sp"), vm.elf.sym("__stack0_top"), "sp after mov sp, x1")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_stepi_into_call():
    vm = debug("demo.elf")
    call = first_bl(vm, "compute")
    gdb.Breakpoint("*%#x" % call)
    check_eq(cont()["pc"], call, "stop at compute's first bl")
    gdb_run("delete")
    check_eq(stepi(), vm.elf.sym("leaf"), "pc after stepping the bl")
    check_eq(reg("x30"), call + 4, "link register after the bl")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_step_off_sw_breakpoint():
    vm = debug("demo.elf")
    bp = gdb.Breakpoint("compute")
    site = bp_address(bp)
    gdb.Breakpoint("*%#x" % (site + 4))
    check_eq(cont()["pc"], site, "first stop")
    # The next instruction has a breakpoint too: the step lands on it.
    check_eq(stepi(), site + 4, "pc after stepping off the breakpoint")
    check_eq(stepi(), site + 8, "pc after stepping off the second breakpoint")
    check_eq(events.stops[-1]["breakpoints"], [], "breakpoints reported by the second step")
    for n in (1, 2):
        check_eq(cont()["pc"], site, "stop at the next call")
        check_eq(int(gdb.parse_and_eval("n")), n, "argument at the next call")
        check_eq(cont()["pc"], site + 4, "stop at the second breakpoint")
    gdb_run("delete")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_step_off_hw_breakpoint():
    vm = debug("demo.elf")
    gdb_run("hbreak compute")
    site = bp_address(gdb.breakpoints()[-1])
    check_eq(cont()["pc"], site, "first stop")
    check_eq(stepi(), site + 4, "pc after stepping off the hardware breakpoint")
    check_eq(cont()["pc"], site, "stop at the next call")
    check_eq(int(gdb.parse_and_eval("n")), 1, "argument at the next call")
    gdb_run("delete")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_many_stepi():
    # Single steps through a whole call of compute: every instruction the
    # guest executes, two calls of leaf, and the right result.
    vm = debug("demo.elf")
    gdb.Breakpoint("compute")
    cont()
    gdb_run("delete")
    trace = []
    while not in_function(vm, "main", pc()):
        check(len(trace) < 60, "still not back in main after %s" % [hex(a) for a in trace])
        trace.append(stepi())
    check_eq(trace.count(vm.elf.sym("leaf")), 2, "entries into leaf")
    check(all(in_function(vm, "compute", a) or in_function(vm, "leaf", a) for a in trace[:-1]),
          "steps outside compute and leaf: %s" % [hex(a) for a in trace])
    check_eq(reg("x0"), 23, "compute(0) in x0 back in main")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_finish_returns_value():
    vm = debug("demo.elf")
    gdb.Breakpoint("leaf")
    cont()
    check_eq(int(gdb.parse_and_eval("x")), 0, "leaf's first argument")
    gdb_run("delete")
    resume("finish")
    check_eq(int(gdb.history(0)), 1, "value finish reports for leaf(0)")
    check_eq(reg("x0"), 1, "x0 after finish")
    check_eq(gdb.selected_frame().name(), "compute", "frame after finish")
    cont_to_exit(vm, DEMO_EXIT)


main()
