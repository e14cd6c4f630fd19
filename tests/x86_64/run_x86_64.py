#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the x86-64 nested suite: kvmdbg on a real (not emulating) KVM.

    tests/x86_64/run_x86_64.py --build-x86 DIR [--build DIR] [--no-make] [NAME ...]

Fetches what is missing (scripts/install-x86-linux-deps.sh --nested;
downloads are cached in $XDG_CACHE_HOME/kvmdbg/x86_64, by default
~/.cache/kvmdbg/x86_64), builds kvmdbg and the guests as static binaries,
boots Debian's amd64 cloud kernel with KVM (kvm_amd) under
`qemu-system-x86_64 -accel tcg -cpu max`, an AMD processor with SVM and
nested paging, and runs every tests/x86_64/test_*.py against it, each as a
gdb script.  The machine also carries that kernel's vmlinux (its PVH entry
skips the decompressor) and a busybox initramfs for it, for test_linux.py.
NAMEs restrict the run to test files whose names contain one of them.
Prints one line per test,

    PASS: x86_64-nested/test_X: name
    FAIL: x86_64-nested/test_X: name: why
    SKIP: x86_64-nested/test_X: name: why

and, indented, where the logs are (under DIR/test-logs/x86_64-nested).  The
exit status is 0 whatever the results; it is non-zero only for bad usage.
"""

import argparse
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "nested"))

import initramfs  # noqa: E402
import suite  # noqa: E402
from nested_vm import NestedVm, qemu_argv  # noqa: E402

PREFIX = "x86_64-nested"
# Loaded in this order: each needs the ones before it.
MODULES = ("irqbypass", "kvm", "kvm-amd", "virtio_ring", "virtio", "virtio_pci_modern_dev",
           "virtio_pci_legacy_dev", "virtio_pci", "failover", "net_failover", "virtio_net")
DEPS = ("vmlinuz", "vmlinux", "version", "busybox")
# Seconds for all test files once the machine is up: about a minute and a
# half on an idle host; tests/run.py's X86_NESTED_TIMEOUT leaves room for
# this, the machine's boot and the downloads.
TEST_BUDGET = 300


def machine(vmlinuz, initrd, workdir):
    """TCG's "max" processor is an AMD one with SVM and nested paging, which
    kvm_amd (nested=1 by default) offers to the guests of the KVM inside."""
    def argv(port, serial_path):
        return ["qemu-system-x86_64", "-M", "pc", "-cpu", "max", "-m", "1024", "-smp", "2",
                "-device", "virtio-net-pci,netdev=n0"] + \
            qemu_argv(vmlinuz, initrd, "console=ttyS0 panic=-1", port, serial_path)
    return NestedVm("x86_64", argv, workdir)


def stripped_vmlinux(vmlinux, workdir):
    """The vmlinux without its symbols (50 MB instead of 560): what the
    nested machine boots; gdb reads the symbols on the host."""
    path = os.path.join(workdir, "vmlinux")
    proc = subprocess.run(["objcopy", "--strip-all", vmlinux, path], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT)
    if proc.returncode:
        raise RuntimeError("objcopy --strip-all %s: %s" % (vmlinux, proc.stdout.decode().strip()))
    return path


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build-x86", required=True, metavar="DIR",
                    help="the host build directory; logs go to DIR/test-logs/" + PREFIX)
    ap.add_argument("--build", default=os.path.join(REPO, "build", "x86_64-static"),
                    metavar="DIR", help="where kvmdbg and the guests are built, static")
    ap.add_argument("--no-make", action="store_true",
                    help="use the static build as it is instead of running make")
    ap.add_argument("names", nargs="*", help="only test files whose names contain one of these")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    logdir = os.path.join(os.path.abspath(args.build_x86), "test-logs", PREFIX)
    os.makedirs(logdir, exist_ok=True)
    files = suite.test_files(HERE, args.names)
    if not files:
        return 0
    env = {"KVMDBG_GUESTS": os.path.join(build, "guests"), "KVMDBG_ARCH": "x86_64"}
    tests = suite.Suite(PREFIX, "gdb", logdir, env, TEST_BUDGET)
    if shutil.which("apt-get") is None or shutil.which("dpkg") is None:
        tests.fail_all(files, "needs a Debian host (apt-get, dpkg)", "SKIP")
        return 0

    vms = []
    workdir = suite.scratch_dir("kvmdbg-x86_64-", vms)
    try:
        deps = suite.install_deps([os.path.join(REPO, "scripts", "install-x86-linux-deps.sh"),
                                   "--nested", suite.cache_dir("x86_64")], logdir, DEPS)
        if not args.no_make:
            suite.build_static(build, logdir, ["LDFLAGS=-static"])
        vmlinuz, modules = initramfs.kernel_files(os.path.dirname(os.path.dirname(
            deps["vmlinuz"])), MODULES)
        inside = suite.nested_files(build)
        inside["linux/vmlinux"] = stripped_vmlinux(deps["vmlinux"], workdir)
        inside["linux/initrd"] = os.path.join(workdir, "linux-initrd")
        initramfs.build_linux_guest(inside["linux/initrd"], deps["busybox"])
        initrd = os.path.join(workdir, "initrd")
        initramfs.build(initrd, deps["busybox"], MODULES, modules, inside)
        env.update(KVMDBG_X86_VMLINUX=deps["vmlinux"], KVMDBG_X86_LINUX_VERSION=deps["version"],
                   KVMDBG_X86_LINUX_RELEASE=os.path.basename(vmlinuz)[len("vmlinuz-"):])
    except suite.SETUP_ERRORS as e:
        tests.fail_all(files, "setup: %s" % suite.one_line(e))
        return 0
    def remake():
        fresh = machine(vmlinuz, initrd, workdir)
        vms.append(fresh)
        return fresh

    tests.run_machine(remake(), files, suite.check_kvm_and_network, None, remake)
    return 0


if __name__ == "__main__":
    sys.exit(main())
