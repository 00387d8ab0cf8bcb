#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The nested disk benchmark's table (make linux-bench-blk): reads the rig's
# results (rig.t's OUT/results, from bench-blk boots: l2-init's blkbench
# phases and, with --stats, kvmini's counters) and prints, per VMM and
# phase, the medians over the boots as Markdown. Throughput comes from the
# host's stamps on the lines L2 printed around each phase (L1's and L2's
# clocks run unevenly when TCG is starved); L2's own clock is shown too.
#   usage: bench-blk.sh [OUT]   (default build/linux)
set -uo pipefail
res=${1:-build/linux}/results
[ -s "$res" ] || { echo "bench-blk.sh: no $res (run the rig first)" >&2; exit 1; }

awk -f "$(dirname "$0")/../../bench/stats.awk" -f /dev/stdin "$res" <<'EOF'
function after(w,   i) {     # the field after the word w
    for (i = 1; i < NF; i++) if ($i == w) return $(i + 1)
    return 0
}
$3 == "RIG:" && $5 == "bench-blk" && $6 == "info" && $7 == "blk" {
    k = $4 " " $8
    if ($9 == "begin") { t0[$1 " " k] = $2; next }
    if ($9 != "end" || kv("status") != 0 || !(($1 " " k) in t0)) next
    s = $2 - t0[$1 " " k]; mib = kv("bytes") / 1048576; rq = kv("reqs")
    if (s <= 0 || rq <= 0) next
    if (!(k in n)) order[++nk] = k
    n[k]++
    mbs[k] = mbs[k] " " mib / s; iops[k] = iops[k] " " rq / s
    kib[k] = kib[k] " " kv("bytes") / 1024 / rq
    l2[k] = l2[k] " " (kv("l2_s") > 0 ? mib / kv("l2_s") : 0)
    next
}
$3 == "RIG-ERR:" && $4 == "kvmini" && $5 == "bench-blk" {
    b = $1
    if ($6 ~ /^vcpu[0-9]+:$/ && $7 == "runs") {
        runs[b] += after("runs"); mmio[b] += after("mmio")
        pio[b] += after("pio"); boots[b] = 1
    } else if ($6 == "virtio" && $7 == "blk" && $8 ~ /^q[0-9]+:$/) {
        kicks[b] += after("kicks"); irqs[b] += after("irqs")
        chains[b] += after("chains")
    }
}
END {
    print "| VMM | phase | MiB/s, median (min-max) | requests/s | KiB/request | MiB/s by L2 clock | boots |"
    print "|---|---|---|---|---|---|---|"
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, f, " ")
        printf "| %s | %s | %s | %s | %.0f | %.1f | %d |\n", f[1], f[2],
               spread(mbs[k], "%.1f"), spread(iops[k], "%.0f"),
               median(kib[k]), median(l2[k]), n[k]
        ph[f[2]] = 1; m[f[1] " " f[2]] = median(mbs[k])
    }
    # kvmini against QEMU, phase by phase, when both ran.
    hdr = 0
    for (i = 1; i <= nk; i++) {
        split(order[i], f, " ")
        if (f[1] != "kvmini" || !(("qemu " f[2]) in m) || !m["qemu " f[2]])
            continue
        if (!hdr++) print "\n| phase | kvmini/QEMU (MiB/s medians) |\n|---|---|"
        printf "| %s | %.2f |\n", f[2], m["kvmini " f[2]] / m["qemu " f[2]]
    }
    nb = 0
    for (b in boots) if (chains[b] > 0) {
        nb++
        e = e " " mmio[b] / chains[b]; r = r " " runs[b] / chains[b]
        kc = kc " " kicks[b] / chains[b]; ir = ir " " irqs[b] / chains[b]
        ch = ch " " chains[b]; mm = mm " " mmio[b]; ps = ps " " pio[b]
    }
    if (!nb) {
        print "\n(no kvmini --stats counters: run with RIG_KVMINI_ARGS=--stats)"
        exit
    }
    print "\nkvmini, whole boot (--stats), medians over " nb " boot(s):\n"
    print "| requests | MMIO exits | MMIO exits/request | kicks/request | interrupts/request | port I/O exits | all exits/request |"
    print "|---|---|---|---|---|---|---|"
    printf "| %d | %d | %.2f | %.2f | %.2f | %d | %.1f |\n", median(ch),
           median(mm), median(e), median(kc), median(ir), median(ps),
           median(r)
}
EOF
