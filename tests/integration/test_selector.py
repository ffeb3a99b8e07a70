"""An action selector on real traffic (p4src/specs/lb_select.spec): UDP flows
from h1 to a virtual IP spread over two backends (h2, h3), each flow sticking
to one backend, and group membership changes taking effect."""
import random

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from ipdk_net import link_port, spec_path

H1_MAC, H2_MAC, H3_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"
VIP_MAC, VIP = "02:00:00:00:0e:0e", "10.0.0.100"
N_FLOWS = 64


def flows(n, tag, repeat=1, seed=1):
    """n distinct UDP flows to the VIP (source address and port vary), each
    sent repeat times. The hash is CRC-like, so consecutive ports alone would
    exercise only a few bits of it: the flows are drawn at random, with a
    fixed seed so every run sends the same ones."""
    rnd = random.Random(seed)
    keys = set()
    while len(keys) < n:
        keys.add(("10.0.%d.%d" % (rnd.randrange(256), rnd.randrange(1, 255)),
                  rnd.randrange(1024, 65536)))
    keys = sorted(keys)
    return [Ether(src=H1_MAC, dst=VIP_MAC) / IP(src=ip, dst=VIP) /
            UDP(sport=sport, dport=8080) / ("%s-%d" % (tag, i)).encode()
            for _ in range(repeat) for i, (ip, sport) in enumerate(keys)]


def received(sniffer, tag, expect, timeout=3.0):
    """{(source address, port): count} of tagged frames seen by sniffer, and
    the frames."""
    match = lambda p: UDP in p and bytes(p[UDP].payload).startswith(tag.encode())
    frames = [Ether(f) for f in sniffer.collect(match, count=expect, timeout=timeout)]
    out = {}
    for p in frames:
        k = (p[IP].src, p[UDP].sport)
        out[k] = out.get(k, 0) + 1
    return out, frames


@pytest.fixture
def lb(hosts, infrap4d):
    h1 = hosts.add(H1_MAC, "10.0.0.1")
    h2 = hosts.add(H2_MAC, "10.0.0.2")
    h3 = hosts.add(H3_MAC, "10.0.0.3")
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), link_port("h3", h3)],
                 spec=spec_path("lb_select.spec"),
                 entries=["lb_vip match %s action set_group group_id 5" % VIP,
                          "lb_members match 1 action set_member port 1 dst_mac %s" % H2_MAC,
                          "lb_members match 2 action set_member port 2 dst_mac %s" % H3_MAC])
    d.ctl("group", "add", "lb_groups", 5)
    d.ctl("group", "member-set", "lb_groups", 5, 1, 1)
    d.ctl("group", "member-set", "lb_groups", 5, 2, 1)
    sn = [h2.sniffer(), h3.sniffer()]
    yield d, h1, sn
    for s in sn:
        s.close()


def test_flows_spread_over_both_members(lb):
    d, h1, (s2, s3) = lb
    h1.send(flows(N_FLOWS, "spread", repeat=2))
    at2, f2 = received(s2, "spread", 1, timeout=1.0)
    at3, f3 = received(s3, "spread", 2 * N_FLOWS - sum(at2.values()))
    at2, f2 = received(s2, "spread", 0, timeout=0.2)
    assert sum(at2.values()) + sum(at3.values()) == 2 * N_FLOWS, (len(at2), len(at3))
    # Both backends get a fair share of 64 flows (a 50/50 hash gives fewer
    # than 12 on one side with probability below 1e-6).
    assert len(at2) >= 12 and len(at3) >= 12, "flows per backend: %d / %d" % (len(at2), len(at3))
    # A flow never splits: both its packets went to the same backend.
    assert not set(at2) & set(at3), "flows seen on both backends: %s" % sorted(set(at2) & set(at3))
    assert all(c == 2 for c in list(at2.values()) + list(at3.values()))
    assert all(p.dst == H2_MAC for p in f2) and all(p.dst == H3_MAC for p in f3)


def test_member_removal_moves_flows(lb):
    d, h1, (s2, s3) = lb
    d.ctl("group", "member-del", "lb_groups", 5, 1)
    h1.send(flows(16, "one"))
    at3, _ = received(s3, "one", 16)
    at2, _ = received(s2, "one", 0, timeout=0.3)
    assert sum(at3.values()) == 16 and not at2, (at2, at3)
    # Member 1 (h2) back in the group with weight 3 against 1.
    d.ctl("group", "member-set", "lb_groups", 5, 1, 3)
    n = 2 * N_FLOWS
    h1.send(flows(n, "weighted", seed=2))
    at2, _ = received(s2, "weighted", 1, timeout=1.0)
    at3, _ = received(s3, "weighted", n - sum(at2.values()))
    at2, _ = received(s2, "weighted", 0, timeout=0.2)
    assert sum(at2.values()) + sum(at3.values()) == n
    # Expected 96 / 32; equal weights would give about 64 / 64.
    assert len(at2) >= 2 * len(at3), "weight 3:1 gave %d / %d flows" % (len(at2), len(at3))
