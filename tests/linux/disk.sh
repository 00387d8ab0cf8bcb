#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The nested rig's disk images on the host side: made before L1 starts (L1
# gets them as virtio drives and hands them to the VMMs it runs), checked
# after L1 has finished, with tools nobody here wrote (e2fsck, debugfs).
#   disk.sh make OUT "VMMS" "L1-QEMU-OPTIONS"
#       for each VMM an ext4 image OUT/disk/VMM.img and an identical
#       OUT/disk/VMM-ro.img (the one the VMM gets read-only); prints the
#       -drive/-device options that give them to L1 with serials rig-VMM
#       and rig-VMM-ro (virtio-blk-pci, or virtio-blk-device if L1 is a
#       microvm)
#   disk.sh check OUT VMM CHECK
#       prints "ok DETAIL" or "fail DETAIL" for CHECK on VMM's images:
#       fsck  e2fsck -fn finds VMM.img clean
#       file  debugfs finds /new.bin, which L2 wrote, with the SHA-256 the
#             host expects (of /data.bin twice, kept in /new.sha256)
#       ro    VMM-ro.img is bit for bit what the host made
# Each image holds /data.bin (1 MiB, random, new every run), its SHA-256 in
# /data.sha256 and /new.sha256: L2 checks against them (l2-init).
set -uo pipefail
cmd=${1:-} out=${2:-}
dir=$out/disk
die() { echo "disk.sh: $*" >&2; exit 1; }

sum() { sha256sum | cut -d' ' -f1; }

make_images() { # VMMS L1-QEMU-OPTIONS
    local v img model=virtio-blk-pci
    command -v mke2fs >/dev/null && command -v debugfs >/dev/null ||
        die "mke2fs/debugfs missing (e2fsprogs; .ci/install-deps installs it)"
    case "$2" in *microvm*) model=virtio-blk-device ;; esac
    rm -rf "$dir"
    mkdir -p "$dir/tree"
    head -c 1048576 /dev/urandom >"$dir/tree/data.bin"
    sum <"$dir/tree/data.bin" >"$dir/tree/data.sha256"
    cat "$dir/tree/data.bin" "$dir/tree/data.bin" | sum >"$dir/tree/new.sha256"
    for v in $1; do
        img=$dir/$v.img
        mke2fs -q -F -t ext4 -b 4096 -L "rig-$v" -d "$dir/tree" "$img" 64M >&2 ||
            die "mke2fs $img failed"
        cp --sparse=always "$img" "$dir/$v-ro.img"
        sum <"$img" >"$dir/$v-ro.sha256"
        # discard=unmap: what L2 trims through L1 frees space here too.
        printf -- '-drive file=%s,if=none,id=rig-%s,format=raw,discard=unmap ' \
            "$img" "$v" "$dir/$v-ro.img" "$v-ro"
        printf -- '-device %s,drive=rig-%s,serial=rig-%s ' \
            "$model" "$v" "$v" "$model" "$v-ro" "$v-ro"
    done
}

check() { # VMM CHECK
    local img=$dir/$1.img got want
    [ -f "$img" ] || { echo "fail no image $img"; return; }
    case $2 in
    fsck)
        # -n: read-only, answers no; -f: even if it looks clean.
        if got=$(e2fsck -fn "$img" 2>&1); then
            echo "ok e2fsck -fn: $(tail -n 1 <<<"$got")"
        else
            echo "fail e2fsck -fn (status $?): $(tr '\n' ' ' <<<"$got" |
                                             cut -c1-300)"
        fi ;;
    file)
        want=$(cat "$dir/tree/new.sha256")
        got=$(debugfs -R "cat /new.bin" "$img" 2>/dev/null | sum)
        if [ "$got" = "$want" ]; then
            echo "ok debugfs: /new.bin sha256=$got"
        else
            echo "fail debugfs: /new.bin sha256=$got want $want" \
                 "($(debugfs -R 'ls -l /' "$img" 2>&1 | grep -c new.bin)" \
                 "entries named new.bin)"
        fi ;;
    ro)
        want=$(cat "$dir/$1-ro.sha256")
        got=$(sum <"$dir/$1-ro.img")
        if [ "$got" = "$want" ]; then
            echo "ok $1-ro.img unchanged (sha256=${got:0:16}...)"
        else
            echo "fail $1-ro.img changed: sha256=$got, was $want"
        fi ;;
    *) echo "fail unknown host check $2" ;;
    esac
}

case $cmd in
make) [ $# -eq 4 ] || die "usage: disk.sh make OUT VMMS L1-QEMU-OPTIONS"
      make_images "$3" "$4" ;;
check) [ $# -eq 4 ] || die "usage: disk.sh check OUT VMM CHECK"
       check "$3" "$4" ;;
*) die "usage: disk.sh make|check OUT ..." ;;
esac
