"""Pipeline bundles loaded by infrap4d itself (--bundle, --p4info, the
"pipeline" config keys, infrap4d-ctl `pipeline load BUNDLE`) and the entries
a program declares (p4src/init_entries.p4: two const tables, one with a range
key, and a table with initial entries the control plane may change).

Whichever way a bundle arrives (start-up, SetForwardingPipelineConfig, a
reload through the control socket), P4Runtime serves its P4Info from then on
and the declared entries are in the tables before the pipeline runs: read
back over P4Runtime (const tables marked const, the range as written), shown
by infrap4d-ctl, and acting on packets in namespaces. Const tables refuse
Writes with PERMISSION_DENIED.
"""
import os

import grpc
import pytest
from scapy.layers.l2 import Ether

import p4rt_client as pc
from ipdk_net import json_file, link_port, spec_path, wait_until, write_file
from p4rt_client import p4, table_update
from test_p4c_programs import H1_MAC, H2_MAC, H3_MAC, frames_to
from test_p4rt_programs import built, p4info_of

A = p4.SetForwardingPipelineConfigRequest
P4RT = ["--grpc-security", "insecure", "--p4rt-listen", "127.0.0.1:0", "--no-gnmi"]


def device_config_file(workdir, prog):
    """A BfPipelineConfig (IPDK's *.pb.bin) of prog, written to a file."""
    bf = pc.bundle(open(built(prog, ".spec")).read(), context=open(built(prog, ".json")).read(),
                   name=prog).p4_device_config
    path = write_file(workdir, prog + ".pb.bin", "")
    with open(path, "wb") as f:
        f.write(bf)
    return path


@pytest.fixture(scope="module")
def net(module_hosts):
    return (module_hosts(H1_MAC, "10.9.0.1"), module_hosts(H2_MAC, "10.9.0.2"),
            module_hosts(H3_MAC, "10.9.0.3"))


def start(infrap4d, net, *args, config=None):
    h1, h2, h3 = net
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), link_port("h3", h3)],
                 config=config, args=P4RT + list(args))
    c = pc.Client(pc.channel(pc.port_from_log(d)))
    c.s = c.become_primary(election_id=3)
    return d, c


def read_table(c, info, name):
    return [e.table_entry for e in
            c.read(p4.Entity(table_entry=p4.TableEntry(table_id=info.table(name).preamble.id)))]


def check_declared_entries(c):
    """The P4Info served is the program's and its entries are in the tables."""
    got = c.get_pipeline().p4info
    assert got == p4info_of("init_entries")
    info = pc.Info(got)
    pm = read_table(c, info, "MainControlImpl.port_map")
    assert sorted((e.match[0].exact.value, e.action.action.params[0].value, e.const) for e in pm) == \
        [(b"\xb5", b"\x01", True), (b"\xb6", b"\x02", True), (b"\xb7", b"\x01", True)]
    flt = read_table(c, info, "MainControlImpl.filter")
    rng = [e for e in flt if e.match[0].field_id == info.field_id("MainControlImpl.filter", "type")]
    assert len(flt) == 2 and all(e.const for e in flt)
    assert (rng[0].match[0].range.low, rng[0].match[0].range.high, rng[0].priority) == \
        (b"\x88\xb7", b"\x88\xb9", 1)
    rw = read_table(c, info, "MainControlImpl.rewrite")
    assert [(e.match[0].exact.value, e.const) for e in rw] == [(bytes.fromhex("020000000002"), False)]
    return info


def frame(dst, etype, tag, src=H1_MAC):
    return Ether(src=src, dst=dst, type=etype) / (tag + b"x" * 40)


def check_traffic(net, low=0xaa):
    h1, h2, h3 = net
    s2, s3 = h2.sniffer(), h3.sniffer()
    try:
        h1.send([frame(H2_MAC, 0x88b5, b"ie-b5"), frame(H3_MAC, 0x88b6, b"ie-b6"),
                 frame(H2_MAC, 0x88b7, b"ie-b7"), frame(H2_MAC, 0x88b8, b"ie-b8"),
                 frame(H2_MAC, 0x88b5, b"ie-src", src="02:00:00:00:00:0f")])
        got = frames_to(s2, b"ie-b5")
        assert len(got) == 1 and got[0].src == "02:00:00:00:00:%02x" % low
        got = frames_to(s3, b"ie-b6")
        assert len(got) == 1 and got[0].src == H1_MAC
        for tag in (b"ie-b7", b"ie-b8", b"ie-src"):
            assert not frames_to(s2, tag, timeout=0.3), tag
    finally:
        s2.close()
        s3.close()


