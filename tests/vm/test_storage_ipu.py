"""storaged in IPU mode with a QEMU guest: the Storage Management Agent makes
virtio-blk devices (vhost-user-blk, lib/vblk) for volumes that live on a
remote NVMe/TCP target (a second storaged in target mode, reached through
discovery), and hotplugs them into the guest (physical_id = root port). From
the guest's side: the disk appears with the volume's UUID as serial, fio with
verify=crc32c has zero errors, discard and write-zeroes work, data survives
unplug and replug, a guest reboot, a restart of storaged or of the remote
target in the middle of a fio run, and a restart of storaged while the target
is down (the requests wait until it is back); 64
devices are plugged into one guest and removed, the 65th refused at the
limit; bad requests get clear gRPC errors and leave nothing behind.
One guest boot for the module (about a minute on two cores). After each test,
passed or failed, the `clean` fixture resumes or restarts the daemons, makes a
new SMA client when storaged is a new process and removes every device and
local volume left, so one failure does not fail the tests after it."""
import json
import os
import re
import shutil
import signal
import socket
import tempfile
import threading
import time
import uuid

import grpc
import pytest

import ipdk_vm
from storaged import Storaged, free_port
from ipu_storaged import IpuStoraged, SmaClient, local_volume, pb, remote_volume

NQN = "nqn.2024-01.io.ipdk:ipu-vol0"
LOCKED = "nqn.2024-01.io.ipdk:ipu-locked"
HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:5e0f5a1e-0000-4000-8000-0000000000aa"
# 64 by default; IPDK_SMA_VM_DEVICES=128 runs the scale test at 128 (the guest
# then gets four vCPUs: each device takes two MSI-X vectors of a vCPU's ~200)
N_DEVICES = int(os.environ.get("IPDK_SMA_VM_DEVICES", "64"))


class Env:
    pass


class RebootableGuest(ipdk_vm.Guest):
    """The harness's guest without -no-reboot, so that a reboot restarts it."""

    def command_line(self, kernel, initrd):
        return [a for a in super().command_line(kernel, initrd) if a != "-no-reboot"]

    def reboot(self, timeout=120):
        old = self.boot_id
        self.run("sync; (sleep 0.5; reboot -f) >/dev/null 2>&1 &")
        self._wait_hello(timeout)
        assert self.boot_id != old


@pytest.fixture(scope="module")
def env(image):
    e = Env()
    e.dir = tempfile.mkdtemp(prefix="ipdk-vmipu-")
    e.target = Storaged(e.dir, name="target", config=[
        "bdev_file disk0 %s size=64 buffered" % os.path.join(e.dir, "disk0.img"),
        "subsys_add %s any" % NQN, "ns_add %s disk0" % NQN,
        "bdev_ram locked0 8", "subsys_add %s" % LOCKED, "ns_add %s locked0" % LOCKED])
    subsys = {s["nqn"]: s for s in
              (json.loads(l) for l in e.target.ctl("subsys_list").splitlines())}
    e.vol = subsys[NQN]["namespaces"][0]["uuid"]
    e.locked_vol = subsys[LOCKED]["namespaces"][0]["uuid"]
    e.guest = RebootableGuest(workdir=e.dir, root_ports=N_DEVICES + 2, mem_mb=512,
                            smp=2 if N_DEVICES <= 64 else 4, fio=True)
    e.guest.start()
    e.ipu = IpuStoraged(e.dir, qmp=e.guest.ipdk_qmp_path, args=[
        "--slots", str(N_DEVICES + 2), "--max-devices", str(N_DEVICES), "--hostnqn", HOSTNQN,
        "--connect-timeout", "2000", "--queues", "2"])
    e.sma = SmaClient(e.ipu.sma_port)
    e.sma_proc = e.ipu.proc     # the process e.sma was made for
    e.deaths = []               # what clean() found dead and brought back
    yield e
    e.sma.close()
    alive = e.guest.running()
    e.guest.stop()
    ipu_ok, target_ok = e.ipu.alive(), e.target.alive()
    e.ipu.stop()
    e.target.stop()
    logs = e.ipu.log_text()[-3000:] + e.target.log_text()[-1000:]
    shutil.rmtree(e.dir, ignore_errors=True)
    assert alive, "guest died:\n" + e.guest.console_text()[-3000:]
    assert ipu_ok and target_ok, "a storaged died:\n" + logs
    assert not e.deaths, "died during the tests:\n" + "\n".join(e.deaths)


