# SPDX-License-Identifier: MIT
# Linux's own drivers/virtio/virtio_ring.c, built in userspace with the
# shims of its tools/virtio directory, driving kvmini's virtio devices
# through the fake guest (tests/unit/linux-ring/). The source comes from
# Debian's linux-source-6.1 at build time; only the files needed are
# extracted into build/, none is committed. Without the tarball the test
# is a script that reports a TAP skip, or a failure where the run must be
# complete (CI=true, or KVMINI_FULL=1 from make check).

LR_TAR  := /usr/src/linux-source-6.1.tar.xz
LR_DIR  := $(B)/linux-ring
LR_K    := $(LR_DIR)/linux-source-6.1
LR_BIN  := $(B)/tests/linux_ring
LR_SRC  := tests/unit/linux-ring
LR_MEMBERS := \
	'linux-source-6.1/tools/virtio/*' \
	'linux-source-6.1/tools/include/*' \
	linux-source-6.1/drivers/virtio/virtio_ring.c \
	linux-source-6.1/include/linux/kconfig.h \
	linux-source-6.1/include/linux/byteorder/generic.h \
	linux-source-6.1/include/linux/virtio_byteorder.h \
	linux-source-6.1/include/linux/irqreturn.h \
	linux-source-6.1/include/linux/kern_levels.h \
	linux-source-6.1/include/linux/virtio_ring.h \
	linux-source-6.1/include/uapi/linux/virtio_types.h \
	linux-source-6.1/include/uapi/linux/virtio_config.h \
	linux-source-6.1/include/uapi/linux/virtio_ring.h
# The flags tools/virtio/Makefile uses, plus our compat header.
LR_KFLAGS := -g -O2 -I$(LR_K)/tools/virtio -I$(LR_K)/tools/include \
	-fno-strict-overflow -fno-strict-aliasing -fno-common \
	-U_FORTIFY_SOURCE -pthread \
	-include $(LR_K)/include/linux/kconfig.h -include $(LR_SRC)/compat.h

EXTRA_UNIT_BINS += $(LR_BIN)

ifeq ($(wildcard $(LR_TAR)),)
$(LR_BIN):
	@mkdir -p $(dir $@)
	printf '%s\n' '#!/bin/sh' \
	    'why="linux-source-6.1 not installed (.ci/install-deps installs it)"' \
	    'if [ "$${CI:-}" = true ] || [ "$${KVMINI_FULL:-}" = 1 ]; then' \
	    '    echo "1..1"; echo "not ok 1 - $$why"; exit 1' \
	    'fi' \
	    'echo "1..0 # SKIP $$why (a partial run)"' > $@
	chmod +x $@
else
$(LR_DIR)/.extracted: $(LR_TAR)
	@mkdir -p $(LR_DIR)
	tar -xJf $< -C $(LR_DIR) --wildcards $(LR_MEMBERS)
	touch $@

# Linux's code: built as its Makefile does, not held to our warnings or
# sanitizers; its malloc() (the shims' kmalloc) goes into fake guest RAM.
$(LR_DIR)/virtio_ring.o: $(LR_DIR)/.extracted $(LR_SRC)/compat.h
	$(CC) $(LR_KFLAGS) -w -Dmalloc=lr_kmalloc -Dfree=lr_kfree \
		-c -o $@ $(LR_K)/drivers/virtio/virtio_ring.c

$(LR_DIR)/glue.o: $(LR_SRC)/glue.c $(LR_SRC)/lr.h $(LR_SRC)/lr_linux.h \
		$(LR_DIR)/.extracted
	$(CC) $(LR_KFLAGS) $(SAN) -Wall -Werror -c -o $@ $<

$(LR_DIR)/glue_blk.o: $(LR_SRC)/glue_blk.c $(LR_SRC)/lr.h \
		$(LR_SRC)/lr_linux.h $(LR_DIR)/.extracted
	$(CC) $(LR_KFLAGS) $(SAN) -Wall -Werror -c -o $@ $<

$(LR_DIR)/host.o: $(LR_SRC)/host.c $(LR_SRC)/lr.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -c -o $@ $<

$(LR_BIN): $(LR_DIR)/host.o $(LR_DIR)/glue.o $(LR_DIR)/glue_blk.o \
		$(LR_DIR)/virtio_ring.o \
		$(UNIT_HOBJS) $(B)/libkvmini-san.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDLIBS)
endif
