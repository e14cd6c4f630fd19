/* SPDX-License-Identifier: MIT */
/*
 * Non-stop run control (gdb's QNonStop:1).  Each vCPU stops on its own: an
 * event of its own parks it alone, and the stub thread reports the stop in
 * a %Stop notification once the vCPU has parked, the rest of a burst as
 * replies to vStopped.  vCont resumes or stops only the threads it names.
 *
 * Whatever the stub reads or changes in the guest while vCPUs run (guest
 * memory, trap bytes, the breakpoint table, memory slots of watched pages,
 * debug registers) it does with every vCPU held outside KVM_RUN for that
 * one request (stub_ns_hold): these change together, as in all-stop, and
 * no vCPU runs into half of a change.  gdb hears of no stop; the held
 * vCPUs go on when the request is answered.
 *
 * A vCPU resumed from one of the stub's software breakpoints steps past it
 * alone while the trap is out of memory (stub_step_past), the others held
 * for that one instruction: none can run through the breakpoint unseen.
 * Displaced stepping would run a copy of the instruction elsewhere in guest
 * memory, which takes a relocating decoder for every pc-relative form of
 * both architectures and memory the guest does not know is in use;
 * emulating the instruction takes a full decoder.  Holding the others for
 * one instruction costs them microseconds.
 */
#include <stdio.h>

#include "internal.h"

#define SIGINT_NR 2

static struct kd_stop_event plain_stop(unsigned vcpu, uint8_t signal)
{
	return (struct kd_stop_event){ .vcpu = vcpu, .kind = KD_STOP_SIGNAL,
				       .signal = signal };
}

/*
 * Switching keeps every vCPU as it is, except that all-stop has them all
 * stopped.  All-stop answers packets only with the VM stopped, so entering
 * non-stop every vCPU is stopped; yet '?' reports only the one gdb last
 * heard of.  gdb 13 fails an internal assertion (remote.c, wait) when it
 * is handed two stopped threads or more while it connects.  The others are
 * running to gdb: they stay stopped (as -S would hold them) until gdb
 * first resumes a thread, and a vCont;t or vCtrlC reports them stopped.
 */
