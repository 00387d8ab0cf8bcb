#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boots build/tiny-guest.elf under QEMU's microvm (PVH) with kvmini-like
# options, for side-by-side runs; exits with the guest's own status.
# usage: guest/run-qemu.sh [--tcg] [-c N] [-m SIZE] [-i INITRD] [-p CMDLINE]
#                          [-k ELF] [-t SECONDS] [--legacy]
#                          [-d PATH[,ro][,serial=ID][,queues=N][,bs=N]]...
#                          [-n TAP[,mac=MAC][,mtu=N][,mrg_rxbuf=on|off]
#                              [,csum=on|off][,event_idx=on|off]]...
# -d adds a virtio-blk-device on a raw image (vda, vdb, ... in order;
# bs= its logical block size;
# errors reported to the guest, discard unmaps); with disks or NICs,
# microvm runs
# with acpi=off so QEMU lists them as virtio_mmio.device= words, and in
# the modern layout unless --legacy.
# -n adds a virtio-net-device on tap TAP (eth0, eth1, ... in order; an
# existing tap is attached, else QEMU creates one; no scripts, no vhost);
# mtu= is offered as VIRTIO_NET_F_MTU, the other keys switch features.
# Run it inside the network namespace that holds the tap.
# Exit: the guest's status (0 pass, 1 fail, 2 fault, N from `exit N`),
# 124 on timeout, 125 when QEMU ended without the guest's exit.
set -u
accel=kvm cpus=1 mem=256M initrd= cmdline= timeout=60 legacy=false
kernel=${KERNEL:-build/tiny-guest.elf}
disks=() nets=()
while [ $# -gt 0 ]; do
    case $1 in
    --tcg) accel=tcg ;;
    --legacy) legacy=true ;;
    -c) cpus=$2; shift ;;
    -m) mem=$2; shift ;;
    -i) initrd=$2; shift ;;
    -p) cmdline=$2; shift ;;
    -k) kernel=$2; shift ;;
    -t) timeout=$2; shift ;;
    -d) disks+=("$2"); shift ;;
    -n) nets+=("$2"); shift ;;
    *) echo "run-qemu.sh: unknown option $1" >&2; exit 125 ;;
    esac
    shift
done
machine=microvm,x-option-roms=off,rtc=off,isa-serial=on
dev_args=()
for i in "${!disks[@]}"; do
    IFS=, read -r path opts <<<"${disks[$i]}"
    drive="file=$path,if=none,id=d$i,format=raw,discard=unmap"
    drive+=",werror=report,rerror=report"
    dev="virtio-blk-device,drive=d$i"
    IFS=, read -ra kv <<<"$opts"
    for o in "${kv[@]}"; do
        case $o in
        ro) drive+=",readonly=on" ;;
        serial=*) dev+=",$o" ;;
        queues=*) dev+=",num-queues=${o#queues=}" ;;
        bs=*) dev+=",logical_block_size=${o#bs=},physical_block_size=${o#bs=}" ;;
        "") ;;
        *) echo "run-qemu.sh: unknown disk option $o" >&2; exit 125 ;;
        esac
    done
    dev_args+=(-drive "$drive" -device "$dev")
done
for i in "${!nets[@]}"; do
    IFS=, read -r tap opts <<<"${nets[$i]}"
    dev="virtio-net-device,netdev=n$i"
    IFS=, read -ra kv <<<"$opts"
    for o in "${kv[@]}"; do
        case $o in
        mac=*|mrg_rxbuf=*|csum=*|event_idx=*) dev+=",$o" ;;
        mtu=*) dev+=",host_mtu=${o#mtu=}" ;;
        "") ;;
        *) echo "run-qemu.sh: unknown net option $o" >&2; exit 125 ;;
        esac
    done
    dev_args+=(-netdev "tap,id=n$i,ifname=$tap,script=no,downscript=no"
               -device "$dev")
done
if [ $((${#disks[@]} + ${#nets[@]})) -gt 0 ]; then
    machine+=,acpi=off
    $legacy || dev_args+=(-global virtio-mmio.force-legacy=false)
fi
args=(-M "$machine" -accel "$accel"
      -smp "$cpus" -m "$mem" -nodefaults -no-user-config -nographic
      -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=1
      -kernel "$kernel" -append "$cmdline" "${dev_args[@]}")
[ -n "$initrd" ] && args+=(-initrd "$initrd")
timeout "$timeout" qemu-system-x86_64 "${args[@]}"
rc=$?
[ $rc -eq 124 ] && exit 124
# isa-debug-exit: QEMU exits with (status << 1) | 1.
[ $((rc & 1)) -eq 1 ] && exit $((rc >> 1))
exit 125
