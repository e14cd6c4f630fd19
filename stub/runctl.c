/* SPDX-License-Identifier: MIT */
/*
 * All-stop run control, and the vCPU threads' side of both modes (the
 * stub thread's side of non-stop is nonstop.c).  vCPU threads park in
 * kvmdbg_vcpu_pre_run while the VM is stopped; the stub thread stops them
 * by setting `stopping` and kicking each one out of KVM_RUN
 * (immediate_exit covers the window before KVM_RUN, the signal the time
 * inside it), and resumes them per gdb's request, first stepping each
 * vCPU that sits on one of the stub's own breakpoints past it while every
 * other vCPU stays parked.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

#define SIGTRAP_NR 5

void kvmdbg_vcpu_kick_default(struct kvmdbg_stub *s, unsigned vcpu)
{
	struct stub_vcpu *v = &s->vcpus[vcpu];

	v->run->immediate_exit = 1;
	v->exit_set = true;
	if (v->thread_known)
		pthread_kill(v->thread, s->cfg.signo);
}

void stub_kick(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	/* Their threads may be gone, their kvm_run unmapped. */
	if (s->vcpus_gone)
		return;
	if (s->cfg.ops.kick)
		s->cfg.ops.kick(s->cfg.opaque, s, v->idx);
	else
		kvmdbg_vcpu_kick_default(s, v->idx);
}

/* self: the vCPU whose thread asks, on its way to park already; it needs
 * no signal (a tgkill and a signal return per stop). */
static void request_stop(struct kvmdbg_stub *s, const struct stub_vcpu *self)
{
	if (s->stopping)
		return;
	s->stopping = true;
	for (unsigned i = 0; i < s->nvcpus; i++)
		atomic_store_explicit(&s->vcpus[i].quiet, false, memory_order_release);
	for (unsigned i = 0; i < s->nvcpus; i++)
		if (!s->vcpus[i].parked && &s->vcpus[i] != self)
			stub_kick(s, &s->vcpus[i]);
	/* vCPUs waiting to run alone give that up. */
	pthread_cond_broadcast(&s->cond);
}

void stub_request_stop_locked(struct kvmdbg_stub *s)
{
	request_stop(s, NULL);
}

void stub_wait_parked_locked(struct kvmdbg_stub *s)
{
	while (s->nparked < s->nvcpus && !s->exited && !s->vcpus_gone)
		pthread_cond_wait(&s->cond, &s->lock);
}

void stub_wake(struct kvmdbg_stub *s)
{
	uint64_t one = 1;

	/* Only fails when the counter would overflow: the stub already has
	 * an unread wake-up then, which is all this is for. */
	if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		stub_log(s, "cannot wake the gdb stub: %s", strerror(errno));
}

void stub_apply_layout(struct kvmdbg_stub *s)
{
	if (s->layout_dirty && stub_memslots_apply(s) < 0)
		stub_log(s, "watchpoint page protection could not be applied");
}

void stub_release_all_locked(struct kvmdbg_stub *s)
{
	stub_apply_layout(s);
	for (unsigned i = 0; i < s->nvcpus; i++) {
		s->vcpus[i].runnable = true;
		s->vcpus[i].step = false;
		s->vcpus[i].range = false;
		s->vcpus[i].paging_wait = false;
		s->resumed[i] = true;
	}
	s->stopping = false;
	pthread_cond_broadcast(&s->cond);
}

void *stub_regs(struct kvmdbg_stub *s, unsigned vcpu)
{
	struct stub_vcpu *v = &s->vcpus[vcpu];
	int err;

	if (!v->regs_valid) {
		err = s->vcpu_ops->regs_load(s, vcpu, v->regs);
		if (err) {
			stub_log(s, "cannot read vCPU %u registers: %s",
				vcpu, strerror(-err));
			return NULL;
		}
		v->regs_valid = true;
	}
	return v->regs;
}

void *stub_regs_for(struct kvmdbg_stub *s, unsigned vcpu, unsigned regno)
{
	void *regs = stub_regs(s, vcpu);
	int err;

	if (!regs || !s->vcpu_ops->regs_complete)
		return regs;
	err = s->vcpu_ops->regs_complete(s, vcpu, regs, regno);
	if (err) {
		stub_log(s, "cannot read vCPU %u floating-point registers: %s",
			vcpu, strerror(-err));
		return NULL;
	}
	return regs;
}

