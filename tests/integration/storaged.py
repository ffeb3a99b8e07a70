"""Helpers for the storage tests: a storaged process in target mode with its
control socket, and a small NVMe/TCP host written from the specifications
(ICReq, capsules, R2T/H2CData, C2HData, digests) that the tests use to drive
the target, including with malformed PDUs. Shared by tests/integration and
tests/vm."""
import os
import re
import socket
import struct
import subprocess
import time

import pytest

BUILD = os.environ.get("IPDK_BUILD", "/work/main/build")
STORAGED = os.path.join(BUILD, "daemons", "storaged", "storaged")
DISCOVERY_NQN = "nqn.2014-08.org.nvmexpress.discovery"
HOSTNQN = "nqn.2014-08.org.nvmexpress:uuid:00000000-1111-2222-3333-444444444444"


class CtlError(AssertionError):
    pass


class Storaged:
    """storaged --mode target on 127.0.0.1 (a free port unless given)."""

    def __init__(self, workdir, port=0, config=(), args=(), name="storaged"):
        if not os.access(STORAGED, os.X_OK):
            pytest.fail("storaged not built: %s (set IPDK_BUILD)" % STORAGED)
        self.workdir = workdir
        self.sock = os.path.join(workdir, "%s.sock" % name)
        self.log_path = os.path.join(workdir, "%s.log" % name)
        self.want_port = port
        self.args = list(args)
        self.config = list(config)
        self.proc = None
        self.port = None
        self.start()

    def start(self):
        cfg = os.path.join(self.workdir, "storaged-%d.cfg" % os.getpid())
        with open(cfg, "w") as f:
            f.write("\n".join(self.config) + "\n")
        self.port = self.launch([STORAGED, "--mode", "target", "-l",
                                 "127.0.0.1:%d" % self.want_port, "-S", self.sock,
                                 "-c", cfg] + self.args, r"target ready \(port (\d+)")
        self.want_port = self.port   # a restart keeps the port

    def launch(self, cmd, ready, timeout=10):
        """Starts cmd and waits for the log line matching ready; returns its group 1."""
        self.log = open(self.log_path, "a")
        self.log_start = self.log.tell()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT)
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            m = re.search(ready, self.log_text())
            if m:
                return int(m.group(1))
            if self.proc.poll() is not None:
                raise AssertionError("storaged exited %d:\n%s" % (self.proc.returncode,
                                                                  self.log_text()))
            time.sleep(0.05)
        raise AssertionError("storaged did not start:\n" + self.log_text())

    def log_text(self):
        with open(self.log_path) as f:
            f.seek(self.log_start)
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode
        self.log.close()
        return rc

    def ctl_raw(self, line):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(self.sock)
        s.sendall(line.encode() + b"\n")
        buf = b""
        while True:
            data = s.recv(65536)
            if not data:
                break
            buf += data
            lines = buf.decode().split("\n")
            if any(l == "OK" or l.startswith("ERR") for l in lines):
                break
        s.close()
        out = buf.decode().split("\n")
        status = [l for l in out if l == "OK" or l.startswith("ERR")][-1]
        body = "\n".join(l for l in out if l and l != status)
        return status, body

    def ctl(self, line):
        status, body = self.ctl_raw(line)
        if status != "OK":
            raise CtlError("storaged %r: %s" % (line, status))
        return body

    def ctl_err(self, line):
        status, _ = self.ctl_raw(line)
        assert status.startswith("ERR "), "expected %r to fail, got %s" % (line, status)
        return status[4:]


# ---- a small NVMe/TCP host ----------------------------------------------------

