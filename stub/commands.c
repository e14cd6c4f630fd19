/* SPDX-License-Identifier: MIT */
/* One handler per gdb request; replies are built in s->reply. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

#define E_FAULT		"E0e"
#define E_INVAL		"E16"
#define E_IO		"E05"
#define E_SRCH		"E03"
#define E_BUSY		"E10"

static void reply(struct kvmdbg_stub *s, const char *text)
{
	stub_send(s, text, strlen(text));
}

static void reply_buf(struct kvmdbg_stub *s, const struct rsp_buf *b)
{
	if (b->overflow)
		reply(s, E_INVAL);
	else
		stub_send(s, b->data, b->len);
}

/* gdb thread ids are vCPU index + 1; 0 and -1 leave the choice to us. */
static bool thread_vcpu(struct kvmdbg_stub *s, long pid, long tid, unsigned *vcpu)
{
	if (!stub_our_process(pid) || tid <= 0 || (unsigned long)tid > s->nvcpus)
		return false;
	*vcpu = (unsigned)tid - 1;
	return true;
}

static enum rsp_stop_reason stop_reason(enum kd_stop_kind k)
{
	switch (k) {
	case KD_STOP_SWBREAK: return RSP_REASON_SWBREAK;
	case KD_STOP_HWBREAK: return RSP_REASON_HWBREAK;
	case KD_STOP_WATCH: return RSP_REASON_WATCH;
	case KD_STOP_RWATCH: return RSP_REASON_RWATCH;
	case KD_STOP_AWATCH: return RSP_REASON_AWATCH;
	default: return RSP_REASON_NONE;
	}
}

static void send_stop(struct kvmdbg_stub *s, const struct kd_stop_event *ev, bool notify)
{
	const struct kvmdbg_arch_ops *a = s->arch;
	const unsigned regnos[STUB_STOP_REGS] = { a->pc_regnum, a->sp_regnum, a->fp_regnum };
	struct rsp_stop st = {
		.code = ev->kind == KD_STOP_SIGNAL ? (uint8_t)ev->signal : 5,
		.reason = stop_reason(ev->kind),
		.watch_addr = ev->addr,
		.thread = (long)ev->vcpu + 1,
	};
	const void *regs = stub_regs(s, ev->vcpu);
	struct rsp_buf b;

	for (unsigned i = 0; regs && i < STUB_STOP_REGS; i++) {
		uint8_t *val = s->regval + i * a->max_reg_size;
		size_t n = a->reg_size(regnos[i]);

		if (!n)
			continue;
		a->reg_get(regs, regnos[i], val);
		st.expedited[st.n_expedited++] =
			(struct rsp_expedited){ .regno = regnos[i], .val = val, .len = n };
	}
	rsp_buf_init(&b, s->reply, STUB_REPLY_SIZE);
	rsp_put_stop(&b, &st);
	stub_lldb_stop_extra(s, &b);
	if (notify && !b.overflow)
		stub_notify(s, b.data, b.len);
	else
		reply_buf(s, &b);
}

void stub_send_stop(struct kvmdbg_stub *s, const struct kd_stop_event *ev)
{
	send_stop(s, ev, false);
}

void stub_notify_stop(struct kvmdbg_stub *s, const struct kd_stop_event *ev)
{
	send_stop(s, ev, true);
}

/* A plain stop (Ctrl-C) is reported for a vCPU gdb had resumed: the
 * one it is focused on when that is so. */
unsigned stub_resumed_vcpu(struct kvmdbg_stub *s)
{
	if (s->resumed[s->last_stop])
		return s->last_stop;
	for (unsigned i = 0; i < s->nvcpus; i++)
		if (s->resumed[i])
			return i;
	return s->last_stop;
}

void stub_report_stop(struct kvmdbg_stub *s, int signal)
{
	struct kd_stop_event ev;
	bool have;

	pthread_mutex_lock(&s->lock);
	have = kd_stopq_pop_among(s->stopq, s->resumed, &ev);
	pthread_mutex_unlock(&s->lock);
	if (!have)
		ev = (struct kd_stop_event){ .vcpu = stub_resumed_vcpu(s),
					     .kind = KD_STOP_SIGNAL,
					     .signal = signal };
	s->last_event = ev;
	s->last_stop = ev.vcpu;
	s->cur_g = ev.vcpu;
	stub_send_stop(s, &ev);
}

