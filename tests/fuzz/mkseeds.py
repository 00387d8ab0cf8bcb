#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed inputs of the fuzz targets into tests/fuzz/corpus/.

Seeds are small, valid-ish scripts that take each target past its first
checks (a working handshake, one request of each kind, a header that
parses) so the fuzzer mutates from deep states. The encodings mirror the
readers in tests/fuzz/fz.c and the targets; run this after changing
them. Inputs kept from findings (regress-*, and io_bus/full-table from a
harness bug) are not written here.

    python3 tests/fuzz/mkseeds.py [OUTDIR]
"""
import os
import struct
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "corpus")

# ---- the virtio driver script (tests/fuzz/fz.c) ------------------------
(OP_REG_WRITE, OP_REG_READ, OP_SETUP, OP_DESC, OP_AVAIL, OP_AVAIL_RAW,
 OP_RING_WORD, OP_RAM, OP_KICK, OP_SERVE, OP_RESET, OP_CFG, OP_ACK,
 OP_CHAIN, OP_BACKEND) = range(15)
FG_BASE = 0x40000000
ALL_FEATURES = 0xffffffffffffffff


def u8(v): return struct.pack("<B", v & 0xff)
def u16(v): return struct.pack("<H", v & 0xffff)
def u32(v): return struct.pack("<I", v & 0xffffffff)
def u64(v): return struct.pack("<Q", v & 0xffffffffffffffff)


def gpa_ram(off):
    """fz_gpa selector 0: FG_BASE + off."""
    return u8(0) + u16(off)


def length(n):
    """fz_len selector 1: a 13-bit length."""
    return u8(1) + u16(n)


def setup(want=ALL_FEATURES, qmask=1, nqueues=1, numsel=3, offsets=None,
          legacy=False, first=False):
    """OP_SETUP; first: the handshake device targets start with, which
    has no op byte."""
    b = (b"" if first else u8(OP_SETUP)) + u64(want) + u16(qmask)
    for i in range(nqueues):
        if i == 0 or (qmask >> i) & 1:
            if legacy:
                b += u8(numsel) + u8(1) + u8(8 + 2 * i)  # align 4096, page
            else:
                off = offsets[i] if offsets else 0x100 + 0x600 * i
                b += u8(numsel) + u16(off)
    return b


def seg(off, n, write=False, content=b""):
    fl = (1 if write else 0) | (2 if content else 0)
    b = u8(fl) + gpa_ram(off) + length(n)
    if content:
        b += u8(len(content)) + content
    return b


def chain(q, segs, indirect=False, table=0x7000, kick=True):
    shape = (len(segs) - 1) | (0x10 if indirect else 0) | (0 if kick else 0x20)
    b = u8(OP_CHAIN) + u8(q) + u8(shape) + b"".join(segs)
    if indirect:
        b += gpa_ram(table)
    return b


def serve(q, rounds=1):
    return u8(OP_SERVE) + u8(q | ((rounds - 1) << 5))


def reg_w(off, val, size=4):
    return u8(OP_REG_WRITE) + u16(off) + u8(size) + u64(val)


def reg_r(off, size=4):
    return u8(OP_REG_READ) + u16(off) + u8(size)


def write(name, data):
    path = os.path.join(OUT, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


# ---- vmmio: the echo device; shape byte: queues-1 | log2(max)-1 << 2 |
# legacy << 7. Starts from a bare device.
def seeds_vmmio():
    shape = 1 | (5 << 2)  # 2 queues, QueueNumMax 64
    echo = [seg(0x2000, 8, content=b"echo me!"), seg(0x3000, 8, True)]
    # A driver that does it all through registers.
    raw = b"".join([reg_r(0x000), reg_r(0x004), reg_r(0x008), reg_w(0x070, 0),
                    reg_w(0x070, 1), reg_w(0x070, 3), reg_w(0x014, 1),
                    reg_r(0x010), reg_w(0x024, 1), reg_w(0x020, 1),
                    reg_w(0x024, 0), reg_w(0x020, 0x30000000),
                    reg_w(0x070, 11), reg_w(0x030, 0), reg_r(0x034),
                    reg_w(0x038, 8), reg_w(0x080, FG_BASE + 0x100),
                    reg_w(0x084, 0), reg_w(0x090, FG_BASE + 0x200),
                    reg_w(0x094, 0), reg_w(0x0a0, FG_BASE + 0x300),
                    reg_w(0x0a4, 0), reg_w(0x044, 1), reg_r(0x044),
                    reg_w(0x070, 15), reg_r(0x070), reg_r(0x0fc),
                    reg_r(0x100, 8), reg_w(0x104, 0xabcd, 2)])
    write("vmmio/seed-registers", u8(shape) + raw)
    write("vmmio/seed-echo", u8(shape) + setup(nqueues=2, qmask=3) +
          chain(0, echo) + serve(0) + chain(1, echo, indirect=True) +
          serve(1) + u8(OP_ACK) + u8(0xff))
    write("vmmio/seed-legacy", u8(shape | 0x80) +
          setup(nqueues=2, qmask=3, legacy=True) + chain(0, echo) +
          serve(0) + chain(1, echo, indirect=True) + serve(1))
    # EVENT_IDX: used_event and avail_event words, then a wrap of idx.
    write("vmmio/seed-ring-words", u8(shape) + setup(nqueues=2) +
          u8(OP_RING_WORD) + u8(0) + u8(1) + u16(0) + chain(0, echo) +
          serve(0) + u8(OP_AVAIL_RAW) + u8(0) + u16(0xfffe) +
          chain(0, echo) + chain(0, echo) + serve(0, 3))
    # Hand-made descriptors: a loop, a head past the table, a reset.
    desc = (u8(OP_DESC) + u8(0) + u16(0) + gpa_ram(0x2000) + length(8) +
            u8(1) + u16(1) + u8(OP_DESC) + u8(0) + u16(1) + gpa_ram(0x3000) +
            length(8) + u8(3) + u16(0))
    write("vmmio/seed-desc", u8(shape) + setup(nqueues=2) + desc +
          u8(OP_AVAIL) + u8(0) + u16(0) + u8(OP_KICK) + u8(0) + serve(0) +
          u8(OP_AVAIL) + u8(0) + u16(0x8100) + serve(0) + u8(OP_RESET) +
          setup(nqueues=2) + chain(0, echo) + serve(0))


# ---- console: shape byte bit 0 legacy, bit 1 output to a broken pipe.
def seeds_console():
    tx = chain(1, [seg(0x2000, 6, content=b"hello\n")])
    rx = chain(0, [seg(0x3000, 64, True), seg(0x3100, 64, True)])
    inp = u8(OP_BACKEND) + u8(0) + u8(5) + b"typed"
    setup2 = setup(nqueues=2, qmask=3, first=True)
    write("console/seed-tx-rx", u8(0) + setup2 + tx + serve(1) + rx + inp +
          serve(0) + u8(OP_CFG) + u8(0) + u8(3) + u8(0) + u64(0))
    write("console/seed-resize-eof", u8(0) + setup2 + u8(OP_BACKEND) +
          u8(0xa0) + u16(132) + u16(43) + rx + u8(OP_BACKEND) + u8(0xc0) +
          serve(0))
    # TX waits for room: the 8250's share of stdout fills the chardev.
    big = chain(1, [seg(0x2000, 4096, content=b"x" * 64),
                    seg(0x5000, 8192)])
    write("console/seed-tx-full", u8(0) + setup2 +
          (u8(OP_BACKEND) + u8(0xe0) + u16(8000)) * 3 + big + serve(1) +
          u8(OP_BACKEND) + u8(0xd0) + serve(1) + u8(OP_BACKEND) + u8(0xd0) +
          u8(OP_BACKEND) + u8(0xd0) + serve(1) + tx + serve(1))
    write("console/seed-epipe-legacy", u8(3) +
          setup(nqueues=2, qmask=3, legacy=True, first=True) +
          chain(1, [seg(0x2000, 6, content=b"hello\n")], indirect=True) +
          serve(1) + rx + inp + serve(0))


# ---- blk: shape bit 0 legacy, 1 sync engine, 2 ro, 3 discard=off,
# 4-5 queues-1; then image size byte (512 * (1 + n)).
BLK_T = {"in": 0, "out": 1, "flush": 4, "get_id": 8, "discard": 11,
         "write_zeroes": 13, "bogus": 99}


def blk_req(q, typ, sector=0, data_len=512, dev_writes=False, dwz=None,
            indirect=False):
    hdr = struct.pack("<IIQ", BLK_T[typ], 0, sector)
    segs = [seg(0x2000 + 0x100 * q, 16, content=hdr)]
    if dwz is not None:
        rng = struct.pack("<QII", *dwz)
        segs.append(seg(0x2800, 16, content=rng))
    elif data_len:
        segs.append(seg(0x3000, data_len, write=dev_writes,
                        content=b"" if dev_writes else b"D" * 32))
    segs.append(seg(0x4000 + q, 1, write=True))
    return chain(q, segs, indirect=indirect)


def seeds_blk():
    for engine, bit in (("uring", 0), ("sync", 2)):
        write(f"blk/seed-{engine}-rw", u8(bit) + u8(15) + setup(first=True) +
              blk_req(0, "out", sector=1) + serve(0) +
              blk_req(0, "in", sector=1, dev_writes=True) + serve(0) +
              blk_req(0, "flush", data_len=0) + serve(0))
        write(f"blk/seed-{engine}-misc", u8(bit) + u8(15) + setup(first=True) +
              blk_req(0, "get_id", data_len=20, dev_writes=True) +
              blk_req(0, "discard", dwz=(2, 4, 0)) +
              blk_req(0, "write_zeroes", dwz=(0, 8, 1), indirect=True) +
              blk_req(0, "bogus") + serve(0, 2))
    write("blk/seed-ro-mq-legacy", u8(1 | 4 | (1 << 4)) + u8(7) +
          setup(qmask=3, nqueues=2, legacy=True, first=True) +
          blk_req(1, "out") + blk_req(1, "in", dev_writes=True) + serve(1) +
          u8(OP_RESET) + setup(qmask=3, nqueues=2, legacy=True) +
          blk_req(0, "in", sector=7, dev_writes=True) + serve(0))


# ---- serial: mode byte (bit 0: loopback allowed), then ops % 10: 0-5
# access (offset, size-1, write, 8 bytes), 6 typed input (count, bytes),
# 7 a chardev round, 8 the host reads, 9 another frontend writes (count,
# byte).
def seeds_serial():
    def io(off, val, write=True, size=1):
        return u8(0) + u8(off) + u8(size - 1) + u8(write) + u64(val)

    def typed(data):
        return u8(6) + u8(len(data)) + data
    init = (io(3, 0x80) + io(0, 12) + io(1, 0) + io(3, 0x03) + io(2, 0xc7) +
            io(4, 0x0b) + io(1, 0x03))
    write("serial/seed-rx-tx", u8(0) + init + typed(b"hello") +
          io(5, 0, False) + b"".join(io(0, 0, False) for _ in range(6)) +
          io(2, 0, False) + b"".join(io(0, c) for c in b"out\r\n") + u8(7) +
          u8(8))
    # THR waits for room: the other frontend fills the chardev first.
    write("serial/seed-backpressure", u8(0) + init + u8(9) + u16(8000) +
          u8(0x2e) + u8(7) + u8(9) + u16(8000) + u8(0x2e) + u8(7) +
          u8(9) + u16(8000) + u8(0x2e) + io(0, 0x41) + io(5, 0, False) +
          io(0, 0x42) + u8(7) + u8(8) + u8(7) + u8(8) + u8(7) +
          io(5, 0, False) + io(0, 0x43))
    write("serial/seed-loop-wide", u8(1) + init + io(4, 0x1f) + io(0, 0x41) +
          io(0, 0, False, 8) + io(0, 0x4847464544434241, True, 8) +
          io(5, 0, False) + typed(bytes(range(200))) + io(4, 0x0b) +
          io(0, 0, False))


# ---- rtc: 5 bytes of time, then ops: bit 0 write, 1 data port, 7 wide.
def seeds_rtc():
    def op(data_port, write, val):
        return u8((1 if write else 0) | (2 if data_port else 0)) + u64(val)
    t = u32(1700000000) + u8(0)
    reads = b"".join(op(False, True, i) + op(True, False, 0)
                     for i in (0, 2, 4, 6, 7, 8, 9, 0x0a, 0x0b, 0x0d, 0x32))
    write("rtc/seed-clock", t + reads)
    write("rtc/seed-cmos", t + op(False, True, 0x40) + op(True, True, 0x55) +
          op(True, False, 0) + op(False, True, 0x8b) + op(True, True, 0xff) +
          op(True, False, 0) + u8(0x83) + u8(1) + u64(0))


# ---- sysports: ACPI byte, then accesses: selector (bit 7: raw port),
# size (0: 1, 1: 2, 2: 4 bytes), write, 4 bytes.
def seeds_sysports():
    def acc(sel, val, write=True, size=0):
        return u8(sel) + u8(size) + u8(write) + u32(val)
    write("sysports/seed-acpi", u8(1) + acc(4, 0, False) + acc(0, 0, False) +
          acc(9, 0, False) + acc(8, 0x14) + acc(8, 0x34) + acc(4, 0xfe) +
          acc(7, 0x31) + acc(10, 1, size=1))
    write("sysports/seed-noacpi", u8(0) + acc(8, 0x34) + acc(3, 0xfe, size=1) +
          acc(0x80, 0) + u16(0x70) + acc(12, 0, False))


# ---- io_bus: op < 0x40 adds (bit 0: 64-bit base, bit 1: 64-bit length),
# else an access (bit 0 write) near a range or anywhere.
def seeds_io_bus():
    add = (u8(0) + u16(0x3f8) + u8(8) + u8(0) + u16(0x70) + u8(2) +
           u8(3) + u64(0xd0000000) + u64(0x200) + u8(0) + u16(0x3fc) + u8(8))
    acc = (u8(0x40) + u8(0) + u8(0) + u8(0) + u8(0x41) + u8(0x41) + u8(1) +
           u8(3) + u8(0x40) + u8(0x82) + u8(0xff) + u8(7) + u8(0x41) +
           u8(0xc0) + u64(0xfffffffffffffffc) + u8(7))
    write("io_bus/seed-ranges", add + acc)


# ---- kvopt: mode byte (0 u32, 1 size, 2 kvopt_parse, 3 a device spec:
# bits 6-7 disk, NIC, backend, port; bits 4-5 bounds or default unit),
# then the string.
def seeds_kvopt():
    write("kvopt/seed-u32", u8(0x00) + b"12")
    write("kvopt/seed-u32-hex", u8(0x30) + b"0x1f")
    write("kvopt/seed-size", u8(0x01) + b"4KiB")
    write("kvopt/seed-size-mib", u8(0x11) + b"512")
    write("kvopt/seed-parse", u8(0x02) +
          b"disk.img,ro,n=3,size=4K,mac=52:54:00:12:34:56,name=a,,b")
    write("kvopt/seed-vblk", u8(0x03) +
          b"disk.img,serial=boot,queues=2,direct=off,discard=on")
    write("kvopt/seed-vnet", u8(0x43) +
          b"tap0,mac=52:54:00:12:34:56,queues=2,mtu=9000,offload=off")
    write("kvopt/seed-chardev", u8(0x83) + b"unix=/tmp/a,,b.sock,server,wait")
    write("kvopt/seed-port", u8(0xc3) + b"name=org.kvmini.ctl,dev=1,pty")


# ---- bzimage: RAM size byte, initrd length, command line, NUL, file.
def bzimage(version=0x020f, reloc=1, pref=0x1000000, init_size=0x100000,
            kernel=256, align=0x200000):
    img = bytearray(1024 + kernel)
    img[0x1f1] = 1
    struct.pack_into("<I", img, 0x1f4, (kernel + 15) // 16)
    struct.pack_into("<H", img, 0x1fe, 0xaa55)
    img[0x200:0x202] = b"\xeb\x6a"
    img[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", img, 0x206, version)
    img[0x211] = 0x01
    struct.pack_into("<III", img, 0x22c, 0x7fffffff, align, 0)
    img[0x234] = reloc
    struct.pack_into("<H", img, 0x236, 0x01)
    struct.pack_into("<I", img, 0x238, 2048)
    struct.pack_into("<Q", img, 0x258, pref)
    struct.pack_into("<I", img, 0x260, init_size)
    img[1024:] = bytes((i * 7) & 0xff for i in range(kernel))
    return bytes(img)


def seeds_bzimage():
    write("bzimage/seed-reloc", u8(0) + u32(0) + b"console=ttyS0\0" +
          bzimage())
    write("bzimage/seed-initrd", u8(1) + u32(300000) + b"root=/dev/vda\0" +
          bzimage(reloc=0, pref=0x100000, init_size=0x400000))
    write("bzimage/seed-low-pref", u8(2) + u32(4096) + b"\0" +
          bzimage(pref=0, init_size=0x2000000, align=0x1000))


# ---- mdesc: vCPUs, flags (1 serial, 2 raw initrd, 4 corrupt, 8 no
# cmdline, 0x10 cmdline cap), devices, RAM, initrd, [corruption],
# command line, [cap].
def seeds_mdesc():
    def mach(cpus, flags, ids, ram=0, cmd=b"console=ttyS0", extra=b"",
             initrd=(0x3f00000, 0x100000)):
        b = u8(cpus) + u8(flags) + u8(len(ids)) + bytes(ids) + u16(ram)
        b += (u64(initrd[0]) + u64(initrd[1]) if flags & 2 else
              u32(initrd[0]) + u32(initrd[1]))
        return b + extra + cmd + b"\0"
    write("mdesc/seed-small", mach(1, 1, [1]))
    write("mdesc/seed-full", mach(2, 1, [1, 2, 3] * 5 + [2], ram=0x4000))
    write("mdesc/seed-big", mach(254, 0, [2, 2, 2], ram=0x3000, cmd=b""))
    write("mdesc/seed-corrupt", mach(4, 5, [1, 2], extra=u8(1) + u8(4) +
                                     u8(0)))
    write("mdesc/seed-cap", mach(3, 0x11, [1, 3], cmd=b"quiet") + u16(40))


# ---- net: shape (bit 0 legacy, 1 two pairs, 3 offload), caps, MTU, then
# the script after a handshake. Queues: rx0 tx0 [rx1 tx1] ctrl.
def seeds_net():
    hdr = bytes(12)  # virtio_net_hdr_v1: no offload, num_buffers 0
    eth = (b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x56" + b"\x08\x06" +
           bytes(46))
    tx = chain(1, [seg(0x2000, 12, content=hdr), seg(0x2100, 60,
                                                       content=eth[:60])])
    rx = chain(0, [seg(0x3000, 1526, True)]) + chain(0, [seg(0x3800, 1526,
                                                               True)])
    frame = u8(OP_BACKEND) + u8(0) + u8(72) + hdr + eth
    big = u8(OP_BACKEND) + u8(0x80) + u16(3000) + u8(4) + b"abcd"
    ctrl = chain(2, [seg(0x4000, 3, content=b"\x00\x00\x01"),
                     seg(0x4100, 1, True)])
    one = u8(8) + u8(0x7f) + u16(1500) + setup(qmask=7, nqueues=3, first=True)
    write("net/seed-tx-rx-ctrl", one + tx + serve(1) + rx + frame +
          serve(0) + big + serve(0, 2) + ctrl + serve(2))
    write("net/seed-two-pairs", u8(2 | 8) + u8(3) + u16(0) +
          setup(qmask=0x1f, nqueues=5, first=True) +
          chain(4, [seg(0x4000, 4, content=b"\x04\x00\x02\x00"),
                    seg(0x4100, 1, True)]) + serve(4) +
          chain(3, [seg(0x2000, 12, content=hdr), seg(0x2100, 60,
                                                       content=eth[:60])]) +
          serve(3) + chain(2, [seg(0x3000, 1526, True)]) +
          u8(OP_BACKEND) + u8(1) + u8(72) + hdr + eth + serve(2))
    write("net/seed-legacy-nooffload", u8(1) + u8(0) + u16(9000) +
          setup(qmask=7, nqueues=3, legacy=True, first=True) + tx +
          serve(1) + rx + frame + serve(0))


# ---- vser: shape (bit 0 legacy, bits 1-2 ports-1, 3 port 0 a console,
# 4 port 2 missing). Queues: port 0 rx/tx 0/1, control in/out 2/3, port
# N rx/tx 2N+2/2N+3. OP_BACKEND: port | action << 2 (0 typed, 1 the host
# reads, 2 end of input, 3 resize).
def seeds_vser():
    def ctrl(cid, event, value, at):
        return chain(3, [seg(at, 8, content=struct.pack("<IHH", cid, event,
                                                        value))])
    ivq = b"".join(chain(2, [seg(0x2000 + 64 * i, 64, True)]) for i in
                   range(8))
    hand = (ivq + ctrl(0, 0, 1, 0x3000) + serve(3) + serve(2) +
            ctrl(0, 3, 1, 0x3010) + ctrl(1, 3, 1, 0x3020) + serve(3) +
            serve(2) + ctrl(1, 6, 1, 0x3030) + serve(3))
    data = (chain(4, [seg(0x4000, 64, True)]) + u8(OP_BACKEND) + u8(1) +
            u8(5) + b"typed" + serve(4) +
            chain(5, [seg(0x4800, 5, content=b"hello")]) + serve(5) +
            u8(OP_BACKEND) + u8(1 | 1 << 2))
    write("vser/seed-console-port", u8(0x0a) +
          setup(qmask=0x3f, nqueues=6, first=True) + hand + data +
          u8(OP_BACKEND) + u8(3 << 2) + u16(100) + u16(30) + serve(2))
    bad = (ctrl(9, 3, 1, 0x3040) + ctrl(1, 77, 0, 0x3050) +
           chain(3, [seg(0x3060, 3, content=b"abc")]) + ctrl(1, 6, 0, 0x3070) +
           serve(3) + serve(2))
    write("vser/seed-bad-ctrl-gap", u8(0x04 | 0x10) +
          setup(qmask=0xff, nqueues=8, first=True) + hand + bad)
    write("vser/seed-legacy", u8(0x03) +
          setup(qmask=0x3f, nqueues=6, legacy=True, first=True) + hand +
          data)


def seeds_term():
    def reads(*chunks):
        return b"".join(u8(len(c)) + c for c in chunks)
    A = b"\x01"
    write("term/seed-escapes", u8(1) + reads(b"ab" + A + A + b"c", A, b"q",
                                             A, A, b"z" + A + b"X tail"))
    write("term/seed-held-quit", u8(3) + reads(b"x", b"never seen"))
    write("term/seed-not-a-tty", u8(0) + reads(A + b"x" + A + A, b"plain"))
    write("term/seed-byte-reads", u8(1) + reads(*[bytes([c]) for c in
                                                  b"\x01\x01\x01k\x01"]))


def main():
    seeds_vmmio()
    seeds_console()
    seeds_blk()
    seeds_serial()
    seeds_rtc()
    seeds_sysports()
    seeds_io_bus()
    seeds_kvopt()
    seeds_bzimage()
    seeds_mdesc()
    seeds_net()
    seeds_vser()
    seeds_term()


if __name__ == "__main__":
    main()
