"""QEMU guests for ipdk's VM tests: the guest image and the running guest.

The guest is built from Debian packages without installing anything on the
host: the kernel package is fetched with `apt-get download` and unpacked with
`dpkg-deb`, and an initramfs is made of busybox-static, the kernel modules the
tests need (virtio, NVMe, NVMe/TCP, with their dependencies read from the
modules themselves) and a small init. Both are cached under
/var/cache/ipdk-vm (IPDK_VM_CACHE) keyed by kernel version and a hash of
everything that goes into the initramfs, so only the first run needs Debian's
archive and later ones boot at once.

A running guest (Guest) is QEMU TCG on a q35 machine with shared memfd RAM
(vhost-user needs it), PCIe root ports free for hotplug, two QMP sockets (one
for the harness, one for ipdk's hotplug driver: QEMU serves one client per
monitor) and a command agent. The agent is a shell loop in the guest reading
requests from a virtio-serial port: each request carries an id, a timeout and
a base64 script; the reply carries the script's stdout, stderr (base64) and
exit status between markers with the same id, so output can hold anything and
a late reply to an earlier request is never taken for the current one. The
serial console goes to a log file for debugging.
"""
import base64
import glob
import hashlib
import itertools
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time

CACHE = os.environ.get("IPDK_VM_CACHE", "/var/cache/ipdk-vm")
QEMU = os.environ.get("IPDK_QEMU", "qemu-system-x86_64")
BUSYBOX = os.environ.get("IPDK_VM_BUSYBOX", "/bin/busybox")
AGENT_PORT = "org.ipdk.agent"

# Modules loaded at boot, in this order after their dependencies. The crypto
# ones are looked up by name at run time (no modprobe aliases in the guest).
MODULES = ["virtio_pci", "virtio_console", "virtio_net", "virtio_blk",
           "crc32c_generic", "crc64_rocksoft_generic", "crct10dif_generic",
           "nvme", "nvme-tcp", "nvmet", "nvmet-tcp"]

INIT = r"""#!/bin/sh
# ipdk test guest: mount the basics, load modules, run the command agent.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mkdir -p /dev/pts /tmp /run /var/run
mount -t devpts devpts /dev/pts
mount -t tmpfs tmp /tmp
[ -d /sys/kernel/config ] && mount -t configfs none /sys/kernel/config
for m in $(cat /etc/ipdk-modules); do
	insmod "/lib/modules/$(uname -r)/$m" || echo "init: cannot load $m" >/dev/console
done
ip link set lo up
hostname ipdk-guest
port=
for i in 1 2 3 4 5 6 7 8 9 10; do
	for d in /sys/class/virtio-ports/*; do
		[ "$(cat "$d/name" 2>/dev/null)" = "@AGENT_PORT@" ] && port=/dev/${d##*/}
	done
	[ -n "$port" ] && [ -e "$port" ] && break
	sleep 0.2
done
echo "init: agent on ${port:-nothing}" >/dev/console
while true; do
	[ -n "$port" ] && /bin/ipdk-agent "$port"
	sleep 1
done
"""

AGENT = r"""#!/bin/sh
# Command agent: one request per line on the virtio-serial port,
#   RUN <id> <timeout-seconds> <base64 script>
# answered by
#   BEGIN <id> / OUT / base64 stdout / ERR / base64 stderr / END <id> <status>
exec 3<>"$1"
echo "HELLO $(cat /proc/sys/kernel/random/boot_id)" >&3
while read -r verb id tmo b64 <&3; do
	[ "$verb" = RUN ] || continue
	echo "$b64" | base64 -d >/tmp/agent.cmd 2>/dev/null
	timeout -s KILL "$tmo" sh /tmp/agent.cmd </dev/null >/tmp/agent.out 2>/tmp/agent.err 3>&-
	rc=$?
	{
		echo "BEGIN $id"
		echo OUT
		base64 /tmp/agent.out
		echo ERR
		base64 /tmp/agent.err
		echo "END $id $rc"
	} >&3
done
"""


