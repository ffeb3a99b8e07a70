"""infrap4d's gNMI state file (--state-file): what gNMI made survives a restart.

Covered: hosts and TAP, LINK and VHOST ports made through gNMI are written
after every Set and made again by a new infrap4d with the same state file,
with the same keys and the same port ids (also around a free slot), LINK
ports pass packets again once the P4 entries are pushed again (they are not
gNMI state), the VHOST socket is served again; configured ports are not in the
file and win a name clash; an entry that cannot be made again (a LINK port
whose netdev is gone) is logged and kept in the file with the reason and its
port id (which new ports do not take), restored when it can be, and dropped
when a Set names it; a malformed, unreadable or
foreign-version file stops the start naming the file and the reason and is
left untouched; --state-file none keeps nothing; virtual device entries are
restored as they were without QEMU (the VM need not even run), with a note
when their VHOST port could not be made again, and kept in the file when their
host is unknown.
"""
import json
import os
import socket
import stat
import subprocess

from ipdk_net import unique
from test_gnmi import GNMI_ARGS, Gnmi, gnmi_port, pb, path


def start(infrap4d, state, ports=(), args=()):
    d = infrap4d(ports=ports, args=GNMI_ARGS + ["--state-file", state] + list(args))
    return d, Gnmi(gnmi_port(d))


def start_fails(infrap4d, state):
    """Starts infrap4d with state, which must refuse to start; returns its log."""
    d = infrap4d(args=GNMI_ARGS + ["--state-file", state], ready=False)
    rc = d.proc.wait(timeout=60)
    d.stopped = True
    d.log.close()
    assert rc == 1, "infrap4d started with a bad state file (rc %d):\n%s" % (rc, d.log_text())
    assert not os.path.exists(d.sock)
    return d.log_text()


def config_and_ids(g):
    """Every port's config leaves and pipeline port id, and every host's config."""
    leaves = g.get("/interfaces")
    leaves.update(g.get("/virtual-devices"))
    return {k: v for k, v in leaves.items()
            if "/config/" in k or k.endswith("/tdi-portin-id") or k.endswith("/tdi-portout-id")}


def saved(state):
    with open(state) as f:
        return json.load(f)


def l2_entries(d, h1, h2, ids):
    d.ctl("add", "l2_fwd", "match", h1.mac, "action", "l2_forward", "port", ids["h1"])
    d.ctl("add", "l2_fwd", "match", h2.mac, "action", "l2_forward", "port", ids["h2"])


def test_ports_and_hosts_survive_a_restart(infrap4d, hosts, workdir):
    state = os.path.join(workdir, unique("st") + ".json")
    cfg_tap, tap, gap, late = unique("stc"), unique("stt"), unique("stg"), unique("sta")
    sock = os.path.join(workdir, unique("stv") + ".sock")
    configured = ["name=%s,type=tap" % cfg_tap]
    h1, h2 = hosts.l2(2)
    d, g = start(infrap4d, state, configured)
    g.create("h1", port_type="LINK", netdev=h1.link)
    g.create(gap, port_type="TAP")
    g.create("h2", port_type="LINK", netdev=h2.link)
    g.create(tap, port_type="TAP", mtu=1400)
    g.create("vh", port_type="VHOST", socket_path=sock, host_name="elsewhere", queues=1)
    g.set_rpc(pb.SetRequest(update=[pb.Update(
        path=path("/virtual-devices/host[name=vm9]/config"),
        val=pb.TypedValue(json_val=json.dumps(
            {"qmp-socket": "/run/ipdk-test-no-vm.qmp", "slots": 4}).encode()))]), timeout=10)
    g.delete(gap)            # a free slot below h2: ids must not close up
    ids = {n: g.port(n)["state/tdi-portin-id"] for n in ("h1", "h2", tap, "vh")}
    assert ids == {"h1": 1, "h2": 3, tap: 4, "vh": 5}, ids
    l2_entries(d, h1, h2, ids)
    assert h1.ping(h2.ip, count=3) >= 2
    before = config_and_ids(g)
    f = saved(state)
    assert [p["name"] for p in f["ports"]] == ["h1", "h2", tap, "vh"], f
    assert [(p["name"], p["id"]) for p in f["ports"]] == sorted(ids.items(), key=lambda x: x[1])
    assert f["hosts"] == [{"name": "vm9", "qmp-socket": "/run/ipdk-test-no-vm.qmp",
                           "bus-prefix": "rp", "slots": 4, "timeout-ms": 10000}], f
    g.close()
    d.stop()
    assert not os.path.exists(sock) and not os.path.exists("/sys/class/net/" + tap)

    d, g = start(infrap4d, state, configured)
    assert config_and_ids(g) == before
    assert gap not in d.ports() and d.ports()[cfg_tap]["id"] == 0
    assert os.path.exists("/sys/class/net/" + tap)
    assert stat.S_ISSOCK(os.stat(sock).st_mode), "the VHOST socket is served again"
    # P4 entries are not gNMI state: forwarding needs them pushed again.
    assert h1.ping(h2.ip, count=2) == 0
    l2_entries(d, h1, h2, ids)
    assert h1.ping(h2.ip, count=3) >= 2
    # A port made now takes the free slot.
    g.create(late, port_type="TAP", mtu=1500)
    assert g.port(late)["state/tdi-portin-id"] == 2
    g.close()