/* Non-stop: a running vCPU has no registers to show. */
static bool regs_refused(struct kvmdbg_stub *s)
{
	if (!s->non_stop || !stub_ns_running(s, s->cur_g))
		return false;
	reply(s, E_BUSY);
	return true;
}

static void read_regs(struct kvmdbg_stub *s)
{
	const struct kvmdbg_arch_ops *a = s->arch;
	const void *regs;
	size_t off = 0;

	if (regs_refused(s))
		return;
	regs = stub_regs_for(s, s->cur_g, s->arch->nregs);
	if (!regs) {
		reply(s, E_IO);
		return;
	}
	for (unsigned i = 0; i < a->nregs; i++) {
		a->reg_get(regs, i, s->scratch + off);
		off += a->reg_size(i);
	}
	stub_send_hex(s, s->scratch, off);
}

static void write_regs(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	const struct kvmdbg_arch_ops *a = s->arch;
	void *regs;
	size_t total = 0, off = 0;

	if (regs_refused(s))
		return;
	regs = stub_regs_for(s, s->cur_g, s->arch->nregs);
	for (unsigned i = 0; i < a->nregs; i++)
		total += a->reg_size(i);
	if (!regs || c->data_len != 2 * total ||
	    rsp_hex_decode((const char *)c->data, c->data_len, s->scratch,
			   STUB_PACKET_SIZE) != (long)total) {
		reply(s, regs ? E_INVAL : E_IO);
		return;
	}
	for (unsigned i = 0; i < a->nregs; i++) {
		a->reg_set(regs, i, s->scratch + off);
		off += a->reg_size(i);
	}
	reply(s, "OK");
}

static void read_reg(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	const struct kvmdbg_arch_ops *a = s->arch;
	const void *regs;
	size_t n = c->regno < a->nregs ? a->reg_size(c->regno) : 0;

	if (regs_refused(s))
		return;
	regs = stub_regs_for(s, s->cur_g, c->regno);
	if (!n || !regs) {
		reply(s, !n ? E_INVAL : E_IO);
		return;
	}
	a->reg_get(regs, c->regno, s->regval);
	stub_send_hex(s, s->regval, n);
}

static void write_reg(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	const struct kvmdbg_arch_ops *a = s->arch;
	void *regs;
	size_t n = c->regno < a->nregs ? a->reg_size(c->regno) : 0;

	if (regs_refused(s))
		return;
	regs = stub_regs_for(s, s->cur_g, c->regno);
	if (!n || !regs || c->data_len != 2 * n ||
	    rsp_hex_decode((const char *)c->data, c->data_len, s->regval,
			   a->max_reg_size) != (long)n) {
		reply(s, regs ? E_INVAL : E_IO);
		return;
	}
	a->reg_set(regs, c->regno, s->regval);
	reply(s, "OK");
}

static void read_mem(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	long n;

	if (c->len > STUB_PACKET_SIZE / 2) {
		reply(s, E_INVAL);
		return;
	}
	n = stub_read_mem(s, s->cur_g, c->addr, s->scratch, c->len);
	if (n < 0 && c->len) {
		reply(s, E_FAULT);
		return;
	}
	stub_send_hex(s, s->scratch, n > 0 ? (size_t)n : 0);
}

/* x: "b" and the bytes, escaped and run-length encoded by the framing;
 * like m, as much as is readable from the start. */
static void read_mem_bin(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	long n;

	if (c->len > STUB_PACKET_SIZE - 1) {
		reply(s, E_INVAL);
		return;
	}
	n = stub_read_mem(s, s->cur_g, c->addr, (uint8_t *)s->reply + 1, c->len);
	if (n < 0 && c->len) {
		reply(s, E_FAULT);
		return;
	}
	s->reply[0] = 'b';
	stub_send(s, s->reply, 1 + (n > 0 ? (size_t)n : 0));
}

static void write_mem(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	if (c->len > STUB_PACKET_SIZE) {
		reply(s, E_INVAL);
		return;
	}
	if (c->kind == RSP_CMD_WRITE_MEM) {
		if (rsp_hex_decode((const char *)c->data, c->data_len, s->scratch,
				   STUB_PACKET_SIZE) != (long)c->len) {
			reply(s, E_INVAL);
			return;
		}
	} else {
		memcpy(s->scratch, c->data, c->len);
	}
	if (c->len && stub_write_mem(s, s->cur_g, c->addr, s->scratch, c->len) < 0) {
		reply(s, E_FAULT);
		return;
	}
	reply(s, "OK");
}

