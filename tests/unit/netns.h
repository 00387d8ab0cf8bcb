/* SPDX-License-Identifier: MIT */
/*
 * A private network namespace for the tests that need real taps and
 * the Linux network stack as their peer. unshare(CLONE_NEWNET) gives
 * this process a namespace of its own: every interface, address and
 * route the test makes lives there and vanishes with the process, even
 * when it crashes or is killed, and no frame can reach the host's own
 * interfaces. Needs CAP_SYS_ADMIN (root); without it the tests skip.
 */
#ifndef KVMINI_TESTS_NETNS_H
#define KVMINI_TESTS_NETNS_H

#include <stddef.h>
#include <stdint.h>

/* Enter a new network namespace. Call from main() before any thread
 * starts (the namespace is per thread; threads made later inherit it).
 * 0, or -errno with the reason in why. */
int netns_enter(char *why, size_t whylen);

/* Run a shell command (formatted) in this namespace, its output on
 * stderr: 0 if it exited 0, else -1. */
int netns_sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Counters of an interface from /proc/net/dev of this namespace. */
struct netns_ifstats {
    uint64_t rx_bytes, rx_packets, rx_errs, rx_drop, rx_frame;
    uint64_t tx_bytes, tx_packets, tx_errs, tx_drop;
};
int netns_ifstats(const char *ifname, struct netns_ifstats *s);

/* One counter from /proc/net/snmp or /proc/net/snmp6 ("Ip",
 * "InHdrErrors"; "Udp", "InCsumErrors"; "Ip6InHdrErrors" with an
 * empty group for snmp6): 0 and *v, or -ENOENT. */
int netns_snmp(const char *group, const char *name, uint64_t *v);

#endif
