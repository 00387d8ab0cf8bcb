/* SPDX-License-Identifier: MIT */
/* kvmini: options, the one struct vm, device wiring, the main loop and
 * shutdown. */
#define LOG_TAG "main"
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <limits.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "arch/x86/boot.h"
#include "arch/x86/bzimage.h"
#include "arch/x86/cpu.h"
#include "arch/x86/acpi.h"
#include "arch/x86/cmdline_devs.h"
#include "arch/x86/fdt.h"
#include "arch/x86/layout.h"
#include "arch/x86/machine.h"
#include "arch/x86/tables.h"
#include "hw/api_client.h"
#include "hw/api_server.h"
#include "hw/chardev.h"
#include "hw/gate.h"
#include "hw/file.h"
#include "hw/ged.h"
#include "hw/kvopt.h"
#include "hw/log.h"
#include "hw/rtc.h"
#include "hw/sandbox.h"
#include "hw/sdnotify.h"
#include "hw/serial.h"
#include "hw/sysports.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"
#include "virtio/blk.h"
#include "virtio/console_opt.h"
#include "virtio/mmio.h"
#include "virtio/net.h"
#include "virtio/serial.h"
#include "virtio/serial_opt.h"
#include "virtio/virtio_spec.h"

#define KVMINI_VERSION "0.1"
#define DEFAULT_RAM (256ULL << 20)
#define KERNEL_MAX (512ULL << 20)

struct vm;
struct vm_dev;

/*
 * A kind of virtio device that a flag adds. This table row, the device's
 * own files and its backend in hw/ are all a new device needs: main.c
 * knows nothing else about it.
 */
struct vm_dev_kind {
    const char *flag;   /* the long option, e.g. "disk" */
    uint32_t device_id; /* what the machine description announces */
    /* Parse d->spec and open the host backends: runs before KVM exists,
     * so bad input fails before anything else is created. Sets d->priv,
     * d->ops (and d->legacy); reports its own error (one line). */
    int (*create)(struct vm *vm, struct vm_dev *d);
    /* After the transport is destroyed; d->priv may be NULL. */
    void (*destroy)(struct vm *vm, struct vm_dev *d);
};

/* One virtio device: its spec, its state, its slot in the machine
 * description and the virtio-mmio transport that serves it. */
struct vm_dev {
    const struct vm_dev_kind *kind;
    const char *spec; /* what the kind parses */
    const char *flag; /* what the user typed, for messages: --FLAG TEXT */
    const char *text;
    char *owned;        /* spec, when rebuilt from a --device line */
    uint64_t addr, len; /* explicit window (--device addr=, len=) or 0 */
    uint32_t gsi;       /* explicit GSI (--device irq=) or 0 */
    void *priv;
    const struct vdev_ops *ops;
    bool legacy;    /* virtio-mmio Version 1 register layout */
    int slot;       /* index into machine.virtio[], -1 until described */
    unsigned group; /* --port: which device of vm->ports */
    dev_t file_dev; /* the backing file's identity, if it has one */
    ino_t file_ino;
    struct vmmio *transport;
    struct irq_line irq;
};

struct options {
    const char *kernel, *initrd, *cmdline, *name, *kvm_dev;
    const char *dump_dtb, *dump_acpi;
    const char *api; /* --api PATH, or NULL: the default */
    bool no_api, name_given;
    uint64_t ram;
    uint32_t cpus;
    bool stats, no_acpi, no_dtb, no_cmdline_devs, cmdline_devs;
    const char *serial_spec, *console_spec; /* for messages */
    struct chardev_spec serial;             /* --serial BACKEND */
    struct vcons_opt console;               /* --console ... */
    struct sandbox_config seccomp;          /* --seccomp */
};

#define VM_CHARDEVS_MAX 64

struct vm {
    struct options opt;
    struct kvm_vm kvm;
    struct machine mach;
    struct bzimage bz;
    struct serial com1;
    struct irq_line com1_irq;
    struct sysports ports;
    struct ged ged; /* the power button (ACPI only) */
    struct irq_line ged_irq;
    struct rtc rtc;
    struct vm_dev devs[LAYOUT_VIRTIO_MAX]; /* in command-line order */
    unsigned ndevs;
    /* stdin/stdout, opened once if some frontend is on stdio, shared by
     * all of them (its backend thread also sees Ctrl-A x); of those, the
     * virtio console reads it if it is there, else the 8250. */
    struct chardev *con;
    struct chardev *cds[VM_CHARDEVS_MAX]; /* the other backends */
    struct vser_plan vports;              /* --port, grouped into devices */
    unsigned ncds;
    struct chardev *com1_cd, *vcons_cd; /* may be con */
    struct chardev_spec vcons_spec;     /* the virtio console's backend */
    struct vser *vcons;   /* the device whose port 0 is the virtio console */
    bool console_on_port; /* --console virtio with --port: port 0 of dev 0 */
    const uint8_t *kernel_img, *initrd_img;
    size_t kernel_len, initrd_len;
    char cmdline[LAYOUT_CMDLINE_MAX];
    int sig_fd;

    /* The control API (the "control API" section below). */
    struct api_server *api;
    char name[80]; /* --name, or kvmini-PID */
    struct gate gate;
    bool gate_ok;
    enum vm_state { VM_STARTING, VM_RUNNING, VM_PAUSED, VM_STOPPING } state;
    struct timespec t_start; /* CLOCK_MONOTONIC at creation */
    /* Why the VM stops, from the first vm_stop_cb (a string literal). */
    const char *_Atomic stop_why;
    uint64_t resets_seen[LAYOUT_VIRTIO_MAX];       /* NEEDS_RESET counts */
    bool peer_seen[VSER_DEVS_MAX][VSER_NAMED_MAX]; /* --port peers */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kvmini run -k KERNEL [options]\n"
            "       kvmini ls [--json]      the running VMs (name, state, "
            "pid, uptime)\n"
            "       kvmini ctl [--json] NAME COMMAND [ARGS-JSON]\n"
            "                               info, pause, resume, stop, "
            "reset, shutdown,\n"
            "                               stats or events (docs/api.md)"
            "\n"
            "  -k, --kernel FILE     Linux bzImage to boot (required)\n"
            "  -i, --initrd FILE     initial ramdisk\n"
            "  -p, --cmdline STRING  kernel command line\n"
            "  -m, --mem SIZE        guest RAM, K/M/G suffix, default 256M "
            "(no suffix: MiB)\n"
            "  -c, --cpus N          vCPUs, 1..KVM's maximum, default 1\n"
            "      --name NAME       VM name (letters, digits, . _ -); "
            "default kvmini-PID\n"
            "      --api PATH        control socket, default "
            "$XDG_RUNTIME_DIR/kvmini/NAME.sock\n"
            "                        (or /run/kvmini/NAME.sock); see "
            "docs/api.md\n"
            "      --no-api          no control socket\n"
            "      --disk PATH[,ro][,serial=ID][,queues=N][,direct=on|off]"
            "[,discard=on|off]\n"
            "                        a virtio-blk disk on a raw image or "
            "block device;\n"
            "                        repeatable: vda, vdb, ... in order\n"
            "      --net TAP | tap=NAME[,mac=MAC][,queues=N][,mtu=N]"
            "[,offload=on|off]\n"
            "                        a virtio-net NIC on a host tap (created "
            "and removed\n"
            "                        by kvmini if missing); repeatable: "
            "eth0, eth1, ...\n"
            "      --device blk|net|console[,addr=A][,len=L][,irq=N]"
            "[,transport=legacy][,KEY=V...]\n"
            "                        a device at an explicit window and "
            "IRQ; blk takes\n"
            "                        --disk's keys (img= for the image), net "
            "--net's\n"
            "      --console serial | virtio[,legacy][,BACKEND]\n"
            "                        the console: the 8250 (default) or a "
            "virtio console\n"
            "                        (legacy: virtio-mmio version 1) on "
            "BACKEND (default stdio)\n"
            "      --port name=NAME[,dev=N],BACKEND\n"
            "                        a named virtio-serial port (guest: "
            "/dev/vportNpM);\n"
            "                        repeatable: 31 per device, dev=0..7 "
            "picks the device\n"
            "      --serial BACKEND  the 8250 COM1's backend, default stdio\n"
            "                        BACKEND: stdio, pty, unix=PATH[,server"
            "[,wait]], file=PATH\n"
            "      --no-acpi         no ACPI tables (then virtio devices go "
            "on the cmdline)\n"
            "      --no-dtb          no SETUP_DTB device tree\n"
            "      --no-cmdline-devices  never add virtio_mmio.device= "
            "entries\n"
            "      --cmdline-devices add them even with ACPI\n"
            "      --dump-dtb FILE   write the device tree to FILE\n"
            "      --dump-acpi DIR   write the ACPI tables to DIR/*.dat\n"
            "      --stats           print exit and device counters at exit\n"
            "      --debug LIST      debug output: io,kvm,virtio,all\n"
            "      --kvm-device PATH KVM device, default /dev/kvm\n"
            "      --seccomp MODE    per-thread syscall filters: kill "
            "(default), log, off\n"
            "  -h, --help            this help\n"
            "      --version         print the version\n"
            "Console: the guest's COM1 on stdin/stdout; on a terminal, "
            "Ctrl-A x quits.\n"
            "Signals: SIGTERM, SIGINT stop the VM at once; SIGPWR presses "
            "its ACPI power\n"
            "button (the guest may shut down; kvmini waits for it).\n"
            "Exit status: the guest's (test-exit port 0x%x; 0 for reset or "
            "power-off), 1 bad input or setup error, 2 KVM could not run "
            "the guest, 3 triple fault, 128+N signal N (159: a thread made a "
            "syscall its filter forbids).\n",
            (unsigned)LAYOUT_EXIT_PORT);
}

