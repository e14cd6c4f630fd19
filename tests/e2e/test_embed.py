# SPDX-License-Identifier: MIT
"""examples/minivmm, a second machine monitor built only against kvmdbg as
installed (make example: a prefix of its own, pkg-config), run and debugged
with gdb: what it needs of the stub is all public API."""

import os
import re
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (DEMO_SERIAL, Elf, KVMDBG, Rsp, STARTUP_TIMEOUT, TestFailure,  # noqa: E402
                        Vm, bp_address, check, check_eq, connect, cont, events, exit_status, gdb,
                        gdb_run, guest_path, main, packet, pc, read_mem, read_u32, read_u64, reg,
                        resume, scratch, test, write_mem)

EXAMPLE = os.path.join(os.path.dirname(KVMDBG), "examples", "minivmm")
LISTEN_RE = re.compile(r"^minivmm: gdb stub listening on tcp:127\.0\.0\.1:(\d+)$", re.M)
DEMO_EXIT = 0x21
MB_BOOT_MAGIC = 0x2badb002
MB_INFO_ADDR = 0x8000   # where minivmm puts the Multiboot information
CR0_PE, CR0_PG = 1 << 0, 1 << 31
# compute(n) = leaf(n) + leaf(n + 7), leaf(x) = 3x + 1, for n = 0, 1, 2; the
# test makes compute(1) call leaf(0x40) instead of leaf(1).
PATCHED_TOTAL = 0x57 - (3 * 1 + 1) + (3 * 0x40 + 1)


def minivmm(*args):
    if not os.access(EXAMPLE, os.X_OK):
        raise TestFailure("%s is not built (make example)" % EXAMPLE)
    return Vm([EXAMPLE] + list(args))


def held_example(guest):
    """minivmm held before the guest's first instruction, listening."""
    path = guest_path(guest)
    vm = minivmm("--gdb", "tcp:127.0.0.1:0", "--wait", path)
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while not LISTEN_RE.search(vm.stderr()):
        check(vm.poll() is None, "minivmm exited with status %s before listening: %r"
              % (vm.poll(), vm.stderr()))
        check(time.monotonic() < deadline, "minivmm printed no listening line: %r" % vm.stderr())
        time.sleep(0.02)
    vm.port = int(LISTEN_RE.search(vm.stderr()).group(1))
    vm.elf = Elf(path)
    return vm


def debug_example(guest):
    """minivmm held before the guest's first instruction, gdb connected."""
    vm = held_example(guest)
    gdb_run("file " + vm.elf.path)
    connect(vm.port)
    return vm


@test
def test_runs_the_guest_with_and_without_the_stub():
    for args in (["--no-stub"], []):
        vm = minivmm(*(args + [guest_path("demo.elf")]))
        vm.expect_exit(exit_status(DEMO_EXIT))
        check_eq(vm.serial(), DEMO_SERIAL, "serial output of minivmm %s" % " ".join(args))
        check("wrote vCPU state" not in vm.stderr(), "the stub wrote vCPU state undebugged: %r"
              % vm.stderr())


@test
def test_held_before_the_first_instruction():
    vm = debug_example("demo.elf")
    check_eq(pc(), vm.elf.sym("_start"), "pc while held")
    check_eq(reg("rax") & 0xffffffff, MB_BOOT_MAGIC, "eax: the Multiboot magic")
    check_eq(reg("cr0") & (CR0_PE | CR0_PG), CR0_PE, "cr0: protected mode, paging off")
    check_eq(vm.serial(), "", "serial output while held")


