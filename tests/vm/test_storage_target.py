"""Interop of storaged's NVMe/TCP target with the Linux kernel's nvme-tcp
initiator in a QEMU guest. The guest reaches the host's storaged over QEMU
user networking (10.0.2.2 is the host's loopback) and uses nvme-cli (from
the harness's tools layer). Checked: discovery (the host sees the subsystems
it may use), connect with header and data digests and two I/O queues, fio with
verify=crc32c and zero errors, data kept across disconnect and reconnect,
refusals (unknown NQN, host not allowed) that leave the target serving, and
the target killed and restarted during a fio run: the kernel holds and
retries the I/O, the run completes and verify passes."""
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time

import pytest

import ipdk_vm
from storaged import Storaged

NQN = "nqn.2024-01.io.ipdk:vm0"
LOCKED = "nqn.2024-01.io.ipdk:locked"
HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:5e0f5a1e-0000-4000-8000-000000000001"


@pytest.fixture(scope="module")
def env(image):
    d = tempfile.mkdtemp(prefix="ipdk-vmstor-")
    disk = os.path.join(d, "disk.img")
    t = Storaged(d, config=["bdev_file disk0 %s size=64 buffered" % disk,
                            "subsys_add %s any" % NQN, "ns_add %s disk0" % NQN,
                            "bdev_ram ram9 8", "subsys_add %s" % LOCKED,
                            "ns_add %s ram9" % LOCKED])
    g = ipdk_vm.Guest(workdir=d, root_ports=1, mem_mb=512, fio=True, extra_args=[
        "-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:00:5e:01"])
    g.start()
    g.sh("ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0 && modprobe nvme-fabrics")
    yield g, t
    alive = g.running()
    g.stop()
    target_ok = t.alive()
    t.stop()
    log = t.log_text()
    shutil.rmtree(d, ignore_errors=True)
    assert alive, "guest died:\n" + g.console_text()[-3000:]
    assert target_ok, "storaged died:\n" + log


def nvme(g, t, command, *args, nqn=None):
    """Runs nvme-cli's command against storaged (10.0.2.2) as HOSTNQN."""
    cmd = "nvme %s -t tcp -a 10.0.2.2 -s %d --hostnqn %s %s %s" % (
        command, t.port, HOSTNQN, "-n " + nqn if nqn else "", " ".join(args))
    return g.run(cmd, timeout=60)


def connect(g, t, *args, nqn=NQN):
    """nvme connect with args; returns (controller name, block device) as the
    guest sees them."""
    r = nvme(g, t, "connect", "-o", "json", *args, nqn=nqn)
    assert r.rc == 0, "connect failed: %r\n%s" % (r, g.sh("dmesg | tail -5"))
    ctrl = json.loads(r.out)["device"]
    for _ in range(100):
        devs = g.sh("ls /sys/class/nvme/%s/ | grep -E '^nvme[0-9]+(c[0-9]+)?n1$' || true" % ctrl)
        if devs.strip():
            break
        time.sleep(0.1)
    # with native multipath the block device is the head nvmeXn1
    blk = g.sh("ls /sys/block | grep -E '^nvme[0-9]+n1$' | head -1").strip()
    assert blk, "no namespace block device: %s" % g.sh("ls /sys/block; dmesg | tail")
    return ctrl, "/dev/" + blk


def disconnect(g, ctrl):
    g.sh("nvme disconnect -d %s" % ctrl, timeout=60)


def fio_job(dev, size="24M", **extra):
    job = {"filename": dev, "direct": 1, "ioengine": "libaio", "iodepth": 8,
           "rw": "randwrite", "bsrange": "4k-64k", "size": size, "verify": "crc32c",
           "do_verify": 1, "verify_fatal": 1, "randrepeat": 0}
    job.update(extra)
    return {"global": {}, "jobs": {"v": job}}


def test_discover(env):
    g, t = env
    r = nvme(g, t, "discover", "-o", "json")
    assert r.rc == 0, r
    recs = json.loads(r.out)["records"]
    # LOCKED does not allow this host: not listed
    assert [(x["subnqn"], x["trtype"], x["trsvcid"]) for x in recs] == [
        (NQN, "tcp", str(t.port))], recs
    # the discovery controller is gone again
    assert g.sh("ls /sys/class/nvme/ 2>/dev/null; true").split() == []


