# SPDX-License-Identifier: MIT
"""make install: the installed tree, what the library exports, headers that
compile alone, the pkg-config file, the manual page, make uninstall.

The prefix checked is the one `make example` installed into (the build
directory's example-prefix); install and uninstall with DESTDIR are run
here into a scratch directory."""

import os
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import KVMDBG, REPO, TestFailure, check, check_eq, main, scratch, test

BUILD = os.path.dirname(os.path.abspath(KVMDBG))
PREFIX = os.path.join(BUILD, "example-prefix")
PUBLIC_HEADERS = ("host.h", "stub.h")
INSTALLED = ["bin/kvmdbg", "lib/libkvmdbg.a", "lib/pkgconfig/kvmdbg.pc",
             "share/man/man1/kvmdbg.1"] + ["include/kvmdbg/" + h for h in PUBLIC_HEADERS]
# Options of `kvmdbg --help`, each named in the manual page.
OPTION_RE = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")


def sh(argv, env=None, cwd=REPO):
    p = subprocess.run(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=300)
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def prefix_path(rel):
    path = os.path.join(PREFIX, rel)
    if not os.path.exists(path):
        raise TestFailure("%s is not installed (make example installs %s)" % (rel, PREFIX))
    return path


def version():
    with open(os.path.join(REPO, "vmm", "vmm.h")) as f:
        return re.search(r'#define KVMDBG_VERSION\s+"([^"]+)"', f.read()).group(1)


def make(*args):
    """make in the repository, for the build directory under test."""
    rel = os.path.relpath(BUILD, REPO)
    arch = os.environ.get("KVMDBG_ARCH", "x86_64")
    status, out, err = sh(["make", "--no-print-directory", "O=" + rel, "ARCH=" + arch] +
                          list(args))
    check_eq(status, 0, "status of make %s (%s)" % (" ".join(args), err.strip()[-400:]))
    return out


@test
def test_installed_tree():
    for rel in INSTALLED:
        prefix_path(rel)
    status, out, _ = sh([prefix_path("bin/kvmdbg"), "--version"])
    check_eq((status, out), (0, "kvmdbg %s\n" % version()), "installed kvmdbg --version")
    check_eq(sorted(os.listdir(prefix_path("include/kvmdbg"))), sorted(PUBLIC_HEADERS),
             "installed headers")


@test
def test_library_exports_only_kvmdbg_names():
    status, out, err = sh(["nm", "-g", prefix_path("lib/libkvmdbg.a")])
    check_eq(status, 0, "nm status (%s)" % err.strip())
    defined = [line.split()[-1] for line in out.splitlines()
               if re.match(r"^[0-9a-f]+ [A-TV-Z] ", line)]
    check(defined, "nm shows no defined global symbol: %r" % out[:300])
    others = [name for name in defined if not name.startswith("kvmdbg_")]
    check_eq(others, [], "global symbols without the kvmdbg_ prefix")
    # Every function the headers declare is there.
    declared = set()
    for h in PUBLIC_HEADERS:
        with open(prefix_path("include/kvmdbg/" + h)) as f:
            declared |= set(re.findall(r"\b(kvmdbg_\w+)\(", f.read()))
    check_eq(sorted(declared - set(defined)), [], "declared functions missing from the library")


@test
def test_each_header_compiles_alone():
    compilers = [cc for cc in ("gcc", "clang") if shutil.which(cc)]
    check(compilers, "neither gcc nor clang found")
    work = scratch()
    headers = [("-I" + os.path.join(PREFIX, "include"), "kvmdbg/" + h) for h in PUBLIC_HEADERS]
    # The library's own headers too, from the source tree.
    headers += [("-I" + os.path.join(REPO, "include"), "kvmdbg/" + h)
                for h in sorted(os.listdir(os.path.join(REPO, "include", "kvmdbg")))]
    for cc in compilers:
        for inc, h in headers:
            src = os.path.join(work, "one.c")
            with open(src, "w") as f:
                f.write("#include <%s>\n" % h)
            status, _, err = sh([cc, "-std=gnu11", "-Wall", "-Wextra", "-Werror", "-fsyntax-only",
                                 inc, src])
            check_eq(status, 0, "%s on #include <%s> alone (%s) status (%s)"
                     % (cc, h, inc, err.strip()[-300:]))


@test
def test_pkg_config():
    env = dict(os.environ, PKG_CONFIG_LIBDIR=prefix_path("lib/pkgconfig"), PKG_CONFIG_PATH="")
    status, out, err = sh(["pkg-config", "--modversion", "kvmdbg"], env=env)
    check_eq((status, out.strip()), (0, version()), "pkg-config --modversion (%s)" % err.strip())
    status, out, _ = sh(["pkg-config", "--cflags", "--libs", "kvmdbg"], env=env)
    words = out.split()
    check("-I" + os.path.join(PREFIX, "include") in words, "no -I of the prefix in %r" % out)
    check("-L" + os.path.join(PREFIX, "lib") in words and "-lkvmdbg" in words,
          "no -L of the prefix and -lkvmdbg in %r" % out)


@test
def test_man_page_renders_without_warnings_and_names_every_option():
    page = prefix_path("share/man/man1/kvmdbg.1")
    env = dict(os.environ, MANWIDTH="80", MAN_KEEP_FORMATTING="", LC_ALL="C.UTF-8")
    status, out, err = sh(["man", "--warnings", "-l", page], env=env)
    check_eq((status, err), (0, ""), "man --warnings -l status and messages")
    text = re.sub(r".\x08", "", out)
    for section in ("SYNOPSIS", "DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES"):
        check(re.search(r"^%s$" % section, text, re.M), "no %s section" % section)
    _, usage, _ = sh([prefix_path("bin/kvmdbg"), "--help"])
    options = set(OPTION_RE.findall(usage.split("\n\n")[0] + usage.split("\n\n")[1]))
    check(len(options) > 15, "too few options found in kvmdbg --help: %r" % sorted(options))
    missing = sorted(o for o in options if not re.search(r"(?<![\w-])%s(?![\w-])"
                                                         % re.escape(o), text))
    check_eq(missing, [], "options of kvmdbg --help absent from the manual page")
    for status_line in ("0", "2", "4", "6"):
        check(re.search(r"^\s+%s\s*$" % status_line, text, re.M) or
              re.search(r"^\s+%s\s{2,}\S" % status_line, text, re.M),
              "exit status %s not described" % status_line)


@test
def test_destdir_install_and_uninstall():
    root = scratch()
    make("install", "PREFIX=/usr", "DESTDIR=" + root)
    for rel in INSTALLED:
        check(os.path.isfile(os.path.join(root, "usr", rel)), "%s not installed under DESTDIR" % rel)
    with open(os.path.join(root, "usr/lib/pkgconfig/kvmdbg.pc")) as f:
        check_eq(f.readline().strip(), "prefix=/usr", "prefix line of kvmdbg.pc")
    make("uninstall", "PREFIX=/usr", "DESTDIR=" + root)
    left = [os.path.join(d, f) for d, _, files in os.walk(root) for f in files]
    check_eq(left, [], "files left after make uninstall")


main()
