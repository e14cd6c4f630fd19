# SPDX-License-Identifier: MIT
"""Watchpoints (watch, rwatch, awatch) on the watch guest.

Where the host's debug registers do not report data breakpoints, every
watchpoint here is served by page protection: the watched pages hold other
bytes the guest keeps using (neighbouring pages, hot code and hot data), and
the guest must behave exactly as it does without a debugger.  The guest's
computation is replayed by Model, so each hit is checked against the values
the guest really has at that point."""

import os
import re
import struct
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from kvmdbg_e2e import (ChildGdb, Elf, TestFailure, check, check_eq, cont, cont_to_exit, debug,
                        events, exit_status, gdb, gdb_run, guest_path, kvmdbg, main, monitor,
                        packet, pc, read_mem, read_u64, resume, run, test)

GUEST = "watch.elf"
WATCH_EXIT = 0x2d
MASK = (1 << 64) - 1
ALIAS = 0x40000000       # boot32 maps virtual [1 GiB, 2 GiB) onto [0, 1 GiB)
PAGE = 4096
ROUNDS = 10
NVARS = 64
HOT_CALLS = 4
BUF_OFFSETS = (0, 4095, 1, 2048, 4000, 7, 1234, 3000, 8, 4094)
INPUT = 0x5eed
HOT_DATA_START = 0x0123456789abcdef
STRADDLE_ROUNDS = (2, 6)
BOOT_TIMEOUT = 10       # the guest's whole run takes a fraction of a second


# ---- the guest, replayed ------------------------------------------------------

def _rol(v, n):
    return ((v << n) | (v >> (64 - n))) & MASK


def _mix(h, v):
    return ((h ^ v) * 0x100000001b3) & MASK


class Model:
    """watch.c's computation with every watched access recorded in order."""

    def __init__(self):
        self.counter = 0
        self.acc = 0
        self.hot_data = HOT_DATA_START
        self.hot_var = 0
        self.area = bytearray(3 * PAGE)     # below, buf, above
        self.vars = [0] * NVARS
        self.straddle = 0
        self.counter_after = []             # the counter after each round
        self.buf_writes = []                # (round, offset, area right after the store)
        self.hot_writes = []                # (round, old, new, hot_data at that point)
        self.straddle_writes = []           # (round, old, new)
        self.var_writes = []                # (var index, new value), in program order
        for r in range(ROUNDS):
            self._round(r)
        for k in range(NVARS):
            i = k * 37 % NVARS
            self.vars[i] = (self.vars[i] + (((i + 1) << 32) | k)) & MASK
            self.var_writes.append((i, self.vars[i]))

    def _round(self, r):
        off = BUF_OFFSETS[r % ROUNDS]
        self.acc = (self.acc + INPUT * (r + 1)) & MASK
        self.counter = (self.counter * 3 + r + 1) & MASK
        self.counter_after.append(self.counter)
        self._add(PAGE - 1 - r % 16, r + 1)
        self._add(2 * PAGE + r % 16, r + 1)
        self._add(PAGE + off, 7 * r + 1)
        self.buf_writes.append((r, off, bytes(self.area)))
        self.acc = (self.acc + self.area[PAGE + (off + 1) % PAGE]) & MASK
        for k in range(HOT_CALLS):
            self.hot_data = _rol(self.hot_data, 5) ^ (r * HOT_CALLS + k)
            self.acc = (self.acc + self.hot_data) & MASK
        if r % 3 == 1:
            old = self.hot_var
            self.hot_var += r + 1
            self.hot_writes.append((r, old, self.hot_var, self.hot_data))
        if r in STRADDLE_ROUNDS:
            old = self.straddle
            self.straddle = (0x0102030405060708 * (r + 1)) & MASK
            self.straddle_writes.append((r, old, self.straddle))

    def _add(self, at, v):
        self.area[at] = (self.area[at] + v) & 0xff

    def checksum(self):
        h = 0xcbf29ce484222325
        for (w,) in struct.iter_unpack("<Q", self.area):
            h = _mix(h, w)
        for v in self.vars:
            h = _mix(h, v)
        h = _mix(h, self.straddle)
        return _mix(h, self.hot_data)

    def serial(self):
        return ("watch: start\nwatch: counter 0x%016x acc 0x%016x hot 0x%016x sum 0x%016x\n"
                % (self.counter, self.acc, self.hot_var, self.checksum()))

    def final_memory(self):
        """What snapshot() must read at watch_finish."""
        return {
            "area": bytes(self.area),
            "vars": struct.pack("<%dQ" % NVARS, *self.vars),
            "straddle": struct.pack("<Q", self.straddle),
            "hot": struct.pack("<QQ", self.hot_data, self.hot_var),
            "counter": struct.pack("<Q", self.counter),
            "acc": struct.pack("<Q", self.acc),
        }


