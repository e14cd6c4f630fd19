# SPDX-License-Identifier: MIT
"""An instruction KVM's emulator cannot run ends the run with a message
that names the instruction: where it is, at which privilege level, and its
bytes.  On a KVM that runs guest kernel code natively the same guest runs
through to its exit instead."""

import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import KVMDBG, check, check_eq, exit_status, kvmdbg, scratch, test, main  # noqa: E402

LOAD = 0x100000
EXIT_CODE = 0x2a
# mov eax, 0x200000 (RAM, 16-byte aligned); cmpxchg16b [rax];
# mov edx, 0xf4; mov eax, EXIT_CODE; out dx, eax
CMPXCHG16B = bytes.fromhex("b800002000") + bytes.fromhex("480fc708")
EPILOGUE = bytes.fromhex("baf4000000") + b"\xb8" + EXIT_CODE.to_bytes(4, "little") + b"\xef"
GUEST = CMPXCHG16B + EPILOGUE
FAULT_RIP = LOAD + 5


def emulator_lacks_cmpxchg16b():
    """What `kvmdbg probe` measured: cx16 is hidden from Linux where KVM
    cannot run cmpxchg16b in guest kernel code."""
    out = subprocess.run([KVMDBG, "probe"], capture_output=True, text=True, timeout=120).stdout
    hidden = [line for line in out.splitlines() if line.startswith("linux-cpuid-hidden:")]
    check_eq(len(hidden), 1, "linux-cpuid-hidden lines in %r" % out)
    return "cx16" in hidden[0].split()


@test
def test_unemulated_instruction_is_named():
    path = os.path.join(scratch(), "cmpxchg16b.bin")
    with open(path, "wb") as f:
        f.write(GUEST)
    vm = kvmdbg("run", "--load-addr", hex(LOAD), "--entry", hex(LOAD), path)
    status = vm.wait()
    err = vm.stderr()
    if not emulator_lacks_cmpxchg16b():
        check_eq(status, exit_status(EXIT_CODE), "exit status where KVM runs it (stderr %r)" % err)
        return
    check_eq(status, 4, "exit status (stderr %r)" % err)
    lines = [line for line in err.splitlines() if "instruction emulator" in line]
    check_eq(len(lines), 1, "emulator lines in %r" % err)
    line = lines[0]
    for part in ("cannot run the instruction at rip 0x%x on vCPU 0" % FAULT_RIP,
                 "CPL 0", "bytes: 48 0f c7 08", "x/i $pc"):
        check(part in line, "%r missing from %r" % (part, line))


main()
