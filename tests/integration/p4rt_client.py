"""A small P4Runtime client for the integration tests, on Python classes
generated at import time from our protos (proto/p4/**, google/rpc/status,
ipdk/bundle) by protogen.py. It speaks plain p4.v1 through
python3-grpcio: nothing in it knows about ipdk, so what passes here passes for
any stock P4Runtime client.
"""
import contextlib
import queue
import re
import threading
import time

import grpc

import protogen

BIG = 64 << 20
# Failed Writes of big batches carry one p4.v1.Error per update in a trailer.
OPTS = [("grpc.max_receive_message_length", BIG), ("grpc.max_send_message_length", BIG),
        ("grpc.max_metadata_size", BIG)]

protogen.generate(["p4/v1/p4runtime.proto", "p4/v1/p4data.proto", "p4/config/v1/p4info.proto",
                   "p4/config/v1/p4types.proto", "google/rpc/status.proto",
                   "ipdk/bundle.proto"], "the P4Runtime protos", "ipdk-p4rt-py-")
from p4.v1 import p4runtime_pb2 as p4  # noqa: E402
from p4.config.v1 import p4info_pb2 as p4i  # noqa: E402
from p4.v1 import p4data_pb2 as p4d  # noqa: E402
from google.rpc import status_pb2  # noqa: E402
from ipdk import bundle_pb2  # noqa: E402

SVC = "/p4.v1.P4Runtime/"


def port_from_log(daemon, timeout=10.0):
    """The TCP port infrap4d's P4Runtime service logged."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        m = re.search(r"P4Runtime listening on port (\d+)", daemon.log_text())
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    raise AssertionError("P4Runtime did not start:\n" + daemon.log_text())


def channel(port, creds=None, host="127.0.0.1"):
    target = "%s:%d" % (host, port)
    if creds:
        return grpc.secure_channel(target, creds, options=OPTS)
    return grpc.insecure_channel(target, options=OPTS)


def u128(v):
    return p4.Uint128(high=v >> 64, low=v & ((1 << 64) - 1))


def details(rpc_error):
    """The p4.v1.Error list of a failed Write (from grpc-status-details-bin)."""
    for k, v in rpc_error.trailing_metadata() or ():
        if k == "grpc-status-details-bin":
            st = status_pb2.Status()
            st.ParseFromString(v)
            out = []
            for a in st.details:
                e = p4.Error()
                assert a.Unpack(e), a.type_url
                out.append(e)
            return out
    return []


class Stream:
    """One StreamChannel: a queue of requests and a reader thread."""

    def __init__(self, client):
        self.req = queue.Queue()
        self.resp = queue.Queue()
        self.error = None

        def gen():
            while True:
                m = self.req.get()
                if m is None:
                    return
                yield m
        self.call = client._stream(gen())

        def reader():
            try:
                for r in self.call:
                    self.resp.put(r)
            except grpc.RpcError as e:
                self.error = e
            self.resp.put(None)
        self.thread = threading.Thread(target=reader, daemon=True)
        self.thread.start()

    def send(self, msg):
        self.req.put(msg)

    def arbitrate(self, election_id, device_id=1, role=None):
        a = p4.MasterArbitrationUpdate(device_id=device_id)
        if election_id is not None:
            a.election_id.CopyFrom(u128(election_id))
        if role is not None:
            a.role.name = role
        self.send(p4.StreamMessageRequest(arbitration=a))

    def next(self, kind=None, timeout=5.0):
        """The next response (of a kind: "arbitration", "packet", "error"), or None."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                return None
            try:
                r = self.resp.get(timeout=left)
            except queue.Empty:
                return None
            if r is None:
                self.resp.put(None)
                return None
            if kind is None or r.WhichOneof("update") == kind:
                return r

    def close(self):
        self.req.put(None)
        self.call.cancel()


class Client:
    """Typed callables for the six P4Runtime methods on a channel."""

    def __init__(self, ch, device_id=1):
        self.ch = ch
        self.device_id = device_id
        self.election = None
        self.role = ""

        def m(kind, name, req, rep):
            return getattr(ch, kind)(SVC + name, request_serializer=req.SerializeToString,
                                     response_deserializer=rep.FromString)
        self.capabilities = m("unary_unary", "Capabilities", p4.CapabilitiesRequest,
                              p4.CapabilitiesResponse)
        self._write = m("unary_unary", "Write", p4.WriteRequest, p4.WriteResponse)
        self._read = m("unary_stream", "Read", p4.ReadRequest, p4.ReadResponse)
        self._set = m("unary_unary", "SetForwardingPipelineConfig",
                      p4.SetForwardingPipelineConfigRequest,
                      p4.SetForwardingPipelineConfigResponse)
        self._get = m("unary_unary", "GetForwardingPipelineConfig",
                      p4.GetForwardingPipelineConfigRequest,
                      p4.GetForwardingPipelineConfigResponse)
        self._stream = m("stream_stream", "StreamChannel", p4.StreamMessageRequest,
                         p4.StreamMessageResponse)
        self.raw_write = ch.unary_unary(SVC + "Write")

    def stream(self):
        return Stream(self)

    def become_primary(self, election_id=1, role=None):
        """Opens a stream, arbitrates and checks this client is the primary."""
        s = self.stream()
        s.arbitrate(election_id, self.device_id, role)
        r = s.next("arbitration")
        assert r is not None, "no arbitration reply: %s" % s.error
        assert r.arbitration.status.code == 0, r
        self.election = election_id
        self.role = role or ""
        return s

    def write(self, updates, atomicity=0, election=None):
        req = p4.WriteRequest(device_id=self.device_id, updates=updates, atomicity=atomicity,
                              role=self.role)
        e = self.election if election is None else election
        if e is not None:
            req.election_id.CopyFrom(u128(e))
        return self._write(req, timeout=60)

    def read(self, *entities):
        out = []
        for r in self._read(p4.ReadRequest(device_id=self.device_id, entities=entities),
                            timeout=60):
            out.extend(r.entities)
        return out

    def get_pipeline(self, response_type=0):
        return self._get(p4.GetForwardingPipelineConfigRequest(
            device_id=self.device_id, response_type=response_type), timeout=30).config

    def set_pipeline(self, action, config=None, election=None):
        req = p4.SetForwardingPipelineConfigRequest(device_id=self.device_id, action=action,
                                                    role=self.role)
        e = self.election if election is None else election
        if e is not None:
            req.election_id.CopyFrom(u128(e))
        if config is not None:
            req.config.CopyFrom(config)
        return self._set(req, timeout=60)


