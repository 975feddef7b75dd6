/* err.h — the application's one error enum and the context that carries
 * its message.  Values are append-only; http_status_for() in
 * src/http/reply.c is the only place that maps them to HTTP statuses. */
#ifndef BB_ERR_H
#define BB_ERR_H

#include <stddef.h>

enum bb_err {
    BB_OK = 0,          /* success */
    BB_EINVAL,          /* malformed or invalid input (400) */
    BB_EAUTH,           /* missing or bad credentials (401) */
    BB_EFORBIDDEN,      /* authenticated but not allowed (403) */
    BB_ENOTFOUND,       /* no such object, or not the caller's (404) */
    BB_ECONFLICT,       /* conflicts with existing state (409) */
    BB_ETOOLARGE,       /* body or upload over a limit (413) */
    BB_EMEDIA,          /* unsupported media type (415) */
    BB_ESTATE,          /* valid, but not allowed in the current state (422) */
    BB_ERATE,           /* rate limited (429) */
    BB_EINTERNAL,       /* bug or unexpected library failure (500) */
    BB_ENOTIMPL,        /* capability reported as not implemented (501) */
    BB_EUNAVAIL,        /* temporarily unavailable: shutting down, full (503) */
    BB_EIO,             /* database or filesystem failure (500) */
};

/* Error context: the first error set wins; `field`, when set, names the
 * offending input field (reported under details.fields). */
struct cJSON;
typedef struct bb_errctx {
    enum bb_err code;
    char message[256];
    struct cJSON *fields;   /* owned; {"field": "message", ...} or NULL */
} bb_errctx;

/* Sets code/message (printf-style) unless an error is already recorded.
 * Returns code so callers can `return bb_fail(...)`. */
enum bb_err bb_fail(bb_errctx *e, enum bb_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Records a bad input field (code becomes BB_EINVAL unless another error
 * is already set; several fields may be recorded, the first message wins
 * per field).  Returns BB_EINVAL. */
enum bb_err bb_fail_field(bb_errctx *e, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* An optional string member of a JSON object body: its value (borrowed
 * from body), or NULL when absent or null; any other type records the
 * field error "must be a string" in e and gives NULL. */
const char *bb_json_opt_string(const struct cJSON *body, const char *key, bb_errctx *e);
/* Frees e->fields and resets the context to BB_OK. */
void bb_err_clear(bb_errctx *e);
/* Short machine code for the enum ("invalid", "not_found", ...). */
const char *bb_err_code(enum bb_err code);

#endif
