# SPDX-License-Identifier: MIT
"""Range stepping (vCont;r): gdb's next and step land where instruction
stepping lands, a breakpoint inside the range stops there, Ctrl-C ends a
long one; and the packet itself, spoken over a socket."""

import os
import re
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (ChildGdb, Elf, Rsp, check, check_eq, cont, cont_to_exit, debug, events,
                        exit_status, gdb, gdb_run, guest_path, kvmdbg, main, pc, reg, resume,
                        scratch, source_line, test)

GUEST = "rangestep.elf"
SOURCE = "guests/x86_64/rangestep.c"
EXIT = 0x0b
LOOP = "for (i = 0; i < range_iters; i++)"
SPIN = "while (range_spin) range_sum++;"
# Iterations of the counted loop where gdb steps every instruction itself.
SHORT_LOOP = 200
RIP, RBX = 0x10, 1
SIGTRAP, SIGINT = 5, 2
# The commands compared, from a stop at the loop's line: over the loop,
# into a call and out, over a line with two calls.
SEQUENCE = ["next", "next", "step", "next", "next", "next"]


def line_blocks(line):
    """The [start, end) address blocks of a source line, ascending."""
    symtab = gdb.decode_line("%s:%d" % (os.path.basename(SOURCE), line))[1][0].symtab
    entries = sorted((e.pc, e.line) for e in symtab.linetable())
    blocks = []
    for (lo, n), (hi, _) in zip(entries, entries[1:]):
        if n == line and hi > lo:
            blocks.append((lo, hi))
    check(blocks, "no code for line %d" % line)
    return blocks


def loop_block(line):
    """The block of line that holds a backward jump: the loop proper, from
    its target to past the jump."""
    arch = gdb.selected_inferior().architecture()
    for lo, hi in line_blocks(line):
        for insn in arch.disassemble(lo, hi - 1):
            m = re.match(r"j\w+\s+(0x[0-9a-f]+)", insn["asm"])
            if m and int(m.group(1), 16) < insn["addr"]:
                return int(m.group(1), 16), insn["addr"] + insn["length"]
    raise AssertionError("no loop on line %d" % line)


def spin_range():
    """From the spin loop's line to the next line's code: the whole loop."""
    line = source_line(SOURCE, SPIN)
    return line_blocks(line)[0][0], line_blocks(line + 1)[0][0]


def stop_replies(log):
    with open(log, "rb") as f:
        return len(re.findall(rb"\$T05thread", f.read()))


def run_sequence(stepping, log):
    """pc and line after each command of SEQUENCE, range stepping on or
    off, and the stop replies gdb read in all."""
    if os.path.exists(log):
        os.unlink(log)
    gdb_run("set remotelogfile " + log)
    vm = debug(GUEST)
    gdb_run("set range-stepping %s" % stepping)
    gdb_run("set var range_iters = %d" % SHORT_LOOP)
    bp = gdb.Breakpoint("%s:%d" % (os.path.basename(SOURCE), source_line(SOURCE, LOOP)))
    cont()
    bp.delete()
    seen = []
    for cmd in SEQUENCE:
        resume(cmd)
        seen.append((cmd, pc(), gdb.selected_frame().find_sal().line))
    cont_to_exit(vm, EXIT)
    # The log is complete once the connection has closed.
    gdb_run("set remotelogfile /dev/null")
    return seen, stop_replies(log)


@test
def test_next_and_step_land_where_instruction_stepping_lands():
    log = os.path.join(scratch(), "remote.log")
    on, replies_on = run_sequence("on", log)
    off, replies_off = run_sequence("off", log)
    check_eq(on, off, "pc and line after %s with range stepping on, and off" % SEQUENCE)
    check(on[0][2] > source_line(SOURCE, LOOP), "next did not leave the loop's line: %r" % on)
    check(on[2][2] < source_line(SOURCE, LOOP), "step did not enter range_leaf: %r" % on)
    # Instruction stepping stops after each of the loop's instructions;
    # range stepping only where the pc leaves a line's block.
    check(replies_off > SHORT_LOOP * 5, "stop replies without range stepping: %d"
          % replies_off)
    check(replies_on < 60, "stop replies with range stepping: %d" % replies_on)