MODEL = Model()


# ---- guest addresses ------------------------------------------------------------

class Layout:
    def __init__(self, elf):
        self.elf = elf
        self.counter = elf.sym("watch_counter")
        self.acc = elf.sym("watch_acc")
        self.input = elf.sym("watch_input")
        self.area = elf.sym("watch_area")
        self.buf = self.area + PAGE
        self.grid = elf.sym("watch_grid")
        self.vars = self.grid + PAGE - NVARS // 2 * 8
        self.straddle = elf.sym("watch_edge") + PAGE - 4
        self.hot_page = elf.sym("watch_hot_page")
        self.hot_step = elf.sym("watch_hot_step")
        self.hot_data = elf.sym("watch_hot_data")
        self.hot_var = elf.sym("watch_hot_var")

    def var(self, i):
        return self.vars + 8 * i


def layout(vm):
    lay = Layout(vm.elf)
    # The layout the tests rely on, checked rather than assumed.
    check_eq(lay.area % PAGE, 0, "watch_area alignment")
    check_eq(lay.vars // PAGE + 1, lay.var(NVARS - 1) // PAGE, "pages under watch_grid.vars")
    check_eq(lay.straddle % PAGE, PAGE - 4, "watch_edge.straddle page offset")
    for name, addr in (("watch_hot_step", lay.hot_step), ("watch_hot_data", lay.hot_data),
                       ("watch_hot_var", lay.hot_var)):
        check_eq(addr // PAGE, lay.hot_page // PAGE, "page of %s" % name)
    return lay


# ---- session helpers --------------------------------------------------------------

def start():
    vm = debug(GUEST)
    return vm, layout(vm)


def to_kmain():
    """Runs the boot code.  Read and access watches are set from here on:
    one set on the first instruction unmaps the page of the boot GDT while
    the boot code still loads it (see test_read_watch_from_first_instruction)."""
    gdb.Breakpoint("kmain", temporary=True)
    stop = cont(BOOT_TIMEOUT)
    check_eq(gdb.selected_frame().name(), "kmain", "function at the first stop")
    return stop


def watchpoint(command):
    """Creates a watchpoint with a gdb command; returns its gdb number."""
    before = {b.number for b in gdb.breakpoints()}
    out = gdb_run(command)
    new = [b for b in gdb.breakpoints() if b.number not in before]
    check(len(new) == 1, "%r created %d breakpoints: %r" % (command, len(new), out))
    check(out.startswith("Hardware"), "%r is not a hardware watchpoint: %r" % (command, out))
    return new[0].number


def report(command="continue", timeout=30):
    """Runs a resuming command; returns the stop and what gdb printed about
    it.  gdb prints a stop straight to its standard output, past to_string
    and logging, so that is caught at the file descriptor."""
    before = len(events.stops)
    with tempfile.TemporaryFile() as out:
        gdb.flush()
        saved = os.dup(1)
        os.dup2(out.fileno(), 1)
        try:
            resume(command, timeout)
        finally:
            gdb.flush()
            os.dup2(saved, 1)
            os.close(saved)
        out.seek(0)
        text = out.read().decode("utf-8", "replace")
    check(len(events.stops) > before, "%s produced no stop event (exits: %r)"
          % (command, events.exits))
    return events.stops[-1], text


def cont_report(timeout=30):
    return report("continue", timeout)


def _value(text):
    return int(text.strip().split()[0], 0)


def reported_change(text):
    """gdb's (old, new) for a watchpoint whose value changed."""
    m = re.search(r"^Old value = (.*)\nNew value = (.*)$", text, re.M)
    check(m is not None, "gdb reported no change: %r" % text)
    return _value(m.group(1)), _value(m.group(2))


def reported_value(text):
    """gdb's value for a read reported by rwatch or awatch."""
    m = re.search(r"^Value = (.*)$", text, re.M)
    check(m is not None, "gdb reported no value: %r" % text)
    return _value(m.group(1))


def check_watch_stop(stop, text, number, kind, addr, what):
    """A stop by watchpoint number, reported by the stub as kind at addr."""
    check_eq(stop["breakpoints"], [number], "%s: breakpoints of the stop" % what)
    check(re.search(r"watchpoint %d:" % number, text), "%s: gdb printed %r" % (what, text))
    last = packet("?")
    check("%s:%x;" % (kind, addr) in last, "%s: the stub's stop reply %r is not %s:%x"
          % (what, last, kind, addr))


def instruction_before(elf, func, stop_pc):
    """The instruction of func that ends where the guest stopped."""
    start = elf.sym(func)
    arch = gdb.selected_frame().architecture()
    for insn in arch.disassemble(start, start + elf.sym_size(func) - 1):
        if insn["addr"] + insn["length"] == stop_pc:
            return insn["asm"]
    raise TestFailure("no instruction of %s ends at the stop pc %#x" % (func, stop_pc))


STORE_RE = re.compile(r"^mov\w*\s+%\w+,")
LOAD_RE = re.compile(r"^mov\w*\s+[^%$,][^,]*,%\w+")


def check_after(elf, func, stop, pattern, target, what):
    """Trap semantics: the stop is in func right after the instruction that
    made the access, a store or load (pattern) whose operand shows target."""
    check_eq(gdb.selected_frame().name(), func, "%s: function" % what)
    asm = instruction_before(elf, func, stop["pc"])
    check(pattern.match(asm) and target in asm, "%s: the instruction before the stop pc %#x "
          "is %r, not an access to %s" % (what, stop["pc"], asm, target))


def round_arg():
    return int(gdb.parse_and_eval("r"))


def check_stderr_clean(vm):
    lines = [l for l in vm.stderr().splitlines() if "gdb stub listening on" not in l]
    check_eq(lines, [], "kvmdbg's messages")


def run_to_end(vm):
    """Runs the guest to its end: it must print and exit exactly as without
    a debugger, and kvmdbg must have had nothing to complain about."""
    cont_to_exit(vm, WATCH_EXIT)
    check_eq(vm.serial(), MODEL.serial(), "serial output")
    check_stderr_clean(vm)


def finish(vm):
    gdb_run("delete")
    run_to_end(vm)


def snapshot(lay):
    """The memory the guest computes, read through gdb."""
    return {
        "area": read_mem(lay.area, 3 * PAGE),
        "vars": read_mem(lay.vars, 8 * NVARS),
        "straddle": read_mem(lay.straddle, 8),
        "hot": read_mem(lay.hot_data, 16),
        "counter": read_mem(lay.counter, 8),
        "acc": read_mem(lay.acc, 8),
    }


def check_same_memory(got, expected, what):
    for key in expected:
        check_eq(got[key], expected[key], "%s: %s" % (what, key))


# ---- tests ------------------------------------------------------------------------

@test
def test_guest_without_debugger():
    vm = run(guest_path(GUEST), timeout=BOOT_TIMEOUT)
    check_eq(vm.status, exit_status(WATCH_EXIT), "exit status")
    check_eq(vm.serial(), MODEL.serial(), "serial output")


@test
def test_watch_global_written_in_loop():
    vm, lay = start()
    n = watchpoint("watch watch_counter")
    old = 0
    for r, new in enumerate(MODEL.counter_after):
        what = "hit %d" % r
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "watch", lay.counter, what)
        check_eq(reported_change(text), (old, new), "%s: gdb's old and new value" % what)
        check_after(vm.elf, "watch_round", stop, STORE_RE, "<watch_counter>", what)
        check_eq(round_arg(), r, "%s: round" % what)
        old = new
    check_eq(gdb.breakpoints()[0].hit_count, ROUNDS, "hit count")
    # No write after the loop: the guest runs to its end.
    run_to_end(vm)


@test
def test_rwatch_global_read_in_loop():
    vm, lay = start()
    to_kmain()
    n = watchpoint("rwatch watch_input")
    for r in range(ROUNDS):
        what = "read %d" % r
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "rwatch", lay.input, what)
        check_eq(reported_value(text), INPUT, "%s: gdb's value" % what)
        check_after(vm.elf, "watch_round", stop, LOAD_RE, "<watch_input>", what)
        check_eq(round_arg(), r, "%s: round" % what)
    finish(vm)


