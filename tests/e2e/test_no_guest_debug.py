# SPDX-License-Identifier: MIT
"""A host without KVM guest debugging: the guest still runs, every
breakpoint and step request gets an error, nothing is left in the guest."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (KVMDBG, Elf, Vm, check, check_eq, connect, events, exit_status,
                        gdb, gdb_run, guest_path, main, monitor, packet, read_mem, test)

ROUNDS = 5
SERIAL = "int3count: start\nint3 count: 5\n"


def start():
    path = guest_path("int3count.elf")
    vm = Vm([KVMDBG, "run", "--no-guest-debug", "--gdb", "tcp:127.0.0.1:0", "-S", path])
    vm.wait_listening()
    vm.elf = Elf(path)
    gdb_run("file " + path)
    connect(vm.port)
    return vm


@test
def test_caps_say_off():
    vm = start()
    caps = monitor("caps")
    check("guest-debug: no" in caps, "caps: %r" % caps)
    check("sw-breakpoints: no" in caps and "hw-breakpoints: no" in caps, "caps: %r" % caps)
    check("turned off with --no-guest-debug" in caps, "caps note: %r" % caps)
    gdb_run("detach")
    vm.expect_exit(exit_status(ROUNDS))


@test
def test_breakpoints_and_steps_refused():
    vm = start()
    site = vm.elf.sym("tally")
    before = read_mem(site, 4)
    check(packet("Z0,%x,1" % site).startswith("E"), "Z0 must be refused")
    check(packet("Z1,%x,1" % site).startswith("E"), "Z1 must be refused")
    check(packet("vCont;s:1").startswith("E"), "a step must be refused")
    check_eq(read_mem(site, 4), before, "guest bytes at the refused breakpoint")
    gdb_run("monitor phys on")
    check_eq(read_mem(site, 4), before, "physical bytes at the refused breakpoint")
    gdb_run("monitor phys off")
    check("Z0 at 0x%x refused" % site in vm.stderr(), "stderr names the refusal: %r"
          % vm.stderr())
    # The guest's own int3 still reaches its handler.
    gdb_run("continue")
    check_eq(events.exits[-1:], [exit_status(ROUNDS)], "exit reported to gdb")
    vm.expect_exit(exit_status(ROUNDS))
    check_eq(vm.serial(), SERIAL, "serial output")


main()
