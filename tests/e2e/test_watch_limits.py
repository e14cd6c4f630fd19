# SPDX-License-Identifier: MIT
"""Watchpoints by page protection where they cannot work as they are: more
watched pages than KVM has memory slots, pages the processor itself reads
or writes to deliver interrupts and exceptions (the IDT, the stack the frame
is pushed on), and pages that become page tables once the guest turns
paging on.  Each such watch is refused with a reason, or turned off with
one, and the guest always runs on exactly as without a debugger."""

import fcntl
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (KVMDBG, Vm, check, check_eq, connect, cont, cont_to_exit, debug,
                        events, exit_status, gdb, gdb_run, guest_path, main, monitor, packet,
                        read_u32, reg, resume, run, test)

PAGE = 4096
KVM_CHECK_EXTENSION = 0xae03
KVM_CAP_NR_MEMSLOTS = 10
# Slots kvmdbg keeps free for an instruction run with its page mapped back.
UNHIDE_SLOTS = 2
WATCH_EXIT = 0x2d
IRQSTEP_EXIT = 7
INT3_ROUNDS = 5
SLOTS_BASE = 16 << 20   # above the guest image, below the end of its RAM
SLOTS_MEM = "256M"


def kvm_memslots():
    """What KVM itself says, asked without kvmdbg."""
    fd = os.open("/dev/kvm", os.O_RDWR)
    try:
        return fcntl.ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_MEMSLOTS)
    finally:
        os.close(fd)


def reference_serial(guest, code):
    vm = run(guest_path(guest))
    check_eq(vm.status, exit_status(code), "%s without a debugger: exit status" % guest)
    return vm.serial()


def stderr_lines(vm):
    return [l for l in vm.stderr().splitlines() if "gdb stub listening on" not in l]


def refusal(kind, addr):
    return "kvmdbg: Z%d at 0x%x refused: " % (kind, addr)


def page_of(addr):
    return addr & ~(PAGE - 1)


def watchpoint(command):
    """Creates a watchpoint with a gdb command; returns its gdb number."""
    out = gdb_run(command)
    check(out.startswith("Hardware"), "%r is not a hardware watchpoint: %r" % (command, out))
    return gdb.breakpoints()[-1].number


def console_of(command, timeout=60):
    """Runs a resuming command; returns the stub's console output gdb
    printed meanwhile."""
    return resume(command, timeout)


@test
def test_more_watches_than_memory_slots():
    # Watches on every other page: after k of them the RAM takes 1 + 2k
    # slots (the RAM below the first, then each read-only page and the RAM
    # after it).  The first watch that would need more than KVM has is
    # refused, nothing else is, and the guest runs on with all the others.
    serial = reference_serial("watch.elf", WATCH_EXIT)
    nslots = kvm_memslots()
    budget = nslots - UNHIDE_SLOTS
    fits = (budget - 1) // 2
    check(SLOTS_BASE + 2 * (fits + 1) * PAGE <= int(SLOTS_MEM[:-1]) << 20,
          "KVM's %d slots need more than %s of guest RAM" % (nslots, SLOTS_MEM))
    path = guest_path("watch.elf")
    vm = Vm([KVMDBG, "run", "--mem", SLOTS_MEM, "--gdb", "tcp:127.0.0.1:0", "-S", path])
    vm.wait_listening()
    gdb_run("file " + path)
    connect(vm.port)
    gdb.Breakpoint("kmain", temporary=True)
    cont()
    first_refused = None
    for i in range(fits + 1):
        addr = SLOTS_BASE + 2 * i * PAGE
        reply = packet("Z2,%x,8" % addr)
        if reply != "OK":
            first_refused = (i, addr, reply)
            break
    check(first_refused is not None, "all %d watches were accepted; KVM has %d slots"
          % (fits + 1, nslots))
    i, addr, reply = first_refused
    check_eq(i, fits, "watches accepted")
    check_eq(reply, "E1c", "reply to the watch that does not fit")
    check_eq(stderr_lines(vm), [
        refusal(2, addr) + "its pages would need %d memory slots for guest RAM and KVM offers "
        "%d (%d, %d of them kept for single steps); remove other watchpoints first"
        % (budget + 1, budget, nslots, UNHIDE_SLOTS)], "kvmdbg's messages")
    # Watching the page between the first two joins three runs into one:
    # two slots free, and the refused watch fits.
    check_eq(packet("Z2,%x,8" % (SLOTS_BASE + PAGE)), "OK", "watch between two watched pages")
    check_eq(packet("Z2,%x,8" % addr), "OK", "the refused watch once slots are free")
    check_eq(packet("Z2,%x,8" % (addr + 2 * PAGE)), "E1c", "one more watch")
    cont_to_exit(vm, WATCH_EXIT, timeout=120)
    check_eq(vm.serial(), serial, "serial output")
    check_eq(len(stderr_lines(vm)), 2, "kvmdbg's messages: %r" % stderr_lines(vm))


