"""p4rt-ctl (tools/p4rt-ctl/) against a running infrap4d: the namespace
forwarding tests driven through the CLI with IPDK's syntax.

A daemon runs the default pipeline between two namespaces (LINK ports h1, h2)
with a RING controller port "cpu" (pipeline port 2) and serves P4Runtime in
plaintext on a free port; one more daemon serves mutual TLS. Covered: show,
get-pipe (its text parses back to the server's P4Info), set-pipe with a
tdi_pipeline_builder-style .pb.bin plus P4Info text and with a spec plus
context, entries that make traffic flow and stop, dumps in text and JSON,
default entries, counters, action profiles, meters, PacketOut/PacketIn,
arbitration, bad input and exit codes.
"""
import json
import os
import select
import subprocess
import time

import pytest
from google.protobuf import text_format
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

import p4rt_client as pc
from ipdk_net import BUILD, SRC, link_port, spec_path, wait_until
from p4rt_client import p4, p4i

P4RT_CTL = os.path.join(BUILD, "tools", "p4rt-ctl")
P4C = os.path.join(BUILD, "lib", "p4c", "ipdk-p4c")
MAC1, MAC2, MACR = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:aa:aa"
CPU_PORT = 2


def run(port, *args, check=None, tls=None, timeout=30, **kw):
    """Runs p4rt-ctl; check=rc asserts the exit status. Returns the process."""
    if not os.access(P4RT_CTL, os.X_OK):
        pytest.fail("p4rt-ctl not built: %s (set IPDK_BUILD)" % P4RT_CTL)
    sec = tls or ["--insecure"]
    r = subprocess.run([P4RT_CTL, "-g", "127.0.0.1:%d" % port] + sec + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout, **kw)
    if check is not None:
        assert r.returncode == check, "p4rt-ctl %s: rc %d\n%s%s" % (
            " ".join(map(str, args)), r.returncode, r.stdout, r.stderr)
    return r


@pytest.fixture(scope="module")
def env(module_infrap4d, module_hosts):
    h1 = module_hosts(MAC1, "10.0.0.1")
    h2 = module_hosts(MAC2, "10.0.0.2")
    for a, b in ((h1, h2), (h2, h1)):
        a.neigh(b.ip, b.mac)
    d = module_infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), "name=cpu,type=ring"],
                        args=["--grpc-security", "insecure", "--p4rt-listen", "127.0.0.1:0",
                              "--p4rt-cpu-port", "cpu", "--no-gnmi"])
    port = pc.port_from_log(d)

    def ctl(*args, check=0, **kw):
        return run(port, *args, check=check, **kw)
    return {"d": d, "h1": h1, "h2": h2, "port": port, "ctl": ctl}


@pytest.fixture
def ctl(env):
    """The CLI; every table is emptied and the default pipeline restored afterwards."""
    yield env["ctl"]
    c = pc.Client(pc.channel(env["port"]))
    info = pc.Info(c.get_pipeline().p4info)
    if not info.info.tables or info.info.tables[0].preamble.name != "l2_fwd":
        env["ctl"]("set-pipe", "br0", spec_path("l2l3.spec"))
        return
    s = c.become_primary(election_id=1 << 70)
    for t in info.info.tables:
        ents = c.read(p4.Entity(table_entry=p4.TableEntry(table_id=t.preamble.id)))
        if ents:
            c.write([pc.update("delete", table_entry=e.table_entry) for e in ents])
    s.close()
    c.ch.close()


def l2_entries(ctl):
    ctl("add-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=%s,action=l2_forward(1)" % MAC2)
    ctl("add-entry", "br0", "l2_fwd", "dst_addr=%s,action=l2_forward(port=0)" % MAC1)


def p4c(prog, out, *opts):
    subprocess.run([P4C, "--arch", "pna", "--p4include", os.path.join(SRC, "p4include"),
                    os.path.join(SRC, "p4src", prog + ".p4"), "-o", out + ".spec",
                    "--context", out + ".json", "--p4runtime-files", out + ".p4info.txt"]
                   + list(opts), check=True, capture_output=True)
    return out


