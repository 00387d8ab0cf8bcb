#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boot benchmark (not a test): the tiny guest under kvmini and under QEMU's
# microvm, alternating, timed by build/bench/launch; prints markdown tables
# and, with -w FILE, appends them as a dated section to FILE.
# usage: bench/boot.sh [-n RUNS] [-x COUNT_RUNS] [-c "1 2"] [-m SIZE]
#                      [-w FILE]
#   -n RUNS        timed runs per VMM and vCPU count (default 20)
#   -x COUNT_RUNS  extra runs per VMM and vCPU count under `perf stat` to
#                  count KVM events (default 3, 0: skip)
#   -c LIST        vCPU counts (default "1 2")
#   -m SIZE        guest RAM for both (default 256M)
#   -w FILE        append the results to FILE (e.g. docs/performance.md)
# Needs: make all (./kvmini, build/tiny-guest, build/tiny-guest.elf),
# qemu-system-x86_64, cc; perf for the event counts. BENCH_REV=REV labels
# the results when run outside a git tree (e.g. from a `git archive` export).
# Exit: 0, or 1 when a guest did not pass (the numbers would mean nothing).
set -eu
cd "$(dirname "$0")/.."
. bench/lib.sh

runs=20 count_runs=3 cpus_list="1 2" mem=256M doc=
while getopts n:x:c:m:w: o; do
    case $o in
    n) runs=$OPTARG ;;
    x) count_runs=$OPTARG ;;
    c) cpus_list=$OPTARG ;;
    m) mem=$OPTARG ;;
    w) doc=$OPTARG ;;
    *) sed -n '/^# usage/,/^set -eu/p' "$0" | grep '^#' >&2; exit 2 ;;
    esac
done
cmd_line="bench/boot.sh $*"

B=build/bench
LAUNCH=$B/launch
KVMINI=./kvmini
BZIMAGE=build/tiny-guest
ELF=build/tiny-guest.elf
QEMU=${QEMU:-qemu-system-x86_64}
for f in "$KVMINI" "$BZIMAGE" "$ELF"; do
    [ -e "$f" ] || { echo "boot.sh: $f missing; run make all" >&2; exit 1; }
done
mkdir -p "$B"
if [ ! -x "$LAUNCH" ] || [ bench/launch.c -nt "$LAUNCH" ]; then
    ${CC:-cc} -std=gnu11 -O2 -Wall -Wextra -Werror -D_GNU_SOURCE \
        -o "$LAUNCH" bench/launch.c
fi
# Other jobs share the 2 cores: stay out of their way. Both VMMs inherit
# the same niceness, so the comparison stays fair.
renice -n 10 -p $$ >/dev/null 2>&1 || true

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$B/boot-raw.tsv
printf 'vmm\tcpus\trun\tfirst_us\texit_us\trss_kb\tguest_us\texits\t%s\t%s\n' \
    tail_us host_us >"$raw"

# The same guest workload for both: the same command line, checks on, ACPI
# for both; no DTB for kvmini, since QEMU's PVH boot has none and the guest
# would otherwise spend ring-0 time reading kvmini's.
# vmm_argv VMM CPUS sets ARGV to the full command.
vmm_argv() {
    local cmdline="expect_cpus=$2 expect_mem=$mem"
    if [ "$1" = kvmini ]; then
        ARGV=("$KVMINI" run -k "$BZIMAGE" -c "$2" -m "$mem" --no-dtb
              --stats -p "$cmdline")
    else
        ARGV=("$QEMU" -M microvm,x-option-roms=off,rtc=off,isa-serial=on
              -accel kvm -nodefaults -no-user-config -nographic
              -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=1
              -smp "$2" -m "$mem" -kernel "$ELF" -append "$cmdline")
    fi
}

