"""The P4 programs of p4src/ driven end to end through P4Runtime.

One infrap4d with three namespace hosts serves P4Runtime; each test pushes a
program's compiler output (the build's PROGRAM.spec, PROGRAM.json and
PROGRAM.p4info.txt put into a BfPipelineConfig here, or the single-file
PROGRAM.bundle.bin) with SetForwardingPipelineConfig, programs its tables,
profiles and externs by P4Info names, and checks packet by packet in the
namespaces what the program's comments promise: L2 forwarding, LPM routing,
an ACL with ternary and range keys (the range expanded into value/mask
entries by the service), ECMP over an action selector, direct and indirect
counters moving with traffic, a meter and registers.
"""
import os

import grpc
import pytest
from google.protobuf import text_format
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether

import p4rt_client as pc
from ipdk_net import BUILD, link_port, wait_until
from p4rt_client import p4, p4d, p4i, table_update, update
from test_p4c_programs import H1_MAC, H2_MAC, H3_MAC, ROUTER_MAC, frames_to, ipv4_checksum_ok

A = p4.SetForwardingPipelineConfigRequest
OUT = os.path.join(BUILD, "p4src")
PROGRAMS = ("l2_fwd", "l3_lpm", "acl", "ecmp", "meter_reg")


def mac(s):
    return int(s.replace(":", ""), 16)


def ip4(s):
    return int.from_bytes(bytes(int(x) for x in s.split(".")), "big")


def built(prog, ext):
    path = os.path.join(OUT, prog + ext)
    if not os.path.exists(path):
        pytest.skip("%s not built (needs ipdk-p4c with protobuf-c)" % path)
    return path


def p4info_of(prog):
    return text_format.Parse(open(built(prog, ".p4info.txt")).read(), p4i.P4Info())


def device_config(prog):
    """A ForwardingPipelineConfig made here from the build's outputs."""
    return pc.bundle(open(built(prog, ".spec")).read(), context=open(built(prog, ".json")).read(),
                     p4info=p4info_of(prog), name=prog)


def bundle_file(prog):
    return p4.ForwardingPipelineConfig(p4_device_config=open(built(prog, ".bundle.bin"), "rb").read())


@pytest.fixture(scope="module")
def env(module_infrap4d, module_hosts):
    h1 = module_hosts(H1_MAC, "10.1.0.2", gw="10.1.0.1", gw_mac=ROUTER_MAC)
    h2, h3 = module_hosts(H2_MAC, "10.2.0.2"), module_hosts(H3_MAC, "10.2.0.3")
    d = module_infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), link_port("h3", h3)],
                        args=["--grpc-security", "insecure", "--p4rt-listen", "127.0.0.1:0"])
    with pc.primary(d, election_id=7) as c:
        yield {"d": d, "c": c, "h1": h1, "h2": h2, "h3": h3}


def load(env, prog, form="device_config"):
    """Pushes prog; returns (client, Info of the P4Info the service reports)."""
    c = env["c"]
    c.set_pipeline(A.VERIFY_AND_COMMIT, device_config(prog) if form == "device_config"
                   else bundle_file(prog))
    got = c.get_pipeline().p4info
    assert got == p4info_of(prog), "the service does not report the compiler's P4Info"
    return c, pc.Info(got)


class Sniffers:
    def __init__(self, *hosts):
        self.s = [h.sniffer() for h in hosts]

    def __enter__(self):
        return self.s

    def __exit__(self, *exc):
        for s in self.s:
            s.close()


def counter(c, info, name, index):
    cid = info.counter(name).preamble.id
    ents = c.read(p4.Entity(counter_entry=p4.CounterEntry(counter_id=cid, index=p4.Index(index=index))))
    assert len(ents) == 1
    return ents[0].counter_entry.data.packet_count


def register(c, info, name, index):
    rid = info.register(name).preamble.id
    ents = c.read(p4.Entity(register_entry=p4.RegisterEntry(register_id=rid, index=p4.Index(index=index))))
    assert len(ents) == 1
    return int.from_bytes(ents[0].register_entry.data.bitstring, "big")


def register_write(info, name, index, value):
    rid = info.register(name).preamble.id
    return update("modify", register_entry=p4.RegisterEntry(
        register_id=rid, index=p4.Index(index=index), data=p4d.P4Data(bitstring=pc.to_bytes(value))))


def codes(e):
    return [x.canonical_code for x in pc.details(e.value)]


# ---- every program loads, in both forms -----------------------------------

