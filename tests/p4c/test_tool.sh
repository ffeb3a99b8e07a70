#!/bin/sh
# Checks the ipdk-p4c command line: front-end modes succeed on a valid program,
# errors give exit 1 with file:line:col, compiling writes the spec, P4Info
# (text and binary, the same message: protoc decodes the binary into the text),
# the context, the device config and the bundle, and outputs this version
# cannot write (JSON P4Info, BF-RT) are refused with exit 2 and a message
# instead of silently writing nothing.
# Usage: test_tool.sh IPDK_P4C CORPUS_DIR [PROTO_DIR]
P4C=$1
DIR=$2
PROTO=${3:-$(dirname "$0")/../../proto}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
pass=0
fail=0

check() { # name expected-status command...
	name=$1; want=$2; shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	got=$?
	if [ "$got" = "$want" ]; then
		pass=$((pass + 1)); echo "ok   $name"
	else
		fail=$((fail + 1)); echo "FAIL $name: exit $got, expected $want"; cat "$TMP/err"
	fi
}

grep_err() { # name pattern
	if grep -q -- "$2" "$TMP/err"; then
		pass=$((pass + 1)); echo "ok   $1"
	else
		fail=$((fail + 1)); echo "FAIL $1: stderr lacks '$2'"; cat "$TMP/err"
	fi
}

VALID=$DIR/valid/l2_forward.p4
check "--help" 0 "$P4C" --help
check "--check valid" 0 "$P4C" --arch pna --check "$VALID"
check "--parse-only valid" 0 "$P4C" --parse-only "$VALID"
check "--dump-ast -o" 0 "$P4C" --dump-ast -o "$TMP/dump.p4" "$VALID"
if grep -q "table" "$TMP/dump.p4"; then pass=$((pass + 1)); echo "ok   dump written";
else fail=$((fail + 1)); echo "FAIL dump written"; fi
check "-D and -I forwarded" 0 "$P4C" --check -DUSE_EXTRA -I "$DIR/valid" "$DIR/valid/defines.p4"
check "-D missing breaks it" 1 "$P4C" --check "$DIR/valid/defines.p4"
check "compile" 0 "$P4C" --arch pna -o "$TMP/x.spec" --p4runtime-files "$TMP/p4info.txt" \
	--context "$TMP/ctx.json" "$VALID"
for f in x.spec p4info.txt ctx.json; do
	if [ -s "$TMP/$f" ]; then pass=$((pass + 1)); echo "ok   $f written";
	else fail=$((fail + 1)); echo "FAIL $f written"; fi
done
if grep -q "^table l2_fwd" "$TMP/x.spec" && grep -q 'name: "MainControlImpl.l2_fwd"' "$TMP/p4info.txt" &&
   grep -q '"target_name": "l2_fwd"' "$TMP/ctx.json"; then
	pass=$((pass + 1)); echo "ok   outputs name the table"
else
	fail=$((fail + 1)); echo "FAIL outputs name the table"
fi
check "json p4info refused" 2 "$P4C" --arch pna --p4runtime-files "$TMP/p4info.json" "$VALID"
grep_err "json p4info says not implemented" "not implemented"
if [ -e "$TMP/p4info.json" ]; then fail=$((fail + 1)); echo "FAIL p4info.json written"; else pass=$((pass + 1)); echo "ok   nothing written"; fi
check "binary outputs" 0 "$P4C" --arch pna -o "$TMP/y.spec" --p4runtime-files "$TMP/i.txt,$TMP/i.bin" \
	--device-config "$TMP/dev.pb.bin" --bundle "$TMP/bundle.bin" "$VALID"
