#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds the nested Linux rig's images. The parts that do not contain kvmini
# (the Debian cloud kernel, the L2 initrd, the L1 base initramfs) are cached
# in $KVMINI_RIG_CACHE keyed by package versions and the rig's scripts; the
# part holding kvmini (and QEMU, when asked) is rebuilt every run.
#   usage: build.sh OUTDIR KVMINI-BINARY VMMS(e.g. "kvmini qemu")
# Writes OUTDIR/vmlinuz and OUTDIR/l1.cpio; progress goes to stderr.
set -euo pipefail
out=$1 kvmini=$2 vmms=$3
here=$(cd "$(dirname "$0")" && pwd)
cache=${KVMINI_RIG_CACHE:-/var/cache/kvmini-linux-rig}
# virtio_blk with both transports: L1 gets the disk images (disk.sh) as
# virtio drives, on PCI or on a microvm's virtio-mmio.
L1_MODULES="kvm kvm_amd virtio_pci virtio_mmio virtio_blk tun"
# button and evdev: the ACPI power button's driver and its input device
# (/dev/input/event*), which the shutdown scenario's watcher reads.
L2_MODULES="virtio virtio_ring virtio_mmio virtio_console virtio_blk
            failover net_failover virtio_net button evdev"

say() { echo "rig-build: $*" >&2; }
die() { say "$*"; exit 1; }
mkdir -p "$cache/debs" "$out"
tmp=""
trap '[ -z "$tmp" ] || rm -rf "$tmp"' EXIT

# The kernel: the unsigned image the cloud metapackage points at today; with
# no package lists, the newest one already in the cache.
cloud_dep() {
    apt-cache depends linux-image-cloud-amd64 2>/dev/null |
        sed -n 's/^ *Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' |
        head -n 1
}

kernel_deb() {
    local dep name deb
    dep=$(cloud_dep)
    # A fresh machine may have no package lists yet.
    if [ -z "$dep" ] && [ "$(id -u)" -eq 0 ] &&
        ! ls "$cache"/debs/linux-image-*-cloud-amd64-unsigned_*.deb \
            >/dev/null 2>&1; then
        say "apt-get update (no package lists)"
        apt-get update -qq >&2 || true
        dep=$(cloud_dep)
    fi
    if [ -n "$dep" ]; then
        name=$dep-unsigned
        deb=$(ls "$cache"/debs/"${name}"_*.deb 2>/dev/null | tail -n 1)
        if [ -z "$deb" ]; then
            say "downloading $name"
            (cd "$cache/debs" && apt-get download -qq "$name" >&2 2>/dev/null ||
             apt-get download "$name" >&2) || die "apt-get download $name failed"
            deb=$(ls "$cache"/debs/"${name}"_*.deb | tail -n 1)
        fi
    else
        deb=$(ls "$cache"/debs/linux-image-*-cloud-amd64-unsigned_*.deb \
              2>/dev/null | sort -V | tail -n 1)
    fi
    [ -n "$deb" ] || die "no cloud kernel package (run apt-get update?)"
    echo "$deb"
}

busybox=/bin/busybox
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q installed ||
    die "busybox-static is not installed (.ci/install-deps installs it)"
bbver=$(dpkg-query -W -f='${Version}' busybox-static)
deb=$(kernel_deb)
key=$( (echo "$(basename "$deb") $bbver"; cat "$here/build.sh" \
        "$here/l1-init" "$here/l2-init") | sha256sum | cut -c1-16)
img=$cache/img-$key

# mods KVER ROOT NAMES...: module files (relative to /lib/modules/KVER)
# in load order, dependencies first, each once.
mods() {
    local kver=$1 root=$2; shift 2
    local dep=$root/lib/modules/$kver/modules.dep seen=" " m
    visit() {
        local path deps d
        path=$(awk -F: -v n="$1" '{ f = $1; sub(/.*\//, "", f);
               sub(/\.ko.*$/, "", f); gsub(/-/, "_", f);
               if (f == n) { print; exit } }' "$dep")
        [ -n "$path" ] || die "module $1 not in $kver"
        deps=${path#*:}; path=${path%%:*}
        case "$seen" in *" $path "*) return ;; esac
        for d in $deps; do
            d=${d##*/}; d=${d%%.ko*}; visit "${d//-/_}"
        done
        case "$seen" in *" $path "*) return ;; esac
        seen="$seen$path "
        echo "$path"
    }
    for m in "$@"; do visit "$m"; done
}