def test_entries_that_cannot_be_restored_are_kept(infrap4d, workdir):
    state = os.path.join(workdir, unique("st") + ".json")
    veth, peer, ok, more = unique("stl"), unique("stp"), unique("sto"), unique("stm")
    subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", peer], check=True)
    try:
        d, g = start(infrap4d, state)
        g.create(ok, port_type="TAP")
        g.create("lnk", port_type="LINK", netdev=veth)
        g.close()
        d.stop()
        subprocess.run(["ip", "link", "del", veth], check=True)

        d, g = start(infrap4d, state)
        assert sorted(p for p in d.ports() if p != "(drop)") == [ok]
        assert "port lnk not restored" in d.log_text() and veth in d.log_text()
        kept = [p for p in saved(state)["ports"] if p["name"] == "lnk"]
        assert kept and kept[0]["id"] == 1 and veth in kept[0]["not-restored"], kept
        # Other Sets keep it (also an update of the whole list naming another
        # port), and its id: P4 entries that name id 1 mean lnk.
        body = ('{"virtual-interface": [{"name": "%s", "config": {"port-type": "TAP"}}]}'
                % more).encode()
        g.set_rpc(pb.SetRequest(update=[pb.Update(
            path=path("/interfaces"), val=pb.TypedValue(json_val=body))]), timeout=30)
        assert g.port(more)["state/tdi-portin-id"] == 2
        assert "lnk" in [p["name"] for p in saved(state)["ports"]]
        g.close()
        d.stop()

        # Once the netdev is back, so is the port, at its id.
        subprocess.run(["ip", "link", "add", veth, "type", "veth", "peer", "name", peer],
                       check=True)
        d, g = start(infrap4d, state)
        assert d.ports()["lnk"]["id"] == 1
        assert all("not-restored" not in p for p in saved(state)["ports"])
        g.close()
        d.stop()

        # A configured port of the same name comes first; the entry is kept,
        # and a Set deleting the name drops it.
        d, g = start(infrap4d, state, ["name=lnk,type=tap,netdev=%s" % unique("stx")])
        assert d.ports()["lnk"]["type"] == "tap"
        kept = [p for p in saved(state)["ports"] if p["name"] == "lnk"]
        assert kept and "configuration" in kept[0]["not-restored"], kept
        g.delete(ok)
        assert ok not in [p["name"] for p in saved(state)["ports"]]
        g.delete("lnk")
        assert "lnk" not in [p["name"] for p in saved(state)["ports"]]
        g.close()
    finally:
        subprocess.run(["ip", "link", "del", veth], capture_output=True)


