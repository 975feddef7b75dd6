#!/usr/bin/env bash
# build.sh — the one entry point for building batchbox on Debian 12 (run as
# root): installs missing apt packages, fetches and verifies the pinned
# third-party source packages into third_party/, builds with make, runs the
# test suites and the benchmark.  docs/build.md explains every step.
#
#   ./build.sh [build]        deps + third_party + make -j2
#   ./build.sh run [ARGS]     build, then serve on 127.0.0.1:8080 with ./data
#   ./build.sh test           build normal + ASan/UBSan + TSan, run unit + API
#                             tests on each, and every fuzz target briefly
#                             (CI=true: longer)
#   ./build.sh fuzz [SECONDS] build and run every libFuzzer target SECONDS
#                             each (default 30); tests/fuzz/run.sh
#   ./build.sh bench [ARGS]   build, then run build/bench/bbbench
#                             (--compare: also the original Fastify + BullMQ +
#                             Redis stack, side by side; bench/README.md)
#   ./build.sh release        the static musl binary build/release/batchbox
#                             (docs/release.md; libraries cached)
#   ./build.sh clean          remove build/
#   ./build.sh distclean      also remove fetched and extracted third_party/
#   ./build.sh third_party    only fetch/verify/extract third_party/
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cd "$ROOT"

JOBS=${JOBS:-2}
TP=third_party
PINS=$TP/pins
APT_DIR=$TP/.apt          # private apt state: sources, lists, cache
DL_DIR=$TP/.download      # exactly what `apt-get source` downloaded
STAMP=$TP/.stamp          # "verified and extracted" for this pins file
ASAN_BUILD=build/asan
TSAN_BUILD=build/tsan

APT_PACKAGES=(
    build-essential pkg-config dpkg-dev xz-utils ca-certificates
    debian-archive-keyring libsqlite3-dev libcurl4-openssl-dev patch openssl
    libsodium-dev libxml2-dev libarchive-dev python3 espeak-ng sox clang
    libclang-rt-14-dev ffmpeg imagemagick libmd4c-dev apertium apertium-eng-spa
    apertium-eng-cat tzdata python3-aiohttp
)
# libclang-rt-14-dev: the libFuzzer and sanitizer runtimes for clang
# (-fsanitize=fuzzer); clang only recommends it.  patch: applies our libs3
# series (third_party/build.mk).  openssl: its CLI makes the test CA of the
# HTTPS S3 tests (tests/api/test_s3.py).  ffmpeg: the API tests make small
# real video and audio files with it (tests/api/test_inputs.py), and so does
# the fake ComfyUI for its video outputs.
# imagemagick: the batch tests run the docs' worked example
# (docs/batches.md) with convert.  libmd4c-dev: the translate workflow's
# Markdown parser; apertium and two language pairs: its offline engine
# (docs/translate.md), which the API tests run for real.  tzdata: the zone
# database schedules' time zones are read from (docs/scheduling.md).
# python3-aiohttp: the fake ComfyUI server of the tests and the benchmark
# (tests/api/fake_comfyui.py), which follows ComfyUI's own aiohttp server.

log() { printf 'build.sh: %s\n' "$*" >&2; }
die() { printf 'build.sh: error: %s\n' "$*" >&2; exit 1; }

# ------------------------------------------------------------ apt packages

