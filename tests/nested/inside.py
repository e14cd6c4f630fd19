# SPDX-License-Identifier: MIT
"""End-to-end test support for kvmdbg inside a nested machine (tests/arm64,
tests/x86_64), for test files that the suite runners run as gdb scripts with

    KVMDBG_NESTED_CONSOLE      the nested machine's console socket (init.sh's channel)
    KVMDBG_NESTED_CONSOLE_LOG  where to append what the console says
    KVMDBG_NESTED_PORT         the host port forwarded to port 1234 inside
    KVMDBG_GUESTS              the guests on the host, for their symbols

kvmdbg and the guests are /kvmdbg and /guests/NAME inside.  The assertion and
gdb helpers are those of the x86 suite (tests/e2e/kvmdbg_e2e.py); what
differs is where kvmdbg runs.  Output is the same PLAN/PASS/FAIL lines.
"""

import base64
import gzip
import os
import re
import shlex
import signal
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))

import gdb  # noqa: E402
import kvmdbg_e2e as base  # noqa: E402
from kvmdbg_e2e import (Elf, Rsp, TestFailure, bp_address, check, check_eq,  # noqa: E402,F401
                        check_raises, check_scheduler_locking, events, exit_status, frame_names,
                        gdb_run, guest_path, in_function, interrupt_after, monitor, packet, pc,
                        read_mem, read_u32, read_u64, reg, set_reg, stub_bytes, test, write_mem)
from nested_vm import GDB_PORT_INSIDE, Channel, ChannelError, ChannelTimeout  # noqa: E402

CONSOLE = os.environ.get("KVMDBG_NESTED_CONSOLE", "")
CONSOLE_LOG = os.environ.get("KVMDBG_NESTED_CONSOLE_LOG") or None
PORT = int(os.environ.get("KVMDBG_NESTED_PORT", "0"))

KVMDBG_INSIDE = "/kvmdbg"
GUESTS_INSIDE = "/guests"
# Everything in the nested machine is emulated, KVM's guest included.
STARTUP_TIMEOUT = 30
RUN_TIMEOUT = 90

_console = []   # the Channel, opened on first use
_runs = [0]     # numbers each kvmdbg's scratch directory inside
# init.sh's finished: the line before a finished process's stdout and stderr.
END_OF_FILE = "\n@@end-of-file\n"


def console():
    if not _console:
        try:
            _console.append(Channel(CONSOLE, CONSOLE_LOG, RUN_TIMEOUT))
        except OSError as e:
            raise TestFailure("cannot reach the nested machine's console %r: %s" % (CONSOLE, e))
    return _console[0]


# The first command the nested machine did not answer in time: the rest
# of the file's tests fail at once instead of each waiting out its own
# time limit, so that the runner can try the file in a fresh machine.
_unanswered = []


def shell(text, timeout=RUN_TIMEOUT):
    """Runs shell text in the nested machine; returns (status, output text)."""
    if _unanswered:
        raise TestFailure("nested machine: it stopped answering at %s" % _unanswered[0])
    try:
        status, out = console().shell(text, timeout)
    except ChannelTimeout as e:
        _unanswered.append(repr(text[:60]))
        raise TestFailure("nested machine: %s" % e)
    except (ChannelError, OSError) as e:
        raise TestFailure("nested machine: %s" % e)
    return status, out.decode("utf-8", "replace")


