#!/bin/bash
# Runs the benchmarks (`make bench`): builds them, makes sure the DPDK-internal
# pipeline headers that the code-generation baseline compiles against are at
# hand, runs each benchmark once and prints a summary. Figures are ratios
# against baselines measured in the same run; nothing here is a test.
#
# The code-generation baseline compiles C that DPDK generates, which includes
# two headers Debian does not install (rte_swx_pipeline_internal.h and
# rte_swx_pipeline_spec.h). They must come from the very DPDK version that is
# installed, so they are taken from Debian's source package of that version
# (fetched with apt-get through a private source list, leaving the system's
# apt configuration alone) and cached in BUILD/bench/dpdk-internal. Set
# IPDK_DPDK_SRC to a DPDK source tree of the same version to skip the fetch.
# Without them the codegen variants are skipped and say so.
#
# Knobs (environment): BENCH_SECONDS, BENCH_REPS (pipeline samples),
# BENCH_LOAD_REPS, BENCH_TDI_N, BENCH_TDI_BATCH, BENCH_TDI_SINGLE,
# BENCH_TDI_BUDGET, BENCH_TDI_SINGLE_BUDGET (seconds), BENCH_HOTPLUG_ROUNDS,
# BENCH_P4RT_N, BENCH_P4RT_BUDGET, BENCH_P4RT_SINGLE_BUDGET (seconds).
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

ninja -C "$build" bench/bench_pipeline bench/bench_load bench/bench_tdi daemons/infrap4d/infrap4d \
	tools/vdev-ctl bench/bench_gnmi_ports tools/infrap4d-ctl || exit 1

# Only with protobuf-c and gRPC (the P4Runtime service's build).
ninja -C "$build" bench/bench_p4rt >/dev/null 2>&1 || rm -f "$build/bench/bench_p4rt"

inc="$root/$build/bench/dpdk-internal"
dpdk_ver=$(dpkg-query -W -f='${Version}' libdpdk-dev 2>/dev/null || pkg-config --modversion libdpdk)

have_headers() {
	[ -f "$inc/rte_swx_pipeline_internal.h" ] && [ -f "$inc/rte_swx_pipeline_spec.h" ] &&
		[ "$(cat "$inc/VERSION" 2>/dev/null)" = "$dpdk_ver" ]
}

headers_from_tree() {
	local src=$1
	[ -f "$src/lib/pipeline/rte_swx_pipeline_internal.h" ] || return 1
	mkdir -p "$inc"
	cp "$src/lib/pipeline/rte_swx_pipeline_internal.h" \
	   "$src/lib/pipeline/rte_swx_pipeline_spec.h" "$inc/" || return 1
	echo "$dpdk_ver" > "$inc/VERSION"
}

headers_from_debian() {
	local tmp rc=1 opts tarball
	tmp=$(mktemp -d /tmp/ipdk-bench-src.XXXXXX)
	mkdir -p "$tmp/etc" "$tmp/lists/partial" "$tmp/cache/archives/partial" "$tmp/dl"
	cat > "$tmp/etc/src.sources" <<-EOF
	Types: deb-src
	URIs: http://deb.debian.org/debian
	Suites: $(. /etc/os-release && echo "$VERSION_CODENAME")
	Components: main
	Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
	EOF
	opts=(-o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts="$tmp/etc"
	      -o Dir::State::Lists="$tmp/lists" -o Dir::Cache="$tmp/cache"
	      -o APT::Sandbox::User=root -qq)
	echo "bench: fetching DPDK $dpdk_ver source package for its internal pipeline headers"
	if apt-get "${opts[@]}" update >/dev/null &&
	   (cd "$tmp/dl" && apt-get "${opts[@]}" source --download-only "dpdk=$dpdk_ver" >/dev/null); then
		tarball=$(ls "$tmp"/dl/dpdk_*.orig.tar.* 2>/dev/null | head -1)
		if [ -n "$tarball" ] && tar -xf "$tarball" -C "$tmp" --wildcards \
			'*/lib/pipeline/rte_swx_pipeline_internal.h' \
			'*/lib/pipeline/rte_swx_pipeline_spec.h'; then
			headers_from_tree "$(ls -d "$tmp"/dpdk*/ | head -1)" && rc=0
		fi
	fi
	rm -rf "$tmp"
	return $rc
}

