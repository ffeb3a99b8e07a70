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
    arch = "psa" if name.endswith("_psa") else "pna"
    r = subprocess.run([P4C, "--arch", arch, os.path.join(P4SRC, name + ".p4"), "-o", spec,
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


# ---- l2_fwd.p4 and l2_fwd_psa.p4 --------------------------------------------

@pytest.fixture(params=["l2_fwd", "l2_fwd_psa"])
def l2(request, hosts, infrap4d, workdir):
    """l2_fwd.p4 (PNA) and l2_fwd_psa.p4 (PSA) behave the same."""
    spec, _, _ = compile_p4(workdir, request.param)
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


# ---- acl.p4 -----------------------------------------------------------------

@pytest.fixture
def acl(hosts, infrap4d, workdir):
    spec, _, _ = compile_p4(workdir, "acl")
    h1, h2 = hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2")
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)], spec=spec)
    # UDP is permitted, except destination ports 4096-8191 from h1; TCP is permitted.
    d.ctl("add", "acl", "match", "*", "*", "17/0xff", "*", "priority", 10, "action", "permit", "port", 1)
    d.ctl("add", "acl", "match", "10.0.0.1/0xffffffff", "*", "17/0xff", "0x1000/0xf000", "priority", 20,
          "action", "deny")
    d.ctl("add", "acl", "match", "*", "*", "6/0xff", "*", "priority", 5, "action", "permit", "port", 1)
    sn = h2.sniffer()
    yield d, h1, h2, sn
    sn.close()


def test_acl_priorities_ternary_and_port_ranges(acl):
    d, h1, h2, sn = acl
    base = Ether(src=H1_MAC, dst=H2_MAC) / IP(src=h1.ip, dst=h2.ip)
    h1.send([base / UDP(sport=1000, dport=53) / b"udp-53",
             base / UDP(sport=1000, dport=5000) / b"udp-5000",
             base / UDP(sport=1000, dport=8192) / b"udp-8192",
             base / TCP(sport=1000, dport=5000, flags="S") / b"tcp-5000",
             base / IP(proto=47) / b"gre-nomatch"])
    assert len(frames_to(sn, b"udp-53")) == 1
    assert len(frames_to(sn, b"udp-8192")) == 1, "port just above the denied range was not permitted"
    assert len(frames_to(sn, b"tcp-5000")) == 1
    assert not frames_to(sn, b"udp-5000", timeout=0.3), "higher-priority deny did not win"
    assert not frames_to(sn, b"gre-nomatch", timeout=0.1)
    wait_until(lambda: d.counter("denied", 0)["packets"] == 2)


# ---- ecmp.p4 ----------------------------------------------------------------

@pytest.fixture
def ecmp(hosts, infrap4d, workdir):
    spec, _, ctx = compile_p4(workdir, "ecmp")
    h1 = hosts.add(H1_MAC, "10.1.0.2", gw="10.1.0.1", gw_mac=ROUTER_MAC)
    h2, h3 = hosts.add(H2_MAC, "10.2.0.2"), hosts.add(H3_MAC, "10.2.0.3")
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), link_port("h3", h3)], spec=spec)
    d.ctl("add", "ecmp_member_table", "match", 1, "action", "set_nhop", "port", 1, "dst_mac", H2_MAC)
    d.ctl("add", "ecmp_member_table", "match", 2, "action", "set_nhop", "port", 2, "dst_mac", H3_MAC)
    d.ctl("group", "add", "ecmp_sel", 1)
    d.ctl("group", "member-set", "ecmp_sel", 1, 1, 1)
    d.ctl("group", "member-set", "ecmp_sel", 1, 2, 1)
    d.ctl("add", "ecmp", "match", "10.2.0.0/16", "action", "ecmp_set_group_id", "group_id", 1)
    sn = [h2.sniffer(), h3.sniffer()]
    yield d, h1, sn, ctx
    for s in sn:
        s.close()


