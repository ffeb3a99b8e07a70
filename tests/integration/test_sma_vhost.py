"""lib/vblk's vhost-user-blk server under a Python vhost-user front-end (guest
memory in a memfd, split rings, eventfds passed over the socket), no QEMU:
the configuration space and features, reads and writes on two queues,
GET_ID, flush, discard, write-zeroes, read-only devices; and bad input from a
front-end that a guest or a broken VMM could send: unknown request types,
sectors out of range, unaligned lengths, buffers outside guest memory,
descriptor loops, readable after writable descriptors, malformed vhost-user
messages. The server answers IOERR/UNSUPP or drops the connection, and keeps
serving: the device is created through the SMA of storaged --mode ipu. Devices
on remote volumes whose target goes away: requests are held and resent, fail
after --ctrl-loss-timeout, and fail at once when the device is deleted (or are
left unanswered when storaged stops), without touching other devices."""
import json
import os
import signal
import socket
import struct
import time
import uuid

import pytest

from ipu_storaged import IpuStoraged, SmaClient, local_volume, remote_volume
from storaged import Storaged

MEM = 4 << 20
QSIZE = 64
F_VERSION_1, F_PROTOCOL = 32, 30
BLK_F_RO, BLK_F_FLUSH, BLK_F_MQ, BLK_F_DISCARD, BLK_F_WZ = 5, 9, 12, 13, 14
T_IN, T_OUT, T_FLUSH, T_GET_ID, T_DISCARD, T_WZ = 0, 1, 4, 8, 11, 13
S_OK, S_IOERR, S_UNSUPP = 0, 1, 2
D_NEXT, D_WRITE = 1, 2
GET_FEATURES, SET_FEATURES, SET_OWNER, SET_MEM_TABLE = 1, 2, 3, 5
SET_VRING_NUM, SET_VRING_ADDR, SET_VRING_BASE, GET_VRING_BASE = 8, 9, 10, 11
SET_VRING_KICK, SET_VRING_CALL = 12, 13
GET_PROTOCOL_FEATURES, SET_PROTOCOL_FEATURES, GET_QUEUE_NUM, SET_VRING_ENABLE = 15, 16, 17, 18
GET_CONFIG = 24
P_MQ, P_CONFIG = 0, 9


