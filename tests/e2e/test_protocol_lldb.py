# SPDX-License-Identifier: MIT
"""LLDB's own packets, spoken directly over a socket: qHostInfo,
qProcessInfo, qWatchpointSupportInfo, qMemoryRegionInfo, jThreadsInfo,
QThreadSuffixSupported (register packets ending in ";thread:TID;") and
QListThreadsInStopReply (threads and their pcs in every stop reply)."""

import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import Elf, Rsp, check, check_eq, guest_path, kvmdbg, main, test

RIP, RSP, RBP = 0x10, 7, 6     # amd64 register numbers
EIP = 8                        # i386
E_SRCH = "E03"
ERROR = re.compile(r"E[0-9a-fA-F]{2}")
MiB = 1 << 20


def start(name="demo.elf", *args):
    path = guest_path(name)
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", *args, path)
    vm.wait_listening()
    vm.elf = Elf(path)
    rsp = Rsp(vm.port)
    rsp.request("qSupported:xmlRegisters=i386,arm,mips,arc;multiprocess+")
    return vm, rsp


def fields(reply):
    """key:value; pairs of an LLDB reply, as a dict."""
    check(reply.endswith(";"), "reply %r does not end in ';'" % reply)
    out = {}
    for item in reply[:-1].split(";"):
        key, sep, value = item.partition(":")
        check(sep == ":", "item %r of %r has no ':'" % (item, reply))
        out[key] = value
    return out


def u64(hexbytes):
    return int.from_bytes(bytes.fromhex(hexbytes), "little")


def finish(vm, rsp):
    rsp.send_raw(Rsp.frame("k"))
    check_eq(vm.wait(10), 0, "exit status after k")


def cont_to(rsp, addr, what):
    """Continues to a breakpoint at addr; with several vCPUs, any may hit it."""
    check_eq(rsp.request("Z0,%x,1" % addr), "OK", "Z0 at %s" % what)
    stop = rsp.request("c")
    m = re.match(r"T05thread:([0-9a-f]+);swbreak:;", stop)
    check(m is not None, "stop at %s: %r" % (what, stop))
    check_eq(rsp.request("Hg%s" % m.group(1)), "OK", "Hg of the stopped thread")
    check_eq(u64(rsp.request("p%x" % RIP)), addr, "rip at %s" % what)
    check_eq(rsp.request("z0,%x,1" % addr), "OK", "z0 at %s" % what)
    return stop


@test
def test_host_and_process_info():
    vm, rsp = start()
    host = fields(rsp.request("qHostInfo"))
    check_eq(bytes.fromhex(host["triple"]).decode(), "x86_64-unknown-unknown", "host triple")
    check_eq(host["ptrsize"], "8", "ptrsize")
    check_eq(host["endian"], "little", "endian")
    check_eq(host["watchpoint_exceptions_received"], "after", "x86 watchpoints stop after")
    proc = fields(rsp.request("qProcessInfo"))
    check_eq(proc["pid"], "1", "pid: the one process of the guest")
    check_eq(proc["triple"], host["triple"], "process triple")
    for payload in ("qHostInfo:1", "qProcessInfo:", "qProcessInfoPID:1"):
        reply = rsp.request(payload)
        check(reply == "" or ERROR.fullmatch(reply), "%r answered %r" % (payload, reply))
    finish(vm, rsp)
    # The 32-bit guest is an i386 process.
    vm, rsp = start("i386.elf")
    proc = fields(rsp.request("qProcessInfo"))
    check_eq(bytes.fromhex(proc["triple"]).decode(), "i386-unknown-unknown", "i386 triple")
    check_eq(proc["ptrsize"], "4", "i386 ptrsize")
    finish(vm, rsp)


@test
def test_watchpoint_support_info():
    vm, rsp = start()
    info = fields(rsp.request("qWatchpointSupportInfo:"))
    check_eq(fields(rsp.request("qWatchpointSupportInfo")), info, "without the ':'")
    n = int(info["num"])
    # This host's data breakpoints do not fire; page protection stands in,
    # as many as the memory slots allow.
    check(n >= 4, "num:%d watchpoints" % n)
    counter = vm.elf.sym("demo_counter")
    check_eq(rsp.request("Z2,%x,8" % counter), "OK", "a write watch")
    check(int(fields(rsp.request("qWatchpointSupportInfo:"))["num"]) <= n,
          "num after one watch is set")
    check_eq(rsp.request("z2,%x,8" % counter), "OK", "watch removed")
    check(ERROR.fullmatch(rsp.request("qWatchpointSupportInfo:1")), "qWatchpointSupportInfo:1")
    finish(vm, rsp)


