#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Runs every test: the cmocka unit binaries and the real-gdb end-to-end files.

    tests/run.py --build DIR --arch ARCH [--tsan-build DIR] [NAME ...]

NAMEs restrict the run to unit binaries, fuzz targets and e2e files whose
names contain one of them.  Each fuzz target runs for FUZZ_CHECK_SECONDS
(10 by default) from its committed corpus.  With --tsan-build, the SMP,
watchpoint and non-stop files (TSAN_FILES) run once more with that
ThreadSanitizer build, reported as e2e-tsan/test_X.  Each result is printed
as it is known; the last line is the total, and the exit status is non-zero
when anything failed.
"""

import argparse
import concurrent.futures
import glob
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
UNIT_TIMEOUT = 120
E2E_TIMEOUT = 420
# Files that boot a real kernel under emulated guest code get longer.
E2E_TIMEOUTS = {"test_linux": 900}
E2E_JOBS = 2

TAP_PLAN = re.compile(r"^1\.\.(\d+)")
TAP_RESULT = re.compile(r"^(ok|not ok) \d+(?: - )?\s*(.*?)\s*$")
ARM64_TIMEOUT = 1200
X86_NESTED_TIMEOUT = 600
FUZZ_SECONDS = int(os.environ.get("FUZZ_CHECK_SECONDS", "10"))
FUZZ_STATS = re.compile(r"^#(\d+)\s+DONE\s+cov: (\d+) ft: (\d+)")
# Run once more under ThreadSanitizer (--tsan-build): the files where the
# vCPU threads and the stub thread meet most, and which tests of them (None:
# all).  The random stress test only runs out its time budget there.
TSAN_FILES = {
    "test_smp.py": ["threads_and_backtraces", "thousand_hits_four_vcpus", "scheduler_locking",
                    "interrupt_stops_every_vcpu", "interrupt_reports_a_resumed_vcpu",
                    "step_reports_only_the_stepped_vcpu", "guest_int3_undebugged",
                    "guest_checks_its_int3_counts", "guest_int3_beside_sw_breakpoint",
                    "guest_int3_stepped_alone", "guest_int3_beside_hw_breakpoint",
                    "read_watch_on_the_page_every_vcpu_runs",
                    "hardware_breakpoint_on_every_vcpu"],
    "test_watchpoints.py": None,
    "test_conditions.py": ["conditions_four_vcpus", "dprintf_agent_with_condition"],
    "test_protocol_nonstop.py": ["thousand_hits_four_vcpus",
                                 "step_over_breakpoint_while_others_run",
                                 "conditional_breakpoint", "write_watch_with_others_on_the_page",
                                 "random_run_control_stress", "lldb_queries_while_running",
                                 "stop_asked_while_a_withdrawn_hit_waits"],
}
E2E_LINE = re.compile(r"^(PLAN|PASS|FAIL|SKIP): (.*)$")


class Tally:
    def __init__(self):
        self.counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
        self.lock = threading.Lock()

    def add(self, kind, text):
        with self.lock:
            self.counts[kind] += 1
            print("%s: %s" % (kind, text), flush=True)

    def summary(self):
        line = "%d passed, %d failed" % (self.counts["PASS"], self.counts["FAIL"])
        if self.counts["SKIP"]:
            line += ", %d skipped" % self.counts["SKIP"]
        return line


def run_group(argv, env, timeout, log_path):
    """Runs argv in its own process group with output to log_path; returns
    (exit status or None on timeout, output text)."""
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(argv, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            status = proc.wait(timeout)
        except subprocess.TimeoutExpired:
            status = None
        # Whatever the test left behind (kvmdbg, qemu, a child gdb) goes too.
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait()
    with open(log_path, "rb") as log:
        return status, log.read().decode("utf-8", "replace")


def run_unit(path, logdir, tally):
    name = "unit/" + os.path.basename(path)
    env = dict(os.environ, CMOCKA_MESSAGE_OUTPUT="TAP")
    status, out = run_group([path], env, UNIT_TIMEOUT, os.path.join(logdir, name + ".log"))
    planned = 0
    seen = 0
    failed = 0
    for line in out.splitlines():
        m = TAP_PLAN.match(line)
        if m:
            planned += int(m.group(1))
            continue
        m = TAP_RESULT.match(line)
        if not m:
            continue
        seen += 1
        test = m.group(2) or "#%d" % seen
        if m.group(1) == "ok" and "# SKIP" in test:
            tally.add("SKIP", "%s: %s" % (name, test))
        elif m.group(1) == "ok":
            tally.add("PASS", "%s: %s" % (name, test))
        else:
            failed += 1
            tally.add("FAIL", "%s: %s" % (name, test))
    if status is None:
        tally.add("FAIL", "%s: timed out after %ds" % (name, UNIT_TIMEOUT))
    elif status < 0:
        tally.add("FAIL", "%s: killed by signal %d" % (name, -status))
    elif not planned:
        tally.add("FAIL", "%s: printed no TAP plan (exit status %d)" % (name, status))
    elif seen != planned:
        tally.add("FAIL", "%s: %d of %d planned results (exit status %d)"
                  % (name, seen, planned, status))
    elif status != 0 and not failed:
        tally.add("FAIL", "%s: exit status %d" % (name, status))


def run_fuzz(path, logdir, tally):
    """One libFuzzer target for FUZZ_SECONDS from its committed corpus (read
    only: new inputs go to a scratch directory)."""
    target = os.path.basename(path)
    name = "fuzz/" + target
    work = os.path.join(logdir, "fuzz", target)
    subprocess.run(["rm", "-rf", work], check=True)
    os.makedirs(os.path.join(work, "corpus"))
    argv = [path, "-max_total_time=%d" % FUZZ_SECONDS, "-close_fd_mask=2",
            "-artifact_prefix=%s/" % work, os.path.join(work, "corpus"),
            os.path.join(HERE, "fuzz", "corpus", target)]
    log = os.path.join(logdir, name + ".log")
    status, out = run_group(argv, dict(os.environ), FUZZ_SECONDS + UNIT_TIMEOUT, log)
    stats = [FUZZ_STATS.match(line) for line in out.splitlines()]
    stats = [m for m in stats if m]
    crashes = sorted(glob.glob(os.path.join(work, "crash-*")) +
                     glob.glob(os.path.join(work, "leak-*")) +
                     glob.glob(os.path.join(work, "timeout-*")))
    if status == 0 and stats and not crashes:
        runs, cov, ft = stats[-1].groups()
        tally.add("PASS", "%s: %s runs in %ds, cov %s ft %s" % (name, runs, FUZZ_SECONDS, cov, ft))
        return
    if crashes:
        # Once more on the input alone, stderr open: the property it broke.
        status2, why = run_group([path, crashes[0]], dict(os.environ), UNIT_TIMEOUT,
                                 log + ".reproduce")
        lines = [l for l in why.splitlines() if "property violated" in l or "ERROR:" in l]
        tally.add("FAIL", "%s: %s on %s; see %s.reproduce"
                  % (name, lines[0].strip() if lines else "crash", crashes[0], log))
    elif status is None:
        tally.add("FAIL", "%s: timed out; see %s" % (name, log))
    else:
        tally.add("FAIL", "%s: exit status %s; see %s" % (name, status, log))


def gdb_results(out, status, timeout, name):
    """What a test file run as a gdb script printed: (its plan or None,
    [(kind, "name: test...")], why it did not report every planned test or
    None)."""
    planned = None
    results = []
    for line in out.splitlines():
        m = E2E_LINE.match(line)
        if not m:
            continue
        if m.group(1) == "PLAN":
            planned = int(m.group(2))
        else:
            results.append((m.group(1), "%s: %s" % (name, m.group(2))))
    why = None
    if status is None:
        why = "timed out after %ds" % timeout
    elif planned is None or len(results) < planned:
        why = "gdb exited with status %d" % status
    return planned, results, why


def run_e2e(path, build, arch, logdir, suite="e2e", only=None):
    """Runs one e2e file (only: the names of the tests to run, None for
    all); returns [(kind, text)] for the caller to report."""
    stem = os.path.splitext(os.path.basename(path))[0]
    name = suite + "/" + stem
    log = os.path.join(logdir, name + ".log")
    env = dict(os.environ,
               KVMDBG=os.path.join(build, "kvmdbg"),
               KVMDBG_GUESTS=os.path.join(build, "guests"),
               KVMDBG_ARCH=arch)
    if only is not None:
        env["KVMDBG_TESTS"] = ",".join(only)
    started = time.monotonic()
    timeout = E2E_TIMEOUTS.get(stem, E2E_TIMEOUT)
    status, out = run_group(["gdb", "-batch", "-nx", "-q", "-x", path], env, timeout, log)
    planned, results, why = gdb_results(out, status, timeout, name)
    if why:
        first = len(results) + 1
        last = max(first, planned or 0)
        results += [("FAIL", "%s: test %d of %s never reported: %s; see %s"
                     % (name, n, planned or "?", why, log)) for n in range(first, last + 1)]
    elif any(kind == "FAIL" for kind, _ in results):
        results.append(("INFO", "%s: log in %s" % (name, log)))
    results.append(("INFO", "%s: %.1fs" % (name, time.monotonic() - started)))
    return results


def run_nested(suite, script, build, logdir, names, timeout):
    """A nested suite (the arm64 one, on a real KVM arm64 inside
    qemu-system-aarch64; the x86-64 one, on a real KVM inside
    qemu-system-x86_64): its runner boots the nested machine and reports a
    line per test."""
    log = os.path.join(logdir, suite + "-suite.log")
    argv = [sys.executable, os.path.join(HERE, script), "--build-x86", build]
    argv += [n for n in names if n != suite]
    started = time.monotonic()
    status, out = run_group(argv, dict(os.environ), timeout, log)
    results = []
    for line in out.splitlines():
        m = E2E_LINE.match(line)
        if m and m.group(1) != "PLAN":
            results.append((m.group(1), m.group(2)))
    if status is None:
        results.append(("FAIL", "%s: suite timed out after %ds; see %s" % (suite, timeout, log)))
    elif not results:
        results.append(("FAIL", "%s: suite reported no test (status %s); see %s"
                        % (suite, status, log)))
    results.append(("INFO", "%s: %.1fs, log in %s" % (suite, time.monotonic() - started, log)))
    return results


def x86_nested_missing():
    """Why the x86-64 nested suite cannot run here, or None."""
    if shutil.which("qemu-system-x86_64") is None:
        return "qemu-system-x86_64 is absent"
    if not os.path.exists("/dev/kvm"):
        return "/dev/kvm is absent"
    return None


def selected(path, names):
    return not names or any(n in os.path.basename(path) for n in names)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="build directory (e.g. build/x86_64)")
    ap.add_argument("--arch", required=True, help="target architecture (e.g. x86_64)")
    ap.add_argument("--tsan-build", help="a ThreadSanitizer build (make SANITIZE=thread) to "
                    "run %s again with" % " and ".join(sorted(TSAN_FILES)))
    ap.add_argument("names", nargs="*", help="only tests whose file names contain one of these")
    args = ap.parse_args()
    build = os.path.abspath(args.build)
    logdir = os.path.join(build, "test-logs")
    os.makedirs(os.path.join(logdir, "unit"), exist_ok=True)
    os.makedirs(os.path.join(logdir, "e2e"), exist_ok=True)
    os.makedirs(os.path.join(logdir, "fuzz"), exist_ok=True)
    os.makedirs(os.path.join(logdir, "e2e-tsan"), exist_ok=True)
    tally = Tally()

    for path in sorted(glob.glob(os.path.join(build, "tests", "test_*"))):
        if os.access(path, os.X_OK) and not path.endswith(".d") and selected(path, args.names):
            run_unit(path, logdir, tally)

    fuzz_dir = os.path.join(build, "fuzz")
    targets = [os.path.join(fuzz_dir, os.path.basename(p)[:-2])
               for p in sorted(glob.glob(os.path.join(HERE, "fuzz", "fuzz_*.c")))]
    targets = [p for p in targets if selected(p, args.names)]
    skip = os.path.join(fuzz_dir, "SKIP")
    runnable = []
    for path in targets:
        if os.path.exists(skip):
            with open(skip) as f:
                tally.add("SKIP", "fuzz/%s: %s" % (os.path.basename(path), f.read().strip()))
        elif not os.access(path, os.X_OK):
            tally.add("SKIP", "fuzz/%s: not built (make fuzz-build)" % os.path.basename(path))
        else:
            runnable.append(path)
    # Each keeps one core busy for its time: two at once.
    with concurrent.futures.ThreadPoolExecutor(E2E_JOBS) as pool:
        for future in [pool.submit(run_fuzz, p, logdir, tally) for p in runnable]:
            future.result()

    files = [p for p in sorted(glob.glob(os.path.join(HERE, "e2e", "test_*.py")))
             if selected(p, args.names)]
    if files and not os.path.exists("/dev/kvm"):
        for path in files:
            tally.add("SKIP", "e2e/%s: /dev/kvm is absent"
                      % os.path.splitext(os.path.basename(path))[0])
        files = []
    # The longest first, so that no worker ends with one alone (test_linux
    # is half the time of all the others together).
    longest = [p for p in files if os.path.splitext(os.path.basename(p))[0] in E2E_TIMEOUTS]
    with concurrent.futures.ThreadPoolExecutor(E2E_JOBS) as pool:
        futures = [pool.submit(run_e2e, p, build, args.arch, logdir) for p in longest]
        # Then, as they are among the longest.  Any report of
        # ThreadSanitizer in kvmdbg's stderr fails the test that saw it.
        futures += [pool.submit(run_e2e, p, os.path.abspath(args.tsan_build), args.arch, logdir,
                                "e2e-tsan", TSAN_FILES[os.path.basename(p)])
                    for p in files if args.tsan_build and os.path.basename(p) in TSAN_FILES]
        futures += [pool.submit(run_e2e, p, build, args.arch, logdir)
                    for p in files if p not in longest]
        for future in concurrent.futures.as_completed(futures):
            for kind, text in future.result():
                if kind == "INFO":
                    print("      %s" % text, flush=True)
                else:
                    tally.add(kind, text)

    # After the x86 pool, not beside it, and one after the other: a nested
    # machine keeps both cores busy.
    nested = []
    if platform.machine() == "x86_64":
        nested = [("x86_64-nested", os.path.join("x86_64", "run_x86_64.py"), X86_NESTED_TIMEOUT),
                  ("arm64", os.path.join("arm64", "run_arm64.py"), ARM64_TIMEOUT)]
    for suite, script, timeout in nested:
        if args.names and not any(suite in n or n.startswith("test_") for n in args.names):
            continue
        why = x86_nested_missing() if suite == "x86_64-nested" else None
        if why:
            tally.add("SKIP", "%s: %s" % (suite, why))
            continue
        for kind, text in run_nested(suite, script, build, logdir, args.names, timeout):
            if kind == "INFO":
                print("      %s" % text, flush=True)
            else:
                tally.add(kind, text)

    print(tally.summary(), flush=True)
    return 1 if tally.counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