if ! have_headers; then
	if [ -n "${IPDK_DPDK_SRC:-}" ]; then
		headers_from_tree "$IPDK_DPDK_SRC"
	else
		headers_from_debian
	fi
fi
if have_headers; then
	export IPDK_BENCH_DPDK_INTERNAL="$inc"
else
	echo "bench: DPDK internal pipeline headers unavailable: codegen variants will be skipped" >&2
fi

out="$root/$build/bench/results.txt"
: > "$out"
start=$(date +%s)
rc=0

run() {
	local name=$1
	shift
	echo
	echo "== $name: $*"
	# Library INFO lines go to stderr; keep them out of the report.
	"$@" 2> "$root/$build/bench/$name.log" | tee -a "$out"
	local r=${PIPESTATUS[0]}
	if [ "$r" -ne 0 ]; then
		echo "bench: $name failed (exit $r):" >&2
		grep -v '\[INFO\]' "$root/$build/bench/$name.log" >&2
		rc=1
	fi
}

{
	echo "Machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs online," \
	     "$(free -g | awk '/^Mem:/ {print $2}') GiB, kernel $(uname -r)," \
	     "DPDK $(pkg-config --modversion libdpdk), $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "Load average before the run: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$out"

run pipeline "$build/bench/bench_pipeline" -s "${BENCH_SECONDS:-0.6}" -r "${BENCH_REPS:-5}"
run load "$build/bench/bench_load" -r "${BENCH_LOAD_REPS:-5}"
tdi_args=(-n "${BENCH_TDI_N:-1000000}" -b "${BENCH_TDI_BATCH:-10000}"
	  -m "${BENCH_TDI_SINGLE:-20000}" -T "${BENCH_TDI_BUDGET:-60}"
	  -t "${BENCH_TDI_SINGLE_BUDGET:-15}")
# As deployed (a pipeline thread runs), then with no thread to wait for.
run tdi "$build/bench/bench_tdi" "${tdi_args[@]}"
run tdi-nothread "$build/bench/bench_tdi" -R "${tdi_args[@]}"
# P4Runtime Write (batches of 10000, 100, 1) and Read from a C client.
if [ -x "$build/bench/bench_p4rt" ]; then
	run p4rt "$build/bench/bench_p4rt" -d "$build/daemons/infrap4d/infrap4d" \
		-n "${BENCH_P4RT_N:-1000000}" -T "${BENCH_P4RT_BUDGET:-120}" -t "${BENCH_P4RT_SINGLE_BUDGET:-20}"
fi
# NVMe/TCP initiator against the target on loopback, beside raw loopback TCP.
ninja -C "$build" bench/bench_nvmf >/dev/null &&
	run nvmf "$build/bench/bench_nvmf" "${BENCH_NVMF_SECONDS:-3}" "${BENCH_NVMF_DEPTH:-64}"
# vhost-user-blk IOPS per core: lib/vblk beside qemu-storage-daemon.
ninja -C "$build" bench/bench_vblk >/dev/null &&
	run vblk "$build/bench/bench_vblk" --seconds "${BENCH_VBLK_SECONDS:-3}"
# Hotplug latency into a QEMU guest (tests/vm harness); needs qemu-system-x86.
if command -v qemu-system-x86_64 >/dev/null; then
	run hotplug /usr/bin/python3 bench/bench_hotplug.py "$build"
	# Ports over gNMI against library calls, hotplug through gNMI's /virtual-devices.
	run gnmi /usr/bin/python3 bench/bench_gnmi.py "$build"
else
	echo "bench: qemu-system-x86_64 not found: hotplug latency skipped" | tee -a "$out"
fi

echo
echo "== summary ($(( $(date +%s) - start )) s; full output in $out)"
grep -E '^Machine|^spec |^(l2fwd|fib|vxlan) |^  ours|spec loader alone|^  codegen path total|^  codegen/ours|^TDI table|one commit per entry|reached|batched/one-commit|rte_swx_ctl:|^vdev-ctl |^raw QMP |link up, vdev-ctl|^gNMI |/ library|gNMI / raw QMP|^P4Runtime|^  batch|^4k random|^128k sequential' "$out"
exit $rc