@pytest.mark.parametrize("prog", PROGRAMS)
def test_program_loads_as_bundle_file_and_as_device_config(env, prog):
    c, info = load(env, prog, "bundle")
    assert c.get_pipeline().p4_device_config == bundle_file(prog).p4_device_config
    c, info = load(env, prog, "device_config")
    # every table the P4Info names is readable (and empty after the push)
    for t in info.info.tables:
        assert c.read(p4.Entity(table_entry=p4.TableEntry(table_id=t.preamble.id))) == []


# ---- l2_fwd -----------------------------------------------------------------

def test_l2_fwd_by_p4info_names(env):
    c, info = load(env, "l2_fwd")
    h1 = env["h1"]
    e2 = info.entry("MainControlImpl.l2_fwd", {"hdr.ethernet.dst_addr": mac(H2_MAC)},
                    "MainControlImpl.send", port=1)
    e3 = info.entry("MainControlImpl.l2_fwd", {"hdr.ethernet.dst_addr": mac(H3_MAC)},
                    "MainControlImpl.send", port=2)
    c.write([table_update("insert", e2), table_update("insert", e3)])
    before = counter(c, info, "MainControlImpl.rx_count", 0)
    frame = lambda dst, tag: Ether(src=H1_MAC, dst=dst, type=0x88b5) / (tag + b"x" * 40)
    with Sniffers(env["h2"], env["h3"]) as (s2, s3):
        h1.send([frame(H2_MAC, b"l2-to-h2"), frame(H3_MAC, b"l2-to-h3"),
                 frame("02:00:00:00:00:99", b"l2-miss")])
        assert len(frames_to(s2, b"l2-to-h2")) == 1 and len(frames_to(s3, b"l2-to-h3")) == 1
        assert not frames_to(s2, b"l2-miss", timeout=0.5) and not frames_to(s3, b"l2-miss", timeout=0.1)
        assert not frames_to(s3, b"l2-to-h2", timeout=0.1)
        wait_until(lambda: counter(c, info, "MainControlImpl.rx_count", 0) - before == 3)
        # read back by P4Info ids, canonical bytes
        got = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=e2.table_id)))
        assert sorted(g.table_entry.SerializeToString(deterministic=True) for g in got) == \
            sorted(x.SerializeToString(deterministic=True) for x in (e2, e3))
        # MODIFY moves the traffic, DELETE stops it
        c.write([table_update("modify", info.entry("MainControlImpl.l2_fwd",
                                                   {"hdr.ethernet.dst_addr": mac(H2_MAC)},
                                                   "MainControlImpl.send", port=2))])
        h1.send(frame(H2_MAC, b"l2-moved"))
        assert len(frames_to(s3, b"l2-moved")) == 1 and not frames_to(s2, b"l2-moved", timeout=0.3)
        c.write([table_update("delete", e2)])
        h1.send(frame(H2_MAC, b"l2-gone"))
        assert not frames_to(s3, b"l2-gone", timeout=0.5) and not frames_to(s2, b"l2-gone", timeout=0.1)
    # the default entry is the program's drop
    d = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=e2.table_id, is_default_action=True)))
    assert d[0].table_entry.action.action.action_id == info.action("MainControlImpl.drop").preamble.id


# ---- l3_lpm -----------------------------------------------------------------

def route(info, prefix, plen, port, dst_mac, route_id):
    return info.entry("MainControlImpl.ipv4_lpm", {"hdr.ipv4.dst_addr": (ip4(prefix), plen)},
                      "MainControlImpl.route", port=port, src_mac=mac(ROUTER_MAC),
                      dst_mac=mac(dst_mac), route_id=route_id)