void stub_regs_flush_one(struct kvmdbg_stub *s, unsigned vcpu)
{
	struct stub_vcpu *v = &s->vcpus[vcpu];
	int err;

	if (!v->regs_valid)
		return;
	err = s->vcpu_ops->regs_store(s, vcpu, v->regs);
	if (err)
		stub_log(s, "cannot write vCPU %u registers: %s", vcpu, strerror(-err));
	else
		stub_vcpu_changed(s, vcpu);
	v->regs_valid = false;
}

void stub_regs_flush(struct kvmdbg_stub *s)
{
	for (unsigned i = 0; i < s->nvcpus; i++)
		stub_regs_flush_one(s, i);
}

static void apply_debug(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	struct kvm_guest_debug dbg;

	if (!s->cfg.caps->guest_debug)
		return;
	stub_debug_control(s, v, &dbg);
	if (v->debug_applied && !memcmp(&dbg, &v->last_debug, sizeof(dbg)))
		return;
	if (ioctl(v->fd, KVM_SET_GUEST_DEBUG, &dbg) < 0) {
		stub_log(s, "KVM_SET_GUEST_DEBUG on vCPU %u failed: %s",
			v->idx, strerror(errno));
		return;
	}
	v->last_debug = dbg;
	v->debug_applied = true;
}

void kvmdbg_vcpu_pre_run(struct kvmdbg_stub *s, unsigned vcpu)
{
	struct stub_vcpu *v = &s->vcpus[vcpu];
	const void *known;

	/* The stub cleared quiet before it asks anything of this vCPU. */
	if (atomic_load_explicit(&v->quiet, memory_order_acquire)) {
		v->regs_valid = false;
		return;
	}
	pthread_mutex_lock(&s->lock);
	if (!v->thread_known) {
		v->thread = pthread_self();
		v->thread_known = true;
	}
park:
	while (s->stopping || !v->runnable ||
	       (s->exclusive && s->exclusive != vcpu + 1)) {
		/* Registers are only coherent once KVM has finished the
		 * instruction that exited for I/O: let it, then park. */
		if (v->io_pending) {
			v->run->immediate_exit = 1;
			v->exit_set = true;
			pthread_mutex_unlock(&s->lock);
			return;
		}
		/* An exclusive step never outlasts a stop: gdb may run any
		 * other vCPU alone before this one. */
		if (v->unhide_step)
			stub_unhide_cancel(s, v);
		if (v->cond_resume)
			stub_bp_step_cancel(s, v);
		if (!v->parked) {
			v->parked = true;
			s->nparked++;
			pthread_cond_broadcast(&s->cond);
			/* The stub thread learns of a stop once it can report
			 * it, not before, only to wait for the rest. */
			if (s->stop_news && s->nparked == s->nvcpus) {
				s->stop_news = false;
				stub_wake(s);
			}
			if (s->non_stop)
				stub_ns_parked(s, v);
		}
		pthread_cond_wait(&s->cond, &s->lock);
	}
	if (v->parked) {
		v->parked = false;
		s->nparked--;
	}
	/* Taking the others off the CPUs waits with the lock released. */
	if (v->over_pending && !stub_ns_step_over(s, v))
		goto park;
	/* What the last exit or stop read is the vCPU's state until it runs. */
	known = v->regs_valid ? v->regs : NULL;
	v->regs_valid = false;
	apply_debug(s, v);
	/* A debug exit then finds the registers in kvm_run, without an ioctl;
	 * other exits do not pay for copying them there. */
	if (s->arch->regs_sync)
		v->run->kvm_valid_regs = v->debug_applied && v->last_debug.control ?
					 s->cfg.caps->sync_regs : 0;
	if (s->arch->step_begin && v->debug_applied &&
	    (v->last_debug.control & KVM_GUESTDBG_SINGLESTEP)) {
		int err = s->arch->step_begin(v->fd, &s->cfg.mem, known, &v->step_state);

		if (err < 0)
			stub_log(s, "cannot prepare the step of vCPU %u: %s", v->idx,
				strerror(-err));
		else if (err)
			stub_vcpu_changed(s, v->idx);
	}
	/* A VMM may use immediate_exit itself: only the stub's goes. */
	if (v->exit_set) {
		v->run->immediate_exit = 0;
		v->exit_set = false;
	}
	atomic_store_explicit(&v->quiet, !s->debugger && !s->stopping && !s->exclusive &&
			      !(v->debug_applied && v->last_debug.control) &&
			      !v->step_state.active, memory_order_relaxed);
	pthread_mutex_unlock(&s->lock);
}

