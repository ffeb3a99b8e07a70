"""A running guest gets a virtio-net device through gNMI: the virtual device
model (/virtual-devices) of infrap4d makes a VHOST port and hotplugs it into
the VM over QMP; the guest brings its link up and pings a namespace host
through the P4 pipeline. The entry is deleted (the guest sees the device go,
the port is gone, QEMU holds none of our objects) and made again with
gnmi-ctl's IPDK syntax on /interfaces, and traffic works again. Bad requests
(a VM that is not running, duplicate names, a socket path in use, an unknown
host, a plug QEMU refuses half-way, storage device types) get clear errors and
leave nothing behind: no port, no table entry, no QEMU chardev or device."""
import os
import re
import socket
import subprocess

import grpc
import pytest

from ipdk_net import BUILD, TOKEN, json_file, link_port, wait_until
from test_gnmi import GNMI_ARGS, Gnmi, gnmi_port, pb, path
from test_vm_net import guest_ping, qemu_ipdk_objects

GNMI_CTL = os.path.join(BUILD, "tools", "gnmi-ctl")
GUEST_MAC, GUEST_IP = "02:00:00:00:01:01", "10.0.0.1"
HOST_MAC, HOST_IP = "02:00:00:00:00:02", "10.0.0.2"
DEV = "/virtual-devices/virtual-device[name=%s]"


@pytest.fixture(scope="module")
def gnet(guest, module_hosts, module_infrap4d, workdir):
    """infrap4d with a LINK port (id 0) to a namespace host, the guest known
    as host vm1 from the configuration file, and a gNMI client."""
    h = module_hosts(HOST_MAC, HOST_IP)
    h.neigh(GUEST_IP, GUEST_MAC)
    cfg = json_file(workdir, "vdev.json", {"virtual_devices": {"hosts": [
        {"name": "vm1", "qmp_socket": guest.ipdk_qmp_path, "slots": len(guest.root_ports)}]}})
    d = module_infrap4d(ports=[link_port("h1", h)], config=cfg, args=GNMI_ARGS,
                        entries=["l2_fwd match %s action l2_forward port 0" % HOST_MAC])
    g = Gnmi(gnmi_port(d))
    g.port_num = gnmi_port(d)
    yield d, h, g
    g.close()


def sock_path(workdir, name):
    return os.path.join(workdir, "gv-%s-%s.sock" % (TOKEN, name))


def dev_set(g, name, **keys):
    """One Set creating a virtual device (numbers as uint, the rest strings)."""
    ups = [pb.Update(path=path((DEV + "/config/%s") % (name, k.replace("_", "-"))),
                     val=pb.TypedValue(uint_val=v) if isinstance(v, int)
                     else pb.TypedValue(string_val=v)) for k, v in keys.items()]
    return g.set_rpc(pb.SetRequest(update=ups), timeout=60)


def dev_set_error(g, name, **keys):
    with pytest.raises(grpc.RpcError) as ei:
        dev_set(g, name, **keys)
    return ei.value.code(), ei.value.details()


def dev_delete(g, name):
    g.set_rpc(pb.SetRequest(delete=[path(DEV % name)]), timeout=60)


def devices(g):
    """{device name: {"config/KEY" or "state/KEY": value}}."""
    try:
        leaves = g.get("/virtual-devices/virtual-device")
    except grpc.RpcError as e:
        assert e.code() == grpc.StatusCode.NOT_FOUND, e
        return {}
    out = {}
    for k, v in leaves.items():
        m = re.match(r"/virtual-devices/virtual-device\[name=([^\]]+)\]/(.*)", k)
        out.setdefault(m.group(1), {})[m.group(2)] = v
    return out


def ctl(g, *args, check=True):
    r = subprocess.run([GNMI_CTL, "-g", "127.0.0.1:%d" % g.port_num, "--grpc-security",
                        "insecure"] + list(args), capture_output=True, text=True, timeout=60)
    if check:
        assert r.returncode == 0, "gnmi-ctl %s failed (%d): %s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr)
    return r


def guest_netdevs(guest):
    """{name: MAC} of the guest's ethernet netdevs."""
    out = guest.sh("for d in /sys/class/net/eth*; do [ -e $d ] && "
                   "echo ${d##*/} $(cat $d/address); done; true")
    return dict(line.split() for line in out.splitlines())


def guest_up(guest, dev, mac):
    guest.sh("ip addr flush dev {d}; ip addr add {ip}/24 dev {d}; ip link set {d} up; "
             "arp -i {d} -s {hip} {hmac}".format(d=dev, ip=GUEST_IP, hip=HOST_IP,
                                                  hmac=HOST_MAC))
    assert wait_until(lambda: guest.sh("cat /sys/class/net/%s/operstate" % dev).strip()
                      == "up", timeout=15), "guest link %s not up" % dev


