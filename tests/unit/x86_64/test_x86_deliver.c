/* SPDX-License-Identifier: MIT */
/* Handing the guest its own int3 and #DB back: the pc and debug registers
 * the x86-64 backend sets up before KVM injects the exception.  The int1
 * (ICEBP) exits are only covered here: the KVM of the test host emulates
 * guest code, without VMX or SVM, and never produces them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <kvmdbg/debug_core.h>

#include "x86.h"

#define INT3_AT		0xffffffff81000010ull
#define DR6_FIXED	0xffff0ff0ull
#define DR6_B0		0x1ull
#define DR6_B1		0x2ull
#define DR6_B3		0x8ull
#define DR6_BD		(1ull << 13)
#define DR6_BS		(1ull << 14)
#define DR6_BT		(1ull << 15)
#define DR7_GD		(1ull << 13)
#define INT1_AT		0xffffffff81000020ull
#define OP_INT1		0xf1
#define OP_NOP		0x90

static void test_debug_exit_leaves_rip_on_int3(void **state)
{
	/* KVM adds the int3's length itself when it injects after a #BP
	 * exit (VMX event_exit_inst_len, SVM next_rip). */
	assert_int_equal(x86_bp_inject_rip(KVMDBG_MECH_DEBUG_EXIT, INT3_AT, NULL),
			 INT3_AT);
}

static void test_emulation_exit_moves_rip_past_int3(void **state)
{
	/* No #BP exit happened: KVM delivers with the rip it is given. */
	assert_int_equal(x86_bp_inject_rip(KVMDBG_MECH_EMULATION_EXIT, INT3_AT, NULL),
			 INT3_AT + 1);
}

static void test_verified_caps_change_nothing(void **state)
{
	struct kvmdbg_caps caps;

	memset(&caps, 0, sizeof(caps));
	caps.swbp = KVMDBG_MECH_EMULATION_EXIT;
	assert_int_equal(x86_bp_inject_rip(KVMDBG_MECH_EMULATION_EXIT, INT3_AT, &caps),
			 INT3_AT + 1);
	assert_int_equal(x86_bp_inject_rip(KVMDBG_MECH_DEBUG_EXIT, INT3_AT, &caps),
			 INT3_AT);
}

static void test_measured_fix_applies_to_its_exit_kind_only(void **state)
{
	struct kvmdbg_caps caps;

	memset(&caps, 0, sizeof(caps));
	/* The probe saw the handler return one byte too far after an
	 * emulation-failure exit: that kind delivers one byte lower. */
	caps.trap_pc_fix = 1;
	caps.trap_fix_exit = KVMDBG_MECH_EMULATION_EXIT;
	assert_int_equal(x86_bp_inject_rip(KVMDBG_MECH_EMULATION_EXIT, INT3_AT, &caps),
			 INT3_AT);
	assert_int_equal(x86_bp_inject_rip(KVMDBG_MECH_DEBUG_EXIT, INT3_AT, &caps),
			 INT3_AT);
	/* One byte short after a KVM_EXIT_DEBUG: that kind moves past. */
	caps.trap_pc_fix = -1;
	caps.trap_fix_exit = KVMDBG_MECH_DEBUG_EXIT;
	assert_int_equal(x86_bp_inject_rip(KVMDBG_MECH_DEBUG_EXIT, INT3_AT, &caps),
			 INT3_AT + 1);
	assert_int_equal(x86_bp_inject_rip(KVMDBG_MECH_EMULATION_EXIT, INT3_AT, &caps),
			 INT3_AT + 1);
}

static void test_rip_wraps_like_the_cpu(void **state)
{
	assert_int_equal(x86_bp_inject_rip(KVMDBG_MECH_EMULATION_EXIT, UINT64_MAX, NULL), 0);
}