static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 64)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

static int parse_debug(const char *s)
{
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", s);
    for (char *save, *t = strtok_r(buf, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        if (!strcmp(t, "virtio"))
            log_cats |= LOG_CAT_VIRTIO;
        else if (!strcmp(t, "io"))
            log_cats |= LOG_CAT_IO;
        else if (!strcmp(t, "kvm"))
            log_cats |= LOG_CAT_KVM;
        else if (!strcmp(t, "all"))
            log_cats = ~0u;
        else
            return -EINVAL;
    }
    return 0;
}

enum {
    OPT_NAME = 256,
    OPT_STATS,
    OPT_DEBUG,
    OPT_KVM_DEV,
    OPT_CONSOLE,
    OPT_SERIAL,
    OPT_NO_ACPI,
    OPT_NO_DTB,
    OPT_NO_CMDLINE_DEVS,
    OPT_CMDLINE_DEVS,
    OPT_DUMP_DTB,
    OPT_DUMP_ACPI,
    OPT_DISK,
    OPT_NET,
    OPT_DEVICE,
    OPT_PORT,
    OPT_API,
    OPT_NO_API,
    OPT_SECCOMP,
};

static const struct vm_dev_kind *vm_dev_kind_find(const char *flag);

/* Queue a device flag for vm_devices_create; the spec is parsed there. */
/* One line about a device, naming it as the user did. */
#define vm_dev_err(d, fmt, ...)                                                \
    log_err("--%s %s: " fmt, (d)->flag, (d)->text, ##__VA_ARGS__)

/* Queue a device flag for vm_devices_create; the spec is parsed there. */
static struct vm_dev *vm_dev_queue(struct vm *vm, const char *flag,
                                   const char *spec)
{
    if (vm->ndevs == LAYOUT_VIRTIO_MAX) {
        log_err("--%s %s: too many virtio devices; kvmini gives a VM at "
                "most %u",
                flag, spec, LAYOUT_VIRTIO_MAX);
        return NULL;
    }
    struct vm_dev *d = &vm->devs[vm->ndevs++];
    *d = (struct vm_dev){.kind = vm_dev_kind_find(flag),
                         .spec = spec,
                         .flag = flag,
                         .text = spec,
                         .slot = -1};
    return d;
}

/* The keys every --device line may carry, whatever the device. */
struct vm_dev_place {
    uint64_t addr, len;
    uint32_t irq;
    char transport[8];
};

static const struct kvopt_key vm_dev_place_keys[] = {
    {"addr", KVOPT_U64, offsetof(struct vm_dev_place, addr), 0, 1, 0},
    {"len", KVOPT_U64, offsetof(struct vm_dev_place, len), 0, 1, 0},
    {"irq", KVOPT_U32, offsetof(struct vm_dev_place, irq), 0, 0, 255},
    {"transport", KVOPT_STR, offsetof(struct vm_dev_place, transport), 8, 0, 0},
    {0},
};

/*
 * --device KIND,addr=A,len=L,irq=N,KEY=... (the form device daemons use):
 * blk (the keys of --disk; img= names the image), net (those of --net),
 * console. The shared keys go to the machine description; the rest is
 * the device's own spec.
 */
static int vm_device_queue(struct vm *vm, const char *text)
{
    static const struct {
        const char *name, *kind, *rename, *to;
    } kinds[] = {
        {"blk", "disk", "img=", "path="},
        {"net", "net", NULL, NULL},
        {"console", "console", NULL, NULL},
    };
    struct vm_dev_place pl = {0};
    char err[256];
    /* Room for "virtio," and for every 4-byte img= growing to path=. */
    size_t cap = 2 * strlen(text) + 16;
    char *rest = malloc(cap), *spec = malloc(cap);
    int r = rest && spec ? 0 : -ENOMEM;
    if (r == 0)
        r = kvopt_parse_some(text, vm_dev_place_keys, &pl, NULL, rest, cap, err,
                             sizeof(err));
    if (r == -ENOMEM)
        snprintf(err, sizeof(err), "out of memory");
    size_t klen = rest ? strcspn(rest, ",") : 0;
    unsigned k = 0;
    while (
        r == 0 && k < sizeof(kinds) / sizeof(kinds[0]) &&
        (strlen(kinds[k].name) != klen || strncmp(rest, kinds[k].name, klen)))
        k++;
    if (r == 0 && k == sizeof(kinds) / sizeof(kinds[0])) {
        snprintf(err, sizeof(err),
                 "the device kind comes first: blk, net "
                 "or console");
        r = -EINVAL;
    }
    if (r == 0 && pl.transport[0] && strcmp(pl.transport, "modern") &&
        strcmp(pl.transport, "legacy")) {
        snprintf(err, sizeof(err), "transport=%s: use modern or legacy",
                 pl.transport);
        r = -EINVAL;
    }
    if (r == 0 && pl.len && !pl.addr) {
        snprintf(err, sizeof(err), "len= needs addr=");
        r = -EINVAL;
    }
    if (r < 0) {
        log_err("--device %s: %s", text, err);
        free(rest);
        free(spec);
        return r;
    }
    /* The device's own spec: the items after the kind, with the kind's
     * alias renamed wherever the item stands (blk's img= is --disk's
     * path=). An item starts after a lone comma; ",," is a literal one. */
    const char *own = rest[klen] ? rest + klen + 1 : "";
    size_t o = 0;
    if (!strcmp(kinds[k].kind, "console"))
        o = (size_t)snprintf(spec, cap, "virtio%s", *own ? "," : "");
    bool start = true;
    for (const char *p = own; *p;) {
        if (start && kinds[k].rename &&
            !strncmp(p, kinds[k].rename, strlen(kinds[k].rename))) {
            o += (size_t)snprintf(spec + o, cap - o, "%s", kinds[k].to);
            p += strlen(kinds[k].rename);
            if (!*p)
                break; /* "img=" with no value: vblk_parse says so */
        }
        start = false;
        if (p[0] == ',' && p[1] == ',') { /* a literal comma */
            spec[o++] = *p++;
            spec[o++] = *p++;
            continue;
        }
        start = *p == ',';
        spec[o++] = *p++;
    }
    spec[o] = '\0';
    free(rest);
    struct vm_dev *d = vm_dev_queue(vm, kinds[k].kind, spec);
    if (!d) {
        free(spec);
        return -ENOSPC;
    }
    d->owned = spec;
    d->flag = "device";
    d->text = text;
    d->addr = pl.addr;
    d->len = pl.addr && !pl.len ? LAYOUT_VIRTIO_MMIO_SIZE : pl.len;
    d->gsi = pl.irq;
    d->legacy = !strcmp(pl.transport, "legacy");
    return 0;
}

static int vm_queue_serial(struct vm *vm);

/* --seccomp's value, from the option or from KVMINI_SECCOMP; `from`
 * prefixes the error line with where the value came from ("" for the
 * option, whose sentence already quotes it). */
static int seccomp_opt(struct sandbox_config *c, const char *spec,
                       const char *from)
{
    char err[200];
    if (sandbox_parse(spec, c, err, sizeof(err)) < 0) {
        log_err("%s%s", from, err);
        return -EINVAL;
    }
    return 0;
}

static int parse_options(int argc, char **argv, struct vm *vm)
{
    struct options *o = &vm->opt;
    static const struct option longs[] = {
        {"kernel", required_argument, NULL, 'k'},
        {"initrd", required_argument, NULL, 'i'},
        {"cmdline", required_argument, NULL, 'p'},
        {"mem", required_argument, NULL, 'm'},
        {"cpus", required_argument, NULL, 'c'},
        {"name", required_argument, NULL, OPT_NAME},
        {"stats", no_argument, NULL, OPT_STATS},
        {"debug", required_argument, NULL, OPT_DEBUG},
        {"kvm-device", required_argument, NULL, OPT_KVM_DEV},
        {"console", required_argument, NULL, OPT_CONSOLE},
        {"serial", required_argument, NULL, OPT_SERIAL},
        {"no-acpi", no_argument, NULL, OPT_NO_ACPI},
        {"no-dtb", no_argument, NULL, OPT_NO_DTB},
        {"no-cmdline-devices", no_argument, NULL, OPT_NO_CMDLINE_DEVS},
        {"cmdline-devices", no_argument, NULL, OPT_CMDLINE_DEVS},
        {"dump-dtb", required_argument, NULL, OPT_DUMP_DTB},
        {"dump-acpi", required_argument, NULL, OPT_DUMP_ACPI},
        {"disk", required_argument, NULL, OPT_DISK},
        {"net", required_argument, NULL, OPT_NET},
        {"device", required_argument, NULL, OPT_DEVICE},
        {"port", required_argument, NULL, OPT_PORT},
        {"api", required_argument, NULL, OPT_API},
        {"no-api", no_argument, NULL, OPT_NO_API},
        {"seccomp", required_argument, NULL, OPT_SECCOMP},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    *o = (struct options){.cmdline = "",
                          .ram = DEFAULT_RAM,
                          .cpus = 1,
                          .kvm_dev = "/dev/kvm",
                          .name = "kvmini"};
    /* For test sweeps: the whole integration suite under --seccomp log
     * (tests/seccomp-sweep.sh) without editing every test; an explicit
     * --seccomp still wins. Same syntax as the option. */
    const char *env = getenv("KVMINI_SECCOMP");
    if (env && *env &&
        seccomp_opt(&o->seccomp, env, "KVMINI_SECCOMP (environment): ") < 0)
        return -EINVAL;
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, ":k:i:p:m:c:h", longs, NULL)) != -1) {
        switch (c) {
        case 'k':
            o->kernel = optarg;
            break;
        case 'i':
            o->initrd = optarg;
            break;
        case 'p':
            o->cmdline = optarg;
            break;
        case 'm':
            if (kvopt_parse_size(optarg, 20, &o->ram) < 0) {
                log_err("-m %s: not a size; use e.g. 512M or 2G", optarg);
                return -EINVAL;
            }
            break;
        case 'c':
            if (kvopt_parse_u32(optarg, 1, 0xffff, &o->cpus) < 0) {
                log_err("-c %s: the number of vCPUs must be a whole number "
                        "of at least 1",
                        optarg);
                return -EINVAL;
            }
            break;
        case OPT_NAME:
            if (!name_ok(optarg)) {
                log_err("--name %s: use 1-64 letters, digits, '.', '_' or "
                        "'-'",
                        optarg);
                return -EINVAL;
            }
            o->name = optarg;
            o->name_given = true;
            break;
        case OPT_API:
            if (!*optarg) {
                log_err("--api: give a socket path, or --no-api");
                return -EINVAL;
            }
            o->api = optarg;
            break;
        case OPT_NO_API:
            o->no_api = true;
            break;
        case OPT_STATS:
            o->stats = true;
            break;
        case OPT_DEBUG:
            if (parse_debug(optarg) < 0) {
                log_err("--debug %s: unknown category; use io, kvm, "
                        "virtio or all",
                        optarg);
                return -EINVAL;
            }
            break;
        case OPT_KVM_DEV:
            o->kvm_dev = optarg;
            break;
        case OPT_CONSOLE: /* the last one counts */
        case OPT_SERIAL: {
            char err[CHARDEV_PATH_MAX + 160];
            int r =
                c == OPT_CONSOLE
                    ? vcons_opt_parse(optarg, &o->console, err, sizeof(err))
                    : chardev_spec_parse(optarg, &o->serial, err, sizeof(err));
            if (r < 0) {
                log_err("--%s %s: %s", c == OPT_CONSOLE ? "console" : "serial",
                        optarg, err);
                return r;
            }
            if (c == OPT_CONSOLE)
                o->console_spec = optarg;
            else
                o->serial_spec = optarg;
            break;
        }
        case OPT_NO_ACPI:
            o->no_acpi = true;
            break;
        case OPT_NO_DTB:
            o->no_dtb = true;
            break;
        case OPT_NO_CMDLINE_DEVS:
            o->no_cmdline_devs = true;
            break;
        case OPT_CMDLINE_DEVS:
            o->cmdline_devs = true;
            break;
        case OPT_DUMP_DTB:
            o->dump_dtb = optarg;
            break;
        case OPT_DUMP_ACPI:
            o->dump_acpi = optarg;
            break;
        case OPT_DISK:
        case OPT_NET:
            if (!vm_dev_queue(vm, c == OPT_DISK ? "disk" : "net", optarg))
                return -ENOSPC;
            break;
        case OPT_PORT: {
            char err[CHARDEV_PATH_MAX + 400];
            if (vser_plan_add(&vm->vports, optarg, err, sizeof(err)) < 0) {
                log_err("--port %s: %s", optarg, err);
                return -EINVAL;
            }
            break;
        }
        case OPT_SECCOMP:
            if (seccomp_opt(&o->seccomp, optarg, "") < 0)
                return -EINVAL;
            break;
        case OPT_DEVICE:
            if (vm_device_queue(vm, optarg) < 0)
                return -EINVAL;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            log_err("option %s needs a value; see kvmini run --help",
                    argv[optind - 1]);
            return -EINVAL;
        default:
            log_err("unknown option '%s'; see kvmini run --help",
                    argv[optind - 1]);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        log_err("unexpected argument '%s'; see kvmini run --help",
                argv[optind]);
        return -EINVAL;
    }
    if (o->api && o->no_api) {
        log_err("--api and --no-api contradict each other; choose one");
        return -EINVAL;
    }
    if (o->cmdline_devs && o->no_cmdline_devs) {
        log_err("--cmdline-devices and --no-cmdline-devices contradict "
                "each other; choose one");
        return -EINVAL;
    }
    if (!o->kernel) {
        log_err("no kernel given; use -k bzImage (see kvmini run --help)");
        return -EINVAL;
    }
    return vm_queue_serial(vm);
}

/* One virtio-serial device per group of --port, after the others. The
 * virtio console takes the first slot, wherever its flag was, so its
 * address does not move when devices are added: its own device, or
 * with --port port 0 of the first port device (CONSOLE_PORT). */
static int vm_queue_serial(struct vm *vm)
{
    const struct options *o = &vm->opt;
    bool any_port = false;
    for (unsigned g = 0; g < VSER_DEVS_MAX; g++)
        any_port |= vm->vports.dev[g].n > 0;
    vm->console_on_port = o->console.virtio && any_port;
    unsigned first = vm->ndevs;
    for (unsigned g = 0; g < VSER_DEVS_MAX; g++) {
        struct vm_dev *d;
        if (!vm->vports.dev[g].n && !(g == 0 && vm->console_on_port))
            continue;
        d = vm_dev_queue(vm, "port",
                         vm->vports.dev[g].n ? vm->vports.dev[g].text[0]
                                             : o->console_spec);
        if (!d)
            return -ENOSPC;
        d->group = g;
    }
    if (o->console.virtio && !vm->console_on_port) {
        if (!vm_dev_queue(vm, "console", o->console_spec))
            return -ENOSPC;
        first = vm->ndevs - 1;
    }
    if (o->console.virtio) {
        struct vm_dev cons = vm->devs[first];
        memmove(&vm->devs[1], &vm->devs[0], first * sizeof(vm->devs[0]));
        vm->devs[0] = cons;
    }
    return 0;
}

static int check_ram_size(uint64_t ram)
{
    if (ram < E820_MIN_RAM) {
        log_err("-m: %llu KiB of RAM is too little; kvmini needs at least "
                "%lluM",
                (unsigned long long)(ram >> 10),
                (unsigned long long)(E820_MIN_RAM >> 20));
        return -EINVAL;
    }
    struct sysinfo si;
    if (sysinfo(&si) == 0) {
        uint64_t host = (uint64_t)si.totalram * si.mem_unit;
        if (ram > host) {
            log_err("-m: %lluM is more than this host's %lluM of RAM; "
                    "choose a smaller size",
                    (unsigned long long)(ram >> 20),
                    (unsigned long long)(host >> 20));
            return -EINVAL;
        }
    }
    return 0;
}

static int load_file(const char *what, const char *path, uint64_t max,
                     const uint8_t **buf, size_t *len)
{
    int r = file_map(path, max, buf, len);
    if (r == -EFBIG)
        log_err("%s %s: larger than guest RAM; raise -m", what, path);
    else if (r < 0)
        log_err("%s %s: %s", what, path, strerror(-r));
    return r;
}

static void vm_stop_cb(void *ctx, int status, const char *why)
{
    struct vm *vm = ctx;
    if (why)
        log_info("%s", why);
    const char *none = NULL; /* the first reason stays, like the status */
    atomic_compare_exchange_strong(&vm->stop_why, &none,
                                   why ? why : "the guest's exit port");
    kvm_request_stop(&vm->kvm, status);
}

static int signals_setup(struct vm *vm)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
    sigaddset(&set, SIGWINCH);
    sigaddset(&set, SIGPWR);  /* presses the power button */
    sigaddset(&set, SIGUSR1); /* vCPU kick: only vCPU threads take it */
    if (pthread_sigmask(SIG_BLOCK, &set, NULL))
        return -EINVAL;
    signal(SIGPIPE, SIG_IGN);
    sigdelset(&set, SIGUSR1);
    vm->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (vm->sig_fd < 0)
        return -errno;
    return vcpu_signals_init();
}