@test
def test_awatch_reads_and_writes():
    vm, lay = start()
    to_kmain()
    n = watchpoint("awatch watch_counter")
    old = 0
    for r, new in enumerate(MODEL.counter_after):
        what = "round %d read" % r
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "awatch", lay.counter, what)
        check_eq(reported_value(text), old, "%s: gdb's value" % what)
        check_after(vm.elf, "watch_round", stop, LOAD_RE, "<watch_counter>", what)
        check_eq(round_arg(), r, "%s: round" % what)
        what = "round %d write" % r
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "awatch", lay.counter, what)
        check_eq(reported_change(text), (old, new), "%s: gdb's old and new value" % what)
        check_after(vm.elf, "watch_round", stop, STORE_RE, "<watch_counter>", what)
        check_eq(round_arg(), r, "%s: round" % what)
        old = new
    # kmain reads the counter once more to print it.
    stop, text = cont_report()
    check_watch_stop(stop, text, n, "awatch", lay.counter, "final read")
    check_eq(reported_value(text), MODEL.counter, "final read: gdb's value")
    check_after(vm.elf, "kmain", stop, LOAD_RE, "<watch_counter>", "final read")
    finish(vm)


@test
def test_sixty_four_watchpoints():
    vm, lay = start()
    numbers = [watchpoint("watch -location watch_grid.vars[%d]" % i) for i in range(NVARS)]
    for k, (i, new) in enumerate(MODEL.var_writes):
        what = "hit %d (vars[%d])" % (k, i)
        stop, text = cont_report()
        check_watch_stop(stop, text, numbers[i], "watch", lay.var(i), what)
        check_eq(reported_change(text), (0, new), "%s: gdb's old and new value" % what)
        check_after(vm.elf, "watch_update_vars", stop, STORE_RE, "%#x(" % lay.grid, what)
    check_eq([b.hit_count for b in gdb.breakpoints()], [1] * NVARS, "hit counts")
    run_to_end(vm)