# One timed run: VMM, vCPUs, run index -> one row of $raw.
run_one() {
    local vmm=$1 c=$2 i=$3 line gstatus guest_us exits
    local first_line_us last_line_us exit_us maxrss_kb status host_us
    vmm_argv "$vmm" "$c"
    line=$("$LAUNCH" -t 120 -o "$tmp/out" -e "$tmp/err" -- "${ARGV[@]}" \
           2>&1) || { echo "boot.sh: launch failed: $line" >&2; exit 1; }
    eval "$line" # first_line_us=.. last_line_us=.. exit_us=.. maxrss_kb=..
    # kvmini exits with the guest's byte; QEMU's isa-debug-exit with 2v+1.
    gstatus=$status
    if [ "$vmm" = qemu ] && [ "$status" != timeout ]; then
        gstatus=$((status & 1 ? status >> 1 : 255))
    fi
    if [ "$gstatus" != 0 ]; then
        echo "boot.sh: $vmm -c $c run $i: guest status $status" >&2
        tail -n 5 "$tmp/out" "$tmp/err" >&2
        exit 1
    fi
    guest_us=$(sed -n 's/^tg: elapsed us=\([0-9]*\).*/\1/p' "$tmp/out")
    exits=-
    if [ "$vmm" = kvmini ]; then
        # --stats: "vcpuN: runs R pio P mmio M intr I other O"; the reasons
        # add up to the KVM_RUN returns, i.e. the exits to userspace.
        exits=$(awk '/^vcpu[0-9]+: runs / { s += $5 + $7 + $9 + $11 }
                     END { print s + 0 }' "$tmp/err")
    fi
    # Wall time the guest's own clock does not cover: the VMM's setup before
    # the guest's entry, the firmware (QEMU), the teardown after its exit.
    host_us=-
    [ -n "$guest_us" ] && host_us=$((exit_us - guest_us))
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$vmm" "$c" "$i" \
        "$first_line_us" "$exit_us" "$maxrss_kb" "${guest_us:--}" \
        "$exits" "$((exit_us - last_line_us))" "$host_us" >>"$raw"
}

echo "boot.sh: $runs runs x {kvmini, QEMU} x vCPUs {$cpus_list}" >&2
for ((i = 1; i <= runs; i++)); do
    for c in $cpus_list; do
        # Alternate who goes first so drift in the machine's load hits both.
        if ((i % 2)); then order="kvmini qemu"; else order="qemu kvmini"; fi
        for vmm in $order; do
            run_one "$vmm" "$c" "$i"
        done
    done
    printf '.' >&2
done
echo >&2

# perf stat pass: KVM's own tracepoints, the same for both VMMs.
events="kvm:kvm_userspace_exit,kvm:kvm_pio,kvm:kvm_mmio,kvm:kvm_emulate_insn"
cnt=$B/boot-counts.tsv
printf 'vmm\tcpus\trun\tuexit\tpio\tmmio\temul\n' >"$cnt"
have_perf=0
if ((count_runs > 0)) && command -v perf >/dev/null &&
    perf stat -x, -o /dev/null -e "$events" true 2>/dev/null; then
    have_perf=1
fi
if ((have_perf)); then
    for ((i = 1; i <= count_runs; i++)); do
        for c in $cpus_list; do
            for vmm in kvmini qemu; do
                vmm_argv "$vmm" "$c"
                perf stat -x, -o "$tmp/perf" -e "$events" -- "${ARGV[@]}" \
                    </dev/null >/dev/null 2>&1 || true
                awk -F, -v v="$vmm" -v c="$c" -v i="$i" '
                    $3 ~ /kvm_userspace_exit/ { u = $1 }
                    $3 ~ /kvm_pio/ { p = $1 }
                    $3 ~ /kvm_mmio/ { m = $1 }
                    $3 ~ /kvm_emulate_insn/ { e = $1 }
                    END { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
                          v, c, i, u, p, m, e }' "$tmp/perf" >>"$cnt"
            done
        done
    done
fi

# summary FILE VMM CPUS COLUMN SCALE -> "median min max" of that column,
# divided by SCALE; empty when there are no numbers.
summary() {
    awk -F'\t' -v v="$2" -v c="$3" -v col="$4" \
        '$1 == v && $2 == c && $col != "-" && $col != "" { print $col }' \
        "$1" | sort -n | awk -v s="$5" '{ x[NR] = $1 / s }
        END {
            if (!NR) exit
            m = NR % 2 ? x[(NR + 1) / 2] : (x[NR / 2] + x[NR / 2 + 1]) / 2
            print m, x[1], x[NR]
        }'
}

# cell FMT "median min max" -> "M (MIN–MAX)"
cell() {
    [ -n "$2" ] || { echo "n/a"; return; }
    set -- "$1" $2
    printf "$1 ($1–$1)" "$2" "$3" "$4"
}

# ratio "kvmini stats" "qemu stats" -> median ratio
ratio() {
    [ -n "$1" ] && [ -n "$2" ] || { echo "–"; return; }
    awk -v a="${1%% *}" -v b="${2%% *}" \
        'BEGIN { if (b > 0) printf "%.2f", a / b; else print "–" }'
}

# row LABEL CPUS FMT "kvmini stats" "qemu stats"
row() {
    printf '| %s | %s | %s | %s | %s |\n' "$1" "$2" "$(cell "$3" "$4")" \
        "$(cell "$3" "$5")" "$(ratio "$4" "$5")"
}

# timed LABEL CPUS FMT COLUMN SCALE: a row from the timed runs
timed() {
    row "$1" "$2" "$3" "$(summary "$raw" kvmini "$2" "$4" "$5")" \
        "$(summary "$raw" qemu "$2" "$4" "$5")"
}

tables() {
    local c
    echo "| metric | vCPUs | kvmini median (min–max) |" \
        "QEMU median (min–max) | kvmini/QEMU |"
    echo "|---|---|---|---|---|"
    for c in $cpus_list; do
        timed "to first serial line, ms" "$c" "%.1f" 4 1000
        timed "to VMM exit, ms" "$c" "%.1f" 5 1000
        timed "guest's own \`tg: elapsed\`, ms" "$c" "%.1f" 7 1000
        timed "wall time outside the guest's clock (exit − elapsed), ms" \
            "$c" "%.1f" 10 1000
        timed "last serial line → VMM exit, ms" "$c" "%.1f" 9 1000
        timed "peak RSS, MiB" "$c" "%.1f" 6 1024
        row "exits to userspace (kvmini: --stats; QEMU: perf)" "$c" "%d" \
            "$(summary "$raw" kvmini "$c" 8 1)" \
            "$(summary "$cnt" qemu "$c" 4 1)"
    done
    ((have_perf)) || return 0
    echo
    echo "KVM tracepoint counts per boot under \`perf stat\`, medians of" \
        "$count_runs runs:"
    echo
    echo "| vCPUs | VMM | kvm_userspace_exit | kvm_pio | kvm_mmio |" \
        "kvm_emulate_insn |"
    echo "|---|---|---|---|---|---|"
    for c in $cpus_list; do
        for vmm in kvmini qemu; do
            printf '| %s | %s' "$c" "$vmm"
            for col in 4 5 6 7; do
                set -- $(summary "$cnt" "$vmm" "$c" "$col" 1)
                printf ' | %.0f' "${1:-0}"
            done
            echo " |"
        done
    done
}

# bullet TEXT...: a markdown list item wrapped at 78 columns
bullet() {
    echo "- $*" | fold -s -w 78 | sed -e 's/ *$//' -e '1!s/^/  /'
}

kvm_module() {
    if [ -d /sys/module/kvm_pvm ]; then echo "kvm_pvm (software-backed)"
    elif [ -d /sys/module/kvm_intel ]; then echo kvm_intel
    elif [ -d /sys/module/kvm_amd ]; then echo kvm_amd
    else echo unknown; fi
}

section() {
    local rev dirty
    rev=${BENCH_REV:-$(git rev-parse --short HEAD 2>/dev/null ||
        echo unknown)}
    # Only changes that reach ./kvmini or the guest make the numbers differ.
    dirty=$(git status --porcelain --untracked-files=no -- '*.c' '*.h' \
            '*.S' '*.ld' Makefile '*.mk' 2>/dev/null | grep -q . &&
            echo " (+ uncommitted source changes)" || true)
    echo "### $(date -u '+%Y-%m-%d %H:%M UTC'), kvmini at $rev$dirty"
    echo
    bullet "Machine: $(nproc) CPUs ($(sed -n 's/^model name[^:]*: //p' \
        /proc/cpuinfo | head -n 1)), kernel $(uname -r), KVM module" \
        "$(kvm_module); shared with other jobs, runs at nice 10."
    bullet "Versions: $("$KVMINI" --version 2>&1 | head -n 1)," \
        "$("$QEMU" --version | head -n 1), $(${CC:-cc} --version |
        head -n 1)."
    bullet "Command: \`$cmd_line\` ($runs timed runs per VMM and vCPU" \
        "count, alternating; guest command line" \
        "\`expect_cpus=N expect_mem=$mem\`, -m $mem)."
    echo
    tables
}

