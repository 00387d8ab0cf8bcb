#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Debian's cloud kernel directly on this host's KVM: it must decompress,
# reach the kernel proper and talk on the serial port. On a software KVM
# (kvm_pvm) the emulator stops it there; kvmini must then report the
# failure clearly and exit non-zero on its own, never hang. On hardware
# KVM the kernel panics (no root fs) and reboots: also a clean exit.
. "$(dirname "$0")/lib.sh"
require_kvm

kernel=$(tests/debian-kernel.sh) || { echo "1..1"; echo "not ok 1 - fetch Debian kernel"; exit 1; }
run_vm 600 linux -k "$kernel" -m 512M \
    -p "earlyprintk=serial console=ttyS0 panic=-1 reboot=k tsc_early_khz=2600000"
check "kvmini stopped on its own within the deadline (exit $RC)" \
    test "$RC" -ne 124 -a "$RC" -ne 137
check "the kernel proper ran and printed on COM1" \
    has linux '^\[ *[0-9.]+\] Linux version 6\.1'
check "the kernel saw the e820 map kvmini built" \
    has linux 'BIOS-e820: \[mem 0x0000000000100000-0x000000001fffffff\] usable'
check "the kernel found the ACPI tables" has linux 'ACPI: RSDP 0x00000000000E0000'
if grep -q 'KVM_EXIT_INTERNAL_ERROR' "$TMP/linux.err"; then
    check "software KVM: exit status 2 (KVM could not run the guest)" \
        test "$RC" -eq 2
    check "one diagnostic line with reason, RIP in the kernel's high mapping and instruction bytes" \
        grep -Eq '^kvmini: vcpu[0-9]+: guest stopped by KVM_EXIT_INTERNAL_ERROR suberror [0-9]+ \(.*\) at RIP 0xffffffff[89ab][0-9a-f]{7} .*instruction bytes: ([0-9a-f]{2} ?)+$' "$TMP/linux.err"
    diag "$TMP/linux.err"
else
    check "hardware KVM: the kernel rebooted after its panic (exit 0)" \
        test "$RC" -eq 0
fi
done_testing
