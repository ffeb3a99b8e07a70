#!/bin/bash
# Runs the whole suite: unit tests (meson/cmocka), integration tests (pytest
# on real namespaces) and VM tests (pytest with QEMU guests), then prints one
# summary line. Fails when any test fails and also when no test ran at all.
set -u
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export IPDK_BUILD="$root/$build"

unit_log=$(mktemp)
meson test -C "$build" --print-errorlogs --num-processes 1 2>&1 | tee "$unit_log"
unit_rc=${PIPESTATUS[0]}
u_ok=$(sed -n 's/^Ok: *\([0-9]*\).*/\1/p' "$unit_log" | tail -1)
u_fail=$(sed -n 's/^Fail: *\([0-9]*\).*/\1/p' "$unit_log" | tail -1)
u_skip=$(sed -n 's/^Skipped: *\([0-9]*\).*/\1/p' "$unit_log" | tail -1)
u_to=$(sed -n 's/^Timeout: *\([0-9]*\).*/\1/p' "$unit_log" | tail -1)
rm -f "$unit_log"

int_log=$(mktemp)
/usr/bin/python3 -m pytest -v -p no:cacheprovider tests/integration 2>&1 | tee "$int_log"
int_rc=${PIPESTATUS[0]}
# The VM tests run on their own: their conftest.py has fixtures of the same names.
/usr/bin/python3 -m pytest -v -p no:cacheprovider tests/vm 2>&1 | tee -a "$int_log"
vm_rc=${PIPESTATUS[0]}
i_ok=$(grep -E '^=+ .* in [0-9.]+s' "$int_log" | grep -oE '[0-9]+ passed' | awk '{s+=$1} END {print s+0}')
i_fail=$(grep -oE '[0-9]+ (failed|error|errors)' "$int_log" | awk '{s+=$1} END {print s+0}')
i_skip=$(grep -E '^=+ .* in [0-9.]+s' "$int_log" | grep -oE '[0-9]+ skipped' | awk '{s+=$1} END {print s+0}')
rm -f "$int_log"

passed=$(( ${u_ok:-0} + ${i_ok:-0} ))
failed=$(( ${u_fail:-0} + ${u_to:-0} + ${i_fail:-0} ))
skipped=$(( ${u_skip:-0} + ${i_skip:-0} ))
echo
echo "unit: ${u_ok:-0} ok, ${u_fail:-0} failed, ${u_skip:-0} skipped; integration+vm: ${i_ok:-0} passed, ${i_fail:-0} failed, ${i_skip:-0} skipped"
echo "$passed passed, $failed failed, $skipped skipped"
if [ "$passed" -eq 0 ]; then
	echo "test: no test ran: treating as a failure" >&2
	exit 1
fi
if [ "$unit_rc" -ne 0 ] || [ "$int_rc" -ne 0 ] || [ "$vm_rc" -ne 0 ] || [ "$failed" -ne 0 ]; then
	exit 1
fi
exit 0
