# SPDX-License-Identifier: MIT
"""A nested machine: qemu (TCG, with the processor's virtualization extensions,
so that the Linux inside offers KVM) booting a Debian kernel and
tests/nested/init.sh.  tests/arm64 and tests/x86_64 each say which qemu.

The serial console is a unix socket that one client at a time may hold: the
suite runner while booting, then each test file in turn.  Channel speaks the
line protocol of init.sh over it; gdb reaches port 1234 inside through qemu's
user-mode network, forwarded from a free port on the host's loopback.
"""

import base64
import os
import re
import signal
import socket
import subprocess
import time

GDB_PORT_INSIDE = 1234
BOOT_TIMEOUT = 180
HOSTFWD_ATTEMPTS = 5
READY_RE = re.compile(rb"\n@@ready (\S+) (\d+)\n")


class ChannelError(Exception):
    pass


class ChannelTimeout(ChannelError):
    """The machine did not answer in time: it may have stopped for good."""


class Channel:
    """A connection to init.sh's command loop."""

    def __init__(self, path, log_path=None, timeout=30):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.log = open(log_path, "ab") if log_path else None
        # Distinct from every earlier client's ids, whose late replies may
        # still arrive on this connection.
        self.next_id = int(time.time() * 1000) % 10 ** 9 * 1000

    def close(self):
        self.sock.close()
        if self.log:
            self.log.close()

    def _fill(self, deadline, what):
        left = deadline - time.monotonic()
        if left <= 0:
            raise ChannelTimeout("no %s within the time limit; console ends %r"
                                 % (what, self.buf[-300:]))
        self.sock.settimeout(left)
        try:
            chunk = self.sock.recv(65536)
        except socket.timeout:
            chunk = None
        if chunk == b"":
            raise ChannelError("the console closed while waiting for %s" % what)
        if chunk:
            self.buf += chunk
            if self.log:
                self.log.write(chunk)
                self.log.flush()

    def wait_ready(self, timeout):
        """Waits for init.sh's greeting; returns (kernel release, cpus)."""
        deadline = time.monotonic() + timeout
        while True:
            m = READY_RE.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m.group(1).decode(), int(m.group(2))
            self._fill(deadline, "greeting from the nested machine")

    def shell(self, text, timeout=30):
        """Runs shell text inside; returns (exit status, output bytes)."""
        if "\n" in text:
            raise ValueError("one line of shell at a time")
        self.next_id += 1
        ident = b"%d" % self.next_id
        self.sock.sendall(ident + b" " + text.encode() + b"\n")
        pattern = re.compile(rb"\n@@" + ident + rb" (\d+)\n([A-Za-z0-9+/=\s]*?)@@" + ident
                             + rb" end\n")
        deadline = time.monotonic() + timeout
        while True:
            m = pattern.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return int(m.group(1)), base64.b64decode(b"".join(m.group(2).split()))
            self._fill(deadline, "reply to %r" % text[:80])

    def check_shell(self, text, timeout=30):
        """shell(), but a non-zero status is an error; returns the output."""
        status, out = self.shell(text, timeout)
        if status != 0:
            raise ChannelError("%r exited with %d: %s"
                               % (text[:80], status, out.decode("utf-8", "replace").strip()))
        return out


def free_port():
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def qemu_argv(kernel, initrd, append, port, serial_path):
    """What every nested machine's qemu command line has: no display or
    monitor, the console on serial_path (qemu waits for a client before it
    starts the machine), the kernel and initramfs, and user-mode networking
    with port on the host's loopback forwarded to GDB_PORT_INSIDE; the
    caller adds the machine, processor, memory and network device."""
    return ["-accel", "tcg", "-display", "none", "-monitor", "none", "-no-reboot",
            "-chardev", "socket,id=console,path=%s,server=on,wait=on" % serial_path,
            "-serial", "chardev:console",
            "-kernel", kernel, "-initrd", initrd, "-append", append,
            "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-:%d" % (port, GDB_PORT_INSIDE)]


class NestedVm:
    """Boots the machine; close() (idempotent) always ends qemu.  name says
    which machine this is in messages and log names; machine_argv(port,
    serial_path) is qemu's command line, with the console on the unix socket
    serial_path and port on the host's loopback forwarded to GDB_PORT_INSIDE."""

    def __init__(self, name, machine_argv, workdir):
        self.name = name
        self.machine_argv = machine_argv
        self.workdir = workdir
        self.serial_path = os.path.join(workdir, "serial.sock")
        self.qemu_log = os.path.join(workdir, "qemu.log")
        self.console_log = os.path.join(workdir, "console.log")
        self.proc = None
        self.log_start = 0
        self.port = None

    def _argv(self, port):
        # qemu dies with the runner, even if the runner is killed outright.
        return ["setpriv", "--pdeathsig", "KILL", "--"] + self.machine_argv(port, self.serial_path)

    def _launch(self, port):
        """Starts qemu and connects to its console; None if qemu exits first."""
        if os.path.exists(self.serial_path):
            os.unlink(self.serial_path)
        with open(self.qemu_log, "ab") as log:
            self.log_start = log.tell()
            self.proc = subprocess.Popen(self._argv(port), stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT)
        # qemu waits for this connection before it sets up the rest of the
        # machine (the network included) and starts it.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return None
            try:
                return Channel(self.serial_path, self.console_log)
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.05)
        raise ChannelError("qemu never opened its console socket; see %s" % self.qemu_log)

    def _qemu_failed(self, why):
        """Returns if qemu ended because its forwarding port was taken, which
        is worth another port; raises for anything else."""
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            raise ChannelError("%s; see %s" % (why, self.console_log))
        with open(self.qemu_log, "rb") as f:
            f.seek(self.log_start)
            log = f.read().decode("utf-8", "replace")
        if "host forwarding" not in log:
            raise ChannelError("qemu exited with status %d: %s"
                               % (self.proc.returncode, log.strip()[-2000:]))

    def boot(self):
        """Starts qemu and waits for init.sh; returns a Channel for the
        caller to use and close."""
        for _ in range(HOSTFWD_ATTEMPTS):
            # The port is free now; if someone takes it before qemu binds
            # it, qemu fails and another port is tried.
            port = free_port()
            channel = self._launch(port)
            if channel is None:
                self._qemu_failed("qemu exited")
                continue
            try:
                self.release, self.cpus = channel.wait_ready(BOOT_TIMEOUT)
            except ChannelError as e:
                channel.close()
                self._qemu_failed(str(e))
                continue
            self.port = port
            return channel
        raise ChannelError("no free port for qemu's forwarding after %d attempts"
                           % HOSTFWD_ATTEMPTS)

    def close(self):
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        self.proc = None