static void breakpoint(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	const char *why = "";
	int err;

	if (c->kind == RSP_CMD_REMOVE_BP) {
		stub_remove_bp(s, c->bp_type, c->addr, c->bp_kind);
		reply(s, "OK");
		return;
	}
	err = stub_insert_bp_packet(s, c, &why);
	if (!err) {
		reply(s, "OK");
		return;
	}
	stub_log(s, "Z%u at 0x%llx refused: %s", c->bp_type,
		(unsigned long long)c->addr, why);
	reply(s, err == -EFAULT ? E_FAULT : err == -ENOSPC ? "E1c" : E_INVAL);
}

static void set_thread(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	unsigned v;

	if (stub_our_process(c->pid) &&
	    (c->thread == RSP_TID_ALL || c->thread == RSP_TID_ANY)) {
		if (c->hop == 'c')
			s->cur_c = UINT_MAX;
		reply(s, "OK");
		return;
	}
	if (!thread_vcpu(s, c->pid, c->thread, &v)) {
		reply(s, E_SRCH);
		return;
	}
	if (c->hop == 'g')
		s->cur_g = v;
	else
		s->cur_c = v;
	reply(s, "OK");
}

static void thread_list(struct kvmdbg_stub *s)
{
	struct rsp_buf b;

	rsp_buf_init(&b, s->reply, STUB_REPLY_SIZE);
	rsp_put_str(&b, "m");
	for (unsigned i = 0; i < s->nvcpus; i++) {
		if (i)
			rsp_put_str(&b, ",");
		rsp_put_hex_u64(&b, i + 1);
	}
	reply_buf(s, &b);
}

static const char *stop_words(enum kd_stop_kind k)
{
	switch (k) {
	case KD_STOP_SWBREAK: return "at a breakpoint";
	case KD_STOP_HWBREAK: return "at a hardware breakpoint";
	case KD_STOP_WATCH: return "at a write watchpoint";
	case KD_STOP_RWATCH: return "at a read watchpoint";
	case KD_STOP_AWATCH: return "at an access watchpoint";
	default: return "by a signal";
	}
}

/* What gdb shows beside each thread in `info threads`. */
static void describe_vcpu(struct kvmdbg_stub *s, unsigned v, char *out, size_t len)
{
	if (s->non_stop && stub_ns_running(s, v))
		snprintf(out, len, "vCPU %u, running", v);
	else if (s->non_stop)
		snprintf(out, len, "vCPU %u, stopped", v);
	else if (v == s->last_event.vcpu)
		snprintf(out, len, "vCPU %u, stopped %s", v, stop_words(s->last_event.kind));
	else
		snprintf(out, len, "vCPU %u, stopped with the others", v);
}

static void thread_extra(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	char text[96];
	struct rsp_buf b;
	unsigned v;

	if (!thread_vcpu(s, c->pid, c->thread, &v)) {
		reply(s, E_SRCH);
		return;
	}
	describe_vcpu(s, v, text, sizeof(text));
	rsp_buf_init(&b, s->reply, STUB_REPLY_SIZE);
	rsp_put_hex_bytes(&b, text, strlen(text));
	reply_buf(s, &b);
}

/* The thread list document, built in s->scratch. */
static const char *threads_xml(struct kvmdbg_stub *s)
{
	char *out = (char *)s->scratch;
	size_t len = STUB_PACKET_SIZE, used;

	used = snprintf(out, len, "<?xml version=\"1.0\"?>\n<threads>\n");
	for (unsigned i = 0; i < s->nvcpus && used < len; i++) {
		char text[96];

		describe_vcpu(s, i, text, sizeof(text));
		used += snprintf(out + used, len - used,
				 "<thread id=\"%x\" core=\"%u\" name=\"vCPU %u\">%s</thread>\n",
				 i + 1, i, i, text);
	}
	if (used < len)
		snprintf(out + used, len - used, "</threads>\n");
	return out;
}

