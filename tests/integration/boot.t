#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The tiny guest boots through the bzImage loader and passes its checks:
# CPUs, RAM sizes around the MMIO hole, cmdline, initrd checksum.
. "$(dirname "$0")/lib.sh"
require_kvm

for c in 1 2; do
    run_vm 60 cpus$c -k "$GUEST" -c "$c" -p "expect_cpus=$c"
    check "-c $c: guest sees $c CPUs online and passes" guest_passed cpus$c
    check "-c $c: $c CPUs described, $c online" \
        has cpus$c "^tg: cpus described=$c online=$c"
    # The guest fails the check when either table is missing (it no
    # longer falls back on the other one).
    check "-c $c: MP table and MADT both found, $c CPUs each, same APIC ids" \
        has cpus$c "^tg: check smp_tables_agree ok mptable=$c madt=$c\$"
done
run_vm 60 noacpi -k "$GUEST" -c 2 --no-acpi -p "expect_cpus=2"
check "--no-acpi: the guest starts 2 CPUs from the MP table alone" \
    guest_passed noacpi
check "--no-acpi: the MP table describes them, there is no MADT" \
    has noacpi '^tg: check smp_tables_agree ok mptable=2 madt=none$'

run_vm 60 stats -k "$GUEST" -c 2 --stats
check "--stats: one exit line per vCPU" \
    test "$(grep -c '^vcpu[01]: runs [0-9]* pio [0-9]* mmio' "$TMP/stats.err")" -eq 2
check "--stats: busiest ports, the UART data port first" \
    grep -Eq '^vcpu0: pio by port: 0x3f[8d]=[0-9]+ 0x3f[8d]=[0-9]+ ' "$TMP/stats.err"
check "--stats: serial byte counts match what the guest printed" \
    test "$(sed -n 's/^serial: tx \([0-9]*\) rx 0$/\1/p' "$TMP/stats.err")" \
        -eq "$(wc -c <"$TMP/stats.out")"
run_vm 60 debugkvm -k "$GUEST" --debug kvm
check "--debug kvm logs exits to userspace (rate-limited)" \
    grep -q '^kvmini: vcpu: vcpu0: exit io out port 0x3f8 size 1 count 1$' \
    "$TMP/debugkvm.err"
check "--debug kvm is rate-limited: far fewer lines than the ~1700 exits" \
    test "$(grep -c ': exit ' "$TMP/debugkvm.err")" -lt 400
check "TSC frequency offered in CPUID leaf 0x40000010 (no calibration)" \
    has cpus1 '^tg: tsc khz=[1-9][0-9]* src=cpuid'

for m in 64M 3G 5G; do
    run_vm 60 mem$m -k "$GUEST" -m "$m" -p "expect_mem=$m"
    check "-m $m: e820 RAM matches and avoids the hole" guest_passed mem$m
done
check "-m 5G: RAM above 4 GiB reported" has mem5G '^tg: mem .* above4g=2147483648'
check "-m 3G: no RAM above 4 GiB" has mem3G '^tg: mem .* above4g=0$'

# A 1 KiB command line with quotes and a backslash, byte for byte.
word='q="a b c" x=\y'
line="$word"
while [ ${#line} -lt 1000 ]; do line="$line pad$((${#line} % 97))"; done
line="${line:0:1000} expect_cmdline_len=XXXX"
len=${#line}
line="${line/XXXX/$(printf %04d "$len")}"
run_vm 60 cmdline -k "$GUEST" -p "$line"
check "1 KiB cmdline ($len bytes) accepted by the guest" guest_passed cmdline
check "quotes and backslash arrive intact" \
    has cmdline '^tg: cmdline len='"$len"' "q="a b c" x=\\\\y '

head -c $((4 << 20)) /dev/urandom >"$TMP/initrd"
sum=$(initrd_sum "$TMP/initrd")
run_vm 120 initrd -k "$GUEST" -i "$TMP/initrd" -p "expect_initrd_sum=$sum"
check "4 MiB initrd checksum verified by the guest ($sum)" guest_passed initrd
check "initrd placed page-aligned below 2 GiB" \
    has initrd '^tg: initrd addr=0x[0-9a-f]*000 size=4194304 '

run_vm 60 odd -k "$GUEST" -i "$TMP/initrd" -m 64M \
    -p "expect_initrd_sum=0x00000000"
check "a wrong expected checksum makes the guest fail (exit 1)" \
    test "$RC" -eq 1

done_testing
