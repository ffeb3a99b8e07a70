"""gNMI on infrap4d: the port model over real gRPC clients (python3-grpcio and
gnmi-ctl) and real ports (TAP netdevs, veth LINK ports in namespaces,
vhost-user sockets).

Covered: Capabilities; TAP, LINK and VHOST ports created, read back and removed
(typed and JSON values, IPDK's gnmi-ctl syntax); ports added while the
pipeline runs carry traffic with stable port ids; counters that move with
traffic; Subscribe ONCE, POLL, STREAM ON_CHANGE (a port add and delete) and
SAMPLE (counters); bad input (unknown, missing and forbidden keys, duplicate
names, socket paths in use, read-only leaves, full port slots, a Set that is
half bad) answered with errors naming the key and nothing half-created.
"""
import json
import os
import re
import socket
import subprocess
import threading
import time
import queue

import grpc
import pytest
from scapy.layers.inet import IP, UDP
from scapy.layers.l2 import Ether

import protogen
from ipdk_net import BUILD, SRC, TOKEN, unique, wait_until

GNMI_CTL = os.path.join(BUILD, "tools", "gnmi-ctl")


protogen.generate(["gnmi/gnmi.proto", "gnmi/gnmi_ext.proto"], "gnmi.proto", "ipdk-gnmi-py-")
from gnmi import gnmi_pb2 as pb  # noqa: E402


# ---- client helpers ---------------------------------------------------------

def path(text):
    """A gnmi.Path from "/a/b[k=v]/c" (no escapes needed in these tests)."""
    p = pb.Path()
    for part in [e for e in re.split(r"/(?![^\[]*\])", text) if e]:
        m = re.match(r"([^\[]+)(.*)", part)
        el = p.elem.add(name=m.group(1))
        for k, v in re.findall(r"\[([^=\]]+)=([^\]]*)\]", m.group(2)):
            el.key[k] = v
    return p


def path_text(p, prefix=None):
    out = ""
    for e in list(prefix.elem if prefix else []) + list(p.elem):
        out += "/" + e.name + "".join("[%s=%s]" % (k, e.key[k]) for k in sorted(e.key))
    return out or "/"


def value(tv):
    kind = tv.WhichOneof("value")
    return getattr(tv, kind) if kind else None


class Gnmi:
    def __init__(self, port):
        self.channel = grpc.insecure_channel("127.0.0.1:%d" % port)
        u = lambda name, req, rep: self.channel.unary_unary(
            "/gnmi.gNMI/" + name, request_serializer=req.SerializeToString,
            response_deserializer=rep.FromString)
        self.caps = u("Capabilities", pb.CapabilityRequest, pb.CapabilityResponse)
        self.get_rpc = u("Get", pb.GetRequest, pb.GetResponse)
        self.set_rpc = u("Set", pb.SetRequest, pb.SetResponse)
        self.subscribe = self.channel.stream_stream(
            "/gnmi.gNMI/Subscribe", request_serializer=pb.SubscribeRequest.SerializeToString,
            response_deserializer=pb.SubscribeResponse.FromString)

    def get(self, text, encoding=pb.PROTO):
        """{path text: value} of every leaf under text."""
        rep = self.get_rpc(pb.GetRequest(path=[path(text)], encoding=encoding), timeout=10)
        return {path_text(u.path, n.prefix): value(u.val)
                for n in rep.notification for u in n.update}

    def port(self, name):
        """{"config/KEY" or "state/...": value} of one port."""
        base = "/interfaces/virtual-interface[name=%s]/" % name
        return {k[len(base):]: v for k, v in self.get(base).items()}

    def create(self, name, **keys):
        """One Set with an update per key (numbers as uint, the rest as strings)."""
        ups = []
        for k, v in keys.items():
            k = k.replace("_", "-")
            tv = pb.TypedValue(uint_val=v) if isinstance(v, int) else pb.TypedValue(string_val=v)
            ups.append(pb.Update(path=path("/interfaces/virtual-interface[name=%s]/config/%s"
                                           % (name, k)), val=tv))
        return self.set_rpc(pb.SetRequest(update=ups), timeout=30)

    def delete(self, name):
        return self.set_rpc(pb.SetRequest(
            delete=[path("/interfaces/virtual-interface[name=%s]" % name)]), timeout=30)

    def set_error(self, req):
        with pytest.raises(grpc.RpcError) as ei:
            self.set_rpc(req, timeout=30)
        return ei.value.code(), ei.value.details()

    def create_error(self, name, **keys):
        with pytest.raises(grpc.RpcError) as ei:
            self.create(name, **keys)
        return ei.value.code(), ei.value.details()

    def names(self):
        return sorted({re.search(r"name=([^\]]+)", k).group(1)
                       for k in self.get("/interfaces/virtual-interface[name=*]/state/tdi-portin-id")})

    def close(self):
        self.channel.close()