/* Decide which devices exist and the final kernel command line. */
/* Give every device its window and pin before any backend is opened, so
 * a bad address fails with nothing created. */
static int vm_place_devices(struct vm *vm)
{
    struct machine *m = &vm->mach;
    const struct options *o = &vm->opt;
    int r = machine_init(m, o->cpus);
    if (r < 0) {
        log_err("-c %u: kvmini describes at most %u vCPUs", o->cpus,
                MACHINE_CPUS_MAX);
        return r;
    }
    m->serial = true;
    /* Before placement: the button's pin is then no device's. */
    m->power_button = !o->no_acpi;
    /* Explicit windows and pins are checked, the rest go in free slots;
     * slot i is devs[i], in flag order (vda, vdb, ... follow it). */
    struct machine_virtio_req req[LAYOUT_VIRTIO_MAX];
    for (unsigned i = 0; i < vm->ndevs; i++)
        req[i] = (struct machine_virtio_req){.device_id =
                                                 vm->devs[i].kind->device_id,
                                             .base = vm->devs[i].addr,
                                             .size = vm->devs[i].len,
                                             .gsi = vm->devs[i].gsi};
    char err[256];
    unsigned bad[2];
    r = machine_place_virtio(m, req, vm->ndevs, bad, err, sizeof(err));
    if (r == -EADDRINUSE || r == -EBUSY) {
        vm_dev_err(&vm->devs[bad[0]], "%s --%s %s", err, vm->devs[bad[1]].flag,
                   vm->devs[bad[1]].text);
        return r;
    }
    if (r < 0) {
        vm_dev_err(&vm->devs[bad[0]], "%s", err);
        return r;
    }
    for (unsigned i = 0; i < vm->ndevs; i++)
        vm->devs[i].slot = (int)i;
    return 0;
}

