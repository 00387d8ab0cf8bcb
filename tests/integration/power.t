#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The ACPI power button (hw/ged.c, docs/machine.md): SIGPWR to kvmini
# presses it; a guest that honours it powers off and kvmini exits 0, a
# guest that ignores it keeps running (kvmini escalates to nothing), and
# without ACPI there is no button to press.
. "$(dirname "$0")/lib.sh"
require_kvm

# ended NAME: the reaper's verdict ("exit N", "signal N", "deadline").
ended() { cat "$TMP/$1.how" 2>/dev/null; }

# wait_end SECONDS: until the VM has ended; past that generous bound
# (it guards a hang, never a speed) kvmini is killed, which its reaper
# records as "signal 9". The guests hold far longer than any bound, so
# only a power-off or a signal ends them in time.
wait_end() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        kill -0 "$VM_REAPER" 2>/dev/null || break
        sleep 0.1
    done
    kill -0 "$VM_REAPER" 2>/dev/null && kill -KILL "$VM_PID" 2>/dev/null
    wait "$VM_REAPER" 2>/dev/null
}

# 1. A guest that honours the button: SIGPWR once it listens, it says
# so, powers off through ACPI S5, and kvmini exits 0 by itself.
vm_start 300 honour -k "$GUEST" -p hold=1000 --stats
check "the guest listens: its power button is ready, routed" \
    wait_line honour '^tg: powerbtn ready gsi=23 port=0x602 irq=1 mode=poweroff$' 60
kill -PWR "$VM_PID"
wait_end 60
check "SIGPWR: the guest reports the press" \
    grep -q '^tg: powerbtn pressed$' "$TMP/honour.out"
check "... and powers off" grep -q '^tg: powering off$' "$TMP/honour.out"
check "... kvmini exits 0 by itself (got '$(ended honour)')" \
    test "$(ended honour)" = "exit 0"
check "... having said it pressed the button, then seen ACPI S5" \
    bash -c "grep -q 'power button pressed: waiting for the guest' \
        '$TMP/honour.err' && grep -q 'guest powered off (ACPI S5)' \
        '$TMP/honour.err'"
check "... --stats: one press, acknowledged once by the guest" \
    grep -q '^power button: presses 1 acks 1$' "$TMP/honour.err"
check "... at once (the guest never saw its write fail)" \
    bash -c "! grep -q 'had no effect' '$TMP/honour.out'"
[ "$(ended honour)" = "exit 0" ] || { diag "$TMP/honour.err"; tail -5 "$TMP/honour.out" | diag; }

# 2. A press before the guest runs is latched, not lost: kvmini waits
# for a client on the serial socket before it starts the guest (and
# answers signals meanwhile); the guest finds the press pending in the
# event register when it starts listening.
sock=$TMP/early.sock
vm_start 300 early -k "$GUEST" -p hold=1000 --serial "unix=$sock,server,wait"
for _ in $(seq 1 300); do
    grep -q 'waiting for a client' "$TMP/early.err" && break
    sleep 0.1
done
kill -PWR "$VM_PID"
for _ in $(seq 1 100); do
    grep -q 'power button pressed' "$TMP/early.err" && break
    sleep 0.1
done
perl -MIO::Socket::UNIX -e '
    my $s = IO::Socket::UNIX->new(Peer => $ARGV[0]) or die "connect: $!\n";
    local $SIG{ALRM} = sub { exit 1 }; alarm 60;
    while (sysread($s, my $b, 4096)) { print $b }' "$sock" \
    >"$TMP/early.serial" 2>&1
wait_end 60
check "a press before the guest runs: the guest finds it pending" \
    grep -q '^tg: powerbtn pending' "$TMP/early.serial"
check "... powers off (got '$(ended early)')" \
    bash -c "test '$(ended early)' = 'exit 0' &&
        grep -q '^tg: powering off' '$TMP/early.serial'"
[ "$(ended early)" = "exit 0" ] || { diag "$TMP/early.err"; tail -5 "$TMP/early.serial" | diag; }

# 3. A guest that ignores the button: it sees each press and goes on;
# kvmini does nothing more, and SIGTERM still stops it.
vm_start 300 ignore -k "$GUEST" -p "hold=1000 powerbtn=ignore"
check "powerbtn=ignore: the guest listens" \
    wait_line ignore '^tg: powerbtn ready .* mode=ignore$' 60