# ---- show and pipelines --------------------------------------------------------

def test_show_and_get_pipe_text_parses_to_the_servers_p4info(env, ctl):
    out = ctl("show", "br0").stdout
    assert "P4Runtime switch br0 information:" in out and "device_id: 1" in out
    assert "l2_fwd" in out and "h.ethernet.dst_addr(exact,48)" in out and "ipv4_lpm" in out
    js = json.loads(ctl("--json", "show", "br0").stdout)
    assert [t["name"] for t in js["tables"]] == ["l2_fwd", "ipv4_lpm"]
    assert js["tables"][1]["match_fields"][0]["match_type"] == "lpm"
    assert js["p4runtime_api_version"] == "1.4.0"
    text = ctl("get-pipe", "br0").stdout
    parsed = text_format.Parse(text, p4i.P4Info())
    server = pc.Client(pc.channel(env["port"])).get_pipeline().p4info
    assert parsed == server
    # a numeric SWITCH is a device id: device 7 does not exist
    r = ctl("show", "7", check=1)
    assert "NOT_FOUND" in r.stderr


def test_set_pipe_pb_bin_and_p4info_text_then_entries(env, ctl, tmp_path):
    """IPDK's flow: set-pipe SWITCH X.pb.bin p4Info.txt, names from the P4Info."""
    base = p4c("l2_fwd", str(tmp_path / "l2"), "--device-config", str(tmp_path / "l2.pb.bin"))
    ctl("set-pipe", "br0", base + ".pb.bin", base + ".p4info.txt")
    want = text_format.Parse(open(base + ".p4info.txt").read(), p4i.P4Info())
    got = text_format.Parse(ctl("get-pipe", "br0", str(tmp_path / "dc.bin")).stdout, p4i.P4Info())
    assert got == want
    bf = pc.bundle_pb2.BfPipelineConfig()
    bf.ParseFromString(open(str(tmp_path / "dc.bin"), "rb").read())
    assert bf.profiles[0].binary == open(base + ".spec", "rb").read()
    t = [x for x in want.tables][0]
    a = [x for x in want.actions if x.params][0]
    # aliases and dotted suffixes name the same objects as the full names
    ctl("add-entry", "br0", t.preamble.alias,
        "%s=%s,action=%s(%d)" % (t.match_fields[0].name.split(".")[-1], MAC2, a.preamble.alias, 1))
    ctl("add-entry", "br0", t.preamble.name,
        "%s=%s,action=%s(0)" % (t.match_fields[0].name, MAC1, a.preamble.name))
    assert env["h1"].ping(env["h2"].ip) == 3
    dump = ctl("dump-entries", "br0").stdout
    assert "table=%s" % t.preamble.name in dump and "=0x020000000002" in dump
    # a spec with its context is bundled by p4rt-ctl (--context); cookie kept
    ctl("--context", base + ".json", "--cookie", "77", "set-pipe", "br0", base + ".spec",
        base + ".p4info.txt")
    assert "cookie 77" in ctl("get-pipe", "br0").stdout.splitlines()[0]
    assert env["h1"].ping(env["h2"].ip, count=2) == 0      # a new pipeline starts empty
    # back to the default pipeline: spec text only, the server derives the P4Info
    ctl("set-pipe", "br0", spec_path("l2l3.spec"))
    assert "l2_fwd (id" in ctl("show", "br0").stdout


# ---- entries and traffic ---------------------------------------------------------

