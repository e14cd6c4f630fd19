/* SPDX-License-Identifier: MIT */
/*
 * Breakpoint conditions and commands evaluated by the stub.  gdb sends
 * them as agent expressions with Z0 and Z1; a hit runs them in the vCPU
 * thread that met the breakpoint, so a false condition costs one exit and
 * one step past the breakpoint, and never a round trip to gdb.  printf
 * commands (dprintf) queue their text for the stub thread, which sends it
 * to gdb's console as 'O' packets while the guest runs on.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvmdbg/agent_expr.h>

#include "internal.h"

enum { Z_SW, Z_HW };

/* Text one 'O' packet carries: its hex fits the reply buffer many times. */
#define CONSOLE_CHUNK 4096

struct hit_ctx {
	struct kvmdbg_stub *s;
	struct stub_vcpu *v;
};

static int hit_read_mem(void *opaque, uint64_t addr, void *buf, size_t len)
{
	struct hit_ctx *h = opaque;
	long n = stub_read_mem(h->s, h->v->idx, addr, buf, len);

	return n >= 0 && (size_t)n == len ? 0 : -1;
}

static int hit_read_reg(void *opaque, unsigned regno, uint64_t *val)
{
	struct hit_ctx *h = opaque;
	const struct kvmdbg_arch_ops *a = h->s->arch;
	size_t n = regno < a->nregs ? a->reg_size(regno) : 0;

	if (!n || n > sizeof(*val))
		return -1;
	/* The cache of a stop holds what regs_load reads, the rest on demand. */
	if (a->regs_complete && a->regs_complete(h->v->fd, h->v->regs, regno) < 0)
		return -1;
	a->reg_get(h->v->regs, regno, h->v->regval);
	*val = 0;
	for (size_t i = n; i-- > 0;)
		*val = *val << 8 | h->v->regval[i];
	return 0;
}

/*
 * Queued for the stub thread.  A guest printing faster than gdb reads
 * waits here for room; once the VM is stopping what does not fit is
 * dropped instead, since the stub thread waits for this vCPU to park
 * before it reads the queue again.
 */
static void hit_output(void *opaque, const char *text, size_t len)
{
	struct hit_ctx *h = opaque;
	struct kvmdbg_stub *s = h->s;

	while (s->console_len + len > STUB_CONSOLE_SIZE && !s->stopping && !s->exited) {
		stub_wake(s);
		pthread_cond_wait(&s->cond, &s->lock);
	}
	if (s->console_len + len > STUB_CONSOLE_SIZE)
		len = STUB_CONSOLE_SIZE - s->console_len;
	memcpy(s->console + s->console_len, text, len);
	s->console_len += len;
	stub_wake(s);
}

void stub_console_flush_locked(struct kvmdbg_stub *s)
{
	char chunk[CONSOLE_CHUNK];

	while (s->console_len) {
		size_t n = s->console_len < sizeof(chunk) ? s->console_len : sizeof(chunk);
		struct rsp_buf b;

		memcpy(chunk, s->console, n);
		memmove(s->console, s->console + n, s->console_len - n);
		s->console_len -= n;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		/* gdb takes console output only while the guest runs, and
		 * never in non-stop mode: the log has it there. */
		if (s->conn_fd >= 0 && s->running) {
			rsp_buf_init(&b, s->reply, STUB_REPLY_SIZE);
			rsp_put_str(&b, "O");
			rsp_put_hex_bytes(&b, chunk, n);
			stub_send(s, b.data, b.len);
		} else if (s->non_stop) {
			stub_log(s, "breakpoint output: %.*s", (int)n, chunk);
		}
		pthread_mutex_lock(&s->lock);
	}
}

static struct kd_bpaction_table *table(struct kvmdbg_stub *s, enum kd_stop_kind kind)
{
	return s->bp_actions[kind == KD_STOP_HWBREAK ? Z_HW : Z_SW];
}

/*
 * A stop of the VM coming first leaves v on the trap instead, to meet it
 * again once gdb resumes it: in all-stop the commands of that hit then
 * run twice; non-stop steps past it then (stub_bp_step_cancel).
 */