class VMError(RuntimeError):
    pass


def _run(*cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        raise VMError("%s failed (%d): %s%s" % (" ".join(cmd), r.returncode, r.stdout, r.stderr))
    return r.stdout


# ---- the kernel package ------------------------------------------------------

def _kernel_package():
    """(package, version) of the kernel image apt would install, or None offline."""
    pkg = os.environ.get("IPDK_VM_KERNEL_PKG")
    try:
        if not pkg:
            out = _run("apt-cache", "depends", "linux-image-amd64")
            m = re.search(r"Depends: (linux-image-[0-9][^\s]*-amd64)\b", out)
            if not m:
                return None
            pkg = m.group(1)
        out = _run("apt-cache", "show", "--no-all-versions", pkg)
        ver = re.search(r"^Version: (\S+)", out, re.M).group(1)
        return pkg, ver
    except (VMError, AttributeError, FileNotFoundError):
        return None


def _kernel_deb():
    """Path of the kernel .deb in the cache, downloading it when needed."""
    debs = os.path.join(CACHE, "debs")
    os.makedirs(debs, exist_ok=True)
    want = _kernel_package()
    if want:
        pkg, ver = want
        name = "%s_%s_amd64.deb" % (pkg, ver.replace(":", "%3a"))
        path = os.path.join(debs, name)
        if not os.path.exists(path):
            tmp = tempfile.mkdtemp(dir=debs)
            try:
                os.chmod(tmp, 0o755)
                _run("apt-get", "download", "-q", "%s=%s" % (pkg, ver), cwd=tmp, timeout=600)
                got = glob.glob(os.path.join(tmp, "*.deb"))
                if len(got) != 1:
                    raise VMError("apt-get download %s gave %r" % (pkg, got))
                os.rename(got[0], path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return path
    # Offline and nothing to ask apt: the newest kernel we already have.
    have = sorted(glob.glob(os.path.join(debs, "linux-image-*.deb")))
    if not have:
        raise VMError("no kernel package: apt cannot name one (offline?) and %s is empty" % debs)
    return have[-1]


def _module_index(root):
    """{module name: path relative to root} for every .ko under root (both
    '-' and '_' spellings, as the kernel treats them alike)."""
    idx = {}
    for dirpath, _, files in os.walk(root):
        for f in files:
            if f.endswith(".ko"):
                name = f[:-3]
                rel = os.path.relpath(os.path.join(dirpath, f), root)
                idx[name] = rel
                idx[name.replace("-", "_")] = rel
    return idx


def _module_depends(path):
    with open(path, "rb") as f:
        data = f.read()
    m = re.search(rb"\x00depends=([^\x00]*)\x00", data)
    if not m or not m.group(1):
        return []
    return m.group(1).decode().split(",")


def _resolve_modules(root, wanted):
    """Paths (relative to root) of wanted modules and their dependencies, each
    after what it depends on. Names missing from the package are skipped:
    they are built into this kernel."""
    idx = _module_index(root)
    order, seen = [], set()

    def visit(name):
        rel = idx.get(name) or idx.get(name.replace("-", "_"))
        if rel is None or rel in seen:
            return
        seen.add(rel)
        for dep in _module_depends(os.path.join(root, rel)):
            visit(dep)
        order.append(rel)

    for name in wanted:
        visit(name)
    return order


def _recipe_hash(extra=b""):
    h = hashlib.sha256()
    for part in (INIT, AGENT, AGENT_PORT, " ".join(MODULES)):
        h.update(part.encode())
    with open(BUSYBOX, "rb") as f:
        h.update(hashlib.sha256(f.read()).digest())
    h.update(extra)
    return h.hexdigest()[:12]


def _write_cpio(src_dir, out_path):
    files = subprocess.run(["find", "."], cwd=src_dir, capture_output=True, check=True).stdout
    with open(out_path + ".tmp", "wb") as out:
        cpio = subprocess.Popen(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"],
                                cwd=src_dir, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        gz = subprocess.Popen(["gzip", "-1"], stdin=cpio.stdout, stdout=out)
        cpio.stdout.close()
        cpio.communicate(files)
        if cpio.wait() != 0 or gz.wait() != 0:
            raise VMError("cpio/gzip failed writing %s" % out_path)
    os.rename(out_path + ".tmp", out_path)


def build_image():
    """Returns (kernel, initrd) paths, building and caching them when needed."""
    deb = _kernel_deb()
    key = "%s-%s" % (os.path.basename(deb)[:-4], _recipe_hash())
    out = os.path.join(CACHE, key)
    kernel, initrd = os.path.join(out, "vmlinuz"), os.path.join(out, "initramfs.cpio.gz")
    if os.path.exists(kernel) and os.path.exists(initrd):
        return kernel, initrd
    os.makedirs(CACHE, exist_ok=True)
    work = tempfile.mkdtemp(prefix="build-", dir=CACHE)
    try:
        pkg = os.path.join(work, "pkg")
        os.makedirs(pkg)
        deb_tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", pkg, "./boot", "./lib/modules"],
                       stdin=deb_tar.stdout, check=True)
        deb_tar.stdout.close()
        if deb_tar.wait() != 0:
            raise VMError("dpkg-deb --fsys-tarfile %s failed" % deb)
        vmlinuz = glob.glob(os.path.join(pkg, "boot", "vmlinuz-*"))
        if len(vmlinuz) != 1:
            raise VMError("%s: expected one vmlinuz, found %r" % (deb, vmlinuz))
        kver = os.path.basename(vmlinuz[0])[len("vmlinuz-"):]
        mroot = os.path.join(pkg, "lib", "modules", kver)

        root = os.path.join(work, "root")
        for d in ("bin", "sbin", "etc", "proc", "sys", "dev", "tmp", "run", "root",
                  "usr/bin", "usr/sbin", "lib/modules/" + kver):
            os.makedirs(os.path.join(root, d), exist_ok=True)
        shutil.copy2(BUSYBOX, os.path.join(root, "bin", "busybox"))
        applets = _run(BUSYBOX, "--list").split()
        for a in applets:
            link = os.path.join(root, "bin", a)
            if not os.path.exists(link):
                os.symlink("busybox", link)
        os.symlink("../bin/busybox", os.path.join(root, "sbin", "modprobe"))
        order = _resolve_modules(mroot, MODULES)
        for rel in order:
            dst = os.path.join(root, "lib", "modules", kver, rel)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(mroot, rel), dst)
        with open(os.path.join(root, "etc", "ipdk-modules"), "w") as f:
            f.write("\n".join(order) + "\n")
        # busybox modprobe, for modules the kernel asks for by name at run time.
        with open(os.path.join(root, "lib", "modules", kver, "modules.dep"), "w") as f:
            for rel in order:
                deps = [d for d in (_resolve_modules(mroot, [os.path.basename(rel)[:-3]])[:-1])]
                f.write("%s: %s\n" % (rel, " ".join(deps)))
        for path, text, mode in (("init", INIT.replace("@AGENT_PORT@", AGENT_PORT), 0o755),
                                 ("bin/ipdk-agent", AGENT, 0o755),
                                 ("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n", 0o644),
                                 ("etc/group", "root:x:0:\n", 0o644)):
            p = os.path.join(root, path)
            with open(p, "w") as f:
                f.write(text)
            os.chmod(p, mode)
        stage = os.path.join(work, "out")
        os.makedirs(stage)
        shutil.copy2(vmlinuz[0], os.path.join(stage, "vmlinuz"))
        _write_cpio(root, os.path.join(stage, "initramfs.cpio.gz"))
        with open(os.path.join(stage, "info.json"), "w") as f:
            json.dump({"deb": os.path.basename(deb), "kernel": kver, "modules": order}, f,
                      indent=1)
        try:
            os.rename(stage, out)
        except OSError:
            if not os.path.exists(initrd):   # not another run finishing first
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return kernel, initrd


# ---- tools (fio, nvme-cli), an optional second initramfs layer ---------------

# (Debian package, program it brings) carried by the layer
LAYER_TOOLS = (("fio", "usr/bin/fio"), ("nvme-cli", "usr/sbin/nvme"))


def _layer_packages():
    """The layer's packages and the packages of their dependency closure this
    host lacks."""
    tools = [p for p, _ in LAYER_TOOLS]
    out = _run("apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests",
               "--no-conflicts", "--no-breaks", "--no-replaces", "--no-enhances", *tools)
    names = sorted({l.strip() for l in out.splitlines()
                    if l and not l.startswith((" ", "<"))})
    missing = []
    for p in names:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}", p], capture_output=True,
                           text=True)
        if p in tools or "ok installed" not in r.stdout:
            missing.append(p)
    return missing


