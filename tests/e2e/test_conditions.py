# SPDX-License-Identifier: MIT
"""Breakpoint conditions and dprintf evaluated by the stub, on the cond guest.

Every condition runs twice, evaluated by the stub (gdb's default,
`condition-evaluation auto`, with the stub offering ConditionalBreakpoints)
and by gdb (`set remote conditional-breakpoints-packet off`): the stops must
be the same, and what the guest's formulas predict.  The remote log shows
where the evaluation happened: with the stub evaluating, gdb hears of the
true hits only, otherwise of every one.  dprintf's text with `set dprintf-style agent` (printed by
the stub through 'O' packets, the guest never stopping) must equal gdb's own
(`set dprintf-style gdb`).
"""

import os
import re
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (bp_address, check, check_eq, connect, cont, cont_to_exit, debug, events,
                        gdb, gdb_run, guest_path, kvmdbg, main, packet, resume, stub_bytes, test)

COND_EXIT = 0x2b
CALLS = 150
NAMES = ("zero", "one", "two", "three")


def item(i):
    """What the guest's loop sets before calling cond_hit(i, p)."""
    return {"key": i, "val": i * 3 % 17, "name": NAMES[i % 4], "global": i * 5 % 11}


def cond_sum(n):
    s = 0
    for i in range(n):
        s = (s + (i ^ item(i)["val"])) & (2 ** 64 - 1)
    return s


def serial(n):
    return "cond: calls %d sum 0x%016x\n" % (n, cond_sum(n))


class RemoteLog:
    """gdb's remote log of one session (set before connecting)."""

    def __init__(self):
        fd, self.path = tempfile.mkstemp(prefix="kvmdbg-remotelog-")
        os.close(fd)
        gdb_run("set remotelogfile " + self.path)

    def breakpoint_stops(self):
        """The breakpoint stop replies gdb received (steps are not), for a
        session that has ended: gdb closes the log with it."""
        gdb_run("set remotelogfile /dev/null")
        with open(self.path, errors="replace") as f:
            self.lines = f.read().splitlines()
        os.unlink(self.path)
        # One logged read may hold several packets ('O' ones first).
        return [m for l in self.lines if l.startswith("r ")
                for m in re.findall(r"\$T[0-9a-f]{2}[^#]*;(?:sw|hw)break:", l)]

    def sent(self, prefix):
        return [l[3:] for l in self.lines if l.startswith("w $" + prefix)]


def start(calls=CALLS, target_side=True):
    if not target_side:
        gdb_run("set remote conditional-breakpoints-packet off")
    log = RemoteLog()
    vm = debug("cond.elf")
    gdb_run("set var cond_iters = %d" % calls)
    return vm, log


def finish(vm, calls=CALLS):
    gdb_run("set remote conditional-breakpoints-packet auto")
    gdb_run("delete")
    cont_to_exit(vm, COND_EXIT)
    check_eq(vm.serial(), serial(calls), "serial output")


def stops_with(conditions, target_side, hw=False, calls=CALLS):
    """The i of every stop at cond_hit under breakpoints with these
    conditions, and the stop replies gdb received."""
    vm, log = start(calls, target_side)
    for c in conditions:
        gdb_run("%s cond_hit if %s" % ("hbreak" if hw else "break", c))
    gdb_run("break cond_done")
    seen = []
    while True:
        stop = cont()
        if stop["pc"] == bp_address(gdb.breakpoints()[-1]):
            break
        seen.append(int(gdb.parse_and_eval("i")))
        check(len(seen) <= calls, "more stops than calls")
    check_eq(int(gdb.parse_and_eval("n")), calls, "calls at cond_done")
    finish(vm, calls)
    replies = log.breakpoint_stops()
    if target_side:
        check(any(";X" in z for z in log.sent("Z")), "gdb sent no condition to the stub")
    return seen, replies


def compare(conditions, expected, hw=False):
    """Target-side stops equal gdb-side ones and the prediction; only the
    true hits (and cond_done) reach gdb from the stub."""
    want = [i for i in range(CALLS) if expected(i)]
    check(0 < len(want) < CALLS, "a condition true on some calls only")
    target, replies = stops_with(conditions, True, hw)
    check_eq(target, want, "stops with the stub evaluating %r" % (conditions,))
    check_eq(len(replies), len(want) + 1, "breakpoint stops gdb heard of (the true hits, cond_done)")
    host, host_replies = stops_with(conditions, False, hw)
    check_eq(host, target, "stops with gdb evaluating %r" % (conditions,))
    check_eq(len(host_replies), CALLS + 1, "breakpoint stops gdb heard of when it evaluates")


