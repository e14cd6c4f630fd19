/* SPDX-License-Identifier: MIT */
#include <limits.h>
#include <string.h>

#include <kvmdbg/rsp.h>

#include "hexdigit.h"
#include "scan.h"

bool rsp_scan_char(struct rsp_scan *s, char c)
{
	if (s->n == 0 || s->p[0] != (uint8_t)c)
		return false;
	rsp_scan_skip(s, 1);
	return true;
}

bool rsp_scan_literal(struct rsp_scan *s, const char *lit)
{
	size_t n = strlen(lit);

	if (s->n < n || memcmp(s->p, lit, n) != 0)
		return false;
	rsp_scan_skip(s, n);
	return true;
}

bool rsp_scan_hex_u64(struct rsp_scan *s, uint64_t *v)
{
	uint64_t acc = 0;
	size_t i;
	int d;

	for (i = 0; i < s->n && (d = rsp_hex_value(s->p[i])) >= 0; i++) {
		if (acc > UINT64_MAX >> 4)
			return false;
		acc = acc << 4 | (unsigned)d;
	}
	if (i == 0)
		return false;
	rsp_scan_skip(s, i);
	*v = acc;
	return true;
}

bool rsp_scan_signal(struct rsp_scan *s, uint8_t *sig)
{
	int hi, lo;

	if (s->n < 2)
		return false;
	hi = rsp_hex_value(s->p[0]);
	lo = rsp_hex_value(s->p[1]);
	if (hi < 0 || lo < 0)
		return false;
	*sig = (uint8_t)(hi << 4 | lo);
	rsp_scan_skip(s, 2);
	return true;
}

static bool scan_plain_tid(struct rsp_scan *s, long *tid)
{
	uint64_t v;

	if (rsp_scan_literal(s, "-1")) {
		*tid = RSP_TID_ALL;
		return true;
	}
	if (!rsp_scan_hex_u64(s, &v) || v > LONG_MAX)
		return false;
	*tid = (long)v;
	return true;
}

/*
 * "pPID.TID" or "pPID" (every thread of PID); a plain TID leaves the
 * process unnamed, which reads as RSP_TID_ANY.
 */
bool rsp_scan_tid(struct rsp_scan *s, long *pid, long *tid)
{
	struct rsp_scan t = *s;
	long p = RSP_TID_ANY;

	if (rsp_scan_char(&t, 'p')) {
		if (!scan_plain_tid(&t, &p))
			return false;
		if (!rsp_scan_char(&t, '.'))
			*tid = RSP_TID_ALL;
		else if (!scan_plain_tid(&t, tid))
			return false;
	} else if (!scan_plain_tid(&t, tid)) {
		return false;
	}
	*pid = p;
	*s = t;
	return true;
}

size_t rsp_scan_span(const struct rsp_scan *s, const char *stops)
{
	size_t nstops = strlen(stops);
	size_t i = 0;

	/* memchr, not strchr: a NUL payload byte is not a stop byte. */
	while (i < s->n && !memchr(stops, s->p[i], nstops))
		i++;
	return i;
}

bool rsp_scan_rest_is_hex(const struct rsp_scan *s)
{
	if (s->n % 2)
		return false;
	for (size_t i = 0; i < s->n; i++)
		if (rsp_hex_value(s->p[i]) < 0)
			return false;
	return true;
}
