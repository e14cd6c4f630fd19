/* SPDX-License-Identifier: MIT */
/*
 * Debug core: the bookkeeping a guest debugger needs independent of the wire
 * protocol and of the architecture.  Software breakpoint table (unbounded),
 * hardware slot allocation, the "mine or the guest's" decision for a debug
 * event, and the queue of stop events waiting to be reported.
 *
 * Nothing here touches guest memory, KVM or a socket; callers do that and
 * keep these structures consistent with what they did.  Not thread-safe:
 * the owner serialises access.
 */
#ifndef KVMDBG_DEBUG_CORE_H
#define KVMDBG_DEBUG_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Software breakpoints ------------------------------------------------- */

#define KD_TRAP_MAX 8

struct kd_swbp {
	uint64_t addr;		/* address as the debugger named it */
	uint64_t gpa;		/* guest-physical address patched */
	uint8_t len;		/* bytes of the trap instruction, <= KD_TRAP_MAX */
	uint8_t orig[KD_TRAP_MAX]; /* guest bytes the trap replaced */
	bool phys;		/* addr named a physical address */
	bool guarded;		/* its pages are kept read-only (the caller's doing) */
};

struct kd_bptable;

struct kd_bptable *kd_bptable_new(void);	/* NULL when out of memory */
void kd_bptable_free(struct kd_bptable *t);

/*
 * 0, -EEXIST when bp->addr is already present, -ENOMEM (the table is left
 * unchanged), -EINVAL when len is 0 or above KD_TRAP_MAX or the trap bytes
 * would wrap past the top of the address space.  Copies *bp.  Entries with
 * different addr may share a gpa (virtual aliases of one physical page).
 */
int kd_bptable_insert(struct kd_bptable *t, const struct kd_swbp *bp);
/* 0 and a copy in *out (when out != NULL), or -ENOENT. */
int kd_bptable_remove(struct kd_bptable *t, uint64_t addr, struct kd_swbp *out);
/*
 * The entry for addr, or NULL.  Valid until the next insert or remove.  The
 * caller may update orig (the guest wrote over the trap) and guarded but
 * not addr, gpa or len, which the table is indexed by.
 */
struct kd_swbp *kd_bptable_find(const struct kd_bptable *t, uint64_t addr);
size_t kd_bptable_count(const struct kd_bptable *t);

typedef void (*kd_swbp_fn)(struct kd_swbp *bp, void *opaque);

/*
 * Calls fn for every breakpoint whose trap bytes [gpa, gpa+len) overlap the
 * physical range [gpa, gpa+len), in no particular order.  Cost is
 * proportional to the pages spanned plus the breakpoints found, not to the
 * table size; a range spanning more pages than the table could index
 * costs in proportion to the table instead.  A range running past 2^64 stops there.
 * fn must not insert or remove, and may update only orig and guarded.
 */
void kd_bptable_for_range(struct kd_bptable *t, uint64_t gpa, uint64_t len,
			  kd_swbp_fn fn, void *opaque);
/* Calls fn for every breakpoint.  fn must not insert or remove, and may
 * update only orig and guarded. */
void kd_bptable_for_each(struct kd_bptable *t, kd_swbp_fn fn, void *opaque);

/* ---- Hardware slots ------------------------------------------------------- */

#define KD_HW_MAX_SLOTS 16

enum kd_hw_type {
	KD_HW_EXEC,
	KD_HW_WRITE,
	KD_HW_READ,
	KD_HW_ACCESS,
};

struct kd_hwslot {
	bool used;
	enum kd_hw_type type;
	uint64_t addr;
	uint64_t len;
};

/* A pool of interchangeable slots (x86 DR0-3; arm64 has one pool each for
 * breakpoints and watchpoints). */
struct kd_hwslots {
	unsigned n;		/* slots the hardware offers, <= KD_HW_MAX_SLOTS */
	struct kd_hwslot slot[KD_HW_MAX_SLOTS];
};

