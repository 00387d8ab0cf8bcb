#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The control API (docs/api.md) with the tiny guest: info matches the
# command line; pause stops the guest's beat and resume continues it
# from where it was; stats agrees with the exit-time --stats; events
# come in order; 8 clients at once (one sending garbage, one never
# reading) leave the VM running; a second VM of the same name is
# refused, a stale socket is taken over; stop, reset, SIGTERM and a
# guest power-off all remove the socket; READY=1 reaches NOTIFY_SOCKET.
. "$(dirname "$0")/lib.sh"
require_kvm

PEER="perl tests/integration/apipeer.pl"
# Default socket directory inside $TMP: $XDG_RUNTIME_DIR/kvmini.
export XDG_RUNTIME_DIR=$TMP/xdg
mkdir -p "$XDG_RUNTIME_DIR"
SD=$XDG_RUNTIME_DIR/kvmini
N=api$$ # names unique to this run

# jq-like: jget JSON PATH (a.b.0.c) prints the value (arrays by index).
jget() {
    perl -MJSON::PP -e 'my $v = eval { JSON::PP->new->decode($ARGV[0]) };
        exit 1 unless defined $v;
        for my $k (split /\./, $ARGV[1]) {
            $v = ref $v eq "ARRAY" ? $v->[$k] : $v->{$k};
        }
        exit 1 unless defined $v;
        print JSON::PP::is_bool($v) ? ($v ? "true" : "false") :
              ref $v ? JSON::PP->new->canonical->encode($v) : $v' "$1" "$2"
}
ctl() { timeout 30 "$KVMINI" ctl --json "$@"; }
beats() { grep -c '^tg: beat ' "$TMP/$1.out"; }
last_beat() { sed -n 's/^tg: beat //p' "$TMP/$1.out" | tail -1; }
wait_for() { # wait_for SECONDS COMMAND...: until the command succeeds
    local i s=$1; shift
    for ((i = 0; i < s * 10; i++)); do "$@" && return 0; sleep 0.1; done
    return 1
}

# 1. A VM with 2 vCPUs, 128M, a disk at an explicit window and pin, a
# named port on a unix socket, and --stats.
truncate -s 1M "$TMP/d.img"
vm_start 120 vm1 -k "$GUEST" -c 2 -m 128M -p "blk=read hold=100 beat=100" \
    --name "$N" --stats \
    --device "blk,addr=0xd0100000,irq=12,img=$TMP/d.img" \
    --port "name=p0,unix=$TMP/p0.sock,server"
S=$SD/$N.sock
check "the socket is \$XDG_RUNTIME_DIR/kvmini/NAME.sock, mode 0600" \
    wait_for 30 test "$(stat -c %F:%a "$S" 2>/dev/null)" = "socket:600"
check "... in a directory of mode 0700" \
    test "$(stat -c %a "$SD" 2>/dev/null)" = 700
wait_line vm1 '^tg: beat 3$' 60 || diag "$TMP/vm1.err"

# Events, from here to the end of this VM, in the background.
touch "$TMP/ev.log" "$TMP/notify.log"
$PEER "$S" events "$TMP/ev.log" 2>"$TMP/ev.err" &
EVP=$!
wait_for 10 grep -q '"subscribed":true' "$TMP/ev.log"

info=$(ctl "$N" info)
r=$(jget "$info" return)
check "info: ok" test "$(jget "$info" ok)" = true
check "info: name $N" test "$(jget "$r" name)" = "$N"
check "info: state running" test "$(jget "$r" state)" = running
check "info: pid is kvmini's ($VM_PID)" test "$(jget "$r" pid)" = "$VM_PID"
check "info: 2 vCPUs" test "$(jget "$r" vcpus)" = 2
check "info: memory 128M" test "$(jget "$r" memory)" = 134217728
check "info: protocol 1" test "$(jget "$r" protocol)" = 1
check "info: the command line" test "$(jget "$r" cmdline)" = "blk=read hold=100 beat=100"
check "info: two devices" test "$(jget "$r" devices | grep -o '"index"' | wc -l)" = 2
check "info: the disk at 0xd0100000 (--device addr=)" \
    test "$(jget "$r" devices.0.addr)" = 0xd0100000
