# SPDX-License-Identifier: MIT
#
# The watchpoint guest: globals written and read in a fixed pattern, laid
# out so watched bytes share pages with bytes that must not stop.

GUESTS += $(GUEST_O)/watch.elf

$(GUEST_O)/watch.elf: $(call guest_objs,$(MB64_COMMON) watch watch_hot) \
		$(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)