void kd_hwslots_init(struct kd_hwslots *s, unsigned n);	/* n is clamped */
/* Slot index, -EEXIST when the same (type, addr, len) is present, -ENOSPC. */
int kd_hwslots_alloc(struct kd_hwslots *s, enum kd_hw_type type,
		     uint64_t addr, uint64_t len);
/* Index of the freed slot, or -ENOENT. */
int kd_hwslots_free(struct kd_hwslots *s, enum kd_hw_type type,
		    uint64_t addr, uint64_t len);
unsigned kd_hwslots_used(const struct kd_hwslots *s);
void kd_hwslots_clear(struct kd_hwslots *s);

/* ---- Ownership of a debug event ----------------------------------------- */

/* What the architecture backend decoded from one debug exit. */
struct kd_debug_event {
	uint64_t pc;		/* address of the trapping instruction */
	bool trap_insn;		/* a breakpoint instruction executed at pc */
	uint32_t slots_hit;	/* bit i: hardware slot i of the pool matched */
	bool stepped;		/* a single-step trap completed */
	bool data_addr_valid;
	uint64_t data_addr;	/* faulting data address when known */
	/* The code at pc as the vCPU fetches it (the debugger's own trap
	 * instructions included), code_len bytes of it; 0 when unreadable.
	 * Some exits can only be told apart by the instruction they left
	 * the pc on. */
	uint8_t code[4];
	unsigned code_len;
};

enum kd_stop_kind {
	KD_STOP_SIGNAL,		/* plain stop (step, interrupt): SIGTRAP/SIGINT */
	KD_STOP_SWBREAK,
	KD_STOP_HWBREAK,
	KD_STOP_WATCH,
	KD_STOP_RWATCH,
	KD_STOP_AWATCH,
};

struct kd_verdict {
	bool mine;		/* report to the debugger */
	enum kd_stop_kind kind;	/* when mine */
	uint64_t addr;		/* watch address for a watch, else ev->pc */
	bool deliver;		/* give the event (or its remainder) to the guest */
};

/*
 * Decides whether an event belongs to the debugger.  Own breakpoints (the
 * trap instruction at an address in t), own slots (a used slot whose bit is
 * set) and a requested step are the debugger's; anything else is the
 * guest's and must be delivered.  When several causes coincide the
 * debugger's win and `deliver` is false: hardware reports them together and
 * the guest event is re-raised when the instruction re-executes.  `deliver`
 * is false whenever `mine` is true.  First match wins:
 *   1. trap_insn at a pc in t: KD_STOP_SWBREAK.
 *   2. a bit of slots_hit naming a used slot below n: KD_STOP_HWBREAK for an
 *      exec slot, else the watch kind, with addr the data_addr when valid
 *      and inside the slot's range, else the slot's address.  Watches win
 *      over exec slots (the access already happened; the exec slot fires
 *      again), then the lowest index.  Bits of unused slots are ignored:
 *      x86 may set DR6 bits of breakpoints that are not enabled.
 *   3. stepped while step_requested and no trap instruction: KD_STOP_SIGNAL.
 *      A guest trap instruction has retired even when a step completed
 *      with it and will not re-execute, so it goes to rule 4; the caller
 *      then reports the finished step itself.
 *   4. anything else, also while stepping: the guest's, deliver.
 */
struct kd_verdict kd_decide(const struct kd_bptable *t,
			    const struct kd_hwslots *slots,
			    bool step_requested,
			    const struct kd_debug_event *ev);

/* ---- Stop events waiting to be reported --------------------------------- */

struct kd_stop_event {
	unsigned vcpu;
	enum kd_stop_kind kind;
	uint64_t addr;		/* pc for breaks; data address for watches */
	int signal;		/* for KD_STOP_SIGNAL */
};

struct kd_stopq;

