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

# Without KVM a test cannot run: say so loudly; under CI that is a failure.
require_kvm() {
    local why=""
    if [ ! -e /dev/kvm ]; then why="no /dev/kvm on this host"
    elif [ ! -r /dev/kvm ] || [ ! -w /dev/kvm ]; then why="no permission on /dev/kvm"
    fi
    [ -z "$why" ] && return 0
    if [ "${CI:-}" = true ]; then
        echo "1..1"; echo "not ok 1 - KVM required in CI: $why"; exit 1
    fi
    echo "1..0 # SKIP $why"; exit 0
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
