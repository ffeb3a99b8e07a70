#!/bin/sh
# Installs the Debian packages ipdk needs to build, run and test (Debian 12,
# as root). Does nothing when they are all present already.
set -eu

PKGS="build-essential meson ninja-build pkg-config
libdpdk-dev dpdk dpdk-dev dpdk-doc libnuma-dev libpcap-dev libbpf-dev libxdp-dev
libjansson-dev libcmocka-dev libssl-dev openssl liburing-dev
libgrpc-dev libprotobuf-dev protobuf-compiler protobuf-c-compiler libprotobuf-c-dev
python3 python3-pytest python3-scapy python3-grpcio python3-grpc-tools
iproute2 ethtool iperf3 iputils-ping tcpdump procps
qemu-system-x86 busybox-static cpio"

missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps: missing packages:$missing; run as root to install them" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends $missing
