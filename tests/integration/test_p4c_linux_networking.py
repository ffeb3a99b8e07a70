"""p4src/linux_networking.p4 in infrap4d, packet by packet: two VM ports and a
network port whose PNA direction comes from the "direction" register; L2
switching between VMs, IPv4 routing over an ECMP group with neighbor and
router interface MAC rewrites, VXLAN encapsulation of a VM's frame (the outer
packet routed like any other) and decapsulation into a VM, and routing from
the network into a VM."""
import os
import subprocess

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether
from scapy.layers.vxlan import VXLAN

from ipdk_net import link_port
from test_p4c_programs import P4C, P4SRC, frames_to, ipv4_checksum_ok

VM1, VM2, NET = "02:00:00:00:01:01", "02:00:00:00:01:02", "02:00:00:00:02:01"
REMOTE_VM = "02:00:00:00:03:03"
RIF_NET, RIF_VM = "02:aa:00:00:00:02", "02:aa:00:00:00:01"
ROUTER = "02:aa:00:00:00:01"
NEIGH = {1: "02:00:00:00:0a:01", 2: "02:00:00:00:0a:02", 3: "02:00:00:00:0a:03"}


@pytest.fixture
def ln(hosts, infrap4d, workdir):
    spec = os.path.join(workdir, "linux_networking.spec")
    r = subprocess.run([P4C, os.path.join(P4SRC, "linux_networking.p4"), "-o", spec],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    vm1, vm2 = hosts.add(VM1, "10.1.0.2"), hosts.add(VM2, "10.1.0.3")
    net = hosts.add(NET, "192.168.1.2")
    d = infrap4d(ports=[link_port("vm1", vm1), link_port("vm2", vm2), link_port("net", net)], spec=spec)
    for port, direction in ((0, 1), (1, 1), (2, 0)):     # HOST_TO_NET = 1 for the VM ports
        d.ctl("register", "direction", port, direction)
    c = d.ctl
    c("add", "l2_fwd_tx", "match", VM2, "action", "l2_fwd", "port", 1)
    c("add", "l2_fwd_tx", "match", ROUTER, "action", "route")
    c("add", "l2_fwd_tx", "match", REMOTE_VM, "action", "set_tunnel", "tunnel_id", 5, "dst_ip", "192.168.1.2")
    c("add", "vxlan_encap_mod", "match", 5, "action", "vxlan_encap", "src_ip", "192.168.1.1", "vni", 700)
    c("add", "tunnel_term", "match", "192.168.1.1", 700, "action", "decap")
    c("add", "l2_fwd_rx", "match", VM1, "action", "l2_fwd", "port", 0)
    c("add", "l2_fwd_rx", "match", RIF_NET, "action", "route")
    # next hops: 1 and 2 (ECMP towards 10.9/16), 3 (the tunnel peer), 4 (back into vm1)
    for nh, rif, neigh, port in ((1, 2, 1, 2), (2, 2, 2, 2), (3, 2, 3, 2), (4, 1, 4, 0)):
        c("add", "nexthop", "match", nh, "action", "set_nexthop_info", "rif_id", rif,
          "neighbor_id", neigh, "port", port)
        c("add", "ipv4_route_member_table", "match", nh, "action", "set_nexthop", "nexthop_id", nh)
    for n, m in list(NEIGH.items()) + [(4, VM1)]:
        c("add", "neighbor_mod", "match", n, "action", "set_dst_mac", "mac", m)
    c("add", "rif_mod", "match", 1, "action", "set_src_mac", "mac", RIF_VM)
    c("add", "rif_mod", "match", 2, "action", "set_src_mac", "mac", RIF_NET)
    for g, members in ((1, (1, 2)), (2, (3,)), (3, (4,))):
        c("group", "add", "ipv4_route_sel", g)
        for m in members:
            c("group", "member-set", "ipv4_route_sel", g, m, 1)
    c("add", "ipv4_route", "match", "10.9.0.0/16", "action", "ipv4_route_set_group_id", "group_id", 1)
    c("add", "ipv4_route", "match", "192.168.1.0/24", "action", "ipv4_route_set_group_id", "group_id", 2)
    c("add", "ipv4_route", "match", "10.1.0.0/24", "action", "ipv4_route_set_group_id", "group_id", 3)
    sn = {"vm1": vm1.sniffer(), "vm2": vm2.sniffer(), "net": net.sniffer()}
    yield d, vm1, vm2, net, sn
    for s in sn.values():
        s.close()


def test_vm_to_vm_switching(ln):
    d, vm1, vm2, net, sn = ln
    f = Ether(src=VM1, dst=VM2, type=0x88b5) / (b"l2-vm2" + b"x" * 40)
    vm1.send(f)
    got = frames_to(sn["vm2"], b"l2-vm2")
    assert len(got) == 1 and bytes(got[0])[:len(f)] == bytes(f)
    # an unknown destination is dropped
    vm1.send(Ether(src=VM1, dst="02:00:00:00:09:09", type=0x88b5) / (b"l2-none" + b"x" * 40))
    assert not frames_to(sn["net"], b"l2-none", timeout=0.5) and not frames_to(sn["vm2"], b"l2-none", timeout=0.1)


def test_routing_over_ecmp_with_neighbor_and_rif_rewrite(ln):
    d, vm1, vm2, net, sn = ln
    flows = ["10.9.%d.%d" % (i // 7, i) for i in range(24)]
    vm1.send([Ether(src=VM1, dst=ROUTER) / IP(src="10.1.0.2", dst=dst, ttl=30) / UDP(sport=5, dport=6) /
              (b"rt-%s" % dst.encode()) for dst in flows for _ in range(2)])
    got = frames_to(sn["net"], b"rt-", count=len(flows) * 2, timeout=3)
    assert len(got) == len(flows) * 2, "routed packets lost"
    hop = {}
    for p in got:
        assert p.src == RIF_NET and p[IP].ttl == 29 and ipv4_checksum_ok(bytes(p))
        assert p.dst in (NEIGH[1], NEIGH[2])
        hop.setdefault(p[IP].dst, set()).add(p.dst)
    assert all(len(v) == 1 for v in hop.values()), "a flow was split over next hops"
    assert {m for v in hop.values() for m in v} == {NEIGH[1], NEIGH[2]}, "ECMP used one next hop"
    # TTL 1 is not routed
    vm1.send(Ether(src=VM1, dst=ROUTER) / IP(src="10.1.0.2", dst="10.9.0.1", ttl=1) / UDP() / b"rt-ttl1")
    assert not frames_to(sn["net"], b"rt-ttl1", timeout=0.5)


def test_vxlan_encap_is_routed_to_the_tunnel_peer(ln):
    d, vm1, vm2, net, sn = ln
    inner = Ether(src=VM1, dst=REMOTE_VM) / IP(src="10.1.0.2", dst="10.1.0.99") / UDP(sport=1, dport=2) / b"vx-out"
    vm1.send(inner)
    got = frames_to(sn["net"], b"vx-out")
    assert len(got) == 1
    p = got[0]
    assert p.dst == NEIGH[3] and p.src == RIF_NET
    assert p[IP].src == "192.168.1.1" and p[IP].dst == "192.168.1.2" and p[IP].ttl == 64
    assert ipv4_checksum_ok(bytes(p)) and p[UDP].dport == 4789 and p[UDP].sport >= 0xc000
    assert p[VXLAN].vni == 700
    assert bytes(p[VXLAN].payload)[:len(bytes(inner))] == bytes(inner)


def test_vxlan_decap_into_a_vm_and_routing_from_the_network(ln):
    d, vm1, vm2, net, sn = ln
    inner = Ether(src=REMOTE_VM, dst=VM1) / IP(src="10.1.0.99", dst="10.1.0.2") / UDP(sport=3, dport=4) / b"vx-in"
    outer = lambda vni, tag: (Ether(src=NET, dst=RIF_NET) / IP(src="192.168.1.2", dst="192.168.1.1") /
                              UDP(sport=4000, dport=4789) / VXLAN(vni=vni, flags=0x08) /
                              Ether(bytes(inner).replace(b"vx-in", tag)))
    net.send([outer(700, b"vx-in"), outer(701, b"vx-bad")])
    got = frames_to(sn["vm1"], b"vx-in")
    assert len(got) == 1 and bytes(got[0])[:len(bytes(inner))] == bytes(inner)
    # VNI 701 is not terminated: the outer packet is routed as it is (towards the network), not decapsulated
    assert not frames_to(sn["vm1"], b"vx-bad", timeout=0.5)
    # a plain packet from the network to the router's MAC is routed into vm1
    net.send(Ether(src=NET, dst=RIF_NET) / IP(src="192.168.1.2", dst="10.1.0.2", ttl=9) / UDP() / b"rt-in")
    got = frames_to(sn["vm1"], b"rt-in")
    assert len(got) == 1
    p = got[0]
    assert p.dst == VM1 and p.src == RIF_VM and p[IP].ttl == 8 and ipv4_checksum_ok(bytes(p))