# ensure_packages [PKG...] — default: APT_PACKAGES.
ensure_packages() {
    local missing=() p status pkgs=("$@")
    [[ $# -gt 0 ]] || pkgs=("${APT_PACKAGES[@]}")
    for p in "${pkgs[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
        [[ $status == "install ok installed" ]] || missing+=("$p")
    done
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ $(id -u) -eq 0 ]] ||
        die "missing packages (${missing[*]}); run as root or install them with apt-get"
    log "installing: ${missing[*]}"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

# ------------------------------------------------------------- third_party

PIN_PKGS=() PIN_VERS=() PIN_DIRS=() SUM_HASHES=() SUM_FILES=()

read_pins() {
    local n=0 kind a b c rest
    [[ -f $PINS ]] || die "$PINS is missing"
    while read -r kind a b c rest || [[ -n $kind ]]; do
        n=$((n + 1))
        case $kind in
        '' | '#'*) ;;
        source)
            [[ -n $c && -z $rest && $c =~ ^[A-Za-z0-9._-]+$ ]] ||
                die "$PINS:$n: expected 'source PACKAGE VERSION DIR'"
            PIN_PKGS+=("$a") PIN_VERS+=("$b") PIN_DIRS+=("$c")
            ;;
        sha256)
            [[ $a =~ ^[0-9a-f]{64}$ && -n $b && -z $c && $b != */* ]] ||
                die "$PINS:$n: expected 'sha256 HEX64 FILE'"
            SUM_HASHES+=("$a") SUM_FILES+=("$b")
            ;;
        *) die "$PINS:$n: unknown line kind '$kind'" ;;
        esac
    done <"$PINS"
    [[ ${#PIN_PKGS[@]} -gt 0 && ${#SUM_FILES[@]} -gt 0 ]] ||
        die "$PINS names no source package or no checksum"
    local i dsc f found
    for i in "${!PIN_PKGS[@]}"; do
        dsc=${PIN_PKGS[$i]}_${PIN_VERS[$i]#*:}.dsc
        found=0
        for f in "${SUM_FILES[@]}"; do [[ $f == "$dsc" ]] && found=1; done
        [[ $found -eq 1 ]] || die "$PINS pins ${PIN_PKGS[$i]}=${PIN_VERS[$i]} but has no sha256 line for $dsc
  (see 'Bumping a pin' in third_party/README.md)"
    done
}

# The stamp records the pins it was made from, so editing pins re-runs
# the preparation.
stamp_content() {
    printf 'pins-sha256 %s\n' "$(sha256sum <"$PINS" | cut -d' ' -f1)"
}

all_pinned_files_present() {
    local f
    for f in "${SUM_FILES[@]}"; do
        [[ -f $DL_DIR/$f ]] || return 1
    done
}

# Every file in the download dir must be pinned and match; every pinned
# file must be there.  Dies with the details otherwise.
verify_downloads() {
    local i f actual bad=0 path
    for i in "${!SUM_FILES[@]}"; do
        f=${SUM_FILES[$i]}
        if [[ ! -f $DL_DIR/$f ]]; then
            log "MISSING  $f (pinned, not downloaded)"
            bad=1
            continue
        fi
        actual=$(sha256sum <"$DL_DIR/$f" | cut -d' ' -f1)
        if [[ $actual != "${SUM_HASHES[$i]}" ]]; then
            log "MISMATCH $f"
            log "         pinned   ${SUM_HASHES[$i]}"
            log "         download $actual"
            bad=1
        fi
    done
    for path in "$DL_DIR"/*; do
        [[ -e $path ]] || continue
        f=$(basename "$path")
        local known=0 g
        for g in "${SUM_FILES[@]}"; do [[ $g == "$f" ]] && known=1; done
        if [[ $known -eq 0 ]]; then
            log "UNPINNED $f (downloaded, but no sha256 line in $PINS)"
            bad=1
        fi
    done
    [[ $bad -eq 0 ]] || die "third-party sources failed verification against $PINS.
  Nothing was extracted.  If you changed a pin on purpose, see third_party/README.md
  ('Bumping a pin'); otherwise delete $DL_DIR and run ./build.sh again."
    log "verified ${#SUM_FILES[@]} files against $PINS"
}

fetch_sources() {
    local apt_abs=$ROOT/$APT_DIR i avail specs=() opts
    mkdir -p "$apt_abs/parts" "$apt_abs/lists/partial" "$apt_abs/cache/archives/partial"
    cat >"$apt_abs/parts/batchbox-sources.sources" <<'EOF'
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    opts=(-o Dir::Etc::SourceList=/dev/null
          -o "Dir::Etc::SourceParts=$apt_abs/parts"
          -o "Dir::State::Lists=$apt_abs/lists"
          -o "Dir::Cache=$apt_abs/cache"
          -o Acquire::Retries=3
          -o Acquire::http::Timeout=60)
    log "updating the private source index in $APT_DIR"
    timeout 900 apt-get "${opts[@]}" -qq update ||
        die "apt-get update of the private source index failed (network?)"

    for i in "${!PIN_PKGS[@]}"; do
        avail=$(apt-cache "${opts[@]}" showsrc "${PIN_PKGS[$i]}" 2>/dev/null |
            sed -n 's/^Version: //p' | sort -u | paste -sd' ' -)
        if ! grep -qxF -- "${PIN_VERS[$i]}" <(tr ' ' '\n' <<<"$avail"); then
            die "pinned version ${PIN_PKGS[$i]}=${PIN_VERS[$i]} is not offered by the Debian archive
  (available: ${avail:-none}).  Bump the pin as described in third_party/README.md."
        fi
        specs+=("${PIN_PKGS[$i]}=${PIN_VERS[$i]}")
    done

    rm -rf "$DL_DIR" "$DL_DIR.part"
    mkdir -p "$DL_DIR.part"
    # apt downloads as its unprivileged _apt user when it can write there.
    if [[ $(id -u) -eq 0 ]] && id _apt >/dev/null 2>&1; then
        chown _apt "$DL_DIR.part"
    fi
    log "downloading ${specs[*]}"
    (cd "$DL_DIR.part" &&
        timeout 900 apt-get "${opts[@]}" -qq source --download-only "${specs[@]}") ||
        die "apt-get source --download-only ${specs[*]} failed"
    chown -R "$(id -u):$(id -g)" "$DL_DIR.part"
    mv "$DL_DIR.part" "$DL_DIR"
}

# Unpacks each verified .dsc with dpkg-source into a scratch directory
# (dpkg-source also drops links to the orig tarballs beside its target),
# then moves the tree into place.
extract_sources() {
    local i pkg ver dir dsc work=$TP/.extract
    rm -rf "$work"
    mkdir -p "$work"
    for i in "${!PIN_PKGS[@]}"; do
        pkg=${PIN_PKGS[$i]} ver=${PIN_VERS[$i]#*:} dir=$TP/${PIN_DIRS[$i]}
        dsc=$DL_DIR/${pkg}_${ver}.dsc
        [[ -f $dsc ]] || die "$dsc is missing (is its sha256 line in $PINS?)"
        # --no-check: the sha256 pins above are our integrity check.  This
        # applies Debian's patches (for cJSON, its CVE fixes).
        if ! dpkg-source --no-check -x "$dsc" "$work/${PIN_DIRS[$i]}" >"$work/log" 2>&1; then
            cat "$work/log" >&2
            die "dpkg-source could not extract $dsc"
        fi
        rm -rf "$dir"
        mv "$work/${PIN_DIRS[$i]}" "$dir"
        log "extracted $pkg $ver into $dir"
    done
    rm -rf "$work"
}

prepare_third_party() {
    local want i ok=1
    read_pins
    want=$(stamp_content)
    if [[ -f $STAMP && $(<"$STAMP") == "$want" ]]; then
        for i in "${!PIN_DIRS[@]}"; do
            [[ -d $TP/${PIN_DIRS[$i]}/debian ]] || ok=0
        done
        [[ $ok -eq 1 ]] && return 0
    fi
    rm -f "$STAMP"
    if all_pinned_files_present; then
        log "pinned sources already downloaded; verifying (no network)"
    else
        fetch_sources
    fi
    verify_downloads
    extract_sources
    printf '%s\n' "$want" >"$STAMP"
}

# ------------------------------------------------------------------- build

# Node.js + npm: Debian's, when the machine has none (the web UI's
# libraries are installed with npm; the tests run on node).
ensure_node() {
    command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && return 0
    [[ $(id -u) -eq 0 ]] || die "node and npm are needed; install nodejs and npm"
    log "installing: nodejs npm"
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nodejs npm
}

# The web UI's browser libraries (preact, htm, uPlot), pinned in
# web/package-lock.json; make copies their dist files into web/vendor/ and
# embeds them.  Re-installed only when the lock file changed.
ensure_web_modules() {
    ensure_node
    if [[ ! -d web/node_modules ]] ||
        [[ web/package-lock.json -nt web/node_modules/.package-lock.json ]]; then
        log "installing the pinned npm packages of web/"
        npm ci --prefix web --no-audit --no-fund --loglevel=error
    fi
}

# do_build [MAKE_TARGET...] — default: everything (binary, tests, bench).
do_build() {
    ensure_packages
    prepare_third_party
    ensure_web_modules
    make -j"$JOBS" "$@"
}

# -------------------------------------------------------------------- test

TOTAL_PASS=0
TOTAL_FAIL=0
SUITE_LINES=()
SUMMARY_RE='^([A-Za-z]+: )?([0-9]+) passed, ([0-9]+) failed(, [0-9]+ skipped)?$'

# run_suite LABEL CMD... — runs a suite, streams its output, and adds the
# counts from its last "N passed, N failed" line.  A suite that exits
# non-zero without reporting a failure (a crash, a missing file) counts one.
run_suite() {
    local label=$1 out rc line pass=0 fail=0
    shift
    out=$(mktemp)
    echo
    echo "=== $label: $*"
    set +e
    "$@" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    set -e
    line=$(grep -E "$SUMMARY_RE" "$out" | tail -n 1 || true)
    rm -f "$out"
    if [[ $line =~ $SUMMARY_RE ]]; then
        pass=${BASH_REMATCH[2]}
        fail=${BASH_REMATCH[3]}
    fi
    if [[ $rc -ne 0 && $fail -eq 0 ]]; then
        echo "=== $label exited with status $rc without reporting a failed test; counting one"
        fail=1
    fi
    TOTAL_PASS=$((TOTAL_PASS + pass))
    TOTAL_FAIL=$((TOTAL_FAIL + fail))
    SUITE_LINES+=("$(printf '%-16s %s passed, %s failed' "$label" "$pass" "$fail")")
}

# api_suite LABEL BINARY
api_suite() {
    if [[ ! -f tests/api/run.py ]]; then
        echo
        echo "=== $1: tests/api/run.py does not exist yet: API tests cannot run"
        TOTAL_FAIL=$((TOTAL_FAIL + 1))
        SUITE_LINES+=("$(printf '%-16s missing tests/api/run.py (1 failed)' "$1")")
        return 0
    fi
    # Test files run API_JOBS at a time (tests/api/run.py --jobs): most of a
    # test's time is spent waiting on servers, so three files at a time fill
    # two cores without starving one another.
    run_suite "$1" python3 tests/api/run.py --bin "$2" --jobs "${API_JOBS:-3}"
}

# The test suites' own tools: Node.js + npm (Debian's, when the machine has
# none) and the pinned npm packages under tests/s3 (s3rver, a real S3
# implementation the storage tests run against on loopback).
ensure_test_tools() {
    ensure_node
    ensure_web_modules
    local d
    for d in tests/s3 tests/openapi tests/ui; do
        if [[ -f $d/package-lock.json ]] &&
            { [[ ! -d $d/node_modules ]] ||
              [[ $d/package-lock.json -nt $d/node_modules/.package-lock.json ]]; }; then
            log "installing the pinned npm packages of $d"
            npm ci --prefix "$d" --no-audit --no-fund --loglevel=error
        fi
    done
    # promtool (Debian's prometheus package) parses GET /metrics in tests/api/test_ops.py
    if ! command -v promtool >/dev/null 2>&1; then
        [[ $(id -u) -eq 0 ]] || die "promtool is needed for the tests; install prometheus"
        log "installing: prometheus (for promtool)"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prometheus
    fi
    # Debian's chromium: the browser tests/ui drives with playwright-core,
    # and a font it renders the pages with (only recommended by chromium, so
    # a minimal machine would lack it)
    if ! command -v chromium >/dev/null 2>&1 ||
        ! dpkg-query -W -f='${Status}' fonts-liberation 2>/dev/null | grep -q "ok installed"; then
        [[ $(id -u) -eq 0 ]] || die "chromium is needed for the UI tests; install chromium fonts-liberation"
        log "installing: chromium fonts-liberation (for the UI tests)"
        apt-get update
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium \
            fonts-liberation
    fi
}

# A real S3 implementation (s3rver, pinned in tests/s3) on a free loopback
# port for the storage unit tests (BB_S3_TEST_ENDPOINT); stopped on exit.
# Globals on purpose: the EXIT trap runs after do_test returns.
S3_PID="" S3_DIR=""
start_s3rver() {
    local out
    S3_DIR=$(mktemp -d "${TMPDIR:-/tmp}/bb-s3rver.XXXXXX")
    trap 'if [[ -n $S3_PID ]]; then kill "$S3_PID" 2>/dev/null || true; fi; rm -rf "$S3_DIR"' EXIT
    if out=$(tests/s3/start.sh 0 "$S3_DIR"); then
        read -r S3_PID S3_PORT <<<"$out"
        export BB_S3_TEST_ENDPOINT=127.0.0.1:$S3_PORT
        log "s3rver on $BB_S3_TEST_ENDPOINT (pid $S3_PID)"
    else
        echo "=== s3rver did not start: the S3 storage tests cannot run"
        TOTAL_FAIL=$((TOTAL_FAIL + 1))
        SUITE_LINES+=("$(printf '%-16s did not start (1 failed)' s3rver)")
    fi
}

# Seconds each fuzz target runs inside `test`: FUZZ_SECONDS if set, else 20
# under CI (CI=true) and 10 on a workstation, lowered so that all targets
# together stay within FUZZ_BUDGET (240 s; the build adds about a minute).
fuzz_seconds_per_target() {
    local per n budget=${FUZZ_BUDGET:-240}
    if [[ -n ${FUZZ_SECONDS:-} ]]; then
        per=$FUZZ_SECONDS
    elif [[ ${CI:-} == true ]]; then
        per=20
    else
        per=10
    fi
    n=$(find tests/fuzz -maxdepth 1 -name 'fuzz_*.c' | wc -l)
    if [[ $n -gt 0 && $((per * n)) -gt $budget ]]; then
        per=$((budget / n))
    fi
    [[ $per -ge 1 ]] || per=1
    echo "$per"
}

do_test() {
    ensure_packages
    ensure_test_tools
    prepare_third_party
    # The TSan variant needs only the program and the unit tests.
    if ! make -j"$JOBS" || ! make -j"$JOBS" SANITIZE=1 BUILD="$ASAN_BUILD" ||
        ! make -j"$JOBS" SANITIZE=thread BUILD="$TSAN_BUILD" batchbox tests; then
        echo "=== the build failed; no test ran"
        echo "0 passed, 1 failed"
        exit 1
    fi

    start_s3rver
    run_suite "lint" tests/lint.sh
    run_suite "unit" tests/unit/run.sh build
    api_suite "api" build/batchbox
    run_suite "ui" node tests/ui/run.js --bin build/batchbox

    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
    export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
    run_suite "unit (asan)" tests/unit/run.sh "$ASAN_BUILD"
    api_suite "api (asan)" "$ASAN_BUILD/batchbox"
    unset ASAN_OPTIONS UBSAN_OPTIONS

    # ThreadSanitizer: the HTTP, worker, writer, publisher and subscriber
    # threads meet in db, bus and pool.  The first report stops the process
    # (so the test fails); tests/tsan.supp lists the races inside
    # third-party code, each with its reason.  TSan runs code 5-15x slower:
    # per-test unit timeouts and the API suite's timeouts are tripled.
    # Starting a thread costs TSan far more than the program does, and a
    # server starts events.maxSubscribers + http.maxConnectionsPerAddress
    # + 32 civetweb threads: the API servers get 48 subscriber slots (the most a test opens is 40) instead
    # of 256, which cuts each server start from seconds to a fraction.
    export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/tsan.supp"
    UNIT_TIMEOUT=60 UNIT_BINARY_TIMEOUT=300 \
        run_suite "unit (tsan)" tests/unit/run.sh "$TSAN_BUILD"
    BB_SLOW=3 BATCHBOX_EVENTS_MAX_SUBSCRIBERS=48 \
        api_suite "api (tsan)" "$TSAN_BUILD/batchbox"
    unset TSAN_OPTIONS
    run_suite "fuzz" tests/fuzz/run.sh "$(fuzz_seconds_per_target)"
    release_test_suites

    echo
    echo "=== summary"
    printf '  %s\n' "${SUITE_LINES[@]}"
    echo "${TOTAL_PASS} passed, ${TOTAL_FAIL} failed"
    [[ $TOTAL_FAIL -eq 0 ]]
}

# ----------------------------------------------------------------- release
# ./build.sh release: the fully static x86_64 musl binary
# build/release/batchbox (docs/release.md).  The libraries it bundles are
# rebuilt from the pinned Debian source packages by third_party/release.mk,
# once per recipe, into a cache outside the clone; batchbox itself is then
# compiled by the normal Makefile with musl-gcc into build/release/obj.

RELEASE_DIR=build/release
RELEASE_BIN=$RELEASE_DIR/batchbox
RELEASE_MAX_BYTES=$((12 * 1024 * 1024))
# musl-gcc; autotools for curl, libxml2 and libsodium (Debian's patches
# touch their configure.ac/Makefile.am, and libsodium's tree has no
# configure); tclsh to generate SQLite's amalgamation; file for the check.
RELEASE_PACKAGES=(musl-tools autoconf automake libtool tcl perl patch file openssl)
RELEASE_PREFIX=""   # the cached libraries in use; set by release_deps

# What the cached libraries depend on: the pins, the recipe, our patch
# series and the toolchain.  Prints a 16-hex-digit key.
release_cache_key() {
    {
        cat "$PINS" "$TP/release.mk"
        if [[ -d $TP/patches ]]; then
            find "$TP/patches" -type f -print0 | LC_ALL=C sort -z | xargs -0r sha256sum
        fi
        dpkg-query -W -f='${Package} ${Version}\n' musl-tools musl-dev gcc-12 \
            autoconf automake libtool 2>/dev/null || true
    } | sha256sum | cut -c1-16
}

# Builds the libraries unless the cache already holds them for this key.
# The cache is ${BATCHBOX_RELEASE_CACHE:-${XDG_CACHE_HOME:-~/.cache}/batchbox-release}/KEY,
# so fresh clones on the same machine (CI) reuse it.  A build goes to a
# scratch directory and is renamed into place only when complete.
release_deps() {
    local root=${BATCHBOX_RELEASE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/batchbox-release}
    local key dir tmp t0=$SECONDS
    key=$(release_cache_key)
    dir=$root/$key
    RELEASE_PREFIX=$dir
    if [[ -f $dir/done ]]; then
        log "release libraries: cached in $dir"
        return 0
    fi
    mkdir -p "$root"
    tmp=$(mktemp -d "$root/$key.tmp.XXXXXX")
    log "release libraries: building (nice -n 19, -j$JOBS) for $dir"
    if ! nice -n 19 make -f "$TP/release.mk" -j"$JOBS" PREFIX="$tmp/out" WORK="$tmp/work"; then
        die "building the release libraries failed; the logs are in $tmp/work/*.log"
    fi
    printf 'built %s in %s s from %s\n' "$(date -u +%FT%TZ)" "$((SECONDS - t0))" \
        "$(sha256sum <"$PINS" | cut -c1-16)" >"$tmp/out/done"
    if ! mv -T "$tmp/out" "$dir" 2>/dev/null; then
        [[ -f $dir/done ]] || die "cannot move the release libraries into $dir"
    fi
    rm -rf "$tmp"
    log "release libraries: built in $((SECONDS - t0)) s"
}

# $RELEASE_DIR/gen/release_info.o: bb_release_info() (src/cli/version.h)
# answering the commit, the build date, musl's version and every pinned
# Debian source version, for `batchbox version --verbose`.
release_info_obj() {
    local gen=$RELEASE_DIR/gen commit i libc
    mkdir -p "$gen"
    commit=$(git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
    if [[ $commit != unknown ]] && ! git diff --quiet HEAD -- 2>/dev/null; then
        commit+="-dirty"
    fi
    libc=$(dpkg-query -W -f='${Version}' musl-dev 2>/dev/null || echo unknown)
    {
        echo '/* Generated by build.sh release; see src/cli/version.h. */'
        echo '#include <string.h>'
        echo 'const char *bb_release_info(const char *key);'
        echo 'const char *bb_release_info(const char *key)'
        echo '{'
        echo '    static const char *const kv[] = {'
        printf '        "commit", "%s",\n' "$commit"
        printf '        "built", "%s",\n' "$(date -u +%F)"
        printf '        "libc", "%s",\n' "$libc"
        for i in "${!PIN_PKGS[@]}"; do
            printf '        "%s", "%s",\n' "${PIN_PKGS[$i]}" "${PIN_VERS[$i]}"
        done
        echo '        NULL, NULL};'
        echo '    for (int i = 0; kv[i]; i += 2)'
        echo '        if (strcmp(kv[i], key) == 0)'
        echo '            return kv[i + 1];'
        echo '    return NULL;'
        echo '}'
    } >"$gen/release_info.c.tmp"
    mv -f "$gen/release_info.c.tmp" "$gen/release_info.c"
    musl-gcc -std=c11 -O2 -Wall -Werror -c -o "$gen/release_info.o" "$gen/release_info.c"
}

