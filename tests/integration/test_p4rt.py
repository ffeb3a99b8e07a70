"""P4Runtime service of infrap4d (lib/p4rt) with real gRPC clients.

A daemon runs the embedded default pipeline between two namespaces (LINK
ports h1, h2) with a RING controller port "cpu" (pipeline port 2), serving
P4Runtime in insecure mode on a free port. The P4Info is the one derived from
the spec (docs/bundle.md). Covered: Capabilities, Get/SetForwardingPipeline-
Config (every action and response type, cookie, bad configs), arbitration
and primary-only writes, Write/Read of exact, LPM, ternary and optional
entries with priorities, canonical and padded byte strings, per-update errors,
defaults and const defaults, counters, registers, meters, PacketOut/PacketIn,
malformed input and clients that vanish.
"""
import os
import time

import grpc
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

import p4rt_client as pc
from ipdk_net import link_port, spec_path, wait_until
from p4rt_client import p4, p4d, p4i, table_update, update, to_bytes

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
MAC1, MAC2, MACR = 0x020000000001, 0x020000000002, 0x02000000AAAA
CPU_PORT = 2

ACL_SPEC = """
struct ethernet_h {
	bit<48> dst_addr
	bit<48> src_addr
	bit<16> ether_type
}
header ethernet instanceof ethernet_h
struct metadata_t {
	bit<32> port_in
	bit<32> port_out
}
metadata instanceof metadata_t
struct fwd_args_t {
	bit<32> port
}
action fwd args instanceof fwd_args_t {
	mov m.port_out t.port
	return
}
action drop args none {
	drop
}
table acl {
	key {
		h.ethernet.dst_addr wildcard
		h.ethernet.ether_type wildcard
	}
	actions {
		fwd
		drop
	}
	default_action drop args none const
	size 4
}
apply {
	rx m.port_in
	extract h.ethernet
	table acl
	emit h.ethernet
	tx m.port_out
}
"""


@pytest.fixture(scope="module")
def env(module_infrap4d, module_hosts):
    h1 = module_hosts("02:00:00:00:00:01", "10.0.0.1")
    h2 = module_hosts("02:00:00:00:00:02", "10.0.0.2")
    for a, b in ((h1, h2), (h2, h1)):
        a.neigh(b.ip, b.mac)
    d = module_infrap4d(ports=[link_port("h1", h1), link_port("h2", h2),
                               "name=cpu,type=ring"],
                        args=["--grpc-security", "insecure", "--p4rt-listen", "127.0.0.1:0",
                              "--p4rt-cpu-port", "cpu"])
    port = pc.port_from_log(d)
    return {"d": d, "h1": h1, "h2": h2, "port": port}


def _stream_gone(c):
    """True once the server has seen c's stream end: c is no primary any more."""
    try:
        c.write([])
    except grpc.RpcError as e:
        return e.code() == grpc.StatusCode.PERMISSION_DENIED
    return False


@pytest.fixture
def client(env):
    """A primary client; its stream closes (and the tables are emptied) after the test."""
    ch = pc.channel(env["port"])
    c = pc.Client(ch)
    s = c.become_primary(election_id=10)
    c.s = s
    yield c
    info = pc.Info(c.get_pipeline().p4info)
    for t in info.info.tables:
        ents = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=t.preamble.id)))
        if ents:
            c.write([update("delete", table_entry=e.table_entry) for e in ents])
    s.close()
    # The server learns of the cancel on its own time; the next test's client
    # takes election id 10 again, which the server refuses (INVALID_ARGUMENT)
    # while this stream still holds it.
    assert wait_until(lambda: _stream_gone(c), timeout=10)
    ch.close()


def _answered(h, ip, count=3):
    """How many of count pings are answered (at most count), waiting up to 10 s.

    Host.ping() gives ping its default linger: once a reply has come, ping
    waits only max(2 x the largest RTT, the interval) after its last probe, so
    a pipeline thread held up some 200 ms by a loaded CPU turns a late reply
    into a lost one. With a deadline ping waits for the replies it wants."""
    r = h.run("ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-w", "10", ip,
              check=False, timeout=30)
    got = [ln for ln in r.stdout.splitlines() if "received" in ln]
    assert got, "ping did not run: %s%s" % (r.stdout, r.stderr)
    return min(count, int(got[0].split(",")[1].split()[0]))


@pytest.fixture
def info(client):
    return pc.Info(client.get_pipeline().p4info)


def code(exc):
    return exc.value.code()


# ---- Capabilities and pipeline configs ------------------------------------

def test_capabilities(env):
    c = pc.Client(pc.channel(env["port"]))
    assert c.capabilities(p4.CapabilitiesRequest()).p4runtime_api_version == "1.4.0"


def test_derived_p4info_of_the_default_pipeline(env):
    c = pc.Client(pc.channel(env["port"]))
    cfg = c.get_pipeline()
    info = pc.Info(cfg.p4info)
    t = info.table("l2_fwd")
    assert t.preamble.id >> 24 == 0x02
    assert [(f.id, f.name, f.bitwidth, f.match_type) for f in t.match_fields] == \
        [(1, "h.ethernet.dst_addr", 48, p4i.MatchField.EXACT)]
    a = info.action("l2_forward")
    assert a.preamble.id >> 24 == 0x01
    assert [(p.name, p.bitwidth) for p in a.params] == [("port", 32)]
    assert info.table("ipv4_lpm").match_fields[0].match_type == p4i.MatchField.LPM
    assert info.counter("port_rx").preamble.id >> 24 == 0x12
    assert not cfg.HasField("cookie")
    # the device config is our bundle around the running spec
    bf = pc.bundle_pb2.BfPipelineConfig()
    bf.ParseFromString(cfg.p4_device_config)
    assert b"table l2_fwd" in bf.profiles[0].binary


def test_get_response_types_and_unknown_device(env):
    c = pc.Client(pc.channel(env["port"]))
    req = p4.GetForwardingPipelineConfigRequest
    only = c.get_pipeline(req.COOKIE_ONLY)
    assert not only.HasField("p4info") and not only.p4_device_config
    pi = c.get_pipeline(req.P4INFO_AND_COOKIE)
    assert pi.HasField("p4info") and not pi.p4_device_config
    dc = c.get_pipeline(req.DEVICE_CONFIG_AND_COOKIE)
    assert not dc.HasField("p4info") and dc.p4_device_config
    with pytest.raises(grpc.RpcError) as e:
        pc.Client(c.ch, device_id=7).get_pipeline()
    assert code(e) == grpc.StatusCode.NOT_FOUND