/* The final kernel command line, once the devices have their places. */
static int vm_describe(struct vm *vm)
{
    struct machine *m = &vm->mach;
    const struct options *o = &vm->opt;
    int r;
    /* One source per device (docs/machine.md): ACPI kernels get no
     * command-line entries unless asked for. */
    bool entries = o->cmdline_devs || (o->no_acpi && !o->no_cmdline_devs);
    size_t cap = (size_t)vm->bz.cmdline_size + 1;
    if (cap > sizeof(vm->cmdline))
        cap = sizeof(vm->cmdline);
    m->cmdline = o->cmdline;
    if (entries && m->nvirtio) {
        r = cmdline_devs_render(m, vm->cmdline, cap);
        if (r < 0) {
            log_err("kernel command line too long for this kernel (%u "
                    "bytes) once the virtio_mmio.device= entries are "
                    "added; shorten -p or use --no-cmdline-devices",
                    vm->bz.cmdline_size);
            return r;
        }
    } else {
        snprintf(vm->cmdline, sizeof(vm->cmdline), "%s", o->cmdline);
    }
    m->cmdline = vm->cmdline;
    return 0;
}

static int vm_dump_tables(struct vm *vm)
{
    int r;
    if (vm->opt.dump_dtb) {
        r = fdt_machine_dump(&vm->mach, vm->opt.dump_dtb);
        if (r < 0) {
            log_err("--dump-dtb %s: %s", vm->opt.dump_dtb, strerror(-r));
            return r;
        }
    }
    if (vm->opt.dump_acpi) {
        r = acpi_dump(&vm->mach, vm->opt.dump_acpi);
        if (r < 0) {
            log_err("--dump-acpi %s: %s (the directory must exist)",
                    vm->opt.dump_acpi, strerror(-r));
            return r;
        }
    }
    return 0;
}

/* Give a created device its transport: the window and interrupt of the
 * slot vm_describe gave it, and an ioeventfd per queue so QueueNotify
 * wakes its worker inside KVM, with no exit. */
static int vm_dev_attach(struct vm *vm, struct vm_dev *d)
{
    struct kvm_vm *k = &vm->kvm;
    /* The description and the transport must name the same device, or
     * the guest would bind the wrong driver to this window. */
    if (d->slot < 0 || (unsigned)d->slot >= vm->mach.nvirtio ||
        vm->mach.virtio[d->slot].device_id != d->ops->device_id) {
        vm_dev_err(d, "internal error: its slot describes another device");
        return -EINVAL;
    }
    const struct machine_virtio *mv = &vm->mach.virtio[d->slot];
    kvm_irq_line_init(k, &d->irq, mv->gsi);
    int r = vmmio_create(&d->transport, d->ops, d->priv, &k->mem, &d->irq,
                         d->legacy);
    if (r == 0 && vm->gate_ok)
        vmmio_set_gate(d->transport, &vm->gate); /* workers park on pause */
    if (r == 0)
        r = io_bus_add(&k->mmio, mv->base, mv->size, vmmio_access,
                       d->transport);
    for (unsigned q = 0; r == 0 && q < vmmio_nqueues(d->transport); q++)
        r = kvm_ioeventfd(k, mv->base + VMMIO_QUEUE_NOTIFY, q,
                          vmmio_kick_fd(d->transport, q), true);
    if (r < 0)
        vm_dev_err(d, "cannot attach the device: %s", strerror(-r));
    return r;
}

static int vm_chardev_open(struct vm *vm, const struct chardev_spec *s,
                           const char *label, struct chardev **out);

/* --console virtio[,legacy][,BACKEND]: a virtio console on BACKEND. */
static int vm_console_create(struct vm *vm, struct vm_dev *d)
{
    if (vm->vcons) {
        vm_dev_err(d, "a second virtio console; kvmini has one (named "
                      "ports come with --port)");
        return -EINVAL;
    }
    /* --console's spec, or --device console's items as "virtio,...". */
    struct vcons_opt o;
    char err[CHARDEV_PATH_MAX + 160];
    int r = vcons_opt_parse(d->spec, &o, err, sizeof(err));
    if (r == 0 && !o.virtio)
        r = errbuf_set(err, sizeof(err), -EINVAL, "not a virtio console");
    if (r < 0) {
        vm_dev_err(d, "%s", err);
        return r;
    }
    vm->vcons_spec = o.backend;
    r = vm_chardev_open(vm, &o.backend, "console", &vm->vcons_cd);
    if (r < 0)
        return r;
    r = vser_create_console(&vm->vcons, vm->vcons_cd, 0, 0);
    if (r < 0) {
        vm_dev_err(d, "%s",
                   r == -EBUSY ? "another frontend already takes this "
                                 "backend's input; give the console its own"
                               : strerror(-r));
        return r;
    }
    d->priv = vm->vcons;
    d->ops = vser_ops(vm->vcons);
    d->legacy |= o.legacy;
    return 0;
}

static void vm_console_destroy(struct vm *vm, struct vm_dev *d)
{
    if (d->priv == vm->vcons)
        vm->vcons = NULL;
    vser_destroy(d->priv); /* NULL is fine */
}

/* --console virtio[,legacy][,BACKEND] with --port: the console is port 0
 * of the first port device, announced to the driver as CONSOLE_PORT. */
static int vm_ports_console(struct vm *vm, struct vm_dev *d, struct vser *s)
{
    if (vm->vcons) {
        vm_dev_err(d, "a second virtio console; kvmini has one (named "
                      "ports come with --port)");
        return -EINVAL;
    }
    vm->vcons_spec = vm->opt.console.backend;
    int r = vm_chardev_open(vm, &vm->vcons_spec, "console", &vm->vcons_cd);
    if (r < 0)
        return r;
    r = vser_add_port(s, 0, NULL, vm->vcons_cd, true);
    if (r < 0) {
        log_err("--console %s: %s", vm->opt.console_spec,
                r == -EBUSY ? "another frontend already takes this "
                              "backend's input; give the console its own"
                            : strerror(-r));
        return r;
    }
    vm->vcons = s;
    d->legacy |= vm->opt.console.legacy;
    return 0;
}

/* --port name=NAME[,dev=N],BACKEND: one virtio-serial device for the
 * ports of group d->group (virtio/serial_opt.h), ids 1.. in flag order. */
static int vm_ports_create(struct vm *vm, struct vm_dev *d)
{
    struct vser_plan_dev *g = &vm->vports.dev[d->group];
    struct vser *s;
    int r = vser_create(&s, g->n + 1);
    if (r < 0) {
        vm_dev_err(d, "%s", strerror(-r));
        return r;
    }
    d->priv = s;
    d->ops = vser_ops(s);
    if (d->group == 0 && vm->console_on_port &&
        (r = vm_ports_console(vm, d, s)) < 0)
        return r;
    for (unsigned i = 0; i < g->n; i++) {
        char label[VSER_NAME_MAX + 8];
        struct chardev *cd;
        snprintf(label, sizeof(label), "port %s", g->port[i].name);
        r = vm_chardev_open(vm, &g->port[i].backend, label, &cd);
        if (r < 0)
            return r; /* reported */
        g->cd[i] = cd;
        r = vser_add_port(s, i + 1, g->port[i].name, cd, false);
        if (r < 0) {
            log_err("--port %s: %s", g->text[i],
                    r == -EBUSY ? "another frontend already takes this "
                                  "backend's input; give the port its own"
                                : strerror(-r));
            return r;
        }
    }
    return 0;
}

static void vm_ports_destroy(struct vm *vm, struct vm_dev *d)
{
    if (d->priv == vm->vcons)
        vm->vcons = NULL;
    vser_destroy(d->priv); /* NULL is fine */
}

/* --disk PATH[,ro][,serial=ID][,queues=N][,direct=on|off][,discard=..] */
static int vm_disk_create(struct vm *vm, struct vm_dev *d)
{
    struct vblk_config cfg;
    struct vblk *b;
    struct stat st;
    char err[PATH_MAX + 128];
    int r = vblk_parse(d->spec, &cfg, err, sizeof(err));
    if (r < 0) {
        vm_dev_err(d, "%s", err);
        return r;
    }
    /* One image behind two disks would be two caches of one disk: catch
     * it by identity, whatever path names it (the image lock would only
     * say "in use"). */
    if (stat(cfg.path, &st) == 0) {
        for (struct vm_dev *o = vm->devs; o < d; o++)
            if (o->kind == d->kind && o->file_dev == st.st_dev &&
                o->file_ino == st.st_ino) {
                vm_dev_err(d,
                           "the same image as --%s %s; give each image "
                           "once",
                           o->flag, o->text);
                return -EINVAL;
            }
        d->file_dev = st.st_dev;
        d->file_ino = st.st_ino;
    }
    r = vblk_create(&b, &cfg, vm->opt.cpus, err, sizeof(err));
    if (r < 0) {
        vm_dev_err(d, "%s", err);
        return r;
    }
    d->priv = b;
    d->ops = vblk_ops(b);
    return 0;
}

static void vm_disk_destroy(struct vm *vm, struct vm_dev *d)
{
    (void)vm;
    vblk_destroy(d->priv); /* NULL is fine */
}

/* --net tap0 or --net tap=NAME[,mac=MAC][,queues=N][,mtu=N] */
static int vm_nic_create(struct vm *vm, struct vm_dev *d)
{
    struct vnet_config cfg;
    struct vnet *n;
    char err[256];
    unsigned index = 0; /* ethN: the NIC's place among the NICs */
    for (struct vm_dev *o = vm->devs; o < d; o++)
        index += o->kind == d->kind;
    int r = vnet_parse(d->spec, &cfg, err, sizeof(err));
    for (struct vm_dev *o = vm->devs; r == 0 && o < d; o++)
        if (o->kind == d->kind && o->priv &&
            !strcmp(vnet_tap(o->priv)->name, cfg.tap)) {
            snprintf(err, sizeof(err), "tap %s is already used by --%s %s",
                     cfg.tap, o->flag, o->text);
            r = -EINVAL;
        }
    if (r == 0)
        r = vnet_create(&n, &cfg, vm->opt.name, index, err, sizeof(err));
    if (r < 0) {
        vm_dev_err(d, "%s", err);
        return r;
    }
    d->priv = n;
    d->ops = vnet_ops(n);
    return 0;
}

