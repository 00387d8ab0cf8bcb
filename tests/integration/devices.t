#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The device path: device flags become virtio-mmio slots in flag order (the
# virtio console first), at most 16 of them; --disk refuses every bad value
# with one clear line before the guest starts, and image locks keep two
# kvmini processes from writing one image.
. "$(dirname "$0")/lib.sh"
require_kvm

G=$GUEST
# expect_error DESCRIPTION REGEX ARGS...: exit 1, one stderr line matching
# REGEX, and no guest output (it never started).
expect_error() {
    local d=$1 re=$2; shift 2
    timeout -k 5 30 "$KVMINI" run -k "$G" "$@" </dev/null \
        >"$TMP/e.out" 2>"$TMP/e.err"
    local rc=$? lines
    lines=$(wc -l <"$TMP/e.err")
    if [ "$rc" -eq 1 ] && [ "$lines" -eq 1 ] &&
        grep -Eq -- "$re" "$TMP/e.err" && [ ! -s "$TMP/e.out" ]; then
        ok "$d: $(cat "$TMP/e.err")"
    else
        not_ok "$d (exit $rc, $lines stderr lines, $(wc -c <"$TMP/e.out") bytes of guest output)"
        diag "$TMP/e.err"
    fi
}

cd "$TMP" || exit 1
KVMINI=$OLDPWD/$KVMINI G=$OLDPWD/$G
truncate -s 8M a.img
truncate -s 4M b.img
truncate -s 1000 odd.img
: >empty.img
mkdir dir.img

expect_error "missing image" "--disk nope.img: .*nope.img.*No such file" \
    --disk nope.img
expect_error "a directory" "--disk dir.img: .*Is a directory" --disk dir.img
expect_error "size not a multiple of 512" "odd.img.*not a multiple of 512" \
    --disk odd.img
expect_error "zero-size image" "empty.img is empty" --disk empty.img
expect_error "queues=0" "'queues=0' is out of range: use 1..16" \
    --disk a.img,queues=0
expect_error "queues beyond the limit" "'queues=17' is out of range" \
    --disk a.img,queues=17
expect_error "unknown key" "unknown key 'cache' \(known: path, ro" \
    --disk a.img,cache=none
expect_error "a key that only starts like a known one" "unknown key 'rox'" \
    --disk a.img,rox
expect_error "serial longer than 20 bytes" "longer than 20 bytes" \
    --disk a.img,serial=abcdefghijklmnopqrstu
expect_error "bad bool" "'direct=maybe': expected on or off" \
    --disk a.img,direct=maybe
expect_error "empty spec" "--disk : empty option" --disk ""
expect_error "duplicate path, spelled differently" \
    "--disk ./a.img: the same image as --disk a.img" \
    --disk a.img --disk ./a.img
ln -s a.img link.img
expect_error "duplicate image through a symlink" "the same image" \
    --disk a.img,ro --disk link.img

disks=()
for i in $(seq 17); do truncate -s 1M "m$i.img"; disks+=(--disk "m$i.img"); done
expect_error "17 disks: one more than the slots" \
    "--disk m17.img: too many virtio devices; kvmini gives a VM at most 16" \
    "${disks[@]}"
expect_error "16 disks and a virtio console" "too many virtio devices" \
    --console virtio "${disks[@]:0:32}"

# Slots follow the flags, the virtio console always first: the guest's
# probe (device tree order) names each window's device id.
run_vm 60 order -k "$G" --disk a.img --console virtio --disk b.img
ids=$(sed -n 's/^tg: virtio dev=\([0-9]*\) .* base=\(0x[0-9a-f]*\) .* id=\([0-9]*\) .*/\1:\2:\3/p' \
      "$TMP/order.out" | tr '\n' ' ')
if guest_passed order &&
    [ "$ids" = "0:0xd0000000:3 1:0xd0000200:2 2:0xd0000400:2 " ]; then
    ok "console in slot 0, disks in flag order after it ($ids)"
else
    not_ok "slots in flag order (got '$ids')"
