"""storaged --mode target driven by a NVMe/TCP host written in Python
(storaged.py): configuration through the control socket and its error
messages, Connect/properties/Identify/discovery, reads and writes with
in-capsule data and R2T on several I/O queues with and without digests, host
allow lists, and malformed PDUs answered with C2HTermReq, after which the
target still serves new connections."""
import json
import os
import socket
import struct
import tempfile
import time

import pytest

from storaged import (DISCOVERY_NQN, HOSTNQN, NvmeTcpHost, Storaged, TermReq,
                      discovery_entries)

NQN = "nqn.2024-01.io.ipdk:vol0"
LOCKED = "nqn.2024-01.io.ipdk:locked"
OTHER_HOST = "nqn.2014-08.org.nvmexpress:uuid:99999999-1111-2222-3333-444444444444"


@pytest.fixture(scope="module")
def target():
    d = tempfile.mkdtemp(prefix="ipdk-storage-")
    t = Storaged(d, config=["bdev_ram ram0 16", "bdev_ram ram1 8 4096",
                            "subsys_add %s any serial=SN-VOL0" % NQN,
                            "ns_add %s ram0" % NQN, "ns_add %s ram1 5" % NQN,
                            "bdev_ram ram2 4", "subsys_add %s" % LOCKED,
                            "ns_add %s ram2" % LOCKED])
    yield t
    assert t.alive(), "storaged died:\n" + t.log_text()
    assert t.stop() == 0, t.log_text()
    os.system("rm -rf %s" % d)


def admin(target, nqn=NQN, **kw):
    h = NvmeTcpHost(target.port, **kw)
    h.icreq()
    c = h.connect(nqn)
    assert c.status == 0, c
    return h


def test_ctl_validation(target):
    assert "not a valid NQN" in target.ctl_err("subsys_add bogus")
    assert "already exists" in target.ctl_err("subsys_add %s" % NQN)
    assert "no such device" in target.ctl_err("ns_add %s nope" % NQN)
    assert "namespace 1 exists" in target.ctl_err("ns_add %s ram2 1" % NQN)
    assert "no such subsystem" in target.ctl_err("ns_add nqn.2024-01.io.ipdk:none ram0")
    assert "discovery subsystem" in target.ctl_err("ns_add %s ram0" % DISCOVERY_NQN)
    assert "name in use" in target.ctl_err("bdev_ram ram0 4")
    assert "not a number" in target.ctl_err("bdev_ram x lots")
    assert "unknown command" in target.ctl_err("frobnicate")
    assert "not a valid NQN" in target.ctl_err("host_add %s hostname" % LOCKED)
    assert "no namespace 9" in target.ctl_err("ns_remove %s 9" % NQN)
    subs = {s["nqn"]: s for s in map(json.loads, target.ctl("subsys_list").splitlines())}
    assert [n["nsid"] for n in subs[NQN]["namespaces"]] == [1, 5]
    assert subs[NQN]["serial"] == "SN-VOL0" and subs[NQN]["allow_any_host"]
    assert subs[LOCKED]["hosts"] == [] and not subs[LOCKED]["allow_any_host"]


def test_admin_identify(target):
    h = admin(target)
    c, cap = h.prop_get(0x0, wide=True)
    assert c.status == 0 and (cap & 0xFFFF) == 127 and cap >> 37 & 1
    assert h.prop_get(0x8)[1] == 0x00010300
    assert h.prop_get(0x1C)[1] & 1 == 0
    h.enable()
    assert h.prop_get(0x1C)[1] & 1 == 1
    c = h.identify(1)
    assert c.status == 0 and len(c.data) == 4096
    d = c.data
    assert struct.unpack("<H", d[78:80])[0] == h.cntlid
    assert d[4:24].decode().strip() == "SN-VOL0"
    assert d[768:1024].rstrip(b"\0").decode() == NQN
    assert d[111] == 1                                   # I/O controller
    assert struct.unpack("<I", d[1792:1796])[0] == (64 + 8192) // 16
    assert struct.unpack("<H", d[320:322])[0] > 0        # keep-alive supported
    c = h.identify(2)
    ids = struct.unpack("<1024I", c.data)
    assert ids[:3] == (1, 5, 0)
    c = h.identify(0, nsid=5)
    nsze, = struct.unpack("<Q", c.data[:8])
    assert nsze == 8 * 1024 * 1024 // 4096 and c.data[128 + 2] == 12
    c = h.identify(3, nsid=1)
    subs = {s["nqn"]: s for s in map(json.loads, target.ctl("subsys_list").splitlines())}
    uuid = subs[NQN]["namespaces"][0]["uuid"].replace("-", "")
    assert c.data[0] == 3 and c.data[4:20].hex() == uuid
    assert h.identify(0, nsid=77).status == 0x0B         # invalid namespace
    assert h.identify(0x42).status == 0x02               # invalid field
    h.close()