class Stream:
    """A Subscribe call read by a thread into a queue."""

    def __init__(self, g, sub_list, extra=()):
        self.requests = queue.Queue()
        self.requests.put(pb.SubscribeRequest(subscribe=sub_list))
        for r in extra:
            self.requests.put(r)
        self.got = queue.Queue()
        self.call = g.subscribe(iter(self.requests.get, None))
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self):
        try:
            for rep in self.call:
                self.got.put(rep)
        except grpc.RpcError as e:
            self.got.put(e)
        self.got.put(None)

    def next(self, timeout=10.0):
        item = self.got.get(timeout=timeout)
        if isinstance(item, grpc.RpcError):
            raise item
        return item

    def until(self, cond, timeout=10.0):
        """Reads responses until cond(update dict, deletes, rep) is true; returns them all."""
        end = time.monotonic() + timeout
        seen = []
        while time.monotonic() < end:
            try:
                rep = self.next(timeout=max(0.05, end - time.monotonic()))
            except queue.Empty:
                break
            if rep is None:
                break
            seen.append(rep)
            ups, dels = updates(rep)
            if cond(ups, dels, rep):
                return seen
        raise AssertionError("condition not met; got %r" % seen)

    def poll(self):
        self.requests.put(pb.SubscribeRequest(poll=pb.Poll()))

    def cancel(self):
        self.call.cancel()
        self.requests.put(None)


def updates(rep):
    if rep.WhichOneof("response") != "update":
        return {}, []
    n = rep.update
    return ({path_text(u.path, n.prefix): value(u.val) for u in n.update},
            [path_text(d, n.prefix) for d in n.delete])


# ---- daemon ---------------------------------------------------------------------

GNMI_ARGS = ["--no-p4rt", "--grpc-security", "insecure", "--gnmi-listen", "127.0.0.1:0"]


def gnmi_port(d, timeout=10.0):
    found = wait_until(lambda: re.search(r"gNMI listening on port (\d+)", d.log_text()),
                       timeout=timeout)
    assert found, "no gNMI port in the log:\n" + d.log_text()
    return int(found.group(1))


@pytest.fixture
def gnmi_d(infrap4d):
    """Factory: starts infrap4d with gNMI and returns (daemon, client)."""
    clients = []

    def start(ports=(), entries=(), args=()):
        d = infrap4d(ports=ports, entries=entries, args=GNMI_ARGS + list(args))
        g = Gnmi(gnmi_port(d))
        g.port_num = gnmi_port(d)
        clients.append(g)
        return d, g

    yield start
    for g in clients:
        g.close()


def ctl(g, *args, check=True, timeout=30):
    r = subprocess.run([GNMI_CTL, "-g", "127.0.0.1:%d" % g.port_num, "--grpc-security", "insecure"] +
                       list(args), capture_output=True, text=True, timeout=timeout)
    if check:
        assert r.returncode == 0, "gnmi-ctl %s failed (%d): %s%s" % (
            " ".join(args), r.returncode, r.stdout, r.stderr)
    return r


