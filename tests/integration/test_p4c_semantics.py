"""P4 semantics that take more than one SWX instruction, checked on packets:
tests/p4c/programs/arith.p4 is compiled by ipdk-p4c, run in infrap4d, and
for every pair of signed 8-bit values in a sample the frame that comes out
must carry the results P4 defines (signed order, arithmetic shift, sign
extension, slices of sub-byte fields, multiplication by a constant, an inlined
function)."""
import os
import struct
import subprocess

from scapy.layers.l2 import Ether

from ipdk_net import SRC, link_port
from test_p4c_programs import H1_MAC, H2_MAC, P4C, frames_to

PROGRAMS = os.path.join(SRC, "tests", "p4c", "programs")
VALUES = [-128, -127, -6, -5, -4, -1, 0, 1, 5, 64, 126, 127]


def compile_test_program(workdir, name):
    spec = os.path.join(workdir, name + ".spec")
    r = subprocess.run([P4C, os.path.join(PROGRAMS, name + ".p4"), "-o", spec],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return spec


def test_signed_order_shift_and_casts(hosts, infrap4d, workdir):
    spec = compile_test_program(workdir, "arith")
    h1, h2 = hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2")
    infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)], spec=spec)
    sn = h2.sniffer()
    cases = [(a, b) for a in VALUES for b in VALUES[::3]]
    frames = []
    for i, (a, b) in enumerate(cases):
        body = struct.pack("!bb6xhBBB", a, b, 0, 0, 0, 0) + b"case-%03d" % i + b"x" * 30
        frames.append(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b5) / body)
    h1.send(frames)
    got = {}
    for f in frames_to(sn, b"case-", timeout=5.0, count=len(cases)):
        raw = bytes(f)[14:]
        i = int(raw[18:21])
        got[i] = raw
    sn.close()
    assert len(got) == len(cases), "frames lost: %d of %d" % (len(got), len(cases))
    for i, (a, b) in enumerate(cases):
        r = got[i]
        fa, fb, lt, le, gt, ge, ltm5, shr3, wide, nib, mul10, umax = struct.unpack("!bbBBBBBbhBBB", r[:13])
        assert (fa, fb) == (a, b)
        assert (lt, le, gt, ge) == (a < b, a <= b, a > b, a >= b), (a, b, r[:13].hex())
        assert ltm5 == (a < -5), (a, ltm5)
        assert shr3 == a >> 3, (a, shr3)
        assert wide == a, (a, wide)
        assert nib >> 4 == (a & 0xff) >> 4 and nib & 15 == b & 15, (a, b, nib)
        assert mul10 == (a & 0xff) * 10 & 0xff, (a, mul10)
        assert umax == max(a & 0xff, b & 0xff), (a, b, umax)


def test_internet_checksum_subtract(hosts, infrap4d, workdir):
    """cksum_sub.p4 rewrites the destination address and TTL and updates the
    IPv4 checksum incrementally with InternetChecksum.subtract: the result
    must be the checksum scapy computes from scratch."""
    from scapy.layers.inet import IP
    spec = compile_test_program(workdir, "cksum_sub")
    h1, h2 = hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2")
    infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)], spec=spec)
    sn = h2.sniffer()
    dsts = ["10.0.0.2", "192.168.255.0", "1.2.0.0", "255.255.255.255", "172.16.12.34"]
    try:
        frames = [Ether(src=H1_MAC, dst=H2_MAC) / IP(src="10.0.0.1", dst=d, ttl=64 - i, proto=253) /
                  (b"ck-%d" % i + b"x" * 40) for i, d in enumerate(dsts)]
        h1.send(frames)
        for i, d in enumerate(dsts):
            got = frames_to(sn, b"ck-%d" % i)
            assert len(got) == 1, d
            ip = got[0][IP]
            want = IP(bytes(frames[i][IP]))
            want.dst = ".".join(str(b) for b in (bytes(int(x) for x in d.split("."))[:2] +
                                                 bytes(x ^ 0xff for x in bytes(int(x) for x in d.split("."))[2:])))
            want.ttl -= 1
            want.chksum = None
            assert (ip.dst, ip.ttl) == (want.dst, want.ttl)
            assert ip.chksum == IP(bytes(want)).chksum, (d, hex(ip.chksum), hex(IP(bytes(want)).chksum))
    finally:
        sn.close()