static void xfer(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	const char *doc;
	size_t total, n;
	struct rsp_buf b;

	if (!strcmp(c->object, "features") && !strcmp(c->annex, "target.xml")) {
		doc = s->arch->target_xml;
	} else if (!strcmp(c->object, "threads") && !c->annex[0]) {
		doc = threads_xml(s);
	} else if (!strcmp(c->object, "features") || !strcmp(c->object, "threads")) {
		reply(s, "E00");
		return;
	} else {
		reply(s, "");
		return;
	}
	total = strlen(doc);
	n = c->offset >= total ? 0 : total - c->offset;
	if (n > c->len)
		n = c->len;
	if (n > STUB_PACKET_SIZE / 2)
		n = STUB_PACKET_SIZE / 2;
	rsp_buf_init(&b, s->reply, STUB_REPLY_SIZE);
	rsp_put_str(&b, c->offset + n >= total ? "l" : "m");
	if (n)
		rsp_put_mem(&b, doc + c->offset, n);
	reply_buf(s, &b);
}

static void monitor(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	char line[256];
	long n = rsp_hex_decode((const char *)c->data, c->data_len,
				(uint8_t *)line, sizeof(line) - 1);

	if (n < 0) {
		reply(s, E_INVAL);
		return;
	}
	line[n] = 0;
	stub_monitor(s, line);
}

static bool asks_step(const struct rsp_cmd *c)
{
	if (c->kind == RSP_CMD_STEP)
		return true;
	for (size_t i = 0; c->kind == RSP_CMD_VCONT && i < c->n_actions; i++)
		if (strchr("sSr", c->actions[i].action))
			return true;
	return false;
}

static void resume(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	int err;

	if (s->non_stop && c->kind != RSP_CMD_VCONT) {
		stub_log(s, "%s refused: non-stop mode resumes threads with vCont",
			c->kind == RSP_CMD_STEP ? "s" : "c");
		reply(s, E_INVAL);
		return;
	}
	err = c->kind != RSP_CMD_VCONT ? 0 :
	      s->non_stop ? stub_vcont_threads(s, c) : stub_vcont_check(s, c);

	if (err) {
		stub_log(s, "vCont refused: %s", err == -ESRCH ?
			"it names a thread that does not exist" :
			"it resumes no thread");
		reply(s, err == -ESRCH ? E_SRCH : E_INVAL);
		return;
	}
	/* Running free instead of one instruction would be a lie. */
	if (asks_step(c) && s->cfg.caps->step == KVMDBG_MECH_NONE) {
		stub_log(s, "single-step refused: the host cannot single-step (see monitor caps)");
		reply(s, "E5f");
		return;
	}
	if (s->non_stop) {
		/* The stops come as notifications. */
		reply(s, "OK");
		stub_ns_vcont(s, c);
		return;
	}
	if (s->vcpu_ops->resume(s, c) < 0)
		reply(s, E_IO);
}

/*
 * gdb takes a stop notification it was sent with vStopped even after D's
 * OK: closing at once would answer that with the end of the connection,
 * and gdb's detach fails.  The connection then stays open for it.
 */
static void detach(struct kvmdbg_stub *s)
{
	bool owed = s->non_stop && s->ns_seq;

	reply(s, "OK");
	s->held = false;
	if (!owed) {
		stub_disconnect(s);
		return;
	}
	stub_end_session(s);
	s->draining = true;
}

static void drained(struct kvmdbg_stub *s, const struct rsp_cmd *c)
{
	if (c->kind != RSP_CMD_VSTOPPED) {
		stub_log(s, "packet after D refused: the session has ended");
		reply(s, E_INVAL);
		return;
	}
	reply(s, "OK");
	stub_disconnect(s);
}

static void supported(struct kvmdbg_stub *s)
{
	char text[256];

	snprintf(text, sizeof(text),
		 "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;"
		 "vContSupported+;QStartNoAckMode+;qXfer:threads:read+;"
		 "ConditionalBreakpoints+;BreakpointCommands+;binary-upload+;QNonStop+",
		 STUB_PACKET_SIZE);
	reply(s, text);
}

/* Non-stop: requests that read or change guest memory or the debug
 * state are served with every vCPU off the CPUs (nonstop.c says why). */
