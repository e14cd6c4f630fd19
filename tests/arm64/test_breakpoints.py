# SPDX-License-Identifier: MIT
"""Software and hardware breakpoints on the arm64 demo guest."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (DEMO_SERIAL, bp_address, check, check_eq, check_raises, cont,  # noqa: E402
                       cont_to_exit, debug, frame_names, gdb, gdb_run, in_function, main, read_u64,
                       reg, resume, stub_bytes, test)

DEMO_EXIT = 0x21
BRK0 = bytes.fromhex("000020d4")   # brk #0, little-endian
HW_SLOTS = 6


@test
def test_break_compute_and_backtrace():
    vm = debug("demo.elf")
    bp = gdb.Breakpoint("compute")
    site = bp_address(bp)
    check(in_function(vm, "compute", site), "breakpoint at %#x is outside compute" % site)
    counters = []
    for n in range(3):
        stop = cont()
        check_eq(stop["pc"], site, "stop %d pc" % n)
        check_eq(stop["signal"], "SIGTRAP", "stop %d signal" % n)
        check_eq(stop["breakpoints"], [bp.number], "stop %d breakpoints" % n)
        check_eq(int(gdb.parse_and_eval("n")), n, "argument n at stop %d" % n)
        check_eq(reg("x0"), n, "x0 at stop %d" % n)
        # gdb's backtrace ends at main unless told otherwise.
        check_eq(frame_names(), ["compute", "main"], "frames at stop %d" % n)
        bt = gdb_run("bt")
        check("compute" in bt and "main" in bt, "bt printed %r" % bt)
        counters.append(read_u64(vm.elf.sym("demo_counter")))
    check_eq(counters, [0, 1, 2], "demo_counter at the stops")
    check_eq(bp.hit_count, 3, "hit count")
    bp.delete()
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_backtrace_from_leaf():
    vm = debug("demo.elf")
    bp = gdb.Breakpoint("leaf")
    args = []
    for n in range(6):
        stop = cont()
        check_eq(stop["pc"], bp_address(bp), "stop %d pc" % n)
        check_eq(frame_names(), ["leaf", "compute", "main"], "frames at stop %d" % n)
        args.append(int(gdb.parse_and_eval("x")))
        # The caller's frame is usable too: compute's argument.
        gdb_run("frame 1")
        check_eq(int(gdb.parse_and_eval("n")), n // 2, "compute's n seen from leaf %d" % n)
        gdb_run("frame 0")
    check_eq(args, [0, 7, 1, 8, 2, 9], "leaf's arguments")
    bp.delete()
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_site_reads_original_bytes():
    gdb_run("set breakpoint always-inserted on")
    try:
        vm = debug("demo.elf")
        sites = [bp_address(gdb.Breakpoint(f)) for f in ("compute", "leaf", "uart_putc")]
        stop = cont()
        check(stop["pc"] in sites, "stop at %#x is not a breakpoint" % stop["pc"])
        for site in sites:
            check(vm.elf.bytes_at(site, 4) != BRK0, "the guest already has brk #0 at %#x" % site)
            check_eq(stub_bytes(site - 4, 12), vm.elf.bytes_at(site - 4, 12),
                     "bytes around the inserted breakpoint at %#x" % site)
        gdb_run("delete")
        cont_to_exit(vm, DEMO_EXIT)
        check_eq(vm.serial(), DEMO_SERIAL, "serial output")
    finally:
        gdb_run("set breakpoint always-inserted off")


@test
def test_write_under_breakpoint():
    # The guest's words are printed after the loop: a write through gdb
    # while breakpoints are inserted reaches the guest.
    vm = debug("demo.elf")
    gdb.Breakpoint("compute")
    cont()
    gdb_run("set var demo_words[1] = 0x55aa1234")
    gdb_run("delete")
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL.replace("0x12345678", "0x55aa1234"), "serial output")


@test
def test_hardware_breakpoints():
    vm = debug("demo.elf")
    names = ("compute", "leaf", "guest_exit")
    bps = {}
    for name in names:
        gdb_run("hbreak " + name)
        bps[gdb.breakpoints()[-1].number] = name
    seen = []
    for _ in range(3 * 3 + 1):     # compute and two leaf calls, three times; then the exit
        stop = cont()
        check_eq(len(stop["breakpoints"]), 1, "breakpoints reported at %#x" % stop["pc"])
        name = bps[stop["breakpoints"][0]]
        check(in_function(vm, name, stop["pc"]), "stop at %#x is not in %s" % (stop["pc"], name))
        seen.append(name)
    check_eq(seen, ["compute", "leaf", "leaf"] * 3 + ["guest_exit"],
             "order of hardware breakpoint hits")
    # Hardware breakpoints never touch guest memory.
    for name in names:
        site = vm.elf.sym(name)
        check_eq(stub_bytes(site, 8), vm.elf.bytes_at(site, 8), "bytes at %s" % name)
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_all_hardware_slots():
    vm = debug("demo.elf")
    names = ("uart_puthex", "uart_putdec", "leaf", "compute", "guest_exit", "psci_call",
             "uart_puts")
    for name in names[:HW_SLOTS + 1]:
        gdb_run("hbreak " + name)
    # One more than the slots: gdb cannot insert them all.
    check_raises(lambda: resume("continue"), "continue with %d hardware breakpoints"
                 % (HW_SLOTS + 1))
    gdb_run("delete %d" % gdb.breakpoints()[-1].number)
    stop = cont()
    check(in_function(vm, "compute", stop["pc"]), "first stop with six slots at %#x" % stop["pc"])
    gdb_run("delete")
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_temporary_breakpoint():
    vm = debug("demo.elf")
    gdb_run("tbreak leaf")
    stop = cont()
    check(in_function(vm, "leaf", stop["pc"]), "stop at %#x is not in leaf" % stop["pc"])
    check_eq(len(gdb.breakpoints()), 0, "breakpoints left after a tbreak hit")
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


main()
