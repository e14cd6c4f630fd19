# SPDX-License-Identifier: MIT
"""Debian's x86-64 kernel (its vmlinux, by the PVH entry) under kvmdbg on the
nested KVM, with two vCPUs, debugged with the symbols of its -dbg package.

What this nested KVM offers decides what gdb can do (test_features.py
measures it): single steps and Ctrl-C work; int3 and debug-register
breakpoints never exit to kvmdbg, so breakpoints are refused with the
reason, and the kernel's own int3 goes straight to the kernel.  The guest's
timing there is too uneven for Linux to measure the TSC against the PIT, so
it learns the TSC's frequency from KVM's paravirtual clock, which kvmdbg
offers Linux guests; without it the boot waits forever in
calibrate_APIC_clock.  Linux gets to user space there, but what /init
prints never reaches the UART and its reboot does not end the run (see
the README), so this test watches the kernel itself.
"""

import functools
import os
import re
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "nested"))
from inside import (GDB_PORT_INSIDE, TestFailure, check, check_eq, connect, gdb,  # noqa: E402
                    gdb_run, interrupt_after, kvmdbg, main, monitor, packet, pc, read_mem,
                    reg, rows, stepi, test)
from kvmdbg_e2e import note_on_result  # noqa: E402

VMLINUX = os.environ.get("KVMDBG_X86_VMLINUX", "")
RELEASE = os.environ.get("KVMDBG_X86_LINUX_RELEASE", "")
VERSION = os.environ.get("KVMDBG_X86_LINUX_VERSION", "")
VMLINUX_INSIDE = "/linux/vmlinux"
INITRD_INSIDE = "/linux/initrd"
APPEND = "console=ttyS0 panic=-1 kvmdbg_wait=1"
MARKER_RE = re.compile(r"kvmdbg-linux: user space, (\d+) CPUs, kprobe hits (\S+)")
BOOT_TIMEOUT = 240
# Seconds: into the boot, for the first Ctrl-C; after /init starts, for it
# to settle down to waiting.
EARLY_INTERRUPT = 8
SETTLE = 5
KERNEL_MAP = 0xffffffff80000000
NOT_REPORTED = "no: not reported by this host"
HLT = 0xf4
STEPS = 10
# Where an interrupt or exception enters the kernel.
ENTRY_POINTS = ("asm_sysvec_apic_timer_interrupt", "asm_common_interrupt",
                "asm_sysvec_call_function_single", "asm_sysvec_reschedule_ipi",
                "asm_exc_int3", "asm_exc_debug")


# What kvmdbg says of a triple fault on this KVM (kvm_amd re-initializes the
# vCPU at the shutdown).
AMD_SHUTDOWN = "this host's KVM reset the vCPU at the shutdown"


class UndebuggedFault(TestFailure):
    """Linux triple-faulted while it ran with no debugger attached."""


def once_more_after_undebugged_fault(fn):
    """Runs the test a second time, saying so on its PASS line, when Linux
    triple-faulted while no debugger was attached.  On this nested KVM
    that happens with no debugging at all: one boot in 52 of this kernel
    under kvmdbg with no debugger ever attached ended so, a vCPU faulting
    after both were up (the cause is not known).  A fault that kvmdbg's
    debugging causes would come back the second time."""
    @functools.wraps(fn)
    def run():
        try:
            fn()
        except UndebuggedFault as e:
            note_on_result("ran twice, the first time %s" % e)
            fn()
    return run


def check_undebugged_status(vm, status, expected, what):
    """The exit status of a Linux run no debugger is attached to."""
    if status == 4 and status != expected and AMD_SHUTDOWN in vm.stderr():
        raise UndebuggedFault("Linux triple-faulted with no debugger attached (%s; the serial "
                              "console ends %r)" % (vm.stderr().strip().splitlines()[-1],
                                                    vm.serial()[-200:]))
    check_eq(status, expected, "%s (stderr %r; the serial console ends %r)"
             % (what, vm.stderr(), vm.serial()[-800:]))


def sym(name):
    return int(gdb.parse_and_eval("(unsigned long)&" + name))


