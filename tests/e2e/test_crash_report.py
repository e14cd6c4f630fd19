# SPDX-License-Identifier: MIT
"""A kvmdbg that crashes says so on stderr, with its signal and where it was,
and still dies of that signal."""

import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (KVMDBG, TestSkipped, check, check_eq, guest_path, kvmdbg,  # noqa: E402
                        main, test)

# A pc inside kvmdbg is an offset from its load address, for addr2line.
REPORT = re.compile(r"^kvmdbg: crashed: %s sent by another process, pc (kvmdbg\+)?0x[0-9a-f]+"
                    r"(, return address (kvmdbg\+)?0x[0-9a-f]+)?$")


@test
def test_crash_is_reported():
    with open(KVMDBG, "rb") as f:
        if re.search(rb"__[at]san_init", f.read()):
            raise TestSkipped("a sanitizer build: its runtime reports the crash instead")
    for sig, name in ((signal.SIGSEGV, "SEGV"), (signal.SIGBUS, "BUS"), (signal.SIGABRT, "ABRT")):
        vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", guest_path("demo.elf"))
        vm.wait_listening()
        os.kill(vm.proc.pid, sig)
        check_eq(vm.wait(20), -sig, "%s: exit status" % name)
        last = vm.stderr().splitlines()[-1]
        check(re.match(REPORT.pattern % name, last), "%s: stderr ends %r" % (name, last))


main()