def test_l2_entries_forward_dump_modify_delete(env, ctl):
    h1, h2 = env["h1"], env["h2"]
    l2_entries(ctl)
    assert h1.ping(h2.ip) == 3
    out = ctl("dump-entries", "br0", "l2_fwd").stdout.splitlines()
    assert out[0] == "Table entries for bridge br0:"
    assert "  table=l2_fwd h.ethernet.dst_addr=0x020000000002 actions=l2_forward(port=0x01)" in out
    js = json.loads(ctl("--json", "dump-entries", "br0").stdout)
    got = {e["match"][0]["value"]: e["action"]["params"]["port"] for e in js}
    assert got == {"0x020000000002": "0x01", "0x020000000001": "0x00"}
    assert all(e["table"] == "l2_fwd" and e["action"]["name"] == "l2_forward" for e in js)
    # modify: frames for h2 go back out to h1's port, so pings stop
    ctl("modify-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=%s,action=l2_forward(0)" % MAC2)
    assert h1.ping(h2.ip, count=2) == 0
    ctl("modify-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=%s,action=l2_forward(1)" % MAC2)
    assert h1.ping(h2.ip, count=2) == 2
    # delete: traffic stops, the dump shows one entry
    ctl("del-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=%s" % MAC2)
    assert h1.ping(h2.ip, count=2) == 0
    assert len(json.loads(ctl("--json", "dump-entries", "br0", "l2_fwd").stdout)) == 1
    # adding it again (hex form of the MAC this time) restores traffic
    ctl("add-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=0x020000000002,action=l2_forward(1)")
    assert h1.ping(h2.ip, count=2) == 2


def test_lpm_routes_with_prefixes_and_default_entry(env, ctl):
    h1, h2 = env["h1"], env["h2"]
    # frames to the router MAC for 10.9.0.0/16 are routed to h2 (MACs rewritten)
    sn = h2.sniffer()
    ctl("add-entry", "br0", "ipv4_lpm",
        "h.ipv4.dst_addr=10.9.0.0/255.255.0.0,action=ipv4_route(1,%s,%s,5)" % (MACR, MAC2))
    h1.send(Ether(src=MAC1, dst=MACR) / IP(src=h1.ip, dst="10.9.1.1", ttl=9) / UDP(dport=5000) /
            (b"r" * 32))
    got = sn.collect(lambda f: UDP in f and f[UDP].dport == 5000)
    assert got and Ether(got[0]).dst == MAC2 and Ether(got[0])[IP].ttl == 8
    js = json.loads(ctl("--json", "dump-entries", "br0", "ipv4_lpm").stdout)
    assert js[0]["match"][0]["prefix_len"] == 16 and js[0]["match"][0]["value"] == "0x0a090000"
    sn.close()
    # default entry: drop, then a route (l2l3.spec drops misses whatever the
    # default does, so this is read back only), then the program's default
    out = ctl("get-default-entry", "br0", "ipv4_lpm").stdout
    assert "table=ipv4_lpm default actions=drop()" in out
    ctl("set-default-entry", "br0", "ipv4_lpm", "ipv4_route(1,%s,%s,6)" % (MACR, MAC2))
    d = json.loads(ctl("--json", "get-default-entry", "br0", "ipv4_lpm").stdout)
    assert d["is_default_action"] and d["action"]["name"] == "ipv4_route"
    ctl("set-default-entry", "br0", "ipv4_lpm", "default")
    assert "actions=drop()" in ctl("get-default-entry", "br0", "ipv4_lpm").stdout


def test_counters_move_and_reset(env, ctl):
    l2_entries(ctl)
    before = json.loads(ctl("--json", "get-counter", "br0", "port_rx", "counter_id=0,index=0").stdout)
    assert before[0]["counter"] == "port_rx" and before[0]["index"] == 0
    assert env["h1"].ping(env["h2"].ip, count=3) == 3
    after = json.loads(ctl("--json", "get-counter", "br0", "port_rx", "index=0").stdout)
    assert after[0]["data"]["packets"] >= before[0]["data"]["packets"] + 3
    text = ctl("get-counter", "br0", "port_rx", "counter_id=0,index=0").stdout
    assert text.startswith("counter_id=%d, index=0, counter_data=(bytes=" % after[0]["counter_id"])
    # index=UNSET reads every cell
    assert len(json.loads(ctl("--json", "get-counter", "br0", "port_rx",
                              "counter_id=0,index=UNSET").stdout)) == 256
    ctl("reset-counter", "br0", "port_rx", "counter_id=%d,index=0" % after[0]["counter_id"])
    reset = json.loads(ctl("--json", "get-counter", "br0", "port_rx", "index=0").stdout)
    assert reset[0]["data"]["packets"] < 3