@test
def test_write_watch_on_interrupt_stack_refused():
    # Timer interrupts push their frame on the stack of the loop: a
    # read-only page there fails the delivery inside KVM.
    vm = debug("irqstep.elf")
    bp = gdb.Breakpoint("spin_step")
    cont()
    bp.delete()
    gdb_run("set var irq_target = 40")
    rsp = reg("rsp")
    ticks = vm.elf.sym("irq_ticks")
    check(page_of(ticks) != page_of(rsp), "irq_ticks is on the stack page")
    check_eq(packet("Z2,%x,8" % rsp), "E16", "write watch on the top stack slot")
    check_eq(packet("Z4,%x,8" % rsp), "E16", "access watch on the top stack slot")
    reason = ("the processor pushes interrupt and exception frames on this page (a vCPU's "
              "stack) behind any watch; a software watchpoint works there (set "
              "can-use-hw-watchpoints 0)")
    check_eq(stderr_lines(vm), [refusal(2, rsp) + reason, refusal(4, rsp) + reason],
             "kvmdbg's messages")
    # A watch elsewhere catches the handler's write while frames come and go.
    n = watchpoint("watch irq_ticks")
    before = read_u32(ticks)
    stop = cont()
    check_eq(stop["breakpoints"], [n], "stop by the watch on irq_ticks")
    check_eq(gdb.selected_frame().name(), "irq0_handler", "function at the stop")
    check("watch:%x;" % ticks in packet("?"), "stop reply %r names irq_ticks" % packet("?"))
    check_eq(read_u32(ticks), before + 1, "irq_ticks after the handler's write")
    gdb_run("delete")
    # A tick may still come between the loop's last test and its cli
    # (seen on a loaded host: 41): the count printed is the one after cli.
    done = gdb.Breakpoint("irqstep_done")
    check_eq(cont()["breakpoints"], [done.number], "stop at irqstep_done")
    after = read_u32(ticks)
    check(after >= 40, "irq_ticks %d at the end, below its target" % after)
    done.delete()
    cont_to_exit(vm, IRQSTEP_EXIT)
    check_eq(vm.serial(), "irqstep: start\nirqstep ticks: %d\n" % after, "serial output")


@test
def test_read_watch_on_idt_page_refused():
    # The guest's own int3 goes through its IDT, which shares its first page
    # with boot_magic and its last with int3_hits.
    serial = reference_serial("int3count.elf", INT3_ROUNDS)
    vm = debug("int3count.elf")
    idt = vm.elf.sym("idt")
    magic, hits = vm.elf.sym("boot_magic"), vm.elf.sym("int3_hits")
    check_eq(page_of(magic), page_of(idt), "page of boot_magic")
    check_eq(page_of(hits), page_of(idt + 256 * 16 - 1), "page of int3_hits")
    bp = gdb.Breakpoint("tally")
    cont()
    bp.delete()
    check_eq(read_u32(hits), 1, "int3_hits at the first tally")
    check_eq(packet("Z3,%x,4" % magic), "E16", "read watch on the IDT's first page")
    check_eq(stderr_lines(vm), [
        refusal(3, magic) + "the page holds the guest's interrupt descriptor table, which the "
        "processor reads behind any read watch to deliver interrupts and exceptions; use a "
        "write watch there"], "kvmdbg's messages")
    # The processor only reads the IDT: a write watch there works, and sees
    # the #BP handler's write.
    n = watchpoint("watch int3_hits")
    stop = cont()
    check_eq(stop["breakpoints"], [n], "stop by the write watch")
    check("watch:%x;" % hits in packet("?"), "stop reply %r names int3_hits" % packet("?"))
    check_eq(read_u32(hits), 2, "int3_hits after the second int3")
    gdb_run("delete")
    cont_to_exit(vm, INT3_ROUNDS)
    check_eq(vm.serial(), serial, "serial output")