static void vm_nic_destroy(struct vm *vm, struct vm_dev *d)
{
    (void)vm;
    vnet_destroy(d->priv); /* NULL is fine; removes a tap it created */
}

static const struct vm_dev_kind vm_dev_kinds[] = {
    {"console", VIRTIO_ID_CONSOLE, vm_console_create, vm_console_destroy},
    {"disk", VIRTIO_ID_BLOCK, vm_disk_create, vm_disk_destroy},
    {"net", VIRTIO_ID_NET, vm_nic_create, vm_nic_destroy},
    {"port", VIRTIO_ID_CONSOLE, vm_ports_create, vm_ports_destroy},
    {0},
};

static const struct vm_dev_kind *vm_dev_kind_find(const char *flag)
{
    for (const struct vm_dev_kind *k = vm_dev_kinds; k->flag; k++)
        if (!strcmp(k->flag, flag))
            return k;
    return NULL;
}

/* The backend thread saw Ctrl-A x. */
static void vm_quit_cb(void *ctx)
{
    vm_stop_cb(ctx, KVMINI_EXIT_OK, "Ctrl-A x: stopping the VM");
}

/* Open a frontend's character backend: stdio is opened once and
 * shared (vm->con), every other backend is the frontend's own. Reports
 * its error. */
static int vm_chardev_open(struct vm *vm, const struct chardev_spec *s,
                           const char *label, struct chardev **out)
{
    struct chardev_stdio_config con = {.in_fd = STDIN_FILENO,
                                       .out_fd = STDOUT_FILENO,
                                       .raw = true,
                                       .quit = vm_quit_cb,
                                       .quit_ctx = vm};
    char err[CHARDEV_PATH_MAX + 160];
    if (s->kind == CHARDEV_STDIO && vm->con) {
        *out = vm->con;
        return 0;
    }
    if (s->kind != CHARDEV_STDIO && vm->ncds == VM_CHARDEVS_MAX) {
        log_err("%s: too many character backends (at most %u)", label,
                VM_CHARDEVS_MAX);
        return -ENOSPC;
    }
    int r = chardev_open_spec(out, s, label, &con, err, sizeof(err));
    if (r < 0) {
        log_err("%s", err);
        return r;
    }
    if (s->kind == CHARDEV_STDIO)
        vm->con = *out;
    else
        vm->cds[vm->ncds++] = *out;
    return 0;
}

/* Parse every device's spec and open its backends, in flag order; first
 * the 8250's. */
static int vm_devices_create(struct vm *vm)
{
    int r = vm_chardev_open(vm, &vm->opt.serial, "serial", &vm->com1_cd);
    if (r < 0)
        return r;
    for (unsigned i = 0; i < vm->ndevs; i++) {
        struct vm_dev *d = &vm->devs[i];
        r = d->kind->create(vm, d);
        if (r < 0)
            return r;
    }
    return 0;
}

static int vm_setup_devices(struct vm *vm)
{
    struct kvm_vm *k = &vm->kvm;
    kvm_irq_line_init(k, &vm->com1_irq, LAYOUT_COM1_GSI);
    /* On stdio with --console virtio, the 8250's output stays on stdout,
     * so early boot messages are seen; input goes to the virtio console. */
    bool input = !(vm->vcons && vm->vcons_cd == vm->com1_cd);
    int r = serial_init(&vm->com1, vm->com1_cd, input, &vm->com1_irq);
    if (r == 0)
        r = io_bus_add(&k->pio, LAYOUT_COM1_PORT, 8, serial_io, &vm->com1);
    vm->ports = (struct sysports){.stop = vm_stop_cb, .ctx = vm};
    struct sysports_config pc = {
        .exit_port = LAYOUT_EXIT_PORT,
        .sleep_port = vm->opt.no_acpi ? 0 : LAYOUT_ACPI_SLEEP_PORT,
        .sleep_status_port = LAYOUT_ACPI_SLEEP_STATUS_PORT,
        .sleep_s5 = ACPI_SLEEP_S5,
        .sleep_mask = ACPI_SLP_EN | ACPI_SLP_TYP_MASK,
    };
    if (r == 0)
        r = sysports_register(&vm->ports, &k->pio, &pc);
    if (r == 0)
        r = io_bus_add(&k->pio, RTC_PORT, RTC_NPORTS, rtc_io, &vm->rtc);
    if (r == 0 && vm->mach.power_button) {
        kvm_irq_line_init(k, &vm->ged_irq, LAYOUT_GED_GSI);
        ged_init(&vm->ged, &vm->ged_irq);
        r = io_bus_add(&k->pio, LAYOUT_GED_PORT, 1, ged_io, &vm->ged);
    }
    if (r < 0) {
        log_err("device setup failed: %s", strerror(-r));
        return r;
    }
    for (unsigned i = 0; i < vm->ndevs && r == 0; i++)
        r = vm_dev_attach(vm, &vm->devs[i]);
    return r;
}

static int vm_load_guest(struct vm *vm)
{
    const char *why = NULL;
    struct boot_config cfg = {
        .initrd = vm->initrd_img,
        .initrd_len = vm->initrd_len,
        .cmdline = vm->cmdline,
        .ram_size = vm->opt.ram,
    };
    struct boot_info bi;
    int r = boot_load(&vm->kvm.mem, &vm->bz, &cfg, &bi, &why);
    if (r < 0) {
        log_err("cannot boot %s: %s", vm->opt.kernel, why);
        return r;
    }
    struct tables_config tc = {.acpi = !vm->opt.no_acpi,
                               .dtb = !vm->opt.no_dtb};
    r = tables_describe(&vm->mach, &bi, vm->initrd_len);
    if (r == 0)
        r = tables_install(&vm->kvm.mem, &vm->mach, &bi, &tc);
    if (r < 0) {
        log_err("cannot describe the machine to the guest: %s", strerror(-r));
        return r;
    }
    r = vm_dump_tables(vm); /* reports its own errors */
    if (r < 0)
        return r;
    struct kvm_vm *k = &vm->kvm;
    for (unsigned i = 0; i < vm->opt.cpus; i++) {
        r = vcpu_create(k, i, &k->vcpus[i]);
        if (r < 0)
            return r;
        k->nvcpus = i + 1;
        r = cpu_setup(k, k->vcpus[i], vm->opt.cpus);
        if (r < 0)
            return r;
    }
    return cpu_setup_boot(k, k->vcpus[0], bi.entry, bi.zero_page);
}

/*
 * Press the guest's ACPI power button (SIGPWR; the control socket's
 * "shutdown"): a request the guest may honour by powering off, which
 * then ends kvmini with status 0. Nothing else follows: a guest that
 * ignores it keeps running until it is stopped. Main thread (any thread
 * is safe). 0, or -ENODEV when the VM has no button (--no-acpi).
 */
static int vm_power_button(struct vm *vm)
{
    if (!vm->mach.power_button) {
        log_warn("power button: this VM has none (--no-acpi); SIGTERM "
                 "stops it");
        return -ENODEV;
    }
    int r = ged_press_power(&vm->ged);
    if (r < 0)
        log_err("power button: %s", strerror(-r));
    else
        log_info("power button pressed: waiting for the guest to power "
                 "off");
    return r;
}

static void vm_handle_signal(struct vm *vm)
{
    struct signalfd_siginfo si;
    if (read(vm->sig_fd, &si, sizeof(si)) != sizeof(si))
        return;
    if (si.ssi_signo == SIGWINCH) {
        if (vm->vcons)
            vser_update_size(vm->vcons);
        return;
    }
    if (si.ssi_signo == SIGPWR) {
        vm_power_button(vm);
        return;
    }
    log_info("signal %u: stopping the VM", si.ssi_signo);
    kvm_request_stop(&vm->kvm, 128 + (int)si.ssi_signo);
}

/* A server backend with "wait" gets its first client; a signal still
 * stops kvmini meanwhile. 0 or -EINTR. */
static int vm_wait_client(struct vm *vm, const struct chardev_spec *s,
                          struct chardev *cd, const char *label)
{
    if (!cd || !s->wait || chardev_connected(cd))
        return 0;
    log_err("%s: waiting for a client on %s before starting the guest", label,
            s->path);
    while (chardev_wait_peer(cd, vm->sig_fd) < 0) {
        vm_handle_signal(vm);
        if (kvm_stopping(&vm->kvm))
            return -EINTR;
    }
    return 0;
}

/* Before the guest runs: every server backend with "wait". */
static int vm_wait_clients(struct vm *vm)
{
    int r = vm_wait_client(vm, &vm->opt.serial, vm->com1_cd, "serial");
    if (r == 0)
        r = vm_wait_client(vm, &vm->vcons_spec, vm->vcons_cd, "console");
    for (unsigned g = 0; g < VSER_DEVS_MAX && r == 0; g++)
        for (unsigned i = 0; i < vm->vports.dev[g].n && r == 0; i++)
            r = vm_wait_client(vm, &vm->vports.dev[g].port[i].backend,
                               vm->vports.dev[g].cd[i],
                               vm->vports.dev[g].port[i].name);
    return r;
}

/* ---- control API (docs/api.md) ---------------------------------------
 * Served from the main loop: no thread of its own. Requests that change
 * the VM run here, on the thread that owns the vCPUs. */

#define VM_PAUSE_TIMEOUT_MS 5000 /* vCPUs and workers to come to rest */
#define VM_WATCH_MS 250          /* NEEDS_RESET and port peers, polled */

