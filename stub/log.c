/* SPDX-License-Identifier: MIT */
/* What the embedding VMM hears of: the stub's messages (to its log, or
 * to stderr) and the vCPU state the stub wrote. */
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

void stub_vcpu_changed(struct kvmdbg_stub *s, unsigned vcpu)
{
	if (s->cfg.ops.vcpu_changed)
		s->cfg.ops.vcpu_changed(s->cfg.opaque, vcpu);
}