@test
def test_breakpoint_inside_range_stops_there():
    vm = debug(GUEST)
    line = source_line(SOURCE, LOOP)
    gdb.Breakpoint("%s:%d" % (os.path.basename(SOURCE), line))
    cont()
    gdb_run("delete")
    lo, end = loop_block(line)
    inside = gdb.selected_inferior().architecture().disassemble(lo, end - 1)[3]["addr"]
    check(lo < inside < end, "no instruction inside the loop's range")
    bp = gdb.Breakpoint("*%#x" % inside)
    before = len(events.stops)
    resume("next")
    check_eq(pc(), inside, "pc after next with a breakpoint inside the range")
    check_eq(len(events.stops), before + 1, "stops reported")
    check_eq(events.stops[-1]["breakpoints"], [bp.number], "breakpoint reported")
    check_eq(reg("rbx"), 0, "iteration at the first hit")
    check_eq(cont()["pc"], inside, "next hit")
    check_eq(reg("rbx"), 1, "iteration at the second hit")
    bp.delete()
    gdb_run("set var range_iters = 3")
    resume("next")
    check_eq(gdb.selected_frame().find_sal().line, line + 1, "line after next")
    check_eq(reg("rbx"), 3, "iterations when next ended")
    cont_to_exit(vm, EXIT)


@test
def test_ctrl_c_ends_a_long_range_step():
    # gdb's -exec-interrupt, not a SIGINT: gdb in batch mode under Python may
    # take a signal as a quit of its own instead of passing it on.
    path = guest_path(GUEST)
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", path)
    vm.wait_listening()
    gdb_run("file " + path)
    log = os.path.join(scratch(), "remote.log")
    g = ChildGdb(path)
    g.console("set remotelogfile " + log)
    g.mi("-target-select remote 127.0.0.1:%d" % vm.port)
    line = source_line(SOURCE, SPIN)
    g.console("set var range_iters = 2")
    g.console("set var range_spin = 1")
    g.mi("-break-insert %s:%d" % (os.path.basename(SOURCE), line))
    g.mi("-exec-continue")
    g.wait_for(r'^\*stopped,reason="breakpoint-hit"')
    g.mi("-break-delete")
    sum_before = g.value("range_sum")
    stop = g.interrupt_after(2.0, "-exec-next")
    lo, end = spin_range()
    where = int(re.search(r'addr="(0x[0-9a-f]+)"', stop).group(1), 16)
    check(lo <= where < end, "pc after the interrupt: %#x, loop at %#x-%#x" % (where, lo, end))
    check('line="%d"' % line in stop, "line after the interrupt: %r" % stop)
    check(g.value("range_sum") > sum_before, "the loop did not run")
    with open(log, "rb") as f:
        sent = f.read()
    last_resume = sent.rfind(b"$vCont;", 0, sent.rfind(b"$T02"))
    check(sent[last_resume:last_resume + 8] == b"$vCont;r",
          "the interrupted resume was %r, not a range step" % sent[last_resume:last_resume + 40])
    g.console("set var range_spin = 0")
    g.mi("-exec-continue")
    g.wait_for(r'^\*stopped,reason="exited"')
    vm.expect_exit(exit_status(EXIT))
    g.quit()


# ---- the packet over a socket ----------------------------------------------------

def start_raw():
    path = guest_path(GUEST)
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", path)
    vm.wait_listening()
    vm.elf = Elf(path)
    gdb_run("file " + path)
    rsp = Rsp(vm.port)
    rsp.request("qSupported:swbreak+;hwbreak+;vContSupported+")
    rsp.request("?")
    return vm, rsp


def reg64(rsp, regno):
    reply = rsp.request("p%x" % regno)
    check(re.fullmatch(r"[0-9a-f]{16}", reply) is not None, "p%x answered %r" % (regno, reply))
    return struct.unpack("<Q", bytes.fromhex(reply))[0]


def stop_pc(reply, signal, what):
    """The pc a T stop reply carries (rip is expedited)."""
    check(re.match(r"T%02x" % signal, reply) is not None, "%s: stop reply %r" % (what, reply))
    m = re.search(r"(?:^|;)10:([0-9a-f]{16});", reply[3:])
    check(m is not None, "%s: no rip in %r" % (what, reply))
    return struct.unpack("<Q", bytes.fromhex(m.group(1)))[0]


