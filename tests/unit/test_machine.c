/* SPDX-License-Identifier: MIT */
/* Placing virtio-mmio transports: explicit windows and pins are checked,
 * the rest fill the lowest free slots around them. */
#include <errno.h>
#include <string.h>

#include "arch/x86/machine.h"
#include "tests/unit/tap.h"

#define BASE LAYOUT_VIRTIO_MMIO_BASE
#define W LAYOUT_VIRTIO_MMIO_SIZE

static char err[256];

static int place(struct machine *m, const struct machine_virtio_req *r,
                 unsigned n, unsigned bad[2])
{
    machine_init(m, 1);
    err[0] = '\0';
    return machine_place_virtio(m, r, n, bad, err, sizeof(err));
}

static bool at(const struct machine *m, unsigned i, uint64_t base,
               uint64_t size, uint32_t gsi)
{
    return m->virtio[i].base == base && m->virtio[i].size == size &&
           m->virtio[i].gsi == gsi;
}

static void test_auto(void)
{
    struct machine m;
    unsigned bad[2];
    struct machine_virtio_req r[16];
    for (unsigned i = 0; i < 16; i++)
        r[i] = (struct machine_virtio_req){.device_id = 2};
    CHECK(place(&m, r, 3, bad) == 0 && m.nvirtio == 3 &&
              at(&m, 0, BASE, W, 5) && at(&m, 1, BASE + W, W, 6) &&
              at(&m, 2, BASE + 2 * W, W, 7),
          "no explicit requests: the slots machine_add_virtio gives");
    CHECK(place(&m, r, 16, bad) == 0 && at(&m, 15, BASE + 15 * W, W, 20) &&
              machine_check(&m) == 0,
          "16 devices fit and check");

    /* A later explicit device keeps its place: earlier automatic ones
     * go around it, in request order. */
    r[2] = (struct machine_virtio_req){
        .device_id = 1, .base = BASE, .size = W, .gsi = 5};
    CHECK(place(&m, r, 3, bad) == 0 && at(&m, 0, BASE + W, W, 6) &&
              at(&m, 1, BASE + 2 * W, W, 7) && at(&m, 2, BASE, W, 5) &&
              m.virtio[2].device_id == 1,
          "automatic slots avoid a later explicit window and pin (%s)", err);

    /* A larger explicit window pushes automatic ones past its end; an
     * address with no irq gets a free pin, an irq with no address a free
     * window. */
    r[0] = (struct machine_virtio_req){
        .device_id = 2, .base = BASE, .size = 0x1000};
    r[1] = (struct machine_virtio_req){.device_id = 2, .gsi = 23};
    r[2] = (struct machine_virtio_req){.device_id = 3};
    CHECK(place(&m, r, 3, bad) == 0 && at(&m, 0, BASE, 0x1000, 5) &&
              at(&m, 1, BASE + 0x1000, W, 23) &&
              at(&m, 2, BASE + 0x1200, W, 6) && machine_check(&m) == 0,
          "mixed explicit and automatic (%s)", err);
    CHECK(m.virtio[1].base % W == 0, "automatic windows stay aligned");
}

static void expect(const struct machine_virtio_req *r, unsigned n, int want,
                   unsigned want_bad, unsigned want_other, const char *needle)
{
    struct machine m;
    unsigned bad[2] = {99, 99};
    int got = place(&m, r, n, bad);
    CHECK(got == want && bad[0] == want_bad && bad[1] == want_other &&
              strstr(err, needle) && m.nvirtio == 0,
          "refused (%d, device %u, other %u): %s", got, bad[0], bad[1], err);
}