def test_connect_digests_two_queues_fio(env):
    g, t = env
    ctrl, dev = connect(g, t, "--hdr-digest", "--data-digest", "--nr-write-queues=1")
    try:
        log = t.log_text()
        assert re.search(r"controller \d+, queue 2 ", log), log
        assert g.sh("cat /sys/class/nvme/%s/subsysnqn" % ctrl).strip() == NQN
        assert g.sh("cat /sys/class/nvme/%s/transport" % ctrl).strip() == "tcp"
        out = g.fio(fio_job(dev), timeout=400)
        j = out["jobs"][0]
        assert j["error"] == 0, j
        assert j["write"]["io_bytes"] >= 24 << 20 and j["read"]["io_bytes"] >= 24 << 20
        # discard (Dataset Management, deallocate) reads back as zeroes
        g.sh("blkdiscard -o 0 -l 1048576 %s" % dev)
        assert g.sh("dd if=%s bs=64k count=16 iflag=direct 2>/dev/null | md5sum" % dev) == \
            g.sh("dd if=/dev/zero bs=64k count=16 2>/dev/null | md5sum")
    finally:
        disconnect(g, ctrl)


def test_data_survives_reconnect(env):
    g, t = env
    ctrl, dev = connect(g, t)
    g.sh("dd if=/dev/urandom of=/tmp/pat bs=64k count=16 2>/dev/null && "
         "dd if=/tmp/pat of=%s bs=64k seek=100 oflag=direct 2>/dev/null" % dev)
    disconnect(g, ctrl)
    ctrl, dev = connect(g, t, "--hdr-digest")
    try:
        got = g.sh("dd if=%s bs=64k skip=100 count=16 iflag=direct 2>/dev/null | md5sum" % dev)
        want = g.sh("md5sum < /tmp/pat")
        assert got.split()[0] == want.split()[0]
    finally:
        disconnect(g, ctrl)


def test_refusals_keep_target_serving(env):
    g, t = env
    r = nvme(g, t, "connect", nqn="nqn.2024-01.io.ipdk:nosuch")
    assert r.rc != 0, r
    r = nvme(g, t, "connect", nqn=LOCKED)
    assert r.rc != 0, r
    dmesg = g.sh("dmesg | tail -20")
    assert "Connect Invalid" in dmesg or "invalid host" in dmesg.lower(), dmesg
    assert "host not allowed" in t.log_text()
    t.ctl("host_add %s %s" % (LOCKED, HOSTNQN))
    try:
        ctrl, dev = connect(g, t, nqn=LOCKED)
        disconnect(g, ctrl)
    finally:
        t.ctl("host_remove %s %s" % (LOCKED, HOSTNQN))
    assert t.alive()


def test_target_restart_during_fio(env):
    g, t = env
    # The target reports a multi-controller subsystem (CMIC bit 1) and shared
    # namespaces (NMIC bit 0), so the kernel puts a multipath head over the
    # namespace: a request that fails with a path error on the dead socket
    # goes back to the head, which holds it until the controller reconnects,
    # instead of being retried on the same path against nvme_core.max_retries.
    restart_during_fio(g, t)


def received(t):
    """Bytes the target's connections have received so far (ss -ti)."""
    out = subprocess.run(["ss", "-Htin", "state", "established", "( sport = :%d )" % t.port],
                         capture_output=True, text=True, check=True).stdout
    return sum(int(n) for n in re.findall(r"bytes_received:(\d+)", out))


def restart_during_fio(g, t):
    ctrl, dev = connect(g, t, "--reconnect-delay=1", "--ctrl-loss-tmo=120")
    paths = g.sh("ls /sys/class/nvme/%s/" % ctrl)
    assert re.search(r"\bnvme\d+c\d+n1\b", paths), "no multipath head over the namespace: " + paths
    result = {}

    def run_fio():
        try:
            result["out"] = g.fio(fio_job(dev, size="48M", iodepth=4, bsrange="4k-16k"),
                                  timeout=500)
        except Exception as e:   # reported below
            result["exc"] = e

    th = threading.Thread(target=run_fio)
    base = received(t)
    th.start()
    try:
        try:
            # kill the target hard once 8 of fio's 48 MiB have reached it (the
            # run is in its write phase, far from its end), then bring it back
            end = time.monotonic() + 120
            while received(t) < base + (8 << 20) and th.is_alive():
                assert time.monotonic() < end, "fio's writes do not reach the target"
                time.sleep(0.05)
            assert th.is_alive(), "fio ended before the target was killed: %r" % result
            t.stop(sig=9)
            time.sleep(2)
            t.start()
        finally:
            if not t.alive():   # a failure above: fio needs its target back to end
                t.start()
            th.join(600)
        assert not th.is_alive(), "fio did not finish"
        assert "exc" not in result, "%s\nguest dmesg:\n%s\ntarget log:\n%s" % (
            result.get("exc"), g.sh("dmesg | tail -40"), t.log_text()[-3000:])
        j = result["out"]["jobs"][0]
        assert j["error"] == 0, j
        assert j["read"]["io_bytes"] >= 48 << 20
        dmesg = g.sh("dmesg | grep -ci 'reconnect\\|Successfully' || true")
        assert int(dmesg.strip() or 0) > 0, g.sh("dmesg | tail -30")
    finally:
        disconnect(g, ctrl)