class Frontend:
    """A minimal vhost-user-blk front-end; queue q's rings live at q * 64 KiB."""

    def __init__(self, path, queues=1):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.memfd = os.memfd_create("guest")
        os.ftruncate(self.memfd, MEM)
        import mmap
        self.mem = mmap.mmap(self.memfd, MEM)
        self.queues = queues
        self.avail_idx = [0] * queues
        self.used_seen = [0] * queues
        self.kick = [os.eventfd(0, os.EFD_NONBLOCK) for _ in range(queues)]
        self.call = [os.eventfd(0, os.EFD_NONBLOCK) for _ in range(queues)]

    def send(self, req, payload=b"", fds=()):
        msg = struct.pack("<III", req, 1, len(payload)) + payload
        if fds:
            socket.send_fds(self.sock, [msg], list(fds))
        else:
            self.sock.sendall(msg)

    def recv(self, req):
        hdr = self._recvn(12)
        r, flags, size = struct.unpack("<III", hdr)
        assert r == req and flags & 4, (r, flags)
        return self._recvn(size)

    def _recvn(self, n):
        buf = b""
        while len(buf) < n:
            d = self.sock.recv(n - len(buf))
            if not d:
                raise ConnectionError("closed")
            buf += d
        return buf

    def u64(self, req):
        self.send(req)
        return struct.unpack("<Q", self.recv(req))[0]

    def config(self):
        self.send(GET_CONFIG, struct.pack("<III", 0, 60, 0) + bytes(60))
        return self.recv(GET_CONFIG)[12:]

    def setup(self, features=None):
        offered = self.u64(GET_FEATURES)
        want = features if features is not None else offered & ~(1 << 28 | 1 << 29)
        self.send(SET_FEATURES, struct.pack("<Q", want))
        self.send(SET_PROTOCOL_FEATURES, struct.pack(
            "<Q", self.u64(GET_PROTOCOL_FEATURES) & (1 << P_MQ | 1 << P_CONFIG)))
        self.send(SET_OWNER)
        self.send(SET_MEM_TABLE, struct.pack("<II", 1, 0) + struct.pack("<QQQQ", 0, MEM, 0x7f0000000000, 0),
                  [self.memfd])
        for q in range(self.queues):
            base = q * 0x10000
            self.send(SET_VRING_NUM, struct.pack("<II", q, QSIZE))
            self.send(SET_VRING_BASE, struct.pack("<II", q, 0))
            self.send(SET_VRING_ADDR, struct.pack("<IIQQQQ", q, 0, 0x7f0000000000 + base,
                                                  0x7f0000000000 + base + 0x2000,
                                                  0x7f0000000000 + base + 0x1000, 0))
            self.send(SET_VRING_CALL, struct.pack("<Q", q), [self.call[q]])
            self.send(SET_VRING_KICK, struct.pack("<Q", q), [self.kick[q]])
            self.send(SET_VRING_ENABLE, struct.pack("<II", q, 1))
        self.u64(GET_FEATURES)   # a barrier: everything before it was handled
        return offered

    # -- guest memory layout: rings at q*64K, request areas from 1 MiB --
    def w(self, off, data):
        self.mem[off:off + len(data)] = data

    def r(self, off, n):
        return bytes(self.mem[off:off + n])

    def submit(self, q, chain):
        """chain: [(addr, len, flags)] for descriptors 0..n-1 of slot 0 of queue q
        (next pointers filled in unless given as a 4th element)."""
        base = q * 0x10000
        for i, d in enumerate(chain):
            addr, ln, fl = d[:3]
            nxt = d[3] if len(d) > 3 else i + 1
            if i + 1 < len(chain) and len(d) == 3:
                fl |= D_NEXT
            self.w(base + 16 * i, struct.pack("<QIHH", addr, ln, fl, nxt))
        a = base + 0x1000
        self.w(a + 4 + 2 * (self.avail_idx[q] % QSIZE), struct.pack("<H", 0))
        self.avail_idx[q] = (self.avail_idx[q] + 1) & 0xffff
        self.w(a + 2, struct.pack("<H", self.avail_idx[q]))
        os.eventfd_write(self.kick[q], 1)

    def wait_used(self, q, timeout=5):
        u = q * 0x10000 + 0x2000
        end = time.monotonic() + timeout
        while struct.unpack("<H", self.r(u + 2, 2))[0] == self.used_seen[q]:
            assert time.monotonic() < end, "no completion on queue %d" % q
            time.sleep(0.001)
        i = self.used_seen[q] % QSIZE
        self.used_seen[q] = (self.used_seen[q] + 1) & 0xffff
        return struct.unpack("<II", self.r(u + 4 + 8 * i, 8))

    def start_read(self, q, sector, n=512):
        """Starts a read in slot 0 of queue q without waiting; returns where its
        status byte is (0xff until it completes)."""
        area = 0x100000 + q * 0x100000
        self.w(area, struct.pack("<IIQ", T_IN, 0, sector))
        self.w(area + 0x800, b"\xff")
        self.submit(q, [(area, 16, 0), (area + 0x1000, n, D_WRITE), (area + 0x800, 1, D_WRITE)])
        return area + 0x800

    def request(self, q, rtype, sector, data=None, read_len=0, status_at=None, extra=(),
                timeout=5):
        """One request in slot 0 of queue q; returns (status, used_len, data read)."""
        area = 0x100000 + q * 0x100000
        self.w(area, struct.pack("<IIQ", rtype, 0, sector))
        chain = [(area, 16, 0)]
        if data is not None:
            self.w(area + 0x1000, data)
            chain.append((area + 0x1000, len(data), 0))
        if read_len:
            self.w(area + 0x1000, b"\xee" * read_len)
            chain.append((area + 0x1000, read_len, D_WRITE))
        chain += list(extra)
        st = status_at if status_at is not None else area + 0x800
        self.w(st, b"\xff")
        chain.append((st, 1, D_WRITE))
        self.submit(q, chain)
        head, used_len = self.wait_used(q, timeout)
        assert head == 0
        return self.r(st, 1)[0], used_len, self.r(area + 0x1000, read_len)

    def close(self):
        self.sock.close()
        self.mem.close()
        os.close(self.memfd)


