# SPDX-License-Identifier: MIT
"""Debian's x86-64 kernel (its vmlinux, by the PVH entry) under kvmdbg on the
nested KVM, with two vCPUs, debugged with the symbols of its -dbg package.

What this nested KVM offers decides what gdb can do (test_features.py
measures it): single steps and Ctrl-C work; int3 and debug-register
breakpoints never exit to kvmdbg, so breakpoints are refused with the
reason, and the kernel's own int3 goes straight to the kernel.  The boot
stops in calibrate_APIC_clock, waiting for a jiffy: qemu 7.2's TCG SVM
delivers no interrupt of the in-kernel PIT or local APIC to the nested
guest (jiffies stays at INITIAL_JIFFIES), so user space is not reached
there; the test prints how far it got.
"""

import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "nested"))
from inside import (GDB_PORT_INSIDE, check, check_eq, connect, frame_names, gdb,  # noqa: E402
                    gdb_run, interrupt_after, kvmdbg, main, monitor, packet, pc, reg, rows, shell,
                    stepi, test)

VMLINUX = os.environ.get("KVMDBG_X86_VMLINUX", "")
RELEASE = os.environ.get("KVMDBG_X86_LINUX_RELEASE", "")
VERSION = os.environ.get("KVMDBG_X86_LINUX_VERSION", "")
APPEND = "console=ttyS0 panic=-1 lpj=1000000"
KERNEL_MAP = 0xffffffff80000000
NOT_REPORTED = "no: not reported by this host"
RUN_BEFORE_INTERRUPT = 30
STEPS = 10
# Where an interrupt or exception enters the kernel.
ENTRY_POINTS = ("asm_sysvec_apic_timer_interrupt", "asm_common_interrupt",
                "asm_exc_int3", "asm_exc_debug")


def sym(name):
    return int(gdb.parse_and_eval("(unsigned long)&" + name))


def thread_regs(names):
    """{gdb thread number: {register: value}} for every vCPU."""
    out = {}
    for t in gdb.selected_inferior().threads():
        t.switch()
        gdb_run("maint flush register-cache")
        out[t.num] = {n: reg(n) for n in names}
    gdb_run("thread 1")
    return out


def check_refused(vm, ztype, kind, caps, where):
    """A breakpoint gdb asks for where the nested KVM lacks it is refused,
    with the reason on kvmdbg's stderr."""
    if caps.get(kind) != NOT_REPORTED:
        return
    reply = packet("Z%d,%x,1" % (ztype, where))
    check(reply.startswith("E"), "Z%d at %#x on a host without %s: %r" % (ztype, where, kind,
                                                                         reply))
    check("kvmdbg: Z%d at 0x%x refused: " % (ztype, where) in vm.stderr(),
          "stderr names the refusal: %r" % vm.stderr())


@test
def test_debug_kernel():
    check(VMLINUX and os.path.exists(VMLINUX), "no vmlinux (%r)" % VMLINUX)
    vm = kvmdbg("run", "-smp", "2", "--mem", "256M", "--initrd", "/linux/initrd",
                "--gdb", "tcp:0.0.0.0:%d" % GDB_PORT_INSIDE, "-S", "--append", APPEND,
                "/linux/vmlinux")
    vm.wait_listening()
    gdb_run("file " + VMLINUX)
    connect()

    # The PVH entry, in 32-bit protected mode: pvh_start_xen's physical address.
    check_eq(pc(), sym("pvh_start_xen") - KERNEL_MAP, "entry pc")
    threads = gdb_run("info threads")
    check_eq(re.findall(r'"(vCPU \d+)"', threads), ["vCPU 0", "vCPU 1"],
             "threads in %r" % threads)
    caps = rows(monitor("caps"))
    check_refused(vm, 1, "hw-breakpoints", caps, sym("start_kernel"))
    check_refused(vm, 0, "sw-breakpoints", caps, sym("start_kernel"))
    # Steps go forward through pvh_start_xen's straight-line start (a
    # step of a rep movs is one iteration; a mov to ss holds the trap off
    # for one more instruction, as the processor does).
    entry = pc()
    for n in range(STEPS):
        here = pc()
        after = stepi()
        check(here <= after < entry + 0x40, "step %d from %#x ended at %#x" % (n, here, after))
    check(pc() > entry + 0x10, "the steps got past the first instructions (pc %#x)" % pc())

    # Ctrl-C once the kernel runs in its own address space.
    interrupt_after(RUN_BEFORE_INTERRUPT, timeout=60)
    text = (sym("_stext"), sym("_etext"))
    here = pc()
    check(text[0] <= here < text[1] or sym("_sinittext") <= here < sym("_einittext"),
          "vCPU 0 stopped in the kernel's code (pc %#x)" % here)
    banner = gdb_run("p linux_banner")
    check(RELEASE in banner and VERSION in banner, "linux_banner %r names %s %s"
          % (banner, RELEASE, VERSION))
    frames = [f for f in frame_names() if f]
    print("stopped in %s; jiffies %s" % (" < ".join(frames),
                                         gdb_run("p jiffies").split("=")[-1].strip()))
    check(frames and frames[-1] in ("ret_from_fork", "secondary_startup_64_no_verify",
                                    "x86_64_start_kernel", "start_kernel"),
          "backtrace %r ends where kernel code starts" % frames)
    # gs_base is this CPU's per-cpu base, set up by the kernel.
    regs = thread_regs(("gs_base", "fs_base", "cs"))
    base = int(gdb.parse_and_eval("__per_cpu_offset[0]"))
    check(base != 0, "__per_cpu_offset[0] is 0")
    check_eq((regs[1]["gs_base"], regs[1]["fs_base"], regs[1]["cs"]), (base, 0, 0x10),
             "vCPU 0 gs_base, fs_base, cs")

    # Steps stay in the code they started in: none enters an interrupt.
    entries = {sym(n) for n in ENTRY_POINTS}
    for n in range(STEPS):
        here = stepi()
        check(here not in entries, "step %d entered %s" % (n, gdb_run("info symbol %#x" % here)))

    # Without a debugger the kernel runs on.
    gdb_run("detach")
    check_eq(vm.poll(), None, "kvmdbg's status after the detach (stderr %r)" % vm.stderr())
    status, out = shell("sleep 2; cat /proc/loadavg")
    check_eq(status, 0, "the nested machine answers: %r" % out)
    check_eq(vm.poll(), None, "kvmdbg's status two seconds after the detach")
    print("serial console ends %r" % vm.serial()[-500:])
    vm.kill()


main()