if command -v protoc >/dev/null; then
	PC="protoc -I$PROTO -I/usr/include"
	$PC --decode=p4.config.v1.P4Info p4/config/v1/p4info.proto <"$TMP/i.bin" >"$TMP/i.dec"
	if grep -v '^#' "$TMP/i.txt" | cmp -s - "$TMP/i.dec"; then
		pass=$((pass + 1)); echo "ok   binary P4Info decodes to the text P4Info"
	else
		fail=$((fail + 1)); echo "FAIL binary P4Info decodes to the text P4Info"
	fi
	$PC --decode=ipdk.bundle.BfPipelineConfig ipdk/bundle.proto <"$TMP/dev.pb.bin" >"$TMP/dev.dec"
	if grep -q 'profile_name: "pipe"' "$TMP/dev.dec" && grep -q 'binary: ".*table l2_fwd' "$TMP/dev.dec" &&
	   grep -q 'context: ".*target_name' "$TMP/dev.dec"; then
		pass=$((pass + 1)); echo "ok   device config holds spec and context"
	else
		fail=$((fail + 1)); echo "FAIL device config holds spec and context"
	fi
	$PC --decode=p4.v1.ForwardingPipelineConfig p4/v1/p4runtime.proto <"$TMP/bundle.bin" >"$TMP/b.dec"
	if grep -q 'name: "MainControlImpl.l2_fwd"' "$TMP/b.dec" && grep -q 'p4_device_config: ' "$TMP/b.dec"; then
		pass=$((pass + 1)); echo "ok   bundle holds P4Info and device config"
	else
		fail=$((fail + 1)); echo "FAIL bundle holds P4Info and device config"
	fi
fi
check "entries in the context" 0 "$P4C" -o "$TMP/acl.spec" --context "$TMP/acl.json" "$DIR/programs/entries.p4"
if python3 - "$TMP/acl.json" <<'PY'
import json, sys
t = [t for t in json.load(open(sys.argv[1]))["tables"] if t["entries"]][0]
e = t["entries"]
assert t["entries_const"] and len(e) == 3, e
# largest_priority_wins = false: 10 beats 20, which beats nothing; larger wins in the context
assert [x["priority"] for x in e] == [11, 1, 18], e
m = {f["name"]: f for f in e[0]["match"]}
assert m["hdr.ipv4.srcAddr"]["value"] == "0xa000000" and m["hdr.ipv4.srcAddr"]["mask"] == "0xff000000", m
assert m["hdr.l4.dstPort"]["value"] == "0x16" and m["hdr.l4.dstPort"]["high"] == "0x17", m
assert m["hdr.ipv4.dstAddr"]["prefix_len"] == 16, m
assert e[0]["action"]["name"].endswith(".deny") and e[1]["action"]["params"][0]["value"] == "0x7", e
assert len(e[1]["match"]) == 2, "don't-care keys are left out"
PY
then pass=$((pass + 1)); echo "ok   entries in the context"
else fail=$((fail + 1)); echo "FAIL entries in the context"; fi
check "--dump-ir" 0 "$P4C" --dump-ir -o "$TMP/ir.txt" "$VALID"
if grep -q "^pipeline {" "$TMP/ir.txt"; then pass=$((pass + 1)); echo "ok   ir written";
else fail=$((fail + 1)); echo "FAIL ir written"; fi
check "unsupported construct" 1 "$P4C" "$DIR/unsupported/multiply.p4"
grep_err "unsupported says why" "multiply.p4:[0-9]*:[0-9]*: error: multiplication of two values that are not constants is not supported by the DPDK target because"
check "bad --arch" 2 "$P4C" --arch v1model --check "$VALID"
check "--arch psa on a PNA program" 1 "$P4C" --arch psa -o "$TMP/z.spec" "$VALID"
grep_err "arch mismatch named" "error: --arch psa, but the program instantiates PNA_NIC"
check "missing file" 2 "$P4C" --check "$TMP/nope.p4"
check "errors exit 1" 1 "$P4C" --check "$DIR/invalid/bad_field.p4"
grep_err "error located with caret" "bad_field.p4:[0-9]*:[0-9]*: error: no field 'dstAdr' in header 'ethernet_t'"
grep_err "caret line" "^ *\^"
echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
