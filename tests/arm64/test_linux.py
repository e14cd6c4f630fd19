# SPDX-License-Identifier: MIT
"""Debian's arm64 kernel under kvmdbg, to user space with two vCPUs: a
user's device tree, PSCI CPU_ON and SYSTEM_RESET, Images kvmdbg refuses, and
gdb-multiarch on the kernel with its own symbols (vmlinux from the -dbg
package).  One boot to user space serves every check of a running kernel:
each costs over 20 s of emulated machine."""

import gzip
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (GDB_PORT_INSIDE, bp_address, check, check_eq, connect, cont,  # noqa: E402
                       events, frame_names, gdb, gdb_run, interrupt_after, interrupt_on_serial,
                       kvmdbg, main, pc, put_file, read_u32, reg, stepi, test, thread_pcs)

VMLINUX = os.environ.get("KVMDBG_ARM64_VMLINUX", "")
RELEASE = os.environ.get("KVMDBG_ARM64_LINUX_RELEASE", "")
VERSION = os.environ.get("KVMDBG_ARM64_LINUX_VERSION", "")
IMAGE = "/linux/Image"
INITRD = "/linux/initrd"
MEM = 256 << 20
RAM_BASE = 0x40000000
# The device tree's 2 MiB block: the last one of RAM below 512 MiB.
DTB_ADDR = RAM_BASE + MEM - (2 << 20)
BOOT_TIMEOUT = 240
APPEND = "console=ttyAMA0 nokaslr panic=-1 quiet"
MARKER_RE = re.compile(r"^kvmdbg-linux: user space, (\d+) CPUs, kprobe hits (\S+)$", re.M)
WAITING = "kvmdbg-linux: waiting"
STATUS_RESET = 6
WFI = 0xd503207f
DAIF_I = 1 << 7
KERNEL_VA = 0xffff000000000000
STEPS = 12
# A loaded make check once found a vCPU busy at each of five tries, twice
# just out of its WFI (cpu_do_idle + 16).
IDLE_TRIES = 10


def machine(*extra):
    return ["run", "-smp", "2", "--mem", "%dM" % (MEM >> 20), "--initrd", INITRD] + \
        list(extra)


def check_user_space(vm):
    """The guest's /init ran: it saw both CPUs and its kprobe (the kernel's
    own BRK) hit."""
    out = vm.serial()
    m = MARKER_RE.search(out)
    check(m is not None, "no user-space marker on the serial console; it ends %r (stderr %r)"
          % (out[-800:], vm.stderr()))
    check_eq(m.group(1), "2", "online CPUs")
    check(m.group(2).isdigit() and int(m.group(2)) >= 1, "kprobe hits %r" % m.group(2))


def image_header(image_size, flags):
    """An Image header (booting.rst) followed by a little code."""
    head = struct.pack("<IIQQQQQQII", 0x14000010, 0, 0, image_size, flags, 0, 0, 0,
                       0x644d5241, 0)
    return head + bytes(4096 - len(head))


@test
def test_rejects_bad_images():
    cases = {
        "big-endian": (image_header(1 << 20, 1), "big-endian"),
        "no image_size": (image_header(0, 2), "older than Linux 3.17"),
        "image_size below the file's": (image_header(1024, 2), "corrupt Image header"),
        "gzip-compressed": (gzip.compress(image_header(1 << 20, 2)), "gunzip"),
    }
    for n, (what, (data, message)) in enumerate(cases.items()):
        path = "/tmp/kvmdbg-image-%d" % n
        put_file(path, data)
        vm = kvmdbg("run", path)
        check_eq(vm.wait(), 2, "%s: exit status (stderr %r)" % (what, vm.stderr()))
        check(message in vm.stderr(), "%s: stderr %r" % (what, vm.stderr()))
    vm = kvmdbg("run", "--dtb", INITRD, IMAGE)
    check_eq(vm.wait(), 2, "--dtb of a cpio archive: exit status (stderr %r)" % vm.stderr())
    check("not a usable device tree blob" in vm.stderr(), "--dtb of a cpio archive: %r"
          % vm.stderr())
    vm = kvmdbg("run", "--initrd", INITRD, "/guests/demo.elf")
    check_eq(vm.wait(), 2, "--initrd with an ELF guest: exit status (stderr %r)" % vm.stderr())
    check("for a Linux Image" in vm.stderr(), "--initrd with an ELF guest: %r" % vm.stderr())


