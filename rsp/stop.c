/* SPDX-License-Identifier: MIT */
/* Stop replies: 'T' with thread, reason and expedited registers, or 'W'. */
#include <kvmdbg/rsp.h>

static void put_watch(struct rsp_buf *b, const char *name, uint64_t addr)
{
	rsp_put_str(b, name);
	rsp_put_hex_u64(b, addr);
	rsp_put_str(b, ";");
}

static void put_reason(struct rsp_buf *b, const struct rsp_stop *s)
{
	switch (s->reason) {
	case RSP_REASON_NONE:
		return;
	case RSP_REASON_SWBREAK:
		rsp_put_str(b, "swbreak:;");
		return;
	case RSP_REASON_HWBREAK:
		rsp_put_str(b, "hwbreak:;");
		return;
	case RSP_REASON_WATCH:
		put_watch(b, "watch:", s->watch_addr);
		return;
	case RSP_REASON_RWATCH:
		put_watch(b, "rwatch:", s->watch_addr);
		return;
	case RSP_REASON_AWATCH:
		put_watch(b, "awatch:", s->watch_addr);
		return;
	}
}

void rsp_put_stop(struct rsp_buf *b, const struct rsp_stop *s)
{
	size_t n = s->n_expedited;

	if (s->exited) {
		rsp_put_str(b, "W");
		rsp_put_hex_bytes(b, &s->code, 1);
		return;
	}
	rsp_put_str(b, "T");
	rsp_put_hex_bytes(b, &s->code, 1);
	if (s->thread > 0) {
		rsp_put_str(b, "thread:");
		rsp_put_hex_u64(b, (uint64_t)s->thread);
		rsp_put_str(b, ";");
	}
	put_reason(b, s);
	/* A miscounted n_expedited must not read past the array. */
	if (n > RSP_MAX_EXPEDITED)
		n = RSP_MAX_EXPEDITED;
	for (size_t i = 0; i < n; i++) {
		const struct rsp_expedited *r = &s->expedited[i];

		rsp_put_hex_u64(b, r->regno);
		rsp_put_str(b, ":");
		rsp_put_hex_bytes(b, r->val, r->len);
		rsp_put_str(b, ";");
	}
}