@contextlib.contextmanager
def primary(daemon, election_id):
    """A Client of daemon's P4Runtime service (port from its log) that holds
    the primary stream (client.s); stream and channel close on exit."""
    ch = channel(port_from_log(daemon))
    c = Client(ch)
    c.s = c.become_primary(election_id=election_id)
    try:
        yield c
    finally:
        c.s.close()
        ch.close()


class Info:
    """Name lookups in a P4Info (tables, actions, fields, params, externs)."""

    def __init__(self, info):
        self.info = info

    def table(self, name):
        for t in self.info.tables:
            if t.preamble.name == name or t.preamble.alias == name:
                return t
        raise KeyError(name)

    def action(self, name):
        for a in self.info.actions:
            if a.preamble.name == name or a.preamble.alias == name:
                return a
        raise KeyError(name)

    def field_id(self, table, name):
        for f in self.table(table).match_fields:
            if f.name == name:
                return f.id
        raise KeyError(name)

    def param_id(self, action, name):
        for p in self.action(action).params:
            if p.name == name:
                return p.id
        raise KeyError(name)

    def counter(self, name):
        for c in list(self.info.counters) + list(self.info.direct_counters):
            if c.preamble.name == name:
                return c
        raise KeyError(name)

    def register(self, name):
        for c in self.info.registers:
            if c.preamble.name == name:
                return c
        raise KeyError(name)

    def meter(self, name):
        for c in list(self.info.meters) + list(self.info.direct_meters):
            if c.preamble.name == name:
                return c
        raise KeyError(name)

    # -- builders --

    def act(self, name, **params):
        a = p4.Action(action_id=self.action(name).preamble.id)
        for k, v in params.items():
            a.params.add(param_id=self.param_id(name, k), value=to_bytes(v))
        return a

    def entry(self, table, match=None, action=None, priority=0, **params):
        """match: {field: value | (value, prefix_len) for LPM | ("ternary", v, m) |
        ("range", lo, hi) | ("optional", v)}."""
        te = p4.TableEntry(table_id=self.table(table).preamble.id, priority=priority)
        kinds = {f.name: f.match_type for f in self.table(table).match_fields}
        for name, v in (match or {}).items():
            fm = te.match.add(field_id=self.field_id(table, name))
            kind = kinds[name]
            if kind == p4i.MatchField.LPM:
                fm.lpm.value, fm.lpm.prefix_len = to_bytes(v[0]), v[1]
            elif kind == p4i.MatchField.TERNARY:
                fm.ternary.value, fm.ternary.mask = to_bytes(v[0]), to_bytes(v[1])
            elif kind == p4i.MatchField.RANGE:
                fm.range.low, fm.range.high = to_bytes(v[0]), to_bytes(v[1])
            elif kind == p4i.MatchField.OPTIONAL:
                fm.optional.value = to_bytes(v)
            else:
                fm.exact.value = to_bytes(v)
        if action:
            te.action.action.CopyFrom(self.act(action, **params))
        return te


def to_bytes(v):
    """Canonical bytes of an int, or bytes as given (for padded forms)."""
    if isinstance(v, (bytes, bytearray)):
        return bytes(v)
    n = max(1, (v.bit_length() + 7) // 8)
    return v.to_bytes(n, "big")


def update(kind, **entity):
    t = {"insert": p4.Update.INSERT, "modify": p4.Update.MODIFY,
         "delete": p4.Update.DELETE}[kind]
    return p4.Update(type=t, entity=p4.Entity(**entity))


def table_update(kind, te):
    return update(kind, table_entry=te)


def bundle(spec_text, context=None, p4info=None, cookie=None, name="test"):
    """A ForwardingPipelineConfig carrying a BfPipelineConfig (docs/bundle.md)."""
    bf = bundle_pb2.BfPipelineConfig(p4_name=name)
    pr = bf.profiles.add(profile_name="pipe", binary=spec_text.encode())
    if context is not None:
        pr.context = context.encode()
    cfg = p4.ForwardingPipelineConfig(p4_device_config=bf.SerializeToString())
    if p4info is not None:
        cfg.p4info.CopyFrom(p4info)
    if cookie is not None:
        cfg.cookie.cookie = cookie
    return cfg