/* At most one pending event per vCPU: a vCPU is stopped once it has one. */
struct kd_stopq *kd_stopq_new(unsigned nvcpus);	/* NULL when out of memory */
void kd_stopq_free(struct kd_stopq *q);
/* 0, or -EBUSY when that vCPU already has a pending event, -EINVAL when
 * ev->vcpu is not below nvcpus. */
int kd_stopq_push(struct kd_stopq *q, const struct kd_stop_event *ev);
/*
 * Takes the next event, fairly: the vCPU after the one popped last, round
 * robin (vCPU 0 first), so no vCPU's events can starve another's.  false
 * when empty.
 */
bool kd_stopq_pop(struct kd_stopq *q, struct kd_stop_event *out);
/* false also when vcpu is out of range. */
/*
 * The same, among the vCPUs with eligible[vcpu] set (all when NULL):
 * events of vCPUs the debugger did not resume wait for a later turn.
 */
bool kd_stopq_pop_among(struct kd_stopq *q, const bool *eligible,
			struct kd_stop_event *out);
bool kd_stopq_pending(const struct kd_stopq *q, unsigned vcpu);
size_t kd_stopq_count(const struct kd_stopq *q);
/*
 * Drops pending KD_STOP_SWBREAK events at addr (the breakpoint was removed
 * before they were reported: the vCPU simply re-executes the original
 * instruction) and returns how many were dropped.
 */
size_t kd_stopq_discard_swbreak(struct kd_stopq *q, uint64_t addr);
/* The same for any kind of event (e.g. KD_STOP_HWBREAK). */
size_t kd_stopq_discard(struct kd_stopq *q, enum kd_stop_kind kind, uint64_t addr);
/* Drops every pending event (e.g. the debugger detached). */
void kd_stopq_clear(struct kd_stopq *q);

/* ---- Watchpoints by page protection ------------------------------------- */

/*
 * Watched ranges the hardware cannot take, kept as physical fragments
 * (a virtually contiguous range may span unrelated physical pages), and the
 * protection each guest page needs for them: read-only where only writes
 * are watched, absent where reads are too.  Unbounded in number; the
 * protection of a page costs one lookup whatever their number.
 */
struct kd_watch_frag {
	uint64_t gpa;		/* physical start of the fragment */
	uint64_t len;
	uint64_t vaddr;		/* the address the debugger knows it by */
};

/* Ordered from the least to the most restrictive. */
enum kd_page_prot {
	KD_PAGE_RW,		/* untouched */
	KD_PAGE_RO,		/* writes must trap */
	KD_PAGE_NONE,		/* reads and writes must trap */
};

struct kd_watchset;

struct kd_watchset *kd_watchset_new(void);	/* NULL when out of memory */
void kd_watchset_free(struct kd_watchset *ws);
/* type is WRITE, READ or ACCESS.  0, -EEXIST, -EINVAL (no fragments or an
 * empty one), -ENOMEM (unchanged; also for a watch over more than 64 GiB,
 * 2^24 pages). */
int kd_watchset_add(struct kd_watchset *ws, enum kd_hw_type type, uint64_t addr,
		    uint64_t len, const struct kd_watch_frag *frags, size_t nfrags);
/* 0 or -ENOENT. */
int kd_watchset_remove(struct kd_watchset *ws, enum kd_hw_type type,
		       uint64_t addr, uint64_t len);
size_t kd_watchset_count(const struct kd_watchset *ws);
void kd_watchset_clear(struct kd_watchset *ws);
/*
 * The page size protection works in: KVM memory slots start and end on
 * host pages, so a host with 16 KiB or 64 KiB pages protects whole pages
 * of that size.  4 KiB until set.  0, or -EINVAL (unchanged) unless size
 * is a power of two from 4 KiB to 2^62; -EBUSY while it holds watches.
 */
