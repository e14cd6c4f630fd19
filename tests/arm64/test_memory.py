# SPDX-License-Identifier: MIT
"""Guest memory through gdb on arm64: the image, globals, errors, and
virtual addresses once the guest's MMU is on."""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (DEFAULT_RAM, RAM_BASE, check_eq, check_raises, cont,  # noqa: E402
                       cont_to_exit, debug, gdb, gdb_run, main, monitor, read_mem, read_u32,
                       read_u64, reg, test, write_mem)

DEMO_EXIT = 0x21
MMU_EXIT = 0x4d
MMU_SERIAL = "mmu: start\nmmu: on\nmmu: alias ok\n"
RAM_END = RAM_BASE + DEFAULT_RAM
MMU_ALIAS = 0x80000000      # mmu.elf maps [2 GiB, 3 GiB) onto RAM at 1 GiB
MMU_UNMAPPED = 0xc0000000
SCTLR_M = 1 << 0
UNREADABLE = r"Cannot access memory at address 0x"


def stop_at(guest, name):
    vm = debug(guest)
    gdb.Breakpoint(name)
    cont()
    gdb_run("delete")
    return vm


@test
def test_image_loaded():
    # Before the first instruction every loadable segment equals the file
    # and the rest of it (bss) is zero.
    vm = debug("demo.elf")
    for (vaddr, _, filesz, memsz) in vm.elf.segments:
        check_eq(read_mem(vaddr, filesz), vm.elf.bytes_at(vaddr, filesz),
                 "segment at %#x" % vaddr)
        check_eq(read_mem(vaddr + filesz, memsz - filesz), bytes(memsz - filesz),
                 "zero fill of the segment at %#x" % vaddr)
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_read_globals():
    vm = stop_at("demo.elf", "leaf")
    words = vm.elf.sym("demo_words")
    check_eq(struct.unpack("<4I", read_mem(words, 16)), (0xcafef00d, 0x12345678, 0, 0),
             "demo_words")
    check_eq(int(gdb.parse_and_eval("demo_words[1]")), 0x12345678, "demo_words[1] via gdb")
    check_eq(read_u64(vm.elf.sym("demo_counter")), 1, "demo_counter in the first leaf call")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_write_globals():
    vm = stop_at("demo.elf", "leaf")
    words = vm.elf.sym("demo_words")
    write_mem(words, struct.pack("<I", 0x01234567))
    check_eq(read_u32(words), 0x01234567, "demo_words[0] read back")
    # Odd sizes and alignments.
    write_mem(words + 9, b"\xaa\xbb\xcc")
    check_eq(read_mem(words + 8, 8), bytes.fromhex("00aabbcc00000000"), "demo_words[2..3]")
    write_mem(vm.elf.sym("demo_counter"), struct.pack("<Q", 1000))
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial().splitlines()[1:], ["demo: words 0x01234567 0x12345678",
                                            "demo: counter 1002 result 0x0000000000000057"],
             "what the guest printed after the writes")


@test
def test_outside_ram():
    vm = stop_at("demo.elf", "leaf")
    check_raises(lambda: gdb_run("x/4xb 0x1000"), "read below RAM", UNREADABLE)
    check_raises(lambda: read_mem(RAM_END, 4), "read past the end of RAM")
    check_raises(lambda: write_mem(RAM_END, b"\0"), "write past the end of RAM")
    check_raises(lambda: read_mem(RAM_END - 2, 4), "read across the end of RAM")
    check_eq(len(read_mem(RAM_END - 2, 2)), 2, "last bytes of RAM")
    check_eq(len(read_mem(RAM_BASE, 4)), 4, "first bytes of RAM")
    check_eq(gdb_run("p 1+1").strip(), "$1 = 2", "session after the errors")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_large_transfers():
    vm = stop_at("demo.elf", "leaf")
    base = RAM_BASE + 0x800000     # unused RAM
    data = bytes((i * 7 + 3) & 0xff for i in range(0x10000))
    write_mem(base, data)
    check_eq(read_mem(base, len(data)), data, "64 KiB written then read")
    (vaddr, _, filesz, _) = vm.elf.segments[0]
    check_eq(read_mem(vaddr, filesz), vm.elf.bytes_at(vaddr, filesz), "the loaded image")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_virtual_addresses_with_mmu_on():
    vm = stop_at("mmu.elf", "mmu_checkpoint")
    check_eq(reg("sctlr_el1") & SCTLR_M, SCTLR_M, "sctlr_el1.M (the MMU is on)")
    check_eq(reg("ttbr0_el1"), vm.elf.sym("mmu_l1_table"), "ttbr0_el1")
    marker = vm.elf.sym("mmu_marker")
    alias = MMU_ALIAS + marker - RAM_BASE
    want = vm.elf.bytes_at(marker, 8)
    check_eq(read_mem(alias, 8), want, "mmu_marker through the alias")
    check_eq(read_mem(marker, 8), want, "mmu_marker through the identity mapping")
    check_raises(lambda: read_mem(MMU_UNMAPPED, 4), "read of an unmapped virtual address",
                 UNREADABLE)
    # Writes translate too; the guest compares what it reads through the
    # alias with the identity view, so it still agrees.
    write_mem(alias, b"MMU-WRIT")
    check_eq(read_mem(marker, 8), b"MMU-WRIT", "identity view of a write through the alias")
    monitor("phys on")
    gdb_run("maint flush dcache")
    check_eq(read_mem(marker, 8), b"MMU-WRIT", "mmu_marker at its physical address")
    check_raises(lambda: read_mem(alias, 8), "the alias as a physical address")
    monitor("phys off")
    cont_to_exit(vm, MMU_EXIT)
    check_eq(vm.serial(), MMU_SERIAL, "serial output")


main()
