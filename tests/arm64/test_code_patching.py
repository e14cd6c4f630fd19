# SPDX-License-Identifier: MIT
"""Software breakpoints that survive the guest, on arm64: the codepatch
guest copies code over a breakpoint by 32-bit stores and by pair stores
(which KVM cannot decode: the stub steps them with the page writable) and
runs it.  Every call must stop with its own arguments, gdb must read the
copied instructions, and the guest's memory at the end must be what it is
in a run without a debugger."""

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
SERIAL_RE = re.compile(r"^codepatch: results( \d+){4}\ncodepatch: sum 0x[0-9a-f]{16}\n$")


@test
def test_code_copied_over_a_breakpoint():
    plain = run(GUEST)
    check_eq(plain.wait(), (CODEPATCH_EXIT << 1) | 1, "undebugged exit status")
    check(SERIAL_RE.match(plain.serial()), "undebugged serial: %r" % plain.serial())
    check_eq(plain.serial().split("\n")[0].split()[2:], ["3", "7", "31", "15"],
             "results without a debugger")

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
            stop = cont()
            check_eq(stop["pc"], patch, "%s: stop pc" % what)
            check_eq(stop["breakpoints"], [bp.number], "%s: breakpoints reported" % what)
            check_eq((reg("x0"), reg("x1")), args, "%s: arguments" % what)
            check_eq(stub_bytes(patch, TMPL_BYTES), code, "%s: code as gdb reads it" % what)
            if n == 0:
                listing = monitor("breakpoints")
                check(re.search(r"^break +%#x: planted at guest-physical %#x, page write-protected$"
                                % (patch, patch), listing, re.M),
                      "monitor breakpoints: %r" % listing)
    finally:
        gdb_run("set breakpoint always-inserted off")
    gdb_run("delete")
    cont_to_exit(vm, CODEPATCH_EXIT)
    check_eq(vm.serial(), plain.serial(), "serial output (results and memory checksum)")


if __name__ == "__main__":
    main()
