/* event.c — event names and SSE framing (see event.h). */
#include "domain/event.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"
#include "util/util.h"

static const char *const names[] = {
    [EV_JOB_CREATED] = "job_created", [EV_JOB_STATE_CHANGED] = "job_state_changed",
    [EV_JOB_PROGRESS] = "job_progress", [EV_JOB_LOG] = "job_log",
};

const char *ev_type_name(enum ev_type t)
{
    if ((unsigned)t > EV_JOB_LOG)
        return "unknown";
    return names[t];
}

int ev_type_parse(const char *name, enum ev_type *out)
{
    for (int i = 0; i <= EV_JOB_LOG; i++) {
        if (name && strcmp(name, names[i]) == 0) {
            *out = (enum ev_type)i;
            return 0;
        }
    }
    return -1;
}

char *sse_frame(int64_t id, enum ev_type type, const char *data, size_t *len)
{
    buf b;
    buf_init(&b, 64u << 20);
    int rc = buf_printf(&b, "id: %lld\nevent: %s\n", (long long)id, ev_type_name(type));
    const char *p = data;
    do {
        size_t n = strcspn(p, "\r\n");
        rc |= buf_puts(&b, "data: ");
        rc |= buf_append(&b, p, n);
        rc |= buf_puts(&b, "\n");
        p += n;
        if (*p == '\r' && p[1] == '\n')
            p += 2;
        else if (*p)
            p++;
    } while (*p);
    rc |= buf_puts(&b, "\n");
    if (rc != 0) {
        buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return buf_take(&b);
}

int sse_parse_last_event_id(const char *s, int64_t *out)
{
    if (!s)
        return -1;
    while (*s == ' ' || *s == '\t')
        s++;
    char tmp[24];
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9' && n < sizeof tmp - 1) {
        tmp[n] = s[n];
        n++;
    }
    tmp[n] = '\0';
    const char *rest = s + n;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (n == 0 || n > 18 || *rest)
        return -1;
    return bb_parse_i64(tmp, out);
}
