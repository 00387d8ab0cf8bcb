#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The serial console both ways, the test-exit port, Ctrl-A x on a
# terminal, and signals stopping a VM whose vCPU sleeps inside KVM_RUN.
. "$(dirname "$0")/lib.sh"
require_kvm

printf 'help\rcpus\rexit 7\r' >"$TMP/keys"
VM_STDIN=$TMP/keys run_vm 60 shell -k "$GUEST" -p shell -c 2
check "typed 'exit 7' reached the guest shell: kvmini exits 7" test "$RC" -eq 7
# The help text itself, not the guest's echo of the typed 'exit 7'.
check "the shell answered 'help': one line per command, help to exit" \
    bash -c "grep -qx 'tg: help help - list commands' '$TMP/shell.out' &&
             grep -qx 'tg: help cpus - CPU tables and CPUs online' '$TMP/shell.out' &&
             grep -q '^tg: help exit - ' '$TMP/shell.out' &&
             [ \$(grep -c '^tg: help [a-z0-9]* - ' '$TMP/shell.out') -ge 10 ]"
check "the shell answered 'cpus'" has shell '^tg: cpus described=2 online=2'

# Typed-ahead input larger than the UART FIFO is held back, not dropped.
{ for i in $(seq 1 60); do printf 'cpus\r'; done; printf 'exit 9\r'; } >"$TMP/many"
VM_STDIN=$TMP/many run_vm 120 many -k "$GUEST" -p shell
check "300 bytes typed ahead all arrive in order (exit 9)" test "$RC" -eq 9
check "every one of the 60 commands ran" \
    test "$(grep -c '^tg: cpus described' "$TMP/many.out")" -ge 60

# Ctrl-A x on a terminal (script(1) gives kvmini a pty).
{ sleep 2; printf '\001x'; } |
    timeout -k 5 60 script -qefc "$KVMINI run -k $GUEST -p shell" /dev/null \
        >"$TMP/tty.out" 2>&1
rc=$?
check "Ctrl-A x stops the VM with status 0 (got $rc)" test "$rc" -eq 0
check "Ctrl-A x is reported" grep -q "Ctrl-A x: stopping the VM" "$TMP/tty.out"

# A terminal resized while the guest runs (SIGWINCH), the virtio console
# on that terminal, under the default filters (--seccomp kill): the main
# thread asks the terminal its size and tells the guest (F_SIZE, a config
# interrupt), which sees the new size. The kernel sends the SIGWINCH
# itself when the pty's size changes.
timeout -k 5 90 script -qefc "$KVMINI run -k $GUEST --console virtio \
--serial file=$TMP/ws.log -p 'vcons_size vcons_idle=30'" /dev/null \
    >"$TMP/ws.out" 2>&1 &
wsjob=$!
wsdone=false
for _ in $(seq 1 300); do
    grep -q '^tg: vcons size ' "$TMP/ws.log" 2>/dev/null && break
    sleep 0.1
done
for p in $(pgrep -x kvmini); do
    grep -qF "$TMP/ws.log" "/proc/$p/cmdline" 2>/dev/null || continue
    pty=$(readlink "/proc/$p/fd/0")
    stty -F "$pty" cols 123 rows 45 && wsdone=true
done
wait "$wsjob"
rc=$?
check "a resize of kvmini's terminal reached it (stty on its pty)" $wsdone
check "... the guest saw the new size (vcons_size)" \
    grep -Eq '^tg: check vcons_size ok from=[0-9]+x[0-9]+ to=123x45$' \
    "$TMP/ws.log"
check "... and kvmini exits 0 (got $rc: 159 would be a seccomp stop)" \
    test "$rc" -eq 0
[ "$rc" -eq 0 ] || diag "$TMP/ws.out"

# Signals: the guest holds in hlt, so its vCPU sleeps inside KVM_RUN.
# It would hold for 60 s: only kvmini's own handling can end it sooner.
for sig in TERM INT; do
    vm_start 30 sig$sig -k "$GUEST" -c 2 -p hold=60
    if wait_line sig$sig '^tg: holding' 30; then
        stop_by_signal sig$sig "$sig" "a holding 2-vCPU guest"
    else
        not_ok "the guest reached 'tg: holding' (SIG$sig test)"
        kill -KILL "$VM_PID" 2>/dev/null; wait "$VM_REAPER"
    fi
done
done_testing