@test
def test_break_registers_memory_step_detach():
    vm = debug_example("demo.elf")
    bp = gdb.Breakpoint("compute")
    check_eq(cont()["pc"], bp_address(bp), "first stop at compute")
    check_eq(reg("rdi"), 0, "compute's argument on its first call")
    check_eq(reg("cr0") & (CR0_PE | CR0_PG), CR0_PE | CR0_PG, "cr0 in long mode")
    check_eq(reg("cs"), 0x08, "cs")
    # The guest's bytes under the breakpoint, not the stub's int3.
    check_eq(read_mem(bp_address(bp), 8), vm.elf.bytes_at(bp_address(bp), 8),
             "code under the breakpoint")
    check_eq(read_u32(vm.elf.sym("demo_mb_info")), MB_INFO_ADDR, "ebx the guest was given")
    write_mem(vm.elf.sym("demo_mb_info"), b"\x0d\xf0\xfe\xca")
    check_eq(read_u32(vm.elf.sym("demo_mb_info")), 0xcafef00d, "memory after a write")
    check_eq(cont()["pc"], bp_address(bp), "second stop at compute")
    check_eq(reg("rdi"), 1, "compute's argument on its second call")
    check_eq(read_u64(vm.elf.sym("demo_counter")), 1, "calls counted before the second")
    bp.delete()
    # leaf(n + 7) with n changed: the guest computes with gdb's value.
    leaf = gdb.Breakpoint("leaf")
    check_eq(cont()["pc"], bp_address(leaf), "stop at leaf")
    check_eq(reg("rdi"), 1, "leaf's argument")
    gdb_run("set $rdi = 0x40")
    check_eq(cont()["pc"], bp_address(leaf), "second stop at leaf")
    check_eq(reg("rdi"), 8, "leaf's argument on its second call")
    leaf.delete()
    gdb_run("hbreak xmm_checkpoint")
    check_eq(cont()["pc"], vm.elf.sym("xmm_checkpoint"), "stop at the hardware breakpoint")
    check_eq(reg("rdi"), PATCHED_TOTAL, "the total, with leaf(0x40) for leaf(1)")
    before = pc()
    resume("stepi")
    check(pc() != before, "stepi left pc at %#x" % before)
    gdb_run("delete")
    gdb_run("detach")
    vm.expect_exit(exit_status(DEMO_EXIT))
    check_eq(vm.serial(), DEMO_SERIAL.replace("0x0000000000000057", "%#018x" % PATCHED_TOTAL),
             "serial output after detach")
    # The register writes came back to minivmm through ops.vcpu_changed.
    check(re.search(r"^minivmm: the stub wrote vCPU state [1-9]\d* times$", vm.stderr(), re.M),
          "no count of the stub's writes in %r" % vm.stderr())


@test
def test_gdb_starts_it_on_a_connected_socket():
    # gdb runs the command with one end of a socketpair as its stdin:
    # minivmm hands that to the stub instead of listening.
    check(os.access(EXAMPLE, os.X_OK), "%s is not built (make example)" % EXAMPLE)
    path = guest_path("demo.elf")
    work = scratch()
    serial, err = os.path.join(work, "serial"), os.path.join(work, "stderr")
    elf = Elf(path)
    gdb_run("file " + path)
    gdb_run("target remote | exec %s --gdb fd:0 --wait %s >%s 2>%s" % (EXAMPLE, path, serial, err))
    events.reset()
    check_eq(pc(), elf.sym("_start"), "pc while held")
    bp = gdb.Breakpoint("leaf")
    check_eq(cont()["pc"], bp_address(bp), "stop at leaf")
    check_eq(reg("rdi"), 0, "leaf's argument on its first call")
    bp.delete()
    resume("continue")
    check(events.exits, "gdb saw no exit; minivmm stderr %r" % open(err).read())
    check_eq(events.exits[-1], exit_status(DEMO_EXIT), "exit code reported to gdb")
    with open(serial) as f:
        check_eq(f.read(), DEMO_SERIAL, "serial output")


@test
def test_stub_messages_go_to_the_log_callback():
    vm = debug_example("demo.elf")
    addrs = [vm.elf.sym(name) for name in ("compute", "leaf", "xmm_checkpoint", "demo_bump",
                                           "demo_sled")]
    for addr in addrs[:4]:
        check_eq(packet("Z1,%x,1" % addr), "OK", "Z1 at %#x" % addr)
    check(packet("Z1,%x,1" % addrs[4]).startswith("E"), "a fifth Z1 was accepted")
    line = "minivmm: stub: Z1 at %#x refused: " % addrs[4]
    check(line in vm.stderr(), "no %r in minivmm's stderr: %r" % (line, vm.stderr()))
    check("kvmdbg:" not in vm.stderr(), "the stub wrote to stderr itself: %r" % vm.stderr())


