# SPDX-License-Identifier: MIT
"""x addr,length: memory as binary, spoken over a socket (gdb 13 does not
send it; later gdb and other clients do when qSupported offers
binary-upload+)."""

import os
import random
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import Elf, Rsp, check, check_eq, decode_body, guest_path, kvmdbg, main, test

GUEST = "rangestep.elf"
PACKET_SIZE = 0x20000


def x_read(rsp, addr, n):
    rsp.send_raw(Rsp.frame("x%x,%x" % (addr, n)))
    check_eq(rsp.read_ack(), b"+", "ack for x")
    return rsp.read_body()


@test
def test_x_reads_binary():
    path = guest_path(GUEST)
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", path)
    vm.wait_listening()
    elf = Elf(path)
    rsp = Rsp(vm.port)
    features = rsp.request("qSupported:swbreak+;hwbreak+;vContSupported+")
    check("binary-upload+" in features.split(";"), "qSupported: %r" % features)
    buf = elf.sym("range_buffer")
    # Every byte the framing must escape, runs of them, and runs of
    # bytes it may run-length encode.
    data = (b"}#$*" * 8 + bytes(range(256)) + b"\0" * 300 + b"*" * 40 + b"}" * 9 +
            random.Random(3).randbytes(3000))
    for off in range(0, len(data), 1024):
        chunk = data[off:off + 1024]
        check_eq(rsp.request("M%x,%x:%s" % (buf + off, len(chunk), chunk.hex())), "OK", "M")
    raw = x_read(rsp, buf, len(data))
    for c in b"#$":
        check(c not in raw, "unescaped %r in the x reply" % chr(c))
    got = decode_body(raw)
    check_eq(got[:1], b"b", "x reply prefix")
    check_eq(got[1:], data, "x reply bytes")
    check_eq(bytes.fromhex(rsp.request("m%x,%x" % (buf, len(data)))), data, "m of the same")
    # Nothing asked, nothing read; as much as is readable from the start
    # (up to the end of RAM), an error when nothing is.
    check_eq(decode_body(x_read(rsp, buf, 0)), b"b", "x of length 0")
    check(re.fullmatch(rb"E[0-9a-f]{2}", decode_body(x_read(rsp, 1 << 46, 16))) is not None,
          "x of unmapped memory")
    check(re.fullmatch(rb"E[0-9a-f]{2}", decode_body(x_read(rsp, buf, PACKET_SIZE))) is not None,
          "x over the packet size")
    big = decode_body(x_read(rsp, buf, PACKET_SIZE - 1))
    check_eq(len(big), PACKET_SIZE, "x of the largest length")
    check_eq(big[1:1 + len(data)], data, "start of the largest x")
    rsp.send_raw(Rsp.frame("k"))
    check_eq(vm.wait(10), 0, "exit status after k")


main()