kill -PWR "$VM_PID"
check "SIGPWR: the guest says it ignores the press" \
    wait_line ignore '^tg: powerbtn ignored$' 30
kill -PWR "$VM_PID"
for _ in $(seq 1 300); do
    [ "$(grep -c '^tg: powerbtn ignored$' "$TMP/ignore.out")" -ge 2 ] && break
    sleep 0.1
done
check "a second press is delivered too (the first was acknowledged)" \
    test "$(grep -c '^tg: powerbtn ignored$' "$TMP/ignore.out")" -eq 2
sleep 3
check "the VM keeps running after the presses" kill -0 "$VM_PID"
check "... and nothing powered it off" \
    bash -c "! grep -q 'powered off\|powering off' '$TMP/ignore.out' '$TMP/ignore.err'"
kill -TERM "$VM_PID"
wait_end 30
check "SIGTERM still stops it: exit 143 (got '$(ended ignore)')" \
    test "$(ended ignore)" = "exit 143"

# 3b. Without the idle tick (as when it never comes on a loaded host) the
# guest cannot take the button's interrupt: it reads the register every
# 50 ms instead, and a press is still seen.
vm_start 300 spin -k "$GUEST" -p "hold=1000 powerbtn=ignore notick"
check "notick: the guest spins and listens without an interrupt" \
    wait_line spin '^tg: powerbtn ready .* irq=0 mode=ignore$' 60
kill -PWR "$VM_PID"
check "... SIGPWR: the press is seen all the same" \
    wait_line spin '^tg: powerbtn ignored$' 30
kill -TERM "$VM_PID"
wait_end 30

# 4. Without ACPI there is no button: the guest finds no register, and
# kvmini says SIGPWR has nothing to press instead of stopping.
vm_start 300 noacpi -k "$GUEST" -p hold=1000 --no-acpi
check "--no-acpi: the guest finds no power button" \
    wait_line noacpi '^tg: powerbtn none$' 60
kill -PWR "$VM_PID"
for _ in $(seq 1 100); do
    grep -q 'has none' "$TMP/noacpi.err" && break
    sleep 0.1
done
check "... SIGPWR: kvmini says there is none and how to stop it" \
    grep -q 'power button: this VM has none (--no-acpi); SIGTERM stops it' \
        "$TMP/noacpi.err"
check "... and keeps running" kill -0 "$VM_PID"
kill -TERM "$VM_PID"
wait_end 30
check "... until SIGTERM (got '$(ended noacpi)')" \
    test "$(ended noacpi)" = "exit 143"

# 5. The button's pin is reserved: a device cannot take it, unless there
# is no ACPI (and so no button).
truncate -s 1M "$TMP/d.img"
run_vm 30 pin23 -k "$GUEST" --device "blk,img=$TMP/d.img,irq=23"
check "--device irq=23: refused with exit 1 (got $RC)" test "$RC" -eq 1
check "... in one line naming the power button and the fix" \
    bash -c "test \$(wc -l <'$TMP/pin23.err') -eq 1 &&
        grep -q 'irq 23 is the ACPI power button.s (--no-acpi frees it); use 5..22' \
        '$TMP/pin23.err'"
run_vm 60 pin23noacpi -k "$GUEST" --no-acpi --device "blk,img=$TMP/d.img,irq=23" \
    -p "expect_dev=2@0xd0000000:23"
check "--no-acpi --device irq=23: the device gets pin 23" guest_passed pin23noacpi
# 6. SIGPWR's default action would end kvmini: one that arrives before
# the VM exists must wait, not kill it. Here kvmini is held in open() of
# its kernel, a FIFO nobody writes yet (syscall 257, openat), when the
# signal comes; then the FIFO gives it a byte that is no kernel.
mkfifo "$TMP/k.fifo"
vm_start 60 presig -k "$TMP/k.fifo"
for _ in $(seq 1 300); do
    [ "$(cut -d' ' -f1 /proc/"$VM_PID"/syscall 2>/dev/null)" = 257 ] && break
    sleep 0.1
done
kill -PWR "$VM_PID"
sleep 0.5
check "SIGPWR while kvmini starts up: it keeps going" kill -0 "$VM_PID"
exec 7<>"$TMP/k.fifo"
printf x >&7
exec 7>&-
wait_end 30
check "... to its own end: the kernel is refused, exit 1 (got '$(ended presig)')" \
    test "$(ended presig)" = "exit 1"
done_testing
