# SPDX-License-Identifier: MIT
"""Software breakpoints that survive the guest, on arm64: the codepatch
guest copies code over a breakpoint by 32-bit stores and by pair stores
(which KVM cannot decode: the stub steps them with the page writable) and
runs it; then it turns its MMU on and maps a virtual alias of code pages
only after gdb set a breakpoint there, unmaps it and maps it again.  Every
call must stop with its own arguments, gdb must read the copied
instructions, and the guest's memory at the end must be what it is in a
run without a debugger."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (check, check_eq, cont, cont_to_exit, debug, gdb, gdb_run,  # noqa: E402
                       main, monitor, reg, run, stub_bytes, test)

GUEST = "codepatch.elf"
CODEPATCH_EXIT = 0x2e
PATCH_OFF = 0x100
TMPL_BYTES = 16
ALIAS_VA = 0xc0000000
SERIAL_RE = re.compile(r"^codepatch: results( \d+){7}\ncodepatch: sum 0x[0-9a-f]{16}\n$")
_undebugged = []


def undebugged_serial():
    if not _undebugged:
        plain = run(GUEST)
        check_eq(plain.wait(), (CODEPATCH_EXIT << 1) | 1, "undebugged exit status")
        check(SERIAL_RE.match(plain.serial()), "undebugged serial: %r" % plain.serial())
        check_eq(plain.serial().split("\n")[0].split()[2:],
                 ["3", "7", "31", "15", "111", "34", "42"], "results without a debugger")
        _undebugged.append(plain.serial())
    return _undebugged[0]


def breakpoint_line(addr):
    listing = monitor("breakpoints")
    for line in listing.splitlines():
        if line.startswith("break") and line.split()[1].rstrip(":") == "%#x" % addr:
            return line
    raise AssertionError("no line for %#x in %r" % (addr, listing))


def check_call(stop, bp, where, args, code, what):
    check_eq(stop["pc"], where, "%s: stop pc" % what)
    check_eq(stop["breakpoints"], [bp.number], "%s: breakpoints reported" % what)
    check_eq((reg("x0"), reg("x1")), args, "%s: arguments" % what)
    check_eq(stub_bytes(where, TMPL_BYTES), code, "%s: code as gdb reads it" % what)


def finish(vm):
    gdb_run("delete")
    cont_to_exit(vm, CODEPATCH_EXIT)
    check_eq(vm.serial(), undebugged_serial(), "serial output (results and memory checksum)")


@test
def test_code_copied_over_a_breakpoint():
    undebugged_serial()
    vm = debug(GUEST)
    patch = vm.elf.sym("patch_page") + PATCH_OFF
    add = vm.elf.bytes_at(vm.elf.sym("tmpl_add"), TMPL_BYTES)
    mul = vm.elf.bytes_at(vm.elf.sym("tmpl_mul"), TMPL_BYTES)
    gdb_run("set breakpoint always-inserted on")
    try:
        bp = gdb.Breakpoint("*%#x" % patch)
        for n, (args, code, what) in enumerate((((1, 2), add, "32-bit stores, first call"),
                                                ((3, 4), add, "32-bit stores, second call"),
                                                ((5, 6), mul, "pair stores"),
                                                ((7, 8), add, "32-bit stores again"))):
            check_call(cont(), bp, patch, args, code, what)
            if n == 0:
                line = breakpoint_line(patch)
                check("planted at guest-physical %#x, page write-protected" % patch in line,
                      "monitor breakpoints: %r" % line)
    finally:
        gdb_run("set breakpoint always-inserted off")
    finish(vm)


@test
def test_alias_mapped_after_the_breakpoint():
    vm = debug(GUEST)
    alias_a, alias_b = vm.elf.sym("alias_a"), vm.elf.sym("alias_b")
    add = vm.elf.bytes_at(vm.elf.sym("tmpl_add"), TMPL_BYTES)
    mul = vm.elf.bytes_at(vm.elf.sym("tmpl_mul"), TMPL_BYTES)
    gdb_run("set breakpoint always-inserted on")
    try:
        bp = gdb.Breakpoint("*%#x" % ALIAS_VA)
        line = breakpoint_line(ALIAS_VA)
        check("pending" in line and "hardware slot" in line, "with the MMU off: %r" % line)
        check_call(cont(), bp, ALIAS_VA, (10, 11), mul, "first mapping (alias_a)")
        line = breakpoint_line(ALIAS_VA)
        check("planted at guest-physical %#x" % alias_a in line, "mapped onto alias_a: %r" % line)
        check_point = gdb.Breakpoint("codepatch_checkpoint")
        stop = cont()
        check_eq(stop["breakpoints"], [check_point.number], "checkpoint after the unmapping")
        check_eq(reg("x0"), 1, "checkpoint number")
        line = breakpoint_line(ALIAS_VA)
        check("pending" in line, "once unmapped: %r" % line)
        check_eq(stub_bytes(alias_a, TMPL_BYTES), mul, "alias_a once the breakpoint left it")
        check_call(cont(), bp, ALIAS_VA, (30, 4), add, "mapped again onto alias_b")
        line = breakpoint_line(ALIAS_VA)
        check("planted at guest-physical %#x" % alias_b in line, "mapped onto alias_b: %r" % line)
        check_call(cont(), bp, ALIAS_VA, (40, 2), add, "unmapped and mapped again, no stop between")
        stop = cont()
        check_eq(reg("x0"), 2, "checkpoint after the last call")
    finally:
        gdb_run("set breakpoint always-inserted off")
    finish(vm)


if __name__ == "__main__":
    main()
