/* SPDX-License-Identifier: MIT */
/*
 * The whole command dispatcher, without KVM.  A stub over an in-memory
 * machine (the real backend's register layout, guest RAM in a buffer,
 * page tables for vCPU 0 on x86-64, a vCPU whose registers cannot be read)
 * takes the input as gdb's packets, one payload per line, as rsp_decode
 * would hand them over; a first line "host:no-guest-debug" makes it a host
 * without KVM guest debugging, as `kvmdbg run --no-guest-debug` does.  Checked: every packet is answered, with one
 * correctly framed packet; what M or X wrote (where addresses are
 * physical, so no mapping aliases them) reads back as written; every
 * software breakpoint's trap is in guest memory; and when the session
 * ends and the stub takes its breakpoints out, guest memory is exactly
 * what gdb last saw of it: no trap left behind, no original byte lost.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kvmdbg/arch.h>
#include <kvmdbg/stub.h>

#include "../../stub/internal.h"
#include "fuzz_check.h"

#define NVCPUS		3
#define BAD_VCPU	(NVCPUS - 1)	/* its registers cannot be read */
#define RAM_SIZE	0x40000
#define SIGTRAP_NR	5
#define SIGINT_NR	2
#define BARE_HOST	"host:no-guest-debug\n"

/* The in-memory machine, rebuilt for every input. */
struct machine {
	uint8_t ram[RAM_SIZE];
	uint8_t pristine[RAM_SIZE];
	void *regs[NVCPUS];		/* what each vCPU holds */
	void *regs_init[NVCPUS];
	struct kvm_run runs[NVCPUS];
	struct kvmdbg_caps caps;	/* a host with everything */
	struct kvmdbg_caps bare;	/* one without guest debugging */
	bool ready;
};

static struct machine machine;

static void *gpa_to_hva(void *opaque, uint64_t gpa, uint64_t len)
{
	struct machine *m = opaque;

	if (gpa >= RAM_SIZE || len > RAM_SIZE - gpa)
		return NULL;
	return m->ram + gpa;
}

static int fake_regs_load(struct kvmdbg_stub *s, unsigned vcpu, void *regs)
{
	if (vcpu == BAD_VCPU)
		return -EIO;
	memcpy(regs, machine.regs[vcpu], s->arch->regs_size);
	return 0;
}

static int fake_regs_store(struct kvmdbg_stub *s, unsigned vcpu, const void *regs)
{
	FUZZ_CHECK(vcpu != BAD_VCPU);
	memcpy(machine.regs[vcpu], regs, s->arch->regs_size);
	return 0;
}

/* The stub's own decisions, then a machine that runs no instruction:
 * the vCPUs gdb let go stop at once.  With none let go, gdb's Ctrl-C
 * ends the wait. */
static int fake_resume(struct kvmdbg_stub *s, const struct rsp_cmd *cmd)
{
	bool any = false;
	int err = stub_resume(s, cmd);

	if (err < 0)
		return err;
	for (unsigned i = 0; i < s->nvcpus; i++)
		any |= s->resumed[i];
	s->running = false;
	stub_report_stop(s, any ? SIGTRAP_NR : SIGINT_NR);
	return 0;
}

static const struct stub_vcpu_ops fake_vcpus = {
	.regs_load = fake_regs_load,
	.regs_store = fake_regs_store,
	.resume = fake_resume,
};

static void fake_kill(void *opaque)
{
}

static void put64(uint64_t gpa, uint64_t v)
{
	memcpy(machine.pristine + gpa, &v, 8);
}

static void set_reg(const struct kvmdbg_arch_ops *a, void *regs, unsigned regno, uint64_t v)
{
	uint8_t buf[16] = { 0 };

	FUZZ_CHECK(a->reg_size(regno) == 8);
	memcpy(buf, &v, 8);
	a->reg_set(regs, regno, buf);
}

