# SPDX-License-Identifier: MIT
"""watch, rwatch and awatch on the arm64 watch guest, through DBGWCR/DBGWVR."""

import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (Elf, check, check_eq, check_raises, cont, cont_to_exit,  # noqa: E402
                       debug, events, exit_status, gdb, gdb_run, guest_path, in_function, kvmdbg,
                       main, monitor, read_mem, resume, rows, rsp_client, test)

WATCH_EXIT = 0x3a
WATCH_SERIAL = "watch: start\nwatch: sink 0x000000000000aaaa\n"
ROUNDS = 4
WP_SLOTS = 4


def at_main():
    """Starts the watch guest and runs it to main, past start.S's bss clearing."""
    vm = debug("watch.elf")
    gdb.Breakpoint("main")
    cont()
    gdb_run("delete")
    return vm


def watchpoint(command, expr):
    gdb_run("%s %s" % (command, expr))
    wp = gdb.breakpoints()[-1]
    check_eq(wp.type, {"watch": gdb.BP_HARDWARE_WATCHPOINT, "rwatch": gdb.BP_READ_WATCHPOINT,
                       "awatch": gdb.BP_ACCESS_WATCHPOINT}[command],
             "kind of watchpoint gdb made for %s %s" % (command, expr))
    return wp


def value(expr):
    return int(gdb.parse_and_eval(expr))


def finish(vm):
    gdb_run("delete")
    cont_to_exit(vm, WATCH_EXIT)
    check_eq(vm.serial(), WATCH_SERIAL, "serial output")


@test
def test_watch_writes():
    vm = at_main()
    wp = watchpoint("watch", "watch_value")
    for k in range(1, ROUNDS + 1):
        stop = cont()
        check_eq(stop["breakpoints"], [wp.number], "watchpoint reported at write %d" % k)
        check(in_function(vm, "watch_write", stop["pc"]), "write %d stopped at %#x, outside "
              "watch_write" % (k, stop["pc"]))
        check_eq(value("watch_value"), 0x1111 * k, "new value at write %d" % k)
        check_eq(value("round"), k, "watch_write's argument at write %d" % k)
    check_eq(wp.hit_count, ROUNDS, "hit count")
    finish(vm)


@test
def test_rwatch_reads():
    vm = at_main()
    wp = watchpoint("rwatch", "watch_value")
    for k in range(1, ROUNDS + 1):
        stop = cont()
        check_eq(stop["breakpoints"], [wp.number], "watchpoint reported at read %d" % k)
        check(in_function(vm, "watch_read", stop["pc"]), "read %d stopped at %#x, outside "
              "watch_read" % (k, stop["pc"]))
        check_eq(value("watch_value"), 0x1111 * k, "value at read %d" % k)
    finish(vm)


@test
def test_awatch_both():
    vm = at_main()
    wp = watchpoint("awatch", "watch_value")
    where = []
    for _ in range(2 * ROUNDS):
        stop = cont()
        check_eq(stop["breakpoints"], [wp.number], "watchpoint reported at %#x" % stop["pc"])
        name = next((f for f in ("watch_write", "watch_read")
                     if in_function(vm, f, stop["pc"])), hex(stop["pc"]))
        where.append((name, value("watch_value")))
    check_eq(where, [(f, 0x1111 * k) for k in range(1, ROUNDS + 1)
                     for f in ("watch_write", "watch_read")], "accesses seen")
    finish(vm)


def check_buffer_watch(symbol, size, index, byte):
    vm = at_main()
    base = vm.elf.sym(symbol)
    check_eq(vm.elf.sym_size(symbol), size, "size of %s" % symbol)
    wp = watchpoint("watch", symbol)
    expected = bytearray(size)
    for k in range(1, ROUNDS + 1):
        stop = cont()
        check_eq(stop["breakpoints"], [wp.number], "watchpoint on %s, write %d" % (symbol, k))
        check(in_function(vm, "watch_fill", stop["pc"]), "write %d stopped at %#x, outside "
              "watch_fill" % (k, stop["pc"]))
        expected[index(k)] = byte(k)
        check_eq(read_mem(base, size), bytes(expected), "%s after write %d" % (symbol, k))
    finish(vm)


@test
def test_watch_16_byte_buffer():
    check_buffer_watch("watch_buf16", 16, lambda k: 5 * k % 16, lambda k: k)


@test
def test_watch_64_byte_buffer():
    check_buffer_watch("watch_buf64", 64, lambda k: 19 * k % 64, lambda k: k << 4)


@test
def test_too_many_read_watchpoints():
    # Reads can only be watched by the debug registers.
    vm = at_main()
    for expr in ("watch_value", "watch_sink", "watch_buf16", "watch_buf64", "watch_rounds"):
        watchpoint("rwatch", expr)
    check_raises(lambda: resume("continue"), "continue with %d read watchpoints"
                 % (WP_SLOTS + 1))
    gdb_run("delete %d" % gdb.breakpoints()[-1].number)
    stop = cont()
    check(in_function(vm, "watch_read", stop["pc"]), "first stop with four read watchpoints "
          "at %#x" % stop["pc"])
    finish(vm)


