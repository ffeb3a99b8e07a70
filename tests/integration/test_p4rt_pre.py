"""P4Runtime clone sessions (PacketReplicationEngineEntry) on packets:
p4src/mirror_recirc.p4 mirrors frames whose source MAC is in mirror_src to the
session its entry names; a CloneSessionEntry written over P4Runtime says
where the copies go and how much of them, and is read back as written."""
import grpc
import pytest
from scapy.layers.l2 import Ether

import p4rt_client as pc
from ipdk_net import link_port
from p4rt_client import p4, update
from test_p4c_programs import H1_MAC, H2_MAC, frames_to
from test_p4rt_programs import A, device_config, mac

H0_MAC = "02:00:00:00:00:10"


def clone(session, port=None, length=0, port_bytes=None, cos=0):
    cs = p4.CloneSessionEntry(session_id=session, packet_length_bytes=length, class_of_service=cos)
    if port is not None:
        cs.replicas.add(egress_port=port)
    if port_bytes is not None:
        cs.replicas.add(port=port_bytes)
    return {"packet_replication_engine_entry": p4.PacketReplicationEngineEntry(clone_session_entry=cs)}


def sessions(c, session=0):
    ents = c.read(p4.Entity(**clone(session)))
    return sorted((e.packet_replication_engine_entry.clone_session_entry.session_id,
                   [r.egress_port for r in e.packet_replication_engine_entry.clone_session_entry.replicas],
                   e.packet_replication_engine_entry.clone_session_entry.packet_length_bytes)
                  for e in ents)


def codes(e):
    return [x.canonical_code for x in pc.details(e.value)]


def test_clone_sessions(hosts, infrap4d):
    h0, h1, h2 = hosts.add(H0_MAC, "10.0.0.10"), hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2")
    d = infrap4d(ports=[link_port("h0", h0), link_port("h1", h1), link_port("h2", h2)],
                 args=["--grpc-security", "insecure", "--p4rt-listen", "127.0.0.1:0"])
    s0, s2 = h0.sniffer(), h2.sniffer()
    try:
        with pc.primary(d, election_id=3) as c:
            check_clone_sessions(c, h1, s0, s2)
    finally:
        s0.close()
        s2.close()


def check_clone_sessions(c, h1, s0, s2):
    c.set_pipeline(A.VERIFY_AND_COMMIT, device_config("mirror_recirc"))
    info = pc.Info(c.get_pipeline().p4info)
    c.write([pc.table_update("insert", info.entry(
                 "MainControlImpl.l2_fwd", {"hdr.ethernet.dst_addr": mac(H2_MAC)},
                 "MainControlImpl.send", port=2)),
             pc.table_update("insert", info.entry(
                 "MainControlImpl.mirror_src", {"hdr.ethernet.src_addr": mac(H1_MAC)},
                 "MainControlImpl.mirror_to", session=5))])
    assert sessions(c) == []
    # no session 5 yet: the original is forwarded, no copy is made
    h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"no-session" + b"x" * 40))
    assert len(frames_to(s2, b"no-session")) == 1
    assert not frames_to(s0, b"no-session", timeout=0.3)
    # INSERT: copies of whole frames to port 0
    c.write([update("insert", **clone(5, port=0, cos=3))])
    assert sessions(c) == [(5, [0], 0)] == sessions(c, 5)
    sent = Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"copied" + b"x" * 40)
    h1.send(sent)
    got = frames_to(s0, b"copied")
    assert len(got) == 1 and bytes(got[0]) == bytes(sent)
    assert len(frames_to(s2, b"copied")) == 1
    # MODIFY (the port as a byte string): truncated to 24 bytes
    c.write([update("modify", **clone(5, port_bytes=b"\x00", length=24))])
    assert sessions(c) == [(5, [0], 24)]
    sent = Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"trunc" + b"z" * 60)
    h1.send(sent)
    got = frames_to(s0, b"trunc")
    assert len(got) == 1 and bytes(got[0]) == bytes(sent)[:24]
    # refused: a second INSERT, no replica, two replicas, a session or port out of
    # range, multicast groups; an all-or-none Write with one of them changes nothing
    for upd, code in ((update("insert", **clone(5, port=1)), grpc.StatusCode.ALREADY_EXISTS),
                      (update("modify", **clone(6, port=1)), grpc.StatusCode.NOT_FOUND),
                      (update("delete", **clone(6)), grpc.StatusCode.NOT_FOUND),
                      (update("insert", **clone(6)), grpc.StatusCode.INVALID_ARGUMENT),
                      (update("insert", **clone(64, port=1)), grpc.StatusCode.OUT_OF_RANGE),
                      (update("insert", **clone(6, port=99)), grpc.StatusCode.OUT_OF_RANGE),
                      (update("insert", **clone(6, port=1, length=-1)), grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.RpcError) as e:
            c.write([upd])
        assert codes(e) == [code.value[0]], (upd, pc.details(e.value))
    two = clone(6, port=1)
    two["packet_replication_engine_entry"].clone_session_entry.replicas.add(egress_port=2)
    with pytest.raises(grpc.RpcError) as e:
        c.write([update("insert", **two)])
    assert codes(e) == [grpc.StatusCode.UNIMPLEMENTED.value[0]]
    mc = p4.PacketReplicationEngineEntry(multicast_group_entry=p4.MulticastGroupEntry(multicast_group_id=1))
    with pytest.raises(grpc.RpcError) as e:
        c.write([update("insert", packet_replication_engine_entry=mc)])
    assert codes(e) == [grpc.StatusCode.UNIMPLEMENTED.value[0]]
    with pytest.raises(grpc.RpcError) as e:
        c.write([update("insert", **clone(7, port=1)), update("insert", **clone(5, port=1))],
                atomicity=p4.WriteRequest.ROLLBACK_ON_ERROR)
    assert sessions(c) == [(5, [0], 24)]
    # DELETE: no more copies
    c.write([update("delete", **clone(5))])
    assert sessions(c) == []
    h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"deleted" + b"x" * 40))
    assert len(frames_to(s2, b"deleted")) == 1
    assert not frames_to(s0, b"deleted", timeout=0.3)