def revive(e):
    """The daemons as the tests expect them: the target running (resumed if
    held, restarted if dead), the IPU storaged restarted if dead, and an SMA
    client for the storaged process that runs now (a channel to a killed one
    may sit in gRPC's reconnect backoff)."""
    if e.target.alive():
        e.target.proc.send_signal(signal.SIGCONT)
    else:
        e.deaths.append("target storaged:\n" + e.target.log_text()[-2000:])
        e.target.stop()
        e.target.start()
    if not e.ipu.alive():
        if e.ipu.proc is e.sma_proc:    # not killed by kill_ipu()
            e.deaths.append("ipu storaged:\n" + e.ipu.log_text()[-2000:])
        e.ipu.stop()
        e.ipu.start()
    if e.sma_proc is not e.ipu.proc:
        e.sma.close()
        e.sma = SmaClient(e.ipu.sma_port)
        e.sma_proc = e.ipu.proc


def kill_ipu(e):
    """SIGKILLs the IPU storaged on purpose (revive() restarts it quietly)."""
    e.ipu.stop(sig=9)
    e.sma_proc = None


@pytest.fixture(autouse=True)
def clean(env):
    """After each test: daemons revived, a dead guest booted again, every
    device deleted (and gone from the guest) and every local volume (a block
    device named by a UUID) removed."""
    yield
    revive(env)
    g = env.guest
    if not g.running():
        env.deaths.append("guest:\n" + g.console_text()[-3000:])
        g.stop()
        g.start()
    for d in env.ipu.devices():
        env.sma.delete(d["handle"], timeout=120)
    # what storaged no longer knows (a RAM volume does not survive a restart,
    # and its device is left out) is unplugged here, or its disk would hang
    for o in qemu_objects(g):
        if o.startswith("ipdk-vblk"):
            g.qmp.cmd("device_del", id=o)
            g.qmp.wait_event("DEVICE_DELETED", lambda e: e.get("device") == o, timeout=60)
    for o in qemu_objects(g):
        g.qmp.cmd("chardev-remove", id=o)
    end = time.monotonic() + 60
    while disks(g):
        assert time.monotonic() < end, "the guest still sees %s" % disks(g)
        time.sleep(0.5)
    for b in (json.loads(l) for l in env.ipu.ctl("bdev_list").splitlines() if l.strip()):
        try:
            uuid.UUID(b["name"])
        except ValueError:
            continue
        env.ipu.ctl("bdev_delete %s" % b["name"])


def disks(g):
    """{serial: block device} of the guest's virtio disks."""
    out = g.sh("for d in /sys/block/vd*; do [ -e $d/serial ] && "
               "echo $(basename $d) $(cat $d/serial); done; true", timeout=60)
    return {l.split()[1]: l.split()[0] for l in out.splitlines() if len(l.split()) == 2}


def wait_disk(g, vid, present=True, timeout=30):
    end = time.monotonic() + timeout
    while True:
        d = disks(g).get(vid[:20])
        if (d is not None) == present:
            return d
        assert time.monotonic() < end, "disk %s still %s; guest has %s" % (
            vid, "missing" if present else "present", disks(g))
        time.sleep(0.3)


def qemu_objects(g):
    """Our device and chardev ids QEMU holds."""
    devs = [c["name"] for c in g.qmp.cmd("qom-list", path="/machine/peripheral")]
    chrs = [c["label"] for c in g.qmp.cmd("query-chardev")]
    return sorted(x for x in devs + chrs if x.startswith("ipdk-"))


def fio_verify(g, dev, size="16m", seed=1, **kw):
    job = {"global": {"filename": "/dev/" + dev, "direct": 1, "ioengine": "libaio",
                      "size": size, "randseed": seed},
           "jobs": {"w": dict({"rw": "randwrite", "bsrange": "4k-64k", "iodepth": 8,
                               "verify": "crc32c", "do_verify": 1,
                               "verify_fatal": 1}, **kw)}}
    r = g.fio(job, timeout=300)
    j = r["jobs"][0]
    assert j["error"] == 0, "fio failed: %s" % json.dumps(j)[:2000]
    assert j["write"]["io_bytes"] > 0 and j["read"]["io_bytes"] > 0
    return j


