# SPDX-License-Identifier: MIT
# tests/unit/rss/test_rss.c: every device driven hard through the fake
# guest while the process's RSS is watched. Built WITHOUT sanitizers
# (ASan's quarantine and shadow memory grow RSS on their own; see the
# file's head) from the plain objects kvmini itself is linked from.

RSS_HELPERS := tests/unit/fake_guest.c tests/unit/blk_rig.c \
               tests/unit/net_rig.c
RSS_OBJS    := $(RSS_HELPERS:%.c=$(B)/obj/%.o) $(B)/obj/tests/unit/rss/test_rss.o

$(B)/tests/test_rss: $(RSS_OBJS) $(B)/libkvmini.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

EXTRA_UNIT_BINS += $(B)/tests/test_rss
