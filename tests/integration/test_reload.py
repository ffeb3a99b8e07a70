"""Replacing the pipeline at run time with "pipeline load": the new program
starts empty on the same ports, traffic resumes once its entries are added,
and "pipeline load default" brings the embedded pipeline back. Also while
traffic is flowing."""
import time

from ipdk_net import link_port, spec_path


def l2(mac, port):
    return "l2_fwd match %s action l2_forward port %d" % (mac, port)


def test_replace_pipeline_and_back(hosts, infrap4d):
    h1, h2 = hosts.l2(2)
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)],
                 entries=[l2(h2.mac, 1), l2(h1.mac, 0)])
    assert h1.ping(h2.ip, count=2) == 2

    new = spec_path("flow_pin.spec")
    d.ctl("pipeline", "load", new)
    assert new in d.ctl("info")
    tables = d.ctl("tables")
    assert "learner flows" in tables and "ipv4_lpm" not in tables, tables
    # The new pipeline starts with no entries: its l2_fwd drops everything.
    assert d.ctl("dump", "l2_fwd").strip() == ""
    assert h1.ping(h2.ip, count=2, wait=1) == 0
    d.ctl("add", l2(h2.mac, 1))
    d.ctl("add", l2(h1.mac, 0))
    assert h1.ping(h2.ip, count=3) == 3
    # The new program is the one forwarding: it learned the ping's flows.
    assert d.register("flows_learned", 0) >= 2
    ports = d.ports()
    assert ports["h1"]["id"] == 0 and ports["h2"]["id"] == 1

    d.ctl("pipeline", "load", "default")
    assert "embedded default" in d.ctl("info")
    assert "ipv4_lpm" in d.ctl("tables")
    assert h1.ping(h2.ip, count=1, wait=1) == 0
    r = d.ctl_lines(["batch begin", "add " + l2(h2.mac, 1), "add " + l2(h1.mac, 0),
                     "batch commit"])
    assert r.returncode == 0, r.stderr
    assert h1.ping(h2.ip, count=2) == 2


def test_reload_under_traffic(hosts, infrap4d):
    h1, h2 = hosts.l2(2)
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)],
                 entries=[l2(h2.mac, 1), l2(h1.mac, 0)])
    flood = h1.popen("ping", "-n", "-q", "-i", "0.002", "-w", "4", h2.ip,
                     stdout=open("/dev/null", "w"), stderr=open("/dev/null", "w"))
    try:
        time.sleep(0.3)
        for i in range(4):
            d.ctl("pipeline", "load", spec_path("flow_pin.spec") if i % 2 == 0 else "default")
            r = d.ctl_lines(["batch begin", "add " + l2(h2.mac, 1), "add " + l2(h1.mac, 0),
                             "batch commit"])
            assert r.returncode == 0, r.stderr
            assert d.alive()
    finally:
        flood.kill()
        flood.wait()
    assert "embedded default" in d.ctl("info")
    assert h1.ping(h2.ip, count=2) == 2
    assert h2.ping(h1.ip, count=2) == 2