def test_remote_volume_fio_unplug_replug(env):
    g, sma = env.guest, env.sma
    vol = remote_volume(env.vol, env.target.port, NQN)
    h = sma.create_virtio_blk(vol, 0)
    assert h == "virtio_blk:vblk0"
    # the same request again is the same device (CreateDevice is idempotent)
    assert sma.create_virtio_blk(vol, 0) == h
    dev = wait_disk(g, env.vol)
    sysfs = "/sys/block/%s/" % dev
    assert int(g.sh("cat %ssize" % sysfs)) == 64 * 2048
    assert int(g.sh("cat %squeue/discard_max_bytes" % sysfs)) > 0
    assert int(g.sh("cat %squeue/write_zeroes_max_bytes" % sysfs)) > 0
    assert g.sh("cat %sro" % sysfs).strip() == "0"
    # two queues, one per vCPU, both used by two fio jobs
    assert g.sh("ls %smq" % sysfs).split() == ["0", "1"]
    fio_verify(g, dev, numjobs=2, offset_increment="16m")
    g.sh("dd if=/dev/zero of=/dev/%s bs=4k count=1 conv=fsync 2>/dev/null" % dev)
    # discard reads back zeroes; a marker at 32 MiB survives unplug and replug
    g.sh("dd if=/dev/urandom of=/dev/%s bs=64k count=16 oflag=direct 2>/dev/null && "
         "blkdiscard -o 0 -l 1048576 /dev/%s" % (dev, dev))
    zeros = g.sh("dd if=/dev/%s bs=64k count=16 iflag=direct 2>/dev/null | od -An -v -tx1 "
                 "| tr -d ' \\n' | tr -d 0 | wc -c" % dev)
    assert zeros.strip() == "0"
    g.sh("dd if=/dev/urandom of=/tmp/marker bs=4k count=64 2>/dev/null && "
         "dd if=/tmp/marker of=/dev/%s bs=4k seek=8192 oflag=direct 2>/dev/null && sync" % dev)
    sma.delete(h)
    wait_disk(g, env.vol, present=False)
    assert qemu_objects(g) == []
    sma.delete(h)   # deleting again is fine
    assert sma.create_virtio_blk(vol, 2) == "virtio_blk:vblk2"
    dev = wait_disk(g, env.vol)
    g.sh("dd if=/dev/%s of=/tmp/back bs=4k skip=8192 count=64 iflag=direct 2>/dev/null && "
         "cmp /tmp/marker /tmp/back" % dev)
    st = [d for d in env.ipu.devices() if d["handle"] == "virtio_blk:vblk2"][0]
    assert st["remote"] and st["connected"] and st["errors"] == 0
    # a device reset (what a guest reboot does to it): the driver lets go and
    # binds again, the back-end stops and starts with new rings
    pci = g.sh("basename $(dirname $(readlink -f /sys/block/%s/device))" % dev).strip()
    g.sh("echo %s > /sys/bus/pci/drivers/virtio-pci/unbind" % pci)
    wait_disk(g, env.vol, present=False)
    g.sh("echo %s > /sys/bus/pci/drivers/virtio-pci/bind" % pci)
    dev = wait_disk(g, env.vol)
    g.sh("dd if=/dev/%s of=/tmp/back bs=4k skip=8192 count=64 iflag=direct 2>/dev/null && "
         "cmp /tmp/marker /tmp/back" % dev)
    fio_verify(g, dev, size="4m")
    sma.delete("virtio_blk:vblk2")
    wait_disk(g, env.vol, present=False)


def device(env, handle):
    """storaged's sma_devices entry for handle."""
    return [d for d in env.ipu.devices() if d["handle"] == handle][0]


def wait_until(cond, what, timeout=60, period=0.05):
    end = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < end, what
        time.sleep(period)


