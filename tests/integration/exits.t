#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Every way a guest ends its VM, and kvmini's exit status for each:
# i8042 reset, a jump to the reset vector, ACPI power-off, the test-exit
# port, a triple fault, an instruction KVM cannot run, and a vCPU spinning
# in ring 0 with interrupts off, stopped by SIGTERM.
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

# An instruction this KVM cannot run: kvm_pvm emulates ring 0 and has no
# emulation for cmpxchg16b, so KVM stops the vCPU (KVM_EXIT_INTERNAL_ERROR)
# and kvmini must exit 2 with its one-line report. What to expect comes
# from the guest (did it go on after the instruction?) and the host's KVM
# module, never from what kvmini printed.
shell_run insn cmpxchg16b -c 2
if has insn '^tg: cmpxchg16b unsupported'; then
    skip "status 2: this CPU has no cmpxchg16b (CPUID CX16)"
elif has insn '^tg: cmpxchg16b done' && [ ! -d /sys/module/kvm_pvm ]; then
    skip "status 2: this KVM runs cmpxchg16b (hardware KVM, no kvm_pvm)"
else
    check "the guest reached the instruction" has insn '^tg: cmpxchg16b start$'
    check "... and did not go on past it" \
        bash -c "! grep -q '^tg: cmpxchg16b done' '$TMP/insn.out'"
    check "... nor took an exception of its own" \
        bash -c "! grep -q '^tg: fault' '$TMP/insn.out'"
    check "KVM could not run the guest: kvmini exits 2 (got $RC)" \
        test "$RC" -eq 2
    check "one stderr line: KVM_EXIT_INTERNAL_ERROR, RIP, the instruction" \
        test "$(wc -l <"$TMP/insn.err")" -eq 1 -a \
        "$(grep -Ec '^kvmini: vcpu0: guest stopped by KVM_EXIT_INTERNAL_ERROR suberror [0-9]+ \(.*\) at RIP 0x[0-9a-f]+ .*instruction bytes: f0 48 0f c7 ' \
            "$TMP/insn.err")" -eq 1
    [ "$RC" -eq 2 ] || diag "$TMP/insn.err"
fi

# A vCPU looping in emulated ring 0 with interrupts off never exits on its
# own; SIGTERM must still stop the VM.
printf 'spin\r' >"$TMP/spin.keys"
VM_STDIN=$TMP/spin.keys vm_start 30 spin -k "$GUEST" -c 2 -p shell
check "the guest started spinning" wait_line spin '^tg: spinning' 30
stop_by_signal spin TERM "a spinning vCPU"

done_testing