def test_l3_lpm_routes_by_longest_prefix(env):
    c, info = load(env, "l3_lpm")
    h1, h2 = env["h1"], env["h2"]
    c.write([table_update("insert", route(info, "10.2.0.0", 16, 1, H2_MAC, 2)),
             table_update("insert", route(info, "10.2.0.0", 24, 1, H2_MAC, 3)),
             table_update("insert", route(info, "10.1.0.0", 24, 0, H1_MAC, 1))])
    # a prefix with host bits set is refused
    with pytest.raises(grpc.RpcError) as e:
        c.write([table_update("insert", route(info, "10.3.0.1", 24, 1, H2_MAC, 4))])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    udp = lambda dst, ttl, tag: (Ether(src=H1_MAC, dst=ROUTER_MAC) /
                                 IP(src=h1.ip, dst=dst, ttl=ttl, id=ttl) / UDP(sport=4000, dport=7777) / tag)
    with Sniffers(h2) as (sn,):
        h1.send([udp("10.2.0.2", 64, b"r-long"), udp("10.2.7.7", 9, b"r-short"),
                 udp("10.9.0.1", 64, b"r-none"), udp("10.2.0.2", 1, b"r-ttl1")])
        for tag, ttl in ((b"r-long", 64), (b"r-short", 9)):
            got = frames_to(sn, tag)
            assert len(got) == 1, tag
            p = got[0]
            assert p.src == ROUTER_MAC and p.dst == H2_MAC and p[IP].ttl == ttl - 1
            assert ipv4_checksum_ok(bytes(p))
        assert not frames_to(sn, b"r-none", timeout=0.3) and not frames_to(sn, b"r-ttl1", timeout=0.1)
    # route_hits by route id, last_ttl per input port (port 0)
    wait_until(lambda: counter(c, info, "MainControlImpl.route_hits", 3) == 1)
    assert counter(c, info, "MainControlImpl.route_hits", 2) == 1
    assert register(c, info, "MainControlImpl.last_ttl", 0) == 64
    # a counter write of 0 resets it; a register write sticks
    cid = info.counter("MainControlImpl.route_hits").preamble.id
    c.write([update("modify", counter_entry=p4.CounterEntry(counter_id=cid, index=p4.Index(index=3),
                                                           data=p4.CounterData())),
             register_write(info, "MainControlImpl.last_ttl", 5, 0x42)])
    assert counter(c, info, "MainControlImpl.route_hits", 3) == 0
    assert register(c, info, "MainControlImpl.last_ttl", 5) == 0x42
    # the LPM read shows prefixes as written
    got = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=info.table("MainControlImpl.ipv4_lpm").preamble.id)))
    assert sorted((g.table_entry.match[0].lpm.prefix_len, g.table_entry.match[0].lpm.value) for g in got) == \
        [(16, bytes([10, 2, 0, 0])), (24, bytes([10, 1, 0, 0])), (24, bytes([10, 2, 0, 0]))]


# ---- acl: ternary and range keys ---------------------------------------------

def acl_entry(info, prio, action, src=None, proto=None, dport=None, **params):
    m = {}
    if src is not None:
        m["src"] = (ip4(src), 0xffffffff)
    if proto is not None:
        m["proto"] = (proto, 0xff)
    if dport is not None:
        m["dport"] = dport
    return info.entry("MainControlImpl.acl", m, "MainControlImpl." + action, priority=prio, **params)


def test_acl_ternary_and_range_entries(env):
    c, info = load(env, "acl")
    h1, h2 = env["h1"], env["h2"]
    assert info.table("MainControlImpl.acl").match_fields[3].match_type == p4i.MatchField.RANGE
    permit_udp = acl_entry(info, 10, "permit", proto=17, port=1)
    # 1000..5999 is no aligned block: the target holds it as several value/mask entries
    deny_range = acl_entry(info, 20, "deny", src=h1.ip, proto=17, dport=(1000, 5999))
    permit_tcp = acl_entry(info, 5, "permit", proto=6, port=1)
    c.write([table_update("insert", e) for e in (permit_udp, deny_range, permit_tcp)])
    # reads return the entries as written, the range as a range
    got = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=permit_udp.table_id)))
    assert sorted(g.table_entry.SerializeToString(deterministic=True) for g in got) == \
        sorted(x.SerializeToString(deterministic=True) for x in (permit_udp, deny_range, permit_tcp))
    one = c.read(p4.Entity(table_entry=deny_range))
    rng = [m.range for m in one[0].table_entry.match if m.field_id == info.field_id("MainControlImpl.acl", "dport")]
    assert len(one) == 1 and rng[0].low == (1000).to_bytes(2, "big") and rng[0].high == (5999).to_bytes(2, "big")
    # the same key again, and a full range written out, are refused
    with pytest.raises(grpc.RpcError) as e:
        c.write([table_update("insert", deny_range)])
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
    with pytest.raises(grpc.RpcError) as e:
        c.write([table_update("insert", acl_entry(info, 30, "deny", dport=(0, 0xffff)))])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT

    base = Ether(src=H1_MAC, dst=H2_MAC) / IP(src=h1.ip, dst=h2.ip)
    ports = (999, 1000, 1001, 4096, 5999, 6000)
    denied0 = counter(c, info, "MainControlImpl.denied", 0)
    with Sniffers(h2) as (sn,):
        h1.send([base / UDP(sport=1, dport=p) / (b"acl-udp-%d" % p) for p in ports] +
                [base / TCP(sport=1, dport=5000, flags="S") / b"acl-tcp-5000",
                 base / IP(proto=47) / b"acl-gre"])
        for p in ports:
            passed = bool(frames_to(sn, b"acl-udp-%d" % p, timeout=0.4))
            assert passed == (p < 1000 or p > 5999), "UDP port %d" % p
        assert len(frames_to(sn, b"acl-tcp-5000")) == 1
        assert not frames_to(sn, b"acl-gre", timeout=0.2)
        wait_until(lambda: counter(c, info, "MainControlImpl.denied", 0) - denied0 == 3)
        # MODIFY changes every value/mask entry of the range
        c.write([table_update("modify", acl_entry(info, 20, "permit", src=h1.ip, proto=17,
                                                  dport=(1000, 5999), port=1))])
        h1.send([base / UDP(sport=1, dport=p) / (b"acl-mod-%d" % p) for p in (1000, 4096, 5999)])
        assert len(frames_to(sn, b"acl-mod-", count=3)) == 3
        # DELETE removes all of them (with permit_udp gone too, UDP is denied by default)
        c.write([table_update("delete", deny_range), table_update("delete", permit_udp)])
        h1.send([base / UDP(sport=1, dport=p) / (b"acl-del-%d" % p) for p in (1000, 5999, 53)])
        assert not frames_to(sn, b"acl-del-", timeout=0.5)
    got = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=permit_udp.table_id)))
    assert [g.table_entry for g in got] == [permit_tcp]


