/* err.c — the application error context (see err.h). */
#include "util/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cJSON.h"

static void set_message(bb_errctx *e, const char *fmt, va_list ap)
{
    vsnprintf(e->message, sizeof e->message, fmt, ap);
}

enum bb_err bb_fail(bb_errctx *e, enum bb_err code, const char *fmt, ...)
{
    if (e->code != BB_OK)
        return code;
    e->code = code;
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

const char *bb_err_code(enum bb_err code)
{
    switch (code) {
    case BB_OK: return "ok";
    case BB_EINVAL: return "invalid";
    case BB_EAUTH: return "unauthorized";
    case BB_EFORBIDDEN: return "forbidden";
    case BB_ENOTFOUND: return "not_found";
    case BB_ECONFLICT: return "conflict";
    case BB_ETOOLARGE: return "too_large";
    case BB_EMEDIA: return "unsupported_media_type";
    case BB_ESTATE: return "invalid_state";
    case BB_ERATE: return "rate_limited";
    case BB_EINTERNAL: return "internal";
    case BB_ENOTIMPL: return "not_implemented";
    case BB_EUNAVAIL: return "unavailable";
    case BB_EIO: return "io_error";
    }
    return "internal";
}

const char *bb_json_opt_string(const cJSON *body, const char *key, bb_errctx *e)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(body, key);
    if (!v || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v)) {
        bb_fail_field(e, key, "must be a string");
        return NULL;
    }
    return v->valuestring;
}
