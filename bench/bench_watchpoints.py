# SPDX-License-Identifier: MIT
"""Watchpoint costs on the watch guest, kvmdbg next to QEMU, through gdb.

1. Round trip of a watchpoint hit: `watch watch_counter` (one change per
   round of the guest), median time of a `continue` from one hit to the
   next, with the stub's watchpoints and with gdb's software watchpoints
   (gdb steps every instruction and compares), on kvmdbg and on QEMU with
   KVM.
2. Slowdown of a loop (watch_bench_loop) that writes a page holding a
   watched word it never touches: page protection makes each of its
   accesses exit to the stub; gdb's software watchpoints step it.

Times are wall-clock and only printed.  QEMU's hardware watchpoints use the
debug registers; where the host does not report data breakpoints they never
fire, which is detected (the guest reaches a breakpoint after the loop) and
printed as n/a.
"""

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import Kvmdbg, NotAvailable, Qemu, fmt_time, pc, run, say, sym  # noqa: E402
from kvmdbg_e2e import TestFailure, gdb, gdb_run, resume  # noqa: E402

GUEST = os.path.join(os.environ.get("KVMDBG_GUESTS", ""), "watch.elf")

HITS = 20               # timed watchpoint hits per mechanism
LOOP_ITERS = 100000     # loop iterations where nothing steps
STEPPED_ITERS = 100     # loop iterations under gdb's software watchpoints
STOP_TIMEOUT = 60       # one continue


def timed_continue(timeout=STOP_TIMEOUT):
    """Seconds one continue took; NotAvailable when it did not stop."""
    t = time.monotonic()
    try:
        resume("continue", timeout)
    except TestFailure as e:
        raise NotAvailable(str(e))
    if not gdb.selected_inferior().pid:
        raise NotAvailable("the guest ended")
    return time.monotonic() - t


def to_function(target, name):
    gdb_run("hbreak " + name)
    timed_continue(target.boot_timeout)
    if pc() != sym(name):
        raise NotAvailable("stopped at %#x instead of %s" % (pc(), name))
    gdb_run("delete")


# ---- 1. hit round trip ------------------------------------------------------------

def hit_times(target):
    """{mechanism: seconds per hit or NotAvailable} from one boot: gdb's
    software watchpoint first, then the target's own, so that a hardware
    watchpoint that never fires only uses up the rounds left."""
    results = {}
    try:
        target.start()
        to_function(target, "kmain")
        gdb_run("set var watch_rounds = %d" % (2 * (HITS + 1) + 1))
        gdb_run("hbreak watch_finish")
        guard = sym("watch_finish")
        for mech, hw in (("gdb software watchpoint", 0), ("target watchpoint", 1)):
            gdb_run("set can-use-hw-watchpoints %d" % hw)
            gdb_run("watch watch_counter")
            try:
                times = []
                for _ in range(HITS + 1):
                    times.append(timed_continue())
                    if pc() == guard:
                        raise NotAvailable("the watchpoint did not fire: the guest ran past "
                                           "every write to watch_counter")
                # The first continue also carries the insertion and the
                # rest of a round already begun; the median keeps a busy
                # host's outliers out.
                results[mech] = statistics.median(times[1:])
            except NotAvailable as e:
                results[mech] = e
                break
            finally:
                gdb_run("delete %d" % gdb.breakpoints()[-1].number)
    finally:
        target.stop()
        gdb_run("set can-use-hw-watchpoints 1")
    return results


# ---- 2. loop slowdown --------------------------------------------------------------

def loop_time(target, iters, software, watch):
    """Seconds watch_bench_loop takes for iters iterations under the watch
    command (or none), from its first instruction to watch_bench_done."""
    try:
        target.start()
        to_function(target, "kmain")
        gdb_run("set var watch_bench_iters = %d" % iters)
        to_function(target, "watch_bench_loop")
        if watch:
            gdb_run("set can-use-hw-watchpoints %d" % (0 if software else 1))
            gdb_run(watch)
        gdb_run("hbreak watch_bench_done")
        seconds = timed_continue(STOP_TIMEOUT)
        if pc() != sym("watch_bench_done"):
            raise NotAvailable("stopped at %#x, not at the end of the loop" % pc())
        return seconds
    finally:
        target.stop()
        gdb_run("set can-use-hw-watchpoints 1")


