#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Per-thread syscall filters (--seccomp, docs/security.md). Every other
# integration test already runs under them (kill is the default); here
# the test hook --seccomp MODE,probe=KIND makes each thread of KIND make
# one harmless forbidden syscall (getppid) right after entering its
# filter: under kill kvmini must stop with status 159 and one line naming
# the thread, its kind and the syscall; under log and off the guest runs.
. "$(dirname "$0")/lib.sh"
require_kvm

truncate -s 4M "$TMP/d.img"

# probe NAME KIND WHO ARGS...: kill mode, KIND's probe fires in thread WHO
# (an extended regex: the console's two queue workers race to report).
probe() {
    local name=$1 kind=$2 who=$3; shift 3
    run_vm 60 "$name" -k "$GUEST" --seccomp "kill,probe=$kind" "$@"
    local want="^kvmini: seccomp: thread $who \\($kind\\) made syscall getppid \\(110\\), not in its allow-list; stopping with status 159"
    check "probe $kind: kvmini exits 159 (got $RC)" test "$RC" -eq 159
    check "... one line names thread $who, its kind and getppid" \
        bash -c "[ \$(grep -c 'seccomp:' '$TMP/$name.err') -eq 1 ] &&
                 grep -Eq '$want' '$TMP/$name.err'"
    [ "$RC" -eq 159 ] || diag "$TMP/$name.err"
}

# The filters are on by default: a guest with a disk, a virtio console
# on a file and COM1 on a file passes.
run_vm 60 default -k "$GUEST" -p "blk=info vcons_hello" \
    --disk "$TMP/d.img" --console "virtio,file=$TMP/vc.log" \
    --serial "file=$TMP/com1.log"
cp "$TMP/com1.log" "$TMP/default.out" 2>/dev/null
check "default (kill): the guest passes with disk and consoles (exit $RC)" \
    test "$RC" -eq 0
check "... and reports through its COM1 file" guest_passed default
[ "$RC" -eq 0 ] || diag "$TMP/default.err"

# Without a control socket (--no-api, or no directory for it) json-c
# seeds its hash (getrandom) only after the main thread's filter is on:
# kvmini was killed at start with status 159.
run_vm 60 noapi -k "$GUEST" --no-api --serial "file=$TMP/noapi.log"
cp "$TMP/noapi.log" "$TMP/noapi.out" 2>/dev/null
check "--no-api (kill): the guest passes (exit $RC)" test "$RC" -eq 0
check "... and reports through its COM1 file" guest_passed noapi
[ "$RC" -eq 0 ] || diag "$TMP/noapi.err"
XDG_RUNTIME_DIR=$TMP/none run_vm 60 nodir -k "$GUEST" \
    --serial "file=$TMP/nodir.log"
check "no socket directory (kill): the guest passes (exit $RC)" \
    test "$RC" -eq 0
[ "$RC" -eq 0 ] || diag "$TMP/nodir.err"

probe vcpu vcpu vcpu0 -p "blk=info" --disk "$TMP/d.img"
probe blk vq-blk blk.q0 -p "blk=info" --disk "$TMP/d.img"
probe chardev chardev cd-file --serial "file=$TMP/c.log"
probe cons vq-console 'console\.q[01]' -p vcons_hello --console virtio
probe main main kvmini

# A heap shrink under a filter: glibc opens /proc/sys/vm/overcommit_memory
# the first time a free shrinks a thread arena, which no list allows; the
# rig's net scenario stopped with 159 when a vCPU freed the NICs' TX
# iovecs at the guest's reboot. The hook shrink=KIND frees that way in
# each thread of KIND right after its filter is on; kvmini gives glibc
# one arena (M_ARENA_MAX 1, no thread arenas), so the guest passes.
for k in vcpu vq-blk; do
    run_vm 60 "shrink-$k" -k "$GUEST" --seccomp "kill,shrink=$k" \
        -p "blk=info" --disk "$TMP/d.img"
    check "kill with a heap shrink in $k: the guest passes (exit $RC)" \
        test "$RC" -eq 0
    check "... no report line" \
        bash -c "! grep -q 'seccomp:' '$TMP/shrink-$k.err'"
    [ "$RC" -eq 0 ] || diag "$TMP/shrink-$k.err"
done

# log: the kernel logs the syscall and lets it through.
run_vm 60 log -k "$GUEST" --seccomp log,probe=vq-blk -p "blk=info" \
    --disk "$TMP/d.img"
check "log with a blk probe: the guest passes (exit $RC)" test "$RC" -eq 0
check "... and passes its checks" guest_passed log
check "... no report line" bash -c "! grep -q 'seccomp:' '$TMP/log.err'"

# off: no filter at all.
run_vm 60 off -k "$GUEST" --seccomp off,probe=vq-blk -p "blk=info" \
    --disk "$TMP/d.img"
check "off with a blk probe: the guest passes (exit $RC)" test "$RC" -eq 0
check "... no report line" bash -c "! grep -q 'seccomp:' '$TMP/off.err'"

# KVMINI_SECCOMP: the mode (and probe) from the environment when the
# command line has no --seccomp (tests/seccomp-sweep.sh sets log); an
# explicit --seccomp wins.
KVMINI_SECCOMP=kill,probe=vq-blk run_vm 60 envkill -k "$GUEST" \
    -p "blk=info" --disk "$TMP/d.img"
check "KVMINI_SECCOMP=kill,probe=vq-blk: exit 159 (got $RC)" test "$RC" -eq 159
check "... the report names blk.q0" \
    grep -q '^kvmini: seccomp: thread blk.q0 (vq-blk) made syscall getppid' \
    "$TMP/envkill.err"
KVMINI_SECCOMP=kill,probe=vq-blk run_vm 60 envoff -k "$GUEST" \
    --seccomp off -p "blk=info" --disk "$TMP/d.img"
check "... --seccomp off given too: it wins, the guest passes (exit $RC)" \
    bash -c "[ $RC -eq 0 ] && ! grep -q 'seccomp:' '$TMP/envoff.err'"
KVMINI_SECCOMP=strict run_vm 30 envbad -k "$GUEST"
check "KVMINI_SECCOMP=strict: exit 1, one line naming the variable (got $RC)" \
    bash -c "[ $RC -eq 1 ] && [ \$(wc -l <'$TMP/envbad.err') -eq 1 ] &&
             grep -q '^kvmini: KVMINI_SECCOMP (environment): .*kill, log or off' \
                 '$TMP/envbad.err'"

# Bad values are user input: one line, status 1.
run_vm 30 bad -k "$GUEST" --seccomp strict
check "--seccomp strict: exit 1 (got $RC)" test "$RC" -eq 1
check "... one line naming the modes" \
    bash -c "[ \$(wc -l <'$TMP/bad.err') -eq 1 ] &&
             grep -q 'kill, log or off' '$TMP/bad.err'"
run_vm 30 badkind -k "$GUEST" --seccomp kill,probe=gpu
check "--seccomp kill,probe=gpu: exit 1 naming the kind (got $RC)" \
    bash -c "[ $RC -eq 1 ] && grep -q \"'gpu'\" '$TMP/badkind.err'"

done_testing
