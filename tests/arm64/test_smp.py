# SPDX-License-Identifier: MIT
"""Two vCPUs, the second started by the guest with PSCI CPU_ON: breakpoints
and watchpoints set before it exists still apply to it, every hit of a
breakpoint both call is reported in the thread of the vCPU that hit it,
scheduler locking holds the other vCPU while one steps, and the guest's own
brk on one vCPU goes to that vCPU's handler only."""

import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (Elf, bp_address, check, check_eq, check_scheduler_locking,  # noqa: E402
                       cont, cont_to_exit, debug, exit_status, gdb, gdb_run, guest_path,
                       in_function, interrupt_after, kvmdbg, main, pc, pc_of, read_u32, read_u64,
                       reg, rsp_client, test)

SMP_EXIT = 0x02
SERIAL = "smp: start\nsmp: counts %d %d\n"
ROUNDS = 50
STOPS_EACH = 3
MAX_STOPS = 30
STACK_SIZE = 0x4000     # guest.ld: one stack per vCPU below __stackN_top
# Each of the 2 * HIT_ROUNDS calls of smp_work is reported: 5 to 12 s at
# the 9 to 23 stops/s of the nested machine, idle or loaded.
HIT_ROUNDS = 50
# With smp_brk set, vCPU N runs the guest's own brk N + 1 times a call.
BRK_ROUNDS = 10
BRK_SERIAL = "smp: brk counts %d %d\n" % (BRK_ROUNDS, 2 * BRK_ROUNDS)


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


def brk_hits(vm):
    base = vm.elf.sym("brk_hits")
    return [read_u32(base), read_u32(base + 4)]


def debug_brk():
    vm = debug("smp.elf", ["-smp", "2"])
    gdb_run("set var smp_brk = 1")
    gdb_run("set var smp_rounds = %d" % BRK_ROUNDS)
    return vm


def check_brk_exit(vm):
    """The guest checks its own counts: a wrong one changes the exit status."""
    gdb_run("delete")
    cont_to_exit(vm, SMP_EXIT)
    check_eq(vm.serial(), serial(BRK_ROUNDS) + BRK_SERIAL, "serial output")


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


@test
def test_guest_brk_stays_on_its_vcpu():
    # Every call of smp_work is reported; between the stops each vCPU runs
    # its own traps, and each must reach that vCPU's handler: a trap given
    # to the other vCPU would show in the wrong slot or derail it.
    vm = debug_brk()
    bp = gdb.Breakpoint("smp_work")
    site = bp_address(bp)
    seen = [0, 0]
    for n in range(2 * BRK_ROUNDS):
        stop = cont()
        check_eq(stop["pc"], site, "stop %d pc" % n)
        cpu = vcpu()
        check_eq(int(gdb.parse_and_eval("cpu")), cpu, "smp_work's argument on vCPU %d" % cpu)
        check_eq(brk_hits(vm)[cpu], seen[cpu] * (cpu + 1),
                 "vCPU %d's own traps before its call %d" % (cpu, seen[cpu]))
        seen[cpu] += 1
    check_eq(seen, [BRK_ROUNDS, BRK_ROUNDS], "calls reported per vCPU")
    check_brk_exit(vm)


def reply_field(reply, key):
    m = re.search(r"(?:^T[0-9a-f]{2}|;)%s:([0-9a-f]+);" % key, reply)
    check(m is not None, "stop reply without %s: %r" % (key, reply))
    return m.group(1)


def vcpu0_pc(rsp):
    check_eq(rsp.request("Hg1"), "OK", "select vCPU 0")
    return struct.unpack("<Q", bytes.fromhex(rsp.request("p20")))[0]


@test
def test_step_guest_brk_on_one_vcpu():
    # Through the raw protocol: gdb itself would skip a brk of the program
    # by moving the pc.  A hardware breakpoint on the guest's brk stops
    # vCPU 1 there; stepping vCPU 1 alone runs its trap into its own
    # handler; vCPU 0 neither moves nor counts.
    elf = Elf(guest_path("smp.elf"))
    trap = elf.sym("brk_site")
    hits = elf.sym("brk_hits")
    vm = kvmdbg("run", "-smp", "2", "--gdb", "tcp:0.0.0.0:1234", "-S", "/guests/smp.elf")
    vm.wait_listening()
    rsp = rsp_client()
    rsp.request("qSupported:swbreak+;hwbreak+")
    for name, value in (("smp_brk", 1), ("smp_rounds", BRK_ROUNDS)):
        check_eq(rsp.request("M%x,4:%s" % (elf.sym(name), struct.pack("<I", value).hex())),
                 "OK", "setting %s" % name)
    check_eq(rsp.request("Z1,%x,4" % trap), "OK", "hbreak on the guest's brk")
    for _ in range(MAX_STOPS):
        reply = rsp.request("c")
        check(reply.startswith("T05"), "stop reply: %r" % reply)
        check_eq(pc_of(reply), trap, "pc of the stop")
        if int(reply_field(reply, "thread"), 16) == 2:
            break
    check_eq(int(reply_field(reply, "thread"), 16), 2, "thread stopped at its brk")
    check_eq(rsp.request("z1,%x,4" % trap), "OK", "hbreak removed")
    other_pc = vcpu0_pc(rsp)
    before = struct.unpack("<2I", rsp.read_memory(hits, 8))
    reply = rsp.request("vCont;s:2")
    check_eq(int(reply_field(reply, "thread"), 16), 2, "thread of the step's stop")
    here = pc_of(reply)
    after = struct.unpack("<2I", rsp.read_memory(hits, 8))
    check((here, after[1]) in ((elf.sym("brk_sync_el1h"), before[1]), (trap + 4, before[1] + 1)),
          "after stepping vCPU 1's brk: pc %#x, its count %d -> %d" % (here, before[1], after[1]))
    check_eq(after[0], before[0], "vCPU 0's count across vCPU 1's step")
    check_eq(vcpu0_pc(rsp), other_pc, "vCPU 0's pc across vCPU 1's step")
    check_eq(rsp.request("c"), "W%02x" % exit_status(SMP_EXIT), "exit reply")
    vm.expect_exit(exit_status(SMP_EXIT))
    check_eq(vm.serial(), serial(BRK_ROUNDS) + BRK_SERIAL, "serial output")

main()
