# SPDX-License-Identifier: MIT
"""Breakpoint conditions and dprintf evaluated by the stub on arm64 (the demo
guest: leaf(x) is called with 0, 7, 1, 8, 2, 9)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (DEMO_SERIAL, bp_address, check_eq, cont_to_exit, debug,  # noqa: E402
                       events, exit_status, gdb, gdb_run, main, resume, test)

DEMO_EXIT = 0x21
LEAF_ARGS = [0, 7, 1, 8, 2, 9]


def stops(condition, target_side):
    if not target_side:
        gdb_run("set remote conditional-breakpoints-packet off")
    try:
        vm = debug("demo.elf")
        bp = gdb.Breakpoint("leaf")
        gdb_run("condition %d %s" % (bp.number, condition))
        seen = []
        for _ in range(len(LEAF_ARGS)):
            before = len(events.stops)
            resume("continue")
            if not gdb.selected_inferior().pid:
                break
            check_eq(len(events.stops), before + 1, "one stop per continue")
            check_eq(events.stops[-1]["pc"], bp_address(bp), "stop pc")
            seen.append(int(gdb.parse_and_eval("x")))
        if gdb.selected_inferior().pid:
            bp.delete()
            cont_to_exit(vm, DEMO_EXIT)
        check_eq(vm.serial(), DEMO_SERIAL, "serial output")
        return seen
    finally:
        gdb_run("delete")
        gdb_run("set remote conditional-breakpoints-packet auto")


@test
def test_condition_in_the_stub():
    # x0 holds leaf's argument at its first instruction.
    for cond, want in (("x > 5", [7, 8, 9]), ("$x0 % 2 == 1", [7, 1, 9])):
        target = stops(cond, True)
        check_eq(target, want, "stops with the stub evaluating %r" % cond)
        check_eq(stops(cond, False), target, "stops with gdb evaluating %r" % cond)


@test
def test_dprintf_agent():
    vm = debug("demo.elf")
    gdb_run("set dprintf-style agent")
    try:
        gdb_run('dprintf leaf,"leaf %d (%#x)\\n", x, x * 3 + 1')
        out = resume("continue")
    finally:
        gdb_run("set dprintf-style gdb")
    check_eq([l for l in out.splitlines() if l.startswith("leaf ")],
             ["leaf %d (%#x)" % (x, x * 3 + 1) for x in LEAF_ARGS], "dprintf output")
    check_eq(len(events.stops), 0, "stops of the dprintf run")
    check_eq(events.exits, [exit_status(DEMO_EXIT)], "exit reported to gdb")
    vm.expect_exit(exit_status(DEMO_EXIT))
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


main()