static const char *const vm_state_names[] = {
    [VM_STARTING] = "starting",
    [VM_RUNNING] = "running",
    [VM_PAUSED] = "paused",
    [VM_STOPPING] = "stopping",
};

static void vm_event(struct vm *vm, const char *name, struct json_object *d)
{
    if (vm->api)
        api_server_event(vm->api, name, d);
    else
        json_object_put(d);
}

static void vm_set_state(struct vm *vm, enum vm_state s, const char *why)
{
    vm->state = s;
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "state",
                           json_object_new_string(vm_state_names[s]));
    if (why)
        json_object_object_add(d, "reason", json_object_new_string(why));
    vm_event(vm, "state", d);
}

/* Every vCPU out of KVM_RUN and held, then every worker parked once its
 * in-flight requests are done. */
static int vm_pause(struct vm *vm)
{
    int r = kvm_pause(&vm->kvm, VM_PAUSE_TIMEOUT_MS);
    if (r == 0 && vm->gate_ok) {
        r = gate_close(&vm->gate, VM_PAUSE_TIMEOUT_MS);
        if (r < 0)
            kvm_resume(&vm->kvm);
    }
    if (r == 0)
        vm_set_state(vm, VM_PAUSED, "pause command");
    return r;
}

static void vm_resume(struct vm *vm)
{
    if (vm->gate_ok)
        gate_open(&vm->gate);
    kvm_resume(&vm->kvm);
    vm_set_state(vm, VM_RUNNING, "resume command");
}

static const char *vm_chardev_desc(const struct chardev_spec *s,
                                   struct chardev *cd, char *buf, size_t len)
{
    static const char *const kinds[] = {
        [CHARDEV_STDIO] = "stdio",
        [CHARDEV_PTY] = "pty",
        [CHARDEV_UNIX_SERVER] = "unix-server",
        [CHARDEV_UNIX_CLIENT] = "unix",
        [CHARDEV_FILE] = "file",
    };
    const char *path = cd ? chardev_path(cd) : NULL;
    snprintf(buf, len, "%s%s%s", kinds[s->kind], path ? ":" : "",
             path ? path : "");
    return buf;
}

static char *vm_hex(char *buf, size_t len, uint64_t v)
{
    snprintf(buf, len, "0x%llx", (unsigned long long)v);
    return buf;
}

/* What backs device d, as "kind:where". */
static void vm_dev_backend(struct vm *vm, struct vm_dev *d,
                           struct json_object *o)
{
    char buf[CHARDEV_PATH_MAX + 32];
    if (!strcmp(d->kind->flag, "disk")) {
        struct vblk_config cfg;
        char path[PATH_MAX + 8];
        if (vblk_parse(d->spec, &cfg, buf, sizeof(buf)) == 0) {
            snprintf(path, sizeof(path), "file:%s", cfg.path);
            json_object_object_add(o, "backend", json_object_new_string(path));
        }
    } else if (!strcmp(d->kind->flag, "net") && d->priv) {
        snprintf(buf, sizeof(buf), "tap:%s", vnet_tap(d->priv)->name);
        json_object_object_add(o, "backend", json_object_new_string(buf));
    } else if (!strcmp(d->kind->flag, "console")) {
        json_object_object_add(
            o, "backend",
            json_object_new_string(vm_chardev_desc(
                &vm->vcons_spec, vm->vcons_cd, buf, sizeof(buf))));
    } else if (!strcmp(d->kind->flag, "port")) {
        struct vser_plan_dev *g = &vm->vports.dev[d->group];
        struct json_object *ports = json_object_new_array();
        for (unsigned i = 0; i < g->n; i++) {
            struct json_object *p = json_object_new_object();
            json_object_object_add(p, "name",
                                   json_object_new_string(g->port[i].name));
            json_object_object_add(p, "id", json_object_new_int((int)i + 1));
            json_object_object_add(
                p, "backend",
                json_object_new_string(vm_chardev_desc(
                    &g->port[i].backend, g->cd[i], buf, sizeof(buf))));
            json_object_object_add(
                p, "connected",
                json_object_new_boolean(g->cd[i] &&
                                        chardev_connected(g->cd[i])));
            json_object_array_add(ports, p);
        }
        json_object_object_add(o, "ports", ports);
    }
}

static struct json_object *vm_api_device(struct vm *vm, unsigned i)
{
    struct vm_dev *d = &vm->devs[i];
    const struct machine_virtio *mv = &vm->mach.virtio[d->slot];
    struct json_object *o = json_object_new_object();
    char h[24];
    json_object_object_add(o, "index", json_object_new_int((int)i));
    json_object_object_add(o, "kind", json_object_new_string(d->kind->flag));
    json_object_object_add(o, "type", json_object_new_string(d->ops->name));
    json_object_object_add(o, "device_id",
                           json_object_new_int((int)mv->device_id));
    json_object_object_add(
        o, "transport",
        json_object_new_string(d->legacy ? "virtio-mmio-v1" : "virtio-mmio"));
    json_object_object_add(
        o, "addr", json_object_new_string(vm_hex(h, sizeof(h), mv->base)));
    json_object_object_add(o, "size", json_object_new_uint64(mv->size));
    json_object_object_add(o, "irq", json_object_new_int((int)mv->gsi));
    json_object_object_add(o, "spec", json_object_new_string(d->text));
    vm_dev_backend(vm, d, o);
    if (d->transport) {
        uint32_t st = vmmio_status(d->transport);
        json_object_object_add(
            o, "features",
            json_object_new_string(
                vm_hex(h, sizeof(h), vmmio_features(d->transport))));
        json_object_object_add(o, "features_acked",
                               json_object_new_string(vm_hex(
                                   h, sizeof(h), vmmio_acked(d->transport))));
        json_object_object_add(o, "status", json_object_new_int((int)st));
        json_object_object_add(
            o, "driver_ok",
            json_object_new_boolean(st & VIRTIO_STATUS_DRIVER_OK));
        json_object_object_add(
            o, "needs_reset",
            json_object_new_boolean(st & VIRTIO_STATUS_NEEDS_RESET));
    }
    return o;
}

static double vm_uptime(const struct vm *vm)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - vm->t_start.tv_sec) +
           (double)(now.tv_nsec - vm->t_start.tv_nsec) / 1e9;
}

static struct json_object *vm_api_info(struct vm *vm)
{
    struct json_object *o = json_object_new_object();
    char buf[CHARDEV_PATH_MAX + 32];
    json_object_object_add(o, "name", json_object_new_string(vm->name));
    json_object_object_add(o, "state",
                           json_object_new_string(vm_state_names[vm->state]));
    json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
    json_object_object_add(o, "uptime_s",
                           json_object_new_int64((int64_t)vm_uptime(vm)));
    json_object_object_add(o, "protocol",
                           json_object_new_int(API_PROTO_VERSION));
    json_object_object_add(o, "version",
                           json_object_new_string(KVMINI_VERSION));
    json_object_object_add(o, "vcpus", json_object_new_int((int)vm->opt.cpus));
    json_object_object_add(o, "memory", json_object_new_uint64(vm->opt.ram));
    json_object_object_add(o, "kernel", json_object_new_string(vm->opt.kernel));
    json_object_object_add(o, "cmdline", json_object_new_string(vm->cmdline));
    json_object_object_add(o, "acpi",
                           json_object_new_boolean(!vm->opt.no_acpi));
    struct json_object *ser = json_object_new_object();
    json_object_object_add(
        ser, "port",
        json_object_new_string(vm_hex(buf, sizeof(buf), LAYOUT_COM1_PORT)));
    json_object_object_add(ser, "irq", json_object_new_int(LAYOUT_COM1_GSI));
    json_object_object_add(
        ser, "backend",
        json_object_new_string(
            vm_chardev_desc(&vm->opt.serial, vm->com1_cd, buf, sizeof(buf))));
    json_object_object_add(o, "serial", ser);
    struct json_object *devs = json_object_new_array();
    for (unsigned i = 0; i < vm->ndevs; i++)
        if (vm->devs[i].ops && vm->devs[i].slot >= 0)
            json_object_array_add(devs, vm_api_device(vm, i));
    json_object_object_add(o, "devices", devs);
    return o;
}

/* Counters of the walk (hw/counters.h) into a JSON object, a group as a
 * nested object. */
static void vm_json_emit(void *ctx, const char *group, const char *name,
                         uint64_t v)
{
    struct json_object *o = ctx, *g = o;
    if (group && !json_object_object_get_ex(o, group, &g)) {
        g = json_object_new_object();
        json_object_object_add(o, group, g);
    }
    json_object_object_add(g, name, json_object_new_uint64(v));
}

static uint64_t vm_ld(const uint64_t *x)
{
    return __atomic_load_n(x, __ATOMIC_RELAXED); /* its thread writes on */
}

