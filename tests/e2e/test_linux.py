# SPDX-License-Identifier: MIT
"""Debian's x86-64 cloud kernel under kvmdbg, debugged with its own symbols.

The kernel (bzImage) and its -dbg vmlinux come from apt on first use and
are cached in ~/.cache/kvmdbg/x86_64 (scripts/install-x86-linux-deps.sh).
The boot test goes through the vmlinux's PVH entry: on a KVM that emulates
guest kernel code the bzImage's decompressor alone takes minutes (about
200 s to the decompressed kernel's startup_64 on a loaded host), so the
bzImage is checked at its 64-bit entry (zero page, command line, initrd,
e820 map, the protected-mode kernel's bytes) and single-stepped into the
decompressor.
"""

import os
import re
import struct
import subprocess
import sys
import threading
import signal
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (REPO, KVMDBG, TestFailure, Vm, check, check_eq, connect, cont, events,
                        gdb, gdb_run, main, pc, read_mem, reg, resume,
                        scratch, test)

CACHE = os.path.join(os.path.expanduser("~"), ".cache", "kvmdbg", "x86_64")
MEM = "128M"
# No delay-loop calibration, no zeroing of every allocated page, a small
# trace buffer: less kernel code to run where KVM emulates it.
APPEND = "console=ttyS0 lpj=1000000 init_on_alloc=0 trace_buf_size=4k panic=-1"
# Hang guards only: how long a stage may take on a slow, loaded host.
START_KERNEL_TIMEOUT = 120
SELFTEST_TIMEOUT = 420
BZIMAGE_START_KERNEL_TIMEOUT = 600

ZERO_PAGE = 0x8000
START_INFO = 0x9000
CMDLINE = 0xa000
KERNEL_BASE = 0xffffffff80000000

_kernel = {}


def kernel():
    """The cached kernel: {'version', 'vmlinuz', 'vmlinux'}."""
    if not _kernel:
        proc = subprocess.run([os.path.join(REPO, "scripts", "install-x86-linux-deps.sh"), CACHE],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=900)
        if proc.returncode:
            raise TestFailure("cannot fetch Debian's kernel: %s"
                              % proc.stderr.decode(errors="replace").strip()[-500:])
        for line in proc.stdout.decode().splitlines():
            key, _, value = line.partition("=")
            _kernel[key] = value
    return _kernel


def start(path, *args):
    vm = Vm([KVMDBG, "run", "--mem", MEM, "--gdb", "tcp:127.0.0.1:0", "-S"] + list(args) + [path])
    vm.wait_listening(timeout=60)
    return vm


def u32(b, off):
    return struct.unpack_from("<I", b, off)[0]


def u64(b, off):
    return struct.unpack_from("<Q", b, off)[0]


def expected_e820(ram):
    return [(0, 0x1000, 1), (0x1000, 0xb000, 2), (0xc000, 0x9fc00 - 0xc000, 1),
            (0x9fc00, 0x100000 - 0x9fc00, 2), (0x100000, ram - 0x100000, 1)]


def check_cmdline(vm, append):
    """The command line in guest memory: reboot=k, append, and what
    kvmdbg said it added for features the host's KVM offers but cannot
    run."""
    m = re.search(r"added (clearcpuid=\S+) to the kernel command line", vm.stderr())
    added = " " + m.group(1) if m else ""
    want = ("reboot=k " + append + added).encode() + b"\0"
    check_eq(read_mem(CMDLINE, len(want)), want, "command line")


def initrd_file(size=0x5123):
    path = os.path.join(scratch(), "initrd")
    data = bytes((i * 7 + 3) & 0xff for i in range(size))
    with open(path, "wb") as f:
        f.write(data)
    return path, data


