# SPDX-License-Identifier: MIT
"""Ending a session: detach, disconnect and kill leave kvmdbg in the right state."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (DEMO_SERIAL, check_eq, cont, debug, exit_status, gdb, gdb_run,  # noqa: E402
                       main, test)

DEMO_EXIT = 0x21


def check_runs_to_end(vm):
    vm.expect_exit(exit_status(DEMO_EXIT))
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_detach_at_breakpoint():
    vm = debug("demo.elf")
    gdb.Breakpoint("compute")
    cont()
    gdb_run("detach")
    check_runs_to_end(vm)


@test
def test_detach_with_everything_inserted():
    # Every kind of breakpoint is inserted when gdb leaves: none may stop
    # the guest afterwards, and the guest's code is its own again.
    vm = debug("demo.elf")
    gdb.Breakpoint("leaf")
    gdb_run("hbreak compute")
    gdb_run("watch demo_counter")
    gdb_run("rwatch demo_total")
    cont()
    gdb_run("detach")
    check_runs_to_end(vm)


@test
def test_disconnect():
    vm = debug("demo.elf")
    gdb.Breakpoint("leaf")
    gdb_run("hbreak compute")
    cont()
    gdb_run("disconnect")
    check_runs_to_end(vm)


@test
def test_kill():
    vm = debug("demo.elf")
    gdb.Breakpoint("compute")
    cont()
    gdb_run("kill")
    check_eq(vm.wait(), 0, "exit status after kill")
    check_eq(vm.serial(), DEMO_SERIAL.splitlines(True)[0], "serial output")


main()