def free_port():
    """A TCP port on 127.0.0.1 that nobody listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def crc32c(data, crc=0xFFFFFFFF):
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


class TermReq(Exception):
    """The target sent a C2HTermReq (fes, fei) or closed the connection."""

    def __init__(self, fes, fei):
        super().__init__("C2HTermReq fes=%s fei=%s" % (fes, fei))
        self.fes, self.fei = fes, fei


class Completion:
    def __init__(self, cqe, data):
        self.dw0, self.dw1, self.sqhd, self.sqid, self.cid, sf = struct.unpack("<IIHHHH", cqe)
        self.sct = (sf >> 9) & 7
        self.sc = (sf >> 1) & 0xFF
        self.status = self.sct << 8 | self.sc
        self.data = data

    def __repr__(self):
        return "Completion(status=0x%x, dw0=0x%x)" % (self.status, self.dw0)


class NvmeTcpHost:
    def __init__(self, port, host="127.0.0.1", hdgst=False, ddgst=False, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.hdgst, self.ddgst = hdgst, ddgst
        self.cid = 0
        self.cntlid = None

    def close(self):
        self.sock.close()

    def recvn(self, n):
        buf = b""
        while len(buf) < n:
            d = self.sock.recv(n - len(buf))
            if not d:
                raise TermReq(None, None)
            buf += d
        return buf

    def send_pdu(self, ptype, hdr, data=b"", flags=0, digests=True, plen=None):
        hd = self.hdgst and digests
        dd = self.ddgst and digests and data
        hlen = 8 + len(hdr)
        pdo = hlen + (4 if hd else 0) if data else 0
        total = hlen + (4 if hd else 0) + len(data) + (4 if dd else 0)
        f = flags | (1 if hd else 0) | (2 if dd else 0)
        ch = struct.pack("<BBBBI", ptype, f, hlen, pdo, plen if plen is not None else total)
        out = ch + hdr
        if hd:
            out += struct.pack("<I", crc32c(ch + hdr))
        out += data
        if dd:
            out += struct.pack("<I", crc32c(data))
        self.sock.sendall(out)

    def recv_pdu(self):
        ch = self.recvn(8)
        ptype, flags, hlen, pdo, plen = struct.unpack("<BBBBI", ch)
        rest = self.recvn(plen - 8)
        hdr = ch + rest[:hlen - 8]
        if ptype == 0x03:
            fes, fei = struct.unpack("<HI", hdr[8:14])
            raise TermReq(fes, fei)
        off = hlen - 8
        if flags & 1:
            assert struct.unpack("<I", rest[off:off + 4])[0] == crc32c(hdr), "bad header digest"
            off += 4
        data = b""
        if pdo:
            dend = plen - 8 - (4 if flags & 2 else 0)
            data = rest[pdo - 8:dend]
            if flags & 2:
                assert struct.unpack("<I", rest[dend:dend + 4])[0] == crc32c(data), \
                    "bad data digest"
        return ptype, flags, hdr, data

    def icreq(self, pfv=0, hpda=0):
        self.send_pdu(0x00, struct.pack("<HBBI", pfv, hpda,
                                        (1 if self.hdgst else 0) | (2 if self.ddgst else 0),
                                        0) + bytes(112), digests=False)
        ptype, _, hdr, _ = self.recv_pdu()
        assert ptype == 0x01, "expected ICResp, got type %d" % ptype
        self.maxh2cdata = struct.unpack("<I", hdr[12:16])[0]
        return hdr

    def command(self, sqe, data_out=b"", data_in_len=0, in_capsule=True):
        """Sends a command (sqe: 64 bytes with cid left zero) with optional
        host-to-controller data; returns the Completion (data from C2HData)."""
        self.cid = (self.cid + 1) & 0xFFFF
        sqe = bytearray(sqe)
        struct.pack_into("<H", sqe, 2, self.cid)
        sqe[1] |= 0x40                                   # PSDT: SGL
        length = len(data_out) or data_in_len
        if data_out and in_capsule:
            struct.pack_into("<QI", sqe, 24, 0, length)
            sqe[39] = 0x01                               # data block, offset
        elif length:
            struct.pack_into("<QI", sqe, 24, 0, length)
            sqe[39] = 0x5A                               # transport data block
        self.send_pdu(0x04, bytes(sqe), data_out if in_capsule else b"")
        data = b""
        while True:
            ptype, flags, hdr, pdata = self.recv_pdu()
            if ptype == 0x09:                            # R2T
                cccid, ttag, off, ln = struct.unpack("<HHII", hdr[8:20])
                assert cccid == self.cid
                pos = off
                while pos < off + ln:
                    n = min(self.maxh2cdata, off + ln - pos)
                    last = 0x04 if pos + n == off + ln else 0
                    self.send_pdu(0x06, struct.pack("<HHIII", cccid, ttag, pos, n, 0),
                                  data_out[pos:pos + n], flags=last)
                    pos += n
            elif ptype == 0x07:                          # C2HData
                cccid, _, off, ln = struct.unpack("<HHII", hdr[8:20])
                assert off == len(data)
                data += pdata
                if flags & 0x08:
                    return Completion(struct.pack("<IIHHHH", 0, 0, 0, 0, cccid, 0), data)
            elif ptype == 0x05:
                c = Completion(hdr[8:24], data)
                assert c.cid == self.cid
                return c
            else:
                raise AssertionError("unexpected PDU type %d" % ptype)

    # -- Fabrics and admin commands

    def connect(self, subnqn, hostnqn=HOSTNQN, qid=0, sqsize=31, cntlid=0xFFFF, kato=0):
        sqe = bytearray(64)
        sqe[0] = 0x7F
        sqe[4] = 0x01
        struct.pack_into("<HHHBxI", sqe, 40, 0, qid, sqsize, 0, kato)
        data = bytearray(1024)
        data[0:16] = bytes(range(16))
        struct.pack_into("<H", data, 16, cntlid)
        data[256:256 + len(subnqn)] = subnqn.encode()
        data[512:512 + len(hostnqn)] = hostnqn.encode()
        c = self.command(sqe, bytes(data))
        if c.status == 0:
            self.cntlid = c.dw0 & 0xFFFF
        return c

    def prop_get(self, offset, wide=False):
        sqe = bytearray(64)
        sqe[0], sqe[4] = 0x7F, 0x04
        sqe[40] = 1 if wide else 0
        struct.pack_into("<I", sqe, 44, offset)
        c = self.command(sqe)
        return c, c.dw0 | c.dw1 << 32

    def prop_set(self, offset, value):
        sqe = bytearray(64)
        sqe[0], sqe[4] = 0x7F, 0x00
        struct.pack_into("<IQ", sqe, 44, offset, value)
        return self.command(sqe)

    def enable(self):
        c = self.prop_set(0x14, 0x460001)
        assert c.status == 0, c
        return c

    def identify(self, cns, nsid=0):
        sqe = bytearray(64)
        sqe[0] = 0x06
        struct.pack_into("<I", sqe, 4, nsid)
        struct.pack_into("<I", sqe, 40, cns)
        return self.command(sqe, data_in_len=4096)

    def get_log_page(self, lid, length, offset=0):
        sqe = bytearray(64)
        sqe[0] = 0x02
        numd = length // 4 - 1
        struct.pack_into("<IIQ", sqe, 40, lid | (numd & 0xFFFF) << 16, numd >> 16, offset)
        return self.command(sqe, data_in_len=length)

    def set_num_queues(self, n):
        sqe = bytearray(64)
        sqe[0] = 0x09
        struct.pack_into("<II", sqe, 40, 0x07, (n - 1) | (n - 1) << 16)
        return self.command(sqe)

    # -- NVM commands

    def rw(self, write, nsid, slba, nblocks, data=b"", bs=512, in_capsule=None):
        sqe = bytearray(64)
        sqe[0] = 0x01 if write else 0x02
        struct.pack_into("<I", sqe, 4, nsid)
        struct.pack_into("<QI", sqe, 40, slba, nblocks - 1)
        if write:
            return self.command(sqe, data, in_capsule=len(data) <= 8192
                                if in_capsule is None else in_capsule)
        return self.command(sqe, data_in_len=nblocks * bs)


def discovery_entries(log):
    """Parses a discovery log page into dicts."""
    genctr, numrec, recfmt = struct.unpack("<QQH", log[:18])
    out = []
    for i in range(numrec):
        e = log[1024 * (i + 1):1024 * (i + 2)]
        if len(e) < 1024:
            break
        out.append({"trtype": e[0], "adrfam": e[1], "subtype": e[2],
                    "trsvcid": e[32:64].decode().strip(" \0"),
                    "subnqn": e[256:512].decode().rstrip("\0"),
                    "traddr": e[512:768].decode().strip(" \0")})
    return genctr, numrec, out