def test_action_profile_members_groups_and_selector_traffic(env, ctl, tmp_path):
    h1, h2 = env["h1"], env["h2"]
    base = p4c("ecmp", str(tmp_path / "ecmp"), "--device-config", str(tmp_path / "ecmp.pb.bin"))
    ctl("set-pipe", "br0", str(tmp_path / "ecmp.pb.bin"), base + ".p4info.txt")
    ctl("add-action-profile-member", "br0", "nhops", "action=set_nhop(1,%s),member_id=1" % MAC2)
    ctl("add-action-profile-member", "br0", "nhops",
        "action=MainControlImpl.set_nhop(port=1,dst_mac=%s),member_id=2" % MAC2)
    ctl("add-action-profile-group", "br0", "nhops", "group_id=1,reference_members=(1,2),max_size=4")
    ctl("add-entry", "br0", "ecmp", "hdr.ipv4.dst_addr=10.0.0.0/24,group_id=1")
    mem = json.loads(ctl("--json", "get-action-profile-member", "br0", "nhops").stdout)
    assert sorted(m["member_id"] for m in mem) == [1, 2]
    assert mem[0]["action"]["params"]["dst_mac"] == "0x020000000002"
    out = ctl("get-action-profile-group", "br0", "nhops", "group_id=1").stdout
    assert "group_id=1 reference_members=(1,2)" in out
    assert "group_id=1" in ctl("dump-entries", "br0").stdout
    sn = h2.sniffer()
    h1.send(Ether(src=MAC1, dst="02:00:00:00:00:99") / IP(src=h1.ip, dst=h2.ip) / UDP(dport=5002))
    got = sn.collect(lambda f: UDP in f and f[UDP].dport == 5002)
    sn.close()
    assert got and Ether(got[0]).dst == MAC2
    # a member a group uses cannot go
    r = ctl("delete-action-profile-member", "br0", "nhops", "member_id=1", check=1)
    assert "FAILED_PRECONDITION" in r.stderr
    ctl("del-entry", "br0", "ecmp", "hdr.ipv4.dst_addr=10.0.0.0/24")
    ctl("delete-action-profile-group", "br0", "nhops", "group_id=1")
    ctl("delete-action-profile-member", "br0", "nhops", "member_id=1")
    assert "member_id=1" not in ctl("get-action-profile-member", "br0", "nhops").stdout


TERNARY_SPEC = """
struct ethernet_h {
	bit<48> dst_addr
	bit<48> src_addr
	bit<16> ether_type
}
struct ipv4_h {
	bit<8> ver_ihl
	bit<8> diffserv
	bit<16> total_len
	bit<16> identification
	bit<16> flags_offset
	bit<8> ttl
	bit<8> protocol
	bit<16> hdr_checksum
	bit<32> src_addr
	bit<32> dst_addr
}
header ethernet instanceof ethernet_h
header ipv4 instanceof ipv4_h
struct metadata_t {
	bit<32> port_in
	bit<32> port_out
}
metadata instanceof metadata_t
struct out_args_t {
	bit<32> port
}
action out args instanceof out_args_t {
	mov m.port_out t.port
	return
}
action drop args none {
	drop
}
table filter {
	key {
		h.ipv4.dst_addr wildcard
	}
	actions {
		out
		drop
	}
	default_action drop args none
	size 16
}
apply {
	rx m.port_in
	extract h.ethernet
	extract h.ipv4
	table filter
	emit h.ethernet
	emit h.ipv4
	tx m.port_out
}
"""


