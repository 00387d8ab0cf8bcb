# SPDX-License-Identifier: MIT
# Statistics for the benchmark tables, an awk library (POSIX awk, mawk
# too): awk -f bench/stats.awk -f PROGRAM. A sample is a string of numbers
# separated by spaces, grown with s = s " " x, so one array entry holds a
# whole sample.

# Sorts sample s into v[1..n] (numerically; samples are small) and
# returns n.
function sample_sort(s, v,   n, a, b, x) {
    n = split(s, v, " ")
    for (a = 2; a <= n; a++)
        for (b = a; b > 1 && v[b - 1] + 0 > v[b] + 0; b--) {
            x = v[b]; v[b] = v[b - 1]; v[b - 1] = x }
    return n
}

# The median of sample s; -1 when it is empty.
function median(s,   v, n) {
    n = sample_sort(s, v)
    return n ? (v[int((n + 1) / 2)] + v[int(n / 2) + 1]) / 2 : -1
}

# "median (min-max)" of sample s, each number printed with fmt.
function spread(s, fmt,   v, n) {
    n = sample_sort(s, v)
    return sprintf(fmt " (" fmt "-" fmt ")", median(s), v[1], v[n])
}

# The value of key=value field k in the current line ("" if absent).
function kv(k,   i, f) {
    for (i = 1; i <= NF; i++)
        if (index($i, k "=") == 1) { f = $i; sub(/^[^=]*=/, "", f); return f }
    return ""
}
