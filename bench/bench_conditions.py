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
import shutil
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
from kvmdbg_e2e import TestFailure, Vm, connect, free_port, gdb, gdb_run, kill_session, resume  # noqa: E402

KVMDBG = os.environ.get("KVMDBG", "")
GUEST = os.path.join(os.environ.get("KVMDBG_GUESTS", ""), "cond.elf")
QEMU = "qemu-system-x86_64"

STUB_CALLS = 1000       # calls under a breakpoint the stub handles
GDB_CALLS = 100         # calls under one that stops gdb every time
ROUNDS = 3              # rounds with it, and as many without
STOP_TIMEOUT = 120      # one continue
QEMU_BOOT_TIMEOUT = 120
NEVER = "i == 0xffffffff"
DPRINTF = '"call %d val=%lu name=%s\\n", i, p->val, p->name'


class NotAvailable(Exception):
    pass


class Target:
    name = ""
    boot_timeout = STOP_TIMEOUT

    def __init__(self):
        self.vm = None
        self.serial = None

    def stop(self):
        kill_session()
        if self.vm:
            self.vm.kill()
            self.vm = None
        if self.serial and os.path.exists(self.serial):
            os.unlink(self.serial)


class Kvmdbg(Target):
    name = "kvmdbg"

    def start(self):
        self.vm = Vm([KVMDBG, "run", "--gdb", "tcp:127.0.0.1:0", "-S", GUEST])
        self.vm.wait_listening()
        gdb_run("file " + GUEST)
        connect(self.vm.port)


class Qemu(Target):
    name = "QEMU"
    boot_timeout = QEMU_BOOT_TIMEOUT

    def start(self):
        if not shutil.which(QEMU):
            raise NotAvailable("%s is not installed" % QEMU)
        port = free_port()
        self.serial = os.path.join(tempfile.gettempdir(),
                                   "kvmdbg-bench-qemu-%d.serial" % os.getpid())
        self.vm = Vm([QEMU, "-enable-kvm", "-kernel", GUEST, "-m", "64", "-S",
                      "-gdb", "tcp:127.0.0.1:%d" % port,
                      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                      "-display", "none", "-monitor", "none", "-no-reboot",
                      "-serial", "file:" + self.serial])
        gdb_run("file " + GUEST)
        try:
            connect(port)
        except gdb.error as e:
            raise NotAvailable("QEMU did not start: %s %s" % (e, self.vm.stderr().strip()))


def sym(name):
    return int(gdb.parse_and_eval("&%s" % name).cast(gdb.lookup_type("unsigned long")))


def pc():
    return int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff


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


def fmt_time(seconds):
    if seconds >= 1:
        return "%.2f s" % seconds
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    return "%.1f us" % (seconds * 1e6)


def say(text=""):
    REPORT.write(text + "\n")
    REPORT.flush()


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
    kvm, qemu = Kvmdbg(), Qemu()
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
gdb.flush()
REPORT = os.fdopen(os.dup(1), "w")
with open(os.devnull, "w") as _null:
    os.dup2(_null.fileno(), 1)
main()