def test_acl_range_entry_in_an_aborted_batch_leaves_nothing(env):
    c, info = load(env, "acl")
    good = acl_entry(info, 20, "deny", proto=17, dport=(7, 700))
    bad = acl_entry(info, 20, "permit", proto=17, port=1)
    bad.match[0].ternary.value, bad.match[0].ternary.mask = b"\x03", b"\x01"   # bits outside the mask
    with pytest.raises(grpc.RpcError) as e:
        c.write([table_update("insert", good), table_update("insert", bad)],
                atomicity=p4.WriteRequest.ROLLBACK_ON_ERROR)
    assert codes(e) == [grpc.StatusCode.ABORTED.value[0], grpc.StatusCode.INVALID_ARGUMENT.value[0]]
    tid = good.table_id
    assert c.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid))) == []
    # and it can be inserted afterwards (no stale value/mask entries in the target),
    # its metadata kept with the P4Runtime entry
    good.metadata = b"range-md"
    c.write([table_update("insert", good)])
    got = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid)))
    assert len(got) == 1 and got[0].table_entry.metadata == b"range-md"


# ---- ecmp: action selector --------------------------------------------------

def member(info, mid, port, dst_mac):
    return update("insert", action_profile_member=p4.ActionProfileMember(
        action_profile_id=info.info.action_profiles[0].preamble.id, member_id=mid,
        action=info.act("MainControlImpl.set_nhop", port=port, dst_mac=mac(dst_mac))))


def group(info, gid, members, kind="insert"):
    g = p4.ActionProfileGroup(action_profile_id=info.info.action_profiles[0].preamble.id, group_id=gid)
    for m in members:
        g.members.add(member_id=m, weight=1)
    return update(kind, action_profile_group=g)


def spread(env, tag):
    """Sends 32 flows (two packets each); returns {sport: set of host indexes}."""
    h1 = env["h1"]
    flows = range(3000, 3032)
    on = {}
    with Sniffers(env["h2"], env["h3"]) as (s2, s3):
        h1.send([Ether(src=H1_MAC, dst=ROUTER_MAC) / IP(src=h1.ip, dst="10.2.9.9", ttl=20) /
                 UDP(sport=sp, dport=80) / (tag + b"-%d-%d" % (sp, i)) for sp in flows for i in range(2)])
        wait_until(lambda: len(frames_to(s2, tag, count=0, timeout=0)) +
                   len(frames_to(s3, tag, count=0, timeout=0)) >= 64, timeout=3)
        for idx, (s, dst) in enumerate(((s2, H2_MAC), (s3, H3_MAC))):
            for p in frames_to(s, tag, count=0, timeout=0.2):
                assert p.dst == dst and p.src == ROUTER_MAC and p[IP].ttl == 19
                assert ipv4_checksum_ok(bytes(p))
                on.setdefault(p[UDP].sport, set()).add(idx)
    assert set(on) == set(flows), "flows lost"
    return on


