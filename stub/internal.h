/* SPDX-License-Identifier: MIT */
/* The stub's private state, shared by the files of stub/. */
#ifndef KVMDBG_STUB_INTERNAL_H
#define KVMDBG_STUB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "kvmdbg/agent_expr.h"
#include "kvmdbg/arch.h"
#include "kvmdbg/debug_core.h"
#include "kvmdbg/rsp.h"
#include "kvmdbg/stub.h"

/* Advertised to gdb; the buffers below are sized from it. */
#define STUB_PACKET_SIZE	0x20000
/* gdb reads up to PacketSize/2 bytes with one 'm': the hex reply alone
 * is PacketSize long. */
#define STUB_REPLY_SIZE	(STUB_PACKET_SIZE + 64)
/* The guest is one process to gdb; multiprocess ids "pPID.TID" may name
 * it by this id (or by -1 and 0, all and any). */
#define STUB_PID	1
/* Registers a stop reply carries (pc, sp, fp). */
#define STUB_STOP_REGS	3
/* Breakpoint printf text waiting for gdb's console. */
#define STUB_CONSOLE_SIZE	0x10000

/* One memory slot of guest RAM as KVM has it. */
struct stub_slot {
	uint32_t id;
	unsigned idx;		/* of id among the ids the stub may use */
	uint64_t gpa, size;
	uint8_t *hva;
	bool ro;
};

/* A software breakpoint whose address does not lead to guest RAM yet. */
struct stub_pending {
	uint64_t addr;
	bool phys;		/* set with monitor phys on */
	int slot;		/* the hardware slot watching for it, or -1 */
};

/* unhidden_page: every hidden page at once. */
#define STUB_ALL_PAGES	(UINT64_MAX - 1)

struct stub_vcpu {
	unsigned idx;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
	bool thread_known;
	void *regs;		/* arch register cache */
	bool regs_valid;	/* matches the stopped vCPU */
	bool runnable;		/* the stub lets it enter KVM_RUN */
	bool parked;		/* waiting in kvmdbg_vcpu_pre_run */
	bool step;		/* gdb asked for one instruction */
	bool range;		/* ... and more while pc stays in */
	uint64_t range_start, range_end; /* [range_start, range_end) */
	bool stepping_over;	/* stepping off the stub's breakpoint at */
	uint64_t step_over_addr; /* ... this address, trap removed */
	bool cond_resume;	/* ... on its own: its condition was false */
	bool cond_exclusive;	/* ... alone, the others held */
	bool io_pending;	/* last exit needs KVM_RUN to complete */
	bool unhide_step;	/* one step with unhidden_page mapped */
	bool paging_wait;	/* stepped until paging is on (read watches) */
	bool exec_step;		/* ... for an instruction fetched there */
	bool exec_stalled;	/* ... which ended where it began, */
	uint64_t exec_pc;	/* ... at this pc */
	bool rewind;		/* put pc back to rewind_pc after the exit */
	bool nisv;		/* stepping a store KVM could not decode ... */
	uint64_t nisv_page;	/* ... to this watched page, whose bytes and */
	uint8_t *nisv_bytes;	/* the registers before it are kept here */
	void *nisv_regs;
	uint8_t *regval;	/* one register, max_reg_size bytes */
	uint64_t rewind_pc;
	struct kvmdbg_read_history reads; /* since the last other exit */
	atomic_ulong exits;	/* KVM_RUN returns, read by the watchdog */
	unsigned long exits_checked;
	bool check_stuck;	/* kicked by the watchdog */
	struct kd_stall stall;	/* the watchdog's looks at this vCPU */
	struct kvmdbg_step_state step_state; /* what this run of a step undoes */
	bool exit_set;		/* the stub set run->immediate_exit */
	/* pre_run has nothing to do: no debugger, nothing asked of this
	 * vCPU.  Cleared before the vCPU is kicked. */
	atomic_bool quiet;
	bool debug_applied;	/* last_debug is what KVM has */
	struct kvm_guest_debug last_debug;

	/* Non-stop mode (nonstop.c). */
	bool over_pending;	/* steps past the breakpoint at over_addr */
	uint64_t over_addr;	/* ... before it runs on */
	bool ns_stop_req;	/* gdb asked it to stop: report ns_stop_sig */
	uint8_t ns_stop_sig;	/* ... once it has parked */
	bool ns_seen;		/* gdb has its stop: ns_last */
	bool ns_unseen_hold;	/* stopped since the switch, gdb told it runs */
	bool ns_resend;		/* '?' asked for ns_last again */
	struct kd_stop_event ns_last;
};

