"""A guest VM gets a virtio-net device hotplugged through the virtual device
table (vdev-ctl over lib/vdev and QMP) onto infrap4d's VHOST port, brings its
link up and pings a namespace host through the P4 pipeline; the device is
unplugged (the guest sees it go, traffic stops) and plugged again (traffic
works again). Bad requests get clear errors and leave nothing behind, neither
in the table nor in QEMU."""
import json
import os
import re
import socket

import pytest

from conftest import VdevCtl
from ipdk_net import link_port

GUEST_MAC, GUEST_IP = "02:00:00:00:01:01", "10.0.0.1"
HOST_MAC, HOST_IP = "02:00:00:00:00:02", "10.0.0.2"


def l2_entry(mac, port):
    return "l2_fwd match %s action l2_forward port %d" % (mac, port)


@pytest.fixture(scope="module")
def net(guest, module_hosts, module_infrap4d, workdir):
    """infrap4d with a VHOST port (id 0, vhost-user server) and a LINK port
    (id 1) to a namespace host, L2 entries both ways, and vdev-ctl knowing
    the guest as host vm1."""
    h = module_hosts(HOST_MAC, HOST_IP)
    h.neigh(GUEST_IP, GUEST_MAC)
    vhost = os.path.join(workdir, "vhost-net0.sock")
    d = module_infrap4d(ports=["name=vm0,type=vhost,socket=%s" % vhost, link_port("h1", h)],
                        entries=[l2_entry(GUEST_MAC, 0), l2_entry(HOST_MAC, 1)])
    assert os.path.exists(vhost), "infrap4d made no vhost-user socket"
    vc = VdevCtl(os.path.join(workdir, "vdev-state.json"))
    vc.ok("host-add", "vm1", guest.ipdk_qmp_path, "slots=%d" % len(guest.root_ports))
    return d, h, vc, vhost


@pytest.fixture(autouse=True)
def unplug_leftovers(net):
    """A test that fails half-way must not fail the next ones: whatever it
    left plugged is removed (forced when the guest does not let go)."""
    yield
    vc = net[2]
    for name in vc.devices():
        if vc.run("del", name).returncode != 0:
            vc.run("del", "--force", name)


def net_keys(vhost, **extra):
    keys = {"device-type": "virtio-net", "host-name": "vm1", "socket-path": vhost,
            "mac": GUEST_MAC}
    keys.update(extra)
    return ",".join("%s=%s" % kv for kv in keys.items())


def guest_ping(guest, ip, count=3):
    """Replies the guest got from ip (busybox ping)."""
    r = guest.run("ping -c %d -W 2 -i 0.3 %s" % (count, ip), timeout=30)
    m = re.search(r"(\d+) packets received", r.out)
    assert m, "guest ping did not run: %r" % r
    return int(m.group(1))


def guest_link_up(guest):
    """Brings the device with GUEST_MAC up with GUEST_IP; returns its name."""
    dev = guest.wait_netdev(GUEST_MAC)
    guest.sh("ip addr flush dev {d}; ip addr add {ip}/24 dev {d}; ip link set {d} up; "
             "arp -i {d} -s {hip} {hmac}".format(
                 d=dev, ip=GUEST_IP, hip=HOST_IP, hmac=HOST_MAC))
    out = ""
    for _ in range(50):
        out = guest.sh("cat /sys/class/net/%s/operstate" % dev).strip()
        if out == "up":
            return dev
        guest.run("sleep 0.2")
    raise AssertionError("guest link %s not up: operstate %s" % (dev, out))


def qemu_ipdk_objects(guest):
    """ids of QEMU chardevs and PCI devices our driver made (ipdk-...)."""
    chardevs = [c["label"] for c in guest.qmp.cmd("query-chardev")]
    devs = []
    for bus in guest.qmp.cmd("query-pci"):
        for dev in bus["devices"]:
            for sub in (dev.get("pci_bridge") or {}).get("devices", []):
                devs.append(sub["qdev_id"])
    return sorted(c for c in chardevs + devs if c.startswith("ipdk-"))


def test_hotplug_ping_unplug_replug(guest, net):
    d, h, vc, vhost = net
    out = vc.ok("add", "net0", net_keys(vhost))
    assert "net0 plugged into vm1 on rp0" in out, out
    dev = vc.devices()["net0"]
    assert dev["state"] == "plugged" and dev["pci-bus"] == "rp0" and dev["physical-id"] == 0
    assert qemu_ipdk_objects(guest) == ["ipdk-chr-net0", "ipdk-net0"]

    guest_link_up(guest)
    assert guest_ping(guest, HOST_IP) == 3
    assert h.ping(GUEST_IP, count=3) == 3
    ports = d.ports()
    assert ports["vm0"]["rx"] > 0 and ports["vm0"]["tx"] > 0, ports

    vc.ok("del", "net0")
    assert "net0" not in vc.devices()
    assert guest.wait_netdev(GUEST_MAC, present=False) is None
    assert qemu_ipdk_objects(guest) == []
    assert h.ping(GUEST_IP, count=2) == 0

    vc.ok("add", "net0", net_keys(vhost))
    guest_link_up(guest)
    assert guest_ping(guest, HOST_IP) == 3
    assert h.ping(GUEST_IP, count=3) == 3

    vc.ok("del", "net0")
    guest.wait_netdev(GUEST_MAC, present=False)


