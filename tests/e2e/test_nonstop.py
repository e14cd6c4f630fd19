# SPDX-License-Identifier: MIT
"""gdb in non-stop mode: one vCPU stopped while the others run.

gdb's Python API cannot wait for an asynchronous stop (gdb's event loop does
not run while a script does), so these tests drive a second gdb through its
machine interface, as a front end would, and read its *stopped records and
-thread-info states.  The guest is smp.elf with vCPU 1 (gdb thread 2)
spinning in smp_spin() until smp_spin_release is set: a breakpoint there
stops that vCPU alone, and the others never stop on their own.
"""

import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (ChildGdb, Elf, TestFailure, check, check_eq, exit_status,
                        guest_path, kvmdbg, main, source_line, test,
                        wait_until)
from smp_guest import SMP_EXIT, expected_serial

FOREVER = 100000000     # iterations no test waits for
STOP_TIMEOUT = 60       # hang guard for one awaited stop on a loaded machine
NCPUS = 3
SPINNER = 2             # gdb's thread of vCPU 1
LOOP_FUNCS = ("smp_fold", "smp_mix", "smp_work", "smp_run", "smp_main", "smp_spin")


# ---- GDB/MI values -------------------------------------------------------------

class _MiText:
    def __init__(self, text):
        self.s = text
        self.i = 0

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def take(self, c):
        if self.peek() != c:
            raise TestFailure("MI record: expected %r at %d of %r" % (c, self.i, self.s[:200]))
        self.i += 1

    def const(self):
        self.take('"')
        out = []
        while self.peek() != '"':
            c = self.s[self.i]
            if c == "\\":
                self.i += 1
                c = {"n": "\n", "t": "\t"}.get(self.s[self.i], self.s[self.i])
            out.append(c)
            self.i += 1
            if self.i >= len(self.s):
                raise TestFailure("MI record: unterminated string in %r" % self.s[:200])
        self.take('"')
        return "".join(out)

    def value(self):
        c = self.peek()
        if c == '"':
            return self.const()
        if c == "{":
            self.take("{")
            out = self.results("}")
            self.take("}")
            return out
        if c == "[":
            self.take("[")
            out = []
            while self.peek() != "]":
                if self.peek() in ('"', "{", "["):
                    out.append(self.value())
                else:
                    out.append(self.result()[1])
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            return out
        raise TestFailure("MI record: unexpected %r at %d of %r" % (c, self.i, self.s[:200]))

    def result(self):
        j = self.s.index("=", self.i)
        name = self.s[self.i:j]
        self.i = j + 1
        return name, self.value()

    def results(self, end=""):
        out = {}
        while self.peek() != end:
            name, value = self.result()
            out[name] = value
            if self.peek() == ",":
                self.take(",")
        return out


def mi_record(line):
    """(class, {results}) of an MI record such as *stopped,reason=...:"""
    m = re.match(r"^\d*[\^*=]([a-z-]+)(?:,(.*))?$", line)
    check(m is not None, "not an MI record: %r" % line)
    return m.group(1), _MiText(m.group(2) or "").results()


# ---- a non-stop gdb -------------------------------------------------------------

class NonStopGdb(ChildGdb):
    """A child gdb in non-stop mode; its *stopped records are read in order,
    whatever other commands ran meanwhile."""

    def __init__(self, elf):
        super().__init__(elf)
        self.stop_cursor = 0
        self.mi("-gdb-set non-stop on")

    def connect(self, port):
        try:
            self.mi("-target-select remote 127.0.0.1:%d" % port, timeout=STOP_TIMEOUT)
        except TestFailure as e:
            with self.cond:
                errors = [l for l in self.lines if l and "internal-error" in l]
            raise TestFailure("%s%s" % (e, "; " + errors[0] if errors else ""))
        with self.cond:
            self.stop_cursor = len(self.lines)

    def result(self, command, timeout=15):
        return mi_record(self.mi(command, timeout))[1]

    def console_text(self, command, timeout=STOP_TIMEOUT):
        """What a CLI command printed on gdb's console stream."""
        with self.cond:
            start = len(self.lines)
        reply = self.console(command, timeout)
        with self.cond:
            lines = self.lines[start:]
        out = [_MiText(line[1:]).const() for line in lines
               if line is not None and line.startswith("~")]
        check(reply.split(",")[0].endswith("^done") or "^running" in reply,
              "%s answered %r" % (command, reply))
        return "".join(out)

    def next_stop(self, what, timeout=STOP_TIMEOUT):
        """The next *stopped record's results."""
        i, line = self._await(self.stop_cursor, r"^\*stopped", timeout, "stop (%s)" % what)
        self.stop_cursor = i + 1
        return mi_record(line)[1]

    def pending_stops(self):
        with self.cond:
            return [l for l in self.lines[self.stop_cursor:] if l and l.startswith("*stopped")]

    def threads(self):
        """{thread id: (state, function or None, pc or None)}."""
        out = {}
        for t in self.result("-thread-info", STOP_TIMEOUT)["threads"]:
            frame = t.get("frame") or {}
            out[int(t["id"])] = (t["state"], frame.get("func"),
                                 int(frame["addr"], 16) if "addr" in frame else None)
        return out

    def states(self):
        return {t: v[0] for t, v in self.threads().items()}

    def select(self, thread):
        self.mi("-thread-select %d" % thread)

    def value(self, expr):
        return self.result("-data-evaluate-expression %s" % expr)["value"]

    def pc(self, thread):
        self.select(thread)
        return int(self.value("$pc").split()[0], 16)