def test_ecmp_members_groups_and_selection(env):
    c, info = load(env, "ecmp")
    ap = info.info.action_profiles[0]
    assert ap.with_selector and list(ap.table_ids) == [info.table("MainControlImpl.ecmp").preamble.id]
    c.write([member(info, 1, 1, H2_MAC), member(info, 2, 2, H3_MAC), group(info, 10, [1, 2])])
    te = info.entry("MainControlImpl.ecmp", {"hdr.ipv4.dst_addr": (ip4("10.2.0.0"), 16)})
    te.action.action_profile_group_id = 10
    c.write([table_update("insert", te)])
    on = spread(env, b"ecmp-a")
    assert all(len(v) == 1 for v in on.values()), "a flow was split over next hops"
    used = [sum(1 for v in on.values() if i in v) for i in (0, 1)]
    assert min(used) >= 4, "flows not spread over both next hops: %s" % used
    # a miss is dropped even though a group exists (the miss's group is never handed out)
    with Sniffers(env["h2"], env["h3"]) as (s2, s3):
        env["h1"].send(Ether(src=H1_MAC, dst=ROUTER_MAC) / IP(src=env["h1"].ip, dst="10.7.0.1") /
                       UDP(sport=1, dport=2) / b"ecmp-miss")
        assert not frames_to(s2, b"ecmp-miss", timeout=0.5) and not frames_to(s3, b"ecmp-miss", timeout=0.1)
    # a member in a group cannot go; a group in use cannot go
    with pytest.raises(grpc.RpcError) as e:
        c.write([update("delete", action_profile_member=p4.ActionProfileMember(
            action_profile_id=ap.preamble.id, member_id=2))])
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as e:
        c.write([group(info, 10, [], "delete")])
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    # shrinking the group moves every flow to the remaining member
    c.write([group(info, 10, [2], "modify")])
    on = spread(env, b"ecmp-b")
    assert all(v == {1} for v in on.values())
    # reads: the entry names the group, the group its members
    got = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=te.table_id)))
    assert [g.table_entry.action.action_profile_group_id for g in got] == [10]
    gs = c.read(p4.Entity(action_profile_group=p4.ActionProfileGroup(action_profile_id=ap.preamble.id)))
    assert [(g.action_profile_group.group_id, [m.member_id for m in g.action_profile_group.members])
            for g in gs] == [(10, [2])]
    ms = c.read(p4.Entity(action_profile_member=p4.ActionProfileMember(action_profile_id=ap.preamble.id)))
    assert sorted(m.action_profile_member.member_id for m in ms) == [1, 2]
    # tear down in dependency order
    c.write([table_update("delete", te)])
    c.write([group(info, 10, [], "delete")])
    c.write([update("delete", action_profile_member=p4.ActionProfileMember(
        action_profile_id=ap.preamble.id, member_id=m)) for m in (1, 2)])



def test_ecmp_member_zero_is_never_a_member(env):
    """On the DPDK target a miss (the lowered table's default selects group 0,
    which stays empty) and an empty group both yield member id 0, so a member
    0 would catch them: P4Runtime member (and group) id 0 is refused, and both
    cases are dropped."""
    c, info = load(env, "ecmp")
    ap = info.info.action_profiles[0]
    with pytest.raises(grpc.RpcError) as e:
        c.write([member(info, 0, 1, H2_MAC)])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        c.write([group(info, 0, [])])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    c.write([member(info, 1, 1, H2_MAC), group(info, 10, [])])
    te = info.entry("MainControlImpl.ecmp", {"hdr.ipv4.dst_addr": (ip4("10.2.0.0"), 16)})
    te.action.action_profile_group_id = 10
    c.write([table_update("insert", te)])
    with Sniffers(env["h2"], env["h3"]) as (s2, s3):
        for dst, tag in (("10.2.0.9", b"ecmp-empty"), ("10.7.0.1", b"ecmp-miss")):
            env["h1"].send(Ether(src=H1_MAC, dst=ROUTER_MAC) / IP(src=env["h1"].ip, dst=dst) /
                           UDP(sport=1, dport=2) / tag)
        assert not frames_to(s2, b"ecmp-", timeout=0.5) and not frames_to(s3, b"ecmp-", timeout=0.1)
    c.write([table_update("delete", te)])
    c.write([group(info, 10, [], "delete")])
    c.write([update("delete", action_profile_member=p4.ActionProfileMember(
        action_profile_id=ap.preamble.id, member_id=1))])


# ---- meter_reg: direct and indirect counters, meter, register ----------------

