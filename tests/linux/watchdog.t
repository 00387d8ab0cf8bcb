#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Test of the nested rig's watchdog (rig.t, watch.pl): freezes L1 on purpose
# by stopping its QEMU with SIGSTOP in the middle of the second of three
# scenarios, then checks that the rig noticed within RIG_STALL_S, killed
# that L1, ran the interrupted scenario and the ones after it (and not the
# finished one) in a fresh L1, reported the stall, and passed every check.
# Two more scenarios end L2 on purpose as the nested platform's faults do
# (docs/linux-rig.md, "Platform faults"): the first with an RCU stall
# report and a hang on its first run only, and L1 must stop it, run it
# again and pass it; the second with a triple fault on both runs, and it
# must fail with no third run.
# Environment: WATCHDOG_STALL_S (the rig's RIG_STALL_S here, default 30),
# WATCHDOG_OUT (work directory, default build/linux-watchdog).
set -uo pipefail
cd "$(dirname "$0")/../.."
out=${WATCHDOG_OUT:-build/linux-watchdog}
stall=${WATCHDOG_STALL_S:-30}
scen="boot-basic mem-512m console rigtest-fault-once rigtest-fault-twice"
victim=mem-512m

if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "1..0 # SKIP qemu-system-x86_64 missing (.ci/install-deps installs it)"
    exit 0
fi
echo "1..13"
n=0 failed=0
tap() { # STATUS DESCRIPTION...: one TAP line, ok when STATUS is 0
    local st=$1
    shift
    n=$((n + 1))
    if [ "$st" -eq 0 ]; then echo "ok $n - $*"; else
        echo "not ok $n - $*"; failed=$((failed + 1)); fi
}
mkdir -p $out
rm -f $out/rig.tap $out/rig.err $out/l1-serial.[0-9]*.log
RIG_OUT=$out RIG_STALL_S=$stall RIG_VMMS=kvmini RIG_ONLY="$scen" \
    RIG_RERUNS=1 bash tests/linux/rig.t >$out/rig.tap 2>$out/rig.err &
rig=$!

# Wait for L1 1 to start the victim, let its L2 boot for a moment, then
# freeze L1. Bounded: L1 and one L2 take well under a minute unloaded.
log1=$out/l1-serial.1.log
stopped="" t_stop=0
for ((k = 0; k < 1200; k++)); do
    if grep -q "RIG-L1: start kvmini $victim " $log1 2>/dev/null; then
        sleep 2
        pid=$(cat $out/l1.pid 2>/dev/null)
        # Only the L1 QEMU this run started, and only if still running.
        if [ -n "$pid" ] &&
            [ "$(cat /proc/$pid/comm 2>/dev/null)" = qemu-system-x86 ] &&
            ! grep -q '^[0-9.]* RIG-L1: end' $log1; then
            kill -STOP "$pid" && t_stop=$(date +%s.%N)
            # Every thread stops soon after the signal, not at once.
            for ((w = 0; w < 20; w++)); do
                stopped=$(awk '{ print $3 }' /proc/$pid/stat)
                [ "$stopped" != T ] || break
                sleep 0.1
            done
        fi
        break
    fi
    kill -0 $rig 2>/dev/null || break
    sleep 0.25
done
wait $rig
rc=$?

[ "$stopped" = T ]
tap $? "L1 1 stopped (SIGSTOP) during kvmini $victim (state" \
    "'${stopped:-never sent}')"

# The watchdog's verdict, from L1 1's log.
hl=$(grep -m 1 ' RIG-HOST: stall ' $log1)
sil=$(sed -n 's/.*silence=\([0-9.]*\).*/\1/p' <<<"$hl")
at=$(sed -n 's/.* at=\([0-9.]*\).*/\1/p' <<<"$hl")
late=$(awk -v a="${at:-0}" -v t="$t_stop" 'BEGIN { printf "%.1f", a - t }')
# Within RIG_STALL_S (plus a little: the last output came before the
# stop), and not before RIG_STALL_S of silence.
[ -n "$hl" ] && [ "$t_stop" != 0 ] &&
    awk -v s="$sil" -v l="$late" -v S="$stall" \
        'BEGIN { exit !(s >= S && l <= S + 5) }'
tap $? "stall found ${late}s after the stop (silence ${sil:-none}s," \
    "RIG_STALL_S=$stall)"

