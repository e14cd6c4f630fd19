# SPDX-License-Identifier: MIT
#
# The SMP guest: every vCPU enters at the same Multiboot entry point and runs
# the same work loop on its own stack (smp_boot32.S, smp.c), optionally with
# int3 traps of its own (smp_int3.S).

GUESTS += $(GUEST_O)/smp.elf

$(GUEST_O)/smp.elf: $(call guest_objs,smp_boot32 smp smp_int3 idt uart print) \
		$(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)
