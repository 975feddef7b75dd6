/* artifact.c — the artifact URL and storage-key layout; see artifact.h. */
#include "domain/artifact.h"

#include <stdio.h>
#include <string.h>

#include "util/util.h"

/* Appends s URL-escaped to out[n..cap) and returns the length the whole
 * string needs: n plus the escaped length of s (counted even when it does
 * not fit).  out stays NUL-terminated. */
static size_t put_escaped(char *out, size_t cap, size_t n, const char *s, bool keep_slash)
{
    size_t need = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || strchr("-_.~", *p) != NULL ||
                    (keep_slash && *p == '/');
        need += keep ? 1 : 3;
    }
    if (n < cap)
        bb_url_escape(out + n, cap - n, s, keep_slash);
    return n + need;
}

/* snprintf's result as a size_t (0 for an encoding error, which our
 * formats cannot produce). */
static size_t fmt_len(int n)
{
    return n < 0 ? 0 : (size_t)n;
}

size_t artifact_local_prefix(char *out, size_t cap, int64_t job_id)
{
    return fmt_len(snprintf(out, cap, "/api/v1/jobs/%lld/artifacts/", (long long)job_id));
}

size_t artifact_local_url(char *out, size_t cap, int64_t job_id, const char *name)
{
    return put_escaped(out, cap, artifact_local_prefix(out, cap, job_id), name, false);
}

size_t artifact_key(char *out, size_t cap, int64_t job_id, const char *name)
{
    return fmt_len(snprintf(out, cap, "artifacts/%lld/%s", (long long)job_id, name));
}

size_t artifact_s3_url(char *out, size_t cap, const struct artifact_s3 *s3, const char *key)
{
    const char *scheme = s3->https ? "https" : "http";
    int n = s3->path_style
                ? snprintf(out, cap, "%s://%s/%s/", scheme, s3->endpoint, s3->bucket)
                : snprintf(out, cap, "%s://%s.%s/", scheme, s3->bucket, s3->endpoint);
    return put_escaped(out, cap, fmt_len(n), key, true);
}
