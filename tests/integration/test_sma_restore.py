"""An IPU storaged restarted while a device's volume cannot be reopened. The
device's vhost-user socket is served again with the size the front-end saw
(a stand-in block device), its requests wait while the remote volume is
retried in the background, and go through once the target is back (data
right, failed cleared); when the target stays away past --ctrl-loss-timeout
they fail with IOERR, the device stays listed as failed and in the state file
until DeleteDevice. Also: an older state file without sizes still restores
(and gets them), and nvmf_tcp devices whose subsystem or volumes cannot be
made again are kept, listed as failed, and can be detached and deleted. The
front-end is the Python vhost-user client of test_sma_vhost.py."""
import contextlib
import json
import os
import socket
import struct
import time
import uuid

import pytest

from ipu_storaged import IpuStoraged, SmaClient, local_volume, pb, remote_volume
from storaged import Storaged, free_port
from test_sma_vhost import S_IOERR, S_OK, T_IN, T_OUT, Frontend

NQN = "nqn.2024-01.io.ipdk:restore"


def target(d, name="restore-target"):
    """A target whose namespace lives in a file, so its data outlives a restart."""
    path = os.path.join(d, name + ".img")
    return Storaged(d, name=name, config=["bdev_file r0 %s size=4" % path,
                                          "subsys_add %s any" % NQN, "ns_add %s r0" % NQN])


def namespace_uuid(t):
    return json.loads(t.ctl("subsys_list").splitlines()[0])["namespaces"][0]["uuid"]


def device(ipu, handle):
    return {x["handle"]: x for x in ipu.devices()}[handle]


def wait_for(what, fn, timeout=30):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < end, "timed out waiting for " + what
        time.sleep(0.05)


def start_read(f, sector):
    """Puts a one-block read in slot 0 of queue 0 without waiting for it;
    returns the guest addresses of its data and status byte."""
    area = 0x100000
    f.w(area, struct.pack("<IIQ", T_IN, 0, sector))
    f.w(area + 0x1000, b"\xee" * 512)
    f.w(area + 0x800, b"\xff")
    f.submit(0, [(area, 16, 0), (area + 0x1000, 512, 2), (area + 0x800, 1, 2)])
    return area + 0x1000, area + 0x800


def state_devices(ipu):
    return json.load(open(ipu.state))["devices"]


class Restarted:
    """What restarted_with_target_down() made; frontend() opens a closed-at-end client."""

    def __init__(self, t, ipu, vid, h, cfg):
        self.t, self.ipu, self.vid, self.h, self.cfg = t, ipu, vid, h, cfg
        self.frontends = []

    def frontend(self):
        f = Frontend(os.path.join(self.ipu.vhost_dir, "vblk0.sock"))
        self.frontends.append(f)
        return f

    def dev(self):
        return device(self.ipu, self.h)

    def delete(self, *handles):
        """Deletes the devices; nothing is left listed or in the state file."""
        sma = SmaClient(self.ipu.sma_port)
        for h in handles:
            sma.delete(h)
        sma.close()
        assert self.ipu.devices() == [] and state_devices(self.ipu) == []
        assert self.ipu.alive()


@contextlib.contextmanager
def restarted_with_target_down(d, name, tmo_ms):
    """A device on the target's namespace with data written through it, then
    the IPU storaged and the target both killed and the IPU started again."""
    t = target(d, name + "-target")
    vid = namespace_uuid(t)
    ipu = IpuStoraged(d, name=name, args=["--ctrl-loss-timeout", str(tmo_ms),
                                          "--connect-timeout", "1000"])
    r = None
    try:
        sma = SmaClient(ipu.sma_port)
        h = sma.create_virtio_blk(remote_volume(vid, t.port, NQN), 0)
        sma.close()
        f = Frontend(os.path.join(ipu.vhost_dir, "vblk0.sock"))
        f.setup()
        cfg = f.config()
        assert f.request(0, T_OUT, 8, data=b"r" * 512)[0] == S_OK
        f.close()
        saved = state_devices(ipu)[0]["volume"]
        assert saved["num_blocks"] == 8192 and saved["block_size"] == 512, saved
        ipu.stop(sig=9)
        t.stop(sig=9)
        ipu.start()
        r = Restarted(t, ipu, vid, h, cfg)
        yield r
    finally:
        for f in r.frontends if r else ():
            f.close()
        if ipu.alive():
            ipu.stop()
        if t.alive():
            t.stop()


