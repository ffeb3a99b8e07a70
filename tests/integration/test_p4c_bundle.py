"""ipdk-p4c's bundle outputs loaded through P4Runtime (docs/bundle.md): the
single-file bundle (--bundle) and the device config (--device-config) with the
binary P4Info (--p4runtime-files x.bin) are given to SetForwardingPipelineConfig
of a real infrap4d; entries are written by the ids of the generated P4Info,
and packets in network namespaces show the pipeline runs them."""
import os
import subprocess

import pytest
from scapy.layers.l2 import Ether

import p4rt_client as pc
from p4rt_client import p4, p4i, table_update
from ipdk_net import link_port
from test_p4c_programs import H1_MAC, H2_MAC, H3_MAC, P4C, P4SRC, frames_to

A = p4.SetForwardingPipelineConfigRequest


def compile_outputs(workdir, name, *opts):
    out = os.path.join(workdir, "bundle-" + name)
    os.makedirs(out, exist_ok=True)
    paths = {ext: os.path.join(out, name + ext) for ext in
             (".spec", ".p4info.txt", ".p4info.bin", ".pb.bin", ".bundle.bin")}
    r = subprocess.run([P4C, "--arch", "pna", os.path.join(P4SRC, name + ".p4"),
                        "-o", paths[".spec"],
                        "--p4runtime-files", paths[".p4info.txt"] + "," + paths[".p4info.bin"],
                        "--device-config", paths[".pb.bin"], "--bundle", paths[".bundle.bin"]] +
                       list(opts), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return paths


@pytest.fixture(scope="module")
def env(module_infrap4d, module_hosts):
    h1, h2, h3 = (module_hosts(H1_MAC, "10.0.0.1"), module_hosts(H2_MAC, "10.0.0.2"),
                  module_hosts(H3_MAC, "10.0.0.3"))
    d = module_infrap4d(ports=[link_port("h1", h1), link_port("h2", h2), link_port("h3", h3)],
                        args=["--grpc-security", "insecure", "--p4rt-listen", "127.0.0.1:0"])
    with pc.primary(d, election_id=5) as c:
        yield {"d": d, "h1": h1, "h2": h2, "h3": h3, "c": c}


def forwarding_works(env, info):
    c, h1 = env["c"], env["h1"]
    c.write([table_update("insert", info.entry("l2_fwd", {"hdr.ethernet.dst_addr": int(H2_MAC.replace(":", ""), 16)},
                                               "send", port=1)),
             table_update("insert", info.entry("l2_fwd", {"hdr.ethernet.dst_addr": int(H3_MAC.replace(":", ""), 16)},
                                               "send", port=2))])
    s2, s3 = env["h2"].sniffer(), env["h3"].sniffer()
    try:
        h1.send([Ether(src=H1_MAC, dst=H2_MAC, type=0x88b5) / (b"b-to-h2" + b"x" * 40),
                 Ether(src=H1_MAC, dst=H3_MAC, type=0x88b5) / (b"b-to-h3" + b"x" * 40),
                 Ether(src=H1_MAC, dst="02:00:00:00:00:99", type=0x88b5) / (b"b-miss" + b"x" * 40)])
        assert len(frames_to(s2, b"b-to-h2")) == 1
        assert len(frames_to(s3, b"b-to-h3")) == 1
        assert not frames_to(s2, b"b-miss", timeout=0.5) and not frames_to(s3, b"b-miss", timeout=0.1)
    finally:
        s2.close()
        s3.close()
    # the per-port counter of the P4 program, read by its P4Info id
    cid = info.counter("MainControlImpl.rx_count").preamble.id
    ents = c.read(p4.Entity(counter_entry=p4.CounterEntry(counter_id=cid, index=p4.Index(index=0))))
    assert ents and ents[0].counter_entry.data.packet_count >= 3


def test_single_file_bundle_loads_and_forwards(env, workdir):
    paths = compile_outputs(workdir, "l2_fwd")
    want = p4i.P4Info()
    want.ParseFromString(open(paths[".p4info.bin"], "rb").read())
    # the bundle file as the device config, no separate P4Info: the bundle's own is used
    env["c"].set_pipeline(A.VERIFY_AND_COMMIT,
                          p4.ForwardingPipelineConfig(p4_device_config=open(paths[".bundle.bin"], "rb").read()))
    got = env["c"].get_pipeline().p4info
    assert got == want
    assert [t.preamble.name for t in got.tables] == ["MainControlImpl.l2_fwd"]
    forwarding_works(env, pc.Info(got))


def test_device_config_with_binary_p4info(env, workdir):
    paths = compile_outputs(workdir, "l2_fwd")
    info = p4i.P4Info()
    info.ParseFromString(open(paths[".p4info.bin"], "rb").read())
    # the text P4Info is the same message
    from google.protobuf import text_format
    assert text_format.Parse(open(paths[".p4info.txt"]).read(), p4i.P4Info()) == info
    # a bundle file parses as a ForwardingPipelineConfig carrying that device config
    b = p4.ForwardingPipelineConfig()
    b.ParseFromString(open(paths[".bundle.bin"], "rb").read())
    assert b.p4info == info and b.p4_device_config == open(paths[".pb.bin"], "rb").read()
    env["c"].set_pipeline(A.VERIFY_AND_COMMIT, p4.ForwardingPipelineConfig(
        p4info=info, p4_device_config=open(paths[".pb.bin"], "rb").read()))
    assert env["c"].get_pipeline().p4info == info
    forwarding_works(env, pc.Info(info))