def route_to(d, mac, port_id):
    """The L2 entry for mac, programmed through infrap4d-ctl."""
    d.ctl_run("-q", "del", "l2_fwd", "match", mac)
    d.ctl("add", "l2_fwd", "match", mac, "action", "l2_forward", "port", port_id)


def nothing_left(d, g, guest, expect_ports=("h1",), expect_qemu=()):
    assert sorted(p for p in d.ports() if p != "(drop)") == sorted(expect_ports), d.ports()
    assert qemu_ipdk_objects(guest) == sorted(expect_qemu)


def test_plug_ping_delete_replug(guest, gnet, workdir):
    d, h, g = gnet
    sock = sock_path(workdir, "net0")
    dev_set(g, "net0", device_type="virtio-net", host_name="vm1", socket_path=sock,
            mac=GUEST_MAC, queues=1)
    dev = devices(g)["net0"]
    assert dev["state/state"] == "plugged" and dev["state/pci-bus"] == "rp0", dev
    assert dev["config/mac"] == GUEST_MAC and dev["config/socket-path"] == sock, dev
    pid = dev["state/tdi-portin-id"]
    assert pid == 1 and dev["state/port-name"] == "net0", dev
    # The device is a VHOST port of the port model.
    port = g.port("net0")
    assert port["config/port-type"] == "VHOST" and port["config/host-name"] == "vm1"
    assert d.ports()["net0"]["id"] == pid
    assert qemu_ipdk_objects(guest) == ["ipdk-chr-net0", "ipdk-net0"]
    host = g.get("/virtual-devices/host[name=vm1]/state/devices")
    assert list(host.values()) == [1]

    route_to(d, GUEST_MAC, pid)
    guest_up(guest, guest.wait_netdev(GUEST_MAC), GUEST_MAC)
    assert guest_ping(guest, HOST_IP) == 3
    assert h.ping(GUEST_IP, count=3) == 3

    dev_delete(g, "net0")
    assert guest.wait_netdev(GUEST_MAC, present=False) is None
    assert devices(g) == {}
    nothing_left(d, g, guest)
    assert not os.path.exists(sock), "vhost socket left behind"
    assert h.ping(GUEST_IP, count=2) == 0

    # Again with gnmi-ctl and IPDK's syntax: a VHOST port for a known VM is
    # plugged into it (QEMU picks the MAC).
    before = guest_netdevs(guest)
    ctl(g, "set", "device:virtual-device,name:net_vhost0,host-name:vm1,device-type:VIRTIO_NET,"
        "queues:1,socket-path:%s,port-type:LINK" % sock)
    assert wait_until(lambda: set(guest_netdevs(guest)) - set(before), timeout=30)
    (new_dev,) = set(guest_netdevs(guest)) - set(before)
    mac = guest_netdevs(guest)[new_dev]
    out = ctl(g, "get", "/virtual-devices/virtual-device[name=net_vhost0]/state").stdout
    assert "state/state = plugged" in out and "tdi-portin-id = 1" in out, out
    h.neigh(GUEST_IP, mac)
    route_to(d, mac, 1)
    guest_up(guest, new_dev, mac)
    assert guest_ping(guest, HOST_IP) == 3
    assert h.ping(GUEST_IP, count=3) == 3

    ctl(g, "del", "device:virtual-device,name:net_vhost0")
    assert guest.wait_netdev(mac, present=False) is None
    assert devices(g) == {}
    nothing_left(d, g, guest)
    h.neigh(GUEST_IP, GUEST_MAC)


def test_vm_not_running(gnet, guest, workdir):
    d, h, g = gnet
    stale = os.path.join(workdir, "gv-dead-qmp.sock")   # what an exited VM leaves
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(stale)
    s.close()
    # Hosts over gNMI, one with gnmi-ctl.
    g.set_rpc(pb.SetRequest(update=[pb.Update(
        path=path("/virtual-devices/host[name=vmdead]/config/qmp-socket"),
        val=pb.TypedValue(string_val=stale))]), timeout=10)
    ctl(g, "set", "device:host,name:vmgone,qmp-socket:%s" % os.path.join(workdir, "no.sock"))
    try:
        for host in ("vmdead", "vmgone"):
            sock = sock_path(workdir, "netx")
            code, msg = dev_set_error(g, "netx", device_type="virtio-net", host_name=host,
                                      socket_path=sock)
            assert code == grpc.StatusCode.UNAVAILABLE, code
            assert "device netx" in msg and "no VM is running" in msg, msg
            assert devices(g) == {} and not os.path.exists(sock)
            nothing_left(d, g, guest)
            # The same through /interfaces: the port is not kept either.
            r = ctl(g, "set", "device:virtual-device,name:netx,host-name:%s,device-type:"
                    "VIRTIO_NET,queues:1,socket-path:%s,port-type:LINK" % (host, sock),
                    check=False)
            assert r.returncode == 1 and "no VM is running" in r.stderr, r.stderr
            nothing_left(d, g, guest)
    finally:
        ctl(g, "del", "device:host,name:vmdead")
        ctl(g, "del", "device:host,name:vmgone")
    assert "vmdead" not in str(g.get("/virtual-devices/host"))


