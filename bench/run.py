#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the benchmarks: each bench/bench_*.py is a gdb script, run as
``gdb -batch -nx -q -x FILE`` with KVMDBG and KVMDBG_GUESTS set, that prints
its own table.  Numbers only: nothing here passes or fails on a time.

    bench/run.py --build DIR --arch ARCH [NAME ...]

NAMEs restrict the run to the files whose names contain one of them
(`make bench BENCH=linux`).
"""

import argparse
import glob
import os
import signal
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BENCH_TIMEOUT = 300
# Hang guards of the files that need longer: the Linux boots run kernel
# code that the host's KVM may emulate, minutes each, BENCH_BOOTS times;
# the kernel's download comes first.
LINUX_TIMEOUT_BASE, LINUX_TIMEOUT_PER_BOOT = 900, 2400
# gdb stepping a 10,000-iteration loop one instruction at a time, twice.
STOPPATH_TIMEOUT = 3600


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="build directory (e.g. build/x86_64)")
    ap.add_argument("--arch", required=True, help="target architecture (e.g. x86_64)")
    ap.add_argument("names", nargs="*", help="only benchmarks whose file names contain one of these")
    args = ap.parse_args()
    boots = os.environ.get("BENCH_BOOTS") or "1"
    if not boots.isdigit() or int(boots) < 1:
        ap.error("BENCH_BOOTS must be a positive number, not %r" % boots)
    file_timeouts = {"bench_linux_boot.py":
                     LINUX_TIMEOUT_BASE + LINUX_TIMEOUT_PER_BOOT * int(boots),
                     "bench_stoppath.py": STOPPATH_TIMEOUT}
    build = os.path.abspath(args.build)
    if args.arch != "x86_64":
        print("bench: the benchmark guests are x86-64 only; nothing to run for %s" % args.arch)
        return 0
    if not os.path.exists("/dev/kvm"):
        print("bench: /dev/kvm is absent; nothing to run")
        return 0
    env = dict(os.environ, KVMDBG=os.path.join(build, "kvmdbg"),
               KVMDBG_GUESTS=os.path.join(build, "guests"), KVMDBG_ARCH=args.arch)
    paths = [p for p in sorted(glob.glob(os.path.join(HERE, "bench_*.py")))
             if not args.names or any(n in os.path.basename(p) for n in args.names)]
    if not paths:
        print("bench: no benchmark file matches %s" % " ".join(args.names))
        return 1
    status = 0
    for path in paths:
        name = os.path.basename(path)
        timeout = file_timeouts.get(name, BENCH_TIMEOUT)
        proc = subprocess.Popen(["gdb", "-batch", "-nx", "-q", "-x", path], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            print("bench: %s did not finish within %ds" % (name, timeout))
            rc = 1
        # Whatever it left behind (kvmdbg, qemu) goes too.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        if rc:
            print("bench: %s ended with status %d" % (name, rc))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
