#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# virtio-mmio as the tiny guest sees it: every configured device found with
# its id, window and IRQ from the device tree (default) and from the
# virtio_mmio.device= command-line words (--no-dtb --no-acpi); the guest's
# FDT reader agrees with dtc; a virtio-console round trip through stdin;
# completions that reach the guest by interrupt, with no tick to hide a
# lost one (irqwait).
. "$(dirname "$0")/lib.sh"
require_kvm

KVMINI_VENDOR=0x494d564b # "KVMI", little-endian
DEV0='base=0xd0000000 size=0x200 irq=5 id=3 vendor='$KVMINI_VENDOR' version=2'

# --- discovery, both sources ----------------------------------------------
run_vm 60 dt -k "$GUEST" --console virtio \
    -p "expect_devices=1 expect_dev=3@0xd0000000:5"
check "DTB: guest finds the console and passes" guest_passed dt
check "DTB: device line has id 3, window 0xd0000000+0x200, IRQ 5" \
    has dt "^tg: virtio dev=0 src=dt $DEV0 name=console\$"
check "DTB: one device, from the device tree" \
    has dt '^tg: devices n=1 src=dt unusable=0 dropped=0$'
check "DTB: no virtio_mmio.device= words were added under ACPI" \
    bash -c "! grep -q 'virtio_mmio.device=' '$TMP/dt.out'"

run_vm 60 cl -k "$GUEST" --console virtio --no-dtb --no-acpi \
    -p "expect_devices=1 expect_dev=3@0xd0000000:5"
check "cmdline: guest finds the console and passes" guest_passed cl
check "cmdline: kvmini appended the virtio_mmio.device= word" \
    has cl '^tg: cmdline .* virtio_mmio\.device=0x200@0xd0000000:5"$'
check "cmdline: the guest got no DTB" has cl "^tg: dtb none\$"
check "cmdline: id 3, window 0xd0000000+0x200, IRQ 5, from the cmdline" \
    has cl "^tg: virtio dev=0 src=cmdline $DEV0 name=console\$"

run_vm 60 none -k "$GUEST" -p "expect_devices=0"
check "no virtio device configured: the guest finds none" guest_passed none
check "no device: the DTB is still there" \
    has none '^tg: devices n=0 src=dt unusable=0'

run_vm 60 nosrc -k "$GUEST" --console virtio --no-dtb --no-acpi \
    --no-cmdline-devices -p "expect_devices=0"
check "--no-dtb --no-acpi --no-cmdline-devices: no source, no device" \
    guest_passed nosrc
check "... and the guest says src=none" has nosrc '^tg: devices n=0 src=none'

# The checks can fail: a wrong IRQ, a wrong count.
run_vm 60 wrong -k "$GUEST" --console virtio \
    -p "expect_devices=2 expect_dev=3@0xd0000000:6"
check "wrong expectations fail the guest (exit 1)" test "$RC" -eq 1
check "... expect_dev names the missing device" \
    has wrong '^tg: check expect_dev FAIL id=3 base=0xd0000000 irq=6 missing'
check "... expect_devices reports the count" \
    has wrong '^tg: check expect_devices FAIL n=1 want=2'

# Hostile command-line entries: malformed, above 4 GiB, too small are
# skipped; an empty window (no device: reads all-ones) fails virtio_magic.
run_vm 60 junk -k "$GUEST" --no-dtb -p "virtio_mmio.device=bogus \
virtio_mmio.device=0x200@0x100000000:6 virtio_mmio.device=0x10@0xd0000400:6 \
virtio_mmio.device=1@@: virtio_mmio.device=0x200@0xd0000000:5"
check "junk entries: the guest survives and fails (exit 1)" test "$RC" -eq 1
check "junk entries: 4 unusable, the empty window probed" \
    has junk '^tg: devices n=1 src=cmdline unusable=4 dropped=0$'
check "junk entries: the empty window fails virtio_magic" \
    has junk '^tg: check virtio_magic FAIL dev=0 magic=0xffffffff'

# --- the device tree through dtc and through the guest's reader ------------
printf 'dt\rexit 0\r' >"$TMP/dtkeys"
VM_STDIN=$TMP/dtkeys run_vm 60 dump -k "$GUEST" --console serial \
    --dump-dtb "$TMP/m.dtb" -c 2 -p shell
