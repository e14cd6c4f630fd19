# SPDX-License-Identifier: MIT
"""The stub's monitor commands."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (Rsp, check, check_eq, cont_to_exit, debug, gdb, guest_path, kvmdbg, main,
                        monitor, pc, test)

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
    # The stub prints why and answers with an error, which gdb reports as
    # a failed command; the session goes on.
    try:
        out = monitor("frobnicate now")
    except gdb.error as e:
        out, error = None, str(e)
    check(out is None, "the unknown command succeeded, printing %r" % out)
    check("Rcmd" in error, "gdb's error for the unknown command: %r" % error)
    check_eq(pc(), before, "pc after the unknown command")
    check(re.search(r"^\s*caps\b", monitor("help"), re.M), "monitor help after the unknown command")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_unknown_command_reply():
    # gdb does not hand its caller the text that came with an error reply,
    # so the exact exchange is checked over a socket.
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", guest_path("demo.elf"))
    vm.wait_listening()
    rsp = Rsp(vm.port)
    text = "unknown monitor command 'frobnicate now'; try 'monitor help'\n"
    check_eq(rsp.request("qRcmd," + b"frobnicate now".hex()), "O" + text.encode().hex(),
             "console output for the unknown command")
    check_eq(rsp.read_packet(), "E16", "final reply to the unknown command")
    check_eq(rsp.request("qRcmd," + b"phys".hex()), "O" + b"phys off\n".hex(),
             "console output of the next command")
    check_eq(rsp.read_packet(), "OK", "final reply to the next command")
    rsp.send_raw(Rsp.frame("k"))
    check_eq(vm.wait(10), 0, "exit status after k")


main()
