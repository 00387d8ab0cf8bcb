#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The nested network benchmark's table (make linux-bench-net): reads the
# rig's results (rig.t's OUT/results, from bench-net boots: l2-init's
# netbench phases) and prints, per VMM and direction, the median TCP
# throughput over the boots as Markdown, from the host's stamps on the
# lines L2 printed around each phase (L1's and L2's clocks run unevenly
# when TCG is starved), and kvmini against QEMU when both ran.
#   usage: bench-net.sh [OUT]   (default build/linux)
set -uo pipefail
res=${1:-build/linux}/results
[ -s "$res" ] || { echo "bench-net.sh: no $res (run the rig first)" >&2; exit 1; }

awk -f "$(dirname "$0")/../../bench/stats.awk" -f /dev/stdin "$res" <<'EOF'
$3 == "RIG:" && $5 == "bench-net" && $6 == "info" && $7 == "net" {
    k = $4 " " $8
    if ($9 == "begin") { t0[$1 " " k] = $2; next }
    if ($9 != "end" || !(($1 " " k) in t0) || kv("bytes") != 8388608) next
    s = $2 - t0[$1 " " k]
    if (s <= 0) next
    if (!(k in n)) order[++nk] = k
    n[k]++; mbs[k] = mbs[k] " " 8 / s
    l2[k] = l2[k] " " (kv("l2_s") > 0 ? 8 / kv("l2_s") : 0)
}
END {
    print "| VMM | direction | MiB/s, median (min-max) | MiB/s by L2 clock | boots |"
    print "|---|---|---|---|---|"
    for (i = 1; i <= nk; i++) {
        k = order[i]; split(k, f, " "); c = sample_sort(mbs[k], v)
        printf "| %s | %s | %.2f (%.2f-%.2f) | %.2f | %d |\n", f[1], f[2],
               median(mbs[k]), v[1], v[c], median(l2[k]), n[k]
        m[k] = median(mbs[k])
    }
    hdr = 0
    for (i = 1; i <= nk; i++) {
        split(order[i], f, " ")
        if (f[1] != "kvmini" || !m["qemu " f[2]]) continue
        if (!hdr++) print "\n| direction | kvmini/QEMU (MiB/s medians) |\n|---|---|"
        printf "| %s | %.2f |\n", f[2], m[order[i]] / m["qemu " f[2]]
    }
}
EOF
