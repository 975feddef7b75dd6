/* err.h — the application's one error enum, its table (code name, HTTP
 * status, extra header: one row per value, like curl's CURLcode) and the
 * context that carries an error's message.  Values are append-only;
 * docs/errors.md lists the table and tests/unit/test_errors.c keeps the
 * two in step. */
#ifndef BB_ERR_H
#define BB_ERR_H

#include <stdbool.h>
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
    BB_EMETHOD,         /* the path exists, not with this method (405) */
    BB_ERANGE,          /* a byte range outside the object (416) */
    BB_EFULL,           /* the disk (or the database's size limit) is full (507) */
    BB_ETIMEOUT,        /* the request did not arrive within its deadline (408) */
};

/* One row of the error table (err.c).  `header` names the extra response
 * header the status carries, or NULL; `header_value` is its value unless
 * the error context gives one (bb_errctx.header_value). */
struct bb_err_info {
    enum bb_err code;
    const char *name;          /* the "error" member of an error reply */
    int http_status;
    const char *header;        /* "Retry-After", "WWW-Authenticate", "Allow", ... or NULL */
    const char *header_value;  /* default value; NULL = always given per error */
    const char *meaning;       /* one line for docs/errors.md */
};

/* The table, one row per enum value in enum order (borrowed, static). */
extern const struct bb_err_info bb_err_table[];
extern const size_t bb_err_count;
/* The row of code (BB_EINTERNAL's row for a value outside the enum). */
const struct bb_err_info *bb_err_info(enum bb_err code);

/* Error context: the first error set wins; `field`, when set, names the
 * offending input field (reported under details.fields). */
struct cJSON;
typedef struct bb_errctx {
    enum bb_err code;
    char message[256];
    struct cJSON *fields;   /* owned; {"field": "message", ...} or NULL */
    /* value of the code's extra header when it varies per error (Allow:
     * the methods; Retry-After: seconds, then also details.retryAfterSec);
     * "" = the table's default */
    char header_value[96];
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
/* An optional boolean member: its value, or dflt when absent or null; any
 * other type records the field error "must be true or false" in e. */
bool bb_json_opt_bool(const struct cJSON *body, const char *key, bool dflt, bb_errctx *e);
/* Whether the database writer's last storage error was "disk full" and no
 * write has succeeded since (set by the database layer, src/infra/db/db.c,
 * read by any thread).  While it holds, bb_fail turns BB_EIO into BB_EFULL,
 * so a "database error" a full disk caused answers 507 and says so. */
void bb_set_disk_full(bool full);
bool bb_disk_full(void);
/* Frees e->fields and resets the context to BB_OK. */
void bb_err_clear(bb_errctx *e);
/* Short machine code for the enum ("invalid", "not_found", ...). */
const char *bb_err_code(enum bb_err code);

#endif
