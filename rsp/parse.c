/* SPDX-License-Identifier: MIT */
/* Classification and argument parsing of single-letter commands. */
#include <limits.h>
#include <string.h>

#include <kvmdbg/rsp.h>

#include "parse.h"

static enum rsp_cmd_kind bare(const struct rsp_scan *s, enum rsp_cmd_kind kind)
{
	return rsp_scan_end(s) ? kind : RSP_CMD_MALFORMED;
}

static bool scan_regno(struct rsp_scan *s, unsigned *regno)
{
	uint64_t v;

	if (!rsp_scan_hex_u64(s, &v) || v > UINT_MAX)
		return false;
	*regno = (unsigned)v;
	return true;
}

/* Takes the rest of the payload as the command's data. */
static void take_rest(struct rsp_scan *s, struct rsp_cmd *c)
{
	c->data = s->p;
	c->data_len = s->n;
	rsp_scan_skip(s, s->n);
}

/* G hex */
static enum rsp_cmd_kind parse_write_regs(struct rsp_scan *s,
					  struct rsp_cmd *c)
{
	if (rsp_scan_end(s) || !rsp_scan_rest_is_hex(s))
		return RSP_CMD_MALFORMED;
	take_rest(s, c);
	return RSP_CMD_WRITE_REGS;
}

/* p n */
static enum rsp_cmd_kind parse_read_reg(struct rsp_scan *s, struct rsp_cmd *c)
{
	if (!scan_regno(s, &c->regno))
		return RSP_CMD_MALFORMED;
	return bare(s, RSP_CMD_READ_REG);
}

/* P n=hex */
static enum rsp_cmd_kind parse_write_reg(struct rsp_scan *s, struct rsp_cmd *c)
{
	if (!scan_regno(s, &c->regno) || !rsp_scan_char(s, '=') ||
	    rsp_scan_end(s) || !rsp_scan_rest_is_hex(s))
		return RSP_CMD_MALFORMED;
	take_rest(s, c);
	return RSP_CMD_WRITE_REG;
}

static bool scan_addr_len(struct rsp_scan *s, struct rsp_cmd *c)
{
	return rsp_scan_hex_u64(s, &c->addr) && rsp_scan_char(s, ',') &&
	       rsp_scan_hex_u64(s, &c->len);
}

/* m addr,len */
static enum rsp_cmd_kind parse_read_mem(struct rsp_scan *s, struct rsp_cmd *c)
{
	if (!scan_addr_len(s, c))
		return RSP_CMD_MALFORMED;
	return bare(s, RSP_CMD_READ_MEM);
}

/* x addr,len */
static enum rsp_cmd_kind parse_read_mem_bin(struct rsp_scan *s, struct rsp_cmd *c)
{
	if (!scan_addr_len(s, c))
		return RSP_CMD_MALFORMED;
	return bare(s, RSP_CMD_READ_MEM_BIN);
}

/* M addr,len:hex */
static enum rsp_cmd_kind parse_write_mem(struct rsp_scan *s, struct rsp_cmd *c)
{
	if (!scan_addr_len(s, c) || !rsp_scan_char(s, ':') ||
	    !rsp_scan_rest_is_hex(s) || s->n / 2 != c->len)
		return RSP_CMD_MALFORMED;
	take_rest(s, c);
	return RSP_CMD_WRITE_MEM;
}

/* X addr,len:binary -- "X addr,0:" is how gdb probes for support. */
static enum rsp_cmd_kind parse_write_mem_bin(struct rsp_scan *s,
					     struct rsp_cmd *c)
{
	if (!scan_addr_len(s, c) || !rsp_scan_char(s, ':') || s->n != c->len)
		return RSP_CMD_MALFORMED;
	take_rest(s, c);
	return RSP_CMD_WRITE_MEM_BIN;
}

/* c [addr], s [addr] */
static enum rsp_cmd_kind parse_resume(struct rsp_scan *s, struct rsp_cmd *c,
				      enum rsp_cmd_kind kind)
{
	if (rsp_scan_end(s))
		return kind;
	if (!rsp_scan_hex_u64(s, &c->addr))
		return RSP_CMD_MALFORMED;
	c->has_addr = true;
	return bare(s, kind);
}

/* C sig[;addr], S sig[;addr] */
static enum rsp_cmd_kind parse_resume_signal(struct rsp_scan *s,
					     struct rsp_cmd *c,
					     enum rsp_cmd_kind kind)
{
	if (!rsp_scan_signal(s, &c->signal))
		return RSP_CMD_MALFORMED;
	c->has_signal = true;
	if (rsp_scan_end(s))
		return kind;
	if (!rsp_scan_char(s, ';') || !rsp_scan_hex_u64(s, &c->addr))
		return RSP_CMD_MALFORMED;
	c->has_addr = true;
	return bare(s, kind);
}

/* "X len,hex" into list[*n]. */
static bool scan_agent_expr(struct rsp_scan *s, struct rsp_agent_expr *list, size_t *n)
{
	uint64_t len;
	size_t i;

	if (*n == RSP_BP_EXPR_MAX || !rsp_scan_char(s, 'X') ||
	    !rsp_scan_hex_u64(s, &len) || !rsp_scan_char(s, ',') || len > s->n / 2)
		return false;
	for (i = 0; i < 2 * len; i++)
		if (!strchr("0123456789abcdefABCDEF", s->p[i]) || !s->p[i])
			return false;
	list[*n].hex = s->p;
	list[(*n)++].len = (size_t)len;
	rsp_scan_skip(s, 2 * len);
	return true;
}