def wait_held(env, h):
    """Waits until device h has requests in flight and nothing was taken or
    answered between two looks: they are held (the target is away or stopped)."""
    seen = []

    def held():
        d = device(env, h)
        seen.append((d["in_flight"], d["reads"], d["writes"], d["errors"]))
        return d["in_flight"] > 0 and seen[-2:-1] == seen[-1:]

    wait_until(held, "no request held in flight (in_flight, reads, writes, errors): %s"
               % seen[-5:], timeout=20, period=0.1)


def fio_thread(g, job, result):
    """A started thread running fio job in the guest; result gets "r" (fio's
    JSON) or "exc"."""
    def run():
        try:
            result["r"] = g.fio(job, timeout=300)
        except Exception as e:   # reported by the test
            result["exc"] = e

    t = threading.Thread(target=run)
    t.start()
    return t


def fio_ok(t, result, log, what):
    """Checks that fio's thread ended without error; returns its job's JSON."""
    assert not t.is_alive(), "fio did not finish"
    assert "exc" not in result, "fio failed across %s: %s\n%s" % (
        what, result.get("exc"), log[-2000:])
    j = result["r"]["jobs"][0]
    assert j["error"] == 0, "fio failed across %s: %s\n%s" % (
        what, json.dumps(j)[:1500], log[-2000:])
    return j


def test_storaged_restart_during_fio(env):
    """storaged (IPU side) is killed in the middle of a guest fio run, while
    the target is held so it has requests in flight, and started again: it
    restores the device from its state file, QEMU reconnects (reconnect=1),
    the requests left in flight are resubmitted from the inflight region, and
    fio completes with verify passing."""
    g = env.guest
    h = env.sma.create_virtio_blk(remote_volume(env.vol, env.target.port, NQN), 3)
    dev = wait_disk(g, env.vol)
    job = {"global": {"filename": "/dev/" + dev, "direct": 1, "ioengine": "libaio",
                      "size": "24m", "randseed": 7},
           "jobs": {"w": {"rw": "randwrite", "bs": "4k", "iodepth": 16, "verify": "crc32c",
                          "do_verify": 1, "verify_fatal": 1}}}
    writes0 = device(env, h)["writes"]
    result = {}
    t = fio_thread(g, job, result)
    try:
        # A sixth of fio's 6144 writes have reached storaged: the run is in
        # its write phase, thousands of requests from its end. Hold the target
        # there; the guest keeps 16 requests queued, which stay in flight.
        wait_until(lambda: device(env, h)["writes"] >= writes0 + 1024 or not t.is_alive(),
                   "fio's writes do not reach storaged: %s" % device(env, h))
        assert t.is_alive(), "fio ended before the target was held: %r" % result
        env.target.proc.send_signal(signal.SIGSTOP)
        wait_held(env, h)
        kill_ipu(env)
        env.target.proc.send_signal(signal.SIGCONT)
        env.ipu.start()
    finally:
        # on a failure above: nothing left held or dead while fio finishes
        revive(env)
        t.join(300)
    log = env.ipu.log_text()
    j = fio_ok(t, result, log, "the restart")
    assert j["write"]["io_bytes"] == 24 << 20
    assert "restored" in log
    assert re.search(r"resubmitting \d+ requests left in flight", log), log[-2000:]
    assert [d["handle"] for d in env.ipu.devices()] == [h]
    env.sma.delete(h)
    wait_disk(g, env.vol, present=False)
    assert qemu_objects(g) == []


def fio_kill_target(env, h, size, seed, writes, **jobopts):
    """Starts a randwrite fio run with verify on device h's disk and kills the
    target (SIGKILL) once writes of its requests reached storaged, then waits
    until storaged noticed and holds requests. Returns (thread, result, log0)."""
    job = {"global": {"filename": "/dev/" + wait_disk(env.guest, env.vol), "direct": 1,
                      "ioengine": "libaio", "size": size, "randseed": seed},
           "jobs": {"w": dict({"rw": "randwrite", "iodepth": 16, "verify": "crc32c",
                               "do_verify": 1, "verify_fatal": 1}, **jobopts)}}
    writes0 = device(env, h)["writes"]
    log0 = len(env.ipu.log_text())
    result = {}
    t = fio_thread(env.guest, job, result)
    try:
        wait_until(lambda: device(env, h)["writes"] >= writes0 + writes or not t.is_alive(),
                   "fio's writes do not reach storaged: %s" % device(env, h))
        assert t.is_alive(), "fio ended before the target was killed: %r" % result
        env.target.stop(sig=9)
        # the initiator notices (a failed send or receive, or keep-alive)
        wait_until(lambda: "lost" in env.ipu.log_text()[log0:],
                   "storaged did not notice the target went away", timeout=30)
        wait_held(env, h)
    except BaseException:
        if not env.target.alive():
            env.target.start()   # fio can end
        revive(env)
        t.join(300)
        raise
    return t, result, log0


