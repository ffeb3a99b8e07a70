"""Helpers for the Storage Management Agent tests: Python code generated from
proto/sma at import time, a small SMA client on grpcio, and storaged in ipu
mode with its control socket. Shared by tests/integration/test_sma*.py and
tests/vm/test_storage_ipu.py."""
import json
import os
import subprocess
import uuid

import grpc
import pytest

import protogen
from storaged import BUILD, STORAGED, Storaged

SRC = os.environ.get("IPDK_SRC", os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))
SMA_CTL = os.path.join(BUILD, "tools", "sma-ctl")


protogen.generate(["sma/%s.proto" % p for p in ("sma", "nvme", "virtio_blk", "nvmf_tcp", "nvmf")],
                  "proto/sma", prefix="ipdk-sma-py-")
from sma import sma_pb2 as pb  # noqa: E402

METHODS = {
    "CreateDevice": (pb.CreateDeviceRequest, pb.CreateDeviceResponse),
    "DeleteDevice": (pb.DeleteDeviceRequest, pb.DeleteDeviceResponse),
    "AttachVolume": (pb.AttachVolumeRequest, pb.AttachVolumeResponse),
    "DetachVolume": (pb.DetachVolumeRequest, pb.DetachVolumeResponse),
    "SetQos": (pb.SetQosRequest, pb.SetQosResponse),
    "GetQosCapabilities": (pb.GetQosCapabilitiesRequest, pb.GetQosCapabilitiesResponse),
}


class SmaClient:
    """Calls sma.StorageManagementAgent; raw() sends any bytes as a request."""

    def __init__(self, port, creds=None, host="127.0.0.1"):
        target = "%s:%d" % (host, port)
        self.channel = (grpc.secure_channel(target, creds) if creds
                        else grpc.insecure_channel(target))
        self.stubs = {}
        for name, (req, rep) in METHODS.items():
            self.stubs[name] = self.channel.unary_unary(
                "/sma.StorageManagementAgent/" + name,
                request_serializer=req.SerializeToString,
                response_deserializer=rep.FromString)

    def call(self, name, req, timeout=60):
        return self.stubs[name](req, timeout=timeout)

    def error(self, name, req, timeout=60):
        """Makes a call that must fail; returns (code, details)."""
        with pytest.raises(grpc.RpcError) as e:
            self.call(name, req, timeout)
        return e.value.code(), e.value.details()

    def raw(self, name, data, timeout=30):
        fn = self.channel.unary_unary("/sma.StorageManagementAgent/" + name,
                                      request_serializer=lambda b: b,
                                      response_deserializer=lambda b: b)
        return fn(data, timeout=timeout)

    def create_virtio_blk(self, volume, physical_id, timeout=60):
        req = pb.CreateDeviceRequest(volume=volume)
        req.virtio_blk.physical_id = physical_id
        return self.call("CreateDevice", req, timeout).handle

    def delete(self, handle, timeout=60):
        self.call("DeleteDevice", pb.DeleteDeviceRequest(handle=handle), timeout)

    def close(self):
        self.channel.close()


def sma_ctl(target, ipu, *args, rc=0):
    """Runs sma-ctl against a target's control socket and ipu's SMA (insecure);
    returns stdout, or stderr when rc (the expected exit status) is not 0."""
    if not os.access(SMA_CTL, os.X_OK):
        pytest.fail("sma-ctl not built: %s" % SMA_CTL)
    r = subprocess.run([SMA_CTL, "-T", target.sock, "-s", "127.0.0.1:%d" % ipu.sma_port,
                        "--grpc-security", "insecure"] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == rc, "sma-ctl %s: %d\n%s%s" % (" ".join(map(str, args)),
                                                        r.returncode, r.stdout, r.stderr)
    return r.stdout if rc == 0 else r.stderr


def local_volume(vid):
    """A volume that is a block device storaged knows by the UUID's text."""
    return pb.VolumeParameters(volume_id=uuid.UUID(vid).bytes)


def remote_volume(vid, port, subnqn="", hostnqn="", addr="127.0.0.1"):
    v = pb.VolumeParameters(volume_id=uuid.UUID(vid).bytes)
    v.nvmf.subnqn = subnqn
    v.nvmf.hostnqn = hostnqn
    v.nvmf.discovery.discovery_endpoints.add(trtype="tcp", traddr=addr, trsvcid=str(port))
    return v


class IpuStoraged(Storaged):
    """storaged --mode ipu: the SMA on a free port (insecure unless args say
    otherwise), the vhost-user sockets in workdir/vhost."""

    def __init__(self, workdir, config=(), args=(), qmp=None, name="ipu", state=True):
        self.qmp = qmp
        self.vhost_dir = os.path.join(workdir, "vhost-" + name)
        self.state = os.path.join(workdir, name + "-state.json") if state else None
        self.sma_port = None
        Storaged.__init__(self, workdir, config=config, args=args, name=name)

    def start(self):
        cfg = os.path.join(self.workdir, "%s-%d.cfg" % (os.path.basename(self.sock), os.getpid()))
        with open(cfg, "w") as f:
            f.write("\n".join(self.config) + "\n")
        cmd = [STORAGED, "--mode", "ipu", "-S", self.sock, "-c", cfg,
               "--vhost-dir", self.vhost_dir]
        if not any(a.startswith("--grpc-security") for a in self.args):
            cmd += ["--grpc-security", "insecure"]
        if not any(a.startswith("--sma-listen") for a in self.args):
            cmd += ["--sma-listen", "127.0.0.1:%d" % (self.sma_port or 0)]
        if self.qmp:
            cmd += ["--qmp", self.qmp]
        if self.state:
            cmd += ["--state", self.state]
        self.sma_port = self.launch(cmd + self.args, r"ipu mode ready \(SMA port (\d+)", 15)

    def devices(self):
        return [json.loads(l) for l in self.ctl("sma_devices").splitlines() if l.strip()]