/* What follows "Z type,addr,kind": conditions, then commands. */
static bool scan_bp_options(struct rsp_scan *s, struct rsp_cmd *c)
{
	bool cmds = false;
	uint64_t persist;

	while (!rsp_scan_end(s)) {
		if (rsp_scan_char(s, ';'))
			continue;
		if (!cmds && rsp_scan_literal(s, "cmds:")) {
			if (!rsp_scan_hex_u64(s, &persist) || !rsp_scan_char(s, ','))
				return false;
			c->cmds_persist = persist != 0;
			cmds = true;
			continue;
		}
		if (!(cmds ? scan_agent_expr(s, c->cmds, &c->n_cmds)
			   : scan_agent_expr(s, c->conds, &c->n_conds)))
			return false;
	}
	return true;
}

/* Z type,addr,kind[;cond...][;cmds:persist,cmd...] and z type,addr,kind */
static enum rsp_cmd_kind parse_breakpoint(struct rsp_scan *s,
					  struct rsp_cmd *c,
					  enum rsp_cmd_kind kind)
{
	uint64_t type;

	if (!rsp_scan_hex_u64(s, &type) || type > 4 ||
	    !rsp_scan_char(s, ',') || !rsp_scan_hex_u64(s, &c->addr) ||
	    !rsp_scan_char(s, ',') || !rsp_scan_hex_u64(s, &c->bp_kind))
		return RSP_CMD_MALFORMED;
	if (!rsp_scan_end(s) && !rsp_scan_char(s, ';'))
		return RSP_CMD_MALFORMED;
	/* Conditions and commands only mean something on an insertion;
	 * gdb sends none on a removal, whatever follows is ignored there. */
	if (kind == RSP_CMD_INSERT_BP && !scan_bp_options(s, c))
		return RSP_CMD_MALFORMED;
	c->bp_type = (unsigned)type;
	return kind;
}

/* D, D;pid */
static enum rsp_cmd_kind parse_detach(struct rsp_scan *s)
{
	uint64_t pid;

	if (rsp_scan_end(s))
		return RSP_CMD_DETACH;
	if (!rsp_scan_char(s, ';') || !rsp_scan_hex_u64(s, &pid))
		return RSP_CMD_MALFORMED;
	return bare(s, RSP_CMD_DETACH);
}

/* Hg tid, Hc tid */
static enum rsp_cmd_kind parse_set_thread(struct rsp_scan *s,
					  struct rsp_cmd *c)
{
	if (rsp_scan_char(s, 'g'))
		c->hop = 'g';
	else if (rsp_scan_char(s, 'c'))
		c->hop = 'c';
	else
		return RSP_CMD_MALFORMED;
	if (!rsp_scan_tid(s, &c->pid, &c->thread))
		return RSP_CMD_MALFORMED;
	return bare(s, RSP_CMD_SET_THREAD);
}

/* T tid */
static enum rsp_cmd_kind parse_thread_alive(struct rsp_scan *s,
					    struct rsp_cmd *c)
{
	if (!rsp_scan_tid(s, &c->pid, &c->thread))
		return RSP_CMD_MALFORMED;
	return bare(s, RSP_CMD_THREAD_ALIVE);
}

static enum rsp_cmd_kind parse_letter(uint8_t op, struct rsp_scan *s,
				      struct rsp_cmd *c)
{
	switch (op) {
	case '?':
		return bare(s, RSP_CMD_HALT_REASON);
	case 'g':
		return bare(s, RSP_CMD_READ_REGS);
	case 'G':
		return parse_write_regs(s, c);
	case 'p':
		return parse_read_reg(s, c);
	case 'P':
		return parse_write_reg(s, c);
	case 'm':
		return parse_read_mem(s, c);
	case 'M':
		return parse_write_mem(s, c);
	case 'X':
		return parse_write_mem_bin(s, c);
	case 'x':
		return parse_read_mem_bin(s, c);
	case 'c':
		return parse_resume(s, c, RSP_CMD_CONTINUE);
	case 's':
		return parse_resume(s, c, RSP_CMD_STEP);
	case 'C':
		return parse_resume_signal(s, c, RSP_CMD_CONTINUE);
	case 'S':
		return parse_resume_signal(s, c, RSP_CMD_STEP);
	case 'Z':
		return parse_breakpoint(s, c, RSP_CMD_INSERT_BP);
	case 'z':
		return parse_breakpoint(s, c, RSP_CMD_REMOVE_BP);
	case 'k':
		return bare(s, RSP_CMD_KILL);
	case 'D':
		return parse_detach(s);
	case 'H':
		return parse_set_thread(s, c);
	case 'T':
		return parse_thread_alive(s, c);
	default:
		return RSP_CMD_UNKNOWN;
	}
}

void rsp_parse(const uint8_t *payload, size_t len, struct rsp_cmd *cmd)
{
	struct rsp_scan s = { .p = payload, .n = len };
	enum rsp_cmd_kind kind;

	*cmd = (struct rsp_cmd){ .kind = RSP_CMD_UNKNOWN };
	if (len == 0)
		return;
	if (payload[0] == 'q' || payload[0] == 'Q' || payload[0] == 'v') {
		kind = rsp_parse_named(&s, cmd);
	} else {
		rsp_scan_skip(&s, 1);
		kind = parse_letter(payload[0], &s, cmd);
	}
	/* Half-parsed arguments must not leak into a rejected command. */
	if (kind == RSP_CMD_MALFORMED || kind == RSP_CMD_UNKNOWN)
		*cmd = (struct rsp_cmd){ .kind = kind };
	else
		cmd->kind = kind;
}
