#!/bin/sh
# Builds the ipdk-p4c fuzzer (the front end, and the IR, DPDK back end and
# P4Info/context writers on whatever checks cleanly) with clang (libFuzzer +
# ASan + UBSan) and runs it for the given number of seconds (default 600).
# Seeds are the preprocessed programs of tests/p4c and p4src; the corpus and any crash reproducers
# stay in build-fuzz/p4c/. Not part of the test suite.
# Usage: scripts/fuzz-p4c.sh [SECONDS] [extra libFuzzer options...]
set -eu
SECS=${1:-600}
[ $# -gt 0 ] && shift
ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${FUZZ_OUT:-$ROOT/build-fuzz/p4c}
mkdir -p "$OUT/corpus" "$OUT/crashes" "$OUT/gen"
# protobuf-c code for P4Info and the bundle messages
protoc-c -I"$ROOT/proto" -I/usr/include --c_out="$OUT/gen" google/protobuf/any.proto \
	google/rpc/status.proto p4/config/v1/p4info.proto p4/config/v1/p4types.proto \
	p4/v1/p4runtime.proto p4/v1/p4data.proto ipdk/bundle.proto
clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
	-fno-sanitize-recover=undefined -I"$ROOT/include" -I"$OUT/gen" \
	-DIPDK_P4INCLUDE_DIR="\"$ROOT/p4include\"" -DIPDK_P4C_PROTOBUF \
	"$ROOT"/lib/p4c/diag.c "$ROOT"/lib/p4c/lexer.c "$ROOT"/lib/p4c/parser.c \
	"$ROOT"/lib/p4c/dump.c "$ROOT"/lib/p4c/check.c "$ROOT"/lib/p4c/p4c.c \
	"$ROOT"/lib/p4c/ir.c "$ROOT"/lib/p4c/ir_print.c "$ROOT"/lib/p4c/validity.c "$ROOT"/lib/p4c/dpdk.c \
	"$ROOT"/lib/p4c/context.c "$ROOT"/lib/p4c/p4info.c "$ROOT"/lib/pbtext/write.c \
	$(find "$OUT/gen" -name '*.pb-c.c') \
	"$ROOT"/lib/util/err.c "$ROOT"/tests/p4c/fuzz/fuzz_p4c.c -o "$OUT/fuzz_p4c" -lprotobuf-c
for f in "$ROOT"/tests/p4c/valid/*.p4 "$ROOT"/tests/p4c/invalid/*.p4 "$ROOT"/p4src/*.p4; do
	cpp -x c -undef -nostdinc -w -P -I "$ROOT/p4include" -I "$ROOT/tests/p4c/valid" \
		-DUSE_EXTRA "$f" > "$OUT/corpus/seed-$(basename "$f")" 2>/dev/null || true
done
echo "fuzzing for $SECS s; corpus in $OUT/corpus"
exec "$OUT/fuzz_p4c" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 \
	-artifact_prefix="$OUT/crashes/" -print_final_stats=1 "$@" "$OUT/corpus"
