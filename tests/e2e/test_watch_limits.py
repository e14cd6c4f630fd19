# SPDX-License-Identifier: MIT
"""Watchpoints by page protection where they cannot work as they are: more
watched pages than KVM has memory slots.  Each such watch is refused with a
reason, and the guest always runs on exactly as without a debugger."""

import fcntl
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (Elf, KVMDBG, Vm, check, check_eq, connect, cont, cont_to_exit, debug,
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


main()
