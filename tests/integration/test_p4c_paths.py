"""Packet paths and parser constructs of ipdk-p4c beyond plain forwarding,
checked on packets in network namespaces: PNA mirror_packet() and
recirculate() (p4src/mirror_recirc.p4), and the parser features of
p4src/parse_ext.p4 (a value_set filled by the control plane, a varbit IPv4
options field, an MPLS header stack walked with .next/.last, and a header
union)."""
import json
import struct

from scapy.layers.l2 import Ether

from ipdk_net import link_port, wait_until
from test_p4c_programs import H1_MAC, H2_MAC, H3_MAC, compile_p4, frames_to

H0_MAC = "02:00:00:00:00:10"


def probe(want, tag, dst=H2_MAC):
    return Ether(src=H1_MAC, dst=dst, type=0x88b5) / (struct.pack("!BBBB", want, 0, 0, 0) + tag + b"x" * 40)


def test_mirror_and_recirculate(hosts, infrap4d, workdir):
    spec, _, _ = compile_p4(workdir, "mirror_recirc")
    # port 0 is the collector the mirror session sends to
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
        # set_pad's inout parameter is bound to hdr.probe.pad by the table's actions list
        d.ctl("add", "probe_pad", "match", H2_MAC, "action", "set_pad", "v", 0x5a)
        h1.send(probe(1, b"padded"))
        got = frames_to(s2, b"padded")
        assert len(got) == 1 and bytes(got[0])[14:18] == b"\x01\x01\x01\x5a"
        assert d.ports()["h0"]["tx"] == 0
        # mirroring: frames from h1 are copied to session 3, the original still goes to h2.
        # A session nobody set copies nothing (DPDK's all-zero session would send an empty
        # copy to port 0).
        d.ctl("add", "mirror_src", "match", H1_MAC, "action", "mirror_to", "session", 3)
        h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"unset-session" + b"x" * 40))
        assert len(frames_to(s2, b"unset-session")) == 1
        assert not frames_to(s0, b"unset-session", timeout=0.3)
        assert d.ports()["h0"]["tx"] == 0
        assert d.ctl("mirror") == "" and "not set" in d.ctl_err("mirror", 3)
        # session 3 copies to h0 (by name; port 0 alike), byte for byte
        d.ctl("mirror", 3, "port", "h0")
        assert d.ctl("mirror") == "mirror 3 port 0\n"
        sent = Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"mirrored" + b"x" * 40)
        h1.send(sent)
        assert len(frames_to(s2, b"mirrored")) == 1
        got = frames_to(s0, b"mirrored")
        assert len(got) == 1 and bytes(got[0]) == bytes(sent)
        # a dropped frame (l2_fwd miss) is mirrored all the same
        h1.send(Ether(src=H1_MAC, dst=H3_MAC, type=0x88b6) / (b"dropped-but-copied" + b"x" * 30))
        assert len(frames_to(s0, b"dropped-but-copied")) == 1
        assert not frames_to(s2, b"dropped-but-copied", timeout=0.3)
        # a recirculated probe is mirrored once, as it leaves after its last pass
        h1.send(probe(2, b"recirc-mirror"))
        assert len(frames_to(s2, b"recirc-mirror")) == 1
        got = frames_to(s0, b"recirc-mirror", timeout=0.5, count=2)
        assert len(got) == 1 and bytes(got[0])[14:17] == b"\x02\x02\x02"
        # truncated copies: the first 30 bytes
        d.ctl("mirror", 3, "port", 0, "truncate", 30)
        assert d.ctl("mirror", 3) == "mirror 3 port 0 truncate 30\n"
        sent = Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"cut" + b"y" * 60)
        h1.send(sent)
        got = frames_to(s0, b"cut")
        assert len(got) == 1 and bytes(got[0]) == bytes(sent)[:30]
        assert len(frames_to(s2, b"cut" + b"y" * 60)) == 1
        # bad requests change nothing
        assert "out of range" in d.ctl_err("mirror", 64, "port", 0)
        assert "out of range" in d.ctl_err("mirror", 3, "port", 99)
        assert 'no port named "nosuch"' in d.ctl_err("mirror", 3, "port", "nosuch")
        assert "usage" in d.ctl_err("mirror", 3, "port")
        assert d.ctl("mirror") == "mirror 3 port 0 truncate 30\n"
        # off: no more copies
        d.ctl("mirror", 3, "off")
        assert d.ctl("mirror") == ""
        tx0 = d.ports()["h0"]["tx"]
        h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"session-off" + b"x" * 40))
        assert len(frames_to(s2, b"session-off")) == 1
        assert not frames_to(s0, b"session-off", timeout=0.3)
        # frames from other sources are not mirrored
        d.ctl("mirror", 3, "port", "h0")
        d.ctl("del", "mirror_src", "match", H1_MAC)
        h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"not-mirrored" + b"x" * 40))
        assert len(frames_to(s2, b"not-mirrored")) == 1
        assert not frames_to(s0, b"not-mirrored", timeout=0.3)
        assert d.ports()["h0"]["tx"] == tx0
    finally:
        s0.close()
        s2.close()


