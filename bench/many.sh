#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Many VMs benchmark (not a test): N tiny-guest VMs started at once, each
# checked through its control socket. Measures the time from the first
# start until every VM answers `info` with state "running", and each
# kvmini's RSS (VmRSS: its own memory plus the guest RAM the tiny guest
# touched); then stops them all with `kvmini ctl NAME stop` and checks
# each exited 0 and removed its socket. Prints markdown; with -w FILE,
# appends it as a dated section to FILE.
# usage: bench/many.sh [-n VMS] [-m SIZE] [-r RUNS] [-w FILE]
#   -n VMS   VMs at once (default 20)
#   -m SIZE  guest RAM each (default 64M)
#   -r RUNS  repetitions (default 3)
#   -w FILE  append the results to FILE (e.g. docs/performance.md)
# Exit: 0, or 1 when a VM did not come up, stop or clean up.
set -eu
cd "$(dirname "$0")/.."

n=20 mem=64M runs=3 doc=
while getopts n:m:r:w: o; do
    case $o in
    n) n=$OPTARG ;;
    m) mem=$OPTARG ;;
    r) runs=$OPTARG ;;
    w) doc=$OPTARG ;;
    *) sed -n '/^# usage/,/^set -eu/p' "$0" | grep '^#' >&2; exit 2 ;;
    esac
done
[ -x ./kvmini ] && [ -f build/tiny-guest ] || { echo "run make first" >&2; exit 1; }
TMP=$(mktemp -d /tmp/kvmini-many.XXXXXX)
export XDG_RUNTIME_DIR=$TMP # sockets in $TMP/kvmini
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
    rm -rf "$TMP"
}
trap cleanup EXIT
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

rows=() fail=0
for run in $(seq 1 "$runs"); do
    pids=()
    t0=$(now_ms)
    for i in $(seq 1 "$n"); do
        ./kvmini run -k build/tiny-guest -m "$mem" -p "hold=600" \
            --name "many$i" </dev/null >/dev/null 2>"$TMP/many$i.err" &
        pids+=($!)
    done
    left=$n up_ms=
    for _ in $(seq 1 1200); do # at most 120 s
        left=0
        for i in $(seq 1 "$n"); do
            ./kvmini ctl --json "many$i" info 2>/dev/null |
                grep -q '"state":"running"' || left=$((left + 1))
        done
        if [ "$left" -eq 0 ]; then up_ms=$(( $(now_ms) - t0 )); break; fi
        sleep 0.1
    done
    if [ -z "$up_ms" ]; then
        echo "run $run: $left of $n VMs not running after 120 s" >&2
        fail=1; break
    fi
    rss=0 max=0
    for p in "${pids[@]}"; do
        r=$(awk '/^VmRSS/ { print $2 }' "/proc/$p/status")
        rss=$((rss + r)); [ "$r" -gt "$max" ] && max=$r
    done
    t1=$(now_ms)
    for i in $(seq 1 "$n"); do ./kvmini ctl "many$i" stop >/dev/null; done
    bad=0
    for p in "${pids[@]}"; do wait "$p" || bad=$((bad + 1)); done
    down_ms=$(( $(now_ms) - t1 ))
    stale=$(ls "$TMP/kvmini" 2>/dev/null | wc -l)
    if [ "$bad" -ne 0 ] || [ "$stale" -ne 0 ]; then
        echo "run $run: $bad VMs exited non-zero, $stale sockets left" >&2
        fail=1; break
    fi
    rows+=("| $run | $n | $up_ms | $(( rss / n )) | $max | $down_ms |")
done
pids=()
[ "$fail" -eq 0 ] || exit 1

rev=$(git rev-parse --short HEAD 2>/dev/null || echo "${BENCH_REV:-unknown}")
dirty=$(git status --porcelain -uno 2>/dev/null | grep -q . && echo " + uncommitted" || true)
out=$(
    echo "### $(date -u '+%Y-%m-%d %H:%M') UTC, kvmini at $rev$dirty"
    echo
    echo "$n tiny-guest VMs (\`-m $mem\`, \`hold=600\`) started at once on $(nproc) cores" \
         "(load average before: $(cut -d' ' -f1 /proc/loadavg))."
    echo
    echo "| Run | VMs | all running (ms) | mean VmRSS per kvmini (KiB) | max VmRSS (KiB) | all stopped (ms) |"
    echo "|---|---|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
)
echo "$out"
if [ -n "$doc" ]; then printf '\n%s\n' "$out" >>"$doc"; fi