def test_vm_not_running(net, workdir):
    d, h, vc, vhost = net
    # A socket file no process listens on: what a VM that exited leaves.
    stale = os.path.join(workdir, "dead-qmp.sock")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    vc.ok("host-add", "vmdead", stale)
    vc.ok("host-add", "vmgone", os.path.join(workdir, "no-such-qmp.sock"))
    for host in ("vmdead", "vmgone"):
        msg = vc.err("add", "netx", net_keys(vhost, **{"host-name": host}))
        assert "device netx" in msg and "no VM is running" in msg, msg
    assert vc.devices() == {}
    vc.ok("host-del", "vmdead")
    vc.ok("host-del", "vmgone")


def test_duplicate_name(guest, net):
    d, h, vc, vhost = net
    vc.ok("add", "net0", net_keys(vhost))
    try:
        msg = vc.err("add", "net0", net_keys("/tmp/other.sock", mac="02:00:00:00:01:09"))
        assert "device net0" in msg and "exists already" in msg, msg
        # The same socket under another name is refused too.
        msg = vc.err("add", "net1", net_keys(vhost, mac="02:00:00:00:01:09"))
        assert "socket-path" in msg and "in use by device net0" in msg, msg
        assert list(vc.devices()) == ["net0"]
        assert qemu_ipdk_objects(guest) == ["ipdk-chr-net0", "ipdk-net0"]
    finally:
        vc.ok("del", "net0")
    assert qemu_ipdk_objects(guest) == []


def test_unknown_host_and_bad_keys(net):
    d, h, vc, vhost = net
    msg = vc.err("add", "net0", net_keys(vhost, **{"host-name": "nosuchvm"}))
    assert "device net0" in msg and "unknown host-name nosuchvm" in msg, msg
    msg = vc.err("add", "net0", net_keys(vhost, colour="blue"))
    assert 'unknown key "colour"' in msg, msg
    msg = vc.err("add", "net0", net_keys(vhost, queues="0"))
    assert "queues" in msg, msg
    msg = vc.err("add", "net0", net_keys(vhost, mac="02:00:00:00:01"))
    assert "mac" in msg, msg
    msg = vc.err("add", "net0", "device-type=virtio-net,host-name=vm1")
    assert "socket-path is required" in msg, msg
    msg = vc.err("add", "net0", net_keys(vhost, **{"physical-id": "99"}))
    assert "physical-id 99" in msg and "slots 0 to 3" in msg, msg
    msg = vc.err("del", "net0")
    assert "device net0: no such device" in msg, msg
    assert vc.devices() == {}


def test_failed_plug_leaves_nothing(guest, net, workdir):
    d, h, vc, vhost = net
    # Nobody serves this vhost-user socket: QEMU's chardev cannot connect.
    msg = vc.err("add", "net9", net_keys(os.path.join(workdir, "nobody.sock")))
    assert "device net9" in msg and "host vm1" in msg and "chardev-add" in msg, msg
    # A bus that does not exist fails at device_add, after chardev and netdev.
    msg = vc.err("add", "net9", net_keys(vhost, **{"pci-bus": "nosuchbus"}))
    assert "device net9" in msg and "device_add" in msg, msg
    assert vc.devices() == {}
    assert qemu_ipdk_objects(guest) == []
    assert guest.netdev_by_mac(GUEST_MAC) is None
    # The name and socket are free for a correct request.
    vc.ok("add", "net9", net_keys(vhost))
    guest.wait_netdev(GUEST_MAC)
    vc.ok("del", "net9")
    guest.wait_netdev(GUEST_MAC, present=False)


def test_physical_id_and_vf_note(guest, net):
    d, h, vc, vhost = net
    vc.ok("add", "net0", net_keys(vhost, **{"physical-id": "2", "pf-name": "pf0",
                                             "vf-index": "3"}))
    try:
        dev = json.loads(vc.ok("--json", "show", "net0"))
        assert dev["pci-bus"] == "rp2" and dev["physical-id"] == 2, dev
        assert dev["pf-name"] == "pf0" and dev["vf-index"] == 3, dev
        assert "not actionable" in dev["note"], dev
        msg = vc.err("add", "net1", net_keys("/tmp/x.sock", mac="02:00:00:00:01:09",
                                             **{"physical-id": "2"}))
        assert "physical-id 2 on host vm1 is taken by device net0" in msg, msg
        msg = vc.err("host-del", "vm1")
        assert "devices still use it" in msg, msg
        guest.wait_netdev(GUEST_MAC)
    finally:
        vc.ok("del", "net0")
