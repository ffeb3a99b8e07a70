#!/usr/bin/python3
"""gNMI control path figures, each beside a baseline from the same run.

1. Ports: time to create 16 VHOST and 32 TAP ports through gNMI on a running
   infrap4d (python3-grpcio; one Set per port, and one Set holding all 48),
   against the baseline of the same ports made by direct library calls
   (bench_gnmi_ports: ipdk_port_create + ipdk_dpdk_pipeline_port_set into the
   slots of a pipeline a thread runs, what infrap4d does under gNMI). Removal
   of the 48 ports both ways is printed too. (Ports given at start-up were
   tried as a baseline: infrap4d's start-up varies by 200 ms from run to run,
   far more than the ports cost.)

2. Hotplug: from the request to a link that is up in the guest (tests/vm
   harness, QEMU TCG) for a virtio-net device made through gNMI's
   /virtual-devices (which also makes its VHOST port), beside vdev-ctl and raw
   QMP onto a VHOST port that exists already (bench/bench_hotplug.py's ways),
   taking turns in the same run.

python3 bench/bench_gnmi.py BUILD. Knobs: BENCH_GNMI_REPS (default 7),
BENCH_HOTPLUG_ROUNDS (default 10), BENCH_GNMI_SKIP_VM=1 skips part 2.
"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
os.environ.setdefault("IPDK_BUILD", BUILD)
sys.path[:0] = [os.path.join(ROOT, "tests", "vm"), os.path.join(ROOT, "tests", "integration"),
                os.path.join(ROOT, "bench")]
import bench_hotplug as hp  # noqa: E402
import ipdk_vm  # noqa: E402
from test_gnmi import Gnmi, pb, path  # noqa: E402

INFRAP4D = os.path.join(BUILD, "daemons", "infrap4d", "infrap4d")
LIB_BENCH = os.path.join(BUILD, "bench", "bench_gnmi_ports")
SPEC = os.path.join(ROOT, "p4src", "specs", "l2l3.spec")
CTL = os.path.join(BUILD, "tools", "infrap4d-ctl")
REPS = int(os.environ.get("BENCH_GNMI_REPS", "7"))
ROUNDS = int(os.environ.get("BENCH_HOTPLUG_ROUNDS", "10"))
N_VHOST, N_TAP = 16, 32
GNMI_ARGS = ["--no-p4rt", "--grpc-security", "insecure", "--gnmi-listen", "127.0.0.1:0",
             "--port-slots", "64"]


class Daemon:
    def __init__(self, wd, args):
        self.wd = wd
        self.sock = os.path.join(wd, "ctl.sock")
        self.log_path = os.path.join(wd, "infrap4d.log")
        self.log = open(self.log_path, "w")
        # its own state file (written after every Set, as in production)
        args = ["--state-file", os.path.join(wd, "state.json")] + args
        self.proc = subprocess.Popen([INFRAP4D, "-S", self.sock] + args, stdout=self.log,
                                     stderr=subprocess.STDOUT)
        self._wait_ready()

    def _wait_ready(self):
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError("infrap4d exited:\n" + open(self.log_path).read())
            if os.path.exists(self.sock) and subprocess.run(
                    [CTL, "-S", self.sock, "info"], capture_output=True).returncode == 0:
                return time.monotonic()
            time.sleep(0.005)

    def gnmi_port(self):
        for _ in range(200):
            m = re.search(r"gNMI listening on port (\d+)", open(self.log_path).read())
            if m:
                return int(m.group(1))
            time.sleep(0.05)
        raise RuntimeError("no gNMI port in the log")

    def n_ports(self):
        out = subprocess.run([CTL, "-S", self.sock, "-q", "ports"], capture_output=True,
                             text=True).stdout
        return sum(1 for l in out.splitlines()[1:] if "(drop)" not in l)

    def stop(self):
        self.proc.terminate()
        self.proc.wait()
        self.log.close()


def port_specs(wd, tag):
    """The 48 ports: (name, gNMI keys, --port text)."""
    out = []
    for i in range(N_VHOST):
        name, sock = "vh%d" % i, os.path.join(wd, "vh%s%d.sock" % (tag, i))
        out.append((name, {"port-type": "VHOST", "device-type": "VIRTIO_NET", "queues": 1,
                           "socket-path": sock, "host-name": "h%d" % i},
                    "name=%s,type=vhost,socket=%s" % (name, sock)))
    for i in range(N_TAP):
        name = "bgt%s%d" % (tag, i)
        out.append((name, {"port-type": "TAP"}, "name=%s,type=tap,netdev=%s" % (name, name)))
    return out


def updates(name, keys):
    return [pb.Update(path=path("/interfaces/virtual-interface[name=%s]/config/%s" % (name, k)),
                      val=pb.TypedValue(uint_val=v) if isinstance(v, int)
                      else pb.TypedValue(string_val=v)) for k, v in keys.items()]


def gnmi_round(wd, specs, batch):
    d = Daemon(wd, GNMI_ARGS)
    g = Gnmi(d.gnmi_port())
    try:
        g.get("/interfaces")    # a warm channel
    except Exception:
        pass
    t0 = time.monotonic()
    if batch:
        ups = [u for name, keys, _ in specs for u in updates(name, keys)]
        g.set_rpc(pb.SetRequest(update=ups), timeout=120)
    else:
        for name, keys, _ in specs:
            g.set_rpc(pb.SetRequest(update=updates(name, keys)), timeout=60)
    t_create = time.monotonic() - t0
    assert d.n_ports() == len(specs), d.n_ports()
    t0 = time.monotonic()
    g.set_rpc(pb.SetRequest(delete=[path("/interfaces/virtual-interface[name=*]")]),
              timeout=120)
    t_delete = time.monotonic() - t0
    assert d.n_ports() == 0
    g.close()
    d.stop()
    return t_create, t_delete


def lib_round(wd):
    out = subprocess.run([LIB_BENCH, SPEC, wd, "1"], capture_output=True, text=True,
                         check=True).stdout
    m = re.match(r"create ([\d.]+) delete ([\d.]+)", out)
    return float(m.group(1)) / 1000, float(m.group(2)) / 1000


def bench_ports():
    wd = tempfile.mkdtemp(prefix="ipdk-bench-gnmi-")
    specs = port_specs(wd, "")
    rows = {"library (baseline)": [], "gNMI, Set per port": [], "gNMI, one Set": [],
            "library delete": [], "gNMI delete, [name=*]": []}
    try:
        lib_round(wd)    # warm-up (page cache, first DPDK start), not counted
        for _ in range(REPS):    # the ways take turns
            c, dl = lib_round(wd)
            rows["library (baseline)"].append(c)
            rows["library delete"].append(dl)
            c, dl = gnmi_round(wd, specs, batch=False)
            rows["gNMI, Set per port"].append(c)
            rows["gNMI delete, [name=*]"].append(dl)
            c, dl = gnmi_round(wd, specs, batch=True)
            rows["gNMI, one Set"].append(c)
    finally:
        shutil.rmtree(wd, ignore_errors=True)
    med = {k: statistics.median(v) for k, v in rows.items()}
    print("ports: %d VHOST + %d TAP, median of %d (min-max)" % (N_VHOST, N_TAP, REPS))
    for k, v in rows.items():
        print("  %-24s %8.1f ms  (%.1f-%.1f)" % (k, med[k] * 1000, min(v) * 1000,
                                               max(v) * 1000))
    base = med["library (baseline)"]
    for k in ("gNMI, Set per port", "gNMI, one Set"):
        print("  %s / library: %.2f" % (k, med[k] / base))
    print("  gNMI delete / library delete: %.2f" % (med["gNMI delete, [name=*]"] /
                                                    med["library delete"]))


# ---- hotplug ------------------------------------------------------------------

def gnmi_plug(g, sock):
    keys = {"device-type": "virtio-net", "host-name": "vm1", "socket-path": sock,
            "mac": hp.MAC, "physical-id": 0}
    ups = [pb.Update(path=path("/virtual-devices/virtual-device[name=gnet0]/config/" + k),
                     val=pb.TypedValue(uint_val=v) if isinstance(v, int)
                     else pb.TypedValue(string_val=v)) for k, v in keys.items()]
    g.set_rpc(pb.SetRequest(update=ups), timeout=60)


def gnmi_unplug(g, sock):
    g.set_rpc(pb.SetRequest(delete=[path("/virtual-devices/virtual-device[name=gnet0]")]),
              timeout=60)


def bench_hotplug():
    wd = tempfile.mkdtemp(prefix="ipdk-bench-gnmi-hp-")
    g = ipdk_vm.Guest(workdir=wd, root_ports=2)
    sock, gsock = os.path.join(wd, "vhost.sock"), os.path.join(wd, "gnmi-vhost.sock")
    cfg = os.path.join(wd, "cfg.json")
    with open(cfg, "w") as f:
        json.dump({"virtual_devices": {"hosts": [{"name": "vm1", "qmp_socket": g.ipdk_qmp_path,
                                                   "slots": 1}]}}, f)
    d = Daemon(wd, GNMI_ARGS + ["--config", cfg, "--port", "name=vm0,type=vhost,socket=" + sock])
    try:
        gn = Gnmi(d.gnmi_port())
        g.start()
        vc = os.path.join(wd, "vdev.json")
        subprocess.run([hp.VDEV_CTL, "-s", vc, "host-add", "vm1", g.ipdk_qmp_path, "slots=1"],
                       check=True)
        rows = {"gNMI": [], "vdev-ctl": [], "raw QMP": []}
        for _ in range(ROUNDS):
            rows["gNMI"].append(hp.one_round(g, gnmi_plug, gnmi_unplug, gn, gsock))
            rows["vdev-ctl"].append(hp.one_round(g, hp.vdev_plug, hp.vdev_unplug, vc, sock))
            rows["raw QMP"].append(hp.one_round(g, hp.raw_plug, hp.raw_unplug, g.qmp, sock))
        print("hotplug, %d rounds each, medians:" % ROUNDS)
        ours = hp.report("gNMI", rows["gNMI"])
        vdev = hp.report("vdev-ctl", rows["vdev-ctl"])
        base = hp.report("raw QMP", rows["raw QMP"])
        print("request -> link up, gNMI / raw QMP: %.2f, gNMI / vdev-ctl: %.2f" % (
            ours / base, ours / vdev))
        gn.close()
    finally:
        g.stop()
        d.stop()
        shutil.rmtree(wd, ignore_errors=True)


def main():
    print("load average at start: %s" % open("/proc/loadavg").read().split()[:3])
    bench_ports()
    if os.environ.get("BENCH_GNMI_SKIP_VM") != "1":
        bench_hotplug()
    print("load average at end: %s" % open("/proc/loadavg").read().split()[:3])


if __name__ == "__main__":
    main()
