/* SPDX-License-Identifier: MIT */
/*
 * Command parsing: the input is one packet payload for rsp_parse (in a
 * buffer of exactly its size, so that ASan sees any read past it).
 * Checked: the kind is one of the enumeration; data points inside the
 * payload; the qXfer names are terminated; vCont actions are within
 * bounds and valid; breakpoint conditions and commands are hex inside
 * the payload; a rejected command carries nothing; each command's
 * fields are consistent with what its grammar allows; and parsing is a
 * pure function of the payload.
 */
#include <stdint.h>
#include <string.h>

#include <kvmdbg/rsp.h>

#include "fuzz_check.h"

static void check_rejected(const struct rsp_cmd *c)
{
	struct rsp_cmd zero = { .kind = c->kind };

	FUZZ_CHECK(c->addr == 0 && c->len == 0 && c->offset == 0 && c->regno == 0);
	FUZZ_CHECK(c->bp_type == 0 && c->bp_kind == 0 && !c->has_addr && !c->has_signal);
	FUZZ_CHECK(c->signal == 0 && c->hop == 0 && c->thread == 0);
	FUZZ_CHECK(c->data == NULL && c->data_len == 0 && c->n_actions == 0);
	FUZZ_CHECK(c->n_conds == 0 && c->n_cmds == 0 && !c->cmds_persist);
	FUZZ_CHECK(!memcmp(c->object, zero.object, sizeof(zero.object)));
	FUZZ_CHECK(!memcmp(c->annex, zero.annex, sizeof(zero.annex)));
}

static void check_data(const struct rsp_cmd *c, const uint8_t *p, size_t n)
{
	if (!c->data) {
		FUZZ_CHECK(c->data_len == 0);
		return;
	}
	FUZZ_CHECK(c->data >= p && c->data_len <= n && c->data <= p + n - c->data_len);
}

static bool all_hex(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strchr("0123456789abcdefABCDEF", p[i]) || !p[i])
			return false;
	return true;
}

/* Agent expressions lie inside the payload and are hex of their length. */
static void check_exprs(const struct rsp_agent_expr *e, size_t n, const uint8_t *p, size_t size)
{
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(e[i].hex >= p && e[i].len <= size / 2 &&
			   e[i].hex <= p + size - 2 * e[i].len);
		FUZZ_CHECK(all_hex(e[i].hex, 2 * e[i].len));
	}
}

static void check_kind(const struct rsp_cmd *c)
{
	switch (c->kind) {
	case RSP_CMD_WRITE_REGS:
	case RSP_CMD_WRITE_REG:
	case RSP_CMD_QRCMD:
		FUZZ_CHECK(c->data && all_hex(c->data, c->data_len));
		break;
	case RSP_CMD_WRITE_MEM:
		FUZZ_CHECK(all_hex(c->data, c->data_len) && c->data_len == 2 * c->len);
		break;
	case RSP_CMD_WRITE_MEM_BIN:
		FUZZ_CHECK(c->data_len == c->len);
		break;
	case RSP_CMD_INSERT_BP:
	case RSP_CMD_REMOVE_BP:
		FUZZ_CHECK(c->bp_type <= 4);
		FUZZ_CHECK(c->n_conds <= RSP_BP_EXPR_MAX && c->n_cmds <= RSP_BP_EXPR_MAX);
		FUZZ_CHECK(c->kind == RSP_CMD_INSERT_BP || (!c->n_conds && !c->n_cmds));
		break;
	case RSP_CMD_SET_THREAD:
		FUZZ_CHECK(c->hop == 'g' || c->hop == 'c');
		break;
	case RSP_CMD_VCONT:
		FUZZ_CHECK(c->n_actions >= 1 && c->n_actions <= RSP_VCONT_MAX);
		for (size_t i = 0; i < c->n_actions; i++)
			FUZZ_CHECK(strchr("csCStr", c->actions[i].action) && c->actions[i].action);
		break;
	case RSP_CMD_QXFER_READ:
		FUZZ_CHECK(c->object[0]);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct rsp_cmd c, again;

	rsp_parse(data, size, &c);
	FUZZ_CHECK(c.kind >= RSP_CMD_UNKNOWN && c.kind <= RSP_CMD_LAST);
	FUZZ_CHECK(memchr(c.object, 0, sizeof(c.object)) && memchr(c.annex, 0, sizeof(c.annex)));
	FUZZ_CHECK(c.n_actions <= RSP_VCONT_MAX);
	check_data(&c, data, size);
	check_exprs(c.conds, c.n_conds, data, size);
	check_exprs(c.cmds, c.n_cmds, data, size);
	if (c.kind == RSP_CMD_UNKNOWN || c.kind == RSP_CMD_MALFORMED)
		check_rejected(&c);
	else
		check_kind(&c);
	/* Nothing from the previous command leaks into the next. */
	memset(&again, 0xa5, sizeof(again));
	rsp_parse(data, size, &again);
	FUZZ_CHECK(again.kind == c.kind && again.addr == c.addr && again.len == c.len);
	FUZZ_CHECK(again.offset == c.offset && again.regno == c.regno && again.thread == c.thread);
	FUZZ_CHECK(again.data == c.data && again.data_len == c.data_len);
	FUZZ_CHECK(again.n_conds == c.n_conds && again.n_cmds == c.n_cmds &&
		   again.cmds_persist == c.cmds_persist);
	FUZZ_CHECK(again.n_actions == c.n_actions && !strcmp(again.object, c.object) &&
		   !strcmp(again.annex, c.annex));
	for (size_t i = 0; i < c.n_actions; i++) {
		const struct rsp_vcont_action *a = &c.actions[i], *b = &again.actions[i];

		FUZZ_CHECK(a->action == b->action && a->signal == b->signal &&
			   a->thread == b->thread && a->range_start == b->range_start &&
			   a->range_end == b->range_end);
	}
	return 0;
}