@test
def test_watch_whole_page_buffer():
    vm, lay = start()
    n = watchpoint("watch -location watch_area.buf")
    for r, off, area in MODEL.buf_writes:
        what = "round %d (buf[%d])" % (r, off)
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "watch", lay.buf + off, what)
        check_after(vm.elf, "watch_round", stop, STORE_RE, "%#x(" % lay.buf, what)
        check_eq(round_arg(), r, "%s: round" % what)
        # The round's writes to the neighbouring pages came first and did
        # not stop: they are in memory already.
        check_eq(read_mem(lay.area, 3 * PAGE), area, "%s: the three pages" % what)
    finish(vm)


@test
def test_watch_on_page_of_hot_code_and_data():
    vm, lay = start()
    n = watchpoint("watch *(unsigned long *)%#x" % lay.hot_var)
    for r, old, new, hot_data in MODEL.hot_writes:
        what = "round %d" % r
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "watch", lay.hot_var, what)
        check_eq(reported_change(text), (old, new), "%s: gdb's old and new value" % what)
        check_after(vm.elf, "watch_round", stop, STORE_RE, "<watch_hot_var>", what)
        check_eq(round_arg(), r, "%s: round" % what)
        # The code and the data on the same page ran as usual meanwhile.
        check_eq(read_mem(lay.hot_data, 8), struct.pack("<Q", hot_data), "%s: watch_hot_data"
                 % what)
    run_to_end(vm)


