"""A TAP port as the exception path: frames steered to it by an entry arrive
on the kernel's TAP netdev, and frames the kernel sends on that netdev enter
the pipeline and reach a namespace."""
import os
import time

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from ipdk_net import Sniffer, link_port, raw_socket, unique

H1_MAC = "02:00:00:00:00:01"
CPU_MAC = "02:00:00:00:cc:01"


@pytest.fixture
def tapnet(hosts, infrap4d):
    h1 = hosts.add(H1_MAC, "10.0.0.1")
    tap = unique("iptap")
    d = infrap4d(ports=[link_port("h1", h1), "name=cpu,type=tap,netdev=%s" % tap],
                 entries=["l2_fwd match %s action l2_forward port 1" % CPU_MAC,
                          "l2_fwd match %s action l2_forward port 0" % H1_MAC])
    return d, h1, tap


def test_tap_netdev_exists_while_running(tapnet):
    d, h1, tap = tapnet
    assert os.path.exists("/sys/class/net/%s" % tap)
    with open("/sys/class/net/%s/flags" % tap) as f:
        assert int(f.read(), 16) & 1, "TAP netdev is not up"
    p = d.ports()["cpu"]
    assert p["type"] == "tap" and p["netdev"] == tap and p["id"] == 1
    d.stop()
    assert not os.path.exists("/sys/class/net/%s" % tap), "TAP netdev left after exit"


def test_frames_to_kernel(tapnet):
    d, h1, tap = tapnet
    sn = Sniffer(None, tap)
    try:
        h1.send([Ether(src=H1_MAC, dst=CPU_MAC) / IP(src=h1.ip, dst="10.0.0.254") /
                 UDP(sport=1, dport=6633) / (b"to-cpu-%d" % i) for i in range(4)])
        got = sn.collect(lambda p: UDP in p and p[UDP].dport == 6633, count=4)
    finally:
        sn.close()
    assert len(got) == 4, "frames on the TAP netdev: %d of 4" % len(got)
    payloads = sorted(bytes(Ether(f)[UDP].payload) for f in got)
    assert payloads == [b"to-cpu-%d" % i for i in range(4)]
    assert all(Ether(f).src == H1_MAC for f in got)
    assert d.ports()["cpu"]["tx"] >= 4


def test_frames_from_kernel(tapnet):
    d, h1, tap = tapnet
    sn = h1.sniffer()
    s = raw_socket(None, tap)
    try:
        for i in range(3):
            s.send(bytes(Ether(src=CPU_MAC, dst=H1_MAC) / IP(src="10.0.0.254", dst=h1.ip) /
                         UDP(sport=6633, dport=2) / (b"from-cpu-%d" % i)))
        got = sn.collect(lambda p: UDP in p and p[UDP].sport == 6633, count=3)
    finally:
        s.close()
        sn.close()
    assert len(got) == 3, "frames from the TAP netdev seen in h1: %d of 3" % len(got)
    assert d.ports()["cpu"]["rx"] >= 3


def test_idle_with_tap_does_not_spin(tapnet):
    d, h1, tap = tapnet
    time.sleep(0.3)
    t0, c0 = time.monotonic(), d.cpu_seconds()
    time.sleep(2.0)
    share = (d.cpu_seconds() - c0) / (time.monotonic() - t0)
    print("idle CPU share with a TAP port: %.1f%%" % (share * 100))
    assert share < 0.25, "idle infrap4d with a TAP port uses %.0f%% of a core" % (share * 100)
