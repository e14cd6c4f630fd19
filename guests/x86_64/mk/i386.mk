# SPDX-License-Identifier: MIT
#
# The 32-bit guest: C and assembly built with gcc -m32 into an ELF32
# Multiboot kernel that never leaves protected mode (i386_start.S, i386.c,
# and the shared UART driver).  Its objects live apart from the 64-bit ones.

GUESTS += $(GUEST_O)/i386.elf

I386_OBJ := $(GUEST_OBJ)/i386
I386_CFLAGS := -m32 -march=i686 $(filter-out -mcmodel=% -mno-red-zone,$(GUEST_CFLAGS))

$(I386_OBJ)/%.o: $(GUEST_SRC)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(I386_CFLAGS) -c -o $@ $<

$(I386_OBJ)/%.o: $(GUEST_SRC)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 $(GUEST_ASFLAGS) -c -o $@ $<

$(GUEST_O)/i386.elf: $(addprefix $(I386_OBJ)/,i386_start.o i386.o uart.o) \
		$(GUEST_SRC)/mb32.ld
	$(GUEST_LD) -m elf_i386 $(GUEST_LDFLAGS) -T $(GUEST_SRC)/mb32.ld -o $@ \
		$(filter %.o,$^)

-include $(wildcard $(I386_OBJ)/*.d)
