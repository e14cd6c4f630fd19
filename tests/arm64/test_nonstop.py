# SPDX-License-Identifier: MIT
"""Non-stop mode on real arm64 KVM, over the raw protocol: each vCPU stops
alone at a BRK breakpoint, is reported in a %Stop notification drained
with vStopped, and resumes alone; one vCPU is stepped off the breakpoint
while the other keeps running through it.  Every hit is checked against
the guest's own per-vCPU count."""

import collections
import os
import re
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from arm64_e2e import (Elf, check, check_eq, exit_status, guest_path, kvmdbg, main,  # noqa: E402
                       pc_of, rsp_client, test)

SMP_EXIT = 0x02
ROUNDS = 40
# vCPU 0 is stepped off the breakpoint at this many of its hits.
STEPS = 10
STOP_TIMEOUT = 120      # one awaited stop on the nested, loaded machine
SERIAL = "smp: start\nsmp: counts %d %d\n" % (ROUNDS, ROUNDS)


def thread_of(reply):
    m = re.search(r"(?:^T[0-9a-f]{2}|;)thread:(?:p[0-9a-f]+\.)?([0-9a-f]+);", reply)
    check(m is not None, "stop reply without a thread: %r" % reply)
    return int(m.group(1), 16)


def drain(rsp, first):
    """A notification's stop and those vStopped hands out after it."""
    stops = [first]
    while True:
        reply = rsp.request("vStopped")
        if reply == "OK":
            return stops
        stops.append(reply)
        check(len(stops) <= 8, "vStopped never answers OK: %r" % stops)


@test
def test_nonstop_hits_and_steps_on_two_vcpus():
    elf = Elf(guest_path("smp.elf"))
    work = elf.sym("smp_work")
    vm = kvmdbg("run", "-smp", "2", "--gdb", "tcp:0.0.0.0:1234", "-S", "/guests/smp.elf")
    vm.wait_listening()
    rsp = rsp_client()
    check("QNonStop+" in rsp.request("qSupported:swbreak+;hwbreak+;vContSupported+"),
          "QNonStop+ offered")
    check_eq(rsp.request("QNonStop:1"), "OK", "reply to QNonStop:1")
    reply = rsp.request("?")
    check(reply.startswith("T") and thread_of(reply) == 1, "'?' after connecting: %r" % reply)
    check_eq(rsp.request("vStopped"), "OK", "the rest of '?'")
    check_eq(rsp.request("M%x,4:%s" % (elf.sym("smp_rounds"), struct.pack("<I", ROUNDS).hex())),
             "OK", "setting smp_rounds")
    check_eq(rsp.request("Z0,%x,4" % work), "OK", "breakpoint on smp_work")
    check_eq(rsp.request("vCont;c"), "OK", "vCont;c answered at once")
    hits = collections.Counter()
    steps = 0
    while True:
        note = rsp.notification(STOP_TIMEOUT)
        check(note.startswith("Stop:"), "notification %r" % note[:60])
        if note[5:].startswith("W"):
            check_eq(note[5:], "W%02x" % (exit_status(SMP_EXIT) & 0xff), "exit notification")
            check_eq(rsp.request("vStopped"), "OK", "vStopped after the exit")
            break
        for stop in drain(rsp, note[5:]):
            thread = thread_of(stop)
            if "swbreak" in stop:
                check_eq(pc_of(stop), work, "pc of a breakpoint stop")
                hits[thread] += 1
                check(hits[thread] <= ROUNDS, "thread %d hit %d times" % (thread, hits[thread]))
                if thread == 1 and steps < STEPS:
                    # The other vCPU runs on meanwhile, through the same
                    # breakpoint.
                    steps += 1
                    check_eq(rsp.request("vCont;s:1"), "OK", "step %d answered at once" % steps)
                    continue
            else:
                check(thread == 1 and stop.startswith("T05"), "stop %r" % stop)
                check_eq(pc_of(stop), work + 4, "pc after stepping off the breakpoint")
            check_eq(rsp.request("vCont;c:%x" % thread), "OK", "resume thread %d" % thread)
    check_eq(steps, STEPS, "steps off the breakpoint")
    check_eq(dict(hits), {1: ROUNDS, 2: ROUNDS}, "hits reported per thread")
    vm.expect_exit(exit_status(SMP_EXIT))
    check_eq(vm.serial(), SERIAL, "serial output")


main()
