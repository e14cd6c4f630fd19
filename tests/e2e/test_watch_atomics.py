# SPDX-License-Identifier: MIT
"""Guest atomics on a page that a write watch protects.

A write watch on this host is a read-only page: KVM's emulator performs a
locked instruction there by reading the old value from the read-only slot
and handing kvmdbg only the plain write of the result.  With several vCPUs
updating the same counters, another vCPU's update could land in between
and be lost.  The smp.elf guest with the word atomics has every vCPU update
shared counters with lock add, inc, xadd, cmpxchg, or, bts and an xchg
spinlock, all on one page, and checks the totals itself.
"""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (Elf, check, check_eq, connect, cont_to_exit, events, exit_status, gdb, gdb_run,
                        guest_path, kvmdbg, main, monitor, resume, run, test)
from smp_guest import SMP_EXIT, expected_serial, guest_args

NCPUS, ITERATIONS = 4, 150


def debug_atomics(ncpus, iterations):
    path = guest_path("smp.elf")
    vm = kvmdbg("run", "-smp", str(ncpus), "--gdb", "tcp:127.0.0.1:0", "-S", path, "--",
                *guest_args(ncpus, iterations, atomics=True))
    vm.wait_listening()
    vm.elf = Elf(path)
    gdb_run("file " + path)
    connect(vm.port)
    gdb_run("set breakpoint always-inserted on")
    return vm


def check_page_watch(expr):
    """The watch on expr is the read-only page kind, the one under test
    (with breakpoints always inserted, gdb has inserted it already)."""
    addr = int(gdb.parse_and_eval("&(%s)" % expr))
    listing = monitor("watchpoints")
    check(re.search(r"^watch +0x%x len \d+: page protection \(read-only page\)" % addr,
                    listing, re.M), "monitor watchpoints: %r" % listing)


@test
def test_atomics_undebugged():
    """The guest's own totals without a debugger: the reference."""
    vm = run(guest_path("smp.elf"), ["-smp", str(NCPUS)],
             guest_args(NCPUS, ITERATIONS, atomics=True))
    check_eq(vm.status, exit_status(SMP_EXIT), "exit status")
    check_eq(vm.serial(), expected_serial(NCPUS, ITERATIONS, atomics=True), "serial output")


@test
def test_atomics_beside_a_write_watch():
    """A watch on a word of the page that nobody writes: no stop, and no
    update of the others lost."""
    vm = debug_atomics(NCPUS, ITERATIONS)
    gdb_run("watch smp_atomics.untouched")
    check_page_watch("smp_atomics.untouched")
    cont_to_exit(vm, SMP_EXIT)
    check_eq(vm.serial(), expected_serial(NCPUS, ITERATIONS, atomics=True), "serial output")


@test
def test_watch_on_a_locked_counter():
    """A watch on the lock xadd counter itself: every stop shows it higher
    than the last (two vCPUs may have added before the VM stopped), the
    last stop shows every increment, and the guest's totals are right."""
    ncpus, iterations = 3, 30
    calls = ncpus * iterations
    vm = debug_atomics(ncpus, iterations)
    gdb_run("watch smp_atomics.xadds")
    check_page_watch("smp_atomics.xadds")
    seen = 0
    while not events.exits:
        resume("continue")
        if events.exits:
            break
        value = int(gdb.parse_and_eval("smp_atomics.xadds"))
        check(seen < value <= calls, "the counter went from %d to %d at a watch stop"
              % (seen, value))
        seen = value
    check_eq(seen, calls, "the counter at the last watch stop")
    check_eq(events.exits[-1], exit_status(SMP_EXIT), "exit code reported to gdb")
    vm.expect_exit(exit_status(SMP_EXIT))
    check_eq(vm.serial(), expected_serial(ncpus, iterations, atomics=True), "serial output")


main()