int kd_watchset_set_page_size(struct kd_watchset *ws, uint64_t size);
/* Protection the page at page_gpa (aligned to the page size) needs. */
enum kd_page_prot kd_watchset_page_prot(const struct kd_watchset *ws,
					 uint64_t page_gpa);
/*
 * The pages needing protection, ascending, into pages[0..max); returns
 * how many there are (which may exceed max), or -ENOMEM.
 */
long kd_watchset_pages(const struct kd_watchset *ws, uint64_t *pages, size_t max);
/*
 * Whether a guest access [gpa, gpa+len) hits a watch: writes hit WRITE and
 * ACCESS watches, reads READ and ACCESS ones.  On a hit, *kind is the stop
 * kind and *vaddr the debugger's address of the first watched byte touched.
 * The earliest-added matching watch wins.
 */
bool kd_watchset_match(const struct kd_watchset *ws, uint64_t gpa, uint64_t len,
		       bool write, enum kd_stop_kind *kind, uint64_t *vaddr);

/* Index of a watch (in the order added, which removals keep), or -ENOENT. */
long kd_watchset_find(const struct kd_watchset *ws, enum kd_hw_type type,
		      uint64_t addr, uint64_t len);

struct kd_watch_info {
	enum kd_hw_type type;
	uint64_t addr, len;
	const struct kd_watch_frag *frags;	/* valid until the watch goes */
	size_t nfrags;
	bool off;
};

/* The watch at index i; false past the last one. */
bool kd_watchset_at(const struct kd_watchset *ws, size_t i, struct kd_watch_info *out);
/*
 * Keeps the pages of [gpa, gpa+len) (at most two pages) read-only for a
 * reason other than a watch (delta +1), or stops doing so (delta -1): a
 * software breakpoint's trap, whose page must exit on every write so that
 * the guest cannot overwrite it.  Counted per page like watches; matched by
 * no access.  0, -EINVAL (empty, wrapping or more than two pages), -ENOMEM
 * or -ENOENT (a page not guarded), changing nothing on failure.
 * kd_watchset_clear drops the guards too.
 */
int kd_watchset_guard(struct kd_watchset *ws, uint64_t gpa, uint64_t len, int delta);

/*
 * Keeps watch i for the debugger (it is still listed, found and removed)
 * while it protects no page and matches no access: for a watch whose
 * pages the processor has started to use itself.
 */
void kd_watchset_turn_off(struct kd_watchset *ws, size_t i);

/* ---- A vCPU that makes no progress ------------------------------------------ */

/*
 * Some accesses KVM makes for an instruction fail inside the kernel, which
 * then retries the instruction forever without an exit.  The caller looks at
 * a vCPU that has not exited for a while: its pc, and the CPU time its
 * thread has had.  The vCPU is stuck when a later look finds it at the
 * same pc having run for at least KD_STALL_CPU_NS since the first: a vCPU
 * whose thread the host did not schedule (a loaded machine) is at the same
 * pc too, and has had no chance to move.  A stuck one spins in the kernel
 * and has the CPU whenever it can.
 */
#define KD_STALL_CPU_NS 10000000ull
/* For a caller without a thread CPU clock: the pc alone decides. */
#define KD_STALL_NO_CLOCK UINT64_MAX

struct kd_stall {
	bool seen;		/* the first look: */
	uint64_t pc;
	uint64_t cpu_ns;
};

/* Forgets the first look: the vCPU exited, so it made progress. */
void kd_stall_reset(struct kd_stall *st);
/* Takes this as the first look. */
void kd_stall_first(struct kd_stall *st, uint64_t pc, uint64_t cpu_ns);
/*
 * A look at the vCPU: true when it is stuck (and the first look is
 * forgotten).  Otherwise this look is the first unless the vCPU is still
 * at the first look's pc without having had the CPU long enough, or its
 * clock went backwards (another thread ran it): then a fresh first look.
 */
bool kd_stall_look(struct kd_stall *st, uint64_t pc, uint64_t cpu_ns);

#endif