def test_meter_reg_counters_meter_register(env):
    c, info = load(env, "meter_reg")
    h1 = env["h1"]
    te = info.entry("MainControlImpl.l2_fwd", {"hdr.ethernet.dst_addr": mac(H2_MAC)},
                    "MainControlImpl.send", port=1)
    c.write([table_update("insert", te)])
    frame = lambda tag, t=0x88b5: Ether(src=H1_MAC, dst=H2_MAC, type=t) / (tag + b"x" * 40)
    dc = lambda: c.read(p4.Entity(direct_counter_entry=p4.DirectCounterEntry(table_entry=te)))
    assert dc()[0].direct_counter_entry.data.packet_count == 0
    with Sniffers(env["h2"]) as (sn,):
        h1.send([frame(b"mr-green-%02d" % i) for i in range(5)])
        assert len(frames_to(sn, b"mr-green-", count=5)) == 5
        # the direct counter of the entry, read both ways, and the indirect one
        wait_until(lambda: dc()[0].direct_counter_entry.data.packet_count == 5)
        ent = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=te.table_id, match=te.match,
                                                         counter_data=p4.CounterData())))
        assert ent[0].table_entry.counter_data.packet_count == 5
        assert counter(c, info, "MainControlImpl.seen", 0) == 5
        assert register(c, info, "MainControlImpl.last_type", 0) == 0x88b5
        # counter writes set the cell (0 resets it): direct, through the table
        # entry's counter_data, and indirect; counting goes on from there
        c.write([update("modify", direct_counter_entry=p4.DirectCounterEntry(
            table_entry=te, data=p4.CounterData(packet_count=1000)))])
        assert dc()[0].direct_counter_entry.data.packet_count == 1000
        te_cd = p4.TableEntry()
        te_cd.CopyFrom(te)
        te_cd.counter_data.packet_count = 42
        c.write([table_update("modify", te_cd)])
        assert dc()[0].direct_counter_entry.data.packet_count == 42
        seen = info.counter("MainControlImpl.seen").preamble.id
        c.write([update("modify", counter_entry=p4.CounterEntry(
            counter_id=seen, index=p4.Index(index=0), data=p4.CounterData(packet_count=500)))])
        assert counter(c, info, "MainControlImpl.seen", 0) == 500
        h1.send([frame(b"mr-more-%02d" % i) for i in range(2)])
        assert len(frames_to(sn, b"mr-more-", count=2)) == 2
        wait_until(lambda: dc()[0].direct_counter_entry.data.packet_count == 44)
        assert counter(c, info, "MainControlImpl.seen", 0) == 502
        # bytes of a packets-only counter, negative counts: refused, cell unchanged
        for data in (p4.CounterData(byte_count=5), p4.CounterData(packet_count=-1)):
            with pytest.raises(grpc.RpcError) as e:
                c.write([update("modify", counter_entry=p4.CounterEntry(
                    counter_id=seen, index=p4.Index(index=0), data=data))])
            assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        te_cd.counter_data.byte_count = 7
        with pytest.raises(grpc.RpcError) as e:
            c.write([table_update("modify", te_cd)])
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert counter(c, info, "MainControlImpl.seen", 0) == 502
        c.write([update("modify", direct_counter_entry=p4.DirectCounterEntry(
            table_entry=te, data=p4.CounterData()))])
        c.write([update("modify", counter_entry=p4.CounterEntry(
            counter_id=seen, index=p4.Index(index=0), data=p4.CounterData(packet_count=5)))])
        assert dc()[0].direct_counter_entry.data.packet_count == 0
        # the meter in packet mode: committed 3, peak 5 packets of burst, refilled at 1/s
        mid = info.meter("MainControlImpl.port_meter").preamble.id
        c.write([update("modify", meter_entry=p4.MeterEntry(
            meter_id=mid, index=p4.Index(index=0), config=p4.MeterConfig(cir=1, cburst=3, pir=1, pburst=5)))])
        got = c.read(p4.Entity(meter_entry=p4.MeterEntry(meter_id=mid, index=p4.Index(index=0))))
        assert got[0].meter_entry.config == p4.MeterConfig(cir=1, cburst=3, pir=1, pburst=5)
        sn.drain()
        h1.send([frame(b"mr-burst-%02d" % i, 0x88b6) for i in range(20)])
        wait_until(lambda: counter(c, info, "MainControlImpl.seen", 0) == 25)
        passed = len(frames_to(sn, b"mr-burst-", count=20, timeout=1.0))
        assert 3 <= passed <= 7, passed
        assert counter(c, info, "MainControlImpl.red_drops", 0) == 20 - passed
        assert dc()[0].direct_counter_entry.data.packet_count == passed
        assert register(c, info, "MainControlImpl.last_type", 0) == 0x88b6
        # MODIFY without a config resets the meter: everything passes again
        c.write([update("modify", meter_entry=p4.MeterEntry(meter_id=mid, index=p4.Index(index=0)))])
        h1.send([frame(b"mr-after-%02d" % i) for i in range(10)])
        assert len(frames_to(sn, b"mr-after-", count=10)) == 10


