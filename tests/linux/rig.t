#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The nested Linux rig's TAP runner: boots an L1 Linux under QEMU TCG with an
# emulated SVM CPU, where kvm_amd gives a working /dev/kvm, lets L1's /init
# boot the L2 kernel under kvmini (and/or QEMU microvm) once per scenario, and
# turns L1's serial report into one TAP line per check. An L1 that stalls
# (no serial output for RIG_STALL_S seconds) or dies is killed, and what it
# left undone runs again in a fresh L1 (docs/linux-rig.md, "Stalls").
# Environment: RIG_VMMS ("kvmini", "qemu" or both; default kvmini),
# RIG_ONLY (scenario names; default all), RIG_L2_TIMEOUT (s per L2 boot),
# RIG_REPEAT (boot the whole list N times: boot-time statistics),
# RIG_L2_KERNEL (debian, default, or mini: tinyconfig + mini.config built
# from linux-source), RIG_OUT (work directory, default build/linux),
# RIG_KVMINI (the binary; default ./kvmini), KVMINI_RIG_CACHE (package and
# image cache), RIG_KEEP_LOG (print the whole L1 log), RIG_L1_APPEND and
# RIG_L2_APPEND (more kernel parameters, e.g. "loglevel=7" to see a hang;
# "rig.profile=1": L2 lists the largest gaps in its boot log), RIG_KVMINI_ARGS
# (more kvmini options, e.g. "--stats"), RIG_STALL_S (seconds of L1 silence
# that mean a frozen L1), RIG_RERUNS (fresh L1s after a stall or death;
# default 3), RIG_L1_HOLD (0: no idle VM kept open in L1, kvm-hold.c;
# default 1), RIG_L1_QEMU (L1's machine, CPU and vCPU options for QEMU),
# RIG_L1_ACCEL (its -accel, default tcg),
# RIG_KTRACE (KiB per CPU: trace L1's KVM during each L2 boot), RIG_L1_THP
# and RIG_L1_COMPACT (L1's huge pages; compact L1's memory every N s).
# L1 also gets the disk images tests/linux/disk.sh makes, which the host
# checks after the last L1 (the host-* checks).
set -uo pipefail
cd "$(dirname "$0")/../.."
here=tests/linux
out=${RIG_OUT:-build/linux}
vmms=${RIG_VMMS:-kvmini}
kvmini=${RIG_KVMINI:-./kvmini}
only=${RIG_ONLY:-}
export RIG_L2_TIMEOUT=${RIG_L2_TIMEOUT:-300}
repeat=${RIG_REPEAT:-1}
# A healthy L1 prints at least its heartbeat every 2 s of its time: the
# longest silence measured was 6.9 s, under a load of 7 on 2 cores.
stall_s=${RIG_STALL_S:-60}
# A stall costs RIG_STALL_S plus the boots re-run; one CI run met two.
reruns=${RIG_RERUNS:-3}
# microvm froze less often per L2 boot than pc (docs/linux-rig.md, "Stalls").
l1_qemu=${RIG_L1_QEMU:--M microvm,pit=on,pic=on,rtc=on -cpu max -smp 2}
log=$out/l1-serial.log

if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "1..0 # SKIP qemu-system-x86_64 missing (.ci/install-deps installs it)"
    exit 0
fi

# Both kernels get the host's TSC rate: calibrating it under TCG on a busy
# host is what hangs or skews their clocks.
khz=$(awk -F: '/^cpu MHz/ { printf "%d", $2 * 1000; exit }' /proc/cpuinfo)
export RIG_TSC_KHZ=${RIG_TSC_KHZ:-${khz:-2000000}}

