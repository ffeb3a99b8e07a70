"""The P4 programs of p4src/, compiled by ipdk-p4c and run in infrap4d on real
namespaces: each test compiles a program, starts the daemon on the spec it
produced, fills the tables through infrap4d-ctl (the spec's table and action
names) and checks the behaviour the program's comments describe, packet by
packet."""
import os
import struct
import subprocess

import pytest
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

from ipdk_net import BUILD, SRC, link_port, wait_until

P4C = os.path.join(BUILD, "lib", "p4c", "ipdk-p4c")
P4SRC = os.path.join(SRC, "p4src")

H1_MAC, H2_MAC, H3_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"
ROUTER_MAC = "02:aa:00:00:00:01"


def compile_p4(workdir, name):
    """Compiles p4src/NAME.p4; returns (spec, p4info text, context JSON) paths."""
    out = os.path.join(workdir, name)
    os.makedirs(out, exist_ok=True)
    spec, info, ctx = (os.path.join(out, name + ext) for ext in (".spec", ".p4info.txt", ".json"))
    r = subprocess.run([P4C, "--arch", "pna", os.path.join(P4SRC, name + ".p4"), "-o", spec,
                        "--p4runtime-files", info, "--context", ctx],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, "ipdk-p4c %s failed:\n%s%s" % (name, r.stdout, r.stderr)
    return spec, info, ctx


def frames_to(sniffer, tag, timeout=2.0, count=1):
    match = lambda p: bytes(p).find(tag) >= 0
    return [Ether(f) for f in sniffer.collect(match, count=count, timeout=timeout)]


def ipv4_checksum_ok(raw):
    hdr = bytes(raw)[14:14 + 20]
    total = sum(struct.unpack("!10H", hdr))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total == 0xffff


# ---- l2_fwd.p4 --------------------------------------------------------------

@pytest.fixture
def l2(hosts, infrap4d, workdir):
    spec, _, _ = compile_p4(workdir, "l2_fwd")
    h1, h2, h3 = hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2"), hosts.add(H3_MAC, "10.0.0.3")
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), link_port("h3", h3)], spec=spec)
    d.ctl("add", "l2_fwd", "match", H2_MAC, "action", "send", "port", 1)
    d.ctl("add", "l2_fwd", "match", H3_MAC, "action", "send", "port", 2)
    sn = [h2.sniffer(), h3.sniffer()]
    yield d, h1, sn
    for s in sn:
        s.close()


def test_l2_fwd_forwards_by_destination_mac(l2):
    d, h1, (s2, s3) = l2
    before = d.counter("rx_count", 0)["packets"]
    h1.send([Ether(src=H1_MAC, dst=H2_MAC, type=0x88b5) / b"to-h2-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
             Ether(src=H1_MAC, dst=H3_MAC, type=0x88b5) / b"to-h3-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
             Ether(src=H1_MAC, dst="02:00:00:00:00:99", type=0x88b5) / b"to-nobody-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"])
    got2 = frames_to(s2, b"to-h2")
    got3 = frames_to(s3, b"to-h3")
    assert len(got2) == 1 and got2[0].dst == H2_MAC and got2[0].src == H1_MAC
    assert len(got3) == 1 and got3[0].dst == H3_MAC
    # the unknown MAC missed and was dropped: it reached neither host
    assert not frames_to(s2, b"to-nobody", timeout=0.5) and not frames_to(s3, b"to-nobody", timeout=0.1)
    assert not frames_to(s3, b"to-h2", timeout=0.1), "frame for h2 leaked to h3"
    wait_until(lambda: d.counter("rx_count", 0)["packets"] - before >= 3)
    st = d.table_stats("l2_fwd")
    assert st["hit"] >= 2 and st["miss"] >= 1, st


def test_l2_fwd_entry_change_moves_traffic(l2):
    d, h1, (s2, s3) = l2
    d.ctl("modify", "l2_fwd", "match", H2_MAC, "action", "send", "port", 2)
    h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b5) / b"moved-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    assert len(frames_to(s3, b"moved")) == 1
    assert not frames_to(s2, b"moved", timeout=0.3)
    d.ctl("del", "l2_fwd", "match", H2_MAC)
    h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b5) / b"gone-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")
    assert not frames_to(s3, b"gone", timeout=0.5) and not frames_to(s2, b"gone", timeout=0.1)


# ---- l3_lpm.p4 --------------------------------------------------------------

def route(prefix, port, dst_mac, route_id):
    return ["add", "ipv4_lpm", "match", prefix, "action", "route", "port", port,
            "src_mac", ROUTER_MAC, "dst_mac", dst_mac, "route_id", route_id]


@pytest.fixture
def l3(hosts, infrap4d, workdir):
    spec, _, _ = compile_p4(workdir, "l3_lpm")
    h1 = hosts.add(H1_MAC, "10.1.0.2", gw="10.1.0.1", gw_mac=ROUTER_MAC)
    h2 = hosts.add(H2_MAC, "10.2.0.2", gw="10.2.0.1", gw_mac=ROUTER_MAC)
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)], spec=spec)
    d.ctl(*route("10.2.0.0/16", 1, H2_MAC, 2))
    d.ctl(*route("10.2.0.0/24", 1, H2_MAC, 3))
    d.ctl(*route("10.1.0.0/24", 0, H1_MAC, 1))
    sn = h2.sniffer()
    yield d, h1, h2, sn
    sn.close()


def udp(h1, dst, ttl, tag):
    return (Ether(src=H1_MAC, dst=ROUTER_MAC) / IP(src=h1.ip, dst=dst, ttl=ttl, id=ttl, flags="DF") /
            UDP(sport=4000, dport=7777) / tag)


def test_l3_lpm_rewrites_macs_ttl_and_checksum(l3):
    d, h1, h2, sn = l3
    h1.send([udp(h1, h2.ip, ttl, b"ttl-%d" % ttl) for ttl in (64, 9)])
    for ttl in (64, 9):
        got = frames_to(sn, b"ttl-%d" % ttl)
        assert len(got) == 1, "routed packet with TTL %d did not arrive" % ttl
        p = got[0]
        assert p.src == ROUTER_MAC and p.dst == H2_MAC
        assert p[IP].ttl == ttl - 1 and p[IP].flags == "DF" and p[IP].src == h1.ip
        assert ipv4_checksum_ok(bytes(p)), "bad IPv4 header checksum after TTL change"
        assert bytes(p[UDP].payload) == b"ttl-%d" % ttl
    # the /24 is longer than the /16: route 3 counted both packets
    wait_until(lambda: d.counter("route_hits", 3)["packets"] == 2)
    assert d.counter("route_hits", 2)["packets"] == 0
    assert d.register("last_ttl", 0) == 9


def test_l3_lpm_drops_expiring_ttl_and_misses(l3):
    d, h1, h2, sn = l3
    h1.send([udp(h1, h2.ip, 1, b"expiring"), udp(h1, "10.9.0.1", 64, b"nowhere"),
             udp(h1, "10.2.7.7", 64, b"short-prefix")])
    assert len(frames_to(sn, b"short-prefix")) == 1
    assert not frames_to(sn, b"expiring", timeout=0.3)
    assert not frames_to(sn, b"nowhere", timeout=0.1)
    wait_until(lambda: d.counter("route_hits", 2)["packets"] == 1)
    st = d.table_stats("ipv4_lpm")
    # TTL 1 never reached the table; the miss did
    assert st["miss"] == 1 and st["hit"] == 1, st


def test_l3_lpm_ping(l3):
    d, h1, h2, sn = l3
    assert h1.ping(h2.ip, count=2) == 2