check "info: ... on IRQ 12 (--device irq=)" test "$(jget "$r" devices.0.irq)" = 12
check "info: ... backed by the image" \
    test "$(jget "$r" devices.0.backend)" = "file:$TMP/d.img"
check "info: ... with its features" \
    grep -Eq '^0x[0-9a-f]+$' <<<"$(jget "$r" devices.0.features)"
check "info: the port device lists port p0 on its socket" \
    test "$(jget "$r" devices.1.ports.0.name):$(jget "$r" devices.1.ports.0.backend)" = \
    "p0:unix-server:$TMP/p0.sock"
check "ls shows the VM, running, with its pid" \
    grep -Eq "^$N +running +$VM_PID " <<<"$("$KVMINI" ls)"

# 2. Pause: no beat while paused; resume: the next beat follows the last.
out=$(ctl "$N" pause)
check "pause: ok, state paused" test "$(jget "$out" return.state)" = paused
b1=$(beats vm1)
sleep 1.5 # 15 beats' time: a running guest would print some
b2=$(beats vm1)
check "no beat while paused ($b1 then $b2 after 1.5 s)" test "$b1" = "$b2"
check "a second pause is refused (wrong-state)" \
    test "$(jget "$(ctl "$N" pause)" error.code)" = wrong-state
check "info says paused" test "$(jget "$(ctl "$N" info)" return.state)" = paused
last=$(last_beat vm1)
out=$(ctl "$N" resume)
check "resume: ok, state running" test "$(jget "$out" return.state)" = running
check "the guest goes on after resume" wait_line vm1 "^tg: beat $((last + 2))\$" 30
check "... from where it was: beat $((last + 1)) follows beat $last" \
    test "$(sed -n 's/^tg: beat //p' "$TMP/vm1.out" | grep -n . |
        sed -n "/:$last\$/{n;p}" | cut -d: -f2)" = $((last + 1))

# 3. Port peer connecting and leaving (events checked below).
perl -MIO::Socket::UNIX -e 'my $s = IO::Socket::UNIX->new(Peer => $ARGV[0])
    or die; sleep 1' "$TMP/p0.sock"
sleep 1

# 4. Eight clients at once: six asking info, one garbage, one silent
# subscriber; then the events it does not read grow until it is dropped.
$PEER "$S" silent 60 &
SIL=$!
pids=()
for i in 1 2 3 4 5 6; do
    $PEER "$S" info 50 >"$TMP/c$i.out" 2>&1 &
    pids+=($!)
done
$PEER "$S" garbage 20 >"$TMP/g.out" 2>&1 &
gp=$!
okc=0
for p in "${pids[@]}"; do wait "$p" && okc=$((okc + 1)); done
check "6 clients, 50 info each, all answered" test "$okc" = 6
wait "$gp"
check "the garbage client got an error object for each bad line and could go on" \
    test "$(cat "$TMP/g.out")" = "garbage ok"
[ "$(cat "$TMP/g.out")" = "garbage ok" ] || diag "$TMP/g.out"
b1=$(beats vm1)
check "the VM kept running through it" wait_line vm1 "^tg: beat $((b1 + 2))\$" 30
$PEER "$S" cycle 1500 >"$TMP/cyc.out" 2>&1
check "1500 pause/resume pairs while a subscriber never reads" \
    test "$(cat "$TMP/cyc.out")" = "cycle ok"
st=$(ctl "$N" stats)
check "the client that never read was dropped, and counted" \
    test "$(jget "$st" return.api.dropped)" -ge 1
check "kvmini said so once" \
    test "$(grep -c 'control client dropped: it does not read its events' "$TMP/vm1.err")" = 1
kill "$SIL" 2>/dev/null; wait "$SIL" 2>/dev/null
check "the events listener was not dropped" kill -0 "$EVP"

# 5. Same name: refused while the first runs, which goes on answering.
run_vm 30 dup -k "$GUEST" -p "hold=5" --name "$N"
check "a second VM named $N: exit 1" test "$RC" = 1
check "... with one line saying why" \
    grep -q "^kvmini: --name $N: a VM of that name is already running" "$TMP/dup.err"
check "... and the first still answers" \
    test "$(jget "$(ctl "$N" info)" return.name)" = "$N"