# cpio_dir DIR FILE: a newc archive of DIR, files sorted so the blob the L2
# checks comes last (a truncated initrd then loses it first).
cpio_dir() {
    (cd "$1" && find . -mindepth 1 | LC_ALL=C sort |
     awk '/\/blob$/ { last = $0; next } { print } END { if (last) print last }' |
     cpio -o -H newc --quiet -R 0:0) >"$2"
}

build_image() {
    local kver
    tmp=$(mktemp -d "$cache/tmp.XXXXXX")
    say "extracting $(basename "$deb")"
    dpkg-deb -x "$deb" "$tmp/pkg"
    kver=$(ls "$tmp/pkg/lib/modules")
    depmod -b "$tmp/pkg" "$kver"
    cp "$tmp/pkg/boot/vmlinuz-$kver" "$tmp/vmlinuz"

    # L2: busybox, its /init, the virtio modules, a random blob to checksum.
    local l2=$tmp/l2 l1=$tmp/l1 p
    mkdir -p "$l2"/{bin,dev,proc,sys,tmp,rig/mod}
    cp "$busybox" "$l2/bin/busybox"
    cp "$here/l2-init" "$l2/init"; chmod 755 "$l2/init"
    mknod "$l2/dev/console" c 5 1
    mods "$kver" "$tmp/pkg" $L2_MODULES >"$tmp/l2-mods"
    for p in $(cat "$tmp/l2-mods"); do
        cp "$tmp/pkg/lib/modules/$kver/$p" "$l2/rig/mod/"
        echo "${p##*/}" >>"$l2/rig/modules"
    done
    head -c 1048576 /dev/urandom >"$l2/rig/blob"
    cpio_dir "$l2" "$tmp/l2-initrd.cpio"

    # L1 base: busybox, its /init, kvm modules, the L2 kernel and initrd.
    mkdir -p "$l1"/{bin,dev,proc,sys,tmp,rig/mod,rig/l2,rig/bin}
    cp "$busybox" "$l1/bin/busybox"
    cp "$here/l1-init" "$l1/init"; chmod 755 "$l1/init"
    mknod "$l1/dev/console" c 5 1
    mods "$kver" "$tmp/pkg" $L1_MODULES >"$tmp/l1-mods"
    for p in $(cat "$tmp/l1-mods"); do
        cp "$tmp/pkg/lib/modules/$kver/$p" "$l1/rig/mod/"
        echo "${p##*/}" >>"$l1/rig/l1-modules"
    done
    cp "$tmp/vmlinuz" "$l1/rig/l2/vmlinuz"
    cp "$tmp/l2-initrd.cpio" "$l1/rig/l2/initrd.cpio"
    sha256sum <"$l2/rig/blob" | cut -d' ' -f1 >"$l1/rig/l2/blob.sha256"
    cpio_dir "$l1" "$tmp/l1-base.cpio"

    rm -rf "$img"; mkdir -p "$img"
    mv "$tmp/vmlinuz" "$tmp/l2-initrd.cpio" "$tmp/l1-base.cpio" "$img/"
    echo "$kver" >"$img/kver"
    rm -rf "$tmp"
}

# Runs from several clones share the cache: build one image at a time.
exec 8>"$cache/.lock"
flock 8
if [ ! -s "$img/kver" ]; then
    build_image
    # Older images are dead weight once the key moved on.
    for old in "$cache"/img-*; do
        [ "$old" = "$img" ] || rm -rf "$old"
    done
else
    say "cached image $img ($(cat "$img/kver"))"
fi
flock -u 8

