"""The guest harness itself: the command agent returns stdout, stderr and the
exit status of what it runs (any bytes, large outputs, a script killed at its
timeout, requests after that), the harness's QMP sees the guest, and fio runs
in the guest from a JSON job description (the storage tests rely on it)."""
import pytest

import ipdk_vm


@pytest.fixture(scope="module")
def fio_guest(image, workdir):
    g = ipdk_vm.Guest(workdir=workdir, root_ports=1, mem_mb=512, fio=True)
    g.start()
    yield g
    g.stop()


def test_agent_output_and_status(fio_guest):
    g = fio_guest
    r = g.run("echo out; echo err >&2; printf 'a\\0b\\377'; exit 7")
    assert r.rc == 7 and r.out == "out\na\x00b\ufffd" and r.err == "err\n", r
    big = g.run("head -c 300000 /dev/zero | tr '\\0' x")
    assert big.rc == 0 and big.out == "x" * 300000
    # Markers inside output do not confuse the framing.
    r = g.run("echo 'END 1 0'; echo BEGIN 2; echo OUT")
    assert r.out == "END 1 0\nBEGIN 2\nOUT\n", r


def test_agent_timeout_then_next_request(fio_guest):
    g = fio_guest
    r = g.run("echo started; sleep 30", timeout=1)
    assert r.rc == 137 and r.out == "started\n", r
    assert g.sh("echo next") == "next\n"


def test_qmp_and_guest_view(fio_guest):
    g = fio_guest
    assert g.qmp.cmd("query-status")["status"] == "running"
    assert g.sh("uname -r").strip().endswith("-amd64")
    # The modules the storage and network tests need are loaded.
    mods = g.sh("cat /proc/modules | cut -d' ' -f1").split()
    for m in ("virtio_net", "virtio_blk", "nvme", "nvme_tcp", "virtio_console"):
        assert m in mods, mods


def test_fio_json_job(fio_guest):
    job = {"global": {"ioengine": "psync", "filename": "/tmp/fio.dat", "size": "2m",
                      "bs": "4k", "verify": "crc32c", "do_verify": 1},
           "jobs": {"rw": {"rw": "randwrite"}}}
    res = fio_guest.fio(job)
    j = res["jobs"][0]
    assert j["jobname"] == "rw" and j["error"] == 0, j
    assert j["write"]["io_bytes"] == 2 * 1024 * 1024
    assert j["read"]["io_bytes"] == 2 * 1024 * 1024   # the verify pass
