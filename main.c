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
#include <sys/sysinfo.h>
#include <termios.h>
#include <unistd.h>

#include "arch/x86/boot.h"
#include "arch/x86/bzimage.h"
#include "arch/x86/cpu.h"
#include "arch/x86/layout.h"
#include "hw/file.h"
#include "hw/log.h"
#include "hw/serial.h"
#include "hw/sysports.h"
#include "kvm/kvm.h"
#include "kvm/vcpu.h"

#define KVMINI_VERSION "0.1"
#define DEFAULT_RAM (256ULL << 20)
#define KERNEL_MAX (512ULL << 20)
#define CTRL_A 0x01

struct options {
    const char *kernel, *initrd, *cmdline, *name, *kvm_dev;
    uint64_t ram;
    unsigned cpus;
    bool stats;
};

struct vm {
    struct options opt;
    struct kvm_vm kvm;
    struct serial com1;
    struct irq_line com1_irq;
    struct sysports ports;
    const uint8_t *kernel_img, *initrd_img;
    size_t kernel_len, initrd_len;
    bool tty;
    struct termios saved_tio;
    int sig_fd;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: kvmini run -k KERNEL [options]\n"
            "  -k, --kernel FILE     Linux bzImage to boot (required)\n"
            "  -i, --initrd FILE     initial ramdisk\n"
            "  -p, --cmdline STRING  kernel command line\n"
            "  -m, --mem SIZE        guest RAM, K/M/G suffix, default 256M "
            "(no suffix: MiB)\n"
            "  -c, --cpus N          vCPUs, 1..KVM's maximum, default 1\n"
            "      --name NAME       VM name (letters, digits, . _ -)\n"
            "      --stats           print exit and device counters at exit\n"
            "      --debug LIST      debug output: io,kvm,virtio,all\n"
            "      --kvm-device PATH KVM device, default /dev/kvm\n"
            "  -h, --help            this help\n"
            "      --version         print the version\n"
            "Console: the guest's COM1 on stdin/stdout; on a terminal, "
            "Ctrl-A x quits.\n"
            "Exit status: the guest's (test-exit port 0x%x; 0 for reset or "
            "power-off), 1 bad input or setup error, 2 KVM could not run "
            "the guest, 3 triple fault, 128+N signal N.\n",
            (unsigned)LAYOUT_EXIT_PORT);
}

/* "512M", "3G", "65536K", "64" (MiB). 0 on success. */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-' || *s == '+')
        return -EINVAL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -EINVAL;
    unsigned shift = 20;
    if (*end) {
        switch (*end | 0x20) {
        case 'k':
            shift = 10;
            break;
        case 'm':
            shift = 20;
            break;
        case 'g':
            shift = 30;
            break;
        case 't':
            shift = 40;
            break;
        default:
            return -EINVAL;
        }
        end++;
        if (!strcmp(end, "iB") || !strcmp(end, "B"))
            end += strlen(end);
        if (*end)
            return -EINVAL;
    }
    if (v > (UINT64_MAX >> shift))
        return -ERANGE;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_uint(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == '-' || *s == '+')
        return -EINVAL;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > 0xffff)
        return -EINVAL;
    *out = (unsigned)v;
    return 0;
}

static bool name_ok(const char *n)
{
    size_t len = strlen(n);
    if (len == 0 || len > 64)
        return false;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' ||
              *p == '-'))
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

enum { OPT_NAME = 256, OPT_STATS, OPT_DEBUG, OPT_KVM_DEV, OPT_VERSION };

