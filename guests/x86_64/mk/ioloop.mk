# SPDX-License-Identifier: MIT
#
# The port I/O loop guest: exits to the machine monitor as often as a guest
# can, for measuring what the stub costs a guest nobody debugs.

GUESTS += $(GUEST_O)/ioloop.elf

$(GUEST_O)/ioloop.elf: $(call guest_objs,$(MB64_COMMON) ioloop) $(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)
