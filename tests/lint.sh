#!/usr/bin/env bash
# lint.sh — project rules that a compiler does not check (STYLE.md):
#   1. only src/infra/db/ talks to SQLite (includes sqlite3.h, prepares SQL);
#   2. no SQL text is assembled with printf-style calls (a line may opt out
#      only with a "lint-ok" comment on it or the line before, saying why);
#   3. every C file under src/ opens with a comment saying what it is for;
#   4. no unfinished markers (TODO, FIXME, XXX) in src/ or web/.
# Prints one line per check and "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
pass=0
fail=0
check() {   # check NAME OUTPUT — OUTPUT empty means the rule holds
    if [[ -z $2 ]]; then
        echo "ok - $1"
        pass=$((pass + 1))
    else
        echo "not ok - $1"
        printf '    %s\n' "$2"
        fail=$((fail + 1))
    fi
}

outside_db=$(grep -rlE '#include <sqlite3\.h>|sqlite3_(prepare|exec)' src | grep -v '^src/infra/db/' || true)
check "SQLite is used only in src/infra/db/" "$outside_db"

built_sql=$(awk '
    FNR == 1 { prev = "" }
    /(s?n?printf|asprintf|buf_printf|strcat)\(/ && /"[^"]*(SELECT|INSERT|UPDATE|DELETE|CREATE|DROP|PRAGMA|WHERE)[ "]/ {
        if ($0 !~ /lint-ok/ && prev !~ /lint-ok/) print FILENAME ":" FNR ": " $0
    }
    { prev = $0 }' $(find src -name '*.c') || true)
check "no SQL assembled with printf-style calls" "$built_sql"

no_header=$(for f in $(find src -name '*.c' -o -name '*.h'); do
    head -n 1 "$f" | grep -q '^/\*' || echo "$f"
done)
check "every source file opens with a comment" "$no_header"

markers=$(grep -rnE '\b(TODO|FIXME|XXX)\b' src web 2>/dev/null | grep -v node_modules || true)
check "no unfinished markers in src/ and web/" "$markers"

echo "${pass} passed, ${fail} failed"
[[ $fail -eq 0 ]]
