#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Boots build/tiny-guest.elf under QEMU's microvm (PVH) with kvmini-like
# options, for side-by-side runs; exits with the guest's own status.
# usage: guest/run-qemu.sh [--tcg] [-c N] [-m SIZE] [-i INITRD] [-p CMDLINE]
#                          [-k ELF] [-t SECONDS]
# Exit: the guest's status (0 pass, 1 fail, 2 fault, N from `exit N`),
# 124 on timeout, 125 when QEMU ended without the guest's exit.
set -u
accel=kvm cpus=1 mem=256M initrd= cmdline= timeout=60
kernel=${KERNEL:-build/tiny-guest.elf}
while [ $# -gt 0 ]; do
    case $1 in
    --tcg) accel=tcg ;;
    -c) cpus=$2; shift ;;
    -m) mem=$2; shift ;;
    -i) initrd=$2; shift ;;
    -p) cmdline=$2; shift ;;
    -k) kernel=$2; shift ;;
    -t) timeout=$2; shift ;;
    *) echo "run-qemu.sh: unknown option $1" >&2; exit 125 ;;
    esac
    shift
done
args=(-M microvm,x-option-roms=off,rtc=off,isa-serial=on -accel "$accel"
      -smp "$cpus" -m "$mem" -nodefaults -no-user-config -nographic
      -serial stdio -device isa-debug-exit,iobase=0xf4,iosize=1
      -kernel "$kernel" -append "$cmdline")
[ -n "$initrd" ] && args+=(-initrd "$initrd")
timeout "$timeout" qemu-system-x86_64 "${args[@]}"
rc=$?
[ $rc -eq 124 ] && exit 124
# isa-debug-exit: QEMU exits with (status << 1) | 1.
[ $((rc & 1)) -eq 1 ] && exit $((rc >> 1))
exit 125
