/* client.h — what the client verbs of the batchbox CLI share (submit,
 * jobs, show, logs, watch, cancel, retry, rerun, login, logout, whoami):
 * they talk to a running server over its HTTP API (/api/v1) with libcurl.
 * User documentation: docs/cli.md.  Their options and help are rows of
 * the verb table (verbs.c); the files:
 *
 *   client_api.c      the per-call context (--server, --json), every
 *                     request (cl_api_do: common headers, timeouts, one
 *                     token refresh and retry on a 401), turning a failed
 *                     call into a message and an exit code;
 *   client_cred.c     the credentials file `batchbox login` writes;
 *   client_session.c  the process's tokens (shared with the --wait thread);
 *   client_stream.c   SIGINT/SIGTERM handling and the one reconnecting
 *                     Server-Sent-Events loop (watch, submit --wait);
 *   client_print.c    JSON field readers and output helpers;
 *   client_submit.c, client_jobs.c (jobs, show, logs), client_watch.c,
 *   client_actions.c (cancel, retry, rerun), client_account.c (login,
 *   logout, whoami): one file per verb family.
 *
 * Threads: all work happens on the caller's thread, except the one-shot
 * "GET the job right after the event stream connected" of `submit --wait`,
 * which runs on a helper thread while the main thread keeps reading the
 * stream.  The two share only the waiter (final DTO and what was printed
 * last, under its mutex), the session (tokens, under its mutex) and the
 * atomic cancel flag cl_cancel, which the helper sets to end the stream
 * once it has seen the job finished.
 *
 * Text that comes from the server is printed with control characters
 * replaced (cl_put_clean); job log lines, the job's own output, keep their
 * text but show control characters escaped (cl_log_write: "\x1b", "\r"),
 * so a job cannot move the cursor, recolour or retitle the terminal, or
 * overwrite a line with a fake "[batchbox: ...]" one (docs/cli.md). */
#ifndef BB_CLI_CLIENT_H
#define BB_CLI_CLIENT_H

#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cJSON.h"
#include "cli/args.h"
#include "infra/net/http_client.h"
#include "infra/net/sse_parse.h"
#include "util/buf.h"

#define DEFAULT_SERVER "http://127.0.0.1:8080"
#define API_PREFIX "/api/v1"

#define CHECK_TIMEOUT_MS 10000L
#define URL_CAP 8192u
#define SSE_MAX_LINE (4u * 1024u * 1024u)
#define SSE_MAX_DATA (4u * 1024u * 1024u)
#define MAX_TOKEN_LEN 4096u
#define MAX_IDEM_KEY_LEN 200u

/* ------------------------------------------------ context (client_api.c) */

/* One client verb's call: set up by cl_enter before the verb runs. */
struct ctx {
    const struct cli_call *call;
    char server[1024];      /* base URL: no trailing "/", no /api/v1 */
    char shown[1024];       /* same without user:password, for messages */
    bool json;              /* --json */
    bool auth_verb;         /* login/logout: no "not signed in" hint */
};

/* The client group's enter/leave (verbs.c): resolves --server
 * ($BATCHBOX_SERVER, default) into a new ctx in call->ctx, initialises
 * libcurl; cl_leave forgets the session and frees the ctx. */
int cl_enter(struct cli_call *call);
void cl_leave(struct cli_call *call);

/* "batchbox VERB: message" on stderr / the same with the usage line
 * (returns the usage exit code). */
#define errorf(c, ...) cli_errorf((c)->call, __VA_ARGS__)
#define usage_error(c, ...) cli_usage_error((c)->call, __VA_ARGS__)

/* ------------------------------------------------ requests (client_api.c) */

struct cl_req {
    const char *accept;          /* default "application/json" */
    const char *content_type;    /* of body; default "application/json" */
    size_t body_len;             /* 0: strlen(body) */
    const char *idempotency_key; /* or NULL */
    const char *last_event_id;   /* or NULL / "" */
    http_chunk_fn on_chunk;      /* streaming when set */
    void *user;
    long idle_sec;               /* streams: idle timeout, 0 = none */
    long timeout_ms;             /* buffered: 0 = the default 30 s */
    bool cancelable;             /* watch cl_cancel */
    bool no_auth;                /* send no credentials (auth routes) */
};

/* Builds "<server>/api/v1<path>" from a printf format.  Returns a malloc'd
 * string (caller frees) or NULL when too long or out of memory. */
__attribute__((format(printf, 2, 3))) char *
cl_api_url(const struct ctx *c, const char *fmt, ...);
/* Appends "?name=value" or "&name=value" (value percent-encoded) to q;
 * 0 or -1. */