def test_set_pipeline_actions(env, client):
    d = env["d"]
    A = p4.SetForwardingPipelineConfigRequest
    good = pc.bundle(open(spec_path("l2l3.spec")).read(), cookie=0xC0FFEE)
    bad = pc.bundle("table nonsense {\n", cookie=1)
    # VERIFY does not change anything; a bad spec is refused
    client.set_pipeline(A.VERIFY, good)
    assert not client.get_pipeline().HasField("cookie")
    with pytest.raises(grpc.RpcError) as e:
        client.set_pipeline(A.VERIFY_AND_COMMIT, bad)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        client.set_pipeline(A.VERIFY)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        client.set_pipeline(A.COMMIT)
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
    with pytest.raises(grpc.RpcError) as e:
        client.set_pipeline(A.RECONCILE_AND_COMMIT, good)
    assert code(e) == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(grpc.RpcError) as e:
        client.set_pipeline(A.UNSPECIFIED, good)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    # p4_device_config that is neither a bundle nor text
    with pytest.raises(grpc.RpcError) as e:
        client.set_pipeline(A.VERIFY, p4.ForwardingPipelineConfig(p4_device_config=b"\x00\x01"))
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    # VERIFY_AND_SAVE keeps the new pipeline aside: Writes and Reads address
    # it (and Get returns its config) while the old one forwards; COMMIT runs
    # it with what was written
    client.set_pipeline(A.VERIFY_AND_SAVE, good)
    assert client.get_pipeline().cookie.cookie == 0xC0FFEE
    info = pc.Info(client.get_pipeline().p4info)
    _l2_entries(client, info)
    tid = info.table("l2_fwd").preamble.id
    assert len(client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid)))) == 2
    with pytest.raises(grpc.RpcError) as e:
        client.write([table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 9},
                                                        "l2_forward", port=1 << 33))])
    assert code(e) == grpc.StatusCode.OUT_OF_RANGE
    assert env["h1"].ping(env["h2"].ip, count=2) == 0      # not running yet
    gen = d.ctl("info")
    client.set_pipeline(A.COMMIT)
    assert client.get_pipeline().cookie.cookie == 0xC0FFEE
    assert "from P4Runtime" in d.ctl("info") and gen != d.ctl("info")
    assert _answered(env["h1"], env["h2"].ip) == 3
    assert len(client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid)))) == 2
    # a second VERIFY_AND_SAVE replaces the first with what it had taken; a
    # pipeline loaded through the control socket drops it
    client.set_pipeline(A.VERIFY_AND_SAVE, good)
    client.write([table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 5},
                                                    "l2_forward", port=1))])
    client.set_pipeline(A.VERIFY_AND_SAVE, good)
    assert client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid))) == []
    d.ctl("pipeline", "load", "default")
    with pytest.raises(grpc.RpcError) as e:
        client.set_pipeline(A.COMMIT)
    assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
    # VERIFY_AND_COMMIT with plain spec text, a new P4Info comes with it
    client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
        p4_device_config=open(spec_path("l2l3.spec")).read().encode()))
    assert not client.get_pipeline().HasField("cookie")
    assert pc.Info(client.get_pipeline().p4info).table("l2_fwd")
    # the daemon still forwards with the replaced pipeline
    info = pc.Info(client.get_pipeline().p4info)
    _l2_entries(client, info)
    assert _answered(env["h1"], env["h2"].ip) == 3


def test_pipeline_replaced_from_control_socket_updates_p4info(env, client):
    d = env["d"]
    d.ctl("pipeline", "load", spec_path("lb_select.spec"))
    try:
        info = pc.Info(client.get_pipeline().p4info)
        assert info.table("lb_vip")
        prof = [a for a in info.info.action_profiles if a.preamble.name == "lb_groups"]
        assert prof and prof[0].with_selector
    finally:
        d.ctl("pipeline", "load", "default")
    assert pc.Info(client.get_pipeline().p4info).table("l2_fwd")


# ---- arbitration -------------------------------------------------------------

def test_arbitration_primary_backup_and_promotion(env):
    ch = pc.channel(env["port"])
    a, b = pc.Client(ch), pc.Client(ch)
    sa = a.stream()
    sa.arbitrate(5)
    r = sa.next("arbitration")
    assert r.arbitration.status.code == grpc.StatusCode.OK.value[0]
    sb = b.stream()
    sb.arbitrate(3)
    r = sb.next("arbitration")
    assert r.arbitration.status.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    assert r.arbitration.election_id.low == 5
    # a higher election id takes over; both are told
    sb.arbitrate(9)
    rb = sb.next("arbitration")
    ra = sa.next("arbitration")
    assert rb.arbitration.status.code == 0
    assert ra.arbitration.status.code == grpc.StatusCode.ALREADY_EXISTS.value[0]
    assert ra.arbitration.election_id.low == 9
    # the primary leaves: the backup is promoted
    sb.close()
    r = sa.next("arbitration")
    assert r is not None and r.arbitration.status.code == 0
    # the same election id twice is refused
    sc = pc.Client(ch).stream()
    sc.arbitrate(5)
    assert sc.next("arbitration") is None
    assert sc.error.code() == grpc.StatusCode.INVALID_ARGUMENT
    # an unknown device
    sd = pc.Client(ch).stream()
    sd.arbitrate(100, device_id=42)
    assert sd.next("arbitration") is None
    assert sd.error.code() == grpc.StatusCode.NOT_FOUND
    sa.close()


def test_roles_are_arbitrated_separately(env):
    ch = pc.channel(env["port"])
    x = pc.Client(ch).become_primary(election_id=1, role="red")
    y = pc.Client(ch).become_primary(election_id=1, role="blue")
    x.close()
    y.close()


def test_only_the_primary_writes(env, client):
    info = pc.Info(client.get_pipeline().p4info)
    te = info.entry("l2_fwd", {"h.ethernet.dst_addr": MAC2}, "l2_forward", port=1)
    backup = pc.Client(client.ch)
    sb = backup.stream()
    sb.arbitrate(2)
    assert sb.next("arbitration").arbitration.status.code != 0
    backup.election = 2
    with pytest.raises(grpc.RpcError) as e:
        backup.write([table_update("insert", te)])
    assert code(e) == grpc.StatusCode.PERMISSION_DENIED
    with pytest.raises(grpc.RpcError) as e:
        backup.set_pipeline(p4.SetForwardingPipelineConfigRequest.VERIFY, pc.bundle("x"))
    assert code(e) == grpc.StatusCode.PERMISSION_DENIED
    nobody = pc.Client(client.ch)
    with pytest.raises(grpc.RpcError) as e:
        nobody.write([table_update("insert", te)])
    assert code(e) == grpc.StatusCode.PERMISSION_DENIED
    # reads need no arbitration
    assert nobody.read(p4.Entity(table_entry=p4.TableEntry())) == []
    sb.close()