@pytest.fixture
def gd(gnmi_d):
    """infrap4d with one TAP port from the command line, and a client."""
    return gnmi_d(ports=["name=cfgtap,type=tap,netdev=%s" % unique("iptc")])


# ---- tests -------------------------------------------------------------------------

def test_capabilities(gd):
    d, g = gd
    rep = g.caps(pb.CapabilityRequest(), timeout=10)
    assert rep.gNMI_version == "0.7.0"
    assert [m.name for m in rep.supported_models] == ["ipdk-virtual-interfaces",
                                                     "ipdk-virtual-devices"]
    assert set(rep.supported_encodings) >= {pb.JSON, pb.JSON_IETF, pb.PROTO}
    out = ctl(g, "cap").stdout
    assert "gNMI version: 0.7.0" in out and "ipdk-virtual-interfaces" in out


def test_config_port_is_listed(gd):
    d, g = gd
    p = g.port("cfgtap")
    assert p["config/port-type"] == "TAP"
    assert p["state/tdi-portin-id"] == 0 and p["state/tdi-portout-id"] == 0
    assert p["state/backend"] == "fd"


def test_tap_port_create_read_delete(gd):
    d, g = gd
    name = unique("gtap")
    g.create(name, port_type="TAP", mtu=1400, packet_dir="host", mempool_name="MEMPOOL0")
    assert os.path.exists("/sys/class/net/%s" % name)
    with open("/sys/class/net/%s/mtu" % name) as f:
        assert f.read().strip() == "1400"
    p = g.port(name)
    assert p["config/port-type"] == "TAP" and p["config/mtu"] == 1400
    assert p["config/packet-dir"] == "host" and p["config/mempool-name"] == "MEMPOOL0"
    assert p["state/tdi-portin-id"] == 1, p          # the first free slot
    assert d.ports()[name]["id"] == 1
    # Setting the same keys again changes nothing and is fine.
    g.create(name, port_type="TAP", mtu=1400)
    g.delete(name)
    assert not os.path.exists("/sys/class/net/%s" % name)
    assert name not in g.names()
    # Deleting what does not exist is not an error in gNMI.
    g.delete(name)


def test_link_port_from_netdev(gd, hosts):
    d, g = gd
    h = hosts.add("02:00:00:00:00:01", "10.0.0.1")
    g.create("lnk", port_type="LINK", netdev=h.link)
    p = g.port("lnk")
    assert p["config/netdev"] == h.link and p["state/netdev"] == h.link
    assert p["state/backend"] in ("af_xdp", "af_packet")
    code, msg = g.create_error("lnk2", port_type="LINK")
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "pci-bdf" in msg and "netdev" in msg
    code, msg = g.create_error("lnk3", port_type="LINK", pci_bdf="0000:ff:1f.7")
    assert code == grpc.StatusCode.NOT_FOUND or code == grpc.StatusCode.INTERNAL, (code, msg)
    assert "pci-bdf 0000:ff:1f.7" in msg
    code, msg = g.create_error("lnk4", port_type="LINK", pci_bdf="zz")
    assert "not a PCI address" in msg
    assert sorted(g.names()) == ["cfgtap", "lnk"]


def test_vhost_port_python(gd, workdir):
    d, g = gd
    sock = os.path.join(workdir, "vh-%s.sock" % TOKEN)
    g.create("vh0", port_type="VHOST", device_type="VIRTIO_NET", queues=1,
             socket_path=sock, host_name="host1")
    assert os.path.exists(sock)
    p = g.port("vh0")
    assert p["config/socket-path"] == sock and p["config/host-name"] == "host1"
    assert p["config/queues"] == 1 and p["state/backend"] == "vhost-user"
    g.delete("vh0")
    assert not os.path.exists(sock), "vhost socket left behind"


