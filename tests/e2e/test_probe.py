# SPDX-License-Identifier: MIT
"""The probe's check that the guest's own int3 and #DB reach the guest's own
handlers as hardware delivers them, in `kvmdbg probe` and `monitor caps`."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import check, check_eq, cont_to_exit, debug, kvmdbg, main, monitor, test

INT3 = "guest int3 delivery"
DEBUG = "guest debug exception delivery"
ROUNDS = 5
SERIAL = "int3count: start\nint3 count: 5\n"
# The probe guest's DR6 before delivery holds BS and a stale B1; DR0 hits.
DR6_SEEN = "DR6 0xffff4ff1"


def rows(text):
    return dict(line.split(": ", 1) for line in text.splitlines() if ": " in line)


def probe_rows():
    vm = kvmdbg("probe")
    check_eq(vm.wait(60), 0, "probe exit status (stderr %r)" % vm.stderr())
    return rows(vm.serial())


@test
def test_probe_verifies_delivery():
    table = probe_rows()
    int3 = table.get(INT3, "")
    check(int3.startswith("verified"), "%s: %r" % (INT3, int3))
    # The line names the exit kind the probe measured, the one sw-breakpoints names.
    kind = ("KVM_EXIT_DEBUG" if "KVM_EXIT_DEBUG" in table.get("sw-breakpoints", "")
            else "emulation-failure")
    check(kind in int3, "%s does not name %s exits: %r" % (INT3, kind, int3))
    dbg = table.get(DEBUG, "")
    check(dbg.startswith("verified"), "%s: %r" % (DEBUG, dbg))
    check(DR6_SEEN in dbg, "%s: %r" % (DEBUG, dbg))


@test
def test_monitor_caps_says_the_same():
    vm = debug("int3count.elf")
    caps = rows(monitor("caps"))
    table = probe_rows()
    for key in (INT3, DEBUG):
        check(caps.get(key, "").startswith("verified"), "monitor caps %s: %r" % (key, caps.get(key)))
        check_eq(caps.get(key), table.get(key), "monitor caps against kvmdbg probe: " + key)
    # The session delivers the guest's own traps as the probe verified.
    cont_to_exit(vm, ROUNDS)
    check_eq(vm.serial(), SERIAL, "serial output")


main()