# ---- tables ------------------------------------------------------------------

def _l2_entries(c, info):
    c.write([table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": MAC2},
                                               "l2_forward", port=1)),
             table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": MAC1},
                                               "l2_forward", port=0))])


def test_exact_entries_forward_and_read_back(env, client, info):
    _l2_entries(client, info)
    assert _answered(env["h1"], env["h2"].ip) == 3
    ents = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=info.table("l2_fwd").preamble.id)))
    got = {e.table_entry.match[0].exact.value: e.table_entry.action.action.params[0].value
           for e in ents}
    assert got == {MAC2.to_bytes(6, "big"): b"\x01", MAC1.to_bytes(6, "big"): b"\x00"}
    # wildcard read over every table finds the same two
    assert len(client.read(p4.Entity(table_entry=p4.TableEntry()))) == 2
    # one entry by key; an absent key reads as nothing
    one = client.read(p4.Entity(table_entry=info.entry("l2_fwd", {"h.ethernet.dst_addr": MAC1})))
    assert len(one) == 1
    assert client.read(p4.Entity(table_entry=info.entry("l2_fwd", {"h.ethernet.dst_addr": 7}))) == []
    # delete: traffic stops
    client.write([table_update("delete", info.entry("l2_fwd", {"h.ethernet.dst_addr": MAC2}))])
    assert env["h1"].ping(env["h2"].ip, count=2) == 0


def test_status_codes_of_single_updates(client, info):
    te = info.entry("l2_fwd", {"h.ethernet.dst_addr": MAC2}, "l2_forward", port=1)
    client.write([table_update("insert", te)])
    cases = [
        (table_update("insert", te), grpc.StatusCode.ALREADY_EXISTS),
        (table_update("modify", info.entry("l2_fwd", {"h.ethernet.dst_addr": 5}, "l2_forward",
                                           port=1)), grpc.StatusCode.NOT_FOUND),
        (table_update("delete", info.entry("l2_fwd", {"h.ethernet.dst_addr": 5})),
         grpc.StatusCode.NOT_FOUND),
        (table_update("insert", p4.TableEntry(table_id=0x02ffffff)),
         grpc.StatusCode.INVALID_ARGUMENT),
        (table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 1 << 48},
                                           "l2_forward", port=1)), grpc.StatusCode.OUT_OF_RANGE),
        (table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 6}, "l2_forward",
                                           port=1 << 32)), grpc.StatusCode.OUT_OF_RANGE),
        (table_update("insert", info.entry("l2_fwd", {}, "l2_forward", port=1)),
         grpc.StatusCode.INVALID_ARGUMENT),
        (table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 6}, "ipv4_route",
                                           port=1, src_mac=1, dst_mac=2, route_id=3)),
         grpc.StatusCode.INVALID_ARGUMENT),
        (table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 6}, "l2_forward",
                                           priority=3, port=1)), grpc.StatusCode.INVALID_ARGUMENT),
        (p4.Update(type=p4.Update.UNSPECIFIED, entity=p4.Entity(table_entry=te)),
         grpc.StatusCode.INVALID_ARGUMENT),
        (update("insert", packet_replication_engine_entry=p4.PacketReplicationEngineEntry()),
         grpc.StatusCode.INVALID_ARGUMENT),
        (update("insert", packet_replication_engine_entry=p4.PacketReplicationEngineEntry(
            multicast_group_entry=p4.MulticastGroupEntry(multicast_group_id=1))),
         grpc.StatusCode.UNIMPLEMENTED),
    ]
    for u, want in cases:
        with pytest.raises(grpc.RpcError) as e:
            client.write([u])
        assert code(e) == want, (u, e.value.details())
        errs = pc.details(e.value)
        assert len(errs) == 1 and errs[0].canonical_code == want.value[0]


def test_padded_bytes_accepted_canonical_on_read(client, info):
    te = info.entry("l2_fwd", {"h.ethernet.dst_addr": b"\x00\x00" + MAC2.to_bytes(6, "big")},
                    "l2_forward", port=b"\x00\x00\x00\x01")
    client.write([table_update("insert", te)])
    e = client.read(p4.Entity(table_entry=info.entry("l2_fwd", {"h.ethernet.dst_addr": MAC2})))[0]
    assert e.table_entry.match[0].exact.value == MAC2.to_bytes(6, "big")
    assert e.table_entry.action.action.params[0].value == b"\x01"
    # the padded and canonical forms name the same entry
    with pytest.raises(grpc.RpcError) as ex:
        client.write([table_update("insert", info.entry(
            "l2_fwd", {"h.ethernet.dst_addr": MAC2}, "l2_forward", port=1))])
    assert code(ex) == grpc.StatusCode.ALREADY_EXISTS


def test_batch_with_per_update_errors(client, info):
    ok1 = info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x10}, "l2_forward", port=1)
    ok2 = info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x11}, "l2_forward", port=0)
    bad = info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x12}, "l2_forward", port=1 << 40)
    client.write([table_update("insert", ok1)])
    with pytest.raises(grpc.RpcError) as e:
        client.write([table_update("insert", ok1), table_update("insert", ok2),
                      table_update("insert", bad)])
    assert code(e) == grpc.StatusCode.UNKNOWN
    errs = pc.details(e.value)
    assert [x.canonical_code for x in errs] == [grpc.StatusCode.ALREADY_EXISTS.value[0], 0,
                                                grpc.StatusCode.OUT_OF_RANGE.value[0]]
    # CONTINUE_ON_ERROR: the good one went in
    assert len(client.read(p4.Entity(table_entry=info.entry(
        "l2_fwd", {"h.ethernet.dst_addr": 0x11})))) == 1
    # ROLLBACK_ON_ERROR: nothing goes in; the others are ABORTED
    ok3 = info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x13}, "l2_forward", port=1)
    for atom in (p4.WriteRequest.ROLLBACK_ON_ERROR, p4.WriteRequest.DATAPLANE_ATOMIC):
        with pytest.raises(grpc.RpcError) as e:
            client.write([table_update("insert", ok3), table_update("insert", bad)],
                         atomicity=atom)
        errs = pc.details(e.value)
        assert [x.canonical_code for x in errs] == [grpc.StatusCode.ABORTED.value[0],
                                                    grpc.StatusCode.OUT_OF_RANGE.value[0]]
        assert client.read(p4.Entity(table_entry=info.entry(
            "l2_fwd", {"h.ethernet.dst_addr": 0x13}))) == []