@test
def test_memory_region_info():
    vm, rsp = start()
    # Paging off at entry: guest-physical RAM, page by page.
    check_eq(fields(rsp.request("qMemoryRegionInfo:100123")),
             {"start": "100000", "size": "1000", "permissions": "rwx"}, "region of 0x100123")
    beyond = fields(rsp.request("qMemoryRegionInfo:%x" % (64 * MiB + 0x10)))
    check_eq(beyond, {"start": "%x" % (64 * MiB), "size": "1000"},
             "region past the end of RAM (no permissions: nothing there)")
    # In long mode: 2 MiB pages, the second GiB an alias of the first, the
    # rest unmapped.
    cont_to(rsp, vm.elf.sym("compute"), "compute")
    check_eq(fields(rsp.request("qMemoryRegionInfo:100123")),
             {"start": "100000", "size": "100000", "permissions": "rwx"},
             "region of 0x100123 (to the end of its 2 MiB page)")
    check_eq(fields(rsp.request("qMemoryRegionInfo:40300000")),
             {"start": "40300000", "size": "100000", "permissions": "rwx"},
             "region of the alias 0x40300000")
    check_eq(fields(rsp.request("qMemoryRegionInfo:80000000")),
             {"start": "80000000", "size": "1000"}, "unmapped region at 2 GiB")
    for payload in ("qMemoryRegionInfo", "qMemoryRegionInfo:", "qMemoryRegionInfo:zz",
                    "qMemoryRegionInfo:1,2"):
        check(ERROR.fullmatch(rsp.request(payload)), "%r" % payload)
    finish(vm, rsp)


@test
def test_threads_info():
    vm, rsp = start("demo.elf", "-smp", "2")
    compute = vm.elf.sym("compute")
    threads = json.loads(rsp.request("jThreadsInfo"))
    check_eq([t["tid"] for t in threads], [1, 2], "tids")
    check_eq([t["name"] for t in threads], ["vCPU 0", "vCPU 1"], "names")
    check_eq(threads[0].get("signal"), 5, "signal of the stopped thread at entry")
    check("reason" not in threads[0], "reason at entry: %r" % threads[0])
    check("signal" not in threads[1], "the other thread has no stop of its own")
    for t in threads:
        check_eq(u64(t["registers"][str(RIP)]), vm.elf.entry, "rip of thread %d" % t["tid"])
    stop = cont_to(rsp, compute, "compute")
    stopped = int(re.match(r"T05thread:([0-9a-f]+);", stop).group(1), 16)
    threads = json.loads(rsp.request("jThreadsInfo"))
    by_tid = {t["tid"]: t for t in threads}
    check_eq(by_tid[stopped].get("reason"), "breakpoint", "reason of the stopped thread")
    check_eq(by_tid[stopped].get("signal"), 5, "its signal")
    check_eq(u64(by_tid[stopped]["registers"][str(RIP)]), compute, "its rip")
    for t in threads:
        check_eq(rsp.request("Hg%x" % t["tid"]), "OK", "Hg%x" % t["tid"])
        for regno in (RIP, RSP, RBP):
            check_eq(t["registers"][str(regno)], rsp.request("p%x" % regno),
                     "register %d of thread %d against p" % (regno, t["tid"]))
    # A write watch: the reason and the address LLDB looks the watch up by.
    counter = vm.elf.sym("demo_counter")
    check_eq(rsp.request("Z2,%x,8" % counter), "OK", "write watch on demo_counter")
    stop = rsp.request("vCont;c")
    check("watch:" in stop, "stop reply of the watch: %r" % stop)
    stopped = int(re.match(r"T05thread:([0-9a-f]+);", stop).group(1), 16)
    t = {t["tid"]: t for t in json.loads(rsp.request("jThreadsInfo"))}[stopped]
    check_eq((t.get("reason"), t.get("description")), ("watchpoint", str(counter)),
             "watchpoint reason and description")
    finish(vm, rsp)


