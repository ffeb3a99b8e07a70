"""Bad input, each refused with a message that says what is wrong: broken
specs (start-up check and run-time load), bad ports, bad entries and control
lines, a client vanishing mid-batch, bad JSON configurations. A running daemon
stays up, keeps forwarding and keeps serving after every refusal."""
import os
import socket
import subprocess

import pytest

from ipdk_net import (INFRAP4D, SPECS, dump_keys, json_file, link_port, unique, value_int,
                      wait_until, write_file)

H1_MAC, H2_MAC = "02:00:00:00:00:01", "02:00:00:00:00:02"
ENTRIES = ["l2_fwd match %s action l2_forward port 1" % H2_MAC,
           "l2_fwd match %s action l2_forward port 0" % H1_MAC]


def broken_spec(workdir):
    """l2l3.spec with one instruction naming a field that does not exist;
    returns (path, line of the error)."""
    with open(os.path.join(SPECS, "l2l3.spec")) as f:
        lines = f.read().split("\n")
    n = next(i for i, l in enumerate(lines) if l.strip() == "sub h.ipv4.ttl 1")
    lines[n] = "\tsub h.ipv4.no_such_field 1"
    return write_file(workdir, "broken.spec", "\n".join(lines)), n + 1


def run_daemon(workdir, *args, timeout=20):
    """Runs infrap4d to completion (for start-up failures and --check)."""
    sock = os.path.join(workdir, "%s.sock" % unique("x"))
    if "--state-file" not in args:
        args += ("--state-file", "none")
    r = subprocess.run([INFRAP4D, "-S", sock] + list(args), capture_output=True, text=True,
                       timeout=timeout)
    assert not os.path.exists(sock), "a daemon that failed to start left its socket"
    return r.returncode, r.stdout + r.stderr


@pytest.fixture(scope="module")
def net(module_hosts, module_infrap4d):
    h1 = module_hosts(H1_MAC, "10.0.0.1")
    h2 = module_hosts(H2_MAC, "10.0.0.2")
    h1.neigh(h2.ip, h2.mac)
    h2.neigh(h1.ip, h1.mac)
    d = module_infrap4d(ports=[link_port("h1", h1), link_port("h2", h2)], entries=ENTRIES)
    return d, h1, h2


@pytest.fixture
def served(net):
    """The shared daemon; after the test it must still run, answer and forward."""
    d, h1, h2 = net
    yield d, h1, h2
    assert d.alive(), "infrap4d died:\n" + d.log_text()[-3000:]
    assert "pipeline" in d.ctl("info")
    assert h1.ping(h2.ip, count=1, wait=2) == 1, "forwarding broke after bad input"


# ---- start-up ----------------------------------------------------------------

def test_check_accepts_good_spec(workdir):
    rc, out = run_daemon(workdir, "--check", "--spec", os.path.join(SPECS, "l2l3.spec"),
                         "--port", "name=r0,type=ring")
    assert rc == 0, out


def test_check_reports_broken_spec_line(workdir):
    path, line = broken_spec(workdir)
    rc, out = run_daemon(workdir, "--check", "--spec", path, "--port", "name=r0,type=ring")
    assert rc != 0
    assert "%s:%d:" % (path, line) in out, out
    assert "no_such_field" in out, out


def test_missing_spec_file(workdir):
    rc, out = run_daemon(workdir, "--check", "--spec", "/nonexistent/x.spec",
                         "--port", "name=r0,type=ring")
    assert rc != 0 and "/nonexistent/x.spec" in out, out


def test_unknown_port_type(workdir):
    rc, out = run_daemon(workdir, "--port", "name=x,type=bogus")
    assert rc != 0
    assert 'unknown port type "bogus"' in out, out


def test_port_option_without_value(workdir):
    rc, out = run_daemon(workdir, "--port", "name=x,type=ring,burst")
    assert rc != 0 and "burst" in out, out


def test_missing_netdev(workdir):
    rc, out = run_daemon(workdir, "--port", "name=x,type=link,netdev=nosuchdev0")
    assert rc != 0
    assert "nosuchdev0" in out and "does not exist" in out, out


def test_bad_initial_entry(workdir):
    rc, out = run_daemon(workdir, "--port", "name=r0,type=ring", "--port", "name=r1,type=ring",
                         "--entry", "l2_fwd match 0x1000000000000 action l2_forward port 1")
    assert rc != 0
    assert "48 bits" in out, out