# Compiles and links batchbox against the cached libraries: musl-gcc,
# their headers as system headers (libs3.h has an old-style declaration),
# the glibc extensions musl lacks from src/util/musl_compat.h,
# -static, every libcurl handle created through __wrap_curl_easy_init
# (src/infra/net/ca_bundle.c: the run-time CA bundle search), mbedTLS's
# entropy from getrandom(2) instead of /dev/urandom
# (src/infra/net/tls_entropy.c), and 8 MiB
# thread stacks (musl takes its default from PT_GNU_STACK; without this it
# is 128 KiB, where glibc gives 8 MiB).
release_link() {
    local L=$RELEASE_PREFIX/lib static libs
    static="$L/libs3.a $L/libsqlite3.a $L/libsodium.a $L/libarchive.a"
    libs="$RELEASE_DIR/gen/release_info.o $static $L/libcurl.a $L/libxml2.a"
    libs+=" $L/libmbedtls.a $L/libmbedx509.a $L/libmbedcrypto.a $L/libz.a -lpthread -lm"
    rm -f "$RELEASE_DIR/obj/batchbox"   # relinked every time: the commit may differ
    # LIBS3_OBJS empty: the cached libs3.a (release.mk, same patches) is linked.
    nice -n 19 make -j"$JOBS" BUILD="$RELEASE_DIR/obj" CC=musl-gcc LIBS3_OBJS= \
        CFLAGS="-isystem $RELEASE_PREFIX/include -include src/util/musl_compat.h -DBB_CURL_WRAP" \
        LDFLAGS="-static -Wl,--wrap=curl_easy_init -Wl,--wrap=mbedtls_platform_entropy_poll -Wl,-z,stack-size=8388608" \
        STATIC_LIBS="$static" BB_LDLIBS="$libs" ARCHIVE_CFLAGS= MD4C_DEFS= \
        XML2_CFLAGS="-isystem $RELEASE_PREFIX/include/libxml2" batchbox
    strip --strip-all -o "$RELEASE_BIN.tmp" "$RELEASE_DIR/obj/batchbox"
    mv -f "$RELEASE_BIN.tmp" "$RELEASE_BIN"
}