out=$(section)
echo "$out"
[ -n "$doc" ] || exit 0

# Append under the "## Boot" heading: create it with the method once, then
# add each run's dated subsection at the end of that section.
title="## Boot: tiny guest, kvmini vs QEMU microvm"
if ! grep -qxF "$title" "$doc" 2>/dev/null; then
    cat >>"$doc" <<EOT

$title

How: \`bench/boot.sh\` (\`make bench\`). Each run starts the VMM from
\`build/bench/launch\`, which fork/execs it with stdout on a pipe and stdin
on /dev/null, stamps the first newline (the guest's \`tg: hello\`) and the
VMM's exit with CLOCK_MONOTONIC, and takes peak RSS from \`wait4()\`.
kvmini boots the bzImage \`build/tiny-guest\`; QEMU boots the same code
as the PVH ELF \`build/tiny-guest.elf\` with \`-M
microvm,x-option-roms=off,rtc=off,isa-serial=on -accel kvm -nodefaults
-no-user-config\` (its qboot firmware loads the ELF through fw_cfg). Both
run the same command line and all checks (kvmini with \`--no-dtb\`, as
QEMU's PVH boot gives the guest no device tree); every run must pass. The
guest's own \`tg: elapsed\` is its TSC time from entry to the verdict.
Exits are exits to userspace (KVM_RUN returning): kvmini's \`--stats\`
counters in every timed run; for QEMU, and as a cross-check for kvmini, the
\`kvm:kvm_userspace_exit\` tracepoint under \`perf stat\` in separate untimed
runs. On this machine's kvm_pvm, \`kvm:kvm_exit\` never fires, so exits
handled inside KVM cannot be counted; \`kvm:kvm_pio\`/\`kvm:kvm_mmio\` count
port and MMIO accesses handled in KVM and in userspace, and
\`kvm:kvm_emulate_insn\` counts instructions run by KVM's instruction
emulator (on kvm_pvm: the guest's ring-0 code). Not a test: nothing here
passes or fails on time.
EOT
fi
bench_doc_insert "$doc" "$title" "$out"
