#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kvmini stays stoppable whatever the terminal or the guest does: a
# signal ends it while nobody reads its stdout, Ctrl-A x ends it while the
# guest takes no input, and neither loses a byte the guest took.
. "$(dirname "$0")/lib.sh"
require_kvm

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# wait_for FILE REGEX SECONDS: until FILE has a line matching REGEX.
wait_for() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -Eq -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "# gave up after $3 s waiting for '$2' in $1"
    return 1
}

# wait_exit PID SECONDS: wait for PID to end; kill -9 and fail past the
# bound. Sets RC.
wait_exit() {
    local i
    for ((i = 0; i < $2 * 10; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$1" 2>/dev/null; then
        echo "# pid $1 still running after $2 s; killing it"
        kill -KILL "$1"
    fi
    wait "$1"
    RC=$?
}

# Bytes waiting in the pipe on fd 3 (FIONREAD), and reading them.
pipe_fill() {
    perl -e 'open(my $f, "<&=", 3) or die; my $n = pack("i", 0);
             ioctl($f, 0x541B, $n) or die; print unpack("i", $n), "\n"'
}
pipe_drain() {
    perl -e 'open(my $f, "<&=", 3) or die; my $n = pack("i", 0);
             ioctl($f, 0x541B, $n) or die; $n = unpack("i", $n);
             my $b = ""; while ($n > 0) { my $r = sysread($f, $b, $n,
             length $b); last unless $r; $n -= $r } print $b'
}

# Everything after the first prompt is whole "help" answers (the echoed
# command, the list, the next prompt), the last one possibly cut short,
# or followed by exactly $2 if given: no byte missing or out of order.
# Prints the number of whole answers.
help_answers() {
    TAIL=${2:-} perl -e 'local $/; my $d = <STDIN>; my $t = $ENV{TAIL};
             if (length $t) { exit 1 if substr($d, -length $t) ne $t;
             substr($d, -length $t) = "" } my $i = index($d, "tg> ");
             exit 1 if $i < 0; my $r = substr($d, $i + 4);
             my $j = index($r, "tg> "); exit 1 if $j < 0;
             my $b = substr($r, 0, $j + 4); exit 1 if $b !~ /^help\n/;
             my $k = 0; while (substr($r, 0, length $b) eq $b) {
             $r = substr($r, length $b); $k++ }
             exit 1 if index($b, $r) != 0; print "$k\n"' <"$1"
}

# 1. SIGTERM while stdout is a pipe nobody reads, right after one more
# key: 150 'help' lines make more output than the pipe and kvmini hold.
mkfifo "$TMP/in.fifo" "$TMP/out.fifo"
exec 3<>"$TMP/out.fifo" # holds the pipe open; read only at the end
exec 4<>"$TMP/in.fifo"  # the keyboard
"$KVMINI" run -k "$GUEST" -p shell <"$TMP/in.fifo" >"$TMP/out.fifo" \
    2>"$TMP/stall.err" &
pid=$!
for i in $(seq 1 150); do printf 'help\r'; done >&4
# Filled: the pipe holds 16 KiB or more and has stopped growing for 0.5 s
# (an unblocked guest writes tens of KiB a second).
full=0 last=-1 same=0
for _ in $(seq 1 600); do # up to 60 s
    now=$(pipe_fill)
    if [ "$now" -eq "$last" ] && [ "$now" -ge 16384 ]; then
        same=$((same + 1))
        [ "$same" -ge 5 ] && { full=1; break; }
    else
        same=0
    fi
    last=$now
    sleep 0.1
done
check "the guest filled the unread stdout pipe" test "$full" -eq 1
printf 'h' >&4
sleep 1.5 # the guest fills kvmini's buffer too, then waits on THRE
start=$(now_ms)
kill -TERM "$pid"
wait_exit "$pid" 30
took=$(( $(now_ms) - start ))
check "SIGTERM with stdout stalled: kvmini exits 143 (got $RC after $took ms)" \
    test "$RC" -eq 143
check "... by itself, saying so" \
    grep -q "signal 15: stopping the VM" "$TMP/stall.err"
check "... within 5 s (took $took ms)" test "$took" -le 5000
pipe_drain >"$TMP/stall.out"
exec 3<&- 4>&-
n=$(help_answers "$TMP/stall.out")
check "the pipe holds the guest's echo and answers in order ($n whole)" \
    test "${n:-0}" -ge 50
diag "$TMP/stall.err"

# A slow reader: the guest is held back, never cut off: every byte of
# 150 answers arrives, then the exit.
{ for i in $(seq 1 150); do printf 'help\r'; done; printf 'exit 3\r'; } \
    >"$TMP/helps"
timeout -k 5 120 "$KVMINI" run -k "$GUEST" -p shell <"$TMP/helps" \
    2>"$TMP/slow.err" |
    perl -e 'while (sysread(STDIN, my $b, 2048)) { syswrite(STDOUT, $b);
             select(undef, undef, undef, 0.02) }' >"$TMP/slow.out"
rc=${PIPESTATUS[0]}
check "slow reader: the guest's 'exit 3' arrives (status $rc)" test "$rc" -eq 3
n=$(help_answers "$TMP/slow.out" $'exit 3\n')
check "... after all 150 answers, whole and in order (got ${n:-none})" \
    test "${n:-0}" -eq 150

# 2. Ctrl-A x on a terminal after 300 bytes the guest never takes: the
# guest answers 'cpus', then spins with interrupts off.
{
    wait_for "$TMP/pty.out" 'tg> ' 60 || exit 0
    printf 'cpus\r'
    wait_for "$TMP/pty.out" '^tg: cpus described' 30 || exit 0
    printf 'spin\r'
    wait_for "$TMP/pty.out" '^tg: spinning' 30 || exit 0
    head -c 300 /dev/zero | tr '\0' k
    sleep 1
    now_ms >"$TMP/pty.t0"
    printf '\001x'
} | timeout -k 5 40 script -qefc "$KVMINI run -k $GUEST -p shell" /dev/null \
    >"$TMP/pty.out" 2>&1
rc=$?
end=$(now_ms)
took=$(( end - $(cat "$TMP/pty.t0" 2>/dev/null || echo 0) ))
check "Ctrl-A x after 300 untaken bytes: status 0 (got $rc)" test "$rc" -eq 0
check "... reported" grep -q "Ctrl-A x: stopping the VM" "$TMP/pty.out"
check "... at once (within 5 s: took $took ms)" test "$took" -le 5000
check "the guest echoed and answered what it took ('cpus')" \
    grep -Eq '^tg> cpus.?$' "$TMP/pty.out"
grep -Eq '^tg: cpus described=1 online=1' "$TMP/pty.out"
check "... the answer arrived whole" test $? -eq 0

# The same with the virtio console after 80000 bytes, guest holding.
{
    wait_for "$TMP/vpty.out" '^tg: holding' 60 || exit 0
    head -c 80000 /dev/zero | tr '\0' k
    sleep 1
    now_ms >"$TMP/vpty.t0"
    printf '\001x'
} | timeout -k 5 40 script -qefc \
    "$KVMINI run -k $GUEST --console virtio -p hold=60" /dev/null \
    >"$TMP/vpty.out" 2>&1
rc=$?
end=$(now_ms)
took=$(( end - $(cat "$TMP/vpty.t0" 2>/dev/null || echo 0) ))
check "virtio console: Ctrl-A x after 80000 untaken bytes: status 0 (got $rc)" \
    test "$rc" -eq 0
check "... within 5 s (took $took ms)" test "$took" -le 5000
check "... and the dropped typing is reported" \
    grep -Eq "[0-9]+ typed bytes dropped" "$TMP/vpty.out"
done_testing
