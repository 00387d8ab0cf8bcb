#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Hostile user input: each mistake gives exactly one clear line on stderr
# naming the problem, a non-zero exit, and no guest run.
. "$(dirname "$0")/lib.sh"
require_kvm

# expect_error DESCRIPTION REGEX ARGS...: one stderr line matching REGEX.
expect_error() {
    local d=$1 re=$2; shift 2
    timeout -k 5 30 "$KVMINI" "$@" </dev/null >"$TMP/e.out" 2>"$TMP/e.err"
    local rc=$? lines
    lines=$(wc -l <"$TMP/e.err")
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] && [ "$lines" -eq 1 ] &&
        grep -Eq -- "$re" "$TMP/e.err" && [ ! -s "$TMP/e.out" ]; then
        ok "$d: $(cat "$TMP/e.err")"
    else
        not_ok "$d (exit $rc, $lines stderr lines)"
        diag "$TMP/e.err"
    fi
}

G=$GUEST
expect_error "--port without a backend" "port p has no backend" \
    run -k "$G" --port name=p
expect_error "--port twice the same name" "a port named p exists already" \
    run -k "$G" --port name=p,pty --port name=p,pty
expect_error "--port dev out of range" "'dev=9' is out of range" \
    run -k "$G" --port name=p,pty,dev=9
expect_error "--port without a name" "a port needs a name" \
    run -k "$G" --port unix=$TMP/p.sock,server
# User text quoted in an error stays on the one line: a newline or an
# escape sequence in a path or spec is shown as '?', never printed raw.
expect_error "newline in a kernel path" "kernel /nonexistent\?x" \
    run -k "/nonexistent
x"
expect_error "escape sequence in a --disk spec" "^kvmini: --disk [^ ]*nodisk\?\[2J: cannot" \
    run -k "$G" --disk "$TMP/nodisk$(printf '\033')[2J"
expect_error "no arguments" "usage" 
expect_error "unknown command" "unknown command 'boot'" boot -k "$G"
expect_error "missing -k" "no kernel given" run
expect_error "missing kernel file" "kernel /nonexistent: No such file" \
    run -k /nonexistent
expect_error "kernel is a directory" "kernel /tmp: Is a directory" run -k /tmp
: >"$TMP/empty"
expect_error "empty kernel" "empty file" run -k "$TMP/empty"
expect_error "ELF instead of bzImage" "an ELF file" run -k build/tiny-guest.elf
head -c 65536 /dev/urandom >"$TMP/random"
expect_error "random bytes" "not a bzImage" run -k "$TMP/random"
head -c 20000 "$G" >"$TMP/trunc"
expect_error "truncated bzImage" "truncated" run -k "$TMP/trunc"
head -c 1000 "$G" >"$TMP/trunc2"
expect_error "bzImage cut inside the setup code" "truncated|too short" \
    run -k "$TMP/trunc2"
cp "$G" "$TMP/old"
printf '\x05\x02' | dd of="$TMP/old" bs=1 seek=$((0x206)) conv=notrunc 2>/dev/null
expect_error "boot protocol 2.05" "older than 2.06" run -k "$TMP/old"
cp "$G" "$TMP/no64"
printf '\x00' | dd of="$TMP/no64" bs=1 seek=$((0x236)) conv=notrunc 2>/dev/null
expect_error "no 64-bit entry" "XLF_KERNEL_64" run -k "$TMP/no64"

head -c $((20 << 20)) /dev/zero >"$TMP/big-initrd"
expect_error "initrd larger than RAM" "initrd .*larger than guest RAM" \
    run -k "$G" -m 16M -i "$TMP/big-initrd"
head -c $((15 << 20)) /dev/zero >"$TMP/mid-initrd"
expect_error "initrd that does not fit beside the kernel" \
    "initrd too large for guest RAM" run -k "$G" -m 16M -i "$TMP/mid-initrd"
expect_error "missing initrd" "initrd /nonexistent: No such file" \
    run -k "$G" -i /nonexistent

expect_error "-m 0" "too little" run -k "$G" -m 0
expect_error "-m 1M" "too little" run -k "$G" -m 1M
host_mib=$(awk '/MemTotal/ {print int($2 / 1024)}' /proc/meminfo)
expect_error "-m beyond the host" "more than this host" \
    run -k "$G" -m $((host_mib + 1024))M
