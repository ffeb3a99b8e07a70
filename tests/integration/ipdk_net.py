"""Helpers for infrap4d's integration tests on real network namespaces.

Hosts are network namespaces joined to the daemon through veth pairs: the
namespace end is eth0, the root-namespace end is the netdev of one of
infrap4d's LINK ports. Every name carries this run's token so parallel runs do
not collide; whoever creates a host or daemon (the fixtures in conftest.py)
removes it. Frames are sent and captured with AF_PACKET sockets opened inside
the namespaces (no helper processes) and built or parsed with scapy.
"""
import ctypes
import itertools
import json
import os
import re
import select
import signal
import socket
import subprocess
import time

import pytest

BUILD = os.environ.get("IPDK_BUILD", "/work/main/build")
SRC = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INFRAP4D = os.path.join(BUILD, "daemons", "infrap4d", "infrap4d")
CTL = os.path.join(BUILD, "tools", "infrap4d-ctl")
SPECS = os.path.join(SRC, "p4src", "specs")
# LINK port backend for the veth ends; "auto" tries AF_XDP first.
LINK_MODE = os.environ.get("IPDK_LINK_MODE", "auto")

TOKEN = "%04d" % (os.getpid() % 10000)
_seq = itertools.count(1)
NETNS_PREFIX = "ipdk-it-"
_reaped = False


def reap_stale_namespaces():
    """Deletes the namespaces of test runs whose process is gone (a run that
    was SIGKILLed cannot clean up): their names carry the run's pid."""
    try:
        names = os.listdir("/run/netns")
    except FileNotFoundError:
        return
    for name in names:
        m = re.match(re.escape(NETNS_PREFIX) + r"(\d+)-\d+$", name)
        if not m or int(m.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(m.group(1)), 0)
        except ProcessLookupError:
            subprocess.run(["ip", "netns", "del", name], capture_output=True)
        except PermissionError:
            pass

CLONE_NEWNET = 0x40000000
ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
_libc = ctypes.CDLL(None, use_errno=True)

def spec_path(name):
    return os.path.join(SPECS, name)


def sh(*cmd, check=True, timeout=20, **kw):
    """Runs a command; on failure raises with its output in the message."""
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)
    if check and r.returncode != 0:
        raise RuntimeError("%s failed (%d): %s%s" % (" ".join(cmd), r.returncode,
                                                     r.stdout, r.stderr))
    return r


def unique(prefix):
    """A netdev-safe unique name (at most 15 characters)."""
    name = "%s%s%02d" % (prefix, TOKEN, next(_seq) % 100)
    assert len(name) <= 15, name
    return name


# ---- raw frames inside namespaces -----------------------------------------

def _setns(fd):
    if _libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, "setns: " + os.strerror(e))


