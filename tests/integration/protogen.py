"""Python message classes for the integration tests, generated at import time
from our own protos (proto/), so the tests speak the wire format the daemons
are built from and need no checked-in generated code. One place runs
grpc_tools (python3-grpc-tools) or, without it, the protoc binary; the
client modules (p4rt_client, test_gnmi, test_rpc) name the protos they need.
"""
import os
import subprocess
import sys
import tempfile

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROTO = os.path.join(SRC, "proto")
_dirs = []      # the generated code's directories, removed when Python exits


def generate(protos, what, prefix="ipdk-py-"):
    """Generates Python code for protos (paths under proto/) into a new
    temporary directory (removed at exit), puts it first on sys.path and
    returns it; what names the protos when generation fails."""
    _dirs.append(tempfile.TemporaryDirectory(prefix=prefix))
    out = _dirs[-1].name
    args = ["-I" + PROTO, "-I/usr/include", "--python_out=" + out]
    paths = [os.path.join(PROTO, p) for p in protos]
    try:
        from grpc_tools import protoc
        rc = protoc.main(["protoc"] + args + paths)
    except ImportError:
        rc = subprocess.call(["protoc"] + args + paths)
    assert rc == 0, "generating Python code for %s failed" % what
    sys.path.insert(0, out)
    return out
