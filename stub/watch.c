/* SPDX-License-Identifier: MIT */
/*
 * Watchpoints the debug registers cannot take: the guest pages they touch
 * are put in read-only memory slots (write watches) or left out of the
 * slots altogether (read and access watches), so the accesses exit as MMIO.
 * The stub performs each access on guest RAM itself, and stops when it hit
 * a watched range.  An instruction fetched from an unmapped page is run
 * for one step with that page mapped read-only, every other vCPU held.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "internal.h"

#define NO_PAGE		UINT64_MAX
#define ALL_PAGES	STUB_ALL_PAGES	/* every unmapped page at once */

bool stub_page_watch_possible(struct kvmdbg_stub *s, enum kd_hw_type type)
{
	if (s->vm_fd < 0 || !s->nram)
		return false;
	/* A stop before the access is only any use if gdb can step past it. */
	if (s->arch->watch_before_access && s->cfg.caps->step == KVMDBG_MECH_NONE)
		return false;
	if (type == KD_HW_WRITE)
		return s->cfg.caps->readonly_mem;
	return s->arch->fetch_from_unmapped_exits;
}

/* Physical fragments of [addr, addr+len) as the current vCPU maps it. */
static long fragments(struct kvmdbg_stub *s, uint64_t addr, uint64_t len,
		      struct kd_watch_frag **out)
{
	const void *regs = stub_regs(s, s->cur_g);
	size_t n = 0, cap = 4;
	struct kd_watch_frag *f = malloc(cap * sizeof(*f));
	uint64_t done = 0;

	if (!f)
		return -ENOMEM;
	while (regs && done < len) {
		uint64_t gpa, left, chunk;

		if (stub_translate(s, regs, s->phys, addr + done, &gpa, &left) < 0)
			break;
		chunk = len - done < left ? len - done : left;
		if (!stub_hva(s, gpa, chunk))
			break;
		if (n && f[n - 1].gpa + f[n - 1].len == gpa) {
			f[n - 1].len += chunk;
		} else {
			if (n == cap) {
				struct kd_watch_frag *g = realloc(f, 2 * cap * sizeof(*f));

				if (!g) {
					free(f);
					return -ENOMEM;
				}
				f = g;
				cap *= 2;
			}
			f[n++] = (struct kd_watch_frag){ gpa, chunk, addr + done };
		}
		done += chunk;
	}
	if (done < len) {
		free(f);
		return -EFAULT;
	}
	*out = f;
	return (long)n;
}

int stub_page_watch_insert(struct kvmdbg_stub *s, enum kd_hw_type type,
			   uint64_t addr, uint64_t len, const char **why)
{
	struct kd_watch_frag *f;
	long n = len ? fragments(s, addr, len, &f) : -EINVAL;
	int err;

	if (n < 0) {
		*why = n == -EFAULT ? "the watched range is not all mapped to guest RAM"
		       : n == -EINVAL ? "an empty range cannot be watched"
				      : "out of memory for the watchpoint";
		return (int)n;
	}
	err = stub_cpu_pages_conflict(s, type, f, (size_t)n, why);
	if (!err)
		err = stub_memslots_add_watch(s, type, addr, len, f, (size_t)n, why);
	free(f);
	return err;
}

int stub_page_watch_remove(struct kvmdbg_stub *s, enum kd_hw_type type,
			   uint64_t addr, uint64_t len)
{
	return stub_memslots_remove_watch(s, type, addr, len) < 0 ? -ENOENT : 0;
}

/*
 * Makes v the one vCPU that may run, every other one held.  One vCPU owns
 * that at a time: another that needs it meanwhile waits here, out of
 * KVM_RUN and unable to enter it, so the owner counts it among the parked
 * ones (waiting for it would be waiting for itself).  A stop wins over an
 * exclusive step: false then, and the instruction that wanted the step
 * runs again, and asks again, once gdb resumes its vCPU.
 */
