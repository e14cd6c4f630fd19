#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs the benchmarks: each bench/bench_*.py is a gdb script, run as
``gdb -batch -nx -q -x FILE`` with KVMDBG and KVMDBG_GUESTS set, that prints
its own table.  Numbers only: nothing here passes or fails on a time.

    bench/run.py --build DIR --arch ARCH
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


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="build directory (e.g. build/x86_64)")
    ap.add_argument("--arch", required=True, help="target architecture (e.g. x86_64)")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    if args.arch != "x86_64":
        print("bench: the benchmark guests are x86-64 only; nothing to run for %s" % args.arch)
        return 0
    if not os.path.exists("/dev/kvm"):
        print("bench: /dev/kvm is absent; nothing to run")
        return 0
    env = dict(os.environ, KVMDBG=os.path.join(build, "kvmdbg"),
               KVMDBG_GUESTS=os.path.join(build, "guests"), KVMDBG_ARCH=args.arch)
    status = 0
    for path in sorted(glob.glob(os.path.join(HERE, "bench_*.py"))):
        proc = subprocess.Popen(["gdb", "-batch", "-nx", "-q", "-x", path], cwd=REPO, env=env,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            rc = proc.wait(BENCH_TIMEOUT)
        except subprocess.TimeoutExpired:
            print("bench: %s did not finish within %ds" % (os.path.basename(path), BENCH_TIMEOUT))
            rc = 1
        # Whatever it left behind (kvmdbg, qemu) goes too.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
        if rc:
            print("bench: %s ended with status %d" % (os.path.basename(path), rc))
            status = 1
    return status


if __name__ == "__main__":
    sys.exit(main())
