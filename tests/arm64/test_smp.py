# SPDX-License-Identifier: MIT
"""Two vCPUs, the second started by the guest with PSCI CPU_ON: breakpoints
and watchpoints set before it exists still apply to it, every hit of a
breakpoint both call is reported in the thread of the vCPU that hit it, and
scheduler locking holds the other vCPU while one steps."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (bp_address, check, check_eq, check_scheduler_locking, cont,  # noqa: E402
                       cont_to_exit, debug, gdb, gdb_run, in_function, interrupt_after, main,
                       pc, read_u64, reg, test)

SMP_EXIT = 0x02
SERIAL = "smp: start\nsmp: counts %d %d\n"
ROUNDS = 50
STOPS_EACH = 3
MAX_STOPS = 30
STACK_SIZE = 0x4000     # guest.ld: one stack per vCPU below __stackN_top
# Each of the 2 * HIT_ROUNDS calls of smp_work is reported: 45 to 60 s at
# the 16 to 23 stops/s of the nested machine.
HIT_ROUNDS = 500


def vcpu():
    """The vCPU gdb's selected thread stands for (stub thread ids count from 1)."""
    return gdb.selected_thread().ptid[1] - 1


def serial(rounds=ROUNDS):
    return SERIAL % (rounds, rounds)


def stack_owner(vm, sp):
    """The vCPU whose stack holds sp, or None."""
    for cpu in (0, 1):
        top = vm.elf.sym("__stack%d_top" % cpu)
        if top - STACK_SIZE <= sp < top:
            return cpu
    return None


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
    check_eq(vm.serial(), serial(), "serial output")


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
    check_eq(vm.serial(), serial(), "serial output")


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


@test
def test_every_hit_on_both_vcpus():
    # The breakpoint stays all along: each of the 2 * HIT_ROUNDS calls is
    # reported once, in the thread of the vCPU whose registers (argument,
    # stack) made it, and right after that vCPU's previous call.
    vm = debug("smp.elf", ["-smp", "2"])
    gdb_run("set var smp_rounds = %d" % HIT_ROUNDS)
    bp = gdb.Breakpoint("smp_work")
    site = bp_address(bp)
    hits = [0, 0]
    started = time.monotonic()
    # Thousands of stops need not each be printed.
    gdb_run("set suppress-cli-notifications on")
    try:
        for n in range(2 * HIT_ROUNDS):
            where = "hit %d" % n
            stop = cont()
            cpu = vcpu()
            check(cpu in (0, 1), "%s in thread %r" % (where, gdb.selected_thread().ptid))
            check_eq((stop["pc"], stop["breakpoints"]), (site, [bp.number]), where)
            check_eq(reg("x0") & 0xffffffff, cpu, "%s: smp_work's argument in thread %d"
                     % (where, cpu + 1))
            check_eq(stack_owner(vm, reg("sp")), cpu, "%s: owner of the stack sp=%#x in thread %d"
                     % (where, reg("sp"), cpu + 1))
            check_eq(counts(vm)[cpu], hits[cpu], "%s: vCPU %d's count" % (where, cpu))
            hits[cpu] += 1
    finally:
        gdb_run("set suppress-cli-notifications off")
    elapsed = time.monotonic() - started
    print("hits: %d in %.1fs, %.1f stops/s" % (sum(hits), elapsed, sum(hits) / elapsed))
    check_eq(hits, [HIT_ROUNDS, HIT_ROUNDS], "hits per vCPU")
    check_eq(bp.hit_count, 2 * HIT_ROUNDS, "gdb's hit count")
    # No call is left to hit the breakpoint: the next stop is vCPU 0's
    # at the end, with both vCPUs' rounds done.
    end = gdb.Breakpoint("guest_exit")
    stop = cont()
    check_eq((stop["breakpoints"], vcpu()), ([end.number], 0), "stop at guest_exit")
    check_eq(counts(vm), hits, "the guest's own counts")
    gdb_run("delete")
    cont_to_exit(vm, SMP_EXIT)
    check_eq(vm.serial(), serial(HIT_ROUNDS), "serial output")


@test
def test_scheduler_locking():
    vm = debug("smp.elf", ["-smp", "2"])
    spins = vm.elf.sym("smp_spin_count")
    gdb_run("set var smp_spin = 1")
    gdb.Breakpoint("smp_spin_wait")
    cont()
    check_eq(vcpu(), 1, "vCPU stopped in smp_spin_wait")
    gdb_run("delete")
    interrupt_after(1.0)
    check(read_u64(spins) > 0, "the spinner did not spin")
    gdb_run("thread 2")
    check(in_function(vm, "smp_spin_wait", pc()), "vCPU 1 stopped at %#x, outside "
          "smp_spin_wait" % pc())
    # vCPU 0 waits for vCPU 1 to start its rounds, in a loop of its own.
    gdb_run("thread 1")
    check(in_function(vm, "main", pc()), "vCPU 0 stopped at %#x, outside main" % pc())
    check_scheduler_locking(spins, settle=1.0)
    gdb_run("set var smp_spin_release = 1")
    cont_to_exit(vm, SMP_EXIT)
    check_eq(vm.serial(), serial(), "serial output")


main()
