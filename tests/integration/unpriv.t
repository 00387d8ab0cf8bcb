#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# kvmini as an ordinary user: a uid with no passwd entry, no capabilities
# (empty bounding set, no_new_privs), whose only extra group is the one
# that may open /dev/kvm. It boots the tiny guest with a disk, the 8250
# on stdio and a virtio console in a file, and a NIC on a tap that root
# created for it beforehand; it fails with one line naming the fix when
# it may not open /dev/kvm, and when it would have to create a tap.
#
# Debian's udev makes /dev/kvm root:kvm 0660 and /dev/net/tun 0666. A
# host without udev (a container) keeps the kernel's root-only 0600: then
# this test gives /dev/kvm to a group and /dev/net/tun to everyone for
# its own run only, and puts back the owner, group and mode it found
# when it exits, whatever happens. Root's own access is unaffected (root
# ignores file modes), so concurrent tests run by root do not notice. A
# lock serialises runs of this test on one host. The taps live in a
# network namespace this test creates and deletes.
. "$(dirname "$0")/lib.sh"
require_kvm

if [ "$(id -u)" -ne 0 ]; then
    why="needs root to switch to an unprivileged uid and create taps"
    if full_run; then echo "1..1"; echo "not ok 1 - $why"; exit 1; fi
    echo "1..0 # SKIP $why (a partial run)"; exit 0
fi
missing=""
for t in setpriv flock ip ping; do
    command -v "$t" >/dev/null || missing+=" $t"
done
if [ -n "$missing" ]; then
    echo "1..1"
    echo "not ok 1 - missing:$missing (Debian: util-linux iproute2 iputils-ping)"
    exit 1
fi

# A uid and (if no group kvm exists) a gid nobody uses on this host.
free_id() { # free_id passwd|group FIRST
    local i
    for ((i = $2; i < $2 + 1000; i++)); do
        getent "$1" "$i" >/dev/null || { echo "$i"; return; }
    done
}
U=$(free_id passwd 61000)
KGID=$(getent group kvm | cut -d: -f3)
[ -n "$KGID" ] || KGID=$(free_id group 62000)

NS=kvmini-unpriv-$$
KVM_WAS="" TUN_WAS=""
exec {LOCKFD}>/tmp/kvmini-unpriv.lock
if ! flock -w 600 "$LOCKFD"; then
    echo "1..1"; echo "not ok 1 - another unpriv.t held the lock for 600 s"
    exit 1
