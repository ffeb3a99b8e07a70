"""ipdk's NVMe/TCP initiator (lib/nvmf) and its nvme-tcp block device
(lib/blk), driven through tools/nvmf-host against storaged --mode target on
loopback: discovery, Identify and properties, data integrity on several I/O
queues with I/O sizes from one block to beyond the controller's transfer
limit, with and without digests; data written by our initiator read back by
the independent Python host of storaged.py; the target killed and restarted
during a verify run (I/O held, completes, verify passes); the controller
given up after ctrl-loss-tmo; wrong NQNs, refused hosts, a closed port and a
target that never answers; and, against a small fake target written here,
malformed PDUs and TermReqs from the target side."""
import json
import os
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from nvmf_host import NVMF_HOST, run as nvmf_host_run
from storaged import HOSTNQN, NvmeTcpHost, Storaged, crc32c, free_port

NQN = "nqn.2024-01.io.ipdk:ini0"
FILE_NQN = "nqn.2024-01.io.ipdk:inifile"
LOCKED = "nqn.2024-01.io.ipdk:inilocked"
OTHER_HOST = "nqn.2014-08.org.nvmexpress:uuid:99999999-1111-2222-3333-444444444444"


@pytest.fixture(scope="module")
def workdir():
    d = tempfile.mkdtemp(prefix="ipdk-nvmfhost-")
    yield d
    subprocess.run(["rm", "-rf", d])


@pytest.fixture(scope="module")
def target(workdir):
    t = Storaged(workdir, name="ini-target", config=[
        "bdev_ram ram0 64", "bdev_ram ram1 16 4096",
        "subsys_add %s any serial=SN-INI0" % NQN,
        "ns_add %s ram0" % NQN, "ns_add %s ram1" % NQN,
        "bdev_ram ram2 4", "subsys_add %s" % LOCKED, "ns_add %s ram2" % LOCKED,
        "host_add %s %s" % (LOCKED, HOSTNQN)])
    yield t
    assert t.alive(), "storaged died:\n" + t.log_text()
    assert t.stop() == 0, t.log_text()


def nvmf_host(port, *args, nqn=NQN, **kw):
    return nvmf_host_run(port, *args, nqn=nqn, **kw)


def jrun(port, *args, **kw):
    return json.loads(nvmf_host(port, *args, **kw).stdout)


def test_discovery(target):
    out = nvmf_host(target.port, "discover", nqn=None).stdout.decode()
    entries = [json.loads(l) for l in out.splitlines()]
    by_nqn = {e["subnqn"]: e for e in entries}
    # the allow list is the default host's: LOCKED allows only HOSTNQN
    assert NQN in by_nqn and LOCKED not in by_nqn, entries
    e = by_nqn[NQN]
    assert e["trtype"] == 3 and e["adrfam"] == 1 and e["subtype"] == 2
    assert e["traddr"] == "127.0.0.1" and e["trsvcid"] == str(target.port)
    out = nvmf_host(target.port, "-H", HOSTNQN, "discover", nqn=None).stdout.decode()
    assert LOCKED in out


def test_identify_properties_namespaces(target):
    j = jrun(target.port, "identify")
    assert j["subnqn"] == NQN and j["serial"] == "SN-INI0" and j["model"] == "ipdk"
    assert j["cc"] & 1 and j["csts"] & 1, "controller not enabled: %r" % j
    assert (j["cc"] >> 16) & 0xF == 6 and (j["cc"] >> 20) & 0xF == 4   # IOSQES, IOCQES
    assert j["cap"] & 0xFFFF == 127 and j["version"] == "1.3"
    assert j["max_xfer"] == 131072 and j["in_capsule"] == 8192
    assert j["oncs"] & 0xC == 0xC and j["vwc"] and not j["discovery"]
    subs = {s["nqn"]: s for s in map(json.loads, target.ctl("subsys_list").splitlines())}
    want = {n["nsid"]: n for n in subs[NQN]["namespaces"]}
    got = {n["nsid"]: n for n in j["namespaces"]}
    assert set(got) == set(want)
    for nsid, n in want.items():
        assert got[nsid]["num_blocks"] == n["num_blocks"]
        assert got[nsid]["block_size"] == n["block_size"]
        assert got[nsid]["uuid"] == n["uuid"]
    # the controller counts us while connected; a namespace by UUID
    data = os.urandom(8192)
    nvmf_host(target.port, "--uuid", want[2]["uuid"], "write", 0, 8192, stdin=data)
    assert nvmf_host(target.port, "--nsid", 2, "read", 0, 8192).stdout == data
    r = nvmf_host(target.port, "--uuid", "00000000-0000-0000-0000-000000000000", "read", 0,
                  4096, check=False)
    assert r.returncode == 1 and b"no namespace with UUID" in r.stderr


