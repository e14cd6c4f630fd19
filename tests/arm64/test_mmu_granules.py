# SPDX-License-Identifier: MIT
"""Guest memory by virtual address with each translation granule (4, 16 and
64 KiB), through both translation table bases: mmu_4k.elf, mmu_16k.elf and
mmu_64k.elf (guests/arm64/mmu_granule.c) map an identity, pages out of
order with a hole, and pages in the upper half of the address space."""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (check_eq, check_raises, cont, cont_to_exit, debug,  # noqa: E402
                       gdb, gdb_run, main, monitor, packet, pc, read_mem, read_u64, reg,
                       test, write_mem)

MMU_EXIT = 0x4d
MMU_ALIAS = 0x0000c0de00000000
MMU_UPPER = 0xffffff8012340000
ALIAS_PAGES = ((0, 2), (1, 0), (3, 1))  # (virtual page, page of mmu_pages)
ALIAS_HOLE = 2
UPPER_PAGES = ((0, 1), (1, 2))
SCTLR_M = 1 << 0
# TCR_EL1 as the guest sets it: T0SZ = T1SZ = 16, TG0 and TG1 by granule.
TCR = {4: 16 | 16 << 16 | 0 << 14 | 2 << 30,
       16: 16 | 16 << 16 | 2 << 14 | 1 << 30,
       64: 16 | 16 << 16 | 1 << 14 | 3 << 30}
UNREADABLE = r"Cannot access memory at address 0x"
EDGE = 32   # bytes read at each end of a page


def serial(kib):
    return "mmu: %d KiB granule\nmmu: on\nmmu: pages ok\n" % kib


def word(kib, k):
    """mmu_word(k) of the guest."""
    return (k * 0x9e3779b97f4a7c15 + kib) & 0xffffffffffffffff


def expected(kib, offset, n):
    """The bytes of mmu_pages at offset as the guest filled them."""
    first, last = offset // 8, (offset + n + 7) // 8
    data = b"".join(struct.pack("<Q", word(kib, k)) for k in range(first, last))
    return data[offset % 8:offset % 8 + n]


def check_page(kib, va, phys_page, what):
    """Both ends of a virtual page hold those of its physical page."""
    size = kib << 10
    check_eq(read_mem(va, EDGE), expected(kib, phys_page * size, EDGE), "start of " + what)
    check_eq(read_mem(va + size - EDGE, EDGE),
             expected(kib, (phys_page + 1) * size - EDGE, EDGE), "end of " + what)


def check_granule(kib):
    size = kib << 10
    vm = debug("mmu_%dk.elf" % kib)
    gdb.Breakpoint("mmu_checkpoint")
    check_eq(cont()["pc"], vm.elf.sym("mmu_checkpoint"), "stop at mmu_checkpoint")
    gdb_run("delete")
    check_eq(pc(), vm.elf.sym("mmu_checkpoint"), "pc")
    check_eq(reg("sctlr_el1") & SCTLR_M, SCTLR_M, "sctlr_el1.M (the MMU is on)")
    check_eq(reg("tcr_el1"), TCR[kib], "tcr_el1")
    check_eq(reg("ttbr0_el1"), read_u64(vm.elf.sym("mmu_root0")), "ttbr0_el1")
    check_eq(reg("ttbr1_el1"), read_u64(vm.elf.sym("mmu_root1")), "ttbr1_el1")

    pages = vm.elf.sym("mmu_pages")
    for n in range(3):
        check_page(kib, pages + n * size, n, "identity page %d" % n)
    for virt, phys in ALIAS_PAGES:
        check_page(kib, MMU_ALIAS + virt * size, phys, "alias page %d" % virt)
    for virt, phys in UPPER_PAGES:
        check_page(kib, MMU_UPPER + virt * size, phys, "upper page %d" % virt)
    # Across page boundaries: alias pages 0 and 1 are physical pages 2 and
    # 0; upper pages 0 and 1 are physical pages 1 and 2.
    check_eq(read_mem(MMU_ALIAS + size - 16, 32),
             expected(kib, 3 * size - 16, 16) + expected(kib, 0, 16),
             "read across alias pages 0 and 1")
    check_eq(read_mem(MMU_UPPER + size - 16, 32), expected(kib, 2 * size - 16, 32),
             "read across upper pages 0 and 1")
    # A read running into the hole gets the bytes before it.
    reply = packet("m%x,10" % (MMU_ALIAS + ALIAS_HOLE * size - 8))
    check_eq(bytes.fromhex(reply), expected(kib, size - 8, 8),
             "m packet from alias page 1 into the hole")

    unmapped = {
        "the hole in the alias pages": MMU_ALIAS + ALIAS_HOLE * size,
        "the page after the alias pages": MMU_ALIAS + 4 * size,
        "the page before the upper pages": MMU_UPPER - size,
        "an upper address with no table": 0xffff000000000000,
        "a lower address with no table": 0x0000400000000000,
        "above the 48-bit lower range": 0x0001000000000000,
        "below the 48-bit upper range": 0xfffe000000000000,
    }
    for what, addr in unmapped.items():
        check_raises(lambda: read_mem(addr, 4), "read of %s (%#x)" % (what, addr), UNREADABLE)
        check_raises(lambda: write_mem(addr, b"\0"), "write to %s (%#x)" % (what, addr))

    # A write through the upper half lands in physical page 1.
    write_mem(MMU_UPPER + 8, b"granule!")
    check_eq(read_mem(pages + size + 8, 8), b"granule!", "identity view of the upper write")

    monitor("phys on")
    try:
        check_eq(read_mem(pages + 2 * size, EDGE), expected(kib, 2 * size, EDGE),
                 "physical page 2 at its physical address")
        check_eq(read_mem(pages + size, 16), expected(kib, size, 8) + b"granule!",
                 "physical page 1 with the upper write")
        check_raises(lambda: read_mem(MMU_ALIAS, 8), "the alias as a physical address")
        check_raises(lambda: read_mem(MMU_UPPER, 8), "the upper address as a physical address")
    finally:
        monitor("phys off")
    check_eq(read_mem(MMU_ALIAS + size, 8), expected(kib, 0, 8), "alias page 1 after phys off")
    cont_to_exit(vm, MMU_EXIT)
    check_eq(vm.serial(), serial(kib), "serial output")


@test
def test_4k_granule():
    check_granule(4)


@test
def test_16k_granule():
    check_granule(16)


@test
def test_64k_granule():
    check_granule(64)


main()
