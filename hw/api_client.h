/* SPDX-License-Identifier: MIT */
/*
 * The control API from the outside: where sockets live by default, and
 * the `kvmini ls` and `kvmini ctl` commands (one request, the answer
 * printed for people or as raw JSON). Main thread of a short-lived
 * process; errors are reported once on stderr and become exit status 1.
 */
#ifndef KVMINI_HW_API_CLIENT_H
#define KVMINI_HW_API_CLIENT_H

#include <stdbool.h>
#include <stddef.h>

/* The directory of the VMs' sockets: $XDG_RUNTIME_DIR/kvmini, else
 * /run/kvmini. With create, made (mode 0700) if missing. 0 or -errno. */
int api_dir(char *buf, size_t len, bool create);

/* api_dir/NAME.sock. 0, or -ENAMETOOLONG. */
int api_default_path(const char *name, char *buf, size_t len, bool create);

/* kvmini ls: exit status. */
int api_cli_ls(int argc, char **argv);
/* kvmini ctl [--json] NAME|PATH COMMAND [ARGS-JSON]: exit status. */
int api_cli_ctl(int argc, char **argv);

#endif
