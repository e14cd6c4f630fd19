# SPDX-License-Identifier: MIT
"""Guest memory through gdb: globals, the loaded image, errors, physical mode."""

import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (check, check_eq, check_raises, cont, cont_to_exit, debug, gdb, gdb_run,
                        main, monitor, read_mem, read_u32, read_u64, test, write_mem)

DEMO_EXIT = 0x21
ALIAS = 0x40000000      # the demo maps virtual [1 GiB, 2 GiB) onto physical [0, 1 GiB)
UNMAPPED = 0x80000000   # no page table entry covers this virtual address
RAM = 64 << 20          # kvmdbg's default --mem


def stop_at(name):
    vm = debug("demo.elf")
    gdb.Breakpoint(name)
    cont()
    gdb_run("delete")
    return vm


@test
def test_image_loaded():
    # Before the first instruction the image must equal the file, bss zero.
    vm = debug("demo.elf")
    start, end = vm.elf.sym("__image_start"), vm.elf.sym("__image_end")
    check_eq(read_mem(start, end - start), vm.elf.bytes_at(start, end - start), "loaded image")
    bss = vm.elf.sym("__image_end")
    check_eq(read_mem(bss, 0x1000), bytes(0x1000), "start of bss")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_read_globals():
    vm = stop_at("xmm_checkpoint")
    words = vm.elf.sym("demo_words")
    check_eq(struct.unpack("<4I", read_mem(words, 16)), (0xcafef00d, 0x12345678, 0, 0),
             "demo_words")
    check_eq(int(gdb.parse_and_eval("demo_words[1]")), 0x12345678, "demo_words[1] via gdb")
    check_eq(read_u64(vm.elf.sym("demo_counter")), 3, "demo_counter")
    check_eq(int(gdb.parse_and_eval("demo_counter")), 3, "demo_counter via gdb")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_write_globals():
    vm = stop_at("xmm_checkpoint")
    counter = vm.elf.sym("demo_counter")
    write_mem(counter, struct.pack("<Q", 1000))
    check_eq(read_u64(counter), 1000, "demo_counter read back")
    words = vm.elf.sym("demo_words")
    gdb_run("set var demo_words[2] = 0x55aa1234")
    check_eq(read_u32(words + 8), 0x55aa1234, "demo_words[2] read back")
    # Odd sizes and alignments.
    write_mem(words + 13, b"\x01\x02\x03")
    check_eq(read_mem(words + 8, 8), bytes.fromhex("3412aa5500010203"), "demo_words[2..3]")
    cont_to_exit(vm, DEMO_EXIT)
    check("demo: counter 1000 result 0x0000000000000057\n" in vm.serial(),
          "the guest did not see the write: %r" % vm.serial())


@test
def test_outside_ram():
    vm = stop_at("xmm_checkpoint")
    pattern = r"Cannot access memory at address 0x"
    check_raises(lambda: gdb_run("x/4xb %#x" % UNMAPPED), "read of an unmapped address", pattern)
    check_raises(lambda: read_mem(UNMAPPED, 4), "python read of an unmapped address")
    check_raises(lambda: write_mem(UNMAPPED, b"\0"), "write to an unmapped address")
    # Mapped by the guest's page tables, but past the end of RAM.
    check_raises(lambda: read_mem(ALIAS + RAM, 4), "read beyond RAM through the alias")
    # A read straddling the end of RAM fails; the part inside RAM does not.
    check_raises(lambda: read_mem(RAM - 2, 4), "read across the end of RAM")
    check_eq(len(read_mem(RAM - 2, 2)), 2, "last bytes of RAM")
    check_eq(gdb_run("p 1+1").strip(), "$1 = 2", "session after the errors")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_virtual_and_physical():
    vm = stop_at("xmm_checkpoint")
    words = vm.elf.sym("demo_words")
    want = vm.elf.bytes_at(words, 8)
    check_eq(read_mem(ALIAS + words, 8), want, "demo_words through the virtual alias")
    out = monitor("phys on")
    gdb_run("maint flush dcache")
    check_eq(read_mem(words, 8), want, "demo_words at its physical address")
    check_raises(lambda: read_mem(ALIAS + words, 8), "alias address as physical (%r)" % out)
    check_raises(lambda: read_mem(RAM, 4), "physical address past the end of RAM")
    check_eq(len(read_mem(RAM - 4, 4)), 4, "last physical bytes of RAM")
    # CR3 is physical: the first entry of the top-level table points at the PDPT.
    pml4 = gdb.parse_and_eval("$cr3")
    entry = read_u64(int(pml4) & ~0xfff)
    check_eq(entry & ~0xfff, vm.elf.sym("boot_pdpt"), "PML4[0] read physically")
    monitor("phys off")
    gdb_run("maint flush dcache")
    check_eq(read_mem(ALIAS + words, 8), want, "alias again after phys off")
    cont_to_exit(vm, DEMO_EXIT)


@test
def test_large_transfers():
    vm = stop_at("xmm_checkpoint")
    base = 0x800000         # unused RAM
    data = bytes((i * 7 + 3) & 0xff for i in range(0x10000))
    write_mem(base, data)
    check_eq(read_mem(base, len(data)), data, "64 KiB written then read")
    sled = vm.elf.sym("demo_sled_bytes")
    check_eq(read_mem(sled, 0x3000), vm.elf.bytes_at(sled, 0x3000), "12 KiB of code")
    cont_to_exit(vm, DEMO_EXIT)


main()
