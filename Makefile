# SPDX-License-Identifier: MIT
#
#   make                      build kvmdbg for the host architecture
#   make ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-
#   make check [SANITIZE=1|thread]  install missing packages, build, run every test
#   make bench [BENCH=NAME] [BENCH_BOOTS=N]  benchmarks next to QEMU
#                             (bench/bench_*NAME*.py; N boots per Linux row)
#   make demo                 scripted gdb session against a demo guest
#   make fuzz [FUZZ_SECONDS=60]  coverage-guided fuzzing of the codec and
#                             the command dispatcher (clang's libFuzzer)
#   make CC=clang             any C11 compiler

HOST_ARCH := $(shell uname -m | sed -e 's/aarch64/arm64/')
ARCH ?= $(HOST_ARCH)
CROSS_COMPILE ?=

ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
AR := $(CROSS_COMPILE)ar
NM := $(CROSS_COMPILE)nm
OBJCOPY := $(CROSS_COMPILE)objcopy

# SANITIZE=1: AddressSanitizer and UBSan; SANITIZE=thread: ThreadSanitizer.
SAN_SUFFIX := $(if $(filter thread,$(SANITIZE)),-tsan,$(if $(SANITIZE),-san))
O ?= build/$(ARCH)$(SAN_SUFFIX)$(if $(filter clang%,$(notdir $(CC))),-clang)
# One spelling per directory: objects named both relatively and absolutely
# would each miss the other's header dependencies.
override O := $(abspath $(O))

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
# What an embedding VMM includes; the other headers of include/kvmdbg/
# are the library's own, not installed.
PUBLIC_HEADERS := include/kvmdbg/host.h include/kvmdbg/stub.h
# The machine monitor around it.
VMM_SRCS := $(wildcard vmm/*.c vmm/$(ARCH)/*.c)
# test_vmm_ARCH_*.c test a machine monitor file of that architecture.
UNIT_SRCS := $(filter-out tests/unit/test_vmm_%,$(wildcard tests/unit/test_*.c)) \
	     $(wildcard tests/unit/test_vmm_$(ARCH)_*.c)
# A backend's own decisions, tested through its private header.
ARCH_UNIT_SRCS := $(wildcard tests/unit/$(ARCH)/test_*.c)
# The arm64 machine writes its guests' device trees with libfdt.
VMM_LIBS_arm64 := -lfdt

LIB_OBJS := $(LIB_SRCS:%.c=$(O)/%.o)
VMM_OBJS := $(VMM_SRCS:%.c=$(O)/%.o)
# Every object of the stub, all of its symbols global: for the unit tests,
# which reach behind the public API.
LIB := $(O)/libkvmdbg-internal.a
# What is installed and what vmm/ links against: one object whose only
# global symbols are the kvmdbg_ ones of the public headers.
PUBLIC_LIB := $(O)/libkvmdbg.a
PUBLIC_OBJ := $(O)/kvmdbg-stub.o
KVMDBG := $(O)/kvmdbg
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%) \
	     $(ARCH_UNIT_SRCS:tests/unit/$(ARCH)/%.c=$(O)/tests/%)

all: $(KVMDBG) guests

$(O)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(AR) rcs $@ $^

# Linked into one relocatable object first, so that the library's files
# still call each other while every name but the functions of the public
# headers becomes local: no stub_, rsp_ or kd_ symbol can collide with a
# name of the embedding VMM.
$(PUBLIC_OBJ): $(LIB_OBJS) $(PUBLIC_HEADERS)
	$(CC) $(filter -fsanitize%,$(ALL_CFLAGS)) -r -nostdlib -o $@.all $(LIB_OBJS)
	grep -ho '\bkvmdbg_[a-z0-9_]*(' $(PUBLIC_HEADERS) | tr -d '(' | sort -u > $@.syms
	$(OBJCOPY) --keep-global-symbols=$@.syms $@.all $@
	rm -f $@.all $@.syms

$(PUBLIC_LIB): $(PUBLIC_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

$(KVMDBG): $(VMM_OBJS) $(PUBLIC_LIB)
	$(CC) -o $@ $(VMM_OBJS) $(PUBLIC_LIB) $(VMM_LIBS_$(ARCH)) $(ALL_LDFLAGS)

$(O)/tests/%: tests/unit/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(filter %.o,$^) $(LIB) -lcmocka $(ALL_LDFLAGS)

$(O)/tests/test_vmm_x86_64_linuxboot: $(O)/vmm/x86_64/linuxboot.o
$(O)/tests/test_vmm_x86_64_uart: $(O)/vmm/x86_64/uart16550.o

$(O)/tests/%: tests/unit/$(ARCH)/%.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iarch/$(ARCH) -o $@ $< $(LIB) -lcmocka $(ALL_LDFLAGS)

# The arm64 watchpoint encoding is plain arithmetic: tested on every host.
$(O)/tests/test_arm64_watchrange: tests/unit/test_arm64_watchrange.c $(O)/arch/arm64/watchrange.o
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Iarch/arm64 -o $@ $< $(filter %.o,$^) -lcmocka $(ALL_LDFLAGS)

unit: $(UNIT_BINS)

# Fuzz targets: libFuzzer with ASan/UBSan over their own build of the
# library, by clang whatever CC is; skipped, with the reason written where
# tests/run.py finds it, when that clang cannot link libFuzzer.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := $(patsubst tests/fuzz/%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_DIR := $(O)/fuzz
FUZZ_OBJ := $(O)/fuzz-obj
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	    -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 $(WARNINGS) -O1 -g -Iinclude -D_GNU_SOURCE -MMD -MP \
	       $(FUZZ_SAN) -fsanitize=fuzzer-no-link
FUZZ_LIB_OBJS := $(LIB_SRCS:%.c=$(FUZZ_OBJ)/%.o)
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/%)
# Evaluated only by the recipes that need it.
FUZZ_WHY_NOT = $(if $(filter $(HOST_ARCH),$(ARCH)),$(shell \
	printf 'int LLVMFuzzerTestOneInput(const char *d, long n) { return 0; }' | \
	$(FUZZ_CC) -x c -fsanitize=fuzzer -o /dev/null - >/dev/null 2>&1 || \
	echo "$(FUZZ_CC) cannot link libFuzzer (-fsanitize=fuzzer)"),fuzz targets run on the build host only)

$(FUZZ_OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/libkvmdbg.a: $(FUZZ_LIB_OBJS)
	$(AR) rcs $@ $^

$(FUZZ_DIR)/%: tests/fuzz/%.c tests/fuzz/fuzz_check.h $(FUZZ_DIR)/libkvmdbg.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_DIR)/libkvmdbg.a -pthread

fuzz-build:
	@mkdir -p $(FUZZ_DIR)
	@why='$(FUZZ_WHY_NOT)'; \
	if [ -n "$$why" ]; then echo "$$why" > $(FUZZ_DIR)/SKIP; echo "fuzz targets skipped: $$why"; \
	else rm -f $(FUZZ_DIR)/SKIP; $(MAKE) --no-print-directory $(FUZZ_BINS); fi

# New inputs go to $(FUZZ_DIR)/corpus; tests/fuzz/corpus is only read.
fuzz: fuzz-build
	@test ! -e $(FUZZ_DIR)/SKIP || { cat $(FUZZ_DIR)/SKIP; exit 1; }
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_DIR)/corpus/$$t && \
		echo "fuzzing $$t for $(FUZZ_SECONDS)s" && \
		$(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
			-close_fd_mask=2 -artifact_prefix=$(FUZZ_DIR)/$$t- \
			$(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t || { \
			echo "$$t failed: run $(FUZZ_DIR)/$$t on $(FUZZ_DIR)/$$t-crash-* to see why"; \
			exit 1; }; \
	done

# make install [PREFIX=/usr/local] [DESTDIR=]: the tool, the static
# library with its headers and pkg-config file, the manual page.
PREFIX ?= /usr/local
VERSION := $(shell sed -n 's/^\#define KVMDBG_VERSION[[:space:]]*"\(.*\)"/\1/p' vmm/vmm.h)
INSTALLED := bin/kvmdbg lib/libkvmdbg.a lib/pkgconfig/kvmdbg.pc \
	     share/man/man1/kvmdbg.1 $(PUBLIC_HEADERS)

$(O)/kvmdbg.1: docs/kvmdbg.1 vmm/vmm.h
	sed -e 's|@VERSION@|$(VERSION)|' $< > $@

# kvmdbg.pc names the prefix: written at each install.
install: $(KVMDBG) $(PUBLIC_LIB) $(O)/kvmdbg.1
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/pkgconfig \
		$(DESTDIR)$(PREFIX)/include/kvmdbg $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 755 $(KVMDBG) $(DESTDIR)$(PREFIX)/bin/kvmdbg
	install -m 644 $(PUBLIC_LIB) $(DESTDIR)$(PREFIX)/lib/libkvmdbg.a
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' docs/kvmdbg.pc.in \
		> $(DESTDIR)$(PREFIX)/lib/pkgconfig/kvmdbg.pc
	install -m 644 $(PUBLIC_HEADERS) $(DESTDIR)$(PREFIX)/include/kvmdbg/
	install -m 644 $(O)/kvmdbg.1 $(DESTDIR)$(PREFIX)/share/man/man1/kvmdbg.1

# Only what install put there; the directories only when left empty.
uninstall:
	rm -f $(addprefix $(DESTDIR)$(PREFIX)/,$(INSTALLED))
	-rmdir $(DESTDIR)$(PREFIX)/include/kvmdbg 2>/dev/null
	-rmdir $(DESTDIR)$(PREFIX)/lib/pkgconfig 2>/dev/null

# examples/minivmm built the way another project would build it: against
# kvmdbg installed in a prefix of its own, through pkg-config alone.
EXAMPLE_PREFIX := $(abspath $(O))/example-prefix
EXAMPLE_SAN := $(filter -fsanitize%,$(ALL_LDFLAGS))

example:
	@rm -rf $(EXAMPLE_PREFIX)
	@$(MAKE) --no-print-directory install PREFIX=$(EXAMPLE_PREFIX) DESTDIR= >/dev/null
	@$(MAKE) --no-print-directory -C examples/minivmm O=$(abspath $(O))/examples \
		CC='$(CC)' CFLAGS='$(CFLAGS) $(EXAMPLE_SAN)' LDFLAGS='$(EXAMPLE_SAN)' \
		PKG_CONFIG='env PKG_CONFIG_LIBDIR=$(EXAMPLE_PREFIX)/lib/pkgconfig PKG_CONFIG_PATH= pkg-config'

# Test guests are built from source with the same toolchain.
GUEST_O := $(O)/guests
include guests/$(ARCH)/guests.mk
guests: $(GUESTS)

# Programs the nested suites run inside their machine beside kvmdbg,
# static like it: tests/$(ARCH)/*.c.
NESTED_TOOLS := $(patsubst tests/$(ARCH)/%.c,$(O)/nested-tools/%,$(wildcard tests/$(ARCH)/*.c))

$(O)/nested-tools/%: tests/$(ARCH)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS)

nested-tools: $(NESTED_TOOLS)

# A plain `make check` also runs the SMP and watchpoint tests under
# ThreadSanitizer, from a build of its own.
TSAN_O := build/$(ARCH)-tsan$(if $(filter clang%,$(notdir $(CC))),-clang)
CHECK_TSAN := $(if $(SANITIZE),,$(if $(filter $(HOST_ARCH),$(ARCH)),$(TSAN_O)))

# The builds take both cores even from a plain `make check` (CI's); the
# example installs what `all` built, so it follows it.
JOBS ?= $(shell nproc 2>/dev/null || echo 1)

check:
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory -j$(JOBS) all unit fuzz-build
	@$(MAKE) --no-print-directory example
	$(if $(CHECK_TSAN),@$(MAKE) --no-print-directory -j$(JOBS) SANITIZE=thread O=$(CHECK_TSAN) all)
	@python3 tests/run.py --build $(O) --arch $(ARCH) $(if $(CHECK_TSAN),--tsan-build $(CHECK_TSAN))

# The bare KVM single step the stub's own is measured against.
$(O)/bench/kvm_step_floor: bench/kvm_step_floor.c $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(LIB) $(ALL_LDFLAGS)

bench:
	@$(MAKE) --no-print-directory all example $(O)/bench/kvm_step_floor
	@python3 bench/run.py --build $(O) --arch $(ARCH) $(BENCH)

demo:
	@scripts/install-deps.sh
	@$(MAKE) --no-print-directory all
	@python3 tests/demo.py --build $(O)

clean:
	rm -rf build

.PHONY: all unit guests nested-tools check bench demo clean fuzz fuzz-build install uninstall example

-include $(LIB_OBJS:.o=.d) $(VMM_OBJS:.o=.d) $(UNIT_BINS:=.d) $(FUZZ_LIB_OBJS:.o=.d) \
	 $(FUZZ_BINS:=.d) $(NESTED_TOOLS:=.d)