def test_target_restart_during_fio(env):
    """The remote target is killed (SIGKILL) in the middle of a guest fio run
    and started again two seconds later: storaged's initiator holds the
    guest's requests while it reconnects and resubmits them, so fio sees no
    error and verify passes; the device reports no error either."""
    g = env.guest
    h = env.sma.create_virtio_blk(remote_volume(env.vol, env.target.port, NQN), 4)
    # about a third of fio's writes have been taken: the run is in its write
    # phase, far from its end
    t, result, log0 = fio_kill_target(env, h, "24m", 11, 768, bsrange="4k-16k")
    try:
        time.sleep(2)
        d = device(env, h)
        assert d["in_flight"] > 0 and d["errors"] == 0, d
        env.target.start()
    finally:
        revive(env)     # on a failure above: the target back so fio can end
        t.join(300)
    log = env.ipu.log_text()[log0:]
    j = fio_ok(t, result, log, "the target restart")
    assert j["write"]["io_bytes"] == 24 << 20 and j["read"]["io_bytes"] == 24 << 20
    assert "reconnected" in log, log[-2000:]
    st = device(env, h)
    assert st["errors"] == 0 and st["in_flight"] == 0, st
    env.sma.delete(h)
    wait_disk(g, env.vol, present=False)


def test_storaged_restart_while_target_down(env):
    """The target is killed during a guest fio run and storaged (IPU side) is
    killed and started again while the target is still down: the volume
    cannot be reopened, yet the device's socket is served again by a
    stand-in with the same size, QEMU reconnects and the requests left in
    flight wait there (no error); when the target is back storaged opens the
    volume in the background, the requests go through and verify passes."""
    g = env.guest
    h = env.sma.create_virtio_blk(remote_volume(env.vol, env.target.port, NQN), 5)
    t, result, log0 = fio_kill_target(env, h, "16m", 13, 512, bs="4k")
    try:
        kill_ipu(env)
        env.ipu.start()
        d = device(env, h)
        assert d["reconnecting"] and env.vol in d["failed"], d
        # QEMU reconnects; the requests it resubmits wait at the stand-in
        wait_held(env, h)
        d = device(env, h)
        assert d["reconnecting"] and d["errors"] == 0, d
        env.target.start()
        wait_until(lambda: not device(env, h)["failed"], "the volume did not come back",
                   timeout=30)
    finally:
        if not env.target.alive():
            env.target.start()   # on a failure above: fio can end
        revive(env)
        t.join(300)
    log = env.ipu.log_text()
    j = fio_ok(t, result, log, "the restart")
    assert j["write"]["io_bytes"] == 16 << 20
    assert "served by a stand-in" in log and "is back" in log, log[-2000:]
    st = device(env, h)
    assert st["errors"] == 0 and not st["reconnecting"], st
    env.sma.delete(h)
    wait_disk(g, env.vol, present=False)


