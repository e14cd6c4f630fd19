# SPDX-License-Identifier: MIT
"""Breakpoint conditions and dprintf, evaluated by the stub or by gdb, on the
cond guest (a loop of cond_hit calls), kvmdbg next to QEMU with KVM.

1. A false conditional breakpoint: the time a call to cond_hit costs under
   `break cond_hit if i == <never>`, minus its cost without it, per call.
   kvmdbg evaluates the condition in the stub (the default); with
   `set remote conditional-breakpoints-packet off` gdb does, stopping at
   every call.  Rounds of the loop alternate without and with the
   breakpoint in one boot; the fastest round of each kind counts.  Wall
   time, and the CPU time the machine's process and gdb spent (what a busy
   host cannot inflate as much), per call.  QEMU's stub does not evaluate conditions: gdb does.  QEMU
   gets a hardware breakpoint, as it cannot insert software ones on a host
   whose KVM emulates guest code; kvmdbg is measured with both.
2. dprintf at cond_hit: `set dprintf-style agent` (the stub prints, the
   guest never stops) against `set dprintf-style gdb` (gdb stops, prints,
   resumes), per call, the same way.

A hit the stub handles without gdb still costs two exits, the trap and
the step past it, each with its KVM_RUN, its register reads and one
KVM_SET_GUEST_DEBUG (the step on, then off): on a host where every vCPU
ioctl is expensive (nested, or emulating guest code) those bound it.

Times are only printed.
"""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Kvmdbg, NotAvailable, Qemu, fmt_time, pc, run, say, sym  # noqa: E402
from kvmdbg_e2e import TestFailure, gdb, gdb_run, resume  # noqa: E402

GUEST = os.path.join(os.environ.get("KVMDBG_GUESTS", ""), "cond.elf")

STUB_CALLS = 1000       # calls under a breakpoint the stub handles
GDB_CALLS = 100         # calls under one that stops gdb every time
ROUNDS = 3              # rounds with it, and as many without
STOP_TIMEOUT = 120      # one continue
NEVER = "i == 0xffffffff"
DPRINTF = '"call %d val=%lu name=%s\\n", i, p->val, p->name'


def timed_continue(timeout=STOP_TIMEOUT):
    t = time.monotonic()
    try:
        out = resume("continue", timeout)
    except TestFailure as e:
        raise NotAvailable(str(e))
    if not gdb.selected_inferior().pid:
        raise NotAvailable("the guest ended")
    return time.monotonic() - t, out


def cpu_seconds(target):
    """CPU time so far of the machine's process and of this gdb."""
    with open("/proc/%d/stat" % target.vm.proc.pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    me = os.times()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK") + me.user + me.system


def per_call(target, calls, setup, lines=None):
    """(wall, cpu) seconds a call costs under what setup() places, over the
    bare loop: ROUNDS rounds of calls calls in one boot, alternately bare
    and under it, the fastest of each kind (a busy host only adds time).
    cpu is what the machine's process and gdb spent."""
    bare, measured = [], []
    try:
        target.start()
        gdb_run("hbreak kmain")
        timed_continue(target.boot_timeout)
        if pc() != sym("kmain"):
            raise NotAvailable("stopped at %#x instead of kmain" % pc())
        gdb_run("delete")
        gdb_run("set var cond_iters = %d" % calls)
        gdb_run("set var cond_rounds = %d" % (2 * ROUNDS))
        gdb_run("hbreak cond_done")
        for r in range(2 * ROUNDS):
            if r % 2:
                setup()
            cpu = cpu_seconds(target)
            seconds, out = timed_continue()
            cpu = cpu_seconds(target) - cpu
            if not sym("cond_done") <= pc() < sym("cond_done") + 32:
                raise NotAvailable("stopped at %#x, not at cond_done" % pc())
            if r % 2:
                printed = sum(1 for l in out.splitlines() if l.startswith("call "))
                if lines is not None and printed != lines:
                    raise NotAvailable("%d dprintf lines printed, %d expected" % (printed, lines))
                # dprintf is not among gdb.breakpoints(): all go.
                gdb_run("delete")
                gdb_run("hbreak cond_done")
            (measured if r % 2 else bare).append((seconds, cpu))
    finally:
        target.stop()
        for setting in ("remote conditional-breakpoints-packet auto", "dprintf-style gdb"):
            gdb_run("set " + setting)
    return tuple(max(min(m[k] for m in measured) - min(b[k] for b in bare), 0.0) / calls
                 for k in (0, 1))


def cond(kind, gdb_side=False):
    def setup():
        if gdb_side:
            gdb_run("set remote conditional-breakpoints-packet off")
        gdb_run("%s cond_hit if %s" % (kind, NEVER))
    return setup


def dprintf(style):
    def setup():
        gdb_run("set dprintf-style " + style)
        gdb_run("dprintf cond_hit," + DPRINTF)
    return setup


def measure(label, fn):
    try:
        value = fn()
    except NotAvailable as e:
        value = e
    return label, value


def table(title, rows, base_label):
    """Rows of (label, (wall, cpu) or NotAvailable); the ratios are each
    row's times over the base row's: how many times slower than it."""
    say(title)
    say("  %-58s %10s %6s %10s %6s" % ("", "wall", "", "cpu", ""))
    base = dict(rows).get(base_label)
    for label, value in rows:
        if isinstance(value, Exception):
            say("  %-58s n/a: %s" % (label, value))
            continue
        cells = []
        for k in (0, 1):
            ratio = ""
            if not isinstance(base, Exception) and base[k] and label != base_label:
                ratio = "x%.0f" % (value[k] / base[k])
            cells += [fmt_time(value[k]), ratio]
        say("  %-58s %10s %6s %10s %6s" % (label, *cells))


def main():
    for setting in ("pagination off", "confirm off", "height 0", "width 0",
                    "tcp connect-timeout 10", "remotetimeout 10"):
        gdb_run("set " + setting)
    kvm, qemu = Kvmdbg(GUEST, STOP_TIMEOUT), Qemu(GUEST, STOP_TIMEOUT)
    stub = "kvmdbg, break, condition in the stub"
    rows = [
        measure(stub, lambda: per_call(kvm, STUB_CALLS, cond("break"))),
        measure("kvmdbg, hbreak, condition in the stub",
                lambda: per_call(kvm, STUB_CALLS, cond("hbreak"))),
        measure("kvmdbg, break, condition in gdb",
                lambda: per_call(kvm, GDB_CALLS, cond("break", True))),
        measure("QEMU, hbreak, condition in gdb (QEMU's stub has none)",
                lambda: per_call(qemu, GDB_CALLS, cond("hbreak"))),
    ]
    table("False conditional breakpoint, time per hit (ratio: times slower than the stub's)",
          rows, stub)
    say()
    agent = "kvmdbg, dprintf-style agent (printed by the stub)"
    rows = [
        measure(agent, lambda: per_call(kvm, STUB_CALLS, dprintf("agent"), STUB_CALLS)),
        measure("kvmdbg, dprintf-style gdb",
                lambda: per_call(kvm, GDB_CALLS, dprintf("gdb"), GDB_CALLS)),
    ]
    table("dprintf, time per hit (ratio: times slower than the agent's)", rows, agent)


# gdb prints every stop on its standard output: that goes to /dev/null, the
# tables to what standard output was.
run(main)
