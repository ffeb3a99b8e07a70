"""infrap4d's control socket beyond table entries, on packets in network
namespaces: the figures `ports` prints (a port's writer drops against the
pipeline's own drops), writes to a pipeline whose program never lets a
packet go, and the CPUs the daemon's threads may run on."""
import os

import pytest
from scapy.layers.l2 import Ether

from ipdk_net import link_port, wait_until
from test_p4c_programs import frames_to

H1_MAC, H2_MAC, NOBODY_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02", "02:00:00:00:00:99"


def test_ports_drop_line_leaves_writer_drops_out(hosts, infrap4d):
    # port 1 is a ring nobody reads: once its 64 places are full, its writer
    # drops what the pipeline hands it (counted in its tx and its tx_drops)
    h1 = hosts.add(H1_MAC, "10.0.0.1")
    d = infrap4d(ports=[link_port("h1", h1), "name=sink,type=ring,ring-size=64"],
                 entries=["l2_fwd match %s action l2_forward port 1" % H2_MAC])
    h1.send([Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"to-ring%03d" % i + b"x" * 40)
             for i in range(100)])
    # an l2_fwd miss of no IPv4 frame is the pipeline's own drop
    h1.send([Ether(src=H1_MAC, dst=NOBODY_MAC, type=0x88b6) / (b"dropped%03d" % i + b"x" * 40)
             for i in range(50)])
    assert wait_until(lambda: d.ports()["h1"]["rx"] >= 150 and d.ports()["sink"]["tx"] == 100), \
        d.ports()
    p = d.ports()
    assert p["sink"]["drops"] >= 100 - 64, p
    # whatever came in and was handed to no port: the 50 misses (and any frame
    # of the host's own, which is also a miss); none of the ring's drops
    assert p["(drop)"]["tx"] == p["h1"]["rx"] - p["sink"]["tx"], p
    assert p["(drop)"]["tx"] >= 50, p


LOOP_SPEC = """
struct metadata_t {
	bit<32> port_in
	bit<32> port_out
	bit<32> x
}
metadata instanceof metadata_t
action nop args none {
	return
}
table t {
	key {
		m.port_in exact
	}
	actions {
		nop
	}
	default_action nop args none
	size 64
}
apply {
	rx m.port_in
	table t
	LOOP : add m.x 1
	jmp LOOP
	drop
}
"""


def test_program_that_never_finishes_a_packet(hosts, infrap4d, workdir):
    """Writes wait for packets in flight to leave the pipeline; one that never
    leaves makes them fail (after 2 s) instead of hanging the daemon, and
    changes nothing."""
    spec = os.path.join(workdir, "forever.spec")
    with open(spec, "w") as f:
        f.write(LOOP_SPEC)
    h1, h2 = hosts.add(H1_MAC, "10.0.0.1"), hosts.add(H2_MAC, "10.0.0.2")
    d = infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)], spec=spec)
    d.ctl("add", "t", "match", 5, "action", "nop")   # nothing in flight yet
    h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"stuck" + b"x" * 40))
    assert wait_until(lambda: d.ports()["h1"]["rx"] >= 1)
    msg = d.ctl_err("add", "t", "match", 7, "action", "nop")
    assert "packets in flight did not leave within 2000 ms" in msg, msg
    assert msg.startswith("pipeline main."), msg
    # the failed write changed nothing, and the daemon answers
    assert len(d.ctl("dump", "t").splitlines()) == 1
    assert "tables 1" in d.ctl("info")
    # a pipeline that finishes its packets replaces it
    d.ctl("pipeline", "load", "default")
    d.ctl("add", "l2_fwd", "match", H2_MAC, "action", "l2_forward", "port", 1)
    s2 = h2.sniffer()
    try:
        h1.send(Ether(src=H1_MAC, dst=H2_MAC, type=0x88b6) / (b"flows-again" + b"x" * 40))
        assert len(frames_to(s2, b"flows-again")) == 1
    finally:
        s2.close()


def thread_cpus(pid):
    """[(thread name, Cpus_allowed_list)] of every thread of a process."""
    out = []
    for tid in os.listdir("/proc/%d/task" % pid):
        base = "/proc/%d/task/%s/" % (pid, tid)
        try:
            name = open(base + "comm").read().strip()
            status = open(base + "status").read()
        except FileNotFoundError:   # the thread ended meanwhile
            continue
        cpus = [l.split()[1] for l in status.splitlines() if l.startswith("Cpus_allowed_list:")]
        out.append((name, cpus[0]))
    return out


# threads DPDK's EAL starts for itself, whose CPUs are EAL's business
EAL_THREADS = ("eal-intr-thread", "rte_mp_handle", "telemetry")


def test_threads_keep_the_daemons_cpus(infrap4d):
    """DPDK's EAL pins the thread that initialises it to CPU 0; the rest of
    the daemon (its main thread, gRPC's threads, pipeline threads that the
    configuration does not pin) keeps the CPUs infrap4d was started with."""
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs")
    mine = [l.split()[1] for l in open("/proc/self/status").read().splitlines()
            if l.startswith("Cpus_allowed_list:")][0]
    d = infrap4d(args=["--threads", "2", "--cpus", "1", "--grpc-security", "insecure",
                       "--p4rt-listen", "127.0.0.1:0", "--gnmi-listen", "127.0.0.1:0"])
    threads = thread_cpus(d.proc.pid)
    names = dict(threads)
    assert names["ipdk-pipe0"] == "1", threads      # pinned by --cpus
    assert names["ipdk-pipe1"] == mine, threads     # not pinned
    rest = [(n, c) for n, c in threads if not n.startswith("ipdk-pipe") and n not in EAL_THREADS]
    assert len(rest) >= 3, threads                  # the main thread and gRPC's
    assert all(c == mine for n, c in rest), (mine, threads)