def test_delete_while_target_down(env):
    """The target is killed during a guest fio run and stays down; DeleteDevice
    fails the requests storaged holds for it (fio gets I/O errors) and the disk
    leaves the guest long before --ctrl-loss-timeout (60 s, the default here):
    the guest is not kept waiting for requests that cannot complete."""
    g = env.guest
    h = env.sma.create_virtio_blk(remote_volume(env.vol, env.target.port, NQN), 6)
    t, result, log0 = fio_kill_target(env, h, "16m", 17, 256, bs="4k")
    try:
        # returns once QEMU saw the guest let go (DEVICE_DELETED); the guest is
        # not asked meanwhile (its agent runs one script at a time: fio's)
        env.sma.delete(h, timeout=30)
        t.join(120)     # fio ends: its disk is gone
        assert not t.is_alive(), "fio still runs after its disk was deleted"
    finally:
        env.target.start()
        revive(env)
        t.join(300)
    log = env.ipu.log_text()[log0:]
    assert "held while its target is away fails" in log, log[-2000:]
    assert "not back within" not in log, log[-2000:]
    assert "exc" in result or result["r"]["jobs"][0]["error"] != 0, result
    wait_disk(g, env.vol, present=False, timeout=5)


def test_guest_reboot(env):
    """The guest reboots with a disk plugged: QEMU resets the device (the
    back-end stops its queues, QEMU drops the inflight region), firmware and
    kernel find the disk again, and its data is there."""
    g, sma = env.guest, env.sma
    h = sma.create_virtio_blk(remote_volume(env.vol, env.target.port, NQN), 5)
    dev = wait_disk(g, env.vol)
    g.sh("dd if=/dev/urandom of=/tmp/m bs=4k count=16 2>/dev/null && "
         "dd if=/tmp/m of=/dev/%s bs=4k seek=1000 oflag=direct 2>/dev/null" % dev)
    want = g.sh("md5sum < /tmp/m").split()[0]
    g.reboot()
    dev = wait_disk(g, env.vol)
    got = g.sh("dd if=/dev/%s bs=4k skip=1000 count=16 iflag=direct 2>/dev/null | md5sum"
               % dev).split()[0]
    assert got == want
    fio_verify(g, dev, size="4m")
    assert [d["connected"] for d in env.ipu.devices() if d["handle"] == h] == [True]
    sma.delete(h)
    wait_disk(g, env.vol, present=False)
    assert qemu_objects(g) == []


def test_read_only_local_volume(env):
    """A local read-only file device as the volume: the guest sees a
    read-only disk and its writes fail; reads work."""
    g, sma = env.guest, env.sma
    vid = str(uuid.uuid4())
    path = os.path.join(env.dir, "ro.img")
    with open(path, "wb") as f:
        f.write(b"ipdk-ro!" * 512 + b"\0" * (4 << 20))
    env.ipu.ctl("bdev_file %s %s ro" % (vid, path))
    h = sma.create_virtio_blk(local_volume(vid), 4)
    dev = wait_disk(g, vid)
    assert g.sh("cat /sys/block/%s/ro" % dev).strip() == "1"
    assert g.sh("dd if=/dev/%s bs=8 count=1 iflag=direct 2>/dev/null || "
                "dd if=/dev/%s bs=512 count=1 2>/dev/null | head -c 8" % (dev, dev)) == "ipdk-ro!"
    r = g.run("dd if=/dev/zero of=/dev/%s bs=4k count=1 oflag=direct" % dev)
    assert r.rc != 0
    sma.delete(h)
    wait_disk(g, vid, present=False)
    env.ipu.ctl("bdev_delete %s" % vid)


def test_64_devices_and_the_65th(env):
    """N_DEVICES (64) devices in one guest, each answering I/O; one more is
    refused at the limit; all removed again."""
    g, sma = env.guest, env.sma
    vols = [str(uuid.uuid4()) for _ in range(N_DEVICES + 1)]
    for v in vols:
        env.ipu.ctl("bdev_ram %s 1" % v)
    handles = [sma.create_virtio_blk(local_volume(v), i) for i, v in enumerate(vols[:-1])]
    assert handles == ["virtio_blk:vblk%d" % i for i in range(N_DEVICES)]
    code, msg = sma.error("CreateDevice", pb.CreateDeviceRequest(
        volume=local_volume(vols[-1]), virtio_blk={"physical_id": N_DEVICES}))
    assert code == grpc.StatusCode.RESOURCE_EXHAUSTED and "limit of %d" % N_DEVICES in msg, msg
    end = time.monotonic() + 120
    while len(disks(g)) < N_DEVICES:
        assert time.monotonic() < end, "the guest sees %d disks" % len(disks(g))
        time.sleep(1)
    assert sorted(disks(g)) == sorted(v[:20] for v in vols[:-1])
    # every disk answers I/O
    g.sh("for d in /sys/block/vd*; do dd if=/dev/$(basename $d) of=/dev/null bs=4k count=1 "
         "iflag=direct 2>/dev/null || exit 1; done", timeout=120)
    for h in handles:
        sma.delete(h)
    end = time.monotonic() + 60
    while disks(g):
        assert time.monotonic() < end, "the guest still sees %s" % disks(g)
        time.sleep(1)
    assert qemu_objects(g) == [] and env.ipu.devices() == []
    for v in vols:
        env.ipu.ctl("bdev_delete %s" % v)


