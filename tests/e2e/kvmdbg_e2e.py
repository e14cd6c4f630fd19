# SPDX-License-Identifier: MIT
"""End-to-end test support: drives kvmdbg with a real gdb.

Test files are gdb scripts run as ``gdb -batch -nx -q -x test_X.py`` with
KVMDBG (the binary) and KVMDBG_GUESTS (the built guests) set.
A file defines functions decorated with @test and calls main(), which runs
them in order, each against fresh kvmdbg processes that are always torn
down afterwards, and prints one line per test:

    PLAN: <number of tests>
    PASS: <name>
    FAIL: <name>: <why>
    SKIP: <name>: <why>
"""

import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time
import traceback

import gdb

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
KVMDBG = os.environ.get("KVMDBG", "")
GUESTS = os.environ.get("KVMDBG_GUESTS", "")

STARTUP_TIMEOUT = 10    # kvmdbg up and listening
RUN_TIMEOUT = 30        # one continue, or a whole guest run
SANITIZER_RE = re.compile(r"^.*(ERROR: \w+Sanitizer|WARNING: ThreadSanitizer|runtime error:).*$", re.M)
LISTEN_RE = re.compile(r"^kvmdbg: gdb stub listening on (tcp:[0-9.]+:(\d+)|unix:(\S+))$", re.M)
# What demo.elf prints when it runs undisturbed.
DEMO_SERIAL = ("demo: hello from the kvmdbg demo guest\n"
               "demo: sled clean\n"
               "demo: patch 0x00000011\n"
               "demo: counter 3 result 0x0000000000000057\n")


class TestFailure(Exception):
    pass


class TestSkipped(Exception):
    """What the test needs is missing from this machine: reported as SKIP."""


# ---- assertions -------------------------------------------------------------

def check(cond, why):
    if not cond:
        raise TestFailure(why)


def check_eq(actual, expected, what):
    if actual == expected:
        return
    if isinstance(actual, bytes) and isinstance(expected, bytes):
        raise TestFailure("%s: %s" % (what, _bytes_diff(actual, expected)))
    raise TestFailure("%s: expected %s, got %s" % (what, _show(expected), _show(actual)))


def _bytes_diff(actual, expected):
    at = next((i for i, (a, e) in enumerate(zip(actual, expected)) if a != e),
              min(len(actual), len(expected)))
    lo = max(0, at - 4)
    return "%d bytes, expected %d; first difference at offset %#x: expected %s..., got %s..." % (
        len(actual), len(expected), at, expected[lo:at + 12].hex(), actual[lo:at + 12].hex())


def _show(v):
    if isinstance(v, int) and not isinstance(v, bool):
        return hex(v)
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    return repr(v)


def check_raises(fn, what, pattern=None):
    """fn() must raise gdb.error/gdb.MemoryError (optionally matching pattern)."""
    try:
        fn()
    except (gdb.error, gdb.MemoryError) as e:
        if pattern and not re.search(pattern, str(e)):
            raise TestFailure("%s: error %r does not match %r" % (what, str(e), pattern))
        return str(e)
    raise TestFailure("%s: succeeded, expected an error" % what)


# ---- guest images -----------------------------------------------------------

def guest_path(name):
    path = os.path.join(GUESTS, name)
    if not os.path.isfile(path):
        raise TestFailure("guest image %s is missing (make guests)" % path)
    return path


