# SPDX-License-Identifier: MIT
"""The stop path, kvmdbg next to QEMU with KVM, in one run:

1. Raw single-step round trip (an `s` packet to its stop reply over a
   socket), median of STEPS, set against a bare KVM_RUN single step on the
   same host measured by bench/kvm_step_floor.c in the same run.
2. `m` reads of random data (written into the rangestep guest first), in
   2 KiB packets and in the largest packet each stub takes, as MiB/s; and
   kvmdbg's binary `x` reads at the same sizes.
3. gdb's `next` over a loop of LOOP_ITERS iterations on one source line,
   with range stepping (vCont;r, stepped inside the stub) and without
   (`set range-stepping off`: gdb steps every instruction); QEMU offers no
   range stepping.

Times are wall-clock and only printed; BENCH_LOOP_ITERS shortens the loop.
"""

import os
import random
import re
import socket
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from benchlib import KVMDBG, Kvmdbg, NotAvailable, Qemu, fmt_time, run, say  # noqa: E402
from kvmdbg_e2e import TestFailure, connect, decode_body, gdb, gdb_run, resume  # noqa: E402

GUEST = os.path.join(os.environ.get("KVMDBG_GUESTS", ""), "rangestep.elf")
FLOOR = os.path.join(os.path.dirname(KVMDBG), "bench", "kvm_step_floor")

STEPS = 300                 # timed raw single steps per target
FLOOR_STEPS = 20000         # bare KVM steps per round of the floor
READ_BYTES = 256 << 10      # random data read per timed round
READ_ROUNDS = 5
LOOP_ITERS = int(os.environ.get("BENCH_LOOP_ITERS") or 10000)
STOP_TIMEOUT = 60
NEXT_TIMEOUT = 1500         # the loop stepped by gdb, one instruction a time
SOURCE_LOOP = "for (i = 0; i < range_iters; i++)"
SOURCE_SPIN = "while (range_spin) range_sum++;"


# ---- a raw protocol client that keeps up with large replies ---------------------

