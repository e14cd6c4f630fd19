# SPDX-License-Identifier: MIT
#
# The guest with a debug-register breakpoint and #DB handler of its own
# (dbowned.c, dbowned_asm.S).

GUESTS += $(GUEST_O)/dbowned.elf

$(GUEST_O)/dbowned.elf: $(call guest_objs,$(MB64_COMMON) idt dbowned dbowned_asm) \
		$(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)