class Vm(base.Vm):
    """One kvmdbg process inside the nested machine, run by init.sh's start
    under a scratch directory there; kvmdbg_e2e.Vm's interface."""

    def __init__(self, argv):
        _runs[0] += 1
        # Named for this gdb process too: the runner's stop_all finds them.
        self.dir = "/tmp/kvmdbg-%d-%d" % (os.getpid(), _runs[0])
        self.status = None
        self.port = None
        self.elf = None
        # (stdout, stderr) once the process has ended: they change no more.
        self.final = None
        text = "rm -rf %s && start %s %s" % (self.dir, self.dir, " ".join(map(shlex.quote, argv)))
        # A stub's listening line comes with the same request: each costs a
        # quarter of a second of the nested machine's forks and execs.
        if "--gdb" in argv:
            text += " && listening %s %d" % (self.dir, STARTUP_TIMEOUT)
        status, out = shell(text, timeout=3 * STARTUP_TIMEOUT + 30)
        check(status == 0, "cannot start %r inside: %s" % (argv, out))
        self.started = out
        base._live.append(self)

    def _file(self, name):
        status, out = shell("cat %s/%s" % (self.dir, name))
        return out if status == 0 else ""

    def serial(self):
        out = self.final[0] if self.final else self._file("out")
        return out.replace("\r\n", "\n")

    def stderr(self):
        return self.final[1] if self.final else self._file("err")

    def _await(self, seconds):
        # A nested machine whose CPUs both run a guest's vCPUs answers
        # slowly: its shell's seconds last longer than ours.
        _, out = shell("await %s %d" % (self.dir, seconds), timeout=3 * seconds + 30)
        return int(out) if out.strip() else None

    def _finished(self, seconds):
        """_await, and the outputs of a process that has ended with it."""
        _, out = shell("finished %s %d" % (self.dir, seconds), timeout=3 * seconds + 30)
        if not out.strip():
            return None
        status, rest = out.split(END_OF_FILE, 1)
        # stderr is kvmdbg's own: a guest's output that looks like the
        # separator can only be in stdout.
        self.final = tuple(rest.rsplit(END_OF_FILE, 1))
        return int(status)

    def poll(self):
        return self.status if self.status is not None else self._await(0)

    def wait_listening(self, timeout=STARTUP_TIMEOUT):
        return self.listening_in(self.started) or super().wait_listening(timeout)

    def wait(self, timeout=RUN_TIMEOUT):
        """The exit status; a test failure if it does not come in time."""
        deadline = time.monotonic() + timeout
        while self.status is None:
            left = int(deadline - time.monotonic())
            if left <= 0:
                raise TestFailure("kvmdbg still running after %ds; serial so far %r"
                                  % (timeout, self.serial()))
            self.status = self._finished(min(left, 10))
        return self.status

    def expect_exit(self, status, timeout=RUN_TIMEOUT):
        super().expect_exit(status, timeout)

    def postmortem(self):
        """What the nested machine's kernel logged of an oops, a warning, a
        process it killed or one that crashed: its console shows none.  And
        the state of its sockets on the gdb port: gdb reads the end of its
        connection from qemu's port forward, which ends it both when the
        kvmdbg inside closed its side (FIN_WAIT, TIME_WAIT) and when it
        dropped the connection on its own (the side inside still open)."""
        _, out = shell("dmesg | grep -i -E 'oops|bug:|warning:|killed process|unhandled|"
                       "segfault|kernel panic' | tail -n 4")
        seen = "nested kernel: " + out if out.strip() else ""
        _, table = shell("cat /proc/net/tcp")
        socks = gdb_port_sockets(table)
        return "; ".join(filter(None, (seen, "nested sockets on port %d: %s"
                                       % (GDB_PORT_INSIDE, socks or "none"))))

    def symbols(self):
        # The suite's runner built it next to the guests.
        binary = os.path.join(os.path.dirname(os.environ.get("KVMDBG_GUESTS", "")), "kvmdbg")
        arm64 = os.environ.get("KVMDBG_ARCH") == "arm64"
        return binary, "aarch64-linux-gnu-addr2line" if arm64 else "addr2line"

    def kill(self):
        """Ends the process; no sanitizer runs inside.  Its files stay for
        the runner's stop_all to remove, and one that has ended costs no
        request at all."""
        if self.status is not None:
            return
        try:
            shell("stop %s" % self.dir)
        except TestFailure:
            pass


# /proc/net/tcp's st column (include/net/tcp_states.h).
TCP_STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 3: "SYN_RECV", 4: "FIN_WAIT1",
              5: "FIN_WAIT2", 6: "TIME_WAIT", 7: "CLOSE", 8: "CLOSE_WAIT", 9: "LAST_ACK",
              10: "LISTEN", 11: "CLOSING"}