bool stub_take_exclusive(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	/* Its own step needs another hidden page as well. */
	if (s->exclusive == v->idx + 1)
		return true;
	s->nwaiting++;
	pthread_cond_broadcast(&s->cond);
	while (s->exclusive && !s->stopping && !s->exited)
		pthread_cond_wait(&s->cond, &s->lock);
	s->nwaiting--;
	if (s->stopping || s->exited)
		return false;
	s->exclusive = v->idx + 1;
	for (unsigned i = 0; i < s->nvcpus; i++)
		if (i != v->idx && !s->vcpus[i].parked)
			stub_kick(s, &s->vcpus[i]);
	while (s->nparked + s->nwaiting + 1 < s->nvcpus && !s->stopping && !s->exited)
		pthread_cond_wait(&s->cond, &s->lock);
	if (s->stopping || s->exited) {
		s->exclusive = 0;
		pthread_cond_broadcast(&s->cond);
		return false;
	}
	return true;
}

/* Runs v alone for one step with page mapped as prot allows; false when
 * a stop came first. */
static bool unhide_for_one_step(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t page,
				enum kd_page_prot prot)
{
	/* Nobody else may touch the page unwatched meanwhile. */
	if (!stub_take_exclusive(s, v))
		return false;
	s->unhidden_page = page;
	s->unhidden_prot = prot;
	v->unhide_step = true;
	stub_reads_forget(v);
	if (stub_memslots_apply(s) < 0)
		stub_log(s, "cannot map page 0x%llx back for one instruction",
			(unsigned long long)page);
	return true;
}

/* The step has not begun and the VM is stopping: the page is hidden again
 * and the others may run once resumed.  The instruction asks again. */
void stub_unhide_cancel(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	v->unhide_step = false;
	v->nisv = false;
	v->exec_step = false;
	s->unhidden_page = NO_PAGE;
	if (stub_memslots_apply(s) < 0)
		stub_log(s, "cannot unmap a watched page again");
	s->exclusive = 0;
	pthread_cond_broadcast(&s->cond);
}

void stub_reads_forget(struct stub_vcpu *v)
{
	v->reads.n = 0;
	v->reads.repeated = false;
}

/*
 * A watch held in a debug register on a page that is protected for
 * another watch: the access exits as MMIO before the hardware can see
 * it, so the stub matches it against the slots itself.
 */
static bool match_slots(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t gpa,
			uint32_t len, bool write, enum kd_stop_kind *kind, uint64_t *vaddr)
{
	bool any = false;

	for (unsigned p = 0; p < 2; p++)
		for (unsigned i = 0; i < s->pools[p].n; i++)
			any |= s->pools[p].slot[i].used &&
			       s->pools[p].slot[i].type != KD_HW_EXEC;
	/* Once per exit: the locked-write redo may have read them already
	 * (pre_run marks them stale before every run). */
	if (!any || (!v->regs_valid && s->arch->regs_load(v->fd, v->regs) < 0))
		return false;
	v->regs_valid = true;
	for (unsigned p = 0; p < 2; p++) {
		for (unsigned i = 0; i < s->pools[p].n; i++) {
			const struct kd_hwslot *w = &s->pools[p].slot[i];
			uint64_t wgpa, left;

			if (!w->used || w->type == KD_HW_EXEC ||
			    w->type == (write ? KD_HW_READ : KD_HW_WRITE) ||
			    stub_translate(s, v->regs, false, w->addr, &wgpa, &left) < 0 ||
			    wgpa >= gpa + len || wgpa + w->len <= gpa)
				continue;
			*kind = w->type == KD_HW_WRITE ? KD_STOP_WATCH :
				w->type == KD_HW_READ ? KD_STOP_RWATCH : KD_STOP_AWATCH;
			*vaddr = w->addr + (gpa > wgpa ? gpa - wgpa : 0);
			return true;
		}
	}
	return false;
}

/* The code bytes that end at pc, as many as max and readable; how many. */
static size_t code_before(struct kvmdbg_stub *s, const void *regs, uint64_t pc,
			  uint8_t *buf, size_t max)
{
	uint64_t page = (pc - 1) & ~(s->page_size - 1);
	size_t n = pc - page < max ? (size_t)(pc - page) : max;

	/* The page before may not be mapped: then only pc's own bytes. */
	if (n < max && stub_read_virt(s, regs, pc - max, buf, max) == (long)max)
		return max;
	return stub_read_virt(s, regs, pc - n, buf + max - n, n) == (long)n ? n : 0;
}

struct exit_access {
	struct kvmdbg_stub *s;
	const void *regs;
	uint64_t gpa;
	uint32_t len;
};