bool stub_step_past(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t pc)
{
	struct kd_swbp *bp = kd_bptable_find(s->bps, pc);

	/* With the trap out of memory no other vCPU may run past it. */
	if (bp) {
		if (!stub_take_exclusive(s, v))
			return false;
		v->cond_exclusive = true;
		/* Taking it may have waited with the lock released. */
		bp = kd_bptable_find(s->bps, pc);
		if (bp)
			stub_trap_restore(s, bp);
	}
	v->stepping_over = true;
	v->step_over_addr = pc;
	v->cond_resume = true;
	return true;
}

bool stub_bp_hit_resumes(struct kvmdbg_stub *s, struct stub_vcpu *v,
			 enum kd_stop_kind kind, uint64_t pc)
{
	const struct kd_bpactions *a = kd_bpaction_table_get(table(s, kind), pc);
	struct hit_ctx h = { .s = s, .v = v };
	const struct kd_ax_env env = {
		.read_mem = hit_read_mem, .read_reg = hit_read_reg,
		.output = hit_output, .opaque = &h,
	};
	enum kd_ax_result err;
	enum kd_bp_outcome out;

	if (!a)
		return false;
	out = kd_bpactions_hit(a, &env, &err);
	if (err != KD_AX_OK)
		stub_log(s, "%s of the breakpoint at 0x%llx on vCPU %u failed: %s%s",
			out == KD_BP_COMMANDS_RAN ? "a command" : "the condition",
			(unsigned long long)pc, v->idx, kd_ax_result_name(err),
			out == KD_BP_STOP ? "; stopping there" : "");
	if (out == KD_BP_STOP)
		return false;
	stub_step_past(s, v, pc);
	return true;
}

void stub_bp_step_done(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	v->cond_resume = false;
	if (v->cond_exclusive) {
		v->cond_exclusive = false;
		s->exclusive = 0;
		pthread_cond_broadcast(&s->cond);
	}
}

void stub_bp_step_cancel(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	struct kd_swbp *bp = kd_bptable_find(s->bps, v->step_over_addr);

	v->stepping_over = false;
	if (bp)
		stub_trap_write(s, bp->gpa);
	/* Non-stop holds the vCPUs off the CPUs for a moment at each of gdb's
	 * changes: the step past is only put off. */
	if (s->non_stop) {
		v->over_pending = true;
		v->over_addr = v->step_over_addr;
	}
	stub_bp_step_done(s, v);
}

/* The expressions of one list, decoded and checked, into a. */
static int add_list(struct kd_bpactions *a, enum kd_ax_use use,
		    const struct rsp_agent_expr *e, size_t n, uint8_t *buf,
		    const char **why)
{
	for (size_t i = 0; i < n; i++) {
		long len = rsp_hex_decode((const char *)e[i].hex, 2 * e[i].len, buf,
					  STUB_PACKET_SIZE);
		int err;

		if (len < 0) {
			*why = "malformed agent expression";
			return -EINVAL;
		}
		err = kd_bpactions_add(a, use, buf, (size_t)len, why);
		if (err)
			return err;
	}
	return 0;
}

int stub_insert_bp_packet(struct kvmdbg_stub *s, const struct rsp_cmd *c,
			  const char **why)
{
	struct kd_bpactions *a = NULL;
	int err;

	if (c->n_conds || c->n_cmds) {
		if (c->bp_type != Z_SW && c->bp_type != Z_HW) {
			*why = "conditions and commands are for breakpoints only";
			return -EINVAL;
		}
		a = kd_bpactions_new();
		if (!a) {
			*why = "out of memory for the breakpoint's expressions";
			return -ENOMEM;
		}
		err = add_list(a, KD_AX_CONDITION, c->conds, c->n_conds, s->scratch, why);
		if (!err)
			err = add_list(a, KD_AX_COMMAND, c->cmds, c->n_cmds, s->scratch, why);
		if (err) {
			kd_bpactions_free(a);
			return err;
		}
	}
	err = stub_insert_bp(s, c->bp_type, c->addr, c->bp_kind, why);
	if (err) {
		kd_bpactions_free(a);
		return err;
	}
	if (c->bp_type > Z_HW)
		return 0;
	/* gdb inserts again, without removing, to change the lists. */
	err = kd_bpaction_table_set(s->bp_actions[c->bp_type], c->addr, a);
	if (err) {
		stub_remove_bp(s, c->bp_type, c->addr, c->bp_kind);
		*why = "out of memory for the breakpoint's expressions";
	}
	return err;
}
