/* SPDX-License-Identifier: MIT */
/* `monitor` commands: text out through 'O' packets, then OK. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char help[] =
	"kvmdbg monitor commands:\n"
	"  help          this text\n"
	"  caps          what the host KVM supports and the mechanism each feature uses\n"
	"  phys on|off   treat memory addresses as guest-physical (on) or virtual (off)\n"
	"  watchpoints   the active watchpoints and the mechanism serving each\n"
	"  breakpoints   every breakpoint and its state: planted (page protected or\n"
	"                not, and why), pending, or the hardware slot holding it\n";

static const char *const type_names[] = {
	[KD_HW_EXEC] = "hbreak", [KD_HW_WRITE] = "watch",
	[KD_HW_READ] = "rwatch", [KD_HW_ACCESS] = "awatch",
};

struct listing {
	char *out;
	size_t len;
	unsigned n;
};

static void add_line(struct listing *l, const char *type, uint64_t addr,
		     uint64_t len, const char *how)
{
	size_t used = strlen(l->out);

	if (used < l->len)
		snprintf(l->out + used, l->len - used, "%-7s 0x%llx len %llu: %s\n", type,
			 (unsigned long long)addr, (unsigned long long)len, how);
	l->n++;
}

static void list_watchpoints(struct kvmdbg_stub *s, char *out, size_t len)
{
	struct listing l = { out, len, 0 };
	struct kd_watch_info w;
	char how[64];

	out[0] = 0;
	for (unsigned p = 0; p < 2; p++) {
		for (unsigned i = 0; i < s->pools[p].n; i++) {
			const struct kd_hwslot *slot = &s->pools[p].slot[i];

			if (!slot->used || slot->type == KD_HW_EXEC)
				continue;
			snprintf(how, sizeof(how), "debug register slot %u", i);
			add_line(&l, type_names[slot->type], slot->addr, slot->len, how);
		}
	}
	for (size_t i = 0; kd_watchset_at(s->watches, i, &w); i++)
		add_line(&l, type_names[w.type], w.addr, w.len,
			 w.off ? "off (the processor uses its page itself)"
			 : w.type == KD_HW_WRITE ? "page protection (read-only page)"
						 : "page protection (unmapped page)");
	if (!l.n)
		snprintf(out, len, "no watchpoints\n");
	/* Shows the RAM slots are split around protected pages, and whole
	 * again once the last of them is gone.  Slots otherwise change when
	 * the guest resumes (gdb takes its breakpoints out at every stop and
	 * puts them back): as they will be then. */
	if (s->layout_dirty && stub_memslots_apply(s) < 0)
		stub_log(s, "watchpoint page protection could not be applied");
	if (s->vm_fd >= 0 && strlen(out) < len)
		snprintf(out + strlen(out), len - strlen(out), "memory slots: %u for guest RAM\n",
			 s->nslots);
}

void stub_monitor(struct kvmdbg_stub *s, const char *line)
{
	char out[2048];

	while (*line == ' ')
		line++;
	if (!strcmp(line, "help") || !*line) {
		stub_console(s, help);
	} else if (!strcmp(line, "caps")) {
		kvmdbg_caps_describe(s->arch, s->cfg.caps, out, sizeof(out));
		stub_console(s, out);
	} else if (!strcmp(line, "phys on") || !strcmp(line, "phys off")) {
		s->phys = !strcmp(line, "phys on");
		stub_console(s, s->phys ? "memory addresses are guest-physical\n"
					: "memory addresses are guest-virtual\n");
	} else if (!strcmp(line, "watchpoints")) {
		list_watchpoints(s, out, sizeof(out));
		stub_console(s, out);
	} else if (!strcmp(line, "breakpoints")) {
		stub_list_breakpoints(s);
	} else if (!strcmp(line, "phys")) {
		stub_console(s, s->phys ? "phys on\n" : "phys off\n");
	} else {
		snprintf(out, sizeof(out), "unknown monitor command '%s'; try 'monitor help'\n",
			 line);
		stub_console(s, out);
		stub_send(s, "E16", 3);
		return;
	}
	stub_send(s, "OK", 2);
}