def test_duplicates_and_sockets_in_use(gnet, guest, workdir):
    d, h, g = gnet
    sock = sock_path(workdir, "net0")
    dev_set(g, "net0", device_type="virtio-net", host_name="vm1", socket_path=sock,
            mac=GUEST_MAC)
    objs = ["ipdk-chr-net0", "ipdk-net0"]
    busy = sock_path(workdir, "busy")
    other = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    other.bind(busy)
    other.listen(1)
    try:
        # The same Set again is fine; a different one under the same name is not.
        dev_set(g, "net0", device_type="VIRTIO_NET", host_name="vm1", socket_path=sock)
        code, msg = dev_set_error(g, "net0", device_type="virtio-net", host_name="vm1",
                                  socket_path=sock_path(workdir, "other"))
        assert code == grpc.StatusCode.FAILED_PRECONDITION, (code, msg)
        assert "device net0 exists: socket-path cannot be changed" in msg, msg
        # A name a plain port has.
        code, msg = dev_set_error(g, "h1", device_type="virtio-net", host_name="vm1",
                                  socket_path=sock_path(workdir, "h1"))
        assert code == grpc.StatusCode.ALREADY_EXISTS and "port h1" in msg, msg
        # net0's socket under another name, then one another process listens on.
        code, msg = dev_set_error(g, "net1", device_type="virtio-net", host_name="vm1",
                                  socket_path=sock)
        assert code == grpc.StatusCode.ALREADY_EXISTS, (code, msg)
        assert "socket-path %s is in use by device net0" % sock in msg, msg
        code, msg = dev_set_error(g, "net1", device_type="virtio-net", host_name="vm1",
                                  socket_path=busy)
        assert code == grpc.StatusCode.ALREADY_EXISTS and "another process" in msg, msg
        assert list(devices(g)) == ["net0"]
        nothing_left(d, g, guest, ("h1", "net0"), objs)
        # A host in use cannot go.
        r = ctl(g, "del", "device:host,name:vm1", check=False)
        assert r.returncode == 1 and "host vm1: device net0 still uses it" in r.stderr, r.stderr
    finally:
        other.close()
        dev_delete(g, "net0")
    guest.wait_netdev(GUEST_MAC, present=False)
    nothing_left(d, g, guest)


def test_unknown_host_bad_keys_and_half_plugs(gnet, guest, workdir):
    d, h, g = gnet
    sock = sock_path(workdir, "net9")
    code, msg = dev_set_error(g, "net9", device_type="virtio-net", host_name="nosuchvm",
                              socket_path=sock)
    assert code == grpc.StatusCode.NOT_FOUND, (code, msg)
    assert "device net9: unknown host-name nosuchvm (configured: vm1)" in msg, msg
    code, msg = dev_set_error(g, "net9", device_type="virtio-net", host_name="vm1",
                              socket_path=sock, colour="blue")
    assert code == grpc.StatusCode.INVALID_ARGUMENT and 'unknown key "colour"' in msg, msg
    code, msg = dev_set_error(g, "net9", device_type="virtio-net", host_name="vm1",
                              socket_path=sock, mac="02:00:00:00:01")
    assert "device net9" in msg and "mac" in msg, msg
    code, msg = dev_set_error(g, "net9", device_type="virtio-net", host_name="vm1",
                              socket_path=sock, physical_id=99)
    assert code == grpc.StatusCode.OUT_OF_RANGE and "slots 0 to 3" in msg, (code, msg)
    code, msg = dev_set_error(g, "blk0", device_type="virtio-blk", host_name="vm1",
                              socket_path=sock)
    assert code == grpc.StatusCode.UNIMPLEMENTED and "storaged" in msg, (code, msg)
    # QEMU refuses the device_add after chardev and netdev were made.
    code, msg = dev_set_error(g, "net9", device_type="virtio-net", host_name="vm1",
                              socket_path=sock, pci_bus="nosuchbus")
    assert "device net9" in msg and "device_add" in msg, msg
    assert devices(g) == {} and not os.path.exists(sock)
    nothing_left(d, g, guest)
    # The VF/PF association is recorded and said to be not actionable.
    dev_set(g, "net9", device_type="virtio-net", host_name="vm1", socket_path=sock,
            mac=GUEST_MAC, physical_id=2, pf_name="pf0", vf_index=3)
    try:
        dev = devices(g)["net9"]
        assert dev["state/pci-bus"] == "rp2" and dev["config/pf-name"] == "pf0", dev
        assert "not actionable" in dev["state/note"], dev
        guest.wait_netdev(GUEST_MAC)
    finally:
        dev_delete(g, "net9")
    guest.wait_netdev(GUEST_MAC, present=False)
    nothing_left(d, g, guest)
