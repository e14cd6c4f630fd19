# SPDX-License-Identifier: MIT
"""What the nested KVM (kvm_amd on qemu's SVM) offers kvmdbg, and that
kvmdbg uses exactly that: what the probe reports as missing is refused with
its reason, what it reports as there works, and the guest's own int3 reaches
the guest either way."""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "nested"))
from inside import (bp_address, check, check_eq, cont, cont_to_exit, debug, events,  # noqa: E402
                    exit_status, gdb, gdb_run, kvmdbg, main, monitor, packet, pc, rows, run,
                    shell, stepi, test)
from kvmdbg_e2e import TRIPLE_FAULT_CODE, TRIPLE_FAULT_RESET, pushflags_trap_flags  # noqa: E402

INT3_ROUNDS = 5
INT3_SERIAL = "int3count: start\nint3 count: 5\n"
NOT_REPORTED = "no: not reported by this host"
PUSHFLAGS_EXIT = 0x41
PUSHFLAGS_SERIAL = "pushflags: pushfq TF=0 pushfw TF=0\n"
_probe = {}


def probe():
    """kvmdbg probe inside, once: its rows."""
    if not _probe:
        status, out = shell("/kvmdbg probe")
        check_eq(status, 0, "kvmdbg probe exit status (output %r)" % out)
        print("kvmdbg probe in the nested machine:\n" + out, flush=True)
        _probe.update(rows(out))
    return _probe


@test
def test_probe():
    p = probe()
    check_eq(p.get("arch"), "x86_64", "arch row")
    check(p.get("guest-debug", "").startswith("yes"), "guest-debug row %r" % p.get("guest-debug"))
    check(p.get("single-step", "").startswith("yes, reported as KVM_EXIT_DEBUG"),
          "single-step row %r" % p.get("single-step"))
    # Each missing mechanism comes with what it costs.
    if p.get("sw-breakpoints") == NOT_REPORTED:
        check(p.get("guest int3 delivery", "").startswith("not verified: this host does not "
                                                          "report int3"),
              "guest int3 delivery row %r" % p.get("guest int3 delivery"))
    if p.get("hw-breakpoints") == NOT_REPORTED:
        check(p.get("guest debug exception delivery", "").startswith("not verified"),
              "guest debug exception delivery row %r" % p.get("guest debug exception delivery"))
        check(p.get("watchpoints", "").startswith("page protection only"),
              "watchpoints row %r" % p.get("watchpoints"))


@test
def test_caps_match_probe():
    p = probe()
    debug("demo.elf")
    caps = rows(monitor("caps"))
    for key in ("sw-breakpoints", "hw-breakpoints", "single-step", "guest int3 delivery"):
        check_eq(caps.get(key), p.get(key), "monitor caps row %s" % key)
    gdb_run("kill")


def check_breakpoint(vm, kind, gdb_command):
    """A breakpoint on compute: refused with the reason where the probe says
    the host lacks it, else hit."""
    site = vm.elf.sym("compute")
    if probe().get(kind) == NOT_REPORTED:
        ztype = 0 if kind == "sw-breakpoints" else 1
        reply = packet("Z%d,%x,1" % (ztype, site))
        check(reply.startswith("E"), "Z%d on a host without %s: %r" % (ztype, kind, reply))
        check("kvmdbg: Z%d at 0x%x refused: " % (ztype, site) in vm.stderr(),
              "stderr names the refusal: %r" % vm.stderr())
        return
    gdb_run("%s compute" % gdb_command)
    bp = gdb.breakpoints()[-1]
    stop = cont()
    check_eq(stop["pc"], bp_address(bp), "stop at the %s" % kind)
    bp.delete()


@test
def test_breakpoints_as_probed():
    vm = debug("demo.elf")
    check_breakpoint(vm, "sw-breakpoints", "break")
    check_breakpoint(vm, "hw-breakpoints", "hbreak")
    gdb_run("kill")


@test
def test_single_step():
    # An ELF64 guest, entered in 64-bit mode: each step ends on the next
    # instruction, the call in _start on long64_main.
    vm = debug("long64.elf")
    arch = gdb.selected_frame().architecture()
    check_eq(pc(), vm.elf.sym("_start"), "pc before the first instruction")
    for n in range(8):
        here = pc()
        insn = arch.disassemble(here)[0]
        after = stepi()
        if insn["asm"].startswith("call"):
            check_eq(after, vm.elf.sym("long64_main"), "pc after step %d (%s)" % (n, insn["asm"]))
        else:
            check_eq(after, here + insn["length"], "pc after step %d (%s)" % (n, insn["asm"]))
    check(pc() > vm.elf.sym("long64_main"), "the steps reached into long64_main (pc %#x)" % pc())
    gdb_run("kill")


@test
def test_guest_int3():
    # Not reported to kvmdbg or reported and given back: the guest's own
    # handler counts every int3, with and without a debugger.
    vm = run("int3count.elf")
    check_eq((vm.status, vm.serial()), (exit_status(INT3_ROUNDS), INT3_SERIAL), "run without gdb")
    vm = debug("int3count.elf")
    cont_to_exit(vm, INT3_ROUNDS)
    check_eq(events.stops, [], "stops")
    check_eq(vm.serial(), INT3_SERIAL, "serial output under gdb")


@test
def test_stepped_pushf():
    # This KVM steps by setting the trap flag, which a pushf stores with the
    # rest: the images must hold the guest's flags, or its popf, run without
    # the debugger, makes it trace itself and triple-fault.
    vm = debug("pushflags.elf")
    start = vm.elf.sym("_start")
    check_eq((stepi(), stepi()), (start + 1, start + 3), "pc after stepping pushfq, pushfw")
    flags, images = pushflags_trap_flags()
    check_eq(flags, [0, 0], "TF in the pushfw and pushfq images %s" % images)
    cont_to_exit(vm, PUSHFLAGS_EXIT)
    check_eq(vm.serial(), PUSHFLAGS_SERIAL, "serial output")


@test
def test_triple_fault_on_amd():
    # kvm_amd puts a vCPU through INIT at a shutdown: kvmdbg says the
    # address is lost instead of naming the reset vector.
    blob = "/tmp/triple-fault.bin"
    status, out = shell("printf '%s' > %s" % ("".join("\\%03o" % b for b in TRIPLE_FAULT_CODE),
                                              blob))
    check_eq(status, 0, "writing %s inside: %r" % (blob, out))
    vm = kvmdbg("run", "--load-addr", "0x200000", "--entry", "0x200000", blob)
    check_eq(vm.wait(), 4, "exit status after a triple fault (stderr %r)" % vm.stderr())
    check_eq(vm.stderr(), TRIPLE_FAULT_RESET, "stderr")


main()
