# SPDX-License-Identifier: MIT
"""Booting guests without a debugger, the command line, and kvmdbg's own errors."""

import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (DEMO_SERIAL, TRIPLE_FAULT_CODE, TRIPLE_FAULT_RESET, check,  # noqa: E402
                        check_eq, connect, cont_to_exit, events, exit_status, gdb_run, guest_path,
                        kvmdbg, main, run, scratch, test)

INT3COUNT_SERIAL = "int3count: start\nint3 count: 5\n"
MiB = 1024 * 1024


def serial_lines(vm):
    return vm.serial().splitlines()


@test
def test_demo_runs():
    vm = run(guest_path("demo.elf"))
    check_eq(vm.status, exit_status(0x21), "exit status")
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_int3count_runs():
    vm = run(guest_path("int3count.elf"))
    check_eq(vm.serial(), INT3COUNT_SERIAL, "serial output")
    check_eq(vm.status, exit_status(5), "exit status")


@test
def test_irqstep_runs():
    vm = run(guest_path("irqstep.elf"))
    lines = serial_lines(vm)
    check_eq(len(lines), 2, "serial line count (%r)" % lines)
    check_eq(lines[0], "irqstep: start", "first line")
    check(lines[1].startswith("irqstep ticks: "), "second line is %r" % lines[1])
    check(int(lines[1].split(": ")[1]) >= 20, "fewer than 20 timer ticks: %r" % lines[1])
    check_eq(vm.status, exit_status(7), "exit status")


def mb32_mem_upper(vm):
    first = serial_lines(vm)[0]
    check(first.startswith("mb32 ok mem_upper=0x"), "mb32 reported %r" % vm.serial())
    return int(first.split("=")[1], 16)


