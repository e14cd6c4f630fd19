# SPDX-License-Identifier: MIT
"""LLDB as the client: Debian's lldb, driven in batch mode by command files
(its Python module is not usable there), against kvmdbg: connecting,
software and hardware breakpoints, continue, `register read` with the
control registers, memory read and write, stepping, watchpoints and
detach; several vCPUs as threads; a 32-bit guest.  The packet log shows
which of LLDB's own queries were asked and answered."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (Elf, KVMDBG, Vm, check, check_eq, exit_status, guest_path, main,
                        test)
from lldb_session import Session

DEMO_EXIT, I386_EXIT = 0x21, 0x33
CR0_PE, CR0_PG = 1 << 0, 1 << 31
EFER_LMA = 1 << 10


def launch(guest, *args):
    path = guest_path(guest)
    vm = Vm([KVMDBG, "run", "--gdb", "tcp:127.0.0.1:0", "-S"] + list(args) + [path])
    vm.wait_listening()
    vm.elf = Elf(path)
    return vm, path


@test
def test_lldb_session():
    vm, path = launch("demo.elf")
    e = vm.elf
    compute, leaf, words, counter = (e.sym("compute"), e.sym("leaf"), e.sym("demo_words"),
                                     e.sym("demo_counter"))
    s = Session(vm.port, path, [
        "register read rip cr0 efer",
        "breakpoint set -n compute",
        "continue",
        "bt",
        "register read rip rsp cr0 cr3 cr4 efer",
        "si",
        "thread step-inst",
        "register read rip",
        "memory read -f x -s 4 -c 2 %#x" % words,
        "memory write -s 4 %#x 0x11223344" % words,
        "memory read -f x -s 4 -c 2 %#x" % words,
        "breakpoint delete 1",
        "breakpoint set -a %#x -H" % leaf,
        "continue",
        "bt",
        "breakpoint delete 2",
        "watchpoint set expression -w write -s 8 -- %#x" % counter,
        "continue",
        "memory read -f x -s 8 -c 1 %#x" % counter,
        "watchpoint delete 1",
        "detach",
    ])
    at_entry = s.regs("register read rip cr0 efer")
    check_eq(at_entry["rip"], e.entry, "rip at entry")
    check_eq(at_entry["cr0"] & (CR0_PE | CR0_PG), CR0_PE, "cr0 at entry: protected mode")
    check_eq(at_entry["efer"], 0, "efer at entry")
    check("stop reason = breakpoint 1.1" in s.out("continue"), "software breakpoint stop")
    check_eq(s.stop_pc("continue"), compute, "stop at compute")
    check_eq(s.frames()[:2], ["compute", "kmain"], "backtrace at compute")
    regs = s.regs("register read rip rsp cr0 cr3 cr4 efer")
    check_eq(regs["rip"], compute, "rip at compute")
    check_eq(regs["cr0"] & (CR0_PE | CR0_PG), CR0_PE | CR0_PG, "cr0 in long mode")
    check_eq(regs["cr3"] & ~0xfff, e.sym("boot_pml4"), "cr3")
    check_eq(regs["efer"] & EFER_LMA, EFER_LMA, "efer.LMA")
    check(e.sym("boot_stack") < regs["rsp"] < e.sym("boot_stack_top"), "rsp %#x" % regs["rsp"])
    check("stop reason = instruction step into" in s.out("si"), "si: %r" % s.out("si"))
    check_eq(s.stop_pc("si"), compute + 1, "pc after si (push %rbp)")
    check_eq(s.stop_pc("thread step-inst"), compute + 4, "pc after step-inst (mov %rsp,%rbp)")
    check_eq(s.regs("register read rip")["rip"], compute + 4, "rip after the steps")
    read = "memory read -f x -s 4 -c 2 %#x" % words
    check(re.search(r"0xcafef00d 0x12345678", s.out(read)) is not None,
          "demo_words: %r" % s.out(read))
    check(re.search(r"0x11223344 0x12345678", s.out(read, 1)) is not None,
          "demo_words after the write: %r" % s.out(read, 1))
    check("stop reason = breakpoint 2.1" in s.out("continue", 1), "hardware breakpoint stop")
    check_eq(s.stop_pc("continue", 1), leaf, "stop at leaf")
    check_eq(s.frames("bt", 1)[:3], ["leaf", "compute", "kmain"], "backtrace at leaf")
    check("stop reason = watchpoint 1" in s.out("continue", 2),
          "watchpoint stop: %r" % s.out("continue", 2))
    check(e.sym("compute") <= s.stop_pc("continue", 2) < compute + e.sym_size("compute"),
          "the write to demo_counter is in compute")
    check(re.search(r": 0x0*2\b", s.out("memory read -f x -s 8 -c 1 %#x" % counter)),
          "demo_counter at the watchpoint: %r" % s.out("memory read -f x -s 8 -c 1 %#x"
                                                        % counter))
    check("detached" in s.out("detach"), "detach: %r" % s.out("detach"))
    # What LLDB asked, and that the answers were the ones it used.
    s.answered("Z0,%x,1" % compute, r"^OK$")
    s.answered("Z1,%x,1" % leaf, r"^OK$")
    s.answered("Z2,%x,8" % counter, r"^OK$")
    s.answered("qHostInfo", r"^triple:%s;ptrsize:8;" % "x86_64-unknown-unknown".encode().hex())
    s.answered("qProcessInfo", r"^pid:1;")
    s.answered("QThreadSuffixSupported", r"^OK$")
    s.answered("QListThreadsInStopReply", r"^OK$")
    s.answered("jThreadsInfo", r'^\[\{"tid":1,"name":"vCPU 0"')
    check(re.search(r"send packet: \$p[0-9a-f]+;thread:0001;", s.log) is not None,
          "register reads with the thread suffix")
    vm.expect_exit(exit_status(DEMO_EXIT))
    check("demo: counter 3 " in vm.serial(), "serial after detach: %r" % vm.serial())


@test
def test_lldb_threads():
    vm, path = launch("demo.elf", "-smp", "2")
    s = Session(vm.port, path, [
        "thread list",
        "thread select 2",
        "register read rsi rip",
        "thread select 1",
        "register read rsi rip",
        "watchpoint list",
        "memory region %#x" % vm.elf.sym("compute"),
        "memory region 0x7000000",
        "process kill",
    ])
    threads = s.out("thread list")
    check(re.search(r"thread #1: tid = 0x0001, .*name = 'vCPU 0'", threads) is not None and
          re.search(r"thread #2: tid = 0x0002, .*name = 'vCPU 1'", threads) is not None,
          "thread list: %r" % threads)
    # Each vCPU starts with its index in rsi.
    check_eq(s.regs("register read rsi rip")["rsi"], 1, "rsi of thread 2")
    check_eq(s.regs("register read rsi rip", 1)["rsi"], 0, "rsi of thread 1")
    check_eq(s.regs("register read rsi rip", 1)["rip"], vm.elf.entry, "rip of thread 1")
    check(re.search(r"send packet: \$p[0-9a-f]+;thread:0002;", s.log) is not None,
          "thread 2's registers read by suffix")
    check("send packet: $Hg" not in s.log, "lldb used Hg although the suffix is supported")
    m = re.search(r"Number of supported hardware watchpoints: (\d+)", s.out("watchpoint list"))
    check(m is not None and int(m.group(1)) >= 4, "watchpoint list: %r" % s.out("watchpoint list"))
    s.answered("qWatchpointSupportInfo:", r"^num:%s;$" % m.group(1))
    # Paging is still off: one 4 KiB page of RAM.
    check(re.search(r"\[0x0+100000-0x0+101000\) rwx",
                    s.out("memory region %#x" % vm.elf.sym("compute"))) is not None,
          "memory region of compute: %r" % s.out("memory region %#x" % vm.elf.sym("compute")))
    check(re.search(r"\[0x0+7000000-0x0+7001000\) ---", s.out("memory region 0x7000000")),
          "memory region past RAM: %r" % s.out("memory region 0x7000000"))
    check(re.search(r"read packet: \$T05thread:1;.*threads:1,2;thread-pcs:%x,%x;"
                    % (vm.elf.entry, vm.elf.entry), s.log) is not None,
          "stop reply with the threads and their pcs")
    check_eq(vm.wait(), 0, "kvmdbg exit status after process kill")


@test
def test_lldb_i386():
    vm, path = launch("i386.elf")
    commands = [
        "breakpoint set -n i386_leaf",
        "continue",
        "bt",
        "register read eip eax esp ebp eflags cs ss cr0",
        "si",
        "register read eip",
        "breakpoint delete 1",
        "detach",
    ]
    # LLDB's other way to connect.
    s = Session(vm.port, path, commands, connect="process connect connect://127.0.0.1:%d")
    leaf = vm.elf.sym("i386_leaf")
    check_eq(s.stop_pc("continue"), leaf, "stop at i386_leaf")
    check_eq(s.frames(), ["i386_leaf", "i386_compute", "kmain32", "_start"], "backtrace")
    regs = s.regs("register read eip eax esp ebp eflags cs ss cr0")
    check_eq((regs["eip"], regs["eax"], regs["cs"], regs["ss"]), (leaf, 0, 0x08, 0x10),
             "eip, eax (i386_leaf's argument), cs, ss")
    check(regs["esp"] < regs["ebp"] < vm.elf.sym("stack_top"), "esp %#x, ebp %#x"
          % (regs["esp"], regs["ebp"]))
    check_eq(regs["cr0"] & (CR0_PE | CR0_PG), CR0_PE, "cr0: protected mode, paging off")
    check_eq(s.regs("register read eip")["eip"], leaf + 4, "eip after si (lea)")
    s.answered("qProcessInfo", r"triple:%s;ptrsize:4;" % "i386-unknown-unknown".encode().hex())
    vm.expect_exit(exit_status(I386_EXIT))


if __name__ == "__main__":
    main()