/*
 * x86-64 long mode for vCPU 0 (register numbers of the target
 * description): RAM identity-mapped by a 2 MiB page and again at
 * 0xffffffff80000000, and 4 KiB pages at 0x200000 shuffled over RAM with
 * holes, by tables at 0x1000-0x5fff.  vCPU 1 runs with paging off.
 */
static void x86_machine(const struct kvmdbg_arch_ops *a)
{
	enum { RIP = 16, CR0 = 59, CR3 = 61, CR4 = 62, EFER = 64, RSP = 7 };
	const uint64_t P = 1, W = 2, PS = 0x80;

	memset(machine.pristine + 0x1000, 0, 0x5000);
	put64(0x1000, 0x2000 | P | W);
	put64(0x1000 + 511 * 8, 0x5000 | P | W);
	put64(0x2000, 0x3000 | P | W);
	put64(0x5000 + 510 * 8, 0x3000 | P | W);
	put64(0x3000, 0 | P | W | PS);
	put64(0x3008, 0x4000 | P | W);
	for (uint64_t i = 0; i < RAM_SIZE / 0x1000; i++)
		if (i % 5)
			put64(0x4000 + 8 * i, ((i * 7) % (RAM_SIZE / 0x1000)) << 12 | P | W);
	set_reg(a, machine.regs_init[0], CR0, 0x80000011);
	set_reg(a, machine.regs_init[0], CR3, 0x1000);
	set_reg(a, machine.regs_init[0], CR4, 0x20);
	set_reg(a, machine.regs_init[0], EFER, 0x500);
	set_reg(a, machine.regs_init[0], RIP, 0xffffffff80008000ull);
	set_reg(a, machine.regs_init[0], RSP, 0x30000);
	set_reg(a, machine.regs_init[1], RIP, 0x7c00);
}

static void machine_init(const struct kvmdbg_arch_ops *a)
{
	for (size_t i = 0; i < RAM_SIZE; i++)
		machine.pristine[i] = (uint8_t)(i * 37 + (i >> 12));
	for (unsigned i = 0; i < NVCPUS; i++) {
		machine.regs[i] = calloc(1, a->regs_size);
		machine.regs_init[i] = calloc(1, a->regs_size);
		FUZZ_CHECK(machine.regs[i] && machine.regs_init[i]);
	}
	if (!strcmp(a->name, "x86_64"))
		x86_machine(a);
	machine.caps = (struct kvmdbg_caps){
		.guest_debug = true, .hw_bps = 4, .hw_wps = 4,
		.hw_shared = !strcmp(a->name, "x86_64"),
		.swbp = KVMDBG_MECH_DEBUG_EXIT, .hwbp = KVMDBG_MECH_DEBUG_EXIT,
		.watch = KVMDBG_MECH_DEBUG_EXIT, .step = KVMDBG_MECH_DEBUG_EXIT,
		.blockirq = true, .readonly_mem = true,
	};
	machine.bare = (struct kvmdbg_caps){ .readonly_mem = true };
	snprintf(machine.bare.note, sizeof(machine.bare.note), "no guest debugging");
	machine.ready = true;
}

/* A stub as gdb finds it on connecting: every vCPU stopped. */
static struct kvmdbg_stub *stub_for_input(bool bare)
{
	const struct kvmdbg_arch_ops *a = kvmdbg_arch();
	struct kvmdbg_stub_config cfg = {
		.arch = a, .caps = bare ? &machine.bare : &machine.caps,
		.mem = { .gpa_to_hva = gpa_to_hva, .opaque = &machine },
		.signo = SIGUSR1, .wait = true, .kill = fake_kill, .opaque = &machine,
	};
	struct kvmdbg_stub *s;

