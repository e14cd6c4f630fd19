# SPDX-License-Identifier: MIT
"""Non-stop mode spoken over a socket: vCPUs stopped one at a time while the
others run, stops sent as %Stop notifications and drained with vStopped.

The smp.elf guest runs smp_work() -> smp_mix() -> smp_fold() in a loop on
every vCPU and counts each call in that vCPU's slot of smp_counts, so every
reported breakpoint hit is checked against the guest's own count: at a
vCPU's n-th reported hit of smp_fold its fold count must be n - 1, and at
the guest's end it must equal the number of hits reported.  Thread N is
vCPU N - 1.
"""

import collections
import os
import random
import re
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (Elf, RUN_TIMEOUT, Rsp, TestFailure, check, check_eq, exit_status,
                        guest_path, kvmdbg, main, run, test, wait_until)
from smp_guest import SMP_EXIT, expected_serial, guest_args

# The exit as all-stop reports it: kvmdbg's own exit status, low byte.
EXIT_STOP = "W%02x" % (exit_status(SMP_EXIT) & 0xff)
RIP = 0x10              # register number of rip in the amd64 register set
RAX = 0
FOREVER = 100000000     # iterations no test waits for
STOP_TIMEOUT = 60       # hang guard for one awaited stop on a loaded machine
COUNT_FIELDS = ("work", "mix", "fold")      # struct smp_counts, in order
STOP_RE = re.compile(r"T([0-9a-f]{2})(.*)")
THREAD_RE = re.compile(r"(?:p[0-9a-f]+\.)?([0-9a-f]+)")
ERROR_RE = re.compile(r"E[0-9a-fA-F]{2}")


# ---- the guest --------------------------------------------------------------

def launch(ncpus, iterations, spin=False, int3=False):
    """kvmdbg with ncpus vCPUs held before their first instruction."""
    path = guest_path("smp.elf")
    vm = kvmdbg("run", "-smp", str(ncpus), "--gdb", "tcp:127.0.0.1:0", "-S", path, "--",
                *guest_args(ncpus, iterations, spin, int3))
    vm.wait_listening()
    vm.elf = Elf(path)
    return vm


# ---- stop replies -----------------------------------------------------------

class Stop:
    """One stop reply: signal, thread, why (swbreak, hwbreak, watch...) and
    the registers it carries; or an exit (exited set, the reply kept)."""

    def __init__(self, reply, what):
        self.reply = reply
        self.exited = reply.startswith("W")
        if self.exited:
            return
        m = STOP_RE.fullmatch(reply)
        check(m is not None, "%s: not a stop reply: %r" % (what, reply[:80]))
        self.signal = int(m.group(1), 16)
        self.thread = None
        self.why = None
        self.addr = None        # of a watchpoint's stop
        self.regs = {}
        for field in m.group(2).split(";"):
            if not field:
                continue
            key, _, value = field.partition(":")
            if key == "thread":
                t = THREAD_RE.fullmatch(value)
                check(t is not None, "%s: thread field in %r" % (what, reply[:80]))
                self.thread = int(t.group(1), 16)
            elif key in ("swbreak", "hwbreak", "watch", "rwatch", "awatch"):
                self.why = key
                if value:
                    self.addr = int(value, 16)
            elif re.fullmatch(r"[0-9a-f]+", key) and re.fullmatch(r"([0-9a-f]{2})+", value):
                self.regs[int(key, 16)] = int.from_bytes(bytes.fromhex(value), "little")
        check(self.thread is not None, "%s: stop reply without a thread: %r" % (what, reply[:80]))

    def pc(self):
        return self.regs.get(RIP)

    def __repr__(self):
        return repr(self.reply[:60])


# ---- a non-stop session -----------------------------------------------------

