#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Multiport virtio-serial under KVM with the tiny guest's vport driver:
# 16 named ports on one device and one on a second; `.echo` ports echo
# through unix sockets, kvmini as the server (socat as the client) and
# as the client of a listener that leaves and comes back; the ctl/data
# exchange (sha256 of 1 MiB, compared with the host's); a port whose
# peer is absent at boot and connects later (PORT_OPEN both ways);
# "quit" on the ctl port ends the guest. Every wait is bounded.
. "$(dirname "$0")/lib.sh"
require_kvm
if ! command -v socat >/dev/null; then
    if full_run; then
        echo "1..1"; echo "not ok 1 - socat is required (make deps)"; exit 1
    fi
    echo "1..0 # SKIP socat not installed (a partial run)"; exit 0
fi

PEER="perl tests/integration/cdpeer.pl"
S=$TMP
N=org.kvmini

# socat_echo SOCK TEXT NAME [WHILE...]: socat as a client of SOCK sends
# one line and must read it back within 30 s; then, still connected, the
# command WHILE... runs (its status is kept). socat's input (a fifo)
# stays open until then: socat ends the connection at the end of input.
socat_echo() {
    local sock=$1 text=$2 name=$3 fd pid i rc=0
    shift 3
    rm -f "$S/$name.fifo"
    mkfifo "$S/$name.fifo"
    : >"$S/$name.got"
    socat - "UNIX-CONNECT:$sock" <"$S/$name.fifo" >"$S/$name.got" \
        2>"$S/$name.serr" &
    pid=$!
    exec {fd}>"$S/$name.fifo"
    printf '%s\n' "$text" >&"$fd"
    for ((i = 0; i < 300; i++)); do
        grep -qxF -- "$text" "$S/$name.got" && break
        sleep 0.1
    done
    grep -qxF -- "$text" "$S/$name.got" || rc=1
    if [ "$rc" -eq 0 ] && [ $# -gt 0 ]; then "$@" || rc=2; fi
    exec {fd}>&-
    wait "$pid"
    return "$rc"
}

# has_all NAME REGEX...: the guest printed a line matching each.
has_all() {
    local name=$1 re
    shift
    for re; do has "$name" "$re" || return 1; done
}

# Listeners for the two client-mode ports, before kvmini connects.
$PEER listen "$S/l1.sock" 60 'send:from listener\n' 'expect:from listener\n' \
    close 'send:back again\n' 'expect:back again\n' \
    >"$S/l1.peer" 2>"$S/l1.err" &
L1=$!
$PEER listen "$S/l2.sock" 60 'send:second client port\n' \
    'expect:second client port\n' >"$S/l2.peer" 2>"$S/l2.err" &
L2=$!
for _ in $(seq 1 100); do
    [ -S "$S/l1.sock" ] && [ -S "$S/l2.sock" ] && break
    sleep 0.1
done

args=(
    --port "name=$N.e1.echo,unix=$S/e1.sock,server"     # port 1
    --port "name=$N.e2.echo,unix=$S/e2.sock,server"     # 2
    --port "name=$N.e3.echo,unix=$S/e3.sock,server"     # 3
    --port "name=$N.c1.echo,unix=$S/l1.sock"            # 4: kvmini connects
    --port "name=$N.c2.echo,unix=$S/l2.sock"            # 5
    --port "name=$N.x.ctl,unix=$S/ctl.sock,server"      # 6
    --port "name=$N.x.data,unix=$S/data.sock,server"    # 7
    --port "name=$N.late.echo,unix=$S/late.sock,server" # 8: no peer yet
    --port "name=$N.d1.echo,dev=1,unix=$S/d1.sock,server"
)
for i in $(seq 9 16); do # the other 8 of the first device's 16
    args+=(--port "name=$N.f$i,file=$S/f$i.log")
done
vm_start 240 ports -k "$GUEST" -p "expect_ports=17 hold=200" --stats \
    "${args[@]}"
if ! wait_line ports '^tg: holding' 90; then
    not_ok "the guest reached 'tg: holding' with 17 ports"
    tail -20 "$S/ports.out" | diag; diag "$S/ports.err"
    kill -KILL "$VM_PID" 2>/dev/null; wait "$VM_REAPER"
    kill "$L1" "$L2" 2>/dev/null
    done_testing; exit
fi
check "the guest found 17 named ports on 2 devices (vport_ports)" \
    has ports '^tg: check vport_ports ok ports=17 want=17$'
check "device 0 has 16 named ports, port 0 left free (max_ports=17)" \
    bash -c "grep -q '^tg: vport dev=0 .*max_ports=17 ' '$S/ports.out' &&
             [ \$(grep -c '^tg: vport dev=0 port=[0-9]* name=' '$S/ports.out') -eq 16 ]"
check "device 1 has its port, with its name" \
    has ports "^tg: vport dev=1 port=1 name=$N.d1.echo role=echo host_open=0\$"
check "names and roles arrived through the control queue (PORT_NAME)" \
    has_all ports \
        "^tg: vport dev=0 port=6 name=$N.x.ctl role=ctl " \
        "^tg: vport dev=0 port=7 name=$N.x.data role=data " \
        "^tg: vport dev=0 port=16 name=$N.f16 role=other "
check "client-mode ports start connected (PORT_OPEN 1 from the device)" \
    has_all ports \
        "^tg: vport dev=0 port=4 name=$N.c1.echo role=echo host_open=1$" \
        "^tg: vport dev=0 port=5 name=$N.c2.echo role=echo host_open=1$"
check "a server port nobody connected to yet is closed (PORT_OPEN 0)" \
    has ports "^tg: vport dev=0 port=8 name=$N.late.echo role=echo host_open=0\$"

# Echo, kvmini as the server: socat connects.
for p in e1 e2 e3 d1; do
    check "socat on $p.echo gets its line back" \
        socat_echo "$S/$p.sock" "a line for $p, with spaces" "$p"
done

# socat at the end of a piped input shuts its writing side and waits for
# the answer: a half-close, not a hangup, so the echo still comes back.
printf 'piped line\n' | timeout 30 socat -t 20 - "UNIX-CONNECT:$S/e1.sock" \
    >"$S/piped.got" 2>"$S/piped.err"
check "a piped socat (input ended, half-closed) gets its echo" \
    grep -qxF 'piped line' "$S/piped.got"

# Echo, kvmini as the client: the listeners send, expect, (l1) leave and
# take kvmini's reconnection.
wait "$L1"; rc1=$?
wait "$L2"; rc2=$?
check "a listener on c1.echo gets its line back, leaves, kvmini reconnects, the next line comes back too" \
    test "$rc1" -eq 0
[ "$rc1" -eq 0 ] || diag "$S/l1.err"
check "a listener on c2.echo gets its line back" test "$rc2" -eq 0
check "... and kvmini said it reconnected" \
    grep -q "port $N.c1.echo: reconnected to $S/l1.sock" "$S/ports.err"

# The late peer: the guest sees it come (PORT_OPEN 1) while it is
# connected (the device tells the current state, not each transition),
# echoes its line, then sees it go.
socat_echo "$S/late.sock" "late but here" late \
    wait_line ports '^tg: vport dev=0 port=8 host_open=1$' 30
rc=$?
check "a peer comes to late.echo: echoed" test "$rc" -ne 1
check "... the guest was told it came (PORT_OPEN 1)" test "$rc" -eq 0
check "... and that it left (PORT_OPEN 0)" \
    wait_line ports '^tg: vport dev=0 port=8 host_open=0$' 30

# The classic exchange: "sha256 N" on ctl, N bytes on data.
head -c 1048576 /dev/urandom >"$S/big"
want=$(sha256sum "$S/big" | cut -d' ' -f1)
perl tests/integration/portsha.pl "$S/ctl.sock" "$S/data.sock" "$S/big" 60 \
    >"$S/sha.out" 2>"$S/sha.err"
read -r got secs sent <"$S/sha.out"
check "1 MiB on the data port: the guest's SHA-256 on the ctl port matches" \
    test "${got:-none}" = "$want"
[ "${got:-none}" = "$want" ] && echo "# 1 MiB exchange: ${secs}s host-side"
[ -s "$S/sha.err" ] && diag "$S/sha.err"
check "... the guest hashed exactly 1048576 bytes" \
    wait_line ports "^tg: vport sha256 port=$N.x.data bytes=1048576 us=[0-9]+ hex=$want\$" 10
grep '^tg: vport sha256' "$S/ports.out" | diag

# quit on the ctl port ends the hold; the guest exits with its verdict.
$PEER unix "$S/ctl.sock" 30 'send:sha256 12x\n' 'expect:error bad-length\n' \
    'send:quit\n' 'expect:bye\n' >"$S/quit.peer" 2>"$S/quit.err"
check "ctl answers a bad command with an error, and 'quit' with 'bye'" \
    test $? -eq 0
wait "$VM_REAPER"
check "the guest ends with its verdict pass: kvmini exits 0 ($(cat "$S/ports.how"))" \
    test "$(cat "$S/ports.how")" = "exit 0"
check "the data port counted every byte" \
    has ports '^tg: vport dev=0 port=7 stats rx=1048576 tx=0$'
# DEVICE_READY, 16 PORT_READY and 16 PORT_OPEN from the guest, none bad.
check "--stats: device 0 took 33 control messages from the guest, none bad" \
    grep -q 'virtio serial: ports 17 ctrl-in 33 ctrl-out [0-9]* ctrl-bad 0 ' \
    "$S/ports.err"
check "--stats: device 1 took 3, none bad" \
    grep -q 'virtio serial: ports 2 ctrl-in 3 ctrl-out [0-9]* ctrl-bad 0 ' \
    "$S/ports.err"
grep -E '^(vcpu0: runs|virtio serial)' "$S/ports.err" | diag
check "the socket files are removed at exit" \
    bash -c "! ls '$S'/*.sock 2>/dev/null"

# --console virtio with --port: the console is port 0 of the port device
# (CONSOLE_PORT), which takes slot 0; no separate console device.
truncate -s 1M "$S/d.img"
run_vm 60 cport -k "$GUEST" -p "expect_ports=2 vport_hello" --disk "$S/d.img" \
    --console "virtio,file=$S/cons.log" --port "name=$N.a.echo,file=$S/a.log" \
    --port "name=$N.b,file=$S/b.log" --stats
check "--console virtio --port: the guest passes (exit $RC)" guest_passed cport
check "... one console device, in slot 0, then the disk" \
    has_all cport \
        "^tg: virtio dev=0 .* id=3 .*name=console" \
        "^tg: virtio dev=1 .* id=2 " \
        "^tg: devices n=2 "
check "... port 0 is the console (CONSOLE_PORT), named ports 1 and 2" \
    has_all cport \
        "^tg: vport dev=0 port=0 console hello=1$" \
        "^tg: vport dev=0 port=1 name=$N.a.echo " \
        "^tg: vport dev=0 port=2 name=$N.b "
check "... the guest's line on the console port reached the console's backend" \
    grep -qx 'tg-vport: console' "$S/cons.log"
check "... --stats: the one serial device has 3 ports, no bad control message" \
    grep -q '^virtio serial: ports 3 ctrl-in 6 .* ctrl-bad 0 ' "$S/cport.err"
# A driver without MULTIPORT (the tiny guest's vcons, like Linux's
# virtio_console on a plain console) sees port 0 alone: the console.
rm -f "$S/cons.log"
run_vm 60 cplain -k "$GUEST" -p vcons_hello \
    --console "virtio,legacy,file=$S/cons.log" --port "name=$N.a.echo,file=$S/a.log"
check "--console virtio,legacy --port, driver without MULTIPORT: vcons_hello passes on port 0" \
    bash -c "[ $RC -eq 0 ] && grep -q '^tg: check vcons_hello ok' '$S/cplain.out' &&
             grep -q '^tg: virtio dev=0 .* version=1 name=console' '$S/cplain.out' &&
             grep -qx 'tg-vcons: hello' '$S/cons.log'"
done_testing