check "--dump-dtb with a shell: guest exits 0" test "$RC" -eq 0
if command -v dtc >/dev/null; then
    dtc -I dtb -O dts "$TMP/m.dtb" >"$TMP/m.dts" 2>"$TMP/dtc.err"
    check "dtc decodes the dumped DTB" test -s "$TMP/m.dts"
    # Node names in document order, from dtc and from the guest's `dt`.
    sed -n 's/^[[:space:]]*\([^ ]*\) {$/\1/p' "$TMP/m.dts" >"$TMP/dtc.nodes"
    sed -n 's/^tg: dt  *\([^ ]*\).*/\1/p' "$TMP/dump.out" >"$TMP/tg.nodes"
    nodes=$(wc -l <"$TMP/dtc.nodes")
    check "the guest's FDT reader lists the same $nodes nodes as dtc" \
        cmp -s "$TMP/dtc.nodes" "$TMP/tg.nodes"
    cmp -s "$TMP/dtc.nodes" "$TMP/tg.nodes" ||
        diff "$TMP/dtc.nodes" "$TMP/tg.nodes" | diag
    check "the guest reads cpu@1's reg" has dump '^tg: dt     cpu@1 reg=<0x1>$'
else
    not_ok "dtc missing (Debian package device-tree-compiler)"
fi

run_vm 60 vdump -k "$GUEST" --console virtio --dump-dtb "$TMP/v.dtb"
dtc -I dtb -O dts "$TMP/v.dtb" >"$TMP/v.dts" 2>/dev/null
check "dtc: the virtio node is in the dumped DTB" \
    grep -q 'virtio_mmio@d0000000 {' "$TMP/v.dts"
check "dtc: it is compatible with virtio,mmio" \
    grep -q 'compatible = "virtio,mmio";' "$TMP/v.dts"
check "dtc: window 0xd0000000 size 0x200, interrupt 5 edge" \
    bash -c "grep -A4 'virtio_mmio@d0000000 {' '$TMP/v.dts' |
             grep -q 'reg = <0x00 0xd0000000 0x00 0x200>;' &&
             grep -A4 'virtio_mmio@d0000000 {' '$TMP/v.dts' |
             grep -q 'interrupts = <0x05 0x03>;'"

# --- virtio console round trip ---------------------------------------------
printf 'hello world\nline two\r\n\nquit\nafter quit\n' >"$TMP/lines"
for mode in dt cl; do
    flags=()
    [ "$mode" = cl ] && flags=(--no-dtb --no-acpi)
    VM_STDIN=$TMP/lines run_vm 60 echo$mode -k "$GUEST" --console virtio \
        "${flags[@]}" -p vcons_echo
    check "$mode: vcons_echo: guest passes (exit 0)" guest_passed echo$mode
    grep -E '^(echo: |tg-vcons: )' "$TMP/echo$mode.out" >"$TMP/echo$mode.got"
    printf 'tg-vcons: ready\necho: hello world\necho: line two\necho: \n' \
        >"$TMP/echo.want"
    check "$mode: ready marker, each line echoed in order, none after quit" \
        cmp -s "$TMP/echo.want" "$TMP/echo$mode.got"
    check "$mode: the guest counted 3 lines" \
        has echo$mode '^tg: check vcons_echo ok lines=3$'
done

# More input than the 8 receive buffers of 64 bytes hold, and a line
# longer than the guest's 128-byte line buffer (cut at 127 bytes).
long=$(printf 'x%.0s' $(seq 1 300))
{ for i in $(seq 1 200); do echo "line $i"; done; echo "$long"; echo quit; } \
    >"$TMP/many"
VM_STDIN=$TMP/many run_vm 60 many -k "$GUEST" --console virtio \
    -p vcons_echo --stats
check "200 lines + a long one: guest passes" guest_passed many
{ for i in $(seq 1 200); do echo "echo: line $i"; done
  echo "echo: ${long:0:127}"; } >"$TMP/many.want"
