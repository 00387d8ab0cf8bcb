#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-net benchmark with no VM (not a test): build/bench/net_bench runs
# the device under the fake guest driver against raw read/write on a tap of
# the same kind, in a private network namespace (root). Prints a markdown
# table of medians and, with -w FILE, appends it as a dated section.
# usage: bench/net.sh [-n RUNS] [-t SECONDS] [-r] [-w FILE]
#   -n RUNS     runs of every mode (default 5); medians over them
#   -t SECONDS  measuring time per mode and path in a run (default 2)
#   -r          no runs: report the last ones (build/bench/net-raw.txt)
#   -w FILE     append the results to FILE (e.g. docs/performance.md)
# Needs: root, make build/bench/net_bench (make bench-net builds it).
# Exit: 0, or 1 when a run failed.
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

runs=5 secs=2 doc= reuse=
while getopts n:t:rw: o; do
    case $o in
    n) runs=$OPTARG ;;
    t) secs=$OPTARG ;;
    r) reuse=1 ;;
    w) doc=$OPTARG ;;
    *) sed -n '/^# usage/,/^set -eu/p' "$0" | grep '^#' >&2; exit 2 ;;
    esac
done
cmd_line="bench/net.sh $*"
BIN=build/bench/net_bench
raw=build/bench/net-raw.txt
if [ -n "$reuse" ]; then
    [ -s "$raw" ] || { echo "net.sh: no $raw to report" >&2; exit 1; }
    # The runs' own parameters, as net.sh recorded them.
    read -r _ runs secs load <"$raw.params" || true
else
    [ -x "$BIN" ] || { echo "net.sh: $BIN missing; run make bench-net" >&2; exit 1; }
    [ "$(id -u)" -eq 0 ] || { echo "net.sh: needs root (a private network namespace)" >&2; exit 1; }
    # Other jobs share the 2 cores: stay out of their way. The device and
    # the raw ceiling take turns in each run, under the same niceness.
    renice -n 10 -p $$ >/dev/null 2>&1 || true
    : >"$raw"
    for i in $(seq "$runs"); do
        "$BIN" -t "$secs" tx-pps tx-gbps rx-pps rx-gbps >>"$raw" ||
            { echo "net.sh: run $i failed" >&2; exit 1; }
    done
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    echo "params $runs $secs $load" >"$raw.params"
fi

# median MODE FIELD: the median of a numeric field over the runs
median() {
    awk -v m="$1" -v f="$2" '$1 == m { print $f }' "$raw" | sort -g |
        awk '{ x[NR] = $1 } END { if (NR == 0) print "-";
             else if (NR % 2) print x[(NR + 1) / 2];
             else print (x[NR / 2] + x[NR / 2 + 1]) / 2 }'
}

# scaled VALUE SCALE FORMAT [UNIT]: VALUE / SCALE with FORMAT, "-" for 0
scaled() {
    awk -v v="$1" -v s="$2" -v f="$3" -v u="${4:-}" 'BEGIN {
        if (v + 0 == 0) print "-"
        else printf f "%s\n", v / s, (u == "" ? "" : " " u) }'
}

row() { # row MODE LABEL UNIT SCALE FORMAT
    local dev rawv ratio cd cr cg sg cs
    dev=$(median "$1" 3) rawv=$(median "$1" 5) ratio=$(median "$1" 7)
    cd=$(median "$1" 9) cr=$(median "$1" 10) cg=$(median "$1" 12)
    sg=$(median "$1" 14) cs=$(median "$1" 16)
    printf "| %s | %s | %s | %.2f | %s | %.2f / %.2f | %s | %.2f |\n" \
        "$2" "$(scaled "$dev" "$4" "$5" "$3")" \
        "$(scaled "$rawv" "$4" "$5" "$3")" "$ratio" \
        "$(scaled "$sg" "$4" "$5" "$3")" "$cd" "$cr" \
        "$(scaled "$cs" 1 %.2f)" "$cg"
}

bullet() {
    echo "- $*" | fold -s -w 78 | sed -e 's/ *$//' -e '1!s/^/  /'
}

