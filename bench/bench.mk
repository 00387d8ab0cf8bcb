# SPDX-License-Identifier: MIT
# Benchmarks: measurements, not tests; no pass/fail on time, and never part
# of `make check`.
#   make bench [BENCH_ARGS="-n 20 -w docs/performance.md"]
#       boot times, exits and peak RSS of the tiny guest, kvmini vs QEMU
#       microvm (bench/boot.sh; its header lists the options)
#   make bench-blk [BLK_BENCH_ARGS="-t 5 -n 3 -w docs/performance.md"]
#       virtio-blk throughput with no VM against fio on the same file
#       (bench/blk.sh; its header lists the options)
#   make bench-blk-guest [BLK_GUEST_ARGS="-n 5 -w docs/performance.md"]
#       virtio-blk under KVM with the tiny guest, kvmini vs QEMU microvm:
#       requests/s and exits per request (bench/blk-guest.sh)
#   make bench-net [BENCH_NET_ARGS="-n 5 -w docs/performance.md"]
#       virtio-net with no VM against raw tap read/write: 64-byte frames/s
#       and 64 KiB TSO Gbit/s each way (bench/net.sh; root)
#   make bench-net-guest [NET_GUEST_ARGS="-n 5 -w docs/performance.md"]
#       virtio-net under KVM with the tiny guest, kvmini vs QEMU microvm:
#       frames/s and exits per frame (bench/net-guest.sh; root)
#   make bench-many [MANY_ARGS="-n 20 -r 3 -w docs/performance.md"]
#       N tiny-guest VMs at once, each checked through its control socket:
#       time until all run, RSS per kvmini, all stopped (bench/many.sh)
.PHONY: bench bench-blk bench-blk-guest bench-net-guest bench-net bench-many
BENCH_ARGS ?=

$(B)/bench/launch: bench/launch.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -D_GNU_SOURCE -o $@ $<

bench: all $(B)/bench/launch
	bench/boot.sh $(BENCH_ARGS)

# The blk driver is the unit tests' fake guest, built optimised and
# without sanitizers.
BLKBENCH_SRCS := bench/blkbench.c tests/unit/blk_rig.c tests/unit/fake_guest.c
$(B)/bench/blkbench: $(BLKBENCH_SRCS) $(B)/libkvmini.a
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -I. $(FDT_CFLAGS) \
		$(URING_CFLAGS) -o $@ $(BLKBENCH_SRCS) $(B)/libkvmini.a $(LDLIBS)

bench-blk: $(B)/bench/blkbench
	bench/blk.sh $(BLK_BENCH_ARGS)

bench-blk-guest: all
	bench/blk-guest.sh $(BLK_GUEST_ARGS)

# The net driver is the unit tests' fake guest too (tests/unit/net_rig).
BENCH_NET_ARGS ?=
NET_BENCH_SRCS := bench/net_bench.c tests/unit/fake_guest.c \
	tests/unit/net_rig.c tests/unit/net_pkt.c tests/unit/netns.c

$(B)/bench/net_bench: $(NET_BENCH_SRCS) $(B)/libkvmini.a
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 -g $(WARN) -D_GNU_SOURCE -I. -o $@ \
		$(NET_BENCH_SRCS) $(B)/libkvmini.a $(LDLIBS)

bench-net: $(B)/bench/net_bench
	bench/net.sh $(BENCH_NET_ARGS)

bench-net-guest: all
	bench/net-guest.sh $(NET_GUEST_ARGS)

bench-many: all
	bench/many.sh $(MANY_ARGS)
