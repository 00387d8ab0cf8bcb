# SPDX-License-Identifier: MIT
# The tiny guest: freestanding C and assembly linked at 1 MiB into
# $(B)/tiny-guest.elf (PVH ELF note, for QEMU -kernel), then wrapped with
# setup sectors into the bzImage $(B)/tiny-guest (for kvmini).

GUEST_CC      ?= gcc
GUEST_LD      ?= ld
GUEST_OBJCOPY ?= objcopy
GUEST_CFLAGS  := -std=gnu11 -O2 -g -Wall -Wextra -Werror -I. \
                 -ffreestanding -nostdlib -fno-builtin-printf \
                 -mno-sse -mno-mmx -mno-red-zone -mgeneral-regs-only \
                 -fno-pic -fno-pie -fno-stack-protector -fcf-protection=none \
                 -fno-asynchronous-unwind-tables -fno-jump-tables \
                 -fno-tree-loop-distribute-patterns -MMD -MP

GUEST_C   := $(sort $(wildcard guest/*.c))
GUEST_S   := $(filter-out guest/setup.S,$(sort $(wildcard guest/*.S)))
GUEST_OBJS := $(GUEST_C:guest/%.c=$(B)/guest/%.o) \
              $(GUEST_S:guest/%.S=$(B)/guest/%.o)

$(B)/guest/%.o: guest/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(B)/guest/%.o: guest/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(B)/tiny-guest.elf: $(GUEST_OBJS) guest/guest.ld
	$(GUEST_LD) -nostdlib -static --build-id=none -z noexecstack \
	    -z max-page-size=4096 --no-warn-rwx-segments -T guest/guest.ld \
	    -o $@ $(GUEST_OBJS)

# The setup header needs sizes from the link: pass them as -D values.
GUEST_SYM = nm $(B)/tiny-guest.elf | awk -v s=$(1) '$$3 == s { print $$1 }' \
            | sed q

$(B)/tiny-guest: guest/setup.S $(B)/tiny-guest.elf
	$(GUEST_OBJCOPY) -O binary $(B)/tiny-guest.elf $(B)/guest/pm.bin
	$(GUEST_CC) -c -o $(B)/guest/setup.o guest/setup.S \
	    -DPM_BIN='"$(B)/guest/pm.bin"' \
	    -DPM_SIZE=$$(stat -c %s $(B)/guest/pm.bin) \
	    -DINIT_SIZE=0x$$($(call GUEST_SYM,_init_size)) \
	    -DKINFO_OFF=0x$$($(call GUEST_SYM,_kernel_info_offset))
	$(GUEST_OBJCOPY) -O binary -j .text $(B)/guest/setup.o $@

all: $(B)/tiny-guest.elf

# Host build of the guest's portable parts for `make test`; the guest's
# mem*/str* would clash with libc, so they are renamed to tg_*.
GUEST_HOST_SRCS := guest/lib.c guest/cmdline.c guest/bootinfo.c \
                   guest/checks.c guest/report.c guest/entry.c \
                   guest/host/test_guest.c guest/host/fake_serial.c
GUEST_RENAME := $(foreach f,memset memcpy memmove memcmp strlen strnlen \
                  strncmp,-D$(f)=tg_$(f))

$(B)/tests/test_guest: $(GUEST_HOST_SRCS) $(wildcard guest/*.h) \
                       $(B)/tiny-guest
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. \
	    $(SAN) $(GUEST_RENAME) -o $@ $(GUEST_HOST_SRCS)

EXTRA_UNIT_BINS += $(B)/tests/test_guest

# The device-tree reader against libfdt-written and corrupted trees.
GUEST_FDT_SRCS := guest/lib.c guest/fdt.c guest/dt.c guest/host/test_fdt.c \
                  guest/host/fake_serial.c

$(B)/tests/test_guest_fdt: $(GUEST_FDT_SRCS) $(wildcard guest/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. \
	    $(FDT_CFLAGS) $(SAN) $(GUEST_RENAME) -o $@ $(GUEST_FDT_SRCS) \
	    $(FDT_LIBS)

EXTRA_UNIT_BINS += $(B)/tests/test_guest_fdt

# The virtio driver's handshake and ring against a hand-played device.
GUEST_VIRTIO_SRCS := guest/lib.c guest/virtio.c guest/host/test_virtio.c

$(B)/tests/test_guest_virtio: $(GUEST_VIRTIO_SRCS) $(wildcard guest/*.h)
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. \
	    $(SAN) $(GUEST_RENAME) -o $@ $(GUEST_VIRTIO_SRCS)

EXTRA_UNIT_BINS += $(B)/tests/test_guest_virtio

# The virtio-blk driver and its checks against fake devices behind the
# guest's MMIO accessors (TG_HOST_IO). -no-pie: legacy QueuePFN holds 32
# bits of page number, so the rings must sit low, as they do in the guest.
GUEST_VBLK_SRCS := guest/lib.c guest/cmdline.c guest/virtio.c guest/vblk.c \
                   guest/blkpass.c \
                   guest/blkcheck.c guest/blkmodes.c guest/blkpat.c \
                   guest/devices.c guest/dt.c guest/fdt.c \
                   guest/host/fake_serial.c guest/host/fake_vmmio.c \
                   guest/host/fake_clock.c \
                   guest/host/fake_vblk.c guest/host/no_irq.c \
                   guest/host/test_vblk.c

$(B)/tests/test_guest_vblk: $(GUEST_VBLK_SRCS) $(wildcard guest/*.h) \
                            guest/host/fake_vblk.h guest/host/fake_vmmio.h \
                            guest/host/fake_clock.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. \
	    -DTG_HOST_IO -no-pie $(SAN) $(GUEST_RENAME) -o $@ $(GUEST_VBLK_SRCS)

EXTRA_UNIT_BINS += $(B)/tests/test_guest_vblk

# The virtio-net driver, its answers and its words against fake devices
# behind the guest's MMIO accessors (TG_HOST_IO); -no-pie as above.
GUEST_VNET_SRCS := guest/lib.c guest/cmdline.c guest/virtio.c guest/vnet.c \
                   guest/inet.c guest/netcheck.c \
                   guest/devices.c guest/dt.c guest/fdt.c \
                   guest/host/fake_serial.c guest/host/fake_vmmio.c \
                   guest/host/fake_clock.c \
                   guest/host/fake_vnet.c guest/host/no_irq.c \
                   guest/host/test_vnet.c

$(B)/tests/test_guest_vnet: $(GUEST_VNET_SRCS) $(wildcard guest/*.h) \
                            guest/host/fake_vnet.h guest/host/fake_vmmio.h \
                            guest/host/fake_clock.h
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. \
	    -DTG_HOST_IO -no-pie $(SAN) $(GUEST_RENAME) -o $@ $(GUEST_VNET_SRCS)

EXTRA_UNIT_BINS += $(B)/tests/test_guest_vnet

# The multiport virtio-serial driver and its services against kvmini's own
# device (vser_bridge.c, built like the unit tests, links the library):
# the guest's vq_setup is renamed, kvmini has one too. -no-pie as above.
GUEST_VPORT_SRCS := guest/lib.c guest/cmdline.c guest/virtio.c guest/vport.c \
                    guest/vportcheck.c guest/vportsrv.c guest/sha256.c \
                    guest/devices.c guest/dt.c guest/fdt.c \
                    guest/host/fake_serial.c guest/host/test_vport.c \
                    guest/host/no_irq.c

$(B)/tests/test_guest_vport: $(GUEST_VPORT_SRCS) $(wildcard guest/*.h) \
                             $(B)/san/guest/host/vser_bridge.o \
                             $(B)/libkvmini-san.a
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O1 -g -Wall -Wextra -Werror -D_GNU_SOURCE -I. \
	    -DTG_HOST_IO -no-pie $(SAN) $(GUEST_RENAME) -Dvq_setup=tg_vq_setup \
	    -o $@ $(GUEST_VPORT_SRCS) $(B)/san/guest/host/vser_bridge.o \
	    $(B)/libkvmini-san.a $(LDLIBS)

EXTRA_UNIT_BINS += $(B)/tests/test_guest_vport