def test_gnmi_ctl_ipdk_syntax(gd, workdir):
    d, g = gd
    sock = os.path.join(workdir, "vhost-user-%s-0" % TOKEN)
    ctl(g, "set", "device:virtual-device,name:net_vhost0,host-name:host1,"
        "device-type:VIRTIO_NET,queues:1,socket-path:%s,port-type:LINK" % sock)
    assert os.path.exists(sock)
    out = ctl(g, "get", "device:virtual-device,name:net_vhost0,tdi-portin-id").stdout
    assert re.search(r"tdi-portin-id = 1$", out.strip()), out
    js = ctl(g, "--json", "get", "device:virtual-device,name:net_vhost0,socket-path").stdout
    assert '"%s"' % sock in js and js.strip().startswith("{")
    # The whole port, and a dump of all ports.
    out = ctl(g, "get", "device:virtual-device").stdout
    assert "[name=net_vhost0]/config/device-type = VIRTIO_NET" in out
    assert "[name=cfgtap]/config/port-type = TAP" in out
    r = ctl(g, "set", "device:virtual-device,name:net_vhost1,host-name:host1,"
            "device-type:VIRTIO_NET,queues:1,socket-path:%s,port-type:LINK" % sock, check=False)
    assert r.returncode == 1 and "socket-path %s is already used by port net_vhost0" % sock \
        in r.stderr, r.stderr
    ctl(g, "del", "device:virtual-device,name:net_vhost0")
    assert not os.path.exists(sock)
    r = ctl(g, "get", "device:virtual-device,name:net_vhost0", check=False)
    assert r.returncode == 1 and "NOT_FOUND" in r.stderr
    r = ctl(g, "set", "device:virtual-device,name:x,port-type", check=False)
    assert r.returncode == 2 and "has no value" in r.stderr


def test_json_set_and_get(gd):
    d, g = gd
    name = unique("gjs")
    g.set_rpc(pb.SetRequest(update=[pb.Update(
        path=path("/interfaces/virtual-interface[name=%s]/config" % name),
        val=pb.TypedValue(json_ietf_val=b'{"port-type": "TAP", "mtu": 1500}'))]), timeout=30)
    rep = g.get_rpc(pb.GetRequest(path=[path("/interfaces/virtual-interface[name=%s]" % name)],
                                  encoding=pb.JSON_IETF), timeout=10)
    doc = json.loads(rep.notification[0].update[0].val.json_ietf_val)
    assert doc["name"] == name and doc["config"] == {"port-type": "TAP", "mtu": 1500}
    assert doc["state"]["tdi-portin-id"] == 1 and "in-octets" in doc["state"]["counters"]
    # A list in JSON under /interfaces, keyed by "name", replaces that port.
    body = ('{"virtual-interface": [{"name": "%s", "config": {"port-type": "TAP", '
            '"mtu": 1300}}]}' % name).encode()
    g.set_rpc(pb.SetRequest(replace=[pb.Update(
        path=path("/interfaces"), val=pb.TypedValue(json_val=body))]),
        timeout=30)
    assert g.port(name)["config/mtu"] == 1300
    # That replace named only this port: the configured one is gone too.
    assert g.names() == [name]
    code, msg = g.set_error(pb.SetRequest(update=[pb.Update(
        path=path("/interfaces/virtual-interface[name=x]/config"),
        val=pb.TypedValue(json_val=b'{"port-type": '))]))
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "JSON value is not valid" in msg


def l2_net(g, hosts):
    """Two hosts whose LINK ports are added over gNMI while the pipeline runs."""
    h1, h2 = hosts.l2(2)
    g.create("h1", port_type="LINK", netdev=h1.link)
    g.create("h2", port_type="LINK", netdev=h2.link)
    ids = {n: g.port(n)["state/tdi-portin-id"] for n in ("h1", "h2")}
    return h1, h2, ids


