# SPDX-License-Identifier: MIT
"""An LLDB session for the end-to-end tests: Debian's lldb in batch mode
over a command file (its Python module is not usable there), with the
packets it exchanged logged, and what it printed split by command."""

import os
import re
import shutil
import subprocess

from kvmdbg_e2e import TestFailure, TestSkipped, check, scratch

LLDB_TIMEOUT = 300      # a hang guard for a whole session


class Session:
    """One lldb run over a list of commands, and what it printed for each."""

    def __init__(self, port, elf_path, commands, timeout=LLDB_TIMEOUT,
                 connect="gdb-remote 127.0.0.1:%d"):
        self.dir = scratch()
        self.log_path = os.path.join(self.dir, "packets.log")
        # LLDB's default of seconds for a reply is short for a loaded
        # machine or nested KVM.
        cmds = ["settings set plugin.process.gdb-remote.packet-timeout %d" % timeout,
                "log enable -f %s gdb-remote packets" % self.log_path,
                "target create %s" % elf_path,
                connect % port] + commands
        path = os.path.join(self.dir, "cmds.txt")
        with open(path, "w") as f:
            f.write("\n".join(cmds) + "\n")
        lldb = shutil.which("lldb")
        if not lldb:
            raise TestSkipped("lldb is not installed (apt-get install lldb)")
        try:
            proc = subprocess.run([lldb, "-x", "-b", "--no-use-colors", "-s", path],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, timeout=timeout,
                                  start_new_session=True)
        except subprocess.TimeoutExpired as e:
            raise TestFailure("lldb still running after %ds: %r" % (timeout, e.output))
        self.text = proc.stdout.decode("utf-8", "replace")
        self.status = proc.returncode
        # Every command is echoed after the prompt; its output follows.
        parts = re.split(r"^\(lldb\) (.*)$", self.text, flags=re.M)
        self.outputs = list(zip(parts[1::2], parts[2::2]))
        ran = [c for c, _ in self.outputs]
        missing = [c for c in cmds if c not in ran]
        check(not missing, "lldb did not run %r (exit %d): %s" % (missing[:1], self.status,
                                                                  self.text[-1500:]))
        with open(self.log_path, errors="replace") as f:
            self.log = f.read()

    def out(self, command, nth=0):
        """What the nth run of command printed."""
        found = [o for c, o in self.outputs if c == command]
        check(len(found) > nth, "no output of %r" % command)
        return found[nth]

    def regs(self, command, nth=0):
        """register read output as {name: value}."""
        out = self.out(command, nth)
        regs = {m.group(1): int(m.group(2), 16)
                for m in re.finditer(r"^\s*(\w+) = (0x[0-9a-f]+)", out, re.M)}
        check(regs, "%r printed no registers: %r" % (command, out))
        return regs

    def stop_pc(self, command, nth=0):
        out = self.out(command, nth)
        m = re.search(r"frame #0: (0x[0-9a-f]+)", out)
        check(m is not None, "%r printed no stop: %r" % (command, out))
        return int(m.group(1), 16)

    def frames(self, command="bt", nth=0):
        return re.findall(r"frame #\d+: 0x[0-9a-f]+ [\w.]+`(\w+)", self.out(command, nth))

    def answered(self, query, pattern):
        """The reply to query in the packet log, which must match pattern."""
        m = re.search(r"send packet: \$%s#[0-9a-f]{2}\n.*read packet: \$(.*)#[0-9a-f]{2}"
                      % re.escape(query), self.log)
        check(m is not None, "lldb did not send %s" % query)
        check(re.search(pattern, m.group(1)) is not None, "reply to %s: %r" % (query, m.group(1)))
        return m.group(1)