bool stub_on_own_breakpoint(struct kvmdbg_stub *s, uint64_t pc)
{
	const struct kd_hwslots *pool = &s->pools[s->arch->hw_pool(KD_HW_EXEC)];

	if (kd_bptable_find(s->bps, pc))
		return true;
	for (unsigned i = 0; i < pool->n; i++)
		if (pool->slot[i].used && pool->slot[i].type == KD_HW_EXEC &&
		    pool->slot[i].addr == pc)
			return true;
	return false;
}

void stub_push_stop(struct kvmdbg_stub *s, struct stub_vcpu *v,
		    enum kd_stop_kind kind, uint64_t addr)
{
	struct kd_stop_event ev = {
		.vcpu = v->idx, .kind = kind, .addr = addr, .signal = SIGTRAP_NR,
	};

	v->step = false;
	v->range = false;
	if (kd_stopq_push(s->stopq, &ev) < 0)
		stub_log(s, "vCPU %u stopped twice without a report", v->idx);
	/* Non-stop: this vCPU alone stops; the stub thread hears of it once
	 * it has parked (stub_ns_parked).  An event of its own says more than
	 * the plain stop gdb may have asked for meanwhile. */
	if (s->non_stop) {
		v->runnable = false;
		v->ns_stop_req = false;
		return;
	}
	request_stop(s, v);
	s->stop_news = true;
}

/*
 * A range step goes on where one instruction step would have been
 * reported in [range_start, range_end): gdb would only step again.  A
 * breakpoint of gdb's at the new pc ends it, as gdb would see that stop.
 */
static bool range_goes_on(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t pc)
{
	return v->range && pc >= v->range_start && pc < v->range_end &&
	       !stub_on_own_breakpoint(s, pc);
}

/*
 * The code at ev->pc as the vCPU fetches it, through the guest's own page
 * tables, read as the exit left it: before a step over the stub's own
 * breakpoint puts the trap instruction back.
 */
static void read_code(struct kvmdbg_stub *s, struct stub_vcpu *v,
		      struct kd_debug_event *ev)
{
	uint64_t gpa, left, n = sizeof(ev->code);
	const uint8_t *p;

	ev->code_len = 0;
	if (stub_translate(s, v->regs, false, ev->pc, &gpa, &left) < 0)
		return;
	if (left < n)
		n = left;
	p = stub_hva(s, gpa, n);
	if (!p)
		return;
	memcpy(ev->code, p, n);
	ev->code_len = (unsigned)n;
}

static bool trap_at(const struct kvmdbg_stub *s, const struct kd_debug_event *ev)
{
	return ev->code_len >= s->arch->trap_len &&
	       !memcmp(ev->code, s->arch->trap, s->arch->trap_len);
}

static void deliver(struct kvmdbg_stub *s, struct stub_vcpu *v,
		    const struct kd_debug_event *ev)
{
	int err = s->arch->deliver(v->fd, v->regs, v->run, s->cfg.caps, ev);

	if (err)
		stub_log(s, "cannot deliver the guest's own debug exception on vCPU %u: %s",
			v->idx, strerror(-err));
	else
		stub_vcpu_changed(s, v->idx);
}

