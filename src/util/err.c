/* err.c — the application error context (see err.h). */
#include "util/err.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cJSON.h"
#include "util/bb_assert.h"

static void set_message(bb_errctx *e, const char *fmt, va_list ap)
{
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

static atomic_bool disk_full;

void bb_set_disk_full(bool full)
{
    atomic_store(&disk_full, full);
}

bool bb_disk_full(void)
{
    return atomic_load(&disk_full);
}

enum bb_err bb_fail(bb_errctx *e, enum bb_err code, const char *fmt, ...)
{
    if (code == BB_EIO && atomic_load(&disk_full))
        code = BB_EFULL;
    if (e->code != BB_OK)
        return code;
    e->code = code;
    if (code == BB_EFULL) {
        snprintf(e->message, sizeof e->message, "the disk is full: the server cannot store "
                 "anything until space is freed (docs/operations.md, \"Disk full\")");
        return code;
    }
    va_list ap;
    va_start(ap, fmt);
    set_message(e, fmt, ap);
    va_end(ap);
    return code;
}

enum bb_err bb_fail_field(bb_errctx *e, const char *field, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (e->code == BB_OK) {
        e->code = BB_EINVAL;
        snprintf(e->message, sizeof e->message, "invalid field \"%.64s\": %.160s", field, msg);
    } else if (e->code == BB_EINVAL && e->fields &&
               cJSON_GetArraySize(e->fields) == 1) {
        snprintf(e->message, sizeof e->message, "the request has invalid fields");
    }
    if (e->code != BB_EINVAL)
        return BB_EINVAL;
    if (!e->fields)
        e->fields = cJSON_CreateObject();
    if (e->fields && !cJSON_GetObjectItemCaseSensitive(e->fields, field))
        cJSON_AddStringToObject(e->fields, field, msg);
    return BB_EINVAL;
}

void bb_err_clear(bb_errctx *e)
{
    cJSON_Delete(e->fields);
    memset(e, 0, sizeof *e);
}

/* The error table: the one place an error becomes a name, an HTTP status
 * and an extra header.  Rows in enum order (bb_err_info asserts it). */
const struct bb_err_info bb_err_table[] = {
    {BB_OK, "ok", 200, NULL, NULL, "success (never sent as an error)"},
    {BB_EINVAL, "invalid", 400, NULL, NULL,
     "malformed JSON, wrong types, unknown fields, bad values; details.fields names each"},
    {BB_EAUTH, "unauthorized", 401, "WWW-Authenticate", "Bearer",
     "missing, invalid or expired credentials"},
    {BB_EFORBIDDEN, "forbidden", 403, NULL, NULL,
     "signed in but not allowed (admin only, CSRF header missing)"},
    {BB_ENOTFOUND, "not_found", 404, NULL, NULL,
     "no such route, job, artifact, file or user (or not the caller's)"},
    {BB_ECONFLICT, "conflict", 409, NULL, NULL,
     "conflicts with existing state (Idempotency-Key reuse, email taken, file in use)"},
    {BB_ETOOLARGE, "too_large", 413, NULL, NULL, "body, upload or quota over a limit"},
    {BB_EMEDIA, "unsupported_media_type", 415, NULL, NULL,
     "a body that is not application/json, or an upload of a refused type"},
    {BB_ESTATE, "invalid_state", 422, NULL, NULL, "an action not allowed in the job's state"},
    {BB_ERATE, "rate_limited", 429, "Retry-After", "1",
     "too many failed sign-ins; details.retryAfterSec says how long to wait"},
    {BB_EINTERNAL, "internal", 500, NULL, NULL, "a bug or an unexpected library failure"},
    {BB_ENOTIMPL, "not_implemented", 501, NULL, NULL, "a capability this server lacks"},
    {BB_EUNAVAIL, "unavailable", 503, "Retry-After", "5",
     "too many event streams, S3 not reachable or not configured, shutting down"},
    {BB_EIO, "io_error", 500, NULL, NULL, "a database or disk failure (logged)"},
    {BB_EMETHOD, "method_not_allowed", 405, "Allow", NULL,
     "the path exists with other methods (listed in Allow)"},
    {BB_ERANGE, "range_not_satisfiable", 416, "Content-Range", NULL,
     "a Range outside the object (Content-Range gives its size)"},
    {BB_EFULL, "insufficient_storage", 507, "Retry-After", "30",
     "the disk or the database's size limit is full; retry once space is freed"},
    {BB_ETIMEOUT, "request_timeout", 408, NULL, NULL,
     "the request's headers or body did not arrive within their deadline (slow client)"},
};

const size_t bb_err_count = sizeof bb_err_table / sizeof bb_err_table[0];

const struct bb_err_info *bb_err_info(enum bb_err code)
{
    if ((size_t)code >= bb_err_count)
        return &bb_err_table[BB_EINTERNAL];
    BB_ASSERT(bb_err_table[code].code == code);
    return &bb_err_table[code];
}

const char *bb_err_code(enum bb_err code)
{
    return bb_err_info(code)->name;
}

/* A member of body that is present and not null: itself if `is` accepts
 * it, else NULL with the field error `want` recorded in e. */
static const cJSON *opt_member(const cJSON *body, const char *key,
                               cJSON_bool (*is)(const cJSON *), const char *want, bb_errctx *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!is(v)) {
        bb_fail_field(e, key, "%s", want);
        return NULL;
    }
    return v;
}

bool bb_json_opt_bool(const cJSON *body, const char *key, bool dflt, bb_errctx *e)
{
    const cJSON *v = opt_member(body, key, cJSON_IsBool, "must be true or false", e);
    return v ? cJSON_IsTrue(v) : dflt;
}

const char *bb_json_opt_string(const cJSON *body, const char *key, bb_errctx *e)
{
    const cJSON *v = opt_member(body, key, cJSON_IsString, "must be a string", e);
    return v ? v->valuestring : NULL;
}
