/* SPDX-License-Identifier: MIT */
/*
 * LLDB's own queries.  LLDB works with the gdb packets alone, but asks
 * these first: the host and process (for the target's triple, without
 * which it guesses from the file), how many watchpoints it may set, what
 * an address maps to (its unwinder and `memory region`), every thread's
 * stop state and expedited registers in one packet, and whether register
 * packets may name their thread (saving an Hg before each).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static void reply_text(struct kvmdbg_stub *s, const char *text)
{
	stub_send(s, text, strlen(text));
}

static void reply_buf(struct kvmdbg_stub *s, const struct rsp_buf *b)
{
	if (b->overflow)
		reply_text(s, "E16");
	else
		stub_send(s, b->data, b->len);
}

static void put_triple(struct kvmdbg_stub *s, struct rsp_buf *b)
{
	char text[32];

	rsp_put_str(b, "triple:");
	rsp_put_hex_bytes(b, s->arch->triple, strlen(s->arch->triple));
	snprintf(text, sizeof(text), ";ptrsize:%u;endian:little;", s->arch->ptr_size);
	rsp_put_str(b, text);
}

static void host_info(struct kvmdbg_stub *s)
{
	struct rsp_buf b;

	rsp_buf_init(&b, s->reply, STUB_REPLY_SIZE);
	put_triple(s, &b);
	/* Whether LLDB must step over the access itself after a watchpoint. */
	rsp_put_str(&b, s->arch->watch_before_access ?
		    "watchpoint_exceptions_received:before;" :
		    "watchpoint_exceptions_received:after;");
	reply_buf(s, &b);
}

static void process_info(struct kvmdbg_stub *s)
{
	char text[48];
	struct rsp_buf b;

	rsp_buf_init(&b, s->reply, STUB_REPLY_SIZE);
	snprintf(text, sizeof(text), "pid:%x;parent-pid:0;", STUB_PID);
	rsp_put_str(&b, text);
	put_triple(s, &b);
	reply_buf(s, &b);
}

/* Debug registers that fire, then pages the memory slots can still set
 * apart (a page inside a slot splits it in three). */
static void watch_info(struct kvmdbg_stub *s)
{
	const struct kvmdbg_caps *caps = s->cfg.caps;
	long n = caps->watch != KVMDBG_MECH_NONE ? (long)caps->hw_wps : 0;
	char text[32];

	if (stub_page_watch_possible(s, KD_HW_WRITE) ||
	    stub_page_watch_possible(s, KD_HW_ACCESS)) {
		long spare = stub_memslots_free(s);

		n += spare > 0 ? spare / 2 : 0;
	}
	snprintf(text, sizeof(text), "num:%ld;", n);
	reply_text(s, text);
}

/*
 * The page around addr as the selected vCPU maps it: guest RAM is
 * reported readable, writable and executable (the page-table bits are
 * not decoded), anything else without permissions, as unmapped.
 */
static void region_info(struct kvmdbg_stub *s, uint64_t addr)
{
	const void *regs = stub_regs(s, s->cur_g);
	uint64_t start = addr & ~0xfffull, gpa, left;
	bool ram = false;
	char text[96];

	if (!regs) {
		reply_text(s, "E05");
		return;
	}
	if (stub_translate(s, regs, s->phys, addr, &gpa, &left) == 0)
		ram = stub_hva(s, gpa, 1) != NULL;
	else
		left = 0x1000 - (addr & 0xfff);
	snprintf(text, sizeof(text), "start:%" PRIx64 ";size:%" PRIx64 ";%s", start,
		 addr - start + left, ram ? "permissions:rwx;" : "");
	reply_text(s, text);
}

/* pc, sp and fp of a stopped vCPU as "regno":"bytes" JSON members. */
static void put_json_regs(struct kvmdbg_stub *s, struct rsp_buf *b, unsigned v)
{
	const struct kvmdbg_arch_ops *a = s->arch;
	const unsigned regnos[STUB_STOP_REGS] = { a->pc_regnum, a->sp_regnum, a->fp_regnum };
	const void *regs = stub_regs(s, v);
	char key[24];

	rsp_put_str(b, ",\"registers\":{");
	for (unsigned i = 0; regs && i < STUB_STOP_REGS; i++) {
		size_t n = a->reg_size(regnos[i]);

		a->reg_get(regs, regnos[i], s->regval);
		snprintf(key, sizeof(key), "%s\"%u\":\"", i ? "," : "", regnos[i]);
		rsp_put_str(b, key);
		rsp_put_hex_bytes(b, s->regval, n);
		rsp_put_str(b, "\"");
	}
	rsp_put_str(b, "}");
}

/* Why the vCPU of the last stop stopped, in the words of LLDB's stop
 * reasons; a plain signal (a step, Ctrl-C) gets none, as in the stop
 * reply. */