def raw_socket(netns, ifname):
    """An AF_PACKET socket bound to ifname inside netns (None: this namespace).

    Only the calling thread changes namespace, and only while the socket is
    made; the socket stays in the namespace it was created in."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open("/run/netns/" + netns, os.O_RDONLY) if netns else None
    try:
        if target is not None:
            _setns(target)
        try:
            s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
            s.bind((ifname, 0))
        finally:
            if target is not None:
                _setns(own)
    finally:
        os.close(own)
        if target is not None:
            os.close(target)
    s.setblocking(False)
    return s


class Sniffer:
    """Captures the frames a netdev receives (not those it sends)."""

    def __init__(self, netns, ifname):
        self.sock = raw_socket(netns, ifname)
        self.frames = []

    def drain(self):
        """Throws away whatever arrived so far."""
        self._read(0)
        self.frames = []

    def _read(self, timeout):
        end = time.monotonic() + timeout
        while True:
            left = max(0.0, end - time.monotonic())
            r, _, _ = select.select([self.sock], [], [], left)
            if not r:
                return
            while True:
                try:
                    data, addr = self.sock.recvfrom(65535)
                except BlockingIOError:
                    break
                if addr[2] != PACKET_OUTGOING:
                    self.frames.append(data)
            if time.monotonic() >= end:
                return

    def collect(self, match, count=1, timeout=3.0):
        """Returns frames (bytes) for which match(scapy Ether) is true, waiting
        until count of them arrived or timeout passed."""
        from scapy.layers.l2 import Ether
        end = time.monotonic() + timeout
        self._read(0)
        while True:
            got = [f for f in self.frames if match(Ether(f))]
            left = end - time.monotonic()
            if len(got) >= count or left <= 0:
                return got
            self._read(min(left, 0.1))

    def close(self):
        self.sock.close()


class Host:
    """A network namespace with eth0, one end of a veth pair whose other end
    (self.link) lives in the root namespace for infrap4d to use."""

    def __init__(self, idx, mac, ip, prefix_len=24, gw=None, gw_mac=None):
        global _reaped
        if not _reaped:
            reap_stale_namespaces()
            _reaped = True
        self.netns = "%s%d-%d" % (NETNS_PREFIX, os.getpid(), next(_seq))
        self.link = unique("ipit")
        self.mac, self.ip, self.gw, self.gw_mac = mac, ip, gw, gw_mac
        self.idx = idx
        self.prefix_len = prefix_len
        try:
            self._setup()
        except BaseException:
            self.destroy()
            raise

    def _setup(self):
        ip, mac, gw, gw_mac = self.ip, self.mac, self.gw, self.gw_mac
        prefix_len = self.prefix_len
        sh("ip", "netns", "add", self.netns)
        sh("ip", "link", "add", self.link, "type", "veth", "peer", "name", "eth0",
           "netns", self.netns)
        self.run("ip", "link", "set", "lo", "up")
        self.run("ip", "link", "set", "eth0", "address", mac)
        self.run("sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
        self.run("sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1")
        self.run("ip", "addr", "add", "%s/%d" % (ip, prefix_len), "dev", "eth0")
        self.run("ip", "link", "set", "eth0", "up")
        # The pipeline does not fill in checksums a veth leaves to offload.
        self.run("ethtool", "-K", "eth0", "tx", "off", "sg", "off", "tso", "off", "gso", "off")
        sh("sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % self.link)
        sh("ip", "link", "set", self.link, "up")
        if gw:
            self.run("ip", "route", "add", "default", "via", gw, "dev", "eth0")
            self.neigh(gw, gw_mac)

    def run(self, *cmd, check=True, timeout=20):
        return sh("ip", "netns", "exec", self.netns, *cmd, check=check, timeout=timeout)

    def popen(self, *cmd, **kw):
        return subprocess.Popen(("ip", "netns", "exec", self.netns) + cmd, **kw)

    def neigh(self, ip, mac):
        self.run("ip", "neigh", "replace", ip, "lladdr", mac, "dev", "eth0", "nud", "permanent")

    def ping(self, ip, count=3, interval=0.2, wait=1):
        """Returns the number of replies received. ping runs until count replies
        came or its deadline passed: without -w it stops ~200 ms after its last
        probe, so a reply held up by a busy CPU would count as lost."""
        deadline = int(count * interval + wait + 2)
        r = self.run("ping", "-n", "-q", "-c", str(count), "-i", str(interval), "-W", str(wait),
                     "-w", str(deadline), ip, check=False, timeout=deadline + 10)
        for line in r.stdout.splitlines():
            if "received" in line:
                return int(line.split(",")[1].split()[0])
        # No summary means ping itself failed, which must not pass for "no reply".
        raise RuntimeError("ping did not run: %s%s" % (r.stdout, r.stderr))

    def sniffer(self):
        return Sniffer(self.netns, "eth0")

    def send(self, frames):
        """Sends raw frames (scapy packets or bytes) out of eth0."""
        s = raw_socket(self.netns, "eth0")
        try:
            for f in frames if isinstance(frames, (list, tuple)) else [frames]:
                s.send(bytes(f))
        finally:
            s.close()

    def destroy(self):
        sh("ip", "netns", "del", self.netns, check=False)
        sh("ip", "link", "del", self.link, check=False)


# ---- the daemon ------------------------------------------------------------

class CtlError(AssertionError):
    pass


class Daemon:
    """One infrap4d process with its own control socket and log file."""

    def __init__(self, workdir, ports=(), spec=None, config=None, entries=(), args=()):
        if not os.access(INFRAP4D, os.X_OK):
            pytest.fail("infrap4d not built: %s (set IPDK_BUILD)" % INFRAP4D)
        n = next(_seq)
        self.sock = os.path.join(workdir, "ctl%d.sock" % n)
        self.log_path = os.path.join(workdir, "infrap4d%d.log" % n)
        cmd = [INFRAP4D, "-S", self.sock]
        if spec:
            cmd += ["--spec", spec]
        if config:
            cmd += ["--config", config]
        for p in ports:
            cmd += ["--port", p]
        for e in entries:
            cmd += ["--entry", e]
        # Each daemon keeps its gNMI state in its own file, never the default one.
        self.state_file = os.path.join(workdir, "state%d.json" % n)
        if "--state-file" not in args:
            cmd += ["--state-file", self.state_file]
        cmd += list(args)
        self.cmd = cmd
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        self.stopped = False

    def log_text(self):
        with open(self.log_path) as f:
            return f.read()

    def wait_ready(self, timeout=45.0):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError("infrap4d exited with %d during start-up:\n%s"
                                     % (self.proc.returncode, self.log_text()))
            if os.path.exists(self.sock):
                r = subprocess.run([CTL, "-S", self.sock, "info"], capture_output=True,
                                   text=True, timeout=5)
                if r.returncode == 0:
                    return self
            time.sleep(0.05)
        raise AssertionError("infrap4d not ready after %.0f s:\n%s" % (timeout, self.log_text()))

    def alive(self):
        return self.proc.poll() is None

    def ctl_run(self, *args, stdin=None):
        return subprocess.run([CTL, "-S", self.sock] + [str(a) for a in args],
                              capture_output=True, text=True, input=stdin, timeout=15)

    def ctl(self, *args):
        """Runs one command that must succeed; returns its output without "OK"."""
        r = self.ctl_run("-q", *args)
        if r.returncode != 0:
            raise CtlError("infrap4d-ctl %s failed (%d): %s%s" % (
                " ".join(map(str, args)), r.returncode, r.stdout, r.stderr))
        return r.stdout

    def ctl_err(self, *args):
        """Runs one command that must be refused; returns the error message."""
        r = self.ctl_run("-q", *args)
        assert r.returncode == 1, "expected ERR from %r, got rc %d: %s%s" % (
            args, r.returncode, r.stdout, r.stderr)
        assert r.stderr.startswith("error: "), r.stderr
        return r.stderr[len("error: "):].strip()

    def ctl_lines(self, lines, keep_going=False):
        """Sends several commands on one connection; returns the completed process."""
        extra = ["-k"] if keep_going else []
        return self.ctl_run(*extra, "-f", "-", stdin="".join(l + "\n" for l in lines))

    # -- readings --

    def table_stats(self, table):
        out = {}
        for line in self.ctl("stats", table).splitlines():
            w = line.split()
            if w[0] in ("hit", "miss"):
                out[w[0]] = int(w[1])
            elif w[0] == "action":
                out["action:" + w[1]] = int(w[2])
        return out

    def counter(self, name, index):
        out = dict(line.split() for line in self.ctl("counter", name, index).splitlines())
        return {k: int(v) for k, v in out.items()}

    def register(self, name, index):
        return int(self.ctl("register", name, index).strip())

    def ports(self):
        """{name: {"id", "type", "backend", "rx", "tx", "drops"}}, the drop port as "(drop)"."""
        out = {}
        lines = self.ctl("ports").splitlines()
        assert lines[0].split()[:2] == ["id", "name"], lines
        for line in lines[1:]:
            w = line.split()
            num = lambda s: None if s == "-" else int(s)
            out[w[1]] = {"id": int(w[0]), "type": w[2], "backend": w[3], "netdev": w[4],
                         "rx": num(w[5]), "tx": num(w[6]), "drops": num(w[7])}
        return out

    def cpu_seconds(self):
        with open("/proc/%d/stat" % self.proc.pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        # utime and stime are fields 14 and 15; fields[0] here is field 3.
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, timeout=5.0):
        """SIGTERM; asserts a clean exit (status 0) within timeout."""
        if self.stopped:
            return self.proc.returncode
        self.stopped = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("infrap4d did not exit within %.0f s of SIGTERM:\n%s"
                                     % (timeout, self.log_text()[-3000:]))
        self.log.close()
        assert self.proc.returncode == 0, "infrap4d exited with %d:\n%s" % (
            self.proc.returncode, self.log_text()[-3000:])
        assert not os.path.exists(self.sock), "control socket left behind after exit"
        return 0


def value_int(tok):
    """The integer a value in the entry text form stands for: decimal, 0x hex,
    colon MAC or dotted IPv4 (dumps may use any of them)."""
    if ":" in tok:
        return int(tok.replace(":", ""), 16)
    if tok.count(".") == 3:
        return int.from_bytes(socket.inet_aton(tok), "big")
    return int(tok, 0)


def dump_keys(d, table):
    """{first key value as int: entry line} for a table's entries."""
    out = {}
    for line in d.ctl("dump", table).splitlines():
        w = line.split()
        assert w[0] == "match", line
        out[value_int(w[1].split("/")[0])] = line
    return out


def link_port(name, host, mode=None):
    return "name=%s,type=link,netdev=%s,mode=%s" % (name, host.link, mode or LINK_MODE)


class _Starter:
    def __init__(self, workdir):
        self.workdir = workdir
        self.daemons = []

    def __call__(self, ports=(), spec=None, config=None, entries=(), args=(), ready=True):
        d = Daemon(self.workdir, ports, spec, config, entries, args)
        self.daemons.append(d)
        return d.wait_ready() if ready else d

    def stop_all(self):
        errors = []
        for d in self.daemons:
            try:
                d.stop()
            except AssertionError as e:
                errors.append(str(e))
        assert not errors, "\n".join(errors)


def write_file(workdir, name, text):
    path = os.path.join(workdir, "%s-%d-%s" % (TOKEN, next(_seq), name))
    with open(path, "w") as f:
        f.write(text)
    return path


def json_file(workdir, name, obj):
    return write_file(workdir, name, json.dumps(obj, indent=2))


def wait_until(cond, timeout=3.0, step=0.05):
    end = time.monotonic() + timeout
    while True:
        v = cond()
        if v or time.monotonic() >= end:
            return v
        time.sleep(step)