@test
def test_pvh_entry_state():
    k = kernel()
    path, data = initrd_file()
    append = "console=ttyS0 kvmdbg-test=pvh"
    vm = start(k["vmlinux"], "-smp", "2", "-initrd", path, "-append", append)
    gdb_run("file " + k["vmlinux"])
    connect(vm.port)
    gdb_run("monitor phys on")
    # The second vCPU waits for the kernel's INIT/SIPI, in its reset state.
    check_eq(len(gdb.selected_inferior().threads()), 2, "threads")
    gdb_run("thread 2")
    check_eq(pc(), 0xfff0, "second vCPU's pc before its INIT/SIPI")
    gdb_run("thread 1")
    out = subprocess.run(["readelf", "-n", k["vmlinux"]], stdout=subprocess.PIPE).stdout.decode()
    m = re.search(r"Xen\s+0x00000008\s+Unknown note type: \(0x00000012\)\s+description data: "
                  r"((?:[0-9a-f]{2} ){8})", out)
    check(m is not None, "no PVH entry note in readelf -n output")
    entry = int.from_bytes(bytes.fromhex(m.group(1).replace(" ", "")), "little")
    check_eq(pc(), entry, "pc at the PVH entry")
    check_eq(reg("rbx"), START_INFO, "ebx: hvm_start_info")
    check_eq(reg("cr0") & 0x80000001, 1, "cr0: protected mode, paging off")
    si = read_mem(START_INFO, 56)
    check_eq(u32(si, 0), 0x336ec578, "hvm_start_info magic")
    check_eq(u32(si, 12), 1, "nr_modules")
    check_eq(u64(si, 24), CMDLINE, "cmdline_paddr")
    check_cmdline(vm, append)
    mod = read_mem(u64(si, 16), 16)
    check_eq(u64(mod, 8), len(data), "module size")
    check_eq(u64(mod, 0) & 0xfff, 0, "module alignment")
    check_eq(read_mem(u64(mod, 0), len(data)), data, "initrd bytes in guest memory")
    n = u32(si, 48)
    raw = read_mem(u64(si, 40), n * 24)
    got = [struct.unpack_from("<QQI", raw, i * 24) for i in range(n)]
    check_eq(got, expected_e820(128 << 20), "memory map")
    rsdp = read_mem(u64(si, 32), 8)
    check_eq(rsdp, b"RSD PTR ", "rsdp_paddr points at the RSDP")


@test
def test_bzimage_entry_state():
    k = kernel()
    path, data = initrd_file(0x3456)
    append = "console=ttyS0 kvmdbg-test=bzimage"
    with open(k["vmlinuz"], "rb") as f:
        image = f.read()
    setup = ((image[0x1f1] or 4) + 1) * 512
    pref = u64(image, 0x258)
    vm = start(k["vmlinuz"], "--initrd", path, "--append", append)
    gdb_run("file")
    connect(vm.port)
    gdb_run("monitor phys on")
    check_eq(pc(), pref + 0x200, "pc at startup_64 of the protected-mode kernel")
    check_eq(reg("rsi"), ZERO_PAGE, "rsi: zero page")
    check_eq(reg("cs"), 0x10, "cs: __BOOT_CS")
    check_eq(reg("ds"), 0x18, "ds: __BOOT_DS")
    check_eq(reg("efer") & 0x500, 0x500, "efer: long mode active")
    zp = read_mem(ZERO_PAGE, 4096)
    hdr_end = 0x202 + image[0x201]
    check_eq(zp[0x202:0x206], b"HdrS", "setup header copied")
    check_eq(zp[0x206:0x208], image[0x206:0x208], "protocol version copied")
    check_eq(zp[0x210], 0xff, "type_of_loader")
    check_eq(zp[0x211] & 1, 1, "LOADED_HIGH")
    check_eq(u32(zp, 0x228), CMDLINE, "cmd_line_ptr")
    check_cmdline(vm, append)
    ramdisk, size = u32(zp, 0x218), u32(zp, 0x21c)
    check_eq(size, len(data), "ramdisk_size")
    check(ramdisk + size - 1 <= u32(image, 0x22c), "ramdisk above initrd_addr_max")
    check(ramdisk >= pref + u32(image, 0x260), "ramdisk overlaps the kernel's init_size")
    check_eq(read_mem(ramdisk, len(data)), data, "initrd bytes in guest memory")
    n = zp[0x1e8]
    got = [struct.unpack_from("<QQI", zp, 0x2d0 + i * 20) for i in range(n)]
    check_eq(got, expected_e820(128 << 20), "e820 map")
    check_eq(read_mem(pref, 0x400), image[setup:setup + 0x400], "protected-mode kernel loaded")
    # The decompressor runs from there.
    for _ in range(3):
        resume("stepi")
    check(pc() != pref + 0x200, "stepi did not move from startup_64")