@test
def test_breakpoints_survive_a_guest_reset():
    # minivmm reloads the guest in place on each reset request, twice, and
    # tells the stub (kvmdbg_stub_reset); the third request ends the run.
    vm = debug_example("reboot.elf")
    bp = gdb.Breakpoint("reboot_boot")
    addr = bp_address(bp)
    for boot in range(1, 4):
        check_eq(cont()["pc"], addr, "stop at reboot_boot in boot %d" % boot)
        check_eq(read_mem(addr, 8), vm.elf.bytes_at(addr, 8),
                 "code under the breakpoint in boot %d" % boot)
        check_eq(vm.serial(), "reboot: boot\n" * (boot - 1), "serial output before boot %d" % boot)
    bp.delete()
    resume("continue")
    check(events.exits, "gdb saw no exit after the third reset")
    check_eq(events.exits[-1], 0, "exit code reported to gdb")
    vm.expect_exit(0)
    check_eq(vm.serial(), "reboot: boot\n" * 3, "serial output")


# Holds one thread of another process in a ptrace stop (the rest of the
# process runs on) until a line comes on stdin; prints "held" once it is.
HOLD_THREAD = r"""
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
PTRACE_DETACH, PTRACE_SEIZE, PTRACE_INTERRUPT, WALL = 17, 0x4206, 0x4207, 0x40000000
tid = int(sys.argv[1])
for req in (PTRACE_SEIZE, PTRACE_INTERRUPT):
    if libc.ptrace(req, tid, None, None) < 0:
        sys.exit("ptrace %#x: %s" % (req, os.strerror(ctypes.get_errno())))
os.waitpid(tid, WALL)
print("held", flush=True)
sys.stdin.readline()
libc.ptrace(PTRACE_DETACH, tid, None, None)
"""


def thread_named(pid, name):
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/comm" % (pid, tid)) as f:
            if f.read().strip() == name:
                return int(tid)
    raise TestFailure("no thread named %s in process %d" % (name, pid))


def cpu_ticks(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])     # utime + stime


@test
def test_stop_report_to_a_gdb_gone():
    # The stop and the end of gdb's connection reach the stub thread in one
    # wake-up: the report cannot be sent, the session ends, the guest runs
    # to its end, and the stub thread ends when minivmm frees the stub
    # (kvmdbg_stub_free joins it) instead of waiting for another gdb.
    # Holding the stub thread while both happen makes that order certain.
    vm = held_example("ioloop.elf")
    r = Rsp(vm.port)
    # After the guest's 100,000 port writes, seconds after the continue.  A
    # hardware breakpoint: a trap in memory would need the stub thread while
    # it is held (its page is read-only, and so is the boot GDT on it, whose
    # accessed bits the processor sets).
    check_eq(r.request("Z1,%x,1" % vm.elf.sym("uart_putdec")), "OK", "Z1")
    r.send_raw(r.frame("c"))
    check_eq(r.read_ack(), b"+", "ack of c")
    hold = subprocess.Popen(["python3", "-c", HOLD_THREAD,
                             str(thread_named(vm.proc.pid, "kvmdbg-stub"))],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        check_eq(hold.stdout.readline().strip(), "held", "the stub thread held")
        r.sock.setblocking(False)
        try:
            early = r.sock.recv(64)
        except BlockingIOError:
            early = b""
        check_eq(early, b"", "what the stub sent before it was held")
        # The vCPU is parked at the breakpoint once the process stops
        # using the CPU.
        deadline = time.monotonic() + 60
        samples = [cpu_ticks(vm.proc.pid)]
        while len(samples) < 6 or len(set(samples[-6:])) > 1:
            check(time.monotonic() < deadline, "the guest never stopped at uart_putdec")
            time.sleep(0.1)
            samples.append(cpu_ticks(vm.proc.pid))
        # gdb gone at once: a reset, so that sending the report fails.
        r.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        r.sock.close()
    finally:
        hold.communicate("go\n", timeout=10)
    vm.expect_exit(exit_status(0x10))
    check_eq(vm.serial(), "ioloop: done 100000\n", "serial output")


main()