# ---- JSON configuration -------------------------------------------------------

def test_json_config_runs(hosts, infrap4d, workdir):
    h1, h2 = hosts.l2(2, subnet="10.7.0")
    cfg = json_file(workdir, "good.json", {
        "pipeline": {"name": "cfgtest"},
        "ports": [{"name": "a", "type": "link", "netdev": h1.link},
                  {"name": "b", "type": "link", "netdev": h2.link}],
        "entries": ["l2_fwd match %s action l2_forward port 1" % h2.mac,
                    "l2_fwd match %s action l2_forward port 0" % h1.mac],
        "log_level": "info",
    })
    d = infrap4d(config=cfg)
    assert "pipeline cfgtest" in d.ctl("info")
    assert h1.ping(h2.ip, count=2) == 2


def test_json_syntax_error_names_file_and_line(workdir):
    path = write_file(workdir, "syntax.json", '{\n  "ports": [\n    {"name": "a",,}\n  ]\n}\n')
    rc, out = run_daemon(workdir, "-c", path)
    assert rc != 0
    assert "%s:3:" % path in out, out


def test_json_unknown_key(workdir):
    path = json_file(workdir, "key.json", {"prots": []})
    rc, out = run_daemon(workdir, "-c", path)
    assert rc != 0
    assert path in out and '"prots"' in out, out


def test_json_bad_port(workdir):
    path = json_file(workdir, "port.json", {"ports": [{"name": "a", "type": "ring"},
                                                      {"name": "b", "type": "warp"}]})
    rc, out = run_daemon(workdir, "-c", path)
    assert rc != 0
    assert "ports[1]" in out and '"warp"' in out, out


def test_json_wrong_value_type(workdir):
    path = json_file(workdir, "thr.json", {"threads": {"count": "two"}})
    rc, out = run_daemon(workdir, "-c", path)
    assert rc != 0 and "threads.count" in out, out


# ---- run time -------------------------------------------------------------------

def test_pipeline_load_broken_spec_keeps_old(served, workdir):
    d, h1, h2 = served
    path, line = broken_spec(workdir)
    err = d.ctl_err("pipeline", "load", path)
    assert "%s:%d:" % (path, line) in err, err
    assert "embedded default" in d.ctl("info")
    assert len(d.ctl("dump", "l2_fwd").splitlines()) == 2
    assert h1.ping(h2.ip, count=2) == 2


def test_pipeline_load_missing_file(served):
    d, h1, h2 = served
    err = d.ctl_err("pipeline", "load", "/nonexistent/none.spec")
    assert "/nonexistent/none.spec" in err


def test_wrong_key_width(served):
    d, h1, h2 = served
    err = d.ctl_err("add", "l2_fwd", "match", "0x1000000000000", "action", "l2_forward",
                    "port", "1")
    assert "48 bits" in err, err
    err = d.ctl_err("add", "ipv4_lpm", "match", "10.0.0.0/33", "action", "drop")
    assert "33" in err or "prefix" in err, err


def test_unknown_action(served):
    d, h1, h2 = served
    err = d.ctl_err("add", "l2_fwd", "match", "02:00:00:00:09:09", "action", "teleport")
    assert "teleport" in err, err
    # An action that exists but is not one of this table's.
    err = d.ctl_err("add", "l2_fwd", "match", "02:00:00:00:09:09", "action", "ipv4_route",
                    "port", "1", "src_mac", "0", "dst_mac", "0", "route_id", "0")
    assert "ipv4_route" in err, err


def test_unknown_table(served):
    d, h1, h2 = served
    err = d.ctl_err("add", "no_such_table", "match", "1", "action", "drop")
    assert "no_such_table" in err, err
    assert "no_such_table" in d.ctl_err("dump", "no_such_table")
    assert "no_such_table" in d.ctl_err("stats", "no_such_table")


