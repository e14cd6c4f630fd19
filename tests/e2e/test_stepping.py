# SPDX-License-Identifier: MIT
"""stepi, step, next and finish; single-stepping with timer interrupts pending."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (bp_address, check, check_eq, cont, cont_to_exit, debug, events,
                        frame_names, gdb, gdb_run, main, pc, pushflags_trap_flags, read_u32,
                        read_u64, reg, resume, source_line, test)

DEMO_EXIT = 0x21
IRQSTEP_EXIT = 7
PUSHFLAGS_EXIT = 0x41
STEPS_WITH_IRQS = 200


def predicted_next(addr):
    """Where one instruction at addr goes: the call target or the next one."""
    insn = gdb.selected_inferior().architecture().disassemble(addr, count=1)[0]
    m = re.match(r"call\s+(0x[0-9a-f]+)", insn["asm"])
    if m:
        return int(m.group(1), 16), insn["asm"]
    check(not re.match(r"(j|ret|iret|loop)", insn["asm"]),
          "cannot predict %r at %#x" % (insn["asm"], addr))
    return addr + insn["length"], insn["asm"]


@test
def test_stepi_follows_instructions():
    vm = debug("demo.elf")
    bp = gdb.Breakpoint("compute")
    site = bp_address(bp)
    check_eq(cont()["pc"], site, "stop at compute")
    x2i = gdb_run("x/2i $pc")
    addrs = [int(a, 16) for a in re.findall(r"^(?:=>)?\s+(0x[0-9a-f]+)", x2i, re.M)]
    check_eq(len(addrs), 2, "instructions listed by x/2i (%r)" % x2i)
    # The first step leaves an inserted software breakpoint behind.
    resume("stepi")
    check_eq(pc(), addrs[1], "pc after stepping off the breakpoint (x/2i said %r)" % x2i)
    for _ in range(12):
        here = pc()
        want, asm = predicted_next(here)
        resume("stepi")
        check_eq(pc(), want, "pc after stepping %r at %#x" % (asm, here))
        if asm.startswith("call"):
            break
    check_eq(frame_names()[:2], ["leaf", "compute"], "frames after stepping into the call")
    # Stepping never reports breakpoint hits; the breakpoint still works.
    check(all(s["breakpoints"] == [] for s in events.stops[1:]), "steps reported as hits")
    check_eq(cont()["pc"], site, "next hit of the breakpoint")
    bp.delete()
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_next_steps_over_call():
    vm = debug("demo.elf")
    line = source_line("guests/x86_64/demo.c", "xmm_checkpoint(total);")
    gdb.Breakpoint("demo.c:%d" % line)
    cont()
    check_eq(frame_names()[0], "kmain", "function at the line breakpoint")
    total = vm.elf.sym("demo_total")
    check_eq(read_u64(total), 0, "demo_total before the call")
    stops = len(events.stops)
    resume("next")
    check_eq(frame_names()[0], "kmain", "function after next")
    check(gdb.selected_frame().find_sal().line > line, "next did not leave line %d" % line)
    check_eq(read_u64(total), 0x57, "demo_total after next ran the call")
    check_eq(len(events.stops), stops + 1, "stops reported by one next")
    gdb_run("delete")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_step_into_and_finish():
    vm = debug("demo.elf")
    line = source_line("guests/x86_64/demo.c", "xmm_checkpoint(total);")
    gdb.Breakpoint("demo.c:%d" % line)
    cont()
    gdb_run("delete")
    resume("step")
    check_eq(frame_names()[:2], ["xmm_checkpoint", "kmain"], "frames after step")
    check_eq(int(gdb.parse_and_eval("total")), 0x57, "argument seen in the callee")
    resume("finish")
    check_eq(frame_names()[0], "kmain", "function after finish")
    check_eq(read_u64(vm.elf.sym("demo_total")), 0x57, "demo_total after finish")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_stepi_never_enters_irq_handler():
    vm = debug("irqstep.elf")
    irq_lo, irq_hi = vm.elf.sym("__irq_text_start"), vm.elf.sym("__irq_text_end")
    check(irq_lo < irq_hi, "no interrupt handler range in irqstep.elf")
    loop_lo = vm.elf.sym("kmain")
    loop_hi = loop_lo + vm.elf.sym_size("kmain")
    spin_lo = vm.elf.sym("spin_step")
    spin_hi = spin_lo + vm.elf.sym_size("spin_step")
    ticks, target = vm.elf.sym("irq_ticks"), vm.elf.sym("irq_target")
    bp = gdb.Breakpoint("spin_step")
    cont()
    bp.delete()
    check(reg("eflags") & 0x200, "interrupts are off in the spin loop")
    gdb_run("set var irq_target = 0xffffffff")
    for n in range(STEPS_WITH_IRQS):
        resume("stepi")
        here = pc()
        check(not irq_lo <= here < irq_hi, "step %d landed in the interrupt handler at %#x"
              % (n, here))
        check(loop_lo <= here < loop_hi or spin_lo <= here < spin_hi,
              "step %d left the spin loop: pc %#x" % (n, here))
    before = read_u32(ticks)
    gdb_run("set var irq_target = %d" % (before + 10))
    done = gdb.Breakpoint("irqstep_done")
    cont()
    check_eq(events.stops[-1]["breakpoints"], [done.number], "stop after the ticks")
    after = read_u32(ticks)
    check(after >= before + 10, "ticks went from %d to %d across continue" % (before, after))
    check_eq(read_u32(target), before + 10, "irq_target")
    done.delete()
    cont_to_exit(vm, IRQSTEP_EXIT)
    check_eq(vm.serial(), "irqstep: start\nirqstep ticks: %d\n" % after, "serial output")


@test
def test_stepped_pushf_stores_guest_flags():
    # Where KVM runs the guest natively it steps by setting the trap flag,
    # which pushf stores: the stub takes it out of the image, or the popf
    # the guest runs later without the debugger makes it trace itself (no
    # IDT: a triple fault).  KVM's instruction emulator pushes the flags
    # the guest sees; tests/x86_64/test_features.py runs this on a KVM that
    # does not emulate.
    vm = debug("pushflags.elf")
    start = vm.elf.sym("_start")
    pcs = []
    for _ in range(2):
        resume("stepi")
        pcs.append(pc())
    check_eq(pcs, [start + 1, start + 3], "pc after stepping pushfq, pushfw")
    flags, images = pushflags_trap_flags()
    check_eq(flags, [0, 0], "TF in the pushfw and pushfq images %s" % images)
    cont_to_exit(vm, PUSHFLAGS_EXIT)
    check_eq(vm.serial(), "pushflags: pushfq TF=0 pushfw TF=0\n", "serial output")


main()
