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

awk '
function sorted(s, v,   n, a, b, x) {
    n = split(s, v, " ")
    for (a = 2; a <= n; a++)
        for (b = a; b > 1 && v[b - 1] + 0 > v[b] + 0; b--) {
            x = v[b]; v[b] = v[b - 1]; v[b - 1] = x }
    return n
}
function med(s,   v, n) {
    n = sorted(s, v)
    return n ? (v[int((n + 1) / 2)] + v[int(n / 2) + 1]) / 2 : -1
}
function kv(k,   i, f) {     # value of k=... in this line
    for (i = 1; i <= NF; i++)
        if (index($i, k "=") == 1) { f = $i; sub(/^[^=]*=/, "", f); return f }
    return ""
}
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
        k = order[i]; split(k, f, " "); c = sorted(mbs[k], v)
        printf "| %s | %s | %.2f (%.2f-%.2f) | %.2f | %d |\n", f[1], f[2],
               med(mbs[k]), v[1], v[c], med(l2[k]), n[k]
        m[k] = med(mbs[k])
    }
    hdr = 0
    for (i = 1; i <= nk; i++) {
        split(order[i], f, " ")
        if (f[1] != "kvmini" || !m["qemu " f[2]]) continue
        if (!hdr++) print "\n| direction | kvmini/QEMU (MiB/s medians) |\n|---|---|"
        printf "| %s | %.2f |\n", f[2], m[order[i]] / m["qemu " f[2]]
    }
}' "$res"