static void test_bad(void)
{
    struct machine_virtio_req a = {.device_id = 2, .base = BASE, .size = W};
    struct machine_virtio_req r[2] = {a, a};
    r[0].base = BASE + 0x100;
    expect(r, 1, -EINVAL, 0, 0, "0x200-aligned");
    r[0] = a;
    r[0].size = 0x300;
    expect(r, 1, -EINVAL, 0, 0, "multiples of 0x200");
    r[0].size = 0x200000;
    expect(r, 1, -EINVAL, 0, 0, "0x200 to 0x100000");
    r[0] = a;
    r[0].base = 0x1000000;
    expect(r, 1, -EINVAL, 0, 0, "outside the MMIO hole");
    r[0].base = LAYOUT_MMIO_HOLE - W;
    r[0].size = 2 * W;
    expect(r, 1, -EINVAL, 0, 0, "outside the MMIO hole");
    r[0] = a;
    r[0].base = 0x100000000ULL;
    expect(r, 1, -EINVAL, 0, 0, "outside the MMIO hole");
    r[0].base = LAYOUT_IOAPIC + 0x200;
    expect(r, 1, -EINVAL, 0, 0, "IOAPIC");
    r[0].base = LAYOUT_LAPIC;
    expect(r, 1, -EINVAL, 0, 0, "local APIC");
    r[0].base = LAYOUT_IDENTITY_MAP - W;
    r[0].size = 2 * W;
    expect(r, 1, -EINVAL, 0, 0, "identity-map");
    r[0] = a;
    r[0].base = 0;
    r[0].size = 0;
    r[0].gsi = 4;
    expect(r, 1, -EINVAL, 0, 0, "irq 4 is not one kvmini offers devices");
    r[0].gsi = 24;
    expect(r, 1, -EINVAL, 0, 0, "use 5..23");
    r[0] = a;
    r[1] = a;
    r[1].base = BASE + 0x100 - 0x100; /* same window */
    expect(r, 2, -EADDRINUSE, 1, 0, "overlaps the window 0xd0000000+0x200 of");
    r[0].size = 0x1000;
    r[1].base = BASE + 0xe00;
    expect(r, 2, -EADDRINUSE, 1, 0, "overlaps the window 0xd0000000+0x1000 of");
    r[0] = (struct machine_virtio_req){.device_id = 2, .gsi = 9};
    r[1] = (struct machine_virtio_req){.device_id = 1, .gsi = 9};
    expect(r, 2, -EBUSY, 1, 0, "irq 9 is already taken by");

    struct machine_virtio_req many[17];
    for (unsigned i = 0; i < 17; i++)
        many[i] = (struct machine_virtio_req){.device_id = 2};
    expect(many, 17, -ENOSPC, 0, 0, "at most 16");
}

/* With the ACPI power button, its pin (the last) is no device's. */
static void test_power_button(void)
{
    struct machine m;
    unsigned bad[2] = {99, 99};
    struct machine_virtio_req r[2] = {{.device_id = 2},
                                      {.device_id = 2, .gsi = LAYOUT_GED_GSI}};
    machine_init(&m, 1);
    m.power_button = true;
    int got = machine_place_virtio(&m, r, 2, bad, err, sizeof(err));
    CHECK(got == -EINVAL && bad[0] == 1 && bad[1] == 1 && m.nvirtio == 0 &&
              strstr(err, "irq 23 is the ACPI power button's (--no-acpi "
                          "frees it); use 5..22"),
          "power button: an explicit irq=%u is refused in a sentence of its "
          "own (%s)",
          LAYOUT_GED_GSI, err);
    r[1].gsi = 22;
    CHECK(machine_place_virtio(&m, r, 2, bad, err, sizeof(err)) == 0 &&
              m.virtio[1].gsi == 22 && machine_check(&m) == 0,
          "... the pin below it is still a device's");
    m.virtio[1].gsi = LAYOUT_GED_GSI;
    CHECK(machine_check(&m) == -EINVAL,
          "machine_check refuses a device on the button's pin");
    m.power_button = false;
    CHECK(machine_check(&m) == 0, "... which is free without the button");
}

int main(void)
{
    test_auto();
    test_bad();
    test_power_button();
    return tap_done();
}