def run_to(rsp, addr):
    check_eq(rsp.request("Z0,%x,1" % addr), "OK", "Z0 at %#x" % addr)
    check_eq(stop_pc(rsp.request("vCont;c"), SIGTRAP, "continue"), addr, "breakpoint stop")
    check_eq(rsp.request("z0,%x,1" % addr), "OK", "z0 at %#x" % addr)


def put_u32(rsp, addr, value):
    check_eq(rsp.request("M%x,4:%s" % (addr, struct.pack("<I", value).hex())), "OK",
             "M at %#x" % addr)


def finish(vm, rsp):
    rsp.send_raw(Rsp.frame("k"))
    check_eq(vm.wait(10), 0, "exit status after k")


@test
def test_raw_vcont_r():
    vm, rsp = start_raw()
    check("r" in rsp.request("vCont?").split(";")[1:], "vCont? does not offer r")
    iters = vm.elf.sym("range_iters")
    put_u32(rsp, iters, 5)
    body, after = loop_block(source_line(SOURCE, LOOP))
    run_to(rsp, body)
    check_eq(reg64(rsp, RBX), 0, "i at the loop's first iteration")
    # Five iterations inside the stub, one stop where the pc leaves.
    reply = rsp.request("vCont;r%x,%x:1" % (body, after))
    check_eq(stop_pc(reply, SIGTRAP, "vCont;r"), after, "pc after the range step")
    check_eq(reg64(rsp, RBX), 5, "iterations done by one range step")
    # An empty range is one step; so is a range the pc is not in.
    here = reg64(rsp, RIP)
    nxt = here + gdb.selected_inferior().architecture().disassemble(here)[0]["length"]
    check_eq(stop_pc(rsp.request("vCont;r%x,%x:1" % (here, here)), SIGTRAP, "empty range"),
             nxt, "pc after an empty range")
    here = nxt
    nxt = here + gdb.selected_inferior().architecture().disassemble(here)[0]["length"]
    check_eq(stop_pc(rsp.request("vCont;r%x,%x:1" % (body, after)), SIGTRAP,
                     "range elsewhere"), nxt, "pc after a range the pc is not in")
    finish(vm, rsp)


@test
def test_raw_vcont_r_breakpoint_and_interrupt():
    vm, rsp = start_raw()
    iters, spin = vm.elf.sym("range_iters"), vm.elf.sym("range_spin")
    put_u32(rsp, iters, 50)
    body, after = loop_block(source_line(SOURCE, LOOP))
    run_to(rsp, body)
    inside = gdb.selected_inferior().architecture().disassemble(body, after - 1)[3]["addr"]
    check_eq(rsp.request("Z0,%x,1" % inside), "OK", "Z0 inside the range")
    for n in range(3):
        reply = rsp.request("vCont;r%x,%x:1" % (body, after))
        check_eq(stop_pc(reply, SIGTRAP, "range step %d" % n), inside,
                 "pc of range step %d with a breakpoint inside" % n)
        check_eq(reg64(rsp, RBX), n, "iteration at range step %d" % n)
        # Off the breakpoint as gdb steps off one: without it for a step.
        check_eq(rsp.request("z0,%x,1" % inside), "OK", "z0 inside the range")
        check(stop_pc(rsp.request("vCont;s:1"), SIGTRAP, "step") > inside, "step off")
        check_eq(rsp.request("Z0,%x,1" % inside), "OK", "Z0 inside the range")
    check_eq(rsp.request("z0,%x,1" % inside), "OK", "z0 inside the range")
    # An endless range step, ended by an interrupt.
    put_u32(rsp, spin, 1)
    spin_lo, spin_end = spin_range()
    run_to(rsp, spin_lo)
    rsp.send_raw(Rsp.frame("vCont;r%x,%x:1" % (spin_lo, spin_end)))
    check_eq(rsp.read_ack(), b"+", "ack for vCont;r")
    time.sleep(1.0)
    rsp.send_raw(b"\x03")
    where = stop_pc(rsp.read_packet(), SIGINT, "interrupted range step")
    check(spin_lo <= where < spin_end, "pc after the interrupt: %#x" % where)
    put_u32(rsp, spin, 0)
    check_eq(rsp.request("vCont;c"), "W%02x" % ((EXIT << 1) | 1), "exit after the spin")
    check_eq(vm.wait(10), (EXIT << 1) | 1, "exit status")


main()