# put ROOT FILE: copy FILE and the shared libraries it loads (and the
# loader) into ROOT at the same paths.
put_libs() {
    local root=$1 f=$2 lib
    for lib in $(ldd "$f" 2>/dev/null | awk '/=> \// { print $3 } /^\t\// { print $1 }'); do
        mkdir -p "$root$(dirname "$lib")"
        cp -L "$lib" "$root$lib"
    done
}

# The per-run part: kvmini (if built), QEMU (if asked), config, scenarios.
run=$out/run-root
rm -rf "$run"; mkdir -p "$run/rig/bin"
for v in $vmms; do
    case $v in
    kvmini)
        if [ -x "$kvmini" ]; then
            cp "$kvmini" "$run/rig/bin/kvmini"
            put_libs "$run" "$kvmini"
        else
            # l1-init reports the missing binary as the VMM's own failure.
            say "no kvmini binary at $kvmini"
        fi ;;
    qemu)
        cp /usr/bin/qemu-system-x86_64 "$run/rig/bin/"
        put_libs "$run" /usr/bin/qemu-system-x86_64
        mkdir -p "$run/rig/qemu"
        for f in bios-microvm.bin linuxboot_dma.bin; do
            cp -L "/usr/share/qemu/$f" "$run/rig/qemu/"
        done ;;
    *) die "unknown VMM $v" ;;
    esac
done
# kvm-hold (RIG_L1_HOLD, default 1): one idle VM kept open in L1 so the
# L2 VMMs' VMs stop live-patching L1's kernel (kvm-hold.c). Static: L1's
# base has no C library of its own.
if [ "${RIG_L1_HOLD:-1}" != 0 ]; then
    cc -O2 -static -Wall -Wextra -Werror -o "$run/rig/bin/kvm-hold" \
        "$here/kvm-hold.c" || die "cannot build kvm-hold"
fi
# socat: L1's peers on the VMMs' unix sockets (the named-port scenarios;
# busybox nc has no unix sockets). Without it those checks fail, saying
# so; nothing else needs it.
if command -v socat >/dev/null; then
    mkdir -p "$run/usr/bin"
    cp "$(command -v socat)" "$run/usr/bin/socat"
    put_libs "$run" "$(command -v socat)"
else
    say "no socat (.ci/install-deps installs it): the port checks will fail"
fi
# RIG_L2_KERNEL=mini: the small kernel built from linux-source replaces the
# Debian one as L2 (later archive members win).
case ${RIG_L2_KERNEL:-debian} in
debian) ;;
mini)
    mini=$(bash "$here/mini-kernel.sh" "$cache") || die "no mini kernel"
    mkdir -p "$run/rig/l2"
    cp "$mini" "$run/rig/l2/vmlinuz" ;;
*) die "RIG_L2_KERNEL is debian or mini" ;;
esac
cp "$here/scenarios" "$run/rig/scenarios"
cat >"$run/rig/config" <<CFG
TSC_KHZ=${RIG_TSC_KHZ}
L2_TIMEOUT=${RIG_L2_TIMEOUT}
PLAN="${RIG_PLAN:-}"
L2_APPEND="${RIG_L2_APPEND:-}"
KVMINI_ARGS="${RIG_KVMINI_ARGS:-}"
KTRACE="${RIG_KTRACE:-}"
COMPACT="${RIG_L1_COMPACT:-}"
THP="${RIG_L1_THP:-}"
HOLD=${RIG_L1_HOLD:-1}
REBOOT_GRACE=${RIG_REBOOT_GRACE:-60}
L2_KERNEL=${RIG_L2_KERNEL:-debian}
CFG
cpio_dir "$run" "$out/l1-run.cpio"
# The kernel unpacks concatenated newc archives in order, later files win.
cat "$img/l1-base.cpio" "$out/l1-run.cpio" >"$out/l1.cpio"
cp "$img/vmlinuz" "$out/vmlinuz"
say "L1 initramfs $(du -h "$out/l1.cpio" | cut -f1) ($vmms;" \
    "L2 kernel ${RIG_L2_KERNEL:-debian})"
