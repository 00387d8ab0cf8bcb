#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-blk under KVM (not a test): the tiny guest's `blk=bench` (random
# reads, 16 in flight) on the same image under kvmini --disk and under
# QEMU microvm's virtio-blk-device, runs alternating. Reports requests per
# second (guest clock) and, from KVM's own tracepoints under `perf stat`
# (the same count for both VMMs), exits to userspace and MMIO exits per
# request: a run with the bench minus a run without it (blk=info), over
# the number of requests.
# usage: bench/blk-guest.sh [-n RUNS] [-r REQS] [-l SECTORS] [-w FILE]
#   -n RUNS   runs per VMM (default 5; the table shows medians)
#   -r REQS   requests per bench run (default 2000)
#   -l SECTORS  sectors per read (default 8: 4 KiB)
#   -w FILE   append the results to FILE (e.g. docs/performance.md)
# Needs: make all, qemu-system-x86_64, perf (Debian linux-perf).
set -eu
cd "$(dirname "$0")/.."

runs=5 reqs=2000 len=8 doc=
while getopts n:r:l:w: o; do
    case $o in
    n) runs=$OPTARG ;;
    r) reqs=$OPTARG ;;
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

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
img=$tmp/disk.img
dd if=/dev/urandom of="$img" bs=1M count=64 status=none
raw=build/bench/blk-guest.tsv
mkdir -p build/bench
printf 'vmm\trun\treqs_per_s\tuexit_per_req\tmmio_per_req\n' >"$raw"

# one VMM CMDLINE: "UEXITS MMIO" of one boot; the guest's output in $tmp/out.
one() {
    local vmm=$1 p=$2
    case $vmm in
    kvmini) set -- ./kvmini run -k build/tiny-guest -p "$p" --disk "$img,queues=1" ;;
    qemu) set -- guest/run-qemu.sh -p "$p" -d "$img" ;;
    esac
    perf stat -x, -o "$tmp/perf" -e "$events" -- "$@" >"$tmp/out" 2>&1 ||
        { echo "blk-guest.sh: $vmm failed:" >&2; tail -5 "$tmp/out" >&2; exit 1; }
    bench_perf_counts "$tmp/perf"
}

for i in $(seq "$runs"); do
    for vmm in kvmini qemu; do
        read -r u0 m0 < <(one $vmm "blk=info")
        read -r u1 m1 < <(one $vmm "blk=bench,reqs=$reqs,len=$len")
        us=$(sed -n 's/^tg: check blk_bench ok .* us=\([0-9]*\).*/\1/p' "$tmp/out")
        [ -n "$us" ] || { echo "blk-guest.sh: $vmm: no blk_bench result" >&2
                          grep 'tg: check' "$tmp/out" >&2; exit 1; }
        awk -v v=$vmm -v i="$i" -v r="$reqs" -v us="$us" -v u0="$u0" \
            -v u1="$u1" -v m0="$m0" -v m1="$m1" 'BEGIN {
            printf "%s\t%d\t%.0f\t%.3f\t%.3f\n", v, i, r * 1e6 / us,
                   (u1 - u0) / r, (m1 - m0) / r }' >>"$raw"
    done
done

table() {
    bench_vmm_table request "$raw"
}
rev=${BENCH_REV:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
{
    echo "virtio-blk under KVM, tiny guest \`blk=bench\`: $reqs random reads" \
         "of $len sectors, 16 in flight, one queue; medians of $runs" \
         "alternating runs at $rev ($(date -u +%F))."
    echo
    table
} | tee "$tmp/table"
if [ -n "$doc" ]; then
    { echo; echo "### virtio-blk under KVM: kvmini vs QEMU microvm ($rev)"
      echo; cat "$tmp/table"; } >>"$doc"
fi
