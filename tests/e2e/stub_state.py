# SPDX-License-Identifier: MIT
"""Run by a gdb attached to a kvmdbg that a failed test left running: prints
one line on what its stub and vCPU threads were doing, for the FAIL line
of a hang.  Needs kvmdbg's debug information."""

import gdb


def frames(thread):
    thread.switch()
    f = gdb.newest_frame()
    while f is not None:
        yield f
        f = f.older()


def where(thread):
    """The first function of kvmdbg's own on the thread's stack."""
    names = [f.name() for f in frames(thread) if f.name()]
    own = [n for n in names if n.startswith(("kvmdbg_", "stub_", "vcpu_main"))]
    inner = names[0] if names else "?"
    return "%s<%s" % (inner, own[0]) if own else inner


def stub_line():
    for t in gdb.selected_inferior().threads():
        for f in frames(t):
            if f.name() == "stub_thread_main":
                f.select()
                s = gdb.parse_and_eval("s").dereference()
                head = "stopping=%d exclusive=%d nparked=%d nwaiting=%d" % tuple(
                    int(s[k]) for k in ("stopping", "exclusive", "nparked", "nwaiting"))
                vcpus = []
                for i in range(int(s["nvcpus"])):
                    v = s["vcpus"][i]
                    flags = [k for k in ("runnable", "parked", "unhide_step", "stepping_over",
                                         "io_pending", "over_pending", "ns_stop_req", "ns_seen")
                             if int(v[k])]
                    vcpus.append("%d:%s" % (i, "+".join(flags) or "-"))
                return head + "; vCPUs " + " ".join(vcpus)
    return "no stub thread"


try:
    line = stub_line()
except gdb.error as e:
    line = "stub state unreadable (%s)" % e
threads = sorted(gdb.selected_inferior().threads(), key=lambda t: t.num)
print("STUB-STATE: %s; threads %s" % (line, ", ".join(where(t) for t in threads)))
