# SPDX-License-Identifier: MIT
# The nested Linux rig (tests/linux, docs/linux-rig.md): a Linux L1 under
# QEMU TCG with kvm_amd boots a Debian kernel under kvmini and, for
# comparison, under QEMU microvm.
#   make linux-check                      every scenario, TAP under prove,
#                                         then the watchdog's own test
#   make linux-test SCENARIO=boot-basic   one scenario (VMM=qemu|kvmini)
#   make linux-bench [REPEAT=5]           boot times, kvmini and QEMU
#   make linux-bench-blk [REPEAT=5]       L2 disk throughput (dd, direct
#                                         I/O), kvmini and QEMU side by
#                                         side, kvmini's exits per request
#   make linux-bench-net [REPEAT=5]       L2 TCP throughput each way (nc,
#                                         one flow), kvmini and QEMU
# L2_KERNEL=mini boots the small built-in-everything kernel (mini.config)
# instead of Debian's; its first build takes several minutes.
.PHONY: linux-check linux-test linux-bench linux-bench-blk linux-bench-net
RIG_T := tests/linux/rig.t
WATCHDOG_T := tests/linux/watchdog.t
VMM ?= kvmini qemu
REPEAT ?= 5
L2_KERNEL ?= debian

linux-check: kvmini
	RIG_VMMS="$(VMM)" RIG_L2_KERNEL=$(L2_KERNEL) \
	    prove -f --exec bash $(RIG_T) $(WATCHDOG_T)

linux-test: kvmini
	@test -n "$(SCENARIO)" || { echo "usage: make linux-test SCENARIO=NAME [VMM=kvmini]" >&2; exit 2; }
	RIG_ONLY="$(SCENARIO)" RIG_VMMS="$(VMM)" RIG_L2_KERNEL=$(L2_KERNEL) \
	    RIG_KEEP_LOG=1 bash $(RIG_T)

linux-bench: kvmini
	RIG_ONLY=boot-basic RIG_REPEAT=$(REPEAT) RIG_VMMS="$(VMM)" \
	    RIG_L2_KERNEL=$(L2_KERNEL) bash $(RIG_T)

linux-bench-blk: kvmini
	RIG_ONLY=bench-blk RIG_REPEAT=$(REPEAT) RIG_VMMS="$(VMM)" \
	    RIG_KVMINI_ARGS=--stats RIG_L2_KERNEL=$(L2_KERNEL) bash $(RIG_T)
	bash tests/linux/bench-blk.sh

linux-bench-net: kvmini
	RIG_ONLY=bench-net RIG_REPEAT=$(REPEAT) RIG_VMMS="$(VMM)" \
	    RIG_KVMINI_ARGS=--stats RIG_L2_KERNEL=$(L2_KERNEL) bash $(RIG_T)
	bash tests/linux/bench-net.sh