@test
def test_read_watch_on_idt_page_turned_off_at_resume():
    # Kept inserted (as with breakpoint always-inserted on) from before the
    # guest loads its IDT onto the watched page: the next resume turns it off.
    serial = reference_serial("int3count.elf", INT3_ROUNDS)
    vm = debug("int3count.elf")
    magic = vm.elf.sym("boot_magic")
    gdb.Breakpoint("kmain", temporary=True)
    cont()
    check_eq(packet("Z3,%x,4" % magic), "OK", "read watch before the IDT is loaded")
    bp = gdb.Breakpoint("int3_fire")
    cont()
    bp.delete()
    text = console_of("continue")
    message = ("kvmdbg: read watchpoint at 0x%x (4 bytes) is off from now on: the page holds "
               "the guest's interrupt descriptor table, which the processor reads behind any "
               "read watch to deliver interrupts and exceptions; use a write watch there"
               % magic)
    check_eq(stderr_lines(vm), [message], "kvmdbg's messages")
    check(message in text, "gdb printed %r" % text)
    check(events.exits, "the guest did not run to its end: stops %r" % events.stops)
    check_eq(events.exits[-1], exit_status(INT3_ROUNDS), "exit code reported to gdb")
    vm.expect_exit(exit_status(INT3_ROUNDS))
    check_eq(vm.serial(), serial, "serial output")


@test
def test_read_watch_on_future_page_table():
    # Set with paging off on the page the boot code then fills with its
    # PML4: the watch is turned off right after the guest turns paging on,
    # and gdb is told why.
    serial = reference_serial("watch.elf", WATCH_EXIT)
    vm = debug("watch.elf")
    pml4 = vm.elf.sym("boot_pml4")
    check_eq(reg("cr0") & (1 << 31), 0, "paging at the first instruction")
    check_eq(packet("Z3,%x,8" % pml4), "OK", "read watch with paging off")
    gdb.Breakpoint("kmain", temporary=True)
    text = console_of("continue", timeout=30)
    check(not events.exits, "the guest ended (%r) before kmain: %r" % (events.exits, vm.stderr()))
    check_eq(gdb.selected_frame().name(), "kmain", "function at the stop")
    message = ("kvmdbg: read watchpoint at 0x%x (8 bytes) is off from now on: the page holds "
               "the guest's page tables, which the processor walks behind any read watch; use "
               "a write watch there" % pml4)
    check_eq(stderr_lines(vm), [message], "kvmdbg's messages")
    check(message in text, "gdb printed %r" % text)
    check(re.search(r"^rwatch +0x%x len 8: off " % pml4, monitor("watchpoints"), re.M),
          "monitor watchpoints: %r" % monitor("watchpoints"))
    # Set again, as gdb does at each resume unless it kept it inserted.
    check_eq(packet("Z3,%x,8" % pml4), "E16", "the same read watch set again")
    check_eq(stderr_lines(vm), [message, refusal(3, pml4) + "the page holds the guest's page "
                                "tables, which the processor walks behind any read watch; use "
                                "a write watch there"], "kvmdbg's messages")
    check_eq(packet("z3,%x,8" % pml4), "OK", "removal of the watch turned off")
    cont_to_exit(vm, WATCH_EXIT)
    check_eq(vm.serial(), serial, "serial output")


main()
