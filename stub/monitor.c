/* SPDX-License-Identifier: MIT */
/* `monitor` commands: text out through 'O' packets, then OK. */
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const char help[] =
	"kvmdbg monitor commands:\n"
	"  help          this text\n"
	"  caps          what the host KVM supports and the mechanism each feature uses\n"
	"  phys on|off   treat memory addresses as guest-physical (on) or virtual (off)\n";

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