def test_ecmp_spreads_flows_and_keeps_each_on_one_hop(ecmp):
    d, h1, (s2, s3), ctx = ecmp
    flows = range(2000, 2032)
    h1.send([Ether(src=H1_MAC, dst=ROUTER_MAC) / IP(src=h1.ip, dst="10.2.9.9", ttl=20) /
             UDP(sport=sport, dport=80) / (b"flow-%d-%d" % (sport, i)) for sport in flows for i in range(2)])
    wait_until(lambda: len(s2.collect(lambda p: True, count=0, timeout=0)) +
               len(s3.collect(lambda p: True, count=0, timeout=0)) >= 64, timeout=3)
    on = {}
    for idx, (s, mac) in enumerate(((s2, H2_MAC), (s3, H3_MAC))):
        for p in frames_to(s, b"flow-", count=0, timeout=0.2):
            assert p.dst == mac and p.src == ROUTER_MAC and p[IP].ttl == 19
            assert ipv4_checksum_ok(bytes(p))
            on.setdefault(p[UDP].sport, set()).add(idx)
    assert set(on) == set(flows), "some flows were lost"
    assert all(len(v) == 1 for v in on.values()), "a flow was split over next hops"
    used = [sum(1 for v in on.values() if i in v) for i in (0, 1)]
    assert min(used) >= 4, "flows were not spread over both next hops: %s" % used
    # the context maps the P4 table onto the three spec tables
    import json
    t = json.load(open(ctx))["tables"][0]
    assert (t["name"], t["member_table"], t["group_table"]) == (
        "MainControlImpl.ecmp", "ecmp_member_table", "ecmp_sel")


# ---- conntrack.p4 -----------------------------------------------------------

@pytest.fixture
def ct(hosts, infrap4d, workdir):
    spec, _, _ = compile_p4(workdir, "conntrack")
    inside, outside = hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2")
    d = infrap4d(ports=[link_port("in", inside), link_port("out", outside)], spec=spec)
    sn = [inside.sniffer(), outside.sniffer()]
    yield d, inside, outside, sn
    for s in sn:
        s.close()


def test_conntrack_learns_from_inside_and_ages_out(ct):
    d, inside, outside, (s_in, s_out) = ct
    out_to_in = lambda sport, dport, tag: (Ether(src=H2_MAC, dst=H1_MAC) / IP(src=outside.ip, dst=inside.ip) /
                                           UDP(sport=sport, dport=dport) / tag)
    in_to_out = lambda sport, dport, tag: (Ether(src=H1_MAC, dst=H2_MAC) / IP(src=inside.ip, dst=outside.ip) /
                                           UDP(sport=sport, dport=dport) / tag)
    outside.send(out_to_in(2222, 1111, b"unsolicited"))
    assert not frames_to(s_in, b"unsolicited", timeout=0.5)
    wait_until(lambda: d.counter("refused", 0)["packets"] == 1)
    inside.send(in_to_out(1111, 2222, b"opening"))
    assert len(frames_to(s_out, b"opening")) == 1
    wait_until(lambda: d.counter("flows_learned", 0)["packets"] == 1)
    outside.send([out_to_in(2222, 1111, b"reply"), out_to_in(2222, 3333, b"other-port")])
    assert len(frames_to(s_in, b"reply")) == 1, "reply of a learned connection was refused"
    assert not frames_to(s_in, b"other-port", timeout=0.3)
    assert d.counter("flows_learned", 0)["packets"] == 1, "a hit learned the flow again"
    # profile 1 shortened to 1 s: an idle connection ages out and replies are refused again
    d.ctl("timeout", "ct", 1, 1)
    inside.send(in_to_out(1111, 2222, b"rearm"))
    assert len(frames_to(s_out, b"rearm")) == 1
    import time
    time.sleep(3)
    outside.send(out_to_in(2222, 1111, b"late-reply"))
    assert not frames_to(s_in, b"late-reply", timeout=0.5), "aged-out connection still open"


# ---- vxlan.p4 ---------------------------------------------------------------