class Raw:
    def __init__(self, port, timeout=STOP_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise NotAvailable("cannot connect to port %d" % port)
                time.sleep(0.2)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()
        self.ack = True
        self.features = self.request("qSupported:swbreak+;hwbreak+;vContSupported+")
        if "QStartNoAckMode+" in self.features and self.request("QStartNoAckMode") == "OK":
            self.ack = False

    def send(self, payload):
        data = payload.encode() if isinstance(payload, str) else payload
        self.sock.sendall(b"$" + data + b"#%02x" % (sum(data) & 0xff))

    def body(self):
        """The next packet's body as sent (escapes and runs kept)."""
        while True:
            start = self.buf.find(b"$")
            end = self.buf.find(b"#", start + 1) if start >= 0 else -1
            if end >= 0 and len(self.buf) >= end + 3:
                body = bytes(self.buf[start + 1:end])
                del self.buf[:end + 3]
                if self.ack:
                    self.sock.sendall(b"+")
                return body
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                raise NotAvailable("the stub closed the connection")
            self.buf += chunk

    def request(self, payload):
        self.send(payload)
        return decode_body(self.body()).decode("latin-1")

    def packet_size(self):
        m = re.search(r"PacketSize=([0-9a-fA-F]+)", self.features)
        return int(m.group(1), 16) if m else 400

    def close(self):
        self.sock.close()


def sym(name):
    gdb_run("file " + GUEST)
    return int(gdb.parse_and_eval("(unsigned long)&%s" % name))


def line_addr(text):
    with open(os.path.join(os.path.dirname(HERE), "guests", "x86_64", "rangestep.c")) as f:
        line = [n for n, l in enumerate(f, 1) if text in l][0]
    gdb_run("file " + GUEST)
    return line, gdb.decode_line("rangestep.c:%d" % line)[1][0].pc


def stop_ok(reply, what):
    if not re.match(r"[ST][0-9a-f]{2}", reply):
        raise NotAvailable("%s: %r" % (what, reply[:60]))


def raw_to_spin(target):
    """A raw connection to the target stopped in the guest's endless loop."""
    target.launch()
    raw = Raw(target.port, target.boot_timeout)
    raw.request("?")
    kmain = sym("kmain")
    spin = sym("range_spin")
    _, spin_pc = line_addr(SOURCE_SPIN)
    for addr in (kmain, spin_pc):
        if raw.request("Z1,%x,1" % addr) != "OK":
            raise NotAvailable("hardware breakpoint at %#x refused" % addr)
        raw.send("c")
        stop_ok(decode_body(raw_body_wait(raw, target.boot_timeout)).decode("latin-1"),
                "continue to %#x" % addr)
        raw.request("z1,%x,1" % addr)
        if addr == kmain and raw.request("M%x,4:01000000" % spin) != "OK":
            raise NotAvailable("cannot write range_spin")
    return raw


def raw_body_wait(raw, timeout):
    raw.sock.settimeout(timeout)
    try:
        return raw.body()
    except socket.timeout:
        raise NotAvailable("no stop within %ds" % timeout)
    finally:
        raw.sock.settimeout(STOP_TIMEOUT)


# ---- 1. single step -------------------------------------------------------------

def step_time(target):
    try:
        raw = raw_to_spin(target)
        times = []
        for _ in range(STEPS + 10):
            t = time.perf_counter()
            reply = raw.request("s")
            times.append(time.perf_counter() - t)
            stop_ok(reply, "step")
        raw.close()
        return statistics.median(times[10:])
    finally:
        target.stop()


def floor_time():
    if not os.path.exists(FLOOR):
        raise NotAvailable("%s is not built" % FLOOR)
    out = subprocess.run([FLOOR, str(FLOOR_STEPS)], capture_output=True, text=True,
                         timeout=600)
    if out.returncode:
        raise NotAvailable(out.stderr.strip())
    return float(out.stdout) * 1e-6


# ---- 2. memory reads --------------------------------------------------------------

def read_rates(target, sizes, binary):
    """{size: MiB/s} of m (or x) reads of random data."""
    try:
        raw = raw_to_spin(target)
        buf = sym("range_buffer")
        data = random.Random(12).randbytes(READ_BYTES)
        for off in range(0, READ_BYTES, 1024):
            if raw.request("M%x,400:%s" % (buf + off, data[off:off + 1024].hex())) != "OK":
                raise NotAvailable("cannot write the random data")
        rates = {}
        for size in sizes(raw):
            if binary and "binary-upload+" not in raw.features:
                rates[size] = NotAvailable("no x packet")
                continue
            got = read_all(raw, buf, size, binary)
            if got != data:
                raise NotAvailable("%d-byte reads returned other bytes" % size)
            times = []
            for _ in range(READ_ROUNDS):
                t = time.perf_counter()
                read_all(raw, buf, size, binary, check=False)
                times.append(time.perf_counter() - t)
            rates[size] = READ_BYTES / statistics.median(times) / (1 << 20)
        raw.close()
        return rates
    finally:
        target.stop()


def read_all(raw, buf, size, binary, check=True):
    out = []
    for off in range(0, READ_BYTES, size):
        raw.send("%s%x,%x" % ("x" if binary else "m", buf + off, size))
        body = raw.body()
        if check:
            reply = decode_body(body)
            if binary:
                if reply[:1] != b"b":
                    raise NotAvailable("x reply %r" % reply[:20])
                out.append(reply[1:])
            else:
                out.append(bytes.fromhex(reply.decode("latin-1")))
    return b"".join(out) if check else None


# ---- 3. next over the loop ----------------------------------------------------------

def next_time(target, range_stepping):
    try:
        target.launch()
        gdb_run("file " + GUEST)
        connect(target.port)
        gdb_run("set range-stepping %s" % ("on" if range_stepping else "off"))
        line, _ = line_addr(SOURCE_LOOP)
        gdb_run("hbreak rangestep.c:%d" % line)
        resume("continue", target.boot_timeout)
        gdb_run("delete")
        gdb_run("set var range_iters = %d" % LOOP_ITERS)
        t = time.monotonic()
        resume("next", NEXT_TIMEOUT)
        seconds = time.monotonic() - t
        now = gdb.selected_frame().find_sal().line
        if now != line + 1:
            raise NotAvailable("next ended on line %d, not %d" % (now, line + 1))
        return seconds
    except (TestFailure, gdb.error) as e:
        raise NotAvailable(str(e))
    finally:
        gdb_run("set range-stepping on")
        target.stop()


# ---- output -------------------------------------------------------------------------

def measure(fn, *args):
    try:
        return fn(*args)
    except NotAvailable as e:
        return e


def row(label, value, ratio_text=""):
    if isinstance(value, Exception):
        say("  %-58s n/a: %s" % (label, value))
    else:
        say("  %-58s %12s   %s" % (label, value, ratio_text))


def bench_step():
    say("Raw single-step round trip (s to its stop reply, median of %d), "
        "next to a bare KVM_RUN single step measured now" % STEPS)
    floor = measure(floor_time)
    kvm = measure(step_time, Kvmdbg(GUEST, STOP_TIMEOUT))
    qemu = measure(step_time, Qemu(GUEST, STOP_TIMEOUT))
    row("bare KVM_RUN single step (kvm_step_floor)",
        floor if isinstance(floor, Exception) else fmt_time(floor))
    for name, value in (("kvmdbg", kvm), ("QEMU", qemu)):
        if isinstance(value, Exception):
            row(name, value)
            continue
        text = ""
        if not isinstance(floor, Exception):
            text = "x%.1f the bare step" % (value / floor)
        if name == "QEMU" and not isinstance(kvm, Exception):
            text += "; kvmdbg/QEMU %.2f" % (kvm / value)
        row(name, fmt_time(value), text)


def bench_reads():
    say("Memory reads of %d KiB of random data (MiB/s, median of %d rounds)"
        % (READ_BYTES >> 10, READ_ROUNDS))

    def sizes(raw):
        return sorted({2048, raw.packet_size() // 2})

    kvm = measure(read_rates, Kvmdbg(GUEST, STOP_TIMEOUT), sizes, False)
    kvm_x = measure(read_rates, Kvmdbg(GUEST, STOP_TIMEOUT), sizes, True)
    qemu = measure(read_rates, Qemu(GUEST, STOP_TIMEOUT), sizes, False)
    for label, which in (("2 KiB packets", 0), ("largest packets", 1)):
        results = []
        for name, value in (("kvmdbg m", kvm), ("kvmdbg x", kvm_x), ("QEMU m", qemu)):
            if isinstance(value, Exception):
                results.append((name, None, value))
            else:
                size = 2048 if which == 0 else max(value)
                results.append((name, size, value[size]))
        base = [r for n, s, r in results if n == "QEMU m" and not isinstance(r, Exception)]
        for name, size, rate in results:
            if isinstance(rate, Exception):
                row("%s, %s" % (name, label), rate)
                continue
            text = "x%.2f QEMU's rate" % (rate / base[0]) if base else ""
            row("%s, %s (%d bytes)" % (name, label, size), "%.1f MiB/s" % rate, text)


def bench_next():
    say("next over the %d-iteration loop on one line (wall-clock)" % LOOP_ITERS)
    on = measure(next_time, Kvmdbg(GUEST, STOP_TIMEOUT), True)
    off = measure(next_time, Kvmdbg(GUEST, STOP_TIMEOUT), False)
    qemu = measure(next_time, Qemu(GUEST, STOP_TIMEOUT), False)
    row("kvmdbg, range stepping", on if isinstance(on, Exception) else fmt_time(on))
    for name, value in (("kvmdbg, instruction stepping (range-stepping off)", off),
                        ("QEMU (no range stepping)", qemu)):
        if isinstance(value, Exception) or isinstance(on, Exception):
            row(name, value if isinstance(value, Exception) else fmt_time(value))
        else:
            row(name, fmt_time(value), "range stepping x%.1f faster" % (value / on))


def main():
    for setting in ("pagination off", "confirm off", "height 0", "width 0",
                    "tcp connect-timeout 10", "remotetimeout 10"):
        gdb_run("set " + setting)
    say("kvmdbg stop-path benchmark; this host's load average: %s"
        % " ".join(open("/proc/loadavg").read().split()[:3]))
    bench_step()
    say()
    bench_reads()
    say()
    bench_next()


run(main)