class Elf:
    """The few facts tests need from an ELF image: symbols and file bytes."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if d[:4] != b"\x7fELF":
            raise TestFailure("%s is not an ELF file" % path)
        self.is64 = d[4] == 2
        if self.is64:
            (self.entry, phoff, shoff) = struct.unpack_from("<QQQ", d, 24)
            (phentsize, phnum, shentsize, shnum, _) = struct.unpack_from("<HHHHH", d, 54)
        else:
            (self.entry, phoff, shoff) = struct.unpack_from("<III", d, 24)
            (phentsize, phnum, shentsize, shnum, _) = struct.unpack_from("<HHHHH", d, 42)
        self.segments = []
        for i in range(phnum):
            o = phoff + i * phentsize
            if self.is64:
                (ptype, _, off, vaddr, _, filesz, memsz, _) = \
                    struct.unpack_from("<IIQQQQQQ", d, o)
            else:
                (ptype, off, vaddr, _, filesz, memsz, _, _) = \
                    struct.unpack_from("<IIIIIIII", d, o)
            if ptype == 1:
                self.segments.append((vaddr, off, filesz, memsz))
        (shstrndx,) = struct.unpack_from("<H", d, 62 if self.is64 else 50)
        self.symbols = {}
        sections = []
        names = []
        for i in range(shnum):
            o = shoff + i * shentsize
            if self.is64:
                (nameoff, stype, _, addr, off, size, link, _, _, entsize) = \
                    struct.unpack_from("<IIQQQQIIQQ", d, o)
            else:
                (nameoff, stype, _, addr, off, size, link, _, _, entsize) = \
                    struct.unpack_from("<IIIIIIIIII", d, o)
            sections.append((stype, off, size, link, entsize))
            names.append((nameoff, addr, size))
        self.sections = {}
        if shnum:
            base = sections[shstrndx][1]
            for (nameoff, addr, size) in names:
                end = d.index(b"\0", base + nameoff)
                self.sections[d[base + nameoff:end].decode()] = (addr, size)
        for (stype, off, size, link, entsize) in sections:
            if stype != 2:  # SHT_SYMTAB
                continue
            stroff = sections[link][1]
            for o in range(off, off + size, entsize):
                if self.is64:
                    (name, _, _, _, value, symsize) = struct.unpack_from("<IBBHQQ", d, o)
                else:
                    (name, value, symsize, _, _, _) = struct.unpack_from("<IIIBBH", d, o)
                if name:
                    end = d.index(b"\0", stroff + name)
                    self.symbols[d[stroff + name:end].decode()] = (value, symsize)

    def sym(self, name):
        if name not in self.symbols:
            raise TestFailure("symbol %s not in %s" % (name, self.path))
        return self.symbols[name][0]

    def section(self, name):
        """(address, size) of a section."""
        if name not in self.sections:
            raise TestFailure("no section %s in %s" % (name, self.path))
        return self.sections[name]

    def sym_size(self, name):
        self.sym(name)
        return self.symbols[name][1]

    def bytes_at(self, addr, n):
        """The loaded image's bytes at addr as the file holds them."""
        for (vaddr, off, filesz, memsz) in self.segments:
            if vaddr <= addr and addr + n <= vaddr + memsz:
                out = bytearray(n)
                avail = max(0, min(n, vaddr + filesz - addr))
                out[:avail] = self.data[off + addr - vaddr:off + addr - vaddr + avail]
                return bytes(out)
        raise TestFailure("%#x+%d is not inside %s" % (addr, n, self.path))


# ---- kvmdbg processes -------------------------------------------------------

_live = []      # everything a test started, torn down by main()


class _Scratch:
    def __init__(self):
        self.path = tempfile.mkdtemp(prefix="kvmdbg-e2e-")

    def kill(self):
        shutil.rmtree(self.path, ignore_errors=True)


def scratch():
    """A directory that lives until the end of the current test."""
    s = _Scratch()
    _live.append(s)
    return s.path


