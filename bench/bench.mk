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

#   make bench-net [BENCH_NET_ARGS="-n 5 -w docs/performance.md"]
#       virtio-net with no VM: the device vs raw tap read/write, 64-byte
#       frames/s and 64 KiB TSO Gbit/s each way (bench/net.sh; root)
.PHONY: bench-net
BENCH_NET_ARGS ?=
NET_BENCH_SRCS := bench/net_bench.c tests/unit/fake_guest.c \
	tests/unit/net_rig.c tests/unit/net_pkt.c tests/unit/netns.c

$(B)/bench/net_bench: $(NET_BENCH_SRCS) $(B)/libkvmini.a
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -I. -o $@ \
		$(NET_BENCH_SRCS) $(B)/libkvmini.a $(LDLIBS)

bench-net: $(B)/bench/net_bench
	bench/net.sh $(BENCH_NET_ARGS)