def test_lpm_routes_and_prefix_rules(env, client, info):
    route = info.entry("ipv4_lpm", {"h.ipv4.dst_addr": (0x0A000200, 24)}, "ipv4_route",
                       port=1, src_mac=MACR, dst_mac=MAC2, route_id=7)
    client.write([table_update("insert", route)])
    e = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=info.table("ipv4_lpm").preamble.id)))
    assert e[0].table_entry.match[0].lpm.prefix_len == 24
    assert e[0].table_entry.match[0].lpm.value == bytes([10, 0, 2, 0])
    for bad, want in (((0x0A000201, 24), grpc.StatusCode.INVALID_ARGUMENT),
                      ((0x0A000200, 33), grpc.StatusCode.OUT_OF_RANGE),
                      ((0x0A000200, 0), grpc.StatusCode.INVALID_ARGUMENT)):
        with pytest.raises(grpc.RpcError) as ex:
            client.write([table_update("insert", info.entry(
                "ipv4_lpm", {"h.ipv4.dst_addr": bad}, "drop"))])
        assert code(ex) == want, bad


def test_default_entries(client, info):
    tid = info.table("ipv4_lpm").preamble.id
    dflt = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid, is_default_action=True)))
    assert len(dflt) == 1 and dflt[0].table_entry.is_default_action
    assert dflt[0].table_entry.action.action.action_id == info.action("drop").preamble.id
    te = p4.TableEntry(table_id=tid, is_default_action=True)
    te.action.action.CopyFrom(info.act("ipv4_route", port=1, src_mac=MACR, dst_mac=MAC2,
                                       route_id=1))
    client.write([table_update("modify", te)])
    got = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid, is_default_action=True)))
    assert got[0].table_entry.action.action.action_id == info.action("ipv4_route").preamble.id
    for kind in ("insert", "delete"):
        with pytest.raises(grpc.RpcError) as e:
            client.write([table_update(kind, te)])
        assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    # MODIFY without an action: back to the program's default
    client.write([table_update("modify", p4.TableEntry(table_id=tid, is_default_action=True))])
    got = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid, is_default_action=True)))
    assert got[0].table_entry.action.action.action_id == info.action("drop").preamble.id


def test_ternary_optional_priorities_const_default_and_full_table(env, client):
    A = p4.SetForwardingPipelineConfigRequest
    client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
        p4_device_config=ACL_SPEC.encode()))
    try:
        info = pc.Info(client.get_pipeline().p4info)
        t = info.table("acl")
        assert [f.match_type for f in t.match_fields] == [p4i.MatchField.TERNARY] * 2
        assert t.const_default_action_id == info.action("drop").preamble.id
        dst, et = "h.ethernet.dst_addr", "h.ethernet.ether_type"
        e1 = info.entry("acl", {dst: (MAC2, 0xFFFFFFFFFFFF)}, "fwd", priority=10, port=1)
        e2 = info.entry("acl", {et: (0x0800, 0xFFFF)}, "fwd", priority=5, port=0)
        client.write([table_update("insert", e1), table_update("insert", e2)])
        # the same key with another priority is another entry
        client.write([table_update("insert", info.entry("acl", {dst: (MAC2, 0xFFFFFFFFFFFF)},
                                                        "drop", priority=11))])
        got = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=t.preamble.id)))
        assert sorted(e.table_entry.priority for e in got) == [5, 10, 11]
        wild = [e for e in got if e.table_entry.priority == 5][0].table_entry
        assert [m.field_id for m in wild.match] == [2]     # the don't-care field is omitted
        cases = [
            (info.entry("acl", {dst: (1, 0)}, "drop", priority=1), grpc.StatusCode.INVALID_ARGUMENT),
            (info.entry("acl", {dst: (3, 1)}, "drop", priority=1), grpc.StatusCode.INVALID_ARGUMENT),
            (info.entry("acl", {dst: (1, 1)}, "drop"), grpc.StatusCode.INVALID_ARGUMENT),
            (info.entry("acl", {et: (1, 1 << 16)}, "drop", priority=1), grpc.StatusCode.OUT_OF_RANGE),
            (info.entry("acl", {dst: (2, 2)}, "drop", priority=2), grpc.StatusCode.RESOURCE_EXHAUSTED),
        ]
        client.write([table_update("insert", info.entry("acl", {dst: (1, 1)}, "drop", priority=1))])
        for te, want in cases:
            with pytest.raises(grpc.RpcError) as e:
                client.write([table_update("insert", te)])
            assert code(e) == want, (te, e.value.details())
        dflt = p4.TableEntry(table_id=t.preamble.id, is_default_action=True)
        dflt.action.action.CopyFrom(info.act("fwd", port=1))
        with pytest.raises(grpc.RpcError) as e:
            client.write([table_update("modify", dflt)])
        assert code(e) == grpc.StatusCode.PERMISSION_DENIED
        got = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=t.preamble.id,
                                                              is_default_action=True)))
        assert got[0].table_entry.const
        # optional: a P4Info may declare the ternary field optional
        p4info = client.get_pipeline().p4info
        p4info.tables[0].match_fields[1].match_type = p4i.MatchField.OPTIONAL
        client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
            p4info=p4info, p4_device_config=ACL_SPEC.encode()))
        info = pc.Info(client.get_pipeline().p4info)
        client.write([table_update("insert", info.entry("acl", {et: 0x0806}, "fwd", priority=3,
                                                        port=1))])
        got = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=t.preamble.id)))
        assert got[0].table_entry.match[0].optional.value == b"\x08\x06"
    finally:
        client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
            p4_device_config=open(spec_path("l2l3.spec")).read().encode()))


# ---- counters, registers, meters ---------------------------------------------

def test_indirect_counter_read_and_reset(env, client, info):
    _l2_entries(client, info)
    assert _answered(env["h1"], env["h2"].ip, count=2) == 2
    cid = info.counter("port_rx").preamble.id
    cells = client.read(p4.Entity(counter_entry=p4.CounterEntry(counter_id=cid)))
    assert len(cells) == info.counter("port_rx").size
    one = client.read(p4.Entity(counter_entry=p4.CounterEntry(counter_id=cid,
                                                              index=p4.Index(index=0))))
    assert one[0].counter_entry.data.packet_count >= 2
    client.write([update("modify", counter_entry=p4.CounterEntry(counter_id=cid,
                                                                 index=p4.Index(index=0)))])
    one = client.read(p4.Entity(counter_entry=p4.CounterEntry(counter_id=cid,
                                                              index=p4.Index(index=0))))
    assert one[0].counter_entry.data.packet_count < 2
    with pytest.raises(grpc.RpcError) as e:
        client.read(p4.Entity(counter_entry=p4.CounterEntry(counter_id=cid,
                                                            index=p4.Index(index=1 << 20))))
    assert code(e) == grpc.StatusCode.OUT_OF_RANGE
    # a write sets the cell; port_rx counts packets only
    client.write([update("modify", counter_entry=p4.CounterEntry(
        counter_id=cid, index=p4.Index(index=0), data=p4.CounterData(packet_count=12345)))])
    one = client.read(p4.Entity(counter_entry=p4.CounterEntry(counter_id=cid,
                                                              index=p4.Index(index=0))))
    assert one[0].counter_entry.data.packet_count >= 12345
    with pytest.raises(grpc.RpcError) as e:
        client.write([update("modify", counter_entry=p4.CounterEntry(
            counter_id=cid, index=p4.Index(index=0), data=p4.CounterData(byte_count=5)))])
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT


def test_registers_and_meters(env, client):
    A = p4.SetForwardingPipelineConfigRequest
    regs = "/usr/share/dpdk/examples/pipeline/examples/registers.spec"
    meters = "/usr/share/dpdk/examples/pipeline/examples/meter.spec"
    if not (os.path.exists(regs) and os.path.exists(meters)):
        pytest.skip("DPDK pipeline examples not installed")
    try:
        client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
            p4_device_config=open(regs).read().encode()))
        info = pc.Info(client.get_pipeline().p4info)
        r = info.info.registers[0]
        rid = r.preamble.id
        assert rid >> 24 == 0x16
        client.write([update("modify", register_entry=p4.RegisterEntry(
            register_id=rid, index=p4.Index(index=3), data=p4d.P4Data(bitstring=to_bytes(0xABCD))))])
        got = client.read(p4.Entity(register_entry=p4.RegisterEntry(register_id=rid,
                                                                    index=p4.Index(index=3))))
        assert got[0].register_entry.data.bitstring == b"\xab\xcd"
        with pytest.raises(grpc.RpcError) as e:
            client.write([update("insert", register_entry=p4.RegisterEntry(
                register_id=rid, index=p4.Index(index=3), data=p4d.P4Data(bitstring=b"\x01")))])
        assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
        client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
            p4_device_config=open(meters).read().encode()))
        info = pc.Info(client.get_pipeline().p4info)
        mid = info.info.meters[0].preamble.id
        assert mid >> 24 == 0x14
        cfg = p4.MeterConfig(cir=1000000, cburst=10000, pir=2000000, pburst=20000)
        client.write([update("modify", meter_entry=p4.MeterEntry(meter_id=mid,
                                                                 index=p4.Index(index=9),
                                                                 config=cfg))])
        got = client.read(p4.Entity(meter_entry=p4.MeterEntry(meter_id=mid,
                                                               index=p4.Index(index=9))))
        assert got[0].meter_entry.config == cfg
        with pytest.raises(grpc.RpcError) as e:
            client.write([update("modify", meter_entry=p4.MeterEntry(
                meter_id=mid, index=p4.Index(index=9),
                config=p4.MeterConfig(cir=5, cburst=1, pir=1, pburst=1)))])
        assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
        client.write([update("modify", meter_entry=p4.MeterEntry(meter_id=mid,
                                                                 index=p4.Index(index=9)))])
        got = client.read(p4.Entity(meter_entry=p4.MeterEntry(meter_id=mid,
                                                               index=p4.Index(index=9))))
        assert not got[0].meter_entry.HasField("config")
    finally:
        client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
            p4_device_config=open(spec_path("l2l3.spec")).read().encode()))


# ---- packet I/O --------------------------------------------------------------

def test_packet_out_reaches_a_namespace_and_packet_in_arrives(env, client, info):
    h1, h2 = env["h1"], env["h2"]
    _l2_entries(client, info)
    # frames for MACR go to the controller port
    client.write([table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": MACR},
                                                    "l2_forward", port=CPU_PORT))])
    sn = h2.sniffer()
    frame = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
                  IP(src="10.0.0.1", dst="10.0.0.2") / UDP(sport=1, dport=4242) / b"pkt-out")
    client.s.send(p4.StreamMessageRequest(packet=p4.PacketOut(payload=frame)))
    got = sn.collect(lambda f: UDP in f and f[UDP].dport == 4242)
    assert got and bytes(got[0]).startswith(frame[:14])
    sn.close()
    pin = bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:aa:aa") /
                IP(src="10.0.0.1", dst="10.0.0.9") / UDP(sport=7, dport=4343) / b"pkt-in")
    h1.send(pin)
    r = client.s.next("packet", timeout=5)
    assert r is not None, "no PacketIn"
    assert r.packet.payload[:len(pin)] == pin
    assert list(r.packet.metadata) == []
    # metadata without a packet_out header in the P4Info is refused
    client.s.send(p4.StreamMessageRequest(packet=p4.PacketOut(
        payload=frame, metadata=[p4.PacketMetadata(metadata_id=1, value=b"\x01")])))
    err = client.s.next("error", timeout=5)
    assert err.error.canonical_code == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert err.error.packet_out.packet_out.payload == frame


def test_backup_gets_no_packet_in_and_cannot_packet_out(env, client, info):
    backup = pc.Client(client.ch)
    sb = backup.stream()
    sb.arbitrate(3)
    assert sb.next("arbitration").arbitration.status.code != 0
    sb.send(p4.StreamMessageRequest(packet=p4.PacketOut(payload=b"\x00" * 60)))
    err = sb.next("error", timeout=5)
    assert err.error.canonical_code == grpc.StatusCode.PERMISSION_DENIED.value[0]
    client.write([table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": MACR},
                                                    "l2_forward", port=CPU_PORT))])
    env["h1"].send(bytes(Ether(src="02:00:00:00:00:01", dst="02:00:00:00:aa:aa") / (b"x" * 50)))
    assert client.s.next("packet", timeout=5) is not None
    assert sb.next("packet", timeout=1) is None
    sb.close()


# ---- bad input -----------------------------------------------------------------

def test_malformed_and_oversize_requests(env, client, info):
    other = pc.Client(pc.channel(env["port"]))
    with pytest.raises(grpc.RpcError) as e:
        other.raw_write(b"\xff\xff\xff\xff", timeout=10)
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    with pytest.raises(grpc.RpcError) as e:
        other.raw_write(b"\x00" * (65 << 20), timeout=30)
    assert code(e) == grpc.StatusCode.RESOURCE_EXHAUSTED
    other.ch.close()
    # a large batch: 3000 entries in one Write, all read back
    ups = [table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x100000 + i},
                                             "l2_forward", port=i % 2)) for i in range(3000)]
    client.write(ups)
    tid = info.table("l2_fwd").preamble.id
    assert len(client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid)))) == 3000
    # one over the table's size: RESOURCE_EXHAUSTED for the rest
    size = info.table("l2_fwd").size
    more = [table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x200000 + i},
                                              "l2_forward", port=0))
            for i in range(size - 3000 + 2)]
    with pytest.raises(grpc.RpcError) as e:
        client.write(more)
    codes = [x.canonical_code for x in pc.details(e.value)]
    assert codes[-1] == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0] and codes[0] == 0
    assert env["d"].alive()