def test_meter_reg_inserted_entry_counts_from_its_counter_data(env):
    """An INSERT starts the entry's direct counter at counter_data, or 0: the
    target would otherwise keep the count of a deleted entry whose place the
    new one takes."""
    c, info = load(env, "meter_reg")
    te = info.entry("MainControlImpl.l2_fwd", {"hdr.ethernet.dst_addr": mac(H2_MAC)},
                    "MainControlImpl.send", port=1)
    dc = lambda: c.read(p4.Entity(direct_counter_entry=p4.DirectCounterEntry(
        table_entry=te)))[0].direct_counter_entry.data.packet_count
    c.write([table_update("insert", te)])
    with Sniffers(env["h2"]) as (sn,):
        env["h1"].send([Ether(src=H1_MAC, dst=H2_MAC, type=0x88b5) / (b"dc-%02d" % i + b"x" * 40)
                        for i in range(4)])
        assert len(frames_to(sn, b"dc-", count=4)) == 4
    wait_until(lambda: dc() == 4)
    c.write([table_update("delete", te)])
    c.write([table_update("insert", te)])
    assert dc() == 0
    c.write([table_update("delete", te)])
    te.counter_data.packet_count = 7
    c.write([table_update("insert", te)])
    assert dc() == 7


def test_meter_reg_cell_writes_wait_for_the_batch(env):
    """Counter, meter and register writes of an aborted batch do not happen;
    in a committed batch they happen in order."""
    c, info = load(env, "meter_reg")
    bad = table_update("insert", info.entry("MainControlImpl.l2_fwd", {"hdr.ethernet.dst_addr": 1},
                                            "MainControlImpl.send", port=1))
    bad.entity.table_entry.action.action.params[0].value = b"\x01\x00\x00\x00\x00"   # too wide
    c.write([register_write(info, "MainControlImpl.last_type", 7, 0x1111)])
    with pytest.raises(grpc.RpcError) as e:
        c.write([register_write(info, "MainControlImpl.last_type", 7, 0x2222), bad],
                atomicity=p4.WriteRequest.ROLLBACK_ON_ERROR)
    assert codes(e) == [grpc.StatusCode.ABORTED.value[0], grpc.StatusCode.OUT_OF_RANGE.value[0]]
    assert register(c, info, "MainControlImpl.last_type", 7) == 0x1111
    # CONTINUE_ON_ERROR: the good one is applied; two writes of a cell: the last wins
    with pytest.raises(grpc.RpcError) as e:
        c.write([register_write(info, "MainControlImpl.last_type", 7, 0x3333), bad,
                 register_write(info, "MainControlImpl.last_type", 7, 0x4444)])
    assert codes(e) == [0, grpc.StatusCode.OUT_OF_RANGE.value[0], 0]
    assert register(c, info, "MainControlImpl.last_type", 7) == 0x4444
    # a direct counter of an entry inserted earlier in the same batch
    te = info.entry("MainControlImpl.l2_fwd", {"hdr.ethernet.dst_addr": 5}, "MainControlImpl.send", port=1)
    c.write([table_update("insert", te),
             update("modify", direct_counter_entry=p4.DirectCounterEntry(table_entry=te, data=p4.CounterData()))])
    # and of one that does not exist
    missing = info.entry("MainControlImpl.l2_fwd", {"hdr.ethernet.dst_addr": 6})
    with pytest.raises(grpc.RpcError) as e:
        c.write([update("modify", direct_counter_entry=p4.DirectCounterEntry(table_entry=missing,
                                                                            data=p4.CounterData()))])
    assert e.value.code() == grpc.StatusCode.NOT_FOUND


# ---- conntrack: a learner table is no idle-timeout table ---------------------

