"""infrap4d restarts under a running guest and its NIC comes back: a host and a
virtio-net device made through gNMI, the guest pings a namespace host through
the pipeline; infrap4d is stopped (SIGTERM: nothing is unplugged, QEMU keeps
the device) and started again with the same state file. Without any plug the
same guest NIC (same netdev, same ifindex, no unplug) pings again once the
forwarding entry is pushed again (P4 entries are not gNMI state: a P4Runtime
controller re-pushes them, here infrap4d-ctl does). QEMU reconnects to the
vhost-user socket by itself (its chardev has reconnect=1)."""
import json
import os

from ipdk_net import wait_until
from test_gnmi import GNMI_ARGS, Gnmi, gnmi_port, pb, path
from test_vm_gnmi import (DEV, GUEST_IP, GUEST_MAC, HOST_IP, HOST_MAC, dev_set,
                          devices, guest_up, route_to, sock_path)
from test_vm_net import guest_ping, qemu_ipdk_objects
from ipdk_net import link_port


def start(infrap4d, h, state):
    d = infrap4d(ports=[link_port("h1", h)], args=GNMI_ARGS + ["--state-file", state],
                 entries=["l2_fwd match %s action l2_forward port 0" % HOST_MAC])
    return d, Gnmi(gnmi_port(d))


def netdev_identity(guest, dev):
    """The guest netdev's name, MAC and ifindex (a re-plug would change the index)."""
    return guest.sh("cat /sys/class/net/%s/address /sys/class/net/%s/ifindex" %
                    (dev, dev)).split()


def test_restart_keeps_the_guest_nic(guest, module_hosts, module_infrap4d, workdir):
    h = module_hosts(HOST_MAC, HOST_IP)
    h.neigh(GUEST_IP, GUEST_MAC)
    state = os.path.join(workdir, "restart-state.json")
    sock = sock_path(workdir, "rnet0")
    d, g = start(module_infrap4d, h, state)
    g.set_rpc(pb.SetRequest(update=[pb.Update(
        path=path("/virtual-devices/host[name=vm1]/config/qmp-socket"),
        val=pb.TypedValue(string_val=guest.ipdk_qmp_path))]), timeout=10)
    dev_set(g, "rnet0", device_type="virtio-net", host_name="vm1", socket_path=sock,
            mac=GUEST_MAC, physical_id=1)
    pid = devices(g)["rnet0"]["state/tdi-portin-id"]
    route_to(d, GUEST_MAC, pid)
    dev = guest.wait_netdev(GUEST_MAC)
    guest_up(guest, dev, GUEST_MAC)
    assert guest_ping(guest, HOST_IP) == 3
    before = netdev_identity(guest, dev)
    objs = qemu_ipdk_objects(guest)
    assert objs == ["ipdk-chr-rnet0", "ipdk-rnet0"], objs
    saved = json.load(open(state))
    assert [x["name"] for x in saved["hosts"]] == ["vm1"], saved
    assert saved["devices"][0]["pci-bus"] == "rp1", saved
    g.close()

    d.stop()
    assert "unplugged" not in d.log_text()
    assert qemu_ipdk_objects(guest) == objs, "the device must stay in the VM"
    assert guest_ping(guest, HOST_IP, count=1) == 0, "no backend, no traffic"

    d, g = start(module_infrap4d, h, state)
    try:
        log = d.log_text()
        assert "device rnet0 restored" in log and "plugged into" not in log, log
        got = devices(g)["rnet0"]
        assert got["state/state"] == "plugged" and got["state/tdi-portin-id"] == pid, got
        assert got["state/pci-bus"] == "rp1" and got["config/mac"] == GUEST_MAC, got
        assert g.get("/virtual-devices/host[name=vm1]/config/qmp-socket")
        assert d.ports()["rnet0"]["id"] == pid
        assert qemu_ipdk_objects(guest) == objs
        # The controller's part: the forwarding entry again.
        route_to(d, GUEST_MAC, pid)
        assert wait_until(lambda: guest_ping(guest, HOST_IP, count=1) == 1, timeout=20), \
            "the guest NIC did not come back:\n" + d.log_text()
        assert guest_ping(guest, HOST_IP) == 3
        assert h.ping(GUEST_IP, count=3) == 3
        assert netdev_identity(guest, dev) == before, "the guest NIC was re-plugged"
    finally:
        g.set_rpc(pb.SetRequest(delete=[path(DEV % "rnet0"),
                                        path("/virtual-devices/host[name=vm1]")]), timeout=60)
        g.close()
    guest.wait_netdev(GUEST_MAC, present=False)
    assert qemu_ipdk_objects(guest) == []
    saved = json.load(open(state))
    assert saved["devices"] == [] and saved["hosts"] == [] and saved["ports"] == [], saved