fi
run_vm 60 sixteen -k "$G" "${disks[@]:0:32}"
n=$(grep -c '^tg: virtio .* id=2 ' "$TMP/sixteen.out")
if guest_passed sixteen && [ "$n" -eq 16 ]; then
    ok "16 disks: the guest finds 16 block devices"
else
    not_ok "16 disks (guest found $n)"
fi

# Locks: a second writer, or a reader beside a writer, is refused while
# the first kvmini runs; readers share. The holder runs until killed.
"$KVMINI" run -k "$G" -p hold=30 --disk a.img </dev/null \
    >"$TMP/holder.out" 2>"$TMP/holder.err" &
holder=$!
for _ in $(seq 100); do
    grep -q '^tg: holding' "$TMP/holder.out" 2>/dev/null && break
    sleep 0.1
done
expect_error "an image another kvmini writes" \
    "a.img is in use by another process \(locked\)" --disk a.img
expect_error "read-only beside a writer" "a.img is in use" --disk a.img,ro
kill -TERM $holder; wait $holder 2>/dev/null
"$KVMINI" run -k "$G" -p hold=30 --disk b.img,ro </dev/null \
    >"$TMP/holder.out" 2>"$TMP/holder.err" &
holder=$!
for _ in $(seq 100); do
    grep -q '^tg: holding' "$TMP/holder.out" 2>/dev/null && break
    sleep 0.1
done
run_vm 60 shared -k "$G" --disk b.img,ro
check "two read-only users share an image" guest_passed shared
expect_error "a writer beside a reader" "b.img is in use" --disk b.img
kill -TERM $holder; wait $holder 2>/dev/null
run_vm 60 relocked -k "$G" --disk a.img
check "the lock goes with the process that held it" guest_passed relocked

# --net, in a private network namespace: the taps kvmini creates and
# every interface stay inside it, and no traffic is sent.
ns=kvmini-devices-$$
if ! ip netns add "$ns" 2>"$TMP/ns.err"; then
    not_ok "network namespace for the --net checks: $(cat "$TMP/ns.err")"
    done_testing; exit
fi
trap 'ip netns del "$ns" 2>/dev/null; rm -rf "$TMP"' EXIT
# expect_error runs "$KVMINI" as one word; a wrapper script keeps that.
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$ns" "$KVMINI" >nskvmini
chmod +x nskvmini
KVMINI_HOST=$KVMINI KVMINI=$PWD/nskvmini
expect_error "multicast MAC" "mac=01:00:00:00:00:01 is a multicast address" \
    --net tap=kvt0,mac=01:00:00:00:00:01
expect_error "malformed MAC" "'mac=52:54:00:12:34': expected a MAC address" \
    --net tap=kvt0,mac=52:54:00:12:34
expect_error "queues beyond the limit" "'queues=8' is out of range: use 1..7" \
    --net tap=kvt0,queues=8
expect_error "unknown key" "unknown key 'model'" --net tap=kvt0,model=e1000
expect_error "an interface that is not a tap" "lo is not a tap" --net lo
expect_error "one tap for two NICs" "tap kvt0 is already used by --net kvt0" \
    --net kvt0 --net tap=kvt0
run_vm 60 nics -k "$G" --net kvt0 --net tap=kvt1,mac=02:11:22:33:44:55
n=$(grep -c '^tg: virtio .* id=1 ' "$TMP/nics.out")
if guest_passed nics && [ "$n" -eq 2 ]; then
    ok "two NICs on created taps: the guest finds 2 network devices"
else
    not_ok "two NICs (guest found $n)"
fi
"$KVMINI" run -k "$G" -p hold=30 --net kvt2 </dev/null >"$TMP/up.out" \
    2>"$TMP/up.err" &
vm=$!
up=no
for _ in $(seq 100); do
    ip netns exec "$ns" ip -o link show kvt2 2>/dev/null | grep -q ',UP' &&
        { up=yes; break; }
    sleep 0.1
