"""Integration tests of lib/rpc, the shared gRPC server module.

Real gRPC clients (Debian's python3-grpcio) talk to tests/integration/
rpc_echo_server.c, which serves ipdk.test.Echo through lib/rpc. Covered: every
call kind, deferred completion, unknown methods, malformed requests, error
details (google.rpc.Status), large messages and the size limit, clients that
vanish mid-stream, back-pressure, SIGTERM with open streams, and the three
security modes with certificates from scripts/gen-certs.sh.

Run through meson (`meson test -C build rpc_integration`), which sets
RPC_ECHO_SERVER; IPDK_SRC defaults to the repository this file is in.
"""
import os
import select
import signal
import subprocess
import tempfile
import threading
import time

import grpc
import pytest

import protogen

SRC = os.environ.get('IPDK_SRC',
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SERVER = os.environ.get('RPC_ECHO_SERVER',
                        os.path.join(SRC, 'build', 'lib', 'rpc', 'rpc_echo_server'))
BIG = 64 << 20
CLIENT_OPTS = [('grpc.max_receive_message_length', BIG),
               ('grpc.max_send_message_length', BIG)]


protogen.generate(['ipdk/test/echo.proto', 'google/rpc/status.proto'], 'the test protos',
                  'ipdk-rpc-py-')
from ipdk.test import echo_pb2  # noqa: E402
from google.rpc import status_pb2  # noqa: E402

pb = echo_pb2


class Echo:
    """Typed callables for each Echo method on a channel."""

    def __init__(self, channel):
        def m(kind, name, req, rep):
            return getattr(channel, kind)('/ipdk.test.Echo/' + name,
                                          request_serializer=req.SerializeToString,
                                          response_deserializer=rep.FromString)
        self.channel = channel
        self.say = m('unary_unary', 'Say', pb.EchoRequest, pb.EchoReply)
        self.count = m('unary_stream', 'Count', pb.CountRequest, pb.EchoReply)
        self.sum = m('stream_unary', 'Sum', pb.CountRequest, pb.EchoReply)
        self.chat = m('stream_stream', 'Chat', pb.EchoRequest, pb.EchoReply)
        self.stats = m('unary_unary', 'Stats', pb.StatsRequest, pb.StatsReply)
        self.raw_say = channel.unary_unary('/ipdk.test.Echo/Say')


class Server:
    """One rpc_echo_server process; stderr goes to a file the tests can read."""

    def __init__(self, *args):
        self.log = tempfile.NamedTemporaryFile(prefix='ipdk-rpc-server-', suffix='.log')
        self.proc = subprocess.Popen([SERVER, '--listen', '127.0.0.1:0'] + list(args),
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 10)
        line = self.proc.stdout.readline() if ready else ''
        if not line.startswith('PORT '):
            self.stop()
            raise RuntimeError('echo server did not start: ' + self.stderr())
        self.port = int(line.split()[1])
        self.target = '127.0.0.1:%d' % self.port

    def stderr(self):
        with open(self.log.name) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        """Stops the server; returns its exit status (0 after a clean SIGTERM)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc.stdout.close()
        self.final_log = self.stderr()
        self.log.close()
        return self.proc.returncode

    def stop_clean(self):
        """Stops the server and fails the test unless it exited cleanly (this
        also catches sanitizer reports when the server is built with them)."""
        rc = self.stop()
        assert rc == 0, self.final_log
        assert 'Sanitizer' not in self.final_log, self.final_log
        assert 'runtime error' not in self.final_log, self.final_log


@pytest.fixture(scope='module')
def certs():
    """Two CAs: 'good' is the one the servers trust, 'other' signs a stranger."""
    d = tempfile.TemporaryDirectory(prefix='ipdk-rpc-certs-')
    script = os.path.join(SRC, 'scripts', 'gen-certs.sh')
    out = {}
    for name in ('good', 'other'):
        path = os.path.join(d.name, name)
        subprocess.run([script, '-n', 'ipdk test CA ' + name, path, 'localhost', '127.0.0.1'],
                       check=True, stdout=subprocess.DEVNULL)
        out[name] = {f: open(os.path.join(path, f), 'rb').read()
                     for f in ('ca.crt', 'server.crt', 'client.crt', 'client.key')}
        out[name]['dir'] = path
    yield out
    d.cleanup()


@pytest.fixture(scope='module')
def server():
    s = Server('--security', 'insecure')
    yield s
    s.stop_clean()


@pytest.fixture
def echo(server):
    ch = grpc.insecure_channel(server.target, options=CLIENT_OPTS)
    yield Echo(ch)
    ch.close()


def active_calls(echo):
    """Open calls on the server, not counting the Stats call asking."""
    return echo.stats(pb.StatsRequest(), timeout=3).active_calls - 1


def wait_idle(echo, timeout=10.0):
    # Returns as soon as the server is idle; the limit is generous because a
    # cancelled stream ends only after gRPC has failed its pending sends,
    # which on a loaded 2-core CI machine took over 3 s once.
    deadline = time.monotonic() + timeout
    while active_calls(echo) and time.monotonic() < deadline:
        time.sleep(0.05)
    return active_calls(echo)


# ---- call kinds ----

def test_unary_echo(echo):
    reply = echo.say(pb.EchoRequest(text='hello', payload=b'\x00\x01\x02'), timeout=3)
    assert reply.text == 'hello'
    assert reply.payload == b'\x00\x01\x02'


def test_server_streaming(echo):
    replies = list(echo.count(pb.CountRequest(count=2000, payload_size=100), timeout=10))
    assert [r.seq for r in replies] == list(range(2000))
    assert all(len(r.payload) == 100 for r in replies)


def test_client_streaming(echo):
    reply = echo.sum(iter([pb.CountRequest(count=i) for i in range(101)]), timeout=5)
    assert reply.seq == 5050


def test_bidi_streaming_many_messages(echo):
    n = 3000
    reqs = (pb.EchoRequest(text='m%d' % i, payload=bytes([i % 256]) * 64) for i in range(n))
    replies = list(echo.chat(reqs, timeout=20))
    assert len(replies) == n
    assert [r.seq for r in replies] == list(range(n))
    assert replies[1234].text == 'm1234'
    assert replies[1234].payload == bytes([1234 % 256]) * 64


def test_deferred_completion_does_not_stall_workers(echo):
    # More slow calls than the server has worker threads: if a handler held
    # its worker, the quick call below would wait for them.
    slow = [echo.say.future(pb.EchoRequest(text='slow%d' % i, delay_ms=1500), timeout=10)
            for i in range(4)]
    time.sleep(0.2)
    t0 = time.monotonic()
    assert echo.say(pb.EchoRequest(text='quick'), timeout=5).text == 'quick'
    assert time.monotonic() - t0 < 1.0
    assert not any(f.done() for f in slow)
    assert sorted(f.result().text for f in slow) == ['slow0', 'slow1', 'slow2', 'slow3']


# ---- errors ----

def test_unknown_method_is_unimplemented(echo):
    with pytest.raises(grpc.RpcError) as e:
        echo.channel.unary_unary('/ipdk.test.Echo/Nope')(b'', timeout=3)
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    assert '/ipdk.test.Echo/Nope' in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        list(echo.channel.stream_stream('/no.Such/Service')(iter([b'x']), timeout=3))
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED


@pytest.mark.parametrize('garbage', [
    b'\x0a\xff\xff\xff\xff\x0f',        # field 1, length beyond the buffer
    b'\xff\xff\xff\xff\xff\xff\xff',    # invalid tag varint
    b'\x0b',                            # group start, never closed
    b'\x1a\x05abc',                     # truncated bytes field
])
def test_malformed_request_is_invalid_argument(server, echo, garbage):
    with pytest.raises(grpc.RpcError) as e:
        echo.raw_say(garbage, timeout=3)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert 'ipdk.test.EchoRequest' in e.value.details()
    assert server.alive()
    assert echo.say(pb.EchoRequest(text='still here'), timeout=3).text == 'still here'


def test_malformed_message_in_stream(server, echo):
    raw_chat = echo.channel.stream_stream('/ipdk.test.Echo/Chat')
    good = pb.EchoRequest(text='ok').SerializeToString()
    it = raw_chat(iter([good, b'\x0a\xff\xff\xff\xff\x0f', good]), timeout=5)
    first = pb.EchoReply.FromString(next(it))
    assert first.text == 'ok'
    with pytest.raises(grpc.RpcError) as e:
        list(it)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert server.alive()
    assert wait_idle(echo) == 0


def test_error_details_decode_as_google_rpc_status(echo):
    with pytest.raises(grpc.RpcError) as e:
        echo.say(pb.EchoRequest(fail_code=grpc.StatusCode.NOT_FOUND.value[0],
                                fail_message='table ipv4_host: no entry for 10.0.0.1'),
                 timeout=3)
    err = e.value
    assert err.code() == grpc.StatusCode.NOT_FOUND
    assert err.details() == 'table ipv4_host: no entry for 10.0.0.1'
    blobs = [v for k, v in err.trailing_metadata() if k == 'grpc-status-details-bin']
    assert len(blobs) == 1
    status = status_pb2.Status.FromString(blobs[0])
    assert status.code == grpc.StatusCode.NOT_FOUND.value[0]
    assert status.message == err.details()
    assert len(status.details) == 1
    assert status.details[0].type_url == 'type.googleapis.com/ipdk.test.EchoReply'
    detail = pb.EchoReply()
    assert status.details[0].Unpack(detail)
    assert detail.text == 'table ipv4_host: no entry for 10.0.0.1'


def test_out_of_range_status_code_becomes_unknown(echo):
    with pytest.raises(grpc.RpcError) as e:
        echo.say(pb.EchoRequest(fail_code=99, fail_message='odd'), timeout=3)
    assert e.value.code() == grpc.StatusCode.UNKNOWN
    blobs = [v for k, v in e.value.trailing_metadata() if k == 'grpc-status-details-bin']
    assert status_pb2.Status.FromString(blobs[0]).code == grpc.StatusCode.UNKNOWN.value[0]


def test_error_from_deferred_handler(echo):
    with pytest.raises(grpc.RpcError) as e:
        echo.say(pb.EchoRequest(fail_code=grpc.StatusCode.ALREADY_EXISTS.value[0],
                                fail_message='late', delay_ms=100), timeout=3)
    assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS


# ---- sizes ----

def test_large_message_round_trip(echo):
    payload = os.urandom(1 << 20) * 20
    reply = echo.say(pb.EchoRequest(text='big', payload=payload), timeout=20)
    assert reply.payload == payload


def test_max_message_size_is_configurable():
    s = Server('--security', 'insecure', '--max-message', str(1 << 20))
    try:
        ch = grpc.insecure_channel(s.target, options=CLIENT_OPTS)
        echo = Echo(ch)
        assert len(echo.say(pb.EchoRequest(payload=b'a' * (512 << 10)), timeout=5).payload) \
            == 512 << 10
        with pytest.raises(grpc.RpcError) as e:
            echo.say(pb.EchoRequest(payload=b'a' * (2 << 20)), timeout=5)
        assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert echo.say(pb.EchoRequest(text='after'), timeout=5).text == 'after'
        ch.close()
    finally:
        s.stop_clean()


# ---- peers that go away, back-pressure, shutdown ----

def test_client_disconnect_mid_stream(server, echo):
    stream = echo.count(pb.CountRequest(count=0, payload_size=1000), timeout=30)
    for _ in range(50):
        next(stream)
    chat_reqs = threading.Event()

    def chat_gen():
        yield pb.EchoRequest(text='one')
        chat_reqs.wait(5)

    chat = echo.chat(chat_gen(), timeout=30)
    assert next(chat).text == 'one'
    assert active_calls(echo) == 2
    stream.cancel()
    chat.cancel()
    chat_reqs.set()
    assert wait_idle(echo) == 0
    # A whole channel going away (connection closed) mid-stream.
    ch2 = grpc.insecure_channel(server.target)
    s2 = Echo(ch2).count(pb.CountRequest(count=0, interval_ms=10), timeout=30)
    next(s2)
    ch2.close()
    assert wait_idle(echo) == 0
    assert server.alive()
    assert echo.say(pb.EchoRequest(text='healthy'), timeout=3).text == 'healthy'


def rss_kib(pid):
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            if line.startswith('VmRSS:'):
                return int(line.split()[1])
    return 0


def test_stream_back_pressure_bounds_memory(server, echo):
    # The server thread produces 64 KiB replies as fast as it can; the client
    # reads none for a second. With a bounded send queue the producer waits.
    before = rss_kib(server.proc.pid)
    stream = echo.count(pb.CountRequest(count=0, payload_size=64 << 10), timeout=30)
    time.sleep(1.0)
    grown = rss_kib(server.proc.pid) - before
    got = [next(stream).seq for _ in range(100)]
    stream.cancel()
    assert got == list(range(100))
    assert grown < 48 << 10, 'server grew %d KiB while the client did not read' % grown
    assert wait_idle(echo) == 0, server.stderr()[-4000:]


def test_try_send_eagain_and_on_writable(echo):
    # The handler sends from its worker with ipdk_rpc_try_send(); a client
    # that reads late fills the queue, so it must see -EAGAIN and resume from
    # on_writable without losing or reordering replies.
    n = 5000
    stream = echo.count(pb.CountRequest(count=n, payload_size=4096, nowait=True), timeout=30)
    time.sleep(0.5)
    replies = list(stream)
    assert [r.seq for r in replies] == list(range(n))
    assert int(replies[-1].text) > 0, 'the send queue never filled'
    assert wait_idle(echo) == 0


def test_sigterm_with_open_streams_stops_quickly():
    s = Server('--security', 'insecure')
    ch = grpc.insecure_channel(s.target)
    echo = Echo(ch)
    forever = echo.count(pb.CountRequest(count=0, interval_ms=20), timeout=60)
    next(forever)
    hold = threading.Event()

    def chat_gen():
        yield pb.EchoRequest(text='x')
        hold.wait(30)

    chat = echo.chat(chat_gen(), timeout=60)
    next(chat)
    slow = echo.say.future(pb.EchoRequest(text='slow', delay_ms=20000), timeout=60)
    time.sleep(0.2)
    t0 = time.monotonic()
    s.proc.send_signal(signal.SIGTERM)
    try:
        rc = s.proc.wait(5)
    finally:
        hold.set()
    elapsed = time.monotonic() - t0
    out = s.proc.stdout.read()
    assert s.stop() == 0
    log = s.final_log
    assert rc == 0, log
    assert 'Sanitizer' not in log, log
    assert 'STOPPED' in out
    assert elapsed < 3.0
    for call in (forever, chat):
        with pytest.raises(grpc.RpcError) as e:
            list(call)
        assert e.value.code() in (grpc.StatusCode.CANCELLED, grpc.StatusCode.UNAVAILABLE)
    with pytest.raises(grpc.RpcError):
        slow.result()
    ch.close()


# ---- security ----

def tls_channel(port, root=None, key=None, chain=None):
    creds = grpc.ssl_channel_credentials(root_certificates=root, private_key=key,
                                         certificate_chain=chain)
    return grpc.secure_channel('localhost:%d' % port, creds)


def refused(channel):
    try:
        Echo(channel).say(pb.EchoRequest(text='x'), timeout=3)
    except grpc.RpcError as e:
        return e.code() == grpc.StatusCode.UNAVAILABLE
    finally:
        channel.close()
    return False


@pytest.fixture(scope='module')
def mtls_server(certs):
    s = Server('--security', 'mtls', '--certs', certs['good']['dir'])
    yield s
    s.stop_clean()


def test_mtls_client_with_ca_cert_works(certs, mtls_server):
    c = certs['good']
    ch = tls_channel(mtls_server.port, c['ca.crt'], c['client.key'], c['client.crt'])
    assert Echo(ch).say(pb.EchoRequest(text='mtls'), timeout=5).text == 'mtls'
    replies = list(Echo(ch).chat(iter([pb.EchoRequest(text=str(i)) for i in range(100)]),
                                 timeout=5))
    assert len(replies) == 100
    ch.close()


def test_mtls_refuses_client_without_cert(certs, mtls_server):
    assert refused(tls_channel(mtls_server.port, certs['good']['ca.crt']))


def test_mtls_refuses_cert_from_other_ca(certs, mtls_server):
    o = certs['other']
    assert refused(tls_channel(mtls_server.port, certs['good']['ca.crt'],
                               o['client.key'], o['client.crt']))


def test_mtls_refuses_plaintext_client(mtls_server):
    assert refused(grpc.insecure_channel(mtls_server.target))
    assert mtls_server.alive()


def test_client_refuses_server_it_does_not_trust(certs, mtls_server):
    o = certs['other']
    assert refused(tls_channel(mtls_server.port, o['ca.crt'], o['client.key'], o['client.crt']))


def test_grpc_logs_reach_ipdk_log(mtls_server):
    # Refused handshakes above make gRPC log; its lines must come out in
    # ipdk_log's format ("name[LEVEL] grpc: ..."), not gRPC's own.
    log = mtls_server.stderr()
    assert 'rpc_echo_server[INFO] rpc server listening' in log
    grpc_lines = [l for l in log.splitlines() if 'grpc: ' in l]
    assert grpc_lines, log
    assert all('rpc_echo_server[' in l for l in grpc_lines)


def test_server_only_tls(certs):
    s = Server('--security', 'tls', '--certs', certs['good']['dir'])
    try:
        ch = tls_channel(s.port, certs['good']['ca.crt'])
        assert Echo(ch).say(pb.EchoRequest(text='tls'), timeout=5).text == 'tls'
        ch.close()
        assert refused(grpc.insecure_channel(s.target))
    finally:
        s.stop_clean()


def test_tls_server_needs_its_certificate(tmp_path):
    s = subprocess.run([SERVER, '--listen', '127.0.0.1:0', '--security', 'mtls',
                        '--certs', str(tmp_path)], capture_output=True, text=True, timeout=10)
    assert s.returncode == 1
    assert 'server.crt' in s.stderr


def test_insecure_mode_is_explicit_and_works(server, echo):
    assert 'insecure mode' in server.stderr()
    assert echo.say(pb.EchoRequest(text='plain'), timeout=3).text == 'plain'