grep '^echo: ' "$TMP/many.out" >"$TMP/many.got"
check "every line echoed in order, the long one cut at 127 bytes" \
    cmp -s "$TMP/many.want" "$TMP/many.got"
# With its idle tick (tg: idle hlt) the guest routes the device interrupt
# to wake its hlt, and counts what its handler received; without (a busy
# host can starve the tick check) it keeps them off and polls. Most waits
# find the entry on their first look and never halt, so how many
# interrupts the handler took depends on timing (0 in some runs); the
# first transmit halts until the interrupt comes (5 s at most) before it
# looks, which irq_hlt reports.
if has many '^tg: idle hlt'; then
    check "idle hlt: the first transmit's halt ended by the console's interrupt" \
        has many '^tg: check irq_hlt ok received=[1-9][0-9]*$'
    check "idle hlt: the guest's handler received the console's interrupts" \
        has many '^tg: virtio irq dev=0 gsi=5 vec=0x55 received=[1-9]'
else
    check "idle spin: the guest kept transmit interrupts off" \
        grep -Eq '^virtio console q1: .* irqs 0 ' "$TMP/many.err"
fi

# --- completions by interrupt, with no tick --------------------------------
# irqwait: no periodic tick; each wait halts until the device's interrupt
# announces a used entry; a 1 s one-shot watchdog ends a halt that no
# interrupt ended, and what it finds counts as late. So a completion the
# guest took without the device's interrupt fails the guest's check.
printf 'one\ntwo\nthree\nquit\n' >"$TMP/three"
VM_STDIN=$TMP/three run_vm 60 irq -k "$GUEST" --console virtio --stats \
    -p "irqwait vcons_hello vcons_echo"
check "irqwait: guest passes with no tick (exit 0)" guest_passed irq
check "irqwait: the guest waited with its watchdog armed" \
    has irq '^tg: irqwait watchdog_us=1000000$'
check "irqwait: ... and no idle tick" \
    bash -c "! grep -q '^tg: idle ' '$TMP/irq.out'"
check "irqwait: hello, ready and three echoes (5 transmits)" \
    test "$(grep -c '^\(tg-vcons: \|echo: \)' "$TMP/irq.out")" -eq 5
by_irq=$(sed -n 's/^tg: check irq_wait ok .* by_irq=\([0-9]*\) late=0 .*/\1/p' \
    "$TMP/irq.out")
check "irqwait: every completion announced by an interrupt, none late" \
    test "${by_irq:-0}" -ge 6
got=$(sed -n 's/^tg: virtio irq dev=0 gsi=5 vec=0x55 received=\([0-9]*\)$/\1/p' \
    "$TMP/irq.out")
sent=$(awk '/^virtio console q[01]: / { for (i = 1; i < NF; i++)
            if ($i == "irqs") n += $(i + 1) } END { print n + 0 }' \
    "$TMP/irq.err")
check "irqwait: the guest received ${got:-no} interrupts, 1..$sent sent" \
    test "${got:-0}" -ge 1 -a "${got:-0}" -le "$sent"

run_vm 60 hello -k "$GUEST" --console virtio -p vcons_hello
check "vcons_hello: transmit returned by the device, guest passes" \
    guest_passed hello
check "vcons_hello: the text reached stdout" has hello '^tg-vcons: hello$'

# The guest's driver speaks the legacy layout too (Version 1: QueuePFN,
# QueueAlign, no FEATURES_OK).
printf 'old layout\nquit\n' >"$TMP/legacy.in"
VM_STDIN=$TMP/legacy.in run_vm 60 legacy -k "$GUEST" --console virtio,legacy \
    -p "vcons_hello vcons_echo"
check "legacy console: hello and echo, guest passes" guest_passed legacy
check "... a Version 1 window, the line echoed" \
    bash -c "grep -q '^tg: virtio dev=0 .* version=1 name=console' \
'$TMP/legacy.out' && grep -q '^echo: old layout$' '$TMP/legacy.out'"

run_vm 60 nocons -k "$GUEST" -p vcons_hello
check "vcons_hello without a virtio console fails (exit 1)" test "$RC" -eq 1
check "... saying no-console" \
    has nocons '^tg: check vcons_hello FAIL no-console'

