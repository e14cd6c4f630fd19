# SPDX-License-Identifier: MIT
"""The device tree kvmdbg generates for a Linux Image (kvmdbg run
--dump-dtb), as dtc reads it: on the GICv3 machine and again on the GICv2
one, whose KVM offers only a GICv2."""

import base64
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import check, check_eq, kvmdbg, main, shell, test  # noqa: E402

GIC = int(os.environ.get("KVMDBG_ARM64_GIC", "3"))
IMAGE = "/linux/Image"
INITRD = "/linux/initrd"
MEM = 256 << 20
DTB_ADDR = 0x40000000 + MEM - (2 << 20)
# compatible, reg and timer interrupt flags (level high; on GICv2 also the
# mask of the CPUs a PPI goes to) with two vCPUs.
GICS = {
    # The redistributors of both vCPUs.
    3: ("arm,gic-v3", "0x00 0x8000000 0x00 0x10000 0x00 0x80a0000 0x00 0x40000", "0x04"),
    2: ("arm,cortex-a15-gic", "0x00 0x8000000 0x00 0x1000 0x00 0x8010000 0x00 0x2000", "0x304"),
}


def dts_of(path_inside):
    """The device tree file inside, as dtc shows it on the host (dtc's
    warnings fail the test)."""
    status, out = shell("base64 " + path_inside)
    check_eq(status, 0, "reading %s inside" % path_inside)
    with tempfile.NamedTemporaryFile(suffix=".dtb") as f:
        f.write(base64.b64decode("".join(out.split())))
        f.flush()
        p = subprocess.run(["dtc", "-I", "dtb", "-O", "dts", f.name], capture_output=True,
                           text=True, timeout=60)
    check_eq((p.returncode, p.stderr), (0, ""), "dtc's status and messages")
    return p.stdout


def node(dts, name):
    m = re.search(r"\s%s \{(.*?)\n\t\};" % re.escape(name), dts, re.S)
    check(m is not None, "no node %s in %s" % (name, dts))
    return m.group(1)


def has(body, line, what):
    check(line in body, "%s: no %r in %r" % (what, line, body))


@test
def test_generated_device_tree():
    dump = "/tmp/kvmdbg-linux.dtb"
    vm = kvmdbg("run", "-smp", "2", "--mem", "%dM" % (MEM >> 20), "--initrd", INITRD,
                "--append", "console=ttyAMA0", "--dump-dtb", dump, IMAGE)
    check_eq(vm.wait(), 0, "--dump-dtb exit status (stderr %r)" % vm.stderr())
    check_eq(vm.serial(), "", "guest output of --dump-dtb")
    dts = dts_of(dump)
    _, size = shell("stat -c %s " + INITRD)
    has(dts, '#address-cells = <0x02>;', "/")
    for cpu in (0, 1):
        body = node(dts, "cpu@%d" % cpu)
        has(body, 'reg = <0x%02x>;' % cpu, "cpu@%d" % cpu)
        has(body, 'enable-method = "psci";', "cpu@%d" % cpu)
    check("cpu@2" not in dts, "a third cpu node")
    has(node(dts, "psci"), 'method = "hvc";', "psci")
    has(node(dts, "psci"), 'compatible = "arm,psci-1.0\\0arm,psci-0.2";', "psci")
    gic = node(dts, "intc@8000000")
    compatible, reg, flags = GICS[GIC]
    has(gic, 'compatible = "%s";' % compatible, "gic")
    has(gic, 'reg = <%s>;' % reg, "gic")
    has(node(dts, "timer"), 'interrupts = <%s>;'
        % " ".join("0x01 %s %s" % (ppi, flags) for ppi in ("0x0d", "0x0e", "0x0b", "0x0a")),
        "timer")
    uart = node(dts, "pl011@9000000")
    has(uart, 'compatible = "arm,pl011\\0arm,primecell";', "pl011")
    has(uart, 'clock-names = "uartclk\\0apb_pclk";', "pl011")
    has(node(dts, "exit@9010000"), 'reg = <0x00 0x9010000 0x00 0x04>;', "exit register")
    has(node(dts, "memory@40000000"), 'reg = <0x00 0x40000000 0x00 0x%x>;' % MEM, "memory")
    chosen = node(dts, "chosen")
    has(chosen, 'bootargs = "console=ttyAMA0";', "chosen")
    has(chosen, 'stdout-path = "/pl011@9000000";', "chosen")
    start, end = (int(re.search(r"linux,initrd-%s = <0x00 (0x[0-9a-f]+)>;" % edge, chosen)
                          .group(1), 16) for edge in ("start", "end"))
    check_eq(end - start, int(size), "initrd size in /chosen")
    check(start % 4096 == 0 and DTB_ADDR - 4096 < end <= DTB_ADDR,
          "initrd at %#x-%#x: page-aligned, just below the device tree" % (start, end))



main()