def sym(name):
    return int(gdb.parse_and_eval("&" + name).cast(gdb.lookup_type("unsigned long")))


def held_at_entry(*extra, append=APPEND):
    """The kernel held before its first instruction, gdb connected with its symbols."""
    check(VMLINUX and os.path.exists(VMLINUX), "no vmlinux (%r)" % VMLINUX)
    vm = kvmdbg(*machine("--gdb", "tcp:0.0.0.0:%d" % GDB_PORT_INSIDE, "-S", *extra,
                         "-append", append + " kvmdbg_wait=1", IMAGE))
    vm.wait_listening()
    gdb_run("file " + VMLINUX)
    connect()
    return vm


@test
def test_software_break_start_kernel():
    """-S with the MMU off: start_kernel's address means nothing yet.  A
    software breakpoint there is pending until the kernel runs it, then
    planted, reported as itself, and its page write-protected."""
    held_at_entry()
    check_eq(pc(), RAM_BASE, "entry pc")
    gdb_run("set breakpoint always-inserted on")
    try:
        bp = gdb.Breakpoint("*start_kernel")
        listing = gdb_run("monitor breakpoints")
        check(re.search(r"^break +%#x: pending .*hardware slot \d+ watches for it$"
                        % sym("start_kernel"), listing, re.M),
              "monitor breakpoints at the entry: %r" % listing)
        stop = cont(BOOT_TIMEOUT)
        check_eq(pc(), sym("start_kernel"), "pc at the start_kernel software breakpoint")
        check_eq(stop["breakpoints"], [bp.number], "the software breakpoint is reported")
        check_eq(frame_names()[:2], ["start_kernel", "__primary_switched"], "frames")
        listing = gdb_run("monitor breakpoints")
    finally:
        gdb_run("set breakpoint always-inserted off")
    check(re.search(r"^break +%#x: planted at guest-physical 0x[0-9a-f]+, page write-protected$"
                    % sym("start_kernel"), listing, re.M), "monitor breakpoints: %r" % listing)
    gdb_run("delete")