@test
def test_awatch_on_page_of_hot_code_and_data():
    # The page is unmapped: every instruction of watch_hot_step is fetched
    # from it, and its stores to watch_hot_data land on it.
    vm, lay = start()
    n = watchpoint("awatch *(unsigned long *)%#x" % lay.hot_var)
    for r, old, new, hot_data in MODEL.hot_writes:
        what = "round %d read" % r
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "awatch", lay.hot_var, what)
        check_eq(reported_value(text), old, "%s: gdb's value" % what)
        check_after(vm.elf, "watch_round", stop, LOAD_RE, "<watch_hot_var>", what)
        check_eq(round_arg(), r, "%s: round" % what)
        check_eq(read_mem(lay.hot_data, 8), struct.pack("<Q", hot_data), "%s: watch_hot_data"
                 % what)
        what = "round %d write" % r
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "awatch", lay.hot_var, what)
        check_eq(reported_change(text), (old, new), "%s: gdb's old and new value" % what)
        check_after(vm.elf, "watch_round", stop, STORE_RE, "<watch_hot_var>", what)
    stop, text = cont_report()
    check_watch_stop(stop, text, n, "awatch", lay.hot_var, "final read")
    check_eq(reported_value(text), MODEL.hot_var, "final read: gdb's value")
    check_after(vm.elf, "kmain", stop, LOAD_RE, "<watch_hot_var>", "final read")
    run_to_end(vm)


@test
def test_watch_straddling_two_pages():
    # One store, split by the page boundary into two accesses: one stop.
    vm, lay = start()
    n = watchpoint("watch *(unsigned long *)%#x" % lay.straddle)
    for r, old, new in MODEL.straddle_writes:
        what = "round %d" % r
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "watch", lay.straddle, what)
        check_eq(reported_change(text), (old, new), "%s: gdb's old and new value" % what)
        check_after(vm.elf, "watch_round", stop, STORE_RE, "<watch_edge+%d>" % (PAGE - 4),
                    what)
        check_eq(round_arg(), r, "%s: round" % what)
    run_to_end(vm)


@test
def test_delete_mid_run():
    vm, lay = start()
    to_kmain()
    watchpoint("watch watch_counter")
    watchpoint("rwatch watch_input")
    watchpoint("awatch *(unsigned long *)%#x" % lay.hot_var)
    watchpoint("watch -location watch_area.buf")
    for _ in range(5):
        cont()
    check_eq(round_arg(), 1, "round after five stops")
    # Any stop after this fails cont_to_exit.
    finish(vm)


def watch_all_kinds(lay):
    """One watchpoint of each kind and on each kind of page; returns how
    many stops they make before watch_finish."""
    watchpoint("watch watch_counter")
    watchpoint("rwatch watch_input")
    watchpoint("awatch *(unsigned long *)%#x" % lay.hot_var)
    watchpoint("watch -location watch_area.buf")
    watchpoint("watch -location watch_grid.vars[7]")
    watchpoint("watch -location watch_grid.vars[40]")
    return ROUNDS + ROUNDS + 2 * len(MODEL.hot_writes) + len(MODEL.buf_writes) + 2


@test
def test_detach_with_watchpoints():
    vm, lay = start()
    to_kmain()
    watch_all_kinds(lay)
    cont()
    cont()
    check_eq(round_arg(), 0, "round at the second stop")
    # Watchpoints only the stub knows about must go as well.
    for z in ("Z2,%x,8" % lay.var(3), "Z3,%x,8" % lay.acc, "Z4,%x,1" % (lay.buf + 5)):
        check_eq(packet(z), "OK", z)
    gdb_run("detach")
    vm.expect_exit(exit_status(WATCH_EXIT))
    check_eq(vm.serial(), MODEL.serial(), "serial output after detach")
    check_stderr_clean(vm)


@test
def test_gdb_killed_with_watchpoints_inserted():
    path = guest_path(GUEST)
    lay = Layout(Elf(path))
    vm = kvmdbg("run", "--gdb", "tcp:127.0.0.1:0", "-S", path)
    vm.wait_listening()
    g = ChildGdb(path)
    g.mi("-target-select remote 127.0.0.1:%d" % vm.port)
    g.console("set breakpoint always-inserted on")
    g.console("break kmain")
    g.mi("-exec-continue")
    g.wait_for(r'^\*stopped,reason="breakpoint-hit"')
    g.console("delete")
    g.console("watch watch_counter")
    g.console("rwatch watch_input")
    g.console("awatch *(unsigned long *)%#x" % lay.hot_var)
    g.console("watch -location watch_area.buf")
    g.mi("-exec-continue")
    g.wait_for(r'^\*stopped,reason="(read-|access-)?watchpoint-trigger"')
    g.kill()
    vm.expect_exit(exit_status(WATCH_EXIT))
    check_eq(vm.serial(), MODEL.serial(), "serial output after gdb died")
    check_stderr_clean(vm)


