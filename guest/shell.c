/* SPDX-License-Identifier: MIT */
/*
 * The "shell" cmdline word: a prompt ("tg> ") on the serial console. The
 * guest echoes what it reads. Commands live in one table; a later
 * feature adds a row (devices, dt, blk read SECTOR, stats).
 */
#include "guest/blkcheck.h"
#include "guest/devices.h"
#include "guest/exit.h"
#include "guest/io.h"
#include "guest/lib.h"
#include "guest/netcheck.h"
#include "guest/power.h"
#include "guest/serial.h"
#include "guest/tg.h"

#define LINE_MAX 128

struct shell_cmd {
    const char *name;
    const char *help;
    /* args: the rest of the line after the name, spaces trimmed */
    void (*run)(struct tg *tg, const char *args, size_t len);
};

static void cmd_help(struct tg *tg, const char *args, size_t len);

static void cmd_mem(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    report_mem(tg);
}

static void cmd_e820(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    report_e820(tg);
}

static void cmd_cmdline(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    report_cmdline(tg);
}

static void cmd_cpus(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    report_cpus(tg);
}

static void cmd_initrd(struct tg *tg, const char *args, size_t len)
{
    (void)args, (void)len;
    report_initrd(tg);
}

static void cmd_exit(struct tg *tg, const char *args, size_t len)
{
    uint64_t status = tg->fails ? TG_EXIT_FAIL : TG_EXIT_PASS;

    if (len && (parse_u64(args, len, false, &status) || status > 255)) {
        tg_printf("tg: error exit status must be 0..255\n");
        return;
    }
    tg_exit((unsigned)status);
}

static const struct shell_cmd cmds[] = {
    {"help", "list commands", cmd_help},
    {"mem", "RAM totals from the e820 map", cmd_mem},
    {"e820", "the e820 map", cmd_e820},
    {"cmdline", "the kernel command line", cmd_cmdline},
    {"cpus", "CPU tables and CPUs online", cmd_cpus},
    {"initrd", "initrd location, size and checksum", cmd_initrd},
    {"exit", "[N] leave with status N (default: verdict)", cmd_exit},
    {"devices", "virtio-mmio devices found", devices_cmd},
    {"dt", "the SETUP_DTB device tree", devices_cmd_dt},
    {"vcons",
     "say TEXT: send a line on the virtio console; bad-head: a hostile "
     "ring",
     vcons_cmd},
    {"blk", "info [vdX] | read [vdX] SECTOR | stats: virtio-blk disks",
     blk_cmd},
    {"net", "stats | info: virtio-net NICs (ip= words)", net_cmd},
    {"reboot", "i8042 reset (0xfe to port 0x64)", power_cmd_reboot},
    {"resetvec", "jump to the BIOS reset vector (0xffff0)", power_cmd_resetvec},
    {"poweroff", "ACPI S5 (0x34 to port 0x600)", power_cmd_poweroff},
    {"triplefault", "empty IDT, then ud2", power_cmd_triplefault},
    {"spin", "loop forever, interrupts off", power_cmd_spin},
    {"cmpxchg16b", "run lock cmpxchg16b in ring 0", power_cmd_cmpxchg16b},
};

static void cmd_help(struct tg *tg, const char *args, size_t len)
{
    (void)tg, (void)args, (void)len;
    for (size_t i = 0; i < ARRAY_SIZE(cmds); i++)
        tg_printf("tg: help %s - %s\n", cmds[i].name, cmds[i].help);
}

static void shell_exec(struct tg *tg, const char *line, size_t len)
{
    size_t i = 0, n;

    while (i < len && line[i] == ' ')
        i++;
    line += i;
    len -= i;
    while (len && line[len - 1] == ' ')
        len--;
    if (!len)
        return;
    for (n = 0; n < len && line[n] != ' ';)
        n++;
    for (size_t c = 0; c < ARRAY_SIZE(cmds); c++) {
        if (strlen(cmds[c].name) != n || memcmp(cmds[c].name, line, n))
            continue;
        while (n < len && line[n] == ' ')
            n++;
        cmds[c].run(tg, line + n, len - n);
        return;
    }
    tg_printf("tg: error unknown command \"%.*s\" (try help)\n", (int)n, line);
}

void shell_run(struct tg *tg)
{
    char line[LINE_MAX];
    size_t len = 0;

    serial_write("tg> ", 4);
    for (;;) {
        int c = serial_getc();

        if (c < 0) {
            net_idle(tg); /* answers the network while we wait */
            continue;
        }
        if (c == '\r' || c == '\n') {
            serial_putc('\n');
            shell_exec(tg, line, len);
            len = 0;
            serial_write("tg> ", 4);
        } else if (c == 0x7f || c == 0x08) {
            if (len) {
                len--;
                serial_write("\b \b", 3);
            }
        } else if (c >= 0x20 && c < 0x7f && len < LINE_MAX) {
            line[len++] = (char)c;
            serial_putc((char)c);
        }
    }
}
