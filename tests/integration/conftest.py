"""Fixtures for infrap4d's integration tests (helpers live in ipdk_net.py).

Nothing here starts infrap4d by itself and nothing is autouse:
test_rpc.py shares this directory and must run without a daemon.
"""
import subprocess
import tempfile

import pytest

from ipdk_net import TOKEN, Host, _Starter


@pytest.fixture
def hosts():
    """Factory: hosts(n, ...) or hosts.add(...); all removed at teardown."""
    made = []

    class Factory:
        def add(self, mac, ip, **kw):
            h = Host(len(made), mac, ip, **kw)
            made.append(h)
            return h

        def l2(self, n, subnet="10.0.0"):
            """n hosts on one subnet, each knowing the others' MACs."""
            hs = [self.add("02:00:00:00:00:%02x" % (i + 1), "%s.%d" % (subnet, i + 1))
                  for i in range(n)]
            for a in hs:
                for b in hs:
                    if a is not b:
                        a.neigh(b.ip, b.mac)
            return hs

    yield Factory()
    for h in made:
        h.destroy()


@pytest.fixture(scope="module")
def module_hosts():
    """Like hosts, but shared by a module's tests."""
    made = []

    def add(mac, ip, **kw):
        h = Host(len(made), mac, ip, **kw)
        made.append(h)
        return h

    yield add
    for h in made:
        h.destroy()


@pytest.fixture(scope="session")
def workdir():
    d = tempfile.mkdtemp(prefix="ipdk-it-%s-" % TOKEN)
    yield d
    subprocess.run(["rm", "-rf", d])


@pytest.fixture
def infrap4d(workdir):
    """Factory: infrap4d(ports=[...], spec=..., entries=[...]) starts a daemon
    and waits for its socket; all are stopped (cleanly, or the test errors)
    at teardown."""
    s = _Starter(workdir)
    yield s
    s.stop_all()


@pytest.fixture(scope="module")
def module_infrap4d(workdir):
    s = _Starter(workdir)
    yield s
    s.stop_all()

