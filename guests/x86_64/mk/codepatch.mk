# SPDX-License-Identifier: MIT
#
# The code-patching guest: code copied over software breakpoints, and a
# virtual alias mapped, unmapped and mapped again (codepatch.c).

GUESTS += $(GUEST_O)/codepatch.elf

$(GUEST_O)/codepatch.elf: $(call guest_objs,$(MB64_COMMON) codepatch codepatch_asm) \
		$(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)
