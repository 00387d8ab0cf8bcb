#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-blk benchmark (not a test): kvmini's device driven with no VM by
# build/bench/blkbench (the fake guest on one queue, QD requests in
# flight), against fio (io_uring engine, same depth, same block size) on
# the same file as the ceiling; runs alternate between the two. Prints a
# markdown table and, with -w FILE, appends it as a dated section.
# usage: bench/blk.sh [-n RUNS] [-t SECS] [-s MIB] [-d DIR] [-D] [-w FILE]
#   -n RUNS   runs per case and tool (default 3; the table shows medians)
#   -t SECS   seconds per run (default 5)
#   -s MIB    size of the test file (default 512)
#   -d DIR    directory for the test file (default /var/tmp)
#   -D        add O_DIRECT cases (direct=on against fio --direct=1)
#   -w FILE   append the results to FILE (e.g. docs/performance.md)
# Needs: make build/bench/blkbench, fio. BENCH_REV=REV labels the results
# outside a git tree.
set -eu
cd "$(dirname "$0")/.."

runs=3 secs=5 size=512 where=/var/tmp direct=0 doc=
while getopts n:t:s:d:Dw: o; do
    case $o in
    n) runs=$OPTARG ;;
    t) secs=$OPTARG ;;
    s) size=$OPTARG ;;
    d) where=$OPTARG ;;
    D) direct=1 ;;
    w) doc=$OPTARG ;;
    *) sed -n '/^# usage/,/^set -eu/p' "$0" | grep '^#' >&2; exit 2 ;;
    esac
done
cmd_line="bench/blk.sh $*"
BB=build/bench/blkbench
[ -x "$BB" ] || { echo "blk.sh: $BB missing; run make bench-blk" >&2; exit 1; }
command -v fio >/dev/null || { echo "blk.sh: fio missing (apt-get install fio)" >&2; exit 1; }
# Other jobs share the cores: stay out of their way; both tools inherit
# the same niceness.
renice -n 10 -p $$ >/dev/null 2>&1 || true

tmp=$(mktemp -d)
file=$(mktemp -p "$where" kvmini-blkbench.XXXXXX)
trap 'rm -rf "$tmp" "$file"' EXIT
raw=build/bench/blk-raw.tsv
mkdir -p build/bench
printf 'tool\tcase\trun\tiops\tmibps\n' >"$raw"

echo "blk.sh: filling a $size MiB file in $where" >&2
dd if=/dev/urandom of="$file" bs=1M count="$size" status=none
cat "$file" >/dev/null # in the page cache, for both tools

# case: name mode bytes depth direct
cases=("randread-4k-qd1 randread 4096 1 0" "randread-4k-qd32 randread 4096 32 0"
       "read-1m-qd1 read 1048576 1 0" "read-1m-qd32 read 1048576 32 0"
       "write-1m-qd1 write 1048576 1 0" "write-1m-qd32 write 1048576 32 0")
if ((direct)); then
    cases+=("randread-4k-qd32-direct randread 4096 32 1"
            "read-1m-qd32-direct read 1048576 32 1"
            "write-1m-qd32-direct write 1048576 32 1")
fi

run_kvmini() { # name mode bytes depth direct run
    local d=() line ios bytes secs iops mibps
    (($5)) && d=(-d)
    line=$("$BB" -f "$file" -m "$2" -b "$3" -q "$4" -t "$run_secs" "${d[@]}")
    eval "${line// /; }" # ios= bytes= secs= iops= mibps=
    printf 'kvmini\t%s\t%s\t%s\t%s\n' "$1" "$6" "$iops" "$mibps" >>"$raw"
}

run_fio() { # name mode bytes depth direct run
    local t
    t=$(fio --name=blk --filename="$file" --ioengine=io_uring \
        --direct="$5" --invalidate=0 --rw="$2" --bs="$3" --iodepth="$4" \
        --runtime="$run_secs" --time_based --output-format=terse \
        --terse-version=3 2>/dev/null)
    # terse v3: read bandwidth KiB/s and IOPS are fields 7 and 8, write
    # ones 48 and 49.
    awk -F';' -v n="$1" -v r="$6" -v w="$([ "$2" = write ] && echo 1)" '{
        bw = w ? $48 : $7; io = w ? $49 : $8
        printf "fio\t%s\t%s\t%s\t%.1f\n", n, r, io, bw / 1024 }' \
        <<<"$t" >>"$raw"
}

run_secs=$secs
load0=$(cut -d' ' -f1-3 /proc/loadavg)
echo "blk.sh: ${#cases[@]} cases x $runs runs x {kvmini, fio} x $secs s" >&2
for ((i = 1; i <= runs; i++)); do
    for c in "${cases[@]}"; do
        # shellcheck disable=SC2086
        set -- $c
        if ((i % 2)); then
            run_kvmini "$@" "$i"; run_fio "$@" "$i"
        else
            run_fio "$@" "$i"; run_kvmini "$@" "$i"
        fi
        printf '.' >&2
    done
done
echo >&2
load1=$(cut -d' ' -f1-3 /proc/loadavg)

# stats TOOL CASE COL -> "median min max"
stats() {
    awk -F'\t' -v t="$1" -v c="$2" -v col="$3" \
        '$1 == t && $2 == c { print $col }' "$raw" | sort -g |
        awk '{ x[NR] = $1 } END {
            if (!NR) exit
            m = NR % 2 ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
            print m, x[1], x[NR] }'
}

cell() { # FMT "median min max"
    [ -n "$2" ] || { echo "n/a"; return; }
    set -- "$1" $2
    printf "$1 ($1–$1)" "$2" "$3" "$4"
}

table() {
    echo "| workload | unit | kvmini device, no VM: median (min–max) |" \
        "fio on the same file: median (min–max) | kvmini/fio |"
    echo "|---|---|---|---|---|"
    local c name col unit fmt k f
    for c in "${cases[@]}"; do
        set -- $c
        name=$1
        if [ "$2" = randread ]; then
            col=4 unit=IOPS fmt=%.0f
        else
            col=5 unit=MiB/s fmt=%.0f
        fi
        k=$(stats kvmini "$name" $col)
        f=$(stats fio "$name" $col)
        printf '| %s | %s | %s | %s | %s |\n' "$name" "$unit" \
            "$(cell $fmt "$k")" "$(cell $fmt "$f")" \
            "$(awk -v a="${k%% *}" -v b="${f%% *}" \
                'BEGIN { if (b > 0) printf "%.2f", a / b; else print "–" }')"
    done
}

rev=${BENCH_REV:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
git diff --quiet HEAD 2>/dev/null || rev="$rev+uncommitted"
{
    echo "### $(date -u '+%Y-%m-%d %H:%M UTC'), kvmini at $rev"
    echo
    echo "\`$cmd_line\`: $runs runs of $secs s per case and tool, alternating;" \
        "a $size MiB file of random data in $where ($(df -T "$where" |
        awk 'NR == 2 { print $2 }')), in the page cache; one queue;" \
        "$(nproc) CPUs, load average $load0 before, $load1 after."
    echo
    table
} >"$tmp/section"
echo >&2
cat "$tmp/section"
if [ -n "$doc" ]; then
    { echo; cat "$tmp/section"; } >>"$doc"
    echo "blk.sh: appended to $doc" >&2
fi