static void finish_step_over(struct kvmdbg_stub *s, struct stub_vcpu *v,
			     const struct kd_debug_event *ev)
{
	struct kd_swbp *bp = kd_bptable_find(s->bps, v->step_over_addr);
	bool on_its_own;

	v->stepping_over = false;
	if (bp)
		stub_trap_write(s, bp->gpa);
	/* The instruction itself raised the guest's own exception. */
	if (!ev->stepped)
		deliver(s, v, ev);
	/* Stepped past on its own (a false condition, or any step past in
	 * non-stop, for gdb's step as well as its continue), or by
	 * stub_resume with the others parked. */
	on_its_own = v->cond_resume;
	if (on_its_own)
		stub_bp_step_done(s, v);
	if (v->step && !(ev->stepped && range_goes_on(s, v, s->arch->pc(v->regs)))) {
		stub_push_stop(s, v, KD_STOP_SIGNAL, ev->pc);
		return;
	}
	if (on_its_own)
		return;
	/* The rest of a continue, or of a range step, runs with the others. */
	v->runnable = false;
	pthread_cond_broadcast(&s->cond);
}

static void handle_event(struct kvmdbg_stub *s, struct stub_vcpu *v,
			 const struct kd_debug_event *ev, unsigned pool)
{
	struct kd_verdict vd;

	if (v->paging_wait && ev->stepped)
		stub_watch_paging_step(s, v);
	if (v->stepping_over) {
		finish_step_over(s, v, ev);
		return;
	}
	if (v->unhide_step) {
		stub_exec_unmapped_done(s, v, ev->pc);
		if (v->nisv && stub_watch_nisv_done(s, v))
			return;
		if (ev->stepped && !v->step)
			return;
	} else if (ev->stepped && !v->step && !ev->trap_insn && !ev->slots_hit &&
		   v->debug_applied && (v->last_debug.control & KVM_GUESTDBG_SINGLESTEP)) {
		/* The trap of a step whose stop was already reported by an
		 * event inside the same instruction (a watched access). */
		return;
	}
	if (stub_pending_hit(s, v, ev, pool))
		return;
	vd = kd_decide(s->bps, &s->pools[pool], v->step, ev);
	if (vd.mine) {
		bool watch = vd.kind == KD_STOP_WATCH || vd.kind == KD_STOP_RWATCH ||
			     vd.kind == KD_STOP_AWATCH;

		if (vd.kind == KD_STOP_SIGNAL && range_goes_on(s, v, ev->pc))
			return;
		/* A breakpoint whose condition is false runs on unseen. */
		if (vd.kind != KD_STOP_SIGNAL && !watch && !v->step &&
		    stub_bp_hit_resumes(s, v, vd.kind, ev->pc))
			return;
		stub_push_stop(s, v, vd.kind, watch ? vd.addr : ev->pc);
		return;
	}
	if (vd.deliver)
		deliver(s, v, ev);
	/* A step that ran into the guest's own exception ends once the
	 * exception is handed over: at the handler's first instruction where
	 * the backend enters it (arm64), or with the exception pending where
	 * KVM injects it on the next entry (x86), so that the next step
	 * enters the handler. */
	if (v->step && !range_goes_on(s, v, s->arch->pc(v->regs)))
		stub_push_stop(s, v, KD_STOP_SIGNAL, s->arch->pc(v->regs));
}

/* KVM has completed the exit of a watched access that was not done:
 * back onto the instruction, which runs again when gdb steps it. */
static void rewind_access(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	int err = s->arch->regs_load(v->fd, v->regs);

	v->rewind = false;
	if (!err) {
		s->arch->set_pc(v->regs, v->rewind_pc);
		err = s->arch->regs_store(v->fd, v->regs);
	}
	v->regs_valid = false;
	if (err)
		stub_log(s, "cannot put vCPU %u back on its watched access: %s",
			v->idx, strerror(-err));
	else
		stub_vcpu_changed(s, v->idx);
}