void stub_ns_set(struct kvmdbg_stub *s, bool on)
{
	if (on == s->non_stop)
		return;
	pthread_mutex_lock(&s->lock);
	if (!on) {
		stub_request_stop_locked(s);
		stub_wait_parked_locked(s);
		s->non_stop = false;
		for (unsigned i = 0; i < s->nvcpus; i++) {
			s->vcpus[i].over_pending = false;
			s->vcpus[i].ns_stop_req = false;
			s->vcpus[i].ns_unseen_hold = false;
		}
		pthread_mutex_unlock(&s->lock);
		return;
	}
	for (unsigned i = 0; i < s->nvcpus; i++) {
		struct stub_vcpu *v = &s->vcpus[i];
		/* Events that came with the last one reported are still owed. */
		bool owed = kd_stopq_pending(s->stopq, i);

		v->runnable = false;
		v->over_pending = false;
		v->ns_stop_req = false;
		v->ns_resend = false;
		v->ns_seen = i == s->last_event.vcpu && !owed;
		v->ns_unseen_hold = i != s->last_event.vcpu && !owed;
		v->ns_last = s->last_event;
	}
	s->non_stop = true;
	s->ns_seq = false;
	s->ns_exit_sent = false;
	s->stopping = false;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void stub_ns_hold(struct kvmdbg_stub *s)
{
	pthread_mutex_lock(&s->lock);
	stub_request_stop_locked(s);
	stub_wait_parked_locked(s);
	pthread_mutex_unlock(&s->lock);
}

void stub_ns_unhold(struct kvmdbg_stub *s)
{
	pthread_mutex_lock(&s->lock);
	stub_apply_layout(s);
	for (unsigned i = 0; i < s->nvcpus; i++) {
		struct stub_vcpu *v = &s->vcpus[i];

		/* Its stop was at a breakpoint gdb has removed since, which
		 * discarded the event: gdb never heard of it, so it runs on;
		 * unless gdb asked it to stop meanwhile, and waits for that. */
		if (v->runnable || v->ns_seen || v->ns_unseen_hold ||
		    kd_stopq_pending(s->stopq, i))
			continue;
		if (v->ns_stop_req)
			stub_ns_parked(s, v);
		else
			v->runnable = true;
	}
	s->stopping = false;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

bool stub_ns_running(struct kvmdbg_stub *s, unsigned vcpu)
{
	bool running;

	pthread_mutex_lock(&s->lock);
	running = s->vcpus[vcpu].runnable || s->vcpus[vcpu].ns_unseen_hold;
	pthread_mutex_unlock(&s->lock);
	return running;
}

/* Lock held, v parked.  A stop gdb asked for becomes its event now. */
void stub_ns_parked(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	if (v->runnable)
		return;
	if (v->ns_stop_req) {
		struct kd_stop_event ev = plain_stop(v->idx, v->ns_stop_sig);

		v->ns_stop_req = false;
		if (!kd_stopq_pending(s->stopq, v->idx))
			kd_stopq_push(s->stopq, &ev);
	}
	if (kd_stopq_pending(s->stopq, v->idx))
		stub_wake(s);
}

/*
 * Lock held.  A vCPU stopped or stopping already gives no second report.
 * One stopped with its event not yet reported keeps the request: removing
 * the breakpoint behind that event discards it, and the request then gives
 * the stop gdb waits for (stub_ns_unhold).
 */
static void stop_one(struct kvmdbg_stub *s, struct stub_vcpu *v, uint8_t signal)
{
	if (v->ns_unseen_hold) {
		v->ns_unseen_hold = false;
		v->ns_stop_req = true;
		v->ns_stop_sig = signal;
		stub_ns_parked(s, v);
		return;
	}
	if (!v->runnable) {
		if (!v->ns_seen && !v->ns_stop_req) {
			v->ns_stop_req = true;
			v->ns_stop_sig = signal;
		}
		return;
	}
	v->runnable = false;
	v->ns_stop_req = true;
	v->ns_stop_sig = signal;
	if (v->parked)
		stub_ns_parked(s, v);
	else
		stub_kick(s, v);
}

/* Lock held, every vCPU parked, v stopped with its stop reported. */
static void resume_one(struct kvmdbg_stub *s, struct stub_vcpu *v, enum stub_action act,
		       const struct rsp_vcont_action *r)
{
	void *regs = stub_regs(s, v->idx);
	uint64_t pc;

	if (!regs)
		return;
	pc = s->arch->pc(regs);
	v->step = act == ACT_STEP;
	/* An empty range is one step. */
	v->range = r && r->range_start < r->range_end;
	v->range_start = r ? r->range_start : 0;
	v->range_end = r ? r->range_end : 0;
	stub_watch_paging_wait(s, v);
	/* gdb moved it off the breakpoint it was to step past. */
	if (v->over_pending && v->over_addr != pc)
		v->over_pending = false;
	/* Only a breakpoint gdb saw it stop at is stepped past; one it is
	 * merely sitting on (stopped by 't' there) is a hit still to come. */
	if (!v->over_pending && v->ns_seen && v->ns_last.addr == pc &&
	    (v->ns_last.kind == KD_STOP_SWBREAK || v->ns_last.kind == KD_STOP_HWBREAK) &&
	    stub_on_own_breakpoint(s, pc)) {
		v->over_pending = true;
		v->over_addr = pc;
	}
	stub_regs_flush_one(s, v->idx);
	v->ns_seen = false;
	v->ns_resend = false;
	s->resumed[v->idx] = true;
	v->runnable = true;
}

int stub_ns_vcont(struct kvmdbg_stub *s, const struct rsp_cmd *cmd)
{
	bool resumes = false;

	stub_ns_hold(s);
	pthread_mutex_lock(&s->lock);
	stub_pending_refresh(s);
	stub_bp_check_cpu_pages(s);
	stub_watch_check_cpu_pages(s);
	for (unsigned i = 0; i < s->nvcpus; i++) {
		struct stub_vcpu *v = &s->vcpus[i];
		enum stub_action act = stub_vcont_action(s, cmd, i);

		if (act == ACT_STOP) {
			stop_one(s, v, 0);
			continue;
		}
		/* A thread gdb has not seen stop is running to gdb; one with
		 * an event not yet reported reports it first. */
		if (act == ACT_HOLD || v->runnable || !v->ns_seen ||
		    kd_stopq_pending(s->stopq, i))
			continue;
		resume_one(s, v, act, stub_vcont_range(s, cmd, i));
		resumes = true;
	}
	for (unsigned i = 0; i < s->nvcpus && resumes; i++) {
		if (s->vcpus[i].ns_unseen_hold) {
			s->vcpus[i].ns_unseen_hold = false;
			s->vcpus[i].runnable = true;
		}
	}
	pthread_mutex_unlock(&s->lock);
	if (resumes)
		s->held = false;
	stub_ns_unhold(s);
	return 0;
}

void stub_ns_ctrlc(struct kvmdbg_stub *s)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nvcpus; i++) {
		if (s->vcpus[i].runnable || s->vcpus[i].ns_unseen_hold) {
			stop_one(s, &s->vcpus[i], SIGINT_NR);
			break;
		}
	}
	pthread_mutex_unlock(&s->lock);
}

