"""Fixtures for the VM tests: a booted guest per module, plus the namespace
hosts and infrap4d daemons of the integration tests (ipdk_net.py is shared
with tests/integration)."""
import os
import shutil
import subprocess
import sys
import tempfile

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "integration"))

from ipdk_net import BUILD, TOKEN, Host, _Starter  # noqa: E402
import ipdk_vm  # noqa: E402

VDEV_CTL = os.path.join(BUILD, "tools", "vdev-ctl")


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="ipdk-vm-%s-" % TOKEN)
    yield d
    subprocess.run(["rm", "-rf", d])


@pytest.fixture(scope="session")
def image():
    """The guest kernel and initramfs (built once, then cached)."""
    if not shutil.which(ipdk_vm.QEMU):
        pytest.fail("%s not found: run scripts/deps.sh" % ipdk_vm.QEMU)
    return ipdk_vm.build_image()


@pytest.fixture(scope="module")
def guest(image, workdir):
    """One running guest for a module's tests; its console is printed when
    the module's teardown finds it dead."""
    g = ipdk_vm.Guest(workdir=workdir, root_ports=4)
    g.start()
    yield g
    alive = g.running()
    g.stop()
    assert alive, "guest died during the tests; console:\n%s" % g.console_text()[-3000:]


@pytest.fixture(scope="module")
def module_hosts():
    made = []

    def add(mac, ip, **kw):
        h = Host(len(made), mac, ip, **kw)
        made.append(h)
        return h

    yield add
    for h in made:
        h.destroy()


@pytest.fixture(scope="module")
def module_infrap4d(workdir):
    s = _Starter(workdir)
    yield s
    s.stop_all()


class VdevCtl:
    """vdev-ctl with its own state file."""

    def __init__(self, state):
        if not os.access(VDEV_CTL, os.X_OK):
            pytest.fail("vdev-ctl not built: %s (set IPDK_BUILD)" % VDEV_CTL)
        self.state = state

    def run(self, *args):
        return subprocess.run([VDEV_CTL, "-s", self.state] + [str(a) for a in args],
                              capture_output=True, text=True, timeout=60)

    def ok(self, *args):
        r = self.run(*args)
        assert r.returncode == 0, "vdev-ctl %s failed (%d): %s%s" % (
            " ".join(map(str, args)), r.returncode, r.stdout, r.stderr)
        return r.stdout

    def err(self, *args):
        """Runs a command that must fail; returns its error message."""
        r = self.run(*args)
        assert r.returncode == 1, "expected vdev-ctl %s to fail, got %d: %s%s" % (
            " ".join(map(str, args)), r.returncode, r.stdout, r.stderr)
        assert r.stderr.startswith("error: "), r.stderr
        return r.stderr[len("error: "):].strip()

    def devices(self):
        import json
        return {d["name"]: d for d in json.loads(self.ok("--json", "list"))}