# 6. Stats while paused agree with the exit-time --stats.
ctl "$N" pause >/dev/null
st=$(ctl "$N" stats)
out=$(ctl "$N" stop)
check "stop: ok, stopping" test "$(jget "$out" return.state)" = stopping
wait "$VM_REAPER"
check "stop ends kvmini with 0 ($(cat "$TMP/vm1.how"))" test "$(cat "$TMP/vm1.how")" = "exit 0"
check "the socket is gone after stop" test ! -e "$S"
for c in 0 1; do
    want="vcpu$c: runs $(jget "$st" return.vcpus.$c.runs) pio $(jget "$st" return.vcpus.$c.pio) mmio $(jget "$st" return.vcpus.$c.mmio)"
    check "stats vcpu$c = --stats ($want)" grep -q "^$want " "$TMP/vm1.err"
done
want="serial: tx $(jget "$st" return.serial.tx) rx $(jget "$st" return.serial.rx)"
check "stats serial = --stats ($want)" grep -q "^$want\$" "$TMP/vm1.err"
q=return.devices.0.q0
want="virtio blk q0: kicks $(jget "$st" $q.kicks) irqs $(jget "$st" $q.irqs) suppressed $(jget "$st" $q.suppressed) chains $(jget "$st" $q.chains) bytes $(jget "$st" $q.bytes) errors $(jget "$st" $q.errors)"
check "stats disk q0 = --stats ($want)" grep -qF "$want" "$TMP/vm1.err"
check "the disk did work (stats: q0 chains > 0)" test "$(jget "$st" $q.chains)" -gt 0
want="reads $(jget "$st" return.devices.0.blk.reads) writes $(jget "$st" return.devices.0.blk.writes) flushes"
check "stats has the disk's own counters = --stats ($want)" grep -qF "$want" "$TMP/vm1.err"
wait "$EVP"
# The events, in order, without the 3000 of the pause/resume cycles.
perl -MJSON::PP -ne 'next unless /"event"/; my $e = decode_json($_);
    my $d = $e->{data}; print "$e->{seq} $e->{event}",
    (map { " $_=" . (JSON::PP::is_bool($d->{$_}) ? ($d->{$_} ? "true" : "false")
    : $d->{$_}) } sort keys %$d), "\n"' "$TMP/ev.log" >"$TMP/ev.txt"
check "event seq numbers increase by one" \
    perl -ane 'BEGIN { $p = 0 } exit 1 if $p && $F[0] != $p + 1; $p = $F[0];
        END { exit !$p }' "$TMP/ev.txt"
seqs=$(cut -d' ' -f2- "$TMP/ev.txt" | uniq | head -6 | tr '\n' '|')
check "events in order: paused, running, peer connected, peer left" \
    test "$seqs" = "state reason=pause command state=paused|state reason=resume command state=running|port-peer connected=true port=p0|port-peer connected=false port=p0|state reason=pause command state=paused|state reason=resume command state=running|"
check "... and last: stopping, by the stop command, status 0" \
    test "$(tail -1 "$TMP/ev.txt" | cut -d' ' -f2-)" = "state reason=stop command state=stopping status=0"
[ "$seqs" != "" ] || diag "$TMP/ev.log"

# 7. A stale socket (kvmini SIGKILLed) is taken over by the next VM.
vm_start 60 k1 -k "$GUEST" -p "hold=60" --name "$N-k"
wait_for 30 test -S "$SD/$N-k.sock"
kill -KILL "$VM_PID"; wait "$VM_REAPER"
check "after SIGKILL the socket file stays behind" test -S "$SD/$N-k.sock"
check "ls does not list the dead VM" \
    bash -c "! '$KVMINI' ls | grep -q '^$N-k '"
vm_start 60 k2 -k "$GUEST" -p "hold=60 beat=100" --name "$N-k"
check "a new VM of that name takes the stale socket over" \
    wait_for 30 test "$(jget "$(ctl "$N-k" info 2>/dev/null)" return.pid 2>/dev/null)" = "$VM_PID"

# 8. reset (no in-place reboot: ends like a guest reset, exit 0) and
# SIGTERM remove the socket.
out=$(ctl "$N-k" reset)
check "reset: ok" test "$(jget "$out" ok)" = true
wait "$VM_REAPER"
check "reset ends kvmini with 0 ($(cat "$TMP/k2.how"))" test "$(cat "$TMP/k2.how")" = "exit 0"
check "... and removes the socket" test ! -e "$SD/$N-k.sock"
vm_start 60 term -k "$GUEST" -p "hold=60" --api "$TMP/term.sock"
wait_for 30 test -S "$TMP/term.sock"
stop_by_signal term TERM "--api PATH"
check "SIGTERM removes the socket (--api PATH)" test ! -e "$TMP/term.sock"