def mpls(n, tag):
    labels = b"".join(struct.pack("!I", (100 + i) << 12 | (i == n - 1) << 8 | (60 + i)) for i in range(n))
    return Ether(src=H1_MAC, dst=H2_MAC, type=0x8847) / (labels + tag + b"x" * 40)


def ipv4_opts(opts, tag):
    ihl = 5 + len(opts) // 4
    hdr = struct.pack("!BBHHHBBH4s4s", 0x40 | ihl, 0, 20 + len(opts) + 8 + len(tag), 1, 0, 64, 17, 0,
                      bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2])) + opts
    return Ether(src=H1_MAC, dst=H2_MAC, type=0x0800) / (hdr + struct.pack("!HHHH", 1111, 2222, 8 + len(tag), 0)
                                                        + tag)


def custom(ethertype, kind, body, tag):
    return Ether(src=H1_MAC, dst=H2_MAC, type=ethertype) / (bytes([kind]) + body + tag + b"x" * 40)


def test_value_set_varbit_stack_and_union(hosts, infrap4d, workdir):
    spec, info, ctx = compile_p4(workdir, "parse_ext")
    vs = json.load(open(ctx))["value_sets"]
    assert [(v["name"], v["target_name"], v["id"] >> 24, v["size"]) for v in vs] == \
        [("MainParserImpl.custom_types", "custom_types", 3, 4)]
    assert "value_sets {" in open(info).read() and "id: %d" % vs[0]["id"] in open(info).read()
    h1, h2 = hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2")
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)], spec=spec)
    sn = h2.sniffer()
    try:
        # MPLS: one to three labels walked with .next, the last one's TTL read with .last
        h1.send([mpls(n, b"mpls-%d" % n) for n in (1, 2, 3, 4)])
        for n in (1, 2, 3):
            got = frames_to(sn, b"mpls-%d" % n)
            assert len(got) == 1, "%d labels" % n
            raw = bytes(got[0])
            assert raw[10:12] == bytes([n, 60 + n - 1]), raw[6:12].hex()
            assert raw[14:14 + 4 * n] == bytes(mpls(n, b"")[1:])[:4 * n]
        assert not frames_to(sn, b"mpls-4", timeout=0.3), "a fourth label must be StackOutOfBounds"
        # IPv4 options of 0, 4 and 40 bytes in the varbit field; UDP found after them
        cases = {0: b"", 4: b"\x01\x01\x01\x00", 40: bytes(range(40))}
        h1.send([ipv4_opts(o, b"opts-%02d" % n) for n, o in cases.items()])
        for n, o in cases.items():
            got = frames_to(sn, b"opts-%02d" % n)
            assert len(got) == 1, "IPv4 with %d option bytes" % n
            raw = bytes(got[0])[14:]
            assert raw[8] == 63 and raw[20:20 + n] == o, raw.hex()
            assert struct.unpack("!HH", raw[20 + n:24 + n]) == (0xabcd, 2222)
        # the value set is empty: the custom EtherType is not parsed beyond Ethernet
        small = custom(0x9999, 1, b"\x11\x22\x33\x44", b"before")
        h1.send(small)
        got = frames_to(sn, b"before")
        assert len(got) == 1 and bytes(got[0]) == bytes(small)
        d.ctl("add", "custom_types", "match", 0x9999, "action", "custom_types_member")
        h1.send([custom(0x9999, 1, b"\x11\x22\x33\x44", b"small"),
                 custom(0x9999, 2, b"\xaa\xaa\xaa\xaa\xbb\xbb\xbb\xbb", b"big"),
                 custom(0x9998, 1, b"\x11\x22\x33\x44", b"other")])
        got = frames_to(sn, b"small")
        assert len(got) == 1 and bytes(got[0])[14:23] == b"\x02" + b"\x11\x22\x33\x44" * 2
        got = frames_to(sn, b"big")
        assert len(got) == 1 and bytes(got[0])[14:23] == b"\x02\xbb\xbb\xbb\xbb\xaa\xaa\xaa\xaa"
        got = frames_to(sn, b"other")
        assert len(got) == 1 and bytes(got[0])[14:19] == b"\x01\x11\x22\x33\x44"
    finally:
        sn.close()