static void test_dr6_names_this_hit_only(void **state)
{
	uint64_t dr6 = DR6_FIXED | DR6_B1 | DR6_B3, dr7 = 0x401;

	/* As KVM reports it: the hit bits with the fixed ones set. */
	x86_db_deliver_regs(DR6_FIXED | DR6_B0, &dr6, &dr7);
	assert_int_equal(dr6, DR6_FIXED | DR6_B0);
	assert_int_equal(dr7, 0x401);
}

static void test_dr6_keeps_what_the_guest_did_not_clear(void **state)
{
	uint64_t dr6 = DR6_FIXED | DR6_BS | DR6_BT, dr7 = 0;

	x86_db_deliver_regs(DR6_FIXED | DR6_B0, &dr6, &dr7);
	assert_int_equal(dr6, DR6_FIXED | DR6_BS | DR6_BT | DR6_B0);
}

static void test_dr6_single_step_and_general_detect(void **state)
{
	uint64_t dr6 = DR6_FIXED, dr7 = DR7_GD | 0x400;

	x86_db_deliver_regs(DR6_FIXED | DR6_BS, &dr6, &dr7);
	assert_int_equal(dr6, DR6_FIXED | DR6_BS);
	/* Entering the handler clears GD so that it may read DR6. */
	assert_int_equal(dr7, 0x400);
	dr6 = DR6_FIXED;
	dr7 = DR7_GD | 0x400;
	x86_db_deliver_regs(DR6_FIXED | DR6_BD, &dr6, &dr7);
	assert_int_equal(dr6, DR6_FIXED | DR6_BD);
	assert_int_equal(dr7, 0x400);
}

static void test_dr6_fixed_bits_and_reserved(void **state)
{
	/* Whatever the guest or the exit had in fixed or reserved places,
	 * DR6 reads as architecture says, and its upper half stays zero
	 * (KVM_SET_DEBUGREGS refuses anything else). */
	uint64_t dr6 = 0, dr7 = 0;

	x86_db_deliver_regs(DR6_B0 | (1ull << 12) | (0xffull << 32), &dr6, &dr7);
	assert_int_equal(dr6, DR6_FIXED | DR6_B0);
	dr6 = 0xffffffff00001000ull | DR6_BS;
	x86_db_deliver_regs(DR6_FIXED | DR6_B1, &dr6, &dr7);
	assert_int_equal(dr6, DR6_FIXED | DR6_BS | DR6_B1);
}

static struct kd_debug_event code_at(uint64_t pc, uint8_t op)
{
	struct kd_debug_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.pc = pc;
	ev.code[0] = op;
	ev.code_len = 1;
	return ev;
}

static void test_int1_exit_on_the_int1_moves_past(void **state)
{
	/* VMX intercepts ICEBP as an instruction: rip is still on it and DR6
	 * names nothing.  The handler must find the address after it. */
	struct kd_debug_event ev = code_at(INT1_AT, OP_INT1);

	assert_int_equal(x86_db_inject_rip(DR6_FIXED, &ev, INT1_AT), INT1_AT + 1);
}

static void test_int1_exit_past_the_int1_stays(void **state)
{
	/* SVM exits on the trap as delivered: rip already follows the int1. */
	struct kd_debug_event ev = code_at(INT1_AT + 1, OP_NOP);

	assert_int_equal(x86_db_inject_rip(DR6_FIXED, &ev, INT1_AT + 1), INT1_AT + 1);
	ev = code_at(INT1_AT + 1, 0xcc);
	assert_int_equal(x86_db_inject_rip(DR6_FIXED, &ev, INT1_AT + 1), INT1_AT + 1);
}

static void test_db_with_event_bits_never_moves(void **state)
{
	/* A breakpoint, step or task-switch trap that left the pc on an
	 * int1 yet to run: the int1 has not executed. */
	static const uint64_t event[] = {
		DR6_B0, DR6_B1, DR6_B3, DR6_BS, DR6_BD, DR6_BT, DR6_B0 | DR6_BS,
	};
	struct kd_debug_event ev = code_at(INT1_AT, OP_INT1);

	for (size_t i = 0; i < sizeof(event) / sizeof(event[0]); i++)
		assert_int_equal(x86_db_inject_rip(DR6_FIXED | event[i], &ev, INT1_AT),
				 INT1_AT);
}