class Vm:
    """One kvmdbg process, with its serial output and stderr in files."""

    def __init__(self, argv):
        self.dir = tempfile.mkdtemp(prefix="kvmdbg-e2e-")
        self.out_path = os.path.join(self.dir, "stdout")
        self.err_path = os.path.join(self.dir, "stderr")
        self.argv = argv
        self.status = None
        self.port = None
        self.elf = None
        with open(self.out_path, "wb") as out, open(self.err_path, "wb") as err:
            self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                         stderr=err, start_new_session=True)
        _live.append(self)

    def serial(self):
        with open(self.out_path, "rb") as f:
            return f.read().decode("utf-8", "replace").replace("\r\n", "\n")

    def stderr(self):
        with open(self.err_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def poll(self):
        """The exit status, or None while kvmdbg runs."""
        return self.proc.poll()

    def listening_in(self, text):
        """The address of kvmdbg's listening line in its stderr text (its
        port kept in self.port), or None."""
        m = LISTEN_RE.search(text)
        if not m:
            return None
        self.port = int(m.group(2)) if m.group(2) else None
        return m.group(1)

    def wait_listening(self, timeout=STARTUP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            address = self.listening_in(self.stderr())
            if address:
                return address
            status = self.poll()
            if status is not None:
                raise TestFailure("kvmdbg exited with status %d before listening: %s"
                                  % (status, self.stderr().strip()))
            if time.monotonic() > deadline:
                raise TestFailure("kvmdbg printed no listening line within %ds: %r"
                                  % (timeout, self.stderr()))
            time.sleep(0.02)

    def wait(self, timeout=RUN_TIMEOUT):
        """The exit status; a test failure if it does not come in time."""
        try:
            self.status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure("kvmdbg still running after %ds; serial so far %r"
                              % (timeout, self.serial()))
        return self.status

    def expect_exit(self, status, timeout=RUN_TIMEOUT):
        got = self.wait(timeout)
        if got != status:
            raise TestFailure("kvmdbg exit status: expected %d, got %d; serial %r; stderr %r"
                              % (status, got, self.serial(), self.stderr()))

    def postmortem(self):
        """After a gdb error, what else tells why gdb lost kvmdbg: nothing
        more for a local process, whose state and stderr say it."""
        return ""

    def symbols(self):
        """The kvmdbg binary with this process's symbols, and the addr2line
        that reads it."""
        return self.argv[0], "addr2line"

    def kill(self):
        """Ends the process; returns any sanitizer report it printed."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            pass
        report = SANITIZER_RE.search(self.stderr())
        for name in (self.out_path, self.err_path):
            if os.path.exists(name):
                os.unlink(name)
        os.rmdir(self.dir)
        return report.group(0).strip() if report else None


def exit_status(code):
    """kvmdbg's exit status for a guest that wrote code to the exit port."""
    return (code << 1) | 1


def run(guest, args=(), guest_args=None, timeout=RUN_TIMEOUT):
    """Runs kvmdbg without a debugger; returns the finished Vm."""
    argv = [KVMDBG, "run"] + list(args) + [guest]
    if guest_args is not None:
        argv += ["--"] + list(guest_args)
    vm = Vm(argv)
    vm.wait(timeout)
    return vm


def kvmdbg(*args):
    """Starts kvmdbg with exactly these arguments."""
    return Vm([KVMDBG] + list(args))


# ---- gdb sessions -------------------------------------------------------------

class _Recorder:
    def __init__(self):
        self.stops = []
        self.exits = []

    def on_stop(self, ev):
        entry = {"pc": None, "signal": None, "breakpoints": []}
        try:
            entry["pc"] = int(gdb.selected_frame().pc())
        except gdb.error:
            pass
        if isinstance(ev, gdb.SignalEvent):
            entry["signal"] = ev.stop_signal
        if isinstance(ev, gdb.BreakpointEvent):
            entry["signal"] = "SIGTRAP"
            entry["breakpoints"] = [b.number for b in ev.breakpoints]
        self.stops.append(entry)

    def on_exit(self, ev):
        self.exits.append(ev.exit_code if hasattr(ev, "exit_code") else None)

    def reset(self):
        self.stops.clear()
        self.exits.clear()


events = _Recorder()


def gdb_run(cmd):
    """A gdb command whose output is returned rather than printed."""
    return gdb.execute(cmd, to_string=True)


def debug(guest_name):
    """Starts kvmdbg stopped before the first guest instruction and connects
    gdb to it; returns the Vm (vm.elf holds the guest's symbols)."""
    path = guest_path(guest_name)
    vm = Vm([KVMDBG, "run", "--gdb", "tcp:127.0.0.1:0", "-S", path])
    vm.wait_listening()
    check(vm.port is not None and 0 < vm.port < 65536, "no tcp port in the listening line")
    vm.elf = Elf(path)
    gdb_run("file " + path)
    connect(vm.port)
    return vm


def free_port():
    """A loopback port free now, for a program that takes no port 0 (QEMU)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def connect(port):
    gdb_run("target remote 127.0.0.1:%d" % port)
    events.reset()


def connected():
    return gdb.selected_inferior().connection is not None and \
        gdb.selected_inferior().pid != 0


def resume(cmd="continue", timeout=RUN_TIMEOUT):
    """Runs a resuming gdb command; if the target has not stopped after
    timeout seconds, gdb is interrupted (as with Ctrl-C) and the test fails."""
    fired = []

    def expire():
        fired.append(True)
        os.kill(os.getpid(), signal.SIGINT)

    timer = threading.Timer(timeout, expire)
    timer.start()
    try:
        out = gdb_run(cmd)
    except KeyboardInterrupt:
        out = ""
    finally:
        timer.cancel()
    if fired:
        raise TestFailure("%r did not stop within %ds" % (cmd, timeout))
    return out


def interrupt_after(seconds, cmd="continue", timeout=20):
    """Runs cmd and stops it as a terminal's Ctrl-C would; returns the stop.
    timeout: how long the stop may take to come after the interrupt."""
    before = len(events.stops)
    timer = threading.Timer(seconds, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        resume(cmd, timeout=seconds + timeout)
    finally:
        timer.cancel()
    check_eq(len(events.stops), before + 1, "stops after the interrupt")
    check_eq(events.stops[-1]["signal"], "SIGINT", "stop signal")
    return events.stops[-1]


def _stepi_thread(num, what):
    before = pc()
    stops = len(events.stops)
    resume("stepi")
    check_eq(len(events.stops), stops + 1, "stops after %s" % what)
    check_eq(gdb.selected_thread().num, num, "thread after %s" % what)
    check(pc() != before, "%s left pc at %#x" % (what, before))


def check_scheduler_locking(spins, stepper=1, spinner=2, settle=0.5):
    """Everything stopped, gdb thread spinner in a loop that counts in the
    8 bytes at spins, thread stepper in a loop too: under scheduler-locking
    stepping the stepper moves neither the count nor the spinner; unlocked,
    steps (within a hundred, in practice a few) and a continue interrupted
    after settle seconds do move the count.  Leaves the stepper selected."""
    gdb_run("thread %d" % spinner)
    spinner_pc = pc()
    gdb_run("thread %d" % stepper)
    gdb_run("set scheduler-locking on")
    try:
        count = read_u64(spins)
        for n in range(5):
            _stepi_thread(stepper, "locked stepi %d" % n)
            check_eq(read_u64(spins), count, "spin count after locked stepi %d" % n)
        gdb_run("thread %d" % spinner)
        gdb_run("maint flush register-cache")
        check_eq(pc(), spinner_pc, "pc of the spinning thread after the others stepped")
        gdb_run("thread %d" % stepper)
    finally:
        gdb_run("set scheduler-locking off")
    count = read_u64(spins)
    for n in range(100):
        _stepi_thread(stepper, "unlocked stepi %d" % n)
        if read_u64(spins) != count:
            break
    check(read_u64(spins) > count, "spin count did not move during 100 unlocked stepi")
    count = read_u64(spins)
    interrupt_after(settle)
    check(read_u64(spins) > count, "spin count did not move after continue")


def wait_until(cond, what, timeout=RUN_TIMEOUT):
    """Polls cond() until it holds; a test failure if it never does within
    timeout seconds (a hang guard, not a measure)."""
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TestFailure("%s within %ds" % (what, timeout))
        time.sleep(0.05)


def cont(timeout=RUN_TIMEOUT):
    """continue; returns the stop it produced."""
    before = len(events.stops)
    resume("continue", timeout)
    check(len(events.stops) > before, "continue produced no stop event (exits: %r)" % events.exits)
    return events.stops[-1]


def cont_to_exit(vm, code, timeout=RUN_TIMEOUT):
    """continue until the guest exits through the exit port with code: gdb
    must report the process exit and kvmdbg must exit with the status."""
    before = len(events.stops)
    resume("continue", timeout)
    check(len(events.stops) == before, "guest stopped at %s instead of exiting"
          % _describe_stops(events.stops[before:]))
    check(events.exits, "gdb saw no process exit")
    check_eq(events.exits[-1], exit_status(code), "exit code reported to gdb")
    vm.expect_exit(exit_status(code))


def _describe_stops(stops):
    return ", ".join("%s@%s" % (s["signal"], hex(s["pc"]) if s["pc"] is not None else "?")
                     for s in stops)


def pc():
    return reg("pc")


def reg(name):
    return int(gdb.parse_and_eval("$" + name)) & 0xffffffffffffffff


def set_reg(name, value):
    gdb_run("set $%s = %d" % (name, value))


def xmm(n):
    v = gdb.parse_and_eval("$xmm%d" % n)["v2_int64"]
    return (int(v[0]) & 0xffffffffffffffff) | ((int(v[1]) & 0xffffffffffffffff) << 64)


def read_mem(addr, n):
    return gdb.selected_inferior().read_memory(addr, n).tobytes()


# A raw x86-64 guest that triple-faults: lidt of an empty table, then ud2
# (neither #UD nor #DF can be delivered); and what kvmdbg says of it where
# KVM resets the vCPU at the shutdown (AMD).
TRIPLE_FAULT_CODE = (b"\x0f\x01\x1d\x02\x00\x00\x00"    # lidt 2(%rip)
                     b"\x0f\x0b"                          # ud2
                     + bytes(10))                         # limit 0, base 0
TRIPLE_FAULT_RESET = ("kvmdbg: guest shut down (triple fault) on vCPU 0; this host's KVM reset "
                      "the vCPU at the shutdown, as it does on AMD processors, so where it "
                      "faulted is lost\n")
X86_TF = 0x100


def pushflags_trap_flags():
    """pushflags.elf stopped after its pushfq and pushfw: the trap flag of
    each image on its stack, as [pushfw's, pushfq's] (both 0 when the
    stepped pushf stored the guest's own flags)."""
    images = [int.from_bytes(read_mem(reg("rsp") + off, size), "little")
              for off, size in ((0, 2), (2, 8))]
    return [i & X86_TF for i in images], [hex(i) for i in images]


def write_mem(addr, data):
    gdb.selected_inferior().write_memory(addr, bytes(data))


def read_u64(addr):
    return struct.unpack("<Q", read_mem(addr, 8))[0]


def read_u32(addr):
    return struct.unpack("<I", read_mem(addr, 4))[0]


def bp_address(bp):
    """The address gdb resolved a breakpoint to."""
    locs = bp.locations
    check(len(locs) == 1, "breakpoint %s has %d locations" % (bp.location, len(locs)))
    return int(locs[0].address)


def frame_names():
    names = []
    f = gdb.newest_frame()
    while f is not None:
        names.append(f.name())
        f = f.older()
    return names


def monitor(cmd):
    return gdb_run("monitor " + cmd)


def in_function(vm, name, addr):
    start = vm.elf.sym(name)
    return start <= addr < start + vm.elf.sym_size(name)


def stub_bytes(addr, n):
    """Guest memory as the stub reports it, bypassing gdb's own caches."""
    out = b""
    while len(out) < n:
        at, k = addr + len(out), min(0x200, n - len(out))
        reply = packet("m%x,%x" % (at, k))
        check(len(reply) == 2 * k, "m%x,%x answered %r" % (at, k, reply[:40]))
        out += bytes.fromhex(reply)
    return out


def packet(payload):
    """Sends one raw packet through gdb's connection; returns the reply."""
    out = gdb_run("maint packet " + payload)
    m = re.search(r'^received: "(.*)"$', out, re.M)
    check(m is not None, "no reply to %r in %r" % (payload[:40], out))
    return m.group(1)


def source_line(relpath, text):
    """The line number of the first line of a source file containing text."""
    with open(os.path.join(REPO, relpath)) as f:
        for n, line in enumerate(f, 1):
            if text in line:
                return n
    raise TestFailure("%r not found in %s" % (text, relpath))


def kill_session():
    """Ends the gdb side of a test, whatever state it is in."""
    try:
        if connected():
            gdb_run("kill")
    except gdb.error:
        pass
    try:
        if gdb.selected_inferior().connection is not None:
            gdb_run("disconnect")
    except gdb.error:
        pass
    try:
        gdb_run("delete")
    except gdb.error:
        pass


# ---- a second gdb ---------------------------------------------------------------

class ChildGdb:
    """A separate gdb driven through its machine interface: for what gdb does
    in the background (interrupt) and for a gdb that gets killed."""

    def __init__(self, elf=None):
        argv = ["gdb", "-nx", "-q", "--interpreter=mi2"] + ([elf] if elf else [])
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        self.lines = []
        self.cursor = 0
        self.token = 0
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()
        _live.append(self)
        for setting in ("mi-async on", "confirm off", "pagination off"):
            self.mi("-gdb-set " + setting)

    def _reader(self):
        for raw in self.proc.stdout:
            with self.cond:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\r\n"))
                self.cond.notify_all()
        with self.cond:
            self.lines.append(None)
            self.cond.notify_all()

    def _await(self, start, pattern, timeout, what):
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for i in range(start, len(self.lines)):
                    line = self.lines[i]
                    if line is None:
                        raise TestFailure("gdb exited while waiting for %s" % what)
                    if re.search(pattern, line):
                        return i, line
                start = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TestFailure("gdb gave no %s within %ds (last output %r)"
                                      % (what, timeout, self.lines[-3:]))
                self.cond.wait(left)

    def mi(self, command, timeout=15):
        """Runs an MI command; returns its result record, failing on ^error.
        Asynchronous records from before the result are passed over."""
        self.token += 1
        with self.cond:
            start = len(self.lines)
        self.proc.stdin.write(("%d%s\n" % (self.token, command)).encode())
        self.proc.stdin.flush()
        i, line = self._await(start, r"^%d\^" % self.token, timeout, "reply to " + command)
        self.cursor = max(self.cursor, i + 1)
        if line.startswith("%d^error" % self.token):
            raise TestFailure("gdb refused %s: %s" % (command, line))
        return line

    def console(self, command, timeout=15):
        return self.mi('-interpreter-exec console "%s"' % command.replace('"', '\\"'), timeout)

    def value(self, expr):
        """An integer expression's value."""
        return int(self.mi("-data-evaluate-expression " + expr).split('value="')[1].split('"')[0])

    def interrupt_after(self, seconds, command="-exec-continue", timeout=20):
        """Runs command, and after seconds stops it with gdb's own interrupt
        (a Ctrl-C byte to the stub); returns the stop record, checked to be
        a SIGINT one."""
        self.mi(command)
        self.wait_for(r"^\*running", 10)
        time.sleep(seconds)
        self.mi("-exec-interrupt")
        stop = self.wait_for(r"^\*stopped", timeout)
        check('signal-name="SIGINT"' in stop, "stop record %r" % stop)
        return stop

    def wait_for(self, pattern, timeout=RUN_TIMEOUT):
        """The next output line (after the previous match) matching pattern."""
        i, line = self._await(self.cursor, pattern, timeout, repr(pattern))
        self.cursor = i + 1
        return line

    def quit(self):
        try:
            self.proc.stdin.write(b"-gdb-exit\n")
            self.proc.stdin.flush()
            self.proc.wait(10)
        except (OSError, subprocess.TimeoutExpired):
            self.kill()

    def kill(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


# ---- raw protocol client ------------------------------------------------------

class Rsp:
    """A minimal remote-protocol client for what gdb itself never sends.
    Asynchronous notifications (%Name:...#cs, never acknowledged) that come
    before an ack or a packet are kept, in order, in notes."""

    def __init__(self, port, timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        # as gdb does: acks and packets are tiny writes that must not wait
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = b""
        self.notes = []
        _live.append(self)

    @staticmethod
    def frame(payload):
        if isinstance(payload, str):
            payload = payload.encode()
        return b"$" + payload + b"#%02x" % (sum(payload) & 0xff)

    def send_raw(self, data):
        self.sock.sendall(data)

    def _byte(self):
        while not self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise TestFailure("stub closed the connection")
            self.buf += chunk
        b, self.buf = self.buf[:1], self.buf[1:]
        return b

    def read_ack(self):
        """The next '+' or '-'."""
        while True:
            b = self._byte()
            if b in (b"+", b"-"):
                return b
            if b == b"%":
                self._read_note()
                continue
            if b == b"$":
                raise TestFailure("expected an ack, got packet %s" % _shown(self._framed()))
            raise TestFailure("expected an ack, got %r" % b)

    def _framed(self):
        """What follows a '$' or '%' up to its '#', checksum checked."""
        body = b""
        while True:
            b = self._byte()
            if b == b"#":
                break
            body += b
        csum = self._byte() + self._byte()
        check(int(csum, 16) == sum(body) & 0xff, "bad checksum from stub on %r" % body)
        return body

    def _read_note(self):
        self.notes.append(decode_body(self._framed()).decode("latin-1"))

    def read_body(self):
        """The next packet's body as sent (escapes and runs kept); acknowledged."""
        while True:
            b = self._byte()
            if b == b"$":
                break
            if b == b"%":
                self._read_note()
        body = self._framed()
        self.send_raw(b"+")
        return body

    def notification(self, timeout):
        """The oldest notification not yet taken, waiting up to timeout
        seconds for one; a packet coming instead is a test failure."""
        if not self.notes:
            self.sock.settimeout(timeout)
            try:
                while not self.notes:
                    b = self._byte()
                    if b == b"%":
                        self._read_note()
                    elif b == b"$":
                        raise TestFailure("packet %s while waiting for a notification"
                                          % _shown(self._framed()))
                    else:
                        raise TestFailure("%r while waiting for a notification" % b)
            except socket.timeout:
                raise TestFailure("no notification within %ds" % timeout)
            finally:
                self.sock.settimeout(self.timeout)
        return self.notes.pop(0)

    def read_packet(self):
        """The next packet's payload, run-length decoded; acknowledged."""
        return decode_body(self.read_body()).decode("latin-1")

    def request(self, payload):
        """Sends a packet, expects '+' and returns the reply payload."""
        self.send_raw(self.frame(payload))
        check_eq(self.read_ack(), b"+", "ack for %r" % payload[:40])
        return self.read_packet()

    def read_memory(self, addr, n, chunk=1024):
        out = b""
        while len(out) < n:
            k = min(chunk, n - len(out))
            r = self.request("m%x,%x" % (addr + len(out), k))
            check(re.fullmatch(r"([0-9a-f]{2})+", r) is not None,
                  "m%x,%x returned %r" % (addr + len(out), k, r[:40]))
            out += bytes.fromhex(r)
        return out

    def kill(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _shown(body):
    """A packet body for a failure message: console output as its text."""
    if re.fullmatch(rb"O([0-9a-f]{2})+", body):
        return "O (console output %r)" % bytes.fromhex(body[1:].decode())[:200]
    return repr(body[:80])


def _unescape(body):
    out = bytearray()
    it = iter(body)
    for c in it:
        if c == 0x7d:
            out.append(next(it) ^ 0x20)
        else:
            out.append(c)
    return bytes(out)


def _rle_decode(body):
    out = bytearray()
    i = 0
    while i < len(body):
        if body[i] == 0x2a and out:
            out += out[-1:] * (body[i + 1] - 29)
            i += 2
        else:
            out.append(body[i])
            i += 1
    return bytes(out)


def decode_body(body):
    """A packet body as gdb reads it: runs expanded first, then escapes undone."""
    return _unescape(_rle_decode(body))


# ---- the test driver ----------------------------------------------------------

_tests = []
_result_notes = []     # said on the running test's PASS line


def test(fn):
    _tests.append(fn)
    return fn


def note_on_result(text):
    """Something the running test did that its PASS line must say (a retry
    of what the nested machine broke, never silent)."""
    _result_notes.append(text)


def _cleanup():
    """Tears down everything the test started; returns sanitizer reports."""
    kill_session()
    reports = []
    while _live:
        report = _live.pop().kill()
        if report:
            reports.append(report)
    return reports


def _one_line(text, limit=600):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


CRASH_OFFSET = re.compile(r"\bkvmdbg\+(0x[0-9a-f]+)")


def crash_site(vm, stderr):
    """The functions and source lines of the kvmdbg+OFFSET addresses in a
    crash report on stderr, or ""."""
    offsets = CRASH_OFFSET.findall(stderr)
    binary, addr2line = vm.symbols()
    if not offsets or not os.path.exists(binary) or shutil.which(addr2line) is None:
        return ""
    r = subprocess.run([addr2line, "-f", "-e", binary] + offsets, capture_output=True, text=True,
                       timeout=60)
    lines = r.stdout.splitlines()
    return ", ".join("%s in %s at %s" % (off, fn, where)
                     for off, fn, where in zip(offsets, lines[0::2], lines[1::2]))


def _kvmdbg_states(exited_only=False):
    """What became of the test's kvmdbg processes, for a gdb error: a
    connection gdb saw closed says nothing of why; for any other failure,
    those that have ended (a guest that crashed under a check)."""
    out = ""
    for vm in [v for v in _live if isinstance(v, Vm)]:
        try:
            status = vm.poll()
            if exited_only and status is None:
                continue
            state = "running" if status is None else "exited with status %d" % status
            err = vm.stderr()
            out += "; kvmdbg %s, stderr %s" % (state, _one_line(repr(err[-400:]), 420))
            site = crash_site(vm, err)
            if site:
                out += "; crashed at %s" % site
            seen = vm.postmortem()
            if seen:
                out += "; %s" % _one_line(seen, 600)
        except (TestFailure, OSError) as e:
            out += "; kvmdbg state unknown: %s" % _one_line(e, 200)
    return out


def _stub_states():
    """For a test that waited in vain: where the stub and vCPU threads of
    each kvmdbg still running were (stub_state.py, run by an attached gdb)."""
    out = ""
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "stub_state.py")
    for vm in [v for v in _live if isinstance(v, Vm) and v.poll() is None]:
        try:
            r = subprocess.run(["gdb", "-nx", "-batch", "-p", str(vm.proc.pid), "-x", script],
                               capture_output=True, text=True, timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            out += "; stub state unknown: %s" % _one_line(e, 200)
            continue
        lines = [line for line in r.stdout.splitlines() if line.startswith("STUB-STATE: ")]
        out += "; " + (_one_line(lines[-1][len("STUB-STATE: "):], 900) if lines else
                       "stub state unknown: %s" % _one_line(r.stderr[-300:], 300))
    return out


def _remote_log_tail(path, lines=6):
    """The last packets of gdb's remote log, for a gdb error: which request
    was waiting for its reply when the connection failed."""
    try:
        with open(path, errors="replace") as f:
            tail = f.read().splitlines()[-lines:]
    except OSError:
        return ""
    return "; remote log ends %s" % _one_line(" | ".join(tail), 500) if tail else ""


def _raised_at(e, fn):
    """Where in the test's file the error came from (which gdb command
    failed), as " (test_x.py:LINE)", or ""."""
    here = [f for f in traceback.extract_tb(e.__traceback__)
            if f.filename == fn.__code__.co_filename]
    return " (%s:%d)" % (os.path.basename(here[-1].filename), here[-1].lineno) if here else ""


def _test_name(fn):
    return fn.__name__[5:] if fn.__name__.startswith("test_") else fn.__name__


def main(connect_timeout=10, remote_timeout=10, local_kvm=True):
    """Runs the tests.  The timeouts are gdb's, in seconds; local_kvm: the
    tests run kvmdbg on this machine, so they are skipped without /dev/kvm."""
    # Caches off: every read must reach the stub, not what gdb kept while stopped.
    for setting in ("pagination off", "confirm off", "height 0", "width 0",
                    "tcp connect-timeout %d" % connect_timeout,
                    "remotetimeout %d" % remote_timeout, "print pretty off",
                    "code-cache off", "stack-cache off"):
        gdb_run("set " + setting)
    gdb.events.stop.connect(events.on_stop)
    gdb.events.exited.connect(events.on_exit)
    # KVMDBG_TESTS: a comma-separated subset of the file's tests to run.
    only = [n for n in os.environ.get("KVMDBG_TESTS", "").split(",") if n]
    tests = [fn for fn in _tests if not only or _test_name(fn) in only]
    unknown = sorted(set(only) - {_test_name(fn) for fn in _tests})
    print("PLAN: %d" % (len(tests) + len(unknown)), flush=True)
    for name in unknown:
        print("FAIL: %s: KVMDBG_TESTS names no test of this file" % name, flush=True)
    unusable = _kvm_unusable() if local_kvm else None
    for fn in tests:
        name = _test_name(fn)
        if unusable:
            print("SKIP: %s: %s" % (name, unusable), flush=True)
            continue
        events.reset()
        del _result_notes[:]
        # Each test's own log; tests that keep one of their own replace it.
        remote_log = os.path.join(scratch(), "remote.log")
        gdb_run("set remotelogfile " + remote_log)
        result = "FAIL: %s: did not finish" % name
        started = time.monotonic()
        try:
            fn()
            result = "PASS: %s" % "; ".join([name] + _result_notes)
        except TestFailure as e:
            result = "FAIL: %s: %s%s%s" % (name, _one_line(e), _kvmdbg_states(exited_only=True),
                                           _stub_states() if local_kvm and " within " in str(e)
                                           else "")
        except TestSkipped as e:
            result = "SKIP: %s: %s" % (name, _one_line(e))
        except (gdb.error, gdb.MemoryError) as e:
            result = "FAIL: %s: gdb: %s%s%s%s" % (name, _one_line(e), _raised_at(e, fn),
                                                  _remote_log_tail(remote_log), _kvmdbg_states())
        except Exception as e:
            tb = traceback.extract_tb(e.__traceback__)[-1]
            result = "FAIL: %s: %s: %s (%s:%d)" % (name, type(e).__name__, _one_line(e),
                                                   os.path.basename(tb.filename), tb.lineno)
        finally:
            # A teardown that fails (a nested machine gone with its
            # console) must not hide what the test itself saw.
            try:
                reports = _cleanup()
            except Exception as e:
                reports = []
                failed = "teardown failed: %s: %s" % (type(e).__name__, _one_line(e, 300))
                result = (result + "; " + failed if result.startswith("FAIL")
                          else "FAIL: %s: %s" % (name, failed))
        if reports:
            sanitizer = "kvmdbg sanitizer report: %s" % _one_line(reports[0], 300)
            if result.startswith("FAIL"):
                result += "; " + sanitizer
            else:
                result = "FAIL: %s: %s" % (name, sanitizer)
        print(result, flush=True)
        # For the file's log: where a suite's time goes, test by test.
        print("TIME: %s: %.1fs" % (name, time.monotonic() - started), flush=True)


def _kvm_unusable():
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm is absent"
    return None
