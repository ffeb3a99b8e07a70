"""A learner table on real traffic (p4src/specs/flow_pin.spec): the first packet
of a flow is learned with the port l2_fwd chose, later packets of that flow
keep that port after l2_fwd changes, new flows take the new port, and an idle
flow ages out after its (shortened) timeout and is learned afresh."""
import time

import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

from ipdk_net import link_port, spec_path

H1_MAC, H2_MAC, H3_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:03"
SERVICE_MAC = "02:00:00:00:0f:0f"
TIMEOUT = 2


def flow(sport, n, tag):
    return [Ether(src=H1_MAC, dst=SERVICE_MAC) / IP(src="10.0.0.1", dst="10.0.0.50") /
            UDP(sport=sport, dport=5555) / ("%s-%d" % (tag, i)).encode() for i in range(n)]


def deliveries(sniffers, tag, expect, timeout=2.0):
    """Counts frames whose payload starts with tag on each host, waiting until
    expect frames arrived in total."""
    match = lambda p: UDP in p and bytes(p[UDP].payload).startswith(tag.encode())
    end = time.monotonic() + timeout
    while True:
        counts = [len(s.collect(match, count=0, timeout=0)) for s in sniffers]
        if sum(counts) >= expect or time.monotonic() >= end:
            time.sleep(0.1)
            return [len(s.collect(match, count=0, timeout=0.05)) for s in sniffers]
        time.sleep(0.05)


@pytest.fixture
def pinned(hosts, infrap4d):
    h1 = hosts.add(H1_MAC, "10.0.0.1")
    h2 = hosts.add(H2_MAC, "10.0.0.2")
    h3 = hosts.add(H3_MAC, "10.0.0.3")
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), link_port("h3", h3)],
                 spec=spec_path("flow_pin.spec"),
                 entries=["l2_fwd match %s action l2_forward port 1" % SERVICE_MAC])
    sniffers = [h2.sniffer(), h3.sniffer()]
    yield d, h1, sniffers
    for s in sniffers:
        s.close()


def test_learner_schema(pinned):
    d, h1, sn = pinned
    out = d.ctl("tables", "flows")
    assert out.startswith("learner flows"), out
    assert "timeout 0 30 s" in out and "timeout 1 120 s" in out, out
    d.ctl("timeout", "flows", 0, TIMEOUT)
    assert "timeout 0 %d s" % TIMEOUT in d.ctl("tables", "flows")


def test_flows_learned_pinned_and_aged(pinned):
    d, h1, (s2, s3) = pinned
    d.ctl("timeout", "flows", 0, TIMEOUT)
    assert d.register("flows_learned", 0) == 0

    # Flow A is learned on its first packet and hits the learned entry after.
    h1.send(flow(1111, 3, "a1"))
    assert deliveries([s2, s3], "a1", 3) == [3, 0]
    assert d.register("flows_learned", 0) == 1
    assert d.register("flow_hits", 0) == 2
    st = d.table_stats("flows")
    assert st["hit"] == 2 and st["miss"] == 1, st

    # l2_fwd now says h3: flow A stays pinned to h2, a new flow B goes to h3.
    d.ctl("modify", "l2_fwd match %s action l2_forward port 2" % SERVICE_MAC)
    h1.send(flow(1111, 2, "a2"))
    h1.send(flow(2222, 2, "b1"))
    assert deliveries([s2, s3], "a2", 2) == [2, 0], "learned flow A did not keep its port"
    assert deliveries([s2, s3], "b1", 2) == [0, 2], "new flow B did not follow l2_fwd"
    assert d.register("flows_learned", 0) == 2
    assert d.register("flow_hits", 0) == 2 + 2 + 1
    last_a = time.monotonic()

    # Idle for longer than the timeout, flow A is forgotten: it is learned
    # again with l2_fwd's current port.
    time.sleep(max(0.0, last_a + TIMEOUT + 1.5 - time.monotonic()))
    h1.send(flow(1111, 2, "a3"))
    assert deliveries([s2, s3], "a3", 2) == [0, 2], "flow A did not age out"
    assert d.register("flows_learned", 0) == 3