class NonStop:
    """A socket speaking to the stub as gdb does in non-stop mode."""

    def __init__(self, vm):
        self.vm = vm
        self.rsp = Rsp(vm.port, timeout=RUN_TIMEOUT)
        features = self.ask("qSupported:multiprocess+;swbreak+;hwbreak+;vContSupported+"
                            ";no-resumed+").split(";")
        check("QNonStop+" in features, "qSupported reply %r lacks QNonStop+" % features)
        check_eq(self.ask("QNonStop:1"), "OK", "reply to QNonStop:1")

    def ask(self, payload):
        """The reply to payload; a test failure (not a hang) when none comes."""
        try:
            return self.rsp.request(payload)
        except socket.timeout:
            raise TestFailure("no reply to %r within %ds" % (payload[:40], RUN_TIMEOUT))

    def ok(self, payload, what=None):
        check_eq(self.ask(payload), "OK", "reply to %r%s" % (payload, " (%s)" % what if what else ""))

    def refused(self, payload, what):
        reply = self.ask(payload)
        check(ERROR_RE.fullmatch(reply) is not None,
              "%s: %r answered %r, expected an E reply" % (what, payload, reply[:60]))

    def drain(self, what):
        """The stops that vStopped hands out, up to its OK.  No notification
        may come before that OK."""
        stops = []
        while True:
            reply = self.ask("vStopped")
            check(not self.rsp.notes, "%s: notification %r inside a vStopped sequence"
                  % (what, self.rsp.notes[:1]))
            if reply == "OK":
                return stops
            stops.append(Stop(reply, "%s: reply to vStopped" % what))
            check(len(stops) <= 64, "%s: vStopped never answers OK" % what)

    def stops(self, what, timeout=STOP_TIMEOUT):
        """The next notification's stop and those vStopped hands out after it."""
        note = self.rsp.notification(timeout)
        check(note.startswith("Stop:"), "%s: notification %r is not a Stop" % (what, note[:60]))
        first = Stop(note[5:], "%s: notification" % what)
        if first.exited:
            return [first]
        return [first] + self.drain(what)

    def question(self, what):
        """Every stop '?' and the vStopped after it report, by thread.  A
        notification that came before the reply is of a sequence '?'
        abandons: its thread must be among those '?' reports."""
        reply = self.ask("?")
        abandoned = [Stop(n[5:], "%s: notification before the reply to ?" % what)
                     for n in self.rsp.notes if n.startswith("Stop:T")]
        self.rsp.notes.clear()
        if reply == "OK":
            stops = []
        else:
            stops = [Stop(reply, "%s: reply to ?" % what)] + self.drain(what)
        by_thread = {}
        for s in stops:
            check(s.thread not in by_thread, "%s: thread %d reported twice: %r"
                  % (what, s.thread, stops))
            by_thread[s.thread] = s
        for s in abandoned:
            check(s.thread in by_thread, "%s: '?' left out thread %d, stopped by %r"
                  % (what, s.thread, s))
        return by_thread

    def poll(self, what):
        """The stops of a notification already come or coming at once;
        [] when none is there."""
        if not self.rsp.notes:
            self.rsp.sock.settimeout(0.02)
            try:
                b = self.rsp._byte()
            except socket.timeout:
                return []
            finally:
                self.rsp.sock.settimeout(self.rsp.timeout)
            check(b == b"%", "%s: %r while no reply was due" % (what, b))
            self.rsp._read_note()
        return self.stops(what)

    def select(self, thread):
        self.ok("Hg%x" % thread, "select thread %d" % thread)

    def read(self, thread, addr, n):
        """n bytes at addr, read through a stopped thread."""
        self.select(thread)
        reply = self.ask("m%x,%x" % (addr, n))
        check(re.fullmatch(r"([0-9a-f]{2})+", reply) is not None and len(reply) == 2 * n,
              "m%x,%x through thread %d answered %r" % (addr, n, thread, reply[:40]))
        return bytes.fromhex(reply)

    def reg(self, thread, num):
        self.select(thread)
        reply = self.ask("p%x" % num)
        check(re.fullmatch(r"[0-9a-f]{16}", reply) is not None,
              "p%x of thread %d answered %r" % (num, thread, reply))
        return struct.unpack("<Q", bytes.fromhex(reply))[0]

    def counts(self, thread, ncpus):
        """smp_counts as {field: [count per vCPU]}, read through thread."""
        elf = self.vm.elf
        raw = self.read(thread, elf.sym("smp_counts"), elf.sym_size("smp_counts"))
        per = elf.sym_size("smp_counts") // 8 // len(COUNT_FIELDS)
        values = struct.unpack("<%dQ" % (per * len(COUNT_FIELDS)), raw)
        return {f: list(values[i * per:i * per + ncpus]) for i, f in enumerate(COUNT_FIELDS)}

    def u64(self, thread, addr):
        return struct.unpack("<Q", self.read(thread, addr, 8))[0]

    def start(self, ncpus):
        """Right after connecting every vCPU is held.  gdb 13 fails an
        internal check when it connects to more than one stopped thread, so
        '?' may report fewer: those it leaves out are stopped with vCont;t
        (nothing for a thread already stopped) and each must be reported
        once, in a notification.  Returns the stops by thread."""
        held = self.question("after connecting")
        check(held, "'?' reported no stopped thread right after connecting")
        missing = [t for t in range(1, ncpus + 1) if t not in held]
        if missing:
            self.ok("vCont" + "".join(";t:%x" % t for t in missing), "stop the threads '?' left out")
        while len(held) < ncpus:
            for s in self.stops("held threads after '?'"):
                check(s.thread in missing and s.thread not in held,
                      "thread %d reported twice after connecting: %r" % (s.thread, s))
                held[s.thread] = s
        check_eq(sorted(held), list(range(1, ncpus + 1)), "threads reported after connecting")
        return held

    def until_exit(self):
        """(what, stops) for each batch of stops up to the guest's exit,
        which is taken."""
        n = 0
        while True:
            n += 1
            what = "batch %d" % n
            stops = self.stops(what)
            if stops[0].exited:
                self.take_exit(stops[0], what)
                return
            yield what, stops

    def take_exit(self, stop, what):
        """The exit notification, taken with vStopped as gdb does; then
        kvmdbg's exit status."""
        check_eq(stop.reply, EXIT_STOP, "%s: exit notification" % what)
        check_eq(self.ask("vStopped"), "OK", "%s: vStopped after the exit notification" % what)
        self.vm.expect_exit(exit_status(SMP_EXIT))


def rest_of_connection(rsp, timeout=RUN_TIMEOUT):
    """Every byte the stub sends before it closes the connection, acks
    left out."""
    rsp.sock.settimeout(timeout)
    data = rsp.buf
    rsp.buf = b""
    try:
        while True:
            chunk = rsp.sock.recv(65536)
            if not chunk:
                return data.replace(b"+", b"")
            data += chunk
    except socket.timeout:
        raise TestFailure("the stub kept the connection open %ds after D" % timeout)
    finally:
        rsp.sock.settimeout(rsp.timeout)


# ---- tests ------------------------------------------------------------------

@test
def test_stopped_vcpu_while_others_run():
    """One vCPU held at a breakpoint while the others run: their counters
    advance, their pcs change, the held one's do not; registers and memory
    are read and written through the held vCPU meanwhile."""
    ncpus = 3
    vm = launch(ncpus, FOREVER, spin=True)
    ns = NonStop(vm)
    ns.start(ncpus)
    elf = vm.elf
    spin, release = elf.sym("smp_spin"), elf.sym("smp_spin_release")
    # Only vCPU 1 (thread 2) ever calls smp_spin, once.
    ns.ok("Z0,%x,1" % spin)
    ns.ok("vCont;c")
    stops = ns.stops("hit of smp_spin")
    check(len(stops) == 1 and stops[0].thread == 2 and stops[0].signal == 5 and
          stops[0].why == "swbreak" and stops[0].pc() == spin,
          "stops %r are not thread 2's hit of smp_spin" % stops)
    held = 2
    check_eq(ns.question("with thread 2 held").keys(), {held}, "threads '?' reports")
    ns.ok("z0,%x,1" % spin)
    first = ns.counts(held, ncpus)
    wait_until(lambda: all(ns.counts(held, ncpus)["fold"][t - 1] > first["fold"][t - 1]
                           for t in (1, 3)), "the running vCPUs' counts did not advance")
    check_eq(ns.counts(held, ncpus)["work"][held - 1], 0, "held vCPU's work count")
    check_eq(ns.reg(held, RIP), spin, "held vCPU's pc")
    # Registers and memory written through the held vCPU while the others run.
    ns.select(held)
    ns.ok("P%x=%s" % (RAX, struct.pack("<Q", 0x1122334455667788).hex()), "P rax")
    check_eq(ns.reg(held, RAX), 0x1122334455667788, "rax read back")
    ns.select(held)
    ns.ok("M%x,4:01000000" % release, "release the spinner")
    check_eq(ns.read(held, release, 4), b"\x01\0\0\0", "smp_spin_release read back")
    # Each running vCPU stopped alone, its pc read and resumed: its pc moves.
    for t in (1, 3):
        pcs = []
        for n in range(20):
            ns.ok("vCont;t:%x" % t, "stop thread %d" % t)
            stops = ns.stops("stop of thread %d, round %d" % (t, n))
            check(len(stops) == 1 and stops[0].thread == t and stops[0].signal == 0,
                  "vCont;t:%x brought %r" % (t, stops))
            pcs.append(ns.reg(t, RIP))
            check_eq(ns.reg(held, RIP), spin, "held vCPU's pc while thread %d is stopped" % t)
            before = ns.counts(t, ncpus)["fold"][t - 1]
            ns.ok("vCont;c:%x" % t, "resume thread %d" % t)
            if len(set(pcs)) > 1:
                break
            wait_until(lambda: ns.counts(held, ncpus)["fold"][t - 1] > before,
                       "thread %d made no progress after vCont;c:%x" % (t, t))
        check(len(set(pcs)) > 1, "thread %d stopped 20 times, always at %#x" % (t, pcs[0]))
    check_eq(ns.counts(held, ncpus)["work"][held - 1], 0, "held vCPU's work count at the end")
    # Resumed, the held vCPU sees the release written while it was held.
    ns.ok("vCont;c:%x" % held, "resume thread %d" % held)
    ns.ok("vCont;t:1", "stop thread 1")
    stops = ns.stops("stop of thread 1")
    check(len(stops) == 1 and stops[0].thread == 1, "vCont;t:1 brought %r" % stops)
    wait_until(lambda: ns.counts(1, ncpus)["work"][held - 1] > 0,
               "thread 2 never left smp_spin after the release")
    check(vm.poll() is None, "kvmdbg exited: %r" % vm.stderr())


