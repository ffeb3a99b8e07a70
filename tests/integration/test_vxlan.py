"""VXLAN encapsulation with p4src/specs/vxlan_encap.spec: frames sent from one
namespace leave the pipeline wrapped in the outer headers the entry gives, with
the inner frame byte for byte as sent."""
import struct

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN

from ipdk_net import link_port, spec_path

H1_MAC, H2_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
INNER_DST = "02:00:00:00:0a:0b"
VTEP_SRC_MAC, VTEP_DST_MAC = "02:11:11:11:11:11", "02:22:22:22:22:22"
VTEP_SRC_IP, VTEP_DST_IP = "192.168.10.1", "192.168.20.2"


def encap_entry(mac, vni, port=1, sport=49152):
    return ("vxlan_encap_tbl match %s action vxlan_encap port %d outer_dst_mac %s "
            "outer_src_mac %s outer_src_ip %s outer_dst_ip %s udp_src_port %d vni %d"
            % (mac, port, VTEP_DST_MAC, VTEP_SRC_MAC, VTEP_SRC_IP, VTEP_DST_IP, sport, vni))


def ipv4_checksum_ok(hdr):
    total = sum(struct.unpack("!10H", hdr[:20]))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total == 0xffff


@pytest.fixture
def vxlan(hosts, infrap4d):
    h1 = hosts.add(H1_MAC, "10.0.0.1")
    h2 = hosts.add(H2_MAC, "10.0.0.2")
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)],
                 spec=spec_path("vxlan_encap.spec"),
                 entries=[encap_entry(INNER_DST, 0x123456)])
    return d, h1, h2


def test_encapsulated_frames(vxlan):
    d, h1, h2 = vxlan
    frames = [Ether(src=H1_MAC, dst=INNER_DST) / IP(src="10.0.0.1", dst="10.0.0.99", id=i) /
              UDP(sport=1000 + i, dport=2000) / (b"x" * (10 + 300 * i)) for i in range(3)]
    sn = h2.sniffer()
    try:
        h1.send(frames)
        got = sn.collect(lambda p: UDP in p and p[UDP].dport == 4789, count=3)
    finally:
        sn.close()
    assert len(got) == 3, "encapsulated frames on h2: %d of 3" % len(got)
    by_id = {}
    for raw in got:
        outer = Ether(raw)
        assert outer.src == VTEP_SRC_MAC and outer.dst == VTEP_DST_MAC
        assert outer.type == 0x0800
        ip = outer[IP]
        assert (ip.src, ip.dst, ip.proto, ip.ttl, ip.ihl) == (VTEP_SRC_IP, VTEP_DST_IP, 17, 64, 5)
        assert ip.len == len(raw) - 14, "outer IPv4 total length %d, frame %d" % (ip.len, len(raw))
        assert ipv4_checksum_ok(raw[14:34]), "bad outer IPv4 checksum"
        udp = outer[UDP]
        assert udp.sport == 49152 and udp.dport == 4789
        assert udp.len == len(raw) - 34
        vx = raw[42:50]
        assert vx[0] == 0x08, "VXLAN flags %#x" % vx[0]
        assert int.from_bytes(vx[4:7], "big") == 0x123456
        assert vx[1:4] == b"\0\0\0" and vx[7] == 0
        assert outer[VXLAN].vni == 0x123456
        inner = raw[50:]
        by_id[Ether(inner)[IP].id] = inner
    for i, f in enumerate(frames):
        assert by_id[i] == bytes(f), "inner frame %d changed" % i


def test_vni_per_entry_and_unknown_dropped(vxlan):
    d, h1, h2 = vxlan
    other = "02:00:00:00:0c:0d"
    d.ctl("add", encap_entry(other, 77, sport=50000))
    sn = h2.sniffer()
    try:
        h1.send([Ether(src=H1_MAC, dst=other) / IP(src="10.0.0.1", dst="10.0.0.98") /
                 UDP(dport=3000) / b"second tenant",
                 Ether(src=H1_MAC, dst="02:00:00:00:ee:ee") / IP(src="10.0.0.1", dst="10.0.0.97") /
                 UDP(dport=3001) / b"no entry"])
        got = sn.collect(lambda p: UDP in p and p[UDP].dport == 4789, count=2, timeout=1.5)
    finally:
        sn.close()
    assert len(got) == 1, "expected only the known MAC to be encapsulated, got %d" % len(got)
    outer = Ether(got[0])
    assert outer[VXLAN].vni == 77 and outer[UDP].sport == 50000
    assert bytes(outer[VXLAN].payload).endswith(b"second tenant")
    st = d.table_stats("vxlan_encap_tbl")
    assert st["hit"] >= 1 and st["miss"] >= 1, st