# The boots, in the order L1 runs them (boots[1] first): one per scenario
# per VMM, the whole list RIG_REPEAT times; each with its checks. L1 gets
# the same list as VMM:SCENARIO words (RIG_PLAN), so a fresh L1 can start
# at any boot.
boots=("") bchecks=("") unplanned=""
for ((r = 1; r <= repeat; r++)); do
    # words: the optional fourth column (L2 words, l1-init's), read
    # apart so it does not end up in checks.
    while IFS='|' read -r name opts checks words; do
        name=$(echo $name); checks=$(echo $checks)
        [ -n "$name" ] || continue
        [ -z "$only" ] || case " $only " in *" $name "*) ;; *) continue ;; esac
        # bench-*, long-* (heavy: docs/linux-rig.md, "Platform faults"),
        # rigtest-* (watchdog.t's) and wip-* (work in progress) scenarios
        # run only when named (RIG_ONLY).
        [ -n "$only" ] ||
            case $name in bench-*|long-*|rigtest-*|wip-*) continue ;; esac
        # The mini kernel has no ext4, and QEMU's disks need ACPI.
        if [ "${RIG_L2_KERNEL:-debian}" = mini ]; then
            case "$opts" in *--disk*)
                unplanned="$unplanned $name"; continue ;;
            esac
        fi
        for v in $vmms; do
            # kvmini-only options (--console virtio, --device) have no
            # QEMU mapping; --disk, --net and --port have one (l1-init).
            o=${opts//--disk /}; o=${o//--net /}; o=${o//--port /}
            case "$v $o" in "qemu "*--*) continue ;; esac
            # QEMU's NICs, like its disks, need ACPI, which mini has not.
            [ "$v ${RIG_L2_KERNEL:-debian}" != "qemu mini" ] ||
                case "$opts" in *--net*) continue ;; esac
            boots+=("$v $name"); bchecks+=("${checks//,/ }")
        done
    done < <(grep -v '^#' $here/scenarios)