static int parse_options(int argc, char **argv, struct options *o)
{
    static const struct option longs[] = {
        { "kernel", required_argument, NULL, 'k' },
        { "initrd", required_argument, NULL, 'i' },
        { "cmdline", required_argument, NULL, 'p' },
        { "mem", required_argument, NULL, 'm' },
        { "cpus", required_argument, NULL, 'c' },
        { "name", required_argument, NULL, OPT_NAME },
        { "stats", no_argument, NULL, OPT_STATS },
        { "debug", required_argument, NULL, OPT_DEBUG },
        { "kvm-device", required_argument, NULL, OPT_KVM_DEV },
        { "help", no_argument, NULL, 'h' },
        { 0 },
    };
    *o = (struct options){ .cmdline = "", .ram = DEFAULT_RAM, .cpus = 1,
                           .kvm_dev = "/dev/kvm", .name = "kvmini" };
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
            if (parse_size(optarg, &o->ram) < 0) {
                log_err("-m %s: not a size; use e.g. 512M or 2G", optarg);
                return -EINVAL;
            }
            break;
        case 'c':
            if (parse_uint(optarg, &o->cpus) < 0 || o->cpus == 0) {
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
    if (!o->kernel) {
        log_err("no kernel given; use -k bzImage (see kvmini run --help)");
        return -EINVAL;
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
    kvm_request_stop(&vm->kvm, status);
}

/* Raw mode on a terminal so that every key reaches the guest. */
static void term_raw(struct vm *vm)
{
    vm->tty = isatty(STDIN_FILENO) && tcgetattr(STDIN_FILENO,
                                                &vm->saved_tio) == 0;
    if (!vm->tty)
        return;
    struct termios t = vm->saved_tio;
    cfmakeraw(&t);
    t.c_oflag |= OPOST | ONLCR; /* kvmini's own messages stay readable */
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

static void term_restore(struct vm *vm)
{
    if (vm->tty)
        tcsetattr(STDIN_FILENO, TCSANOW, &vm->saved_tio);
    vm->tty = false;
}

static int signals_setup(struct vm *vm)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigaddset(&set, SIGQUIT);
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

static int vm_setup_devices(struct vm *vm)
{
    struct kvm_vm *k = &vm->kvm;
    kvm_irq_line_init(k, &vm->com1_irq, LAYOUT_COM1_GSI);
    int r = serial_init(&vm->com1, STDOUT_FILENO, &vm->com1_irq);
    if (r == 0)
        r = io_bus_add(&k->pio, LAYOUT_COM1_PORT, 8, serial_io, &vm->com1);
    vm->ports = (struct sysports){ .stop = vm_stop_cb, .ctx = vm };
    if (r == 0)
        r = sysports_register(&vm->ports, &k->pio, LAYOUT_EXIT_PORT);
    if (r < 0)
        log_err("device setup failed: %s", strerror(-r));
    return r;
}

static int vm_load_guest(struct vm *vm)
{
    struct bzimage bz;
    const char *why = NULL;
    if (bzimage_parse(vm->kernel_img, vm->kernel_len, &bz, &why) < 0) {
        log_err("kernel %s: %s", vm->opt.kernel, why);
        return -ENOEXEC;
    }
    struct boot_config cfg = {
        .initrd = vm->initrd_img,
        .initrd_len = vm->initrd_len,
        .cmdline = vm->opt.cmdline,
        .ram_size = vm->opt.ram,
    };
    struct boot_info bi;
    int r = boot_load(&vm->kvm.mem, &bz, &cfg, &bi, &why);
    if (r < 0) {
        log_err("cannot boot %s: %s", vm->opt.kernel, why);
        return r;
    }
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

/* stdin -> COM1, honouring Ctrl-A x on a terminal. */
static void vm_console_input(struct vm *vm, bool *stdin_open, bool *escape)
{
    uint8_t buf[SERIAL_RX_FIFO], out[SERIAL_RX_FIFO + 1];
    size_t room = serial_rx_room(&vm->com1);
    /* Leave one byte spare for a pending Ctrl-A we pass through. */
    if (room < 2)
        return;
    ssize_t n = read(STDIN_FILENO, buf, room - 1);
    if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
        *stdin_open = false;
        return;
    }
    size_t o = 0;
    for (ssize_t i = 0; i < n; i++) {
        uint8_t b = buf[i];
        if (vm->tty && *escape) {
            *escape = false;
            if (b == 'x' || b == 'X') {
                vm_stop_cb(vm, 0, "Ctrl-A x: stopping the VM");
                return;
            }
            if (b != CTRL_A)
                out[o++] = CTRL_A;
        } else if (vm->tty && b == CTRL_A) {
            *escape = true;
            continue;
        }
        out[o++] = b;
    }
    serial_rx_push(&vm->com1, out, o);
}

static void vm_main_loop(struct vm *vm)
{
    bool stdin_open = true, escape = false;
    while (!atomic_load(&vm->kvm.stopping)) {
        struct pollfd p[3] = {
            { .fd = vm->sig_fd, .events = POLLIN },
            { .fd = vm->kvm.stop_fd, .events = POLLIN },
            { .fd = -1, .events = POLLIN },
        };
        if (stdin_open)
            p[2].fd = serial_rx_room(&vm->com1) > 1 ? STDIN_FILENO
                                                     : vm->com1.rx_space_fd;
        if (poll(p, 3, -1) < 0 && errno != EINTR)
            break;
        if (p[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(vm->sig_fd, &si, sizeof(si)) == sizeof(si)) {
                log_info("signal %u: stopping the VM", si.ssi_signo);
                kvm_request_stop(&vm->kvm, 128 + (int)si.ssi_signo);
            }
        }
        if (p[2].fd == vm->com1.rx_space_fd && p[2].revents) {
            uint64_t v;
            if (read(vm->com1.rx_space_fd, &v, sizeof(v)) < 0)
                continue;
        } else if (p[2].fd == STDIN_FILENO && p[2].revents) {
            vm_console_input(vm, &stdin_open, &escape);
        }
    }
}

static void vm_print_stats(struct vm *vm)
{
    for (unsigned i = 0; i < vm->kvm.nvcpus; i++)
        vcpu_stats_print(vm->kvm.vcpus[i], stderr);
    fprintf(stderr, "serial: tx %llu rx %llu\n",
            (unsigned long long)vm->com1.tx_bytes,
            (unsigned long long)vm->com1.rx_bytes);
}

static int cmd_run(int argc, char **argv)
{
    struct vm *vm = calloc(1, sizeof(*vm));
    if (!vm)
        return KVMINI_EXIT_ERROR;
    vm->sig_fd = -1;
    vm->kvm.sys_fd = vm->kvm.vm_fd = vm->kvm.stop_fd = -1;
    vm->com1.rx_space_fd = -1;
    int status = KVMINI_EXIT_ERROR;
    struct kvm_vm *k = &vm->kvm;

    if (parse_options(argc, argv, &vm->opt) < 0 ||
        check_ram_size(vm->opt.ram) < 0)
        goto out;
    if (load_file("kernel", vm->opt.kernel, KERNEL_MAX, &vm->kernel_img,
                  &vm->kernel_len) < 0)
        goto out;
    if (vm->opt.initrd &&
        load_file("initrd", vm->opt.initrd, vm->opt.ram, &vm->initrd_img,
                  &vm->initrd_len) < 0)
        goto out;
    /* Validate the kernel before touching KVM: bad input fails fast. */
    struct bzimage bz;
    const char *why;
    if (bzimage_parse(vm->kernel_img, vm->kernel_len, &bz, &why) < 0) {
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
    if (signals_setup(vm) < 0) {
        log_err("signal setup failed");
        goto out;
    }
    if (kvm_create_vm(k) < 0 || kvm_setup_ram(k, vm->opt.ram) < 0 ||
        vm_setup_devices(vm) < 0 || vm_load_guest(vm) < 0)
        goto out;

    term_raw(vm);
    for (unsigned i = 0; i < k->nvcpus; i++)
        if (vcpu_start(k->vcpus[i]) < 0) {
            kvm_request_stop(k, KVMINI_EXIT_ERROR);
            break;
        }
    vm_main_loop(vm);
    kvm_request_stop(k, KVMINI_EXIT_OK); /* no-op if already stopping */
    status = k->exit_status;
out:
    kvm_request_stop(k, status); /* no-op unless we failed mid-way */
    for (unsigned i = 0; i < k->nvcpus; i++)
        vcpu_join(k->vcpus[i]);
    term_restore(vm);
    if (vm->opt.stats)
        vm_print_stats(vm);
    for (unsigned i = 0; i < k->nvcpus; i++)
        vcpu_destroy(k->vcpus[i]);
    if (vm->com1.rx_space_fd >= 0)
        serial_destroy(&vm->com1);
    kvm_close(k);
    if (vm->sig_fd >= 0)
        close(vm->sig_fd);
    file_unmap(vm->kernel_img, vm->kernel_len);
    file_unmap(vm->initrd_img, vm->initrd_len);
    free(vm);
    return status;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return KVMINI_EXIT_ERROR;
    }
    if (!strcmp(argv[1], "run"))
        return cmd_run(argc - 1, argv + 1);
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
