#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-net with the tiny guest's driver (guest/vnet.c, ip= words): the
# guest answers ARP, ping and UDP echo on a tap whose other side is the
# Linux stack in a network namespace this test creates; frames of every
# size up to the MTU go both ways (UDP echo of every payload size, ping
# with DF at a stride), jumbo frames through mergeable buffers, two NICs
# at once, the MAC given to --net is what the namespace's neighbour table
# learns, and the default MAC is stable for a --name. Then the same driver
# against QEMU microvm's virtio-net-device (a device nobody here wrote).
#
# Everything happens inside namespace kvmini-net-PID: the taps, their
# addresses, the VMs (started with `ip netns exec`) and every packet; the
# host's own interfaces and routes are never touched. Every loop and VM
# has a count and a deadline; the namespace and what runs in it go away
# on exit, whatever happens.
. "$(dirname "$0")/lib.sh"
require_kvm

NS=kvmini-net-$$
ns() { ip netns exec "$NS" "$@"; }
cleanup() {
    local p
    # Only what this test started runs in its namespace.
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -TERM "$p" 2>/dev/null; done
    sleep 0.5
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

missing=""
for t in ip ping perl; do command -v "$t" >/dev/null || missing+=" $t"; done
ping -V 2>/dev/null | grep -q iputils || missing+=" iputils-ping"
if [ -n "$missing" ]; then
    echo "1..1"
    echo "not ok 1 - missing:$missing (Debian: iproute2 iputils-ping perl)"
    exit 1
fi
if ! ip netns add "$NS"; then
    echo "1..1"; echo "not ok 1 - cannot create network namespace $NS (root?)"
    exit 1
fi
ns ip link set lo up
# No IPv6 in here: no router or neighbour solicitations to count.
ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1

# mktap NAME ADDR/PREFIX [MTU]: a tap inside the namespace, up, addressed.
mktap() {
    ns ip link del "$1" 2>/dev/null
    ns ip tuntap add dev "$1" mode tap &&
        ns ip addr add "$2" dev "$1" &&
        ns ip link set "$1" mtu "${3:-1500}" up
}

# vm_start NAME DEADLINE CMD...: runs CMD in the namespace, stdin from a
# fifo kept open on fd VMFD_NAME, output in $TMP/NAME.out; waits (60 s at
# most) for the shell prompt. Sets VMPID.
vm_start() {
    local name=$1 deadline=$2 fd; shift 2
    mkfifo "$TMP/$name.in"
    exec {fd}<>"$TMP/$name.in"
    eval "VMFD_$name=$fd"
    ns timeout -k 5 "$deadline" "$@" <&"$fd" >"$TMP/$name.out" \
        2>"$TMP/$name.err" &
    VMPID=$!
    for _ in $(seq 1 600); do
        grep -q '^tg> ' "$TMP/$name.out" && return 0
        kill -0 "$VMPID" 2>/dev/null || break
        sleep 0.1
    done
    echo "# $name: no shell prompt"; tail -5 "$TMP/$name.out" | diag
    diag "$TMP/$name.err"
    return 1
}

# vm_stop NAME: "net stats", "exit 0" typed at the prompt; waits for the
# VM (its own deadline bounds it); sets RC.
vm_stop() {
    local fdvar="VMFD_$1"
    local fd=${!fdvar}
    printf 'net stats\rexit 0\r' >&"$fd"
    wait "$VMPID"
    RC=$?
    exec {fd}>&-
}

# stat_of NAME ETH KEY: a counter from the guest's last stats line.
stat_of() {
    grep "^tg: net $2 stats " "$TMP/$1.out" | tail -1 |
        sed -n "s/.* $3=\([0-9]*\).*/\1/p"
}

# mac_of NAME ETH: the MAC the guest reported.
mac_of() {
    sed -n "s/^tg: net $2 mac=\([0-9a-f:]*\) .*/\1/p" "$TMP/$1.out" | head -1
}

# ping_ok ADDR [ARGS...]: 3 echo requests, each answered within 2 s.
ping_ok() {
    local a=$1; shift
    ns ping -q -c 3 -W 2 -w 20 "$@" "$a" >/dev/null
}

# ping_sweep ADDR MAX STEP: one DF ping of each size 0, STEP, 2 STEP, ...,
# MAX - 1 and MAX; prints the sizes that got no answer.
ping_sweep() {
    local s bad=""
    for s in $(seq 0 "$3" "$2") $(($2 - 1)) "$2"; do
        ns ping -q -c 1 -W 2 -M do -s "$s" "$1" >/dev/null || bad+=" $s"
    done
    echo "${bad:- none}"
}

# udp_sweep NAME ADDR MIN MAX STEP: UDP echo of each payload size (300 s
# at most); the result line goes to $TMP/NAME.udp.
udp_sweep() {
    ns timeout 300 perl tests/integration/udpecho.pl "$2" 7 "$3" "$4" "$5" 2 \
        >"$TMP/$1.udp" 2>&1
}

# guest_ok NAME: exit 0 and no failed check.
guest_ok() {
    if [ "$RC" -eq 0 ] && ! grep -q 'FAIL' "$TMP/$1.out"; then return 0; fi
    echo "# $1: exit $RC"; grep -E 'FAIL|verdict|fault|broken' "$TMP/$1.out" | diag
    diag "$TMP/$1.err"
    return 1
}

# one_nic VMM NAME CMD...: the single-NIC checks on a guest at 10.210.0.2
# behind tap kn0 (10.210.0.1), MTU 1500.
one_nic() {
    local vmm=$1 name=$2 mac; shift 2
    if ! vm_start "$name" 300 "$@"; then
        not_ok "$vmm: the guest came up with eth0"; return
    fi
    check "$vmm: net_start ok" has "$name" '^tg: check net_start ok eth0$'
    mac=$(mac_of "$name" eth0)
    ns ip neigh flush dev kn0
    check "$vmm: ping 10.210.0.2 (3 of 3)" ping_ok 10.210.0.2
    check "$vmm: ARP answered: the namespace's neighbour table holds the \
guest's MAC $mac" bash -c "ip netns exec $NS ip neigh show 10.210.0.2 dev kn0 |
        grep -q 'lladdr $mac '"
    udp_sweep "$name" 10.210.0.2 0 1472 1
    check "$vmm: UDP echo of every payload size 0..1472 (frames of 42..1514 \
bytes) comes back intact ($(cat "$TMP/$name.udp"))" \
        grep -q '^ok ' "$TMP/$name.udp"
    r=$(ping_sweep 10.210.0.2 1472 11)
    check "$vmm: ping -M do -s 0..1472 (every 11th size, 1471, 1472): \
unanswered:$r" test "$r" = " none"
    check "$vmm: ping flood of 300 (-f, 30 s at most): none lost" \
        bash -c "ip netns exec $NS ping -q -f -c 300 -w 30 10.210.0.2 |
            grep -q ' 0% packet loss'"
    vm_stop "$name"
    check "$vmm: the guest exits 0 with every check passed" guest_ok "$name"
    check "$vmm: the guest counted no bad frame, no drop" \
        test "$(stat_of "$name" eth0 bad)" = 0 -a \
        "$(stat_of "$name" eth0 drops)" = 0
    check "$vmm: ... and answered ARP, ICMP and UDP (arp=$(stat_of "$name" \
eth0 arp) icmp=$(stat_of "$name" eth0 icmp) udp=$(stat_of "$name" eth0 udp))" \
        test "$(stat_of "$name" eth0 arp)" -ge 1 -a \
        "$(stat_of "$name" eth0 icmp)" -ge 439 -a \
        "$(stat_of "$name" eth0 udp)" -ge 1473
}

# jumbo VMM NAME MINBUFS CMD...: MTU 9000; the largest frame must have
# come in MINBUFS buffers or more (with net=rxbuf=256 the guest raises its
# buffers to 1152 bytes, so a 9014-byte frame spans 8); "-": no merging.
jumbo() {
    local vmm=$1 name=$2 minbufs=$3; shift 3
    if ! vm_start "$name" 300 "$@"; then
        not_ok "$vmm MTU 9000: the guest came up"; return
    fi
    check "$vmm MTU 9000: the device says so (net_mtu)" \
        has "$name" '^tg: check net_mtu ok eth0 mtu=9000'
    udp_sweep "$name" 10.210.0.2 0 8972 13
    check "$vmm MTU 9000: UDP echo of sizes 0..8972 (every 13th) intact \
($(cat "$TMP/$name.udp"))" grep -q '^ok ' "$TMP/$name.udp"
    udp_sweep "$name.edge" 10.210.0.2 8960 8972 1
    check "$vmm MTU 9000: ... and each of 8960..8972" \
        grep -q '^ok ' "$TMP/$name.edge.udp"
    check "$vmm MTU 9000: ping -M do -s 8972" ping_ok 10.210.0.2 -M do -s 8972
    vm_stop "$name"
    check "$vmm MTU 9000: the guest exits 0" guest_ok "$name"
    [ "$minbufs" = - ] && return
    check "$vmm MTU 9000: the largest frames came in $minbufs buffers or \
more (merged=$(stat_of "$name" eth0 merged) maxbufs=$(stat_of "$name" eth0 \
maxbufs))" test "$(stat_of "$name" eth0 maxbufs)" -ge "$minbufs"
}

# two_nics VMM NAME CMD...: eth0 behind kn0 (10.210.0.2), eth1 behind
# kn1 (10.211.0.2), both at once.
two_nics() {
    local vmm=$1 name=$2 pids=(); shift 2
    if ! vm_start "$name" 300 "$@"; then
        not_ok "$vmm two NICs: the guest came up"; return
    fi
    check "$vmm two NICs: both started" \
        test "$(grep -c '^tg: check net_start ok eth[01]$' "$TMP/$name.out")" \
        -eq 2
    udp_sweep "$name.0" 10.210.0.2 0 1472 3 &
    pids+=($!)
    udp_sweep "$name.1" 10.211.0.2 1 1472 3 &
    pids+=($!)
    wait "${pids[@]}"
    check "$vmm two NICs: UDP echo through both at once, sizes 0..1472 \
(every 3rd): eth0 $(cat "$TMP/$name.0.udp"), eth1 $(cat "$TMP/$name.1.udp")" \
        grep -q '^ok ' "$TMP/$name.0.udp" "$TMP/$name.1.udp"
    check "$vmm two NICs: ping each" \
        bash -c "ip netns exec $NS ping -q -c 2 -W 2 10.210.0.2 >/dev/null &&
                 ip netns exec $NS ping -q -c 2 -W 2 10.211.0.2 >/dev/null"
    vm_stop "$name"
    check "$vmm two NICs: the guest exits 0" guest_ok "$name"
    check "$vmm two NICs: each counted its own traffic" \
        test "$(stat_of "$name" eth0 udp)" -ge 491 -a \
        "$(stat_of "$name" eth1 udp)" -ge 491
}

# --- kvmini -------------------------------------------------------------------
if ! "$KVMINI" --help 2>&1 | grep -q -- '--net'; then
    not_ok "kvmini has no --net option yet (issue 9): kvmini part not run"
else
    GMAC=02:11:22:33:44:55
    mktap kn0 10.210.0.1/24
    one_nic kvmini kv1 "$KVMINI" run -k "$GUEST" --net "tap=kn0,mac=$GMAC" \
        -p "ip=10.210.0.2/24 net=mac=$GMAC shell"
    check "kvmini: the MAC given to --net is the guest's (net_mac)" \
        has kv1 "^tg: check net_mac ok eth0 mac=$GMAC"

    # The shorthand, and the MAC kvmini picks: the same for the same
    # --name and NIC, locally administered, unicast.
    for run in 1 2; do
        vm_start mac$run 60 "$KVMINI" run -k "$GUEST" --name netmac-a \
            --net kn0 -p "ip=10.210.0.2/24 shell" && vm_stop mac$run
    done
    vm_start macb 60 "$KVMINI" run -k "$GUEST" --name netmac-b --net kn0 \
        -p "ip=10.210.0.2/24 shell" && vm_stop macb
    m1=$(mac_of mac1 eth0) m2=$(mac_of mac2 eth0) mb=$(mac_of macb eth0)
    check "kvmini: default MAC stable for --name netmac-a ($m1, $m2)" \
        test -n "$m1" -a "$m1" = "$m2"
    check "kvmini: ... locally administered and unicast" \
        test -n "$m1" -a $((0x${m1:0:2} & 3)) -eq 2
    check "kvmini: ... another --name gets another ($mb)" \
        test -n "$mb" -a "$mb" != "$m1"

    mktap kn0 10.210.0.1/24 9000
    jumbo kvmini kvjumbo 8 "$KVMINI" run -k "$GUEST" --net tap=kn0,mtu=9000 \
        -p "ip=10.210.0.2/24 net=rxbuf=256,mtu=9000 shell"

    # Two NICs; kvmini creates kn1 itself (and removes it at exit).
    mktap kn0 10.210.0.1/24
    ns ip link del kn1 2>/dev/null
    (for _ in $(seq 1 300); do
        ns ip link show kn1 >/dev/null 2>&1 &&
            ns ip addr add 10.211.0.1/24 dev kn1 && exit 0
        sleep 0.1
    done) &
    two_nics kvmini kvtwo "$KVMINI" run -k "$GUEST" --net kn0 \
        --net tap=kn1,queues=2 \
        -p "ip=10.210.0.2/24 ip.eth1=10.211.0.2/24 shell"
    wait
    check "kvmini: the tap it created is gone after it exits" \
        bash -c "! ip netns exec $NS ip link show kn1 >/dev/null 2>&1"

    # The control queue's commands that reach the tap, under the default
    # filters (--seccomp kill, docs/security.md): VQ_PAIRS_SET attaches
    # and detaches a tap queue (TUNSETQUEUE), GUEST_OFFLOADS_SET sets the
    # tap's offloads (TUNSETOFFLOAD), both on the control queue's worker;
    # then the guest resets the running NIC and starts it again (the vCPU
    # joins the workers, sets the tap's header size and offloads again,
    # the spawner makes new workers) and sends them again.
    # A syscall missing from a list would end kvmini with status 159.
    ns ip link del kn2 2>/dev/null
    if ns ip tuntap add dev kn2 mode tap multi_queue &&
        ns ip addr add 10.212.0.1/24 dev kn2 && ns ip link set kn2 up; then
        if vm_start ctrl 120 "$KVMINI" run -k "$GUEST" --seccomp kill \
            --net tap=kn2,queues=2 \
            -p "ip=10.212.0.2/24 net=ctrl,restart shell"; then
            check "kvmini ctrl: pairs 2 then 1, offloads off; an offload not \
negotiated refused; again after a reset and restart of the NIC" \
                test "$(grep -c '^tg: check net_ctrl ok eth0 pairs=2:ok pairs=1:ok offloads=0:ok offloads=2:err$' \
                    "$TMP/ctrl.out")" -eq 2
            check "kvmini ctrl: the restart (new workers, the tap set up \
again on the vCPU) passed" has ctrl '^tg: check net_restart ok eth0$'
            check "kvmini ctrl: the NIC still answers ping afterwards" \
                ping_ok 10.212.0.2
            vm_stop ctrl
            check "kvmini ctrl: the guest exits 0 (no seccomp stop: 159)" \
                guest_ok ctrl
        else
            not_ok "kvmini ctrl: the guest came up"
        fi
        ns ip link del kn2 2>/dev/null
    else
        not_ok "a multi-queue tap kn2 for the control-queue test"
    fi
fi

# --- the same driver against QEMU microvm's virtio-net-device ----------------
GUEST_ELF=${GUEST_ELF:-build/tiny-guest.elf}
if command -v qemu-system-x86_64 >/dev/null; then
    q=(env "KERNEL=$GUEST_ELF" guest/run-qemu.sh -t 280)
    mktap kn0 10.210.0.1/24
    one_nic QEMU qm1 "${q[@]}" -n kn0,mac=02:aa:bb:cc:dd:ee \
        -p "ip=10.210.0.2/24 net=mac=02:aa:bb:cc:dd:ee shell"
    check "QEMU: found through virtio_mmio.device=, vendor QEMU" \
        has qm1 '^tg: virtio dev=0 src=cmdline .* id=1 vendor=0x554d4551 '
    check "QEMU: CSUM negotiated (UDP replies' checksums filled in by QEMU)" \
        has qm1 '^tg: net eth0 features=.* mac,status,csum,mrg_rxbuf,event_idx$'

    mktap kn0 10.210.0.1/24 9000
    jumbo QEMU qmjumbo 8 "${q[@]}" -n kn0,mtu=9000 \
        -p "ip=10.210.0.2/24 net=rxbuf=256,mtu=9000 shell"

    jumbo "QEMU legacy without MRG_RXBUF and CSUM" qmlegacy - "${q[@]}" \
        --legacy \
        -n kn0,mtu=9000,mrg_rxbuf=off,csum=off \
        -p "ip=10.210.0.2/24 net=mtu=9000 shell"
    check "QEMU legacy: Version 1, 10-byte header, one buffer a frame" \
        has qmlegacy '^tg: net eth0 .* hdr=10 bufsz=9088 .* legacy=1 '
    check "QEMU legacy: ... so nothing merged, every frame in one buffer" \
        test "$(stat_of qmlegacy eth0 merged)" = 0 -a \
        "$(stat_of qmlegacy eth0 maxbufs)" = 1

    mktap kn0 10.210.0.1/24
    mktap kn1 10.211.0.1/24
    two_nics QEMU qmtwo "${q[@]}" -n kn0 -n kn1,mac=52:54:00:12:34:57 \
        -p "ip=10.210.0.2/24 ip.eth1=10.211.0.2/24 shell"
else
    not_ok "qemu-system-x86_64 missing (Debian package qemu-system-x86)"
fi

done_testing
