#!/bin/bash
# The README's run command: brings up infrap4d with its embedded default
# pipeline between two network namespaces (h1, h2) joined through veth LINK
# ports, installs L2 entries for both hosts and pings across the pipeline.
# Interactive: keeps running until Ctrl-C. Non-interactive (or DEMO_HOLD=0):
# shows the result and tears everything down.
set -eu
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/$build"
sock=/run/ipdk-demo.sock
log=/tmp/ipdk-demo-infrap4d.log
hold=${DEMO_HOLD:-}
if [ -z "$hold" ]; then [ -t 0 ] && hold=1 || hold=0; fi

cleanup() {
	[ -n "${pid:-}" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del ipdk-h1 2>/dev/null || true
	ip netns del ipdk-h2 2>/dev/null || true
	ip link del ipdk-h1 2>/dev/null || true
	ip link del ipdk-h2 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM
cleanup

# Two hosts, each a namespace with one end of a veth pair; the other ends are
# the daemon's LINK ports.
for i in 1 2; do
	ip netns add ipdk-h$i
	ip link add ipdk-h$i type veth peer name eth0 netns ipdk-h$i
	ip netns exec ipdk-h$i ip link set eth0 address 02:00:00:00:00:0$i
	ip netns exec ipdk-h$i ip addr add 10.0.0.$i/24 dev eth0
	ip netns exec ipdk-h$i ip link set eth0 up
	ip netns exec ipdk-h$i ip link set lo up
	ip netns exec ipdk-h$i ethtool -K eth0 tx off sg off tso off gso off >/dev/null
	sysctl -qw net.ipv6.conf.ipdk-h$i.disable_ipv6=1
	ip link set ipdk-h$i up
done
# The default pipeline does not flood: the hosts know each other's MAC.
ip netns exec ipdk-h1 ip neigh replace 10.0.0.2 lladdr 02:00:00:00:00:02 dev eth0 nud permanent
ip netns exec ipdk-h2 ip neigh replace 10.0.0.1 lladdr 02:00:00:00:00:01 dev eth0 nud permanent

echo "== starting infrap4d (log: $log)"
"$bin/daemons/infrap4d/infrap4d" -S "$sock" --state-file none \
	--port name=h1,type=link,netdev=ipdk-h1 \
	--port name=h2,type=link,netdev=ipdk-h2 \
	--entry "l2_fwd match 02:00:00:00:00:02 action l2_forward port 1" \
	--entry "l2_fwd match 02:00:00:00:00:01 action l2_forward port 0" \
	>"$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
	[ -S "$sock" ] && break
	kill -0 "$pid" 2>/dev/null || { cat "$log"; echo "infrap4d failed to start"; exit 1; }
	sleep 0.1
done
ctl() { "$bin/tools/infrap4d-ctl" -S "$sock" "$@"; }

echo "== ports"
ctl -q ports
echo "== l2_fwd entries"
ctl -q dump l2_fwd
echo "== ping h1 -> h2 through the pipeline"
ip netns exec ipdk-h1 ping -c 3 -i 0.2 -W 2 10.0.0.2
echo "== l2_fwd statistics"
ctl -q stats l2_fwd
echo "== demo OK"
if [ "$hold" = 1 ]; then
	echo "infrap4d keeps running: try"
	echo "  ip netns exec ipdk-h1 ping 10.0.0.2"
	echo "  $bin/tools/infrap4d-ctl -S $sock help"
	echo "Ctrl-C stops the demo and removes the namespaces."
	wait "$pid"
fi