/*
 * The vCPUs as the stub thread reaches them: through KVM and the vCPU
 * threads (stub_kvm_vcpus) in a VMM.  A test may put an in-memory machine
 * in their place, so that the command dispatcher runs without KVM.
 */
struct stub_vcpu_ops {
	/* A stopped vCPU's registers into or out of its cache; 0 or -errno. */
	int (*regs_load)(struct kvmdbg_stub *s, unsigned vcpu, void *regs);
	int (*regs_store)(struct kvmdbg_stub *s, unsigned vcpu, const void *regs);
	/* The rest of a cache regs_load filled, before register regno
	 * (nregs: any) is used: kvmdbg_arch_ops.regs_complete.  0 or -errno;
	 * NULL where regs_load gives everything. */
	int (*regs_complete)(struct kvmdbg_stub *s, unsigned vcpu, void *regs,
			     unsigned regno);
	/* Lets the vCPUs run as c, s or vCont asks; the stop that ends the
	 * run is reported later (stub_report_stop).  0 or -errno. */
	int (*resume)(struct kvmdbg_stub *s, const struct rsp_cmd *cmd);
};

extern const struct stub_vcpu_ops stub_kvm_vcpus;

struct kvmdbg_stub {
	struct kvmdbg_stub_config cfg;
	const struct kvmdbg_arch_ops *arch;
	const struct stub_vcpu_ops *vcpu_ops;

	pthread_mutex_t lock;	/* everything below the vCPU threads touch */
	pthread_cond_t cond;
	struct stub_vcpu *vcpus;
	unsigned nvcpus;
	bool *resumed;		/* by vCPU: gdb let it run last time */
	bool stopping;		/* every vCPU must park */
	bool debugger;		/* gdb is connected */
	bool quit;		/* kvmdbg_stub_stop: the stub thread ends */
	bool vcpus_gone;	/* kvmdbg_stub_free: no vCPU thread calls in */
	bool ready;		/* kvmdbg_stub_new completed: the lock exists */
	bool non_stop;		/* gdb's QNonStop:1: each vCPU stops alone */
	unsigned nparked;
	bool stop_news;		/* a stop was queued: wake the stub thread
				 * once every vCPU has parked */
	struct kd_stopq *stopq;
	struct kd_bptable *bps;
	struct kd_bpaction_table *bp_actions[2]; /* of Z0 and Z1 breakpoints */
	char *console;		/* breakpoint printf text for gdb ... */
	size_t console_len;	/* ... STUB_CONSOLE_SIZE at most */
	struct stub_pending *pending;	/* pending.c */
	size_t npending, pending_cap;
	bool guard_due;		/* a breakpoint was planted with its page unguarded */
	size_t nguarded;	/* breakpoints whose pages are kept read-only */
	struct kd_hwslots pools[2];
	struct kd_watchset *watches;	/* by page protection */
	int vm_fd;		/* -1: no page protection */
	const struct kvmdbg_ram_slot *ram;
	unsigned nram;
	uint32_t spare_slot;
	unsigned nspare;
	bool layout_dirty;	/* memory slots lag behind watches */
	uint64_t unhidden_page;	/* mapped back for one instruction ... */
	enum kd_page_prot unhidden_prot; /* ... this far */
	unsigned exclusive;	/* vCPU index + 1 that alone may run, or 0 */
	struct stub_slot *slots; /* as KVM has them, ascending */
	unsigned nslots;
	bool *slot_id_busy;	/* by stub_slot.idx */
	long slots_needed;	/* by the watches' layout */
	char why[240];		/* a refusal's reason, for the caller to print */
	char note[512];		/* for gdb's console, from a vCPU thread */
	uint64_t page_size;	/* the host's: memory slots split on it */
	unsigned nwaiting;	/* vCPUs out of KVM_RUN waiting to be that one */
	bool exited;
	int exit_status;
	bool exit_reported;
	char unix_path[108];	/* the socket file to remove at the end, */
	dev_t unix_dev;		/* ... as long as it is still the one bound */
	ino_t unix_ino;
	int wake_fd;		/* eventfd: a vCPU has news for the stub thread */