# 9. Guest power-off: the event, exit 0, the socket removed; stop with
# a status; shutdown presses the power button.
mkfifo "$TMP/off.fifo"
exec 5<>"$TMP/off.fifo" # the keyboard, typed into once we listen
VM_STDIN=$TMP/off.fifo vm_start 60 off -k "$GUEST" -p "shell" --name "$N-off"
touch "$TMP/off.ev"
wait_for 30 test -S "$SD/$N-off.sock"
$PEER "$SD/$N-off.sock" events "$TMP/off.ev" 2>/dev/null &
OEP=$!
wait_for 10 grep -q '"subscribed":true' "$TMP/off.ev"
wait_line off '^tg> ' 30
printf 'poweroff\r' >&5
wait "$VM_REAPER"
exec 5>&-
wait "$OEP"
check "guest poweroff: exit 0 ($(cat "$TMP/off.how"))" test "$(cat "$TMP/off.how")" = "exit 0"
check "... the socket removed" test ! -e "$SD/$N-off.sock"
check "... events: guest-poweroff, then stopping" \
    test "$(grep -o '"event":"[a-z-]*"' "$TMP/off.ev" | tail -2 | tr '\n' ' ')" = \
    '"event":"guest-poweroff" "event":"state" '
check "... the stopping reason names the power-off" \
    grep -q '"reason":"guest powered off (ACPI S5)","status":0' "$TMP/off.ev"
# A device entering NEEDS_RESET: the guest's shell publishes a hostile
# ring on its virtio console (a head beyond the ring).
mkfifo "$TMP/nr.fifo"
exec 6<>"$TMP/nr.fifo"
VM_STDIN=$TMP/nr.fifo vm_start 60 nr -k "$GUEST" -p shell --name "$N-nr" \
    --console "virtio,file=$TMP/nr.vcons"
touch "$TMP/nr.ev"
wait_for 30 test -S "$SD/$N-nr.sock"
$PEER "$SD/$N-nr.sock" events "$TMP/nr.ev" 2>/dev/null &
NEP=$!
wait_for 10 grep -q '"subscribed":true' "$TMP/nr.ev"
wait_line nr '^tg> ' 30
printf 'vcons bad-head\r' >&6
check "a hostile ring: the console asks for a reset (status 0x4f)" \
    wait_line nr '^tg: vcons bad-head status=0x4f' 30
check "... events: device-needs-reset, naming the console" \
    wait_for 10 grep -q '"event":"device-needs-reset".*"type":"console"' "$TMP/nr.ev"
check "... the VM runs on" test "$(jget "$(ctl "$N-nr" info)" return.state)" = running
ctl "$N-nr" stop >/dev/null
wait "$VM_REAPER"
wait "$NEP"
exec 6>&-
vm_start 60 sd -k "$GUEST" -p "hold=60" --name "$N-sd"
touch "$TMP/sd.ev"
wait_for 30 test -S "$SD/$N-sd.sock"
$PEER "$SD/$N-sd.sock" events "$TMP/sd.ev" 2>/dev/null &
SEP=$!
wait_for 10 grep -q '"subscribed":true' "$TMP/sd.ev"
check "shutdown: ok" test "$(jget "$(ctl "$N-sd" shutdown)" ok)" = true
wait "$VM_REAPER"
wait "$SEP"
check "... the guest powers off and kvmini exits 0 ($(cat "$TMP/sd.how"))" \
    test "$(cat "$TMP/sd.how")" = "exit 0"
check "... the guest saw the button" grep -q '^tg: powerbtn' "$TMP/sd.out"
check "... events: guest-poweroff, then stopping" \
    test "$(grep -o '"event":"[a-z-]*"' "$TMP/sd.ev" | tail -2 | tr '\n' ' ')" = \
    '"event":"guest-poweroff" "event":"state" '
vm_start 60 st7 -k "$GUEST" -p "hold=60" --name "$N-7" --no-acpi
wait_for 30 test -S "$SD/$N-7.sock"
check "shutdown without a power button (--no-acpi): unavailable" \
    test "$(jget "$(ctl "$N-7" shutdown)" error.code)" = unavailable
