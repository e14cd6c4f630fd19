/* SPDX-License-Identifier: MIT */
/* vCont? and vCont;action[:tid]... */
#include <kvmdbg/rsp.h>

#include "parse.h"

static bool scan_action(struct rsp_scan *s, struct rsp_vcont_action *a)
{
	*a = (struct rsp_vcont_action){ .thread = RSP_TID_ALL };
	if (rsp_scan_end(s))
		return false;
	a->action = (char)s->p[0];
	rsp_scan_skip(s, 1);
	switch (a->action) {
	case 'c':
	case 's':
	case 't':
		break;
	case 'C':
	case 'S':
		if (!rsp_scan_signal(s, &a->signal))
			return false;
		break;
	case 'r':
		if (!rsp_scan_hex_u64(s, &a->range_start) ||
		    !rsp_scan_char(s, ',') ||
		    !rsp_scan_hex_u64(s, &a->range_end))
			return false;
		break;
	default:
		return false;
	}
	return !rsp_scan_char(s, ':') || rsp_scan_tid(s, &a->pid, &a->thread);
}

enum rsp_cmd_kind rsp_parse_vcont(struct rsp_scan *s, struct rsp_cmd *c)
{
	if (rsp_scan_char(s, '?'))
		return rsp_scan_end(s) ? RSP_CMD_VCONT_QUERY : RSP_CMD_MALFORMED;
	if (!rsp_scan_char(s, ';'))
		return RSP_CMD_MALFORMED;
	do {
		if (c->n_actions == RSP_VCONT_MAX ||
		    !scan_action(s, &c->actions[c->n_actions]))
			return RSP_CMD_MALFORMED;
		c->n_actions++;
	} while (rsp_scan_char(s, ';'));
	return rsp_scan_end(s) ? RSP_CMD_VCONT : RSP_CMD_MALFORMED;
}