int cl_query_add(buf *q, const char *name, const char *value);
/* Frees a string that held a secret, wiping it first.  s may be NULL. */
void cl_free_secret(char *s);
/* Releases a response whose body may hold tokens, wiping the body. */
void cl_response_free_secret(struct http_response *resp);
/* Sends one request with the common headers and auth (a complete
 * "Authorization: ..." line, or NULL); no refresh.  resp is always
 * initialised (caller frees it with http_response_free). */
enum http_result cl_api_send(const char *method, const char *url,
                             const char *body, const struct cl_req *o,
                             const char *auth, struct http_response *resp,
                             char *err, size_t errlen);
/* Sends one API request with the credentials (unless o->no_auth) and
 * answers a 401 to stored credentials with one refresh and one retry.
 * o may be NULL.  resp is always initialised (caller frees it). */
enum http_result cl_api_do(const struct ctx *c, const char *method,
                           const char *url, const char *body,
                           const struct cl_req *o, struct http_response *resp,
                           char *err, size_t errlen);
bool cl_is_2xx(long status);
/* Explains a failed call on stderr; returns its exit code. */
int cl_report_failure(const struct ctx *c, enum http_result r,
                      const struct http_response *resp, const char *err);
/* Performs a buffered JSON call and parses the 2xx answer.  Returns the
 * tree (caller frees) with *code CLI_EXIT_OK, or NULL with *code set
 * (message printed).  If raw is non-NULL, *raw receives the response
 * (caller frees it with http_response_free) on success. */
cJSON *cl_api_json(const struct ctx *c, const char *method, const char *url,
                   const char *body, const struct cl_req *o, int *code,
                   struct http_response *raw);
/* GET /jobs/ID (timeout_ms 0: the default); the DTO (caller frees), or
 * NULL with *code set and the reason printed. */
cJSON *cl_fetch_job(struct ctx *c, const char *id, long timeout_ms,
                    int *code);

/* -------------------------------------------- credentials (client_cred.c) */

struct cl_cred_paths {
    char dir[PATH_MAX];
    char file[PATH_MAX];
    char lock[PATH_MAX];
};

/* Fills p from $XDG_CONFIG_HOME, else $HOME; 0, or -1 with why. */
int cl_cred_paths_get(struct cl_cred_paths *p, char *why, size_t whylen);
/* Takes the file's exclusive lock; its descriptor (close it) or -1. */
int cl_cred_lock(const struct cl_cred_paths *p, char *why, size_t whylen);
/* The file's top-level object (caller frees), empty when there is none;
 * NULL with why on a read error. */
cJSON *cl_cred_read(const struct cl_cred_paths *p, char *why, size_t whylen);
/* Replaces the file with all, atomically; 0 or -1 with why. */
int cl_cred_write(const struct cl_cred_paths *p, const cJSON *all, char *why,
                  size_t whylen);
/* A new entry (caller frees, or hands it to cl_cred_put), NULL on OOM. */
cJSON *cl_cred_entry_new(const char *server, const char *email,
                         const char *access_tok, const char *refresh_tok,
                         int64_t expires_at);
/* Under the lock: stores entry as server's (takes ownership), or removes
 * server's entry when entry is NULL.  0 or -1 with why. */
int cl_cred_put(const char *server, cJSON *entry, char *why, size_t whylen);
/* "2026-11-22T05:00:00Z" → unix seconds; 0 if not that shape. */
int64_t cl_parse_iso_utc(const char *s);
/* 1..MAX_TOKEN_LEN printable ASCII characters, no spaces. */
bool cl_token_ok(const char *t);

/* ---------------------------------------------- session (client_session.c) */

enum { CL_REFRESH_OK, CL_REFRESH_EXPIRED, CL_REFRESH_FAILED };

/* Why a refresh could not be done (server unreachable, 5xx, 429). */
struct cl_refresh_fail {
    enum http_result res;
    struct http_response resp; /* owned when set */
    char err[512];
    bool set;
};

/* "Authorization: Bearer <tok>" (caller frees with cl_free_secret), or
 * NULL when out of memory. */
char *cl_bearer(const char *tok);
/* The Authorization line for a request to c's server (caller frees with
 * cl_free_secret; NULL: none); *gen gets the tokens' generation and
 * *refreshable whether a 401 may be answered by refreshing. */
char *cl_sess_header(const struct ctx *c, unsigned *gen, bool *refreshable);
/* One refresh unless the tokens changed since used_gen: CL_REFRESH_*. */
int cl_sess_refresh(const struct ctx *c, unsigned used_gen,
                    struct cl_refresh_fail *f);
/* True when credentials of any kind will be sent to server. */
bool cl_sess_has_credentials(const char *server);
/* True once a refresh was refused (the user has been told). */
bool cl_sess_expired(void);
/* Frees the session (end of a verb). */
void cl_sess_clear(void);

