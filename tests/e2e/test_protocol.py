# SPDX-License-Identifier: MIT
"""Remote-protocol robustness, spoken directly over a socket: the framing
errors and malformed packets gdb itself never sends."""

import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (Elf, Rsp, check, check_eq, guest_path, kvmdbg, main, test)

RIP = 0x10          # register number of rip in the amd64 register set
SIGTRAP, SIGINT = 5, 2
ERROR = re.compile(r"E[0-9a-fA-F]{2}")


def start(name="demo.elf"):
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", guest_path(name))
    vm.wait_listening()
    vm.elf = Elf(guest_path(name))
    rsp = Rsp(vm.port)
    features = rsp.request("qSupported:swbreak+;hwbreak+;vContSupported+")
    return vm, rsp, features


def image(vm, rsp):
    lo, hi = vm.elf.sym("__image_start"), vm.elf.sym("__image_end")
    return rsp.read_memory(lo, hi - lo)


def check_image_intact(vm, rsp):
    lo, hi = vm.elf.sym("__image_start"), vm.elf.sym("__image_end")
    check_eq(image(vm, rsp), vm.elf.bytes_at(lo, hi - lo), "guest image afterwards")


def check_code_intact(vm, rsp):
    # Once the guest has run its data differs from the file (the CPU even
    # sets accessed bits in the GDT); its code does not.
    addr, size = vm.elf.section(".text")
    check_eq(rsp.read_memory(addr, size), vm.elf.bytes_at(addr, size), "guest code afterwards")


def check_stop_reply(reply, signal, what):
    check(re.match(r"[ST]%02x" % signal, reply, re.I) is not None, "%s: stop reply %r"
          % (what, reply))


def rip(rsp):
    reply = rsp.request("p%x" % RIP)
    check(re.fullmatch(r"[0-9a-f]{16}", reply) is not None, "p%x answered %r" % (RIP, reply))
    return struct.unpack("<Q", bytes.fromhex(reply))[0]


def finish(vm, rsp):
    rsp.send_raw(Rsp.frame("k"))
    check_eq(vm.wait(10), 0, "exit status after k")


@test
def test_bad_checksum():
    vm, rsp, _ = start()
    rsp.send_raw(b"$?#00")
    check_eq(rsp.read_ack(), b"-", "answer to a bad checksum")
    rsp.send_raw(b"$?#zz")
    check_eq(rsp.read_ack(), b"-", "answer to a non-hex checksum")
    check_stop_reply(rsp.request("?"), SIGTRAP, "the resent packet")
    # Noise between packets is ignored.
    rsp.send_raw(b"garbage")
    check_stop_reply(rsp.request("?"), SIGTRAP, "after noise")
    check_image_intact(vm, rsp)
    finish(vm, rsp)


@test
def test_oversize_packet():
    vm, rsp, features = start()
    m = re.search(r"PacketSize=([0-9a-fA-F]+)", features)
    check(m is not None, "qSupported reply without PacketSize: %r" % features)
    size = int(m.group(1), 16)
    check(size >= 0x100, "PacketSize %#x is too small for gdb" % size)
    words = vm.elf.sym("demo_words")
    n = size
    rsp.send_raw(Rsp.frame("M%x,%x:" % (words, n) + "ab" * n))
    check_eq(rsp.read_ack(), b"+", "ack of an oversize packet")
    reply = rsp.read_packet()
    check(ERROR.fullmatch(reply) is not None, "reply to an oversize packet: %r" % reply[:40])
    check_stop_reply(rsp.request("?"), SIGTRAP, "after the oversize packet")
    check_eq(rsp.read_memory(words, 16), vm.elf.bytes_at(words, 16), "demo_words")
    # The largest packet the stub admits to is accepted.
    data = vm.elf.bytes_at(words, 16)
    head = "M%x,%x:" % (words, 16)
    check(len(head) + 32 <= size, "PacketSize %#x" % size)
    check_eq(rsp.request(head + data.hex()), "OK", "write of demo_words' own bytes")
    check_image_intact(vm, rsp)
    finish(vm, rsp)


@test
def test_malformed_packets():
    vm, rsp, _ = start()
    regs = rsp.request("g")
    check(re.fullmatch(r"([0-9a-fx]{2})+", regs) is not None, "g answered %r" % regs[:40])
    for payload in ("m zz", "mzz,4", "m100000", "m100000,", "M100000,4:zz", "M100000,2:abcdef",
                    "M100000,4", "Z9,100000,1", "Z0,zz,1", "z0,100000", "p ffff", "pffff", "pzz",
                    "G00", "G" + regs[:-2], "P ffff=00", "Pzz=00", "P10=zz", "Hgzz"):
        reply = rsp.request(payload)
        check(ERROR.fullmatch(reply) is not None, "%r answered %r" % (payload, reply[:40]))
    check_eq(rsp.request("g"), regs, "registers afterwards")
    check_image_intact(vm, rsp)
    finish(vm, rsp)


