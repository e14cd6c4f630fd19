# SPDX-License-Identifier: MIT
"""Thread ids that name nothing: vCont, H, T and qThreadExtraInfo with
threads or processes that do not exist get an error reply, and the VM
stays stopped exactly where it was."""

import os
import re
import socket
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (Elf, Rsp, TestFailure, check, check_eq, cont_to_exit, debug, exit_status, guest_path,
                        kvmdbg, main, packet, pc, test)

RIP = 0x10          # register number of rip in the amd64 register set
NCPUS = 4
SMP_EXIT = 0x2a
DEMO_EXIT = 0x21
E_SRCH, E_INVAL = "E03", "E16"

# Each names a thread or a process the 4-vCPU VM does not have.
NO_SUCH_THREAD = ("vCont;c:p99.99", "vCont;s:ffffffff", "vCont;c:5", "vCont;s:5",
                  "vCont;c:p99.1", "vCont;c:p2.-1", "vCont;c:p99", "vCont;c:1;c:5",
                  "vCont;t:5;c", "vCont;C05:7fffffffffffffff",
                  "Hg5", "Hc5", "Hgp99.1", "Hcp99.-1", "Hgp2.0",
                  "T5", "T0", "T-1", "Tp99.1", "Tp2.1",
                  "qThreadExtraInfo,5", "qThreadExtraInfo,p99.1", "qThreadExtraInfo,0")
# Each names only existing threads but resumes none of them.
RESUMES_NOTHING = ("vCont;t", "vCont;t:1;t:2;t:3;t:4", "vCont;t:-1;c", "vCont;t:0;c:1")


def launch_smp():
    path = guest_path("smp.elf")
    vm = kvmdbg("run", "-smp", str(NCPUS), "--gdb", "tcp:127.0.0.1:0", "-S", path, "--",
                "cpus=%d" % NCPUS, "iter=2")
    vm.wait_listening()
    vm.elf = Elf(path)
    rsp = Rsp(vm.port)
    rsp.request("qSupported:swbreak+;hwbreak+;vContSupported+")
    return vm, rsp


def ask(rsp, payload):
    """The reply to payload; a test failure (not a hang) when none comes."""
    try:
        return rsp.request(payload)
    except socket.timeout:
        raise TestFailure("no reply to %r within the socket timeout" % payload)


def rip(rsp):
    reply = ask(rsp, "p%x" % RIP)
    check(re.fullmatch(r"[0-9a-f]{16}", reply) is not None, "p%x answered %r" % (RIP, reply))
    return struct.unpack("<Q", bytes.fromhex(reply))[0]


def all_registers(rsp):
    regs = []
    for t in range(1, NCPUS + 1):
        check_eq(ask(rsp, "Hg%x" % t), "OK", "Hg%x" % t)
        regs.append(ask(rsp, "g"))
    check_eq(ask(rsp, "Hg1"), "OK", "Hg1")
    return regs


def check_held(vm, rsp, regs, what):
    """Every vCPU is still stopped where it was, and '?' says so."""
    stop = ask(rsp, "?")
    check(re.match(r"T05thread:0*1;", stop) is not None, "%s: '?' answered %r" % (what, stop))
    check_eq(all_registers(rsp), regs, "%s: registers of the vCPUs" % what)


@test
def test_vcont_nonexistent_threads():
    vm, rsp = launch_smp()
    regs = all_registers(rsp)
    counts = vm.elf.sym("smp_counts")
    before = rsp.read_memory(counts, 0x100)
    for payload in NO_SUCH_THREAD:
        check_eq(ask(rsp, payload), E_SRCH, "reply to %r" % payload)
        check_held(vm, rsp, regs, "after %r" % payload)
    for payload in RESUMES_NOTHING:
        check_eq(ask(rsp, payload), E_INVAL, "reply to %r" % payload)
        check_held(vm, rsp, regs, "after %r" % payload)
    check_eq(rsp.read_memory(counts, 0x100), before, "smp_counts (the guest ran)")
    check(vm.poll() is None, "kvmdbg exited: %r" % vm.stderr())
    refusals = vm.stderr().count("kvmdbg: vCont refused: ")
    check_eq(refusals, sum(p.startswith("vCont") for p in NO_SUCH_THREAD + RESUMES_NOTHING),
             "vCont refusals on stderr")
    # The same stub still runs the guest to its end.
    check_eq(ask(rsp, "vCont;c"), "W%02x" % (exit_status(SMP_EXIT) & 0xff), "reply to vCont;c")
    vm.expect_exit(exit_status(SMP_EXIT))


@test
def test_vcont_valid_thread_forms():
    vm, rsp = launch_smp()
    entry = vm.elf.entry
    for t in range(1, NCPUS + 1):
        check_eq(ask(rsp, "Hgp1.%x" % t), "OK", "Hgp1.%x" % t)
        check_eq(rip(rsp), entry, "rip of thread %d at the start" % t)
        check_eq(ask(rsp, "Tp1.%x" % t), "OK", "Tp1.%x" % t)
    check_eq(ask(rsp, "Hgp-1.2"), "OK", "Hgp-1.2")
    # The leftmost action naming a thread applies: one step of thread 2,
    # thread 1 and the others held.
    stop = ask(rsp, "vCont;s:p1.2;c:2")
    check(re.match(r"T05thread:0*2;", stop) is not None, "step of thread 2 answered %r" % stop)
    check_eq(ask(rsp, "Hg2"), "OK", "Hg2")
    step2 = rip(rsp)
    check(step2 != entry, "thread 2 did not move from the entry point")
    for t in (1, 3, 4):
        check_eq(ask(rsp, "Hg%x" % t), "OK", "Hg%x" % t)
        check_eq(rip(rsp), entry, "rip of held thread %d" % t)
    # "Any thread" is the one last reported.
    stop = ask(rsp, "vCont;s:0")
    check(re.match(r"T05thread:0*2;", stop) is not None, "vCont;s:0 answered %r" % stop)
    check_eq(ask(rsp, "Hg1"), "OK", "Hg1")
    check_eq(rip(rsp), entry, "rip of thread 1 after vCont;s:0")
    check_eq(ask(rsp, "vCont;c:-1"), "W%02x" % (exit_status(SMP_EXIT) & 0xff),
             "reply to vCont;c:-1")
    vm.expect_exit(exit_status(SMP_EXIT))


@test
def test_vcont_nonexistent_thread_under_gdb():
    vm = debug("demo.elf")
    entry = vm.elf.entry
    check_eq(pc(), entry, "pc at the start")
    for payload in ("vCont;c:p99.99", "vCont;s:ffffffff", "vCont;c:2"):
        check_eq(packet(payload), E_SRCH, "reply to %r" % payload)
        stop = packet("?")
        check(re.match(r"T05thread:0*1;", stop) is not None, "'?' after %r answered %r"
              % (payload, stop))
    check_eq(packet("vCont;t"), E_INVAL, "reply to vCont;t")
    check_eq(packet("p%x" % RIP), struct.pack("<Q", entry).hex(), "rip after the refusals")
    cont_to_exit(vm, DEMO_EXIT)
    check(vm.serial().startswith("demo: hello"), "serial output %r" % vm.serial())


main()
