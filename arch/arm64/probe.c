/* SPDX-License-Identifier: MIT */
/*
 * Learns what the host KVM really does with each debug mechanism by
 * running four tiny snippets in a scratch VM at EL1 with the MMU off.
 * Each snippet ends with a store outside RAM, an MMIO exit, so a mechanism
 * that does not fire shows up as that exit instead of a debug exit.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>

#include "a64.h"

#define PROBE_RAM	0x10000
#define STEP_CODE	0x1000
#define BRK_CODE	0x1100
#define HWBP_CODE	0x1200
#define WATCH_CODE	0x1300
#define WATCH_DATA	0x8000
#define OUTSIDE_RAM	0x100000
#define PROBE_RUNS	3

#define NOP		0xd503201fu
#define BRK0		0xd4200000u
#define STR_X0_X1	0xf9000020u
#define STR_X0_X2	0xf9000040u

static void put_code(uint8_t *ram, uint64_t at, const uint32_t *insns, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t le[4] = { insns[i], insns[i] >> 8, insns[i] >> 16, insns[i] >> 24 };

		memcpy(ram + at + 4 * i, le, 4);
	}
}

static int set_reg(int fd, uint64_t id, uint64_t val)
{
	struct kvm_one_reg reg = { .id = id, .addr = (uintptr_t)&val };

	return ioctl(fd, KVM_SET_ONE_REG, &reg);
}

#define CORE64(field) (KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_CORE | \
		       KVM_REG_ARM_CORE_REG(field))

static int scratch_open(int kvm_fd, const struct kvmdbg_probe_env *env,
			struct kvmdbg_scratch *s, char *note, size_t len)
{
	struct kvm_vcpu_init init;
	static const uint32_t step[] = { NOP, NOP, STR_X0_X2 };
	static const uint32_t brk[] = { BRK0, STR_X0_X2 };
	static const uint32_t hwbp[] = { NOP, NOP, STR_X0_X2 };
	static const uint32_t watch[] = { STR_X0_X1, STR_X0_X2 };
	int err = env->scratch_open(kvm_fd, PROBE_RAM, s);

	if (!err && (ioctl(s->vm, KVM_ARM_PREFERRED_TARGET, &init) < 0 ||
		     ioctl(s->vcpu, KVM_ARM_VCPU_INIT, &init) < 0))
		err = -errno;
	if (err) {
		snprintf(note, len, "probe VM could not be set up: %s", strerror(-err));
		return -1;
	}
	put_code(s->ram, STEP_CODE, step, 3);
	put_code(s->ram, BRK_CODE, brk, 2);
	put_code(s->ram, HWBP_CODE, hwbp, 3);
	put_code(s->ram, WATCH_CODE, watch, 2);
	return 0;
}

/* Runs from pc until the first exit; the exception class of a debug
 * exit, or -1 for anything else. */
static int scratch_run(struct kvmdbg_scratch *s, uint64_t pc, const struct kvm_guest_debug *dbg,
		       uint64_t *exit_pc)
{
	struct kvm_one_reg reg = { .id = CORE64(regs.pc), .addr = (uintptr_t)exit_pc };
	bool repaired;

	if (set_reg(s->vcpu, CORE64(regs.pc), pc) < 0 ||
	    set_reg(s->vcpu, CORE64(regs.pstate), PSTATE_DAIF | PSTATE_EL1H) < 0 ||
	    set_reg(s->vcpu, CORE64(regs.regs[1]), WATCH_DATA) < 0 ||
	    set_reg(s->vcpu, CORE64(regs.regs[2]), OUTSIDE_RAM) < 0 ||
	    ioctl(s->vcpu, KVM_SET_GUEST_DEBUG, dbg) < 0)
		return -1;
	while (a64_kvm_run(s->vcpu, &repaired) < 0)
		if (errno != EINTR)
			return -1;
	if (ioctl(s->vcpu, KVM_GET_ONE_REG, &reg) < 0)
		return -1;
	if (s->run->exit_reason != KVM_EXIT_DEBUG)
		return -1;
	return s->run->debug.arch.hsr >> ESR_EC_SHIFT;
}

/*
 * Runs the probe at pc until it exits as wanted, a few times at most: a
 * feature the host has must not be turned off for one run that went
 * astray on a loaded host (a nested KVM has lost a watchpoint hit that
 * way), while one it lacks costs only the extra runs.
 */
static enum kvmdbg_mechanism probe_exit(struct kvmdbg_scratch *s, uint64_t pc,
					const struct kvm_guest_debug *dbg, int want_ec,
					uint64_t want_pc, bool want_far)
{
	for (int i = 0; i < PROBE_RUNS; i++) {
		uint64_t exit_pc = 0;
		int ec = scratch_run(s, pc, dbg, &exit_pc);

		if (ec == want_ec && exit_pc == want_pc &&
		    (!want_far || s->run->debug.arch.far == WATCH_DATA))
			return KVMDBG_MECH_DEBUG_EXIT;
	}
	return KVMDBG_MECH_NONE;
}

void a64_probe(int kvm_fd, const struct kvmdbg_probe_env *env, struct kvmdbg_caps *caps)
{
	struct kvm_guest_debug dbg;
	struct kvmdbg_scratch s;
	int n;

	if (!env->common_caps(kvm_fd, caps))
		return;
	n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_DEBUG_HW_BPS);
	caps->hw_bps = n > 0 ? (unsigned)n : 0;
	n = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_GUEST_DEBUG_HW_WPS);
	caps->hw_wps = n > 0 ? (unsigned)n : 0;
	if (caps->hw_bps > KVM_ARM_MAX_DBG_REGS)
		caps->hw_bps = KVM_ARM_MAX_DBG_REGS;
	if (caps->hw_wps > KVM_ARM_MAX_DBG_REGS)
		caps->hw_wps = KVM_ARM_MAX_DBG_REGS;
	if (scratch_open(kvm_fd, env, &s, caps->note, sizeof(caps->note)) < 0) {
		env->scratch_close(&s);
		return;
	}
	dbg = (struct kvm_guest_debug){ .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP };
	caps->step = probe_exit(&s, STEP_CODE, &dbg, EC_STEP_LOWER, STEP_CODE + 4, false);
	/* The stub masks the guest's interrupts for each step itself. */
	caps->blockirq = caps->step != KVMDBG_MECH_NONE;

	dbg = (struct kvm_guest_debug){ .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP };
	caps->swbp = probe_exit(&s, BRK_CODE, &dbg, EC_BRK64, BRK_CODE, false);

	if (caps->hw_bps) {
		dbg = (struct kvm_guest_debug){ .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW };
		dbg.arch.dbg_bvr[0] = HWBP_CODE + 4;
		dbg.arch.dbg_bcr[0] = CR_E | CR_EL1_EL0 | BCR_BAS_A64;
		caps->hwbp = probe_exit(&s, HWBP_CODE, &dbg, EC_HW_BP_LOWER, HWBP_CODE + 4,
					false);
	}
	if (caps->hw_wps) {
		dbg = (struct kvm_guest_debug){ .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW };
		dbg.arch.dbg_wvr[0] = WATCH_DATA;
		dbg.arch.dbg_wcr[0] = CR_E | CR_EL1_EL0 | WCR_LSC_STORE | (0xffull << WCR_BAS_SHIFT);
		caps->watch = probe_exit(&s, WATCH_CODE, &dbg, EC_WATCH_LOWER, WATCH_CODE, true);
	}
	if (!caps->hwbp)
		caps->hw_bps = 0;
	if (!caps->watch)
		caps->hw_wps = 0;
	env->scratch_close(&s);
}
