# SPDX-License-Identifier: MIT
"""Booting each arm64 guest without a debugger, PSCI's SYSTEM_OFF and
SYSTEM_RESET ending a run, kvmdbg probe, and kvmdbg's report of its own
crash."""

import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (DEMO_SERIAL, GDB_PORT_INSIDE, GUESTS_INSIDE, RAM_BASE, check,  # noqa: E402
                       check_eq, exit_status, guest_path, kvmdbg, main, put_file, rows, run, shell,
                       slots, test)
from kvmdbg_e2e import crash_site  # noqa: E402

HVC_0 = 0xd4000002
# movk x0, #0x8400, lsl #16: the top half of PSCI 0.2's 32-bit function ids.
MOVK_X0_PSCI = 0xf2b08000


def check_run(vm, code, serial):
    check_eq((vm.status, vm.serial()), (exit_status(code), serial),
             "exit status and serial output (stderr %r)" % vm.stderr())


@test
def test_demo_runs():
    check_run(run("demo.elf"), 0x21, DEMO_SERIAL)


@test
def test_brkcount_runs():
    check_run(run("brkcount.elf"), 5, "brkcount: start\nbrk count: 5\n")


@test
def test_watch_runs():
    check_run(run("watch.elf"), 0x3a, "watch: start\nwatch: sink 0x000000000000aaaa\n")


def movz_x0(imm16):
    return 0xd2800000 | imm16 << 5


def run_raw(name, words):
    """Runs these instruction words as a raw image at the start of RAM."""
    path = "/tmp/kvmdbg-%s.bin" % name
    data = struct.pack("<%dI" % len(words), *words)
    put_file(path, data)
    vm = kvmdbg("run", "--load-addr", "%#x" % RAM_BASE, "--entry", "%#x" % RAM_BASE, path)
    vm.wait()
    return vm


@test
def test_psci_ends_run():
    # What Linux's poweroff and reboot call, through the conduit kvmdbg's
    # device tree names: SYSTEM_OFF ends the run with status 0,
    # SYSTEM_RESET with 6.
    for what, fn, status in (("SYSTEM_OFF", 8, 0), ("SYSTEM_RESET", 9, 6)):
        vm = run_raw(what, [movz_x0(fn), MOVK_X0_PSCI, HVC_0])
        check_eq((vm.status, vm.serial()), (status, ""),
                 "%s: exit status and serial output (stderr %r)" % (what, vm.stderr()))


@test
def test_smp_runs():
    check_run(run("smp.elf", ["-smp", "2"]), 2, "smp: start\nsmp: counts 50 50\n")


@test
def test_smp_without_second_vcpu():
    # CPU_ON of a vCPU that does not exist is PSCI's INVALID_PARAMETERS (-2).
    check_run(run("smp.elf"), 0x7e, "smp: start\nsmp: CPU_ON failed 0xfffffffffffffffe\n")


@test
def test_mmu_runs():
    check_run(run("mmu.elf"), 0x4d, "mmu: start\nmmu: on\nmmu: alias ok\n")


@test
def test_mmu_granules_run():
    for kib in (4, 16, 64):
        check_run(run("mmu_%dk.elf" % kib), 0x4d,
                  "mmu: %d KiB granule\nmmu: on\nmmu: pages ok\n" % kib)


@test
def test_mem_option():
    check_run(run("demo.elf", ["--mem", "16M"]), 0x21, DEMO_SERIAL)


@test
def test_crash_is_reported():
    # The binary is static: where it is, libc or not, is kvmdbg+OFFSET,
    # which the host's addr2line names from the arm64 build.
    guest_path("demo.elf")
    vm = kvmdbg("run", "--gdb", "tcp:0.0.0.0:%d" % GDB_PORT_INSIDE, "-S",
                GUESTS_INSIDE + "/demo.elf")
    vm.wait_listening()
    status, out = shell("kill -SEGV $(cat %s/pid)" % vm.dir)
    check_eq(status, 0, "kill: %r" % out)
    check_eq(vm.wait(), 128 + 11, "exit status")
    last = vm.stderr().splitlines()[-1]
    check(re.match(r"^kvmdbg: crashed: SEGV sent by another process, pc kvmdbg\+0x[0-9a-f]+, "
                   r"return address kvmdbg\+0x[0-9a-f]+, thread pointer 0x[0-9a-f]+$", last),
          "stderr ends %r" % last)
    site = crash_site(vm, last)
    check(re.match(r"^0x[0-9a-f]+ in \w+ at .*, 0x[0-9a-f]+ in \w+ at ", site),
          "crash site %r" % site)


@test
def test_probe():
    vm = kvmdbg("probe")
    check_eq(vm.wait(), 0, "exit status (stderr %r)" % vm.stderr())
    table = rows(vm.serial())
    for key in ("sw-breakpoints", "hw-breakpoints", "watchpoints", "single-step"):
        check(table.get(key), "no %s row in %r" % (key, vm.serial()))
    check_eq(table.get("arch"), "arm64", "arch row")
    check_eq(slots(table["hw-breakpoints"]), 6, "hw-breakpoints slots (%r)"
             % table["hw-breakpoints"])
    check_eq(slots(table["watchpoints"]), 4, "watchpoint slots (%r)" % table["watchpoints"])


main()