class SilentServer:
    """A TCP listener that accepts and never answers (a hung target)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                self.conns.append(self.sock.accept()[0])
            except OSError:
                return

    def close(self):
        self.sock.close()
        for c in self.conns:
            c.close()


def test_bad_input(env):
    g, sma = env.guest, env.sma
    C = grpc.StatusCode
    h = sma.create_virtio_blk(remote_volume(env.vol, env.target.port, NQN), 1)
    wait_disk(g, env.vol)

    def create_err(vol, pid, vid=0):
        req = pb.CreateDeviceRequest(volume=vol)
        req.virtio_blk.physical_id = pid
        req.virtio_blk.virtual_id = vid
        return sma.error("CreateDevice", req)

    other = str(uuid.uuid4())
    env.ipu.ctl("bdev_ram %s 1" % other)
    # a taken physical id, the same volume twice
    code, msg = create_err(local_volume(other), 1)
    assert code == C.ALREADY_EXISTS and "physical_id 1 is taken" in msg, msg
    code, msg = create_err(remote_volume(env.vol, env.target.port, NQN), 5)
    assert code == C.ALREADY_EXISTS and "attached to device virtio_blk:vblk1" in msg, msg
    # out of range ids, no volume, a short volume id, no params
    code, msg = create_err(local_volume(other), N_DEVICES + 2)
    assert code == C.OUT_OF_RANGE and "physical_id" in msg, msg
    code, msg = create_err(local_volume(other), 6, vid=3)
    assert code == C.INVALID_ARGUMENT and "virtual_id" in msg, msg
    req = pb.CreateDeviceRequest()
    req.virtio_blk.physical_id = 6
    code, msg = sma.error("CreateDevice", req)
    assert code == C.INVALID_ARGUMENT and "volume is required" in msg, msg
    code, msg = create_err(pb.VolumeParameters(volume_id=b"abc"), 6)
    assert code == C.INVALID_ARGUMENT and "16" in msg, msg
    code, msg = sma.error("CreateDevice", pb.CreateDeviceRequest(volume=local_volume(other)))
    assert code == C.INVALID_ARGUMENT, msg
    # an unknown local volume, a wrong NQN, a host not allowed, a bad transport
    code, msg = create_err(local_volume(str(uuid.uuid4())), 6)
    assert code == C.NOT_FOUND and "no local block device" in msg, msg
    anew = str(uuid.uuid4())    # volumes that are nowhere
    code, msg = create_err(remote_volume(anew, env.target.port,
                                         "nqn.2024-01.io.ipdk:nothing-here"), 6)
    assert code == C.NOT_FOUND and "not offered" in msg, msg
    code, msg = create_err(remote_volume(env.locked_vol, env.target.port, LOCKED), 6)
    assert code == C.NOT_FOUND and LOCKED in msg, msg
    code, msg = create_err(remote_volume(anew, env.target.port, NQN), 6)
    assert code == C.NOT_FOUND and "UUID" in msg, msg
    bad = remote_volume(env.vol, env.target.port, NQN)
    bad.nvmf.discovery.discovery_endpoints[0].trtype = "rdma"
    code, msg = create_err(bad, 6)
    assert code == C.INVALID_ARGUMENT and "rdma" in msg, msg
    code, msg = create_err(remote_volume(env.vol, env.target.port, "not an nqn"), 6)
    assert code == C.INVALID_ARGUMENT and "NQN" in msg, msg
    # nobody listening, and a target that accepts but never answers
    code, msg = create_err(remote_volume(anew, free_port(), NQN), 6)
    assert code == C.UNAVAILABLE and "no discovery service answered" in msg, msg
    silent = SilentServer()
    code, msg = create_err(remote_volume(anew, silent.port, NQN), 6)
    silent.close()
    assert code in (C.DEADLINE_EXCEEDED, C.UNAVAILABLE) and "answered" in msg, msg
    # malformed protobufs
    for name in ("CreateDevice", "DeleteDevice", "AttachVolume", "SetQos"):
        with pytest.raises(grpc.RpcError) as e:
            sma.raw(name, b"\x0a\xff\xff\xff\xff\x0f")
        assert e.value.code() == C.INVALID_ARGUMENT, (name, e.value.details())
    # unknown handles
    code, msg = sma.error("DeleteDevice", pb.DeleteDeviceRequest(handle="nvme:0"))
    assert code == C.NOT_FOUND and "not one of ours" in msg, msg
    code, msg = sma.error("DeleteDevice", pb.DeleteDeviceRequest(handle=""))
    assert code == C.INVALID_ARGUMENT, msg
    sma.delete("virtio_blk:vblk40")    # well-formed, absent: deleted already
    code, msg = sma.error("AttachVolume", pb.AttachVolumeRequest(
        device_handle="virtio_blk:vblk40", volume=local_volume(other)))
    assert code == C.NOT_FOUND and "does not exist" in msg, msg
    # attach/detach: a virtio-blk device keeps its one volume
    sma.call("AttachVolume", pb.AttachVolumeRequest(
        device_handle=h, volume=remote_volume(env.vol, env.target.port, NQN)))
    code, msg = sma.error("AttachVolume", pb.AttachVolumeRequest(
        device_handle=h, volume=local_volume(other)))
    assert code == C.FAILED_PRECONDITION and "keeps the volume" in msg, msg
    code, msg = sma.error("DetachVolume", pb.DetachVolumeRequest(
        device_handle=h, volume_id=uuid.UUID(env.vol).bytes))
    assert code == C.FAILED_PRECONDITION and "delete the device" in msg, msg
    sma.call("DetachVolume", pb.DetachVolumeRequest(device_handle=h,
                                                    volume_id=uuid.UUID(other).bytes))
    # QoS: the capabilities, a value out of range, and a read limit the guest's
    # direct reads run into (tests/integration/test_sma_qos.py has the rest)
    caps = sma.call("GetQosCapabilities", pb.GetQosCapabilitiesRequest(
        device_type=pb.DEVICE_TYPE_VIRTIO_BLK))
    assert caps.max_device_caps.rd_iops and caps.max_volume_caps.rw_bandwidth
    code, msg = sma.error("GetQosCapabilities", pb.GetQosCapabilitiesRequest())
    assert code == C.INVALID_ARGUMENT, msg
    code, msg = sma.error("SetQos", pb.SetQosRequest(device_handle=h,
                                                     maximum=pb.QosLimit(rd_iops=2000000)))
    assert code == C.INVALID_ARGUMENT and "rd_iops" in msg, msg
    sma.call("SetQos", pb.SetQosRequest(device_handle=h, maximum=pb.QosLimit(rd_bandwidth=1)))
    dev = wait_disk(g, env.vol)
    g.sh("dd if=/dev/%s of=/dev/null bs=64k count=12 iflag=direct 2>/dev/null" % dev)
    assert [d["qos_waited"] for d in env.ipu.devices()][0] > 0
    sma.call("SetQos", pb.SetQosRequest(device_handle=h))   # no maximum: all lifted
    # nothing changed: one device, the disk still works, QEMU holds only it
    assert [d["handle"] for d in env.ipu.devices()] == [h]
    assert qemu_objects(g) == ["ipdk-chr-vblk1", "ipdk-vblk1"]
    dev = wait_disk(g, env.vol)
    g.sh("dd if=/dev/%s of=/dev/null bs=4k count=16 iflag=direct 2>/dev/null" % dev)
    sma.delete(h)
    wait_disk(g, env.vol, present=False)
    env.ipu.ctl("bdev_delete %s" % other)
    assert env.ipu.alive() and env.target.alive()