fi
cleanup() {
    local p
    for p in $(ip netns pids "$NS" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip netns del "$NS" 2>/dev/null
    # Back to what this test found (uid:gid mode).
    if [ -n "$KVM_WAS" ]; then
        chown "${KVM_WAS% *}" /dev/kvm && chmod "${KVM_WAS#* }" /dev/kvm
    fi
    [ -n "$TUN_WAS" ] && chmod "$TUN_WAS" /dev/net/tun
    rm -rf "$TMP"
}
trap cleanup EXIT

kvm_st=$(stat -c '%u:%g %a' /dev/kvm)
if [ "$(stat -c %g /dev/kvm)" != "$KGID" ] ||
    [ $((0$(stat -c %a /dev/kvm) & 060)) -ne $((060)) ]; then
    KVM_WAS=$kvm_st
    chgrp "$KGID" /dev/kvm && chmod g+rw /dev/kvm
    echo "# /dev/kvm was $kvm_st: group $KGID, g+rw for this run only"
fi
if [ -e /dev/net/tun ] && [ "$(stat -c %a /dev/net/tun)" != 666 ]; then
    TUN_WAS=$(stat -c %a /dev/net/tun)
    chmod 0666 /dev/net/tun
    echo "# /dev/net/tun was $TUN_WAS: 0666 (Debian's) for this run only"
fi

# The user's own directory, with its own copies (the checkout may be in a
# directory it cannot read).
chmod 711 "$TMP"
H=$TMP/home
mkdir "$H"
cp "$KVMINI" "$H/kvmini"
cp "$GUEST" "$H/tiny-guest"
truncate -s 4M "$H/a.img"
mkdir -m 700 "$H/run" # XDG_RUNTIME_DIR: a login session would have one
chown -R "$U:$U" "$H"
chmod 700 "$H"

# AS_USER CMD...: CMD as uid U, group U plus the kvm group, no
# capabilities at all, no way to gain any, in the user's directory.
# NO_KVM: the same user without the kvm group.
PRIV=(--reuid="$U" --regid="$U" --no-new-privs --inh-caps=-all
      --bounding-set=-all)
AS_USER=(setpriv "${PRIV[@]}" --groups="$KGID" -- env -C "$H" XDG_RUNTIME_DIR="$H/run")
NO_KVM=(setpriv "${PRIV[@]}" --clear-groups -- env -C "$H" XDG_RUNTIME_DIR="$H/run")

st=$("${AS_USER[@]}" cat /proc/self/status)
check "the user is uid $U with groups '$U $KGID', no capabilities, no_new_privs" \
    bash -c "grep -Eq '^Uid:\s+$U\s+$U\s+$U\s+$U\$' <<<'$st' &&
             grep -Eq '^Groups:\s+$KGID\s*\$' <<<'$st' &&
             grep -Eq '^CapEff:\s+0+\$' <<<'$st' &&
             grep -Eq '^CapPrm:\s+0+\$' <<<'$st' &&
             grep -Eq '^CapBnd:\s+0+\$' <<<'$st' &&
             grep -Eq '^NoNewPrivs:\s+1\$' <<<'$st'"

# 1. A disk, the 8250 on stdio (typed input, output) and a virtio
#    console on a file: all of it works without privilege.
printf 'cpus\rexit 5\r' >"$TMP/keys"
timeout -k 5 120 "${AS_USER[@]}" ./kvmini run -k tiny-guest --disk a.img \
    --device console,file=vc.log -p 'blk=rwtest vcons_hello shell' \
    <"$TMP/keys" >"$TMP/disk.out" 2>"$TMP/disk.err"
RC=$?
check "disk and consoles as the user: the typed 'exit 5' ends it (got $RC)" \
    test "$RC" -eq 5
check "... the disk passed the guest's read/write/flush checks" \
    bash -c "grep -q '^tg: check blk_rw ok vda' '$TMP/disk.out' &&
             grep -q '^tg: check blk_flush ok vda' '$TMP/disk.out' &&
             grep -q '^tg: verdict pass' '$TMP/disk.out'"
check "... the image holds the guest's writes" \
    bash -c "[ \$(tr -d '\\0' <'$H/a.img' | head -c 1 | wc -c) -eq 1 ]"
check "... the 8250 answered the typed 'cpus'" has disk '^tg: cpus described=1'
check "... the virtio console's line is in the user's file" \
    grep -qx 'tg-vcons: hello' "$H/vc.log"
check "... nothing on stderr (no warning about missing privilege)" \
    test ! -s "$TMP/disk.err"
[ -s "$TMP/disk.err" ] && diag "$TMP/disk.err"

# 1b. The control API as the user: the socket in its XDG_RUNTIME_DIR,
#     ctl info and stop answer.
"${AS_USER[@]}" ./kvmini run -k tiny-guest -p hold=60 --name u1 \
    </dev/null >"$TMP/u1.out" 2>"$TMP/u1.err" &
upid=$!
for _ in $(seq 1 300); do
    "${AS_USER[@]}" ./kvmini ctl u1 info >/dev/null 2>&1 && break
    sleep 0.1
done
check "the control API as the user: its socket is in XDG_RUNTIME_DIR" \
    test -S "$H/run/kvmini/u1.sock"
check "... ctl info answers" \
    bash -c "$(printf '%q ' "${AS_USER[@]}") ./kvmini ctl u1 info | grep -q '^state: running'"
check "... ctl stop ends it" \
    bash -c "$(printf '%q ' "${AS_USER[@]}") ./kvmini ctl u1 stop >/dev/null"
wait "$upid"
check "... and the socket is gone" test ! -e "$H/run/kvmini/u1.sock"

# 2. /dev/kvm that the user may not open: one line naming the fix.
timeout -k 5 60 "${NO_KVM[@]}" ./kvmini run -k tiny-guest --disk a.img </dev/null \
    >"$TMP/nokvm.out" 2>"$TMP/nokvm.err"
rc=$?
check "without the kvm group: exit 1 (got $rc), one line: $(head -1 "$TMP/nokvm.err")" \
    bash -c "[ $rc -eq 1 ] && [ \$(wc -l <'$TMP/nokvm.err') -eq 1 ] &&
             grep -q '^kvmini: /dev/kvm: permission denied (group .*, mode 0[0-7]*): add your user to group .* (.sudo adduser USER ' '$TMP/nokvm.err'"
check "... and the guest never ran" test ! -s "$TMP/nokvm.out"

# 3. Networking: root makes the tap for the user beforehand; the user
#    attaches to it, and cannot create one itself.
if ! ip netns add "$NS"; then
    not_ok "cannot create network namespace $NS"
    done_testing; exit
fi
ns() { ip netns exec "$NS" "$@"; }
quiet() { "$@" >/dev/null 2>&1; }
ns ip link set lo up
ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
ns ip tuntap add dev ku0 mode tap user "$U" &&
    ns ip addr add 10.213.0.1/24 dev ku0 && ns ip link set ku0 up
# A tap with no owner is open to anyone who can open /dev/net/tun (the
# kernel's rule); this one is root's.
ns ip tuntap add dev kr0 mode tap user 0

mkfifo "$TMP/net.in"
chmod 644 "$TMP/net.in"
exec {NETFD}<>"$TMP/net.in"
ns timeout -k 5 120 "${AS_USER[@]}" ./kvmini run -k tiny-guest --net ku0 \
    -p 'ip=10.213.0.2/24 shell' <&"$NETFD" >"$TMP/net.out" 2>"$TMP/net.err" &
netpid=$!
for _ in $(seq 1 600); do
    grep -q '^tg> ' "$TMP/net.out" && break
    kill -0 "$netpid" 2>/dev/null || break
    sleep 0.1
done
check "a tap made with 'ip tuntap add ku0 mode tap user $U': the guest's NIC starts" \
    grep -q '^tg: check net_start ok eth0$' "$TMP/net.out"
check "... and answers 3 of 3 pings from the namespace" \
    quiet ns ping -q -c 3 -W 2 -w 20 10.213.0.2
printf 'exit 0\r' >&"$NETFD"
wait "$netpid"
RC=$?
exec {NETFD}>&-
check "... then exits 0 (got $RC) with nothing on stderr" \
    bash -c "[ $RC -eq 0 ] && [ ! -s '$TMP/net.err' ]"
[ -s "$TMP/net.err" ] && diag "$TMP/net.err"
check "... and the tap is still there, root's to remove" \
    quiet ns ip link show ku0

# netfail NAME TAP: runs the user's kvmini on TAP in the namespace.
netfail() {
    ns timeout -k 5 60 "${AS_USER[@]}" ./kvmini run -k tiny-guest --net "$2" \
        </dev/null >"$TMP/$1.out" 2>"$TMP/$1.err"
    RC=$?
}
netfail nocap kn9
check "a tap that does not exist: exit 1 (got $RC), one line naming 'ip tuntap add ... user': $(head -1 "$TMP/nocap.err")" \
    bash -c "[ $RC -eq 1 ] && [ \$(wc -l <'$TMP/nocap.err') -eq 1 ] &&
             grep -q \"needs CAP_NET_ADMIN: run 'ip tuntap add kn9 mode tap user $U \&\& ip link set kn9 up' as root first\" '$TMP/nocap.err'"
check "... nothing left behind (no kn9)" \
    bash -c "! ip netns exec $NS ip link show kn9 >/dev/null 2>&1"
netfail mtu tap=ku0,mtu=1400
check "mtu= that differs from the tap's: exit 1 (got $RC), one line: $(head -1 "$TMP/mtu.err")" \
    bash -c "[ $RC -eq 1 ] && [ \$(wc -l <'$TMP/mtu.err') -eq 1 ] &&
             grep -q \"changing the MTU of tap ku0 needs CAP_NET_ADMIN: run 'ip link set ku0 mtu 1400' as root first\" '$TMP/mtu.err'"
check "... the tap keeps its MTU 1500" \
    bash -c "ip netns exec $NS ip link show ku0 | grep -q 'mtu 1500 '"
netfail other kr0
check "root's own tap: exit 1 (got $RC), one line: $(head -1 "$TMP/other.err")" \
    bash -c "[ $RC -eq 1 ] && [ \$(wc -l <'$TMP/other.err') -eq 1 ] &&
             grep -q \"no permission to use tap kr0: it belongs to another user ('ip tuntap add kr0 mode tap user $U' sets its owner)\" '$TMP/other.err'"
check "... and root's tap is untouched (still there, still down)" \
    bash -c "ip netns exec $NS ip link show kr0 | grep -q 'state DOWN'"

done_testing