@test
def test_linux_reset_ends_run():
    # What Linux's reboot does without ACPI reset support, and with it.
    k = kernel()
    for port_code, what in ((b"\xb0\xfe\xe6\x64", "keyboard controller reset"),
                            (b"\xb0\x06\x66\xba\xf9\x0c\xee", "0xcf9 reset")):
        vm = start(k["vmlinuz"])
        gdb_run("file")
        connect(vm.port)
        gdb.selected_inferior().write_memory(pc(), port_code)
        resume("continue")
        check_eq(events.exits, [0], "%s: exit reported to gdb" % what)
        check_eq(vm.wait(), 0, "%s: kvmdbg exit status" % what)
        check("guest reset the machine" in vm.stderr(), "%s: stderr %r" % (what, vm.stderr()))


def symbol(name):
    return int(gdb.parse_and_eval("&%s" % name).cast(gdb.lookup_type("unsigned long")))


def software_break_start_kernel(path, timeout):
    """-S, a software breakpoint on start_kernel before the kernel's
    addresses exist (paging off at the PVH entry; the bzImage's own
    identity map, its kernel not even decompressed), continue: the stop is
    that breakpoint's, and its trap is planted on a protected page."""
    k = kernel()
    # nokaslr: the bzImage's decompressor would put the kernel elsewhere
    # than its symbols say.
    vm = start(path, "--append", APPEND + " nokaslr")
    gdb_run("file " + k["vmlinux"])
    connect(vm.port)
    started = time.monotonic()
    # Inserted now, so that the stub's listing shows it at both stops.
    gdb_run("set breakpoint always-inserted on")
    try:
        bp = gdb.Breakpoint("start_kernel")
        listing = gdb_run("monitor breakpoints")
        check(re.search(r"^break +%#x: pending .*hardware slot \d+ watches for it$"
                        % symbol("start_kernel"), listing, re.M),
              "monitor breakpoints at the entry: %r" % listing)
        stop = cont(timeout)
        elapsed = time.monotonic() - started
        check_eq(stop["pc"], symbol("start_kernel"), "stop at start_kernel")
        check_eq(stop["breakpoints"], [bp.number], "the software breakpoint is reported")
        check(re.search(r"^#0 .*start_kernel", gdb_run("bt"), re.M), "bt at start_kernel")
        listing = gdb_run("monitor breakpoints")
    finally:
        gdb_run("set breakpoint always-inserted off")
    check(re.search(r"^break +%#x: planted at guest-physical 0x[0-9a-f]+, page write-protected$"
                    % symbol("start_kernel"), listing, re.M), "monitor breakpoints: %r" % listing)
    print("INFO: software breakpoint at start_kernel after %.0fs" % elapsed)


@test
def test_pvh_software_break_start_kernel():
    software_break_start_kernel(kernel()["vmlinux"], START_KERNEL_TIMEOUT)


def test_bzimage_software_break_start_kernel():
    # The decompressor writes the kernel into place first: minutes where
    # KVM emulates guest kernel code (about 350 s on a loaded host whose
    # KVM does), more than this file's time allows, hence only with
    # KVMDBG_SLOW_TESTS=1.
    software_break_start_kernel(kernel()["vmlinuz"], BZIMAGE_START_KERNEL_TIMEOUT)


if os.environ.get("KVMDBG_SLOW_TESTS") == "1":
    test(test_bzimage_software_break_start_kernel)