static struct json_object *vm_api_stats(struct vm *vm)
{
    struct json_object *o = json_object_new_object();
    struct json_object *cpus = json_object_new_array();
    for (unsigned i = 0; i < vm->kvm.nvcpus; i++) {
        const struct vcpu_stats *s = &vm->kvm.vcpus[i]->st;
        struct json_object *c = json_object_new_object();
        json_object_object_add(c, "id", json_object_new_int((int)i));
        json_object_object_add(c, "runs",
                               json_object_new_uint64(vm_ld(&s->runs)));
        json_object_object_add(c, "pio",
                               json_object_new_uint64(vm_ld(&s->pio)));
        json_object_object_add(c, "mmio",
                               json_object_new_uint64(vm_ld(&s->mmio)));
        json_object_object_add(c, "intr",
                               json_object_new_uint64(vm_ld(&s->intr)));
        json_object_object_add(c, "other",
                               json_object_new_uint64(vm_ld(&s->other)));
        json_object_array_add(cpus, c);
    }
    json_object_object_add(o, "vcpus", cpus);
    struct json_object *ser = json_object_new_object();
    json_object_object_add(ser, "tx",
                           json_object_new_uint64(vm_ld(&vm->com1.tx_bytes)));
    json_object_object_add(ser, "rx",
                           json_object_new_uint64(vm_ld(&vm->com1.rx_bytes)));
    json_object_object_add(
        ser, "overruns", json_object_new_uint64(vm_ld(&vm->com1.tx_overruns)));
    json_object_object_add(o, "serial", ser);
    struct json_object *devs = json_object_new_array();
    for (unsigned i = 0; i < vm->ndevs; i++) {
        struct vm_dev *d = &vm->devs[i];
        if (!d->transport)
            continue;
        struct json_object *c = json_object_new_object();
        json_object_object_add(c, "index", json_object_new_int((int)i));
        json_object_object_add(c, "type", json_object_new_string(d->ops->name));
        vmmio_stats_walk(d->transport, &(struct counter_sink){
                                           .emit = vm_json_emit, .ctx = c});
        json_object_array_add(devs, c);
    }
    json_object_object_add(o, "devices", devs);
    struct api_server_stats as;
    api_server_get_stats(vm->api, &as);
    struct json_object *a = json_object_new_object();
    json_object_object_add(a, "clients", json_object_new_int((int)as.clients));
    json_object_object_add(a, "subscribers",
                           json_object_new_int((int)as.subscribers));
    json_object_object_add(a, "accepted", json_object_new_uint64(as.accepted));
    json_object_object_add(a, "refused", json_object_new_uint64(as.refused));
    json_object_object_add(a, "requests", json_object_new_uint64(as.requests));
    json_object_object_add(a, "errors", json_object_new_uint64(as.errors));
    json_object_object_add(a, "dropped", json_object_new_uint64(as.dropped));
    json_object_object_add(a, "events", json_object_new_uint64(as.events));
    json_object_object_add(o, "api", a);
    return o;
}

static int vm_api_refuse(const char **code, const char *c, char *msg,
                         size_t msglen, const char *text)
{
    *code = c;
    snprintf(msg, msglen, "%s", text);
    return -EINVAL;
}

/* One request (api_handle_fn), on the main thread. */
static int vm_api_handle(void *ctx, const struct api_req *req,
                         struct json_object **ret, const char **code, char *msg,
                         size_t msglen)
{
    struct vm *vm = ctx;
    int r;
    if (vm->state == VM_STOPPING && req->cmd != API_INFO &&
        req->cmd != API_STATS)
        return vm_api_refuse(code, API_E_STATE, msg, msglen,
                             "the VM is stopping");
    switch (req->cmd) {
    case API_INFO:
        *ret = vm_api_info(vm);
        return 0;
    case API_STATS:
        *ret = vm_api_stats(vm);
        return 0;
    case API_PAUSE:
        if (vm->state != VM_RUNNING)
            return vm_api_refuse(code, API_E_STATE, msg, msglen,
                                 vm->state == VM_PAUSED ? "already paused"
                                                        : "not running yet");
        r = vm_pause(vm);
        if (r < 0)
            return vm_api_refuse(code, API_E_FAILED, msg, msglen,
                                 "the vCPUs or device workers did not come "
                                 "to rest within 5 s; still running");
        break;
    case API_RESUME:
        if (vm->state != VM_PAUSED)
            return vm_api_refuse(code, API_E_STATE, msg, msglen, "not paused");
        vm_resume(vm);
        break;
    case API_STOP:
        vm_stop_cb(vm, req->status, "stop command");
        break;
    case API_RESET:
        /* kvmini has no in-place reboot: a reset ends the VM the way a
         * guest reset does (exit 0), for the supervisor to start anew. */
        vm_stop_cb(vm, KVMINI_EXIT_OK, "reset command");
        break;
    case API_SHUTDOWN:
        /* The guest decides whether and when to power off; the events
         * stream reports it (guest-poweroff). */
        r = vm_power_button(vm);
        if (r == -ENODEV)
            return vm_api_refuse(code, API_E_UNAVAILABLE, msg, msglen,
                                 "shutdown: this VM has no power button "
                                 "(--no-acpi); use stop");
        if (r < 0) {
            *code = API_E_FAILED;
            snprintf(msg, msglen, "shutdown: %s", strerror(-r));
            return r;
        }
        break;
    default:
        return vm_api_refuse(code, API_E_COMMAND, msg, msglen,
                             "unknown command");
    }
    *ret = json_object_new_object();
    json_object_object_add(
        *ret, "state",
        json_object_new_string(
            kvm_stopping(&vm->kvm) ? "stopping" : vm_state_names[vm->state]));
    return 0;
}

/* Claim the name (one live VM per socket). With --name or --api: early
 * (late false), before any backend exists, and a failure is an error.
 * Without them the name is kvmini-PID, which nobody else can hold: the
 * socket is opened late, once KVM works (so a host without KVM gets its
 * one error line, not a warning first), and an unusable default
 * directory only costs the socket, with a warning. */
static int vm_api_open(struct vm *vm, bool late)
{
    const struct options *o = &vm->opt;
    if (!late) {
        clock_gettime(CLOCK_MONOTONIC, &vm->t_start);
        if (o->name_given)
            snprintf(vm->name, sizeof(vm->name), "%s", o->name);
        else
            snprintf(vm->name, sizeof(vm->name), "kvmini-%ld", (long)getpid());
    }
    bool named = o->name_given || o->api;
    if (o->no_api || named == late)
        return 0;
    char path[PATH_MAX], err[PATH_MAX + 160];
    int r = 0;
    if (o->api)
        snprintf(path, sizeof(path), "%s", o->api);
    else
        r = api_default_path(vm->name, path, sizeof(path), true);
    if (r < 0) {
        char dir[PATH_MAX] = "?";
        api_dir(dir, sizeof(dir), false);
        snprintf(err, sizeof(err),
                 "cannot create the socket directory %s: %s (set "
                 "XDG_RUNTIME_DIR, or use --api PATH or --no-api)",
                 dir, strerror(-r));
    } else {
        r = api_server_open(&vm->api, path, vm_api_handle, vm, err,
                            sizeof(err));
    }
    if (r == 0)
        return 0;
    if (!o->name_given && !o->api && r != -EADDRINUSE) {
        log_warn("no control socket: %s", err);
        return 0;
    }
    if (r == -EADDRINUSE && o->name_given && !o->api)
        log_err("--name %s: a VM of that name is already running (%s "
                "answers); choose another name or stop it first",
                vm->name, path);
    else
        log_err("%s%s: %s", o->api ? "--api " : "control socket",
                o->api ? o->api : "", err);
    return r;
}

/* The guest runs: remember what the watchers compare against, tell
 * systemd. */
static void vm_api_started(struct vm *vm)
{
    for (unsigned i = 0; i < vm->ndevs; i++)
        if (vm->devs[i].transport)
            vm->resets_seen[i] = atomic_load_explicit(
                &vmmio_vdev(vm->devs[i].transport)->resets_needed,
                memory_order_relaxed);
    for (unsigned g = 0; g < VSER_DEVS_MAX; g++)
        for (unsigned i = 0; i < vm->vports.dev[g].n; i++)
            vm->peer_seen[g][i] = vm->vports.dev[g].cd[i] &&
                                  chardev_connected(vm->vports.dev[g].cd[i]);
    vm_set_state(vm, VM_RUNNING, "started");
    int r = sdnotify("READY=1");
    if (r < 0)
        log_warn("NOTIFY_SOCKET: %s", strerror(-r));
}

/* Whether the main loop must wake up now and then for vm_api_watch. */
static bool vm_api_watching(const struct vm *vm)
{
    struct api_server_stats st;
    if (!vm->api)
        return false;
    api_server_get_stats(vm->api, &st);
    return st.subscribers > 0;
}

/* Events nothing wakes the main loop for: a device entering NEEDS_RESET
 * (on a worker or vCPU thread), a port's peer connecting or leaving (on
 * its backend thread). Polled every VM_WATCH_MS while someone listens;
 * cheap: a counter and a flag per device or port. */
static void vm_api_watch(struct vm *vm)
{
    if (!vm_api_watching(vm))
        return;
    for (unsigned i = 0; i < vm->ndevs; i++) {
        struct vm_dev *d = &vm->devs[i];
        if (!d->transport)
            continue;
        uint64_t n = atomic_load_explicit(
            &vmmio_vdev(d->transport)->resets_needed, memory_order_relaxed);
        if (n == vm->resets_seen[i])
            continue;
        vm->resets_seen[i] = n;
        struct json_object *e = json_object_new_object();
        json_object_object_add(e, "index", json_object_new_int((int)i));
        json_object_object_add(e, "type", json_object_new_string(d->ops->name));
        json_object_object_add(e, "count", json_object_new_uint64(n));
        vm_event(vm, "device-needs-reset", e);
    }
    for (unsigned g = 0; g < VSER_DEVS_MAX; g++)
        for (unsigned i = 0; i < vm->vports.dev[g].n; i++) {
            struct chardev *cd = vm->vports.dev[g].cd[i];
            bool now = cd && chardev_connected(cd);
            if (now == vm->peer_seen[g][i])
                continue;
            vm->peer_seen[g][i] = now;
            struct json_object *e = json_object_new_object();
            json_object_object_add(
                e, "port",
                json_object_new_string(vm->vports.dev[g].port[i].name));
            json_object_object_add(e, "connected",
                                   json_object_new_boolean(now));
            vm_event(vm, "port-peer", e);
        }
}

