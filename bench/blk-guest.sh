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
for f in ./kvmini build/tiny-guest build/tiny-guest.elf; do
    [ -e "$f" ] || { echo "blk-guest.sh: $f missing; run make all" >&2; exit 1; }
done
events=kvm:kvm_userspace_exit,kvm:kvm_mmio
perf stat -x, -o /dev/null -e "$events" true 2>/dev/null ||
    { echo "blk-guest.sh: perf with kvm tracepoints needed (apt-get install linux-perf)" >&2; exit 1; }
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
    awk -F, '$3 ~ /userspace_exit/ { u = $1 } $3 ~ /kvm_mmio/ { m = $1 }
             END { print u, m }' "$tmp/perf"
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
    awk -F'\t' 'NR > 1 { v[$1] = v[$1] " " $3; u[$1] = u[$1] " " $4
                         m[$1] = m[$1] " " $5 }
        function med(s,   a, n, i, j, x) {
            n = split(s, a, " ")
            for (i = 2; i <= n; i++)
                for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
                    x = a[j]; a[j] = a[j - 1]; a[j - 1] = x }
            return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
        END {
            print "| | kvmini | QEMU microvm | kvmini / QEMU |"
            print "|---|---|---|---|"
            printf "| requests/s (guest clock) | %.0f | %.0f | %.2f |\n",
                med(v["kvmini"]), med(v["qemu"]),
                med(v["kvmini"]) / med(v["qemu"])
            printf "| exits to userspace per request | %.3f | %.3f | |\n",
                med(u["kvmini"]), med(u["qemu"])
            printf "| MMIO exits per request (kvm_mmio) | %.3f | %.3f | |\n",
                med(m["kvmini"]), med(m["qemu"]) }' "$raw"
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
