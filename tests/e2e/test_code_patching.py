# SPDX-License-Identifier: MIT
"""Software breakpoints that survive the guest: the codepatch guest copies
code over them (byte stores, a string move, 8-byte stores straddling two
pages) and runs it, and maps a virtual alias of code pages only after gdb
set a breakpoint there, unmaps it and maps it again.  Every call must stop
with its own arguments, gdb must read the copied bytes, and the guest's
memory at the end must be what it is in a run without a debugger."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (check, check_eq, cont, cont_to_exit, debug, gdb, gdb_run, guest_path,
                        main, monitor, reg, run, stub_bytes, test)

GUEST = "codepatch.elf"
CODEPATCH_EXIT = 0x2e
PATCH_OFF = 0x100
EDGE_OFF = 4096 - 3
NOTE_OFF = 0x800
ALIAS_VA = 0x8000000000
SERIAL_RE = re.compile(r"^codepatch: results( \d+){8}\ncodepatch: sum 0x[0-9a-f]{16}\n$")

_undebugged = []


def undebugged_serial():
    """The guest's serial output, results and checksum, with no debugger."""
    if not _undebugged:
        vm = run(guest_path(GUEST))
        check_eq(vm.wait(), (CODEPATCH_EXIT << 1) | 1, "undebugged exit status")
        check(SERIAL_RE.match(vm.serial()), "undebugged serial: %r" % vm.serial())
        _undebugged.append(vm.serial())
    return _undebugged[0]


def template(vm, name):
    start = vm.elf.sym("tmpl_" + name)
    return vm.elf.bytes_at(start, vm.elf.sym("tmpl_%s_end" % name) - start)


def break_at(addr):
    return gdb.Breakpoint("*%#x" % addr)


def check_call(vm, stop, bp, where, args, code, what):
    check_eq(stop["pc"], where, "%s: stop pc" % what)
    check_eq(stop["breakpoints"], [bp.number], "%s: breakpoints reported" % what)
    check_eq((reg("rdi"), reg("rsi")), args, "%s: arguments" % what)
    check_eq(stub_bytes(where, len(code)), code, "%s: code as gdb reads it" % what)


def breakpoint_line(listing, addr):
    for line in listing.splitlines():
        if line.startswith("break") and line.split()[1].rstrip(":") == "%#x" % addr:
            return line
    raise AssertionError("no line for %#x in %r" % (addr, listing))


def inserted_listing():
    """monitor breakpoints; gdb keeps its breakpoints in the guest at stops
    while the tests that list them run (always_inserted)."""
    return monitor("breakpoints")


def always_inserted(fn):
    def wrapper():
        gdb_run("set breakpoint always-inserted on")
        try:
            fn()
        finally:
            gdb_run("set breakpoint always-inserted off")
    wrapper.__name__ = fn.__name__
    return wrapper


def finish(vm):
    """Without breakpoints, to the end: the guest's results and its checksum
    of its whole image must be those of a run without a debugger."""
    gdb_run("delete")
    cont_to_exit(vm, CODEPATCH_EXIT)
    check_eq(vm.serial(), undebugged_serial(), "serial output (results and memory checksum)")


