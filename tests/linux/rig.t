#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The nested Linux rig's TAP runner: boots an L1 Linux under QEMU TCG with an
# emulated SVM CPU, where kvm_amd gives a working /dev/kvm, lets L1's /init
# boot the L2 kernel under kvmini (and/or QEMU microvm) once per scenario, and
# turns L1's serial report into one TAP line per check.
# Environment: RIG_VMMS ("kvmini", "qemu" or both; default kvmini),
# RIG_ONLY (scenario names; default all), RIG_L2_TIMEOUT (s per L2 boot),
# RIG_REPEAT (boot the whole list N times: boot-time statistics),
# RIG_L2_KERNEL (debian, default, or mini: tinyconfig + mini.config built
# from linux-source), RIG_OUT (work directory, default build/linux),
# RIG_KVMINI (the binary; default ./kvmini), KVMINI_RIG_CACHE (package and
# image cache), RIG_KEEP_LOG (print the whole L1 log), RIG_L1_APPEND and
# RIG_L2_APPEND (more kernel parameters, e.g. "loglevel=7" to see a hang;
# "rig.profile=1": L2 lists the largest gaps in its boot log), RIG_KVMINI_ARGS
# (more kvmini options, e.g. "--stats").
set -uo pipefail
cd "$(dirname "$0")/../.."
here=tests/linux
out=${RIG_OUT:-build/linux}
vmms=${RIG_VMMS:-kvmini}
kvmini=${RIG_KVMINI:-./kvmini}
only=${RIG_ONLY:-}
export RIG_L2_TIMEOUT=${RIG_L2_TIMEOUT:-300}
export RIG_ONLY=$only
export RIG_REPEAT=${RIG_REPEAT:-1}
log=$out/l1-serial.log

if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "1..0 # SKIP qemu-system-x86_64 missing (.ci/install-deps installs it)"
    exit 0
fi

# Both kernels get the host's TSC rate: calibrating it under TCG on a busy
# host is what hangs or skews their clocks.
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
export RIG_TSC_KHZ=${RIG_TSC_KHZ:-${khz:-2000000}}

