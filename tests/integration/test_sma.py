"""The Storage Management Agent without a VM (storaged --mode ipu without
--qmp serves devices but plugs nothing): sma-ctl against a target storaged's
control socket (subsystems, RAM namespaces) and the SMA (virtio-blk devices
on remote NVMe/TCP volumes and local ones), --json output, exit codes and
refusals; the state file across a restart; mutual TLS by default (a client
without a certificate from the CA is refused) and insecure only when asked.
Device I/O is covered by tests/vm/test_storage_ipu.py and bench_vblk."""
import json
import os
import socket
import subprocess
import time
import uuid

import grpc
import pytest

from ipu_storaged import SMA_CTL, SRC, IpuStoraged, SmaClient, local_volume, pb, sma_ctl
from storaged import Storaged

NQN = "nqn.2024-01.io.ipdk:sma-test"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("sma"))
    t = Storaged(d, name="target")
    ipu = IpuStoraged(d, args=["--max-devices", "4", "--connect-timeout", "2000"])
    yield d, t, ipu
    ok = t.alive() and ipu.alive()
    t.stop()
    ipu.stop()
    assert ok, "a storaged died:\n" + t.log_text()[-2000:] + ipu.log_text()[-2000:]


def ctl(t, ipu, *args, rc=0):
    return sma_ctl(t, ipu, *args, rc=rc)


def test_sma_ctl_round_trip(env):
    d, t, ipu = env
    assert json.loads(ctl(t, ipu, "--json", "create-subsystem", NQN, "--any-host")) == {"nqn": NQN}
    rd = json.loads(ctl(t, ipu, "create-ramdrive", NQN, 16, "--json"))
    assert rd["nqn"] == NQN and rd["nsid"] == 1 and uuid.UUID(rd["volume"])
    text = ctl(t, ipu, "create-ramdrive", NQN, 8, "--name", "second")
    assert text.startswith("volume ") and "nsid 2" in text and "bdev second" in text
    subs = json.loads(ctl(t, ipu, "--json", "list-subsystems"))["subsystems"]
    assert [n["nsid"] for n in subs[0]["namespaces"]] == [1, 2]

    out = ctl(t, ipu, "--json", "create-virtio-blk", "--volume", rd["volume"],
              "--physical-id", 0, "--nqn", NQN, "--discovery", "127.0.0.1:%d" % t.port)
    assert json.loads(out) == {"handle": "virtio_blk:vblk0"}
    # the same again is the same device
    assert ctl(t, ipu, "create-virtio-blk", "--volume", rd["volume"], "--physical-id", 0,
               "--nqn", NQN, "--discovery", "127.0.0.1:%d" % t.port).strip() == "virtio_blk:vblk0"
    dev = ipu.devices()[0]
    assert dev["remote"] and dev["volume"] == rd["volume"] and not dev["connected"]
    assert os.path.exists(dev["socket"])
    caps = json.loads(ctl(t, ipu, "--json", "get-qos-capabilities", "virtio_blk"))
    assert caps["max_device_caps"]["rd_iops"] is True   # test_sma_qos.py has the rest
    ctl(t, ipu, "set-qos", "virtio_blk:vblk0", "rd_iops=0")
    err = ctl(t, ipu, "set-qos", "virtio_blk:vblk0", "wr_bandwidth=99999999999", rc=1)
    assert "INVALID_ARGUMENT" in err and "wr_bandwidth" in err
    ctl(t, ipu, "attach-volume", "virtio_blk:vblk0", "--volume", rd["volume"])
    err = ctl(t, ipu, "detach-volume", "virtio_blk:vblk0", "--volume", rd["volume"], rc=1)
    assert "FAILED_PRECONDITION" in err
    # the target keeps the namespace while the IPU uses it: removing the
    # subsystem is the target's call, the device stays listed
    assert json.loads(ctl(t, ipu, "--json", "delete-virtio-blk", "virtio_blk:vblk0")) == \
        {"handle": "virtio_blk:vblk0"}
    assert ipu.devices() == [] and not os.path.exists(dev["socket"])
    ctl(t, ipu, "delete-ramdrive", NQN, 1)
    ctl(t, ipu, "delete-ramdrive", NQN, 2)
    ctl(t, ipu, "delete-subsystem", NQN)
    assert ctl(t, ipu, "list-subsystems") == ""