# The promises of docs/release.md that a look at the file can check.
release_check() {
    local desc size
    desc=$(file -b "$RELEASE_BIN")
    [[ $desc == *"ELF 64-bit"*"x86-64"* ]] || die "$RELEASE_BIN is not an x86-64 ELF: $desc"
    [[ $desc == *"statically linked"* && $desc == *stripped* && $desc != *"not stripped"* ]] ||
        die "$RELEASE_BIN is not a stripped static executable: $desc"
    if readelf -lW "$RELEASE_BIN" | grep -q INTERP || readelf -dW "$RELEASE_BIN" | grep -q NEEDED; then
        die "$RELEASE_BIN asks for a dynamic loader or shared libraries"
    fi
    size=$(stat -c %s "$RELEASE_BIN")
    [[ $size -lt $RELEASE_MAX_BYTES ]] ||
        die "$RELEASE_BIN is $size bytes, over the limit of $RELEASE_MAX_BYTES"
    log "release: $RELEASE_BIN: $size bytes ($((size / 1024)) KiB); $desc"
}

do_release() {
    local t0=$SECONDS
    ensure_packages
    ensure_packages "${RELEASE_PACKAGES[@]}"
    prepare_third_party
    ensure_web_modules
    release_deps
    release_info_obj
    release_link
    release_check
    log "release: done in $((SECONDS - t0)) s"
}