def test_client_vanishing_mid_stream_and_mid_read(env, client, info):
    ch = pc.channel(env["port"])
    c = pc.Client(ch)
    s = c.become_primary(election_id=50)
    ch.close()            # vanishes while primary
    # the old primary (election 10) is primary again once the stream is gone
    seen = []
    while True:
        r = client.s.next("arbitration", timeout=10)
        assert r is not None, seen
        seen.append(r.arbitration.status.code)
        if r.arbitration.status.code == 0:
            break
    assert seen[0] == grpc.StatusCode.ALREADY_EXISTS.value[0]
    ups = [table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x300000 + i},
                                             "l2_forward", port=0)) for i in range(2000)]
    client.write(ups)
    ch2 = pc.channel(env["port"])
    it = pc.Client(ch2)._read(p4.ReadRequest(device_id=1, entities=[
        p4.Entity(table_entry=p4.TableEntry())]))
    next(it)
    ch2.close()
    assert len(client.read(p4.Entity(table_entry=p4.TableEntry()))) == 2000
    assert env["d"].alive()
    del s


def test_read_is_a_snapshot_and_a_paused_reader_stalls_no_writer(env, client, info):
    """A Read encodes its answer with the dataplane locked and streams it
    unlocked: a reader that stops after the first response holds up no Write,
    and what it gets is the table as it was when the Read began."""
    tid = info.table("l2_fwd").preamble.id
    n = 30000        # about 1.3 MB of entities: more than one response
    for base in range(0, n, 10000):
        client.write([table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x500000 + i},
                                                        "l2_forward", port=0))
                      for i in range(base, base + 10000)])
    ch = pc.channel(env["port"])
    it = pc.Client(ch)._read(p4.ReadRequest(device_id=1, entities=[
        p4.Entity(table_entry=p4.TableEntry(table_id=tid))]), timeout=60)
    first = next(it)
    assert 0 < len(first.entities) < n
    # the reader pauses; writers go on
    client.write([table_update("insert", info.entry("l2_fwd", {"h.ethernet.dst_addr": MAC2},
                                                    "l2_forward", port=1))])
    client.write([table_update("delete", info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x500000}))])
    rest = [e for r in it for e in r.entities]
    keys = {e.table_entry.match[0].exact.value for e in list(first.entities) + rest}
    assert len(keys) == n and MAC2.to_bytes(6, "big") not in keys
    assert (0x500000).to_bytes(3, "big") in keys
    ch.close()
    # a new Read sees both writes
    assert len(client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid)))) == n


# ---- action profiles (a bundle with P4Info and context) ------------------------

LB_CONTEXT = """{
  "program_name": "lb",
  "tables": [
    { "name": "ingress.lb_vip", "target_name": "lb_vip", "table_type": "match",
      "action_profile": "ingress.lb_as", "member_table": "lb_members",
      "group_table": "lb_groups", "group_action": "set_group",
      "actions": [ { "name": "ingress.set_member", "target_name": "set_member" },
                   { "name": "ingress.drop", "target_name": "drop" } ] }
  ]
}"""


def _vip_flows(h1, h2, dport, n):
    """Sends n UDP flows from h1 to the VIP 10.0.0.100; the frames h2 gets."""
    sn = h2.sniffer()
    h1.send([Ether(src="02:00:00:00:00:01", dst="02:00:00:00:aa:aa") /
             IP(src="10.0.0.1", dst="10.0.0.100") / UDP(sport=1000 + i, dport=dport)
             for i in range(n)])
    got = sn.collect(lambda f: UDP in f and f[UDP].dport == dport, count=n)
    sn.close()
    return got


def lb_p4info():
    info = p4i.P4Info()
    t = info.tables.add()
    t.preamble.id, t.preamble.name = 0x02000001, "ingress.lb_vip"
    t.match_fields.add(id=1, name="hdr.ipv4.dst_addr", bitwidth=32,
                       match_type=p4i.MatchField.EXACT)
    t.action_refs.add(id=0x01000001)
    t.action_refs.add(id=0x01000002)
    t.implementation_id = 0x11000001
    t.size = 256
    a = info.actions.add()
    a.preamble.id, a.preamble.name = 0x01000001, "ingress.set_member"
    a.params.add(id=1, name="port", bitwidth=32)
    a.params.add(id=2, name="dst_mac", bitwidth=48)
    d = info.actions.add()
    d.preamble.id, d.preamble.name = 0x01000002, "ingress.drop"
    ap = info.action_profiles.add()
    ap.preamble.id, ap.preamble.name = 0x11000001, "ingress.lb_as"
    ap.table_ids.append(0x02000001)
    ap.with_selector, ap.size, ap.max_group_size = True, 64, 16
    return info


def test_action_profile_members_groups_and_forwarding(env, client):
    A = p4.SetForwardingPipelineConfigRequest
    h1, h2 = env["h1"], env["h2"]
    client.set_pipeline(A.VERIFY_AND_COMMIT, pc.bundle(open(spec_path("lb_select.spec")).read(),
                                                       LB_CONTEXT, lb_p4info(), cookie=7))
    try:
        info = pc.Info(client.get_pipeline().p4info)
        assert client.get_pipeline().cookie.cookie == 7
        AP = 0x11000001

        def member(mid, port=1, mac=MAC2):
            return p4.ActionProfileMember(action_profile_id=AP, member_id=mid,
                                          action=info.act("ingress.set_member", port=port,
                                                          dst_mac=mac))

        def group(gid, *members):
            g = p4.ActionProfileGroup(action_profile_id=AP, group_id=gid)
            for mid, w in members:
                g.members.add(member_id=mid, weight=w)
            return g
        client.write([update("insert", action_profile_member=member(1)),
                      update("insert", action_profile_member=member(2))])
        with pytest.raises(grpc.RpcError) as e:
            client.write([update("insert", action_profile_member=member(1))])
        assert code(e) == grpc.StatusCode.ALREADY_EXISTS
        for g, want in ((group(10, (1, 1), (9, 1)), grpc.StatusCode.NOT_FOUND),
                        (group(10, (1, 0)), grpc.StatusCode.INVALID_ARGUMENT)):
            with pytest.raises(grpc.RpcError) as e:
                client.write([update("insert", action_profile_group=g)])
            assert code(e) == want
        client.write([update("insert", action_profile_group=group(1000, (1, 1), (2, 2)))])
        te = p4.TableEntry(table_id=0x02000001)
        te.match.add(field_id=1).exact.value = bytes([10, 0, 0, 100])
        te.action.action_profile_group_id = 1000
        client.write([table_update("insert", te)])
        # read back
        ms = client.read(p4.Entity(action_profile_member=p4.ActionProfileMember(action_profile_id=AP)))
        assert sorted(m.action_profile_member.member_id for m in ms) == [1, 2]
        gs = client.read(p4.Entity(action_profile_group=p4.ActionProfileGroup()))
        assert [(m.member_id, m.weight) for m in gs[0].action_profile_group.members] == [(1, 1), (2, 2)]
        ents = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=0x02000001)))
        assert ents[0].table_entry.action.action_profile_group_id == 1000
        # referenced objects cannot go
        with pytest.raises(grpc.RpcError) as e:
            client.write([update("delete", action_profile_member=p4.ActionProfileMember(
                action_profile_id=AP, member_id=1))])
        assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
        with pytest.raises(grpc.RpcError) as e:
            client.write([update("delete", action_profile_group=group(1000))])
        assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
        # traffic to the VIP reaches h2 with the member's MAC
        assert len(_vip_flows(h1, h2, 5555, 8)) == 8
        # modify the group to member 2 only, then tear down in order
        client.write([update("modify", action_profile_group=group(1000, (2, 1)))])
        client.write([update("delete", action_profile_member=p4.ActionProfileMember(
            action_profile_id=AP, member_id=1))])
        client.write([table_update("delete", te)])
        client.write([update("delete", action_profile_group=group(1000))])
        client.write([update("delete", action_profile_member=p4.ActionProfileMember(
            action_profile_id=AP, member_id=2))])
        assert client.read(p4.Entity(action_profile_member=p4.ActionProfileMember())) == []
    finally:
        client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
            p4_device_config=open(spec_path("l2l3.spec")).read().encode()))


