# SPDX-License-Identifier: MIT
"""Software, hardware and temporary breakpoints on the demo guest."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (DEMO_SERIAL, bp_address, check, check_eq, check_raises, cont,  # noqa: E402
                        cont_to_exit, debug, events, frame_names, gdb, gdb_run, in_function, main,
                        packet, pc, read_u64, reg, resume, scratch, stub_bytes, test)

DEMO_EXIT = 0x21
SLED_BPS = 10000
SLED_FIRST = 0x100      # leave the sled's first bytes untouched


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
        check_eq(stop["breakpoints"], [bp.number], "stop %d breakpoints" % n)
        check_eq(int(gdb.parse_and_eval("n")), n, "argument n at stop %d" % n)
        check_eq(frame_names(), ["compute", "kmain", "start64"], "frames at stop %d" % n)
        bt = gdb_run("bt")
        check("compute" in bt and "kmain" in bt, "bt printed %r" % bt)
        counters.append(read_u64(vm.elf.sym("demo_counter")))
    check_eq(counters, [counters[0], counters[0] + 1, counters[0] + 2], "demo_counter at the stops")
    check_eq(bp.hit_count, 3, "hit count")
    bp.delete()
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_site_reads_original_bytes():
    gdb_run("set breakpoint always-inserted on")
    try:
        vm = debug("demo.elf")
        sites = [bp_address(gdb.Breakpoint(f)) for f in ("compute", "leaf", "xmm_checkpoint")]
        cont()
        for site in sites:
            check_eq(stub_bytes(site - 4, 12), vm.elf.bytes_at(site - 4, 12),
                     "bytes around the inserted breakpoint at %#x" % site)
        gdb_run("delete")
        cont_to_exit(vm, DEMO_EXIT)
        check_eq(vm.serial(), DEMO_SERIAL, "serial output")
    finally:
        gdb_run("set breakpoint always-inserted off")


@test
def test_write_over_breakpoint_site():
    vm = debug("demo.elf")
    site = vm.elf.sym("demo_patch")
    check_eq(vm.elf.bytes_at(site, 6), bytes.fromhex("b811000000c3"), "demo_patch as built")
    # gdb must own the breakpoint: it resumes silently from a swbreak stop
    # at an address where it has none.  always-inserted makes it send Z0 now.
    gdb_run("set breakpoint always-inserted on")
    gdb_run("break *%#x" % site)
    check_eq(stub_bytes(site, 6), bytes.fromhex("b811000000c3"), "bytes under the breakpoint")
    check_eq(packet("M%x,5:b822000000" % site), "OK", "M reply")
    check_eq(stub_bytes(site, 6), bytes.fromhex("b822000000c3"), "bytes after the write")
    stop = cont()
    check_eq(stop["pc"], site, "stop at the breakpoint under the new bytes")
    check_eq(stop["signal"], "SIGTRAP", "stop signal")
    gdb_run("delete")
    gdb_run("set breakpoint always-inserted off")
    check_eq(stub_bytes(site, 6), bytes.fromhex("b822000000c3"), "bytes after removal")
    resume("stepi")
    check_eq(pc(), site + 5, "pc after stepping the new instruction")
    check_eq(reg("rax") & 0xffffffff, 0x22, "eax after the patched mov")
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL.replace("patch 0x00000011", "patch 0x00000022"),
             "serial output")


@test
def test_ten_thousand_breakpoints():
    vm = debug("demo.elf")
    sled = vm.elf.sym("demo_sled")
    check(vm.elf.sym_size("demo_sled") > SLED_FIRST + SLED_BPS, "the sled is too short")
    addrs = [sled + SLED_FIRST + i for i in range(SLED_BPS)]
    script = os.path.join(scratch(), "bps.gdb")
    with open(script, "w") as f:
        f.writelines("break *%#x\n" % a for a in addrs)
    gdb_run("source " + script)
    check_eq(len(gdb.breakpoints()), SLED_BPS, "breakpoints gdb holds")
    stop = cont(timeout=120)
    check_eq(stop["pc"], addrs[0], "first stop")
    stop = cont(timeout=120)
    check_eq(stop["pc"], addrs[1], "second stop")
    gdb_run("delete")
    check_eq(stub_bytes(sled, 0x3000), vm.elf.bytes_at(sled, 0x3000), "sled bytes after deletion")
    # The guest checks its own sled: any byte left behind prints "dirty".
    cont_to_exit(vm, DEMO_EXIT, timeout=60)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_hardware_breakpoints():
    vm = debug("demo.elf")
    names = ("compute", "leaf", "demo_patch", "xmm_checkpoint")
    bps = {}
    for name in names:
        gdb_run("hbreak " + name)
        bps[gdb.breakpoints()[-1].number] = name
    check_eq(len(bps), 4, "hardware breakpoints")
    seen = []
    for _ in range(3 * 3 + 2):     # compute and two leaf calls, three times; then the rest
        stop = cont()
        check_eq(len(stop["breakpoints"]), 1, "breakpoints reported at %#x" % stop["pc"])
        name = bps[stop["breakpoints"][0]]
        check(in_function(vm, name, stop["pc"]), "stop at %#x is not in %s" % (stop["pc"], name))
        seen.append(name)
    check_eq(seen, ["compute", "leaf", "leaf"] * 3 + ["demo_patch", "xmm_checkpoint"],
             "order of hardware breakpoint hits")
    # Hardware breakpoints never touch guest memory.
    site = vm.elf.sym("demo_patch")
    check_eq(stub_bytes(site, 6), vm.elf.bytes_at(site, 6), "bytes at a hardware breakpoint")
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_fifth_hardware_breakpoint_fails():
    vm = debug("demo.elf")
    for name in ("leaf", "demo_patch", "demo_bump", "xmm_checkpoint", "compute"):
        gdb_run("hbreak " + name)
    check_raises(lambda: resume("continue"), "continue with five hardware breakpoints",
                 r"(?i)hardware breakpoint|command aborted")
    # Dropping the fifth lets the session go on with the other four.
    gdb.breakpoints()[-1].delete()
    stop = cont()
    check(in_function(vm, "leaf", stop["pc"]), "first stop at %#x, not in leaf" % stop["pc"])
    gdb_run("delete")
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_tbreak():
    vm = debug("demo.elf")
    gdb_run("tbreak leaf")
    check_eq(len(gdb.breakpoints()), 1, "breakpoints before the hit")
    stop = cont()
    check(in_function(vm, "leaf", stop["pc"]), "stop at %#x is not in leaf" % stop["pc"])
    check_eq(int(gdb.parse_and_eval("$rdi")), 0, "leaf's first argument")
    check_eq(len(gdb.breakpoints()), 0, "breakpoints after the hit")
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(len(events.stops), 1, "stops in the whole run")
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


main()