def test_vxlan_encap_and_decap(hosts, infrap4d, workdir):
    from scapy.layers.vxlan import VXLAN
    spec, _, _ = compile_p4(workdir, "vxlan")
    h1, h2 = hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "192.168.0.2")
    d = infrap4d(ports=[link_port("host", h1), link_port("net", h2)], spec=spec)
    d.ctl("add", "vxlan_encap", "match", H3_MAC, "action", "encap", "vni", 100, "src_ip", "192.168.0.1",
          "dst_ip", "192.168.0.2", "src_mac", ROUTER_MAC, "dst_mac", H2_MAC, "port", 1)
    d.ctl("add", "vxlan_decap", "match", 200, "action", "decap", "port", 0)
    s1, s2 = h1.sniffer(), h2.sniffer()
    try:
        inner = lambda sport, tag: (Ether(src=H1_MAC, dst=H3_MAC) / IP(src="10.0.0.1", dst="10.0.0.3") /
                                    UDP(sport=sport, dport=9) / tag)
        h1.send([inner(1, b"encap-me-1"), inner(2, b"encap-me-2")])
        srcports = set()
        for tag in (b"encap-me-1", b"encap-me-2"):
            got = frames_to(s2, tag)
            assert len(got) == 1, "encapsulated packet did not arrive"
            p = got[0]
            assert p.dst == H2_MAC and p.src == ROUTER_MAC
            assert p[IP].src == "192.168.0.1" and p[IP].dst == "192.168.0.2" and p[IP].ttl == 64
            assert ipv4_checksum_ok(bytes(p)), "outer IPv4 checksum wrong"
            inner_ip = bytes(p)[14 + 20 + 8 + 8:]
            assert p[IP].len == len(inner_ip) + 36 and p[UDP].len == len(inner_ip) + 16
            assert p[UDP].dport == 4789 and p[UDP].sport >= 0xc000
            srcports.add(p[UDP].sport)
            assert p[VXLAN].vni == 100 and p[VXLAN].flags == 0x08
            assert bytes(p[VXLAN].payload)[:len(bytes(inner(1, tag)))] == bytes(inner(int(tag[-1:]), tag))
        # one inner flow (same addresses and protocol): one outer source port
        assert len(srcports) == 1, srcports

        outer = lambda vni, tag: (Ether(src=H2_MAC, dst=ROUTER_MAC) /
                                  IP(src="192.168.0.2", dst="192.168.0.1") / UDP(sport=5000, dport=4789) /
                                  VXLAN(vni=vni, flags=0x08) /
                                  Ether(src=H3_MAC, dst=H1_MAC) / IP(src="10.0.0.3", dst="10.0.0.1") /
                                  UDP(sport=9, dport=9) / tag)
        h2.send([outer(200, b"decap-me"), outer(201, b"wrong-vni")])
        got = frames_to(s1, b"decap-me")
        assert len(got) == 1, "decapsulated packet did not arrive"
        assert bytes(got[0])[:len(bytes(outer(200, b"decap-me")[VXLAN].payload))] == \
            bytes(outer(200, b"decap-me")[VXLAN].payload)
        assert not frames_to(s1, b"wrong-vni", timeout=0.3)
    finally:
        s1.close()
        s2.close()


# ---- meter_reg.p4 -----------------------------------------------------------

def test_meter_counters_and_registers(hosts, infrap4d, workdir):
    spec, _, _ = compile_p4(workdir, "meter_reg")
    h1, h2 = hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2")
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)], spec=spec)
    d.ctl("add", "l2_fwd", "match", H2_MAC, "action", "send", "port", 1)
    sn = h2.sniffer()
    try:
        h1.send([Ether(src=H1_MAC, dst=H2_MAC, type=0x88b5) / (b"green-%02d" % i + b"x" * 40) for i in range(5)])
        assert len(frames_to(sn, b"green-", count=5)) == 5
        wait_until(lambda: d.counter("seen", 0)["packets"] == 5)
        assert d.register("last_type", 0) == 0x88b5
        assert d.counter("red_drops", 0)["packets"] == 0
        # the meter in packet mode: 3 packets of committed and 5 of peak burst, refilled at
        # one packet per second; a burst of 20 passes a handful and the rest turns red
        d.ctl("meter", "set", "port_meter", 0, 1, 3, 1, 5)
        sn.drain()
        h1.send([Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"burst-%02d" % i + b"x" * 40) for i in range(20)])
        wait_until(lambda: d.counter("seen", 0)["packets"] == 25)
        passed = len(frames_to(sn, b"burst-", count=20, timeout=1.0))
        assert 3 <= passed <= 7, passed
        assert d.counter("red_drops", 0)["packets"] == 20 - passed
        assert d.register("last_type", 0) == 0x88b6
    finally:
        sn.close()