UNTOUCHED = "-location watch_bench.untouched"
NO_WATCH = ("no watchpoint", LOOP_ITERS, False, None)
SOFTWARE = ("gdb software watchpoint", STEPPED_ITERS, True, "watch " + UNTOUCHED)
LOOP_CASES = {
    # label, iterations, gdb software watchpoint, command
    Kvmdbg: (NO_WATCH,
             ("watch, same page (read-only page)", LOOP_ITERS, False, "watch " + UNTOUCHED),
             ("awatch, same page (unmapped page)", LOOP_ITERS, False, "awatch " + UNTOUCHED),
             SOFTWARE),
    Qemu: (NO_WATCH, SOFTWARE),
}


# ---- output ---------------------------------------------------------------------------

def row(label, value, base):
    if isinstance(value, Exception):
        say("  %-64s n/a: %s" % (label, value))
    elif isinstance(base, Exception) or not base:
        say("  %-64s %10s" % (label, fmt_time(value)))
    else:
        say("  %-64s %10s   x%.1f" % (label, fmt_time(value), value / base))


def bench_hits(mechanism):
    say("Watchpoint hit round trip through gdb (watch watch_counter, %d hits;"
        " median time per hit, ratio to kvmdbg's own watchpoint)" % HITS)
    try:
        kvm = hit_times(Kvmdbg(GUEST, STOP_TIMEOUT))
    except NotAvailable as e:
        kvm = {"target watchpoint": e, "gdb software watchpoint": e}
    base = kvm.get("target watchpoint", NotAvailable("not measured"))
    row("kvmdbg, stub watchpoint (%s)" % mechanism, base, base)
    row("kvmdbg, gdb software watchpoint", kvm.get("gdb software watchpoint"), base)
    try:
        qemu = hit_times(Qemu(GUEST, STOP_TIMEOUT))
    except NotAvailable as e:
        qemu = {"target watchpoint": e, "gdb software watchpoint": e}
    row("QEMU, hardware watchpoint (debug registers)",
        qemu.get("target watchpoint", NotAvailable("not measured")), base)
    row("QEMU, gdb software watchpoint", qemu.get("gdb software watchpoint"), base)


def bench_loop():
    say("Loop writing a page that holds a watched word it never touches "
        "(watch_bench_loop; time per iteration, ratio to no watchpoint)")
    for kind, cases in LOOP_CASES.items():
        target = kind(GUEST, STOP_TIMEOUT)
        base = None
        for label, iters, software, command in cases:
            try:
                per = loop_time(target, iters, software, command) / iters
            except NotAvailable as e:
                per = e
            if command is None and not isinstance(per, Exception):
                base = per
            row("%s, %s (%d iterations)" % (target.name, label, iters), per, base)


def main():
    for setting in ("pagination off", "confirm off", "height 0", "width 0",
                    "tcp connect-timeout 10", "remotetimeout 10"):
        gdb_run("set " + setting)
    target = Kvmdbg(GUEST, STOP_TIMEOUT)
    try:
        target.start()
        caps = [l for l in gdb_run("monitor caps").splitlines()
                if l.startswith(("watchpoints:", "page-watch:"))]
    finally:
        target.stop()
    say("kvmdbg watchpoint benchmark; this host:")
    for line in caps:
        say("  " + line)
    say()
    registers = not any(l.startswith("watchpoints: page protection only") for l in caps)
    bench_hits("debug registers" if registers else "page protection")
    say()
    bench_loop()


# gdb prints every stop on its standard output: that goes to /dev/null, the
# tables to what standard output was.
run(main)