check "stop with args.status 7" \
    test "$(jget "$(ctl "$N-7" stop '{"status":7}')" ok)" = true
wait "$VM_REAPER"
check "... ends kvmini with 7" test "$(cat "$TMP/st7.how")" = "exit 7"

# 10. No --name: the VM is kvmini-PID, at the default place; ctl's
# human-readable answers and errors; ls --json.
vm_start 60 anon -k "$GUEST" -p "hold=60"
A=kvmini-$VM_PID
check "without --name the socket is \$XDG_RUNTIME_DIR/kvmini/kvmini-PID.sock" \
    wait_for 30 test -S "$SD/$A.sock"
check "ls --json gives its info" \
    grep -q "\"name\":\"$A\",\"state\":\"running\",\"pid\":$VM_PID," \
    <<<"$("$KVMINI" ls --json)"
"$KVMINI" ctl "$A" resume >"$TMP/h.out" 2>"$TMP/h.err"
check "ctl: an error exits 1, one line on stderr, nothing on stdout" \
    test "$?:$(cat "$TMP/h.err"):$(wc -c <"$TMP/h.out")" = \
    "1:kvmini: ctl $A resume: not paused (wrong-state):0"
check "ctl: a human-readable answer, exit 0" \
    test "$("$KVMINI" ctl "$A" pause):$?" = "state: paused:0"
check "ctl: nested keys flattened" \
    grep -qx "serial.port: 0x3f8" <<<"$("$KVMINI" ctl "$A" info)"
"$KVMINI" ctl nosuchvm$$ info 2>"$TMP/h.err"
check "ctl: no such VM: exit $? and why" \
    grep -q "^kvmini: ctl: no VM answers on $SD/nosuchvm$$.sock" "$TMP/h.err"
"$KVMINI" ctl "$A" stop >/dev/null
wait "$VM_REAPER"
check "stop while paused: exit 0, socket removed" \
    test "$(cat "$TMP/anon.how"):$(test -e "$SD/$A.sock"; echo $?)" = "exit 0:1"

# 11. Bad --api input: one line, exit 1, nothing left behind.
bad_api() { # DESCRIPTION REGEX ARGS...
    local d=$1 re=$2; shift 2
    run_vm 30 badapi -k "$GUEST" -p "hold=5" "$@"
    check "$d: exit 1, one line ($(head -1 "$TMP/badapi.err"))" \
        test "$RC:$(wc -l <"$TMP/badapi.err")" = "1:1"
    check "$d: ... saying why" grep -Eq -- "$re" "$TMP/badapi.err"
}
bad_api "--api in a missing directory" \
    "^kvmini: --api $TMP/nodir/x.sock: socket directory $TMP/nodir: .*create it first" \
    --api "$TMP/nodir/x.sock"
touch "$TMP/plain"
bad_api "--api on a regular file" "is not a socket" --api "$TMP/plain"
check "... the file is left alone" test -f "$TMP/plain"
bad_api "--api with --no-api" "contradict" --api "$TMP/a.sock" --no-api
bad_api "--api ''" "give a socket path" --api ""

# 12. READY=1 to NOTIFY_SOCKET (an abstract name, as systemd uses).
perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Type => SOCK_DGRAM, Local => "\0$ARGV[0]")
        or die "bind: $!";
    open my $o, ">", $ARGV[1] or die; $o->autoflush(1); print $o "up\n";
    my $end = time + 60;
    while (time < $end) { my $m; $s->recv($m, 4096) // last; print $o "$m\n" }' \
    "kvmini-notify-$$" "$TMP/notify.log" &
NP=$!
wait_for 10 grep -q up "$TMP/notify.log"
NOTIFY_SOCKET=@kvmini-notify-$$ vm_start 60 ntf -k "$GUEST" -p "hold=60" --no-api
check "READY=1 reaches an abstract NOTIFY_SOCKET" \
    wait_for 30 grep -qx 'READY=1' "$TMP/notify.log"
kill "$VM_PID"; wait "$VM_REAPER"
check "... then STOPPING=1" wait_for 10 grep -qx 'STOPPING=1' "$TMP/notify.log"
kill "$NP" 2>/dev/null; wait "$NP" 2>/dev/null

done_testing