@test
@always_inserted
def test_code_copied_over_breakpoints():
    expected = undebugged_serial()
    vm = debug(GUEST)
    patch = vm.elf.sym("patch_page") + PATCH_OFF
    edge = vm.elf.sym("edge_pages") + EDGE_OFF
    add, mul, sub = template(vm, "add"), template(vm, "mul"), template(vm, "sub")
    check_eq(edge // 4096 + 1, (edge + len(sub) - 1) // 4096, "tmpl_sub at the edge spans two pages")
    bp_patch, bp_edge = break_at(patch), break_at(edge)
    # A watch on the breakpoint's page too: both stop, each as itself.
    note = vm.elf.sym("patch_page") + NOTE_OFF
    watch = gdb.Breakpoint("*(unsigned char *)%#x" % note, gdb.BP_WATCHPOINT, gdb.WP_WRITE)
    calls = [(bp_patch, patch, (1, 2), add, "byte stores, first call"),
             (bp_patch, patch, (3, 4), add, "byte stores, second call"),
             (bp_patch, patch, (5, 6), mul, "rep movsb"),
             (watch, None, None, None, "the watched byte on the breakpoint's page"),
             (bp_edge, edge, (20, 7), sub, "8-byte stores across a page boundary"),
             (bp_edge, edge, (8, 9), add, "byte stores at the page boundary")]
    for n, (bp, where, args, code, what) in enumerate(calls):
        stop = cont()
        if bp is watch:
            check_eq(stop["breakpoints"], [watch.number], "%s: watchpoint reported" % what)
            check_eq(stub_bytes(note, 1), bytes([31]), "%s: the byte written" % what)
            watch.delete()
            continue
        check_call(vm, stop, bp, where, args, code, what)
        if n == 0:
            listing = inserted_listing()
            for addr in (patch, edge):
                check("page write-protected" in breakpoint_line(listing, addr),
                      "monitor breakpoints: %r" % listing)
    check_eq(expected.split("\n")[0].split()[2:7], ["3", "7", "31", "13", "17"],
             "results of the calls without a debugger")
    finish(vm)


@test
@always_inserted
def test_alias_mapped_after_the_breakpoint():
    vm = debug(GUEST)
    alias_a, alias_b = vm.elf.sym("alias_a"), vm.elf.sym("alias_b")
    mul, sub = template(vm, "mul"), template(vm, "sub")
    gdb.Breakpoint("kmain", temporary=True)
    cont()
    bp = break_at(ALIAS_VA)
    line = breakpoint_line(inserted_listing(), ALIAS_VA)
    check("pending" in line and "hardware slot" in line, "before the mapping: %r" % line)

    stop = cont()
    check_call(vm, stop, bp, ALIAS_VA, (10, 11), mul, "first mapping (alias_a)")
    line = breakpoint_line(inserted_listing(), ALIAS_VA)
    check("planted at guest-physical %#x" % alias_a in line, "mapped onto alias_a: %r" % line)

    check_point = gdb.Breakpoint("codepatch_checkpoint")
    stop = cont()
    check_eq(int(gdb.parse_and_eval("n")), 1, "checkpoint after the unmapping")
    check_eq(stop["breakpoints"], [check_point.number], "checkpoint breakpoint")
    line = breakpoint_line(inserted_listing(), ALIAS_VA)
    check("pending" in line, "once unmapped: %r" % line)
    check_eq(stub_bytes(alias_a, len(mul)), mul, "alias_a once the breakpoint left it")

    stop = cont()
    check_call(vm, stop, bp, ALIAS_VA, (30, 4), sub, "mapped again onto alias_b")
    stop = cont()
    check_call(vm, stop, bp, ALIAS_VA, (40, 2), sub, "unmapped and mapped again, no stop between")
    stop = cont()
    check_eq(int(gdb.parse_and_eval("n")), 2, "checkpoint after the last call")
    finish(vm)


@test
def test_breakpoint_on_a_page_table_page():
    vm = debug(GUEST)
    gdb.Breakpoint("kmain", temporary=True)
    cont()
    # An unused entry of the top page table: the processor walks that
    # page (and sets accessed bits there), so it is not protected, and the
    # listing says why.
    site = (reg("cr3") & ~0xfff) + 0x800
    gdb_run("set breakpoint always-inserted on")
    try:
        break_at(site)
        line = breakpoint_line(monitor("breakpoints"), site)
    finally:
        gdb_run("set breakpoint always-inserted off")
    check("page not protected: the processor uses its page itself" in line, "listing: %r" % line)
    finish(vm)


if __name__ == "__main__":
    main()