static void test_unreadable_code_stays(void **state)
{
	struct kd_debug_event ev = code_at(INT1_AT, OP_INT1);

	ev.code_len = 0;
	assert_int_equal(x86_db_inject_rip(DR6_FIXED, &ev, INT1_AT), INT1_AT);
}

/* A KVM_EXIT_DEBUG as VMX reports an int1 while guest debugging is on. */
static void int1_exit(struct kvm_run *run, uint64_t dr6)
{
	memset(run, 0, sizeof(*run));
	run->exit_reason = KVM_EXIT_DEBUG;
	run->debug.arch.exception = 1;
	run->debug.arch.pc = INT1_AT;
	run->debug.arch.dr6 = dr6;
}

static void test_int1_exit_is_the_guests(void **state)
{
	static struct x86_regs regs;
	struct kd_hwslots pools[2];
	struct kd_bptable *t = kd_bptable_new();
	struct kd_debug_event ev;
	struct kd_verdict v;
	struct kvm_run run;
	unsigned pool;

	assert_non_null(t);
	kd_hwslots_init(&pools[0], 4);
	kd_hwslots_init(&pools[1], 0);
	assert_int_equal(kd_hwslots_alloc(&pools[0], KD_HW_EXEC, INT1_AT + 8, 1), 0);
	assert_int_equal(kd_hwslots_alloc(&pools[0], KD_HW_WRITE, 0x1000, 8), 1);
	int1_exit(&run, DR6_FIXED);
	assert_int_equal(x86_decode_exit(&run, &regs, pools, &ev, &pool),
			 KVMDBG_EXIT_DEBUG);
	assert_false(ev.trap_insn);
	assert_false(ev.stepped);
	assert_int_equal(ev.slots_hit, 0);
	/* Continuing or stepping, it goes back to the guest: a step over an
	 * int1 stops once its #DB is injected, as over the guest's int3. */
	v = kd_decide(t, &pools[0], false, &ev);
	assert_false(v.mine);
	assert_true(v.deliver);
	v = kd_decide(t, &pools[0], true, &ev);
	assert_false(v.mine);
	assert_true(v.deliver);
	/* The stub's own execution breakpoint on the int1 fires first. */
	assert_int_equal(kd_hwslots_alloc(&pools[0], KD_HW_EXEC, INT1_AT, 1), 2);
	int1_exit(&run, DR6_FIXED | 0x4);
	assert_int_equal(x86_decode_exit(&run, &regs, pools, &ev, &pool),
			 KVMDBG_EXIT_DEBUG);
	v = kd_decide(t, &pools[0], true, &ev);
	assert_true(v.mine);
	assert_int_equal(v.kind, KD_STOP_HWBREAK);
	kd_bptable_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_debug_exit_leaves_rip_on_int3),
		cmocka_unit_test(test_emulation_exit_moves_rip_past_int3),
		cmocka_unit_test(test_verified_caps_change_nothing),
		cmocka_unit_test(test_measured_fix_applies_to_its_exit_kind_only),
		cmocka_unit_test(test_rip_wraps_like_the_cpu),
		cmocka_unit_test(test_dr6_names_this_hit_only),
		cmocka_unit_test(test_dr6_keeps_what_the_guest_did_not_clear),
		cmocka_unit_test(test_dr6_single_step_and_general_detect),
		cmocka_unit_test(test_dr6_fixed_bits_and_reserved),
		cmocka_unit_test(test_int1_exit_on_the_int1_moves_past),
		cmocka_unit_test(test_int1_exit_past_the_int1_stays),
		cmocka_unit_test(test_db_with_event_bits_never_moves),
		cmocka_unit_test(test_unreadable_code_stays),
		cmocka_unit_test(test_int1_exit_is_the_guests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
