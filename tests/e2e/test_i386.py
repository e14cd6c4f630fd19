# SPDX-License-Identifier: MIT
"""A 32-bit guest (an ELF32 Multiboot kernel that stays in protected mode)
seen by gdb as i386, without `set architecture`: breakpoints, backtraces,
registers, memory and stepping in 32-bit code; the x86-64 description for
64-bit guests and --gdb-arch to choose another."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (ChildGdb, Elf, KVMDBG, Vm, bp_address, check, check_eq, connect, cont,
                        cont_to_exit, exit_status, frame_names, gdb, gdb_run, guest_path, main,
                        packet, pc, read_mem, reg, resume, test, write_mem)

I386_EXIT = 0x33
MB_BOOT_MAGIC = 0x2badb002
CR0_PE, CR0_PG = 1 << 0, 1 << 31
# The i386 'g' layout: 16 four-byte core registers, st0-st7, eight x87
# control words, xmm0-xmm7, mxcsr, fs_base and gs_base, six 64-bit system
# registers.
I386_G_BYTES = 16 * 4 + 8 * 10 + 8 * 4 + 8 * 16 + 4 + 2 * 4 + 6 * 8


def architecture():
    out = gdb_run("show architecture")
    m = re.search(r'currently "([^"]+)"', out)
    check(m is not None, "show architecture said %r" % out)
    return m.group(1)


def target_xml():
    reply = packet("qXfer:features:read:target.xml:0,fff")
    check(reply[:1] in ("l", "m"), "target.xml read answered %r" % reply[:40])
    return reply[1:]


def expected_serial(words0=0xcafef00d, result=0x57, counter=3):
    return ("i386: hello from a 32-bit guest\n"
            "i386: counter 0x%08x result 0x%08x words 0x%08x 0x%08x\n"
            % (counter, result, words0, words0 ^ result))


def launch(guest, *args):
    """kvmdbg (with extra options), gdb connected to it.  gdb takes the
    description only when no file of another architecture is loaded, so the
    symbols are loaded after connecting (one gdb runs every test here)."""
    path = guest_path(guest)
    vm = Vm([KVMDBG, "run", "--gdb", "tcp:127.0.0.1:0", "-S"] + list(args) + [path])
    vm.wait_listening()
    vm.elf = Elf(path)
    gdb_run("file")
    connect(vm.port)
    gdb_run("file " + path)
    return vm


@test
def test_x86_64_description_for_64bit_guest():
    vm = launch("demo.elf")
    check(vm.elf.is64, "demo.elf is not an ELF64 file")
    check_eq(architecture(), "i386:x86-64", "gdb's architecture")
    check("<architecture>i386:x86-64</architecture>" in target_xml(), "target.xml names x86-64")
    check_eq(reg("rip"), vm.elf.entry, "$rip at entry")
    cont_to_exit(vm, 0x21)


@test
def test_i386_description_at_entry():
    vm = launch("i386.elf")
    check(not vm.elf.is64, "i386.elf is not an ELF32 file")
    check_eq(architecture(), "i386", "gdb's architecture")
    check("<architecture>i386</architecture>" in target_xml(), "target.xml names i386")
    regs = packet("g")
    check_eq(len(regs), 2 * I386_G_BYTES, "length of the g reply (hex digits)")
    check_eq(pc(), vm.elf.entry, "eip at entry")
    check_eq(reg("eip"), vm.elf.entry, "$eip at entry")
    check_eq(reg("eax"), MB_BOOT_MAGIC, "eax: the Multiboot magic")
    check(reg("ebx") != 0, "ebx: the Multiboot info address")
    check_eq(int(regs[0:8], 16), int.from_bytes(MB_BOOT_MAGIC.to_bytes(4, "little"), "big"),
             "eax, first in the g reply")
    check_eq(reg("cr0") & (CR0_PE | CR0_PG), CR0_PE, "cr0: protected mode, paging off")
    check_eq(str(gdb.parse_and_eval("$rax")), "void", "$rax in the i386 description")
    cont_to_exit(vm, I386_EXIT)
    check_eq(vm.serial(), expected_serial(), "serial output")


@test
def test_i386_breakpoints_and_backtrace():
    vm = launch("i386.elf")
    sw = gdb.Breakpoint("i386_compute")
    check_eq(cont()["pc"], bp_address(sw), "software breakpoint at i386_compute")
    check_eq(frame_names(), ["i386_compute", "kmain32", "_start"], "backtrace at i386_compute")
    check_eq(int(gdb.parse_and_eval("n")), 0, "argument n of the first call")
    sw.delete()
    hw = gdb.Breakpoint("i386_leaf", type=gdb.BP_HARDWARE_BREAKPOINT)
    for x in (0, 3, 1):
        check_eq(cont()["pc"], bp_address(hw), "hardware breakpoint at i386_leaf")
        check_eq(frame_names(), ["i386_leaf", "i386_compute", "kmain32", "_start"],
                 "backtrace at i386_leaf")
        check_eq(int(gdb.parse_and_eval("x")), x, "argument x")
    bt = gdb_run("bt")
    check(re.search(r"#1\s+0x[0-9a-f]{8} in i386_compute \(n=n@entry=1\)", bt) is not None,
          "bt shows 32-bit return addresses: %r" % bt)
    hw.delete()
    cont_to_exit(vm, I386_EXIT)
    check_eq(vm.serial(), expected_serial(), "serial output")


@test
def test_i386_registers():
    vm = launch("i386.elf")
    bp = gdb.Breakpoint("i386_leaf")
    check_eq(cont()["pc"], bp_address(bp), "stop at i386_leaf")
    out = gdb_run("info registers")
    names = re.findall(r"^(\w+)\s", out, re.M)
    check_eq(names[:16], ["eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi", "eip",
                          "eflags", "cs", "ss", "ds", "es", "fs", "gs"], "info registers")
    for name in ("fs_base", "gs_base", "cr0", "cr2", "cr3", "cr4", "cr8", "efer"):
        check(name in names, "info registers lacks %s: %r" % (name, out))
    stack_top = vm.elf.sym("stack_top")
    check(stack_top - 0x4000 < reg("esp") < stack_top, "esp %#x outside the stack" % reg("esp"))
    check(reg("esp") < reg("ebp") < stack_top, "ebp %#x: i386_compute's frame" % reg("ebp"))
    check_eq(reg("cs"), 0x08, "cs")
    for seg in ("ss", "ds", "es", "fs", "gs"):
        check_eq(reg(seg), 0x10, seg)
    check_eq(reg("eflags") & 2, 2, "eflags bit 1")
    check_eq(reg("efer"), 0, "efer")
    # Register writes go to the guest: the first leaf gets 100, not 0.
    check_eq(reg("eax"), 0, "eax: i386_leaf's argument")
    gdb_run("set var $eax = 100")
    check_eq(packet("p0"), (100).to_bytes(4, "little").hex(), "p0 after the write")
    gdb_run("set var $ecx = 0x5a5a5a5a")
    check_eq(reg("ecx"), 0x5a5a5a5a, "ecx after the write")
    bp.delete()
    cont_to_exit(vm, I386_EXIT)
    check_eq(vm.serial(), expected_serial(result=0x57 + 500), "serial output after eax = 100")


@test
def test_i386_stepping():
    vm = launch("i386.elf")
    bp = gdb.Breakpoint("i386_compute")
    start = cont()["pc"]
    check_eq(start, bp_address(bp), "stop at i386_compute")
    bp.delete()
    fn = vm.elf.sym("i386_compute")
    size = vm.elf.sym_size("i386_compute")
    seen = [pc()]
    for n in range(4):
        resume("stepi")
        seen.append(pc())
        check(fn <= seen[-1] < fn + size, "stepi %d left i386_compute: %#x" % (n, seen[-1]))
    check_eq(len(set(seen)), len(seen), "stepi visited distinct instructions")
    # The first instructions: push %ebp (1 byte), mov %esp,%ebp (2 bytes).
    check_eq(seen[1] - seen[0], 1, "length of push %ebp")
    check_eq(seen[2] - seen[1], 2, "length of mov %esp,%ebp")
    for _ in range(3):
        resume("step")
        if frame_names()[0] != "i386_compute":
            break
    check_eq(frame_names(), ["i386_leaf", "i386_compute", "kmain32", "_start"],
             "step into the call")
    check_eq(pc(), vm.elf.sym("i386_leaf"), "pc after stepping into i386_leaf")
    check_eq(int(gdb.parse_and_eval("x")), 0, "x in i386_leaf after step")
    resume("finish")
    check_eq(int(gdb.parse_and_eval("$")), 2, "value i386_leaf(0) returned (finish)")
    check_eq(frame_names()[0], "i386_compute", "back in i386_compute")
    cont_to_exit(vm, I386_EXIT)
    check_eq(vm.serial(), expected_serial(), "serial output")


@test
def test_i386_memory():
    vm = launch("i386.elf")
    words = vm.elf.sym("i386_words")
    check_eq(read_mem(words, 16), vm.elf.bytes_at(words, 16), "i386_words before the run")
    bp = gdb.Breakpoint("i386_compute")
    cont()
    bp.delete()
    write_mem(words, (0x11223344).to_bytes(4, "little"))
    check_eq(read_mem(words, 4), bytes.fromhex("44332211"), "i386_words[0] after the write")
    check_eq(int(gdb.parse_and_eval("i386_counter")), 0, "i386_counter before the first ++")
    cont_to_exit(vm, I386_EXIT)
    check_eq(vm.serial(), expected_serial(words0=0x11223344), "serial output")



@test
def test_gdb_arch_override():
    # A 32-bit kernel that enters long mode later wants the 64-bit view.
    # gdb loads a 32-bit file beside a 64-bit description only when told,
    # and one gdb that saw other descriptions before refuses or dies: a
    # fresh gdb of its own.
    path = guest_path("i386.elf")
    vm = Vm([KVMDBG, "run", "--gdb", "tcp:127.0.0.1:0", "-S", "--gdb-arch", "i386:x86-64", path])
    vm.wait_listening()
    elf = Elf(path)
    g = ChildGdb()
    g.console("set architecture i386:x86-64")
    g.mi("-target-select remote 127.0.0.1:%d" % vm.port)
    g.console("file " + path)
    line = g.mi("-data-evaluate-expression $rip")
    check_eq(int(re.search(r'value="[^"]*?(0x[0-9a-f]+|\d+)', line).group(1), 0), elf.entry,
             "$rip at entry (%s)" % line)
    line = g.mi("-data-evaluate-expression $rax")
    check_eq(int(re.search(r'value="(-?\d+)"', line).group(1)), MB_BOOT_MAGIC,
             "$rax: the Multiboot magic (%s)" % line)
    g.console("break i386_compute")
    g.mi("-exec-continue")
    stop = g.wait_for(r'^\*stopped')
    check('reason="breakpoint-hit"' in stop and 'func="i386_compute"' in stop,
          "stop at i386_compute: %r" % stop)
    check(re.search(r'addr="0x0*%x"' % elf.sym("i386_compute"), stop) is not None,
          "stop address: %r" % stop)
    g.console("delete")
    g.mi("-exec-continue")
    g.wait_for(r'^\*stopped,reason="exited"')
    vm.expect_exit(exit_status(I386_EXIT))
    g.quit()
    bad = Vm([KVMDBG, "run", "--gdb", "tcp:127.0.0.1:0", "--gdb-arch", "mips", path])
    check_eq(bad.wait(), 2, "exit status with --gdb-arch mips")
    check("bad --gdb-arch 'mips'" in bad.stderr() and "i386" in bad.stderr(),
          "message for --gdb-arch mips: %r" % bad.stderr())


if __name__ == "__main__":
    main()
