# SPDX-License-Identifier: MIT
#
#   make                      build kvmdbg for the host architecture
#   make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
#   make check [SANITIZE=1|thread]  install missing packages, build, run every test
#   make demo                 scripted gdb session against a demo guest
#   make CC=clang             any C11 compiler

HOST_ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/')
ARCH ?= $(HOST_ARCH)
CROSS_COMPILE ?=

ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
AR := $(CROSS_COMPILE)ar

# SANITIZE=1: AddressSanitizer and UBSan; SANITIZE=thread: ThreadSanitizer.
SAN_SUFFIX := $(if $(filter thread,$(SANITIZE)),-tsan,$(if $(SANITIZE),-san))
O ?= build/$(ARCH)$(SAN_SUFFIX)$(if $(filter clang%,$(notdir $(CC))),-clang)

WARNINGS := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	    -Wno-unused-parameter
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARNINGS) $(CFLAGS) -Iinclude -D_GNU_SOURCE -MMD -MP
ALL_LDFLAGS := $(LDFLAGS) -pthread

ifeq ($(SANITIZE),thread)
ALL_CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=thread
else ifneq ($(SANITIZE),)
ALL_CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer \
	      -fno-sanitize-recover=undefined
ALL_LDFLAGS += -fsanitize=address,undefined
endif

ifneq ($(ARCH),$(HOST_ARCH))
ALL_LDFLAGS += -static
endif

# The embeddable stub: codec, debug core, session, architecture backend.
LIB_SRCS := $(wildcard rsp/*.c core/*.c stub/*.c arch/$(ARCH)/*.c)
# The machine monitor around it.
VMM_SRCS := $(wildcard vmm/*.c vmm/$(ARCH)/*.c)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)

LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
VMM_OBJS := $(VMM_SRCS:%.c=$(O)/%.o)
LIB := $(O)/libkvmdbg.a
KVMDBG := $(O)/kvmdbg
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)

all: $(KVMDBG) guests

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

$(KVMDBG): $(VMM_OBJS) $(LIB)
	$(CC) -o $@ $(VMM_OBJS) $(LIB) $(ALL_LDFLAGS)

$(O)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) -lcmocka $(ALL_LDFLAGS)

unit: $(UNIT_BINS)

# Test guests are built from source with the same toolchain.
GUEST_O := $(O)/guests
include guests/$(ARCH)/guests.mk
guests: $(GUESTS)

# A plain `make check` also runs the SMP and watchpoint tests under
# ThreadSanitizer, from a build of its own.
TSAN_O := build/$(ARCH)-tsan$(if $(filter clang%,$(notdir $(CC))),-clang)
CHECK_TSAN := $(if $(SANITIZE),,$(if $(filter $(HOST_ARCH),$(ARCH)),$(TSAN_O)))

check:
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory all unit
	$(if $(CHECK_TSAN),@$(MAKE) --no-print-directory SANITIZE=thread O=$(CHECK_TSAN) all)
	@python3 tests/run.py --build $(O) --arch $(ARCH) $(if $(CHECK_TSAN),--tsan-build $(CHECK_TSAN))

bench:
	@$(MAKE) --no-print-directory all
	@python3 bench/run.py --build $(O) --arch $(ARCH)

demo:
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory all
	@python3 tests/demo.py --build $(O)

clean:
	rm -rf build

.PHONY: all unit guests check bench demo clean

-include $(LIB_OBJS:.o=.d) $(VMM_OBJS:.o=.d) $(UNIT_BINS:=.d)
