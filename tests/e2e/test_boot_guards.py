# SPDX-License-Identifier: MIT
"""What kvmdbg refuses or survives before a debugger takes over: guest
paths that are not files, a unix socket path that is not free, and clients
that connect to a guest held by -S and leave without a word."""

import os
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (DEMO_SERIAL, Elf, TestFailure, check, check_eq, connect,  # noqa: E402
                        cont_to_exit, events, gdb_run, guest_path, kvmdbg, main, pc, scratch, test)

DEMO_EXIT = 0x21
# Long enough for a released guest to print its first line many times over;
# a guest that is held prints nothing however long this is.
SETTLE = 0.5


def expect_refusal(vm, text, what):
    """kvmdbg ends with status 2 and one stderr line containing text."""
    status = vm.wait(20)
    err = vm.stderr()
    check_eq(status, 2, "%s: exit status (stderr %r)" % (what, err))
    lines = err.splitlines()
    check_eq(len(lines), 1, "%s: stderr line count (%r)" % (what, err))
    check(lines[0].startswith("kvmdbg: ") and text in lines[0],
          "%s: stderr %r does not say %r" % (what, lines[0], text))
    check_eq(vm.serial(), "", "%s: stdout" % what)


def start_unix(path, umask=None):
    """kvmdbg holding demo.elf with its stub on a unix socket at path,
    started under umask when one is given."""
    old = os.umask(umask) if umask is not None else None
    try:
        vm = kvmdbg("run", "--gdb", "unix:" + path, "-S", guest_path("demo.elf"))
    finally:
        if old is not None:
            os.umask(old)
    check_eq(vm.wait_listening(), "unix:" + path, "listening address")
    vm.elf = Elf(guest_path("demo.elf"))
    return vm


def gdb_unix(vm, path):
    gdb_run("file " + vm.elf.path)
    gdb_run("target remote " + path)
    events.reset()


def check_held_then_runs(vm, what):
    """The guest has not run: nothing on the serial line, and gdb, once
    connected, finds it at its entry point; it then runs to its end."""
    time.sleep(SETTLE)
    check(vm.poll() is None, "%s: kvmdbg exited (status %r, serial %r)"
          % (what, vm.poll(), vm.serial()))
    check_eq(vm.serial(), "", "%s: serial output of a held guest" % what)
    check_eq(pc(), vm.elf.entry, "%s: pc when gdb connects" % what)
    cont_to_exit(vm, DEMO_EXIT)
    check_eq(vm.serial(), DEMO_SERIAL, "%s: serial output" % what)


def socket_mode(path):
    st = os.lstat(path)
    check(stat.S_ISSOCK(st.st_mode), "%s is not a socket (mode %o)" % (path, st.st_mode))
    return stat.S_IMODE(st.st_mode)


@test
def test_guest_not_a_regular_file():
    tmp = scratch()
    fifo = os.path.join(tmp, "guest.fifo")
    os.mkfifo(fifo)
    cases = (("FIFO", fifo, "a FIFO"),
             ("directory", tmp, "a directory"),
             ("character device", "/dev/null", "a character device"))
    for what, path, kind in cases:
        expect_refusal(kvmdbg("run", path),
                       "guest %s is not a regular file (it is %s)" % (path, kind), what)
    check(stat.S_ISFIFO(os.lstat(fifo).st_mode), "the FIFO is gone")


@test
def test_unix_socket_owner_only():
    path = os.path.join(scratch(), "gdb.sock")
    for umask in (0, 0o002, 0o022):
        vm = start_unix(path, umask=umask)
        check_eq(oct(socket_mode(path)), oct(0o600),
                 "mode of the socket made under umask %03o" % umask)
        gdb_unix(vm, path)
        check_eq(pc(), vm.elf.entry, "pc when gdb connects")
        gdb_run("kill")
        check_eq(vm.wait(), 0, "exit status after kill")


