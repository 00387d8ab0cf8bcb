#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Character backends under KVM: the 8250 on a pty (a peer talks to the
# tiny guest's shell, leaves and comes back), a virtio console on a unix
# socket server with wait (the guest starts only once a client connects;
# a signal still stops kvmini meanwhile), COM1 appended to a file, and
# the errors for a socket nobody listens on or a non-socket file.
. "$(dirname "$0")/lib.sh"
require_kvm

PEER="perl tests/integration/cdpeer.pl"

# wait_err NAME REGEX SECONDS: until kvmini's stderr has a matching line.
wait_err() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -Eq -- "$2" "$TMP/$1.err" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

# 1. --serial pty: COM1 on a new pty, stdin goes nowhere.
vm_start 90 pty -k "$GUEST" -p shell --serial pty
wait_err pty '^kvmini: serial on /dev/pts/[0-9]+$' 30
pts=$(sed -n 's|^kvmini: serial on \(/dev/pts/[0-9]*\)$|\1|p' "$TMP/pty.err")
check "--serial pty prints 'kvmini: serial on /dev/pts/N' (${pts:-none})" \
    test -n "$pts"
if [ -n "$pts" ]; then
    $PEER pty "$pts" 30 'expect:tg> ' 'send:cpus\r' \
        'expect:tg: cpus described=1 online=1' 'expect:tg> ' \
        close 'send:help\r' 'expect:tg: help cpus - ' 'expect:tg> ' \
        'send:exit 4\r' >"$TMP/pty.peer" 2>"$TMP/pty.peer.err"
    rc=$?
    check "a peer on the pty gets the prompt, runs 'cpus', closes, reopens, runs 'help'" \
        test "$rc" -eq 0
    [ "$rc" -eq 0 ] || diag "$TMP/pty.peer.err"
fi
wait "$VM_REAPER"
check "'exit 4' typed on the pty ends kvmini with 4 ($(cat "$TMP/pty.how"))" \
    test "$(cat "$TMP/pty.how")" = "exit 4"
check "nothing of the guest's on stdout" test ! -s "$TMP/pty.out"
check "the guest's boot report went to the pty" \
    grep -q '^tg: verdict pass' "$TMP/pty.peer"

# 2. --console virtio,unix=PATH,server,wait: nothing runs before a client.
sock=$TMP/console.sock
vm_start 90 wait -k "$GUEST" -p vcons_echo \
    --console "virtio,unix=$sock,server,wait"
wait_err wait 'waiting for a client' 30
check "with wait, kvmini says it waits for a client" \
    grep -q "^kvmini: console: waiting for a client on $sock before starting the guest\$" \
    "$TMP/wait.err"
check "... the socket exists, mode 0600" \
    test "$(stat -c %F:%a "$sock" 2>/dev/null)" = "socket:600"
sleep 2
check "... and the guest has not started (nothing on COM1 after 2 s)" \
    test ! -s "$TMP/wait.out"
$PEER unix "$sock" 60 'expect:tg-vcons: ready\n' 'send:hello there\n' \
    'expect:echo: hello there\n' 'send:quit\n' \
    >"$TMP/wait.peer" 2>"$TMP/wait.peer.err"
rc=$?
check "a client connects; the guest starts and echoes a line over the socket" \
    test "$rc" -eq 0
[ "$rc" -eq 0 ] || diag "$TMP/wait.peer.err"
wait "$VM_REAPER"
check "the guest's echo check passes: exit 0 ($(cat "$TMP/wait.how"))" \
    test "$(cat "$TMP/wait.how")" = "exit 0"
check "... with its verdict on COM1 (stdout)" \
    bash -c "grep -q '^tg: check vcons_echo ok lines=1' '$TMP/wait.out' &&
             grep -q '^tg: verdict pass' '$TMP/wait.out'"
check "the socket file is removed at exit" test ! -e "$sock"

