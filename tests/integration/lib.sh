# SPDX-License-Identifier: MIT
# Shared helpers for the integration tests (bash, TAP output). Each test
# boots real guests under KVM with a deadline and kills its VM after it.
set -u
cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
KVMINI=${KVMINI:-./kvmini}
GUEST=${GUEST:-build/tiny-guest}
T_N=0
T_FAIL=0
TMP=$(mktemp -d /tmp/kvmini-it.XXXXXX)
trap 'rm -rf "$TMP"' EXIT

ok() { T_N=$((T_N + 1)); echo "ok $T_N - $*"; }
not_ok() { T_N=$((T_N + 1)); T_FAIL=$((T_FAIL + 1)); echo "not ok $T_N - $*"; }
skip() { T_N=$((T_N + 1)); echo "ok $T_N # SKIP $*"; }
diag() { awk '{ print "# " $0 }' "$@"; }
check() { # check DESCRIPTION COMMAND...: ok if the command succeeds
    local d=$1; shift
    if "$@"; then ok "$d"; else not_ok "$d"; fi
}
done_testing() { echo "1..$T_N"; [ "$T_FAIL" -eq 0 ]; }

# Must this run be complete? Under CI (CI=true) and `make check`
# (KVMINI_FULL=1) everything is installed, so nothing may skip.
full_run() { [ "${CI:-}" = true ] || [ "${KVMINI_FULL:-}" = 1 ]; }

# Without KVM a test cannot run: say so loudly; in a full run that is a
# failure, and only a partial run (a bare prove or make integration
# elsewhere) may skip.
require_kvm() {
    local why=""
    if [ ! -e /dev/kvm ]; then why="no /dev/kvm on this host"
    elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then why="no permission on /dev/kvm"
    fi
    [ -z "$why" ] && return 0
    if full_run; then
        echo "1..1"; echo "not ok 1 - KVM required (CI or make check): $why"
        exit 1
    fi
    echo "1..0 # SKIP $why (a partial run)"; exit 0
}

# run_vm DEADLINE_S NAME ARGS... : runs kvmini, stdin from $VM_STDIN
# (default /dev/null); leaves $TMP/NAME.out, .err and sets RC.
run_vm() {
    local deadline=$1 name=$2; shift 2
    timeout -k 5 "$deadline" "$KVMINI" run "$@" \
        <"${VM_STDIN:-/dev/null}" >"$TMP/$name.out" 2>"$TMP/$name.err"
    RC=$?
    if [ "$RC" -eq 124 ] || [ "$RC" -eq 137 ]; then
        echo "# $name: deadline of ${deadline}s exceeded; VM killed"
        diag "$TMP/$name.err"
        tail -5 "$TMP/$name.out" | diag
    fi
    return 0
}

# vm_start DEADLINE_S NAME ARGS...: kvmini in the background (stdin from
# $VM_STDIN), under a perl reaper that records how it ended: "exit N"
# (kvmini returned N itself), "signal N" (it was killed by signal N: it
# did not handle it), or "deadline" (still running after DEADLINE_S, then
# killed) in $TMP/NAME.how. Sets VM_PID (kvmini itself) and VM_REAPER.
# A bash `wait` cannot tell "exit 143" from "killed by SIGTERM"; this can.
vm_start() {
    local deadline=$1 name=$2; shift 2
    rm -f "$TMP/$name.pid" "$TMP/$name.how"
    perl -e '
        my ($dl, $pidf, $howf, @cmd) = @ARGV;
        my $pid = fork // die "fork: $!";
        if (!$pid) { exec { $cmd[0] } @cmd; exit 127 }
        open my $f, ">", "$pidf.tmp" or die; print $f "$pid\n"; close $f;
        rename "$pidf.tmp", $pidf;
        my $late = 0;
        $SIG{ALRM} = sub { $late = 1; kill "KILL", $pid };
        alarm $dl;
        waitpid $pid, 0;
        my $st = $?;
        open $f, ">", $howf or die;
        print $f $late ? "deadline\n" : ($st & 127) ? "signal " . ($st & 127) . "\n"
                                              : "exit " . ($st >> 8) . "\n";
        close $f' "$deadline" "$TMP/$name.pid" "$TMP/$name.how" \
        "$KVMINI" run "$@" <"${VM_STDIN:-/dev/null}" \
        >"$TMP/$name.out" 2>"$TMP/$name.err" &
    VM_REAPER=$!
    for _ in $(seq 1 100); do [ -s "$TMP/$name.pid" ] && break; sleep 0.05; done
    VM_PID=$(cat "$TMP/$name.pid" 2>/dev/null)
}

# wait_line NAME REGEX SECONDS: waits until the guest printed a matching
# line; false if it did not within SECONDS.
wait_line() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        has "$1" "$2" && return 0
        sleep 0.1
    done
    return 1
}

# stop_by_signal NAME SIG DESCRIPTION: sends SIG to the running VM and
# checks that kvmini handled it itself (its own status 128+N, not death
# by the signal), said so in its one line, and stopped within 10 s (a
# generous bound that guards a hang, not a speed).
stop_by_signal() {
    local name=$1 sig=$2 d=$3 n t0 took how want
    n=$(kill -l "$sig")
    want=$((128 + n))
    t0=$(date +%s%N)
    kill -s "$sig" "$VM_PID"
    wait "$VM_REAPER"
    took=$(( ($(date +%s%N) - t0) / 1000000 ))
    how=$(cat "$TMP/$name.how" 2>/dev/null)
    check "$d: SIG$sig handled by kvmini: exit $want (got '${how:-nothing}')" \
        test "$how" = "exit $want"
    check "$d: ... reported once as 'signal $n: stopping the VM'" \
        test "$(grep -c "^kvmini: .*signal $n: stopping the VM\$" \
            "$TMP/$name.err")" -eq 1
    check "$d: ... within 10 s (took ${took} ms)" test "$took" -lt 10000
    [ "$how" = "exit $want" ] || diag "$TMP/$name.err"
}

# has NAME PATTERN: the guest printed a line matching the regex.
has() { grep -Eq -- "$2" "$TMP/$1.out"; }

# guest_passed NAME: verdict pass and exit status 0.
guest_passed() {
    if [ "$RC" -eq 0 ] && has "$1" '^tg: verdict pass'; then return 0; fi
    echo "# $1: exit $RC"; grep -E 'FAIL|verdict|fault' "$TMP/$1.out" | diag
    diag "$TMP/$1.err"
    return 1
}

# The wrapping 32-bit sum of little-endian words, last word zero-padded.
initrd_sum() {
    perl -e 'local $/; my $d = <STDIN>; $d .= "\0" x (-length($d) % 4);
             printf "0x%08x\n", unpack("%32V*", $d)' <"$1"
}