def test_sma_ctl_refusals(env):
    d, t, ipu = env
    err = ctl(t, ipu, "create-ramdrive", "nqn.2024-01.io.ipdk:absent", 8, rc=1)
    assert "error: target:" in err and "absent" in err
    assert "rd-" not in t.ctl("bdev_list")   # the RAM device was removed again
    err = ctl(t, ipu, "create-virtio-blk", "--volume", "not-a-uuid", "--physical-id", 0, rc=2)
    assert "--volume UUID" in err
    err = ctl(t, ipu, "create-virtio-blk", "--volume", str(uuid.uuid4()), rc=2)
    assert "--physical-id" in err
    err = ctl(t, ipu, "create-virtio-blk", "--volume", str(uuid.uuid4()), "--physical-id", 1,
              rc=1)
    assert err.startswith("error: NOT_FOUND: ") and "no local block device" in err
    err = ctl(t, ipu, "--json", "delete-virtio-blk", "bogus", rc=1)
    assert "NOT_FOUND" in err
    err = ctl(t, ipu, "get-qos-capabilities", "scsi", rc=2)
    assert "virtio_blk" in err
    err = ctl(t, ipu, "frobnicate", rc=2)
    assert "unknown command" in err
    r = subprocess.run([SMA_CTL, "-T", os.path.join(d, "nothing.sock"), "list-subsystems"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "control socket" in r.stderr


def test_limit_idempotence_and_state_file(env):
    d, t, ipu = env
    sma = SmaClient(ipu.sma_port)
    vols = [str(uuid.uuid4()) for _ in range(5)]
    for v in vols:
        ipu.ctl("bdev_ram %s 1" % v)
    for i, v in enumerate(vols[:4]):
        assert sma.create_virtio_blk(local_volume(v), i) == "virtio_blk:vblk%d" % i
    req = pb.CreateDeviceRequest(volume=local_volume(vols[4]))
    req.virtio_blk.physical_id = 3
    code, msg = sma.error("CreateDevice", req)
    assert code == grpc.StatusCode.ALREADY_EXISTS and "physical_id 3 is taken" in msg, msg
    req.virtio_blk.physical_id = 2
    req.volume.CopyFrom(local_volume(vols[0]))
    code, msg = sma.error("CreateDevice", req)
    assert code == grpc.StatusCode.ALREADY_EXISTS and "vblk2" in msg, msg
    # the same request again at the limit is the same device
    assert sma.create_virtio_blk(local_volume(vols[3]), 3) == "virtio_blk:vblk3"
    sma.delete("virtio_blk:vblk0")
    assert sma.create_virtio_blk(local_volume(vols[4]), 0) == "virtio_blk:vblk0"
    sma.close()
    before = sorted(x["handle"] for x in ipu.devices())
    assert len(before) == 4
    state = json.load(open(ipu.state))
    assert sorted(x["handle"] for x in state["devices"]) == before
    # a restart restores the devices whose volumes exist (RAM ones do not:
    # the config file makes two of them again); the others stay listed as
    # failed, with the reason, since the VM would still have them plugged,
    # and their sockets are served by a stand-in failing I/O (a local
    # volume does not come back)
    ipu.stop()
    ipu.config = ["bdev_ram %s 1" % vols[1], "bdev_ram %s 1" % vols[2]]
    ipu.start()
    devs = {x["handle"]: x for x in ipu.devices()}
    assert sorted(devs) == before
    for h in ("virtio_blk:vblk1", "virtio_blk:vblk2"):
        assert devs[h]["failed"] == "", devs[h]
    for h, v in (("virtio_blk:vblk0", vols[4]), ("virtio_blk:vblk3", vols[3])):
        assert devs[h]["volume"] == v and v in devs[h]["failed"], devs[h]
        assert not devs[h]["connected"] and not devs[h]["reconnecting"]
        assert os.path.exists(devs[h]["socket"])
    assert ("device virtio_blk:vblk0 served by a stand-in: volume %s" % vols[4]
            in ipu.log_text())
    # the failed ones stay in the state file until deleted
    assert sorted(x["handle"] for x in json.load(open(ipu.state))["devices"]) == before
    sma = SmaClient(ipu.sma_port)
    # nothing but DeleteDevice makes sense on a failed device
    req = pb.CreateDeviceRequest(volume=local_volume(vols[4]))
    req.virtio_blk.physical_id = 0
    code, msg = sma.error("CreateDevice", req)
    assert code == grpc.StatusCode.ALREADY_EXISTS and "failed at restore" in msg, msg
    for h in before:
        sma.delete(h)
    assert ipu.devices() == []
    assert json.load(open(ipu.state))["devices"] == []
    sma.close()


def test_device_limit(tmp_path):
    ipu = IpuStoraged(str(tmp_path), args=["--max-devices", "2", "--slots", "8"])
    try:
        sma = SmaClient(ipu.sma_port)
        vols = [str(uuid.uuid4()) for _ in range(3)]
        for v in vols:
            ipu.ctl("bdev_ram %s 1" % v)
        sma.create_virtio_blk(local_volume(vols[0]), 5)
        sma.create_virtio_blk(local_volume(vols[1]), 7)
        req = pb.CreateDeviceRequest(volume=local_volume(vols[2]))
        req.virtio_blk.physical_id = 6
        code, msg = sma.error("CreateDevice", req)
        assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "limit of 2" in msg, msg
        req.virtio_blk.physical_id = 8
        code, msg = sma.error("CreateDevice", req)
        assert code == grpc.StatusCode.OUT_OF_RANGE and "0 to 7" in msg, msg
        sma.delete("virtio_blk:vblk5")
        assert sma.create_virtio_blk(local_volume(vols[2]), 6) == "virtio_blk:vblk6"
        sma.close()
    finally:
        ipu.stop()


def test_no_vm(tmp_path):
    """A VM that is not running: CreateDevice is UNAVAILABLE and leaves nothing."""
    ipu = IpuStoraged(str(tmp_path), qmp=str(tmp_path / "no-vm-qmp.sock"))
    try:
        sma = SmaClient(ipu.sma_port)
        vid = str(uuid.uuid4())
        ipu.ctl("bdev_ram %s 1" % vid)
        req = pb.CreateDeviceRequest(volume=local_volume(vid))
        req.virtio_blk.physical_id = 0
        code, msg = sma.error("CreateDevice", req)
        assert code == grpc.StatusCode.UNAVAILABLE and "no VM is running" in msg, msg
        assert ipu.devices() == [] and os.listdir(ipu.vhost_dir) == []
        sma.close()
    finally:
        ipu.stop()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("sma-certs"))
    other = str(tmp_path_factory.mktemp("sma-other"))
    for dd, name in ((d, "sma-ca"), (other, "other-ca")):
        subprocess.run([os.path.join(SRC, "scripts", "gen-certs.sh"), "-n", name, dd,
                        "localhost", "127.0.0.1"], check=True, capture_output=True)
    return d, other


def read(d, f):
    with open(os.path.join(d, f), "rb") as fh:
        return fh.read()


def test_mutual_tls(tmp_path, certs):
    good, other = certs
    ipu = IpuStoraged(str(tmp_path), args=["--grpc-security", "mtls", "--grpc-cert-dir", good])
    try:
        caps_req = pb.GetQosCapabilitiesRequest(device_type=pb.DEVICE_TYPE_VIRTIO_BLK)
        creds = grpc.ssl_channel_credentials(read(good, "ca.crt"), read(good, "client.key"),
                                             read(good, "client.crt"))
        sma = SmaClient(ipu.sma_port, creds, host="localhost")
        sma.call("GetQosCapabilities", caps_req)
        sma.close()
        # a client certificate from another CA, and none at all
        for key, crt in ((read(other, "client.key"), read(other, "client.crt")), (None, None)):
            creds = grpc.ssl_channel_credentials(read(good, "ca.crt"), key, crt)
            sma = SmaClient(ipu.sma_port, creds, host="localhost")
            with pytest.raises(grpc.RpcError) as e:
                sma.call("GetQosCapabilities", caps_req, timeout=10)
            assert e.value.code() == grpc.StatusCode.UNAVAILABLE
            sma.close()
        # plaintext against TLS
        sma = SmaClient(ipu.sma_port)
        with pytest.raises(grpc.RpcError):
            sma.call("GetQosCapabilities", caps_req, timeout=10)
        sma.close()
        r = subprocess.run([SMA_CTL, "-s", "localhost:%d" % ipu.sma_port, "--grpc-cert-dir", good,
                            "--json", "get-qos-capabilities", "virtio_blk"],
                           capture_output=True, text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["max_volume_caps"]["rw_iops"] is True
    finally:
        ipu.stop()


def test_tls_needs_certificates(tmp_path):
    """mTLS is the default: without certificates storaged says what to do."""
    with pytest.raises(AssertionError) as e:
        IpuStoraged(str(tmp_path), args=["--grpc-security", "mtls", "--grpc-cert-dir",
                                         str(tmp_path / "none")])
    assert "gen-certs.sh" in str(e.value)


def test_request_flood_is_bounded(tmp_path):
    """While the agent's thread is held in a hotplug (a "VM" whose QMP socket
    accepts and never answers), at most 256 requests wait; the rest are
    refused at once; once the hotplug fails, every waiting one is answered."""
    qmp_path = str(tmp_path / "silent-qmp.sock")
    qmp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    qmp.bind(qmp_path)
    qmp.listen(1)
    ipu = IpuStoraged(str(tmp_path), qmp=qmp_path, args=["--hotplug-timeout", "120000"])
    try:
        sma = SmaClient(ipu.sma_port)
        vid = str(uuid.uuid4())
        ipu.ctl("bdev_ram %s 1" % vid)
        slow = pb.CreateDeviceRequest(volume=local_volume(vid))
        slow.virtio_blk.physical_id = 0
        first = sma.stubs["CreateDevice"].future(slow, timeout=120)
        conn, _ = qmp.accept()          # the agent is in the hotplug now
        caps = pb.GetQosCapabilitiesRequest(device_type=pb.DEVICE_TYPE_VIRTIO_BLK)
        futures = [sma.stubs["GetQosCapabilities"].future(caps, timeout=120)
                   for _ in range(400)]
        end = time.monotonic() + 60
        while sum(f.done() for f in futures) < 400 - 256:
            assert time.monotonic() < end, "refusals did not come"
            time.sleep(0.05)
        refused = [f for f in futures if f.done()]
        assert all(f.exception().code() == grpc.StatusCode.RESOURCE_EXHAUSTED for f in refused)
        conn.close()                    # the hotplug fails: "no VM"
        with pytest.raises(grpc.RpcError) as e:
            first.result()
        assert e.value.code() == grpc.StatusCode.UNAVAILABLE, e.value.details()
        waited = [f for f in futures if f not in refused]
        assert len(waited) == 256 and all(f.result().max_device_caps is not None
                                          for f in waited)
        assert ipu.devices() == []
        sma.close()
    finally:
        qmp.close()
        ipu.stop()
