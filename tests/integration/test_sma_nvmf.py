"""nvmf_tcp devices of the Storage Management Agent: the IPU storaged exports
volumes over its own NVMe/TCP target. sma-ctl makes the device (a subsystem
on a listener), attaches a remote volume (a namespace of a target storaged,
found through discovery and reached with the initiator) and a local one; a
Python NVMe/TCP host reads and writes them through the IPU, and the write
shows on the remote target; DeleteDevice is refused while volumes are
attached; detach, delete, idempotence, the state file across a restart, bad
parameters, and a detach while the remote target is away (the held read is
answered at once instead of after --ctrl-loss-timeout)."""
import json
import threading
import uuid

import grpc
import pytest

from ipu_storaged import IpuStoraged, SmaClient, local_volume, pb, sma_ctl
from storaged import NvmeTcpHost, Storaged, free_port

REMOTE_NQN = "nqn.2024-01.io.ipdk:remote-vol"
EXPORT = "nqn.2024-01.io.ipdk:ipu-export"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("sma-nvmf"))
    t = Storaged(d, name="target", config=["bdev_ram r0 16", "subsys_add %s any" % REMOTE_NQN,
                                            "ns_add %s r0" % REMOTE_NQN])
    remote = json.loads(t.ctl("subsys_list").splitlines()[0])["namespaces"][0]["uuid"]
    local = str(uuid.uuid4())
    ipu = IpuStoraged(d, config=["bdev_ram %s 8" % local], args=["--connect-timeout", "2000"])
    yield t, ipu, remote, local, free_port()
    ok = t.alive() and ipu.alive()
    ipu.stop()
    t.stop()
    assert ok, "a storaged died:\n" + ipu.log_text()[-3000:] + t.log_text()[-1000:]


def ctl(t, ipu, *args, rc=0):
    return sma_ctl(t, ipu, *args, rc=rc)


def io_queue(port, nqn):
    """An admin queue and one I/O queue on nqn at port; returns (admin, io)."""
    a = NvmeTcpHost(port)
    a.icreq()
    assert a.connect(nqn).status == 0
    a.enable()
    assert a.set_num_queues(1).status == 0
    q = NvmeTcpHost(port)
    q.icreq()
    assert q.connect(nqn, qid=1, sqsize=31, cntlid=a.cntlid).status == 0
    return a, q


def active_ns(a):
    data = a.identify(2).data
    ids = [int.from_bytes(data[i:i + 4], "little") for i in range(0, 4096, 4)]
    return [n for n in ids if n]


def test_export_remote_and_local_volumes(env):
    t, ipu, remote, local, port = env
    h = ctl(t, ipu, "create-nvmf-tcp", "--nqn", EXPORT, "--listen", "127.0.0.1:%d" % port,
            "--any-host").strip()
    assert h == "nvmf_tcp:" + EXPORT
    # the same again is the same device
    assert ctl(t, ipu, "--json", "create-nvmf-tcp", "--nqn", EXPORT, "--listen",
               "127.0.0.1:%d" % port, "--any-host") == json.dumps({"handle": h}).replace(" ", "") + "\n"
    err = ctl(t, ipu, "create-nvmf-tcp", "--nqn", EXPORT, "--listen", "127.0.0.1:%d" % port,
              rc=1)
    assert "ALREADY_EXISTS" in err and "other parameters" in err
    ctl(t, ipu, "attach-volume", h, "--volume", remote, "--discovery", "127.0.0.1:%d" % t.port)
    ctl(t, ipu, "attach-volume", h, "--volume", remote, "--discovery", "127.0.0.1:%d" % t.port)
    ctl(t, ipu, "attach-volume", h, "--volume", local)
    dev = [x for x in ipu.devices() if x["handle"] == h][0]
    assert dev["type"] == "nvmf_tcp" and dev["volumes"] == 2
    # a volume on one device cannot go on another
    sma = SmaClient(ipu.sma_port)
    req = pb.CreateDeviceRequest(volume=local_volume(local))
    req.virtio_blk.physical_id = 0
    code, msg = sma.error("CreateDevice", req)
    assert code == grpc.StatusCode.ALREADY_EXISTS and h in msg, msg

    a, q = io_queue(port, EXPORT)
    assert active_ns(a) == [1, 2]
    data = b"\xa5" * 2048 + b"\x5a" * 2048
    assert q.rw(True, 1, 64, 8, data).status == 0
    assert q.rw(False, 1, 64, 8).data == data
    assert q.rw(True, 2, 0, 1, b"L" * 512).status == 0
    assert q.rw(False, 2, 0, 1).data == b"L" * 512
    # the remote namespace really has it
    ra, rq = io_queue(t.port, REMOTE_NQN)
    assert rq.rw(False, 1, 64, 8).data == data
    for x in (ra, rq):
        x.close()

    code, msg = sma.error("DeleteDevice", pb.DeleteDeviceRequest(handle=h))
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "detach" in msg, msg
    ctl(t, ipu, "detach-volume", h, "--volume", local)
    ctl(t, ipu, "detach-volume", h, "--volume", local)     # detached already
    assert active_ns(a) == [1]
    for x in (a, q):
        x.close()
    sma.close()