done
nb=$(( ${#boots[@]} - 1 ))
ntests=1
for ((i = 1; i <= nb; i++)); do
    set -- ${bchecks[i]}; ntests=$((ntests + $#))
done
echo "1..$ntests"
[ -z "$unplanned" ] ||
    echo "# not run with the mini L2 kernel (no ext4, no ACPI):$unplanned"
if [ "$nb" -eq 0 ]; then
    echo "not ok 1 - no scenario matches RIG_ONLY='$only'"
    exit 1
fi
RIG_PLAN=
for ((i = 1; i <= nb; i++)); do RIG_PLAN="$RIG_PLAN ${boots[i]/ /:}"; done
export RIG_PLAN=${RIG_PLAN# }

mkdir -p $out
# One run per output directory at a time; two TCG L1s on two cores would
# also starve each other.
exec 9>$out/.lock
flock 9
# The disk images L1 gets as virtio drives (disk.sh make prints their
# QEMU options), then checks on the host afterwards (host-* checks).
if ! { bash $here/build.sh $out "$kvmini" "$vmms" &&
       l1_disks=$(bash $here/disk.sh make $out "$vmms" "$l1_qemu"); } \
    2>$out/build.log; then
    echo "not ok 1 - build the rig's images"
    sed 's/^/# /' $out/build.log >&2
    for ((n = 2; n <= ntests; n++)); do
        echo "not ok $n - images not built"
    done
    exit 1
fi
sed 's/^/# /' $out/build.log

# run_l1 ATTEMPT FROM: one L1 that runs the boots from FROM on, under the
# watchdog; its stamped serial log is $out/l1-serial.ATTEMPT.log. The
# deadline (L1 boot plus every L2 deadline, with margin) is a backstop: a
# frozen L1 is found by its silence long before.
run_l1() {
    local alog=$out/l1-serial.$1.log left=$(( nb - $2 + 1 ))
    rm -f $alog $alog.regs $out/l1-mon.sock
    echo "== L1 $1, from boot $2" >>$out/qemu.log
    perl $here/watch.pl $alog "$stall_s" \
        $(( 300 + left * (RIG_L2_TIMEOUT + 30) )) $out/l1.pid \
        $out/l1-mon.sock -- nice -n 10 qemu-system-x86_64 \
        -accel ${RIG_L1_ACCEL:-tcg} $l1_qemu -m 2048 \
        -nodefaults -no-user-config -display none -no-reboot \
        -serial stdio -monitor unix:$out/l1-mon.sock,server=on,wait=off \
        -kernel $out/vmlinuz -initrd $out/l1.cpio $l1_disks \
        -append "console=ttyS0 quiet tsc_early_khz=$RIG_TSC_KHZ tsc=reliable \
panic=-1 mitigations=off nokaslr rig.from=$2 ${RIG_L1_APPEND:-}" \
        </dev/null 2>>$out/qemu.log
}

# split_l1 LOG: appends each boot this L1 finished (its start line up to
# the next start or L1's end) to $out/results as "BOOT STAMP LINE", the
# unfinished one to LOG.partial, a first run that L1 ran again after a
# platform fault (l1-init's platform_fault) to $out/retried; prints what
# became of the L1 as "KEY VALUE" lines: end (1: L1 finished its list),
# last (the last boot it started), uptime (its last known uptime), host
# (the watchdog's verdict), status, longest (silence, s), secs (host
# seconds it ran), panic.
split_l1() {
    awk -v res=$out/results -v part=$1.partial -v ret=$out/retried '
        function flush(to) { if (cur) printf "%s", buf >>to; buf = "" }
        { txt = $0; sub(/^[0-9.]+ /, "", txt) }
        match(txt, /uptime=[0-9.]+/) {
            up = substr(txt, RSTART + 7, RLENGTH - 7) }
        txt ~ /^RIG-L1: alive / { next }
        txt ~ /Kernel panic/ && panic == "" { panic = txt }
        txt ~ /^RIG-HOST: (stall|deadline) / { host = txt; next }
        txt ~ /^RIG-HOST: exit / {
            split(txt, f, /[ =]/); status = f[4]; longest = f[6]
            secs = $1; next }
        # A boot L1 ran again after a platform fault: its first run goes
        # to $out/retried, for the record.
        txt ~ /^RIG-L1: retry / {
            printf "%s", buf cur " " $0 "\n" >>ret; buf = ""; next }
        txt ~ /^RIG-L1: start / {
            flush(res)
            cur = txt; sub(/.* boot=/, "", cur); last = cur }
        txt ~ /^RIG-L1: end/ { flush(res); cur = 0; end = 1 }
        cur { buf = buf cur " " $0 "\n" }
        END {
            if (cur) printf "%s", buf >part
            sub(/^RIG-HOST: /, "", host)
            printf "end %d\nlast %d\nuptime %s\nhost %s\n", end, last,
                   up == "" ? "?" : up, host
            printf "status %s\nlongest %s\nsecs %d\npanic %s\n", status,
                   longest, secs, panic }' $1
}

# Run the boots, again in a fresh L1 after one that stalled or died: the
# interrupted boot first, then the rest. A boot interrupted twice fails;
# at most 1 + RIG_RERUNS L1s run.
rm -f $log $log.txt $out/l1-serial.[0-9]*.log* $out/results $out/qemu.log
: >$out/results; : >$out/retried
declare -a nint=() why=()
attempt=0 from=1 nstall=0 ndeath=0 nrerun=0 longest=0 events=""
while [ "$from" -le "$nb" ]; do
    attempt=$((attempt + 1))
    alog=$out/l1-serial.$attempt.log
    run_l1 $attempt $from
    declare -A st=()
    while read -r k v; do st[$k]=$v; done < <(split_l1 $alog)
    longest=$(awk -v a="$longest" -v b="${st[longest]:-0}" \
        'BEGIN { print (b + 0 > a + 0) ? b : a }')
    echo "# L1 $attempt ran ${st[secs]}s (QEMU status ${st[status]}," \
         "longest silence ${st[longest]}s); log: $alog"
    [ "${st[end]}" != 1 ] || break

    i=${st[last]}
    [ "$i" -ge "$from" ] || i=$from
    where="${boots[i]}"
    [ "${st[last]}" -ge "$from" ] || where="its boot (before ${boots[i]})"
    case ${st[host]} in
    stall*) what="stalled (no serial output for ${st[host]#*silence=}";
            what="${what% at=*} s)"; nstall=$((nstall + 1)) ;;
    deadline*) what="${st[host]#deadline }"
               what="ran out of time (deadline ${what% at=*} s)" ;;
    *) what="died (QEMU status ${st[status]}${st[panic]:+; ${st[panic]}})"
       ndeath=$((ndeath + 1)) ;;
    esac
    what="L1 $attempt $what during $where"
    [ "${st[uptime]}" = "?" ] ||
        what="$what after ${st[uptime]} s of L1 uptime"
    [ ! -s $alog.regs ] || what="$what (registers: $alog.regs)"
    # A stall in L1's own boot is not the scenario's: it is not counted
    # against it, but it does use up a fresh L1.
    if [ "${st[last]}" -ge "$from" ]; then
        nint[i]=$(( ${nint[i]:-0} + 1 ))
        why[i]="${why[i]:-}#   $what"$'\n'
        [ ! -s $alog.partial ] || why[i]="${why[i]}$(tail -n 8 $alog.partial |
            cut -d' ' -f3- | sed 's/^/#     | /')"$'\n'
    fi
    events="$events; $what"
    case ${st[host]} in
    deadline*)
        echo "# $what; no re-run: the deadline is a backstop, and this L1" \
             "was alive until it" >&2
        break ;;
    esac
    from=$i
    [ "${nint[i]:-0}" -lt 2 ] || from=$((i + 1))
    if [ "$from" -gt "$nb" ]; then
        echo "# $what; nothing left to run" >&2
        break
    fi
    if [ "$attempt" -gt "$reruns" ]; then
        echo "# $what; no fresh L1 left (RIG_RERUNS=$reruns)" >&2
        break
    fi
    echo "# $what; re-running $(( nb - from + 1 )) scenario(s) in a fresh L1" >&2
    nrerun=$(( nrerun + nb - from + 1 ))
done
cat $out/l1-serial.[0-9]*.log >$log
# The host's checks of the disk images (host-*), once every L1 is done,
# as results of the boot that lists them; only for a boot whose L2 got
# through all its checks.
for ((i = 1; i <= nb; i++)); do
    read -r v name <<<"${boots[i]}"
    for c in ${bchecks[i]}; do
        case $c in host-*) ;; *) continue ;; esac
        r="fail the L2 boot did not finish its checks"
        # Not grep -q: under pipefail, its early exit can kill awk with
        # SIGPIPE and fail the pipeline although the line is there.
        awk -v b=$i '$1 == b' $out/results |
            grep " RIG: $v $name done " >/dev/null &&
            r=$(bash $here/disk.sh check $out $v ${c#host-} 2>&1)
        echo "$i 0 RIG: $v $name ${r%% *} $c ${r#* }" >>$out/results
    done
done
# Without stamps and heartbeats: what L1 said.
sed 's/^[0-9.]* //' $log | grep -v '^RIG-L1: alive ' >$log.txt
[ -z "${RIG_KEEP_LOG:-}" ] || sed 's/^/# | /' $log.txt

if grep -q '^RIG-L1: ok kvm' $log.txt && ! grep -q '^RIG-L1: fail kvm' $log.txt
then
    echo "ok 1 - L1 has /dev/kvm ($(sed -n 's/^RIG-L1: ok kvm //p' $log.txt |
                                    head -n 1))"
