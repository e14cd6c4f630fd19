# SPDX-License-Identifier: MIT
#
# The SMP guest: every vCPU enters at the same Multiboot entry point and runs
# the same work loop on its own stack (smp_boot32.S, smp.c).

GUESTS += $(GUEST_O)/smp.elf

$(GUEST_O)/smp.elf: $(call guest_objs,smp_boot32 smp uart print) $(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)
