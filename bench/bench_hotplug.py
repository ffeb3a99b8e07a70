#!/usr/bin/python3
"""Hotplug latency: from the request to a link that is up in the guest.

A guest (tests/vm harness, QEMU TCG) and infrap4d with a VHOST port. Each round
a watcher script in the guest waits for the netdev with our MAC, sets it up and
waits for operstate "up"; meanwhile the host plugs the virtio-net device onto the
vhost-user socket, then unplugs it (device_del up to DEVICE_DELETED). Two ways
to plug, alternating in the same run:

  vdev-ctl   the CLI: process start, state file, lib/vdev, its own QMP
             connection and handshake, chardev-add/netdev_add/device_add
  raw QMP    the baseline: the same three commands from Python on a QMP
             connection that is already open

Printed per way: median and max of request->QEMU done, request->netdev seen in
the guest, request->link up (host clock, ends when the watcher's answer is
read), and unplug time. Knobs: BENCH_HOTPLUG_ROUNDS (default 10).
"""
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "vm"))
import ipdk_vm  # noqa: E402

BUILD = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "build"))
INFRAP4D = os.path.join(BUILD, "daemons", "infrap4d", "infrap4d")
VDEV_CTL = os.path.join(BUILD, "tools", "vdev-ctl")
ROUNDS = int(os.environ.get("BENCH_HOTPLUG_ROUNDS", "10"))
MAC = "02:00:00:00:01:01"

WATCH = r"""
t0=$(cut -d' ' -f1 /proc/uptime)
while :; do
	for d in /sys/class/net/*; do
		[ "$(cat $d/address)" = "%s" ] && dev=${d##*/} && break 2
	done
	usleep 2000
done
t1=$(cut -d' ' -f1 /proc/uptime)
ip link set $dev up
while [ "$(cat /sys/class/net/$dev/operstate)" != up ]; do usleep 2000; done
t2=$(cut -d' ' -f1 /proc/uptime)
echo $t0 $t1 $t2
""" % MAC


def vdev_plug(vc, sock):
    subprocess.run([VDEV_CTL, "-s", vc, "add", "net0",
                    "device-type=virtio-net,host-name=vm1,socket-path=%s,mac=%s" % (sock, MAC)],
                   check=True, capture_output=True)


def vdev_unplug(vc, sock):
    subprocess.run([VDEV_CTL, "-s", vc, "del", "net0"], check=True, capture_output=True)


def raw_plug(q, sock):
    q.cmd("chardev-add", id="raw-chr", backend={"type": "socket", "data": {
        "addr": {"type": "unix", "data": {"path": sock}}, "server": False}})
    q.cmd("netdev_add", type="vhost-user", id="raw-net", chardev="raw-chr", queues=1)
    q.cmd("device_add", driver="virtio-net-pci", id="raw-dev", netdev="raw-net", bus="rp1",
          mac=MAC, vectors=0)


def raw_unplug(q, sock):
    q.cmd("device_del", id="raw-dev")
    q.wait_event("DEVICE_DELETED", lambda d: d.get("device") == "raw-dev", timeout=30)
    q.cmd("netdev_del", id="raw-net")   # a vhost-user netdev takes its chardev with it


def one_round(g, plug, unplug, arg, sock):
    h = g.submit(WATCH, timeout=60)
    time.sleep(0.2)                     # the watcher is polling
    t0 = time.monotonic()
    plug(arg, sock)
    t_qemu = time.monotonic()
    r = g.wait(h, check=True)
    t_up = time.monotonic()
    g0, g1, g2 = map(float, r.out.split())
    t_seen = t_up - (g2 - g1)           # the guest's own clock for seen -> up
    t1 = time.monotonic()
    unplug(arg, sock)
    g.wait_netdev(MAC, present=False)
    t_gone = time.monotonic()
    return t_qemu - t0, t_seen - t0, t_up - t0, t_gone - t1


def report(name, rows):
    cols = list(zip(*rows))
    fmt = lambda v: "%6.0f ms" % (v * 1000)
    print("%-10s  qemu done %s (max %s)  netdev seen %s  link up %s (max %s)  unplug %s" % (
        name, fmt(statistics.median(cols[0])), fmt(max(cols[0])),
        fmt(statistics.median(cols[1])), fmt(statistics.median(cols[2])), fmt(max(cols[2])),
        fmt(statistics.median(cols[3]))))
    return statistics.median(cols[2])


def main():
    wd = tempfile.mkdtemp(prefix="ipdk-bench-hp-")
    sock = os.path.join(wd, "vhost.sock")
    log = open(os.path.join(wd, "infrap4d.log"), "w")
    d = subprocess.Popen([INFRAP4D, "-S", os.path.join(wd, "ctl.sock"),
                          "--port", "name=vm0,type=vhost,socket=" + sock,
                          "--state-file", "none"],
                         stdout=log, stderr=subprocess.STDOUT)
    g = ipdk_vm.Guest(workdir=wd, root_ports=2)
    try:
        for _ in range(100):
            if os.path.exists(sock):
                break
            time.sleep(0.05)
        t = time.monotonic()
        g.start()
        print("guest boot (TCG, to agent ready): %.1f s" % (time.monotonic() - t))
        vc = os.path.join(wd, "vdev.json")
        subprocess.run([VDEV_CTL, "-s", vc, "host-add", "vm1", g.ipdk_qmp_path, "slots=1"],
                       check=True)
        rows = {"vdev-ctl": [], "raw QMP": []}
        for _ in range(ROUNDS):
            rows["vdev-ctl"].append(one_round(g, vdev_plug, vdev_unplug, vc, sock))
            rows["raw QMP"].append(one_round(g, raw_plug, raw_unplug, g.qmp, sock))
        print("%d rounds each, medians:" % ROUNDS)
        ours = report("vdev-ctl", rows["vdev-ctl"])
        base = report("raw QMP", rows["raw QMP"])
        print("request -> link up, vdev-ctl / raw QMP: %.2f" % (ours / base))
    finally:
        g.stop()
        d.terminate()
        d.wait()
        subprocess.run(["rm", "-rf", wd])


if __name__ == "__main__":
    main()
