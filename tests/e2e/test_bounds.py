# SPDX-License-Identifier: MIT
"""Numbers no gdb sends but any client may: watch lengths that wrap past
2^64, register numbers beyond the target description, and a reply resent
while a signal interrupts the stub's send.  Each gets a clear error or a
whole packet, and leaves the guest as it was."""

import ctypes
import os
import re
import signal
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (Elf, Rsp, TestFailure, check, check_eq, guest_path, kvmdbg,
                        main, test)

SIGTRAP = 5
EINVAL = "E16"
DEMO_EXIT = (0x21 << 1) | 1   # demo.elf's exit status
HANG_GUARD = 120


def start(name="demo.elf"):
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", guest_path(name))
    vm.wait_listening()
    vm.elf = Elf(guest_path(name))
    rsp = Rsp(vm.port, timeout=60)   # a hang guard on a loaded machine
    rsp.request("qSupported:swbreak+;hwbreak+;vContSupported+")
    return vm, rsp


def check_image_intact(vm, rsp):
    lo, hi = vm.elf.sym("__image_start"), vm.elf.sym("__image_end")
    check_eq(rsp.read_memory(lo, hi - lo), vm.elf.bytes_at(lo, hi - lo),
             "guest image afterwards")


def run_to_exit(vm, rsp):
    # A watch or register change that slipped in would stop or break the run.
    check_eq(rsp.request("c"), "W%02x" % DEMO_EXIT, "exit reply")
    check_eq(vm.wait(), DEMO_EXIT, "exit status")


@test
def test_watch_lengths_that_wrap():
    vm, rsp = start()
    words = vm.elf.sym("demo_words")
    ranges = [
        (words | 7, 0xfffffffffffffffa),   # (addr & 7) + len wraps to 1
        (words, 0xffffffffffffffff),
        (0xffffffffffffff00, 0x200),       # runs past 2^64 into page 0
    ]
    for kind in (2, 3, 4):
        for addr, length in ranges:
            what = "Z%d,%x,%x" % (kind, addr, length)
            check_eq(rsp.request(what), EINVAL, what)
            check_eq(rsp.request("z%d,%x,%x" % (kind, addr, length)), "OK",
                     "removing what was refused")
    check("runs past the end of the address space" in vm.stderr(),
          "no reason on stderr: %r" % vm.stderr()[-300:])
    check_image_intact(vm, rsp)
    run_to_exit(vm, rsp)


def registers(rsp):
    g = rsp.request("g")
    check(re.fullmatch(r"([0-9a-fx]{2})+", g) is not None, "g answered %r" % g[:40])
    return g


@test
def test_register_numbers_out_of_range():
    vm, rsp = start()
    before = registers(rsp)
    # 0x10 is rip, 8 bytes; the description has fewer than 0x1000 registers.
    for regno in ("1000", "ffffffff", "7fffffff"):
        check(re.fullmatch(r"E[0-9a-f]{2}", rsp.request("p" + regno)) is not None,
              "p%s accepted" % regno)
        check(re.fullmatch(r"E[0-9a-f]{2}", rsp.request("P%s=%s" % (regno, "00" * 8)))
              is not None, "P%s accepted" % regno)
    check(re.fullmatch(r"E[0-9a-f]{2}", rsp.request("p100000000")) is not None,
          "a register number past 32 bits accepted")
    # More bytes than the register has, up to far more than any register.
    for n in (9, 16, 17, 64, 4096):
        reply = rsp.request("P10=" + "41" * n)
        check_eq(reply, EINVAL, "P10 with %d bytes" % n)
    check_eq(registers(rsp), before, "registers after the refused writes")
    check_image_intact(vm, rsp)
    run_to_exit(vm, rsp)


SYS_SENDTO = {"x86_64": 44, "aarch64": 206}[os.uname().machine]


def _stub_thread_blocked_in_send(pid):
    """The kvmdbg thread asleep in send(): a blocking send sleeps only
    for room in the socket's buffer."""
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/syscall" % (pid, tid)) as f:
                nr = f.read().split()[0]
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if nr == str(SYS_SENDTO) and state == "S":
            return int(tid)
    return None


def read_framed(rsp):
    """The next packet exactly as the stub framed it, '$' to checksum."""
    data = bytearray(rsp.buf)
    rsp.buf = b""
    while True:
        start = data.find(b"$")
        end = data.find(b"#", start) if start >= 0 else -1
        if end >= 0 and len(data) >= end + 3:
            rsp.buf = bytes(data[end + 3:])
            return bytes(data[start:end + 3])
        chunk = rsp.sock.recv(1 << 20)
        if not chunk:
            raise TestFailure("stub closed the connection")
        data += chunk


def read_exactly(rsp, n):
    data = bytearray(rsp.buf)
    while len(data) < n:
        try:
            chunk = rsp.sock.recv(1 << 20)
        except socket.timeout:
            raise TestFailure("the stub sent %d of %d bytes and then nothing"
                              % (len(data), n))
        if not chunk:
            raise TestFailure("stub closed the connection after %d of %d bytes" % (len(data), n))
        data += chunk
    rsp.buf = bytes(data[n:])
    return bytes(data[:n])


@test
def test_resend_interrupted_by_a_signal():
    """gdb answers '-' to a large reply and the stub resends it.  The
    client reads nothing until the stub blocks in send(); then a signal
    kvmdbg handles (its vCPU kick, SIGUSR1) lands on that thread, send()
    returns short, and the rest must still follow."""
    vm, rsp = start()
    addr, size = 0x200000, 0xfff0
    data = bytes((i * 151 + (i >> 8) * 7) & 0xff for i in range(size))
    check_eq(rsp.request("M%x,%x:%s" % (addr, size, data.hex())), "OK", "fill RAM")
    rsp.send_raw(Rsp.frame("m%x,%x" % (addr, size)))
    check_eq(rsp.read_ack(), b"+", "ack for m")
    framed = read_framed(rsp)
    check_eq(bytes.fromhex(framed[1:-3].decode()), data, "first reply")
    # No '+': every '-' makes the stub send the whole packet again.
    deadline = time.monotonic() + HANG_GUARD
    resends, tid = 0, None
    while tid is None:
        check(time.monotonic() < deadline and resends < 512,
              "the stub never blocked in send() after %d resends" % resends)
        rsp.send_raw(b"-")
        resends += 1
        time.sleep(0.005)
        tid = _stub_thread_blocked_in_send(vm.proc.pid)
    libc = ctypes.CDLL(None, use_errno=True)
    check_eq(libc.tgkill(vm.proc.pid, tid, signal.SIGUSR1), 0, "tgkill")
    got = read_exactly(rsp, resends * len(framed))
    for i in range(resends):
        part = got[i * len(framed):(i + 1) * len(framed)]
        if part != framed:
            cut = next(j for j in range(len(part)) if part[j] != framed[j])
            raise TestFailure("resend %d of %d differs from byte %d: %r instead of %r"
                              % (i + 1, resends, cut, part[cut:cut + 16],
                                 framed[cut:cut + 16]))
    rsp.send_raw(b"+")
    reply = rsp.request("?")
    check(re.match(r"[ST]%02x" % SIGTRAP, reply) is not None,
          "stop reply after the resends: %r" % reply[:80])
    run_to_exit(vm, rsp)


main()
