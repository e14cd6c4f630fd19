# SPDX-License-Identifier: MIT
"""The stub's monitor commands."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (check, check_eq, cont_to_exit, debug, gdb, main, monitor, pc, test)

DEMO_EXIT = 0x21
CAPS_KEYS = ("sw-breakpoints", "hw-breakpoints", "watchpoints", "single-step")


@test
def test_help():
    vm = debug("demo.elf")
    out = monitor("help")
    for command in ("help", "caps", "phys"):
        check(re.search(r"^\s*%s\b" % command, out, re.M), "help does not list %s: %r"
              % (command, out))
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_caps():
    vm = debug("demo.elf")
    out = monitor("caps")
    rows = {}
    for line in out.splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            rows[key.strip()] = value.strip()
    for key in CAPS_KEYS:
        check(rows.get(key), "caps has no %s line: %r" % (key, out))
    # The session works as the table says: breakpoints and stepping are usable.
    check(rows["sw-breakpoints"].startswith("yes"), "sw-breakpoints: %s" % rows["sw-breakpoints"])
    check(rows["single-step"].startswith("yes"), "single-step: %s" % rows["single-step"])
    hw = re.match(r"yes\D*(\d+)", rows["hw-breakpoints"])
    check(hw is not None and int(hw.group(1)) == 4, "hw-breakpoints: %s" % rows["hw-breakpoints"])
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_phys_toggle():
    vm = debug("demo.elf")
    on = monitor("phys on")
    off = monitor("phys off")
    check(on.strip() and off.strip() and on != off, "phys on/off printed %r and %r" % (on, off))
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_unknown_command():
    vm = debug("demo.elf")
    before = pc()
    # Either an error or an explanation; the session goes on in both cases.
    try:
        out = monitor("frobnicate now")
        check("frobnicate" in out or "unknown" in out.lower(), "unknown command answered %r" % out)
    except gdb.error:
        pass
    check_eq(pc(), before, "pc after the unknown command")
    cont_to_exit(vm, DEMO_EXIT)


main()
