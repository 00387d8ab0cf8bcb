#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The seccomp sweep (docs/security.md): runs integration tests (all, or
# those named) one at a time with every kvmini in log mode
# (KVMINI_SECCOMP=log: a syscall off a thread's list proceeds and the
# kernel logs it), then lists the kernel's audit records (type=1326) of
# this tree's kvmini by thread and syscall. An empty list means no test
# made a syscall its thread's filter lacks; each line is a missing rule
# or a path that should not make that syscall. The probe's getppid
# (seccomp.t's log check) is expected and left out.
#
#   tests/seccomp-sweep.sh [tests/integration/X.t ...]
#
# Needs root (dmesg) and a kernel that logs SECCOMP_RET_LOG (log in
# /proc/sys/kernel/seccomp/actions_logged). Records come from the kernel
# log, rate-limited by printk: a summary line warns when the kernel says
# it dropped some; run the sweep again after adding rules.
set -u
cd "$(dirname "$0")/.." || exit 1
out=${SWEEP_OUT:-build/seccomp-sweep}
mkdir -p "$out"
if [ $# -eq 0 ]; then set -- tests/integration/*.t; fi
grep -qw log /proc/sys/kernel/seccomp/actions_logged ||
    { echo "seccomp-sweep: the kernel does not log SECCOMP_RET_LOG" >&2; exit 1; }

dmesg -W >"$out/kmsg" 2>&1 &
follower=$!
trap 'kill "$follower" 2>/dev/null' EXIT
sleep 0.5
fails=0
for t in "$@"; do
    name=$(basename "$t" .t)
    KVMINI_SECCOMP=log nice -n 10 prove -v --exec bash "$t" \
        >"$out/$name.log" 2>&1
    rc=$?
    echo "$t: prove exit $rc ($out/$name.log)"
    [ "$rc" -eq 0 ] || fails=$((fails + 1))
done
sleep 1
kill "$follower" 2>/dev/null
wait "$follower" 2>/dev/null

# This tree's binary, or a copy a test made in its temporary directory
# (unpriv.t). comm= is the thread's name (blk.q0, vcpu0, cd-file, ...).
me=$(basename "$PWD")
grep 'type=1326' "$out/kmsg" |
    grep -E "exe=\"[^\"]*(/$me/kvmini|/kvmini-it\.[^/\"]+/kvmini)\"" \
        >"$out/records"
unistd=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
awk -v tbl="$unistd" '
    BEGIN {
        while ((getline l < tbl) > 0)
            if (split(l, f, " ") == 3 && f[1] == "#define" && f[2] ~ /^__NR_/)
                name[f[3]] = substr(f[2], 6)
    }
    {
        comm = ""; nr = ""
        for (i = 1; i <= NF; i++) {
            if ($i ~ /^comm=/) { comm = substr($i, 6); gsub(/"/, "", comm) }
            if ($i ~ /^syscall=/) nr = substr($i, 9)
        }
        if (nr == 110) next # the probe (getppid)
        # blk.q3 -> blk.q*, vcpu1 -> vcpu*: one line per kind of thread
        gsub(/[0-9]+$/, "*", comm)
        n[comm " " nr " " (nr in name ? name[nr] : "?")]++
    }
    END { for (k in n) printf "%-16s %s  (%d records)\n", "", k, n[k] }
' "$out/records" | sed 's/^ *//' | sort >"$out/summary"
echo "# $(wc -l <"$out/records") audit records of kvmini;" \
    "$(wc -l <"$out/summary") thread/syscall pairs; $fails test file(s) failed"
if grep -Eq 'audit_lost|printk limit|callbacks suppressed' "$out/kmsg"; then
    echo "# warning: the kernel dropped some log lines (rate limit); run again"
fi
cat "$out/summary"
