"""QoS of the Storage Management Agent (SetQos, GetQosCapabilities) without a
VM: limits set with sma-ctl and over gRPC hold a virtio-blk device's I/O back
(driven by the Python vhost-user front-end of test_sma_vhost.py) and an
nvmf_tcp device's volume (driven by a Python NVMe/TCP host); lifting a limit
releases waiting I/O and restores full speed; "unchanged" (UINT64_MAX, or a
limit sma-ctl is not given) keeps a limit; the state file keeps limits across
a restart; unsupported limits, values out of range, foreign volumes and bad
handles are refused. Durations are only checked against generous bounds: a
limit makes I/O take at least most of what the rate allows (a slow machine
only makes it longer); the counters storaged reports (qos_waited) say
whether anything was held back at all."""
import json
import os
import struct
import time
import uuid

import grpc
import pytest

from ipu_storaged import IpuStoraged, SmaClient, local_volume, pb, sma_ctl
from test_sma_nvmf import free_port, io_queue
from test_sma_vhost import D_NEXT, D_WRITE, QSIZE, S_OK, T_IN, T_OUT, Frontend

C = grpc.StatusCode
U64 = (1 << 64) - 1
MIB = 1 << 20
EXPORT = "nqn.2024-01.io.ipdk:qos-export"


@pytest.fixture(scope="module")
def ipu(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("sma-qos"))
    s = IpuStoraged(d, args=["--queues", "2"])
    yield s
    ok = s.alive()
    s.stop()
    assert ok, "storaged died:\n" + s.log_text()[-3000:]


def ctl(ipu, *args, rc=0):
    class NoTarget:
        sock = "/nonexistent"
    return sma_ctl(NoTarget, ipu, *args, rc=rc)


def device(ipu, handle):
    return [x for x in ipu.devices() if x["handle"] == handle][0]


def state_volume(ipu, handle, vid):
    with open(ipu.state) as f:
        for dev in json.load(f)["devices"]:
            if dev["handle"] != handle:
                continue
            for v in dev.get("volumes", [dev.get("volume")]):
                if v["volume_id"] == vid:
                    return v
    raise AssertionError("%s %s not in the state file" % (handle, vid))


@pytest.fixture
def vblk(ipu):
    """A virtio-blk device on a 16 MiB RAM volume with a connected front-end."""
    vid = str(uuid.uuid4())
    ipu.ctl("bdev_ram %s 16" % vid)
    sma = SmaClient(ipu.sma_port)
    h = sma.create_virtio_blk(local_volume(vid), 5)
    f = Frontend(os.path.join(ipu.vhost_dir, "vblk5.sock"))
    f.setup()
    yield sma, h, vid, f
    f.close()
    sma.delete(h)
    sma.close()
    ipu.ctl("bdev_delete %s" % vid)


