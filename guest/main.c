/* SPDX-License-Identifier: MIT */
/*
 * The guest's flow: read the boot information, report it, checksum the
 * initrd in ring 3, start the APs, run the checks, print the verdict,
 * then exit (or hold, or open the shell) as the command line says.
 */
#include "guest/apic.h"
#include "guest/blkcheck.h"
#include "guest/cmdline.h"
#include "guest/devices.h"
#include "guest/exit.h"
#include "guest/io.h"
#include "guest/layout.h"
#include "guest/lib.h"
#include "guest/netcheck.h"
#include "guest/tg.h"
#include "guest/trap.h"
#include "guest/user.h"
#include "guest/vport.h"

#define GIB4 0x100000000ULL
#define IDLE_TICK_US 10000
#define IRQWAIT_WATCHDOG_US 1000000

void tg_main(int proto, uint64_t info) __attribute__((noreturn));

static void sum_initrd(struct tg *tg)
{
    uint64_t a = tg->bi.initrd_addr, n = tg->bi.initrd_size;

    /* Only the first 4 GiB are mapped; anything else is reported. */
    if (!n || a + n < a || a + n > GIB4)
        return;
    tg->initrd_sum = user_sum32(a, n);
    tg->initrd_summed = true;
}

void tg_idle(struct tg *tg)
{
    power_button_poll(tg);
    if (tg->tick)
        apic_tick_wait();
    else
        cpu_relax();
}

/* Before a long wait: a 10 ms tick lets the idle loop halt. `notick`
 * leaves it off, as when the tick never comes (the spin path's test). */
static void idle_init(struct tg *tg)
{
    if (tg->tick)
        return; /* already running (started for the console checks) */
    if (!cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "notick"))
        tg->tick = apic_tick_start(apic_init(), &tg->timer, IDLE_TICK_US);
    tg_printf("tg: idle %s\n", tg->tick ? "hlt" : "spin");
    power_button_init(tg);
}

/*
 * Before the device checks: the idle tick, or with `irqwait` no tick at
 * all, so that only device interrupts end the waits' halts.
 */
static void device_waits_init(struct tg *tg)
{
    if (!cmdline_has(tg->bi.cmdline, tg->bi.cmdline_len, "irqwait")) {
        idle_init(tg);
        return;
    }
    if (irqwait_start(&tg->irqw, &tg->timer, IRQWAIT_WATCHDOG_US))
        tg_printf("tg: irqwait watchdog_us=%u\n", tg->irqw.watchdog_us);
    else
        tg_printf("tg: irqwait unavailable\n");
}

static void hold(struct tg *tg)
{
    const char *v;
    size_t n;
    uint64_t secs, end;

    if (!cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len, "hold", &v, &n) ||
        parse_u64(v, n, false, &secs) || secs > 1000000)
        return;
    tg_printf("tg: holding %lu\n", secs);
    idle_init(tg);
    /* beat=MS: a numbered line every MS ms while holding, so a host can
     * see the guest make progress (and stop making it, when paused). */
    uint64_t beat_ms = 0, beats = 0, next = 0;
    if (cmdline_get(tg->bi.cmdline, tg->bi.cmdline_len, "beat", &v, &n) &&
        (parse_u64(v, n, false, &beat_ms) || beat_ms > 3600000))
        beat_ms = 0;
    if (beat_ms)
        next = timer_deadline(&tg->timer, beat_ms * 1000);
    end = timer_deadline(&tg->timer, secs * 1000000);
    /* Serves the ports and NICs, if any; else tg_idle(). */
    while (!timer_expired(end) && !vport_quit(tg)) {
        vport_idle(tg);
        if (beat_ms && timer_expired(next)) {
            tg_printf("tg: beat %lu\n", ++beats);
            next = timer_deadline(&tg->timer, beat_ms * 1000);
        }
    }
}

void tg_main(int proto, uint64_t info)
{
    static struct tg tg;
    uint64_t t0 = rdtsc();
    int r;

    trap_init();
    if (proto == BOOT_PROTO_PVH)
        r = bootinfo_from_pvh(&tg.bi, info);
    else
        r = bootinfo_from_zeropage(&tg.bi, info);
    tg.bootinfo_ok = r == 0;
    entry_probe(&tg.entry);
    report_hello(&tg);
    report_cmdline(&tg);
    report_e820(&tg);
    report_mem(&tg);

    timer_init(&tg.timer);
    tg_printf("tg: tsc khz=%lu src=%s\n", tg.timer.tsc_khz, tg.timer.source);
    sum_initrd(&tg);
    report_initrd(&tg);

    smp_discover(&tg.smp, tg.bi.rsdp);
    smp_start_aps(&tg.smp, &tg.timer);
    report_cpus(&tg);
    devices_discover(&tg.dev, &tg.bi);
    devices_report(&tg.dev);

    checks_run(&tg);
    devices_checks(&tg);
    if (vcons_wanted(&tg)) {
        device_waits_init(&tg);
        vcons_checks(&tg);
        devices_irq_report(&tg);
        irqwait_stop(&tg.irqw);
    }
    if (blk_wanted(&tg)) {
        idle_init(&tg);
        blk_checks(&tg);
    }
    if (net_wanted(&tg)) {
        idle_init(&tg);
        net_checks(&tg);
    }
    if (vport_wanted(&tg)) {
        idle_init(&tg);
        vport_checks(&tg);
    }
    tg_printf("tg: elapsed us=%lu\n", (rdtsc() - t0) * 1000 / tg.timer.tsc_khz);
    tg_printf("tg: verdict %s\n", tg.fails ? "fail" : "pass");
    if (cmdline_has(tg.bi.cmdline, tg.bi.cmdline_len, "shell")) {
        idle_init(&tg);
        shell_run(&tg);
    }
    hold(&tg);
    vport_finish(&tg);
    net_finish(&tg);
    tg_exit(tg.fails ? TG_EXIT_FAIL : TG_EXIT_PASS);
}