def session(iterations=FOREVER, ncpus=NCPUS):
    """kvmdbg held before the first instruction, a non-stop gdb connected:
    every thread is stopped; the same gdb then runs them all."""
    path = guest_path("smp.elf")
    vm = kvmdbg("run", "-smp", str(ncpus), "--gdb", "tcp:127.0.0.1:0", "-S", path, "--",
                "cpus=%d" % ncpus, "iter=%d" % iterations, "spin")
    vm.wait_listening()
    vm.elf = Elf(path)
    g = NonStopGdb(path)
    g.connect(vm.port)
    # gdb 13 fails an internal check when it connects to more than one
    # stopped thread: the stub may show it the held ones as running, or
    # report them once connected.  Either way interrupt -a has them all
    # stopped; the *stopped records of all that are passed over.
    if "running" in g.states().values():
        g.console("interrupt -a")
    deadline = time.monotonic() + STOP_TIMEOUT
    while True:
        states = g.states()
        if states == {t: "stopped" for t in range(1, ncpus + 1)}:
            break
        check(time.monotonic() < deadline, "thread states %ds after connecting: %r"
              % (STOP_TIMEOUT, states))
        time.sleep(0.05)
    with g.cond:
        g.stop_cursor = len(g.lines)
    return vm, g


def run_all(g, ncpus=NCPUS):
    g.console("continue -a &")
    check_eq(g.states(), {t: "running" for t in range(1, ncpus + 1)},
             "thread states after continue -a &")


def spinner_held(vm, g):
    """A breakpoint in smp_spin's loop, set while everything runs: thread 2
    alone stops there, however soon or late the breakpoint comes."""
    run_all(g)
    line = source_line("guests/x86_64/smp.c", "smp_spin_count++")
    bp = g.result("-break-insert smp.c:%d" % line)["bkpt"]
    stop = g.next_stop("breakpoint in smp_spin")
    check(stop.get("reason") == "breakpoint-hit" and stop.get("bkptno") == bp["number"] and
          stop.get("thread-id") == str(SPINNER),
          "stop %r is not thread %d at the breakpoint" % (stop, SPINNER))
    check_eq(stop["frame"]["func"], "smp_spin", "function of the stop")
    g.mi("-break-delete %s" % bp["number"])
    threads = g.threads()
    check_eq({t: v[0] for t, v in threads.items()},
             {1: "running", SPINNER: "stopped", 3: "running"}, "thread states at the hit")
    check_eq(threads[SPINNER][1], "smp_spin", "function of thread %d" % SPINNER)
    return int(stop["frame"]["addr"], 16)


def fold_count(g, vcpu):
    return int(g.value("smp_counts.fold[%d]" % vcpu))


# ---- tests ----------------------------------------------------------------------

@test
def test_breakpoint_stops_one_thread():
    vm, g = session()
    spin_pc = spinner_held(vm, g)
    g.select(SPINNER)
    first = [fold_count(g, v) for v in range(NCPUS)]
    check_eq(first[1], 0, "spinner's fold count")
    wait_until(lambda: fold_count(g, 0) > first[0] and fold_count(g, 2) > first[2],
               "the running vCPUs' counts did not advance")
    check_eq(g.pc(SPINNER), spin_pc, "pc of the stopped thread")
    check_eq(g.states(), {1: "running", SPINNER: "stopped", 3: "running"},
             "thread states while the others run")
    check(not g.pending_stops(), "stops nobody asked for: %r" % g.pending_stops())


