#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# make install puts a working binary and a readable man page under PREFIX.
. "$(dirname "$0")/lib.sh"
make -s install DESTDIR="$TMP/root" PREFIX=/usr/local >"$TMP/inst.log" 2>&1
check "make install succeeds" test $? -eq 0
check "installed binary runs" \
    sh -c "'$TMP/root/usr/local/bin/kvmini' --version | grep -q '^kvmini '"
check "man page installed and well formed" \
    sh -c "MANWIDTH=80 man -l '$TMP/root/usr/local/share/man/man1/kvmini.1' 2>/dev/null | grep -q 'Ctrl-A x' || groff -man -Tutf8 '$TMP/root/usr/local/share/man/man1/kvmini.1' 2>/dev/null | grep -q 'Ctrl-A x' || grep -q '^.SH EXIT STATUS' '$TMP/root/usr/local/share/man/man1/kvmini.1'"
done_testing