@test
def test_same_behaviour_with_and_without_watchpoints():
    plain = run(guest_path(GUEST), timeout=BOOT_TIMEOUT)
    expected = MODEL.final_memory()

    vm, lay = start()
    gdb.Breakpoint("watch_finish")
    cont()
    without = snapshot(lay)
    check_same_memory(without, expected, "final memory without watchpoints")
    finish(vm)

    vm, lay = start()
    to_kmain()
    hits = watch_all_kinds(lay)
    final = gdb.Breakpoint("watch_finish")
    stops = 0
    while True:
        stop = cont()
        if stop["breakpoints"] == [final.number]:
            break
        check(stop["breakpoints"], "a stop at %#x by no watchpoint" % stop["pc"])
        stops += 1
        check(stops <= hits, "more than %d watchpoint stops" % hits)
    check_eq(stops, hits, "watchpoint stops")
    check_same_memory(snapshot(lay), without, "final memory with watchpoints")
    finish(vm)
    check_eq(vm.serial(), plain.serial(), "serial output against the run without gdb")
    check_eq(vm.status, plain.status, "exit status against the run without gdb")


def caps_rows():
    rows = {}
    for line in monitor("caps").splitlines():
        key, sep, value = line.partition(": ")
        if sep:
            rows[key.strip()] = value.strip()
    return rows


LISTING_RE = re.compile(r"^(\w+)\s+0x([0-9a-f]+) len (\d+): (.+)$")


def watchpoint_text():
    """monitor watchpoints without its closing memory-slot count."""
    return "".join(l + "\n" for l in monitor("watchpoints").splitlines()
                   if not l.startswith("memory slots: "))


def listing():
    rows = set()
    for line in monitor("watchpoints").splitlines():
        if line.startswith("memory slots: "):
            continue
        m = LISTING_RE.match(line)
        check(m is not None, "unexpected line in monitor watchpoints: %r" % line)
        rows.add((m.group(1), int(m.group(2), 16), int(m.group(3)), m.group(4)))
    return rows


@test
def test_monitor_watchpoints_and_caps():
    vm, lay = start()
    rows = caps_rows()
    check("watchpoints" in rows, "caps has no watchpoints line")
    check("page-watch" in rows, "caps has no page-watch line")
    check(re.match(r"write by read-only memory slots \(unlimited\); "
                   r"read and access by unmapped pages \(unlimited\)$", rows["page-watch"]),
          "page-watch: %s" % rows["page-watch"])
    registers = not rows["watchpoints"].startswith("page protection only")
    check(registers or "not reported" in rows["watchpoints"],
          "watchpoints: %s" % rows["watchpoints"])

    to_kmain()
    check_eq(watchpoint_text(), "no watchpoints\n", "listing before any watchpoint")
    gdb_run("set breakpoint always-inserted on")
    try:
        watchpoint("watch watch_counter")
        watchpoint("rwatch watch_input")
        watchpoint("awatch *(unsigned long *)%#x" % lay.hot_var)
        watchpoint("watch -location watch_area.buf")
        cont()
        read_only = "page protection (read-only page)"
        unmapped = "page protection (unmapped page)"
        got = listing()
        # Debug registers take the 8-byte write and access watches where
        # they work; x86 has no read-only data breakpoint, and none spans
        # a page.
        if registers:
            got = {row for row in got if not row[3].startswith("debug register slot")}
            expected = {("rwatch", lay.input, 8, unmapped),
                        ("watch", lay.buf, PAGE, read_only)}
        else:
            expected = {("watch", lay.counter, 8, read_only),
                        ("rwatch", lay.input, 8, unmapped),
                        ("awatch", lay.hot_var, 8, unmapped),
                        ("watch", lay.buf, PAGE, read_only)}
        check_eq(got, expected, "monitor watchpoints")
    finally:
        gdb_run("set breakpoint always-inserted off")
    # From the next stop on, gdb takes them out while stopped.
    cont()
    check_eq(watchpoint_text(), "no watchpoints\n", "listing after gdb removed them")
    finish(vm)