@pytest.fixture(scope="module")
def ipu(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("vhost"))
    s = IpuStoraged(d, args=["--queues", "2"])
    yield s
    ok = s.alive()
    s.stop()
    assert ok, "storaged died:\n" + s.log_text()[-3000:]


def make_device(ipu, pid, size_mib=4, ro_file=None, block_size=512):
    vid = str(uuid.uuid4())
    if ro_file:
        ipu.ctl("bdev_file %s %s ro" % (vid, ro_file))
    else:
        ipu.ctl("bdev_ram %s %d %d" % (vid, size_mib, block_size))
    sma = SmaClient(ipu.sma_port)
    h = sma.create_virtio_blk(local_volume(vid), pid)
    sma.close()
    return vid, h, os.path.join(ipu.vhost_dir, "vblk%d.sock" % pid)


def delete_device(ipu, h, vid):
    sma = SmaClient(ipu.sma_port)
    sma.delete(h)
    sma.close()
    ipu.ctl("bdev_delete %s" % vid)


def still_serves_then_delete(ipu, h, vid, path):
    """A new connection still reads; then the device goes."""
    f = Frontend(path)
    try:
        f.setup()
        assert f.request(0, T_IN, 0, read_len=512)[0] == S_OK
    finally:
        f.close()
    delete_device(ipu, h, vid)


def test_config_and_io_on_two_queues(ipu):
    vid, h, path = make_device(ipu, 0)
    f = Frontend(path, queues=2)
    try:
        offered = f.setup()
        for bit in (F_VERSION_1, F_PROTOCOL, BLK_F_FLUSH, BLK_F_MQ, BLK_F_DISCARD, BLK_F_WZ):
            assert offered >> bit & 1, bit
        assert not offered >> BLK_F_RO & 1
        assert f.u64(GET_QUEUE_NUM) == 2
        cfg = f.config()
        capacity, _, seg_max = struct.unpack_from("<QII", cfg)
        assert capacity == 4 * 2048 and seg_max == 126
        assert struct.unpack_from("<I", cfg, 20)[0] == 512           # blk_size
        assert struct.unpack_from("<H", cfg, 34)[0] == 2             # num_queues
        data = os.urandom(8192)
        assert f.request(0, T_OUT, 16, data=data)[0] == S_OK
        st, used, back = f.request(1, T_IN, 16, read_len=8192)
        assert st == S_OK and back == data and used == 8192 + 1
        st, used, ident = f.request(0, T_GET_ID, 0, read_len=20)
        assert st == S_OK and ident == vid[:20].encode() and used == 21
        assert f.request(1, T_FLUSH, 0)[0] == S_OK
        seg = struct.pack("<QII", 16, 8, 0)
        assert f.request(0, T_DISCARD, 0, data=seg)[0] == S_OK
        assert f.request(0, T_IN, 16, read_len=4096)[2] == bytes(4096)
        assert f.request(0, T_IN, 24, read_len=4096)[2] == data[4096:]
        assert f.request(1, T_WZ, 0, data=struct.pack("<QII", 24, 8, 1))[0] == S_OK
        assert f.request(1, T_IN, 24, read_len=4096)[2] == bytes(4096)
        # a request whose header and data share one descriptor
        area = 0x300000
        f.w(area, struct.pack("<IIQ", T_OUT, 0, 40) + b"\x5a" * 512)
        f.w(area + 0x800, b"\xff")
        f.submit(0, [(area, 16 + 512, 0), (area + 0x800, 1, D_WRITE)])
        f.wait_used(0)
        assert f.r(area + 0x800, 1) == b"\x00"
        assert f.request(0, T_IN, 40, read_len=512)[2] == b"\x5a" * 512
    finally:
        f.close()
    delete_device(ipu, h, vid)