section() {
    local rev dirty
    rev=${BENCH_REV:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
    dirty=$(git status --porcelain --untracked-files=no -- '*.c' '*.h' \
            Makefile '*.mk' 2>/dev/null | grep -q . &&
            echo " (+ uncommitted source changes)" || true)
    echo "### $(date -u '+%Y-%m-%d %H:%M UTC'), kvmini at $rev$dirty"
    echo
    bullet "Machine: $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' \
        /proc/cpuinfo | head -n 1)), kernel $(uname -r); shared with other" \
        "jobs (load average $load at the end)," \
        "runs at nice 10."
    bullet "Command: \`bench/net.sh -n $runs -t $secs\` ($runs runs, ${secs} s" \
        "per mode and path; medians)."
    echo
    echo "| | device | raw tap (ceiling) | ratio | raw, 4 KiB pieces | CPU µs/frame: device / raw | raw, 4 KiB pieces | fake guest |"
    echo "|---|---|---|---|---|---|---|---|"
    row tx-pps "TX 64-byte frames" "kpps" 1000 "%.0f"
    row tx-gbps "TX 64 KiB TSO frames" "Gbit/s" 1 "%.1f"
    row rx-pps "RX 64-byte frames" "kpps" 1000 "%.0f"
    row rx-gbps "RX 64 KiB TSO frames" "Gbit/s" 1 "%.1f"
}

out=$(section)
echo "$out"
[ -n "$doc" ] || exit 0

title="## virtio-net without a VM: the device vs the raw tap"
if ! grep -qxF "$title" "$doc" 2>/dev/null; then
    cat >>"$doc" <<'EOT'

## virtio-net without a VM: the device vs the raw tap

How: `bench/net.sh` (`make bench-net`; root). `build/bench/net_bench`
makes a private network namespace with two taps. The device drives one
through its workers, with the fake guest driver (tests/unit/net_rig) on
the other side of the rings: version 1, EVENT_IDX, mergeable buffers,
CSUM/GUEST_CSUM/HOST_TSO4/GUEST_TSO4, 1024-entry rings, 4 KiB receive
buffers; the guest thread sleeps on the interrupt when it has nothing to
do (used_event), as a driver does. The ceiling is one host thread doing
read/write on the other tap, set up the same (12-byte vnet header, same
offloads), reading into buffers that span as much memory as the guest's
ring so neither path gets a cache advantage.

- TX: the guest keeps its ring full of one frame (64 bytes: Ethernet
  header and an unknown ethertype; 64 KiB: TCP/IPv4 with a TSO header,
  gso_size 1448); the kernel drops them on arrival (another host's MAC),
  so what is measured is the tap write path. Rate over the run.
- RX: a drain. With the consumer idle, an AF_PACKET socket fills the tap's
  queue (txqueuelen 10000: 9000 small or 900 TSO frames; TSO frames go
  through as one GSO frame each because the tap has TSO4 on), then the
  consumer empties it against the clock, repeated for the run's time. A
  concurrent generator would set the pace instead (measured: both paths
  then ran at the generator's rate).
- CPU µs/frame: the process's CPU time over frames, less the fake guest
  thread's own (shown apart: a real guest pays it on its vCPU). It is
  steadier than the rates on this shared machine.
- "raw, 4 KiB pieces" (RX): the raw thread reading each frame into 4 KiB
  pieces, the layout of the guest's mergeable buffers, instead of one
  contiguous buffer.
- Turns (since dc1ff05): the paths alternate in short windows (TX: 0.1 s
  slices; RX: one drain each, the first path rotating) until each has
  its seconds, so they see the same load; before, each path ran its 2 s
  alone and the load between them differed.
- `NET_BENCH_SCHED=1` adds, per path, on-CPU time, run-queue wait and
  timeslices per frame (schedstat) on stderr; `NET_BENCH_RAW_THREAD=1`
  reads the raw tap on a thread of its own, as the device's worker does.
EOT
fi
bench_doc_insert "$doc" "$title" "$out"