static bool needs_hold(enum rsp_cmd_kind k)
{
	switch (k) {
	case RSP_CMD_READ_MEM: case RSP_CMD_READ_MEM_BIN:
	case RSP_CMD_WRITE_MEM: case RSP_CMD_WRITE_MEM_BIN:
	case RSP_CMD_INSERT_BP: case RSP_CMD_REMOVE_BP:
	case RSP_CMD_QRCMD:
		return true;
	default:
		return false;
	}
}

static void command(struct kvmdbg_stub *s, struct rsp_cmd *c)
{
	char text[32];

	switch (c->kind) {
	case RSP_CMD_UNKNOWN: reply(s, ""); break;
	case RSP_CMD_MALFORMED: reply(s, E_INVAL); break;
	case RSP_CMD_QSUPPORTED: supported(s); break;
	case RSP_CMD_START_NOACK:
		reply(s, "OK");
		s->noack = true;
		break;
	case RSP_CMD_HALT_REASON:
		if (s->non_stop)
			stub_ns_halt_reason(s);
		else
			stub_send_stop(s, &s->last_event);
		break;
	case RSP_CMD_QNONSTOP:
		stub_ns_set(s, c->non_stop);
		reply(s, "OK");
		break;
	case RSP_CMD_VSTOPPED:
		if (s->non_stop)
			stub_ns_stopped(s);
		else
			reply(s, E_INVAL);
		break;
	case RSP_CMD_VCTRLC:
		/* All-stop hears packets only with every vCPU stopped. */
		reply(s, "OK");
		if (s->non_stop)
			stub_ns_ctrlc(s);
		break;
	case RSP_CMD_READ_REGS: read_regs(s); break;
	case RSP_CMD_WRITE_REGS: write_regs(s, c); break;
	case RSP_CMD_READ_REG: read_reg(s, c); break;
	case RSP_CMD_WRITE_REG: write_reg(s, c); break;
	case RSP_CMD_READ_MEM: read_mem(s, c); break;
	case RSP_CMD_READ_MEM_BIN: read_mem_bin(s, c); break;
	case RSP_CMD_WRITE_MEM:
	case RSP_CMD_WRITE_MEM_BIN: write_mem(s, c); break;
	case RSP_CMD_CONTINUE:
	case RSP_CMD_STEP:
	case RSP_CMD_VCONT: resume(s, c); break;
	case RSP_CMD_VCONT_QUERY: reply(s, "vCont;c;C;s;S;t;r"); break;
	case RSP_CMD_INSERT_BP:
	case RSP_CMD_REMOVE_BP: breakpoint(s, c); break;
	case RSP_CMD_KILL:
		reply(s, "OK");
		pthread_mutex_lock(&s->lock);
		stub_remove_socket_locked(s);
		pthread_mutex_unlock(&s->lock);
		s->cfg.kill(s->cfg.opaque);
		break;
	case RSP_CMD_DETACH: detach(s); break;
	case RSP_CMD_SET_THREAD: set_thread(s, c); break;
	case RSP_CMD_THREAD_ALIVE: {
		unsigned v;

		reply(s, thread_vcpu(s, c->pid, c->thread, &v) ? "OK" : E_SRCH);
		break;
	}
	case RSP_CMD_QATTACHED: reply(s, "1"); break;
	case RSP_CMD_QC:
		snprintf(text, sizeof(text), "QC%x", s->last_stop + 1);
		reply(s, text);
		break;
	case RSP_CMD_QFTHREADINFO: thread_list(s); break;
	case RSP_CMD_QSTHREADINFO: reply(s, "l"); break;
	case RSP_CMD_QTHREAD_EXTRA: thread_extra(s, c); break;
	case RSP_CMD_QXFER_READ: xfer(s, c); break;
	case RSP_CMD_QRCMD: monitor(s, c); break;
	}
}

void stub_dispatch(struct kvmdbg_stub *s, const uint8_t *pkt, size_t len)
{
	struct rsp_cmd *c = &s->cmd;
	bool hold;

	if (s->draining) {
		rsp_parse(pkt, len, c);
		drained(s, c);
		return;
	}
	if (stub_lldb_dispatch(s, pkt, &len))
		return;
	rsp_parse(pkt, len, c);
	hold = s->non_stop && needs_hold(c->kind);
	if (hold)
		stub_ns_hold(s);
	command(s, c);
	if (hold)
		stub_ns_unhold(s);
}
