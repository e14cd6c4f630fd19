# SPDX-License-Identifier: MIT
"""kvmdbg run --no-guest-debug, as on a host without KVM guest debugging:
the guest still runs to its end, every breakpoint and step request gets an
error, nothing is left in the guest, and the guest's own brk still reaches
its handler."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (check, check_eq, check_raises, debug, events, exit_status,  # noqa: E402
                       gdb, gdb_run, main, monitor, packet, pc, read_mem, resume, rows, test)

ROUNDS = 5
SERIAL = "brkcount: start\nbrk count: 5\n"
NOTE = "guest debugging turned off with --no-guest-debug"


def start():
    return debug("brkcount.elf", ["--no-guest-debug"])


def check_guest_end(vm):
    """The guest ran to its end: its own brk counted ROUNDS times."""
    vm.expect_exit(exit_status(ROUNDS))
    check_eq(vm.serial(), SERIAL, "serial output")


def cont_through_refusals(vm):
    # gdb's own requests: stepi does not move, a breakpoint stops continue
    # before the guest runs, and without it the guest runs to its end.
    out = resume("stepi")
    check("Remote failure reply: E" in out, "stepi said %r" % out)
    check_eq(pc(), vm.elf.entry, "pc after stepi")
    gdb.Breakpoint("tally")
    check_raises(lambda: resume("continue"), "continue with a breakpoint")
    check_eq(pc(), vm.elf.entry, "pc after the refused breakpoint")
    gdb_run("delete")
    resume("continue")
    check_eq(events.exits[-1:], [exit_status(ROUNDS)], "exit reported to gdb")
    check_guest_end(vm)


@test
def test_caps_say_off():
    vm = start()
    out = monitor("caps")
    caps = rows(out)
    check(caps.get("guest-debug", "").startswith("no "), "guest-debug in %r" % out)
    for key in ("sw-breakpoints", "hw-breakpoints", "single-step"):
        check(caps.get(key, "").startswith("no:"), "%s in %r" % (key, out))
    check_eq(caps.get("note"), NOTE, "note in %r" % out)
    gdb_run("detach")
    check_guest_end(vm)


@test
def test_breakpoints_and_steps_refused():
    vm = start()
    site = vm.elf.sym("tally")
    original = vm.elf.bytes_at(site, 4)
    check_eq(read_mem(site, 4), original, "tally's first instruction")
    for request in ("Z0,%x,4" % site, "Z1,%x,4" % site, "vCont;s:1", "s"):
        reply = packet(request)
        check(reply.startswith("E"), "reply to %s: %r" % (request, reply))
    check_eq(read_mem(site, 4), original, "guest bytes at the refused breakpoint")
    monitor("phys on")
    try:
        check_eq(read_mem(site, 4), original, "physical bytes at the refused breakpoint")
    finally:
        monitor("phys off")
    err = vm.stderr()
    for line in ("Z0 at %#x refused" % site, "Z1 at %#x refused" % site,
                 "single-step refused"):
        check(line in err, "stderr does not say %r: %r" % (line, err))
    check_eq(pc(), vm.elf.entry, "pc after the refused steps")
    cont_through_refusals(vm)


main()