def test_bad_state_files_stop_the_start(infrap4d, workdir):
    cases = [
        ('{"version": 1, "ports": [', "near end of file"),
        ('{"version": 2, "ports": []}', '"version" must be 1'),
        ('[]', "not a JSON object"),
        ('{"version": 1, "ports": [{"name": "p", "id": 1, "config": {"colour": "red"}}]}',
         'port p: unknown key "colour"'),
        ('{"version": 1, "ports": [{"name": "p", "config": {}}]}', "ports[0]: expected"),
        ('{"version": 1, "devices": [{"name": "d", "host-name": "h", "mac": "zz"}]}',
         "device d"),
        ('{"version": 1, "hosts": [{"name": "h"}]}', "host h: qmp-socket is required"),
    ]
    for text, why in cases:
        state = os.path.join(workdir, unique("bad") + ".json")
        with open(state, "w") as f:
            f.write(text)
        log = start_fails(infrap4d, state)
        assert "state file %s" % state in log and why in log, (text, log)
        assert "not starting" in log, log
        with open(state) as f:
            assert f.read() == text, "the bad file must be left as it was"
    log = start_fails(infrap4d, workdir)
    assert "state file %s: is a directory" % workdir in log, log


def test_state_file_none_keeps_nothing(infrap4d, workdir):
    d, g = start(infrap4d, "none")
    g.create(unique("stn"), port_type="TAP")
    assert not os.path.exists(d.state_file)
    g.close()
    d.stop()
    d, g = start(infrap4d, "none")
    assert [p for p in d.ports() if p != "(drop)"] == []
    g.close()


def test_devices_are_restored_without_qemu(infrap4d, workdir):
    """A state file as infrap4d writes it, for a VM that is not even running:
    device entries come back as they were without a word to QEMU; one whose
    VHOST port cannot be made again says so in its note, one whose host is
    unknown is kept in the file."""
    state = os.path.join(workdir, unique("st") + ".json")
    sock = os.path.join(workdir, unique("sd") + ".sock")
    vhost = {"port-type": "VHOST", "device-type": "VIRTIO_NET", "host-name": "vm9",
             "socket-path": sock, "queues": 1}
    dev = {"device-type": "virtio-net", "host-name": "vm9", "socket-path": sock, "queues": 1,
           "mac": "02:00:00:00:09:01", "name": "net0", "physical-id": 2, "pci-bus": "rp2",
           "state": "plugged", "config": {"device-type": "virtio-net", "host-name": "vm9",
                                          "socket-path": sock, "mac": "02:00:00:00:09:01",
                                          "physical-id": 2}}
    lost = dict(dev, name="net1", **{"host-name": "nohost", "socket-path": sock + "1"})
    del lost["config"]
    with open(state, "w") as f:
        json.dump({"version": 1,
                   "hosts": [{"name": "vm9", "qmp-socket": "/run/ipdk-test-no-vm.qmp",
                              "slots": 4}],
                   "ports": [{"name": "net0", "id": 3, "config": vhost}],
                   "devices": [dev, lost]}, f)
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(sock)
    other.listen(1)
    try:
        d, g = start(infrap4d, state)
        got = g.get("/virtual-devices/virtual-device[name=net0]")
        base = "/virtual-devices/virtual-device[name=net0]/"
        assert got[base + "state/state"] == "plugged" and got[base + "state/pci-bus"] == "rp2"
        assert got[base + "config/mac"] == "02:00:00:00:09:01", got
        assert "was not restored" in got[base + "state/note"], got
        assert base + "state/tdi-portin-id" not in got
        assert "net1" not in str(g.get("/virtual-devices"))
        f = saved(state)
        assert "in use" in [p for p in f["ports"] if p["name"] == "net0"][0]["not-restored"]
        kept = [x for x in f["devices"] if x["name"] == "net1"]
        assert kept and "nohost" in kept[0]["not-restored"], f
        g.close()
        d.stop()
    finally:
        other.close()
        os.unlink(sock)
    # With the socket free the port is made again and the note is gone.
    d, g = start(infrap4d, state)
    got = g.get("/virtual-devices/virtual-device[name=net0]/state")
    assert got["/virtual-devices/virtual-device[name=net0]/state/tdi-portin-id"] == 3, got
    assert not any(k.endswith("/note") for k in got), got
    assert stat.S_ISSOCK(os.stat(sock).st_mode)
    g.close()
