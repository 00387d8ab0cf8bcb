# SPDX-License-Identifier: MIT
# kvmini: one Makefile. `make` builds ./kvmini and build/tiny-guest;
# `make test` runs the unit tests (no root, no KVM, ASan+UBSan);
# `make check` installs what it needs (as root), then runs every test;
# `make run` boots the tiny guest's interactive shell on this terminal.

CC      ?= gcc
PREFIX  ?= /usr/local
B       := build

FDT_CFLAGS := $(shell pkg-config --cflags libfdt 2>/dev/null)
FDT_LIBS   := $(shell pkg-config --libs libfdt 2>/dev/null || echo -lfdt)
URING_CFLAGS := $(shell pkg-config --cflags liburing 2>/dev/null)
URING_LIBS   := $(shell pkg-config --libs liburing 2>/dev/null || echo -luring)
JSON_LIBS    := $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c)
SECCOMP_CFLAGS := $(shell pkg-config --cflags libseccomp 2>/dev/null)
SECCOMP_LIBS   := $(shell pkg-config --libs libseccomp 2>/dev/null || echo -lseccomp)

WARN    := -Wall -Wextra -Werror
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 $(WARN) -D_GNU_SOURCE -I. $(FDT_CFLAGS) $(URING_CFLAGS) \
           $(SECCOMP_CFLAGS) -MMD -MP
LDLIBS  := $(FDT_LIBS) $(URING_LIBS) $(JSON_LIBS) $(SECCOMP_LIBS) -lpthread
SAN     := -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all

LIB_SRCS := $(sort $(wildcard hw/*.c kvm/*.c virtio/*.c arch/x86/*.c))
LIB_OBJS := $(LIB_SRCS:%.c=$(B)/obj/%.o)
SAN_OBJS := $(LIB_SRCS:%.c=$(B)/san/%.o)

UNIT_SRCS    := $(sort $(wildcard tests/unit/test_*.c))
UNIT_HELPERS := $(filter-out tests/unit/test_%.c,$(wildcard tests/unit/*.c))
UNIT_HOBJS   := $(UNIT_HELPERS:%.c=$(B)/san/%.o)
UNIT_BINS    := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)

.PHONY: all test check integration run install deps clean mutants clang-build
.SECONDARY: # keep intermediate objects: no rebuilds, no "rm" noise
all: kvmini $(B)/tiny-guest

kvmini: $(B)/obj/main.o $(B)/libkvmini.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# kvmini built by clang too (make check): clang warns where GCC does not,
# and the fuzzers build the same sources with clang. Its own build dir,
# so the two compilers' objects never mix.
$(B)/kvmini: $(B)/obj/main.o $(B)/libkvmini.a
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

clang-build:
	$(MAKE) --no-print-directory CC=clang B=$(B)/clang $(B)/clang/kvmini

$(B)/libkvmini.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/libkvmini-san.a: $(SAN_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

$(B)/san/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -c -o $@ $<

$(B)/tests/%: $(B)/san/tests/unit/%.o $(UNIT_HOBJS) $(B)/libkvmini-san.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)

# Parts with their own build rules keep them in a fragment next to their
# sources: the tiny guest (guest/guest.mk), the nested Linux rig
# (tests/linux/linux.mk), the Linux virtio_ring harness (tests/unit/*.mk),
# the fuzz targets (tests/fuzz/fuzz.mk: make fuzz, make fuzz-check).
# A fragment may add test programs to EXTRA_UNIT_BINS.
EXTRA_UNIT_BINS :=
include guest/guest.mk
include tests/linux/linux.mk
-include $(wildcard tests/unit/*.mk)
include tests/fuzz/fuzz.mk
-include bench/bench.mk

# Real bzImages for the header tests: ours, and Debian's kernel if cached
# (make check fetches it first).
test: $(UNIT_BINS) $(EXTRA_UNIT_BINS) $(B)/tiny-guest
	KVMINI_BZIMAGES="$(B)/tiny-guest$$(k=$$(tests/debian-kernel.sh --cached \
	    2>/dev/null) && echo ":$$k")" \
	    prove -f --exec '' $(UNIT_BINS) $(EXTRA_UNIT_BINS)

integration: all $(B)/kvm-caps $(B)/deny-syscalls
	prove -f --exec bash tests/integration/*.t

# What the integration tests ask KVM themselves (not kvmini's word).
$(B)/kvm-caps: tests/kvm-caps.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# An outer seccomp filter for the tests of kvmini's fallbacks.
$(B)/deny-syscalls: tests/deny-syscalls.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< $(SECCOMP_LIBS)

deps:
	@bash .ci/install-deps

# Breaks kvmini on purpose, one mutant of tests/mutants.list at a time in
# a scratch copy, and says in TAP which ones the tests caught. Minutes,
# so not part of make check; MUTANTS="a b" picks some, MUTANTS_RIG=1 adds
# those only the nested rig can catch.
mutants: all
	nice -n 10 bash tests/mutants.sh

# KVMINI_FULL=1: every tool is installed now, so a test that would skip
# for a missing one fails instead (CI=true does the same).
check: deps
	tests/debian-kernel.sh >/dev/null
	$(MAKE) all
	$(MAKE) clang-build
	KVMINI_FULL=1 $(MAKE) test
	KVMINI_FULL=1 $(MAKE) fuzz-check
	KVMINI_FULL=1 $(MAKE) integration
	KVMINI_FULL=1 $(MAKE) linux-check

run: deps
	$(MAKE) all
	./kvmini run -k $(B)/tiny-guest -p shell

install: kvmini
	install -D -m 755 kvmini $(DESTDIR)$(PREFIX)/bin/kvmini
	install -D -m 644 docs/kvmini.1 $(DESTDIR)$(PREFIX)/share/man/man1/kvmini.1

clean:
	rm -rf $(B) kvmini

-include $(shell find $(B) -name '*.d' 2>/dev/null)
