# SPDX-License-Identifier: MIT
"""LLDB as the client on arm64: the host's lldb (Debian's, for x86-64,
which debugs an aarch64 target as well) against kvmdbg in the nested
machine, through the forwarded port: breakpoints, hardware breakpoints,
system registers, memory, stepping, a watchpoint and detach."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (GUESTS_INSIDE, PORT, Elf, check, check_eq, exit_status,  # noqa: E402
                       guest_path, kvmdbg, main, test)
from nested_vm import GDB_PORT_INSIDE  # noqa: E402
from lldb_session import Session  # noqa: E402

DEMO_EXIT = 0x21
SCTLR_M = 1 << 0


@test
def test_lldb_session():
    path = guest_path("demo.elf")
    vm = kvmdbg("run", "--gdb", "tcp:0.0.0.0:%d" % GDB_PORT_INSIDE, "-S",
                GUESTS_INSIDE + "/demo.elf")
    vm.wait_listening()
    e = Elf(path)
    compute, leaf, words, counter = (e.sym("compute"), e.sym("leaf"), e.sym("demo_words"),
                                     e.sym("demo_counter"))
    s = Session(PORT, path, [
        "register read pc sctlr_el1",
        "breakpoint set -n compute",
        "continue",
        "bt",
        "register read pc sp vbar_el1",
        "si",
        "register read pc",
        "memory read -f x -s 4 -c 2 %#x" % words,
        "memory write -s 4 %#x 0x11223344" % words,
        "memory read -f x -s 4 -c 2 %#x" % words,
        "breakpoint delete 1",
        "breakpoint set -a %#x -H" % leaf,
        "continue",
        "breakpoint delete 2",
        "watchpoint set expression -w write -s 8 -- %#x" % counter,
        "continue",
        "memory read -f x -s 8 -c 1 %#x" % counter,
        "watchpoint delete 1",
        "detach",
    ])
    at_entry = s.regs("register read pc sctlr_el1")
    check_eq(at_entry["pc"], e.entry, "pc at entry")
    check_eq(at_entry["sctlr_el1"] & SCTLR_M, 0, "MMU off at entry")
    check("stop reason = breakpoint 1.1" in s.out("continue"), "software breakpoint stop")
    check_eq(s.stop_pc("continue"), compute, "stop at compute")
    check_eq(s.frames()[:2], ["compute", "main"], "backtrace at compute")
    check_eq(s.regs("register read pc sp vbar_el1")["pc"], compute, "pc at compute")
    check_eq(s.stop_pc("si"), compute + 4, "pc after si")
    check_eq(s.regs("register read pc")["pc"], compute + 4, "pc register after si")
    read = "memory read -f x -s 4 -c 2 %#x" % words
    check(re.search(r"0xcafef00d 0x12345678", s.out(read)) is not None,
          "demo_words: %r" % s.out(read))
    check(re.search(r"0x11223344 0x12345678", s.out(read, 1)) is not None,
          "demo_words after the write: %r" % s.out(read, 1))
    check("stop reason = breakpoint 2.1" in s.out("continue", 1), "hardware breakpoint stop")
    check_eq(s.stop_pc("continue", 1), leaf, "stop at leaf")
    check("stop reason = watchpoint 1" in s.out("continue", 2),
          "watchpoint stop: %r" % s.out("continue", 2))
    check(re.search(r": 0x0*2\b", s.out("memory read -f x -s 8 -c 1 %#x" % counter)),
          "demo_counter after the watchpoint: %r"
          % s.out("memory read -f x -s 8 -c 1 %#x" % counter))
    check("detached" in s.out("detach"), "detach: %r" % s.out("detach"))
    s.answered("Z1,%x,4" % leaf, r"^OK$")
    s.answered("qHostInfo", r"^triple:%s;ptrsize:8;endian:little;"
               "watchpoint_exceptions_received:before;" % "aarch64-unknown-unknown".encode().hex())
    s.answered("jThreadsInfo", r'^\[\{"tid":1,"name":"vCPU 0"')
    vm.expect_exit(exit_status(DEMO_EXIT))
    check("demo: words 0x11223344 0x12345678\n" in vm.serial() and
          "demo: counter 3 " in vm.serial(), "serial after detach: %r" % vm.serial())


if __name__ == "__main__":
    main()