@pytest.mark.parametrize("digests", [False, True], ids=["plain", "digests"])
def test_io_queues(target, digests):
    h = admin(target, hdgst=digests, ddgst=digests)
    h.enable()
    c = h.set_num_queues(2)
    assert c.status == 0 and (c.dw0 & 0xFFFF) == 1
    qs = []
    for qid in (1, 2):
        q = NvmeTcpHost(target.port, hdgst=digests, ddgst=digests)
        q.icreq()
        c = q.connect(NQN, qid=qid, sqsize=63, cntlid=h.cntlid)
        assert c.status == 0, c
        qs.append(q)
    small = os.urandom(4096)
    big = os.urandom(96 * 1024)
    assert qs[0].rw(True, 1, 8, 8, small).status == 0                 # in-capsule
    assert qs[1].rw(True, 1, 100, 192, big).status == 0              # R2T + H2CData
    assert qs[1].rw(False, 1, 8, 8).data == small
    assert qs[0].rw(False, 1, 100, 192).data == big
    blk4k = os.urandom(4096)
    assert qs[0].rw(True, 5, 3, 1, blk4k, in_capsule=False).status == 0
    assert qs[1].rw(False, 5, 3, 1, bs=4096).data == blk4k
    # errors: range, namespace, length mismatch
    assert qs[0].rw(False, 1, 32768, 1).status == 0x80               # LBA out of range
    assert qs[0].rw(False, 3, 0, 1).status == 0x0B                   # no namespace 3
    assert qs[0].rw(True, 1, 0, 2, small).status == 0x0F             # SGL length
    # a third queue beyond the two granted is refused
    q3 = NvmeTcpHost(target.port)
    q3.icreq()
    c = q3.connect(NQN, qid=3, sqsize=15, cntlid=h.cntlid)
    assert (c.sct, c.sc) == (1, 0x82)
    q3.close()
    for q in qs:
        q.close()
    h.close()


def test_discovery(target):
    h = NvmeTcpHost(target.port)
    h.icreq()
    assert h.connect(DISCOVERY_NQN).status == 0
    c = h.identify(1)
    assert c.data[111] == 2                              # discovery controller
    hdr = h.get_log_page(0x70, 1024)
    genctr, numrec, _ = discovery_entries(hdr.data)
    assert numrec == 1                                   # LOCKED does not allow us
    full = h.get_log_page(0x70, 1024 * (numrec + 1))
    _, _, entries = discovery_entries(full.data)
    assert entries == [{"trtype": 3, "adrfam": 1, "subtype": 2, "trsvcid": str(target.port),
                        "subnqn": NQN, "traddr": "127.0.0.1"}]
    target.ctl("host_add %s %s" % (LOCKED, HOSTNQN))
    try:
        g2, n2, _ = discovery_entries(h.get_log_page(0x70, 1024).data)
        assert n2 == 2 and g2 > genctr
    finally:
        target.ctl("host_remove %s %s" % (LOCKED, HOSTNQN))
    h.close()


def test_host_allow_list(target):
    h = NvmeTcpHost(target.port)
    h.icreq()
    c = h.connect(LOCKED)
    assert (c.sct, c.sc) == (1, 0x84)                    # Connect Invalid Host
    h = NvmeTcpHost(target.port)
    h.icreq()
    c = h.connect("nqn.2024-01.io.ipdk:nosuch")
    assert (c.sct, c.sc) == (1, 0x82) and c.dw0 == (1 << 16 | 256)
    target.ctl("host_add %s %s" % (LOCKED, OTHER_HOST))
    try:
        h = NvmeTcpHost(target.port)
        h.icreq()
        assert h.connect(LOCKED, hostnqn=OTHER_HOST).status == 0
        h.close()
    finally:
        target.ctl("host_remove %s %s" % (LOCKED, OTHER_HOST))
    assert "refused for subsystem %s: host not allowed" % LOCKED in target.log_text()