@pytest.mark.parametrize("digests,queues,nsid,bs_max", [
    ((), 2, 1, 131072),
    (("--hdgst",), 3, 2, 1048576),            # beyond MDTS: split commands
    (("--hdgst", "--ddgst"), 2, 1, 262144),
    (("--ddgst",), 1, 2, 16384),
])
def test_verify(target, digests, queues, nsid, bs_max):
    j = jrun(target.port, *digests, "--nsid", nsid, "-Q", queues, "-d", 24, "--ios", 6000,
             "--bs-min", 512 if nsid == 1 else 4096, "--bs-max", bs_max, "verify")
    assert j["errors"] == 0 and j["mismatches"] == 0, j
    assert j["reads"] > 0 and j["writes"] > 0 and j["other"] > 0, j
    assert j["queues"] == queues


def test_python_host_reads_our_writes(target):
    """Data our initiator wrote (R2T and in-capsule) as an independent host sees it."""
    big, small = os.urandom(65536), os.urandom(4096)
    nvmf_host(target.port, "--hdgst", "--ddgst", "write", 1 << 20, len(big), stdin=big)
    nvmf_host(target.port, "write", 2 << 20, len(small), stdin=small)
    h = NvmeTcpHost(target.port, hdgst=True, ddgst=True)
    try:
        h.icreq()
        assert h.connect(NQN).status == 0
        h.enable()
        c = h.set_num_queues(1)
        assert c.status == 0
        q = NvmeTcpHost(target.port, hdgst=True, ddgst=True)
        q.icreq()
        assert q.connect(NQN, qid=1, cntlid=h.cntlid).status == 0
        c = q.rw(False, 1, (1 << 20) // 512, len(big) // 512)
        assert c.status == 0 and c.data == big
        c = q.rw(False, 1, (2 << 20) // 512, len(small) // 512)
        assert c.status == 0 and c.data == small
        # and the other way round
        mine = os.urandom(16384)
        assert q.rw(True, 1, (3 << 20) // 512, len(mine) // 512, mine).status == 0
        q.close()
    finally:
        h.close()
    assert nvmf_host(target.port, "read", 3 << 20, 16384).stdout == mine


def test_refusals(target):
    r = nvmf_host(target.port, "identify", nqn="nqn.2024-01.io.ipdk:nosuch", check=False)
    assert r.returncode == 1 and b"no subsystem nqn.2024-01.io.ipdk:nosuch" in r.stderr
    r = nvmf_host(target.port, "-H", OTHER_HOST, "identify", nqn=LOCKED, check=False)
    assert r.returncode == 1 and b"does not allow host " + OTHER_HOST.encode() in r.stderr
    r = nvmf_host(target.port, "identify", nqn="bogus", check=False)
    assert r.returncode == 1 and b"not a valid NQN" in r.stderr
    assert "host not allowed" in target.log_text()
    # allowed host: connects
    j = jrun(target.port, "-H", HOSTNQN, "identify", nqn=LOCKED)
    assert j["subnqn"] == LOCKED
    # more I/O queues than the target grants is not an error: we get what it gives
    j = jrun(target.port, "-Q", 40, "identify")
    assert j["io_queues"] == 16


def test_closed_port_and_silent_target():
    r = nvmf_host(free_port(), "identify", check=False)
    assert r.returncode == 1 and b"cannot connect: Connection refused" in r.stderr
    # a listener that never accepts: TCP connects, nothing ever answers
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    try:
        r = nvmf_host(s.getsockname()[1], "--connect-timeout", 800, "identify", check=False)
        assert r.returncode == 1 and b"no ICResp within 800 ms" in r.stderr, r.stderr
    finally:
        s.close()


def test_target_restart_mid_io(workdir):
    """storaged killed (SIGKILL) and restarted during a verify run: the initiator
    holds the I/O, reconnects and the run ends without errors or mismatches."""
    disk = os.path.join(workdir, "restart.img")
    t = Storaged(workdir, name="restart", config=[
        "bdev_file disk0 %s size=64 buffered" % disk, "subsys_add %s any" % FILE_NQN,
        "ns_add %s disk0" % FILE_NQN])
    try:
        p = subprocess.Popen([NVMF_HOST, "-a", "127.0.0.1", "-p", str(t.port), "-n", FILE_NQN,
                              "-Q", "2", "-d", "16", "-t", "6", "--kato", "2000",
                              "--reconnect-delay", "200", "--ctrl-loss-tmo", "30000",
                              "--hdgst", "-L", "info", "verify"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(2)
        assert p.poll() is None, p.communicate()
        t.stop(sig=9)
        time.sleep(1)
        t.start()
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
        j = json.loads(out)
        assert j["errors"] == 0 and j["mismatches"] == 0 and j["reconnects"] >= 1, j
        assert b"reconnected" in err and b"lost" in err
    finally:
        t.stop()


def test_controller_loss_fails_io_after_timeout(workdir):
    t = Storaged(workdir, name="loss", config=[
        "bdev_ram r0 16", "subsys_add %s any" % FILE_NQN, "ns_add %s r0" % FILE_NQN])
    p = subprocess.Popen([NVMF_HOST, "-a", "127.0.0.1", "-p", str(t.port), "-n", FILE_NQN,
                          "-d", "8", "-t", "5", "--ctrl-loss-tmo", "1000", "verify"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)
    t.stop(sig=9)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 1
    assert json.loads(out)["errors"] > 0
    assert b"Input/output error" in err and b"cannot connect: Connection refused" in err, err


# ---- a fake target that misbehaves -----------------------------------------------

class FakeTarget:
    """Answers ICReq, Connect, properties, Identify and Set Features well enough for
    our initiator to create a block device, then misbehaves as `mode` says:
    icresp-type (a CapsuleResp instead of an ICResp), icresp-pfv (PDU format 1),
    term (a C2HTermReq instead of an ICResp), bad-pdu (an unknown PDU type on the
    I/O queue in answer to a read), bad-cid (a response for a command never sent),
    c2h-range (C2HData past the read's end), hdgst (a wrong header digest)."""

    def __init__(self, mode):
        self.mode = mode
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.term_reqs = []
        self.hd = False
        self.stop = False
        self.th = threading.Thread(target=self.serve, daemon=True)
        self.th.start()

    def close(self):
        self.stop = True
        self.sock.close()

    def serve(self):
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self.conn, args=(c,), daemon=True).start()

    @staticmethod
    def recvn(c, n):
        buf = b""
        while len(buf) < n:
            d = c.recv(n - len(buf))
            if not d:
                raise EOFError
            buf += d
        return buf

    def send(self, c, ptype, hdr, data=b"", flags=0, corrupt=False):
        hd = self.hd and ptype not in (0x01, 0x03)
        hlen = 8 + len(hdr)
        pdo = hlen + (4 if hd else 0) if data else 0
        plen = hlen + (4 if hd else 0) + len(data)
        ch = struct.pack("<BBBBI", ptype, flags | (1 if hd else 0), hlen, pdo, plen)
        out = ch + hdr
        if hd:
            out += struct.pack("<I", crc32c(out) ^ (0xFFFF if corrupt else 0))
        c.sendall(out + data)

    def resp(self, c, cid, dw0=0, status=0):
        self.send(c, 0x05, struct.pack("<IIHHHH", dw0, 0, 0, 0, cid, status << 1))

    def conn(self, c):
        try:
            self.run(c)
        except (EOFError, OSError):
            pass
        finally:
            c.close()

    def run(self, c):
        qid = None
        while True:
            ch = self.recvn(c, 8)
            ptype, flags, hlen, pdo, plen = struct.unpack("<BBBBI", ch)
            rest = self.recvn(c, plen - 8)
            if ptype == 0x02:
                self.term_reqs.append(struct.unpack("<HI", rest[0:6]))
                return
            if ptype == 0x00:
                if self.mode == "icresp-type":
                    self.resp(c, 0)
                elif self.mode == "term":
                    self.send(c, 0x03, struct.pack("<HI", 6, 8) + bytes(10))
                else:
                    # header digests only when asked for, and only in hdgst mode
                    dg = rest[3] & 1 if self.mode == "hdgst" else 0
                    ic = struct.pack("<HBBI", 1 if self.mode == "icresp-pfv" else 0, 0, dg,
                                     131072) + bytes(112)
                    self.send(c, 0x01, ic)
                    self.hd = bool(dg)
                continue
            sqe = rest[:64]
            opc, cid = sqe[0], struct.unpack("<H", sqe[2:4])[0]
            if opc == 0x7F and sqe[4] == 0x01:        # Connect
                qid = struct.unpack("<H", sqe[42:44])[0]
                self.resp(c, cid, dw0=7)
            elif opc == 0x7F and sqe[4] == 0x04:      # Property Get
                off = struct.unpack("<I", sqe[44:48])[0]
                v = {0x0: 127 | 1 << 16 | 2 << 24 | 1 << 37, 0x8: 0x10300, 0x1C: 1}.get(off, 0)
                self.send(c, 0x05, struct.pack("<QHHHH", v, 0, 0, cid, 0))
            elif opc == 0x7F:
                self.resp(c, cid)
            elif opc == 0x06:                         # Identify
                cns = sqe[40]
                d = bytearray(4096)
                if cns == 1:
                    d[77] = 5
                    struct.pack_into("<H", d, 78, 7)
                    struct.pack_into("<I", d, 516, 1)
                    struct.pack_into("<I", d, 1792, (64 + 8192) // 16)
                    d[768:768 + len(NQN)] = NQN.encode()
                elif cns == 2:
                    struct.pack_into("<I", d, 0, 1)
                elif cns == 0:
                    struct.pack_into("<QQ", d, 0, 2048, 2048)
                    d[130] = 9
                self.send(c, 0x07, struct.pack("<HHII", cid, 0, 0, 4096) + bytes(4),
                          bytes(d), flags=0x04)
                self.resp(c, cid)
            elif opc == 0x09 and qid == 0:            # Set Features
                self.resp(c, cid, dw0=0)
            elif qid == 0:
                self.resp(c, cid)
            elif self.mode == "bad-pdu":
                self.send(c, 0x42, bytes(16))
            elif self.mode == "bad-cid":
                self.resp(c, (cid + 77) & 0xFFFF)
            elif self.mode == "c2h-range":
                n = (struct.unpack("<I", sqe[48:52])[0] & 0xFFFF) + 1
                self.send(c, 0x07, struct.pack("<HHII", cid, 0, 512, n * 512) + bytes(4),
                          bytes(n * 512), flags=0x04)
            elif self.mode == "hdgst":
                self.send(c, 0x05, struct.pack("<IIHHHH", 0, 0, 0, 0, cid, 0), corrupt=True)
            else:
                self.resp(c, cid)


@pytest.mark.parametrize("mode,stage,msg", [
    ("icresp-type", "connect", b"expected an ICResp"),
    ("icresp-pfv", "connect", b"unsupported PDU format version"),
    ("term", "connect", b"terminated the connection (C2HTermReq: unsupported parameter"),
    ("bad-pdu", "io", b"PDU type not expected on an I/O queue"),
    ("bad-cid", "io", b"response for no command in flight"),
    ("c2h-range", "io", b"C2HData outside the read"),
    ("hdgst", "io", b"header digest mismatch"),
])
def test_malformed_pdus_from_target(mode, stage, msg):
    f = FakeTarget(mode)
    try:
        r = nvmf_host(f.port, *(["--hdgst"] if mode == "hdgst" else []), "--ctrl-loss-tmo", 600, "--reconnect-delay", 100,
                      "--connect-timeout", 2000, "read", 0, 4096, check=False, timeout=60)
        assert r.returncode == 1, r
        assert msg in r.stderr, r.stderr
        if stage == "io":
            assert b"Input/output error" in r.stderr and b"malformed PDU" in r.stderr
        if mode != "term":
            # we told the target why, with an H2CTermReq naming the fatal error
            deadline = time.monotonic() + 5
            while not f.term_reqs and time.monotonic() < deadline:
                time.sleep(0.05)
            assert f.term_reqs, "no H2CTermReq from the initiator"
    finally:
        f.close()
