#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Print the path of Debian 12's cloud kernel (bzImage), fetching it with
# apt-get download and extracting it with dpkg-deb into a cache outside
# the clone the first time (--cached: never download). Exit 1 with one
# line on stderr if it cannot.
set -euo pipefail
if [ "${1:-}" = --cached ]; then
    ls -t "${KVMINI_CACHE:-/var/cache/kvmini}"/debian-kernel/vmlinuz-* 2>/dev/null | head -1 | grep . ||
        { echo "debian-kernel: not cached; run tests/debian-kernel.sh" >&2; exit 1; }
    exit 0
fi
cache=${KVMINI_CACHE:-/var/cache/kvmini}/debian-kernel
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null |
      sed -n 's/.*Depends: \(linux-image-[0-9].*-cloud-amd64\)$/\1/p' | head -1)
[ -n "$pkg" ] || { echo "debian-kernel: no linux-image-cloud-amd64 in apt (run apt-get update)" >&2; exit 1; }
pkg=${pkg%-unsigned}-unsigned
ver=${pkg#linux-image-}
ver=${ver%-unsigned}
out="$cache/vmlinuz-$ver"
if [ ! -s "$out" ]; then
    mkdir -p "$cache"
    tmp=$(mktemp -d "$cache/.fetch.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    (cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
        { echo "debian-kernel: apt-get download $pkg failed" >&2; exit 1; }
    dpkg-deb -x "$tmp"/*.deb "$tmp/x"
    cp "$tmp/x/boot/vmlinuz-$ver" "$out.part" && mv "$out.part" "$out"
fi
echo "$out"