expect_error "-m 100T" "more than this host" run -k "$G" -m 100T
for bad in abc 12Q 1.5G -5 "" 99999999999999999999G; do
    expect_error "-m '$bad'" "not a size" run -k "$G" -m "$bad"
done
expect_error "-c 0" "at least 1" run -k "$G" -c 0
expect_error "-c abc" "at least 1" run -k "$G" -c abc
# The vCPU limit comes from KVM itself (build/kvm-caps), never from
# kvmini's message: the recommended maximum KVM_CAP_NR_VCPUS (4 when it
# does not answer), within KVM_CAP_MAX_VCPUS and kvmini's build limit.
# A missing helper must not turn into a guessed limit: build it, or fail.
[ -n "${KVM_CAPS:-}" ] || [ -x build/kvm-caps ] || make -s build/kvm-caps >&2
caps=$(${KVM_CAPS:-build/kvm-caps}) ||
    { not_ok "build/kvm-caps asks KVM for its vCPU limits"; caps=; }
nr=$(echo "$caps" | sed -n 's/^KVM_CAP_NR_VCPUS \(-*[0-9]*\)$/\1/p')
mx=$(echo "$caps" | sed -n 's/^KVM_CAP_MAX_VCPUS \(-*[0-9]*\)$/\1/p')
lim=$(sed -n 's/^#define KVM_MAX_VCPUS_SUPPORTED \([0-9]*\).*/\1/p' kvm/kvm.h)
want=${nr:-0}
[ "$want" -gt 0 ] || want=4
[ "${mx:-0}" -le 0 ] || [ "$mx" -ge "$want" ] || want=$mx
[ "$want" -le "${lim:-0}" ] || want=$lim
expect_error "-c above KVM's recommended maximum ($want; NR_VCPUS $nr, MAX_VCPUS $mx)" \
    "supports at most $want vCPUs" run -k "$G" -c $((want + 1))
run_vm 120 maxcpus -k "$G" -c "$want" -p "expect_cpus=$want"
check "-c $want, the recommended maximum itself, boots with $want CPUs" \
    guest_passed maxcpus
expect_error "unknown flag" "unknown option '--frobnicate'" \
    run -k "$G" --frobnicate
expect_error "flag without its value" "needs a value" run -k "$G" -m
expect_error "stray argument" "unexpected argument 'extra'" run -k "$G" extra
expect_error "bad --console" "--console tty: unknown key .tty.*; use serial or virtio\[,legacy\]\[,BACKEND\]" \
    run -k "$G" --console tty
expect_error "bad --name" "--name" run -k "$G" --name 'a b'
expect_error "contradicting cmdline-device flags" "contradict" \
    run -k "$G" --cmdline-devices --no-cmdline-devices
expect_error "no /dev/kvm" "/nonexistent-kvm: no such device.*modprobe" \
    run -k "$G" --kvm-device /nonexistent-kvm
expect_error "not a KVM device" "/dev/null: not a KVM device" \
    run -k "$G" --kvm-device /dev/null

# No permission: run as an unprivileged user against the real device.
if [ "$(id -u)" -eq 0 ] && ! runuser -u nobody -- test -r /dev/kvm -a -w /dev/kvm; then
    d=$(mktemp -d /tmp/kvmini-perm.XXXXXX)
    chmod 755 "$d"
    cp "$KVMINI" "$G" "$d/"
    timeout 30 runuser -u nobody -- "$d/kvmini" run -k "$d/tiny-guest" \
        </dev/null >"$TMP/e.out" 2>"$TMP/e.err"
    rc=$?
    if [ "$rc" -ne 0 ] && [ "$(wc -l <"$TMP/e.err")" -eq 1 ] &&
        grep -q "permission denied (group .*, mode 0[0-7]*): .*adduser " "$TMP/e.err"; then
        ok "no permission on /dev/kvm: $(cat "$TMP/e.err")"
    else
        not_ok "no permission on /dev/kvm (exit $rc)"; diag "$TMP/e.err"
    fi
    rm -rf "$d"
else
    skip "no-permission case needs root, and a /dev/kvm that user nobody cannot open"
fi
done_testing
