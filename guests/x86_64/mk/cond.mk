# SPDX-License-Identifier: MIT
#
# The breakpoint-condition guest (cond.c): a loop of calls whose
# arguments, globals and pointed-to data follow fixed formulas.

GUESTS += $(GUEST_O)/cond.elf

$(GUEST_O)/cond.elf: $(call guest_objs,$(MB64_COMMON) cond) $(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)