static void put_json_reason(struct kvmdbg_stub *s, struct rsp_buf *b)
{
	const struct kd_stop_event *ev = &s->last_event;
	char text[64];

	snprintf(text, sizeof(text), ",\"signal\":%u",
		 ev->kind == KD_STOP_SIGNAL ? (unsigned)ev->signal : 5u);
	rsp_put_str(b, text);
	switch (ev->kind) {
	case KD_STOP_SWBREAK:
	case KD_STOP_HWBREAK:
		rsp_put_str(b, ",\"reason\":\"breakpoint\"");
		break;
	case KD_STOP_WATCH:
	case KD_STOP_RWATCH:
	case KD_STOP_AWATCH:
		snprintf(text, sizeof(text),
			 ",\"reason\":\"watchpoint\",\"description\":\"%" PRIu64 "\"", ev->addr);
		rsp_put_str(b, text);
		break;
	default:
		break;
	}
}

static void threads_info(struct kvmdbg_stub *s)
{
	struct rsp_buf b;
	char text[64];

	rsp_buf_init(&b, s->reply, STUB_REPLY_SIZE);
	rsp_put_str(&b, "[");
	for (unsigned v = 0; v < s->nvcpus; v++) {
		snprintf(text, sizeof(text), "%s{\"tid\":%u,\"name\":\"vCPU %u\"", v ? "," : "",
			 v + 1, v);
		rsp_put_str(&b, text);
		if (v == s->last_event.vcpu)
			put_json_reason(s, &b);
		put_json_regs(s, &b, v);
		rsp_put_str(&b, "}");
	}
	rsp_put_str(&b, "]");
	reply_buf(s, &b);
}

void stub_lldb_stop_extra(struct kvmdbg_stub *s, struct rsp_buf *b)
{
	const struct kvmdbg_arch_ops *a = s->arch;

	if (!s->list_threads)
		return;
	rsp_put_str(b, "threads:");
	for (unsigned v = 0; v < s->nvcpus; v++) {
		if (v)
			rsp_put_str(b, ",");
		rsp_put_hex_u64(b, v + 1);
	}
	rsp_put_str(b, ";thread-pcs:");
	for (unsigned v = 0; v < s->nvcpus; v++) {
		const void *regs = stub_regs(s, v);
		uint64_t pc = 0;
		size_t n = a->reg_size(a->pc_regnum);

		if (regs) {
			a->reg_get(regs, a->pc_regnum, s->regval);
			/* Register bytes are little-endian on both backends. */
			for (size_t i = n; i-- > 0;)
				pc = pc << 8 | s->regval[i];
		}
		if (v)
			rsp_put_str(b, ",");
		rsp_put_hex_u64(b, pc);
	}
	rsp_put_str(b, ";");
}

/* Register packets name their vCPU at the end once LLDB may do so; the
 * name selects it as Hg would, which LLDB then no longer sends. */
static bool thread_suffix(struct kvmdbg_stub *s, const uint8_t *pkt, size_t *len)
{
	long pid, tid;
	size_t n;

	if (!s->thread_suffix || !*len || !strchr("gGpP", pkt[0]))
		return true;
	n = rsp_thread_suffix(pkt, *len, &pid, &tid);
	if (n == *len)
		return true;
	if (!stub_our_process(pid) || tid <= 0 || (unsigned long)tid > s->nvcpus)
		return false;
	s->cur_g = (unsigned)tid - 1;
	*len = n;
	return true;
}

bool stub_lldb_dispatch(struct kvmdbg_stub *s, const uint8_t *pkt, size_t *len)
{
	uint64_t addr;
	enum rsp_lldb_kind kind;
	bool hold;

	if (!thread_suffix(s, pkt, len)) {
		reply_text(s, "E03");
		return true;
	}
	kind = rsp_parse_lldb(pkt, *len, &addr);
	/* Non-stop: these read guest memory and every vCPU's registers,
	 * which running vCPUs only give up held (nonstop.c). */
	hold = s->non_stop && (kind == RSP_LLDB_REGION_INFO || kind == RSP_LLDB_THREADS_INFO);
	if (hold)
		stub_ns_hold(s);
	switch (kind) {
	case RSP_LLDB_NONE: return false;
	case RSP_LLDB_MALFORMED: reply_text(s, "E16"); break;
	case RSP_LLDB_HOST_INFO: host_info(s); break;
	case RSP_LLDB_PROCESS_INFO: process_info(s); break;
	case RSP_LLDB_WATCH_INFO: watch_info(s); break;
	case RSP_LLDB_REGION_INFO: region_info(s, addr); break;
	case RSP_LLDB_THREADS_INFO: threads_info(s); break;
	case RSP_LLDB_THREAD_SUFFIX:
		s->thread_suffix = true;
		reply_text(s, "OK");
		break;
	case RSP_LLDB_LIST_THREADS:
		s->list_threads = true;
		reply_text(s, "OK");
		break;
	}
	if (hold)
		stub_ns_unhold(s);
	return true;
}
