/* SPDX-License-Identifier: MIT */
/* A private network namespace and its counters, for real-tap tests. */
#include "tests/unit/netns.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int netns_enter(char *why, size_t whylen)
{
    if (unshare(CLONE_NEWNET) < 0) {
        int e = errno;
        snprintf(why, whylen,
                 "cannot make a private network namespace (%s): run as "
                 "root",
                 strerror(e));
        return -e;
    }
    /* Loopback is down in a new namespace; some checks use it. */
    if (netns_sh("ip link set lo up") < 0) {
        snprintf(why, whylen, "'ip link set lo up' failed (iproute2?)");
        return -ENOENT;
    }
    return 0;
}

int netns_sh(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    fflush(stdout); /* the child inherits unflushed TAP lines otherwise */
    char full[2100];
    snprintf(full, sizeof(full), "(%s) 1>&2", cmd);
    int r = system(full);
    if (r != 0) {
        fprintf(stderr, "# command failed (%d): %s\n", r, cmd);
        return -1;
    }
    return 0;
}

int netns_ifstats(const char *ifname, struct netns_ifstats *s)
{
    FILE *f = fopen("/proc/net/dev", "r");
    if (!f)
        return -errno;
    char line[512];
    int r = -ENOENT;
    size_t n = strlen(ifname);
    while (fgets(line, sizeof(line), f)) {
        char *p = line;
        while (*p == ' ')
            p++;
        if (strncmp(p, ifname, n) || p[n] != ':')
            continue;
        unsigned long long v[16] = {0};
        if (sscanf(p + n + 1,
                   "%llu %llu %llu %llu %llu %llu %llu %llu %llu %llu %llu "
                   "%llu",
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7],
                   &v[8], &v[9], &v[10], &v[11]) == 12) {
            *s = (struct netns_ifstats){.rx_bytes = v[0],
                                        .rx_packets = v[1],
                                        .rx_errs = v[2],
                                        .rx_drop = v[3],
                                        .rx_frame = v[5],
                                        .tx_bytes = v[8],
                                        .tx_packets = v[9],
                                        .tx_errs = v[10],
                                        .tx_drop = v[11]};
            r = 0;
        }
        break;
    }
    fclose(f);
    return r;
}

/* /proc/net/snmp: a header line "Grp: name name ..." then a value line
 * "Grp: v v ...". */
static int snmp4(const char *group, const char *name, uint64_t *v)
{
    FILE *f = fopen("/proc/net/snmp", "r");
    if (!f)
        return -errno;
    char hdr[2048], val[2048];
    int r = -ENOENT;
    size_t gl = strlen(group);
    while (fgets(hdr, sizeof(hdr), f) && fgets(val, sizeof(val), f)) {
        if (strncmp(hdr, group, gl) || hdr[gl] != ':')
            continue;
        char *hs, *vs;
        char *h = strtok_r(hdr + gl + 1, " \n", &hs);
        char *x = strtok_r(val + gl + 1, " \n", &vs);
        while (h && x) {
            if (!strcmp(h, name)) {
                *v = strtoull(x, NULL, 10);
                r = 0;
                break;
            }
            h = strtok_r(NULL, " \n", &hs);
            x = strtok_r(NULL, " \n", &vs);
        }
        break;
    }
    fclose(f);
    return r;
}

static int snmp6(const char *name, uint64_t *v)
{
    FILE *f = fopen("/proc/net/snmp6", "r");
    if (!f)
        return -errno;
    char k[128];
    unsigned long long x;
    int r = -ENOENT;
    while (fscanf(f, "%127s %llu", k, &x) == 2) {
        if (!strcmp(k, name)) {
            *v = x;
            r = 0;
            break;
        }
    }
    fclose(f);
    return r;
}

int netns_snmp(const char *group, const char *name, uint64_t *v)
{
    return *group ? snmp4(group, name, v) : snmp6(name, v);
}
