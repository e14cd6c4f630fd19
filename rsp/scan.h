/* SPDX-License-Identifier: MIT */
/*
 * Bounded cursor over a packet payload for the command parser.  Every
 * helper consumes input only on success and never looks past the end.
 */
#ifndef RSP_SCAN_H
#define RSP_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct rsp_scan {
	const uint8_t *p;
	size_t n;		/* bytes left */
};

static inline bool rsp_scan_end(const struct rsp_scan *s)
{
	return s->n == 0;
}

static inline void rsp_scan_skip(struct rsp_scan *s, size_t n)
{
	s->p += n;
	s->n -= n;
}

bool rsp_scan_char(struct rsp_scan *s, char c);
/* Consumes the whole of lit (a C string) or nothing. */
bool rsp_scan_literal(struct rsp_scan *s, const char *lit);
/* One or more hex digits; fails on overflow. */
bool rsp_scan_hex_u64(struct rsp_scan *s, uint64_t *v);
/* A signal number: exactly two hex digits. */
bool rsp_scan_signal(struct rsp_scan *s, uint8_t *sig);
/* A thread id: hex, "-1", or the multiprocess "pPID[.TID]". */
bool rsp_scan_tid(struct rsp_scan *s, long *pid, long *tid);
/* Bytes up to (not including) the first stop byte, or to the end. */
size_t rsp_scan_span(const struct rsp_scan *s, const char *stops);
/* The rest is an even number of hex digits, possibly none. */
bool rsp_scan_rest_is_hex(const struct rsp_scan *s);

#endif
