/* SPDX-License-Identifier: MIT */
/*
 * Every way a guest can end its VM, as shell commands, so integration
 * tests can check kvmini's answer to each: i8042 reset, a jump to the BIOS
 * reset vector, ACPI power-off, triple fault, a ring-0 spin with
 * interrupts off (stopped only from outside), and an instruction this
 * machine's KVM cannot run (status 2). The test-exit port is the shell's
 * own `exit`.
 */
#ifndef TG_POWER_H
#define TG_POWER_H

#include <stddef.h>

struct tg;

void power_cmd_reboot(struct tg *tg, const char *args, size_t len);
void power_cmd_resetvec(struct tg *tg, const char *args, size_t len);
void power_cmd_poweroff(struct tg *tg, const char *args, size_t len);
void power_cmd_triplefault(struct tg *tg, const char *args, size_t len);
void power_cmd_spin(struct tg *tg, const char *args, size_t len);
/* Prints "tg: cmpxchg16b start", runs it in ring 0, then "... done". */
void power_cmd_cmpxchg16b(struct tg *tg, const char *args, size_t len);

#endif