# The plan: one test for L1's /dev/kvm, one per check per scenario per VMM.
plan=()
while IFS='|' read -r name opts checks; do
    name=$(echo $name); checks=$(echo $checks)
    [ -n "$name" ] || continue
    [ -z "$only" ] || case " $only " in *" $name "*) ;; *) continue ;; esac
    for v in $vmms; do
        # kvmini-only options (--console virtio): l1-init skips QEMU there.
        case "$v $opts" in "qemu "*--*) continue ;; esac
        for c in ${checks//,/ }; do plan+=("$v $name $c"); done
    done
done < <(grep -v '^#' $here/scenarios)
base=("${plan[@]}")
for ((r = 2; r <= RIG_REPEAT; r++)); do plan+=("${base[@]}"); done
nboots=$(( $(printf '%s\n' "${base[@]}" | awk '{ print $1, $2 }' |
             sort -u | wc -l) * RIG_REPEAT ))
echo "1..$(( ${#plan[@]} + 1 ))"
if [ ${#plan[@]} -eq 0 ]; then
    echo "not ok 1 - no scenario matches RIG_ONLY='$only'"
    exit 1
fi

mkdir -p $out
# One run per output directory at a time; two TCG L1s on two cores would
# also starve each other.
exec 9>$out/.lock
flock 9
if ! bash $here/build.sh $out "$kvmini" "$vmms" 2>$out/build.log; then
    echo "not ok 1 - build the rig's images"
    sed 's/^/# /' $out/build.log >&2
    n=1
    for t in "${plan[@]}"; do
        n=$((n + 1)); echo "not ok $n - $t # images not built"
    done
    exit 1
fi
sed 's/^/# /' $out/build.log

# L1 boot (tens of seconds under TCG) plus every L2 deadline, with margin.
deadline=$(( 300 + nboots * (RIG_L2_TIMEOUT + 30) ))
rm -f $log
start=$(date +%s)
# Each serial line is stamped with host seconds since L1 started: the
# boot times below come from these, not from L1's clock.
nice -n 10 timeout -s KILL $deadline qemu-system-x86_64 \
    -accel tcg -cpu max -M pc -m 2048 -smp 2 \
    -nodefaults -no-user-config -display none -no-reboot \
    -serial stdio -kernel $out/vmlinuz -initrd $out/l1.cpio \
    -append "console=ttyS0 quiet tsc_early_khz=$RIG_TSC_KHZ tsc=reliable \
panic=-1 mitigations=off ${RIG_L1_APPEND:-}" </dev/null 2>$out/qemu.log |
    perl -MTime::HiRes=time -ne 'BEGIN { $| = 1; $t0 = time }
        s/\r//g; printf "%.2f %s", time - $t0, $_' >$log
qrc=${PIPESTATUS[0]}
sed 's/^[0-9.]* //' $log >$log.txt
echo "# L1 ran $(( $(date +%s) - start ))s (QEMU status $qrc); log: $log"
[ -z "${RIG_KEEP_LOG:-}" ] || sed 's/^/# | /' $log.txt

n=1
if grep -q '^RIG-L1: ok kvm' $log.txt; then
    echo "ok 1 - L1 has /dev/kvm ($(sed -n 's/^RIG-L1: ok kvm //p' $log.txt))"
else
    echo "not ok 1 - L1 has /dev/kvm"
    { grep '^RIG-L1:' $log.txt; tail -n 30 $log.txt; cat $out/qemu.log; } |
        sed 's/^/#   /' >&2
fi

if ! grep -q '^RIG-L1: end' $log.txt; then
    {
        echo "# L1 stopped before its last scenario (QEMU status $qrc);" \
             "its last lines:"
        tail -n 15 $log.txt | sed 's/^/#   /'
        sed 's/^/#   qemu: /' $out/qemu.log
    } >&2
fi

shown=" "
declare -A seen=()
for t in "${plan[@]}"; do
    n=$((n + 1))
    read -r v name c <<<"$t"
    pfx="RIG: $v $name"
    # With RIG_REPEAT the k-th test of a check is its k-th report.
    k=$(( ${seen[$t]:-0} + 1 )); seen[$t]=$k
    line=$(grep -E "^$pfx (ok|fail) $c( |\$)" $log.txt | sed -n "${k}p")
    detail=${line#"$pfx "* $c}
    # "skip CHECK REASON": the check cannot apply to this setup.
    skip=$(grep -E "^$pfx skip $c( |\$)" $log.txt | sed -n "${k}p")
    if [ -n "$skip" ]; then
        echo "ok $n - $v $name: $c # SKIP ${skip#"$pfx skip $c "}"
    elif [ "${line#"$pfx ok "}" != "$line" ]; then
        echo "ok $n - $v $name: $c$detail"
    else
        echo "not ok $n - $v $name: $c$detail"
        # Diagnostics go to stderr, where prove shows them without -v.
        [ -n "$line" ] ||
            echo "# test $n ($v $name: $c): no result for this check" >&2
        # The deadline, the VMM's stderr and the console tail, once per
        # scenario (all repeats).
        case "$shown" in *" $v/$name "*) continue ;; esac
        shown="$shown$v/$name "
        {
            echo "# $v $name failed: what L1 saw of this boot"
            grep -E "^$pfx fail deadline" $log.txt |
                sed 's/^RIG: [^ ]* [^ ]* fail /#   /'
            grep -q "^RIG-L1: start $v $name " $log.txt ||
                echo "#   L1 never started this boot (L1 died or ran out of time)"
            grep "^RIG-ERR: $v $name " $log.txt |
                sed "s/^RIG-ERR: $v $name /#   stderr: /"
            grep "^RIG-CON: $v $name " $log.txt |
                sed "s/^RIG-CON: $v $name /#   console: /"
        } >&2
    fi
done
grep -E '^RIG: [a-z]+ [a-z0-9-]+ info ' $log.txt | sed 's/^RIG: /# /'
# Boot times per VMM and scenario, host clock: VMM start to L2's /init, and
# VMM start to the VMM's exit after the guest's reboot -f; and L2's own
# uptime when its /init started (kernel boot without the VMM's setup).
awk '$2 == "RIG-L1:" && $3 == "start" { t0[$4 " " $5] = $1 }
     $2 == "RIG:" && $5 == "ok" && $6 == "init" {
         k = $3 " " $4; i[k] = i[k] " " ($1 - t0[k])
         sub(/uptime=/, "", $7); u[k] = u[k] " " $7 }
     $2 == "RIG:" && $5 == "info" && $6 == "time" {
         k = $3 " " $4; e[k] = e[k] " " ($1 - t0[k]) }
     function med(s,   v, n, a, b, x) {
         n = split(s, v, " ")
         for (a = 2; a <= n; a++)
             for (b = a; b > 1 && v[b - 1] + 0 > v[b] + 0; b--) {
                 x = v[b]; v[b] = v[b - 1]; v[b - 1] = x }
         return n ? sprintf("median %.1f s (%.1f-%.1f, n=%d)",
                            (v[int((n + 1) / 2)] + v[int(n / 2) + 1]) / 2,
                            v[1], v[n], n) : "none" }
     END { for (k in t0)
               printf "# times: %s: to /init %s; to exit %s; " \
                      "L2 uptime at /init %s\n",
                      k, med(i[k]), med(e[k]), med(u[k]) }' $log | sort
exit 0