static bool is_exit_access(uint64_t lin, void *opaque)
{
	const struct exit_access *a = opaque;
	uint64_t gpa, left;

	return stub_translate(a->s, a->regs, false, lin, &gpa, &left) == 0 &&
	       gpa == a->gpa && left >= a->len;
}

/*
 * The write of an atomic read-modify-write to a write-protected page:
 * KVM made its read and hands over only the result.  Done under the
 * lock, with every write to the page serialized here, the instruction is
 * redone against what the bytes hold now, so that it reads and writes
 * them at one point in time, as the processor would.  One vCPU alone has
 * nobody to race with, and pays no register read per write.
 */
static bool redo_locked_write(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t gpa,
			      uint32_t len, const uint8_t *hva, uint8_t *out, bool *write)
{
	uint8_t code[15], now[sizeof(v->run->mmio.data)];
	struct exit_access at = { .s = s, .regs = v->regs, .gpa = gpa, .len = len };
	bool regs_changed = false;
	size_t n;
	int err;

	if (!s->arch->redo_locked_write || s->nvcpus < 2 ||
	    s->arch->regs_load(v->fd, v->regs) < 0)
		return false;
	v->regs_valid = true;
	n = code_before(s, v->regs, s->arch->pc(v->regs), code, sizeof(code));
	stub_bp_mmio_read(s, gpa, now, len, hva);
	if (!n || !s->arch->redo_locked_write(v->regs, code + sizeof(code) - n, n, len,
					      is_exit_access, &at, v->run->mmio.data, now,
					      out, write, &regs_changed))
		return false;
	if (!regs_changed)
		return true;
	v->regs_valid = false;
	err = s->arch->regs_store(v->fd, v->regs);
	if (err < 0) {
		/* Registers and memory must agree: the write as KVM made it. */
		stub_log(s, "cannot give vCPU %u the outcome of its atomic write at 0x%llx: %s",
			v->idx, (unsigned long long)gpa, strerror(-err));
		return false;
	}
	stub_vcpu_changed(s, v->idx);
	return true;
}

bool stub_watch_mmio(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	struct kvm_run *run = v->run;
	uint32_t len = run->mmio.len <= sizeof(run->mmio.data) ? run->mmio.len : 0;
	uint64_t addr = run->mmio.phys_addr;
	uint8_t *hva = len ? stub_hva(s, addr, len) : NULL;
	bool write = run->mmio.is_write, hit, store = write;
	const uint8_t *data = run->mmio.data;
	uint8_t redone[sizeof(run->mmio.data)];
	enum kd_stop_kind kind;
	uint64_t vaddr;

	if (!hva)
		return false;	/* a device of the VMM's */
	if (write && redo_locked_write(s, v, addr, len, hva, redone, &store))
		data = redone;
	hit = kd_watchset_match(s->watches, addr, len, write, &kind, &vaddr) ||
	      match_slots(s, v, addr, len, write, &kind, &vaddr);
	/*
	 * Where gdb expects a watchpoint to stop before the access (it then
	 * steps the instruction itself), the access is not done: the vCPU is
	 * wound back onto the instruction once KVM has finished the exit.
	 */
	if (hit && s->arch->watch_before_access &&
	    s->arch->regs_load(v->fd, v->regs) == 0) {
		v->regs_valid = true;
		v->rewind = true;
		v->rewind_pc = s->arch->pc(v->regs);
	} else if (store) {
		/* A trap the write covers stays; its saved bytes take the write. */
		stub_bp_mmio_write(s, addr, data, len, hva);
	}
	if (!write)
		stub_bp_mmio_read(s, addr, run->mmio.data, len, hva);
	if (hit) {
		stub_reads_forget(v);
		/* An access split in two exits is still one stop. */
		if (!kd_stopq_pending(s->stopq, v->idx))
			stub_push_stop(s, v, kind, vaddr);
	} else if (!write && s->arch->read_restarted &&
		   s->arch->read_restarted(&v->reads, addr, len, v->fd, v->regs)) {
		/* A read the processor makes itself, which KVM restarts: one
		 * step with the page writable (a descriptor load also sets its
		 * accessed bit). */
		unhide_for_one_step(s, v, addr & ~(s->page_size - 1), KD_PAGE_RW);
	}
	return true;
}

