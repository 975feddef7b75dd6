/* fuzz_sse_id.c — libFuzzer target for the small parsers of request
 * headers and query strings: the SSE Last-Event-ID value
 * (sse_parse_last_event_id, src/domain/event.c), whole-number parsing
 * (bb_parse_i64, src/util/util.c) and the job-list query
 * (?state=&preset=&q=&limit=&cursor=: civetweb's mg_get_var decoding as
 * http_query() uses it, then svc_job_filter in src/service/jobs.c).
 * Build and run with tests/fuzz/run.sh; seeds in tests/fuzz/corpus/sse_id/.
 *
 * The input, cut at the first NUL, is used three ways: as a Last-Event-ID
 * header value, as a number, and as a query string.
 *
 * Besides the sanitizers it checks each parser against a plain reference
 * (strtoll on the same grammar): the same inputs are accepted with the same
 * value; an accepted value prints and parses back to itself; the list
 * filter stays within its documented bounds (limit 1..200, cursor >= 1,
 * q at most 200 bytes, a state that names itself back). */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "civetweb.h"
#include "domain/event.h"
#include "domain/job.h"
#include "service/jobs.h"
#include "util/err.h"
#include "util/util.h"

#define TEXT_MAX 8192

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reference for bb_parse_i64: optional '-', then 1..18 decimal digits. */
static int ref_parse_i64(const char *s, int64_t *out)
{
    const char *p = s + (*s == '-');
    size_t n = strlen(p);
    if (n == 0 || n > 18)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (p[i] < '0' || p[i] > '9')
            return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno != 0)
        abort();   /* 18 digits always fit */
    *out = v;
    return 0;
}

/* Reference for sse_parse_last_event_id: spaces/tabs, 1..18 digits,
 * spaces/tabs. */
static int ref_last_event_id(const char *s, int64_t *out)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    const char *rest = s + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (n == 0 || n > 18 || *rest)
        return -1;
    *out = strtoll(s, NULL, 10);
    return 0;
}

static void check_numbers(const char *s)
{
    int64_t a = -7, b = -7;
    int ra = sse_parse_last_event_id(s, &a);
    int rb = ref_last_event_id(s, &b);
    if ((ra == 0) != (rb == 0) || (ra == 0 && (a != b || a < 0)))
        abort();

    a = b = -7;
    ra = bb_parse_i64(s, &a);
    rb = ref_parse_i64(s, &b);
    if ((ra == 0) != (rb == 0) || (ra == 0 && a != b))
        abort();
    if (ra == 0) {
        char back[32];
        int64_t c;
        snprintf(back, sizeof back, "%lld", (long long)a);
        if (bb_parse_i64(back, &c) != 0 || c != a)
            abort();
    }
}

/* The job-list query, exactly as route_jobs_list reads it. */
static void check_query(const char *qs)
{
    char state[32], preset[128], q[256], limit[16], cursor[32], probe[2];
    static const char *const names[] = {"state", "preset", "q", "limit", "cursor"};
    char *bufs[] = {state, preset, q, limit, cursor};
    size_t caps[] = {sizeof state, sizeof preset, sizeof q, sizeof limit, sizeof cursor};
    const char *got[5];
    size_t len = strlen(qs);
    bb_errctx e = {0};

    for (size_t i = 0; i < 5; i++) {
        memset(bufs[i], 0x5a, caps[i]);
        int n = mg_get_var(qs, len, names[i], bufs[i], caps[i]);
        got[i] = n >= 0 ? bufs[i] : NULL;
        if (n >= 0 && ((size_t)n >= caps[i] || strlen(bufs[i]) > (size_t)n))
            abort();   /* in bounds and terminated */
        if (mg_get_var(qs, len, names[i], probe, sizeof probe) == -2 && !got[i])
            bb_fail_field(&e, names[i], "value is too long");
    }
    if (e.code != BB_OK) {
        bb_err_clear(&e);
        return;
    }

    bb_app app;
    memset(&app, 0, sizeof app);
    struct principal who = {.user_id = 42, .admin = (len & 1) != 0};
    struct job_filter f;
    int rc = svc_job_filter(&app, &who, got[0], got[1], got[2], got[3], got[4], &f, &e);
    if (rc != (int)e.code)
        abort();
    if (rc == BB_OK) {
        if (f.limit < 1 || f.limit > 200 || f.before_id < 0)
            abort();
        if (f.owner_scope != principal_scope(&who))
            abort();
        if (f.q && strlen(f.q) > 200)
            abort();
        if (f.has_state) {
            enum job_state back;
            const char *name = job_state_name(f.state);
            if (!name || job_state_parse(name, &back) != 0 || back != f.state)
                abort();
        }
        if (got[3] && *got[3]) {
            int64_t v;
            if (bb_parse_i64(got[3], &v) != 0 || v != f.limit)
                abort();
        } else if (f.limit != 50) {
            abort();
        }
    } else if (rc != BB_EINVAL || !e.fields) {
        abort();   /* a bad list query is a 400 naming its fields */
    }
    bb_err_clear(&e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TEXT_MAX)
        return 0;
    char s[TEXT_MAX + 1];
    memcpy(s, data, size);
    s[size] = '\0';
    check_numbers(s);
    check_query(s);
    return 0;
}
