# SPDX-License-Identifier: MIT
"""monitor commands, answered by the kvmdbg inside."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (check, check_eq, cont_to_exit, debug, kvmdbg, main, monitor,  # noqa: E402
                       rows, slots, test)

DEMO_EXIT = 0x21


@test
def test_help():
    vm = debug("demo.elf")
    out = monitor("help")
    for command in ("help", "caps"):
        check(re.search(r"^\s*%s\b" % command, out, re.M), "help does not list %s: %r"
              % (command, out))
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_caps():
    vm = debug("demo.elf")
    out = monitor("caps")
    table = rows(out)
    check(table.get("sw-breakpoints", "").startswith("yes"), "sw-breakpoints in %r" % out)
    check(table.get("single-step", "").startswith("yes"), "single-step in %r" % out)
    check_eq(slots(table.get("hw-breakpoints")), 6, "hw-breakpoints slots in %r" % out)
    check_eq(slots(table.get("watchpoints")), 4, "watchpoint slots in %r" % out)
    cont_to_exit(vm, DEMO_EXIT)
    # The same facts as kvmdbg probe.
    probe = kvmdbg("probe")
    check_eq(probe.wait(), 0, "probe exit status")
    check_eq(rows(probe.serial()), table, "probe's table")


main()