done
kill -TERM $vm; wait $vm 2>/dev/null
check "a created tap exists and is up while the VM runs" [ $up = yes ]
left=$(ip netns exec "$ns" ip -o link show type tun 2>/dev/null | wc -l)
check "the taps kvmini created are gone after it exits ($left left)" \
    [ "$left" -eq 0 ]

# --device: explicit windows and pins for blk, net and console in one
# process; the guest finds each where it was put, through the device tree
# and through virtio_mmio.device= words, and the DSDT says the same.
run_vm 60 explicit -k "$G" -p "blk=info" --dump-acpi "$TMP" \
    --device blk,addr=0xd0001000,irq=9,img=a.img,serial=explicit \
    --device net,addr=0xd0002000,len=0x1000,irq=12,tap=kvt3 \
    --device console,addr=0xd0003000,irq=15 --disk b.img
got=$(sed -n 's/^tg: virtio dev=[0-9]* src=dt base=\(0x[0-9a-f]*\) size=\(0x[0-9a-f]*\) irq=\([0-9]*\) id=\([0-9]*\) .*/\1:\2:\3:\4/p' \
      "$TMP/explicit.out" | tr '\n' ' ')
want="0xd0001000:0x200:9:2 0xd0002000:0x1000:12:1 0xd0003000:0x200:15:3 0xd0000000:0x200:5:2 "
if guest_passed explicit && [ "$got" = "$want" ]; then
    ok "--device blk, net and console at their windows and irqs, --disk in the first free slot ($got)"
else
    not_ok "--device placement (got '$got', want '$want')"
fi
check "the explicit disk answers with its serial" \
    has explicit '^tg: blk vda id "explicit"'
(cd "$TMP" && iasl -d dsdt.dat >iasl.log 2>&1)
check "the DSDT describes the explicit window and irq" \
    perl -0ne 'exit !/0xD0002000,\s*\/\/ Address Base\s*0x00001000,.*?\{\s*0x0000000C,/s' \
    "$TMP/dsdt.dsl"
run_vm 60 explicit_cl -k "$G" --no-acpi --no-dtb \
    --device blk,addr=0xd0004000,irq=21,img=a.img --disk b.img
got=$(sed -n 's/^tg: virtio dev=[0-9]* src=cmdline base=\(0x[0-9a-f]*\) size=0x200 irq=\([0-9]*\) .*/\1:\2/p' \
      "$TMP/explicit_cl.out" | tr '\n' ' ')
if guest_passed explicit_cl && [ "$got" = "0xd0004000:21 0xd0000000:5 " ]; then
    ok "virtio_mmio.device= words follow the explicit placement ($got)"
else
    not_ok "command-line placement (got '$got')"
fi
expect_error "--device: misaligned window" "must be 0x200-aligned" \
    --device blk,addr=0xd0000100,img=a.img
expect_error "--device: a window in RAM" "outside the MMIO hole" \
    --device blk,addr=0x100000,img=a.img
expect_error "--device: the IOAPIC's range" "overlaps the IOAPIC" \
    --device blk,addr=0xfec00000,img=a.img
expect_error "--device: the local APIC's range" "overlaps the local APIC" \
    --device console,addr=0xfee00000
expect_error "--device: two windows overlap" \
    "overlaps the window 0xd0000000\+0x1000 of --device blk,addr=0xd0000000" \
    --device blk,addr=0xd0000000,len=0x1000,img=a.img \
    --device console,addr=0xd0000800
expect_error "--device: an irq taken" \
    "irq 9 is already taken by --device blk,irq=9" \
    --device blk,irq=9,img=a.img --device net,irq=9,tap=kvt4
expect_error "--device: an irq the machine does not offer" "use 5..23" \
    --device console,irq=4
expect_error "--device: unknown kind" "the device kind comes first" \
    --device scsi,img=a.img
expect_error "--device: len without addr" "len= needs addr=" \
    --device blk,len=0x200,img=a.img
expect_error "--device: a second console" "a second virtio console" \
    --device console --console virtio
KVMINI=$KVMINI_HOST

done_testing
