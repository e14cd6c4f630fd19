# SPDX-License-Identifier: MIT
"""Stepping and breakpoints while the guest takes timer interrupts (irqstep.elf,
through the in-kernel GIC): no step ends in the IRQ handler, no breakpoint is
reported twice for one call, and the guest's own PSTATE.DAIF is never changed
by the debugger, whatever the stepped instruction does with it."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (bp_address, check, check_eq, cont, cont_to_exit, debug,  # noqa: E402
                       events, gdb, main, monitor, packet, pc, read_u32, reg, rows, run, slots,
                       stepi, test)

IRQSTEP_EXIT = 0x2c
IRQ_TICKS = 20
SERIAL = "irqstep: start\nirqstep: 1 svc, ticks seen\n"
STEPS = 150
DAIF = 0xf << 6
DAIF_I = 1 << 7
VECTOR_SYNC_EL1H = 0x200
MASK64 = (1 << 64) - 1


def irq_work(acc):
    """The guest's irq_work(), to predict each call's argument."""
    for i in range(16):
        acc = (((acc ^ (acc >> 7)) * 0x9e3779b97f4a7c15) + i) & MASK64
    return acc


def ticks(vm):
    return read_u32(vm.elf.sym("irq_ticks"))


def stop_in_work(vm):
    """Runs to irq_work once the timer has ticked; returns the tick count."""
    bp = gdb.Breakpoint("irq_work")
    for _ in range(IRQ_TICKS):
        cont()
        if ticks(vm) >= 2:
            break
    bp.delete()
    now = ticks(vm)
    check(now >= 2, "the timer ticked %d times while irq_work ran" % now)
    check_eq(reg("cpsr") & DAIF_I, 0, "PSTATE.I in irq_work")
    return now


@test
def test_undebugged_run():
    vm = run("irqstep.elf")
    check_eq((vm.status, vm.serial()), (IRQSTEP_EXIT * 2 + 1, SERIAL), "run without gdb")


@test
def test_stepi_never_enters_irq_handler():
    vm = debug("irqstep.elf")
    vectors = vm.elf.sym("irq_vectors")
    handler = vm.elf.sym("irq_handler")
    work = vm.elf.sym("irq_work")
    main_lo = vm.elf.sym("main")
    before = stop_in_work(vm)
    daif = reg("cpsr") & DAIF
    for n in range(STEPS):
        here = stepi()
        check(not vectors <= here < vectors + 0x800, "step %d ended in the vectors at %#x"
              % (n, here))
        check(not handler <= here < handler + vm.elf.sym_size("irq_handler"),
              "step %d ended in irq_handler at %#x" % (n, here))
        check(work <= here < work + vm.elf.sym_size("irq_work")
              or main_lo <= here < main_lo + vm.elf.sym_size("main"),
              "step %d left the work loop: pc %#x" % (n, here))
        check_eq(reg("cpsr") & DAIF, daif, "PSTATE.DAIF after step %d" % n)
    # Every step had the timer's interrupt pending; none was taken.
    check_eq(ticks(vm), before, "ticks counted across %d steps" % STEPS)
    dance = gdb.Breakpoint("daif_dance")
    cont()
    check_eq(events.stops[-1]["breakpoints"], [dance.number], "stop at daif_dance")
    check(ticks(vm) >= IRQ_TICKS, "ticks once running again: %d" % ticks(vm))
    dance.delete()
    cont_to_exit(vm, IRQSTEP_EXIT)
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_continue_reports_each_call_once():
    vm = debug("irqstep.elf")
    bp = gdb.Breakpoint("irq_work")
    check_eq(cont()["pc"], bp_address(bp), "first stop")
    acc = reg("x0")
    check_eq(acc, 1, "irq_work's first argument")
    # Each continue steps off the breakpoint with the timer's interrupt
    # usually pending; the next stop must be the next call, never the same
    # call again after the interrupt handler returns to it.  The guest
    # stops calling after IRQ_TICKS ticks, about one per continue.
    for n in range(IRQ_TICKS // 2):
        cont()
        acc = irq_work(acc)
        check_eq(reg("x0"), acc, "irq_work's argument at hit %d" % (n + 2))
    check(ticks(vm) >= 2, "the timer ticked meanwhile (%d)" % ticks(vm))
    bp.delete()
    cont_to_exit(vm, IRQSTEP_EXIT)


@test
def test_step_through_the_guests_own_mask_changes():
    vm = debug("irqstep.elf")
    dance = vm.elf.sym("daif_dance")
    svc = vm.elf.sym("dance_svc")
    sync = vm.elf.sym("irq_vectors") + VECTOR_SYNC_EL1H
    bp = gdb.Breakpoint("*%#x" % dance)
    cont()
    bp.delete()
    check_eq(reg("cpsr") & DAIF_I, 0, "PSTATE.I entering daif_dance")
    check_eq(stepi(), dance + 4, "pc after msr daifset, #2")
    check_eq(reg("cpsr") & DAIF_I, DAIF_I, "PSTATE.I after msr daifset, #2")
    check_eq(stepi(), dance + 8, "pc after mrs x0, daif")
    check_eq(reg("x0"), reg("cpsr") & DAIF, "x0 read by mrs with interrupts masked")
    check_eq(stepi(), dance + 12, "pc after msr daifclr, #2")
    check_eq(reg("cpsr") & DAIF_I, 0, "PSTATE.I after msr daifclr, #2")
    unmasked = reg("cpsr") & DAIF
    check_eq(stepi(), dance + 16, "pc after mrs x1, daif")
    check_eq(reg("x1"), unmasked, "x1 read by mrs with interrupts unmasked")
    while pc() != svc:
        stepi()
    # svc enters the guest's own handler; the PSTATE it saves is the guest's.
    check_eq(stepi(), sync, "pc after stepping svc")
    check_eq(reg("elr_el1"), svc + 4, "ELR_EL1 after svc")
    check_eq(reg("spsr_el1") & DAIF, unmasked, "SPSR_EL1.DAIF saved by svc")
    check_eq(reg("cpsr") & DAIF, DAIF, "PSTATE.DAIF in the handler")
    for n in range(40):
        if stepi() == svc + 4:
            break
    check_eq(pc(), svc + 4, "pc after the handler's eret")
    check_eq(reg("cpsr") & DAIF, unmasked, "PSTATE.DAIF after eret")
    check_eq(read_u32(vm.elf.sym("svc_calls")), 1, "svc counted by the guest")
    cont_to_exit(vm, IRQSTEP_EXIT)
    check_eq(vm.serial(), SERIAL, "serial output")


@test
def test_exceptions_through_a_write_watched_vector_page():
    # Exception entry writes no memory on arm64 and the vectors are only
    # fetched, so a read-only page under them is no obstacle: with the
    # watchpoint slots taken, a write watch on the vector page itself is
    # served by page protection while every tick and the svc go through it.
    vm = debug("irqstep.elf")
    stop_in_work(vm)
    vectors = vm.elf.sym("irq_vectors")
    wps = slots(rows(monitor("caps")).get("watchpoints"))
    check(wps is not None, "watchpoint slots in %r" % monitor("caps"))
    for i in range(wps + 1):
        check_eq(packet("Z2,%x,8" % (vectors + 8 * i)), "OK", "write watch %d on the vectors" % i)
    listing = monitor("watchpoints")
    check("watch   0x%x len 8: page protection (read-only page)" % (vectors + 8 * wps) in listing,
          "monitor watchpoints: %r" % listing)
    before = ticks(vm)
    cont_to_exit(vm, IRQSTEP_EXIT)
    check_eq(vm.serial(), SERIAL, "serial output after %d ticks at the watch" % before)


main()