def check_mem_upper(kib, mem):
    # Upper memory starts at 1 MiB; a loader may keep a little at the top.
    full = (mem - MiB) // 1024
    check(full - 1024 <= kib <= full, "mem_upper %d KiB for %d MiB of RAM (expected about %d)"
          % (kib, mem // MiB, full))


@test
def test_mb32_elf32_boot():
    vm = run(guest_path("mb32.elf"), guest_args=["hello", "world"])
    check_eq(vm.status, exit_status(0x32), "exit status (serial %r)" % vm.serial())
    check_mem_upper(mb32_mem_upper(vm), 64 * MiB)
    lines = serial_lines(vm)
    check_eq(len(lines), 3, "serial line count (%r)" % lines)
    check(lines[1].startswith("mb32 cmdline: ") and lines[1].endswith("hello world"),
          "command line line is %r" % lines[1])
    check_eq(lines[2], "mb32 mmap ok", "memory map line")


@test
def test_mem_option():
    vm = run(guest_path("mb32.elf"), args=["--mem", "32M"])
    check_eq(vm.status, exit_status(0x32), "exit status")
    check_mem_upper(mb32_mem_upper(vm), 32 * MiB)
    vm = run(guest_path("mb32.elf"), args=["--mem", "200M"])
    check_eq(vm.status, exit_status(0x32), "exit status")
    check_mem_upper(mb32_mem_upper(vm), 200 * MiB)


def check_cmdline(cmdline, args):
    """The guest's command line: the arguments, possibly after the image path
    (the Multiboot convention)."""
    path = guest_path("long64.elf")
    want = " ".join(args)
    ok = (want, path + " " + want) if args else ("(none)", "", path)
    check(cmdline in ok, "command line seen by the guest: %r, expected one of %r" % (cmdline, ok))


def long64_report(vm):
    lines = serial_lines(vm)
    check_eq(len(lines), 3, "long64 serial line count (%r)" % lines)
    check(lines[0].startswith("long64 cmdline: "), "first line %r" % lines[0])
    check(lines[1].startswith("long64 rsp=0x"), "second line %r" % lines[1])
    check_eq(lines[2], "long64 checks: ok", "machine state checks")
    rsp = int(lines[1].split("=")[1], 16)
    check(0 < rsp <= 64 * MiB, "entry RSP %#x is outside guest RAM" % rsp)
    return lines[0][len("long64 cmdline: "):]


@test
def test_long64_args():
    vm = run(guest_path("long64.elf"), guest_args=["alpha", "beta=2"])
    check_eq(vm.status, exit_status(0x40), "exit status (serial %r)" % vm.serial())
    check_cmdline(long64_report(vm), ["alpha", "beta=2"])


@test
def test_long64_no_args():
    vm = run(guest_path("long64.elf"))
    check_eq(vm.status, exit_status(0x40), "exit status (serial %r)" % vm.serial())
    check_cmdline(long64_report(vm), [])


@test
def test_raw_binary():
    vm = run(guest_path("raw64.bin"), args=["--load-addr", "0x200000", "--entry", "0x200000"])
    check_eq(vm.serial(), "raw ok\n", "serial output")
    check_eq(vm.status, exit_status(0x52), "exit status")


def raw_blob(tmpdir, name, code):
    path = os.path.join(tmpdir, name)
    with open(path, "wb") as f:
        f.write(code)
    return path


@test
def test_hlt_ends_run():
    vm = kvmdbg("run", "--load-addr", "0x200000", "--entry", "0x200000",
                raw_blob(scratch(), "hlt.bin", b"\xfa\xf4"))  # cli; hlt
    check_eq(vm.wait(), 0, "exit status after hlt with interrupts off")
    check_eq(vm.serial(), "", "serial output")


@test
def test_fwait_runs():
    # fwait with no x87 exception pending does nothing; where KVM's
    # emulator gives up on it, kvmdbg completes it.
    code = (b"\xdb\xe3"                  # fninit
            b"\x9b"                      # fwait
            b"\x9b"                      # fwait
            b"\xb8\x2a\x00\x00\x00"      # mov $0x2a, %eax
            b"\xe7\xf4")                  # out %eax, $0xf4
    vm = kvmdbg("run", "--load-addr", "0x200000", "--entry", "0x200000",
                raw_blob(scratch(), "fwait.bin", code))
    check_eq(vm.wait(), exit_status(0x2a), "exit status after fwait (stderr %r)" % vm.stderr())


@test
def test_triple_fault():
    vm = kvmdbg("run", "--load-addr", "0x200000", "--entry", "0x200000",
                raw_blob(scratch(), "tf.bin", TRIPLE_FAULT_CODE))
    check_eq(vm.wait(), 4, "exit status after a triple fault (stderr %r)" % vm.stderr())
    # The address of the ud2, or, where KVM resets the vCPU at the shutdown
    # (AMD; tests/x86_64/test_features.py), that it is lost.
    check(vm.stderr() in ("kvmdbg: guest shut down (triple fault) on vCPU 0 at rip 0x200007\n",
                          TRIPLE_FAULT_RESET),
          "stderr after a triple fault %r" % vm.stderr())


def expect_usage_error(vm, what):
    status = vm.wait(10)
    err = vm.stderr()
    check_eq(status, 2, "%s: exit status (stderr %r)" % (what, err))
    lines = err.splitlines()
    check_eq(len(lines), 1, "%s: stderr line count (%r)" % (what, err))
    check(lines[0].startswith("kvmdbg: "), "%s: stderr %r" % (what, lines[0]))
    check_eq(vm.serial(), "", "%s: stdout" % what)


@test
def test_rejects_bad_guests():
    tmp = scratch()
    with open(guest_path("long64.elf"), "rb") as f:
        elf = f.read()
    other_machine = bytearray(elf)
    other_machine[18:20] = (183).to_bytes(2, "little")     # EM_AARCH64
    cases = {
        "empty file": raw_blob(tmp, "empty", b""),
        "text file": raw_blob(tmp, "text", b"this is not a kernel\n" * 20),
        "truncated ELF": raw_blob(tmp, "truncated.elf", elf[:256]),
        "ELF for another machine": raw_blob(tmp, "arm.elf", bytes(other_machine)),
        "missing file": os.path.join(tmp, "does-not-exist"),
    }
    for what, path in cases.items():
        expect_usage_error(kvmdbg("run", path), what)


@test
def test_rejects_bad_options():
    raw = guest_path("raw64.bin")
    demo = guest_path("demo.elf")
    expect_usage_error(kvmdbg("run", "--load-addr", "0x200000", raw), "raw binary without --entry")
    expect_usage_error(kvmdbg("run", raw), "raw binary without --load-addr/--entry")
    expect_usage_error(kvmdbg("run", "--mem", "0", demo), "--mem 0")
    expect_usage_error(kvmdbg("run", "--mem", "lots", demo), "--mem lots")
    expect_usage_error(kvmdbg("run", "--bogus-option", demo), "unknown option")
    expect_usage_error(kvmdbg("run", "--gdb", "carrier-pigeon:1", demo), "bad --gdb")
    expect_usage_error(kvmdbg("run"), "no guest")
    expect_usage_error(kvmdbg("run", "--initrd", demo, demo), "--initrd with a test guest")
    expect_usage_error(kvmdbg("run", "-append", "quiet", demo), "-append with a test guest")
    expect_usage_error(kvmdbg("run", "--initrd", "/nonexistent", demo), "missing initrd")
    expect_usage_error(kvmdbg("run", demo, "-append"), "-append after the guest")
    expect_usage_error(kvmdbg("frobnicate"), "unknown command")


@test
def test_rejects_device_tree_options():
    # Only the arm64 machine boots with a device tree.
    demo = guest_path("demo.elf")
    for opt in ("--dtb", "-dtb", "--dump-dtb"):
        vm = kvmdbg("run", opt, "machine.dtb", demo)
        expect_usage_error(vm, opt)
        check("for arm64" in vm.stderr(), "%s: stderr %r" % (opt, vm.stderr()))
    # A test guest is no Linux kernel: nothing the user gives is ignored.
    for opt in ("--initrd", "--append"):
        vm = kvmdbg("run", opt, demo, demo)
        expect_usage_error(vm, opt)
        check("are for Linux kernels" in vm.stderr(), "%s: stderr %r" % (opt, vm.stderr()))


@test
def test_rejects_port_in_use():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:%d" % port, "-S", guest_path("demo.elf"))
        expect_usage_error(vm, "gdb port in use")
    finally:
        s.close()


@test
def test_rejects_missing_kvm():
    expect_usage_error(kvmdbg("run", "--kvm", "/nonexistent", guest_path("demo.elf")),
                       "run --kvm /nonexistent")
    expect_usage_error(kvmdbg("probe", "--kvm", "/nonexistent"), "probe --kvm /nonexistent")
    expect_usage_error(kvmdbg("run", "--kvm", "/dev/null", guest_path("demo.elf")),
                       "run --kvm /dev/null")


@test
def test_probe():
    vm = kvmdbg("probe")
    check_eq(vm.wait(10), 0, "exit status (stderr %r)" % vm.stderr())
    table = vm.serial()
    rows = dict(line.split(": ", 1) for line in table.splitlines() if ": " in line)
    check_eq(len(rows), len(table.splitlines()), "lines of the table that are 'key: value' (%r)"
             % table)
    for key in ("sw-breakpoints", "hw-breakpoints", "watchpoints", "single-step",
                "linux-cpuid-hidden", "linux-cmdline-added", "linux-fwait"):
        check(rows.get(key), "no %s row in %r" % (key, table))
    vm = kvmdbg("probe", "--kvm", "/dev/kvm")
    check_eq(vm.wait(10), 0, "probe --kvm /dev/kvm exit status")


@test
def test_default_port_option():
    # -s means tcp:127.0.0.1:1234; if something else owns that port the
    # result must be the port-in-use error instead.
    s = socket.socket()
    # As kvmdbg binds: a connection of an earlier run lingering in
    # TIME_WAIT does not make the port taken.
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        s.bind(("127.0.0.1", 1234))
        free = True
    except OSError:
        free = False
    finally:
        s.close()
    vm = kvmdbg("run", "-s", "-S", guest_path("demo.elf"))
    if not free:
        expect_usage_error(vm, "-s with port 1234 taken")
        return
    check_eq(vm.wait_listening(), "tcp:127.0.0.1:1234", "listening address")
    connect(1234)
    cont_to_exit(vm, 0x21)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


@test
def test_unix_socket():
    path = os.path.join(scratch(), "gdb.sock")
    vm = kvmdbg("run", "--gdb", "unix:" + path, "--wait", guest_path("demo.elf"))
    check_eq(vm.wait_listening(), "unix:" + path, "listening address")
    time.sleep(0.3)
    check(vm.serial() == "", "guest ran before gdb continued: %r" % vm.serial())
    check(vm.proc.poll() is None, "kvmdbg exited before gdb connected")
    gdb_run("target remote " + path)
    events.reset()
    cont_to_exit(vm, 0x21)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output")


main()
