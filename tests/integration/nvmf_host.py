"""Runs tools/nvmf-host (ipdk's NVMe/TCP initiator on the command line) for the
storage tests in tests/integration and tests/vm."""
import os
import subprocess

import pytest

from storaged import BUILD

NVMF_HOST = os.path.join(BUILD, "tools", "nvmf-host")


def run(port, *args, nqn=None, check=True, stdin=None, timeout=120, extra=()):
    """nvmf-host -a 127.0.0.1 -p PORT [-n NQN] EXTRA ARGS...; asserts success
    unless check is false; returns the CompletedProcess (bytes)."""
    if not os.access(NVMF_HOST, os.X_OK):
        pytest.fail("nvmf-host not built: %s (set IPDK_BUILD)" % NVMF_HOST)
    cmd = [NVMF_HOST, "-a", "127.0.0.1", "-p", str(port)] + list(extra)
    if nqn:
        cmd += ["-n", nqn]
    r = subprocess.run(cmd + [str(a) for a in args], input=stdin, capture_output=True,
                       timeout=timeout)
    if check:
        assert r.returncode == 0, "nvmf-host %s: %d\n%s" % (" ".join(map(str, args)),
                                                            r.returncode, r.stderr.decode())
    return r