# Which boots each L1 started: L1 1 the first two, L1 2 the rest, in
# order (the interrupted one first; each rigtest-* twice), and no third L1.
starts() { sed -n 's/.* RIG-L1: start kvmini \([^ ]*\) .* boot=\([0-9]*\)$/\2:\1/p' \
    $1 2>/dev/null | xargs; }
s1=$(starts $log1) s2=$(starts $out/l1-serial.2.log)
[ "$s1" = "1:boot-basic 2:$victim" ]
tap $? "L1 1 ran boot-basic, then $victim ($s1)"
f1=rigtest-fault-once f2=rigtest-fault-twice
[ "$s2" = "2:$victim 3:console 4:$f1 4:$f1 5:$f2 5:$f2" ] &&
    [ ! -e $out/l1-serial.3.log ]
tap $? "a fresh L1 ran $victim first, then the rest, each rigtest-* twice," \
    "and boot-basic not again (${s2:-no L1 2})"
grep -q '^[0-9.]* RIG-HOST: exit status=137 ' $log1
tap $? "the watchdog killed L1 1 (SIGKILL)"

# Reported as a TAP comment, and in the summary.
want="# L1 1 stalled \\(no serial output for [0-9.]+ s\\) during kvmini $victim"
want="$want after [0-9.]+ s of L1 uptime.*; re-running 4 scenario\(s\)"
grep -qE "^$want in a fresh L1\$" $out/rig.err
tap $? "the stall and the re-run are reported"
sum='^# rig summary: 5 L2 boot\(s\) in 2 L1\(s\) .*; 1 stall\(s\),'
grep -qE "$sum 0 death\(s\); 4 boot\(s\) re-run; " $out/rig.err
tap $? "the summary counts 1 stall and 4 re-run boots"

# The triple faults on purpose: rigtest-fault-once passed on its second
# run; rigtest-fault-twice failed its reboot check on its second (status
# 3: kvmini's triple fault), its first run's failure not counted twice.
grep -qE "^ok [0-9]+ - kvmini $f1: init " $out/rig.tap &&
    grep -qE "^ok [0-9]+ - kvmini $f1: reboot status=0\$" $out/rig.tap
tap $? "$f1: the second run passed init and reboot"
[ "$(grep -E '^not ok ' $out/rig.tap)" = \
  "not ok $(grep -c '^\(not \)\?ok ' $out/rig.tap) - kvmini $f2: reboot status=3" ]
tap $? "$f2: only its reboot check failed, status 3 (no third run)"
grep -qE "^# rig summary: .*; 2 boot\(s\) run again after a platform fault \(kvmini $f1, kvmini $f2\);" $out/rig.err &&
    grep -q "^# kvmini $f1 ran again in the same L1: its first run ended in an RCU stall in L2 (status 137)" $out/rig.err &&
    grep -q "^# kvmini $f2 ran again in the same L1: its first run ended in a triple fault (status 3)" $out/rig.err &&
    grep -q "^#   | RIG: $f2 info fault attempt=1: triple fault on purpose" $out/rig.err
tap $? "both second runs are reported, with the first run's console"
# L1 stopped the hung first run on the stall report, not at the deadline.
grep -q "RIG-L1: kvmini $f1: L2 reported an RCU stall, stopping it" \
    $out/l1-serial.2.log
tap $? "$f1: L1 stopped its first run on the RCU stall report"

# Both L1s kept their idle VM (kvm-hold.c), which spares L1's kernel the
# live patches that most stalls came with.
grep -qE '^# rig summary: .*, idle VM held in 2\); ' $out/rig.err
tap $? "both L1s held an idle VM (kvm-hold)"

# Every other check passed, and the plan was complete.
plan=$(sed -n 's/^1\.\.\([0-9]*\)$/\1/p' $out/rig.tap)
nok=$(grep -c '^ok ' $out/rig.tap)
[ $rc -ne 0 ] && [ -n "$plan" ] && [ "$plan" -gt 1 ] &&
    [ "$nok" = $((plan - 1)) ] && [ "$(grep -c '^not ok' $out/rig.tap)" = 1 ]
tap $? "the rig passed all its other tests (status $rc, $nok of" \
    "${plan:-?} ok)"
# What the rig said, for a failure's reader.
[ $failed -eq 0 ] || sed 's/^/# rig: /' $out/rig.tap $out/rig.err >&2
exit 0
