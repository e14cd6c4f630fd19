# SPDX-License-Identifier: MIT
#
# x86-64 test guests.  They are built with a fixed freestanding toolchain so
# that CC=clang or SANITIZE=1 never change the guest images the tests expect.

GUEST_CC := $(CROSS_COMPILE)gcc
GUEST_LD := $(CROSS_COMPILE)ld
GUEST_OBJCOPY := $(CROSS_COMPILE)objcopy
GUEST_SRC := guests/x86_64
GUEST_OBJ := $(GUEST_O)/obj

GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-pic -fno-pie -nostdlib \
	-mno-red-zone -mgeneral-regs-only -mcmodel=small -O1 -g \
	-fno-omit-frame-pointer -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes -MMD -MP
GUEST_ASFLAGS := -g -MMD -MP
GUEST_LDFLAGS := -nostdlib -static --build-id=none -z max-page-size=4096 \
	-z noexecstack --no-warn-rwx-segments

GUESTS := $(addprefix $(GUEST_O)/,demo.elf int3count.elf irqstep.elf \
	mb32.elf long64.elf raw64.bin rangestep.elf)

guest_objs = $(addprefix $(GUEST_OBJ)/,$(addsuffix .o,$(1)))
MB64_COMMON := boot32 uart print

$(GUEST_OBJ)/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OBJ)/%.o: guests/common/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OBJ)/%.o: $(GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -c -o $@ $<

# The only 32-bit object: gcc merely preprocesses and assembles it, so no
# 32-bit libraries are involved.
$(GUEST_OBJ)/mb32.o: $(GUEST_SRC)/mb32.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 $(GUEST_ASFLAGS) -c -o $@ $<

$(GUEST_O)/demo.elf: $(call guest_objs,$(MB64_COMMON) demo demo_asm) \
		$(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)

$(GUEST_O)/rangestep.elf: $(call guest_objs,$(MB64_COMMON) rangestep) \
		$(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)

$(GUEST_O)/int3count.elf: $(call guest_objs,$(MB64_COMMON) idt int3count \
		int3count_asm) $(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)

$(GUEST_O)/irqstep.elf: $(call guest_objs,$(MB64_COMMON) idt irqstep \
		irqstep_isr) $(GUEST_SRC)/mb64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb64.ld -o $@ $(filter %.o,$^)

$(GUEST_O)/mb32.elf: $(call guest_objs,mb32) $(GUEST_SRC)/mb32.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb32.ld -o $@ \
		$(filter %.o,$^)

$(GUEST_O)/long64.elf: $(call guest_objs,long64_start long64 uart print) \
		$(GUEST_SRC)/long64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/long64.ld -o $@ $(filter %.o,$^)

$(GUEST_O)/raw64.elf: $(call guest_objs,raw64_start raw64 uart print) \
		$(GUEST_SRC)/raw64.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/raw64.ld -o $@ $(filter %.o,$^)

$(GUEST_O)/raw64.bin: $(GUEST_O)/raw64.elf
	$(GUEST_OBJCOPY) -O binary $< $@

-include $(wildcard $(GUEST_OBJ)/*.d)

# Guests added for later features keep their rules in mk/, one file each.
include $(sort $(wildcard $(GUEST_SRC)/mk/*.mk))
