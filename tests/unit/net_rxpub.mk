# SPDX-License-Identifier: MIT
# test_net_rxpub checks every used->idx store of the virtio-net RX worker
# from inside the worker: the linker routes the queue engine's publishing
# calls through the test's wrappers.
$(B)/tests/test_net_rxpub: LDLIBS += -Wl,--wrap=vq_publish \
	-Wl,--wrap=vq_push -Wl,--wrap=vq_fail
