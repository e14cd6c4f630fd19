# SPDX-License-Identifier: MIT
#
# arm64 test guests.  They are built with a fixed freestanding toolchain so
# that CC=clang or SANITIZE=1 never change the guest images the tests expect.
# Most keep the MMU off, so every data access is to Device memory: no
# unaligned accesses (-mstrict-align) and no exclusives.  mmu_4k.elf,
# mmu_16k.elf and mmu_64k.elf are one source built for each translation
# granule.

GUEST_CC := $(CROSS_COMPILE)gcc
GUEST_LD := $(CROSS_COMPILE)ld
GUEST_SRC := guests/arm64
GUEST_OBJ := $(GUEST_O)/obj

GUEST_CFLAGS := -std=gnu11 -ffreestanding -fno-pic -fno-pie -nostdlib \
	-mgeneral-regs-only -mstrict-align -mcmodel=small -O1 -g \
	-fno-omit-frame-pointer -fno-stack-protector \
	-fno-asynchronous-unwind-tables -fno-unwind-tables \
	-Wall -Wextra -Wno-unused-parameter -Wmissing-prototypes -MMD -MP
GUEST_ASFLAGS := -g -MMD -MP
GUEST_LDFLAGS := -nostdlib -static --build-id=none -z max-page-size=4096 \
	-z noexecstack --no-warn-rwx-segments

MMU_GRANULES := 4 16 64
GUESTS := $(addprefix $(GUEST_O)/,demo.elf brkcount.elf irqstep.elf watch.elf smp.elf mmu.elf \
	codepatch.elf \
	$(patsubst %,mmu_%k.elf,$(MMU_GRANULES)))

guest_objs = $(addprefix $(GUEST_OBJ)/,$(addsuffix .o,start console print $(1)))

$(GUEST_OBJ)/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OBJ)/%.o: guests/common/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OBJ)/%.o: $(GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_ASFLAGS) -c -o $@ $<

$(GUEST_OBJ)/mmu_granule_%k.o: $(GUEST_SRC)/mmu_granule.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -DGRANULE_KIB=$* -c -o $@ $<

$(GUEST_O)/demo.elf: $(call guest_objs,demo) $(GUEST_SRC)/guest.ld
$(GUEST_O)/brkcount.elf: $(call guest_objs,brkcount brk_vectors brk_counts unexpected) \
	$(GUEST_SRC)/guest.ld
$(GUEST_O)/irqstep.elf: $(call guest_objs,irqstep irqstep_vectors unexpected) \
	$(GUEST_SRC)/guest.ld
$(GUEST_O)/watch.elf: $(call guest_objs,watch) $(GUEST_SRC)/guest.ld
$(GUEST_O)/codepatch.elf: $(call guest_objs,codepatch codepatch_asm mmu_on) $(GUEST_SRC)/guest.ld
$(GUEST_O)/smp.elf: $(call guest_objs,smp smp_entry brk_vectors brk_counts unexpected) $(GUEST_SRC)/guest.ld
$(GUEST_O)/mmu.elf: $(call guest_objs,mmu mmu_on) $(GUEST_SRC)/guest.ld
$(foreach g,$(MMU_GRANULES),$(eval $(GUEST_O)/mmu_$(g)k.elf: \
	$(call guest_objs,mmu_granule_$(g)k mmu_on) $(GUEST_SRC)/guest.ld))

$(GUESTS):
	$(GUEST_LD) $(GUEST_LDFLAGS) -T $(GUEST_SRC)/guest.ld -o $@ $(filter %.o,$^)

-include $(wildcard $(GUEST_OBJ)/*.d)