/* The next stop gdb is owed: one '?' asked for again, else an event of
 * a vCPU that has parked. */
static bool next_report(struct kvmdbg_stub *s, struct kd_stop_event *ev)
{
	bool eligible[s->nvcpus];
	bool found = false;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nvcpus && !found; i++) {
		struct stub_vcpu *v = &s->vcpus[i];

		if (v->ns_resend) {
			v->ns_resend = false;
			found = !v->runnable;
			*ev = v->ns_last;
		}
	}
	if (!found) {
		for (unsigned i = 0; i < s->nvcpus; i++)
			eligible[i] = s->vcpus[i].parked && !s->vcpus[i].runnable;
		found = kd_stopq_pop_among(s->stopq, eligible, ev);
	}
	if (found) {
		s->vcpus[ev->vcpu].ns_last = *ev;
		s->vcpus[ev->vcpu].ns_seen = true;
		/* This report answers a stop gdb asked for meanwhile. */
		s->vcpus[ev->vcpu].ns_stop_req = false;
	}
	pthread_mutex_unlock(&s->lock);
	if (found) {
		s->last_event = *ev;
		s->last_stop = ev->vcpu;
	}
	return found;
}

static bool guest_exited(struct kvmdbg_stub *s)
{
	bool exited;

	pthread_mutex_lock(&s->lock);
	exited = s->exited;
	pthread_mutex_unlock(&s->lock);
	return exited;
}

static void exit_reply(struct kvmdbg_stub *s, bool notify)
{
	char w[8];
	int n = snprintf(w, sizeof(w), "W%02x", s->exit_status & 0xff);

	s->ns_exit_sent = true;
	if (notify)
		stub_notify(s, w, (size_t)n);
	else
		stub_send(s, w, (size_t)n);
}

/* From the stub thread's wake-up: a new sequence, unless one is going on. */
void stub_ns_notify(struct kvmdbg_stub *s)
{
	struct kd_stop_event ev;

	if (s->conn_fd < 0 || s->ns_seq)
		return;
	if (guest_exited(s)) {
		if (!s->ns_exit_sent) {
			exit_reply(s, true);
			s->ns_seq = true;
		}
		return;
	}
	if (next_report(s, &ev)) {
		stub_notify_stop(s, &ev);
		s->ns_seq = true;
	}
}

/* vStopped: the next stop, or OK to end the sequence; the guest's exit
 * comes last, and its OK ends the stub.  A stop handed out opens the
 * sequence if no notification did (a vStopped that crossed the stub's
 * news): gdb ignores notifications until the OK, and would never hear of
 * a stop notified before it. */
void stub_ns_stopped(struct kvmdbg_stub *s)
{
	struct kd_stop_event ev;

	if (guest_exited(s)) {
		if (!s->ns_exit_sent) {
			exit_reply(s, false);
			return;
		}
		stub_send(s, "OK", 2);
		s->ns_seq = false;
		pthread_mutex_lock(&s->lock);
		s->exit_reported = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		return;
	}
	if (next_report(s, &ev)) {
		stub_send_stop(s, &ev);
		s->ns_seq = true;
		return;
	}
	s->ns_seq = false;
	stub_send(s, "OK", 2);
}

/* '?': every stopped thread again, the first as the reply, whatever
 * sequence was going on. */
void stub_ns_halt_reason(struct kvmdbg_stub *s)
{
	struct kd_stop_event ev;

	pthread_mutex_lock(&s->lock);
	for (unsigned i = 0; i < s->nvcpus; i++)
		s->vcpus[i].ns_resend = s->vcpus[i].ns_seen && !s->vcpus[i].runnable;
	pthread_mutex_unlock(&s->lock);
	s->ns_seq = false;
	if (next_report(s, &ev)) {
		stub_send_stop(s, &ev);
		s->ns_seq = true;
		return;
	}
	stub_send(s, "OK", 2);
}

/* vCPU thread, lock held, about to run: false when a hold came first. */
bool stub_ns_step_over(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	/* gdb took the breakpoint out meanwhile: nothing to step past. */
	if (s->exited || !stub_on_own_breakpoint(s, v->over_addr)) {
		v->over_pending = false;
		return true;
	}
	if (!stub_step_past(s, v, v->over_addr))
		return false;
	v->over_pending = false;
	return true;
}
