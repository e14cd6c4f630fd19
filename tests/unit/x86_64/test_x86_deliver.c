/* SPDX-License-Identifier: MIT */
/* Handing the guest its own int3 and #DB back: the pc and debug registers
 * the x86-64 backend sets up before KVM injects the exception. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
