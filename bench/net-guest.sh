#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-net under KVM (not a test): the tiny guest's `net=bench` UDP
# flood through a tap into a private network namespace, under kvmini
# --net and under QEMU microvm's virtio-net-device on the same tap, runs
# alternating. Reports frames per second (guest clock) and, from KVM's own
# tracepoints under `perf stat` (the same count for both VMMs), exits to
# userspace and MMIO exits per frame: a flood run minus a one-frame run,
# over the frames. Traffic stays inside the namespace the script makes.
# usage: bench/net-guest.sh [-n RUNS] [-f FRAMES] [-l LEN] [-w FILE]
#   -n RUNS    runs per VMM (default 5; the table shows medians)
#   -f FRAMES  frames per flood (default 20000)
#   -l LEN     UDP payload bytes (default 18: 64-byte frames)
#   -w FILE    append the results to FILE (e.g. docs/performance.md)
# Needs: root, make all, qemu-system-x86_64, iproute2, perf.
set -eu
cd "$(dirname "$0")/.."

runs=5 frames=20000 len=18 doc=
while getopts n:f:l:w: o; do
    case $o in
    n) runs=$OPTARG ;;
    f) frames=$OPTARG ;;
    l) len=$OPTARG ;;
    w) doc=$OPTARG ;;
    *) sed -n '/^# usage/,/^set -eu/p' "$0" | grep '^#' >&2; exit 2 ;;
    esac
done
. bench/lib.sh
bench_need_vm
events=kvm:kvm_userspace_exit,kvm:kvm_mmio
bench_need_kvm_perf "$events"
renice -n 10 -p $$ >/dev/null 2>&1 || true

ns=kvmini-netbench-$$
tmp=$(mktemp -d)
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$tmp"' EXIT
ip netns add "$ns"
ip -n "$ns" tuntap add kn0 mode tap
ip -n "$ns" addr add 10.210.0.1/24 dev kn0
ip -n "$ns" link set kn0 up
raw=build/bench/net-guest.tsv
mkdir -p build/bench
printf 'vmm\trun\tframes_per_s\tuexit_per_frame\tmmio_per_frame\n' >"$raw"

# one VMM COUNT: "UEXITS MMIO" of one boot; the guest's output in $tmp/out.
one() {
    local vmm=$1 p="ip=10.210.0.2/24 net=bench,peer=10.210.0.1,count=$2,len=$len"
    case $vmm in
    kvmini) set -- ./kvmini run -k build/tiny-guest -p "$p" --net kn0 ;;
    qemu) set -- env KERNEL=build/tiny-guest.elf guest/run-qemu.sh -n kn0 -p "$p" ;;
    esac
    ip netns exec "$ns" perf stat -x, -o "$tmp/perf" -e "$events" -- "$@" \
        >"$tmp/out" 2>&1 ||
        { echo "net-guest.sh: $vmm failed:" >&2; tail -5 "$tmp/out" >&2; exit 1; }
    bench_perf_counts "$tmp/perf"
}

for i in $(seq "$runs"); do
    for vmm in kvmini qemu; do
        read -r u0 m0 < <(one $vmm 1)
        read -r u1 m1 < <(one $vmm "$frames")
        us=$(sed -n 's/^tg: net eth0 bench frames=[0-9]* .* us=\([0-9]*\).*/\1/p' "$tmp/out")
        [ -n "$us" ] || { echo "net-guest.sh: $vmm: no bench result" >&2
                          grep 'tg: ' "$tmp/out" | tail -5 >&2; exit 1; }
        awk -v v=$vmm -v i="$i" -v f="$frames" -v us="$us" -v u0="$u0" \
            -v u1="$u1" -v m0="$m0" -v m1="$m1" 'BEGIN {
            printf "%s\t%d\t%.0f\t%.3f\t%.3f\n", v, i, f * 1e6 / us,
                   (u1 - u0) / (f - 1), (m1 - m0) / (f - 1) }' >>"$raw"
    done
done

rev=${BENCH_REV:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
{
    echo "virtio-net under KVM, tiny guest \`net=bench\`: $frames UDP" \
         "datagrams of $len payload bytes into a tap; medians of $runs" \
         "alternating runs at $rev ($(date -u +%F))."
    echo
    bench_vmm_table frame "$raw"
} | tee "$tmp/table"
if [ -n "$doc" ]; then
    { echo; echo "### virtio-net under KVM: kvmini vs QEMU microvm ($rev)"
      echo; cat "$tmp/table"; } >>"$doc"
fi