bool kvmdbg_vcpu_post_run(struct kvmdbg_stub *s, unsigned vcpu, int err)
{
	struct stub_vcpu *v = &s->vcpus[vcpu];
	struct kvm_run *run = v->run;
	struct kd_debug_event ev;
	enum kvmdbg_exit_class cls;
	unsigned pool;
	uint64_t gpa;
	int lerr;

	atomic_fetch_add_explicit(&v->exits, 1, memory_order_relaxed);
	if (v->step_state.active) {
		int merr = s->arch->step_end(v->fd, &s->cfg.mem, &v->step_state);

		v->step_state.active = false;
		if (merr < 0)
			stub_log(s, "cannot undo what the step changed on vCPU %u: %s", vcpu,
				strerror(-merr));
		else if (merr)
			stub_vcpu_changed(s, vcpu);
	}
	if (err == EINTR) {
		v->io_pending = false;
		if (v->rewind)
			rewind_access(s, v);
		/* The watchdog sets check_stuck under the lock, and only with
		 * a debugger attached. */
		if (!atomic_load_explicit(&v->quiet, memory_order_acquire)) {
			pthread_mutex_lock(&s->lock);
			if (v->check_stuck)
				stub_watchdog_check(s, v);
			pthread_mutex_unlock(&s->lock);
		}
		return true;
	}
	kd_stall_reset(&v->stall);
	if (err)
		return false;
	v->io_pending = run->exit_reason == KVM_EXIT_IO ||
			run->exit_reason == KVM_EXIT_MMIO;
	if (run->exit_reason != KVM_EXIT_MMIO)
		stub_reads_forget(v);
	if (run->exit_reason == KVM_EXIT_MMIO) {
		bool mine;

		/* Guest RAM exits as MMIO only where watches protect it. */
		if (!stub_hva(s, run->mmio.phys_addr, run->mmio.len ? run->mmio.len : 1))
			return false;
		pthread_mutex_lock(&s->lock);
		mine = stub_watch_mmio(s, v);
		pthread_mutex_unlock(&s->lock);
		return mine;
	}
	if (s->arch->undecoded_store && s->arch->undecoded_store(run, &gpa)) {
		bool mine;

		pthread_mutex_lock(&s->lock);
		mine = stub_watch_nisv(s, v, gpa);
		pthread_mutex_unlock(&s->lock);
		return mine;
	}
	if (run->exit_reason != KVM_EXIT_DEBUG &&
	    run->exit_reason != KVM_EXIT_INTERNAL_ERROR)
		return false;
	if (s->arch->regs_sync && s->cfg.caps->sync_regs &&
	    (run->kvm_valid_regs & s->cfg.caps->sync_regs) == s->cfg.caps->sync_regs) {
		s->arch->regs_sync(run, v->regs);
		lerr = 0;
	} else {
		lerr = s->arch->regs_load(v->fd, v->regs);
	}
	if (lerr) {
		stub_log(s, "cannot read vCPU %u registers: %s", vcpu,
			strerror(-lerr));
		return false;
	}
	v->regs_valid = true;
	cls = s->arch->decode_exit(run, v->regs, s->pools, &ev, &pool);
	/* The VMM handles it and may change the registers itself (x86: an
	 * fwait KVM gave up on). */
	if (cls == KVMDBG_EXIT_OTHER) {
		v->regs_valid = false;
		return false;
	}
	pthread_mutex_lock(&s->lock);
	read_code(s, v, &ev);
	if (cls == KVMDBG_EXIT_MAYBE_TRAP && !trap_at(s, &ev)) {
		bool mine = stub_exec_unmapped(s, v, ev.pc);

		pthread_mutex_unlock(&s->lock);
		return mine;
	}
	handle_event(s, v, &ev, pool);
	pthread_mutex_unlock(&s->lock);
	return true;
}

bool kvmdbg_vcpu_may_interrupt(struct kvmdbg_stub *s, unsigned vcpu)
{
	const struct stub_vcpu *v = &s->vcpus[vcpu];

	/* Only this vCPU's thread changes these while it is running. */
	return !v->step && !v->stepping_over && !v->unhide_step;
}

void kvmdbg_stub_guest_exited(struct kvmdbg_stub *s, int status)
{
	struct timespec deadline;
	bool join;

	pthread_mutex_lock(&s->lock);
	stub_remove_socket_locked(s);
	s->exited = true;
	s->exit_status = status;
	pthread_cond_broadcast(&s->cond);
	stub_wake(s);
	/* Give gdb its exit report before the process goes away. */
	clock_gettime(CLOCK_REALTIME, &deadline);
	deadline.tv_sec += 2;
	while (s->thread_started && !s->exit_reported &&
	       pthread_cond_timedwait(&s->cond, &s->lock, &deadline) == 0)
		;
	/* Having reported, the stub thread ends: collect it. */
	join = s->thread_started && s->exit_reported;
	if (join)
		s->thread_started = false;
	pthread_mutex_unlock(&s->lock);
	if (join)
		pthread_join(s->thread, NULL);
}

