#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Builds (once, then from the cache) the rig's second L2 kernel: Debian's
# linux-source-6.1, tinyconfig plus tests/linux/mini.config, everything
# built in. Prints the cached bzImage's path; progress goes to stderr.
#   usage: mini-kernel.sh CACHE-DIR
set -euo pipefail
cache=$1
here=$(cd "$(dirname "$0")" && pwd)
say() { echo "rig-mini: $*" >&2; }
die() { say "$*"; exit 1; }
mkdir -p "$cache/debs"

# The source: the installed linux-source-6.1 package if there is one
# (.ci/install-deps installs it), else its .deb in the cache.
tarball=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
if [ -n "$tarball" ]; then
    src_id="linux-source-6.1 $(dpkg-query -W -f='${Version}' linux-source-6.1)"
else
    deb=$(ls "$cache"/debs/linux-source-6.1_*.deb 2>/dev/null |
          sort -V | tail -n 1)
    if [ -z "$deb" ]; then
        say "downloading linux-source-6.1 (about 140 MB)"
        (cd "$cache/debs" &&
         apt-get download -qq linux-source-6.1 >&2 2>/dev/null) ||
            die "apt-get download linux-source-6.1 failed"
        deb=$(ls "$cache"/debs/linux-source-6.1_*.deb | sort -V | tail -n 1)
    fi
    src_id=$(basename "$deb")
fi
for tool in flex bison bc; do
    command -v $tool >/dev/null || die "$tool missing (.ci/install-deps)"
done
[ -e /usr/include/libelf.h ] || die "libelf-dev missing (.ci/install-deps)"

# Bump RECIPE when a change below alters the kernel that comes out.
RECIPE=1
key=$( (echo "$src_id recipe $RECIPE"; cat "$here/mini.config") |
       sha256sum | cut -c1-16)
img=$cache/mini-$key
if [ -s "$img/bzImage" ]; then
    echo "$img/bzImage"
    exit 0
fi

tmp=$(mktemp -d "$cache/tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
say "extracting $src_id"
if [ -n "$tarball" ]; then
    nice -n 19 tar -xJf "$tarball" -C "$tmp"
else
    dpkg-deb --fsys-tarfile "$deb" |
        tar -x -O --wildcards './usr/src/linux-source-*.tar.xz' |
        nice -n 19 tar -xJ -C "$tmp"
fi
src=$(ls -d "$tmp"/linux-source-*)
say "building (tinyconfig + mini.config, nice 19; several minutes)"
# kconfig is chatty about every override: keep its words for a failure.
{
    nice -n 19 make -s -C "$src" O="$tmp/out" tinyconfig &&
    "$src/scripts/kconfig/merge_config.sh" -m -O "$tmp/out" \
        "$tmp/out/.config" "$here/mini.config" &&
    nice -n 19 make -s -C "$src" O="$tmp/out" olddefconfig
} >"$tmp/kconfig.log" 2>&1 || { cat "$tmp/kconfig.log" >&2; die "kconfig failed"; }
# Every line of the fragment must have survived olddefconfig.
grep -v '^#' "$here/mini.config" | grep . | while read -r line; do
    grep -qx -- "$line" "$tmp/out/.config" || die "config lost: $line"
done
grep -E '^# CONFIG_[A-Z0-9_]+ is not set' "$here/mini.config" |
    while read -r line; do
        o=${line#\# }; o=${o%% *}
        ! grep -q "^$o=" "$tmp/out/.config" || die "config set: $o"
    done
nice -n 19 make -s -C "$src" O="$tmp/out" -j"$(nproc)" bzImage >&2
rm -rf "$img"; mkdir -p "$img"
cp "$tmp/out/arch/x86/boot/bzImage" "$tmp/out/.config" "$img/"
for old in "$cache"/mini-*; do
    [ "$old" = "$img" ] || rm -rf "$old"
done
echo "$img/bzImage"