def test_bundle_whose_p4info_does_not_fit_the_spec_is_refused(client):
    info = lb_p4info()
    info.tables[0].match_fields[0].bitwidth = 40
    with pytest.raises(grpc.RpcError) as e:
        client.set_pipeline(p4.SetForwardingPipelineConfigRequest.VERIFY,
                            pc.bundle(open(spec_path("lb_select.spec")).read(), LB_CONTEXT, info))
    assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
    assert "hdr.ipv4.dst_addr" in e.value.details()


def _lb_group(gid, members, max_size=0):
    g = p4.ActionProfileGroup(action_profile_id=0x11000001, group_id=gid, max_size=max_size)
    for mid, w in members:
        g.members.add(member_id=mid, weight=w)
    return g


def test_action_profile_group_max_size(env, client):
    """max_size is kept and read back, may not change, is checked against the
    P4Info's max_group_size (16 here) and bounds the group: by weight by
    default, by members with sum_of_members; member and group id 0 are not ids."""
    A = p4.SetForwardingPipelineConfigRequest
    AP = 0x11000001

    def push(info):
        client.set_pipeline(A.VERIFY_AND_COMMIT, pc.bundle(open(spec_path("lb_select.spec")).read(),
                                                           LB_CONTEXT, info))
        return pc.Info(client.get_pipeline().p4info)

    try:
        info = push(lb_p4info())
        client.write([update("insert", action_profile_member=p4.ActionProfileMember(
            action_profile_id=AP, member_id=m, action=info.act("ingress.set_member", port=1,
                                                                dst_mac=MAC2)))
            for m in range(1, 7)])
        client.write([update("insert", action_profile_group=_lb_group(1, [(1, 1), (2, 1)], 4))])
        got = client.read(p4.Entity(action_profile_group=p4.ActionProfileGroup(
            action_profile_id=AP, group_id=1)))
        assert got[0].action_profile_group.max_size == 4
        cases = [
            # five members in a group of at most four
            ("insert", _lb_group(2, [(m, 1) for m in range(1, 6)], 4), grpc.StatusCode.RESOURCE_EXHAUSTED),
            # sum_of_weights (the default): 3 + 2 > 4
            ("insert", _lb_group(2, [(1, 3), (2, 2)], 4), grpc.StatusCode.RESOURCE_EXHAUSTED),
            # max_size above the P4Info's max_group_size
            ("insert", _lb_group(2, [(1, 1)], 17), grpc.StatusCode.INVALID_ARGUMENT),
            ("insert", _lb_group(2, [(1, 1)], -1), grpc.StatusCode.INVALID_ARGUMENT),
            # max_size is fixed when the group is made
            ("modify", _lb_group(1, [(1, 1)], 8), grpc.StatusCode.INVALID_ARGUMENT),
            ("modify", _lb_group(1, [(1, 2), (2, 2), (3, 1)], 4), grpc.StatusCode.RESOURCE_EXHAUSTED),
            ("insert", _lb_group(0, [(1, 1)]), grpc.StatusCode.INVALID_ARGUMENT),
        ]
        for kind, g, want in cases:
            with pytest.raises(grpc.RpcError) as e:
                client.write([update(kind, action_profile_group=g)])
            assert code(e) == want, (g, e.value.details())
        with pytest.raises(grpc.RpcError) as e:
            client.write([update("insert", action_profile_member=p4.ActionProfileMember(
                action_profile_id=AP, member_id=0, action=info.act("ingress.set_member", port=1,
                                                                    dst_mac=MAC2)))])
        assert code(e) == grpc.StatusCode.INVALID_ARGUMENT
        client.write([update("modify", action_profile_group=_lb_group(1, [(1, 2), (2, 2)], 4))])
        # without max_size the P4Info's max_group_size (16) is the bound
        client.write([update("insert", action_profile_group=_lb_group(3, [(1, 10), (2, 6)]))])
        with pytest.raises(grpc.RpcError) as e:
            client.write([update("insert", action_profile_group=_lb_group(4, [(1, 10), (2, 7)]))])
        assert code(e) == grpc.StatusCode.RESOURCE_EXHAUSTED
        got = client.read(p4.Entity(action_profile_group=p4.ActionProfileGroup(action_profile_id=AP)))
        assert sorted((g.action_profile_group.group_id, g.action_profile_group.max_size)
                      for g in got) == [(1, 4), (3, 0)]
        client.write([update("delete", action_profile_group=_lb_group(g, [])) for g in (1, 3)])

        # sum_of_members: weights do not count, max_member_weight bounds each
        p = lb_p4info()
        p.action_profiles[0].sum_of_members.max_member_weight = 5
        info = push(p)
        client.write([update("insert", action_profile_member=p4.ActionProfileMember(
            action_profile_id=AP, member_id=m, action=info.act("ingress.set_member", port=1,
                                                                dst_mac=MAC2)))
            for m in range(1, 4)])
        client.write([update("insert", action_profile_group=_lb_group(1, [(1, 5), (2, 5)], 2))])
        for g, want in ((_lb_group(2, [(1, 6)]), grpc.StatusCode.INVALID_ARGUMENT),
                        (_lb_group(2, [(1, 1), (2, 1), (3, 1)], 2), grpc.StatusCode.RESOURCE_EXHAUSTED)):
            with pytest.raises(grpc.RpcError) as e:
                client.write([update("insert", action_profile_group=g)])
            assert code(e) == want, (g, e.value.details())
        # a max_group_size the selector cannot hold (16 members) is refused
        p = lb_p4info()
        p.action_profiles[0].max_group_size = 17
        with pytest.raises(grpc.RpcError) as e:
            push(p)
        assert code(e) == grpc.StatusCode.INVALID_ARGUMENT and "max_group_size" in e.value.details()
    finally:
        client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
            p4_device_config=open(spec_path("l2l3.spec")).read().encode()))


