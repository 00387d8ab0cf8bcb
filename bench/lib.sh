# SPDX-License-Identifier: MIT
# What the benchmark scripts share; sourced by them (bash). Each function
# reports its failure on stderr with the calling script's name (BENCH).

BENCH=${BENCH:-$(basename "$0")}

# bench_need_vm: kvmini and the tiny guest are built.
bench_need_vm() {
    local f
    for f in ./kvmini build/tiny-guest build/tiny-guest.elf; do
        [ -e "$f" ] || { echo "$BENCH: $f missing; run make all" >&2; exit 1; }
    done
}

# bench_need_kvm_perf EVENTS: perf can count KVM's tracepoints.
bench_need_kvm_perf() {
    perf stat -x, -o /dev/null -e "$1" true 2>/dev/null ||
        { echo "$BENCH: perf with kvm tracepoints needed (apt-get install linux-perf)" >&2
          exit 1; }
}

# bench_perf_counts FILE: "USERSPACE_EXITS MMIO" from a perf stat -x, file.
bench_perf_counts() {
    awk -F, '$3 ~ /userspace_exit/ { u = $1 } $3 ~ /kvm_mmio/ { m = $1 }
             END { print u, m }' "$1"
}

# bench_vmm_table UNIT RAW: the kvmini vs QEMU table of medians from RAW
# (tab-separated, a header line, then: vmm run rate uexits/UNIT mmio/UNIT).
bench_vmm_table() {
    awk -F'\t' -v unit="$1" '
        NR > 1 { v[$1] = v[$1] " " $3; u[$1] = u[$1] " " $4
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
            printf "| %ss/s (guest clock) | %.0f | %.0f | %.2f |\n", unit,
                med(v["kvmini"]), med(v["qemu"]),
                med(v["kvmini"]) / med(v["qemu"])
            printf "| exits to userspace per %s | %.3f | %.3f | |\n", unit,
                med(u["kvmini"]), med(u["qemu"])
            printf "| MMIO exits per %s (kvm_mmio) | %.3f | %.3f | |\n", unit,
                med(m["kvmini"]), med(m["qemu"]) }' "$2"
}

# bench_doc_insert DOC TITLE BODY: BODY at the end of DOC's section TITLE
# (a "## " heading the caller made sure exists), a blank line around it.
bench_doc_insert() {
    local tmpdoc
    tmpdoc=$(mktemp)
    BODY=$3 awk -v title="$2" '
        function flush(at_end) {
            if (done)
                return
            if (!blank)
                print ""
            print ENVIRON["BODY"]
            if (!at_end)
                print ""
            done = 1
        }
        $0 == title { in_sec = 1 }
        in_sec && /^## / && $0 != title { flush(0); in_sec = 0 }
        { print; blank = ($0 == "") }
        END { flush(1) }' "$1" >"$tmpdoc"
    cat "$tmpdoc" >"$1"
    rm -f "$tmpdoc"
    echo "$BENCH: appended to $1" >&2
}