@test
def test_interrupt_and_interrupt_all():
    vm, g = session()
    spinner_held(vm, g)
    # Thread 3 in its loop for sure before it is interrupted.
    g.select(SPINNER)
    wait_until(lambda: fold_count(g, 2) > 0, "vCPU 2 never called smp_fold")
    g.select(3)
    g.console("interrupt")
    stop = g.next_stop("interrupt of thread 3")
    check_eq(stop.get("thread-id"), "3", "thread of the interrupt's stop (%r)" % stop)
    check_eq(g.states(), {1: "running", 2: "stopped", 3: "stopped"}, "states after interrupt")
    pc3 = g.pc(3)
    g.select(3)
    g.console("interrupt -a")
    stop = g.next_stop("interrupt -a")
    check_eq(stop.get("thread-id"), "1", "thread interrupt -a stopped (%r)" % stop)
    check_eq(g.states(), {1: "stopped", 2: "stopped", 3: "stopped"}, "states after interrupt -a")
    check_eq(g.pc(3), pc3, "pc of thread 3, stopped before interrupt -a")
    text = g.console_text("thread apply all bt")
    blocks = re.split(r"^Thread (\d+) ", text, flags=re.M)[1:]
    check_eq(sorted(int(n) for n in blocks[0::2]), [1, 2, 3], "threads in the backtraces (%r)"
             % text[:300])
    for n, body in zip(blocks[0::2], blocks[1::2]):
        frames = re.findall(r"^#\d+\s+(?:0x[0-9a-f]+ in )?(\w+) ", body, re.M)
        check(len(frames) >= 3 and frames[-1] == "smp_start64" and frames[-2] == "smp_main" and
              all(f in LOOP_FUNCS + ("smp_start64",) for f in frames),
              "backtrace of thread %s: %r" % (n, body[:400]))
        check((n == "2") == (frames[0] == "smp_spin"), "innermost frame of thread %s: %r"
              % (n, body[:400]))
    run_all(g)
    check(not g.pending_stops(), "stops nobody asked for: %r" % g.pending_stops())


@test
def test_stepi_and_next_while_others_run():
    vm, g = session()
    spinner_held(vm, g)
    g.select(SPINNER)
    for n in range(3):
        before = g.pc(SPINNER)
        g.console("stepi")
        stop = g.next_stop("stepi %d" % n)
        check(stop.get("reason") == "end-stepping-range" and stop.get("thread-id") == "2",
              "stepi %d ended with %r" % (n, stop))
        check(g.pc(SPINNER) != before, "stepi %d left pc at %#x" % (n, before))
        check_eq(g.states(), {1: "running", SPINNER: "stopped", 3: "running"},
                 "states after stepi %d" % n)
    # Released while the others run, the spinner's next steps leave smp_spin.
    g.console("set var smp_spin_release = 1")
    funcs = []
    for n in range(6):
        g.select(SPINNER)
        line = g.threads()[SPINNER]
        g.console("next")
        stop = g.next_stop("next %d" % n)
        check(stop.get("reason") == "end-stepping-range" and stop.get("thread-id") == "2",
              "next %d ended with %r" % (n, stop))
        frame = stop["frame"]
        funcs.append(frame.get("func"))
        check(int(frame["addr"], 16) != line[2], "next %d left pc at %#x" % (n, line[2]))
        check_eq(g.states(), {1: "running", SPINNER: "stopped", 3: "running"},
                 "states after next %d" % n)
        if funcs[-1] != "smp_spin":
            break
    check_eq(funcs[-1], "smp_main", "function the spinner's next steps reached (%r)" % funcs)
    g.select(1)
    check_eq(int(g.value("smp_counts.work[1]")), 0, "spinner's work count")
    check(not g.pending_stops(), "stops nobody asked for: %r" % g.pending_stops())


@test
def test_guest_exit():
    """The spinner, held, is released and resumed alone (the others never
    stopped): gdb sees the guest's end."""
    iterations = 200
    vm, g = session(iterations)
    spinner_held(vm, g)
    g.select(SPINNER)
    g.console("set var smp_spin_release = 1")
    g.console("continue &")
    stop = g.next_stop("the guest's end")
    check_eq(stop.get("reason"), "exited", "reason of the last stop (%r)" % stop)
    check_eq(int(stop.get("exit-code", "0"), 8), exit_status(SMP_EXIT), "exit code gdb reports")
    vm.expect_exit(exit_status(SMP_EXIT))
    for v in range(NCPUS):
        line = "smp: vCPU %d work %d mix %d fold %d\n" % (v, iterations, iterations, iterations)
        check(line in vm.serial(), "serial output %r lacks %r" % (vm.serial(), line))