@test
def test_overlapping_watchpoints():
    vm, lay = start()
    whole = watchpoint("watch -location watch_area.buf")
    byte = watchpoint("watch -location watch_area.buf[2048]")
    for r, off, area in MODEL.buf_writes:
        what = "round %d (buf[%d])" % (r, off)
        stop, text = cont_report()
        expected = sorted((whole, byte)) if off == 2048 else [whole]
        check_eq(sorted(stop["breakpoints"]), expected, "%s: watchpoints of the stop" % what)
        check("watch:%x;" % (lay.buf + off) in packet("?"), "%s: stop reply" % what)
        check_eq(round_arg(), r, "%s: round" % what)
    finish(vm)


def store_to(elf, func, target):
    """Address and length of func's one store whose operand shows target."""
    start = elf.sym(func)
    arch = gdb.selected_frame().architecture()
    found = [(insn["addr"], insn["length"])
             for insn in arch.disassemble(start, start + elf.sym_size(func) - 1)
             if STORE_RE.match(insn["asm"]) and target in insn["asm"]]
    check_eq(len(found), 1, "stores to %s in %s" % (target, func))
    return found[0]


@test
def test_watched_store_under_breakpoint():
    # The store runs as a single step: with stepi, and when gdb steps over
    # the breakpoint to continue.  The step and the watchpoint end in the
    # same instruction and must make one stop.
    vm, lay = start()
    store, length = store_to(vm.elf, "watch_round", "<watch_counter>")
    bp = gdb.Breakpoint("*%#x" % store)
    n = watchpoint("watch watch_counter")
    old = 0
    for r, new in enumerate(MODEL.counter_after[:4]):
        what = "round %d" % r
        stop = cont()
        check_eq((stop["pc"], stop["breakpoints"]), (store, [bp.number]), "%s: breakpoint" % what)
        command = "stepi" if r % 2 == 0 else "continue"
        what = "round %d %s" % (r, command)
        stop, text = report(command)
        check_eq(stop["breakpoints"], [n], "%s: breakpoints of the stop" % what)
        check_eq(reported_change(text), (old, new), "%s: gdb's old and new value" % what)
        check_eq(stop["pc"], store + length, "%s: pc" % what)
        check_eq(round_arg(), r, "%s: round" % what)
        old = new
    finish(vm)


REFUSED_RE = re.compile(r"^kvmdbg: Z\d at 0x[0-9a-f]+ refused: .+$")


@test
def test_watch_packets_edge_cases():
    vm, lay = start()
    to_kmain()
    refused = ("Z2,%x,0" % lay.counter,                 # empty range
               "Z3,80000000,8",                         # not mapped by the guest
               "Z4,%x,8" % ((1 << 64) - 0x100))         # not canonical
    for z in refused:
        check(packet(z).startswith("E"), "%s was accepted" % z)
    check_eq(watchpoint_text(), "no watchpoints\n", "listing after refused inserts")
    # Inserting and removing are idempotent: a packet sent twice is one.
    z2 = "Z2,%x,8" % lay.counter
    check_eq(packet(z2), "OK", z2)
    check_eq(packet(z2), "OK", z2 + " again")
    got = listing()
    check_eq([(t, a, l) for (t, a, l, _) in got], [("watch", lay.counter, 8)],
             "listing after the same Z2 twice")
    check_eq(packet("z" + z2[1:]), "OK", "z2")
    check_eq(watchpoint_text(), "no watchpoints\n", "listing after one z2")
    check_eq(packet("z3,%x,8" % lay.input), "OK", "z3 of a watchpoint never inserted")
    # Any stop fails cont_to_exit.
    cont_to_exit(vm, WATCH_EXIT)
    check_eq(vm.serial(), MODEL.serial(), "serial output")
    lines = [l for l in vm.stderr().splitlines() if "gdb stub listening on" not in l]
    check_eq(len(lines), len(refused), "kvmdbg's messages: %r" % lines)
    for line in lines:
        check(REFUSED_RE.match(line), "unexpected message %r" % line)


