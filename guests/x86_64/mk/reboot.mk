# SPDX-License-Identifier: MIT
#
# The reboot guest: resets the machine through the keyboard controller, for
# a machine monitor that restarts its guest in place.

GUESTS += $(GUEST_O)/reboot.elf

$(GUEST_O)/reboot.elf: $(call guest_objs,$(MB64_COMMON) reboot) $(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)