# Called once by do_test: builds the release binary (the libraries come
# from the cache when the recipe is unchanged) in a separate build.sh
# process, then runs the API suite and the empty-root smoke test
# (tests/release/smoke.py) against it.
release_test_suites() {
    local t0=$SECONDS
    echo
    echo "=== release: ./build.sh release"
    if ! "$ROOT/build.sh" release; then
        echo "=== the release build failed; its suites did not run"
        TOTAL_FAIL=$((TOTAL_FAIL + 1))
        SUITE_LINES+=("$(printf '%-16s build failed (1 failed)' release)")
        return 0
    fi
    log "release build: $((SECONDS - t0)) s"
    api_suite "api (release)" "$RELEASE_BIN"
    run_suite "release smoke" python3 tests/release/smoke.py --bin "$RELEASE_BIN"
}

# -------------------------------------------------------------------- main

cmd=${1:-build}
[[ $# -gt 0 ]] && shift
case $cmd in
build)
    [[ $# -eq 0 ]] || die "build takes no arguments"
    do_build
    ;;
run)
    do_build batchbox
    exec build/batchbox serve --data ./data --listen 127.0.0.1:8080 "$@"
    ;;
test)
    [[ $# -eq 0 ]] || die "test takes no arguments"
    do_test
    ;;
fuzz)
    [[ $# -le 1 && ${1:-30} =~ ^[0-9]+$ ]] || die "usage: ./build.sh fuzz [SECONDS]"
    ensure_packages
    prepare_third_party
    ensure_web_modules    # the fuzz targets link the embedded assets
    exec tests/fuzz/run.sh "${1:-30}"
    ;;
bench)
    do_build batchbox bench
    [[ -x build/bench/bbbench ]] || die "build/bench/bbbench was not built (is bench/bbbench.c there?)"
    # the translate workflow's segments/s (docs/benchmarks.md, "Translate"); about a
    # minute; left out with --only (a chosen phase) or BB_BENCH_SKIP_TRANSLATE=1
    if [[ ${BB_BENCH_SKIP_TRANSLATE:-0} != 1 && " $* " != *" --only "* ]]; then
        python3 bench/trbench.py --bin build/batchbox || die "bench/trbench.py failed"
    fi
    # the ComfyUI workflow's prompts/s against four fake servers (docs/benchmarks.md,
    # "ComfyUI"); left out with --only (a chosen phase) or BB_BENCH_SKIP_COMFYUI=1
    if [[ ${BB_BENCH_SKIP_COMFYUI:-0} != 1 && " $* " != *" --only "* ]]; then
        python3 bench/comfybench.py --bin build/batchbox || die "bench/comfybench.py failed"
    fi
    # --compare: also drive the stack batchbox replaces (bench/compare: Fastify + BullMQ on
    # Debian's redis-server, pinned by its package-lock.json); never needed by run or test.
    bench_args=()
    for a in "$@"; do
        if [[ $a == --compare ]]; then
            ensure_packages redis-server
            if [[ ! -d bench/compare/node_modules ]] ||
                [[ bench/compare/package-lock.json -nt bench/compare/node_modules/.package-lock.json ]]; then
                log "installing the pinned npm packages of bench/compare/"
                npm ci --prefix bench/compare --no-audit --no-fund --loglevel=error
            fi
            bench_args+=(--compare bench/compare)
        else
            bench_args+=("$a")
        fi
    done
    exec build/bench/bbbench --bin build/batchbox ${bench_args[@]+"${bench_args[@]}"}
    ;;
release)
    [[ $# -eq 0 ]] || die "release takes no arguments"
    do_release
    ;;
third_party)
    ensure_packages
    prepare_third_party
    ;;
clean)
    make clean
    ;;
distclean)
    make clean
    rm -rf "$STAMP" "$APT_DIR" "$DL_DIR" "$DL_DIR.part" "$TP/.extract"
    read_pins
    for d in "${PIN_DIRS[@]}"; do rm -rf "${TP:?}/$d"; done
    ;;
-h | --help | help)
    sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'
    ;;
*)
    die "unknown command '$cmd' (try ./build.sh help)"
    ;;
esac