def _needed(path):
    out = subprocess.run(["readelf", "-d", path], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out)


def build_tools_layer():
    """Returns the path of a cpio archive holding fio, nvme (nvme-cli) and every
    shared library they need (from Debian packages unpacked here, or this
    host's own copies), building and caching it when needed. Appended to the
    initramfs (Guest(fio=True)); about 30 MB, so only guests that run fio or
    nvme carry it."""
    layer_dir = os.path.join(CACHE, "tools")
    os.makedirs(layer_dir, exist_ok=True)
    have = sorted(glob.glob(os.path.join(layer_dir, "tools-*.cpio")))
    try:
        pkgs = _layer_packages()
        vers = [re.search(r"^Version: (\S+)", _run("apt-cache", "show", "--no-all-versions",
                                                    p), re.M).group(1) for p, _ in LAYER_TOOLS]
    except (VMError, AttributeError, FileNotFoundError):
        if have:
            return have[-1]      # offline: the layer we built before
        raise
    name = "-".join("%s_%s" % (p, v) for (p, _), v in zip(LAYER_TOOLS, vers))
    out = os.path.join(layer_dir, "tools-%s.cpio" % re.sub(r"[^\w.+-]", "_", name))
    if os.path.exists(out):
        return out
    work = tempfile.mkdtemp(prefix="build-", dir=layer_dir)
    try:
        os.chmod(work, 0o755)
        _run("apt-get", "download", "-q", *pkgs, cwd=work, timeout=600)
        stage = os.path.join(work, "stage")
        for deb in glob.glob(os.path.join(work, "*.deb")):
            _run("dpkg-deb", "-x", deb, stage)
        index = {}
        for d in (stage, "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu"):
            for dirpath, _, files in os.walk(d):
                for f in files:
                    index.setdefault(f, os.path.join(dirpath, f))
        root = os.path.join(work, "root")
        libdir = os.path.join(root, "lib", "x86_64-linux-gnu")
        os.makedirs(libdir)
        os.makedirs(os.path.join(root, "lib64"))
        shutil.copy2("/lib64/ld-linux-x86-64.so.2", os.path.join(root, "lib64"))
        todo, done = [], set()
        for _, prog in LAYER_TOOLS:
            dst = os.path.join(root, prog)
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            shutil.copy2(os.path.join(stage, prog), dst)
            todo += _needed(dst)
        while todo:
            so = todo.pop()
            if so in done:
                continue
            done.add(so)
            src = index.get(so)
            if not src:
                raise VMError("tools layer: no %s among the packages or on this host" % so)
            dst = os.path.join(libdir, so)
            shutil.copyfile(os.path.realpath(src), dst)
            todo += _needed(dst)
        files = subprocess.run(["find", "."], cwd=root, capture_output=True,
                               check=True).stdout
        with open(out + ".tmp", "wb") as f:
            subprocess.run(["cpio", "--quiet", "-o", "-H", "newc", "-R", "0:0"], cwd=root,
                           input=files, stdout=f, check=True)
        os.rename(out + ".tmp", out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return out


def _initrd_with(initrd, layers, workdir):
    """The initramfs with more (uncompressed) cpio archives. The kernel
    unpacks concatenated archives one after the other, but cannot find the
    start of one that follows a compressed archive, so the layers go first."""
    if not layers:
        return initrd
    path = os.path.join(workdir, "initrd-%s.img" % hashlib.sha256(
        "".join([initrd] + layers).encode()).hexdigest()[:8])
    if not os.path.exists(path):
        with open(path + ".tmp", "wb") as out:
            for p in layers + [initrd]:
                with open(p, "rb") as f:
                    shutil.copyfileobj(f, out)
        os.rename(path + ".tmp", path)
    return path


# ---- QMP (the harness's own connection) ---------------------------------------

class QMP:
    """A QMP client: greeting and capabilities handshake, commands with
    timeouts, and events kept until someone waits for them."""

    def __init__(self, path, timeout=10.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.buf = b""
        self.events = []
        self.greeting = self._read(timeout)
        if "QMP" not in self.greeting:
            raise VMError("QMP %s: unexpected greeting %r" % (path, self.greeting))
        self.cmd("qmp_capabilities")

    def _read(self, timeout):
        end = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                raise VMError("QMP: no message within %.1f s" % timeout)
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise VMError("QMP: connection closed (QEMU exited?)")
            self.buf += data
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def execute(self, command, timeout=10.0, **args):
        """Sends a command; returns the whole reply ({"return": ...} or {"error": ...})."""
        msg = {"execute": command}
        if args:
            msg["arguments"] = args
        self.sock.sendall(json.dumps(msg).encode() + b"\n")
        end = time.monotonic() + timeout
        while True:
            m = self._read(max(0.01, end - time.monotonic()))
            if "event" in m:
                self.events.append(m)
                continue
            return m

    def cmd(self, command, timeout=10.0, **args):
        """Runs a command that must succeed; returns its "return" value."""
        r = self.execute(command, timeout, **args)
        if "error" in r:
            raise VMError("QMP %s: %s" % (command, r["error"].get("desc")))
        return r.get("return")

    def wait_event(self, name, match=None, timeout=10.0):
        end = time.monotonic() + timeout
        while True:
            for i, e in enumerate(self.events):
                if e["event"] == name and (match is None or match(e.get("data", {}))):
                    return self.events.pop(i)
            left = end - time.monotonic()
            if left <= 0:
                raise VMError("QMP: no %s event within %.1f s" % (name, timeout))
            try:
                m = self._read(left)
            except VMError:
                continue
            if "event" in m:
                self.events.append(m)

    def close(self):
        self.sock.close()


# ---- the guest -------------------------------------------------------------

class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return "Result(rc=%d, out=%r, err=%r)" % (self.rc, self.out, self.err)


class Guest:
    """One QEMU guest. Use as a context manager or call start()/stop().

    root_ports: how many PCIe root ports (rp0, rp1, ...) to offer for
    hotplug. mem_mb: guest RAM, a shared memfd. fio: add the tools layer, fio
    and nvme-cli (see build_tools_layer). All sockets and logs go in workdir
    (made when not given)."""

    _ids = itertools.count(1)

    def __init__(self, workdir=None, root_ports=4, mem_mb=256, smp=1, extra_args=(),
                 append="", fio=False):
        self.n = next(self._ids)
        self.workdir = workdir or tempfile.mkdtemp(prefix="ipdk-vm-")
        os.makedirs(self.workdir, exist_ok=True)
        base = os.path.join(self.workdir, "vm%d" % self.n)
        self.qmp_path = base + "-qmp.sock"          # the harness's monitor
        self.ipdk_qmp_path = base + "-qmp-ipdk.sock"  # for lib/vdev
        self.agent_path = base + "-agent.sock"
        self.console_path = base + "-console.log"
        self.root_ports = ["rp%d" % i for i in range(root_ports)]
        self.mem_mb, self.smp = mem_mb, smp
        self.extra_args, self.append = list(extra_args), append
        self.with_fio = fio
        self.proc = None
        self.qmp = None
        self.agent = None
        self._abuf = b""
        self._req = itertools.count(1)

    # -- life --

    def command_line(self, kernel, initrd):
        cmd = [QEMU, "-machine", "q35,accel=tcg", "-smp", str(self.smp), "-m", "%dM" % self.mem_mb,
               "-object", "memory-backend-memfd,id=mem,size=%dM,share=on" % self.mem_mb,
               "-numa", "node,memdev=mem",
               "-kernel", kernel, "-initrd", initrd,
               "-append", "console=ttyS0 quiet panic=-1 net.ifnames=0 %s" % self.append,
               "-nodefaults", "-display", "none", "-no-reboot",
               "-serial", "file:" + self.console_path,
               "-qmp", "unix:%s,server=on,wait=off" % self.qmp_path,
               "-qmp", "unix:%s,server=on,wait=off" % self.ipdk_qmp_path,
               "-chardev", "socket,id=agent,path=%s,server=on,wait=off" % self.agent_path,
               "-device", "virtio-serial-pci,id=vser0",
               "-device", "virtserialport,bus=vser0.0,chardev=agent,name=" + AGENT_PORT]
        # Root ports as functions of slots 8 and up (eight per slot), no I/O
        # window each so many of them fit.
        for i, rp in enumerate(self.root_ports):
            slot, fn = 8 + i // 8, i % 8
            dev = "pcie-root-port,id=%s,bus=pcie.0,chassis=%d,slot=%d,addr=0x%x.%d,io-reserve=0" % (
                rp, i + 1, i + 1, slot, fn)
            if fn == 0:
                dev += ",multifunction=on"
            cmd += ["-device", dev]
        return cmd + self.extra_args

    def start(self, boot_timeout=60.0):
        kernel, initrd = build_image()
        initrd = _initrd_with(initrd, [build_tools_layer()] if self.with_fio else [],
                              self.workdir)
        for p in (self.qmp_path, self.ipdk_qmp_path, self.agent_path):
            if os.path.exists(p):
                os.unlink(p)
        self.cmd = self.command_line(kernel, initrd)
        self.qemu_log = open(os.path.join(self.workdir, "vm%d-qemu.log" % self.n), "w+")
        self.proc = subprocess.Popen(self.cmd, stdout=self.qemu_log, stderr=subprocess.STDOUT)
        try:
            self._wait_sockets(10.0)
            self.qmp = QMP(self.qmp_path)
            self.agent = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.agent.connect(self.agent_path)
            self._wait_hello(boot_timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_sockets(self, timeout):
        end = time.monotonic() + timeout
        paths = (self.qmp_path, self.ipdk_qmp_path, self.agent_path)
        while not all(os.path.exists(p) for p in paths):
            if self.proc.poll() is not None:
                raise VMError("QEMU exited with %d:\n%s" % (self.proc.returncode, self.qemu_text()))
            if time.monotonic() > end:
                raise VMError("QEMU made no sockets within %.0f s:\n%s" % (timeout, self.qemu_text()))
            time.sleep(0.02)

    def _wait_hello(self, timeout):
        end = time.monotonic() + timeout
        while True:
            line = self._agent_line(end)
            if line.startswith("HELLO "):
                self.boot_id = line.split()[1]
                return

    def _agent_line(self, end):
        while b"\n" not in self._abuf:
            left = end - time.monotonic()
            if left <= 0 or self.proc.poll() is not None:
                raise VMError("guest agent: no answer (QEMU %s); console:\n%s" % (
                    "running" if self.proc.poll() is None else "exited",
                    self.console_text()[-3000:]))
            self.agent.settimeout(min(left, 0.5))
            try:
                data = self.agent.recv(65536)
            except socket.timeout:
                continue
            if not data:
                raise VMError("guest agent: connection closed; console:\n%s"
                              % self.console_text()[-3000:])
            self._abuf += data
        line, self._abuf = self._abuf.split(b"\n", 1)
        return line.decode(errors="replace").strip()

    def stop(self, timeout=10.0):
        if self.agent:
            self.agent.close()
            self.agent = None
        if self.qmp:
            try:
                self.qmp.execute("quit", timeout=2)
            except (VMError, OSError):
                pass
            self.qmp.close()
            self.qmp = None
        if self.proc and self.proc.poll() is None:
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for p in (self.qmp_path, self.ipdk_qmp_path, self.agent_path):
            if os.path.exists(p):
                os.unlink(p)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def console_text(self):
        try:
            with open(self.console_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def qemu_text(self):
        self.qemu_log.flush()
        self.qemu_log.seek(0)
        return self.qemu_log.read()

    # -- commands in the guest --

    def run(self, script, timeout=30.0, check=False):
        """Runs a shell script in the guest; returns Result(rc, out, err).
        The guest kills the script after timeout seconds (rc 137)."""
        return self.wait(self.submit(script, timeout), check)

    def submit(self, script, timeout=30.0):
        """Starts a script in the guest and returns at once; wait() collects
        the result. The agent runs one script at a time, in order."""
        rid = next(self._req)
        b64 = base64.b64encode(script.encode()).decode()
        self.agent.sendall(("RUN %d %d %s\n" % (rid, max(1, int(timeout)), b64)).encode())
        return (rid, script, time.monotonic() + timeout + 10.0)

    def wait(self, handle, check=False):
        """The Result of a script submit() started."""
        rid, script, end = handle
        while self._agent_line(end) != "BEGIN %d" % rid:
            pass
        parts = {"OUT": [], "ERR": []}
        cur = None
        while True:
            line = self._agent_line(end)
            if line in parts:
                cur = parts[line]
            elif line.startswith("END %d " % rid):
                rc = int(line.split()[2])
                break
            elif cur is not None:
                cur.append(line)
        dec = lambda ls: base64.b64decode("".join(ls)).decode(errors="replace")
        res = Result(rc, dec(parts["OUT"]), dec(parts["ERR"]))
        if check and rc != 0:
            raise VMError("guest: %r failed: %r" % (script, res))
        return res

    def sh(self, script, timeout=30.0):
        """Runs a script that must succeed; returns its stdout."""
        return self.run(script, timeout, check=True).out

    def netdev_by_mac(self, mac):
        """The guest's netdev with this MAC, or None."""
        out = self.run("grep -il '^%s$' /sys/class/net/*/address" % mac.lower()).out.split()
        return out[0].split("/")[4] if out else None

    def wait_netdev(self, mac, present=True, timeout=30.0):
        """Waits until a netdev with mac exists (or no longer does); returns its name."""
        end = time.monotonic() + timeout
        while True:
            dev = self.netdev_by_mac(mac)
            if (dev is not None) == present:
                return dev
            if time.monotonic() > end:
                raise VMError("guest: netdev with MAC %s %s after %.0f s; dmesg:\n%s" % (
                    mac, "did not appear" if present else "still there", timeout,
                    self.run("dmesg | tail -30").out))
            time.sleep(0.2)

    def fio(self, job, timeout=300.0):
        """Runs fio in the guest with a job given as {"global": {...}, "jobs":
        {name: {...}}} (values as fio's job-file options); returns fio's JSON
        output parsed. Needs fio in the guest image (see docs/vm.md)."""
        lines = []
        if job.get("global"):
            lines.append("[global]")
            lines += ["%s=%s" % kv if kv[1] is not True else kv[0] for kv in job["global"].items()]
        for name, opts in job.get("jobs", {}).items():
            lines.append("[%s]" % name)
            lines += ["%s=%s" % kv if kv[1] is not True else kv[0] for kv in opts.items()]
        text = "\n".join(lines) + "\n"
        b64 = base64.b64encode(text.encode()).decode()
        r = self.run("command -v fio >/dev/null || { echo 'fio is not in this guest image' >&2;"
                     " exit 127; }\necho %s | base64 -d > /tmp/job.fio\n"
                     "fio --output-format=json /tmp/job.fio" % b64, timeout=timeout)
        if r.rc != 0:
            raise VMError("guest fio failed (%d): %s%s" % (r.rc, r.err, r.out[-2000:]))
        return json.loads(r.out[r.out.index("{"):])
