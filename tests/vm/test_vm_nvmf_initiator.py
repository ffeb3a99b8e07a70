"""Interop of ipdk's NVMe/TCP initiator (tools/nvmf-host over lib/nvmf and the
nvme-tcp block device) with the Linux kernel's nvmet-tcp target in a QEMU
guest. The guest exports its virtio-blk disk through nvmet (configured in
configfs) on 10.0.2.15:4420; the host reaches it through a QEMU user-network
hostfwd on 127.0.0.1. Checked: discovery, Identify (the kernel's answers),
a verify run on two I/O queues with header and data digests, data our
initiator wrote read back by the guest from the disk itself, and the
kernel's refusals (unknown subsystem, host not allowed) as clear errors."""
import json
import os
import shutil
import tempfile

import pytest

import ipdk_vm
from nvmf_host import NVMF_HOST, run as nvmf_host_run
from storaged import free_port
NQN = "nqn.2024-01.io.ipdk:kernel0"
LOCKED = "nqn.2024-01.io.ipdk:kernel-locked"
CFG = "/sys/kernel/config/nvmet"


@pytest.fixture(scope="module")
def env(image):
    if not os.access(NVMF_HOST, os.X_OK):
        pytest.fail("nvmf-host not built: %s (set IPDK_BUILD)" % NVMF_HOST)
    d = tempfile.mkdtemp(prefix="ipdk-vmnvmet-")
    disk = os.path.join(d, "disk.img")
    with open(disk, "wb") as f:
        f.truncate(64 << 20)
    port = free_port()
    g = ipdk_vm.Guest(workdir=d, root_ports=1, mem_mb=384, extra_args=[
        "-drive", "file=%s,if=none,id=d0,format=raw,cache=unsafe" % disk,
        "-device", "virtio-blk-pci,drive=d0",
        "-netdev", "user,id=n0,hostfwd=tcp:127.0.0.1:%d-10.0.2.15:4420" % port,
        "-device", "virtio-net-pci,netdev=n0,mac=52:54:00:00:5e:02"])
    g.start()
    try:
        g.sh("ip link set eth0 up && ip addr add 10.0.2.15/24 dev eth0")
        g.sh("grep -q configfs /proc/mounts || mount -t configfs none /sys/kernel/config")
        g.sh(" && ".join([
            "cd %s" % CFG,
            "mkdir subsystems/%s" % NQN,
            "echo 1 > subsystems/%s/attr_allow_any_host" % NQN,
            "mkdir subsystems/%s/namespaces/1" % NQN,
            "echo -n /dev/vda > subsystems/%s/namespaces/1/device_path" % NQN,
            "echo 1 > subsystems/%s/namespaces/1/enable" % NQN,
            "mkdir subsystems/%s" % LOCKED,
            "echo 0 > subsystems/%s/attr_allow_any_host" % LOCKED,
            "mkdir ports/1",
            "echo tcp > ports/1/addr_trtype",
            "echo ipv4 > ports/1/addr_adrfam",
            "echo 10.0.2.15 > ports/1/addr_traddr",
            "echo 4420 > ports/1/addr_trsvcid",
            "ln -s %s/subsystems/%s ports/1/subsystems/%s" % (CFG, NQN, NQN),
            "ln -s %s/subsystems/%s ports/1/subsystems/%s" % (CFG, LOCKED, LOCKED)]))
    except Exception:
        g.stop()
        raise
    yield g, port
    alive = g.running()
    g.stop()
    shutil.rmtree(d, ignore_errors=True)
    assert alive, "guest died:\n" + g.console_text()[-3000:]


def nvmf_host(port, *args, nqn=NQN, **kw):
    """nvmf-host with a connect timeout for a TCG guest's kernel target."""
    kw.setdefault("timeout", 300)
    return nvmf_host_run(port, *args, nqn=nqn, extra=("--connect-timeout", "20000"), **kw)


def test_discovery_and_identify(env):
    g, port = env
    out = nvmf_host(port, "discover", nqn=None).stdout.decode()
    nqns = [json.loads(l)["subnqn"] for l in out.splitlines()]
    assert NQN in nqns, out
    j = json.loads(nvmf_host(port, "identify").stdout)
    assert j["subnqn"] == NQN and j["model"].startswith("Linux"), j
    assert j["csts"] & 1 and j["cc"] & 1, j
    ns = j["namespaces"]
    assert len(ns) == 1 and ns[0]["num_blocks"] * ns[0]["block_size"] == 64 << 20, ns


def test_verify_two_queues_digests(env):
    g, port = env
    j = json.loads(nvmf_host(port, "--hdgst", "--ddgst", "-Q", 2, "-d", 8, "--ios", 1500,
                             "--bs-max", 65536, "verify").stdout)
    assert j["errors"] == 0 and j["mismatches"] == 0, j
    assert j["reads"] > 0 and j["writes"] > 0, j


def test_guest_reads_what_we_wrote(env):
    """R2T-sized and in-capsule writes from our initiator, read in the guest straight
    from the disk nvmet exports."""
    g, port = env
    data = os.urandom(256 << 10)
    nvmf_host(port, "--ddgst", "write", 8 << 20, len(data), stdin=data)
    small = os.urandom(4096)
    nvmf_host(port, "write", 12 << 20, len(small), stdin=small)
    got = g.sh("dd if=/dev/vda bs=4096 skip=%d count=64 iflag=direct 2>/dev/null | md5sum"
               % ((8 << 20) // 4096)).split()[0]
    import hashlib
    assert got == hashlib.md5(data).hexdigest()
    got = g.sh("dd if=/dev/vda bs=4096 skip=%d count=1 iflag=direct 2>/dev/null | md5sum"
               % ((12 << 20) // 4096)).split()[0]
    assert got == hashlib.md5(small).hexdigest()
    # and what the guest writes, we read
    g.sh("dd if=/dev/urandom of=/tmp/pat bs=4096 count=8 2>/dev/null && "
         "dd if=/tmp/pat of=/dev/vda bs=4096 seek=%d oflag=direct 2>/dev/null" % ((16 << 20) // 4096))
    want = g.sh("md5sum < /tmp/pat").split()[0]
    assert hashlib.md5(nvmf_host(port, "read", 16 << 20, 32768).stdout).hexdigest() == want


def test_kernel_refusals(env):
    g, port = env
    r = nvmf_host(port, "identify", nqn="nqn.2024-01.io.ipdk:nosuch", check=False)
    assert r.returncode == 1 and b"no subsystem nqn.2024-01.io.ipdk:nosuch" in r.stderr, r.stderr
    r = nvmf_host(port, "identify", nqn=LOCKED, check=False)
    assert r.returncode == 1 and b"does not allow host" in r.stderr, r.stderr
