# SPDX-License-Identifier: MIT
"""Two vCPUs, the second started by the guest with PSCI CPU_ON: breakpoints
and watchpoints set before it exists still apply to it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (bp_address, check, check_eq, cont, cont_to_exit, debug, gdb,  # noqa: E402
                       gdb_run, in_function, main, read_u64, test)

SMP_EXIT = 0x02
SERIAL = "smp: start\nsmp: counts 50 50\n"
STOPS_EACH = 3
MAX_STOPS = 30


def vcpu():
    """The vCPU gdb's selected thread stands for (stub thread ids count from 1)."""
    return gdb.selected_thread().ptid[1] - 1


def counts(vm):
    base = vm.elf.sym("smp_counts")
    return [read_u64(base), read_u64(base + 8)]


def check_stops_on_both(vm, site, number):
    """Continues until each vCPU has stopped in smp_work STOPS_EACH times;
    at every stop the argument names the stopped vCPU and every earlier call
    was reported."""
    seen = [0, 0]
    for n in range(MAX_STOPS):
        stop = cont()
        check_eq(stop["pc"], site, "stop %d pc" % n)
        check_eq(stop["breakpoints"], [number], "stop %d breakpoints" % n)
        cpu = vcpu()
        check(cpu in (0, 1), "stop %d in thread %r" % (n, gdb.selected_thread().ptid))
        check_eq(int(gdb.parse_and_eval("cpu")), cpu, "smp_work's argument on vCPU %d" % cpu)
        check_eq(counts(vm)[cpu], seen[cpu], "vCPU %d's count at its stop %d" % (cpu, seen[cpu]))
        seen[cpu] += 1
        if min(seen) >= STOPS_EACH:
            break
    check(min(seen) >= STOPS_EACH, "stops per vCPU after %d stops: %r" % (MAX_STOPS, seen))
    check_eq(len(gdb.selected_inferior().threads()), 2, "threads")
    gdb_run("delete")
    cont_to_exit(vm, SMP_EXIT)
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_watchpoint_on_second_vcpu():
    # Only vCPU 1 writes smp_counts[1]; the watchpoint predates it.
    vm = debug("smp.elf", ["-smp", "2"])
    gdb_run("watch smp_counts[1]")
    wp = gdb.breakpoints()[-1]
    for n in range(1, 4):
        stop = cont()
        check_eq(stop["breakpoints"], [wp.number], "watchpoint stop %d" % n)
        check(in_function(vm, "smp_work", stop["pc"]), "stop %d at %#x, outside smp_work"
              % (n, stop["pc"]))
        check_eq(vcpu(), 1, "vCPU of watchpoint stop %d" % n)
        check_eq(counts(vm)[1], n, "smp_counts[1] at stop %d" % n)
    gdb_run("delete")
    cont_to_exit(vm, SMP_EXIT)
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_sw_breakpoint_on_both_vcpus():
    vm = debug("smp.elf", ["-smp", "2"])
    bp = gdb.Breakpoint("smp_work")
    check_stops_on_both(vm, bp_address(bp), bp.number)


@test
def test_hw_breakpoint_on_both_vcpus():
    # Set while vCPU 1 is still powered off.
    vm = debug("smp.elf", ["-smp", "2"])
    gdb_run("hbreak smp_work")
    bp = gdb.breakpoints()[-1]
    check_stops_on_both(vm, bp_address(bp), bp.number)


main()