bool stub_exec_unmapped(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t pc)
{
	uint64_t gpa, left, page, vaddr;
	enum kd_stop_kind kind;
	bool stalled, ok;

	if (stub_translate(s, v->regs, false, pc, &gpa, &left) < 0)
		return false;
	page = gpa & ~(s->page_size - 1);
	if (kd_watchset_page_prot(s->watches, page) != KD_PAGE_NONE)
		return false;
	/*
	 * Read-only where a watch on the page wants its writes, so that the
	 * instruction's own writes are still watched.  A step that made no
	 * progress (a far jump whose descriptor, on this page, needs its
	 * accessed bit set) is taken again with every page writable.  Without
	 * the step (a stop came first) the instruction faults again later.
	 */
	stalled = v->exec_stalled && v->exec_pc == pc;
	v->exec_stalled = false;
	if (stalled)
		ok = unhide_for_one_step(s, v, ALL_PAGES, KD_PAGE_RW);
	else
		ok = unhide_for_one_step(s, v, page,
					 kd_watchset_match(s->watches, page, s->page_size, true,
							   &kind, &vaddr) ? KD_PAGE_RO : KD_PAGE_RW);
	v->exec_step = ok;
	v->exec_pc = pc;
	return true;
}

/*
 * Some reads KVM makes for an instruction (a far jump's descriptor, an
 * interrupt's gate) fail in the kernel when the page has no slot, and
 * the vCPU retries forever without exiting (so do writes of a descriptor's
 * accessed bit to a read-only page).  The stub thread kicks a vCPU
 * that has not exited for a while; one found twice at the same pc with
 * nothing in between, and busy on the CPU meanwhile (kd_stall_look), runs
 * one step with every watched page mapped: a write it makes to a watched
 * page goes unseen, so a vCPU that only waited for the CPU must not.  That
 * includes the vCPU stepping alone with one page mapped back, whose
 * instruction may need another hidden page: its step is widened.  The
 * others are held meanwhile, and cannot be stuck.
 */
void stub_watchdog_kick(struct kvmdbg_stub *s)
{
	for (unsigned i = 0; i < s->nvcpus; i++) {
		struct stub_vcpu *v = &s->vcpus[i];
		unsigned long exits = atomic_load_explicit(&v->exits, memory_order_relaxed);

		if (s->exclusive && (s->exclusive != i + 1 || !v->unhide_step ||
				     (s->unhidden_page == ALL_PAGES &&
				      s->unhidden_prot == KD_PAGE_RW)))
			continue;
		if (v->parked || exits != v->exits_checked) {
			v->exits_checked = exits;
			continue;
		}
		v->check_stuck = true;
		stub_kick(s, v);
	}
}

bool stub_watchdog_armed(struct kvmdbg_stub *s)
{
	/* Not also "no page mapped back for a step": the session thread
	 * would then sleep without a timeout through the end of that step,
	 * and nothing might wake it before a vCPU is stuck again. */
	return s->vm_fd >= 0 && (kd_watchset_count(s->watches) || s->nguarded);
}

/* The calling vCPU thread's CPU time: the watchdog looks at a vCPU from
 * its own thread. */
static uint64_t thread_cpu_ns(struct kvmdbg_stub *s)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) < 0) {
		stub_log(s, "reading a vCPU thread's CPU time: %s", strerror(errno));
		return KD_STALL_NO_CLOCK;
	}
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void stub_watchdog_check(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	struct kvm_mp_state mp;
	uint64_t pc;

	v->check_stuck = false;
	/* Halted, powered off or waiting for a start-up IPI: without exits
	 * by design, and a step would not end before something wakes it
	 * (which the vCPUs held meanwhile may be the ones to do). */
	if (ioctl(v->fd, KVM_GET_MP_STATE, &mp) == 0 && mp.mp_state != KVM_MP_STATE_RUNNABLE) {
		kd_stall_reset(&v->stall);
		return;
	}
	if (s->arch->regs_load(v->fd, v->regs) < 0)
		return;
	v->regs_valid = true;
	pc = s->arch->pc(v->regs);
	if (!kd_stall_look(&v->stall, pc, thread_cpu_ns(s)))
		return;
	if (!v->unhide_step) {
		unhide_for_one_step(s, v, ALL_PAGES, KD_PAGE_RW);
		return;
	}
	s->unhidden_page = ALL_PAGES;
	s->unhidden_prot = KD_PAGE_RW;
	if (stub_memslots_apply(s) < 0)
		stub_log(s, "cannot map the watched pages back for one instruction");
}

