#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""A scripted gdb session against the demo guest, printed as gdb shows it.

    tests/demo.py --build DIR
"""

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

GDB_SCRIPT = """\
set pagination off
set confirm off
file {guest}
target remote 127.0.0.1:{port}
echo \\n=== stop at compute, then the call chain that got there\\n
break compute
continue
backtrace
echo \\n=== registers, including control registers\\n
info registers rip rsp rdi eflags cr0 cr3 cr4 efer
echo \\n=== memory: the demo_words global and the code at the breakpoint\\n
x/4xw &demo_words
print demo_counter
x/3i $pc
echo \\n=== one instruction step\\n
stepi
x/i $pc
echo \\n=== the monitor's capability table\\n
monitor caps
echo \\n=== delete the breakpoint and run the guest to its end\\n
delete
continue
"""


def listening_port(err_path, proc, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(err_path) as f:
            m = re.search(r"^kvmdbg: gdb stub listening on tcp:127\.0\.0\.1:(\d+)$", f.read(), re.M)
        if m:
            return int(m.group(1))
        if proc.poll() is not None:
            break
        time.sleep(0.02)
    with open(err_path) as f:
        sys.exit("demo: kvmdbg did not start: %s" % f.read().strip())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", required=True, help="build directory (e.g. build/x86_64)")
    build = ap.parse_args().build
    kvmdbg = os.path.join(build, "kvmdbg")
    guest = os.path.join(build, "guests", "demo.elf")
    with tempfile.TemporaryDirectory(prefix="kvmdbg-demo-") as tmp:
        out_path, err_path = os.path.join(tmp, "serial"), os.path.join(tmp, "stderr")
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            vm = subprocess.Popen([kvmdbg, "run", "--gdb", "tcp:127.0.0.1:0", "-S", guest],
                                  stdin=subprocess.DEVNULL, stdout=out, stderr=err)
        try:
            port = listening_port(err_path, vm)
            script = os.path.join(tmp, "session.gdb")
            with open(script, "w") as f:
                f.write(GDB_SCRIPT.format(guest=guest, port=port))
            print("=== kvmdbg run --gdb tcp:127.0.0.1:0 -S %s  (listening on port %d)"
                  % (guest, port), flush=True)
            subprocess.run(["gdb", "-batch", "-nx", "-q", "-x", script], timeout=120)
            status = vm.wait(30)
        finally:
            if vm.poll() is None:
                vm.kill()
                vm.wait()
        with open(out_path, errors="replace") as f:
            serial = f.read()
    print("\n=== the guest's serial output")
    print(serial, end="")
    print("\n=== kvmdbg exit status %d: the guest wrote %#x to the exit port"
          % (status, status >> 1))
    return 0 if status == (0x21 << 1) | 1 else 1


if __name__ == "__main__":
    sys.exit(main())