	if (!machine.ready)
		machine_init(a);
	memcpy(machine.ram, machine.pristine, RAM_SIZE);
	for (unsigned i = 0; i < NVCPUS; i++)
		memcpy(machine.regs[i], machine.regs_init[i], a->regs_size);
	s = kvmdbg_stub_new(&cfg);
	FUZZ_CHECK(s);
	s->vcpu_ops = &fake_vcpus;
	for (unsigned i = 0; i < NVCPUS; i++)
		FUZZ_CHECK(kvmdbg_stub_add_vcpu(s, -1, &machine.runs[i]) == (int)i);
	s->nparked = NVCPUS;
	s->cur_c = UINT_MAX;
	s->last_event = (struct kd_stop_event){ .kind = KD_STOP_SIGNAL, .signal = SIGTRAP_NR };
	return s;
}

/* The reply is one packet, framed as rsp_decode expects. */
static void check_reply(struct kvmdbg_stub *s)
{
	static uint8_t payload[STUB_REPLY_SIZE];
	struct rsp_decoder d;
	enum rsp_event ev;

	FUZZ_CHECK(s->framed_len > 0);
	rsp_decoder_init(&d, payload, sizeof(payload));
	FUZZ_CHECK(rsp_decode(&d, s->framed, s->framed_len, &ev) == s->framed_len);
	FUZZ_CHECK(ev == RSP_EV_PACKET);
}

/* gdb reads back what it wrote, breakpoints or not. */
static void check_written(struct kvmdbg_stub *s)
{
	static uint8_t back[STUB_PACKET_SIZE];
	const struct rsp_cmd *c = &s->cmd;
	const void *regs;

	if ((c->kind != RSP_CMD_WRITE_MEM && c->kind != RSP_CMD_WRITE_MEM_BIN) ||
	    s->framed_len != 6 || memcmp(s->framed, "$OK#", 4) || !c->len)
		return;
	regs = stub_regs(s, s->cur_g);
	FUZZ_CHECK(regs);
	if (!s->phys && s->arch->paging(regs))
		return;
	FUZZ_CHECK(stub_read_mem(s, s->cur_g, c->addr, back, c->len) == (long)c->len);
	FUZZ_CHECK(!memcmp(back, s->scratch, c->len));
}

static void check_trap(struct kd_swbp *bp, void *opaque)
{
	const struct kvmdbg_arch_ops *a = opaque;

	FUZZ_CHECK(bp->gpa < RAM_SIZE && bp->len == a->trap_len);
	FUZZ_CHECK(!memcmp(machine.ram + bp->gpa, a->trap, a->trap_len));
}

/* What gdb would read of all RAM, then RAM once the breakpoints are out. */
static void check_guest_memory(struct kvmdbg_stub *s)
{
	static uint8_t seen[RAM_SIZE];

	kd_bptable_for_each(s->bps, check_trap, (void *)s->arch);
	s->phys = true;
	FUZZ_CHECK(stub_read_mem(s, 0, 0, seen, RAM_SIZE) == RAM_SIZE);
	stub_remove_all_bps(s);
	FUZZ_CHECK(!memcmp(machine.ram, seen, RAM_SIZE));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	bool bare = size >= strlen(BARE_HOST) && !memcmp(data, BARE_HOST, strlen(BARE_HOST));
	struct kvmdbg_stub *s;
	size_t off = 0;

	if (size > STUB_PACKET_SIZE)
		return 0;
	s = stub_for_input(bare);
	if (bare)
		off = strlen(BARE_HOST);
	while (off < size) {
		const uint8_t *nl = memchr(data + off, '\n', size - off);
		size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
		/* Exactly the payload's bytes: ASan sees any read past it. */
		uint8_t *pkt = malloc(len ? len : 1);

		FUZZ_CHECK(pkt);
		memcpy(pkt, data + off, len);
		s->framed_len = 0;
		stub_dispatch(s, pkt, len);
		check_reply(s);
		check_written(s);
		free(pkt);
		off += len + 1;
	}
	check_guest_memory(s);
	kvmdbg_stub_free(s);
	return 0;
}
