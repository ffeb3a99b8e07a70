"""p4src/packet_io.p4 end to end: compiled by ipdk-p4c into a bundle, loaded
through P4Runtime into infrap4d with a RING controller port, and exercised
with PacketOut / PacketIn whose metadata are the program's
@controller_header headers, and with frames between network namespaces."""
import os
import subprocess

import pytest
from scapy.layers.l2 import Ether

import p4rt_client as pc
from p4rt_client import p4, table_update
from ipdk_net import link_port
from test_p4c_programs import H1_MAC, H2_MAC, P4C, P4SRC, frames_to

A = p4.SetForwardingPipelineConfigRequest


def mac(m):
    return int(m.replace(":", ""), 16)


@pytest.fixture(scope="module")
def env(module_infrap4d, module_hosts, workdir):
    bundle = os.path.join(workdir, "packet_io.bundle.bin")
    r = subprocess.run([P4C, os.path.join(P4SRC, "packet_io.p4"), "-o",
                        os.path.join(workdir, "packet_io.spec"), "--bundle", bundle],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    h1, h2 = module_hosts(H1_MAC, "10.0.0.1"), module_hosts(H2_MAC, "10.0.0.2")
    # the controller port is port 2, the program's default CPU_PORT
    d = module_infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), "name=cpu,type=ring"],
                        args=["--grpc-security", "insecure", "--p4rt-listen", "127.0.0.1:0",
                              "--p4rt-cpu-port", "cpu"])
    with pc.primary(d, election_id=7) as c:
        c.set_pipeline(A.VERIFY_AND_COMMIT,
                       p4.ForwardingPipelineConfig(p4_device_config=open(bundle, "rb").read()))
        info = c.get_pipeline().p4info
        yield {"d": d, "h1": h1, "h2": h2, "c": c, "info": pc.Info(info), "p4info": info}


def ctrl_meta(info, name):
    for h in info.controller_packet_metadata:
        if h.preamble.name == name:
            return {m.name: m.id for m in h.metadata}
    raise KeyError(name)


def test_p4info_describes_the_controller_headers(env):
    assert ctrl_meta(env["p4info"], "packet_in") == {"ingress_port": 1, "reason": 2}
    assert ctrl_meta(env["p4info"], "packet_out") == {"egress_port": 1, "pad": 2}


def test_packet_out_leaves_on_the_port_its_metadata_names(env):
    c, h1, h2 = env["c"], env["h1"], env["h2"]
    port_id = ctrl_meta(env["p4info"], "packet_out")["egress_port"]
    frame = bytes(Ether(src="02:00:00:00:00:aa", dst=H2_MAC, type=0x88b5) / (b"po-to-h2" + b"x" * 40))
    s1, s2 = h1.sniffer(), h2.sniffer()
    try:
        c.s.send(p4.StreamMessageRequest(packet=p4.PacketOut(
            payload=frame, metadata=[p4.PacketMetadata(metadata_id=port_id, value=b"\x01")])))
        got = frames_to(s2, b"po-to-h2")
        # the packet_out header is gone: the frame arrives as the controller wrote it
        assert len(got) == 1 and bytes(got[0])[:len(frame)] == frame
        frame0 = frame.replace(b"po-to-h2", b"po-to-h1")
        c.s.send(p4.StreamMessageRequest(packet=p4.PacketOut(
            payload=frame0, metadata=[p4.PacketMetadata(metadata_id=port_id, value=b"\x00")])))
        assert len(frames_to(s1, b"po-to-h1")) == 1
        assert not frames_to(s2, b"po-to-h1", timeout=0.3)
    finally:
        s1.close()
        s2.close()


def packet_in(c, tag, timeout=5):
    """The next PacketIn whose payload holds tag (hosts may send other frames)."""
    while True:
        r = c.s.next("packet", timeout=timeout)
        assert r is not None, "no PacketIn with %r" % tag
        if tag in r.packet.payload:
            return r.packet


def test_miss_goes_to_the_controller_with_port_and_reason(env):
    c, info = env["c"], env["info"]
    ids = ctrl_meta(env["p4info"], "packet_in")
    frame = bytes(Ether(src=H1_MAC, dst="02:00:00:00:00:77", type=0x88b5) / (b"pi-miss" + b"y" * 40))
    env["h1"].send(frame)
    pkt = packet_in(c, b"pi-miss")
    md = {m.metadata_id: int.from_bytes(m.value, "big") for m in pkt.metadata}
    assert md == {ids["ingress_port"]: 0, ids["reason"]: 1}
    assert pkt.payload[:len(frame)] == frame
    # an entry with to_cpu(7) gives that reason; from h2 the port is 1
    c.write([table_update("insert", info.entry("l2_fwd", {"hdr.ethernet.dst_addr": mac("02:00:00:00:00:77")},
                                               "to_cpu", reason=7))])
    env["h2"].send(Ether(src=H2_MAC, dst="02:00:00:00:00:77", type=0x88b5) / (b"pi-seven" + b"z" * 40))
    pkt = packet_in(c, b"pi-seven")
    md = {m.metadata_id: int.from_bytes(m.value, "big") for m in pkt.metadata}
    assert md == {ids["ingress_port"]: 1, ids["reason"]: 7}
    assert b"pi-seven" in pkt.payload


def test_forwarded_frames_carry_no_packet_in_header(env):
    c, info, h1, h2 = env["c"], env["info"], env["h1"], env["h2"]
    c.write([table_update("insert", info.entry("l2_fwd", {"hdr.ethernet.dst_addr": mac(H2_MAC)},
                                               "send", port=1))])
    sn = h2.sniffer()
    try:
        frame = bytes(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b5) / (b"fwd-h2" + b"w" * 40))
        h1.send(frame)
        got = frames_to(sn, b"fwd-h2")
        assert len(got) == 1 and bytes(got[0])[:len(frame)] == frame
    finally:
        sn.close()
    while True:
        r = c.s.next("packet", timeout=0.5)
        if r is None:
            break
        assert b"fwd-h2" not in r.packet.payload, "a forwarded frame also reached the controller"