def test_port_added_while_running_carries_traffic(gnmi_d, hosts):
    d, g = gnmi_d()
    h1, h2, ids = l2_net(g, hosts)
    assert ids == {"h1": 0, "h2": 1}
    assert h1.ping(h2.ip, count=2) == 0, "forwarding without entries"
    d.ctl("add", "l2_fwd", "match", h1.mac, "action", "l2_forward", "port", ids["h1"])
    d.ctl("add", "l2_fwd", "match", h2.mac, "action", "l2_forward", "port", ids["h2"])
    assert h1.ping(h2.ip, count=3) >= 2
    c1 = g.port("h1")
    assert c1["state/counters/in-unicast-pkts"] >= 2 and c1["state/counters/in-octets"] >= 2 * 98
    assert c1["state/counters/out-unicast-pkts"] >= 2
    # Broadcasts are counted as such (and dropped: no entry for ff:ff:...).
    before = g.port("h1")["state/counters/in-broadcast-pkts"]
    h1.send([Ether(src=h1.mac, dst="ff:ff:ff:ff:ff:ff") / IP(src=h1.ip, dst="10.0.0.255") /
             UDP(sport=1, dport=2) / b"bcast"] * 3)
    assert wait_until(lambda: g.port("h1")["state/counters/in-broadcast-pkts"] >= before + 3)
    # Remove h2 and add it back: it gets its old id (the lowest free slot) and
    # traffic works again without touching the entries.
    g.delete("h2")
    assert h1.ping(h2.ip, count=2) == 0
    g.create("h2", port_type="LINK", netdev=h2.link)
    assert g.port("h2")["state/tdi-portin-id"] == ids["h2"]
    assert g.port("h2")["state/counters/in-octets"] < 1000, "counters start again"
    assert h1.ping(h2.ip, count=3) >= 2


def test_subscribe_once_and_poll(gd):
    d, g = gd
    sl = pb.SubscriptionList(mode=pb.SubscriptionList.ONCE, encoding=pb.PROTO,
                             subscription=[pb.Subscription(path=path(
                                 "/interfaces/virtual-interface[name=*]/config"))])
    reps = list(g.subscribe(iter([pb.SubscribeRequest(subscribe=sl)]), timeout=10))
    assert reps[-1].sync_response
    ups, _ = updates(reps[0])
    assert ups["/interfaces/virtual-interface[name=cfgtap]/config/port-type"] == "TAP"
    sl.mode = pb.SubscriptionList.POLL
    s = Stream(g, sl)
    try:
        assert s.next().WhichOneof("response") == "update"
        assert s.next().sync_response
        g.create("polled", port_type="TAP")
        s.poll()
        ups, _ = updates(s.next())
        assert ups.get("/interfaces/virtual-interface[name=polled]/config/port-type") == "TAP"
        assert s.next().sync_response
    finally:
        s.cancel()


def test_subscribe_on_change_port_add_and_delete(gd):
    d, g = gd
    name = unique("gsub")
    sl = pb.SubscriptionList(mode=pb.SubscriptionList.STREAM, encoding=pb.PROTO,
                             subscription=[pb.Subscription(
                                 path=path("/interfaces/virtual-interface[name=*]/config"),
                                 mode=pb.ON_CHANGE)])
    s = Stream(g, sl)
    try:
        s.until(lambda u, dl, rep: rep.sync_response)
        g.create(name, port_type="TAP", mtu=1280)
        key = "/interfaces/virtual-interface[name=%s]/config/" % name
        got = s.until(lambda u, dl, rep: u.get(key + "port-type") == "TAP")
        ups = updates(got[-1])[0]
        assert ups[key + "mtu"] == 1280
        assert not any("cfgtap" in k for k in ups), "unchanged leaves were sent again"
        g.delete(name)
        s.until(lambda u, dl, rep: key + "port-type" in dl and key + "mtu" in dl)
    finally:
        s.cancel()


