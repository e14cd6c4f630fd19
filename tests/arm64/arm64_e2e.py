# SPDX-License-Identifier: MIT
"""End-to-end test support for kvmdbg on arm64, inside the nested machine
(tests/nested/inside.py), run by run_arm64.py with, besides what inside.py
reads, KVMDBG_ARM64_GIC (the nested machine's GIC version, 3 or 2) and, for
the files that boot Linux under kvmdbg, KVMDBG_ARM64_VMLINUX (the kernel's
vmlinux on the host), KVMDBG_ARM64_LINUX_RELEASE and
KVMDBG_ARM64_LINUX_VERSION (its release and package version); that kernel's
Image and a busybox initramfs for it are /linux/Image and /linux/initrd inside.
"""

import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "nested"))

from inside import *  # noqa: E402,F401,F403
from inside import check  # noqa: E402

RAM_BASE = 0x40000000
DEFAULT_RAM = 64 << 20
# What demo.elf prints when it runs undisturbed.
DEMO_SERIAL = ("demo: hello from the kvmdbg arm64 demo guest\n"
               "demo: words 0xcafef00d 0x12345678\n"
               "demo: counter 3 result 0x0000000000000057\n")


def pc_of(reply):
    """The pc (register 0x20) expedited in a stop reply."""
    m = re.search(r"(?:^T05|;)20:([0-9a-f]{16});", reply)
    check(m is not None, "stop reply without the pc: %r" % reply)
    return struct.unpack("<Q", bytes.fromhex(m.group(1)))[0]