@test
def test_linux_boot_debugged():
    k = kernel()
    vm = start(k["vmlinux"], "--append", APPEND)
    gdb_run("file " + k["vmlinux"])
    connect(vm.port)
    started = time.monotonic()

    # From the first instruction to start_kernel, by a hardware breakpoint.
    gdb_run("hbreak start_kernel")
    stop = cont(START_KERNEL_TIMEOUT)
    check_eq(stop["pc"], symbol("start_kernel"), "stop at start_kernel")
    at_start_kernel = time.monotonic() - started
    gdb_run("set print elements 0")
    printed = gdb_run("p linux_banner")
    m = re.search(r'<linux_banner> "(Linux version [^"]*)', printed)
    check(m is not None, "p linux_banner: %r" % printed)
    banner = m.group(1)
    check(" %s " % k["version"] in banner, "linux_banner %r lacks version %s"
          % (banner, k["version"]))
    bt = gdb_run("bt")
    check(re.search(r"^#0 .*start_kernel", bt, re.M), "bt: %r" % bt)
    # x86_64_start_kernel reaches start_kernel by tail calls.
    check(re.search(r"^#1 .* in secondary_startup_64 ", bt, re.M), "bt: %r" % bt)
    regs = gdb_run("info registers cr0 cr3 cr4 efer")
    check_eq(reg("cr0") & 0x80000001, 0x80000001, "cr0: PE and PG (%r)" % regs)
    check_eq(reg("cr4") & 0x20, 0x20, "cr4: PAE")
    check_eq(reg("efer") & 0x500, 0x500, "efer: LME and LMA")
    check(reg("cr3") != 0 and reg("cr3") & 0xfff == 0, "cr3 %#x" % reg("cr3"))
    check(pc() >= KERNEL_BASE, "pc %#x below the kernel's mapping" % pc())
    gdb_run("delete")

    # Ctrl-C while the kernel boots.
    timer = threading.Timer(3.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        resume("continue", timeout=60)
    finally:
        timer.cancel()
    check(not events.exits, "the kernel ended the run (status %r) instead of running on: %s"
          % (events.exits, vm.stderr().strip()))
    check_eq(events.stops[-1]["signal"], "SIGINT", "stop signal after Ctrl-C")
    check(pc() >= KERNEL_BASE, "interrupted at %#x, outside the kernel" % pc())

    # pid_idr_init comes right after arch_cpu_finalize_init, which runs
    # the kernel's int3 self-test: its own int3 must reach its own
    # handler (else BUG), while kvmdbg's breakpoints are kvmdbg's.
    gdb_run("hbreak pid_idr_init")
    stop = cont(SELFTEST_TIMEOUT)
    check_eq(stop["pc"], symbol("pid_idr_init"), "stop after the int3 self-test")
    after_selftest = time.monotonic() - started
    serial = vm.serial()
    check("Linux version %s" % banner[len("Linux version "):].split()[0] in serial,
          "serial lacks the banner: %r" % serial[:300])
    for bad in ("BUG", "Oops", "int3 selftest"):
        check(bad not in serial, "%r on serial: %r" % (bad, serial[-500:]))
    gdb_run("delete")

    # Steps stay in the kernel's own code: the timer, pending by now,
    # is held off while stepping.
    irq_start, irq_end = symbol("__irqentry_text_start"), symbol("__irqentry_text_end")
    for n in range(20):
        resume("stepi")
        check(not irq_start <= pc() < irq_end, "stepi %d entered interrupt code at %#x"
              % (n, pc()))

    # A software breakpoint, written after the kernel has patched its text.
    bp = gdb.Breakpoint("fork_init")
    stop = cont(120)
    check_eq(stop["pc"], int(bp.locations[0].address), "stop at the fork_init breakpoint")
    check_eq(stop["breakpoints"], [bp.number], "breakpoint reported")
    check(re.search(r"^#0 .*fork_init", gdb_run("bt"), re.M), "bt at fork_init")
    gdb_run("delete")

    # Detach: the kernel runs on and keeps printing.
    printed = len(vm.serial())
    gdb_run("detach")
    deadline = time.monotonic() + 120
    while len(vm.serial()) == printed:
        check(vm.poll() is None, "kvmdbg exited after detach: %s" % vm.stderr())
        check(time.monotonic() < deadline, "no serial output within 120s of detach")
        time.sleep(0.5)
    print("INFO: start_kernel after %.0fs, int3 self-test passed after %.0fs"
          % (at_start_kernel, after_selftest))


main()
