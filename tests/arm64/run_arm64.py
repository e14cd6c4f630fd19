#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the arm64 end-to-end suite on an x86-64 host, in a real KVM arm64.

    tests/arm64/run_arm64.py --build-x86 DIR [--build DIR] [--no-make] [NAME ...]

Installs what is missing (scripts/install-arm64-deps.sh; downloads are cached
in $XDG_CACHE_HOME/kvmdbg/arm64, by default ~/.cache/kvmdbg/arm64), builds
kvmdbg and the guests for arm64, boots a nested arm64 Linux machine with a
GICv3 under qemu-system-aarch64 and runs every tests/arm64/test_*.py against it,
each as a gdb-multiarch script; then the few files in GICV2_FILES once more on
a machine with a GICv2 (reported as arm64-gicv2/test_X).  NAMEs restrict the
run to test files whose names contain one of them.  Prints one line per test,

    PASS: arm64/test_X: name
    FAIL: arm64/test_X: name: why
    SKIP: arm64/test_X: name: why

and, indented, where the logs are (under DIR/test-logs/arm64).  The exit
status is 0 whatever the results; it is non-zero only for bad usage.
"""

import argparse
import atexit
import glob
import os
import re
import shutil
import signal
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))   # tests/, for run.py

import initramfs  # noqa: E402
import run as runner  # noqa: E402  (tests/run.py)
from nested_vm import Channel, ChannelError, NestedVm  # noqa: E402

CROSS_COMPILE = "aarch64-linux-gnu-"
FILE_TIMEOUT = 300
TEST_BUDGET = 600     # seconds for all test files, once the machine is up
DEPS_RE = re.compile(r"^(kernel|busybox|vmlinux)=(.*)$", re.M)
OUTER_MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "SANITIZE", "CC",
                        "CFLAGS", "LDFLAGS", "O")
# Every file runs on a machine with a GICv3 (as arm64 servers have), so the
# KVM inside offers a vGICv3; the files in GICV2_FILES run again on one with
# a GICv2, whose KVM offers only a vGICv2, for kvmdbg's other interrupt
# controller.
MAIN_GIC = 3
GICV2_FILES = ("test_interrupts.py", "test_linux_dtb.py")
# Files that boot Debian's kernel under kvmdbg: only when one of them runs
# does the nested machine carry that kernel and its initramfs (linux/Image,
# linux/initrd), and is the kernel's vmlinux fetched for gdb.
LINUX_FILES = ("test_linux.py", "test_linux_dtb.py")
KERNEL_DIR_RE = re.compile(r"linux-image-(.*)_([^_/]+)$")
TEST_DEF_RE = re.compile(r"^@test\s*\ndef (?:test_)?(\w+)\(", re.M)


def report(kind, text):
    print("%s: %s" % (kind, text), flush=True)


def note(text):
    print("      %s" % text, flush=True)


def declared_tests(path):
    """The names a test file will report, read from its source: for results
    when the file cannot run at all."""
    with open(path) as f:
        return TEST_DEF_RE.findall(f.read())


def fail_all(files, why, kind="FAIL", gic=MAIN_GIC):
    for path in files:
        for name in declared_tests(path):
            report(kind, "%s: %s: %s" % (suite_name(path, gic), name, why))


def suite_name(path, gic=MAIN_GIC):
    """arm64/test_X on the main machine, arm64-gicv2/test_X on the other."""
    prefix = "arm64" if gic == MAIN_GIC else "arm64-gicv%d" % gic
    return prefix + "/" + os.path.splitext(os.path.basename(path))[0]


def cache_dir():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kvmdbg", "arm64")


def install_deps(logdir, vmlinux):
    """{"kernel": dir, "busybox": dir[, "vmlinux": file]} from the
    dependency script, or raises."""
    log = os.path.join(logdir, "install-deps.log")
    argv = [os.path.join(REPO, "scripts", "install-arm64-deps.sh")]
    argv += ["--vmlinux"] if vmlinux else []
    status, out = runner.run_group(argv + [cache_dir()], dict(os.environ), 1800, log)
    dirs = dict(DEPS_RE.findall(out))
    wanted = ("kernel", "busybox") + (("vmlinux",) if vmlinux else ())
    if status != 0 or any(k not in dirs for k in wanted):
        raise RuntimeError("installing the arm64 dependencies failed (status %s); see %s"
                           % (status, log))
    return dirs


def build_arm64(build, logdir):
    log = os.path.join(logdir, "make.log")
    argv = ["setpriv", "--pdeathsig", "KILL", "--",
            "make", "--no-print-directory", "-j2", "ARCH=arm64",
            "CROSS_COMPILE=" + CROSS_COMPILE, "O=" + build, "all"]
    # An outer make (make check SANITIZE=1, make CC=clang) passes its
    # variables down through the environment; none of them suits a static
    # cross build, and objects built with them would stay in O.
    env = {k: v for k, v in os.environ.items() if k not in OUTER_MAKE_VARIABLES}
    status, _ = runner.run_group(argv, env, 900, log)
    if status != 0:
        raise RuntimeError("%s failed (status %s); see %s" % (" ".join(argv[4:]), status, log))


def nested_files(build):
    """{path inside the nested machine: host path}: kvmdbg and the guests."""
    files = {"kvmdbg": os.path.join(build, "kvmdbg")}
    for path in glob.glob(os.path.join(build, "guests", "*.elf")):
        files["guests/" + os.path.basename(path)] = path
    return files


def leftovers(vm):
    """Ends whatever a test file left running inside (a gdb that crashed
    never cleans up), so the next file finds the gdb port free."""
    try:
        channel = Channel(vm.serial_path, vm.console_log)
        try:
            channel.check_shell("stop_all")
        finally:
            channel.close()
    except (ChannelError, OSError) as e:
        note("cannot clean up inside the nested machine: %s" % e)


def check_machine(channel):
    """What every test needs inside: KVM and the network gdb comes through."""
    if channel.shell("test -c /dev/kvm")[0] != 0:
        raise RuntimeError("the nested machine has no /dev/kvm (is EL2 emulated?)")
    if channel.shell("ip -4 addr show eth0 | grep -q 10.0.2.15")[0] != 0:
        raise RuntimeError("the nested machine's network is down (virtio_net not loaded?)")


def keep_logs(vm, logdir):
    for log in (vm.console_log, vm.qemu_log):
        if os.path.exists(log):
            shutil.copy(log, os.path.join(logdir, "gicv%d-%s" % (vm.gic, os.path.basename(log))))


def linux_env(deps):
    """What a Linux test needs to know on the host about the kernel."""
    m = KERNEL_DIR_RE.search(deps["kernel"])
    if not m:
        raise RuntimeError("cannot tell the kernel's version from %s" % deps["kernel"])
    return {"KVMDBG_ARM64_VMLINUX": deps["vmlinux"],
            "KVMDBG_ARM64_LINUX_RELEASE": m.group(1),
            "KVMDBG_ARM64_LINUX_VERSION": m.group(2).replace("+", ":")}


def run_file(path, vm, build, logdir, deadline, extra_env):
    """Runs one test file under gdb-multiarch; reports its results."""
    name = suite_name(path, vm.gic)
    log = os.path.join(logdir, name.replace("/", "-") + ".log")
    env = dict(os.environ, **extra_env,
               KVMDBG_ARM64_CONSOLE=vm.serial_path,
               KVMDBG_ARM64_CONSOLE_LOG=vm.console_log,
               KVMDBG_ARM64_PORT=str(vm.port),
               KVMDBG_ARM64_GIC=str(vm.gic),
               KVMDBG_GUESTS=os.path.join(build, "guests"),
               KVMDBG_ARCH="arm64")
    timeout = int(max(10, min(FILE_TIMEOUT, deadline - time.monotonic())))
    started = time.monotonic()
    argv = ["setpriv", "--pdeathsig", "KILL", "--",
            "gdb-multiarch", "-batch", "-nx", "-q", "-x", path]
    status, text = runner.run_group(argv, env, timeout, log)
    planned = None
    seen = set()
    failed = False
    for line in text.splitlines():
        m = runner.E2E_LINE.match(line)
        if not m:
            continue
        if m.group(1) == "PLAN":
            planned = int(m.group(2))
            continue
        report(m.group(1), "%s: %s" % (name, m.group(2)))
        seen.add(m.group(2).split(":")[0])
        failed |= m.group(1) == "FAIL"
    why = None
    if status is None:
        why = "timed out after %ds" % timeout
    elif planned is None or len(seen) < planned:
        why = "stopped early (gdb exit status %d)" % status
    if why:
        failed = True
        for test in declared_tests(path):
            if test not in seen:
                report("FAIL", "%s: %s: %s; see %s" % (name, test, why, log))
    if failed:
        note("%s: log in %s" % (name, log))
    note("%s: %.1fs" % (name, time.monotonic() - started))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-x86", required=True, metavar="DIR",
                    help="the host build directory; logs go to DIR/test-logs/arm64")
    ap.add_argument("--build", default=os.path.join(REPO, "build", "arm64"), metavar="DIR",
                    help="where kvmdbg and the guests are built for arm64")
    ap.add_argument("--no-make", action="store_true",
                    help="use the arm64 build as it is instead of running make")
    ap.add_argument("names", nargs="*", help="only test files whose names contain one of these")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    logdir = os.path.join(os.path.abspath(args.build_x86), "test-logs", "arm64")
    os.makedirs(logdir, exist_ok=True)
    files = [p for p in sorted(glob.glob(os.path.join(HERE, "test_*.py")))
             if runner.selected(p, args.names)]
    if not files:
        return 0
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        fail_all(files, "needs a Debian host (apt-get, dpkg)", "SKIP")
        return 0

    workdir = tempfile.mkdtemp(prefix="kvmdbg-arm64-")
    vms = []

    def cleanup():
        for vm in vms:
            vm.close()
        shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(cleanup)
    # A killed runner still ends qemu: these exit through atexit, and qemu
    # also gets SIGKILL from the kernel when the runner dies outright.
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))

    with_linux = any(os.path.basename(p) in LINUX_FILES for p in files)
    extra_env = {}
    try:
        deps = install_deps(logdir, with_linux)
        if not args.no_make:
            build_arm64(build, logdir)
        vmlinuz, modules = initramfs.kernel_files(deps["kernel"])
        busybox = os.path.join(deps["busybox"], "bin", "busybox")
        inside = nested_files(build)
        if with_linux:
            # The kernel package's vmlinuz is an uncompressed Image.
            inside["linux/Image"] = vmlinuz
            inside["linux/initrd"] = os.path.join(workdir, "linux-initrd")
            initramfs.build_linux_guest(inside["linux/initrd"], busybox)
            extra_env = linux_env(deps)
        initrd = os.path.join(workdir, "initrd")
        initramfs.build(initrd, busybox, modules, inside)
    except (RuntimeError, ChannelError, OSError) as e:
        fail_all(files, "setup: %s" % " ".join(str(e).split()))
        return 0
    deadline = None
    for gic, group in ((MAIN_GIC, files),
                       (2, [p for p in files if os.path.basename(p) in GICV2_FILES])):
        if not group:
            continue
        machine_dir = os.path.join(workdir, "gicv%d" % gic)
        os.makedirs(machine_dir)
        vm = NestedVm(vmlinuz, initrd, machine_dir, gic)
        vms.append(vm)
        deadline = run_machine(vm, group, build, logdir, deadline, extra_env)
    return 0


def run_machine(vm, files, build, logdir, deadline, extra_env):
    """Boots one nested machine and runs files on it; returns the deadline
    of the test budget, which starts when the first machine is up."""
    try:
        started = time.monotonic()
        channel = vm.boot()
        try:
            check_machine(channel)
        finally:
            channel.close()
        note("nested machine (GICv%d): Linux %s, %d CPUs, up in %.1fs, gdb port %d"
             % (vm.gic, vm.release, vm.cpus, time.monotonic() - started, vm.port))
    except (RuntimeError, ChannelError, OSError) as e:
        fail_all(files, "setup: %s" % " ".join(str(e).split()), gic=vm.gic)
        vm.close()
        keep_logs(vm, logdir)
        note("nested machine logs in %s" % logdir)
        return deadline
    if deadline is None:
        deadline = time.monotonic() + TEST_BUDGET
    try:
        for path in files:
            if vm.proc.poll() is not None:
                fail_all([path], "the nested machine exited (status %d)" % vm.proc.returncode,
                         gic=vm.gic)
                continue
            if time.monotonic() > deadline:
                fail_all([path], "not run: the suite's %ds are spent" % TEST_BUDGET, gic=vm.gic)
                continue
            run_file(path, vm, build, logdir, deadline, extra_env)
            leftovers(vm)
    finally:
        vm.close()
        keep_logs(vm, logdir)
    return deadline


if __name__ == "__main__":
    sys.exit(main())