def wait_serial(vm, text, timeout=BOOT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while text not in vm.serial():
        check(time.monotonic() < deadline, "no %r on the serial console within %ds; it ends %r"
              % (text, timeout, vm.serial()[-800:]))
        check_undebugged_status(vm, vm.poll(), None, "kvmdbg's status")
        time.sleep(2)


def check_refused(vm, ztype, kind, caps, where):
    """A breakpoint the nested KVM cannot report is refused, with the
    reason on kvmdbg's stderr."""
    if caps.get(kind) != NOT_REPORTED:
        return
    reply = packet("Z%d,%x,1" % (ztype, where))
    check(reply.startswith("E"), "Z%d at %#x on a host without %s: %r" % (ztype, where, kind,
                                                                         reply))
    check("kvmdbg: Z%d at 0x%x refused: " % (ztype, where) in vm.stderr(),
          "stderr names the refusal: %r" % vm.stderr())


def thread_registers(names):
    """{gdb thread number: {register: value, "vcpu": its index}}."""
    out = {}
    for t in gdb.selected_inferior().threads():
        t.switch()
        gdb_run("maint flush register-cache")
        out[t.num] = {n: reg(n) for n in names}
        out[t.num]["vcpu"] = int(t.name.split()[-1])
    gdb_run("thread 1")
    return out


def steps_hold_off_interrupts(regs):
    """Steps on a vCPU that runs kernel code (not halted) with the tick
    due: none enters an interrupt handler, and jiffies stands still (every
    vCPU is stopped, the stepped one with interrupts held off).  False if
    every vCPU was idle."""
    busy = [t for t, r in sorted(regs.items()) if r["pc"] >= KERNEL_MAP and
            HLT not in (read_mem(r["pc"], 1)[0], read_mem(r["pc"] - 1, 1)[0])]
    if not busy:
        print("every vCPU was idle: no steps")
        return False
    gdb_run("thread %d" % busy[0])
    entries = {sym(n) for n in ENTRY_POINTS}
    jiffies = int(gdb.parse_and_eval("jiffies"))
    # Only the stepped vCPU runs: another one, busy, would take the tick.
    gdb_run("set scheduler-locking step")
    try:
        for n in range(STEPS):
            here = stepi()
            check(here not in entries, "step %d entered %s"
                  % (n, gdb_run("info symbol %#x" % here)))
    finally:
        gdb_run("set scheduler-locking replay")
    check_eq(int(gdb.parse_and_eval("jiffies")), jiffies, "jiffies across %d steps" % STEPS)
    gdb_run("thread 1")
    return True


@test
@once_more_after_undebugged_fault
def test_debug_kernel():
    check(VMLINUX and os.path.exists(VMLINUX), "no vmlinux (%r)" % VMLINUX)
    vm = kvmdbg("run", "-smp", "2", "--mem", "256M", "--initrd", INITRD_INSIDE,
                "--append", APPEND, "--gdb", "tcp:0.0.0.0:%d" % GDB_PORT_INSIDE, "-S",
                VMLINUX_INSIDE)
    vm.wait_listening()
    gdb_run("file " + VMLINUX)
    connect()

    # The PVH entry, in 32-bit protected mode: pvh_start_xen's physical address.
    entry = pc()
    check_eq(entry, sym("pvh_start_xen") - KERNEL_MAP, "entry pc")
    threads = gdb_run("info threads")
    check_eq(sorted(re.findall(r'"(vCPU \d+)"', threads)), ["vCPU 0", "vCPU 1"],
             "threads in %r" % threads)
    caps = rows(monitor("caps"))
    check_refused(vm, 1, "hw-breakpoints", caps, sym("start_kernel"))
    check_refused(vm, 0, "sw-breakpoints", caps, sym("start_kernel"))
    # Steps go forward through pvh_start_xen's straight-line start (a step
    # of a rep movs is one iteration; a mov to ss holds the trap off for one
    # more instruction, as the processor does).
    for n in range(STEPS):
        here = pc()
        after = stepi()
        check(here <= after < entry + 0x40, "step %d from %#x ended at %#x" % (n, here, after))
    check(pc() > entry + 0x10, "the steps got past the first instructions (pc %#x)" % pc())

    # Ctrl-C while the kernel boots, its tick running.
    interrupt_after(EARLY_INTERRUPT, timeout=60)
    banner = gdb_run("p linux_banner")
    check(RELEASE in banner and VERSION in banner, "linux_banner %r names %s %s"
          % (banner, RELEASE, VERSION))
    stepped = steps_hold_off_interrupts(thread_registers(("pc",)))

    # Without the debugger the kernel runs on to /init.
    gdb_run("detach")
    wait_serial(vm, "Run /init as init process")
    time.sleep(SETTLE)

    # Again once /init waits: both vCPUs are up, each with its own per-cpu
    # base in gs_base while in the kernel.
    connect()
    interrupt_after(1, timeout=60)
    check_eq(str(gdb.parse_and_eval("system_state")), "SYSTEM_RUNNING", "system_state")
    check_eq(int(gdb.parse_and_eval("__num_online_cpus.counter")), 2, "online CPUs")
    threads = gdb_run("info threads")
    check_eq(len(re.findall(r'"vCPU \d+"', threads)), 2, "threads in %r" % threads)
    regs = thread_registers(("pc", "cs", "gs_base", "fs_base"))
    in_kernel = 0
    for r in regs.values():
        print("vCPU %d: pc %#x cs %#x gs_base %#x fs_base %#x"
              % (r["vcpu"], r["pc"], r["cs"], r["gs_base"], r["fs_base"]))
        if r["cs"] & 3:
            continue        # in /init: gs_base is the user's
        in_kernel += 1
        base = int(gdb.parse_and_eval("__per_cpu_offset[%d]" % r["vcpu"]))
        check(base != 0, "__per_cpu_offset[%d] is 0" % r["vcpu"])
        check_eq((r["cs"], r["gs_base"]), (0x10, base), "vCPU %d cs, gs_base" % r["vcpu"])
        check(r["pc"] >= KERNEL_MAP, "vCPU %d pc %#x" % (r["vcpu"], r["pc"]))
    check(in_kernel >= 1, "no vCPU stopped in the kernel")
    if not stepped:
        steps_hold_off_interrupts(regs)

    # /init goes on once the host name is "go": it prints what it saw
    # through the UART's interrupt-driven tty and powers off, which ends
    # the run with status 0.
    for i, c in enumerate(b"go\0"):
        gdb_run("set var init_uts_ns.name.nodename[%d] = %d" % (i, c))
    gdb_run("detach")
    check_undebugged_status(vm, vm.wait(BOOT_TIMEOUT), 0, "exit status after /init's poweroff")
    m = init_marker(vm)
    check(m.group(2).isdigit() and int(m.group(2)) >= 1,
          "kprobe hits (the kernel's own int3) %r" % m.group(2))
    check("kvmdbg: guest powered off" in vm.stderr(), "stderr %r" % vm.stderr())



def init_marker(vm):
    """/init's line on the serial console, which must count 2 CPUs."""
    out = vm.serial()
    m = MARKER_RE.search(out)
    check(m is not None, "no user-space marker on the serial console; it ends %r" % out[-800:])
    check_eq(m.group(1), "2", "online CPUs /init counted")
    return m


@test
@once_more_after_undebugged_fault
def test_reboot_ends_run():
    """Linux's own reboot, after /init: the reset reaches kvmdbg, which
    ends the run with status 0."""
    vm = kvmdbg("run", "-smp", "2", "--mem", "256M", "--initrd", INITRD_INSIDE,
                "--append", "console=ttyS0 panic=-1 kvmdbg_end=reboot", VMLINUX_INSIDE)
    check_undebugged_status(vm, vm.wait(BOOT_TIMEOUT), 0, "exit status after /init's reboot")
    init_marker(vm)
    out = vm.serial()
    check("reboot: Restarting system" in out, "serial ends %r" % out[-300:])
    check("kvmdbg: guest reset the machine" in vm.stderr(), "stderr %r" % vm.stderr())


main()
