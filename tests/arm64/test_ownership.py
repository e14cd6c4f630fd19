# SPDX-License-Identifier: MIT
"""The guest's own brk belongs to the guest, next to gdb's breakpoints."""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (Elf, bp_address, check, check_eq, cont, cont_to_exit, debug,  # noqa: E402
                       events, exit_status, gdb, gdb_run, guest_path, kvmdbg, main, pc, pc_of,
                       read_u32, read_u64, resume, rsp_client, run, test)

ROUNDS = 5
SERIAL = "brkcount: start\nbrk count: 5\n"
ESR_BRK_IMM7 = (0x3c << 26) | (1 << 25) | 0x7


def check_undebugged_run():
    vm = run("brkcount.elf")
    check_eq((vm.status, vm.serial()), (ROUNDS * 2 + 1, SERIAL), "run without gdb")


def hits(vm):
    return read_u32(vm.elf.sym("brk_hits"))


def check_tally_stops(vm, bp):
    site = bp_address(bp)
    trap = vm.elf.sym("brk_site")
    for n in range(ROUNDS):
        stop = cont()
        check(stop["pc"] != trap, "gdb stopped at the guest's brk (%#x)" % trap)
        check_eq(stop["pc"], site, "stop %d" % n)
        check_eq(stop["breakpoints"], [bp.number], "breakpoints at stop %d" % n)
        # The guest's trap ran (and was counted) just before each call.
        check_eq(hits(vm), n + 1, "guest's count at stop %d" % n)
        check_eq(int(gdb.parse_and_eval("i")), n, "tally's argument at stop %d" % n)
    check_eq(read_u64(vm.elf.sym("brk_last_esr")), ESR_BRK_IMM7, "ESR_EL1 the guest saw")


def finish(vm):
    gdb_run("delete")
    cont_to_exit(vm, ROUNDS)
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_guest_brk_with_sw_breakpoint():
    vm = debug("brkcount.elf")
    bp = gdb.Breakpoint("tally")
    check_tally_stops(vm, bp)
    finish(vm)
    check_eq(len(events.stops), ROUNDS, "stops in the whole run")
    check_undebugged_run()


@test
def test_guest_brk_with_hw_breakpoint():
    vm = debug("brkcount.elf")
    gdb_run("hbreak tally")
    check_tally_stops(vm, gdb.breakpoints()[-1])
    finish(vm)


@test
def test_guest_brk_without_breakpoints():
    vm = debug("brkcount.elf")
    cont_to_exit(vm, ROUNDS)
    check_eq(events.stops, [], "stops")
    check_eq(vm.serial(), SERIAL, "serial output")


def check_breakpoint_on_guest_brk(kind):
    # A breakpoint on the guest's own brk, through the raw protocol (gdb
    # itself steps over a brk in the program by moving the pc instead): each
    # round stops there first, and stepping then runs the guest's trap,
    # exactly once.
    elf = Elf(guest_path("brkcount.elf"))
    trap = elf.sym("brk_site")
    count = elf.sym("brk_hits")
    vm = kvmdbg("run", "--gdb", "tcp:0.0.0.0:1234", "-S", "/guests/brkcount.elf")
    vm.wait_listening()
    rsp = rsp_client()
    rsp.request("qSupported:swbreak+;hwbreak+")
    insert, remove = "Z%d,%x,4" % (kind, trap), "z%d,%x,4" % (kind, trap)
    for n in range(ROUNDS):
        check_eq(rsp.request(insert), "OK", "insert before round %d" % n)
        reply = rsp.request("c")
        check(reply.startswith("T05"), "stop reply in round %d: %r" % (n, reply))
        check_eq(pc_of(reply), trap, "pc of the stop in round %d" % n)
        check_eq(rsp.read_memory(count, 4), struct.pack("<I", n), "guest's count at stop %d" % n)
        check_eq(rsp.request(remove), "OK", "removal in round %d" % n)
        here = pc_of(rsp.request("s"))
        handled = rsp.read_memory(count, 4)
        check((here, handled) in ((elf.sym("brk_sync_el1h"), struct.pack("<I", n)),
                                  (trap + 4, struct.pack("<I", n + 1))),
              "after stepping the guest's brk in round %d: pc %#x, count %s"
              % (n, here, handled.hex()))
    check_eq(rsp.request("c"), "W%02x" % exit_status(ROUNDS), "exit reply")
    vm.expect_exit(exit_status(ROUNDS))
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_sw_breakpoint_on_guest_brk():
    check_breakpoint_on_guest_brk(0)


@test
def test_hw_breakpoint_on_guest_brk():
    check_breakpoint_on_guest_brk(1)


@test
def test_stepping_guest_brk():
    # A single step of the guest's brk either stops at the first instruction
    # of its handler or after the brk, with the handler done; never twice.
    vm = debug("brkcount.elf")
    trap = vm.elf.sym("brk_site")
    handler = vm.elf.sym("brk_sync_el1h")
    gdb.Breakpoint("*%#x" % trap)
    cont()
    gdb_run("delete")
    resume("stepi")
    here = pc()
    check(here in (handler, trap + 4), "pc after stepping the guest's brk: %#x" % here)
    check_eq(events.stops[-1]["breakpoints"], [], "breakpoints reported by the step")
    check_eq(hits(vm), 0 if here == handler else 1, "guest's count after the step")
    cont_to_exit(vm, ROUNDS)
    check_eq(vm.serial(), SERIAL, "serial output")


main()
