# SPDX-License-Identifier: MIT
"""The guest's own int3 traps belong to the guest, next to gdb's breakpoints."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (bp_address, check, check_eq, cont, cont_to_exit, debug, events, gdb,
                        gdb_run, guest_path, main, read_u32, run, test)

ROUNDS = 5
SERIAL = "int3count: start\nint3 count: 5\n"


def check_undebugged_run():
    vm = run(guest_path("int3count.elf"))
    check_eq((vm.status, vm.serial()), (ROUNDS * 2 + 1, SERIAL), "run without gdb")


def check_stops(vm, site, bp):
    trap = vm.elf.sym("int3_site")
    for n in range(ROUNDS):
        stop = cont()
        check(stop["pc"] not in (trap, trap + 1), "gdb stopped at the guest's int3 (%#x)"
              % stop["pc"])
        check_eq(stop["pc"], site, "stop %d" % n)
        check_eq(stop["breakpoints"], [bp.number], "breakpoints at stop %d" % n)
        # The guest's trap ran (and was counted) just before each call.
        check_eq(read_u32(vm.elf.sym("int3_hits")), n + 1, "guest's count at stop %d" % n)
        check_eq(int(gdb.parse_and_eval("i")), n, "tally's argument at stop %d" % n)


@test
def test_guest_int3_with_sw_breakpoint():
    vm = debug("int3count.elf")
    bp = gdb.Breakpoint("tally")
    check_stops(vm, bp_address(bp), bp)
    cont_to_exit(vm, ROUNDS)
    check_eq(len(events.stops), ROUNDS, "stops in the whole run")
    check_eq(vm.serial(), SERIAL, "serial output")
    check_undebugged_run()


@test
def test_guest_int3_with_hw_breakpoint():
    vm = debug("int3count.elf")
    gdb_run("hbreak tally")
    bp = gdb.breakpoints()[-1]
    check_stops(vm, bp_address(bp), bp)
    cont_to_exit(vm, ROUNDS)
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_guest_int3_without_breakpoints():
    vm = debug("int3count.elf")
    cont_to_exit(vm, ROUNDS)
    check_eq(events.stops, [], "stops")
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_guest_int3_while_stepping():
    # Single-stepping onto and over the guest's own int3 runs its handler.
    vm = debug("int3count.elf")
    trap = vm.elf.sym("int3_site")
    gdb.Breakpoint("*%#x" % vm.elf.sym("int3_fire"))
    cont()
    gdb_run("delete")
    check_eq(events.stops[-1]["pc"], trap, "stop at int3_fire")
    gdb_run("stepi")
    handler = vm.elf.sym("isr_breakpoint")
    here = events.stops[-1]["pc"]
    # Either the step shows the handler's first instruction, or it completed the
    # trap and its handler and returned after the int3.
    check(here in (handler, trap + 1), "pc after stepping int3: %#x" % here)
    check_eq(events.stops[-1]["breakpoints"], [], "breakpoints reported by the step")
    cont_to_exit(vm, ROUNDS)
    check_eq(vm.serial(), SERIAL, "serial output")


main()