@test
def test_debug_kernel():
    # Booted with a user's device tree: the one kvmdbg generates
    # (test_linux_dtb checks it), dumped with another command line than
    # this run's.  /chosen gets this run's, whose kvmdbg_end=reboot makes
    # /init reboot at the end.
    dump = "/tmp/kvmdbg-linux.dtb"
    vm = kvmdbg(*machine("--append", "console=ttyAMA0", "--dump-dtb", dump, IMAGE))
    check_eq(vm.wait(), 0, "--dump-dtb exit status (stderr %r)" % vm.stderr())
    vm = held_at_entry("-dtb", dump, append=APPEND + " kvmdbg_end=reboot")

    # Entry per booting.rst: the Image's first byte, x0 the device tree.
    check_eq(pc(), RAM_BASE, "entry pc")
    check_eq((reg("x0"), reg("x1"), reg("x2"), reg("x3")), (DTB_ADDR, 0, 0, 0), "x0-x3 at entry")
    check_eq(read_u32(DTB_ADDR), 0xedfe0dd0, "device tree magic at x0")

    gdb_run("hbreak *start_kernel")
    cont(BOOT_TIMEOUT)
    check_eq(pc(), sym("start_kernel"), "pc at the start_kernel hardware breakpoint")
    banner = gdb_run("p linux_banner")
    check(RELEASE in banner and VERSION in banner, "linux_banner %r names %s %s"
          % (banner, RELEASE, VERSION))
    bt = gdb_run("bt")
    check_eq(frame_names()[:2], ["start_kernel", "__primary_switched"], "frames in %r" % bt)
    pcs = thread_pcs()
    check_eq(sorted(pcs), [1, 2], "gdb threads")
    check(pcs[2] < KERNEL_VA, "vCPU 1 is in the kernel (pc %#x) before smp_init" % pcs[2])
    gdb_run("delete")

    # A software breakpoint, then steps there with the tick due: none
    # enters the vectors, and jiffies (only this CPU is up) stands still.
    bp = gdb.Breakpoint("init/main.c:kernel_init")
    cont(BOOT_TIMEOUT)
    check_eq(pc(), bp_address(bp), "pc at the kernel_init breakpoint")
    check_eq(reg("cpsr") & DAIF_I, 0, "PSTATE.I in kernel_init")
    bp.delete()
    vectors = sym("vectors")
    jiffies = int(gdb.parse_and_eval("jiffies"))
    for n in range(STEPS):
        here = stepi()
        check(not vectors <= here < vectors + 0x800, "step %d ended in the vectors at %#x"
              % (n, here))
    check_eq(int(gdb.parse_and_eval("jiffies")), jiffies, "jiffies across %d steps" % STEPS)

    # The tick writes jiffies.
    gdb_run("watch jiffies")
    cont(BOOT_TIMEOUT)
    check(int(gdb.parse_and_eval("jiffies")) > jiffies, "jiffies after the watchpoint")
    check(events.stops[-1]["breakpoints"], "the stop names no watchpoint: %r" % events.stops[-1])
    gdb_run("delete")

    # Once smp_init has run, the second vCPU is in the kernel too.
    gdb_run("hbreak *sched_init_smp")
    cont(BOOT_TIMEOUT)
    check_eq(pc(), sym("sched_init_smp"), "pc at sched_init_smp")
    threads = gdb_run("info threads")
    check(len(re.findall(r"Thread \d+", threads)) == 2, "info threads: %r" % threads)
    pcs = thread_pcs()
    check(pcs[2] >= KERNEL_VA, "vCPU 1 is not in the kernel (pc %#x) after smp_init" % pcs[2])
    gdb_run("delete")

    # A software breakpoint stays inserted while /init makes the kernel run
    # its own BRKs (a kprobe); then Ctrl-C while the kernel idles.
    gdb.Breakpoint("panic")
    interrupt_on_serial(vm, WAITING, BOOT_TIMEOUT)
    # /init's wait loop forks a sleep every 2 s, and a CPU goes through the
    # timer code on its way to idle: a Ctrl-C can find both busy.  Another
    # try a moment later finds one idle, where kvmdbg reports halted vCPUs
    # at their WFI.
    tries = []
    for _ in range(IDLE_TRIES):
        if tries:
            interrupt_after(3, timeout=60)
        pcs = thread_pcs()
        if any(WFI in (read_u32(here), read_u32(here - 4)) for here in pcs.values()):
            break
        tries.append({n: gdb_run("info symbol %#x" % p).strip() for n, p in pcs.items()})
    check(len(tries) < IDLE_TRIES, "no vCPU stopped at a WFI in %d tries: %s"
          % (IDLE_TRIES, tries))

    # Let /init go on to its reboot, and leave.
    gdb_run('set var init_uts_ns.name.nodename[0] = 103')
    gdb_run('set var init_uts_ns.name.nodename[1] = 111')
    gdb_run('set var init_uts_ns.name.nodename[2] = 0')
    gdb_run("detach")
    check_eq(vm.wait(BOOT_TIMEOUT), STATUS_RESET, "exit status after reboot (stderr %r, serial %r)"
             % (vm.stderr(), vm.serial()[-800:]))
    check_user_space(vm)


main()