void stub_exec_unmapped_done(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t pc)
{
	/* The page was writable for that instruction: what it wrote over a
	 * trap goes to the saved bytes.  A store KVM could not decode is
	 * looked at by stub_watch_nisv_done, which may undo it. */
	if (!v->nisv)
		stub_bp_resync(s, s->unhidden_page, s->page_size);
	v->unhide_step = false;
	v->exec_stalled = v->exec_step && pc == v->exec_pc;
	v->exec_step = false;
	/* Segment loads come in runs (ds, es, ss, ...): the next instruction
	 * stuck at this pc is taken as stuck at the first look. */
	kd_stall_first(&v->stall, pc, thread_cpu_ns(s));
	s->unhidden_page = NO_PAGE;
	if (stub_memslots_apply(s) < 0)
		stub_log(s, "cannot unmap a watched page again");
	s->exclusive = 0;
	pthread_cond_broadcast(&s->cond);
}

/*
 * A store KVM could not decode (no valid syndrome: pair and writeback
 * stores on arm64) to a write-protected page: it runs one step with the
 * page writable, and the watched bytes it changed tell whether it hit.
 * Where gdb expects the stop before the access, the page and registers
 * are put back as they were, so gdb's own step performs the store.
 */
bool stub_watch_nisv(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t gpa)
{
	uint64_t page = gpa & ~(s->page_size - 1);
	uint8_t *hva = stub_hva(s, page, s->page_size);

	if (!hva || kd_watchset_page_prot(s->watches, page) == KD_PAGE_RW)
		return false;
	if (!v->nisv_bytes)
		v->nisv_bytes = malloc(s->page_size);
	if (!v->nisv_regs)
		v->nisv_regs = malloc(s->arch->regs_size);
	if (!v->nisv_bytes || !v->nisv_regs || s->arch->regs_load(v->fd, v->regs) < 0 ||
	    (s->arch->regs_complete &&
	     s->arch->regs_complete(v->fd, v->regs, s->arch->nregs) < 0))
		return false;
	v->regs_valid = true;
	memcpy(v->nisv_regs, v->regs, s->arch->regs_size);
	memcpy(v->nisv_bytes, hva, s->page_size);
	v->nisv = true;
	v->nisv_page = page;
	/* Without the step the store is not done, and exits again later. */
	if (!unhide_for_one_step(s, v, page, KD_PAGE_RW))
		v->nisv = false;
	return true;
}

/* After that step; true when it produced a stop. */
bool stub_watch_nisv_done(struct kvmdbg_stub *s, struct stub_vcpu *v)
{
	uint8_t *hva = stub_hva(s, v->nisv_page, s->page_size);
	enum kd_stop_kind kind;
	uint64_t vaddr;
	bool hit = false;

	v->nisv = false;
	for (uint64_t i = 0; hva && i < s->page_size && !hit; i++)
		hit = hva[i] != v->nisv_bytes[i] &&
		      kd_watchset_match(s->watches, v->nisv_page + i, 1, true, &kind, &vaddr);
	if (!hit || !s->arch->watch_before_access)
		stub_bp_resync(s, v->nisv_page, s->page_size);
	if (!hit)
		return false;
	if (s->arch->watch_before_access && s->arch->regs_load(v->fd, v->regs) == 0 &&
	    (!s->arch->regs_complete ||
	     s->arch->regs_complete(v->fd, v->regs, s->arch->nregs) == 0)) {
		memcpy(hva, v->nisv_bytes, s->page_size);
		for (unsigned r = 0; r < s->arch->nregs; r++) {
			if (!s->arch->reg_size(r))
				continue;
			s->arch->reg_get(v->nisv_regs, r, v->regval);
			s->arch->reg_set(v->regs, r, v->regval);
		}
		if (s->arch->regs_store(v->fd, v->regs) < 0)
			stub_log(s, "cannot put vCPU %u back before its watched store",
				v->idx);
		else
			stub_vcpu_changed(s, v->idx);
		v->regs_valid = false;
	}
	stub_push_stop(s, v, kind, vaddr);
	return true;
}
