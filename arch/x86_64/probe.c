/* SPDX-License-Identifier: MIT */
/*
 * Learns what the host KVM really does with each debug mechanism by running
 * four tiny 32-bit protected-mode snippets in a scratch VM.  Capability bits
 * alone cannot tell: an emulating KVM may advertise guest debug and still
 * report an int3 as an emulation failure, or never fire data breakpoints.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "x86.h"

#define PROBE_RAM	0x10000
#define STEP_CODE	0x1000
#define SWBP_CODE	0x1100
#define HWBP_CODE	0x1200
#define WATCH_CODE	0x1300
#define WATCH_DATA	0x2000

static const uint8_t step_code[] = { 0x90, 0x90, 0xf4 };	/* nop nop hlt */
static const uint8_t swbp_code[] = { 0xcc, 0xf4 };		/* int3 hlt */
static const uint8_t hwbp_code[] = { 0x90, 0x90, 0xf4 };
/* mov [WATCH_DATA], eax ; hlt */
static const uint8_t watch_code[] = { 0xa3, 0x00, 0x20, 0x00, 0x00, 0xf4 };

static void flat_segment(struct kvm_segment *s, uint16_t sel, uint8_t type)
{
	memset(s, 0, sizeof(*s));
	s->limit = 0xffffffff;
	s->selector = sel;
	s->type = type;
	s->present = 1;
	s->db = 1;
	s->s = 1;
	s->g = 1;
}

static int set_cpuid(int kvm_fd, int vcpu)
{
	int n = 256;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));
	int ret = 0;

	if (!c)
		return -ENOMEM;
	c->nent = n;
	if (ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) < 0 ||
	    ioctl(vcpu, KVM_SET_CPUID2, c) < 0)
		ret = -errno;
	free(c);
	return ret;
}

static int scratch_open(int kvm_fd, struct kvmdbg_scratch *s, char *note, size_t len)
{
	struct kvm_sregs sregs;
	int err = kvmdbg_scratch_open(kvm_fd, PROBE_RAM, s);

	if (!err)
		err = set_cpuid(kvm_fd, s->vcpu);
	if (!err && ioctl(s->vcpu, KVM_GET_SREGS, &sregs) < 0)
		err = -errno;
	if (!err) {
		flat_segment(&sregs.cs, 8, 0xb);
		flat_segment(&sregs.ds, 0x10, 3);
		sregs.es = sregs.fs = sregs.gs = sregs.ss = sregs.ds;
		sregs.cr0 = X86_CR0_PE | 0x10;
		if (ioctl(s->vcpu, KVM_SET_SREGS, &sregs) < 0)
			err = -errno;
	}
	if (err) {
		snprintf(note, len, "probe VM could not be set up: %s", strerror(-err));
		return -1;
	}
	memcpy(s->ram + STEP_CODE, step_code, sizeof(step_code));
	memcpy(s->ram + SWBP_CODE, swbp_code, sizeof(swbp_code));
	memcpy(s->ram + HWBP_CODE, hwbp_code, sizeof(hwbp_code));
	memcpy(s->ram + WATCH_CODE, watch_code, sizeof(watch_code));
	return 0;
}

/* Runs from rip until the first exit; false when an ioctl failed. */
static bool scratch_run(struct kvmdbg_scratch *s, uint64_t rip,
			const struct kvm_guest_debug *dbg)
{
	struct kvm_regs regs = { .rip = rip, .rflags = 2, .rsp = 0x8000 };

	if (ioctl(s->vcpu, KVM_SET_REGS, &regs) < 0 ||
	    ioctl(s->vcpu, KVM_SET_GUEST_DEBUG, dbg) < 0)
		return false;
	return ioctl(s->vcpu, KVM_RUN, 0) == 0;
}

static bool debug_exit_at(const struct kvmdbg_scratch *s, uint32_t exception,
			  uint64_t dr6_bits, uint64_t pc)
{
	const struct kvm_debug_exit_arch *d = &s->run->debug.arch;

	if (s->run->exit_reason != KVM_EXIT_DEBUG || d->exception != exception)
		return false;
	if (dr6_bits && (d->dr6 & dr6_bits) != dr6_bits)
		return false;
	return pc == UINT64_MAX || d->pc == pc;
}

static enum kvmdbg_mechanism probe_swbp(struct kvmdbg_scratch *s)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP,
	};
	struct kvm_regs regs;

	if (!scratch_run(s, SWBP_CODE, &dbg))
		return KVMDBG_MECH_NONE;
	if (debug_exit_at(s, 3, 0, SWBP_CODE))
		return KVMDBG_MECH_DEBUG_EXIT;
	if (s->run->exit_reason == KVM_EXIT_INTERNAL_ERROR &&
	    s->run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION &&
	    ioctl(s->vcpu, KVM_GET_REGS, &regs) == 0 && regs.rip == SWBP_CODE)
		return KVMDBG_MECH_EMULATION_EXIT;
	return KVMDBG_MECH_NONE;
}

static enum kvmdbg_mechanism probe_dr(struct kvmdbg_scratch *s, uint64_t rip,
				      uint64_t addr, uint64_t dr7,
				      uint64_t expect_pc)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP,
	};

	dbg.arch.debugreg[0] = addr;
	dbg.arch.debugreg[7] = dr7;
	if (!scratch_run(s, rip, &dbg))
		return KVMDBG_MECH_NONE;
	return debug_exit_at(s, 1, 1, expect_pc) ? KVMDBG_MECH_DEBUG_EXIT
						  : KVMDBG_MECH_NONE;
}

static enum kvmdbg_mechanism probe_step(struct kvmdbg_scratch *s)
{
	struct kvm_guest_debug dbg = {
		.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP,
	};

	if (!scratch_run(s, STEP_CODE, &dbg))
		return KVMDBG_MECH_NONE;
	return debug_exit_at(s, 1, X86_DR6_BS, STEP_CODE + 1)
		       ? KVMDBG_MECH_DEBUG_EXIT : KVMDBG_MECH_NONE;
}

void x86_probe(int kvm_fd, struct kvmdbg_caps *caps)
{
	struct kvmdbg_scratch s;

	if (!kvmdbg_probe_caps(kvm_fd, caps))
		return;
	caps->hw_bps = caps->hw_wps = 4;
	caps->hw_shared = true;
	caps->blockirq = caps->debug_flags & KVM_GUESTDBG_BLOCKIRQ;
	if (scratch_open(kvm_fd, &s, caps->note, sizeof(caps->note)) < 0) {
		kvmdbg_scratch_close(&s);
		return;
	}
	caps->step = probe_step(&s);
	caps->swbp = probe_swbp(&s);
	/* DR0 execute at the second nop: G0, RW0=00, LEN0=00. */
	caps->hwbp = probe_dr(&s, HWBP_CODE, HWBP_CODE + 1, 0x602,
			      HWBP_CODE + 1);
	/* DR0 write of 4 bytes: G0, RW0=01, LEN0=11.  A trap: the pc is
	 * after the store, which the check leaves open. */
	caps->watch = probe_dr(&s, WATCH_CODE, WATCH_DATA, 0x602 | (0xdull << 16),
			       UINT64_MAX);
	if (!caps->hwbp)
		caps->hw_bps = 0;
	if (!caps->watch)
		caps->hw_wps = 0;
	kvmdbg_scratch_close(&s);
}