@test
def test_condition_on_register():
    compare(["$rdi % 7 == 3"], lambda i: i % 7 == 3)


@test
def test_condition_on_global():
    compare(["cond_global == 4"], lambda i: item(i)["global"] == 4)


@test
def test_condition_through_pointers():
    # gdb compiles no character literal to bytecode: 104 is 'h'.
    compare(["p->val > 9 && cond_ptr->name[1] == 104"],
            lambda i: item(i)["val"] > 9 and item(i)["name"][1] == "h")


@test
def test_two_conditions_one_address():
    # gdb sends both as one list: any true one stops.
    compare(["p->key % 13 == 5", "cond_global == 7"],
            lambda i: i % 13 == 5 or item(i)["global"] == 7)


@test
def test_condition_on_hardware_breakpoint():
    compare(["(i & 15) == 9"], lambda i: i & 15 == 9, hw=True)


def dprintf_output(style, condition=None):
    vm, log = start()
    gdb_run("set dprintf-style " + style)
    gdb_run('dprintf cond_hit,"call %d key=%#lx val=%u name=%s g=%llu [%5s|%-3d]\\n", '
            "i, p->key, p->val, p->name, cond_global, p->name, (int)(i % 3)")
    if condition:
        gdb_run("condition $bpnum " + condition)
    gdb_run("break cond_done")
    out = resume("continue")
    check_eq(len(events.stops), 1, "stops in the dprintf run")
    check_eq(int(gdb.parse_and_eval("n")), CALLS, "calls at cond_done")
    gdb_run("set dprintf-style gdb")
    finish(vm)
    replies = log.breakpoint_stops()
    if style == "agent":
        check(any("cmds:" in z for z in log.sent("Z")), "gdb sent no commands to the stub")
    return [l for l in out.splitlines() if l.startswith("call ")], replies


def expected_lines(pred):
    out = []
    for i in range(CALLS):
        if pred(i):
            it = item(i)
            out.append("call %d key=%s val=%d name=%s g=%d [%5s|%-3d]"
                       % (i, hex(i) if i else "0", it["val"], it["name"], it["global"],
                          it["name"], i % 3))
    return out


@test
def test_dprintf_agent_equals_gdb():
    agent, replies = dprintf_output("agent")
    check_eq(agent, expected_lines(lambda i: True), "agent dprintf output")
    # The guest never stopped for them: at cond_done only.
    check_eq(len(replies), 1, "breakpoint stops during the agent dprintf run")
    host, host_replies = dprintf_output("gdb")
    check_eq(host, agent, "gdb dprintf output against the agent's")
    check_eq(len(host_replies), CALLS + 1, "breakpoint stops during gdb's dprintf run")


@test
def test_dprintf_agent_with_condition():
    agent, replies = dprintf_output("agent", "i % 10 == 1 || p->val == 0")
    want = expected_lines(lambda i: i % 10 == 1 or item(i)["val"] == 0)
    check_eq(agent, want, "conditional agent dprintf output")
    check_eq(len(replies), 1, "breakpoint stops during the agent dprintf run")


@test
def test_dprintf_text_before_the_exit():
    """Text printed just before the guest ends reaches gdb before the exit."""
    vm, log = start()
    gdb_run("set dprintf-style agent")
    try:
        gdb_run('dprintf cond_done,"done after %d calls\\n", n')
        out = resume("continue")
    finally:
        gdb_run("set dprintf-style gdb")
    check_eq([l for l in out.splitlines() if l.startswith("done ")],
             ["done after %d calls" % CALLS], "dprintf output before the exit")
    check_eq(events.exits, [(COND_EXIT << 1) | 1], "exit reported to gdb")
    vm.expect_exit((COND_EXIT << 1) | 1)
    check_eq(vm.serial(), serial(CALLS), "serial output")
    log.breakpoint_stops()


def raw_site(vm):
    return vm.elf.sym("cond_hit")