@test
def test_unix_socket_removed_at_exit():
    path = os.path.join(scratch(), "gdb.sock")
    vm = start_unix(path)
    gdb_unix(vm, path)
    cont_to_exit(vm, DEMO_EXIT)
    check(not os.path.lexists(path), "socket %s left behind after the guest's exit" % path)
    vm = start_unix(path)
    gdb_unix(vm, path)
    gdb_run("kill")
    check_eq(vm.wait(), 0, "exit status after kill")
    check(not os.path.lexists(path), "socket %s left behind after kill" % path)


@test
def test_unix_socket_in_use():
    path = os.path.join(scratch(), "gdb.sock")
    first = start_unix(path)
    inode = os.lstat(path).st_ino
    second = kvmdbg("run", "--gdb", "unix:" + path, "-S", guest_path("demo.elf"))
    expect_refusal(second, "unix socket %s is already in use" % path, "second instance")
    check_eq(os.lstat(path).st_ino, inode, "inode of the first instance's socket")
    gdb_unix(first, path)
    check_held_then_runs(first, "first instance")
    check(not os.path.lexists(path), "socket %s left behind after the guest's exit" % path)


@test
def test_unix_socket_stale_replaced():
    path = os.path.join(scratch(), "gdb.sock")
    stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stale.bind(path)
    stale.close()           # the file stays, nobody listens any more
    vm = start_unix(path, umask=0)
    check_eq(oct(socket_mode(path)), oct(0o600), "mode of the socket that replaced a stale one")
    gdb_unix(vm, path)
    check_held_then_runs(vm, "over a stale socket")


@test
def test_unix_path_not_a_socket():
    tmp = scratch()
    path = os.path.join(tmp, "notes.txt")
    with open(path, "w") as f:
        f.write("keep me\n")
    vm = kvmdbg("run", "--gdb", "unix:" + path, "-S", guest_path("demo.elf"))
    expect_refusal(vm, "%s exists and is not a socket" % path, "regular file at the path")
    with open(path) as f:
        check_eq(f.read(), "keep me\n", "the file at the socket path")
    vm = kvmdbg("run", "--gdb", "unix:" + tmp, "-S", guest_path("demo.elf"))
    expect_refusal(vm, "%s exists and is not a socket" % tmp, "directory at the path")
    check(os.path.isdir(tmp), "the directory at the socket path is gone")


def probe(vm):
    try:
        return socket.create_connection(("127.0.0.1", vm.port), timeout=10)
    except ConnectionRefusedError:
        raise TestFailure("kvmdbg stopped listening after a silent client: exit status %r, "
                          "serial %r" % (vm.poll(), vm.serial()))


@test
def test_silent_clients_keep_guest_held():
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", guest_path("demo.elf"))
    vm.wait_listening()
    vm.elf = Elf(guest_path("demo.elf"))
    # Port probes: connect, close without a single byte.
    for _ in range(3):
        probe(vm).close()
    # A client that talks but never resumes the guest.
    s = probe(vm)
    s.sendall(b"$?#3f")
    check_eq(s.recv(1), b"+", "ack of '?'")
    s.close()
    gdb_run("file " + vm.elf.path)
    connect(vm.port)
    check_held_then_runs(vm, "after silent clients")


@test
def test_silent_client_keeps_unix_guest_held():
    path = os.path.join(scratch(), "gdb.sock")
    vm = start_unix(path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.close()
    gdb_unix(vm, path)
    check_held_then_runs(vm, "after a unix socket probe")


@test
def test_detach_releases_held_guest():
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", guest_path("demo.elf"))
    vm.wait_listening()
    vm.elf = Elf(guest_path("demo.elf"))
    gdb_run("file " + vm.elf.path)
    connect(vm.port)
    check_eq(pc(), vm.elf.entry, "pc when gdb connects")
    gdb_run("detach")
    vm.expect_exit((DEMO_EXIT << 1) | 1)
    check_eq(vm.serial(), DEMO_SERIAL, "serial output after detach")


main()
