# SPDX-License-Identifier: MIT
"""Ending a debug session: detach, kill, and a gdb that disappears."""

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (ChildGdb, DEMO_SERIAL, check, check_eq, cont, debug,  # noqa: E402
                        exit_status, gdb, gdb_run, guest_path, kvmdbg, main, packet, test)

DEMO_EXIT = 0x21


@test
def test_detach_runs_guest_to_end():
    vm = debug("demo.elf")
    for spec in ("compute", "leaf", "xmm_checkpoint", "*%#x" % (vm.elf.sym("demo_sled") + 0x40)):
        gdb.Breakpoint(spec)
    gdb_run("hbreak demo_patch")
    cont()
    # Breakpoints only the stub knows about must go as well.
    for addr in (vm.elf.sym("demo_sled") + 0x80, vm.elf.sym("demo_bump")):
        check_eq(packet("Z0,%x,1" % addr), "OK", "Z0 at %#x" % addr)
    check_eq(packet("Z1,%x,1" % vm.elf.sym("xmm_checkpoint")), "OK", "Z1")
    gdb_run("detach")
    vm.expect_exit(exit_status(DEMO_EXIT))
    check_eq(vm.serial(), DEMO_SERIAL, "serial output after detach")


@test
def test_detach_with_breakpoints_inserted():
    gdb_run("set breakpoint always-inserted on")
    try:
        vm = debug("demo.elf")
        gdb.Breakpoint("leaf")
        gdb.Breakpoint("*%#x" % (vm.elf.sym("demo_sled") + 0x10))
        cont()
        gdb_run("detach")
        vm.expect_exit(exit_status(DEMO_EXIT))
        check_eq(vm.serial(), DEMO_SERIAL, "serial output after detach")
    finally:
        gdb_run("set breakpoint always-inserted off")


@test
def test_kill():
    vm = debug("demo.elf")
    gdb.Breakpoint("leaf")
    cont()
    gdb_run("kill")
    vm.expect_exit(0)
    check(not vm.serial().endswith("result 0x0000000000000057\n"), "the guest ran on after kill")


def killed_gdb(elf_name, setup):
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", guest_path(elf_name))
    vm.wait_listening()
    g = ChildGdb(guest_path(elf_name))
    g.mi("-target-select remote 127.0.0.1:%d" % vm.port)
    setup(g)
    g.kill()
    return vm


@test
def test_gdb_killed_while_stopped():
    def setup(g):
        g.console("set breakpoint always-inserted on")
        g.console("break compute")
        g.console("break leaf")
        g.console("break *demo_sled+0x20")
        g.console("hbreak xmm_checkpoint")
        g.mi("-exec-continue")
        g.wait_for(r'^\*stopped,reason="breakpoint-hit"')
    vm = killed_gdb("demo.elf", setup)
    vm.expect_exit(exit_status(DEMO_EXIT))
    check_eq(vm.serial(), DEMO_SERIAL, "serial output after gdb died")


@test
def test_gdb_killed_while_running():
    def setup(g):
        g.console("break spin_step")
        g.mi("-exec-continue")
        g.wait_for(r'^\*stopped,reason="breakpoint-hit"')
        g.console("delete")
        # Keep the guest busy for a moment, then to a breakpoint nobody collects.
        g.console("set var irq_target = irq_ticks + 200")
        g.console("break irqstep_done")
        g.console("break *%s" % "isr_irq0")
        g.mi("-exec-continue")
        g.wait_for(r"^\*running")
        time.sleep(0.05)
    vm = killed_gdb("irqstep.elf", setup)
    vm.expect_exit(exit_status(7))
    lines = vm.serial().splitlines()
    check_eq(lines[0], "irqstep: start", "first serial line")
    check(len(lines) == 2 and lines[1].startswith("irqstep ticks: "), "serial %r" % lines)


main()