	/* Stub thread only. */
	pthread_t thread;
	bool thread_started;
	int listen_fd;
	int given_fd;		/* kvmdbg_stub_connect_fd, until the thread takes it */
	int conn_fd;
	bool running;		/* vCPUs resumed, a stop reply is owed */
	bool interrupt_owed;	/* a Ctrl-C came while stopped: it stops the
				 * next resume */
	bool held;		/* -S: no debugger has let the guest go yet */
	bool noack;
	bool thread_suffix;	/* LLDB names the thread in register packets */
	bool list_threads;	/* LLDB wants every thread in stop replies */
	bool phys;		/* monitor phys on: addresses are physical */
	bool ns_seq;		/* a %Stop went out: vStopped drains the rest */
	bool ns_exit_sent;	/* the guest's exit was reported */
	bool draining;		/* after D: only the vStopped gdb owes */
	unsigned cur_g;		/* vCPU for register access (Hg) */
	unsigned cur_c;		/* vCPU for c/s (Hc); UINT_MAX = all */
	unsigned last_stop;	/* vCPU of the last stop reply */
	struct kd_stop_event last_event; /* for '?' */
	uint8_t *scratch;	/* decoded M/X/G data */
	uint8_t *regval;	/* STUB_STOP_REGS registers of max_reg_size */
	struct rsp_decoder dec;
	uint8_t *inbuf;
	char *reply;		/* payload under construction */
	uint8_t *framed;	/* framed packet, kept for '-' resends */
	size_t framed_len;
	struct rsp_cmd cmd;
};

/* runctl.c: stopping and resuming vCPUs (called with lock held where noted) */
void stub_request_stop_locked(struct kvmdbg_stub *s);
void stub_wait_parked_locked(struct kvmdbg_stub *s);
void stub_wake(struct kvmdbg_stub *s);
void stub_release_all_locked(struct kvmdbg_stub *s);
void stub_kick(struct kvmdbg_stub *s, struct stub_vcpu *v);
void stub_push_stop(struct kvmdbg_stub *s, struct stub_vcpu *v,
		    enum kd_stop_kind kind, uint64_t addr);
int stub_resume(struct kvmdbg_stub *s, const struct rsp_cmd *cmd);
/* pid (of a "pPID.TID" id) names the guest's process, or all, or any. */
bool stub_our_process(long pid);
/* 0 when a vCont names only existing threads and resumes one at least;
 * -ESRCH or -EINVAL otherwise. */
int stub_vcont_check(struct kvmdbg_stub *s, const struct rsp_cmd *cmd);
void stub_regs_flush(struct kvmdbg_stub *s);
void *stub_regs(struct kvmdbg_stub *s, unsigned vcpu);
/* stub_regs with register regno (nregs: every register) readable and
 * writable too. */
void *stub_regs_for(struct kvmdbg_stub *s, unsigned vcpu, unsigned regno);

void stub_regs_flush_one(struct kvmdbg_stub *s, unsigned vcpu);
void stub_apply_layout(struct kvmdbg_stub *s);
bool stub_on_own_breakpoint(struct kvmdbg_stub *s, uint64_t pc);
/* How gdb's resume request applies to one vCPU. */
enum stub_action { ACT_HOLD, ACT_CONT, ACT_STEP, ACT_STOP };
enum stub_action stub_vcont_action(struct kvmdbg_stub *s, const struct rsp_cmd *cmd,
				   unsigned vcpu);
/* The 'r' action that applies to the vCPU, or NULL. */
const struct rsp_vcont_action *stub_vcont_range(struct kvmdbg_stub *s,
						const struct rsp_cmd *cmd, unsigned vcpu);
/* 0 when every thread a vCont names exists; -ESRCH otherwise. */
int stub_vcont_threads(struct kvmdbg_stub *s, const struct rsp_cmd *cmd);

/* nonstop.c: QNonStop:1 run control */
void stub_ns_set(struct kvmdbg_stub *s, bool on);
void stub_ns_hold(struct kvmdbg_stub *s);
void stub_ns_unhold(struct kvmdbg_stub *s);
bool stub_ns_running(struct kvmdbg_stub *s, unsigned vcpu);
int stub_ns_vcont(struct kvmdbg_stub *s, const struct rsp_cmd *cmd);
void stub_ns_ctrlc(struct kvmdbg_stub *s);
void stub_ns_halt_reason(struct kvmdbg_stub *s);
void stub_ns_stopped(struct kvmdbg_stub *s);
void stub_ns_notify(struct kvmdbg_stub *s);
void stub_ns_parked(struct kvmdbg_stub *s, struct stub_vcpu *v);
bool stub_ns_step_over(struct kvmdbg_stub *s, struct stub_vcpu *v);

/* guestmem.c: guest memory as gdb sees it */
long stub_read_virt(struct kvmdbg_stub *s, const void *regs, uint64_t addr,
		    uint8_t *out, size_t len);
