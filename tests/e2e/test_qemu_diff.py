# SPDX-License-Identifier: MIT
"""Differential test: the same gdb session against QEMU (with KVM) and against
kvmdbg must see the same machine at every stop.

QEMU boots the demo through its firmware, so its session starts at the reset
vector instead of the Multiboot entry; both reach the first breakpoint in the
same state because the guest clears every register on entering long mode.
Only hardware breakpoints are used: a QEMU on a KVM that emulates CPL-0 code
cannot plant software ones."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (Elf, TestFailure, Vm, check_eq, connect, cont, debug, free_port, gdb,
                        gdb_run, guest_path, kill_session, main, read_mem, reg, resume, test)

GPRS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp",
        "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15", "rip", "cs", "ss")
ARITH_FLAGS = 0x8d5     # CF PF AF ZF SF OF: the flags the guest's code computes
GLOBALS = (("demo_counter", 8), ("demo_total", 8), ("demo_words", 16))
HW_BREAKS = ("compute", "leaf", "demo_patch", "xmm_checkpoint")
STOPS = 11              # compute x3, leaf x6, demo_patch, xmm_checkpoint
STEPS_AT_FIRST = 6
QEMU_BOOT_TIMEOUT = 120 # firmware under an emulating KVM is slow


def snapshot(elf):
    state = {name: reg(name) for name in GPRS}
    state["eflags"] = reg("eflags") & ARITH_FLAGS
    for name, size in GLOBALS:
        state[name] = read_mem(elf.sym(name), size).hex()
    top = elf.sym("boot_stack_top")     # the loader's info address lies above
    state["stack"] = read_mem(state["rsp"], min(64, top - state["rsp"])).hex()
    return state


def trace(elf, first_timeout):
    """The machine state at each stop of the scripted session."""
    for name in HW_BREAKS:
        gdb_run("hbreak " + name)
    states = []
    for n in range(STOPS):
        cont(timeout=first_timeout if n == 0 else 30)
        states.append(snapshot(elf))
        if n == 0:
            for _ in range(STEPS_AT_FIRST):
                resume("stepi")
                states.append(snapshot(elf))
    kill_session()
    return states


def qemu_trace(path, elf):
    port = free_port()
    vm = Vm(["qemu-system-x86_64", "-enable-kvm", "-kernel", path, "-m", "64",
             "-nographic", "-no-reboot", "-display", "none", "-monitor", "none",
             "-serial", "stdio", "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
             "-S", "-gdb", "tcp:127.0.0.1:%d" % port])
    gdb_run("file " + path)
    try:
        connect(port)       # gdb retries while QEMU is still starting
    except gdb.error as e:
        if vm.proc.poll() is not None:
            raise TestFailure("QEMU with -enable-kvm failed: status %d: %s"
                              % (vm.proc.returncode, vm.stderr().strip()))
        raise TestFailure("cannot connect to QEMU: %s" % e)
    return trace(elf, QEMU_BOOT_TIMEOUT)


def describe(i, a, b):
    diffs = ["%s qemu=%s kvmdbg=%s" % (k, _fmt(a[k]), _fmt(b[k])) for k in a if a[k] != b[k]]
    return "state %d (rip qemu=%#x kvmdbg=%#x): %s" % (i, a["rip"], b["rip"], "; ".join(diffs))


def _fmt(v):
    return hex(v) if isinstance(v, int) else v


@test
def test_same_states_as_qemu():
    path = guest_path("demo.elf")
    elf = Elf(path)
    reference = qemu_trace(path, elf)
    debug("demo.elf")
    ours = trace(elf, 30)
    check_eq(len(ours), len(reference), "number of stops")
    for i, (a, b) in enumerate(zip(reference, ours)):
        if a != b:
            raise TestFailure(describe(i, a, b))
    # The comparison covered the code it was meant to.
    breaks = [reference[0]] + reference[STEPS_AT_FIRST + 1:]
    check_eq([function_at(elf, s["rip"]) for s in breaks],
             ["compute", "leaf", "leaf"] * 3 + ["demo_patch", "xmm_checkpoint"],
             "functions of the breakpoint stops")


def function_at(elf, addr):
    for name in HW_BREAKS:
        if elf.sym(name) <= addr < elf.sym(name) + elf.sym_size(name):
            return name
    return hex(addr)


main()