/* The VM stops: say why to the listeners (a guest reset or power-off
 * first, as its own event), and give them a moment to read it. */
static void vm_api_stopping(struct vm *vm)
{
    int status = kvm_exit_status(&vm->kvm);
    const char *why = atomic_load(&vm->stop_why);
    if (!why)
        why = status == KVMINI_EXIT_TRIPLE_FAULT ? "triple fault"
              : status == KVMINI_EXIT_VM_FAILED  ? "KVM could not run the guest"
                                                 : "the guest stopped";
    /* sysports' and the i8042's words (hw/sysports.c). */
    if (strstr(why, "guest reset"))
        vm_event(vm, "guest-reset", NULL);
    else if (strstr(why, "powered off"))
        vm_event(vm, "guest-poweroff", NULL);
    vm->state = VM_STOPPING;
    struct json_object *d = json_object_new_object();
    json_object_object_add(d, "state", json_object_new_string("stopping"));
    json_object_object_add(d, "reason", json_object_new_string(why));
    json_object_object_add(d, "status", json_object_new_int(status));
    vm_event(vm, "state", d);
    sdnotify("STOPPING=1");
    if (vm->api)
        api_server_flush(vm->api, 200);
}

/* The main thread waits for signals, a stop request and the control
 * API's clients; the console lives on its chardev's thread, so nothing
 * the guest or the terminal does can keep this loop from its signalfd,
 * and the API's sockets are nonblocking with bounded buffers. */
static void vm_main_loop(struct vm *vm)
{
    while (!kvm_stopping(&vm->kvm)) {
        struct pollfd p[2 + API_CLIENTS_MAX + 1] = {
            {.fd = vm->sig_fd, .events = POLLIN},
            {.fd = vm->kvm.stop_fd, .events = POLLIN},
        };
        unsigned na =
            vm->api ? api_server_pollfds(vm->api, p + 2, API_CLIENTS_MAX + 1)
                    : 0;
        if (poll(p, 2 + na, vm_api_watching(vm) ? VM_WATCH_MS : -1) < 0 &&
            errno != EINTR)
            break;
        if (p[0].revents & POLLIN)
            vm_handle_signal(vm);
        if (na)
            api_server_serve(vm->api, p + 2, na);
        vm_api_watch(vm);
    }
    vm_api_stopping(vm);
}

/* Syscall filters (docs/security.md). After the vCPUs started: the main
 * thread enters its own filter, the last thread to do so, then opens the
 * gate the vCPUs wait at. The gate opens on failure too, so that the
 * vCPUs see the stop and can be joined. */
static void vm_sandbox_lock(struct vm *vm)
{
    /* "kvmini": the main thread's name is the process's (ps, pidof). */
    if (sandbox_enter("main", "kvmini") < 0)
        kvm_request_stop(&vm->kvm, KVMINI_EXIT_ERROR);
    sandbox_gate_open();
}

static void vm_print_stats(struct vm *vm)
{
    for (unsigned i = 0; i < vm->kvm.nvcpus; i++)
        vcpu_stats_print(vm->kvm.vcpus[i], stderr);
    fprintf(stderr, "serial: tx %llu rx %llu",
            (unsigned long long)vm->com1.tx_bytes,
            (unsigned long long)vm->com1.rx_bytes);
    if (vm->com1.tx_overruns) /* the guest wrote while THR was busy */
        fprintf(stderr, " overruns %llu",
                (unsigned long long)vm->com1.tx_overruns);
    fprintf(stderr, "\n");
    if (vm->mach.power_button)
        fprintf(stderr, "power button: presses %llu acks %llu\n",
                (unsigned long long)atomic_load(&vm->ged.presses),
                (unsigned long long)atomic_load(&vm->ged.acks));
    for (unsigned i = 0; i < vm->ndevs; i++)
        if (vm->devs[i].transport)
            vmmio_stats_print(vm->devs[i].transport, stderr);
}

static void vm_teardown(struct vm *vm, int status)
{
    struct kvm_vm *k = &vm->kvm;
    kvm_request_stop(k, status); /* no-op unless we failed mid-way */
    kvm_kick_vcpus(k);           /* main starts and joins: it signals */
    for (unsigned i = 0; i < k->nvcpus; i++)
        vcpu_join(k->vcpus[i]);
    if (vm->opt.stats)
        vm_print_stats(vm);
    /* Transports first (they join the workers that use the devices),
     * then the devices and their backends. */
    for (unsigned i = 0; i < vm->ndevs; i++)
        vmmio_destroy(vm->devs[i].transport);
    for (unsigned i = vm->ndevs; i-- > 0;) {
        if (vm->devs[i].kind)
            vm->devs[i].kind->destroy(vm, &vm->devs[i]);
        free(vm->devs[i].owned);
    }
    serial_destroy(&vm->com1);
    /* Last of the console: flush (bounded), restore the terminal; remove
     * the socket files. */
    chardev_close(vm->con);
    for (unsigned i = 0; i < vm->ncds; i++)
        chardev_close(vm->cds[i]);
    for (unsigned i = 0; i < k->nvcpus; i++)
        vcpu_destroy(k->vcpus[i]);
    rtc_destroy(&vm->rtc);
    kvm_close(k);
    if (vm->sig_fd >= 0)
        close(vm->sig_fd);
    /* Last: the socket file goes however kvmini ends (error, signal,
     * guest reset or power-off, stop command). */
    api_server_close(vm->api);
    if (vm->gate_ok)
        gate_destroy(&vm->gate);
    file_unmap(vm->kernel_img, vm->kernel_len);
    file_unmap(vm->initrd_img, vm->initrd_len);
    sandbox_fini(); /* every other thread is joined */
}

static int cmd_run(int argc, char **argv)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return KVMINI_EXIT_ERROR;
    vm->sig_fd = -1;
    vm->kvm.sys_fd = vm->kvm.vm_fd = vm->kvm.stop_fd = -1;
    /* SIGPWR's default action ends a process: the opposite of a graceful
     * request. Blocked from the start (every thread inherits it), an
     * early press waits for the signalfd and then presses the button. */
    sigset_t pwr;
    sigemptyset(&pwr);
    sigaddset(&pwr, SIGPWR);
    pthread_sigmask(SIG_BLOCK, &pwr, NULL);
    rtc_init(&vm->rtc);
    int status = KVMINI_EXIT_ERROR;
    struct kvm_vm *k = &vm->kvm;

    /* The sandbox before the first thread (a backend's) exists. */
    if (parse_options(argc, argv, vm) < 0 || check_ram_size(vm->opt.ram) < 0 ||
        sandbox_init(&vm->opt.seccomp) < 0 || vm_place_devices(vm) < 0 ||
        vm_api_open(vm, false) < 0 ||
        vm_devices_create(vm) < 0)
        goto out;
    if (gate_init(&vm->gate) < 0) {
        log_err("cannot create the pause gate: out of file descriptors?");
        goto out;
    }
    vm->gate_ok = true;
    if (load_file("kernel", vm->opt.kernel, KERNEL_MAX, &vm->kernel_img,
                  &vm->kernel_len) < 0)
        goto out;
    if (vm->opt.initrd && load_file("initrd", vm->opt.initrd, vm->opt.ram,
                                    &vm->initrd_img, &vm->initrd_len) < 0)
        goto out;
    /* Validate the kernel before touching KVM: bad input fails fast. */
    const char *why;
    if (bzimage_parse(vm->kernel_img, vm->kernel_len, &vm->bz, &why) < 0) {
        log_err("kernel %s: %s", vm->opt.kernel, why);
        goto out;
    }
    if (kvm_open(k, vm->opt.kvm_dev) < 0)
        goto out;
    if (vm->opt.cpus > k->max_vcpus) {
        log_err("-c %u: this KVM supports at most %u vCPUs", vm->opt.cpus,
                k->max_vcpus);
        goto out;
    }
    if (vm_api_open(vm, true) < 0) /* unnamed VMs: kvmini-PID.sock */
        goto out;
    if (vm_describe(vm) < 0)
        goto out;
    if (signals_setup(vm) < 0) {
        log_err("signal setup failed");
        goto out;
    }
    if (kvm_create_vm(k) < 0 ||
        kvm_setup_ram(k, vm->opt.ram, e820_low_ram(vm->opt.ram),
                      LAYOUT_HIGH_RAM) < 0 ||
        vm_setup_devices(vm) < 0 || vm_load_guest(vm) < 0)
        goto out;

    int waited = vm_wait_clients(vm); /* -EINTR: stopping already */
    for (unsigned i = 0; i < k->nvcpus && waited == 0; i++)
        if (vcpu_start(k->vcpus[i]) < 0) {
            kvm_request_stop(k, KVMINI_EXIT_ERROR);
            break;
        }
    vm_sandbox_lock(vm);
    if (!kvm_stopping(k))
        vm_api_started(vm); /* running; READY=1 for systemd */
    vm_main_loop(vm);
    kvm_request_stop(k, KVMINI_EXIT_OK); /* no-op if already stopping */
    status = kvm_exit_status(k);
out:
    vm_teardown(vm, status);
    free(vm);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        log_err("no command; usage: kvmini run -k KERNEL [options] (see "
                "kvmini --help)");
        return KVMINI_EXIT_ERROR;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(argv[1], "ls"))
        return api_cli_ls(argc - 1, argv + 1);
    if (!strcmp(argv[1], "ctl"))
        return api_cli_ctl(argc - 1, argv + 1);
    if (!strcmp(argv[1], "--version")) {
        printf("kvmini %s\n", KVMINI_VERSION);
        return 0;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    log_err("unknown command '%s'; try: kvmini run -k bzImage", argv[1]);
    return KVMINI_EXIT_ERROR;
}