else
    echo "not ok 1 - L1 has /dev/kvm"
    l1_failed=1
    { grep '^RIG-L1:' $log.txt; tail -n 30 $log.txt; cat $out/qemu.log; } |
        sed 's/^/#   /' >&2
fi

n=1
nfail=0
shown=" "
for ((i = 1; i <= nb; i++)); do
    read -r v name <<<"${boots[i]}"
    pfx="RIG: $v $name"
    seg=$(awk -v b=$i '$1 == b { sub(/^[^ ]* [^ ]* /, ""); print }' \
        $out/results)
    for c in ${bchecks[i]}; do
        n=$((n + 1))
        line=$(grep -E "^$pfx (ok|fail) $c( |\$)" <<<"$seg" | head -n 1)
        detail=${line#"$pfx "* $c}
        # "skip CHECK REASON": the check cannot apply to this setup.
        skip=$(grep -E "^$pfx skip $c( |\$)" <<<"$seg" | head -n 1)
        if [ -n "$skip" ]; then
            echo "ok $n - $v $name: $c # SKIP ${skip#"$pfx skip $c "}"
            continue
        elif [ "${line#"$pfx ok "}" != "$line" ]; then
            echo "ok $n - $v $name: $c$detail"
            continue
        fi
        echo "not ok $n - $v $name: $c$detail"
        nfail=$((nfail + 1))
        # Diagnostics go to stderr, where prove shows them without -v.
        [ -n "$line" ] ||
            echo "# test $n ($v $name: $c): no result for this check" >&2
        # The stalls, the deadline, the VMM's stderr and the console tail,
        # once per scenario (the first failed boot of its repeats).
        case "$shown" in *" $v/$name "*) continue ;; esac
        shown="$shown$v/$name "
        {
            echo "# $v $name failed: what L1 saw of this boot"
            [ -z "${why[i]:-}" ] ||
                printf '#   L1 stopped during it %s time(s):\n%s' \
                    "${nint[i]}" "${why[i]}"
            grep -E "^$pfx fail deadline" <<<"$seg" |
                sed 's/^RIG: [^ ]* [^ ]* fail /#   /'
            [ -n "$seg" ] ||
                echo "#   no L1 finished this boot (it stalled or died, or" \
                     "ran out of time or of fresh L1s)"
            grep "^RIG-ERR: $v $name " <<<"$seg" |
                sed "s/^RIG-ERR: $v $name /#   stderr: /"
            grep "^RIG-CON: $v $name " <<<"$seg" |
                sed "s/^RIG-CON: $v $name /#   console: /"
            # L1's own kernel hit during the boot: the nested platform
            # failed (docs/linux-rig.md, "Platform faults"), not only L2.
            grep "^RIG: $v $name info l1-kernel " <<<"$seg" |
                sed "s/^RIG: $v $name info l1-kernel /#   L1 kernel: /"
            ! grep -q "^RIG: $v $name info l1-kernel " <<<"$seg" ||
                echo "#   L1's own kernel failed during this boot: a" \
                     "nested-platform fault (docs/linux-rig.md," \
                     "\"Platform faults\"); its L2 failures are not" \
                     "evidence against the VMM, but are still failures"
        } >&2
    done