long stub_read_mem(struct kvmdbg_stub *s, unsigned vcpu, uint64_t addr,
		   uint8_t *out, size_t len);
long stub_write_mem(struct kvmdbg_stub *s, unsigned vcpu, uint64_t addr,
		    uint8_t *in, size_t len);
int stub_translate(struct kvmdbg_stub *s, const void *regs, bool phys,
		   uint64_t addr, uint64_t *gpa, uint64_t *page_left);
uint8_t *stub_hva(struct kvmdbg_stub *s, uint64_t gpa, uint64_t len);

/* breakpoints.c */
int stub_insert_bp(struct kvmdbg_stub *s, unsigned type, uint64_t addr,
		   uint64_t kind, const char **why);
int stub_remove_bp(struct kvmdbg_stub *s, unsigned type, uint64_t addr,
		   uint64_t kind);
void stub_remove_all_bps(struct kvmdbg_stub *s);
void stub_trap_write(struct kvmdbg_stub *s, uint64_t gpa);
void stub_trap_restore(struct kvmdbg_stub *s, const struct kd_swbp *bp);
void stub_debug_control(struct kvmdbg_stub *s, const struct stub_vcpu *v,
			struct kvm_guest_debug *dbg);
/* Plants addr's trap at gpa (guarding its page now, or at the next
 * resume); 0 or -errno with *why. */
int stub_plant(struct kvmdbg_stub *s, uint64_t addr, bool phys, uint64_t gpa,
	       bool guard_now, const char **why);
/* Takes addr's trap out; false when it was not planted. */
bool stub_unplant(struct kvmdbg_stub *s, uint64_t addr);

/* bp_pages.c: software breakpoints on write-protected pages */
const char *stub_bp_guard_refusal(struct kvmdbg_stub *s, const struct kd_swbp *bp);
void stub_bp_guard(struct kvmdbg_stub *s, struct kd_swbp *bp);
void stub_bp_guard_cb(struct kd_swbp *bp, void *opaque);
void stub_bp_unguard(struct kvmdbg_stub *s, struct kd_swbp *bp);
void stub_bp_mmio_write(struct kvmdbg_stub *s, uint64_t gpa, const uint8_t *data,
			uint32_t len, uint8_t *hva);
void stub_bp_mmio_read(struct kvmdbg_stub *s, uint64_t gpa, uint8_t *out, uint32_t len,
		       const uint8_t *hva);
void stub_bp_resync(struct kvmdbg_stub *s, uint64_t gpa, uint64_t len);
void stub_bp_check_cpu_pages(struct kvmdbg_stub *s);

/* pending.c: breakpoints on addresses not mapped yet */
int stub_pending_add(struct kvmdbg_stub *s, uint64_t addr, bool phys);
bool stub_pending_remove(struct kvmdbg_stub *s, uint64_t addr);
bool stub_pending_has(struct kvmdbg_stub *s, uint64_t addr);
int stub_pending_slot(struct kvmdbg_stub *s, uint64_t addr);
void stub_pending_clear(struct kvmdbg_stub *s);
bool stub_pending_yield_slot(struct kvmdbg_stub *s, unsigned pool);
bool stub_pending_hit(struct kvmdbg_stub *s, struct stub_vcpu *v,
		      const struct kd_debug_event *ev, unsigned pool);
void stub_pending_refresh(struct kvmdbg_stub *s);

/* bpcond.c: conditions and commands of breakpoints */
int stub_insert_bp_packet(struct kvmdbg_stub *s, const struct rsp_cmd *c,
			  const char **why);
bool stub_bp_hit_resumes(struct kvmdbg_stub *s, struct stub_vcpu *v,
			 enum kd_stop_kind kind, uint64_t pc);
void stub_bp_step_done(struct kvmdbg_stub *s, struct stub_vcpu *v);
void stub_bp_step_cancel(struct kvmdbg_stub *s, struct stub_vcpu *v);
/* Steps v over the breakpoint at pc, alone if its trap must come out of
 * memory; false when a stop came first. */
bool stub_step_past(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t pc);
void stub_console_flush_locked(struct kvmdbg_stub *s);

/* watch.c */
bool stub_take_exclusive(struct kvmdbg_stub *s, struct stub_vcpu *v);
bool stub_page_watch_possible(struct kvmdbg_stub *s, enum kd_hw_type type);
int stub_page_watch_insert(struct kvmdbg_stub *s, enum kd_hw_type type,
			   uint64_t addr, uint64_t len, const char **why);
int stub_page_watch_remove(struct kvmdbg_stub *s, enum kd_hw_type type,
			   uint64_t addr, uint64_t len);