# Input ends without "quit": the guest must keep waiting for more, alive
# (EOF is no line), until its own 3 s input timeout fails it.
printf 'one\n' >"$TMP/noquit"
VM_STDIN=$TMP/noquit run_vm 30 noquit -k "$GUEST" --console virtio \
    -p "vcons_echo vcons_idle=3"
check "no quit line: the guest waits for input, then fails (exit $RC)" \
    test "$RC" -eq 1
check "... after echoing what it got" has noquit '^echo: one$'
check "... and says it timed out waiting for input" \
    has noquit '^tg: check vcons_echo FAIL lines=1 receive-timeout$'

# --- the same driver against a transport we did not write -----------------
# QEMU's microvm (PVH entry, no ACPI) describes its virtio-mmio windows
# only with virtio_mmio.device= words; modern layout on request.
GUEST_ELF=${GUEST_ELF:-build/tiny-guest.elf}
if command -v qemu-system-x86_64 >/dev/null; then
    timeout -k 5 60 qemu-system-x86_64 \
        -M microvm,x-option-roms=off,rtc=off,isa-serial=on,acpi=off \
        -global virtio-mmio.force-legacy=false -accel kvm -m 128M \
        -nodefaults -no-user-config -display none \
        -serial file:"$TMP/qemu.serial" \
        -device isa-debug-exit,iobase=0xf4,iosize=1 \
        -device virtio-serial-device -chardev stdio,id=c0,signal=off \
        -device virtconsole,chardev=c0 -kernel "$GUEST_ELF" \
        -append "irqwait vcons_hello vcons_echo expect_devices=1" \
        <"$TMP/lines" >"$TMP/qemu.out" 2>"$TMP/qemu.err"
    rc=$?
    check "QEMU microvm: guest passes (isa-debug-exit 1 = status 0, got $rc)" \
        test "$rc" -eq 1
    [ "$rc" -eq 1 ] || grep -E "virtio|verdict|FAIL" "$TMP/qemu.serial" | diag
    check "QEMU microvm: console found from QEMU's virtio_mmio.device= word" \
        grep -Eq '^tg: virtio dev=0 src=cmdline .* id=3 vendor=0x554d4551 '\
'version=2' \
        "$TMP/qemu.serial"
    check "QEMU microvm: completions by interrupt (irqwait), none late" \
        grep -Eq '^tg: check irq_wait ok received=[1-9][0-9]* by_irq=[1-9][0-9]* late=0 ' \
        "$TMP/qemu.serial"
    { echo 'tg-vcons: hello'; cat "$TMP/echo.want"; } >"$TMP/qemu.want"
    check "QEMU microvm: hello, ready, three echoes on the virtconsole" \
        cmp -s "$TMP/qemu.want" "$TMP/qemu.out"
    # The shell on COM1 drives the console: `vcons say` (under kvmini,
    # stdin feeds the virtio console, so COM1 has no input there).
    printf 'vcons say hi there\rexit 0\r' >"$TMP/say.keys"
    timeout -k 5 60 qemu-system-x86_64 \
        -M microvm,x-option-roms=off,rtc=off,isa-serial=on,acpi=off \
        -global virtio-mmio.force-legacy=false -accel kvm -m 128M \
        -nodefaults -no-user-config -display none -serial stdio \
        -device isa-debug-exit,iobase=0xf4,iosize=1 \
        -device virtio-serial-device \
        -chardev file,id=c0,path="$TMP/say.vc" \
        -device virtconsole,chardev=c0 -kernel "$GUEST_ELF" -append shell \
        <"$TMP/say.keys" >"$TMP/say.out" 2>"$TMP/say.err"
    rc=$?
    check "QEMU: shell 'vcons say', then exit 0 (isa-debug-exit 1, got $rc)" \
        test "$rc" -eq 1
    check "QEMU: the shell reports the send" \
        grep -q '^tg: vcons say ok bytes=9' "$TMP/say.out"
    check "QEMU: the text came out of the virtconsole" \
        test "$(cat "$TMP/say.vc")" = "hi there"
else
    not_ok "qemu-system-x86_64 missing (Debian package qemu-system-x86)"
fi

done_testing