bool stub_our_process(long pid)
{
	return pid == RSP_TID_ALL || pid == RSP_TID_ANY || pid == STUB_PID;
}

/* The leftmost action naming the vCPU applies; "any thread" is the one
 * gdb last heard of. */
enum stub_action stub_vcont_action(struct kvmdbg_stub *s, const struct rsp_cmd *cmd,
				   unsigned vcpu)
{
	for (size_t i = 0; i < cmd->n_actions; i++) {
		const struct rsp_vcont_action *a = &cmd->actions[i];
		long tid = a->thread == RSP_TID_ANY ? (long)s->last_stop + 1 : a->thread;

		if (tid != RSP_TID_ALL && tid != (long)vcpu + 1)
			continue;
		switch (a->action) {
		case 'c': case 'C': return ACT_CONT;
		case 's': case 'S': case 'r': return ACT_STEP;
		default: return ACT_STOP;
		}
	}
	return ACT_HOLD;
}

const struct rsp_vcont_action *stub_vcont_range(struct kvmdbg_stub *s,
						const struct rsp_cmd *cmd, unsigned vcpu)
{
	for (size_t i = 0; i < cmd->n_actions; i++) {
		const struct rsp_vcont_action *a = &cmd->actions[i];
		long tid = a->thread == RSP_TID_ANY ? (long)s->last_stop + 1 : a->thread;

		if (tid == RSP_TID_ALL || tid == (long)vcpu + 1)
			return a->action == 'r' ? a : NULL;
	}
	return NULL;
}

int stub_vcont_threads(struct kvmdbg_stub *s, const struct rsp_cmd *cmd)
{
	for (size_t i = 0; i < cmd->n_actions; i++) {
		const struct rsp_vcont_action *a = &cmd->actions[i];

		if (!stub_our_process(a->pid) ||
		    (a->thread != RSP_TID_ALL && a->thread != RSP_TID_ANY &&
		     (a->thread < 1 || (unsigned long)a->thread > s->nvcpus)))
			return -ESRCH;
	}
	return 0;
}

/* In all-stop a thread gdb stops ('t') is one it holds. */
static enum stub_action all_stop_action(struct kvmdbg_stub *s, const struct rsp_cmd *cmd,
					unsigned vcpu)
{
	enum stub_action a = stub_vcont_action(s, cmd, vcpu);

	return a == ACT_STOP ? ACT_HOLD : a;
}

int stub_vcont_check(struct kvmdbg_stub *s, const struct rsp_cmd *cmd)
{
	if (stub_vcont_threads(s, cmd))
		return -ESRCH;
	/* Resuming nothing would leave gdb waiting for a stop that never
	 * comes. */
	for (unsigned i = 0; i < s->nvcpus; i++)
		if (all_stop_action(s, cmd, i) != ACT_HOLD)
			return 0;
	return -EINVAL;
}

static enum stub_action plain_action(struct kvmdbg_stub *s, const struct rsp_cmd *cmd,
				unsigned vcpu)
{
	unsigned target = s->cur_c < s->nvcpus ? s->cur_c : s->last_stop;

	if (cmd->kind == RSP_CMD_CONTINUE)
		return ACT_CONT;
	return vcpu == target ? ACT_STEP : ACT_HOLD;
}

/* Runs v alone for one instruction with the stub's breakpoint at its pc
 * out of the way.  false when that produced a stop to report. */
static bool step_over(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t pc)
{
	struct kd_swbp *bp = kd_bptable_find(s->bps, pc);

	if (bp)
		stub_trap_restore(s, bp);
	v->stepping_over = true;
	v->step_over_addr = pc;
	for (unsigned i = 0; i < s->nvcpus; i++)
		s->vcpus[i].runnable = &s->vcpus[i] == v;
	s->stopping = false;
	pthread_cond_broadcast(&s->cond);
	while (v->stepping_over && !s->stopping && !s->exited)
		pthread_cond_wait(&s->cond, &s->lock);
	return !s->stopping && !s->exited;
}

