# SPDX-License-Identifier: MIT
"""A nested machine's initramfs, written directly as a "newc" cpio archive
(no staging directory, so device nodes need no privileges)."""

import lzma
import os
import stat

HERE = os.path.dirname(os.path.abspath(__file__))

class Archive:
    def __init__(self):
        self.entries = []
        self.dirs = set()

    def _add(self, name, mode, data=b"", rdev=(0, 0)):
        parent = os.path.dirname(name)
        if parent and parent not in self.dirs:
            self.directory(parent)
        self.entries.append((name, mode, data, rdev))

    def directory(self, name):
        if name not in self.dirs:
            self.dirs.add(name)
            self._add(name, stat.S_IFDIR | 0o755)

    def file(self, name, data, executable=False):
        self._add(name, stat.S_IFREG | (0o755 if executable else 0o644), data)

    def char_device(self, name, major, minor):
        self._add(name, stat.S_IFCHR | 0o600, rdev=(major, minor))

    def write(self, path):
        with open(path, "wb") as f:
            for ino, (name, mode, data, rdev) in enumerate(self.entries, 1):
                f.write(_header(ino, name, mode, len(data), rdev))
                f.write(data)
                f.write(_pad(len(data)))
            f.write(_header(0, "TRAILER!!!", 0, 0, (0, 0)))


def _header(ino, name, mode, size, rdev):
    encoded = name.encode() + b"\0"
    fields = (ino, mode, 0, 0, 1, 0, size, 0, 0, rdev[0], rdev[1], len(encoded), 0)
    head = b"070701" + b"".join(b"%08x" % v for v in fields) + encoded
    return head + _pad(len(head))


def _pad(n):
    return b"\0" * (-n % 4)


def kernel_files(kernel_dir, wanted):
    """(vmlinuz path, {module name: .ko path}) of an unpacked kernel package:
    the modules named in wanted."""
    boot = os.path.join(kernel_dir, "boot")
    images = sorted(n for n in os.listdir(boot) if n.startswith("vmlinuz-"))
    if len(images) != 1:
        raise RuntimeError("expected one vmlinuz in %s, found %r" % (boot, images))
    release = images[0][len("vmlinuz-"):]
    modules = {}
    for root, _, names in os.walk(os.path.join(kernel_dir, "lib", "modules", release)):
        for n in names:
            for suffix in (".ko", ".ko.xz"):
                if n.endswith(suffix) and n[:-len(suffix)] in wanted:
                    modules[n[:-len(suffix)]] = os.path.join(root, n)
    missing = [m for m in wanted if m not in modules]
    if missing:
        raise RuntimeError("kernel %s lacks modules %s" % (release, ", ".join(missing)))
    return os.path.join(boot, images[0]), modules


def _read(path):
    with open(path, "rb") as f:
        data = f.read()
    # busybox insmod takes the module as it is; it cannot decompress it.
    return lzma.decompress(data) if path.endswith(".xz") else data


def build_linux_guest(path, busybox):
    """Writes the initramfs of the Linux guest booted under kvmdbg: busybox
    and linux_init.sh as /init."""
    a = Archive()
    a.directory("dev")
    a.char_device("dev/console", 5, 1)
    a.file("bin/busybox", _read(busybox), executable=True)
    a.file("init", _read(os.path.join(HERE, "linux_init.sh")), executable=True)
    a.write(path)


def build(path, busybox, order, modules, files):
    """Writes the initramfs: busybox, the kernel modules init.sh loads (in
    order, each after those it needs; modules maps their names to .ko
    paths), /init and files, a {path inside: host path} map of further
    executables."""
    a = Archive()
    a.directory("dev")
    a.char_device("dev/console", 5, 1)
    a.file("bin/busybox", _read(busybox), executable=True)
    a.file("init", _read(os.path.join(HERE, "init.sh")), executable=True)
    for name in order:
        a.file("modules/%s.ko" % name, _read(modules[name]))
    a.file("modules/order", ("\n".join(order) + "\n").encode())
    for inside, host in sorted(files.items()):
        a.file(inside, _read(host), executable=True)
    a.write(path)
