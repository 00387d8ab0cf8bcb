/* SPDX-License-Identifier: MIT */
/*
 * Every way a guest can end its VM, as shell commands, so integration
 * tests can check kvmini's answer to each: i8042 reset, a jump to the BIOS
 * reset vector, ACPI power-off, triple fault, a ring-0 spin with
 * interrupts off (stopped only from outside), and an instruction this
 * machine's KVM cannot run (status 2). The test-exit port is the shell's
 * own `exit`. And the other way round: the VMM's ACPI power button, which
 * makes the guest power off (or, with `powerbtn=ignore`, only say so).
 */
#ifndef TG_POWER_H
#define TG_POWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tg;

/* The power button as the guest drives it (kvmini's GED, hw/ged.h). */
struct power_button {
    bool probed;   /* power_button_init ran */
    bool present;  /* the event register answers */
    bool routed;   /* its GSI interrupts the idle hlt */
    bool ignore;   /* powerbtn=ignore: report presses, do not power off */
    uint64_t seen; /* interrupts on its pin already looked at */
    uint64_t next_look; /* not routed: when to read the register next */
};

/*
 * Once the idle tick runs (interrupts reach the hlt): finds the event
 * register, routes the button's pin, prints `tg: powerbtn ready ...` or
 * `tg: powerbtn none`, and handles a press that came before.
 */
void power_button_init(struct tg *tg);
/*
 * From the idle loop: after an interrupt on the button's pin, reads the
 * register; a press is acknowledged and reported (`tg: powerbtn
 * pressed`), then the guest powers off through the ACPI sleep port
 * (`tg: powering off`), or with `powerbtn=ignore` says `tg: powerbtn
 * ignored` and carries on.
 */
void power_button_poll(struct tg *tg);

void power_cmd_reboot(struct tg *tg, const char *args, size_t len);
void power_cmd_resetvec(struct tg *tg, const char *args, size_t len);
void power_cmd_poweroff(struct tg *tg, const char *args, size_t len);
void power_cmd_triplefault(struct tg *tg, const char *args, size_t len);
void power_cmd_spin(struct tg *tg, const char *args, size_t len);
/* Prints "tg: cmpxchg16b start", runs it in ring 0, then "... done". */
void power_cmd_cmpxchg16b(struct tg *tg, const char *args, size_t len);

#endif