bool stub_watch_mmio(struct kvmdbg_stub *s, struct stub_vcpu *v);
void stub_reads_forget(struct stub_vcpu *v);
bool stub_exec_unmapped(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t pc);
void stub_exec_unmapped_done(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t pc);
void stub_unhide_cancel(struct kvmdbg_stub *s, struct stub_vcpu *v);
bool stub_watch_nisv(struct kvmdbg_stub *s, struct stub_vcpu *v, uint64_t gpa);
bool stub_watch_nisv_done(struct kvmdbg_stub *s, struct stub_vcpu *v);
bool stub_watchdog_armed(struct kvmdbg_stub *s);
void stub_watchdog_kick(struct kvmdbg_stub *s);
void stub_watchdog_check(struct kvmdbg_stub *s, struct stub_vcpu *v);

/* cpupages.c */
int stub_cpu_pages_conflict(struct kvmdbg_stub *s, enum kd_hw_type type,
			    const struct kd_watch_frag *f, size_t n, const char **why);
void stub_watch_check_cpu_pages(struct kvmdbg_stub *s);
void stub_watch_paging_wait(struct kvmdbg_stub *s, struct stub_vcpu *v);
void stub_watch_paging_step(struct kvmdbg_stub *s, struct stub_vcpu *v);

/* memslots.c: guest RAM as memory slots around watched pages */
int stub_memslots_init(struct kvmdbg_stub *s, const struct kvmdbg_ram_slot *ram,
		       unsigned nram, uint32_t spare_slot, unsigned nspare);
int stub_memslots_apply(struct kvmdbg_stub *s);
int stub_memslots_add_watch(struct kvmdbg_stub *s, enum kd_hw_type type, uint64_t addr,
			    uint64_t len, const struct kd_watch_frag *f, size_t n,
			    const char **why);
int stub_memslots_remove_watch(struct kvmdbg_stub *s, enum kd_hw_type type, uint64_t addr,
			       uint64_t len);
int stub_memslots_turn_off(struct kvmdbg_stub *s, size_t idx);
/* Keeps [gpa, gpa+len) (a breakpoint's trap) read-only (delta +1) or not
 * (-1); -ENOSPC with nothing changed when KVM has no slots for it. */
int stub_memslots_guard(struct kvmdbg_stub *s, uint64_t gpa, uint64_t len, int delta);
void stub_memslots_clear(struct kvmdbg_stub *s);
/* Memory slots the watches may still take. */
long stub_memslots_free(const struct kvmdbg_stub *s);

/* session.c */
void *stub_thread_main(void *arg);
void stub_send(struct kvmdbg_stub *s, const char *payload, size_t len);
/* The hex text of bytes[0..n) as one reply, framed straight from the bytes. */
void stub_send_hex(struct kvmdbg_stub *s, const void *bytes, size_t n);
void stub_console(struct kvmdbg_stub *s, const char *text);
void stub_disconnect(struct kvmdbg_stub *s);
void stub_end_session(struct kvmdbg_stub *s);

/* commands.c */
void stub_dispatch(struct kvmdbg_stub *s, const uint8_t *pkt, size_t len);
void stub_report_stop(struct kvmdbg_stub *s, int signal);
unsigned stub_resumed_vcpu(struct kvmdbg_stub *s);
void stub_send_stop(struct kvmdbg_stub *s, const struct kd_stop_event *ev);
/* The same as a non-stop mode %Stop notification. */
void stub_notify_stop(struct kvmdbg_stub *s, const struct kd_stop_event *ev);
void stub_notify(struct kvmdbg_stub *s, const char *payload, size_t len);

/* lldb_queries.c: true when the packet was LLDB's and is answered; a
 * register packet's thread suffix is taken off *len. */
bool stub_lldb_dispatch(struct kvmdbg_stub *s, const uint8_t *pkt, size_t *len);
void stub_lldb_stop_extra(struct kvmdbg_stub *s, struct rsp_buf *b);

/* monitor.c */
void stub_monitor(struct kvmdbg_stub *s, const char *line);
/* bp_list.c */
void stub_list_breakpoints(struct kvmdbg_stub *s);

/* log.c: what the embedding VMM hears of: one line for its log, without
 * a newline; a vCPU's KVM state the stub wrote */
void stub_log(struct kvmdbg_stub *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void stub_vcpu_changed(struct kvmdbg_stub *s, unsigned vcpu);

/* listen.c */
void stub_close_listener(struct kvmdbg_stub *s);
void stub_remove_socket_locked(struct kvmdbg_stub *s);

#endif