def test_subscribe_sample_counters(gnmi_d, hosts):
    d, g = gnmi_d()
    h1, h2, ids = l2_net(g, hosts)
    d.ctl("add", "l2_fwd", "match", h2.mac, "action", "l2_forward", "port", ids["h2"])
    leaf = "/interfaces/virtual-interface[name=h1]/state/counters/in-octets"
    sl = pb.SubscriptionList(mode=pb.SubscriptionList.STREAM, encoding=pb.PROTO,
                             subscription=[pb.Subscription(path=path(leaf), mode=pb.SAMPLE,
                                                           sample_interval=100_000_000)])
    s = Stream(g, sl)
    try:
        first = s.until(lambda u, dl, rep: leaf in u)
        start = updates(first[-1])[0][leaf]
        # Samples keep coming even when nothing changes...
        s.until(lambda u, dl, rep: u.get(leaf) == start)
        h1.send([Ether(src=h1.mac, dst=h2.mac) / IP(src=h1.ip, dst=h2.ip) /
                 UDP(sport=1, dport=2) / (b"x" * 100)] * 5)
        # ...and show the traffic.
        s.until(lambda u, dl, rep: u.get(leaf, 0) >= start + 5 * 142)
    finally:
        s.cancel()


def test_gnmi_ctl_sub_onchange_sees_port_add(gd):
    d, g = gd
    name = unique("gcs")
    p = subprocess.Popen([GNMI_CTL, "-g", "127.0.0.1:%d" % g.port_num, "--grpc-security",
                          "insecure", "-n", "2", "-t", "20", "sub-onchange",
                          "device:virtual-device,port-type"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        # The first notification is the current state; then the add.
        time.sleep(1.0)
        g.create(name, port_type="TAP")
        out, err = p.communicate(timeout=20)
    finally:
        if p.poll() is None:
            p.kill()
    assert p.returncode == 0, err
    assert "update /interfaces/virtual-interface[name=cfgtap]/config/port-type = TAP" in out
    assert "sync" in out
    assert "update /interfaces/virtual-interface[name=%s]/config/port-type = TAP" % name in out


def test_gnmi_ctl_sub_sample(gd):
    d, g = gd
    r = ctl(g, "-n", "3", "-i", "50", "--json", "sub-sample",
            "device:virtual-device,name:cfgtap,tdi-portin-id")
    assert r.stdout.count('"/interfaces/virtual-interface[name=cfgtap]/state/tdi-portin-id": 0') \
        == 3, r.stdout


def test_bad_input(gd, workdir):
    d, g = gd
    before = g.names()
    INVALID = grpc.StatusCode.INVALID_ARGUMENT
    code, msg = g.create_error("b1", port_type="TAP", colour="red")
    assert code == INVALID and 'unknown key "colour"' in msg
    code, msg = g.create_error("b1", mtu=1500)
    assert code == INVALID and "port b1: port-type is required" in msg
    code, msg = g.create_error("b1", port_type="VHOST", socket_path="/tmp/x", queues=1)
    assert code == INVALID and "host-name is required for a VHOST port" in msg
    code, msg = g.create_error("b1", port_type="TAP", socket_path="/tmp/x")
    assert code == INVALID and "socket-path is not allowed for a TAP port" in msg
    code, msg = g.create_error("b1", port_type="FANCY")
    assert code == INVALID and 'port-type "FANCY" is unknown' in msg
    code, msg = g.create_error("b1", port_type="TAP", mtu=20)
    assert code == INVALID and "mtu 20 is out of range" in msg
    code, msg = g.create_error("b1", port_type="TAP", mtu="big")
    assert code == INVALID and 'mtu "big" is not a number' in msg
    code, msg = g.create_error("b1", port_type="TAP", packet_dir="sideways")
    assert code == INVALID and "packet-dir" in msg
    code, msg = g.create_error("b1", port_type="TAP", pipeline_name="nope")
    assert code == grpc.StatusCode.NOT_FOUND and 'pipeline-name "nope"' in msg
    code, msg = g.create_error("b1", port_type="TAP", control_port="nope")
    assert "control-port nope: no such port" in msg
    code, msg = g.create_error("b1", port_type="VHOST", socket_path="/tmp/x", queues=1,
                               host_name="h", device_type="VIRTIO_BLK")
    assert 'device-type "VIRTIO_BLK" is not supported' in msg
    # A port of that name with other keys: refused, the port unchanged.
    code, msg = g.create_error("cfgtap", port_type="TAP", mtu=1300)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "mtu cannot be changed" in msg
    # Read-only leaves and paths outside the model.
    code, msg = g.set_error(pb.SetRequest(update=[pb.Update(
        path=path("/interfaces/virtual-interface[name=cfgtap]/state/tdi-portin-id"),
        val=pb.TypedValue(uint_val=5))]))
    assert code == grpc.StatusCode.PERMISSION_DENIED and "tdi-portin-id is read-only" in msg
    code, msg = g.set_error(pb.SetRequest(update=[pb.Update(
        path=path("/routing/x"), val=pb.TypedValue(uint_val=5))]))
    assert code == grpc.StatusCode.NOT_FOUND and "no model serves /routing" in msg
    code, msg = g.set_error(pb.SetRequest(delete=[
        path("/interfaces/virtual-interface[name=cfgtap]/config/port-type")]))
    assert "a single key or state cannot be deleted" in msg
    code, msg = g.set_error(pb.SetRequest())
    assert code == INVALID and "no operation" in msg
    with pytest.raises(grpc.RpcError) as ei:
        g.get("/interfaces/virtual-interface[name=nosuch]")
    assert ei.value.code() == grpc.StatusCode.NOT_FOUND
    # A socket path some other process listens on.
    sock_path = os.path.join(workdir, "busy-%s.sock" % TOKEN)
    busy = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    busy.bind(sock_path)
    busy.listen(1)
    try:
        code, msg = g.create_error("b2", port_type="VHOST", socket_path=sock_path, queues=1,
                                   host_name="h")
        assert code == grpc.StatusCode.ALREADY_EXISTS and "in use" in msg, (code, msg)
    finally:
        busy.close()
    # One Set, one good port and one bad: neither is made.
    tap = unique("gok")
    code, msg = g.set_error(pb.SetRequest(update=[
        pb.Update(path=path("/interfaces/virtual-interface[name=%s]/config/port-type" % tap),
                  val=pb.TypedValue(string_val="TAP")),
        pb.Update(path=path("/interfaces/virtual-interface[name=b3]/config/port-type"),
                  val=pb.TypedValue(string_val="VHOST"))]))
    assert "port b3" in msg
    # A good port whose creation fails in the kernel (netdev name taken by the
    # configured TAP) after another was created: that one is removed again.
    code, msg = g.set_error(pb.SetRequest(update=[
        pb.Update(path=path("/interfaces/virtual-interface[name=%s]/config/port-type" % tap),
                  val=pb.TypedValue(string_val="TAP")),
        pb.Update(path=path("/interfaces/virtual-interface[name=%s]/config/port-type"
                            % d.ports()["cfgtap"]["netdev"]),
                  val=pb.TypedValue(string_val="TAP"))]))
    assert "already exists" in msg, msg
    assert not os.path.exists("/sys/class/net/%s" % tap), "half-done Set left a TAP behind"
    assert g.names() == before
    assert d.alive()


def test_port_slots_full(gnmi_d):
    d, g = gnmi_d(ports=["name=cfgtap,type=tap,netdev=%s" % unique("iptc")],
                  args=["--port-slots", "2"])
    g.create("s1", port_type="TAP")
    code, msg = g.create_error("s2", port_type="TAP")
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "all 2 port slots are taken" in msg
    assert "s2" not in g.names()
    assert "port-slots 2" in d.ctl("info")
