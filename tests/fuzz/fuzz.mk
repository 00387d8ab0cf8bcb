# SPDX-License-Identifier: MIT
# libFuzzer targets (tests/fuzz/fuzz_*.c), built with clang from the same
# sources as kvmini, under ASan + UBSan; see docs/security.md.
#
#   make fuzz-build                 build every target into build/fuzz/
#   make fuzz TARGET=vmmio [TIME=600] [FUZZ_ARGS=...]
#       fuzz one target for TIME seconds (default 600) at nice 19; new
#       inputs go to $(KVMINI_FUZZ_CACHE)/TARGET, outside the checkout
#       so that they outlive it (default /var/cache/kvmini-fuzz, made on
#       demand), crashes to $(KVMINI_FUZZ_CACHE)/artifacts/ (keep one
#       as a regression input in tests/fuzz/corpus/TARGET/ once fixed)
#   make fuzz-check                 (part of make check) every corpus
#       entry of every target, then FUZZ_RUNS fresh inputs per target
#       from a fixed seed: a count, not a time, so a run is repeatable
#
# kvm/ is not built: no target needs KVM.

FZ_CC      ?= clang
FZ_DIR     := $(B)/fuzz
FZ_CFLAGS  := -std=gnu11 -O1 -g $(WARN) -D_GNU_SOURCE -I. $(FDT_CFLAGS) \
              $(URING_CFLAGS) \
              -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer
FZ_LIB_SRCS := $(sort $(wildcard hw/*.c virtio/*.c arch/x86/*.c))
FZ_HELPERS  := tests/fuzz/fz.c tests/unit/fake_guest.c tests/unit/echo_dev.c \
               tests/unit/mdesc_parse.c
FZ_LIB_OBJS := $(FZ_LIB_SRCS:%.c=$(FZ_DIR)/obj/%.o) \
               $(FZ_HELPERS:%.c=$(FZ_DIR)/obj/%.o)
FZ_TARGETS  := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FZ_BINS     := $(FZ_TARGETS:%=$(FZ_DIR)/fuzz_%)

# Fresh inputs per target in make fuzz-check, sized so that all targets
# together take about a minute on a busy 2-core machine (43 to 66 s, 41
# CPU seconds, for the fourteen targets at 30000 each with the corpus
# replay, on 2026-11-30; 105 s and 61 CPU seconds for thirteen before
# fuzz_blk reused its images).
FUZZ_SEED  ?= 11
FUZZ_RUNS  ?= 30000
TIME       ?= 600
KVMINI_FUZZ_CACHE ?= /var/cache/kvmini-fuzz
FZ_CORPUS  := $(KVMINI_FUZZ_CACHE)/$(TARGET)
FZ_ART     := $(KVMINI_FUZZ_CACHE)/artifacts

.PHONY: fuzz fuzz-build fuzz-check

$(FZ_DIR)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FZ_CC) $(FZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c -o $@ $<

$(FZ_DIR)/libkvmini-fuzz.a: $(FZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(FZ_DIR)/fuzz_%: $(FZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FZ_DIR)/libkvmini-fuzz.a
	$(FZ_CC) $(FZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ $(LDLIBS)

fuzz-build: $(FZ_BINS)

# The binary is a prerequisite only for a known TARGET, so that a missing
# or mistyped one gets the list below, not make's "No rule to make".
fuzz: $(if $(filter $(TARGET),$(FZ_TARGETS)),$(FZ_DIR)/fuzz_$(TARGET))
	@test -n "$(filter $(TARGET),$(FZ_TARGETS))" || { echo "make fuzz:" \
	    "TARGET=one of: $(FZ_TARGETS)" >&2; exit 1; }
	@mkdir -p $(FZ_CORPUS) $(FZ_ART) 2>/dev/null || { \
	    echo "make fuzz: cannot create $(FZ_CORPUS); set" \
	        "KVMINI_FUZZ_CACHE to a directory you can write" >&2; exit 1; }
	nice -n 19 $(FZ_DIR)/fuzz_$(TARGET) -max_total_time=$(TIME) \
	    -print_final_stats=1 -artifact_prefix=$(FZ_ART)/$(TARGET)- \
	    $(FUZZ_ARGS) $(FZ_CORPUS) tests/fuzz/corpus/$(TARGET)

# Without clang, check.t says what is missing (a failure in a full run).
FZ_HAVE := $(shell command -v $(FZ_CC) 2>/dev/null)
fuzz-check: $(if $(FZ_HAVE),$(FZ_BINS))
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SEED=$(FUZZ_SEED) FZ_DIR=$(FZ_DIR) \
	    FZ_TARGETS="$(FZ_TARGETS)" FZ_CC=$(FZ_CC) \
	    prove -f --exec bash tests/fuzz/check.t