def expect_term(h, fes):
    with pytest.raises(TermReq) as e:
        h.recv_pdu()
    assert e.value.fes == fes, "expected FES %d, got %r" % (fes, e.value.fes)
    with pytest.raises((TermReq, ConnectionError, socket.timeout)):
        h.recv_pdu()                                     # and the target closed


def test_malformed_pdus(target):
    h = NvmeTcpHost(target.port)
    h.sock.sendall(b"\x42\x00\x08\x00\x08\x00\x00\x00")  # unknown PDU type
    expect_term(h, 1)
    h = NvmeTcpHost(target.port)
    h.send_pdu(0x00, struct.pack("<HBBI", 1, 0, 0, 0) + bytes(112))
    expect_term(h, 6)                                    # unsupported PFV
    h = NvmeTcpHost(target.port)
    h.send_pdu(0x04, bytes(64))                          # command before ICReq
    expect_term(h, 2)
    h = NvmeTcpHost(target.port)
    h.send_pdu(0x00, bytes(100))                         # ICReq with a short header
    expect_term(h, 1)
    h = NvmeTcpHost(target.port, hdgst=True)
    h.icreq()
    h.sock.sendall(struct.pack("<BBBBI", 4, 1, 72, 0, 76) + bytes(64) + b"\xde\xad\xbe\xef")
    expect_term(h, 3)                                    # header digest mismatch
    h = admin(target)
    h.send_pdu(0x06, struct.pack("<HHIII", 1, 7, 0, 512, 0), bytes(512))
    expect_term(h, 1)                                    # H2CData nobody asked for
    h = NvmeTcpHost(target.port)
    h.icreq()
    h.sock.sendall(struct.pack("<BBBBI", 4, 0, 72, 72, 0x7FFFFFFF) + bytes(64))
    expect_term(h, 1)                                    # absurd PDU length
    h = NvmeTcpHost(target.port)
    h.icreq()
    assert h.identify(1).status == 0x0C                  # admin command before Connect
    h.close()
    h = NvmeTcpHost(target.port)
    h.icreq()
    c = h.connect(NQN, sqsize=4000)
    assert (c.sct, c.sc) == (1, 0x82)                    # queue too large
    # half a PDU, then the host goes away
    h = NvmeTcpHost(target.port)
    h.icreq()
    h.sock.sendall(struct.pack("<BBBBI", 4, 0, 72, 0, 72) + bytes(10))
    h.close()
    # the target still serves
    h = admin(target)
    h.enable()
    assert h.identify(1).status == 0
    h.close()
    assert target.alive()


def test_keep_alive_timeout(target):
    h = NvmeTcpHost(target.port, timeout=15)
    h.icreq()
    assert h.connect(NQN, kato=1000).status == 0
    # no keep-alive is sent: the target ends the controller
    with pytest.raises((TermReq, ConnectionError)):
        h.recv_pdu()
    assert "keep-alive timeout" in target.log_text()


def test_subsystem_removed_under_io(target):
    target.ctl("bdev_ram tmp0 4")
    target.ctl("subsys_add nqn.2024-01.io.ipdk:tmp any")
    target.ctl("ns_add nqn.2024-01.io.ipdk:tmp tmp0")
    target.ctl("bdev_delete tmp0")    # the namespace keeps the device alive
    h = admin(target, nqn="nqn.2024-01.io.ipdk:tmp")
    h.enable()
    q = NvmeTcpHost(target.port)
    q.icreq()
    assert q.connect("nqn.2024-01.io.ipdk:tmp", qid=1, sqsize=15, cntlid=h.cntlid).status == 0
    assert q.rw(True, 1, 0, 1, bytes(512)).status == 0
    target.ctl("ns_remove nqn.2024-01.io.ipdk:tmp 1")
    assert q.rw(False, 1, 0, 1).status == 0x0B
    target.ctl("subsys_remove nqn.2024-01.io.ipdk:tmp")
    for x in (h, q):
        with pytest.raises((TermReq, ConnectionError, socket.timeout)):
            x.identify(1) if x is h else x.rw(False, 1, 0, 1)
    assert target.alive()