def test_conntrack_learner_table_takes_no_idle_timeout(env):
    """ipdk-p4c marks the add_on_miss table NOTIFY_CONTROL, but the target can
    neither report learned entries nor their expiry (docs/p4runtime.md): the
    P4Info loads, the table reads empty, idle_timeout_ns and controller
    entries are refused."""
    c, info = load(env, "conntrack")
    t = info.table("MainControlImpl.ct")
    assert t.idle_timeout_behavior == p4i.Table.NOTIFY_CONTROL
    assert c.read(p4.Entity(table_entry=p4.TableEntry(table_id=t.preamble.id))) == []
    te = p4.TableEntry(table_id=t.preamble.id)
    for f in t.match_fields:
        te.match.add(field_id=f.id).exact.value = b"\x01"
    act = [a for a in info.info.actions if a.preamble.id == t.action_refs[0].id][0]
    te.action.action.action_id = act.preamble.id
    for p in act.params:
        te.action.action.params.add(param_id=p.id, value=b"\x01")
    for timeout in (10 ** 9, 0):
        te.idle_timeout_ns = timeout
        with pytest.raises(grpc.RpcError) as e:
            c.write([table_update("insert", te)])
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert ("idle timeout" in e.value.details()) == bool(timeout)


# ---- parse_ext: a parser value set filled through ValueSetEntry ---------------

def test_parse_ext_value_set_entries(env):
    """ValueSetEntry MODIFY replaces the members of parse_ext's custom_types
    (the context's "value_sets": a spec table the control plane fills);
    reads return them; frames with a member EtherType are parsed further."""
    from test_p4c_paths import custom
    c, info = load(env, "parse_ext")
    vs = info.info.value_sets[0]
    assert vs.preamble.name == "MainParserImpl.custom_types" and vs.size == 4

    def members(*types):
        return p4.ValueSetEntry(value_set_id=vs.preamble.id, members=[
            p4.ValueSetMember(match=[p4.FieldMatch(field_id=vs.match[0].id,
                                                   exact=p4.FieldMatch.Exact(value=pc.to_bytes(t)))])
            for t in types])

    def read(vid=vs.preamble.id):
        got = c.read(p4.Entity(value_set_entry=p4.ValueSetEntry(value_set_id=vid)))
        assert len(got) == 1 and got[0].value_set_entry.value_set_id == vs.preamble.id
        return sorted(int.from_bytes(m.match[0].exact.value, "big") for m in got[0].value_set_entry.members)

    def parsed(*types):
        """{ethertype: whether a `small` custom header was rewritten into a `big` one}"""
        out = {}
        with Sniffers(env["h2"]) as (sn,):
            env["h1"].send([custom(t, 1, b"\x11\x22\x33\x44", b"vs-%x" % t) for t in types])
            for t in types:
                got = frames_to(sn, b"vs-%x" % t)
                assert len(got) == 1, hex(t)
                out[t] = bytes(got[0])[14:23] == b"\x02" + b"\x11\x22\x33\x44" * 2
        return out

    assert read() == [] and read(0) == []
    assert parsed(0x9999, 0x9998) == {0x9999: False, 0x9998: False}
    c.write([update("modify", value_set_entry=members(0x9999))])
    assert read() == [0x9999]
    assert parsed(0x9999, 0x9998) == {0x9999: True, 0x9998: False}
    c.write([update("modify", value_set_entry=members(0x9998, 0x9999, 0x88b5))])
    assert read() == [0x88b5, 0x9998, 0x9999]
    assert parsed(0x9999, 0x9998, 0x9997) == {0x9999: True, 0x9998: True, 0x9997: False}
    # refused, set unchanged: INSERT/DELETE, more members than the size, a
    # member given twice, a value wider than 16 bits, an unknown id
    for kind, ve, code in (("insert", members(1), grpc.StatusCode.INVALID_ARGUMENT),
                           ("delete", members(), grpc.StatusCode.INVALID_ARGUMENT),
                           ("modify", members(1, 2, 3, 4, 5), grpc.StatusCode.RESOURCE_EXHAUSTED),
                           ("modify", members(7, 7), grpc.StatusCode.INVALID_ARGUMENT),
                           ("modify", members(0x10000), grpc.StatusCode.OUT_OF_RANGE),
                           ("modify", p4.ValueSetEntry(value_set_id=vs.preamble.id ^ 1),
                            grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.RpcError) as e:
            c.write([update(kind, value_set_entry=ve)])
        assert e.value.code() == code, (kind, ve)
    assert read() == [0x88b5, 0x9998, 0x9999]
    c.write([update("modify", value_set_entry=members())])
    assert read() == []
    assert parsed(0x9999) == {0x9999: False}
