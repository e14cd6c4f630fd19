# SPDX-License-Identifier: MIT
"""Stopping a running guest: Ctrl-C in gdb and the interrupt command."""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (ChildGdb, check, check_eq, cont_to_exit, debug, events, exit_status,
                        gdb_run, guest_path, kvmdbg, main, pc, read_u32, resume, test)

IRQSTEP_EXIT = 7


def spin_forever(vm):
    """Keeps irqstep in its loop until the test lets it finish."""
    gdb_run("set var irq_target = 0xffffffff")
    return vm.elf.sym("irq_ticks")


def in_loop(vm, addr):
    for name in ("kmain", "spin_step"):
        start = vm.elf.sym(name)
        if start <= addr < start + vm.elf.sym_size(name):
            return True
    return vm.elf.sym("__irq_text_start") <= addr < vm.elf.sym("__irq_text_end")


def finish(vm):
    ticks = read_u32(vm.elf.sym("irq_ticks"))
    gdb_run("set var irq_target = %d" % (ticks + 5))
    cont_to_exit(vm, IRQSTEP_EXIT)


@test
def test_ctrl_c():
    vm = debug("irqstep.elf")
    ticks = spin_forever(vm)
    # What a terminal's Ctrl-C does: SIGINT to gdb while it waits for the target.
    timer = threading.Timer(1.0, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        resume("continue", timeout=20)
    finally:
        timer.cancel()
    check_eq(len(events.stops), 1, "stops")
    check_eq(events.stops[0]["signal"], "SIGINT", "stop signal")
    check(in_loop(vm, pc()), "stopped at %#x, outside the guest's loop" % pc())
    check(read_u32(ticks) > 0, "no timer tick during a second of running")
    # A second interrupt works as well as the first.
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    try:
        resume("continue", timeout=20)
    finally:
        timer.cancel()
    check_eq([s["signal"] for s in events.stops], ["SIGINT", "SIGINT"], "stop signals")
    finish(vm)


@test
def test_interrupt_command():
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", guest_path("irqstep.elf"))
    vm.wait_listening()
    g = ChildGdb(guest_path("irqstep.elf"))
    g.mi("-target-select remote 127.0.0.1:%d" % vm.port)
    g.console("set var irq_target = 0xffffffff")
    g.interrupt_after(1.0)
    ticks = g.value("irq_ticks")
    check(ticks > 0, "no timer ticks while running")
    g.console("set var irq_target = %d" % (ticks + 5))
    g.mi("-exec-continue")
    g.wait_for(r'^\*stopped,reason="exited"', 20)
    vm.expect_exit(exit_status(IRQSTEP_EXIT))
    g.quit()


main()