def test_state_file_restores_the_export(env):
    t, ipu, remote, local, port = env
    h = "nvmf_tcp:" + EXPORT
    ipu.stop()
    ipu.start()
    assert [x["volumes"] for x in ipu.devices() if x["handle"] == h] == [1]
    a, q = io_queue(port, EXPORT)
    assert q.rw(False, 1, 64, 8).data == b"\xa5" * 2048 + b"\x5a" * 2048
    for x in (a, q):
        x.close()
    ctl(t, ipu, "detach-volume", h, "--volume", remote)
    ctl(t, ipu, "delete-nvmf-tcp", h)
    ctl(t, ipu, "delete-nvmf-tcp", h)                        # deleted already
    assert ipu.devices() == []
    # the subsystem is gone from the listener
    x = NvmeTcpHost(port)
    x.icreq()
    assert x.connect(EXPORT).status != 0
    x.close()


@pytest.mark.parametrize("params,word", [
    ({"subnqn": "bogus", "traddr": "127.0.0.1", "trsvcid": "4420"}, "subnqn"),
    ({"subnqn": "nqn.2014-08.org.nvmexpress.discovery", "traddr": "127.0.0.1",
      "trsvcid": "4420"}, "subnqn"),
    ({"subnqn": EXPORT, "traddr": "", "trsvcid": "4420"}, "traddr"),
    ({"subnqn": EXPORT, "traddr": "127.0.0.1", "trsvcid": "0"}, "trsvcid"),
    ({"subnqn": EXPORT, "traddr": "127.0.0.1", "trsvcid": "4420", "adrfam": "ipx"}, "adrfam"),
    ({"subnqn": EXPORT, "traddr": "127.0.0.1", "trsvcid": "4420", "hosts": ["nope"]}, "host"),
])
def test_bad_parameters(env, params, word):
    t, ipu, remote, local, port = env
    sma = SmaClient(ipu.sma_port)
    req = pb.CreateDeviceRequest()
    for k, v in params.items():
        if k == "hosts":
            req.nvmf_tcp.hosts.extend(v)
        else:
            setattr(req.nvmf_tcp, k, v)
    code, msg = sma.error("CreateDevice", req)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and word in msg, msg
    assert ipu.devices() == []
    sma.close()


def test_listener_in_use(env):
    t, ipu, remote, local, port = env
    sma = SmaClient(ipu.sma_port)
    req = pb.CreateDeviceRequest()
    req.nvmf_tcp.subnqn = "nqn.2024-01.io.ipdk:clash"
    req.nvmf_tcp.traddr = "127.0.0.1"
    req.nvmf_tcp.trsvcid = str(t.port)     # the target storaged has it
    code, msg = sma.error("CreateDevice", req)
    assert code == grpc.StatusCode.FAILED_PRECONDITION and "clash" in msg, msg
    assert ipu.devices() == []
    sma.close()


def test_detach_while_the_target_is_away(env):
    """A host's read of a remote volume is held while the volume's target is
    away (killed); DetachVolume does not wait out --ctrl-loss-timeout (60 s
    here, sma-ctl's call gives up after 60 s too): it completes, the held
    read is answered with an error and the namespace is gone."""
    t, ipu, remote, local, port = env
    nqn, port2 = EXPORT + "-away", free_port()
    h = ctl(t, ipu, "create-nvmf-tcp", "--nqn", nqn, "--listen", "127.0.0.1:%d" % port2,
            "--any-host").strip()
    ctl(t, ipu, "attach-volume", h, "--volume", remote, "--discovery", "127.0.0.1:%d" % t.port)
    a, q = io_queue(port2, nqn)
    try:
        assert q.rw(False, 1, 0, 8).status == 0
        t.stop(sig=9)
        result = {}

        def read():
            try:
                result["r"] = q.rw(False, 1, 0, 8)
            except Exception as e:   # reported below
                result["exc"] = e

        th = threading.Thread(target=read)
        th.start()
        th.join(1.0)
        assert th.is_alive(), "the read was not held: %r" % result
        ctl(t, ipu, "--timeout", "30", "detach-volume", h, "--volume", remote)
        th.join(20)
        assert not th.is_alive(), "the held read was not answered after the detach"
        assert "exc" not in result, result
        assert result["r"].status != 0, result["r"]
        assert active_ns(a) == []
    finally:
        for x in (a, q):
            x.close()
        if not t.alive():
            t.start()
    ctl(t, ipu, "delete-nvmf-tcp", h)
    assert [x for x in ipu.devices() if x["handle"] == h] == []