def test_bad_requests(ipu):
    vid, h, path = make_device(ipu, 1)
    f = Frontend(path)
    try:
        f.setup()
        assert f.request(0, 99, 0)[0] == S_UNSUPP
        assert f.request(0, T_IN, 4 * 2048, read_len=512)[0] == S_IOERR       # past the end
        assert f.request(0, T_IN, 4 * 2048 - 1, read_len=1024)[0] == S_IOERR  # across it
        assert f.request(0, T_OUT, 0, data=b"x" * 100)[0] == S_IOERR          # not 512-aligned
        assert f.request(0, T_DISCARD, 0, data=struct.pack("<QII", 0, 8, 1))[0] == S_UNSUPP
        assert f.request(0, T_DISCARD, 0, data=b"short")[0] == S_IOERR
        # a data buffer outside guest memory
        assert f.request(0, T_IN, 0, extra=[(MEM + 4096, 512, D_WRITE)])[0] == S_IOERR
        # a readable descriptor after a writable one
        assert f.request(0, T_OUT, 0, read_len=512, extra=[(0x200000, 512, 0)])[0] == S_IOERR
        # a write whose data descriptor the device would write into
        area = 0x100000
        f.w(area, struct.pack("<IIQ", T_OUT, 0, 0))
        f.w(area + 0x800, b"\xff")
        f.submit(0, [(area, 16, 0), (area + 0x1000, 512, D_WRITE), (area + 0x800, 1, D_WRITE)])
        f.wait_used(0)
        assert f.r(area + 0x800, 1)[0] == S_IOERR
        # a descriptor loop: the chain never ends, so there is no status byte
        f.w(area, struct.pack("<IIQ", T_IN, 0, 0))
        f.submit(0, [(area, 16, D_NEXT, 1), (area + 0x1000, 512, D_WRITE | D_NEXT, 0)])
        time.sleep(0.3)
        assert "malformed request" in ipu.log_text()
        # the device is still served: a new connection works
    finally:
        f.close()
    still_serves_then_delete(ipu, h, vid, path)


def test_malformed_messages(ipu):
    vid, h, path = make_device(ipu, 2)
    cases = [
        struct.pack("<III", 999, 1, 0),                          # unknown request
        struct.pack("<III", SET_MEM_TABLE, 1, 8) + struct.pack("<II", 1, 0),   # no fds
        struct.pack("<III", SET_VRING_NUM, 1, 8) + struct.pack("<II", 7, 64),  # no queue 7
        struct.pack("<III", SET_VRING_NUM, 1, 8) + struct.pack("<II", 0, 100), # not 2^n
        struct.pack("<III", GET_CONFIG, 1, 12) + struct.pack("<III", 50, 100, 0),
        struct.pack("<III", SET_FEATURES, 1, 8) + struct.pack("<Q", 1 << 63),
        struct.pack("<III", GET_FEATURES, 1, 5000) + b"x" * 100,  # oversized payload
        b"\x01\x00",                                              # half a header
    ]
    for raw in cases:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(path)
        s.sendall(raw)
        s.shutdown(socket.SHUT_WR)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
        s.close()
    time.sleep(0.2)
    assert ipu.alive()
    still_serves_then_delete(ipu, h, vid, path)


def test_read_only(ipu, tmp_path):
    img = str(tmp_path / "ro.img")
    with open(img, "wb") as fh:
        fh.write(b"R" * (1 << 20))
    vid, h, path = make_device(ipu, 3, ro_file=img)
    f = Frontend(path)
    try:
        offered = f.setup()
        assert offered >> BLK_F_RO & 1 and not offered >> BLK_F_DISCARD & 1
        assert f.request(0, T_IN, 0, read_len=512)[2] == b"R" * 512
        assert f.request(0, T_OUT, 0, data=b"w" * 512)[0] == S_IOERR
        assert f.request(0, T_WZ, 0, data=struct.pack("<QII", 0, 8, 0))[0] == S_IOERR
    finally:
        f.close()
    delete_device(ipu, h, vid)


