#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# What kvmini tells a guest about its machine, decoded by tools nobody
# here wrote: the ACPI tables by iasl -d, the device tree by dtc.
. "$(dirname "$0")/lib.sh"
require_kvm

d=$TMP/tables
mkdir -p "$d"
run_vm 60 dump -k "$GUEST" -c 2 --console virtio --dump-acpi "$d" \
    --dump-dtb "$d/machine.dtb"
check "kvmini --dump-acpi/--dump-dtb ran the guest too (exit $RC)" guest_passed dump
for t in rsdp xsdt facp apic dsdt; do
    check "$t.dat written" test -s "$d/$t.dat"
done
# Every table's checksum: the bytes of each table sum to 0 mod 256.
for t in xsdt facp apic dsdt; do
    check "$t checksum" perl -e 'local $/; open F, "<", $ARGV[0] or die;
        my $s = unpack("%8C*", <F>); exit($s != 0)' "$d/$t.dat"
done
check "RSDP checksums (v1 first 20 bytes, v2 all 36)" perl -e '
    local $/; open F, "<", $ARGV[0] or die; my $b = <F>;
    exit(!(substr($b, 0, 8) eq "RSD PTR " && unpack("%8C*", substr($b, 0, 20)) == 0
           && unpack("%8C*", substr($b, 0, 36)) == 0))' "$d/rsdp.dat"
(cd "$d" && iasl -d xsdt.dat facp.dat apic.dat dsdt.dat >"$d/iasl.log" 2>&1)
check "iasl -d disassembles all four tables" \
    test -s "$d/dsdt.dsl" -a -s "$d/apic.dsl" -a -s "$d/facp.dsl" -a -s "$d/xsdt.dsl"
check "DSDT: a LNRO0005 virtio-mmio device" grep -q '_HID, "LNRO0005"' "$d/dsdt.dsl"
check "DSDT: its window is 0xD0000000, 0x200 bytes" \
    perl -0ne 'exit !/Memory32Fixed \(ReadWrite,\s*0xD0000000,\s*\/\/ Address Base\s*0x00000200,/' "$d/dsdt.dsl"
check "DSDT: its interrupt is GSI 5, edge, active high" \
    perl -0ne 'exit !/Interrupt \(ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, \)\s*\{\s*0x00000005,/' "$d/dsdt.dsl"
check "DSDT: the serial port PNP0501" grep -q 'EisaId ("PNP0501")' "$d/dsdt.dsl"
# The ids themselves, in order, each enabled: two APICs with id 0 fail.
ids=$(sed -n 's/.*Local Apic ID : \([0-9A-F]*\)$/\1/p' "$d/apic.dsl" | tr '\n' ' ')
check "MADT: two local APICs, ids 00 01 (got: $ids)" test "$ids" = "00 01 "
check "MADT: both enabled" \
    test "$(grep -c 'Processor Enabled : 1' "$d/apic.dsl")" -eq 2
check "MADT: the IOAPIC at 0xFEC00000" grep -q 'Address : FEC00000' "$d/apic.dsl"
check "FADT: hardware-reduced" grep -q 'Hardware Reduced (V5) : 1' "$d/facp.dsl"
dtc -I dtb -O dts "$d/machine.dtb" >"$d/machine.dts" 2>"$d/dtc.err"
check "dtc decodes the device tree" test -s "$d/machine.dts"
# Within the node's own braces: its window, and interrupt GSI 5 with
# flags 3 (edge, active high, like the DSDT).
check "DT: virtio_mmio@d0000000 with its window and interrupt (GSI 5, edge)" \
    perl -0ne 'exit !/virtio_mmio\@d0000000 \{[^{}]*compatible = "virtio,mmio";[^{}]*reg = <0x00 0xd0000000 0x00 0x200>;[^{}]*interrupts = <0x05 0x03>;[^{}]*\};/' "$d/machine.dts"
check "DT: two cpus, reg 0 and 1" \
    perl -0ne 'exit !(/cpu\@0 \{[^{}]*reg = <0x00>;/ && /cpu\@1 \{[^{}]*reg = <0x01>;/ && 2 == (() = /cpu\@[0-9a-f]+ \{/g))' "$d/machine.dts"

timeout 30 "$KVMINI" run -k "$GUEST" --dump-acpi /nonexistent-dir </dev/null \
    >/dev/null 2>"$TMP/e.err"
rc=$?
check "--dump-acpi into a missing directory: one clear line, exit $rc" \
    sh -c "[ $rc -ne 0 ] && [ \$(wc -l <'$TMP/e.err') -eq 1 ] && grep -q 'must exist' '$TMP/e.err'"
done_testing
