# SPDX-License-Identifier: MIT
"""The guest's own int3 traps belong to the guest, next to gdb's breakpoints."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (bp_address, check, check_eq, cont, cont_to_exit, debug, events, gdb,
                        gdb_run, guest_path, main, read_u32, read_u64, run, test)

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
    # Single-stepping the guest's own int3: the step ends with the #BP
    # pending and the handler not yet run (KVM injects the exception on the
    # next entry); the next step enters the guest's handler, whose frame
    # returns past the int3, as the hardware's would.
    vm = debug("int3count.elf")
    trap = vm.elf.sym("int3_site")
    handler = vm.elf.sym("isr_breakpoint")
    hits = vm.elf.sym("int3_hits")
    gdb.Breakpoint("*%#x" % vm.elf.sym("int3_fire"))
    cont()
    gdb_run("delete")
    check_eq(events.stops[-1]["pc"], trap, "stop at int3_fire")
    check_eq(read_u32(hits), 0, "guest's count before the int3")
    gdb_run("stepi")
    here = events.stops[-1]["pc"]
    # The pc of a vCPU with a software exception pending is the trap's own
    # where KVM adds the instruction length when it injects (a #BP exit on
    # VMX/SVM), the next instruction's where the stub had to move it (a
    # trap seen as an emulation failure, as here): either way the handler
    # has not run.
    check(here in (trap, trap + 1), "pc after stepping int3: %#x (handler %#x)" % (here, handler))
    check_eq(events.stops[-1]["breakpoints"], [], "breakpoints reported by the step")
    check_eq(read_u32(hits), 0, "guest's count after stepping the int3")
    gdb_run("stepi")
    here = events.stops[-1]["pc"]
    # KVM may run the handler's first instruction (incl int3_hits) within
    # the step that enters it.
    check(here in (handler, handler + 6), "pc after the step that delivers the #BP: %#x "
          "(handler %#x)" % (here, handler))
    check_eq(read_u32(hits), 0 if here == handler else 1, "guest's count at %#x" % here)
    rsp = int(gdb.parse_and_eval("$rsp")) & (2**64 - 1)
    check_eq(read_u64(rsp), trap + 1, "return address in the #BP frame")
    cont_to_exit(vm, ROUNDS)
    check_eq(vm.serial(), SERIAL, "serial output")


main()
