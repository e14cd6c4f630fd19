/* SPDX-License-Identifier: MIT */
/* Packets named by a word: q and Q queries, v packets. */
#include <string.h>

#include <kvmdbg/rsp.h>

#include "parse.h"

/* qSupported[:features] */
static enum rsp_cmd_kind parse_qsupported(struct rsp_scan *s,
					  struct rsp_cmd *c)
{
	if (rsp_scan_end(s))
		return RSP_CMD_QSUPPORTED;
	if (!rsp_scan_char(s, ':'))
		return RSP_CMD_MALFORMED;
	c->data = s->p;
	c->data_len = s->n;
	return RSP_CMD_QSUPPORTED;
}

/* qAttached[:pid] */
static enum rsp_cmd_kind parse_qattached(struct rsp_scan *s,
					 struct rsp_cmd *c)
{
	uint64_t pid;

	if (rsp_scan_end(s))
		return RSP_CMD_QATTACHED;
	if (!rsp_scan_char(s, ':') || !rsp_scan_hex_u64(s, &pid) ||
	    !rsp_scan_end(s))
		return RSP_CMD_MALFORMED;
	return RSP_CMD_QATTACHED;
}

/* qThreadExtraInfo,tid */
static enum rsp_cmd_kind parse_qthread_extra(struct rsp_scan *s,
					     struct rsp_cmd *c)
{
	if (!rsp_scan_char(s, ',') || !rsp_scan_tid(s, &c->pid, &c->thread) ||
	    !rsp_scan_end(s))
		return RSP_CMD_MALFORMED;
	return RSP_CMD_QTHREAD_EXTRA;
}

/* qRcmd,hex -- "qRcmd," is a bare "monitor" command. */
static enum rsp_cmd_kind parse_qrcmd(struct rsp_scan *s, struct rsp_cmd *c)
{
	if (!rsp_scan_char(s, ',') || !rsp_scan_rest_is_hex(s))
		return RSP_CMD_MALFORMED;
	c->data = s->p;
	c->data_len = s->n;
	return RSP_CMD_QRCMD;
}

/* Copies a ':'-terminated field into dst as a C string; consumes the ':'. */
static bool scan_name_field(struct rsp_scan *s, char *dst, size_t cap)
{
	size_t n = rsp_scan_span(s, ":");

	if (n == s->n || n >= cap || memchr(s->p, '\0', n))
		return false;
	memcpy(dst, s->p, n);
	dst[n] = '\0';
	rsp_scan_skip(s, n + 1);
	return true;
}

/* qXfer:object:read:annex:offset,length */
static enum rsp_cmd_kind parse_qxfer(struct rsp_scan *s, struct rsp_cmd *c)
{
	if (!rsp_scan_char(s, ':') ||
	    !scan_name_field(s, c->object, sizeof(c->object)) ||
	    c->object[0] == '\0')
		return RSP_CMD_MALFORMED;
	/* Any operation is well-formed if a ':' ends it ... */
	if (rsp_scan_span(s, ":") == s->n)
		return RSP_CMD_MALFORMED;
	/* ... but only reading is supported. */
	if (!rsp_scan_literal(s, "read:"))
		return RSP_CMD_UNKNOWN;
	if (!scan_name_field(s, c->annex, sizeof(c->annex)) ||
	    !rsp_scan_hex_u64(s, &c->offset) || !rsp_scan_char(s, ',') ||
	    !rsp_scan_hex_u64(s, &c->len) || !rsp_scan_end(s))
		return RSP_CMD_MALFORMED;
	return RSP_CMD_QXFER_READ;
}

/* vKill;pid */
static enum rsp_cmd_kind parse_vkill(struct rsp_scan *s, struct rsp_cmd *c)
{
	uint64_t pid;

	if (!rsp_scan_char(s, ';') || !rsp_scan_hex_u64(s, &pid) ||
	    !rsp_scan_end(s))
		return RSP_CMD_MALFORMED;
	return RSP_CMD_KILL;
}

/* QNonStop:0 or QNonStop:1 */
static enum rsp_cmd_kind parse_qnonstop(struct rsp_scan *s, struct rsp_cmd *c)
{
	if (!rsp_scan_char(s, ':') || s->n != 1 || (s->p[0] != '0' && s->p[0] != '1'))
		return RSP_CMD_MALFORMED;
	c->non_stop = s->p[0] == '1';
	rsp_scan_skip(s, 1);
	return RSP_CMD_QNONSTOP;
}

struct named_packet {
	const char *name;
	/* Parses what follows the name ... */
	enum rsp_cmd_kind (*parse)(struct rsp_scan *s, struct rsp_cmd *c);
	/* ... or, without a parser, the kind when nothing follows. */
	enum rsp_cmd_kind kind;
};

static const struct named_packet named_packets[] = {
	{ .name = "qSupported", .parse = parse_qsupported },
	{ .name = "QStartNoAckMode", .kind = RSP_CMD_START_NOACK },
	{ .name = "qAttached", .parse = parse_qattached },
	{ .name = "qC", .kind = RSP_CMD_QC },
	{ .name = "qfThreadInfo", .kind = RSP_CMD_QFTHREADINFO },
	{ .name = "qsThreadInfo", .kind = RSP_CMD_QSTHREADINFO },
	{ .name = "qThreadExtraInfo", .parse = parse_qthread_extra },
	{ .name = "qXfer", .parse = parse_qxfer },
	{ .name = "qRcmd", .parse = parse_qrcmd },
	{ .name = "vCont", .parse = rsp_parse_vcont },
	{ .name = "vKill", .parse = parse_vkill },
	{ .name = "QNonStop", .parse = parse_qnonstop },
	{ .name = "vStopped", .kind = RSP_CMD_VSTOPPED },
	{ .name = "vCtrlC", .kind = RSP_CMD_VCTRLC },
};

/*
 * A name ends at the first separator, so "qC" never matches "qCRC:..." and
 * "vCont" never matches "vContFoo".
 */
enum rsp_cmd_kind rsp_parse_named(struct rsp_scan *s, struct rsp_cmd *c)
{
	size_t n = rsp_scan_span(s, ":,;?");

	for (size_t i = 0; i < sizeof(named_packets) / sizeof(named_packets[0]);
	     i++) {
		const struct named_packet *np = &named_packets[i];

		if (strlen(np->name) != n || memcmp(np->name, s->p, n) != 0)
			continue;
		rsp_scan_skip(s, n);
		if (!np->parse)
			return rsp_scan_end(s) ? np->kind : RSP_CMD_MALFORMED;
		return np->parse(s, c);
	}
	return RSP_CMD_UNKNOWN;
}