def test_4k_blocks(ipu):
    """A device with 4 KiB blocks: blk_size says so, the capacity stays in 512-byte
    sectors, and requests not aligned to 4 KiB are refused."""
    vid, h, path = make_device(ipu, 4, block_size=4096)
    f = Frontend(path)
    try:
        f.setup()
        cfg = f.config()
        assert struct.unpack_from("<Q", cfg)[0] == 4 * 2048
        assert struct.unpack_from("<I", cfg, 20)[0] == 4096
        data = os.urandom(4096)
        assert f.request(0, T_OUT, 8, data=data)[0] == S_OK
        assert f.request(0, T_IN, 8, read_len=4096)[2] == data
        assert f.request(0, T_IN, 1, read_len=4096)[0] == S_IOERR      # not on a block
        assert f.request(0, T_OUT, 8, data=data[:512])[0] == S_IOERR   # part of a block
    finally:
        f.close()
    delete_device(ipu, h, vid)


def remote_setup(tmp_path, tag, n_ns, ctrl_loss_ms):
    """A target storaged with n_ns RAM namespaces in subsystem nqn.2024-01.io.ipdk:<tag>
    and an IPU storaged; returns (target, nqn, namespace UUIDs, ipu)."""
    nqn = "nqn.2024-01.io.ipdk:" + tag
    d = str(tmp_path)
    cfg = ["bdev_ram r%d 4" % i for i in range(n_ns)] + ["subsys_add %s any" % nqn]
    cfg += ["ns_add %s r%d" % (nqn, i) for i in range(n_ns)]
    t = Storaged(d, name=tag + "-target", config=cfg)
    ns = json.loads(t.ctl("subsys_list").splitlines()[0])["namespaces"]
    ipu = IpuStoraged(d, name=tag + "-ipu", args=["--ctrl-loss-timeout", str(ctrl_loss_ms)])
    return t, nqn, [n["uuid"] for n in ns], ipu


def remote_device(ipu, sma, t, nqn, vid, pid):
    """A device on remote volume vid, connected and written once; returns (handle, front-end)."""
    h = sma.create_virtio_blk(remote_volume(vid, t.port, nqn), pid)
    f = Frontend(os.path.join(ipu.vhost_dir, "vblk%d.sock" % pid))
    f.setup()
    assert f.request(0, T_OUT, 0, data=bytes([65 + pid]) * 512)[0] == S_OK
    return h, f


def stop_all(t, ipu, fronts):
    for f in fronts:
        f.close()
    ipu.stop()
    if t.alive():
        t.stop()


def test_remote_volume_target_lost(tmp_path):
    """A device on a remote volume whose target goes away: a request waits
    while the initiator reconnects and completes once the target is back; when
    the target stays away past --ctrl-loss-timeout it fails with IOERR, the
    server keeps running and the device can be deleted."""
    t, nqn, (vid,), ipu = remote_setup(tmp_path, "lost", 1, 4000)
    f = None
    try:
        sma = SmaClient(ipu.sma_port)
        h, f = remote_device(ipu, sma, t, nqn, vid, 0)
        t.stop(sig=9)
        t.start()          # same port and subsystem: the initiator reconnects
        assert f.request(0, T_IN, 0, read_len=512, timeout=30)[0] == S_OK
        t.stop(sig=9)      # and now for good
        assert f.request(0, T_IN, 0, read_len=512, timeout=60)[0] == S_IOERR
        assert ipu.alive() and ipu.devices()[0]["errors"] >= 1
        f.close()
        f = None
        sma.delete(h)
        assert ipu.devices() == []
        sma.close()
    finally:
        stop_all(t, ipu, [f] if f else [])