@pytest.mark.parametrize("line, words", [
    ("frobnicate", ["frobnicate"]),
    ("add", ["usage"]),
    ("add l2_fwd 02:00:00:00:09:09 action l2_forward port 1", ["match"]),
    ("add l2_fwd match 02:00:00:00:09:09", ["action"]),
    ("add l2_fwd match 02:00:00:00:09:09 action l2_forward", ["port"]),
    ("add l2_fwd match 02:00:00:00:09:09 action l2_forward port", ["port"]),
    ("add l2_fwd match 02:00:00:00:09:09 action l2_forward port 1 port 2", ["port"]),
    ("add l2_fwd match 02:00:00:00:09:09 action l2_forward speed 1", ["speed"]),
    ("add l2_fwd match zz:zz action l2_forward port 1", ["zz:zz"]),
    ("add l2_fwd match 02:00:00:00:09:09 02 action l2_forward port 1", ["action"]),
    ("add l2_fwd match 02:00:00:00:09:09 action l2_forward port 0x1ffffffff", ["32 bits"]),
    ("counter port_rx many", ["many"]),
    ("counter port_rx 100000", ["100000"]),
    ("counter no_counter 0", ["no_counter"]),
    ("register no_reg 0", ["no_reg"]),
    ("group add l2_fwd 1", ["l2_fwd"]),
    ("timeout l2_fwd 0 5", ["l2_fwd"]),
    ("batch commit", ["batch"]),
    ("batch sideways", ["sideways"]),
    ("pipeline unload", ["pipeline load"]),
    ("default-set l2_fwd teleport", ["teleport"]),
])
def test_malformed_line(served, line, words):
    d, h1, h2 = served
    err = d.ctl_err(*line.split())
    for w in words:
        assert w in err, "%r: %s" % (line, err)
    assert len(d.ctl("dump", "l2_fwd").splitlines()) == 2


def test_duplicate_and_missing_entries(served):
    d, h1, h2 = served
    err = d.ctl_err("add", ENTRIES[0])
    assert "exist" in err.lower(), err
    err = d.ctl_err("del", "l2_fwd match 02:00:00:00:09:09 action l2_forward port 1")
    assert err
    err = d.ctl_err("modify", "l2_fwd match 02:00:00:00:09:09 action l2_forward port 1")
    assert err


def raw_ctl(d):
    """A raw connection to d's control socket and a file on it, for what no
    well-behaved client sends (binary lines, a batch left open)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(d.sock)
    return s, s.makefile("rwb")


def test_long_and_binary_lines(served):
    d, h1, h2 = served
    r = d.ctl_run("-q", "add", "l2_fwd", "match", "x" * 20000, "action", "drop")
    assert r.returncode == 1, r.stderr
    s, f = raw_ctl(d)
    try:
        f.write(b"\xff\xfe garbage \x01\n")
        f.flush()
        assert f.readline().startswith(b"ERR "), "non-text command accepted"
        # A NUL ends the C string early; whatever the reply, the connection
        # must stay in step.
        f.write(b"\x00info\ninfo\n")
        f.flush()
        first = f.readline()
        assert first.startswith(b"OK") or first.startswith(b"ERR "), first
        rest = b""
        while not rest.endswith(b"OK\n"):
            line = f.readline()
            assert line, "connection closed"
            rest += line
        assert b"pipeline" in rest, rest
    finally:
        f.close()
        s.close()


def test_client_disconnects_mid_batch(served):
    d, h1, h2 = served
    mac = "02:00:00:00:09:0a"
    s, f = raw_ctl(d)
    for line in ["batch begin", "add l2_fwd match %s action l2_forward port 1" % mac,
                 "del %s" % ENTRIES[0]]:
        f.write(line.encode() + b"\n")
        f.flush()
        assert f.readline() == b"OK\n", line
    f.close()
    s.close()
    # Once the daemon has seen the close, another client may batch, and
    # nothing of the abandoned batch took effect.
    assert wait_until(lambda: d.ctl_run("-q", "-f", "-",
                                        stdin="batch begin\nbatch abort\n").returncode == 0,
                      timeout=3.0), "the abandoned batch still blocks other clients"
    keys = dump_keys(d, "l2_fwd")
    assert value_int(mac) not in keys and value_int(H2_MAC) in keys, keys
    assert "disconnect" in d.log_text() or "closed with a batch open" in d.log_text()


def test_second_client_cannot_write_into_open_batch(served):
    d, h1, h2 = served
    s, f = raw_ctl(d)
    try:
        f.write(b"batch begin\n")
        f.flush()
        assert f.readline() == b"OK\n"
        err = d.ctl_err("add", "l2_fwd match 02:00:00:00:09:0b action l2_forward port 1")
        assert "batch" in err, err
        f.write(b"batch abort\n")
        f.flush()
        assert f.readline() == b"OK\n"
    finally:
        f.close()
        s.close()