def run_hits(ns, ncpus, stepper_rounds=0, cond=""):
    """Runs the guest to its end through a breakpoint on smp_fold, resuming
    each stopped thread alone; with stepper_rounds, the first thread to hit
    is stepped off the breakpoint (vCont;s) that many times first; cond:
    the breakpoint's condition, as the Z0 packet carries it.  Every
    hit is checked against the guest's count; returns the hits per thread
    and the steps done."""
    fold = ns.vm.elf.sym("smp_fold")
    slots = ns.vm.elf.sym("smp_counts") + 8 * 2 * (ns.vm.elf.sym_size("smp_counts") // 8 // 3)
    hits = collections.Counter()
    stepper, stepping, steps = None, False, 0
    ns.ok("Z0,%x,1%s" % (fold, cond))
    ns.ok("vCont;c")
    for what, stops in ns.until_exit():
        seen = set()
        for s in stops:
            t = s.thread
            check(1 <= t <= ncpus and t not in seen, "%s: stop %r (batch %r)" % (what, s, stops))
            seen.add(t)
            if stepping and t == stepper:
                check(s.signal == 5 and s.why is None and 0 < s.pc() - fold <= 15,
                      "%s: step of thread %d off smp_fold ended as %r" % (what, t, s))
                stepping = False
                steps += 1
                ns.ok("vCont;c:%x" % t, "resume thread %d after its step" % t)
                continue
            check(s.signal == 5 and s.why == "swbreak" and s.pc() == fold,
                  "%s: thread %d stop %r is not a hit of smp_fold" % (what, t, s))
            count = ns.u64(t, slots + 8 * (t - 1))
            check_eq(count, hits[t], "%s: thread %d's fold count at its hit %d (%s)"
                     % (what, t, hits[t] + 1, "a hit was lost" if count > hits[t]
                        else "a hit was reported twice"))
            hits[t] += 1
            if stepper is None and stepper_rounds:
                stepper = t
            if t == stepper and steps < stepper_rounds:
                stepping = True
                ns.ok("vCont;s:%x" % t, "step thread %d" % t)
            else:
                ns.ok("vCont;c:%x" % t, "resume thread %d" % t)
    return hits, steps, stepper


@test
def test_thousand_hits_four_vcpus():
    ncpus, iterations = 4, 250
    vm = launch(ncpus, iterations)
    ns = NonStop(vm)
    ns.start(ncpus)
    hits, _, _ = run_hits(ns, ncpus)
    check_eq(sorted(hits.items()), [(t, iterations) for t in range(1, ncpus + 1)],
             "hits reported per thread")
    check_eq(vm.serial(), expected_serial(ncpus, iterations), "serial output")


@test
def test_step_over_breakpoint_while_others_run():
    ncpus, iterations, rounds = 4, 150, 100
    vm = launch(ncpus, iterations)
    ns = NonStop(vm)
    ns.start(ncpus)
    hits, steps, stepper = run_hits(ns, ncpus, rounds)
    check_eq(steps, rounds, "steps of thread %s off the breakpoint" % stepper)
    check_eq(sorted(hits.items()), [(t, iterations) for t in range(1, ncpus + 1)],
             "hits reported per thread")
    check_eq(vm.serial(), expected_serial(ncpus, iterations), "serial output")


def all_running(ncpus):
    """kvmdbg with ncpus vCPUs in a non-stop session, every one resumed and
    '?' reporting none stopped."""
    vm = launch(ncpus, FOREVER)
    ns = NonStop(vm)
    ns.start(ncpus)
    ns.ok("vCont;c")
    check_eq(ns.question("all running"), {}, "stops '?' reports with every vCPU running")
    return vm, ns


@test
def test_vcont_t_and_vctrlc():
    ncpus = 2
    vm, ns = all_running(ncpus)
    ns.ok("vCont;t:2", "stop thread 2")
    stops = ns.stops("vCont;t:2")
    check(len(stops) == 1 and stops[0].thread == 2 and stops[0].signal == 0,
          "vCont;t:2 brought %r" % stops)
    pc2 = stops[0].pc() if stops[0].pc() is not None else ns.reg(2, RIP)
    # Stopping a stopped thread does nothing: the next stop is the
    # interrupt's, of thread 1, the only one running.
    ns.ok("vCont;t:p1.2", "stop thread 2 again")
    ns.ok("vCtrlC")
    stops = ns.stops("vCtrlC")
    check(len(stops) == 1 and stops[0].thread == 1 and stops[0].signal == 2,
          "vCtrlC brought %r" % stops)
    ns.ok("vCtrlC", "with every vCPU stopped")
    held = ns.question("both stopped")
    check_eq(sorted((t, s.signal) for t, s in held.items()), [(1, 2), (2, 0)],
             "threads and signals '?' reports")
    check(not ns.rsp.notes, "notification %r with nothing running" % ns.rsp.notes[:1])
    check_eq(ns.reg(2, RIP), pc2, "pc of thread 2, stopped all along")
    # Thread 1 alone resumed; thread 2 stays where it was.
    ns.ok("vCont;c:1")
    held = ns.question("thread 1 resumed")
    check_eq(sorted(held), [2], "threads '?' reports with thread 1 resumed")
    check_eq(held[2].signal, 0, "signal of thread 2")
    ns.ok("vCtrlC")
    stops = ns.stops("second vCtrlC")
    check(len(stops) == 1 and stops[0].thread == 1 and stops[0].signal == 2,
          "second vCtrlC brought %r" % stops)
    check_eq(ns.reg(2, RIP), pc2, "pc of thread 2 after thread 1 ran")
    # Both resumed, then both stopped in one vCont.
    ns.ok("vCont;c")
    check_eq(ns.question("both running again"), {}, "stops '?' reports")
    ns.ok("vCont;t:1;t:2")
    got = collections.Counter()
    while sum(got.values()) < 2:
        for s in ns.stops("vCont;t:1;t:2"):
            check_eq(s.signal, 0, "signal of %r" % s)
            got[s.thread] += 1
    check_eq(sorted(got.items()), [(1, 1), (2, 1)], "stops per thread after vCont;t:1;t:2")
    check(vm.poll() is None, "kvmdbg exited: %r" % vm.stderr())


@test
def test_stop_asked_while_a_withdrawn_hit_waits():
    """gdb asks threads to stop (vCont;t) whose breakpoint hits still wait
    to be reported, then removes the breakpoint, which withdraws those
    hits: each thread still reports the stop gdb asked for.  Without it
    gdb waits for them for ever; seen as a next in non-stop mode that never
    ended (gdb stops every thread to step one over a breakpoint)."""
    ncpus = 4
    vm = launch(ncpus, FOREVER)
    ns = NonStop(vm)
    ns.start(ncpus)
    fold = vm.elf.sym("smp_fold")
    ns.ok("Z0,%x,1" % fold)
    ns.ok("vCont;c")
    # The first hit's notification; the others' hits wait for its vStopped.
    note = ns.rsp.notification(STOP_TIMEOUT)
    check(note.startswith("Stop:T"), "first notification %r" % note[:60])
    first = Stop(note[5:], "first hit")
    check(first.why == "swbreak" and first.pc() == fold, "first stop %r" % first)
    others = [t for t in range(1, ncpus + 1) if t != first.thread]

    # A thread waiting at the breakpoint counts no more smp_fold calls.
    def parked():
        before = ns.counts(first.thread, ncpus)["fold"]
        time.sleep(0.5)
        return ns.counts(first.thread, ncpus)["fold"] == before
    wait_until(parked, "the other vCPUs did not all reach smp_fold", STOP_TIMEOUT)

    ns.ok("vCont" + "".join(";t:%x" % t for t in others), "stop the others")
    ns.ok("z0,%x,1" % fold, "remove the breakpoint")
    stops = {first.thread: first}
    batch = ns.drain("after the removal")
    while True:
        for s in batch:
            check(s.thread not in stops, "thread %d reported twice: %r" % (s.thread, s))
            stops[s.thread] = s
        if len(stops) == ncpus:
            break
        batch = ns.stops("threads asked to stop, %r reported" % sorted(stops))
    check_eq(sorted((t, stops[t].signal) for t in others), [(t, 0) for t in others],
             "threads and signals of the stops vCont;t asked for")
    withdrawn = [t for t in others
                 if (stops[t].pc() if stops[t].pc() is not None else ns.reg(t, RIP)) == fold]
    check(withdrawn, "no thread stopped at smp_fold with its hit withdrawn: %r" % stops)
    check_eq(sorted(ns.question("every thread stopped")), list(range(1, ncpus + 1)),
             "threads '?' reports stopped")


@test
def test_question_and_vstopped():
    ncpus = 4
    vm = launch(ncpus, FOREVER)
    ns = NonStop(vm)
    held = ns.start(ncpus)
    # Held before the first instruction, not stopped by an event (thread 1
    # may come as all-stop reports it, with SIGTRAP: gdb takes that as 0).
    check_eq(sorted((t, 0 if (t, s.signal) == (1, 5) else s.signal, s.pc())
                    for t, s in held.items()),
             [(t, 0, vm.elf.entry) for t in range(1, ncpus + 1)],
             "threads, signals and pcs reported right after connecting")
    # Now '?' reports every one of them.
    held = ns.question("every thread held")
    check_eq(sorted(held), list(range(1, ncpus + 1)), "threads '?' reports once all are held")
    check_eq(ns.ask("vStopped"), "OK", "vStopped with nothing pending")
    fold = vm.elf.sym("smp_fold")
    ns.ok("Z0,%x,1" % fold)
    ns.ok("vCont;c")
    # No thread is resumed: each reports one hit, then all are held.
    got = collections.Counter()
    while len(got) < ncpus:
        for s in ns.stops("hits"):
            check(s.signal == 5 and s.why == "swbreak" and s.pc() == fold,
                  "stop %r is not a hit of smp_fold" % s)
            got[s.thread] += 1
    check_eq(sorted(got.items()), [(t, 1) for t in range(1, ncpus + 1)], "hits per thread")
    ns.ok("z0,%x,1" % fold)
    for n in range(2):
        held = ns.question("all held, round %d" % n)
        check_eq(sorted(held), list(range(1, ncpus + 1)), "threads '?' reports, round %d" % n)
        for t, s in held.items():
            check(s.signal == 5 and s.why == "swbreak" and s.pc() == fold,
                  "'?' reports thread %d as %r" % (t, s))
    check_eq(ns.ask("vStopped"), "OK", "vStopped after the sequence")
    ns.ok("vCont;c:2;c:p1.3")
    held = ns.question("threads 2 and 3 resumed")
    check_eq(sorted(held), [1, 4], "threads '?' reports with 2 and 3 resumed")
    ns.ok("vCont;c")
    check_eq(ns.question("all running"), {}, "stops '?' reports with every vCPU running")
    check_eq(ns.ask("vStopped"), "OK", "vStopped with every vCPU running")
    check(not ns.rsp.notes, "notification %r with nothing stopped" % ns.rsp.notes[:1])
    check(vm.poll() is None, "kvmdbg exited: %r" % vm.stderr())


@test
def test_vstopped_ahead_of_the_notification():
    """A vStopped that arrives before the notification it would answer
    (gdb's request crossed the stub's news) takes the first stop as its
    reply, and so opens the sequence: the next stop must come as the reply
    to the next vStopped, never as a notification before the OK, which
    gdb ignores there, losing that thread's stop."""
    ncpus = 4
    vm, ns = all_running(ncpus)
    # One write: the stub reads both packets at once, so it answers the
    # vStopped with both stops already queued and none notified yet.
    ns.rsp.send_raw(Rsp.frame("vCont;t:1;t:2") + Rsp.frame("vStopped"))
    check_eq(ns.rsp.read_ack(), b"+", "ack for vCont;t:1;t:2")
    check_eq(ns.rsp.read_packet(), "OK", "reply to vCont;t:1;t:2")
    check_eq(ns.rsp.read_ack(), b"+", "ack for vStopped")
    first = Stop(ns.rsp.read_packet(), "reply to the early vStopped")
    stops = [first] + ns.drain("after the early vStopped")
    check_eq(sorted((s.thread, s.signal) for s in stops), [(1, 0), (2, 0)],
             "threads and signals of the stops handed out")
    check(not ns.rsp.notes, "notification %r for a stop already handed out" % ns.rsp.notes[:1])
    check_eq(sorted(ns.question("threads 1 and 2 stopped")), [1, 2], "threads '?' reports")
    check(vm.poll() is None, "kvmdbg exited: %r" % vm.stderr())


def disconnect_with_breakpoints(how):
    """Breakpoints of every kind inserted, some vCPUs stopped, a stop
    pending, others running: the session ends (how) and the guest must end
    exactly as undebugged."""
    ncpus, iterations = 4, 300
    plain = run(guest_path("smp.elf"), ["-smp", str(ncpus)], guest_args(ncpus, iterations),
                timeout=120)
    check_eq(plain.status, exit_status(SMP_EXIT), "status of the undebugged run")
    check_eq(plain.serial(), expected_serial(ncpus, iterations), "undebugged serial output")
    vm = launch(ncpus, iterations)
    ns = NonStop(vm)
    ns.start(ncpus)
    elf = vm.elf
    counts = elf.sym("smp_counts")
    ns.ok("Z0,%x,1" % elf.sym("smp_fold"))
    ns.ok("Z1,%x,1" % elf.sym("smp_mix"))
    ns.ok("Z2,%x,8" % (counts + 8), "write watch on vCPU 1's work count")
    ns.ok("Z4,%x,8" % elf.sym("smp_acc"), "access watch on vCPU 0's accumulator")
    ns.ok("vCont;c")
    stops = ns.stops("first stops")
    check(all(s.signal == 5 for s in stops), "first stops %r" % stops)
    if how != "close":
        # The stopped threads stay stopped; one more stop is awaited and
        # left pending, undrained.
        ns.ok("vCont;c:%x" % stops[0].thread)
        ns.rsp.notification(STOP_TIMEOUT)
        ns.ok("D")
    if how == "D":
        # gdb takes that notification with vStopped after D's OK.
        ns.ok("vStopped", "the vStopped gdb owes after D")
        check_eq(rest_of_connection(ns.rsp), b"", "sent after D's last OK")
    if how == "D, exit":
        # The guest ends while gdb still owes it: no exit report.
        check_eq(rest_of_connection(ns.rsp, timeout=120), b"", "sent to a detached gdb")
    ns.rsp.kill()
    vm.expect_exit(plain.status, timeout=120)
    check_eq(vm.serial(), plain.serial(), "serial output after the session ended")


@test
def test_disconnect_with_breakpoints():
    disconnect_with_breakpoints("close")


@test
def test_detach_with_breakpoints():
    disconnect_with_breakpoints("D")


@test
def test_guest_ends_after_detach():
    disconnect_with_breakpoints("D, exit")


@test
def test_hostile_packets():
    ncpus = 4
    vm = launch(ncpus, FOREVER)
    ns = NonStop(vm)
    ns.refused("QNonStop:2", "non-stop mode 2")
    ns.refused("QNonStop:", "no mode")
    ns.refused("QNonStop:1x", "trailing garbage")
    ns.start(ncpus)
    check_eq(ns.ask("vStopped"), "OK", "vStopped with nothing pending")
    check_eq(ns.ask("vStopped"), "OK", "vStopped twice with nothing pending")
    spare = vm.elf.sym("smp_int3_hits") + 8 * 63      # a slot no vCPU uses
    before = ns.read(1, spare, 8)
    ns.select(1)
    regs1 = ns.ask("g")
    for payload in ("vCont;c:5", "vCont;s:5", "vCont;t:9", "vCont;c:p99.1", "vCont;t:p2.1",
                    "vCont;c:1;c:5", "vCont;s:ffffffff"):
        ns.refused(payload, "a thread that does not exist")
    check_eq(sorted(ns.question("after the refused vCont")), list(range(1, ncpus + 1)),
             "threads still stopped after the refused vCont packets")
    ns.ok("vCont;c")
    check_eq(ns.ask("vStopped"), "OK", "vStopped with every vCPU running")
    for t in (1, 4):
        ns.select(t)
        for payload in ("g", "p%x" % RIP, "G" + regs1, "P%x=%s" % (RAX, "00" * 8)):
            ns.refused(payload, "thread %d running" % t)
    # Memory is the VM's, not a thread's: gdb reads and writes it through
    # whichever thread it selected last, running or not.
    ns.select(4)
    ns.ok("M%x,8:%s" % (spare, "a5" * 8), "M with thread 4 running")
    ns.ok("X%x,1:Z" % (spare + 7), "X with thread 4 running")
    check_eq(ns.ask("m%x,8" % spare), "a5" * 7 + "5a", "m with thread 4 running")
    ns.refused("vCont;t:5", "a thread that does not exist, all running")
    for payload in ("vCont;", "vCont;x:1", "vCont;t:", "vCont;c:zz", "vCont;r1000:1", "vCont;C:1",
                    "vCont;S:1", "vCont;c:1:2", "vCont;t:1;;t:2", "vStopped;1", "vCtrlC;1",
                    "QNonStop", "QNonStop:0x1", "?x"):
        ns.refused(payload, "malformed, all running")
    ns.ok("vCont;t:-1", "stop every thread")
    got = collections.Counter()
    while sum(got.values()) < ncpus:
        for s in ns.stops("vCont;t:-1"):
            check_eq(s.signal, 0, "signal of %r" % s)
            got[s.thread] += 1
    check_eq(sorted(got.items()), [(t, 1) for t in range(1, ncpus + 1)],
             "stops per thread after vCont;t:-1")
    check_eq(ns.read(1, spare, 8), b"\xa5" * 7 + b"Z", "memory written with every vCPU running")
    check_eq(before, bytes(8), "spare slot at the start")
    check(vm.poll() is None, "kvmdbg exited: %r" % vm.stderr())


@test
def test_guest_int3_with_breakpoint():
    """The guest's own int3 traps go back to the vCPU that ran them while a
    breakpoint of the debugger stops the vCPUs one at a time."""
    ncpus, iterations = 4, 40
    vm = launch(ncpus, iterations, int3=True)
    ns = NonStop(vm)
    ns.start(ncpus)
    hits, _, _ = run_hits(ns, ncpus)
    check_eq(sorted(hits.items()), [(t, iterations) for t in range(1, ncpus + 1)],
             "hits reported per thread")
    check_eq(vm.serial(), expected_serial(ncpus, iterations, int3=True), "serial output")


def collect(ns, what, want, handle):
    """Stops until want() is true, each passed to handle(stop)."""
    n = 0
    while not want():
        n += 1
        check(n <= 200, "%s: 200 stop batches and still waiting" % what)
        for s in ns.stops("%s, batch %d" % (what, n)):
            check(not s.exited, "%s: the guest ended" % what)
            handle(s)


@test
def test_breakpoints_inserted_while_running():
    """Hardware and software breakpoints and a watchpoint inserted and
    removed with vCPUs running take effect on those vCPUs."""
    ncpus = 4
    vm = launch(ncpus, FOREVER)
    ns = NonStop(vm)
    ns.start(ncpus)
    elf = vm.elf
    mix, fold, work = elf.sym("smp_mix"), elf.sym("smp_fold"), elf.sym("smp_work")
    work0 = elf.sym("smp_counts")          # smp_counts.work[0]: vCPU 0's alone
    ns.ok("vCont;c")
    check_eq(ns.question("all running"), {}, "stops '?' reports")
    # Every running vCPU stops once at the hardware breakpoint and stays.
    ns.ok("Z1,%x,1" % mix, "hardware breakpoint with every vCPU running")
    held = collections.Counter()

    def at_mix(s):
        check(s.signal == 5 and s.why == "hwbreak" and s.pc() == mix,
              "stop %r is not a hit of the hardware breakpoint on smp_mix" % s)
        held[s.thread] += 1
    collect(ns, "hardware breakpoint", lambda: len(held) == ncpus, at_mix)
    check_eq(sorted(held.items()), [(t, 1) for t in range(1, ncpus + 1)], "hits per thread")
    ns.ok("z1,%x,1" % mix)
    # A write watch on vCPU 0's count, inserted while vCPU 1 runs (its own
    # count is beside it): vCPU 0, resumed, stops at its next write, alone.
    count0 = ns.u64(1, work0)
    ns.ok("vCont;c:2")
    ns.ok("Z2,%x,8" % work0, "write watch with vCPU 1 running")
    ns.ok("vCont;c:1")
    watched = []

    def at_watch(s):
        check(s.thread == 1 and s.signal == 5 and s.why == "watch" and s.addr == work0,
              "stop %r is not thread 1's write of %#x" % (s, work0))
        watched.append(s)
    collect(ns, "write watch", lambda: watched, at_watch)
    at = ns.reg(1, RIP)
    check(work <= at < work + elf.sym_size("smp_work"),
          "pc %#x of the watch's stop is not in smp_work" % at)
    check_eq(ns.u64(1, work0), count0 + 1, "vCPU 0's count at the watch's stop")
    ns.ok("z2,%x,8" % work0, "watch removed with vCPU 1 running")
    # Everything runs; a software breakpoint inserted now is all that stops them.
    ns.ok("vCont;c")
    ns.ok("Z0,%x,1" % fold, "software breakpoint with every vCPU running")
    hits = collections.Counter()

    def at_fold(s):
        check(s.signal == 5 and s.why == "swbreak" and s.pc() == fold,
              "stop %r is not a hit of the software breakpoint on smp_fold" % s)
        hits[s.thread] += 1
        ns.ok("vCont;c:%x" % s.thread)
    collect(ns, "software breakpoint", lambda: sum(hits.values()) >= 12, at_fold)
    ns.ok("z0,%x,1" % fold, "software breakpoint removed with vCPUs running")
    # Hits from before the removal may still come; thread 1 stopped alone
    # then shows the original code.
    ns.ok("vCont;t:1")
    stopped = []

    def late(s):
        if s.signal == 0 or s.thread == 1:
            check_eq(s.thread, 1, "thread of the stop vCont;t:1 brought (%r)" % s)
            check(s.signal == 0 or (s.why == "swbreak" and s.pc() == fold),
                  "thread 1's stop %r" % s)
            stopped.append(s)
        else:
            at_fold(s)
    collect(ns, "vCont;t:1", lambda: stopped, late)
    check_eq(ns.read(1, fold, 16), elf.bytes_at(fold, 16), "code of smp_fold")
    check(vm.poll() is None, "kvmdbg exited: %r" % vm.stderr())


@test
def test_back_to_all_stop():
    """QNonStop:0 with vCPUs running stops them all, with no notification;
    the session then goes on in all-stop, replies and all."""
    ncpus, iterations = 3, 30
    vm = launch(ncpus, iterations, spin=True)
    ns = NonStop(vm)
    ns.start(ncpus)
    elf = vm.elf
    spins, fold = elf.sym("smp_spin_count"), elf.sym("smp_fold")
    ns.ok("vCont;c")
    ns.ok("vCont;t:2", "stop the spinner")
    stops = ns.stops("vCont;t:2")
    check(len(stops) == 1 and stops[0].thread == 2, "vCont;t:2 brought %r" % stops)
    count = ns.u64(2, spins)
    ns.ok("vCont;c:2", "resume the spinner")
    check_eq(ns.question("spinner resumed"), {}, "stops '?' reports with every vCPU running")
    wait_until(lambda: ns.u64(1, spins) > count, "the spinner's count never moved")
    ns.ok("QNonStop:0")
    reply = ns.ask("?")
    stop = Stop(reply, "'?' in all-stop")
    check(1 <= stop.thread <= ncpus, "'?' in all-stop answered %r" % reply[:60])
    # Every vCPU stays where it is: the spinner's count and every pc.
    first = ns.read(1, spins, 8), [ns.reg(t, RIP) for t in range(1, ncpus + 1)]
    time.sleep(0.5)
    check_eq((ns.read(1, spins, 8), [ns.reg(t, RIP) for t in range(1, ncpus + 1)]), first,
             "spin count and pcs half a second after QNonStop:0")
    # All-stop as ever: a breakpoint's stop is the reply to vCont.
    ns.select(1)
    ns.ok("M%x,4:01000000" % elf.sym("smp_spin_release"), "release the spinner")
    ns.ok("Z0,%x,1" % fold)
    stop = Stop(ns.ask("vCont;c"), "all-stop vCont;c")
    check(stop.signal == 5 and stop.why == "swbreak" and stop.pc() == fold,
          "all-stop stop %r is not a hit of smp_fold" % stop)
    ns.ok("z0,%x,1" % fold)
    check_eq(ns.ask("vCont;c"), EXIT_STOP, "all-stop reply at the guest's end")
    check(not ns.rsp.notes, "notifications in all-stop: %r" % ns.rsp.notes[:2])
    vm.expect_exit(exit_status(SMP_EXIT))
    check_eq(vm.serial(), expected_serial(ncpus, iterations), "serial output")


@test
def test_conditional_breakpoint():
    """A condition the stub evaluates, true on vCPU 2 alone: every other
    vCPU passes the breakpoint each time without a stop, none of vCPU 2's
    hits is lost."""
    ncpus, iterations = 4, 100
    vm = launch(ncpus, iterations)
    ns = NonStop(vm)
    ns.start(ncpus)
    # (edi zero-extended from 32 bits) == 2: smp_fold's idx argument is 2
    bytecode = "260005" "2a20" "2202" "13" "27"
    hits, _, _ = run_hits(ns, ncpus, cond=";X%x,%s" % (len(bytecode) // 2, bytecode))
    check_eq(sorted(hits.items()), [(3, iterations)], "hits reported per thread")
    check_eq(vm.serial(), expected_serial(ncpus, iterations), "serial output")


@test
def test_write_watch_with_others_on_the_page():
    """A write watch on vCPU 1's fold count while the other vCPUs write
    their own counts beside it, on the same page: each of vCPU 1's writes is
    reported once, just after it, and no other vCPU ever stops."""
    ncpus, iterations = 4, 100
    vm = launch(ncpus, iterations)
    ns = NonStop(vm)
    ns.start(ncpus)
    per = vm.elf.sym_size("smp_counts") // 8 // len(COUNT_FIELDS)
    slot = vm.elf.sym("smp_counts") + 8 * (2 * per + 1)      # smp_counts.fold[1]
    ns.ok("Z2,%x,8" % slot)
    ns.ok("vCont;c")
    hits = 0
    for what, stops in ns.until_exit():
        check(len(stops) == 1 and stops[0].thread == 2 and stops[0].signal == 5 and
              stops[0].why == "watch" and stops[0].addr == slot,
              "%s: stops %r are not thread 2's write of %#x" % (what, stops, slot))
        hits += 1
        check_eq(ns.u64(2, slot), hits, "%s: vCPU 1's fold count at its write %d" % (what, hits))
        ns.ok("vCont;c:2")
    check_eq(hits, iterations, "writes reported")
    check_eq(vm.serial(), expected_serial(ncpus, iterations), "serial output")


@test
def test_actions_on_running_threads_and_ranges():
    """s and c naming a running thread change nothing (its next stop is the
    t that follows); a range step of one thread ends outside the range while
    the others run; '?' in the middle of a notification sequence restarts
    it with every stopped thread; k ends kvmdbg with vCPUs running."""
    ncpus = 3
    vm = launch(ncpus, FOREVER)
    ns = NonStop(vm)
    ns.start(ncpus)
    elf = vm.elf
    fold, mix = elf.sym("smp_fold"), elf.sym("smp_mix")
    ns.ok("vCont;c")
    ns.ok("vCont;s:1", "step of running thread 1")
    ns.ok("vCont;c:1", "continue of running thread 1")
    ns.ok("vCont;t:1")
    stops = ns.stops("vCont;t:1 after s and c of the running thread")
    check(len(stops) == 1 and stops[0].thread == 1 and stops[0].signal == 0,
          "the first stop after vCont;s:1 on the running thread is %r, not vCont;t:1's" % stops)
    ns.ok("vCont;c:1")
    # Every thread stops at the breakpoint once; the first notification is
    # left undrained and '?' asked instead.
    ns.ok("Z0,%x,1" % fold)
    note = ns.rsp.notification(STOP_TIMEOUT)
    check(note.startswith("Stop:T05"), "notification %r" % note[:60])
    held = ns.question("'?' in the middle of a sequence")
    check(Stop(note[5:], "notification").thread in held, "'?' %r left out the notified thread %r"
          % (held, note[:40]))
    got = set(held)
    while len(got) < ncpus:
        for s in ns.stops("the other hits"):
            check(s.thread not in got and s.why == "swbreak" and s.pc() == fold,
                  "stop %r after the '?' (threads seen %r)" % (s, sorted(got)))
            got.add(s.thread)
    ns.ok("z0,%x,1" % fold)
    # A range step over smp_fold's body: thread 2 stops back in smp_mix.
    ns.ok("vCont;r%x,%x:2" % (fold, fold + elf.sym_size("smp_fold")), "range step of thread 2")
    stops = ns.stops("range step")
    check(len(stops) == 1 and stops[0].thread == 2 and stops[0].signal == 5 and
          stops[0].why is None and mix <= stops[0].pc() < mix + elf.sym_size("smp_mix"),
          "range step of thread 2 ended as %r, not in smp_mix" % stops)
    check_eq(sorted(ns.question("after the range step")), [1, 2, 3], "threads stopped")
    ns.ok("vCont;c")
    ns.rsp.send_raw(Rsp.frame("k"))
    vm.expect_exit(0)


@test
def test_lldb_queries_while_running():
    """LLDB's jThreadsInfo (every vCPU's pc, sp and fp) and
    qMemoryRegionInfo (the page tables) with every vCPU running: answered
    with each thread's pc inside the guest's code, and the vCPUs run on."""
    ncpus = 3
    vm = launch(ncpus, FOREVER)
    ns = NonStop(vm)
    ns.start(ncpus)
    elf = vm.elf
    fold = elf.sym("smp_fold")
    text, text_size = elf.section(".text")
    ns.ok("vCont;c")
    # vCPU 0 lets the others go once it has started the guest: stopped
    # before that, it would hold them forever.
    wait_until(lambda: all(ns.counts(1, ncpus)["work"]), "every vCPU counting")
    for n in range(20):
        threads = ns.ask("jThreadsInfo")
        for t in range(1, ncpus + 1):
            m = re.search(r'\{"tid":%d,[^}]*"%d":"([0-9a-f]{16})"' % (t, RIP), threads)
            check(m is not None, "jThreadsInfo %d: no pc of thread %d in %r" % (n, t, threads[:200]))
            where = int.from_bytes(bytes.fromhex(m.group(1)), "little")
            check(text <= where < text + text_size,
                  "jThreadsInfo %d: thread %d's pc %#x is outside the guest's code" % (n, t, where))
        check(ns.ask("qMemoryRegionInfo:%x" % fold).startswith(
            "start:%x;size:" % (fold & ~0xfff)), "qMemoryRegionInfo %d of smp_fold" % n)
    ns.ok("vCont;t:1")
    ns.stops("stop of thread 1")
    before = ns.counts(1, ncpus)["work"]
    wait_until(lambda: all(a > b for a, b in zip(ns.counts(1, ncpus)["work"][1:], before[1:])),
               "vCPUs 1 and 2 counted nothing after the queries")
    ns.rsp.send_raw(Rsp.frame("k"))
    vm.expect_exit(0)


STRESS_ROUNDS = 600
STRESS_SEED = 20261203


@test
def test_random_run_control_stress():
    """Random t, c, s, vCtrlC, '?', breakpoint insertions and removals on
    four running vCPUs.  Whatever the interleaving, each stop is reported
    once, for a thread the session has running, with a cause the session
    gave it; '?' reports exactly the stopped threads; and at the end the
    guest's counts show no call lost or doubled by a step past a trap."""
    ncpus = 4
    rnd = random.Random(STRESS_SEED)
    vm = launch(ncpus, FOREVER)
    ns = NonStop(vm)
    ns.start(ncpus)
    elf = vm.elf
    fold = elf.sym("smp_fold")
    threads = range(1, ncpus + 1)
    running = set()
    causes = {t: set() for t in threads}   # what may stop a running thread
    inserted = False
    ctrlc = 0                              # vCtrlC not yet seen to stop one

    history = collections.deque(maxlen=30)      # for a failure's log

    def event(s, what):
        nonlocal ctrlc
        t = s.thread
        history.append("%s: stop %s" % (what, s.reply[:24]))
        if t not in running:
            print("the stress run's last steps:\n  " + "\n  ".join(history), flush=True)
        check(t in running, "%s: stop %r of thread %d, which is not running (last steps in "
              "the log)" % (what, s, t))
        if s.signal == 0:
            check("t" in causes[t], "%s: T00 of thread %d, never asked to stop" % (what, t))
        elif s.signal == 2:
            check(ctrlc > 0, "%s: T02 of thread %d without a vCtrlC" % (what, t))
            ctrlc -= 1
        elif s.why == "swbreak":
            check("bp" in causes[t] and s.pc() == fold,
                  "%s: breakpoint stop %r of thread %d" % (what, s, t))
        else:
            check(s.signal == 5 and s.why is None and "step" in causes[t],
                  "%s: stop %r of thread %d, neither asked nor at a breakpoint" % (what, s, t))
        running.discard(t)

    def resume(t, action):
        running.add(t)
        causes[t] = {"bp"} if inserted else set()
        if action == "s":
            causes[t].add("step")

    def settle(what):
        for s in ns.poll(what):
            event(s, what)

    def early(what, named=None, action=None):
        """Notifications that came before an action's reply: the stub had
        sent them first, so a c or s naming the notified thread resumed it
        (the stops vStopped hands out after it were still pending)."""
        while ns.rsp.notes:
            for i, s in enumerate(ns.stops(what)):
                event(s, what)
                if i == 0 and s.thread == named and action:
                    resume(s.thread, action)

    ns.ok("vCont;c")
    for t in threads:
        resume(t, "c")
    for n in range(STRESS_ROUNDS):
        what = "round %d" % n
        settle(what)
        r = rnd.random()
        t = rnd.choice(threads)
        history.append("%s: %.2f thread %d, running %s" % (what, r, t, sorted(running)))
        if r < 0.25:
            if t in running:
                causes[t].add("t")
            ns.ok("vCont;t:%x" % t, what)
            early(what)
        elif r < 0.62:
            action = "c" if r < 0.5 else "s"
            was_running = t in running
            ns.ok("vCont;%s:%x" % (action, t), what)
            if not was_running:
                resume(t, action)
            early(what, t if was_running else None, action)
        elif r < 0.7:
            if running:
                ctrlc += 1
            ns.ok("vCtrlC", what)
            early(what)
        elif r < 0.82:
            inserted = not inserted
            if inserted:
                for u in running:
                    causes[u].add("bp")
            ns.ok("%s0,%x,1" % ("Z" if inserted else "z", fold), what)
            early(what)
        elif r < 0.95:
            held = ns.question(what)
            for u, s in held.items():
                if u in running:
                    event(s, what)
            check_eq(sorted(held), sorted(set(threads) - running), "%s: threads '?' reports"
                     % what)
        else:
            # Nothing notified yet; a stop not yet notified may still come
            # as the reply, and then is not notified again.
            reply = ns.ask("vStopped")
            while reply != "OK":
                event(Stop(reply, "%s: vStopped" % what), what)
                reply = ns.ask("vStopped")
    # Everything stopped: each running thread reports once more.
    for t in sorted(running):
        ns.ok("vCont;t:%x" % t, "final stop")
        causes[t].add("t")
    while running:
        for s in ns.stops("final stops"):
            event(s, "final stops")
    check_eq(sorted(ns.question("at the end")), list(threads), "threads '?' reports at the end")
    check_eq(ns.read(1, fold, 16), elf.bytes_at(fold, 16), "smp_fold's code as the stub shows it")
    counts = ns.counts(1, ncpus)
    for v in range(ncpus):
        work, mix, fold_n = (counts[f][v] for f in COUNT_FIELDS)
        check(work - mix in (0, 1) and mix - fold_n in (0, 1) and work - fold_n in (0, 1),
              "vCPU %d's counts work %d mix %d fold %d: a call lost or doubled"
              % (v, work, mix, fold_n))
    check(vm.poll() is None, "kvmdbg exited: %r" % vm.stderr())


main()