/* The Authorization header line ("Authorization: Bearer <token>") that
 * requests to server (a base URL as given by --server, normalised: no
 * trailing "/" or "/api/v1") carry, or NULL when there are no usable
 * credentials.  BATCHBOX_TOKEN wins when set (NULL, with a warning, when
 * it contains spaces or control characters or is too long); otherwise the
 * access token `batchbox login` stored for server.  No network.
 * Returns a malloc'd string; caller frees (it holds a secret: wipe it). */
char *client_auth_header(const char *server);

/* ------------------------------------------------ stream (client_stream.c) */

/* Set by SIGINT/SIGTERM while a long-running verb has its handlers in
 * place; cl_cancel also stops the current transfer (and is set by the
 * --wait helper thread to end the stream). */
extern atomic_int cl_cancel;
extern volatile sig_atomic_t cl_signaled;

struct cl_sigsave {
    struct sigaction intr, term;
    bool have_intr, have_term;
};

/* Routes SIGINT/SIGTERM to the flags above (no SA_RESTART, so blocking
 * waits return early); cl_signals_restore puts the old handlers back. */
void cl_signals_catch(struct cl_sigsave *s);
void cl_signals_restore(struct cl_sigsave *s);

/* One reconnecting SSE subscription (watch, submit --wait). */
struct cl_stream {
    struct ctx *c;
    struct sse_parser parser;
    unsigned long dropped_seen;    /* parser.dropped_events already warned */
    bool connected;                /* this connection delivered 2xx bytes */
    bool must_connect_first;       /* a failed first connection is fatal */
    int stop_code;                 /* >= 0: stop with this exit code */
    int signal_code;               /* exit code when interrupted */
    /* Handles one event; returns 0 to go on, non-zero to end the
     * connection (then set stop_code to end the loop). */
    int (*on_event)(struct cl_stream *s, const struct sse_event *ev);
    /* Called when a connection delivers its first bytes. */
    void (*on_connect)(struct cl_stream *s);
    /* Called after every connection ends (may set stop_code). */
    void (*after)(struct cl_stream *s);
    void *owner;
};

/* Reads /api/v1/jobs/events<query> until s->stop_code is set, a signal
 * arrives, a non-retryable error comes back, or no connection could be
 * made for 5 minutes; returns the exit code. */
int cl_run_stream(struct cl_stream *s, const char *query);

/* ------------------------------------------- scheduling (client_schedule.c) */

/* Adds runAt / delaySec / dependsOn / runWhen from --run-at, --delay,
 * --depends-on and --run-when to a submit body.  0, or the exit code
 * (message printed). */
int cl_sched_submit_fields(const struct cli_call *a, struct ctx *c, cJSON *body);

/* -------------------------------------------------- output (client_print.c) */

/* Writes s to f with control characters (but tab) shown as '?'. */
void cl_put_clean(FILE *f, const char *s);
/* Log text in pieces, as it arrives: every byte is written but C0
 * controls (except LF and TAB), DEL and the C1 controls (U+0080..U+009F)
 * are shown escaped ("\r", "\x1b", "\u009b").  A UTF-8 sequence cut
 * between pieces is carried in *w.  Returns 0, or -1 when writing fails
 * (errno set). */
struct cl_log_writer {
    bool pending_c2;         /* the previous piece ended in 0xC2 */
};
int cl_log_write(struct cl_log_writer *w, FILE *f, const char *data, size_t len);
/* Field readers: a string or NULL; a value as text (numbers into out); an
 * int or dflt; progress (0..1) as a whole percentage or -1. */
const char *cl_jstr(const cJSON *o, const char *key);
const char *cl_jtext(const cJSON *o, const char *key, char *out,
                     size_t outlen);
int cl_jint(const cJSON *o, const char *key, int dflt);
int cl_jpercent(const cJSON *o);
/* True for a whole number a long long holds. */
bool cl_whole_number(double d);
/* One JSON line on stdout / a 2xx body verbatim ending in a newline. */
void cl_print_json(const cJSON *j);
void cl_print_raw(const struct http_response *resp);
/* Sends method path (under /api/v1) with body (JSON text or NULL) and
 * prints the answer through show, or raw with --json (client_admin.c).
 * Returns the exit code. */
int cl_call_and_show(struct ctx *c, const char *method, const char *path, const char *body,
                     void (*show)(const cJSON *answer));
bool cl_state_terminal(const char *state);
/* "2026-11-22T05:00:00.123Z" → "2026-11-22 05:00:00" (UTC). */
const char *cl_short_time(const char *iso, char out[24]);
const char *cl_base_name(const char *path);
void cl_human_size(double bytes, char *out, size_t outlen);
/* A job id argument: 1..19 decimal digits. */
bool cl_valid_job_id(const char *s);
/* The verb's one positional job id, checked; NULL after printing a usage
 * error. */
const char *cl_job_id_arg(const struct ctx *c);

#endif