def test_bundle_at_start_up(infrap4d, net):
    bundle = built("init_entries", ".bundle.bin")
    d, c = start(infrap4d, net, "--bundle", bundle)
    info = check_declared_entries(c)
    assert c.get_pipeline().p4_device_config == open(bundle, "rb").read()
    check_traffic(net)
    # the control socket sees the same pipeline and entries
    assert "bundle " + bundle in d.ctl("info")
    assert len(d.ctl("dump", "port_map").splitlines()) == 3
    # const tables refuse every Write; the default entry of a non-const default still changes
    pm = info.table("MainControlImpl.port_map").preamble.id
    new = info.entry("MainControlImpl.port_map", {"type_low": 0xb8}, "MainControlImpl.send", port=2)
    old = info.entry("MainControlImpl.port_map", {"type_low": 0xb5}, "MainControlImpl.send", port=2)
    for kind, te in (("insert", new), ("modify", old), ("delete", old)):
        with pytest.raises(grpc.RpcError) as e:
            c.write([table_update(kind, te)])
        assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED, kind
        assert "const" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        c.write([table_update("modify", p4.TableEntry(table_id=pm, is_default_action=True,
                                                     action=old.action))])
    assert e.value.code() == grpc.StatusCode.PERMISSION_DENIED
    flt = info.table("MainControlImpl.filter").preamble.id
    c.write([table_update("modify", p4.TableEntry(
        table_id=flt, is_default_action=True,
        action=p4.TableAction(action=info.act("MainControlImpl.pass"))))])
    assert len(read_table(c, info, "MainControlImpl.port_map")) == 3
    # the initial entries of a table that is not const are the controller's to change
    c.write([table_update("modify", info.entry("MainControlImpl.rewrite", {"dst": 0x020000000002},
                                               "MainControlImpl.mark", low=0xbb))])
    check_traffic(net, low=0xbb)


def test_device_config_with_p4info_from_the_config_file_and_the_command_line(infrap4d, net, workdir):
    pbbin = device_config_file(workdir, "init_entries")
    cfg = json_file(workdir, "bundle.json", {"pipeline": {"bundle": pbbin,
                                                          "p4info": built("init_entries", ".p4info.txt")}})
    d, c = start(infrap4d, net, config=cfg)
    check_declared_entries(c)
    assert c.get_pipeline().p4_device_config == open(pbbin, "rb").read()
    check_traffic(net)
    d.stop()
    # the binary P4Info on the command line; --spec would replace the bundle
    d, c = start(infrap4d, net, "--bundle", pbbin, "--p4info", built("init_entries", ".p4info.bin"))
    check_declared_entries(c)


def test_pipeline_pushed_or_reloaded_gets_its_entries(infrap4d, net, workdir):
    bundle = built("init_entries", ".bundle.bin")
    d, c = start(infrap4d, net)
    assert pc.Info(c.get_pipeline().p4info).table("l2_fwd")     # the default pipeline
    c.set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
        p4_device_config=open(bundle, "rb").read()))
    check_declared_entries(c)
    check_traffic(net)
    # VERIFY_AND_SAVE then COMMIT: the saved pipeline has them too
    c.set_pipeline(A.VERIFY_AND_SAVE, p4.ForwardingPipelineConfig(
        p4_device_config=open(bundle, "rb").read(), p4info=p4info_of("init_entries")))
    c.set_pipeline(A.COMMIT)
    check_declared_entries(c)
    # through the control socket: a spec (derived P4Info, no entries), then the bundle
    d.ctl("pipeline", "load", spec_path("l2l3.spec"))
    assert pc.Info(c.get_pipeline().p4info).table("l2_fwd")
    d.ctl("pipeline", "load", bundle)
    check_declared_entries(c)
    check_traffic(net)
    d.ctl("pipeline", "load", device_config_file(workdir, "init_entries"),
          built("init_entries", ".p4info.txt"))
    check_declared_entries(c)