done
cut -d' ' -f3- $out/results | grep -E '^RIG: [a-z]+ [a-z0-9-]+ info ' |
    sed 's/^RIG: /# /'
# Boot times per VMM and scenario, host clock: VMM start to L2's /init, and
# VMM start to the VMM's exit after the guest's reboot -f; and L2's own
# uptime when its /init started (kernel boot without the VMM's setup).
cut -d' ' -f2- $out/results |
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
                      k, med(i[k]), med(e[k]), med(u[k]) }' | sort
# One line a run, stalls or not, so CI logs show the rate over time.
# Boots during which L1's own kernel complained (l1-init's l1_kernel).
nplat=$(awk '$3 == "RIG:" && $6 == "info" && $7 == "l1-kernel" { b[$1] = 1 }
             END { n = 0; for (i in b) n++; print n }' $out/results)
# Boots L1 ran a second time because the first ended as the platform's
# faults do (l1-init's platform_fault): how, and the first run's console.
nretry=0 retried=""
while read -r b _ _ _ v name _ how; do
    nretry=$((nretry + 1)) retried="$retried, $v $name"
    echo "# $v $name ran again in the same L1: its first run ended in" \
         "${how#after }; the first run's console ended:"
    awk -v b="$b" '$1 == b && $3 == "RIG-CON:" {
        sub(/^[^ ]* [^ ]* RIG-CON: [^ ]* [^ ]* /, ""); print "#   | " $0 }' \
        $out/retried | tail -n 12
done < <(awk '$3 == "RIG-L1:" && $4 == "retry"' $out/retried) >&2
# Whether each L1 kept its idle VM (kvm-hold.c): without it the L2 boots
# patch L1's kernel text again.
nhold=$(grep -c '^RIG-L1: kvm-hold ok' $log.txt)
grep '^RIG-L1: kvm-hold fail' $log.txt | sed 's/^RIG-L1: /# /' >&2
echo "# rig summary: $nb L2 boot(s) in $attempt L1(s) (RIG_L1_QEMU='$l1_qemu'," \
     "RIG_STALL_S=$stall_s, idle VM held in $nhold); $nstall stall(s)," \
     "$ndeath death(s); $nrerun" \
     "boot(s) re-run; longest L1 silence ${longest}s; $nretry boot(s)" \
     "run again after a platform fault${retried:+ (${retried#, })};" \
     "${nplat:-0} L2" \
     "boot(s) with an L1 kernel fault${events}" >&2
# Without prove (make linux-test), the status says whether a check failed.
[ "$nfail" -eq 0 ] && [ -z "${l1_failed:-}" ]