def test_target_down_at_restart_then_back(tmp_path):
    with restarted_with_target_down(str(tmp_path), "back", 60000) as r:
        dev = r.dev()
        assert dev["reconnecting"] and r.vid in dev["failed"], dev
        assert "no discovery service answered" in dev["failed"], dev
        # the socket is served, with the configuration space the front-end saw
        f = r.frontend()
        assert f.config() == r.cfg
        f.setup()
        data_at, status_at = start_read(f, 8)
        # the request is taken and held (not answered) while the target is away
        wait_for("the held read", lambda: r.dev()["in_flight"] == 1)
        assert f.r(status_at, 1) == b"\xff"
        assert r.dev()["reconnecting"]
        r.t.start()
        head, _ = f.wait_used(0, timeout=30)
        assert head == 0 and f.r(status_at, 1)[0] == S_OK
        assert f.r(data_at, 512) == b"r" * 512
        dev = wait_for("failed cleared", lambda: (lambda x: x if not x["failed"] else None)(
            r.dev()))
        assert not dev["reconnecting"] and dev["bdev"] == "vblk0", dev
        assert "is back" in r.ipu.log_text()
        # and the device works as any other: a write reaches the target
        assert f.request(0, T_OUT, 16, data=b"s" * 512)[0] == S_OK
        assert f.request(0, T_IN, 16, read_len=512)[2] == b"s" * 512
        r.delete(r.h)


def test_target_never_back(tmp_path):
    with restarted_with_target_down(str(tmp_path), "never", 3000) as r:
        f = r.frontend()
        assert f.config() == r.cfg
        f.setup()
        _, status_at = start_read(f, 8)
        head, _ = f.wait_used(0, timeout=30)
        assert head == 0 and f.r(status_at, 1)[0] == S_IOERR
        dev = r.dev()
        assert not dev["reconnecting"] and "not back within 3000 ms" in dev["failed"], dev
        # from now on requests fail at once
        assert f.request(0, T_OUT, 0, data=b"x" * 512, timeout=5)[0] == S_IOERR
        # a later save (another device made) keeps the failed device as it was
        before = state_devices(r.ipu)[0]
        local = str(uuid.uuid4())
        r.ipu.ctl("bdev_ram %s 1" % local)
        sma = SmaClient(r.ipu.sma_port)
        sma.create_virtio_blk(local_volume(local), 1)
        entries = {x["handle"]: x for x in state_devices(r.ipu)}
        assert entries[r.h] == before
        req = pb.CreateDeviceRequest(volume=remote_volume(r.vid, r.t.port, NQN))
        req.virtio_blk.physical_id = 0
        code, msg = sma.error("CreateDevice", req)
        assert "failed at restore" in msg, (code, msg)
        sma.close()
        r.delete(r.h, "virtio_blk:vblk1")


def test_stop_with_held_requests(tmp_path):
    """storaged stopping (SIGTERM) while it holds requests for a volume being
    retried exits at once, leaving them unanswered for the next storaged (the
    front-end's inflight region), not failed."""
    with restarted_with_target_down(str(tmp_path), "stop", 60000) as r:
        f = r.frontend()
        f.setup()
        _, status_at = start_read(f, 8)
        wait_for("the held read", lambda: r.dev()["in_flight"] == 1)
        assert r.ipu.stop() == 0          # not killed after stop()'s 10 s
        assert "held I/O fails" not in r.ipu.log_text()
        assert f.r(status_at, 1) == b"\xff"   # unanswered, not IOERR


def test_namespace_gone_fails_at_once(tmp_path):
    """The target answers, but without the namespace: no waiting for the timeout."""
    with restarted_with_target_down(str(tmp_path), "gone", 60000) as r:
        r.t.config = ["bdev_ram other 4", "subsys_add %s any" % NQN]
        r.t.start()
        dev = wait_for("given up", lambda: (lambda x: x if not x["reconnecting"] else None)(
            r.dev()), timeout=20)
        assert "no namespace with this UUID" in dev["failed"], dev
        f = r.frontend()
        f.setup()
        assert f.request(0, T_IN, 0, read_len=512)[0] == S_IOERR
        r.delete(r.h)


def test_old_state_file(tmp_path):
    """A state file written before sizes were kept: a volume that opens is
    served (and the file gets its size); one that does not is listed failed
    and not served, as before; both can be deleted."""
    d = str(tmp_path)
    here, gone = str(uuid.uuid4()), str(uuid.uuid4())
    ipu = IpuStoraged(d, name="old", config=["bdev_ram %s 1" % here])
    ipu.stop()
    with open(ipu.state, "w") as fp:
        json.dump({"version": 1, "devices": [
            {"handle": "virtio_blk:vblk0", "physical_id": 0, "queues": 1,
             "volume": {"volume_id": here}},
            {"handle": "virtio_blk:vblk1", "physical_id": 1, "queues": 1,
             "volume": {"volume_id": gone}}]}, fp)
    ipu.start()
    try:
        devs = {x["handle"]: x for x in ipu.devices()}
        assert devs["virtio_blk:vblk0"]["failed"] == ""
        assert gone in devs["virtio_blk:vblk1"]["failed"]
        assert not os.path.exists(os.path.join(ipu.vhost_dir, "vblk1.sock"))
        f = Frontend(os.path.join(ipu.vhost_dir, "vblk0.sock"))
        f.setup()
        assert f.request(0, T_OUT, 1, data=b"o" * 512)[0] == S_OK
        f.close()
        entries = {x["handle"]: x["volume"] for x in state_devices(ipu)}
        assert entries["virtio_blk:vblk0"]["num_blocks"] == 2048
        assert entries["virtio_blk:vblk1"] == {"volume_id": gone}
        sma = SmaClient(ipu.sma_port)
        sma.delete("virtio_blk:vblk0")
        sma.delete("virtio_blk:vblk1")
        sma.close()
        assert state_devices(ipu) == []
    finally:
        ipu.stop()