def test_entry_metadata_is_kept_and_read_back(client, info):
    """TableEntry.metadata and controller_metadata are stored with the entry:
    Read returns them, MODIFY replaces them, DELETE drops them, and a batch
    that is rolled back leaves them as they were."""
    tid = info.table("l2_fwd").preamble.id

    def entry(mac, port=1, md=b"", cookie=0):
        te = info.entry("l2_fwd", {"h.ethernet.dst_addr": mac}, "l2_forward", port=port)
        te.metadata, te.controller_metadata = md, cookie
        return te

    def read_md(mac):
        got = client.read(p4.Entity(table_entry=info.entry("l2_fwd", {"h.ethernet.dst_addr": mac})))
        return [(e.table_entry.metadata, e.table_entry.controller_metadata) for e in got]

    client.write([table_update("insert", entry(MAC2, md=b"\x00route-7\xff", cookie=77)),
                  table_update("insert", entry(MAC1))])
    assert read_md(MAC2) == [(b"\x00route-7\xff", 77)]
    assert read_md(MAC1) == [(b"", 0)]
    # a wildcard read carries them too
    got = {e.table_entry.match[0].exact.value: e.table_entry.metadata
           for e in client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid)))}
    assert got == {MAC2.to_bytes(6, "big"): b"\x00route-7\xff", MAC1.to_bytes(6, "big"): b""}
    client.write([table_update("modify", entry(MAC2, port=0, md=b"v2"))])
    assert read_md(MAC2) == [(b"v2", 0)]
    # rolled back: neither the new entry nor the new metadata stay
    bad = info.entry("l2_fwd", {"h.ethernet.dst_addr": 0x12}, "l2_forward", port=1 << 40)
    with pytest.raises(grpc.RpcError):
        client.write([table_update("modify", entry(MAC2, md=b"v3", cookie=3)),
                      table_update("insert", entry(0x77, md=b"new")),
                      table_update("insert", bad)], atomicity=p4.WriteRequest.ROLLBACK_ON_ERROR)
    assert read_md(MAC2) == [(b"v2", 0)] and read_md(0x77) == []
    # MODIFY without metadata clears it; DELETE drops it with the entry
    client.write([table_update("modify", entry(MAC2))])
    assert read_md(MAC2) == [(b"", 0)]
    client.write([table_update("modify", entry(MAC2, md=b"x"))])
    client.write([table_update("delete", entry(MAC2))])
    client.write([table_update("insert", entry(MAC2))])
    assert read_md(MAC2) == [(b"", 0)]
    # the default entry keeps its own
    dflt = p4.TableEntry(table_id=tid, is_default_action=True, metadata=b"dflt")
    client.write([table_update("modify", dflt)])
    got = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid, is_default_action=True)))
    assert got[0].table_entry.metadata == b"dflt"
    client.write([table_update("modify", p4.TableEntry(table_id=tid, is_default_action=True))])
    got = client.read(p4.Entity(table_entry=p4.TableEntry(table_id=tid, is_default_action=True)))
    assert got[0].table_entry.metadata == b""


def test_bare_spec_selector_has_its_member_table(env, client):
    """Without a P4Info the member table of a selector is found in the spec
    (the one table keyed exactly by the selector's member_id field): it
    becomes the profile's member table, so members are checked, and the
    selector's group ids are the P4Runtime group ids tables name."""
    A = p4.SetForwardingPipelineConfigRequest
    h1, h2 = env["h1"], env["h2"]
    client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
        p4_device_config=open(spec_path("lb_select.spec")).read().encode()))
    try:
        info = pc.Info(client.get_pipeline().p4info)
        assert [t.preamble.name for t in info.info.tables] == ["lb_vip"]
        prof = info.info.action_profiles[0]
        assert prof.preamble.name == "lb_groups" and prof.with_selector
        assert prof.max_group_size == 16 and prof.HasField("sum_of_members")
        AP = prof.preamble.id

        def member(mid, action="set_member", **params):
            return update("insert", action_profile_member=p4.ActionProfileMember(
                action_profile_id=AP, member_id=mid, action=info.act(action, **params)))

        def group(gid, *mids, kind="insert"):
            g = p4.ActionProfileGroup(action_profile_id=AP, group_id=gid)
            for m in mids:
                g.members.add(member_id=m, weight=1)
            return update(kind, action_profile_group=g)
        client.write([member(1, port=1, dst_mac=MAC2), member(2, port=1, dst_mac=MACR)])
        for u, want in ((group(5, 1, 9), grpc.StatusCode.NOT_FOUND),
                        (group(16, 1), grpc.StatusCode.RESOURCE_EXHAUSTED),
                        (member(3, "set_group", group_id=1), grpc.StatusCode.INVALID_ARGUMENT)):
            with pytest.raises(grpc.RpcError) as e:
                client.write([u])
            assert code(e) == want, e.value.details()
        client.write([group(5, 1, 2)])
        client.write([table_update("insert", info.entry("lb_vip", {"h.ipv4.dst_addr": 0x0A000064},
                                                        "set_group", group_id=5))])
        got = _vip_flows(h1, h2, 5556, 16)
        assert len(got) == 16
        assert {Ether(bytes(f)).dst for f in got} <= {"02:00:00:00:00:02", "02:00:00:00:aa:aa"}
        with pytest.raises(grpc.RpcError) as e:
            client.write([update("delete", action_profile_member=p4.ActionProfileMember(
                action_profile_id=AP, member_id=1))])
        assert code(e) == grpc.StatusCode.FAILED_PRECONDITION
        got = client.read(p4.Entity(action_profile_member=p4.ActionProfileMember(action_profile_id=AP)))
        assert sorted(m.action_profile_member.member_id for m in got) == [1, 2]
    finally:
        client.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
            p4_device_config=open(spec_path("l2l3.spec")).read().encode()))
