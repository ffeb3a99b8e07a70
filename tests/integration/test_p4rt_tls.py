"""P4Runtime security in infrap4d: mutual TLS by default with certificates
from scripts/gen-certs.sh. A client with a certificate from the daemon's CA
works; no certificate, a certificate from another CA and plaintext are
refused. Without certificates the daemon runs without P4Runtime unless
P4Runtime was asked for explicitly, in which case it refuses to start.
"""
import os
import subprocess

import grpc
import pytest

import p4rt_client as pc
from p4rt_client import p4

SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def gen(d, name):
    subprocess.run([os.path.join(SRC, "scripts", "gen-certs.sh"), "-n", name, d, "localhost",
                    "127.0.0.1"], check=True, capture_output=True)


def read(d, f):
    with open(os.path.join(d, f), "rb") as fh:
        return fh.read()


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    good = str(tmp_path_factory.mktemp("p4rt-ca"))
    other = str(tmp_path_factory.mktemp("p4rt-other-ca"))
    gen(good, "ipdk-test-ca")
    gen(other, "someone-else-ca")
    return good, other


@pytest.fixture(scope="module")
def daemon(module_infrap4d, certs):
    d = module_infrap4d(args=["--grpc-cert-dir", certs[0], "--p4rt-listen", "127.0.0.1:0"])
    return d, pc.port_from_log(d)


def caps(port, creds=None):
    ch = pc.channel(port, creds, host="localhost") if creds else pc.channel(port)
    try:
        return pc.Client(ch).capabilities(p4.CapabilitiesRequest(), timeout=5)
    finally:
        ch.close()


def test_client_with_certificate_from_the_ca_works(daemon, certs):
    d, port = daemon
    good = certs[0]
    creds = grpc.ssl_channel_credentials(read(good, "ca.crt"), read(good, "client.key"),
                                         read(good, "client.crt"))
    assert caps(port, creds).p4runtime_api_version == "1.4.0"


def test_client_without_certificate_is_refused(daemon, certs):
    d, port = daemon
    with pytest.raises(grpc.RpcError) as e:
        caps(port, grpc.ssl_channel_credentials(read(certs[0], "ca.crt")))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_certificate_from_another_ca_is_refused(daemon, certs):
    d, port = daemon
    good, other = certs
    with pytest.raises(grpc.RpcError) as e:
        caps(port, grpc.ssl_channel_credentials(read(good, "ca.crt"), read(other, "client.key"),
                                                read(other, "client.crt")))
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE


def test_plaintext_is_refused(daemon):
    d, port = daemon
    with pytest.raises(grpc.RpcError) as e:
        caps(port)
    assert e.value.code() == grpc.StatusCode.UNAVAILABLE
    assert d.alive()


def test_missing_certificates(infrap4d, tmp_path):
    # explicit: refuses to start and says why
    d = infrap4d(args=["--grpc-cert-dir", str(tmp_path), "--p4rt-listen", "127.0.0.1:0"],
                 ready=False)
    assert d.proc.wait(30) == 1
    d.stopped = True
    log = d.log_text()
    assert "server.crt" in log and "gen-certs.sh" in log
    # defaults only: runs without P4Runtime (the demo's case)
    d2 = infrap4d()
    assert "running without P4Runtime" in d2.log_text()
