#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every way a guest ends its VM, and kvmini's exit status for each:
# i8042 reset, a jump to the reset vector, ACPI power-off, the test-exit
# port, a triple fault, and a vCPU spinning in ring 0 with interrupts off,
# stopped by SIGTERM.
. "$(dirname "$0")/lib.sh"
require_kvm

# shell_run NAME COMMAND [kvmini args...]: the guest shell runs COMMAND.
shell_run() {
    local name=$1 cmd=$2; shift 2
    printf '%s\r' "$cmd" >"$TMP/$name.keys"
    VM_STDIN=$TMP/$name.keys run_vm 60 "$name" -k "$GUEST" -p shell "$@"
}

shell_run reboot reboot -c 2
check "reboot (0xfe to port 0x64): kvmini exits 0 (got $RC)" test "$RC" -eq 0
check "reboot: reported as an i8042 reset" \
    grep -q 'guest reset through the i8042' "$TMP/reboot.err"
check "reboot: the guest did not see it ignored" \
    bash -c "! grep -q 'had no effect' '$TMP/reboot.out'"

# Linux's BIOS reboot (its default under kvmini's hardware-reduced ACPI)
# jumps to F000:FFF0: kvmini's reset vector must reset, not run zeroes.
shell_run resetvec resetvec -c 2
check "jump to the reset vector 0xffff0: kvmini exits 0 (got $RC)" \
    test "$RC" -eq 0
check "resetvec: reported as an i8042 reset" \
    grep -q 'guest reset through the i8042' "$TMP/resetvec.err"
check "resetvec: the guest got there, and not back" \
    bash -c "grep -q '^tg: jumping to the reset vector' '$TMP/resetvec.out' &&
             ! grep -q 'had no effect' '$TMP/resetvec.out'"

shell_run poweroff poweroff -c 2
check "poweroff (ACPI S5, 0x34 to port 0x600): kvmini exits 0 (got $RC)" \
    test "$RC" -eq 0
check "poweroff: reported as ACPI S5" \
    grep -q 'powered off (ACPI S5)' "$TMP/poweroff.err"

# Without ACPI there is no sleep register: the write must be ignored.
printf 'poweroff\rexit 6\r' >"$TMP/noacpi.keys"
VM_STDIN=$TMP/noacpi.keys run_vm 60 noacpi -k "$GUEST" -p shell --no-acpi
check "poweroff with --no-acpi is ignored; shell goes on (exit 6, got $RC)" \
    test "$RC" -eq 6
check "... and the guest says so" \
    has noacpi '^tg: error poweroff had no effect$'

shell_run exit5 "exit 5"
check "test-exit port: 'exit 5' gives status 5 (got $RC)" test "$RC" -eq 5

shell_run triple triplefault
check "triple fault: kvmini exits 3 (got $RC)" test "$RC" -eq 3
check "triple fault: KVM_EXIT_SHUTDOWN diagnostic on stderr" \
    grep -q 'KVM_EXIT_SHUTDOWN (triple fault)' "$TMP/triple.err"
check "triple fault: the diagnostic shows the faulting ud2 (0f 0b)" \
    grep -q 'instruction bytes: 0f 0b' "$TMP/triple.err"

# A vCPU looping in emulated ring 0 with interrupts off never exits on its
# own; SIGTERM must still stop the VM (timeout's own kill would give 124).
printf 'spin\r' >"$TMP/spin.keys"
timeout -k 5 60 "$KVMINI" run -k "$GUEST" -c 2 -p shell <"$TMP/spin.keys" \
    >"$TMP/spin.out" 2>"$TMP/spin.err" &
pid=$!
for _ in $(seq 1 150); do
    grep -q '^tg: spinning' "$TMP/spin.out" && break
    sleep 0.1
done
check "the guest started spinning" grep -q '^tg: spinning' "$TMP/spin.out"
start=$(date +%s)
kill -TERM "$(pgrep -P "$pid" kvmini || echo "$pid")"
wait "$pid"
rc=$?
took=$(( $(date +%s) - start ))
check "SIGTERM stops a spinning vCPU: status 143 (got $rc after ${took}s)" \
    test "$rc" -eq 143
check "... reported on stderr" \
    grep -q 'signal 15: stopping the VM' "$TMP/spin.err"

done_testing