def test_delete_while_target_away(tmp_path):
    """DeleteDevice of a device whose remote target is gone fails the request held
    for it with IOERR and returns long before --ctrl-loss-timeout (60 s here); a
    device on another volume of the same target keeps holding its request, which
    completes once the target is back; a local device keeps serving throughout."""
    t, nqn, ns, ipu = remote_setup(tmp_path, "away", 2, 60000)
    fronts = []
    try:
        local = str(uuid.uuid4())
        ipu.ctl("bdev_ram %s 4 512" % local)
        sma = SmaClient(ipu.sma_port)
        h0 = sma.create_virtio_blk(remote_volume(ns[0], t.port, nqn), 0)
        h1 = sma.create_virtio_blk(remote_volume(ns[1], t.port, nqn), 1)
        h2 = sma.create_virtio_blk(local_volume(local), 2)
        for pid in range(3):
            fronts.append(Frontend(os.path.join(ipu.vhost_dir, "vblk%d.sock" % pid)))
            fronts[pid].setup()
            assert fronts[pid].request(0, T_OUT, 0, data=bytes([65 + pid]) * 512)[0] == S_OK
        t.stop(sig=9)
        st0 = fronts[0].start_read(0, 0)
        st1 = fronts[1].start_read(0, 0)
        # the delete returns well before the 60 s the request would be held
        sma.delete(h0, timeout=20)
        assert fronts[0].r(st0, 1)[0] == S_IOERR
        assert [x["handle"] for x in ipu.devices()].count(h0) == 0
        assert "held while its target is away fails" in ipu.log_text()
        # the other remote device still holds; the local one serves
        assert fronts[1].r(st1, 1)[0] == 0xff
        assert fronts[2].request(0, T_IN, 0, read_len=512)[2] == b"C" * 512
        t.start()
        fronts[1].wait_used(0, timeout=30)
        assert fronts[1].r(st1, 1)[0] == S_OK
        # read from the restarted target (its RAM device starts zeroed), not made up
        assert fronts[1].r(0x101000, 512) == bytes(512)
        for f in fronts:
            f.close()
        fronts = []
        sma.delete(h1)
        sma.delete(h2)
        assert ipu.devices() == [] and ipu.alive()
        sma.close()
    finally:
        stop_all(t, ipu, fronts)


def test_stop_while_target_away(tmp_path):
    """storaged stopping while a request is held for a target that is gone leaves
    the request unanswered (for the next storaged, as QEMU would resubmit it) and
    exits cleanly at once, not after --ctrl-loss-timeout."""
    t, nqn, (vid,), ipu = remote_setup(tmp_path, "stop", 1, 60000)
    f = None
    try:
        sma = SmaClient(ipu.sma_port)
        f = remote_device(ipu, sma, t, nqn, vid, 0)[1]
        sma.close()
        t.stop(sig=9)
        st = f.start_read(0, 0)
        time.sleep(0.5)     # let the server take the request
        assert f.r(st, 1)[0] == 0xff
        assert ipu.stop() == 0    # within stop()'s 10 s, else it is killed
        assert f.r(st, 1)[0] == 0xff
    finally:
        stop_all(t, ipu, [f] if f else [])


def test_delete_while_target_stopped(tmp_path):
    """A target that stops answering but keeps its connections (SIGSTOP): DeleteDevice
    makes the initiator check the controller at once (a keep-alive, answered within
    the connect timeout or not at all) and fails the request it holds, instead of
    waiting for the next keep-alive and then --ctrl-loss-timeout (60 s)."""
    t, nqn, (vid,), ipu = remote_setup(tmp_path, "sigstop", 1, 60000)
    f = None
    try:
        sma = SmaClient(ipu.sma_port)
        h, f = remote_device(ipu, sma, t, nqn, vid, 0)
        t.proc.send_signal(signal.SIGSTOP)
        st = f.start_read(0, 0)
        sma.delete(h, timeout=30)
        assert f.r(st, 1)[0] == S_IOERR
        assert ipu.devices() == [] and ipu.alive()
        sma.close()
    finally:
        t.proc.send_signal(signal.SIGCONT)
        stop_all(t, ipu, [f] if f else [])
