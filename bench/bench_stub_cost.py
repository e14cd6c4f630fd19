# SPDX-License-Identifier: MIT
"""What the stub costs a guest nobody debugs, on a guest that exits often.

The ioloop guest makes 100000 port writes, each a KVM_EXIT_IO the machine
monitor handles, then exits.  It runs under examples/minivmm without a stub
(--no-stub: the loop alone), under minivmm with its stub listening but no
gdb connected, and under kvmdbg with and without a listening stub.  Each row
is the median wall-clock time of RUNS runs and its ratio to the loop alone;
the rows take turns, so that a change in the host's load falls on all.
Numbers only: nothing passes or fails on them.
"""

import os
import statistics
import subprocess
import sys
import time

KVMDBG = os.environ.get("KVMDBG", "")
GUEST = os.path.join(os.environ.get("KVMDBG_GUESTS", ""), "ioloop.elf")
MINIVMM = os.path.join(os.path.dirname(KVMDBG), "examples", "minivmm")
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
ROUNDS = 100000
EXIT_STATUS = (0x10 << 1) | 1
RUN_TIMEOUT = 600


def timed(argv):
    """Seconds one run of argv took; None (with the reason printed) when it
    did not end as the guest should."""
    start = time.monotonic()
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=RUN_TIMEOUT)
    took = time.monotonic() - start
    out = p.stdout.decode("utf-8", "replace")
    if p.returncode != EXIT_STATUS or "ioloop: done %d" % ROUNDS not in out:
        print("  %s: status %d, output %r, stderr %r" % (" ".join(argv), p.returncode,
                                                        out[-200:], p.stderr[-200:]))
        return None
    return took


def main():
    for path, what in ((MINIVMM, "examples/minivmm (make example)"), (GUEST, "the ioloop guest")):
        if not os.access(path, os.R_OK):
            print("bench_stub_cost: %s is missing: %s" % (what, path))
            return 1
    rows = [
        ("minivmm, no stub", [MINIVMM, "--no-stub", GUEST]),
        ("minivmm, stub listening", [MINIVMM, "--gdb", "tcp:127.0.0.1:0", GUEST]),
        ("kvmdbg, no --gdb", [KVMDBG, "run", GUEST]),
        ("kvmdbg, stub listening", [KVMDBG, "run", "--gdb", "tcp:127.0.0.1:0", GUEST]),
    ]
    print("Stub cost on an undebugged guest: %d port I/O exits, median of %d runs"
          % (ROUNDS, RUNS))
    print("%-26s %10s %12s %8s" % ("", "seconds", "us per exit", "ratio"))
    times = {name: [] for name, _ in rows}
    for _ in range(RUNS):
        for name, argv in rows:
            times[name].append(timed(argv))
    base = None
    for name, _ in rows:
        if None in times[name]:
            print("%-26s %10s" % (name, "failed"))
            continue
        t = statistics.median(times[name])
        base = base or t
        print("%-26s %10.2f %12.1f %7.2fx" % (name, t, t / ROUNDS * 1e6, t / base))
    return 0


sys.exit(main())
