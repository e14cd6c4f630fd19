/* SPDX-License-Identifier: MIT */
/* The stub's messages go to the embedding VMM's log, or to stderr. */
#include <stdarg.h>
#include <stdio.h>

#include "internal.h"

void stub_log(struct kvmdbg_stub *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (s->cfg.log)
		s->cfg.log(s->cfg.opaque, line);
	else
		fprintf(stderr, "kvmdbg: %s\n", line);
}