def batch(f, n, size=512, op=T_IN):
    """n requests of size bytes on queue 0, 21 in flight (three descriptors each)."""
    done = 0
    while done < n:
        k = min(QSIZE // 3, n - done)
        for j in range(k):
            hdr, st, data = 0x100000 + 0x40 * j, 0x100020 + 0x40 * j, 0x200000 + size * j
            f.w(hdr, struct.pack("<IIQ", op, 0, 8 * j))
            f.w(st, b"\xff")
            flags = D_WRITE if op == T_IN else 0
            for i, (addr, ln, fl) in enumerate(((hdr, 16, D_NEXT), (data, size, flags | D_NEXT),
                                                 (st, 1, D_WRITE))):
                f.w(16 * (3 * j + i), struct.pack("<QIHH", addr, ln, fl, 3 * j + i + 1))
            a = 0x1000
            f.w(a + 4 + 2 * (f.avail_idx[0] % QSIZE), struct.pack("<H", 3 * j))
            f.avail_idx[0] = (f.avail_idx[0] + 1) & 0xffff
        f.w(0x1002, struct.pack("<H", f.avail_idx[0]))
        os.eventfd_write(f.kick[0], 1)
        for _ in range(k):
            f.wait_used(0, timeout=10)
        for j in range(k):
            assert f.r(0x100020 + 0x40 * j, 1)[0] == S_OK
        done += k


def write_mib(f, mib, chunk=64 << 10):
    """Writes mib MiB in chunk-sized requests, one at a time; returns the seconds taken."""
    t0 = time.monotonic()
    for i in range(mib * MIB // chunk):
        assert f.request(0, T_OUT, i * chunk // 512, data=b"\x3c" * chunk, timeout=10)[0] == S_OK
    return time.monotonic() - t0


def test_capabilities(ipu):
    caps = json.loads(ctl(ipu, "--json", "get-qos-capabilities", "virtio_blk"))
    names = ("rd_iops", "wr_iops", "rw_iops", "rd_bandwidth", "wr_bandwidth", "rw_bandwidth")
    assert caps == {"max_device_caps": dict.fromkeys(names, True),
                    "max_volume_caps": dict.fromkeys(names, True)}
    caps = json.loads(ctl(ipu, "--json", "get-qos-capabilities", "nvmf_tcp"))
    assert caps == {"max_device_caps": dict.fromkeys(names, False),
                    "max_volume_caps": dict.fromkeys(names, True)}
    err = ctl(ipu, "get-qos-capabilities", "nvme", rc=1)
    assert "UNIMPLEMENTED" in err
    sma = SmaClient(ipu.sma_port)
    code, msg = sma.error("GetQosCapabilities", pb.GetQosCapabilitiesRequest())
    assert code == C.INVALID_ARGUMENT and "device type 0" in msg, msg
    sma.close()


def test_bandwidth_limit_and_lift(ipu, vblk):
    sma, h, vid, f = vblk
    assert write_mib(f, 1) < 10      # warm; nothing held back without limits
    assert device(ipu, h)["qos_waited"] == 0
    ctl(ipu, "set-qos", h, "rw_bandwidth=1")
    assert state_volume(ipu, h, vid)["qos"] == {"rw_bandwidth": 1}
    # 4 MiB at 1 MiB/s: the 100 ms burst and the last request's debt aside, ~3.8 s
    took = write_mib(f, 4)
    assert took >= 3.0, took
    waited = device(ipu, h)["qos_waited"]
    assert waited >= 50, waited
    # reads count against rw_bandwidth too: this one waits for the last write's debt
    st, _, back = f.request(0, T_IN, 0, read_len=4096)
    assert st == S_OK and back == b"\x3c" * 4096
    assert device(ipu, h)["qos_waited"] == waited + 1
    waited += 1
    # lifted: the same 4 MiB again, nothing waits
    ctl(ipu, "set-qos", h, "rw_bandwidth=unlimited")
    assert "qos" not in state_volume(ipu, h, vid)
    took = write_mib(f, 4)
    assert device(ipu, h)["qos_waited"] == waited
    assert took < 3.0, took


def test_lift_releases_waiting_io(ipu, vblk):
    sma, h, vid, f = vblk
    ctl(ipu, "set-qos", h, "--volume", vid, "wr_bandwidth=1")
    # one 3 MiB write goes on the burst and leaves ~2.9 s of debt...
    area, st = 0x3000, 0x3800
    f.w(area, struct.pack("<IIQ", T_OUT, 0, 0))
    f.w(st, b"\xff")
    f.submit(0, [(area, 16, 0), (0x4000, 3 * MIB, 0), (st, 1, D_WRITE)])
    f.wait_used(0)
    assert f.r(st, 1)[0] == S_OK
    # ...so the next one waits until the limit is lifted
    t0 = time.monotonic()
    f.w(st, b"\xff")
    f.submit(0, [(area, 16, 0), (0x4000, 4096, 0), (st, 1, D_WRITE)])
    end = time.monotonic() + 2
    while device(ipu, h)["qos_waiting"] != 1:
        assert time.monotonic() < end, device(ipu, h)
        time.sleep(0.01)
    # a read-only limit does not free it; lifting wr_bandwidth does
    sma.call("SetQos", pb.SetQosRequest(device_handle=h, maximum=pb.QosLimit(
        rd_iops=U64, wr_iops=U64, rw_iops=U64, rd_bandwidth=5, wr_bandwidth=U64,
        rw_bandwidth=U64)))
    assert device(ipu, h)["qos_waiting"] == 1
    sma.call("SetQos", pb.SetQosRequest(device_handle=h, maximum=pb.QosLimit(
        rd_iops=U64, wr_iops=U64, rw_iops=U64, rd_bandwidth=U64, wr_bandwidth=0,
        rw_bandwidth=U64)))
    f.wait_used(0, timeout=10)
    assert f.r(st, 1)[0] == S_OK
    assert time.monotonic() - t0 < 2.0
    assert state_volume(ipu, h, vid)["qos"] == {"rd_bandwidth": 5}
    # SetQos without a maximum is all zeroes: everything lifted
    sma.call("SetQos", pb.SetQosRequest(device_handle=h))
    assert "qos" not in state_volume(ipu, h, vid)


def test_iops_limit(ipu, vblk):
    sma, h, vid, f = vblk
    batch(f, 200)
    assert device(ipu, h)["qos_waited"] == 0
    ctl(ipu, "set-qos", h, "rd_iops=1")          # 1 kIOPS
    t0 = time.monotonic()
    batch(f, 2000)
    took = time.monotonic() - t0
    assert took >= 1.5, took                     # ~1.9 s: 2000 less the burst of 100
    waited = device(ipu, h)["qos_waited"]
    assert waited > 0
    # writes are not reads: they do not wait
    batch(f, 500, op=T_OUT)
    assert device(ipu, h)["qos_waited"] == waited
    # the total limit holds both; 'unchanged' and unnamed limits stay
    ctl(ipu, "set-qos", h, "rd_iops=unchanged", "rw_iops=1")
    assert state_volume(ipu, h, vid)["qos"] == {"rd_iops": 1, "rw_iops": 1}
    batch(f, 500, op=T_OUT)
    assert device(ipu, h)["qos_waited"] > waited
    ctl(ipu, "set-qos", h, "rd_iops=0", "rw_iops=0")
    assert "qos" not in state_volume(ipu, h, vid)


def test_refusals(ipu, vblk):
    sma, h, vid, f = vblk
    ctl(ipu, "set-qos", h, "wr_iops=7")
    for words, field in ((["rd_iops=1000001"], "rd_iops"),
                         (["rw_bandwidth=%d" % ((1 << 24) + 1)], "rw_bandwidth")):
        err = ctl(ipu, "set-qos", h, *words, rc=1)
        assert "INVALID_ARGUMENT" in err and field in err and "above" in err, err
    err = ctl(ipu, "set-qos", h, "rd_iops=abc", rc=2)
    assert "rd_iops=abc" in err
    err = ctl(ipu, "set-qos", h, "rd_iops=-1", rc=2)
    assert "expected a number" in err
    err = ctl(ipu, "set-qos", h, "iops=5", rc=2)
    assert "unknown limit" in err
    err = ctl(ipu, "set-qos", h, "--volume", str(uuid.uuid4()), "rd_iops=1", rc=1)
    assert "NOT_FOUND" in err and "has no volume" in err
    err = ctl(ipu, "set-qos", "virtio_blk:vblk60", "rd_iops=1", rc=1)
    assert "NOT_FOUND" in err and "does not exist" in err
    code, msg = sma.error("SetQos", pb.SetQosRequest(device_handle=h, volume_id=b"short",
                                                     maximum=pb.QosLimit(rd_iops=1)))
    assert code == C.INVALID_ARGUMENT and "16" in msg, msg
    code, msg = sma.error("SetQos", pb.SetQosRequest(device_handle="", maximum=pb.QosLimit()))
    assert code == C.INVALID_ARGUMENT, msg
    code, msg = sma.error("SetQos", pb.SetQosRequest(device_handle="scsi:0"))
    assert code == C.NOT_FOUND, msg
    # a refused request changed nothing, not even its valid fields
    code, msg = sma.error("SetQos", pb.SetQosRequest(device_handle=h, maximum=pb.QosLimit(
        rd_iops=3, wr_iops=U64, rw_iops=U64, rd_bandwidth=U64, wr_bandwidth=1 << 30,
        rw_bandwidth=U64)))
    assert code == C.INVALID_ARGUMENT and "wr_bandwidth" in msg, msg
    assert state_volume(ipu, h, vid)["qos"] == {"wr_iops": 7}
    assert ipu.alive()


def test_nvmf_tcp_volume_limits_and_restart(ipu):
    port = free_port()
    v1, v2 = str(uuid.uuid4()), str(uuid.uuid4())
    ipu.config = list(ipu.config) + ["bdev_ram %s 8" % v1, "bdev_ram %s 8" % v2]
    ipu.ctl("bdev_ram %s 8" % v1)
    ipu.ctl("bdev_ram %s 8" % v2)
    h = ctl(ipu, "create-nvmf-tcp", "--nqn", EXPORT, "--listen", "127.0.0.1:%d" % port,
            "--any-host", "--volume", v1).strip()
    ctl(ipu, "attach-volume", h, "--volume", v2)
    # no device-level limits on nvmf_tcp: zeroes and 'unchanged' are fine, values are not
    ctl(ipu, "set-qos", h, "rd_iops=0")
    err = ctl(ipu, "set-qos", h, "rd_iops=1", rc=1)
    assert "INVALID_ARGUMENT" in err and "maximum.rd_iops is not supported" in err, err
    ctl(ipu, "set-qos", h, "--volume", v1, "wr_bandwidth=1")
    assert state_volume(ipu, h, v1)["qos"] == {"wr_bandwidth": 1}
    assert "qos" not in state_volume(ipu, h, v2)

    def write(q, nsid, n):
        t0 = time.monotonic()
        for i in range(n):
            assert q.rw(True, nsid, 128 * i, 128, b"\x77" * (64 << 10)).status == 0
        return time.monotonic() - t0

    a, q = io_queue(port, EXPORT)
    took = write(q, 1, 24)              # 1.5 MiB at 1 MiB/s: ~1.3 s
    assert took >= 1.0, took
    waited = device(ipu, h)["qos_waited"]
    assert waited > 0
    write(q, 2, 24)                     # the other volume has no limit
    assert device(ipu, h)["qos_waited"] == waited
    assert q.rw(False, 1, 0, 1).data == b"\x77" * 512
    a.close()
    q.close()
    # a restarted storaged brings the limit back with the device
    ipu.stop()
    ipu.start()
    assert device(ipu, h)["qos_waited"] == 0
    a, q = io_queue(port, EXPORT)
    write(q, 1, 4)                      # 256 KiB: more than the 100 ms burst
    assert device(ipu, h)["qos_waited"] > 0
    a.close()
    q.close()
    ctl(ipu, "set-qos", h, "--volume", v1, "wr_bandwidth=0")
    ctl(ipu, "detach-volume", h, "--volume", v1)
    ctl(ipu, "detach-volume", h, "--volume", v2)
    ctl(ipu, "delete-nvmf-tcp", h)