def gdb_port_sockets(table):
    """The TCP sockets of /proc/net/tcp on GDB_PORT_INSIDE, as "LISTEN,
    STATE from port N, ...": which side ended a connection gdb saw closed."""
    out = []
    for line in table.splitlines()[1:]:
        f = line.split()
        if len(f) < 4 or ":" not in f[1] or ":" not in f[2]:
            continue
        if int(f[1].rsplit(":", 1)[1], 16) != GDB_PORT_INSIDE:
            continue
        state = TCP_STATES.get(int(f[3], 16), f[3])
        peer = int(f[2].rsplit(":", 1)[1], 16)
        out.append(state if state == "LISTEN" else "%s from port %d" % (state, peer))
    return ", ".join(out)


def put_file(path, data):
    """Writes bytes to a file inside.  Compressed on the way: the console
    takes about 3 KB a second into the nested machine."""
    text = base64.b64encode(gzip.compress(data)).decode()
    status, out = shell("echo %s | base64 -d | gunzip >%s" % (text, shlex.quote(path)))
    check(status == 0, "writing %s inside: %s" % (path, out))


def kvmdbg(*args):
    """Starts kvmdbg inside with exactly these arguments."""
    return Vm([KVMDBG_INSIDE] + list(args))


def run(guest, args=(), timeout=RUN_TIMEOUT):
    """Runs a guest without a debugger; returns the finished Vm."""
    guest_path(guest)
    vm = kvmdbg("run", *args, GUESTS_INSIDE + "/" + guest)
    vm.wait(timeout)
    return vm


def debug(guest, extra=()):
    """Starts kvmdbg inside, stopped before the first guest instruction, and
    connects gdb to it; returns the Vm (vm.elf holds the guest's symbols)."""
    path = guest_path(guest)
    vm = kvmdbg("run", "--gdb", "tcp:0.0.0.0:%d" % GDB_PORT_INSIDE, "-S", *extra,
                GUESTS_INSIDE + "/" + guest)
    vm.wait_listening()
    check_eq(vm.port, GDB_PORT_INSIDE, "port kvmdbg listens on inside")
    vm.elf = Elf(path)
    gdb_run("file " + path)
    connect()
    return vm


def connect():
    base.connect(PORT)


def rsp_client():
    """A raw protocol connection to the kvmdbg inside, closed after the test."""
    return Rsp(PORT, timeout=RUN_TIMEOUT)


def resume(cmd="continue", timeout=RUN_TIMEOUT):
    return base.resume(cmd, timeout)


def stepi():
    """One gdb stepi, which must produce exactly one stop; returns the pc."""
    before = len(events.stops)
    resume("stepi")
    check_eq(len(events.stops), before + 1, "stops produced by one stepi")
    return pc()


def cont(timeout=RUN_TIMEOUT):
    return base.cont(timeout)


def cont_to_exit(vm, code, timeout=RUN_TIMEOUT):
    base.cont_to_exit(vm, code, timeout)


def thread_pcs():
    """{gdb thread number: pc} of every vCPU."""
    pcs = {}
    for t in gdb.selected_inferior().threads():
        t.switch()
        gdb_run("maint flush register-cache")
        pcs[t.num] = pc()
    gdb_run("thread 1")
    return pcs


def interrupt_on_serial(vm, text, timeout):
    """continue, and Ctrl-C once text is on the serial console; returns the stop."""
    seen = threading.Event()
    done = threading.Event()

    def watch():
        while not done.wait(2):
            if text in vm.serial():
                seen.set()
                os.kill(os.getpid(), signal.SIGINT)
                return

    before = len(events.stops)
    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        resume("continue", timeout)
    finally:
        done.set()
        watcher.join()
    check(seen.is_set(), "stopped before %r was printed" % text)
    check_eq(len(events.stops), before + 1, "stops after the interrupt")
    check_eq(events.stops[-1]["signal"], "SIGINT", "stop signal")


def rows(table):
    """A "key: value" table (probe, monitor caps) as a dict."""
    out = {}
    for line in table.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            out[key.strip()] = value.strip()
    return out


def slots(row):
    """The number of debug-register slots a probe or caps row names
    ("yes, 6 slots (...)", "write/access by 4 ... slots, ..."), or None."""
    m = re.search(r"\b(\d+)\b[^,;]*\bslots\b", row or "")
    return int(m.group(1)) if m else None


def main():
    # The host needs no /dev/kvm: kvmdbg runs in the nested machine.
    base.main(connect_timeout=20, remote_timeout=30, local_kvm=False)