def test_local_volume_resized(tmp_path):
    """A local volume back at restart with another size is not the volume the
    guest knew: the device's requests fail (the stand-in keeps the old size)."""
    d = str(tmp_path)
    vid = str(uuid.uuid4())
    ipu = IpuStoraged(d, name="resized", config=["bdev_ram %s 1" % vid])
    try:
        sma = SmaClient(ipu.sma_port)
        h = sma.create_virtio_blk(local_volume(vid), 2)
        sma.close()
        f = Frontend(os.path.join(ipu.vhost_dir, "vblk2.sock"))
        cfg = f.config()
        f.close()
        ipu.stop()
        ipu.config = ["bdev_ram %s 2" % vid]
        ipu.start()
        dev = device(ipu, h)
        assert "4096 blocks of 512 bytes now, 2048 of 512 before" in dev["failed"], dev
        assert not dev["reconnecting"]
        f = Frontend(os.path.join(ipu.vhost_dir, "vblk2.sock"))
        assert f.config() == cfg
        f.setup()
        assert f.request(0, T_IN, 0, read_len=512)[0] == S_IOERR
        f.close()
        sma = SmaClient(ipu.sma_port)
        sma.delete(h)
        sma.close()
        assert state_devices(ipu) == []
    finally:
        ipu.stop()


def test_nvmf_tcp_failed_restore_kept(tmp_path):
    """An nvmf_tcp device whose listen address is taken at restart: kept with
    its volumes, listed failed, in the state file; detach and delete work. Its
    remote volume, with the target down, is kept too (and retried)."""
    d = str(tmp_path)
    t = target(d, "nv-target")
    rvid = namespace_uuid(t)
    local = str(uuid.uuid4())
    port = free_port()
    ipu = IpuStoraged(d, name="nv", config=["bdev_ram %s 4" % local],
                      args=["--connect-timeout", "1000"])
    export = "nqn.2024-01.io.ipdk:restore-export"
    handle = "nvmf_tcp:" + export
    blocker = None
    try:
        sma = SmaClient(ipu.sma_port)
        req = pb.CreateDeviceRequest(volume=local_volume(local))
        req.nvmf_tcp.subnqn = export
        req.nvmf_tcp.traddr = "127.0.0.1"
        req.nvmf_tcp.trsvcid = str(port)
        req.nvmf_tcp.allow_any_host = True
        assert sma.call("CreateDevice", req).handle == handle
        sma.call("AttachVolume", pb.AttachVolumeRequest(
            device_handle=handle, volume=remote_volume(rvid, t.port, NQN)))
        sma.close()
        before = state_devices(ipu)
        ipu.stop(sig=9)
        t.stop(sig=9)
        # restart 1: the listener is free, the remote volume's target is down
        ipu.start()
        dev = device(ipu, handle)
        assert dev["volumes"] == 2 and dev["reconnecting"] and rvid in dev["failed"], dev
        assert state_devices(ipu) == before
        ipu.stop(sig=9)
        # restart 2: someone else has the listen address
        blocker = socket.socket()
        blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        blocker.bind(("127.0.0.1", port))
        blocker.listen()
        ipu.start()
        dev = device(ipu, handle)
        assert dev["volumes"] == 2 and dev["failed"] and not dev["reconnecting"], dev
        assert "restored as failed" in ipu.log_text()
        assert state_devices(ipu) == before
        sma = SmaClient(ipu.sma_port)
        code, msg = sma.error("DeleteDevice", pb.DeleteDeviceRequest(handle=handle))
        assert "detach them first" in msg, (code, msg)
        for v in (local, rvid):
            sma.call("DetachVolume", pb.DetachVolumeRequest(device_handle=handle,
                                                            volume_id=uuid.UUID(v).bytes))
        assert device(ipu, handle)["volumes"] == 0
        sma.delete(handle)
        sma.close()
        assert ipu.devices() == [] and state_devices(ipu) == []
        assert ipu.alive()
    finally:
        if blocker:
            blocker.close()
        ipu.stop()
        if t.alive():
            t.stop()
