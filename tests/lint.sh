#!/usr/bin/env bash
# lint.sh — project rules that a compiler does not check (STYLE.md):
#   1. only src/infra/db/ talks to SQLite (includes sqlite3.h, prepares SQL);
#   2. no SQL text is assembled with printf-style calls (a line may opt out
#      only with a "lint-ok" comment on it or the line before, saying why);
#   3. every C file under src/ opens with a comment saying what it is for;
#   4. no unfinished markers (TODO, FIXME, XXX) in src/ or web/;
#   5. no unbounded or unchecked C library calls in src/: atoi, atol, atoll
#      (no error report: use strtol/strtoll with an end check), strcpy,
#      strcat, sprintf, vsprintf, gets (no bound: snprintf, memcpy with a
#      checked length, util/buf.h);
#   6. no line of src/ longer than MAX_COLS (100) characters;
#   7. the layers of docs/architecture.md: src/http/ does not include
#      infra/db/ (handlers go through a service); src/infra/, src/domain/
#      and src/util/ include nothing from service/, http/ or cli/;
#   8. no cJSON_GetErrorPtr in src/: it reads cJSON's one global error
#      record, which every parse writes unsynchronised (tests/tsan.supp
#      suppresses that race on the grounds that nothing reads it);
#   9. no gmtime, localtime, ctime or asctime in src/ (one static result for
#      every thread): use the _r variants (tests/tsan.supp relies on it).
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
        printf '%s\n' "$2" | sed 's/^/    /'
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

# C sources of src/ (src/tools/ included: it is our code too).
c_files=$(find src -name '*.c' -o -name '*.h' | LC_ALL=C sort)

# A call is the name as a whole word followed by "(": snprintf and strtol do
# not match; a mention in a comment (/* ... */ or // ...) does not count.
unsafe=$(grep -nE '(^|[^A-Za-z0-9_])(atoi|atol|atoll|strcpy|strcat|sprintf|vsprintf|gets)[[:space:]]*\(' \
            $c_files | grep -vE ':[0-9]+:[[:space:]]*(/?\*|//)' || true)
check "no atoi/atol/strcpy/strcat/sprintf/gets in src/" "$unsafe"

# Characters, not bytes (UTF-8 dashes and arrows in comments count as one).
MAX_COLS=100
# One line per file: "FILE: N lines (L1,L2,...)".
long_lines=$(LC_ALL=C.UTF-8 grep -nE "^.{$((MAX_COLS + 1)),}" $c_files |
    awk -F: '{ n[$1]++; at[$1] = at[$1] (n[$1] > 1 ? "," : "") $2 }
             END { for (f in n) print f ": " n[f] " lines (" at[f] ")" }' | LC_ALL=C sort || true)
check "no line of src/ over $MAX_COLS columns" "$long_lines"

db_in_http=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"infra/db/' src/http || true)
check "src/http/ does not include infra/db/ (layers)" "$db_in_http"

upward=$(grep -rnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*"(service|http|cli)/' \
             src/infra src/domain src/util || true)
check "src/infra/, domain/, util/ do not include service/, http/ or cli/ (layers)" "$upward"

error_ptr=$(grep -rn 'cJSON_GetErrorPtr' src || true)
check "no cJSON_GetErrorPtr in src/ (not thread-safe)" "$error_ptr"

static_time=$(grep -nE '(^|[^A-Za-z0-9_])(gmtime|localtime|ctime|asctime)[[:space:]]*\(' \
                 $c_files | grep -vE ':[0-9]+:[[:space:]]*(/?\*|//)' || true)
check "no gmtime/localtime/ctime/asctime in src/ (not thread-safe; use the _r forms)" "$static_time"

echo "${pass} passed, ${fail} failed"
[[ $fail -eq 0 ]]
