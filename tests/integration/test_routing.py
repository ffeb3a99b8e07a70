"""IPv4 LPM routing with MAC rewrite in infrap4d's default pipeline: two hosts
in different subnets use the pipeline's router MAC as their gateway. Checks the
frames as they arrive: both MACs rewritten, TTL down by one, a valid header
checksum, the payload untouched, the per-route counter and longest-prefix
choice."""
import struct

import pytest
from scapy.layers.inet import ICMP, IP, UDP
from scapy.layers.l2 import Ether

from ipdk_net import link_port, wait_until

ROUTER_MAC = "02:aa:00:00:00:01"
H1_MAC, H2_MAC = "02:00:00:00:01:01", "02:00:00:00:02:02"


def route(prefix, port, dst_mac, route_id):
    return ("ipv4_lpm match %s action ipv4_route port %d src_mac %s dst_mac %s route_id %d"
            % (prefix, port, ROUTER_MAC, dst_mac, route_id))


def ipv4_checksum_ok(frame):
    hdr = frame[14:14 + 20]
    total = sum(struct.unpack("!10H", hdr))
    while total >> 16:
        total = (total & 0xffff) + (total >> 16)
    return total == 0xffff


@pytest.fixture
def routed(hosts, infrap4d):
    h1 = hosts.add(H1_MAC, "10.1.0.2", gw="10.1.0.1", gw_mac=ROUTER_MAC)
    h2 = hosts.add(H2_MAC, "10.2.0.2", gw="10.2.0.1", gw_mac=ROUTER_MAC)
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)],
                 entries=[route("10.2.0.0/24", 1, H2_MAC, 2), route("10.1.0.0/24", 0, H1_MAC, 1)])
    return d, h1, h2


def test_ping_across_subnets(routed):
    d, h1, h2 = routed
    before = d.counter("route_hits", 2)["packets"]
    assert h1.ping(h2.ip, count=3) == 3
    assert h2.ping(h1.ip, count=2) == 2
    assert d.counter("route_hits", 2)["packets"] - before >= 5
    st = d.table_stats("ipv4_lpm")
    assert st["hit"] >= 10, st


def test_rewrite_ttl_and_checksum(routed):
    d, h1, h2 = routed
    sn = h2.sniffer()
    try:
        sent = []
        for ttl in (64, 10, 2):
            f = (Ether(src=H1_MAC, dst=ROUTER_MAC) /
                 IP(src=h1.ip, dst=h2.ip, ttl=ttl, id=ttl) /
                 UDP(sport=4000 + ttl, dport=7777) / (b"route-me-%d" % ttl))
            sent.append(f)
        h1.send(sent)
        got = sn.collect(lambda p: UDP in p and p[UDP].dport == 7777, count=3)
    finally:
        sn.close()
    assert len(got) == 3, "routed frames seen on h2: %d of 3" % len(got)
    by_ttl = {}
    for raw in got:
        p = Ether(raw)
        assert p.src == ROUTER_MAC and p.dst == H2_MAC, p.summary()
        assert ipv4_checksum_ok(raw), "bad IPv4 checksum in %s" % raw[14:34].hex()
        by_ttl[p[IP].id] = (p, raw)
    for f in sent:
        p, raw = by_ttl[f[IP].id]
        assert p[IP].ttl == f[IP].ttl - 1
        assert p[IP].src == h1.ip and p[IP].dst == h2.ip
        # Everything after the TTL and checksum is as sent.
        sent_raw = bytes(f)
        assert raw[14 + 20:len(sent_raw)] == sent_raw[14 + 20:]
        assert raw[14:14 + 8] == sent_raw[14:14 + 8]
        assert raw[14 + 12:14 + 20] == sent_raw[14 + 12:14 + 20]


def test_ping_request_rewritten(routed):
    d, h1, h2 = routed
    sn = h2.sniffer()
    try:
        assert h1.ping(h2.ip, count=1) == 1
        got = sn.collect(lambda p: ICMP in p and p[ICMP].type == 8, count=1)
    finally:
        sn.close()
    assert got, "no echo request seen on h2"
    p = Ether(got[0])
    assert p.src == ROUTER_MAC and p.dst == H2_MAC
    assert p[IP].ttl == 63
    assert ipv4_checksum_ok(got[0])


def test_longest_prefix_wins(routed):
    d, h1, h2 = routed
    # A /32 for h2 that sends it back to h1's port beats the /24.
    d.ctl("add", route("10.2.0.2/32", 0, H1_MAC, 3))
    try:
        assert h1.ping(h2.ip, count=2, wait=1) == 0
        assert d.counter("route_hits", 3)["packets"] >= 2
    finally:
        d.ctl("del", route("10.2.0.2/32", 0, H1_MAC, 3))
    assert h1.ping(h2.ip, count=2) == 2


def test_no_route_drops(routed):
    d, h1, h2 = routed
    sn = h2.sniffer()
    try:
        st0 = d.table_stats("ipv4_lpm")
        h1.send([Ether(src=H1_MAC, dst=ROUTER_MAC) / IP(src=h1.ip, dst="192.0.2.9") /
                 UDP(dport=7778) / b"nowhere"] * 3)
        got = sn.collect(lambda p: UDP in p and p[UDP].dport == 7778, count=1, timeout=1.0)
        st1 = d.table_stats("ipv4_lpm")
    finally:
        sn.close()
    assert not got
    assert st1["miss"] - st0["miss"] == 3, (st0, st1)
    assert st1["action:drop"] - st0["action:drop"] == 3, (st0, st1)


def test_drop_port_counts_drops(routed):
    d, h1, h2 = routed
    before = d.ports()["(drop)"]["tx"]
    h1.send([Ether(src=H1_MAC, dst=ROUTER_MAC) / IP(src=h1.ip, dst="192.0.2.9") /
             UDP(dport=7778) / b"nowhere"] * 3)
    assert wait_until(lambda: d.ports()["(drop)"]["tx"] - before >= 3, timeout=2.0), \
        (before, d.ports()["(drop)"])
