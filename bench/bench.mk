# SPDX-License-Identifier: MIT
# Benchmarks: measurements, not tests; no pass/fail on time, and never part
# of `make check`.
#   make bench [BENCH_ARGS="-n 20 -w docs/performance.md"]
#       boot times, exits and peak RSS of the tiny guest, kvmini vs QEMU
#       microvm (bench/boot.sh; its header lists the options)
.PHONY: bench
BENCH_ARGS ?=

$(B)/bench/launch: bench/launch.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -D_GNU_SOURCE -o $@ $<

bench: all $(B)/bench/launch
	bench/boot.sh $(BENCH_ARGS)