@test
def test_write_watchpoints_beyond_slots():
    # One more write watchpoint than there are slots: either kvmdbg says it
    # watches writes by page protection too, and then every write is seen
    # in order, or inserting them fails.
    vm = at_main()
    by_pages = rows(monitor("caps")).get("page-watch", "").startswith("write")
    order = (("main", "watch_rounds"), ("watch_write", "watch_value"),
             ("watch_read", "watch_sink"), ("watch_fill", "watch_buf16"),
             ("watch_fill", "watch_buf64"))
    numbers = {watchpoint("watch", expr).number: expr for _, expr in order}
    if not by_pages:
        check_raises(lambda: resume("continue"), "continue with %d write watchpoints"
                     % len(order))
        gdb_run("delete")
        cont_to_exit(vm, WATCH_EXIT)
        return
    seen = []
    for _ in range(2 * len(order)):
        stop = cont()
        check_eq(len(stop["breakpoints"]), 1, "watchpoints reported at %#x" % stop["pc"])
        func = next((f for f, _ in order if in_function(vm, f, stop["pc"])), hex(stop["pc"]))
        seen.append((func, numbers[stop["breakpoints"][0]]))
    check_eq(seen, list(order) * 2, "writes seen in two rounds")
    finish(vm)


@test
def test_page_watch_through_bss_clearing():
    # Five write watchpoints before the first instruction, so one is kept by
    # page protection, on the page that start.S clears with post-indexed
    # stores: KVM gives no syndrome for those.  The clearing writes zeros
    # over zeros, which gdb passes over; the first write that changes a
    # watched value is main's of watch_rounds.
    vm = debug("watch.elf")
    check(rows(monitor("caps")).get("page-watch", "").startswith("write"),
          "page-watch in %r" % monitor("caps"))
    order = ("watch_rounds", "watch_value", "watch_sink", "watch_buf16", "watch_buf64")
    wps = [watchpoint("watch", expr) for expr in order]
    before = len(events.stops)
    resume("continue")
    check(len(events.stops) > before, "no stop, the guest ended (exits %r): stderr %r"
          % (events.exits, vm.stderr()))
    stop = events.stops[-1]
    check(in_function(vm, "main", stop["pc"]), "first stop at %#x, outside main" % stop["pc"])
    check_eq(stop["breakpoints"], [wps[0].number], "watchpoints reported")
    check_eq(value("watch_rounds"), 1, "watch_rounds at the first stop")
    finish(vm)


def stop_address(reply, kind):
    m = re.match(r"T05(?:.*;)?%s:([0-9a-f]+);" % kind, reply)
    check(m is not None, "stop reply %r does not report a %s" % (reply, kind))
    return int(m.group(1), 16)


@test
def test_reported_data_addresses():
    # What the stub itself says, without gdb's interpretation: the address
    # accessed, for each kind of watchpoint and a masked range.
    elf = Elf(guest_path("watch.elf"))
    vm = kvmdbg("run", "--gdb", "tcp:0.0.0.0:1234", "-S", "/guests/watch.elf")
    vm.wait_listening()
    rsp = rsp_client()
    rsp.request("qSupported:swbreak+;hwbreak+")
    value_addr = elf.sym("watch_value")
    buf64 = elf.sym("watch_buf64")
    check_eq(rsp.request("Z2,%x,8" % value_addr), "OK", "Z2 on watch_value")
    check_eq(stop_address(rsp.request("c"), "watch"), value_addr, "write watchpoint address")
    check_eq(rsp.request("z2,%x,8" % value_addr), "OK", "z2 on watch_value")
    check_eq(rsp.request("Z3,%x,8" % value_addr), "OK", "Z3 on watch_value")
    check_eq(stop_address(rsp.request("c"), "rwatch"), value_addr, "read watchpoint address")
    check_eq(rsp.request("z3,%x,8" % value_addr), "OK", "z3 on watch_value")
    check_eq(rsp.request("Z2,%x,40" % buf64), "OK", "Z2 on the 64-byte buffer")
    check_eq(stop_address(rsp.request("c"), "watch"), buf64 + 19, "address in the 64-byte buffer")
    # Detaching removes the watchpoint and lets the guest finish.
    check_eq(rsp.request("D"), "OK", "detach")
    vm.expect_exit(exit_status(WATCH_EXIT))
    check_eq(vm.serial(), WATCH_SERIAL, "serial output")


@test
def test_wrapping_lengths_refused():
    # (addr & 7) + len wraps to 1 for the first length: it must not reach a
    # watchpoint register.  Refused ones take no slot: all four still serve.
    elf = Elf(guest_path("watch.elf"))
    vm = kvmdbg("run", "--gdb", "tcp:0.0.0.0:1234", "-S", "/guests/watch.elf")
    vm.wait_listening()
    rsp = rsp_client()
    rsp.request("qSupported:swbreak+;hwbreak+")
    value_addr = elf.sym("watch_value")
    for kind in (2, 3, 4):
        for addr, length in ((value_addr | 7, 0xfffffffffffffffa),
                             (value_addr, 0xffffffffffffffff),
                             (0xfffffffffffffff8, 0x10)):
            what = "Z%d,%x,%x" % (kind, addr, length)
            check_eq(rsp.request(what), "E16", what)
    for k in range(WP_SLOTS - 1):
        check_eq(rsp.request("Z3,%x,8" % (value_addr + 0x1000 * (k + 1))), "OK",
                 "read watch %d of %d" % (k + 1, WP_SLOTS))
    check_eq(rsp.request("Z2,%x,8" % value_addr), "OK", "Z2 on watch_value")
    check_eq(stop_address(rsp.request("c"), "watch"), value_addr, "write watchpoint address")
    check_eq(rsp.request("D"), "OK", "detach")
    vm.expect_exit(exit_status(WATCH_EXIT))
    check_eq(vm.serial(), WATCH_SERIAL, "serial output")


main()
