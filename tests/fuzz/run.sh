#!/usr/bin/env bash
# tests/fuzz/run.sh — builds every libFuzzer target tests/fuzz/fuzz_*.c with
# clang (-fsanitize=fuzzer,address,undefined) and runs each one for a bounded
# time on a scratch copy of its seed corpus tests/fuzz/corpus/<name>/ (name =
# the file name without "fuzz_" and ".c").  A target passes if it found no
# crash, leak, timeout or sanitizer report in its time; the artifacts of a
# failure go to build/fuzz/crashes/<name>/ (replay one with
# `build/fuzz/bin/fuzz_<name> FILE`).  Prints "N passed, N failed" last and
# exits non-zero if anything failed.
#
# Usage: tests/fuzz/run.sh [SECONDS] [NAME...]
#   SECONDS (default $FUZZ_SECONDS, else 30) per target; NAMEs (e.g.
#   "config") pick targets, default all.
#
# How it builds: the project Makefile compiles all of src/ (not main.c),
# civetweb, cJSON and the embedded assets with clang into build/fuzz/ (ASan
# + UBSan as in the sanitizer build, plus -fsanitize=fuzzer-no-link for
# coverage); each target is then linked against those objects and the same
# libraries as the binary (through an archive, so a target links only the
# objects it uses), so a new fuzz_*.c needs no build change.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$root"

secs=${FUZZ_SECONDS:-30}
if [[ $# -gt 0 && $1 =~ ^[0-9]+$ ]]; then
    secs=$1
    shift
fi
[[ $secs -ge 1 ]] || { echo "run.sh: SECONDS must be at least 1" >&2; exit 2; }

BUILD=build/fuzz
BIN=$BUILD/bin
CRASHES=$BUILD/crashes
CC=${FUZZ_CC:-clang}

fail_all() {   # fail_all MESSAGE — nothing could run
    echo "run.sh: $1" >&2
    echo "0 passed, 1 failed"
    exit 1
}

command -v "$CC" >/dev/null 2>&1 || fail_all "$CC is not installed (./build.sh installs clang)"

# Targets to run.
shopt -s nullglob
names=()
if [[ $# -gt 0 ]]; then
    for n in "$@"; do
        [[ -f tests/fuzz/fuzz_$n.c ]] || fail_all "no such target: tests/fuzz/fuzz_$n.c"
        names+=("$n")
    done
else
    for f in tests/fuzz/fuzz_*.c; do
        n=${f##*/fuzz_}
        names+=("${n%.c}")
    done
fi
[[ ${#names[@]} -gt 0 ]] || fail_all "no tests/fuzz/fuzz_*.c"

# ---- build ------------------------------------------------------------------

scratch=$(mktemp -d "${TMPDIR:-/tmp}/bb-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

# Warnings are the gcc build's job (-Werror there); here clang reports them
# without failing, so a clang-only warning cannot stop the fuzzers.
make_args=(CC="$CC" SANITIZE=1 BUILD="$BUILD"
           CFLAGS="-fsanitize=fuzzer-no-link -Wno-error -Wno-unknown-warning-option")

# A Makefile variable's value, as the Makefile computes it for this build.
make_var() {
    make --no-print-directory -f Makefile -f - "${make_args[@]}" "print-$1" <<'EOF'
print-%:
	@printf '%s\n' '$($*)'
EOF
}

read -r -a lib_objs <<<"$(make_var LIB_OBJS) $(make_var GEN_OBJ) $(make_var TP_OBJS)"
read -r -a ldlibs <<<"$(make_var BB_LDLIBS)"
[[ ${#lib_objs[@]} -gt 3 ]] || fail_all "could not ask the Makefile for the object list"
echo "# building src/ with $CC into $BUILD"
if ! make -j"${JOBS:-2}" --no-print-directory "${make_args[@]}" "${lib_objs[@]}" \
    >"$scratch/make.log" 2>&1; then
    cat "$scratch/make.log"
    fail_all "the fuzz build of src/ failed"
fi
grep -v 'is up to date' "$scratch/make.log" || true
# An archive, so each target pulls in only the objects it uses.
rm -f "$BUILD/libbatchbox.a"
ar rcs "$BUILD/libbatchbox.a" "${lib_objs[@]}" || fail_all "ar failed"
read -r -a includes <<<"$(make_var INCLUDES)"

mkdir -p "$BIN" "$CRASHES"
fuzz_flags=(-g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined
            -fno-sanitize-recover=undefined)
cflags=(-std=c11 -Wall -Wextra -Werror -Wno-unused-parameter -D_GNU_SOURCE -pthread
        "${includes[@]}" -Itests/fuzz)

built=()
build_fail=0
for n in "${names[@]}"; do
    src=tests/fuzz/fuzz_$n.c
    out=$BIN/fuzz_$n
    echo "# building $out"
    if "$CC" "${cflags[@]}" "${fuzz_flags[@]}" -o "$out" "$src" "$BUILD/libbatchbox.a" \
        -Wl,--as-needed "${ldlibs[@]}"; then
        built+=("$n")
    else
        echo "not ok - fuzz_$n: does not build"
        build_fail=$((build_fail + 1))
    fi
done

# ---- run --------------------------------------------------------------------

pass=0
fail=$build_fail
for n in "${built[@]}"; do
    corpus=$scratch/corpus-$n
    mkdir -p "$corpus" "$CRASHES/$n" "$scratch/tmp-$n"
    seeds=tests/fuzz/corpus/$n
    if [[ -d $seeds ]]; then
        cp -R "$seeds/." "$corpus/"
    else
        echo "# note: no seed corpus at $seeds"
    fi
    log=$scratch/$n.log
    echo "# fuzz_$n for ${secs}s"
    set +e
    # -timeout: one input taking over 10 s is a hang; the outer timeout is
    # a last resort should libFuzzer itself wedge.
    TMPDIR="$scratch/tmp-$n" \
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:symbolize=1 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        timeout --kill-after=10 $((secs + 120)) \
        "$BIN/fuzz_$n" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$CRASHES/$n/" "$corpus" >"$log" 2>&1
    rc=$?
    set -e
    stats=$(grep -E '^(stat::number_of_executed_units|stat::new_units_added)' "$log" |
            sed 's/^stat:://' | tr -s ' ' | paste -sd' ' - || true)
    if [[ $rc -eq 0 ]]; then
        echo "ok - fuzz_$n ($stats)"
        pass=$((pass + 1))
    else
        echo "not ok - fuzz_$n (exit $rc); log tail:"
        tail -n 60 "$log" | sed 's/^/    /'
        cp "$log" "$CRASHES/$n/last.log"
        echo "    artifacts: $CRASHES/$n/ (replay: $BIN/fuzz_$n FILE)"
        fail=$((fail + 1))
    fi
done

echo "${pass} passed, ${fail} failed"
[[ $fail -eq 0 ]]
