"""Packet paths and parser constructs of ipdk-p4c beyond plain forwarding,
checked on packets in network namespaces: PNA mirror_packet() and
recirculate() (p4src/mirror_recirc.p4), and the parser features of
p4src/parse_ext.p4 (a value_set filled by the control plane, a varbit IPv4
options field, an MPLS header stack walked with .next/.last, and a header
union)."""
import struct

from scapy.layers.l2 import Ether

from ipdk_net import link_port, wait_until
from test_p4c_programs import H1_MAC, H2_MAC, H3_MAC, compile_p4, frames_to

H0_MAC = "02:00:00:00:00:10"


def probe(want, tag, dst=H2_MAC):
    return Ether(src=H1_MAC, dst=dst, type=0x88b5) / (struct.pack("!BBBB", want, 0, 0, 0) + tag + b"x" * 40)


def test_mirror_and_recirculate(hosts, infrap4d, workdir):
    spec, _, _ = compile_p4(workdir, "mirror_recirc")
    # port 0 is the collector: a mirror session nobody configured sends there
    h0, h1, h2 = hosts.add(H0_MAC, "10.0.0.10"), hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2")
    d = infrap4d(ports=[link_port("h0", h0), link_port("h1", h1), link_port("h2", h2)], spec=spec)
    d.ctl("add", "l2_fwd", "match", H2_MAC, "action", "send", "port", 2)
    s0, s2 = h0.sniffer(), h2.sniffer()
    try:
        # recirculation: seen counts up to want, pass says how many passes ran
        h1.send([probe(0, b"pass-0"), probe(1, b"pass-1"), probe(5, b"pass-5")])
        for want in (0, 1, 5):
            got = frames_to(s2, b"pass-%d" % want)
            assert len(got) == 1, "probe wanting %d passes did not arrive" % want
            w, seen, npass, _ = struct.unpack("!BBBB", bytes(got[0])[14:18])
            assert (w, seen, npass) == (want, want, want), (want, seen, npass)
        assert not frames_to(s0, b"pass-", timeout=0.3), "mirrored without a mirror entry"
        assert d.ports()["h0"]["tx"] == 0
        # mirroring: frames from h1 are copied to session 3, the original still goes to h2.
        # infrap4d does not configure sessions yet (rte_swx_ctl_pipeline_mirroring_session_set
        # is not called): DPDK's unset session sends a zero-byte copy to port 0, so the copy
        # shows as a transmission counted on h0 but nothing arrives there.
        d.ctl("add", "mirror_src", "match", H1_MAC, "action", "mirror_to", "session", 3)
        h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"mirrored" + b"x" * 40))
        assert len(frames_to(s2, b"mirrored")) == 1
        wait_until(lambda: d.ports()["h0"]["tx"] == 1)
        # a dropped frame (l2_fwd miss) is mirrored all the same
        h1.send(Ether(src=H1_MAC, dst=H3_MAC, type=0x88b6) / (b"dropped-but-copied" + b"x" * 30))
        wait_until(lambda: d.ports()["h0"]["tx"] == 2)
        assert not frames_to(s2, b"dropped-but-copied", timeout=0.3)
        # a recirculated probe is mirrored once, as it leaves after its last pass
        h1.send(probe(2, b"recirc-mirror"))
        assert len(frames_to(s2, b"recirc-mirror")) == 1
        wait_until(lambda: d.ports()["h0"]["tx"] == 3)
        # frames from other sources are not mirrored
        d.ctl("del", "mirror_src", "match", H1_MAC)
        h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"not-mirrored" + b"x" * 40))
        assert len(frames_to(s2, b"not-mirrored")) == 1
        assert d.ports()["h0"]["tx"] == 3
    finally:
        s0.close()
        s2.close()
