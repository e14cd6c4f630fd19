# SPDX-License-Identifier: MIT
"""What the nested suites' runners (tests/arm64/run_arm64.py,
tests/x86_64/run_x86_64.py) share: the result lines, the dependency
script, the static build, running each test file as a gdb script against
a booted nested machine, and cleaning up after it.

A runner prints one line per test,

    PASS: SUITE/test_X: name
    FAIL: SUITE/test_X: name: why
    SKIP: SUITE/test_X: name: why

and, indented, where the logs are.
"""

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
sys.path.insert(0, os.path.dirname(HERE))   # tests/, for run.py

import run as runner  # noqa: E402  (tests/run.py)
from nested_vm import Channel, ChannelError  # noqa: E402

FILE_TIMEOUT = 420     # arm64/test_linux took 287 s with a busy loop beside it
TEST_DEF_RE = re.compile(r"^@test\s*\n(?:@[\w.]+\s*\n)*def (?:test_)?(\w+)\(", re.M)
OUTER_MAKE_VARIABLES = ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "SANITIZE", "CC",
                        "CFLAGS", "LDFLAGS", "O")
SETUP_ERRORS = (RuntimeError, ChannelError, OSError)


def report(kind, text):
    print("%s: %s" % (kind, text), flush=True)


def note(text):
    print("      %s" % text, flush=True)


def one_line(error):
    return " ".join(str(error).split())


def declared_tests(path):
    """The names a test file will report, read from its source: for results
    when the file cannot run at all."""
    with open(path) as f:
        return TEST_DEF_RE.findall(f.read())


def test_files(directory, names):
    return [p for p in sorted(glob.glob(os.path.join(directory, "test_*.py")))
            if runner.selected(p, names)]


