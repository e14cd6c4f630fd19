# SPDX-License-Identifier: MIT
"""What the benchmarks share: the targets they boot (kvmdbg and QEMU with
KVM, each held before the guest's first instruction) and their report."""

import os
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "tests", "e2e"))
from kvmdbg_e2e import Vm, connect, free_port, gdb, gdb_run, kill_session  # noqa: E402

KVMDBG = os.environ.get("KVMDBG", "")
QEMU = "qemu-system-x86_64"
QEMU_BOOT_TIMEOUT = 120     # firmware, then the guest's boot code, emulated

REPORT = None


class NotAvailable(Exception):
    pass


class Target:
    """A guest held before its first instruction: launch() starts the
    machine, start() also connects gdb to it."""

    name = ""

    def __init__(self, guest, stop_timeout):
        self.guest = guest
        self.boot_timeout = stop_timeout
        self.vm = None
        self.port = None

    def launch(self):
        raise NotImplementedError

    def connect(self):
        connect(self.port)

    def start(self):
        self.launch()
        gdb_run("file " + self.guest)
        self.connect()

    def stop(self):
        kill_session()
        if self.vm:
            self.vm.kill()
            self.vm = None


class Kvmdbg(Target):
    name = "kvmdbg"

    def launch(self):
        self.vm = Vm([KVMDBG, "run", "--gdb", "tcp:127.0.0.1:0", "-S", self.guest])
        self.vm.wait_listening()
        self.port = self.vm.port


class Qemu(Target):
    name = "QEMU"

    def __init__(self, guest, stop_timeout):
        super().__init__(guest, stop_timeout)
        self.boot_timeout = QEMU_BOOT_TIMEOUT

    def launch(self):
        if not shutil.which(QEMU):
            raise NotAvailable("%s is not installed" % QEMU)
        self.port = free_port()
        self.vm = Vm([QEMU, "-enable-kvm", "-kernel", self.guest, "-m", "64", "-S",
                      "-gdb", "tcp:127.0.0.1:%d" % self.port,
                      "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
                      "-display", "none", "-monitor", "none", "-no-reboot",
                      "-serial", "null"])

    def connect(self):
        try:
            super().connect()       # gdb retries while QEMU starts
        except gdb.error as e:
            raise NotAvailable("QEMU did not start: %s %s" % (e, self.vm.stderr().strip()))


def sym(name):
    return int(gdb.parse_and_eval("&%s" % name).cast(gdb.lookup_type("unsigned long")))


def pc():
    return int(gdb.parse_and_eval("$pc")) & 0xffffffffffffffff


def fmt_time(seconds):
    if seconds >= 1:
        return "%.2f s" % seconds
    if seconds >= 1e-3:
        return "%.2f ms" % (seconds * 1e3)
    return "%.1f us" % (seconds * 1e6)


def say(text=""):
    REPORT.write(text + "\n")
    REPORT.flush()


def run(main):
    """Runs main with say() writing to standard output and gdb's own output
    (every stop it prints) sent to /dev/null."""
    global REPORT
    gdb.flush()
    REPORT = os.fdopen(os.dup(1), "w")
    with open(os.devnull, "w") as null:
        os.dup2(null.fileno(), 1)
    main()