@test
def test_read_watch_from_first_instruction():
    # The page of watch_input also holds the boot GDT: lgdt and the segment
    # loads after it read that page while it is unmapped.
    vm, lay = start()
    check_eq(lay.input // PAGE, vm.elf.sym("gdt64") // PAGE, "page of watch_input")
    n = watchpoint("rwatch watch_input")
    try:
        # Each segment load from the unmapped page waits for the stub's
        # watchdog (tens of milliseconds, more on a loaded machine).
        stub_watchdog_budget = 4 * BOOT_TIMEOUT
        stop, text = cont_report(timeout=stub_watchdog_budget)
    except TestFailure as e:
        raise TestFailure("%s; the guest is at %#x in %s" % (e, pc(),
                                                             gdb.selected_frame().name()))
    check_watch_stop(stop, text, n, "rwatch", lay.input, "first read")
    check_eq(reported_value(text), INPUT, "first read: gdb's value")
    check_eq(round_arg(), 0, "first read: round")
    finish(vm)


@test
def test_read_watch_from_first_instruction_with_code_hidden():
    # As above, with the boot code's page hidden too (a read watch on a
    # byte of it): the far jump to 64-bit code is fetched from one hidden
    # page and reads its descriptor from another, so its one step with the
    # code page mapped back ends where it began; the next is taken with
    # every page mapped.
    vm, lay = start()
    code = vm.elf.sym("_start") // PAGE
    check(code != lay.input // PAGE, "the boot code shares the page of watch_input")
    n = watchpoint("rwatch watch_input")
    watchpoint("rwatch *(char *)%#x" % (code * PAGE))
    stop, text = cont_report(timeout=4 * BOOT_TIMEOUT)
    check_watch_stop(stop, text, n, "rwatch", lay.input, "first read")
    check_eq(reported_value(text), INPUT, "first read: gdb's value")
    finish(vm)


@test
def test_read_watch_on_page_tables_refused():
    # Unmapping a page the processor walks would fault the guest: kvmdbg
    # refuses read and access watches there and keeps write watches.
    vm, lay = start()
    to_kmain()
    cr3 = int(gdb.parse_and_eval("$cr3")) & ~0xfff
    table_entry = cr3 + 8
    for z in ("Z3,%x,8" % table_entry, "Z4,%x,8" % table_entry):
        check(packet(z).startswith("E"), "%s was accepted" % z)
    check("page tables" in vm.stderr(), "kvmdbg names the reason: %r" % vm.stderr())
    check_eq(packet("Z2,%x,8" % table_entry), "OK", "a write watch on the same page")
    check_eq(packet("z2,%x,8" % table_entry), "OK", "its removal")
    cont_to_exit(vm, WATCH_EXIT)
    check_eq(vm.serial(), MODEL.serial(), "serial output")


def memory_slots():
    m = re.search(r"^memory slots: (\d+) for guest RAM$", monitor("watchpoints"), re.M)
    check(m is not None, "monitor watchpoints names no memory slots")
    return int(m.group(1))


@test
def test_watch_through_alias_and_slots_restored():
    # A watch by one virtual address catches writes through another mapping
    # of the same physical page (boot32 maps [1 GiB, 2 GiB) onto [0, 1 GiB)).
    vm, lay = start()
    to_kmain()
    check_eq(memory_slots(), 1, "slots before any watchpoint")
    alias = ALIAS + lay.counter
    gdb_run("set breakpoint always-inserted on")
    try:
        n = watchpoint("watch *(unsigned long *)%#x" % alias)
        stop, text = cont_report()
        check_watch_stop(stop, text, n, "watch", alias, "write through the direct mapping")
        old, new = reported_change(text)
        check(old != new, "gdb reported a change from %#x to %#x" % (old, new))
        check_eq(read_u64(lay.counter), new, "the new value through the direct mapping")
        check(memory_slots() > 1, "RAM slots split around the watched page")
        gdb_run("delete")
        bp = gdb.Breakpoint("*%#x" % vm.elf.sym("watch_finish"))
        cont()
        bp.delete()
        check_eq(memory_slots(), 1, "slots once the last watchpoint is gone")
    finally:
        gdb_run("set breakpoint always-inserted off")
    cont_to_exit(vm, WATCH_EXIT)
    check_eq(vm.serial(), MODEL.serial(), "serial output")


main()