@test
def test_hostile_bytecode_refused():
    vm = debug("cond.elf")
    site = raw_site(vm)
    before = stub_bytes(site, 4)
    bad = {
        "stack underflow": "02",                # add on an empty stack
        "jump outside": "2100ff27",
        "trace-only opcode": "22010d0427",
        "unknown opcode": "2201ff27",
        "ext width": "2201160027",
        "runs off the end": "2201",
        "bad printf": "22002200340000012527",
    }
    for what, code in bad.items():
        reply = packet("Z0,%x,1;X%x,%s" % (site, len(code) // 2, code))
        check(reply.startswith("E"), "%s: Z0 answered %r" % (what, reply))
        check_eq(stub_bytes(site, 4), before, "bytes at the site after a refused %s" % what)
    reply = packet("Z0,%x,1;cmds:0,X2,2201" % site)
    check(reply.startswith("E"), "command running off the end: Z0 answered %r" % reply)
    reply = packet("Z0,%x,1;X3,220127;X2,zz01" % site)
    check(reply.startswith("E"), "malformed hex: Z0 answered %r" % reply)
    check_eq(stub_bytes(site, 4), before, "bytes at the site after the refusals")
    check(vm.stderr().count("refused") == len(bad) + 1,
          "refusals not explained on kvmdbg's standard error: %r" % vm.stderr()[-300:])
    gdb_run("delete")
    cont_to_exit(vm, COND_EXIT)
    check_eq(vm.serial(), serial(100), "serial output")


@test
def test_failing_conditions_stop():
    """A condition that cannot be evaluated stops, as with gdbserver (gdb
    decides then); an endless loop ends at the instruction limit."""
    vm = debug("cond.elf")
    gdb_run("break cond_hit if *(unsigned char *)0xfffffffffff00000 == 7")
    site = bp_address(gdb.breakpoints()[-1])
    # gdb then fails to evaluate it too, says so, and stays stopped.
    stop = cont()
    check_eq(stop["pc"], site, "stop of the faulting condition")
    check_eq(int(gdb.parse_and_eval("i")), 0, "call of the faulting condition's stop")
    check("unreadable memory" in vm.stderr(), "no message for the failed condition: %r"
          % vm.stderr()[-300:])
    gdb_run("delete")
    gdb_run("break cond_done")
    done = bp_address(gdb.breakpoints()[-1])
    # Sent raw, at a site gdb knows nothing of (gdb compiles no loop):
    # const8 1; pop; goto 0.  Each hit stops after the limit, and gdb,
    # finding none of its breakpoints there, resumes.
    reply = packet("Z0,%x,1;X6,220129210000" % site)
    check_eq(reply, "OK", "Z0 with an endless condition")
    stop = cont()
    check_eq(stop["pc"], done, "stop after the endless conditions")
    check("instruction limit reached" in vm.stderr(), "no message for the endless condition")
    check_eq(packet("z0,%x,1" % site), "OK", "removal of the raw breakpoint")
    gdb_run("delete")
    cont_to_exit(vm, COND_EXIT)
    check_eq(vm.serial(), serial(100), "serial output")



def smp_serial(ncpus, iterations):
    """What the smp guest prints (the arithmetic of smp.c)."""
    mask = (1 << 64) - 1
    lines = ["smp: %d vCPUs, %d iterations" % (ncpus, iterations)]
    total = 0
    for idx in range(ncpus):
        acc = idx
        for _ in range(iterations):
            acc = ((acc + 1) * 0x9e3779b97f4a7c15) & mask
            acc = ((acc ^ (acc >> 29)) + idx) & mask
        total = (total + acc) & mask
        lines.append("smp: vCPU %d work %d mix %d fold %d" % (idx, iterations, iterations,
                                                            iterations))
    lines.append("smp: checksum 0x%016x" % total)
    return "\n".join(lines) + "\n"


@test
def test_conditions_four_vcpus():
    """Four vCPUs through one conditional breakpoint: those whose condition
    is false step past it on their own while the trap is out of memory, and
    none of them runs through it unseen meanwhile."""
    ncpus, iterations = 4, 150
    path = guest_path("smp.elf")
    vm = kvmdbg("run", "-smp", str(ncpus), "--gdb", "tcp:127.0.0.1:0", "-S", path, "--",
                "cpus=%d" % ncpus, "iter=%d" % iterations)
    vm.wait_listening()
    gdb_run("file " + path)
    connect(vm.port)
    gdb_run("break smp_fold if idx == 2")
    site = bp_address(gdb.breakpoints()[-1])
    for n in range(iterations):
        stop = cont()
        check_eq(stop["pc"], site, "stop %d pc" % n)
        check_eq(gdb.selected_thread().ptid[1], 3, "thread of stop %d" % n)
        check_eq(int(gdb.parse_and_eval("idx")), 2, "idx at stop %d" % n)
        check_eq(int(gdb.parse_and_eval("smp_counts.fold[2]")), n, "vCPU 2's calls at stop %d" % n)
    cont_to_exit(vm, 0x2a)
    check_eq(vm.serial(), smp_serial(ncpus, iterations), "serial output")


main()