@test
def test_unknown_packets():
    vm, rsp, _ = start()
    for payload in ("vMustReplyEmpty", "qNoSuchQuery", "QNoSuchSetting:1", "vNoSuchVerb;1",
                    "jNoSuchPacket"):
        check_eq(rsp.request(payload), "", "reply to %r" % payload)
    check_stop_reply(rsp.request("?"), SIGTRAP, "after unknown packets")
    check_image_intact(vm, rsp)
    finish(vm, rsp)


@test
def test_stop_replies():
    vm, rsp, _ = start()
    check_stop_reply(rsp.request("?"), SIGTRAP, "initial stop")
    threads = rsp.request("qfThreadInfo")
    check(re.fullmatch(r"m0*1", threads) is not None, "qfThreadInfo answered %r" % threads)
    check_eq(rsp.request("qsThreadInfo"), "l", "qsThreadInfo")
    compute, leaf = vm.elf.sym("compute"), vm.elf.sym("leaf")
    check_eq(rsp.request("Z0,%x,1" % compute), "OK", "Z0")
    check_eq(rsp.request("m%x,1" % compute), vm.elf.bytes_at(compute, 1).hex(),
             "byte under the breakpoint")
    reply = rsp.request("c")
    check_stop_reply(reply, SIGTRAP, "software breakpoint")
    check("swbreak:" in reply, "no swbreak in %r" % reply)
    check_eq(rip(rsp), compute, "rip at the software breakpoint")
    check_eq(rsp.request("z0,%x,1" % compute), "OK", "z0")
    check_eq(rsp.request("Z1,%x,1" % leaf), "OK", "Z1")
    reply = rsp.request("c")
    check_stop_reply(reply, SIGTRAP, "hardware breakpoint")
    check("hwbreak:" in reply, "no hwbreak in %r" % reply)
    check_eq(rip(rsp), leaf, "rip at the hardware breakpoint")
    check_eq(rsp.request("z1,%x,1" % leaf), "OK", "z1")
    reply = rsp.request("vCont;s:1")
    check_stop_reply(reply, SIGTRAP, "single step")
    check(rip(rsp) != leaf, "a step did not move from %#x" % leaf)
    check_code_intact(vm, rsp)
    # Without breakpoints the guest runs to its end and reports its exit status.
    check_eq(rsp.request("c"), "W%02x" % ((0x21 << 1) | 1), "exit reply")
    check_eq(vm.wait(10), (0x21 << 1) | 1, "exit status")


@test
def test_interrupt_byte():
    vm, rsp, _ = start("irqstep.elf")
    check_eq(rsp.request("M%x,4:ffffffff" % vm.elf.sym("irq_target")), "OK", "write irq_target")
    rsp.send_raw(Rsp.frame("c"))
    check_eq(rsp.read_ack(), b"+", "ack of c")
    time.sleep(0.5)
    rsp.send_raw(b"\x03")
    check_stop_reply(rsp.read_packet(), SIGINT, "after 0x03")
    ticks = struct.unpack("<I", rsp.read_memory(vm.elf.sym("irq_ticks"), 4))[0]
    check(ticks > 0, "no timer ticks in half a second")
    finish(vm, rsp)


def xfer_target_xml(rsp, offset, length):
    reply = rsp.request("qXfer:features:read:target.xml:%x,%x" % (offset, length))
    check(reply[:1] in ("m", "l"), "qXfer at %#x,%#x answered %r" % (offset, length, reply[:40]))
    return reply[0], reply[1:]


@test
def test_target_description():
    vm, rsp, features = start()
    check("qXfer:features:read+" in features, "no target description in %r" % features)
    # In one piece: everything, marked as the last.
    kind, whole = xfer_target_xml(rsp, 0, 0x10000)
    check_eq(kind, "l", "a read of the whole document")
    check("<architecture>i386:x86-64</architecture>" in whole,
          "target.xml without the architecture: %r" % whole[:200])
    check(whole.rstrip().endswith("</target>"), "target.xml ends with %r" % whole[-40:])
    # In pieces, as gdb reads it: each but the last full and marked 'm';
    # together exactly the whole.
    chunk = 0x100
    check(len(whole) > 3 * chunk, "target.xml is only %d bytes" % len(whole))
    pieces, offset = [], 0
    while True:
        kind, data = xfer_target_xml(rsp, offset, chunk)
        pieces.append(data)
        offset += len(data)
        if kind == "l":
            break
        check_eq(len(data), chunk, "length of the 'm' piece at %#x" % (offset - len(data)))
        check(offset < len(whole), "'m' piece at the end of the document")
    check_eq(len(pieces), (len(whole) + chunk - 1) // chunk, "number of pieces")
    check_eq("".join(pieces), whole, "target.xml read in pieces")
    # At and past the end: nothing more.
    check_eq(xfer_target_xml(rsp, len(whole), chunk), ("l", ""), "a read at the end")
    check_eq(xfer_target_xml(rsp, len(whole) + 5, chunk), ("l", ""), "a read past the end")
    finish(vm, rsp)


main()
