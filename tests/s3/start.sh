#!/usr/bin/env bash
# tests/s3/start.sh — starts s3rver (the S3-compatible server pinned in
# tests/s3/package.json) for the storage unit tests: on 127.0.0.1:PORT,
# data under DIR/data, log in DIR/s3rver.log, with bucket "batchbox-test"
# created at start-up and s3rver's built-in credentials (access key
# S3RVER, secret S3RVER).  It runs through tests/s3/server.js, which checks
# AWS Signature V4 (region us-east-1) in front of s3rver and records the
# scheme of every request in DIR/auth.log, one JSON line each.
#
# Usage: tests/s3/start.sh PORT DIR
#   PORT 0 lets s3rver pick a free port.
#   Installs the pinned packages first (npm ci) if node_modules is missing.
#   Waits (at most 30 s) until the server answers HTTP, then prints one
#   line on stdout, "PID PORT", and exits 0; the server keeps running in
#   the background until the caller kills PID.  On failure: exit 1, the
#   reason and the log's tail on stderr, nothing left running.
#
#   read -r pid port < <(tests/s3/start.sh 0 "$dir")
#   BB_S3_TEST_ENDPOINT=127.0.0.1:$port build/tests/test_storage
#   kill "$pid"
set -euo pipefail

die() { printf 'tests/s3/start.sh: %s\n' "$*" >&2; exit 1; }

[[ $# -eq 2 ]] || die "usage: tests/s3/start.sh PORT DIR"
port=$1
dir=$2
[[ $port =~ ^[0-9]+$ && $port -le 65535 ]] || die "PORT must be 0..65535, not '$port'"
command -v node >/dev/null || die "node is not installed (apt-get install nodejs npm)"

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
server=$here/node_modules/s3rver/bin/s3rver.js
if [[ ! -f $server ]]; then
    command -v npm >/dev/null || die "npm is not installed (apt-get install npm)"
    echo "tests/s3/start.sh: installing s3rver (npm ci)" >&2
    timeout 300 npm ci --prefix "$here" --no-audit --no-fund --loglevel=error >&2 ||
        die "npm ci --prefix $here failed"
    [[ -f $server ]] || die "npm ci did not install $server"
fi

mkdir -p "$dir/data"
log=$dir/s3rver.log
: >"$log"
node "$here/server.js" -d "$dir/data" -a 127.0.0.1 -p "$port" \
    --auth-log "$dir/auth.log" --configure-bucket batchbox-test >"$log" 2>&1 </dev/null &
pid=$!

fail() {
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    echo "tests/s3/start.sh: $*" >&2
    echo "--- $log (last lines)" >&2
    tail -n 20 "$log" >&2 || true
    exit 1
}

# s3rver prints "S3rver listening on ADDR:PORT" once it listens (the
# bucket is created before that); then it must answer over HTTP.
actual=
for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || fail "s3rver exited during start-up"
    line=$(grep -Eo 'listening on [^ ]+:[0-9]+' "$log" | head -n 1 || true)
    if [[ -n $line ]]; then
        actual=${line##*:}
        break
    fi
    sleep 0.1
done
[[ -n $actual ]] || fail "s3rver did not start listening within 30 s"

# bucket_listed: 0 if an anonymous GET of the bucket answers 200 (plain
# bash, no curl needed).
bucket_listed() {
    local status=
    exec 3<>"/dev/tcp/127.0.0.1/$actual" || return 1
    printf 'GET /batchbox-test HTTP/1.0\r\nHost: 127.0.0.1:%s\r\n\r\n' "$actual" >&3
    IFS= read -r -t 5 status <&3 || true
    exec 3<&- 3>&-
    [[ $status =~ ^HTTP/1\.[01]\ 200 ]]
}

for ((i = 0; i < 50; i++)); do
    if bucket_listed 2>/dev/null; then
        echo "$pid $actual"
        exit 0
    fi
    sleep 0.1
done
fail "s3rver on port $actual does not answer for bucket batchbox-test"
