# SPDX-License-Identifier: MIT
#
# The flags-image guest: pushf stepped by a debugger (pushflags_start.S).

GUESTS += $(GUEST_O)/pushflags.elf

$(GUEST_O)/pushflags.elf: $(call guest_objs,pushflags_start pushflags uart print) \
		$(GUEST_SRC)/long64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/long64.ld -o $@ $(filter %.o,$^)