def cache_dir(arch):
    """Where downloads for the nested suite of arch are kept."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "kvmdbg", arch)


def install_deps(argv, logdir, wanted):
    """Runs a dependency script that prints KEY=VALUE lines; returns them
    as a dict, or raises unless every key in wanted is there."""
    log = os.path.join(logdir, "install-deps.log")
    status, out = runner.run_group(argv, dict(os.environ), 1800, log)
    found = dict(re.findall(r"^(\w+)=(.*)$", out, re.M))
    if status != 0 or any(k not in found for k in wanted):
        raise RuntimeError("%s failed (status %s); see %s"
                           % (os.path.basename(argv[0]), status, log))
    return found


def build_static(build, logdir, make_args):
    """Builds kvmdbg, the guests and the tools tests run beside them into
    build as static binaries, for a nested machine with no C library of
    its own."""
    log = os.path.join(logdir, "make.log")
    argv = ["setpriv", "--pdeathsig", "KILL", "--",
            "make", "--no-print-directory", "-j2", "O=" + build] + make_args + \
        ["all", "nested-tools"]
    # An outer make (make check SANITIZE=1, make CC=clang) passes its
    # variables down through the environment; none of them suits a static
    # build, and objects built with them would stay in O.
    env = {k: v for k, v in os.environ.items() if k not in OUTER_MAKE_VARIABLES}
    status, _ = runner.run_group(argv, env, 900, log)
    if status != 0:
        raise RuntimeError("%s failed (status %s); see %s" % (" ".join(argv[4:]), status, log))


def nested_files(build):
    """{path inside the nested machine: host path}: kvmdbg, the guests
    and the tools (tests/ARCH/*.c)."""
    files = {"kvmdbg": os.path.join(build, "kvmdbg")}
    for path in glob.glob(os.path.join(build, "guests", "*.elf")):
        files["guests/" + os.path.basename(path)] = path
    for path in glob.glob(os.path.join(build, "nested-tools", "*")):
        if not path.endswith(".d"):
            files["tools/" + os.path.basename(path)] = path
    return files


def scratch_dir(prefix, vms):
    """A scratch directory, removed, and every NestedVm in vms ended, when
    the runner exits, however it is told to."""
    workdir = tempfile.mkdtemp(prefix=prefix)

    def cleanup():
        for vm in vms:
            vm.close()
        shutil.rmtree(workdir, ignore_errors=True)

    atexit.register(cleanup)
    # A killed runner still ends qemu: these exit through atexit, and qemu
    # also gets SIGKILL from the kernel when the runner dies outright.
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    return workdir


class Suite:
    """One nested suite: prefix names its results (prefix/test_X), gdb is
    the debugger the test files run under, env what they get besides the
    machine's console and port, budget the seconds all its test files may
    take once the first machine is up."""

    def __init__(self, prefix, gdb, logdir, env, budget):
        self.prefix = prefix
        self.gdb = gdb
        self.logdir = logdir
        self.env = env
        self.budget = budget

    def name(self, path):
        return self.prefix + "/" + os.path.splitext(os.path.basename(path))[0]

    def fail_all(self, files, why, kind="FAIL"):
        for path in files:
            for test in declared_tests(path):
                report(kind, "%s: %s: %s" % (self.name(path), test, why))

    def run_file(self, path, vm, deadline, remake=None):
        """Runs one test file under gdb; reports its results.  With remake
        (a function that makes a fresh machine), a file whose machine
        stopped answering its console runs once more in a fresh one: the
        emulated nested virtualization can hang the whole machine, which
        says nothing of kvmdbg.  That is noted, never silent.  Returns the
        machine the next file runs on."""
        results, why, log, seconds = self.file_results(path, vm, deadline)
        if (why or any(k == "FAIL" for k, _ in results)) and remake is not None and \
                not answers(vm):
            first = log[:-len(".log")] + "-first.log"
            os.replace(log, first)
            note("%s: the nested machine stopped answering its console (log in %s); "
                 "the file runs again in a fresh one" % (self.name(path), first))
            vm.close()
            self.keep_logs(vm)
            try:
                vm = self.fresh_machine(remake)
            except SETUP_ERRORS as e:
                note("the fresh nested machine did not come up: %s" % one_line(e))
                self.report_file(path, results, why, log, seconds)
                return vm
            # The hang may have spent the budget the file had.
            results, why, log, seconds = self.file_results(path, vm, max(
                deadline, time.monotonic() + self.budget / 2))
        self.report_file(path, results, why, log, seconds)
        return vm

    def fresh_machine(self, remake):
        started = time.monotonic()
        vm = remake()
        channel = vm.boot()
        try:
            check_kvm_and_network(channel)
        finally:
            channel.close()
        note("fresh nested machine (%s) up in %.1fs" % (vm.name, time.monotonic() - started))
        return vm

    def file_results(self, path, vm, deadline):
        """Runs one test file under gdb: (its results, why it ended badly
        or None, its log, the seconds it took)."""
        name = self.name(path)
        log = os.path.join(self.logdir, name.replace("/", "-") + ".log")
        env = dict(os.environ, **self.env,
                   KVMDBG_NESTED_CONSOLE=vm.serial_path,
                   KVMDBG_NESTED_CONSOLE_LOG=vm.console_log,
                   KVMDBG_NESTED_PORT=str(vm.port))
        timeout = int(max(10, min(FILE_TIMEOUT, deadline - time.monotonic())))
        started = time.monotonic()
        argv = ["setpriv", "--pdeathsig", "KILL", "--", self.gdb, "-batch", "-nx", "-q", "-x", path]
        status, text = runner.run_group(argv, env, timeout, log)
        _, results, why = runner.gdb_results(text, status, timeout, name)
        return results, why, log, time.monotonic() - started

    def report_file(self, path, results, why, log, seconds):
        name = self.name(path)
        seen = set()
        failed = False
        for kind, line in results:
            report(kind, line)
            # "test: why it failed", "test; what its PASS had to say"
            seen.add(re.split(r"[:;]", line[len(name) + 2:])[0])
            failed |= kind == "FAIL"
        if why:
            failed = True
            for test in declared_tests(path):
                if test not in seen:
                    report("FAIL", "%s: %s: %s; see %s" % (name, test, why, log))
        if failed:
            note("%s: log in %s" % (name, log))
        note("%s: %.1fs" % (name, seconds))

    def keep_logs(self, vm):
        for log in (vm.console_log, vm.qemu_log):
            if os.path.exists(log):
                shutil.copy(log, os.path.join(self.logdir,
                                              "%s-%s" % (vm.name, os.path.basename(log))))

    def run_machine(self, vm, files, check_machine, deadline, remake=None):
        """Boots one nested machine, checks it with check_machine(channel)
        and runs files on it (run_file says what remake is for); returns the
        deadline of the test budget, which starts when the first machine is
        up."""
        try:
            started = time.monotonic()
            channel = vm.boot()
            try:
                check_machine(channel)
            finally:
                channel.close()
            note("nested machine (%s): Linux %s, %d CPUs, up in %.1fs, gdb port %d"
                 % (vm.name, vm.release, vm.cpus, time.monotonic() - started, vm.port))
        except SETUP_ERRORS as e:
            self.fail_all(files, "setup: %s" % one_line(e))
            vm.close()
            self.keep_logs(vm)
            note("nested machine logs in %s" % self.logdir)
            return deadline
        if deadline is None:
            deadline = time.monotonic() + self.budget
        try:
            for path in files:
                if vm.proc.poll() is not None:
                    self.fail_all([path], "the nested machine exited (status %d)"
                                  % vm.proc.returncode)
                    continue
                if time.monotonic() > deadline:
                    self.fail_all([path], "not run: the suite's %ds are spent" % self.budget)
                    continue
                vm = self.run_file(path, vm, deadline, remake)
                leftovers(vm)
        finally:
            vm.close()
            self.keep_logs(vm)
        return deadline


def run_inside(vm, command):
    """Runs command through a fresh connection to the machine's console;
    ChannelError or OSError when it fails or gets no answer."""
    channel = Channel(vm.serial_path, vm.console_log)
    try:
        channel.check_shell(command)
    finally:
        channel.close()


def answers(vm):
    """Whether the machine still runs a shell command for its console."""
    try:
        run_inside(vm, "true")
        return True
    except (ChannelError, OSError):
        return False


def leftovers(vm):
    """Ends whatever a test file left running inside (a gdb that crashed
    never cleans up), so the next file finds the gdb port free."""
    try:
        run_inside(vm, "stop_all")
    except (ChannelError, OSError) as e:
        note("cannot clean up inside the nested machine: %s" % e)


def check_kvm_and_network(channel):
    """What every test needs inside: KVM and the network gdb comes through."""
    if channel.shell("test -c /dev/kvm")[0] != 0:
        raise RuntimeError("the nested machine has no /dev/kvm (are the virtualization "
                           "extensions emulated?)")
    if channel.shell("ip -4 addr show eth0 | grep -q 10.0.2.15")[0] != 0:
        raise RuntimeError("the nested machine's network is down (virtio_net not loaded?)")
