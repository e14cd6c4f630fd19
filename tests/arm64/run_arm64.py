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
import os
import re
import shutil
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "nested"))

import initramfs  # noqa: E402
import suite  # noqa: E402
from nested_vm import NestedVm, qemu_argv  # noqa: E402

CROSS_COMPILE = "aarch64-linux-gnu-"
# Loaded in this order: each needs the ones before it.
MODULES = ("virtio_ring", "virtio", "virtio_mmio", "failover", "net_failover", "virtio_net")
# Every file runs on a machine with a GICv3 (as arm64 servers have), so the
# KVM inside offers a vGICv3; the files in GICV2_FILES run again on one with
# a GICv2, whose KVM offers only a vGICv2, for kvmdbg's other interrupt
# controller.
MAIN_GIC = 3
# Seconds for all test files, once the first machine is up: about 450 on a
# slow host; with a busy loop beside it, 600 ran out 14 files short
# (test_linux alone took 287).
TEST_BUDGET = 900
GICV2_FILES = ("test_interrupts.py", "test_linux_dtb.py")
# Files that boot Debian's kernel under kvmdbg: only when one of them runs
# does the nested machine carry that kernel and its initramfs (linux/Image,
# linux/initrd), and is the kernel's vmlinux fetched for gdb.
LINUX_FILES = ("test_linux.py", "test_linux_dtb.py")
KERNEL_DIR_RE = re.compile(r"linux-image-(.*)_([^_/]+)$")


def machine(gic, vmlinuz, initrd, workdir):
    """The nested arm64 machine with a GICv(gic)."""
    def argv(port, serial_path):
        return ["qemu-system-aarch64", "-M", "virt,virtualization=on,gic-version=%d" % gic,
                "-cpu", "max", "-m", "1024", "-smp", "2",
                "-device", "virtio-net-device,netdev=n0"] + \
            qemu_argv(vmlinuz, initrd, "console=ttyAMA0 panic=-1", port, serial_path)
    return NestedVm("gicv%d" % gic, argv, workdir)


def suite_for(gic, logdir, env):
    """arm64/test_X on the main machine, arm64-gicv2/test_X on the other."""
    prefix = "arm64" if gic == MAIN_GIC else "arm64-gicv%d" % gic
    return suite.Suite(prefix, "gdb-multiarch", logdir,
                       dict(env, KVMDBG_ARM64_GIC=str(gic), KVMDBG_ARCH="arm64"), TEST_BUDGET)


def linux_env(deps):
    """What a Linux test needs to know on the host about the kernel."""
    m = KERNEL_DIR_RE.search(deps["kernel"])
    if not m:
        raise RuntimeError("cannot tell the kernel's version from %s" % deps["kernel"])
    return {"KVMDBG_ARM64_VMLINUX": deps["vmlinux"],
            "KVMDBG_ARM64_LINUX_RELEASE": m.group(1),
            "KVMDBG_ARM64_LINUX_VERSION": m.group(2).replace("+", ":")}


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
    files = suite.test_files(HERE, args.names)
    if not files:
        return 0
    main_suite = suite_for(MAIN_GIC, logdir, {})
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        main_suite.fail_all(files, "needs a Debian host (apt-get, dpkg)", "SKIP")
        return 0

    vms = []
    workdir = suite.scratch_dir("kvmdbg-arm64-", vms)
    with_linux = any(os.path.basename(p) in LINUX_FILES for p in files)
    env = {"KVMDBG_GUESTS": os.path.join(build, "guests")}
    try:
        argv = [os.path.join(REPO, "scripts", "install-arm64-deps.sh")]
        argv += ["--vmlinux"] if with_linux else []
        deps = suite.install_deps(argv + [suite.cache_dir("arm64")], logdir,
                                  ("kernel", "busybox") + (("vmlinux",) if with_linux else ()))
        if not args.no_make:
            suite.build_static(build, logdir, ["ARCH=arm64", "CROSS_COMPILE=" + CROSS_COMPILE])
        vmlinuz, modules = initramfs.kernel_files(deps["kernel"], MODULES)
        busybox = os.path.join(deps["busybox"], "bin", "busybox")
        inside = suite.nested_files(build)
        if with_linux:
            # The kernel package's vmlinuz is an uncompressed Image.
            inside["linux/Image"] = vmlinuz
            inside["linux/initrd"] = os.path.join(workdir, "linux-initrd")
            initramfs.build_linux_guest(inside["linux/initrd"], busybox)
            env.update(linux_env(deps))
        initrd = os.path.join(workdir, "initrd")
        initramfs.build(initrd, busybox, MODULES, modules, inside)
    except suite.SETUP_ERRORS as e:
        main_suite.fail_all(files, "setup: %s" % suite.one_line(e))
        return 0
    deadline = None
    for gic, group in ((MAIN_GIC, files),
                       (2, [p for p in files if os.path.basename(p) in GICV2_FILES])):
        if not group:
            continue
        machine_dir = os.path.join(workdir, "gicv%d" % gic)
        os.makedirs(machine_dir)
        vm = machine(gic, vmlinuz, initrd, machine_dir)
        vms.append(vm)
        deadline = suite_for(gic, logdir, env).run_machine(vm, group, suite.check_kvm_and_network,
                                                            deadline)
    return 0


if __name__ == "__main__":
    sys.exit(main())