# 3. A signal while waiting for the first client stops kvmini, cleanly.
vm_start 60 waitsig -k "$GUEST" -p vcons_echo \
    --console "virtio,unix=$sock,server,wait"
if wait_err waitsig 'waiting for a client' 30; then
    stop_by_signal waitsig TERM "waiting for a client"
    check "... the socket file removed" test ! -e "$sock"
    check "... the guest never ran" test ! -s "$TMP/waitsig.out"
else
    not_ok "kvmini never said it waits"
    diag "$TMP/waitsig.err"
fi

# 4. --serial file=PATH: COM1 appended to a file, run after run.
log=$TMP/com1.log
echo "an older line" >"$log"
run_vm 60 file1 -k "$GUEST" --serial "file=$log"
check "--serial file=: the guest runs (exit $RC)" test "$RC" -eq 0
run_vm 60 file2 -k "$GUEST" --serial "file=$log"
check "a second run (exit $RC)" test "$RC" -eq 0
check "the log keeps the old line and gets both runs' reports" \
    bash -c "[ \"\$(head -1 '$log')\" = 'an older line' ] &&
             [ \$(grep -c '^tg: verdict pass' '$log') -eq 2 ]"
check "... nothing on stdout" test ! -s "$TMP/file2.out"

# The virtio console takes a backend too, also through --device.
run_vm 60 vcfile -k "$GUEST" -p vcons_hello --device "console,file=$TMP/vc.log"
check "--device console,file=PATH: the guest's virtio console line is in the file" \
    bash -c "[ $RC -eq 0 ] && grep -qx 'tg-vcons: hello' '$TMP/vc.log'"
check "... and not on stdout (COM1's)" \
    bash -c "! grep -q 'tg-vcons: hello' '$TMP/vcfile.out' &&
             grep -q '^tg: verdict pass' '$TMP/vcfile.out'"

# 5. Errors: one line, exit 1, before the guest starts.
run_vm 30 noserver -k "$GUEST" --console "virtio,unix=$TMP/nobody.sock"
check "a unix client with nobody listening: exit 1 (got $RC)" test "$RC" -eq 1
check "... one line saying so" \
    bash -c "[ \$(wc -l <'$TMP/noserver.err') -eq 1 ] &&
             grep -q 'cannot connect to $TMP/nobody.sock: .*nobody listens there' \
             '$TMP/noserver.err'"
check "... and the guest never ran" test ! -s "$TMP/noserver.out"
echo keep >"$TMP/plain"
run_vm 30 plain -k "$GUEST" --serial "unix=$TMP/plain,server"
check "a server on a regular file: exit 1, refused, file kept" \
    bash -c "[ $RC -eq 1 ] && grep -q 'exists and is not a socket' \
             '$TMP/plain.err' && [ \"\$(cat '$TMP/plain')\" = keep ]"
run_vm 30 badspec -k "$GUEST" --serial "pty,file=$TMP/x"
check "two backends in one spec: exit 1 with the fix" \
    bash -c "[ $RC -eq 1 ] && grep -q -- '--serial pty,file=.*more than one backend' \
             '$TMP/badspec.err'"
run_vm 30 badcons -k "$GUEST" --console "serial,pty"
check "--console serial,pty points at --serial" \
    bash -c "[ $RC -eq 1 ] && grep -q -- 'backend with --serial' '$TMP/badcons.err'"
# A socket path with a newline: kvmini's lines about it stay one line
# each (the newline shows as '?').
run_vm 60 nlpath -k "$GUEST" --no-api --serial "unix=$TMP/nl
x.sock,server"
check "a newline in a socket path: 'on unix socket' is one line, '?' for the newline" \
    grep -q "^kvmini: serial on unix socket $TMP/nl?x.sock\$" "$TMP/nlpath.err"
check "... and no line starts with the path's second half" \
    bash -c "! grep -q '^x.sock' '$TMP/nlpath.err'"
done_testing