int stub_resume(struct kvmdbg_stub *s, const struct rsp_cmd *cmd)
{
	enum stub_action act[s->nvcpus];
	bool pending = false;

	for (unsigned i = 0; i < s->nvcpus; i++)
		act[i] = cmd->kind == RSP_CMD_VCONT ? all_stop_action(s, cmd, i)
						     : plain_action(s, cmd, i);
	if (cmd->has_addr && cmd->kind != RSP_CMD_VCONT) {
		unsigned t = s->cur_c < s->nvcpus ? s->cur_c : s->last_stop;
		void *regs = stub_regs(s, t);

		if (!regs)
			return -EIO;
		s->arch->set_pc(regs, cmd->addr);
	}
	s->held = false;
	pthread_mutex_lock(&s->lock);
	s->running = true;
	for (unsigned i = 0; i < s->nvcpus; i++) {
		s->resumed[i] = act[i] != ACT_HOLD;
		pending |= s->resumed[i] && kd_stopq_pending(s->stopq, i);
	}
	/* Events that happened together with the last one reported go to
	 * gdb before anything runs again; those of vCPUs gdb keeps stopped
	 * wait until it resumes them. */
	if (pending) {
		pthread_mutex_unlock(&s->lock);
		stub_wake(s);
		return 0;
	}
	stub_pending_refresh(s);
	stub_bp_check_cpu_pages(s);
	stub_watch_check_cpu_pages(s);
	stub_apply_layout(s);
	for (unsigned i = 0; i < s->nvcpus; i++) {
		struct stub_vcpu *v = &s->vcpus[i];
		const struct rsp_vcont_action *r = cmd->kind == RSP_CMD_VCONT ?
						   stub_vcont_range(s, cmd, i) : NULL;
		void *regs;

		v->step = act[i] == ACT_STEP;
		/* An empty range is one step. */
		v->range = r && r->range_start < r->range_end;
		v->range_start = r ? r->range_start : 0;
		v->range_end = r ? r->range_end : 0;
		if (act[i] == ACT_HOLD)
			continue;
		stub_watch_paging_wait(s, v);
		regs = stub_regs(s, i);
		/* Only the vCPU whose breakpoint gdb saw steps past it; any
		 * other one there has a hit gdb never heard of, and meets it
		 * again. */
		if (regs && i == s->last_event.vcpu &&
		    s->last_event.addr == s->arch->pc(regs) &&
		    (s->last_event.kind == KD_STOP_SWBREAK ||
		     s->last_event.kind == KD_STOP_HWBREAK) &&
		    stub_on_own_breakpoint(s, s->arch->pc(regs))) {
			uint64_t pc = s->arch->pc(regs);

			stub_regs_flush(s);
			if (!step_over(s, v, pc)) {
				pthread_mutex_unlock(&s->lock);
				return 0;
			}
			stub_wait_parked_locked(s);
		}
	}
	stub_regs_flush(s);
	for (unsigned i = 0; i < s->nvcpus; i++)
		s->vcpus[i].runnable = act[i] != ACT_HOLD;
	s->stopping = false;
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	return 0;
}

static int kvm_regs_load(struct kvmdbg_stub *s, unsigned vcpu, void *regs)
{
	return s->arch->regs_load(s->vcpus[vcpu].fd, regs);
}

static int kvm_regs_store(struct kvmdbg_stub *s, unsigned vcpu, const void *regs)
{
	return s->arch->regs_store(s->vcpus[vcpu].fd, regs);
}

static int kvm_regs_complete(struct kvmdbg_stub *s, unsigned vcpu, void *regs,
			     unsigned regno)
{
	if (!s->arch->regs_complete)
		return 0;
	return s->arch->regs_complete(s->vcpus[vcpu].fd, regs, regno);
}

const struct stub_vcpu_ops stub_kvm_vcpus = {
	.regs_load = kvm_regs_load,
	.regs_store = kvm_regs_store,
	.regs_complete = kvm_regs_complete,
	.resume = stub_resume,
};