def test_ternary_masks_and_priorities_decide_the_port(env, ctl, tmp_path):
    h1, h2 = env["h1"], env["h2"]
    spec = tmp_path / "filter.spec"
    spec.write_text(TERNARY_SPEC)
    ctl("set-pipe", "br0", str(spec))
    # no priority for a ternary table: refused before sending
    r = ctl("add-entry", "br0", "filter", "dst_addr=10.0.0.0/8,action=out(1)", check=2)
    assert "priority" in r.stderr
    # 10.0.0.2 and 10.0.0.1 both match 10/8; the /32 entry wins by priority
    ctl("add-entry", "br0", "filter", "dst_addr=10.0.0.0&&&0xff000000,priority=10,action=out(1)")
    ctl("add-entry", "br0", "filter", "dst_addr=10.0.0.1/255.255.255.255,priority=20,action=out(0)")
    js = json.loads(ctl("--json", "dump-entries", "br0", "filter").stdout)
    masks = sorted((e["priority"], e["match"][0]["mask"]) for e in js)
    assert masks == [(10, "0xff000000"), (20, "0xffffffff")]
    assert h1.ping(h2.ip, count=2) == 2
    # a zero mask is "any": the field is left out and the entry matches everything
    ctl("add-entry", "br0", "filter", "dst_addr=0&&&0,priority=1,action=drop")
    js = json.loads(ctl("--json", "dump-entries", "br0", "filter").stdout)
    assert [e["match"] for e in js if e["priority"] == 1] == [[]]
    ctl("del-entry", "br0", "filter", "dst_addr=10.0.0.0/8,priority=10")
    assert h1.ping(h2.ip, count=2) == 0


def test_meters_and_direct_counters(env, ctl, tmp_path):
    base = p4c("meter_reg", str(tmp_path / "mr"), "--device-config", str(tmp_path / "mr.pb.bin"))
    ctl("set-pipe", "br0", str(tmp_path / "mr.pb.bin"), base + ".p4info.txt")
    info = text_format.Parse(open(base + ".p4info.txt").read(), p4i.P4Info())
    m = info.meters[0]
    ctl("add-meter-config", "br0", m.preamble.alias,
        "meter_id=%d,meter_index=3,cir=1000,cburst=100,pir=2000,pburst=200" % m.preamble.id)
    got = json.loads(ctl("--json", "get-packet-mod-meter", "br0", m.preamble.alias,
                         "meter_id=%d,meter_index=3" % m.preamble.id).stdout)
    assert got[0]["config"] == {"cir": 1000, "cburst": 100, "pir": 2000, "pburst": 200}
    ctl("reset-meter-config", "br0", m.preamble.alias, "meter_index=3")
    got = json.loads(ctl("--json", "get-packet-mod-meter", "br0", m.preamble.alias,
                         "meter_index=3").stdout)
    assert got[0]["config"] is None
    r = ctl("add-meter-config", "br0", m.preamble.alias,
            "meter_id=%d,meter_index=3,meter_config=policer_spec_cir=100" % m.preamble.id, check=2)
    assert "cir, cburst, pir, pburst" in r.stderr
    # direct counter of l2_fwd entries: traffic moves it
    l2 = info.tables[0]
    send = [a for a in info.actions if a.params][0].preamble.alias
    ctl("add-entry", "br0", l2.preamble.alias, "%s=%s,action=%s(1)" % (l2.match_fields[0].name, MAC2, send))
    ctl("add-entry", "br0", l2.preamble.alias, "%s=%s,action=%s(0)" % (l2.match_fields[0].name, MAC1, send))
    assert env["h1"].ping(env["h2"].ip, count=3) >= 1
    key = "%s=%s" % (l2.match_fields[0].name, MAC2)
    dc = json.loads(ctl("--json", "get-direct-counter", "br0", l2.preamble.alias, key).stdout)
    assert dc[0]["data"]["packets"] >= 1
    ctl("reset-direct-counter", "br0", l2.preamble.alias, key)
    dc = json.loads(ctl("--json", "get-direct-counter", "br0", l2.preamble.alias, key).stdout)
    assert dc[0]["data"]["packets"] == 0


