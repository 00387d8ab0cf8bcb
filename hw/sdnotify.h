/* SPDX-License-Identifier: MIT */
/*
 * systemd's readiness protocol without libsystemd: one datagram to the
 * socket named by $NOTIFY_SOCKET (a path, or '@' for an abstract name).
 * Main thread; errors are negative errno (none when the variable is
 * unset: 0, nothing sent).
 */
#ifndef KVMINI_HW_SDNOTIFY_H
#define KVMINI_HW_SDNOTIFY_H

/* Send text (e.g. "READY=1") to $NOTIFY_SOCKET if set. 1 sent, 0 unset,
 * or -errno. */
int sdnotify(const char *text);

#endif
