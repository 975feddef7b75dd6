#!/usr/bin/env bash
# tests/unit/run.sh — runs every unit-test binary in BUILD_DIR/tests/
# (test_*), each in its own process under `timeout`, from the repository
# root with a private TMPDIR.  Adds up their "N passed, N failed" lines;
# a binary that crashes, times out or prints no summary counts as one more
# failure.  Prints the total as "N passed, N failed" and exits non-zero if
# anything failed.
#
# Usage: tests/unit/run.sh BUILD_DIR [NAME_FILTER...]
#   NAME_FILTER arguments are passed to every binary (see unit.h).
#   UNIT_BINARY_TIMEOUT (default 60) bounds each binary, in seconds.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: tests/unit/run.sh BUILD_DIR [NAME_FILTER...]" >&2
    exit 2
fi
build_dir=$1
shift

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"
limit=${UNIT_BINARY_TIMEOUT:-60}

shopt -s nullglob
bins=()
for f in "$build_dir"/tests/test_*; do
    [[ -f $f && -x $f && $f != *.d ]] && bins+=("$f")
done
if [[ ${#bins[@]} -eq 0 ]]; then
    echo "run.sh: no unit-test binaries in $build_dir/tests (build first)" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bb-unit.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

total_pass=0
total_fail=0
summary_re='^([0-9]+) passed, ([0-9]+) failed$'

for bin in "${bins[@]}"; do
    name=$(basename "$bin")
    out="$scratch/$name.out"
    tmp="$scratch/$name.tmp"
    mkdir -p "$tmp"
    echo "# $name"
    set +e
    TMPDIR="$tmp" timeout --kill-after=5 "$limit" "$bin" "$@" >"$out" 2>&1
    rc=$?
    set -e
    # Everything but the binary's own summary line goes to our output.
    grep -Ev "$summary_re" "$out" || true

    pass=0
    fail=0
    line=$(grep -E "$summary_re" "$out" | tail -n 1 || true)
    if [[ $line =~ $summary_re ]]; then
        pass=${BASH_REMATCH[1]}
        fail=${BASH_REMATCH[2]}
    fi
    if [[ $rc -eq 124 || $rc -eq 137 ]]; then
        echo "not ok - $name: timed out after ${limit} s"
        fail=$((fail + 1))
    elif [[ -z $line ]]; then
        echo "not ok - $name: exited with status $rc without a summary line"
        fail=$((fail + 1))
    elif [[ $rc -ne 0 && $fail -eq 0 ]]; then
        echo "not ok - $name: exited with status $rc after reporting no failure"
        fail=$((fail + 1))
    fi
    echo "# $name: $pass passed, $fail failed"
    total_pass=$((total_pass + pass))
    total_fail=$((total_fail + fail))
done

if [[ $((total_pass + total_fail)) -eq 0 ]]; then
    echo "not ok - no unit test ran (filter: ${*:-none})"
    total_fail=1
fi
echo "${total_pass} passed, ${total_fail} failed"
[[ $total_fail -eq 0 ]]
