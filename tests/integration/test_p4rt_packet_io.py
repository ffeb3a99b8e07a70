"""PacketOut / PacketIn metadata rules of the P4Runtime service with a real
@controller_header program: p4src/packet_io.p4 as the build compiled it
(spec, context and P4Info put into a BfPipelineConfig here), infrap4d with a
RING controller port, two namespace hosts. test_p4c_packet_io.py shows the
program's behaviour; this file checks the service's side of the contract
(docs/p4runtime.md, Packet I/O): packing of packet_out metadata (missing
ones are 0, padded values accepted, too wide or unknown ones refused with a
StreamError carrying the packet), canonical packet_in values, and delivery
to the primary of every role but to no backup."""
import grpc
import pytest
from scapy.layers.l2 import Ether

import p4rt_client as pc
from p4rt_client import p4
from ipdk_net import link_port
from test_p4c_programs import H1_MAC, H2_MAC, frames_to
from test_p4rt_programs import device_config

A = p4.SetForwardingPipelineConfigRequest


@pytest.fixture(scope="module")
def env(module_infrap4d, module_hosts):
    h1, h2 = module_hosts(H1_MAC, "10.0.0.1"), module_hosts(H2_MAC, "10.0.0.2")
    # the controller port is pipeline port 2, the program's CPU_PORT
    d = module_infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), "name=cpu,type=ring"],
                        args=["--grpc-security", "insecure", "--p4rt-listen", "127.0.0.1:0",
                              "--p4rt-cpu-port", "cpu"])
    port = pc.port_from_log(d)
    ch = pc.channel(port)
    c = pc.Client(ch)
    c.s = c.become_primary(election_id=9)
    c.set_pipeline(A.VERIFY_AND_COMMIT, device_config("packet_io"))
    info = c.get_pipeline().p4info
    meta = {h.preamble.name: {m.name: m.id for m in h.metadata} for h in info.controller_packet_metadata}
    yield {"d": d, "h1": h1, "h2": h2, "c": c, "port": port, "meta": meta}
    c.s.close()
    ch.close()


def out(payload, **md_bytes):
    return p4.StreamMessageRequest(packet=p4.PacketOut(payload=payload, metadata=[
        p4.PacketMetadata(metadata_id=i, value=v) for i, v in md_bytes.values()]))


def frame(tag, dst=H2_MAC):
    return bytes(Ether(src="02:00:00:00:00:aa", dst=dst, type=0x88b5) / (tag + b"x" * 40))


def stream_error(s):
    r = s.next("error", timeout=3)
    assert r is not None, "no StreamError"
    return r.error


def packet_in(s, tag, timeout=3.0):
    while True:
        r = s.next("packet", timeout=timeout)
        if r is None or tag in r.packet.payload:
            return r


def test_packet_out_metadata_packing(env):
    c, h1, h2, ids = env["c"], env["h1"], env["h2"], env["meta"]["packet_out"]
    s1, s2 = h1.sniffer(), h2.sniffer()
    try:
        # a padded value is the same value
        f = frame(b"pio-padded")
        c.s.send(out(f, a=(ids["egress_port"], b"\x00\x00\x00\x00\x01")))
        got = frames_to(s2, b"pio-padded")
        assert len(got) == 1 and bytes(got[0])[:len(f)] == f
        # a missing metadata field is 0: egress port 0 is h1
        c.s.send(out(frame(b"pio-missing", H1_MAC)))
        assert len(frames_to(s1, b"pio-missing")) == 1
        assert not frames_to(s2, b"pio-missing", timeout=0.3)
        # both fields given, pad set: only egress_port steers
        c.s.send(out(frame(b"pio-both"), a=(ids["egress_port"], b"\x01"), b=(ids["pad"], b"\xff")))
        assert len(frames_to(s2, b"pio-both")) == 1
    finally:
        s1.close()
        s2.close()


@pytest.mark.parametrize("md,code", [
    ({"a": (77, b"\x01")}, grpc.StatusCode.INVALID_ARGUMENT),            # unknown id
    ({"a": (1, b"\x01\x00\x00\x00\x00")}, grpc.StatusCode.OUT_OF_RANGE),  # 33 bits in bit<32>
    ({"a": (2, b"\x01\x00")}, grpc.StatusCode.OUT_OF_RANGE),              # 9 bits in bit<8>
])
def test_bad_packet_out_metadata_is_refused_with_the_packet(env, md, code):
    c = env["c"]
    f = frame(b"pio-bad")
    c.s.send(out(f, **md))
    err = stream_error(c.s)
    assert err.canonical_code == code.value[0], err
    assert err.packet_out.packet_out.payload == f
    # the stream lives on
    c.s.send(out(frame(b"pio-after"), a=(env["meta"]["packet_out"]["egress_port"], b"\x01")))
    assert c.s.next("error", timeout=0.5) is None


def test_packet_in_goes_to_each_role_primary_not_to_backups(env):
    c, ids = env["c"], env["meta"]["packet_in"]
    # a backup in the default role and the primary of role "mon"
    backup = pc.Client(pc.channel(env["port"]))
    bs = backup.stream()
    bs.arbitrate(3)
    assert bs.next("arbitration").arbitration.status.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    mon = pc.Client(pc.channel(env["port"]))
    ms = mon.become_primary(election_id=1, role="mon")
    try:
        f = bytes(Ether(src=H1_MAC, dst="02:00:00:00:00:55", type=0x88b5) / (b"pio-in" + b"y" * 40))
        env["h1"].send(f)
        for s in (c.s, ms):
            r = packet_in(s, b"pio-in")
            assert r is not None, "a primary got no PacketIn"
            # canonical values: port 0 is one zero byte, reason 1 one byte
            assert {m.metadata_id: m.value for m in r.packet.metadata} == \
                {ids["ingress_port"]: b"\x00", ids["reason"]: b"\x01"}
            assert r.packet.payload[:len(f)] == f
        assert packet_in(bs, b"pio-in", timeout=0.5) is None, "a backup got a PacketIn"
    finally:
        bs.close()
        ms.close()
