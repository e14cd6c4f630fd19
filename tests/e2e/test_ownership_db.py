# SPDX-License-Identifier: MIT
"""The guest's own debug-register breakpoints and #DB belong to the guest,
next to gdb's breakpoints and steps: its handler sees DR6 as the CPU leaves
it (B0 for its DR0, the BS it did not clear kept, a stale B1 gone)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (bp_address, check, check_eq, cont, cont_to_exit, debug, events, gdb,
                        gdb_run, guest_path, in_function, main, run, test)

ROUNDS = 3
SERIAL = "dbowned: start\ndb count: 3, wrong: 0\n"


def call_site(vm, callee):
    """The address of the call to callee in kmain."""
    start = vm.elf.sym("kmain")
    arch = gdb.selected_inferior().architecture()
    for insn in arch.disassemble(start, start + vm.elf.sym_size("kmain") - 1):
        if insn["asm"].startswith("call") and "<%s>" % callee in insn["asm"]:
            return insn["addr"]
    raise AssertionError("no call to %s in kmain" % callee)


@test
def test_guest_db_undebugged():
    vm = run(guest_path("dbowned.elf"))
    check_eq((vm.status, vm.serial()), (ROUNDS * 2 + 1, SERIAL), "run without gdb")


@test
def test_guest_db_without_breakpoints():
    vm = debug("dbowned.elf")
    cont_to_exit(vm, ROUNDS)
    check_eq(events.stops, [], "stops")
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_guest_db_beside_hw_breakpoint():
    # gdb's hardware breakpoint and the guest's own DR0 at once.
    vm = debug("dbowned.elf")
    gdb_run("hbreak tally")
    bp = gdb.breakpoints()[-1]
    for n in range(ROUNDS):
        stop = cont()
        check_eq((stop["pc"], stop["breakpoints"]), (bp_address(bp), [bp.number]),
                 "stop %d" % n)
    cont_to_exit(vm, ROUNDS)
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_guest_db_while_stepping():
    # Stepping onto db_site, where the guest's DR0 faults before the
    # instruction runs: the next step is in the guest's handler (at its
    # first instruction or, where KVM delivers the #DB itself and then
    # steps, one further), never past the nop at db_site.
    vm = debug("dbowned.elf")
    gdb.Breakpoint("*%#x" % call_site(vm, "db_site"))
    cont()
    gdb_run("delete")
    gdb_run("stepi")
    check_eq(events.stops[-1]["pc"], vm.elf.sym("db_site"), "pc after stepping the call")
    gdb_run("stepi")
    here = events.stops[-1]["pc"]
    check(in_function(vm, "isr_debug", here), "pc after stepping db_site: %#x" % here)
    cont_to_exit(vm, ROUNDS)
    check_eq(vm.serial(), SERIAL, "serial output")


main()
