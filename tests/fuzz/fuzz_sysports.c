/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: the ports through which a guest stops the VM
 * (hw/sysports.c: i8042 reset, test-exit, ACPI sleep control and status,
 * POST), registered on a port bus as main.c does, with and without ACPI.
 * Checked besides the sanitizers: the VM is stopped exactly by the
 * writes that mean it (0xfe to 0x64 as one byte, any write to the exit
 * port with its first byte as the status, S5 with SLP_EN to the sleep
 * port), reads return what docs/machine.md says, and no other port is
 * claimed.
 *
 * Input: a config byte (ACPI or not), then accesses: port selector,
 * size (1, 2 or 4), direction, data.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "arch/x86/acpi.h"
#include "arch/x86/layout.h"
#include "hw/sysports.h"
#include "tests/fuzz/fz.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    return fz_init(argc, argv);
}

struct stops {
    unsigned n;
    int status;
};

static void on_stop(void *ctx, int status, const char *why)
{
    struct stops *s = ctx;
    (void)why;
    s->n++;
    s->status = status;
}

static const uint16_t ports[] = {0x60,
                                 0x61,
                                 0x62,
                                 0x63,
                                 0x64,
                                 0x65,
                                 0x5f,
                                 LAYOUT_EXIT_PORT,
                                 LAYOUT_ACPI_SLEEP_PORT,
                                 LAYOUT_ACPI_SLEEP_STATUS_PORT,
                                 0x80,
                                 0x81,
                                 0x602,
                                 0x3f8};

/* Whether the write is one that must stop the VM, and with what. */
static bool must_stop(uint16_t port, uint32_t len, const uint8_t *d, bool acpi,
                      int *status)
{
    *status = 0;
    if (port == 0x64 && len == 1 && d[0] == 0xfe)
        return true;
    if (port == LAYOUT_EXIT_PORT && len == 1) {
        *status = d[0];
        return true;
    }
    return acpi && port == LAYOUT_ACPI_SLEEP_PORT && len == 1 &&
           (d[0] & (ACPI_SLP_EN | ACPI_SLP_TYP_MASK)) == ACPI_SLEEP_S5;
}

static bool claimed(uint16_t port, uint32_t len, bool acpi)
{
    uint32_t end = port + len;
    if (port >= 0x60 && end <= 0x65)
        return true;
    if (len != 1)
        return false;
    return port == LAYOUT_EXIT_PORT || port == 0x80 ||
           (acpi && (port == LAYOUT_ACPI_SLEEP_PORT ||
                     port == LAYOUT_ACPI_SLEEP_STATUS_PORT));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    bool acpi = fz_bool(&in);
    struct stops st = {0};
    struct sysports sp = {.stop = on_stop, .ctx = &st};
    struct sysports_config pc = {
        .exit_port = LAYOUT_EXIT_PORT,
        .sleep_port = acpi ? LAYOUT_ACPI_SLEEP_PORT : 0,
        .sleep_status_port = LAYOUT_ACPI_SLEEP_STATUS_PORT,
        .sleep_s5 = ACPI_SLEEP_S5,
        .sleep_mask = ACPI_SLP_EN | ACPI_SLP_TYP_MASK,
    };
    struct io_bus pio = {0};
    if (sysports_register(&sp, &pio, &pc))
        abort();
    for (unsigned n = 0; in.n && n < 4096; n++) {
        uint8_t op = fz_u8(&in);
        uint16_t port =
            op & 0x80 ? fz_u16(&in) : ports[op % (sizeof(ports) / 2)];
        uint32_t len = 1u << (fz_u8(&in) % 3);
        bool write = fz_bool(&in);
        uint8_t d[4];
        uint32_t v = fz_u32(&in);
        memcpy(d, &v, sizeof(d));
        unsigned before = st.n;
        int want_status;
        bool stop = write && must_stop(port, len, d, acpi, &want_status);
        int r = io_bus_access(&pio, port, d, len, write);
        FZ_ASSERT((r == 0) == claimed(port, len, acpi), "port 0x%x len %u: %d",
                  port, len, r);
        FZ_ASSERT(st.n == before + stop, "port 0x%x len %u <- 0x%x: %s", port,
                  len, v, stop ? "no stop" : "stopped");
        FZ_ASSERT(!stop || st.status == want_status, "status %d, want %d",
                  st.status, want_status);
        if (r == 0 && !write) {
            uint8_t want = port == 0x64 ? 0x01
                           : port == LAYOUT_ACPI_SLEEP_PORT ||
                                   port == LAYOUT_ACPI_SLEEP_STATUS_PORT
                               ? 0
                               : 0xff;
            for (uint32_t i = 0; i < len; i++)
                FZ_ASSERT(d[i] == want, "port 0x%x read 0x%02x, want 0x%02x",
                          port, d[i], want);
        }
    }
    return 0;
}
