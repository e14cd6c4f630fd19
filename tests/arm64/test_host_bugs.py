# SPDX-License-Identifier: MIT
"""Bugs of the host kernel that kvmdbg works around, so that neither the
guest nor gdb sees them."""

import os
import re
import signal
import struct
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (DEMO_SERIAL, check, check_eq, check_raises, cont_to_exit,  # noqa: E402
                       debug, events, gdb_run, main, pc, read_mem, resume, shell, test, write_mem)

# B . : the guest spins there inside KVM_RUN, with no exit.
B_SELF = 0x14000000
# What KVM arm64 writes into a vCPU's registers whose reset value is
# UNKNOWN, TPIDR_EL0 among them; a nested Linux 6.1 host handed it to
# kvmdbg's thread as its thread pointer.
KVM_RESET_MARKER = 0x1de7ec7edbadc0de
LEAK_TOOL = "/tools/leak_thread_pointer"
WARNING = re.compile(r"kvmdbg: warning: KVM_RUN came back to vCPU 0's thread with its thread "
                     r"pointer changed, a bug of this host's kernel; kvmdbg put it back")


def thread_named(vm, name):
    """The id of kvmdbg's thread of that name."""
    status, out = shell("grep -l '^%s$' /proc/$(cat %s/pid)/task/*/comm" % (name, vm.dir))
    check_eq(status, 0, "a thread named %s (%r)" % (name, out))
    return int(out.split("/")[-2])


@test
def test_thread_pointer_changed_in_kvm_run():
    # The host returns from KVM_RUN with the thread pointer changed: made
    # here by ptrace, at the same point (the return of an interrupted
    # KVM_RUN), with the value the host was seen to leave.
    vm = debug("demo.elf")
    entry = pc()
    code = read_mem(entry, 4)
    write_mem(entry, struct.pack("<I", B_SELF))
    tid = thread_named(vm, "kvmdbg-vcpu0")
    leaked = []
    resumed = threading.Event()

    def leak_then_interrupt():
        try:
            leaked.append(shell("%s %d %#x" % (LEAK_TOOL, tid, KVM_RESET_MARKER)))
            # Rounds of KVM_RUN after the one that came back changed,
            # unless kvmdbg is gone already.
            resumed.wait(2)
        finally:
            if not resumed.is_set():
                os.kill(os.getpid(), signal.SIGINT)

    before = len(events.stops)
    t = threading.Thread(target=leak_then_interrupt, daemon=True)
    t.start()
    try:
        resume("continue")
    finally:
        resumed.set()
        try:
            t.join()
        except KeyboardInterrupt:
            t.join()
    check(leaked and leaked[0][0] == 0, "%s: %r" % (LEAK_TOOL, leaked))
    check_eq(len(events.stops), before + 1, "stops after the interrupt")
    check_eq(events.stops[-1]["signal"], "SIGINT", "stop signal")
    check_eq(pc(), entry, "pc where the guest spun")
    write_mem(entry, code)
    cont_to_exit(vm, 0x21)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")
    check(WARNING.search(vm.stderr()), "no warning on stderr: %r" % vm.stderr())


@test
def test_crash_report_with_a_broken_thread_pointer():
    # Should the thread pointer break anywhere else, kvmdbg still says
    # where it crashed, and with which thread pointer.
    vm = debug("demo.elf")
    tid = thread_named(vm, "kvmdbg-stub")
    status, out = shell("%s -a %d %#x" % (LEAK_TOOL, tid, KVM_RESET_MARKER))
    check_eq(status, 0, "%s: %r" % (LEAK_TOOL, out))
    # The stub thread wakes up for the packet and meets it.
    check_raises(lambda: gdb_run("monitor caps"), "monitor caps", "Remote connection closed")
    check_eq(vm.wait(), 128 + 11, "exit status (stderr %r)" % vm.stderr())
    last = vm.stderr().splitlines()[-1]
    check(re.match(r"^kvmdbg: crashed: SEGV at address 0x[0-9a-f]+, pc kvmdbg\+0x[0-9a-f]+, "
                   r"return address kvmdbg\+0x[0-9a-f]+, thread pointer %#x$"
                   % KVM_RESET_MARKER, last), "stderr ends %r" % last)


main()
