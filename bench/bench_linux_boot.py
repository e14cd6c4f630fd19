# SPDX-License-Identifier: MIT
"""Debian's x86-64 cloud kernel from launch to `hbreak start_kernel`,
kvmdbg next to QEMU with KVM, through gdb.

Each row starts the VMM held before the first instruction, connects gdb,
sets `hbreak start_kernel` and continues; the time runs from the launch of
the VMM to gdb's stop there.  gdb reads the vmlinux's symbols once, before
any clock starts.  The kernel files are the ones the tests use
(scripts/install-x86-linux-deps.sh, cached in ~/.cache/kvmdbg/x86_64):
the vmlinux enters through its PVH note and skips the decompressor, the
bzImage goes through it.  `nokaslr` keeps the decompressed kernel where
the vmlinux's symbols say it is.

Times are wall-clock and only printed, each kvmdbg row with its ratio to
QEMU booting the same file; where the host's KVM emulates guest kernel
code the bzImage rows take minutes and move with the load average,
printed with them.  One boot per row, or the median of BENCH_BOOTS boots
taken in rounds over every row (`make bench BENCH=linux BENCH_BOOTS=3`),
with the fastest and the slowest.
"""

import os
import shutil
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
from kvmdbg_e2e import REPO, TestFailure, Vm, connect, free_port, gdb, gdb_run, kill_session, resume  # noqa: E402

KVMDBG = os.environ.get("KVMDBG", "")
QEMU = "qemu-system-x86_64"
CACHE = os.path.join(os.path.expanduser("~"), ".cache", "kvmdbg", "x86_64")
FETCH = os.path.join(REPO, "scripts", "install-x86-linux-deps.sh")
MEM = "128M"
APPEND = "console=ttyS0 nokaslr"
START_TIMEOUT = 60          # the VMM up and listening
BOOT_TIMEOUT = 600          # hang guard for one launch to start_kernel
FETCH_TIMEOUT = 900
BOOTS = int(os.environ.get("BENCH_BOOTS") or 1)


class NotAvailable(Exception):
    pass


def kernel():
    """{'version', 'vmlinuz', 'vmlinux'}, fetched on first use."""
    try:
        proc = subprocess.run([FETCH, CACHE], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              timeout=FETCH_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as e:
        raise NotAvailable("cannot run %s: %s" % (FETCH, e))
    if proc.returncode:
        raise NotAvailable("%s could not fetch Debian's kernel (run `%s %s` by hand): %s"
                           % (os.path.relpath(FETCH, REPO), os.path.relpath(FETCH, REPO), CACHE,
                              proc.stderr.decode(errors="replace").strip()[-300:]))
    found = {}
    for line in proc.stdout.decode().splitlines():
        key, _, value = line.partition("=")
        found[key] = value
    return found


def kvmdbg_launch(image):
    if not os.access(KVMDBG, os.X_OK):
        raise NotAvailable("no kvmdbg binary at %r" % KVMDBG)
    vm = Vm([KVMDBG, "run", "--mem", MEM, "--gdb", "tcp:127.0.0.1:0", "-S",
             "--append", APPEND, image])
    try:
        vm.wait_listening(START_TIMEOUT)
    except TestFailure as e:
        vm.kill()
        raise NotAvailable(str(e))
    return vm, vm.port


def qemu_launch(image):
    if not shutil.which(QEMU):
        raise NotAvailable("%s is not installed" % QEMU)
    # Not -s: that listens on every interface, on port 1234.  Not
    # -nographic: that puts QEMU's monitor on standard input.
    port = free_port()
    vm = Vm([QEMU, "-accel", "kvm", "-m", MEM, "-kernel", image, "-append", APPEND,
             "-S", "-gdb", "tcp:127.0.0.1:%d" % port,
             "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot"])
    return vm, port


def to_start_kernel(launch, image, entry):
    """Seconds from launch to gdb's stop at start_kernel."""
    vm = None
    started = time.monotonic()
    try:
        vm, port = launch(image)
        try:
            connect(port)       # gdb retries while QEMU starts
        except gdb.error as e:
            raise NotAvailable("gdb could not connect: %s %s" % (e, vm.stderr().strip()[-300:]))
        try:
            gdb_run("hbreak start_kernel")
            resume("continue", BOOT_TIMEOUT)
        except (TestFailure, gdb.error) as e:
            raise NotAvailable(str(e))
        seconds = time.monotonic() - started
        if not gdb.selected_inferior().pid:
            raise NotAvailable("the guest ended before start_kernel: %s"
                               % vm.stderr().strip()[-300:])
        pc = int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff
        if pc != entry:
            raise NotAvailable("stopped at %#x instead of start_kernel (%#x)" % (pc, entry))
        return seconds
    finally:
        kill_session()
        if vm:
            vm.kill()


def say(text=""):
    REPORT.write(text + "\n")
    REPORT.flush()


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main():
    for setting in ("pagination off", "confirm off", "height 0", "width 0",
                    "tcp connect-timeout 30", "remotetimeout 30"):
        gdb_run("set " + setting)
    say("Launch to `hbreak start_kernel` through gdb, Debian's x86-64 cloud kernel")
    try:
        k = kernel()
    except NotAvailable as e:
        say("  n/a: %s" % e)
        return
    gdb_run("file " + k["vmlinux"])
    entry = int(gdb.parse_and_eval("&start_kernel").cast(gdb.lookup_type("unsigned long")))
    say("%s, --mem %s, one vCPU, -append \"%s\""
        % (os.path.basename(k["vmlinuz"]), MEM, APPEND))
    say("(wall time: %s; ratio to QEMU booting the same file)"
        % ("one boot" if BOOTS == 1 else "median of %d boots [fastest, slowest]" % BOOTS))
    say("  start: %s" % load())
    rows = (("kvmdbg, vmlinux (PVH entry)", kvmdbg_launch, "vmlinux"),
            ("QEMU + KVM, vmlinux (PVH entry)", qemu_launch, "vmlinux"),
            ("kvmdbg, bzImage (decompressor)", kvmdbg_launch, "vmlinuz"),
            ("QEMU + KVM, bzImage (decompressor)", qemu_launch, "vmlinuz"))
    # Rounds over every row rather than each row's boots in a row: a
    # change of load on a shared host then weighs on every row alike.
    times = {label: [] for label, _, _ in rows}
    for _ in range(BOOTS):
        for label, launch, image in rows:
            if times[label] and isinstance(times[label][-1], Exception):
                continue
            try:
                times[label].append(to_start_kernel(launch, k[image], entry))
            except NotAvailable as e:
                times[label].append(e)
    median = {label: (t[-1] if isinstance(t[-1], Exception) else statistics.median(t))
              for label, t in times.items()}
    for label, launch, image in rows:
        value = median[label]
        base = next(median[l] for l, run, i in rows if run is qemu_launch and i == image)
        if isinstance(value, Exception):
            say("  %-40s n/a: %s" % (label, value))
            continue
        line = "  %-40s %8.1f s" % (label, value)
        if BOOTS > 1:
            line += "  %-16s" % ("[%.1f, %.1f]" % (min(times[label]), max(times[label])))
        if not isinstance(base, Exception):
            line += "   x%.2f" % (value / base)
        say(line)
    say("  end: %s" % load())


# gdb prints every stop on its standard output: that goes to /dev/null, the
# table to what standard output was.
gdb.flush()
REPORT = os.fdopen(os.dup(1), "w")
with open(os.devnull, "w") as _null:
    os.dup2(_null.fileno(), 1)
main()