# ---- packet I/O -------------------------------------------------------------------

def test_packet_out_reaches_h2_and_packet_in_arrives(env, ctl):
    h1, h2 = env["h1"], env["h2"]
    l2_entries(ctl)
    ctl("add-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=%s,action=l2_forward(%d)" % (MACR, CPU_PORT))
    frame = bytes(Ether(src=MAC1, dst=MAC2) / IP(src=h1.ip, dst=h2.ip) / UDP(dport=4242) / b"out")
    sn = h2.sniffer()
    ctl("packet-out", "br0", frame.hex())
    got = sn.collect(lambda f: UDP in f and f[UDP].dport == 4242)
    sn.close()
    assert got and bytes(got[0])[:len(frame)] == frame
    # packet-in: wait until p4rt-ctl is primary, then send a frame for the CPU port
    p = subprocess.Popen([P4RT_CTL, "-g", "127.0.0.1:%d" % env["port"], "--insecure", "--json",
                          "-t", "20", "packet-in", "br0", "2"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        r, _, _ = select.select([p.stderr], [], [], 15)
        assert r and "waiting for 2 PacketIn" in p.stderr.readline()
        pin = bytes(Ether(src=MAC1, dst=MACR) / IP(src=h1.ip, dst="10.0.0.9") / UDP(dport=4343) / b"in")
        h1.send([pin, pin])
        out, err = p.communicate(timeout=25)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    lines = [json.loads(x) for x in out.splitlines()]
    assert len(lines) == 2 and bytes.fromhex(lines[0]["payload"])[:len(pin)] == pin
    # metadata needs a packet_out header in the P4Info: refused before sending
    r = ctl("packet-out", "br0", frame.hex(), "egress_port=1", check=2)
    assert "packet_out" in r.stderr


# ---- arbitration, bad input, exit codes ---------------------------------------------

def test_a_higher_primary_makes_writes_fail_until_our_election_id_is_higher(env, ctl):
    other = pc.Client(pc.channel(env["port"]))
    s = other.become_primary(election_id=5 << 64)
    try:
        r = ctl("add-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=%s,action=drop" % MAC2, check=1)
        assert "not primary" in r.stderr and "5:0" in r.stderr
        ctl("-e", "6:0", "add-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=%s,action=drop" % MAC2)
        # reads need no arbitration
        assert "actions=drop()" in ctl("dump-entries", "br0").stdout
    finally:
        s.close()
        other.ch.close()


@pytest.mark.parametrize("args,rc,msg", [
    (["add-entry", "br0", "nosuch", "a=1,action=drop"], 2, 'table "nosuch" is not in the P4Info (tables: l2_fwd, ipv4_lpm)'),
    (["add-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=10.0.0.1.5,action=drop"], 2, "is not a number"),
    (["add-entry", "br0", "l2_fwd", "h.ethernet.dst_addr=0x1000000000000,action=drop"], 2, "does not fit in 48 bits"),
    (["add-entry", "br0", "l2_fwd", "action=drop"], 2, "exact match field h.ethernet.dst_addr is missing"),
    (["add-entry", "br0", "l2_fwd", "nope=1,action=drop"], 2, 'match field "nope" is not one of l2_fwd'),
    (["add-entry", "br0", "l2_fwd", "dst_addr=1,action=ipv4_route(1,2,3,4)"], 2, "is not an action of table l2_fwd"),
    (["add-entry", "br0", "l2_fwd", "dst_addr=1,action=l2_forward(1,2)"], 2, "takes 1 parameter, 2 given"),
    (["add-entry", "br0", "l2_fwd", "dst_addr=1,action=l2_forward(0x100000000)"], 2, "does not fit in 32 bits"),
    (["add-entry", "br0", "ipv4_lpm", "dst_addr=10.0.0.0/33,action=drop"], 2, "prefix length 33"),
    (["add-entry", "br0", "l2_fwd", "dst_addr=1,action=l2_forward(1"], 2, "'(' without ')'"),
    (["add-entry", "br0", "l2_fwd"], 2, "usage: p4rt-ctl add-entry SWITCH TABLE FLOW"),
    (["frobnicate", "br0"], 2, 'unknown command "frobnicate"'),
    (["get-counter", "br0", "port_rx", "counter_id=5,index=0"], 2, "is not the id of port_rx"),
    (["get-counter", "br0", "port_rx", "index=256"], 2, "port_rx has 256 cells"),
    (["del-entry", "br0", "l2_fwd", "dst_addr=7"], 1, "NOT_FOUND"),
    (["get-action-profile-member", "br0", "x"], 2, 'action profile "x" is not in the P4Info'),
])
def test_bad_input_is_refused_with_a_reason(env, ctl, args, rc, msg):
    r = ctl(*args, check=rc)
    assert msg in r.stderr, r.stderr
    assert env["d"].alive()


def test_set_pipe_file_errors_and_server_refusals(env, ctl, tmp_path):
    bad = tmp_path / "bad.p4info.txt"
    bad.write_text('tables {\n  preamble {\n    id: 1\n    nme: "x"\n  }\n}\n')
    r = ctl("set-pipe", "br0", spec_path("l2l3.spec"), str(bad), check=2)
    assert "bad.p4info.txt:4:5:" in r.stderr and 'no field "nme"' in r.stderr
    bad.write_text("tables { preamble { id: -3 } }")
    r = ctl("set-pipe", "br0", spec_path("l2l3.spec"), str(bad), check=2)
    assert "bad.p4info.txt:1:25:" in r.stderr
    r = ctl("set-pipe", "br0", str(tmp_path / "missing.pb.bin"), check=2)
    assert "missing.pb.bin: No such file or directory" in r.stderr
    junk = tmp_path / "junk.spec"
    junk.write_text("table nonsense {\n")
    r = ctl("set-pipe", "br0", str(junk), check=1)
    assert "INVALID_ARGUMENT" in r.stderr
    assert "l2_fwd (id" in ctl("show", "br0").stdout   # the old pipeline still runs


def test_unreachable_server_exit_code(env):
    r = run(1, "show", "br0", check=3, timeout=60)
    assert "UNAVAILABLE" in r.stderr and "127.0.0.1:1" in r.stderr


# ---- mutual TLS ------------------------------------------------------------------------

def test_mutual_tls_by_default(infrap4d, tmp_path):
    certs = str(tmp_path / "certs")
    subprocess.run([os.path.join(SRC, "scripts", "gen-certs.sh"), certs, "localhost", "127.0.0.1"],
                   check=True, capture_output=True)
    d = infrap4d(args=["--grpc-cert-dir", certs, "--p4rt-listen", "127.0.0.1:0", "--no-gnmi"])
    port = pc.port_from_log(d)
    r = run(port, "show", "br0", tls=["--cert-dir", certs], check=0)
    assert "l2_fwd" in r.stdout
    run(port, "add-entry", "br0", "l2_fwd", "dst_addr=1,action=drop", tls=["--cert-dir", certs], check=0)
    # without a client certificate, or in plaintext, the server refuses
    r = run(port, "show", "br0", tls=["--grpc-security", "tls", "--cert-dir", certs], check=3)
    assert "UNAVAILABLE" in r.stderr
    run(port, "show", "br0", check=3)
    # a missing certificate is reported before connecting
    r = run(port, "show", "br0", tls=["--cert-dir", str(tmp_path / "none")], check=2)
    assert "ca.crt" in r.stderr