def test_bad_bundles_are_refused(infrap4d, net, workdir):
    h1 = net[0]
    cases = [
        (["--bundle", device_config_file(workdir, "init_entries"), "--p4info",
          built("l2_fwd", ".p4info.txt")], "P4Info"),
        (["--bundle", write_file(workdir, "junk.bin", "\x00\x01junk")], "junk.bin"),
        (["--bundle", os.path.join(workdir, "missing.bin")], "missing.bin"),
        (["--spec", spec_path("l2l3.spec"), "--bundle", built("init_entries", ".bundle.bin")],
         "exclude"),
        (["--p4info", built("init_entries", ".p4info.txt")], "bundle"),
    ]
    for args, word in cases:
        d = infrap4d(ports=[link_port("h1", h1)], args=["--no-p4rt", "--no-gnmi"] + args, ready=False)
        assert d.proc.wait(30) != 0, args
        d.stopped = True
        assert word in d.log_text(), d.log_text()
    # a running daemon keeps its pipeline when a reload is refused
    d, c = start(infrap4d, net, "--bundle", built("init_entries", ".bundle.bin"))
    err = d.ctl_err("pipeline", "load", device_config_file(workdir, "init_entries"),
                    built("l2_fwd", ".p4info.txt"))
    assert "P4Info" in err
    check_declared_entries(c)
    wait_until(lambda: d.alive())


def test_direct_meter_config_of_table_entries(infrap4d, net):
    """TableEntry.meter_config configures the entry's direct meter on INSERT
    and MODIFY and reads back (also through DirectMeterEntry); an INSERT
    without one starts at the default (every packet green), a MODIFY without
    one leaves it; p4src/init_entries.p4's rewrite table meters in packets."""
    d, c = start(infrap4d, net, "--bundle", built("init_entries", ".bundle.bin"))
    info = pc.Info(c.get_pipeline().p4info)
    h1, h2 = net[0], net[1]
    te = info.entry("MainControlImpl.rewrite", {"dst": 0x020000000002}, "MainControlImpl.mark", low=0xaa)
    mc = p4.MeterConfig(cir=1, cburst=3, pir=1, pburst=5)
    dme = lambda: c.read(p4.Entity(direct_meter_entry=p4.DirectMeterEntry(table_entry=te)))[0].direct_meter_entry
    rd = lambda: c.read(p4.Entity(table_entry=p4.TableEntry(table_id=te.table_id, match=te.match,
                                                           meter_counter_data=p4.MeterCounterData())))

    def burst(tag, n):
        sn = h2.sniffer()
        try:
            h1.send([frame(H2_MAC, 0x88b5, tag + b"-%02d" % i) for i in range(n)])
            return len(frames_to(sn, tag + b"-", count=n, timeout=1.0))
        finally:
            sn.close()

    # the initial entry has no config: everything passes
    assert not rd()[0].table_entry.HasField("meter_config")
    assert burst(b"mc-none", 10) == 10
    te_mc = p4.TableEntry()
    te_mc.CopyFrom(te)
    te_mc.meter_config.CopyFrom(mc)
    c.write([table_update("modify", te_mc)])
    got = rd()[0].table_entry
    assert got.meter_config == mc and dme().config == mc
    passed = burst(b"mc-burst", 20)
    assert 3 <= passed <= 7, passed
    colours = rd()[0].table_entry.meter_counter_data
    assert colours.red.packet_count >= 20 - passed
    # MODIFY without a config keeps it; DELETE and INSERT without one resets it
    c.write([table_update("modify", te)])
    assert rd()[0].table_entry.meter_config == mc
    c.write([table_update("delete", te)])
    c.write([table_update("insert", te)])
    assert not rd()[0].table_entry.HasField("meter_config") and not dme().HasField("config")
    assert burst(b"mc-reset", 10) == 10
    # INSERT with a config; a DirectMeterEntry write replaces it
    c.write([table_update("delete", te)])
    c.write([table_update("insert", te_mc)])
    assert rd()[0].table_entry.meter_config == mc
    mc2 = p4.MeterConfig(cir=100, cburst=100, pir=200, pburst=200)
    c.write([pc.update("modify", direct_meter_entry=p4.DirectMeterEntry(table_entry=te, config=mc2))])
    assert rd()[0].table_entry.meter_config == mc2 and dme().config == mc2
    # refused: negative rates; a rolled-back batch leaves the config as it was
    bad = p4.TableEntry()
    bad.CopyFrom(te)
    bad.meter_config.cir = -1
    with pytest.raises(grpc.RpcError) as e:
        c.write([table_update("modify", bad)])
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    wide = info.entry("MainControlImpl.rewrite", {"dst": 5}, "MainControlImpl.mark", low=0x1ff)
    with pytest.raises(grpc.RpcError):
        c.write([table_update("modify", te_mc), table_update("insert", wide)],
                atomicity=p4.WriteRequest.ROLLBACK_ON_ERROR)
    assert rd()[0].table_entry.meter_config == mc2