@test
def test_thousand_hits_resumed_one_thread_at_a_time():
    """1,000 hits of a breakpoint on smp_fold with every vCPU running: each hit stops its
    thread alone and is resumed alone (-exec-continue --thread), which has
    gdb step that thread over the breakpoint while the others run; every
    hit is reported once, in the right thread, against the guest's count."""
    ncpus, iterations = 4, 250
    vm, g = session(iterations, ncpus)
    g.console("set var smp_spin_release = 1")
    bp = g.result("-break-insert smp_fold")["bkpt"]
    site = int(bp["addr"], 16)
    run_all(g, ncpus)
    hits = {t: 0 for t in range(1, ncpus + 1)}
    n = 0
    while True:
        n += 1
        stop = g.next_stop("hit %d" % n)
        if stop.get("reason") == "exited":
            check_eq(int(stop.get("exit-code", "0"), 8), exit_status(SMP_EXIT), "exit code")
            break
        t = int(stop.get("thread-id", "0"))
        check(stop.get("reason") == "breakpoint-hit" and t in hits and
              int(stop["frame"]["addr"], 16) == site,
              "stop %d is not a hit of the breakpoint: %r" % (n, stop))
        g.select(t)
        check_eq(fold_count(g, t - 1), hits[t], "thread %d's fold count at its hit %d"
                 % (t, hits[t] + 1))
        hits[t] += 1
        g.mi("-exec-continue --thread %d" % t)
    check_eq(hits, {t: iterations for t in range(1, ncpus + 1)}, "hits per thread")
    vm.expect_exit(exit_status(SMP_EXIT))


@test
def test_next_over_a_call_the_others_run_through():
    """next over smp_mix's call of smp_fold in thread 1: gdb's breakpoint at
    the return address is passed all the time by the other threads, which
    gdb steps over it while thread 1 steps; then the guest runs to its end
    with every count and the checksum right."""
    ncpus, iterations = 4, 1500
    vm, g = session(iterations, ncpus)
    g.console("set var smp_spin_release = 1")
    bp = g.result("-break-insert -p 1 smp_mix")["bkpt"]
    run_all(g, ncpus)
    stop = g.next_stop("thread 1's breakpoint on smp_mix")
    check(stop.get("reason") == "breakpoint-hit" and stop.get("thread-id") == "1" and
          stop["frame"].get("func") == "smp_mix", "stop %r is not thread 1 in smp_mix" % stop)
    g.mi("-break-delete %s" % bp["number"])
    call_line = source_line("guests/x86_64/smp.c", "return smp_fold(idx, acc * ")
    lines = [int(stop["frame"]["line"])]
    for n in range(4):
        g.select(1)
        g.console("next")
        stop = g.next_stop("next %d" % n)
        check(stop.get("reason") == "end-stepping-range" and stop.get("thread-id") == "1",
              "next %d ended with %r" % (n, stop))
        lines.append(int(stop["frame"]["line"]))
        states = g.states()
        check_eq(states[1], "stopped", "thread 1 after next %d" % n)
        check(all(states[t] == "running" for t in range(2, ncpus + 1)),
              "states after next %d: %r" % (n, states))
        if lines[-2] == call_line:
            break
    check(call_line in lines[:-1], "the nexts never went over the call on line %d: lines %r"
          % (call_line, lines))
    check(not g.pending_stops(), "stops nobody asked for: %r" % g.pending_stops())
    g.console("continue &")
    stop = g.next_stop("the guest's end")
    check_eq(stop.get("reason"), "exited", "reason of the last stop (%r)" % stop)
    vm.expect_exit(exit_status(SMP_EXIT))
    check_eq(vm.serial(), expected_serial(ncpus, iterations), "serial output")


def end_with_breakpoints(how):
    """Breakpoints of every kind inserted, one thread stopped at one, the
    others running: gdb detaches (or is killed), and the guest ends exactly
    as undebugged."""
    ncpus, iterations = 4, 300
    vm, g = session(iterations, ncpus)
    g.console("set var smp_spin_release = 1")
    g.result("-break-insert smp_fold")
    g.result("-break-insert -h smp_mix")
    g.console("watch smp_counts.work[1]")
    run_all(g, ncpus)
    stop = g.next_stop("first stop")
    check(stop.get("reason") in ("breakpoint-hit", "watchpoint-trigger"),
          "first stop %r" % stop)
    if how == "detach":
        g.console("detach")
    else:
        g.kill()
    vm.expect_exit(exit_status(SMP_EXIT))
    check_eq(vm.serial(), expected_serial(ncpus, iterations), "serial output")


@test
def test_detach_with_breakpoints():
    end_with_breakpoints("detach")


@test
def test_gdb_killed_with_breakpoints():
    end_with_breakpoints("kill")


main()