@test
def test_thread_suffix():
    vm, rsp = start("demo.elf", "-smp", "2")
    check(ERROR.fullmatch(rsp.request("p%x;thread:2;" % RIP)),
          "a thread suffix before QThreadSuffixSupported")
    check_eq(rsp.request("QThreadSuffixSupported"), "OK", "QThreadSuffixSupported")
    check_eq(rsp.request("Hg1"), "OK", "Hg1")
    g1 = rsp.request("g")
    rax2 = struct.pack("<Q", 0x1122334455667788).hex()
    check_eq(rsp.request("P0=%s;thread:0002;" % rax2), "OK", "P0 for thread 2")
    check_eq(rsp.request("p0;thread:0002;"), rax2, "p0 of thread 2")
    check_eq(rsp.request("p0;thread:1"), g1[:16], "p0 of thread 1 (suffix without ';')")
    g2 = rsp.request("g;thread:0002;")
    check_eq(g2[:16], rax2, "rax in g of thread 2")
    # Every vCPU enters at the same place with its index in rsi.
    check_eq(u64(g2[64:80]), 1, "rsi in g of thread 2")
    check_eq(u64(g1[64:80]), 0, "rsi in g of thread 1")
    check_eq(g2[256:272], g1[256:272], "rip in g of both threads")
    check_eq(rsp.request("Hg1"), "OK", "Hg1")
    check_eq(rsp.request("g"), g1, "g of thread 1 after writing thread 2's rax")
    # G with a suffix writes that thread's registers only.
    check_eq(rsp.request("G%s;thread:2;" % g1), "OK", "G for thread 2")
    check_eq(rsp.request("p0;thread:2;"), g1[:16], "rax of thread 2 after G")
    for payload in ("p0;thread:3;", "p0;thread:0;", "g;thread:p5.1;", "P0=%s;thread:9;" % rax2):
        check_eq(rsp.request(payload), E_SRCH, "%r names no thread" % payload)
    # Another connection starts without the suffix.
    rsp.kill()
    rsp = Rsp(vm.port)
    rsp.request("qSupported")
    check(ERROR.fullmatch(rsp.request("p0;thread:2;")), "the suffix on a new connection")
    finish(vm, rsp)


@test
def test_list_threads_in_stop_reply():
    vm, rsp = start("demo.elf", "-smp", "2")
    check("threads:" not in rsp.request("?"), "threads in '?' before QListThreadsInStopReply")
    check_eq(rsp.request("QListThreadsInStopReply"), "OK", "QListThreadsInStopReply")
    stop = rsp.request("?")
    m = re.search(r";threads:([0-9a-f,]+);thread-pcs:([0-9a-f,]+);", stop)
    check(m is not None, "'?' answered %r" % stop)
    check_eq(m.group(1), "1,2", "threads")
    check_eq(m.group(2), "%x,%x" % (vm.elf.entry, vm.elf.entry), "thread-pcs at entry")
    # Thread 2 alone steps: the pcs part.
    stop = rsp.request("vCont;s:2")
    m = re.search(r";threads:1,2;thread-pcs:([0-9a-f]+),([0-9a-f]+);", stop)
    check(m is not None, "stop reply after the step: %r" % stop)
    check_eq(rsp.request("Hg2"), "OK", "Hg2")
    pc2 = u64(rsp.request("p%x" % RIP))
    check(pc2 != vm.elf.entry, "thread 2 did not step")
    check_eq((int(m.group(1), 16), int(m.group(2), 16)), (vm.elf.entry, pc2), "thread-pcs")
    rsp.kill()
    rsp = Rsp(vm.port)
    rsp.request("qSupported")
    check("threads:" not in rsp.request("?"), "threads in '?' on a new connection")
    finish(vm, rsp)


@test
def test_i386_registers_by_thread_suffix():
    vm, rsp = start("i386.elf")
    check_eq(rsp.request("QThreadSuffixSupported"), "OK", "QThreadSuffixSupported")
    check_eq(int.from_bytes(bytes.fromhex(rsp.request("p%x;thread:1;" % EIP)), "little"),
             vm.elf.entry, "eip: four bytes")
    threads = json.loads(rsp.request("jThreadsInfo"))
    check_eq(threads[0]["registers"][str(EIP)], rsp.request("p%x" % EIP), "eip in jThreadsInfo")
    finish(vm, rsp)


if __name__ == "__main__":
    main()
