/* client.c — the client verbs of the batchbox CLI: submit, jobs, show,
 * logs, watch, cancel, retry, rerun (user documentation: docs/cli.md).
 *
 * Shape:
 *   - a verb table (name, handler, synopsis, summary, help text);
 *   - one small option parser shared by every verb: long options as
 *     "--opt value" or "--opt=value", the short options -h and -f, "--"
 *     ends the options; the common options (--server, --json, --help) are
 *     handled inside it;
 *   - api_do(): every request goes through it, so the common headers
 *     (Accept, Content-Type, User-Agent, Authorization from
 *     client_auth_header()) and timeouts are set in one place;
 *   - report_failure(): the one place that turns a failed call into a
 *     message on stderr and an exit code;
 *   - run_stream(): one reconnecting Server-Sent-Events loop (Last-Event-ID,
 *     bounded backoff, SIGINT/SIGTERM) shared by `watch` and
 *     `submit --wait`.
 *
 * Threads: all work happens on the caller's thread, except the one-shot
 * "GET the job right after the event stream connected" of `submit --wait`,
 * which runs on a helper thread while the main thread keeps reading the
 * stream.  The two share only the waiter (final DTO and what was printed
 * last, under its mutex) and the atomic cancel flag g_cancel, which the
 * helper sets to end the stream once it has seen the job finished.
 *
 * Text that comes from the server is printed with control characters
 * replaced (put_clean), except job log lines, which are the job's own
 * output and are passed through as they are (like `docker logs`). */
#include "cli/client.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cJSON.h"
#include "infra/net/http_client.h"
#include "infra/net/sse_parse.h"
#include "util/buf.h"

#define DEFAULT_SERVER "http://127.0.0.1:8080"
#define API_PREFIX "/api/v1"
#define USER_AGENT_HEADER "User-Agent: batchbox-cli"

#define CONNECT_TIMEOUT_MS 5000L
#define REQUEST_TIMEOUT_MS 30000L
#define CHECK_TIMEOUT_MS 10000L
/* The server sends a heartbeat every events.heartbeatSec (default 25 s);
 * three missed heartbeats mean a dead connection. */
#define STREAM_IDLE_SEC 90L
#define LOGS_IDLE_SEC 60L
#define MAX_JSON_BODY (16u * 1024u * 1024u)
#define URL_CAP 8192u
#define SSE_MAX_LINE (4u * 1024u * 1024u)
#define SSE_MAX_DATA (4u * 1024u * 1024u)
#define BACKOFF_MIN_MS 500L
#define BACKOFF_MAX_MS 5000L
#define RETRY_AFTER_MAX_MS 30000L
#define RECONNECT_GIVE_UP_MS (5L * 60L * 1000L)
#define MAX_PAGES 100000
#define MAX_TOKEN_LEN 4096u
#define MAX_IDEM_KEY_LEN 200u

/* ------------------------------------------------------------ signals */

/* Set by SIGINT/SIGTERM while a long-running verb has its handlers in
 * place; g_cancel also stops the current transfer (and is set by the
 * --wait helper thread to end the stream). */
static atomic_int g_cancel;
static volatile sig_atomic_t g_signaled;

static void on_signal(int sig)
{
    (void)sig;
    g_signaled = 1;
    atomic_store(&g_cancel, 1);
}

struct sigsave {
    struct sigaction intr, term;
    bool have_intr, have_term;
};

/* Routes SIGINT/SIGTERM to on_signal (no SA_RESTART, so blocking waits
 * return early); signals_restore() puts the old handlers back. */
static void signals_catch(struct sigsave *s)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    g_signaled = 0;
    atomic_store(&g_cancel, 0);
    s->have_intr = sigaction(SIGINT, &sa, &s->intr) == 0;
    s->have_term = sigaction(SIGTERM, &sa, &s->term) == 0;
}

static void signals_restore(struct sigsave *s)
{
    if (s->have_intr)
        (void)sigaction(SIGINT, &s->intr, NULL);
    if (s->have_term)
        (void)sigaction(SIGTERM, &s->term, NULL);
}

static int64_t now_ms(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds in short slices, returning early on a signal. */
static void sleep_ms(long ms)
{
    while (ms > 0 && !g_signaled) {
        long step = ms < 50 ? ms : 50;
        struct timespec ts = {0, step * 1000000L};
        (void)nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* ------------------------------------------------------- verb context */

struct ctx;

struct verb {
    const char *name;
    int (*run)(struct ctx *c, int argc, char **argv);
    const char *synopsis; /* after "batchbox " */
    const char *summary;  /* one line for `batchbox --help` */
    const char *help;     /* description and the verb's own options */
};

struct ctx {
    const struct verb *verb;
    const char *server_opt; /* --server (borrowed from argv) */
    char server[1024];      /* base URL: no trailing "/", no /api/v1 */
    char shown[1024];       /* same without user:password, for messages */
    bool json;
};

/* Writes s to f with control characters (but tab) shown as '?'. */
static void put_clean(FILE *f, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        fputc((*p < 0x20 && *p != '\t') || *p == 0x7f ? '?' : *p, f);
}

/* "batchbox VERB: message" on stderr. */
__attribute__((format(printf, 2, 3))) static void
errorf(const struct ctx *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "batchbox %s: ", c->verb->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static const char common_help[] =
    "Common options:\n"
    "  --server URL          server to talk to (default: $BATCHBOX_SERVER,\n"
    "                        else " DEFAULT_SERVER ")\n"
    "  --json                print the server's JSON instead of text\n"
    "  -h, --help            show this help\n"
    "\n"
    "Environment: BATCHBOX_SERVER (default server), BATCHBOX_TOKEN (sent as\n"
    "'Authorization: Bearer <token>').\n"
    "Exit codes: 0 ok; 1 job failed or canceled (--wait), not found, wrong\n"
    "state or not implemented; 2 usage error or invalid request (HTTP 400);\n"
    "3 server unreachable, timed out or failing (5xx).\n";

static void verb_usage(const struct verb *v, FILE *out)
{
    fprintf(out, "usage: batchbox %s\n\n%s\n%s", v->synopsis, v->help,
            common_help);
}

/* Prints "batchbox VERB: message" and the verb's usage on stderr;
 * returns the usage exit code. */
__attribute__((format(printf, 2, 3))) static int
usage_error(const struct ctx *c, const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "batchbox %s: ", c->verb->name);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: batchbox %s\nTry 'batchbox %s --help' for more.\n",
            c->verb->synopsis, c->verb->name);
    return CLI_EXIT_USAGE;
}

/* ---------------------------------------------------- option parsing */

struct optspec {
    const char *name; /* long name without "--" */
    char short_name;  /* 0 if none */
    bool has_arg;
    int id;
};

enum { OPT_SERVER = 1000, OPT_JSON, OPT_HELP };

static const struct optspec common_opts[] = {
    {"server", 0, true, OPT_SERVER},
    {"json", 0, false, OPT_JSON},
    {"help", 'h', false, OPT_HELP},
    {NULL, 0, false, 0},
};

struct args {
    int argc;
    char **argv;
    int i;          /* next argv index */
    bool opts_done; /* "--" seen */
};

enum { ARG_END, ARG_OPT, ARG_POS, ARG_HELP, ARG_ERR };

static const struct optspec *find_opt(const struct optspec *opts,
                                      const char *name, size_t nlen,
                                      char short_name)
{
    for (; opts->name; opts++) {
        if (short_name ? opts->short_name == short_name
                       : strlen(opts->name) == nlen &&
                             strncmp(opts->name, name, nlen) == 0)
            return opts;
    }
    return NULL;
}

/* Returns the next argument: ARG_OPT (*id, *val for options with a
 * value), ARG_POS (*val), ARG_END, ARG_HELP (usage printed on stdout) or
 * ARG_ERR (message and usage printed on stderr).  --server and --json are
 * consumed here. */
static int next_arg(struct ctx *c, struct args *a, const struct optspec *opts,
                    int *id, const char **val)
{
    for (;;) {
        if (a->i >= a->argc)
            return ARG_END;
        const char *s = a->argv[a->i++];
        if (a->opts_done || s[0] != '-' || s[1] == '\0') {
            *val = s;
            return ARG_POS;
        }
        if (strcmp(s, "--") == 0) {
            a->opts_done = true;
            continue;
        }

        const struct optspec *o;
        const char *inline_val = NULL;
        if (s[1] == '-') {
            const char *name = s + 2, *eq = strchr(name, '=');
            size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
            o = find_opt(opts, name, nlen, 0);
            if (!o)
                o = find_opt(common_opts, name, nlen, 0);
            if (eq)
                inline_val = eq + 1;
        } else {
            o = s[2] == '\0' ? find_opt(opts, NULL, 0, s[1]) : NULL;
            if (!o && s[2] == '\0')
                o = find_opt(common_opts, NULL, 0, s[1]);
        }
        if (!o) {
            usage_error(c, "unknown option '%s'", s);
            return ARG_ERR;
        }
        if (o->has_arg) {
            if (inline_val) {
                *val = inline_val;
            } else if (a->i < a->argc) {
                *val = a->argv[a->i++];
            } else {
                usage_error(c, "option '--%s' needs a value", o->name);
                return ARG_ERR;
            }
        } else if (inline_val) {
            usage_error(c, "option '--%s' takes no value", o->name);
            return ARG_ERR;
        } else {
            *val = NULL;
        }

        switch (o->id) {
        case OPT_SERVER:
            c->server_opt = *val;
            continue;
        case OPT_JSON:
            c->json = true;
            continue;
        case OPT_HELP:
            verb_usage(c->verb, stdout);
            return ARG_HELP;
        default:
            *id = o->id;
            return ARG_OPT;
        }
    }
}

/* Resolves the server URL (--server, $BATCHBOX_SERVER, default); 0 or the
 * usage exit code (message printed). */
static int setup_server(struct ctx *c)
{
    const char *s = c->server_opt;

    if (!s || !*s)
        s = getenv("BATCHBOX_SERVER");
    if (!s || !*s)
        s = DEFAULT_SERVER;
    if (strncmp(s, "http://", 7) != 0 && strncmp(s, "https://", 8) != 0)
        return usage_error(c, "server '%s' is not an http:// or https:// URL",
                           s);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
            return usage_error(c, "server URL must not contain spaces, "
                                  "control characters, '?' or '#'");
    if (strlen(s) >= sizeof c->server)
        return usage_error(c, "server URL is too long");
    strcpy(c->server, s);
    size_t n = strlen(c->server);
    while (n > 0 && c->server[n - 1] == '/')
        c->server[--n] = '\0';
    if (n >= strlen(API_PREFIX) &&
        strcmp(c->server + n - strlen(API_PREFIX), API_PREFIX) == 0) {
        n -= strlen(API_PREFIX);
        c->server[n] = '\0';
        while (n > 0 && c->server[n - 1] == '/')
            c->server[--n] = '\0';
    }

    /* The display copy drops "user:password@". */
    const char *host = strstr(c->server, "://") + 3;
    const char *at = strchr(host, '@');
    const char *slash = strchr(host, '/');
    if (at && (!slash || at < slash))
        snprintf(c->shown, sizeof c->shown, "%.*s%s",
                 (int)(host - c->server), c->server, at + 1);
    else
        snprintf(c->shown, sizeof c->shown, "%s", c->server);
    return 0;
}

/* Accepts a job id argument: digits only. */
static bool valid_job_id(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 19)
        return false;
    for (size_t k = 0; k < n; k++)
        if (s[k] < '0' || s[k] > '9')
            return false;
    return true;
}

/* Stores a positional job id into *slot; returns 0 or the usage code. */
static int take_job_id(struct ctx *c, const char **slot, const char *val)
{
    if (*slot)
        return usage_error(c, "unexpected argument '%s'", val);
    if (!valid_job_id(val))
        return usage_error(c, "'%s' is not a job id (a decimal number)", val);
    *slot = val;
    return 0;
}

/* --------------------------------------------------------- requests */

char *client_auth_header(void)
{
    static atomic_int warned;
    const char *tok = getenv("BATCHBOX_TOKEN");
    size_t n;
    char *h;

    if (!tok || !*tok)
        return NULL;
    n = strlen(tok);
    for (size_t k = 0; k < n; k++) {
        unsigned char ch = (unsigned char)tok[k];
        if (ch <= 0x20 || ch >= 0x7f) {
            if (atomic_exchange(&warned, 1) == 0)
                fputs("batchbox: BATCHBOX_TOKEN contains spaces or control "
                      "characters; not sent\n", stderr);
            return NULL;
        }
    }
    if (n > MAX_TOKEN_LEN) {
        if (atomic_exchange(&warned, 1) == 0)
            fputs("batchbox: BATCHBOX_TOKEN is too long; not sent\n", stderr);
        return NULL;
    }
    h = malloc(n + sizeof "Authorization: Bearer ");
    if (!h)
        return NULL;
    snprintf(h, n + sizeof "Authorization: Bearer ", "Authorization: Bearer %s",
             tok);
    return h;
}

/* Builds "<server>/api/v1<path>" from a printf format.  Returns a malloc'd
 * string (caller frees) or NULL when too long or out of memory. */
__attribute__((format(printf, 2, 3))) static char *
api_url(const struct ctx *c, const char *fmt, ...)
{
    char path[URL_CAP];
    va_list ap;
    int n;
    buf b;

    va_start(ap, fmt);
    n = vsnprintf(path, sizeof path, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof path)
        return NULL;
    buf_init(&b, URL_CAP + sizeof c->server);
    if (buf_puts(&b, c->server) != 0 || buf_puts(&b, API_PREFIX) != 0 ||
        buf_puts(&b, path) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* Appends "?name=value" or "&name=value" (value percent-encoded) to q;
 * 0 or -1. */
static int query_add(buf *q, const char *name, const char *value)
{
    char *esc = http_client_escape(value);
    int rc;

    if (!esc)
        return -1;
    rc = buf_printf(q, "%c%s=%s", q->len ? '&' : '?', name, esc);
    free(esc);
    return rc;
}

struct req_opts {
    const char *accept;          /* default "application/json" */
    const char *idempotency_key; /* or NULL */
    const char *last_event_id;   /* or NULL / "" */
    http_chunk_fn on_chunk;      /* streaming when set */
    void *user;
    long idle_sec;               /* streams: idle timeout, 0 = none */
    long timeout_ms;             /* buffered: 0 = REQUEST_TIMEOUT_MS */
    bool cancelable;             /* watch g_cancel */
};

/* Sends one API request with the common headers.  resp is always
 * initialised (caller frees it with http_response_free). */
static enum http_result api_do(const struct ctx *c, const char *method,
                               const char *url, const char *body,
                               const struct req_opts *o,
                               struct http_response *resp, char *err,
                               size_t errlen)
{
    static const struct req_opts none;
    char accept[96], idem[MAX_IDEM_KEY_LEN + 32], leid[160];
    const char *hdrs[8];
    size_t n = 0;
    char *auth = client_auth_header();
    enum http_result res;

    (void)c;
    if (!o)
        o = &none;
    snprintf(accept, sizeof accept, "Accept: %s",
             o->accept ? o->accept : "application/json");
    hdrs[n++] = accept;
    hdrs[n++] = USER_AGENT_HEADER;
    if (body)
        hdrs[n++] = "Content-Type: application/json";
    if (auth)
        hdrs[n++] = auth;
    if (o->idempotency_key) {
        snprintf(idem, sizeof idem, "Idempotency-Key: %s", o->idempotency_key);
        hdrs[n++] = idem;
    }
    if (o->last_event_id && *o->last_event_id &&
        (size_t)snprintf(leid, sizeof leid, "Last-Event-ID: %s",
                         o->last_event_id) < sizeof leid)
        hdrs[n++] = leid;
    hdrs[n] = NULL;

    struct http_request r = {
        .method = method,
        .url = url,
        .headers = hdrs,
        .body = body,
        .body_len = body ? strlen(body) : 0,
        .connect_timeout_ms = CONNECT_TIMEOUT_MS,
        .timeout_ms = o->on_chunk ? 0
                      : o->timeout_ms ? o->timeout_ms
                                      : REQUEST_TIMEOUT_MS,
        .idle_timeout_sec = o->on_chunk ? o->idle_sec : 0,
        .max_body = MAX_JSON_BODY,
        .on_chunk = o->on_chunk,
        .user = o->user,
        .cancel = o->cancelable ? &g_cancel : NULL,
    };
    res = http_client_perform(&r, resp, err, errlen);
    if (auth) {
        explicit_bzero(auth, strlen(auth));
        free(auth);
    }
    return res;
}

static bool is_2xx(long status) { return status >= 200 && status < 300; }

/* The exit code for an HTTP error status. */
static int exit_for_status(long status)
{
    if (status == 400 || status == 413)
        return CLI_EXIT_USAGE;
    if (status == 429 || (status >= 500 && status != 501))
        return CLI_EXIT_UNREACHABLE;
    return CLI_EXIT_FAILED;
}

/* Explains a failed call (transport failure or non-2xx status) on stderr
 * — the server's message, each details.fields entry, Retry-After and the
 * request id of a server error — and returns its exit code.  With --json
 * the server's JSON error body is also echoed on stdout. */
static int report_failure(const struct ctx *c, enum http_result r,
                          const struct http_response *resp, const char *err)
{
    if (r != HTTP_RES_OK) {
        switch (r) {
        case HTTP_RES_CONNECT:
        case HTTP_RES_TIMEOUT:
        case HTTP_RES_FAILED:
            errorf(c, "cannot reach the server: %s", err);
            return CLI_EXIT_UNREACHABLE;
        case HTTP_RES_INVALID:
            errorf(c, "%s", err);
            return CLI_EXIT_USAGE;
        case HTTP_RES_CANCELED:
            errorf(c, "interrupted");
            return CLI_EXIT_FAILED;
        default:
            errorf(c, "%s", err);
            return CLI_EXIT_FAILED;
        }
    }

    cJSON *j = resp->body_len ? cJSON_ParseWithLength(resp->body,
                                                      resp->body_len)
                              : NULL;
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(j, "message");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(j, "error");
    char retry_after[32], request_id[80];
    bool have_ra = http_response_header(resp, "Retry-After", retry_after,
                                        sizeof retry_after);
    bool have_rid = http_response_header(resp, "X-Request-Id", request_id,
                                         sizeof request_id);

    if (c->json && cJSON_IsObject(j)) {
        fwrite(resp->body, 1, resp->body_len, stdout);
        if (resp->body[resp->body_len - 1] != '\n')
            fputc('\n', stdout);
        fflush(stdout);
    }
    fprintf(stderr, "batchbox %s: ", c->verb->name);
    if (resp->status >= 500 && resp->status != 501)
        fputs("server error: ", stderr);
    if (cJSON_IsString(msg) && msg->valuestring[0]) {
        put_clean(stderr, msg->valuestring);
    } else if (!j && resp->body_len) {
        /* Not JSON: show the start of the body. */
        char head[201];
        snprintf(head, sizeof head, "%s", resp->body);
        put_clean(stderr, head);
    } else {
        fputs("request refused", stderr);
    }
    fprintf(stderr, " (%s%sHTTP %ld",
            cJSON_IsString(code) ? code->valuestring : "",
            cJSON_IsString(code) ? ", " : "", resp->status);
    if (have_ra) {
        fputs("; retry after ", stderr);
        put_clean(stderr, retry_after);
        fputs(" s", stderr);
    }
    if (have_rid && resp->status >= 500) {
        fputs("; request id ", stderr);
        put_clean(stderr, request_id);
    }
    fputs(")\n", stderr);

    const cJSON *details = cJSON_GetObjectItemCaseSensitive(j, "details");
    const cJSON *fields = cJSON_GetObjectItemCaseSensitive(details, "fields");
    const cJSON *f;
    cJSON_ArrayForEach(f, fields)
    {
        fputs("  ", stderr);
        put_clean(stderr, f->string ? f->string : "?");
        fputs(": ", stderr);
        if (cJSON_IsString(f)) {
            put_clean(stderr, f->valuestring);
        } else {
            char *s = cJSON_PrintUnformatted(f);
            put_clean(stderr, s ? s : "?");
            free(s);
        }
        fputc('\n', stderr);
    }
    cJSON_Delete(j);
    return exit_for_status(resp->status);
}

/* Parses a 2xx JSON body; on failure prints why and returns NULL.
 * Returns a cJSON tree the caller frees with cJSON_Delete. */
static cJSON *parse_body(const struct ctx *c, const struct http_response *resp)
{
    cJSON *j = cJSON_ParseWithLength(resp->body, resp->body_len);

    if (!j)
        errorf(c, "unexpected answer from the server (HTTP %ld): not JSON",
               resp->status);
    return j;
}

/* Performs a buffered JSON call and parses the 2xx answer.  Returns the
 * tree (caller frees) and sets *code to CLI_EXIT_OK, or returns NULL with
 * *code set (message printed).  If raw is non-NULL, *raw receives the
 * response (caller frees it with http_response_free) on success. */
static cJSON *api_json(const struct ctx *c, const char *method,
                       const char *url, const char *body,
                       const struct req_opts *o, int *code,
                       struct http_response *raw)
{
    struct http_response resp;
    char err[512];
    enum http_result r = api_do(c, method, url, body, o, &resp, err,
                                sizeof err);
    cJSON *j = NULL;

    if (r != HTTP_RES_OK || !is_2xx(resp.status)) {
        *code = report_failure(c, r, &resp, err);
    } else if (!(j = parse_body(c, &resp))) {
        *code = CLI_EXIT_FAILED;
    } else {
        *code = CLI_EXIT_OK;
    }
    if (j && raw)
        *raw = resp;
    else
        http_response_free(&resp);
    return j;
}

/* ------------------------------------------------------ JSON helpers */

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A value as text: strings as they are, integral numbers without
 * decimals; NULL for null/absent.  out holds numbers. */
static const char *jtext(const cJSON *o, const char *key, char *out,
                         size_t outlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        if (v->valuedouble == (double)(long long)v->valuedouble)
            snprintf(out, outlen, "%lld", (long long)v->valuedouble);
        else
            snprintf(out, outlen, "%g", v->valuedouble);
        return out;
    }
    return NULL;
}

static int jint(const cJSON *o, const char *key, int dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble < INT_MIN ||
        v->valuedouble > INT_MAX)
        return dflt;
    return (int)v->valuedouble;
}

/* progress (0..1) as a whole percentage, or -1 when absent. */
static int jpercent(const cJSON *o)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, "progress");
    if (!cJSON_IsNumber(v))
        return -1;
    double p = v->valuedouble;
    if (p < 0)
        p = 0;
    if (p > 1)
        p = 1;
    return (int)(p * 100.0 + 0.5);
}

static void print_json(const cJSON *j)
{
    char *s = cJSON_PrintUnformatted(j);

    if (s) {
        fputs(s, stdout);
        fputc('\n', stdout);
        free(s);
    }
    fflush(stdout);
}

/* Prints a 2xx body verbatim, ending in a newline. */
static void print_raw(const struct http_response *resp)
{
    fwrite(resp->body, 1, resp->body_len, stdout);
    if (resp->body_len == 0 || resp->body[resp->body_len - 1] != '\n')
        fputc('\n', stdout);
    fflush(stdout);
}

static bool state_terminal(const char *state)
{
    return state && (strcmp(state, "succeeded") == 0 ||
                     strcmp(state, "failed") == 0 ||
                     strcmp(state, "canceled") == 0);
}

/* "2026-11-22T05:00:00.123Z" → "2026-11-22 05:00:00" (UTC). */
static const char *short_time(const char *iso, char out[24])
{
    if (!iso)
        return "-";
    if (strlen(iso) >= 19 && iso[10] == 'T') {
        snprintf(out, 24, "%.10s %.8s", iso, iso + 11);
        return out;
    }
    return iso;
}

static const char *base_name(const char *path)
{
    const char *slash;

    if (!path)
        return "-";
    slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

static void human_size(double bytes, char *out, size_t outlen)
{
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB"};
    int u = -1;

    if (bytes < 1024) {
        snprintf(out, outlen, "%.0f B", bytes);
        return;
    }
    while (bytes >= 1024 && u < 3) {
        bytes /= 1024;
        u++;
    }
    snprintf(out, outlen, "%.1f %s", bytes, units[u]);
}

/* ------------------------------------------------------ event stream */

/* One reconnecting SSE subscription (watch, submit --wait). */
struct stream {
    struct ctx *c;
    struct sse_parser parser;
    unsigned long dropped_seen;    /* parser.dropped_events already warned */
    bool connected;                /* this connection delivered 2xx bytes */
    bool must_connect_first;       /* a failed first connection is fatal */
    int stop_code;                 /* >= 0: stop with this exit code */
    int signal_code;               /* exit code when interrupted */
    /* Handles one event; returns 0 to go on, non-zero to end the
     * connection (then set stop_code to end the loop). */
    int (*on_event)(struct stream *s, const struct sse_event *ev);
    /* Called when a connection delivers its first bytes. */
    void (*on_connect)(struct stream *s);
    /* Called after every connection ends (may set stop_code). */
    void (*after)(struct stream *s);
    void *owner;
};

static int stream_sse_event(const struct sse_event *ev, void *user)
{
    struct stream *s = user;
    return s->on_event(s, ev);
}

static int stream_chunk(void *user, const char *data, size_t len)
{
    struct stream *s = user;
    int rc;

    if (!s->connected) {
        s->connected = true;
        if (s->on_connect)
            s->on_connect(s);
    }
    rc = sse_parser_feed(&s->parser, data, len, stream_sse_event);
    if (s->parser.dropped_events != s->dropped_seen) {
        s->dropped_seen = s->parser.dropped_events;
        errorf(s->c, "skipped an event larger than %u bytes (after event #%s)",
               SSE_MAX_LINE, sse_parser_last_id(&s->parser));
    }
    if (rc < 0) {
        errorf(s->c, "out of memory while reading the event stream");
        s->stop_code = CLI_EXIT_FAILED;
    }
    return rc;
}

/* Reads /api/v1/jobs/events<query> until s->stop_code is set, a signal
 * arrives, a non-retryable error comes back, or no connection could be
 * made for RECONNECT_GIVE_UP_MS.  After a dropped connection it
 * reconnects with Last-Event-ID, waiting 0.5 s, then doubling up to 5 s
 * while attempts keep failing (or the server's Retry-After, up to 30 s).
 * Returns the exit code. */
static int run_stream(struct stream *s, const char *query)
{
    struct ctx *c = s->c;
    long delay = BACKOFF_MIN_MS;
    int64_t last_ok = now_ms();
    bool ever_connected = false;

    s->stop_code = -1;
    for (;;) {
        struct http_response resp;
        char err[512], why[600];
        enum http_result r;
        long wait_ms;
        char *url;

        if (g_signaled)
            return s->signal_code;
        atomic_store(&g_cancel, 0);
        if (g_signaled) /* raced with the store above */
            atomic_store(&g_cancel, 1);

        url = api_url(c, "/jobs/events%s", query);
        if (!url) {
            errorf(c, "request URL too long");
            return CLI_EXIT_USAGE;
        }
        struct req_opts o = {
            .accept = "text/event-stream",
            .last_event_id = sse_parser_last_id(&s->parser),
            .on_chunk = stream_chunk,
            .user = s,
            .idle_sec = STREAM_IDLE_SEC,
            .cancelable = true,
        };
        s->connected = false;
        r = api_do(c, "GET", url, NULL, &o, &resp, err, sizeof err);
        free(url);
        sse_parser_finish(&s->parser);
        if (s->connected) {
            ever_connected = true;
            delay = BACKOFF_MIN_MS;
            last_ok = now_ms();
        }
        if (s->after)
            s->after(s);
        if (s->stop_code >= 0 || g_signaled) {
            http_response_free(&resp);
            return s->stop_code >= 0 ? s->stop_code : s->signal_code;
        }

        wait_ms = delay;
        if (r == HTTP_RES_OK && is_2xx(resp.status)) {
            snprintf(why, sizeof why, "the server closed the stream");
        } else if (r == HTTP_RES_OK &&
                   (resp.status == 429 || resp.status == 503 ||
                    resp.status >= 500) &&
                   resp.status != 501) {
            char ra[32];
            const char *m = NULL;
            cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
            if (!(m = jstr(j, "message")))
                m = "unavailable";
            snprintf(why, sizeof why, "HTTP %ld: %.200s", resp.status, m);
            cJSON_Delete(j);
            if (http_response_header(&resp, "Retry-After", ra, sizeof ra)) {
                long sec = strtol(ra, NULL, 10);
                if (sec > 0)
                    wait_ms = sec * 1000L > RETRY_AFTER_MAX_MS
                                  ? RETRY_AFTER_MAX_MS
                                  : sec * 1000L;
            }
        } else if (r == HTTP_RES_CONNECT || r == HTTP_RES_TIMEOUT ||
                   r == HTTP_RES_FAILED || r == HTTP_RES_CANCELED) {
            if (!ever_connected && s->must_connect_first) {
                int code = report_failure(c, r, &resp, err);
                http_response_free(&resp);
                return code;
            }
            snprintf(why, sizeof why, "%s", err);
        } else {
            int code = report_failure(c, r, &resp, err);
            http_response_free(&resp);
            return code;
        }
        http_response_free(&resp);

        if (now_ms() - last_ok > RECONNECT_GIVE_UP_MS) {
            errorf(c, "giving up: no connection to %s for %ld s (%s)",
                   c->shown, RECONNECT_GIVE_UP_MS / 1000, why);
            return CLI_EXIT_UNREACHABLE;
        }
        fprintf(stderr, "batchbox %s: connection lost (", c->verb->name);
        put_clean(stderr, why);
        fprintf(stderr, "); reconnecting in %.1f s", wait_ms / 1000.0);
        if (*sse_parser_last_id(&s->parser)) {
            fputs(" after event #", stderr);
            put_clean(stderr, sse_parser_last_id(&s->parser));
        }
        fputc('\n', stderr);
        sleep_ms(wait_ms);
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
}

/* ------------------------------------------------------------ submit */

/* Turns the FILE argument into the job's "md" value.  Today the server
 * reads inputs from its own filesystem, so md is FILE's absolute real
 * path, which the server checks lies inside its inputRoot.  This is the
 * seam for uploads: when POST /api/v1/uploads exists, this is the one
 * place that decides to upload FILE first and send the returned fileId
 * instead (e.g. when the server is not local or FILE is outside the input
 * root).  On success *md_out is malloc'd (caller frees); else returns the
 * exit code (message printed). */
static int resolve_input(struct ctx *c, const char *file, char **md_out)
{
    struct stat st;
    char *real = realpath(file, NULL);

    if (!real) {
        errorf(c, "%s: %s", file, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
        errorf(c, "%s: not a regular file", file);
        free(real);
        return CLI_EXIT_USAGE;
    }
    *md_out = real;
    return CLI_EXIT_OK;
}

/* State of `submit --wait` (one job). */
struct waiter {
    struct ctx *c;
    char job_id[32];
    pthread_mutex_t mu;      /* guards final and the printing state */
    cJSON *final;            /* terminal DTO (owned) */
    bool checker_running;    /* main thread only */
    pthread_t checker;
    /* What was printed last. */
    char last_updated[40];   /* updatedAt of the newest DTO shown */
    char last_state[32];
    int last_attempts;
    int last_pct;
};

/* Keeps dto as the final one unless one is already known; takes
 * ownership of dto. */
static void waiter_offer_final(struct waiter *w, cJSON *dto)
{
    pthread_mutex_lock(&w->mu);
    if (!w->final) {
        w->final = dto;
        dto = NULL;
    }
    pthread_mutex_unlock(&w->mu);
    cJSON_Delete(dto);
}

/* Prints the job's state or progress when it changed (text mode).  While
 * the checker thread may run, the caller holds w->mu. */
static void waiter_show(struct waiter *w, const cJSON *dto)
{
    const char *state = jstr(dto, "state");
    const char *updated = jstr(dto, "updatedAt");
    int attempts = jint(dto, "attempts", 0);
    int max_attempts = jint(dto, "maxAttempts", 0);
    int pct = jpercent(dto);
    bool running;

    if (w->c->json || !state)
        return;
    /* The checker's snapshot may be older than an event already shown
     * (same-format ISO-8601 UTC times compare as strings). */
    if (updated && strcmp(updated, w->last_updated) < 0)
        return;
    if (updated)
        snprintf(w->last_updated, sizeof w->last_updated, "%s", updated);
    running = strcmp(state, "running") == 0;
    if (strcmp(state, w->last_state) != 0 || attempts != w->last_attempts) {
        printf("job %s: ", w->job_id);
        put_clean(stdout, state);
        if (running && max_attempts > 1)
            printf(" (attempt %d of %d)", attempts, max_attempts);
        if (running && pct > 0)
            printf(" %d%%", pct);
        fputc('\n', stdout);
    } else if (running && pct >= 0 && pct != w->last_pct) {
        printf("job %s: running %d%%\n", w->job_id, pct);
    }
    fflush(stdout);
    snprintf(w->last_state, sizeof w->last_state, "%s", state);
    w->last_attempts = attempts;
    w->last_pct = pct;
}

/* Prints the outcome of a finished job; returns the exit code. */
static int waiter_finish(struct waiter *w, const cJSON *dto)
{
    const char *state = jstr(dto, "state");
    const char *error = jstr(dto, "error");

    if (w->c->json)
        print_json(dto);
    else
        waiter_show(w, dto);
    if (state && strcmp(state, "succeeded") == 0)
        return CLI_EXIT_OK;
    fprintf(stderr, "batchbox %s: job %s ", w->c->verb->name, w->job_id);
    put_clean(stderr, state ? state : "ended");
    if (error) {
        fputs(": ", stderr);
        put_clean(stderr, error);
    }
    fputc('\n', stderr);
    return CLI_EXIT_FAILED;
}

/* GET /jobs/ID (timeout_ms 0: the default); returns the DTO (caller
 * frees), or NULL with *code set and the reason printed. */
static cJSON *fetch_job(struct ctx *c, const char *id, long timeout_ms,
                        int *code)
{
    struct req_opts o = {.timeout_ms = timeout_ms};
    char *url = api_url(c, "/jobs/%s", id);
    cJSON *dto;

    if (!url) {
        *code = CLI_EXIT_FAILED;
        return NULL;
    }
    dto = api_json(c, "GET", url, NULL, &o, code, NULL);
    free(url);
    return dto;
}

/* Helper thread: looks at the job once the stream is connected, to catch
 * a job that finished before the subscription started. */
static void *checker_main(void *arg)
{
    struct waiter *w = arg;
    struct http_response resp;
    char err[512];
    char *url = api_url(w->c, "/jobs/%s", w->job_id);
    struct req_opts o = {.timeout_ms = CHECK_TIMEOUT_MS};

    if (!url)
        return NULL;
    if (api_do(w->c, "GET", url, NULL, &o, &resp, err, sizeof err) ==
            HTTP_RES_OK &&
        resp.status == 200) {
        cJSON *dto = cJSON_ParseWithLength(resp.body, resp.body_len);
        if (state_terminal(jstr(dto, "state"))) {
            waiter_offer_final(w, dto);
            atomic_store(&g_cancel, 1); /* end the stream */
        } else {
            /* Shows a change the stream did not report (e.g. it happened
             * while reconnecting without a Last-Event-ID). */
            pthread_mutex_lock(&w->mu);
            waiter_show(w, dto);
            pthread_mutex_unlock(&w->mu);
            cJSON_Delete(dto);
        }
    }
    /* Failures are not fatal: the stream still reports the outcome. */
    http_response_free(&resp);
    free(url);
    return NULL;
}

static void wait_on_connect(struct stream *s)
{
    struct waiter *w = s->owner;

    if (w->checker_running)
        return;
    if (pthread_create(&w->checker, NULL, checker_main, w) == 0)
        w->checker_running = true;
}

static int wait_on_event(struct stream *s, const struct sse_event *ev)
{
    struct waiter *w = s->owner;
    char idbuf[32];
    cJSON *dto;
    const char *jid;

    if (strcmp(ev->type, "job_log") == 0)
        return 0;
    dto = cJSON_ParseWithLength(ev->data, ev->data_len);
    jid = jtext(dto, "jobId", idbuf, sizeof idbuf);
    if (!jid || strcmp(jid, w->job_id) != 0) {
        cJSON_Delete(dto);
        return 0;
    }
    if (state_terminal(jstr(dto, "state"))) {
        waiter_offer_final(w, dto);
        return 1; /* end this connection; wait_after() finishes */
    }
    pthread_mutex_lock(&w->mu);
    waiter_show(w, dto);
    pthread_mutex_unlock(&w->mu);
    cJSON_Delete(dto);
    return 0;
}

static void wait_after(struct stream *s)
{
    struct waiter *w = s->owner;
    cJSON *final;

    if (w->checker_running) {
        (void)pthread_join(w->checker, NULL);
        w->checker_running = false;
    }
    pthread_mutex_lock(&w->mu);
    final = w->final;
    w->final = NULL;
    pthread_mutex_unlock(&w->mu);
    if (final) {
        s->stop_code = waiter_finish(w, final);
        cJSON_Delete(final);
    }
}

/* Follows job_id until it is terminal: GET it, then stream its events
 * (re-checking it with GET after every (re)connection).  Returns 0 if the
 * job succeeded, 1 if it failed or was canceled (or on interruption). */
static int wait_for_job(struct ctx *c, const char *job_id)
{
    struct waiter w;
    struct stream s;
    struct sigsave sig;
    char query[64];
    int code;
    cJSON *dto;

    memset(&w, 0, sizeof w);
    w.c = c;
    w.last_attempts = -1;
    w.last_pct = -1;
    snprintf(w.job_id, sizeof w.job_id, "%s", job_id);
    if (pthread_mutex_init(&w.mu, NULL) != 0) {
        errorf(c, "cannot create a mutex");
        return CLI_EXIT_FAILED;
    }

    dto = fetch_job(c, job_id, 0, &code);
    if (!dto) {
        pthread_mutex_destroy(&w.mu);
        return code;
    }
    if (state_terminal(jstr(dto, "state"))) {
        code = waiter_finish(&w, dto);
        cJSON_Delete(dto);
        pthread_mutex_destroy(&w.mu);
        return code;
    }
    waiter_show(&w, dto);
    cJSON_Delete(dto);

    memset(&s, 0, sizeof s);
    s.c = c;
    s.owner = &w;
    s.on_event = wait_on_event;
    s.on_connect = wait_on_connect;
    s.after = wait_after;
    s.signal_code = CLI_EXIT_FAILED;
    s.must_connect_first = false;
    sse_parser_init(&s.parser, SSE_MAX_LINE, SSE_MAX_DATA, &s);
    snprintf(query, sizeof query, "?jobId=%s", job_id);

    signals_catch(&sig);
    code = run_stream(&s, query);
    signals_restore(&sig);
    if (g_signaled && s.stop_code < 0)
        errorf(c, "interrupted; job %s keeps running on the server", job_id);

    sse_parser_free(&s.parser);
    cJSON_Delete(w.final);
    pthread_mutex_destroy(&w.mu);
    return code;
}

static int run_submit(struct ctx *c, int argc, char **argv)
{
    enum {
        O_PRESET = 1, O_TTS, O_FORCE_TTS, O_UPLOAD, O_ACCENT, O_MODE,
        O_PRIORITY, O_NOTION, O_PARAM, O_IDEM, O_WAIT
    };
    static const struct optspec opts[] = {
        {"preset", 0, true, O_PRESET},
        {"tts", 0, false, O_TTS},
        {"force-tts", 0, false, O_FORCE_TTS},
        {"upload", 0, true, O_UPLOAD},
        {"voice-accent", 0, true, O_ACCENT},
        {"mode", 0, true, O_MODE},
        {"priority", 0, true, O_PRIORITY},
        {"notion-db", 0, true, O_NOTION},
        {"param", 0, true, O_PARAM},
        {"idempotency-key", 0, true, O_IDEM},
        {"wait", 0, false, O_WAIT},
        {NULL, 0, false, 0},
    };
    struct args a = {argc, argv, 1, false};
    const char *file = NULL, *preset = NULL, *upload = NULL, *accent = NULL,
               *mode = NULL, *notion = NULL, *idem = NULL, *val;
    bool tts = false, force_tts = false, wait_end = false, have_priority = false;
    long long priority = 0;
    cJSON *params = cJSON_CreateObject(), *body = NULL, *answer = NULL;
    char *md = NULL, *json = NULL, *url = NULL;
    int k, id = 0, code = CLI_EXIT_USAGE;

    if (!params) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            goto out;
        if (k == ARG_HELP) {
            code = CLI_EXIT_OK;
            goto out;
        }
        if (k == ARG_POS) {
            if (file) {
                usage_error(c, "unexpected argument '%s' (one FILE only)",
                            val);
                goto out;
            }
            file = val;
            continue;
        }
        switch (id) {
        case O_PRESET: preset = val; break;
        case O_TTS: tts = true; break;
        case O_FORCE_TTS: force_tts = true; break;
        case O_UPLOAD: upload = val; break;
        case O_ACCENT: accent = val; break;
        case O_MODE: mode = val; break;
        case O_NOTION: notion = val; break;
        case O_WAIT: wait_end = true; break;
        case O_PRIORITY: {
            char *end;
            errno = 0;
            priority = strtoll(val, &end, 10);
            if (errno || end == val || *end || priority < INT_MIN ||
                priority > INT_MAX) {
                usage_error(c, "--priority: '%s' is not an integer", val);
                goto out;
            }
            have_priority = true;
            break;
        }
        case O_PARAM: {
            const char *eq = strchr(val, '=');
            char name[128];
            if (!eq || eq == val || (size_t)(eq - val) >= sizeof name) {
                usage_error(c, "--param: expected NAME=VALUE, got '%s'", val);
                goto out;
            }
            snprintf(name, sizeof name, "%.*s", (int)(eq - val), val);
            if (cJSON_GetObjectItemCaseSensitive(params, name)) {
                usage_error(c, "--param: '%s' given twice", name);
                goto out;
            }
            if (!cJSON_AddStringToObject(params, name, eq + 1)) {
                errorf(c, "out of memory");
                code = CLI_EXIT_FAILED;
                goto out;
            }
            break;
        }
        case O_IDEM: {
            size_t n = strlen(val);
            bool ok = n > 0 && n <= MAX_IDEM_KEY_LEN;
            for (size_t q = 0; ok && q < n; q++)
                ok = (unsigned char)val[q] > 0x20 &&
                     (unsigned char)val[q] < 0x7f;
            if (!ok) {
                usage_error(c, "--idempotency-key: 1 to %u printable "
                               "characters without spaces",
                            MAX_IDEM_KEY_LEN);
                goto out;
            }
            idem = val;
            break;
        }
        }
    }
    if (!preset || !*preset) {
        usage_error(c, "--preset is required");
        goto out;
    }
    if ((code = setup_server(c)) != 0)
        goto out;
    if (file && (code = resolve_input(c, file, &md)) != 0)
        goto out;

    code = CLI_EXIT_FAILED;
    body = cJSON_CreateObject();
    if (!body || (md && !cJSON_AddStringToObject(body, "md", md)) ||
        !cJSON_AddStringToObject(body, "preset", preset) ||
        (tts && !cJSON_AddTrueToObject(body, "withTts")) ||
        (force_tts && !cJSON_AddTrueToObject(body, "forceTts")) ||
        (upload && !cJSON_AddStringToObject(body, "upload", upload)) ||
        (accent && !cJSON_AddStringToObject(body, "voiceAccent", accent)) ||
        (mode && !cJSON_AddStringToObject(body, "mode", mode)) ||
        (notion && !cJSON_AddStringToObject(body, "notionDatabase", notion)) ||
        (have_priority &&
         !cJSON_AddNumberToObject(body, "priority", (double)priority))) {
        errorf(c, "out of memory");
        goto out;
    }
    if (cJSON_GetArraySize(params) > 0) {
        if (!cJSON_AddItemToObject(body, "params", params)) {
            errorf(c, "out of memory");
            goto out;
        }
        params = NULL; /* body owns it now */
    }
    json = cJSON_PrintUnformatted(body);
    url = api_url(c, "/jobs");
    if (!json || !url) {
        errorf(c, "out of memory");
        goto out;
    }

    struct req_opts o = {.idempotency_key = idem};
    struct http_response resp;
    answer = api_json(c, "POST", url, json, &o, &code, &resp);
    if (!answer)
        goto out;
    char idbuf[32];
    const char *job_id = jtext(answer, "jobId", idbuf, sizeof idbuf);
    if (!job_id || !valid_job_id(job_id)) {
        errorf(c, "unexpected answer from the server: no jobId");
        http_response_free(&resp);
        code = CLI_EXIT_FAILED;
        goto out;
    }
    if (c->json)
        print_raw(&resp);
    else
        printf("submitted job %s\n", job_id);
    fflush(stdout);
    http_response_free(&resp);
    code = wait_end ? wait_for_job(c, job_id) : CLI_EXIT_OK;

out:
    cJSON_Delete(params);
    cJSON_Delete(body);
    cJSON_Delete(answer);
    free(md);
    free(json);
    free(url);
    return code;
}

/* -------------------------------------------------------------- jobs */

static void print_job_header(void)
{
    printf("%-7s %-9s %-14s %-8s %-5s %-19s  %s\n", "ID", "STATE", "PRESET",
           "ATTEMPTS", "PROG", "CREATED", "INPUT");
}

static void print_job_row(const cJSON *dto)
{
    char idbuf[32], att[32], prog[16], created[24];
    const char *id = jtext(dto, "jobId", idbuf, sizeof idbuf);
    const char *state = jstr(dto, "state");
    const char *preset = jstr(dto, "preset");
    int pct = jpercent(dto);
    char line[1024];

    snprintf(att, sizeof att, "%d/%d", jint(dto, "attempts", 0),
             jint(dto, "maxAttempts", 0));
    if (pct >= 0)
        snprintf(prog, sizeof prog, "%d%%", pct);
    else
        snprintf(prog, sizeof prog, "-");
    snprintf(line, sizeof line, "%-7s %-9s %-14s %-8s %-5s %-19s  %s",
             id ? id : "?", state ? state : "?", preset ? preset : "-", att,
             prog, short_time(jstr(dto, "createdAt"), created),
             base_name(jstr(dto, "md")));
    put_clean(stdout, line);
    fputc('\n', stdout);
}

static int run_jobs(struct ctx *c, int argc, char **argv)
{
    enum { O_STATE = 1, O_PRESET, O_Q, O_LIMIT, O_CURSOR, O_ALL };
    static const struct optspec opts[] = {
        {"state", 0, true, O_STATE},   {"preset", 0, true, O_PRESET},
        {"q", 0, true, O_Q},           {"limit", 0, true, O_LIMIT},
        {"cursor", 0, true, O_CURSOR}, {"all", 0, false, O_ALL},
        {NULL, 0, false, 0},
    };
    struct args a = {argc, argv, 1, false};
    const char *state = NULL, *preset = NULL, *q = NULL, *limit = NULL,
               *start_cursor = NULL, *val;
    bool all = false;
    int k, id = 0, code = CLI_EXIT_OK;
    char *cursor = NULL;
    cJSON *acc = NULL;
    long printed = 0;

    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        if (k == ARG_POS)
            return usage_error(c, "unexpected argument '%s'", val);
        switch (id) {
        case O_STATE: state = val; break;
        case O_PRESET: preset = val; break;
        case O_Q: q = val; break;
        case O_CURSOR: start_cursor = val; break;
        case O_ALL: all = true; break;
        case O_LIMIT: {
            char *end;
            long n = strtol(val, &end, 10);
            if (end == val || *end || n < 1 || n > 200)
                return usage_error(c, "--limit: expected 1..200, got '%s'",
                                   val);
            limit = val;
            break;
        }
        }
    }
    if ((code = setup_server(c)) != 0)
        return code;
    if (start_cursor && !(cursor = strdup(start_cursor))) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    if (c->json && all && !(acc = cJSON_CreateArray())) {
        free(cursor);
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }

    for (int page = 0; page < MAX_PAGES; page++) {
        buf qs;
        buf_init(&qs, URL_CAP);
        if ((state && query_add(&qs, "state", state) != 0) ||
            (preset && query_add(&qs, "preset", preset) != 0) ||
            (q && query_add(&qs, "q", q) != 0) ||
            (limit && query_add(&qs, "limit", limit) != 0) ||
            (cursor && query_add(&qs, "cursor", cursor) != 0)) {
            buf_free(&qs);
            errorf(c, "request URL too long");
            code = CLI_EXIT_USAGE;
            break;
        }
        char *url = api_url(c, "/jobs%s", qs.data ? qs.data : "");
        buf_free(&qs);
        if (!url) {
            errorf(c, "request URL too long");
            code = CLI_EXIT_USAGE;
            break;
        }
        struct http_response resp;
        cJSON *j = api_json(c, "GET", url, NULL, NULL, &code, &resp);
        free(url);
        if (!j)
            break;

        cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
        const char *next = jstr(j, "nextCursor");
        if (!cJSON_IsArray(items)) {
            errorf(c, "unexpected answer from the server: no items");
            code = CLI_EXIT_FAILED;
        } else if (c->json && !all) {
            print_raw(&resp);
        } else if (c->json) {
            cJSON *it;
            while ((it = cJSON_DetachItemFromArray(items, 0)) != NULL) {
                if (!cJSON_AddItemToArray(acc, it)) {
                    cJSON_Delete(it);
                    errorf(c, "out of memory");
                    code = CLI_EXIT_FAILED;
                    break;
                }
            }
        } else {
            const cJSON *it;
            cJSON_ArrayForEach(it, items)
            {
                if (printed++ == 0)
                    print_job_header();
                print_job_row(it);
            }
            fflush(stdout);
        }
        http_response_free(&resp);
        bool more = next && *next && code == CLI_EXIT_OK;
        if (more && cursor && strcmp(next, cursor) == 0) {
            errorf(c, "the server repeated cursor %s; stopping", next);
            code = CLI_EXIT_FAILED;
            more = false;
        }
        if (more && !all && !c->json)
            fprintf(stderr, "more jobs: add --all, or --cursor %s\n", next);
        char *next_copy = more && all ? strdup(next) : NULL;
        cJSON_Delete(j);
        free(cursor);
        cursor = next_copy;
        if (!cursor)
            break;
    }
    if (code == CLI_EXIT_OK && !c->json && printed == 0)
        printf("no jobs\n");
    if (code == CLI_EXIT_OK && acc) {
        cJSON *out = cJSON_CreateObject();
        bool added = out && cJSON_AddItemToObject(out, "items", acc);
        if (added)
            acc = NULL; /* out owns it now */
        if (added && cJSON_AddNullToObject(out, "nextCursor")) {
            print_json(out);
        } else {
            errorf(c, "out of memory");
            code = CLI_EXIT_FAILED;
        }
        cJSON_Delete(out);
    }
    cJSON_Delete(acc);
    free(cursor);
    return code;
}

/* -------------------------------------------------------------- show */

static void print_kv(const char *key, int width, const cJSON *v)
{
    printf("%-*s ", width, key);
    if (!v || cJSON_IsNull(v)) {
        fputs("-", stdout);
    } else if (cJSON_IsString(v)) {
        put_clean(stdout, v->valuestring);
    } else if (cJSON_IsBool(v)) {
        fputs(cJSON_IsTrue(v) ? "yes" : "no", stdout);
    } else if (cJSON_IsNumber(v) && strcmp(key, "progress:") == 0) {
        printf("%.0f%%", v->valuedouble * 100.0);
    } else if (cJSON_IsNumber(v) &&
               v->valuedouble == (double)(long long)v->valuedouble) {
        printf("%lld", (long long)v->valuedouble);
    } else if (cJSON_IsNumber(v)) {
        printf("%g", v->valuedouble);
    } else {
        char *s = cJSON_PrintUnformatted(v);
        put_clean(stdout, s ? s : "?");
        free(s);
    }
    fputc('\n', stdout);
}

static int run_show(struct ctx *c, int argc, char **argv)
{
    static const struct optspec opts[] = {{NULL, 0, false, 0}};
    struct args a = {argc, argv, 1, false};
    const char *job_id = NULL, *val;
    int k, id = 0, code;

    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        if ((code = take_job_id(c, &job_id, val)) != 0)
            return code;
    }
    if (!job_id)
        return usage_error(c, "missing job ID");
    if ((code = setup_server(c)) != 0)
        return code;

    cJSON *dto = fetch_job(c, job_id, 0, &code);
    if (!dto)
        return code;
    char *url = api_url(c, "/jobs/%s/artifacts", job_id);
    int acode = CLI_EXIT_FAILED;
    cJSON *arts = url ? api_json(c, "GET", url, NULL, NULL, &acode, NULL)
                      : NULL;
    cJSON *items = cJSON_GetObjectItemCaseSensitive(arts, "items");
    if (!url)
        errorf(c, "out of memory");
    free(url);
    if (arts && !cJSON_IsArray(items)) {
        errorf(c, "unexpected answer from the server: no artifact items");
        acode = CLI_EXIT_FAILED;
    }

    if (c->json) {
        if (cJSON_IsArray(items)) {
            cJSON_DetachItemViaPointer(arts, items);
            cJSON_DeleteItemFromObjectCaseSensitive(dto, "artifacts");
            if (!cJSON_AddItemToObject(dto, "artifacts", items)) {
                cJSON_Delete(items);
                items = NULL;
                errorf(c, "out of memory");
                acode = CLI_EXIT_FAILED;
            }
        }
        print_json(dto);
    } else {
        const cJSON *f;
        int width = 0;
        cJSON_ArrayForEach(f, dto)
        {
            int n = f->string ? (int)strlen(f->string) : 0;
            if (n > width && n < 40)
                width = n;
        }
        cJSON_ArrayForEach(f, dto)
        {
            char key[64];
            snprintf(key, sizeof key, "%s:", f->string ? f->string : "?");
            print_kv(key, width + 1, f);
        }
        if (cJSON_IsArray(items) && cJSON_GetArraySize(items) > 0) {
            printf("artifacts:\n");
            const cJSON *it;
            cJSON_ArrayForEach(it, items)
            {
                const cJSON *size = cJSON_GetObjectItemCaseSensitive(it, "size");
                const char *u = jstr(it, "url");
                char sz[32];
                human_size(cJSON_IsNumber(size) ? size->valuedouble : 0, sz,
                           sizeof sz);
                fputs("  ", stdout);
                put_clean(stdout, jstr(it, "name") ? jstr(it, "name") : "?");
                printf("  %s  ", sz);
                put_clean(stdout, jstr(it, "contentType")
                                      ? jstr(it, "contentType")
                                      : "-");
                if (u) {
                    fputs("  ", stdout);
                    if (u[0] == '/')
                        put_clean(stdout, c->shown);
                    put_clean(stdout, u);
                }
                fputc('\n', stdout);
            }
        } else if (cJSON_IsArray(items)) {
            printf("artifacts: none\n");
        }
        fflush(stdout);
    }
    cJSON_Delete(arts);
    cJSON_Delete(dto);
    return acode;
}

/* -------------------------------------------------------------- logs */

struct log_sink {
    bool write_failed;
    int write_errno;
};

static int logs_chunk(void *user, const char *data, size_t len)
{
    struct log_sink *sink = user;

    if (fwrite(data, 1, len, stdout) != len || fflush(stdout) != 0) {
        sink->write_failed = true;
        sink->write_errno = errno;
        return 1;
    }
    return 0;
}

static int run_logs(struct ctx *c, int argc, char **argv)
{
    enum { O_FOLLOW = 1 };
    static const struct optspec opts[] = {
        {"follow", 'f', false, O_FOLLOW},
        {NULL, 0, false, 0},
    };
    struct args a = {argc, argv, 1, false};
    const char *job_id = NULL, *val;
    bool follow = false;
    int k, id = 0, code;

    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        if (k == ARG_OPT) {
            follow = true;
            continue;
        }
        if ((code = take_job_id(c, &job_id, val)) != 0)
            return code;
    }
    if (!job_id)
        return usage_error(c, "missing job ID");
    if ((code = setup_server(c)) != 0)
        return code;

    char *url = api_url(c, "/jobs/%s/logs%s", job_id, follow ? "?follow=1" : "");
    if (!url) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    struct log_sink sink = {false, 0};
    struct req_opts o = {
        .accept = "text/plain",
        .on_chunk = logs_chunk,
        .user = &sink,
        .idle_sec = follow ? 0 : LOGS_IDLE_SEC,
        .cancelable = follow,
    };
    struct sigsave sig;
    struct http_response resp;
    char err[512];

    if (follow)
        signals_catch(&sig);
    enum http_result r = api_do(c, "GET", url, NULL, &o, &resp, err,
                                sizeof err);
    if (follow)
        signals_restore(&sig);
    free(url);

    if (sink.write_failed) {
        /* A closed pipe (`logs ID | head`) is a normal way to stop. */
        code = sink.write_errno == EPIPE ? CLI_EXIT_OK : CLI_EXIT_FAILED;
        if (code != CLI_EXIT_OK)
            errorf(c, "cannot write the log: %s", strerror(sink.write_errno));
    } else if (r == HTTP_RES_CANCELED && g_signaled) {
        code = CLI_EXIT_OK;
    } else if (r == HTTP_RES_OK && is_2xx(resp.status)) {
        code = CLI_EXIT_OK;
    } else {
        code = report_failure(c, r, &resp, err);
    }
    http_response_free(&resp);
    return code;
}

/* ------------------------------------------------------------- watch */

static int watch_event(struct stream *s, const struct sse_event *ev)
{
    struct ctx *c = s->c;
    cJSON *data = cJSON_ParseWithLength(ev->data, ev->data_len);
    char idbuf[32];
    const char *job = jtext(data, "jobId", idbuf, sizeof idbuf);

    if (c->json) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "id", ev->id) ||
            !cJSON_AddStringToObject(o, "event", ev->type)) {
            cJSON_Delete(o);
            cJSON_Delete(data);
            errorf(c, "out of memory");
            s->stop_code = CLI_EXIT_FAILED;
            return 1;
        }
        bool ok;
        if (data) {
            ok = cJSON_AddItemToObject(o, "data", data);
            if (ok)
                data = NULL; /* o owns it now */
        } else {
            ok = cJSON_AddStringToObject(o, "data", ev->data) != NULL;
        }
        if (ok)
            print_json(o);
        else
            errorf(c, "out of memory; event #%s not shown", ev->id);
        cJSON_Delete(o);
    } else if (strcmp(ev->type, "job_log") == 0) {
        const char *line = jstr(data, "line");
        printf("job %s | %s\n", job ? job : "?", line ? line : ev->data);
    } else if (job) {
        const char *state = jstr(data, "state");
        const char *error = jstr(data, "error");
        int pct = jpercent(data);
        char head[256];

        snprintf(head, sizeof head, "#%s %s job=%s state=%s", ev->id, ev->type,
                 job, state ? state : "-");
        put_clean(stdout, head);
        if (pct >= 0)
            printf(" progress=%d%%", pct);
        else
            fputs(" progress=-", stdout);
        printf(" attempts=%d/%d", jint(data, "attempts", 0),
               jint(data, "maxAttempts", 0));
        if (error) {
            fputs(" error=\"", stdout);
            put_clean(stdout, error);
            fputc('"', stdout);
        }
        fputc('\n', stdout);
    } else {
        printf("#");
        put_clean(stdout, ev->id);
        fputc(' ', stdout);
        put_clean(stdout, ev->type);
        fputc(' ', stdout);
        put_clean(stdout, ev->data);
        fputc('\n', stdout);
    }
    cJSON_Delete(data);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        /* A closed pipe (`watch | head`) ends watching normally. */
        s->stop_code = errno == EPIPE ? CLI_EXIT_OK : CLI_EXIT_FAILED;
        return 1;
    }
    return 0;
}

static int run_watch(struct ctx *c, int argc, char **argv)
{
    enum { O_JOB = 1, O_LOGS, O_SINCE };
    static const struct optspec opts[] = {
        {"job", 0, true, O_JOB},
        {"logs", 0, false, O_LOGS},
        {"since", 0, true, O_SINCE},
        {NULL, 0, false, 0},
    };
    struct args a = {argc, argv, 1, false};
    const char *job_id = NULL, *since = NULL, *val;
    bool logs = false;
    int k, id = 0, code;

    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        if (k == ARG_POS)
            return usage_error(c, "unexpected argument '%s'", val);
        switch (id) {
        case O_JOB:
            if (!valid_job_id(val))
                return usage_error(c, "--job: '%s' is not a job id", val);
            job_id = val;
            break;
        case O_LOGS: logs = true; break;
        case O_SINCE:
            if (!valid_job_id(val))
                return usage_error(c, "--since: '%s' is not an event id", val);
            since = val;
            break;
        }
    }
    if ((code = setup_server(c)) != 0)
        return code;

    char query[96];
    snprintf(query, sizeof query, "%s%s%s%s", job_id ? "?jobId=" : "",
             job_id ? job_id : "", logs ? (job_id ? "&" : "?") : "",
             logs ? "logs=1" : "");

    struct stream s;
    struct sigsave sig;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.on_event = watch_event;
    s.signal_code = CLI_EXIT_OK;
    s.must_connect_first = true;
    sse_parser_init(&s.parser, SSE_MAX_LINE, SSE_MAX_DATA, &s);
    if (since) {
        /* Resume as if event #since had been received. */
        char line[64];
        int n = snprintf(line, sizeof line, "id: %s\n\n", since);
        if (sse_parser_feed(&s.parser, line, (size_t)n, NULL) != 0) {
            sse_parser_free(&s.parser);
            errorf(c, "out of memory");
            return CLI_EXIT_FAILED;
        }
    }
    signals_catch(&sig);
    code = run_stream(&s, query);
    signals_restore(&sig);
    sse_parser_free(&s.parser);
    return code;
}

/* ---------------------------------------------------------- actions */

/* POSTs {"type": type, "payload": payload} to /jobs/ID/actions and prints
 * the server's message.  Takes ownership of payload. */
static int do_action(struct ctx *c, const char *job_id, const char *type,
                     cJSON *payload)
{
    cJSON *body = cJSON_CreateObject();
    char *json = NULL, *url = api_url(c, "/jobs/%s/actions", job_id);
    int code = CLI_EXIT_FAILED;

    if (!body || !payload || !url ||
        !cJSON_AddStringToObject(body, "type", type) ||
        !cJSON_AddItemToObject(body, "payload", payload)) {
        cJSON_Delete(payload); /* never attached to body */
        errorf(c, "out of memory");
        goto out;
    }
    json = cJSON_PrintUnformatted(body);
    if (!json) {
        errorf(c, "out of memory");
        goto out;
    }

    struct http_response resp;
    cJSON *answer = api_json(c, "POST", url, json, NULL, &code, &resp);
    if (answer) {
        char idbuf[32];
        const char *msg = jstr(answer, "message");
        const char *new_id = jtext(answer, "jobId", idbuf, sizeof idbuf);
        if (c->json) {
            print_raw(&resp);
        } else {
            put_clean(stdout, msg && *msg ? msg : "done");
            fputc('\n', stdout);
            if (new_id && strcmp(new_id, job_id) != 0)
                printf("new job: %s\n", new_id);
            fflush(stdout);
        }
        http_response_free(&resp);
        cJSON_Delete(answer);
    }
out:
    cJSON_Delete(body);
    free(json);
    free(url);
    return code;
}

static int run_cancel(struct ctx *c, int argc, char **argv)
{
    enum { O_REASON = 1 };
    static const struct optspec opts[] = {
        {"reason", 0, true, O_REASON},
        {NULL, 0, false, 0},
    };
    struct args a = {argc, argv, 1, false};
    const char *job_id = NULL, *reason = NULL, *val;
    int k, id = 0, code;

    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        if (k == ARG_OPT) {
            reason = val;
            continue;
        }
        if ((code = take_job_id(c, &job_id, val)) != 0)
            return code;
    }
    if (!job_id)
        return usage_error(c, "missing job ID");
    if ((code = setup_server(c)) != 0)
        return code;
    cJSON *payload = cJSON_CreateObject();
    if (payload && reason && !cJSON_AddStringToObject(payload, "reason", reason)) {
        cJSON_Delete(payload);
        payload = NULL;
    }
    return do_action(c, job_id, "cancel", payload);
}

static int run_retry(struct ctx *c, int argc, char **argv)
{
    static const struct optspec opts[] = {{NULL, 0, false, 0}};
    struct args a = {argc, argv, 1, false};
    const char *job_id = NULL, *val;
    int k, id = 0, code;

    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        if ((code = take_job_id(c, &job_id, val)) != 0)
            return code;
    }
    if (!job_id)
        return usage_error(c, "missing job ID");
    if ((code = setup_server(c)) != 0)
        return code;
    return do_action(c, job_id, "retry", cJSON_CreateObject());
}

static int run_rerun(struct ctx *c, int argc, char **argv)
{
    enum { O_ACCENT = 1, O_FORCE_TTS };
    static const struct optspec opts[] = {
        {"voice-accent", 0, true, O_ACCENT},
        {"force-tts", 0, false, O_FORCE_TTS},
        {NULL, 0, false, 0},
    };
    struct args a = {argc, argv, 1, false};
    const char *job_id = NULL, *accent = NULL, *val;
    bool force_tts = false;
    int k, id = 0, code;

    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        if (k == ARG_OPT) {
            if (id == O_ACCENT)
                accent = val;
            else
                force_tts = true;
            continue;
        }
        if ((code = take_job_id(c, &job_id, val)) != 0)
            return code;
    }
    if (!job_id)
        return usage_error(c, "missing job ID");
    if ((code = setup_server(c)) != 0)
        return code;
    cJSON *payload = cJSON_CreateObject();
    if (payload &&
        ((accent && !cJSON_AddStringToObject(payload, "voiceAccent", accent)) ||
         (force_tts && !cJSON_AddTrueToObject(payload, "forceTts")))) {
        cJSON_Delete(payload);
        payload = NULL;
    }
    return do_action(c, job_id, "rerun_audio", payload);
}

/* ------------------------------------------------------------- table */

static const struct verb verbs[] = {
    {"submit", run_submit, "submit [FILE] --preset P [options]",
     "submit a job (--wait: follow it to the end)",
     "Submits a job to a preset and prints its id.  FILE is sent as its\n"
     "absolute real path, which must lie inside the server's inputRoot; it\n"
     "may be left out when the preset does not use {input}.\n"
     "\n"
     "  --preset P            preset id (required)\n"
     "  --tts                 generate narration (withTts)\n"
     "  --force-tts           bypass the TTS cache (forceTts)\n"
     "  --upload none|s3|auto where artifacts are stored\n"
     "  --voice-accent A      voice accent for the narration\n"
     "  --mode M              auto, dialogue or monologue\n"
     "  --priority N          integer; higher runs first (default 0)\n"
     "  --notion-db ID        Notion database to publish to\n"
     "  --param NAME=VALUE    fills {param.NAME} in the preset; repeatable\n"
     "  --idempotency-key K   a repeat with the same key and options gives\n"
     "                        back the same job instead of a new one\n"
     "  --wait                follow the job until it ends: exit 0 if it\n"
     "                        succeeded, 1 if it failed or was canceled\n"},
    {"jobs", run_jobs, "jobs [--state S] [--preset P] [--q T] [--all]",
     "list jobs, newest first",
     "Lists jobs, newest first: id, state, preset, attempts, progress,\n"
     "creation time (UTC) and input file name.\n"
     "\n"
     "  --state S             queued, running, succeeded, failed or canceled\n"
     "  --preset P            only this preset\n"
     "  --q TEXT              input path contains TEXT\n"
     "  --limit N             jobs per page, 1..200 (server default 50)\n"
     "  --cursor C            start at this page (from a previous listing)\n"
     "  --all                 follow the pages to the end\n"},
    {"show", run_show, "show ID", "show a job and its artifacts",
     "Shows every field of a job and the list of its artifacts.  With\n"
     "--json: the job object with an added \"artifacts\" array.\n"},
    {"logs", run_logs, "logs ID [-f]", "print a job's log (-f: follow it)",
     "Prints the job's log lines.\n"
     "\n"
     "  -f, --follow          keep printing new lines until the job ends\n"
     "                        (Ctrl-C stops, exit 0)\n"
     "The log is text: --json changes nothing here.\n"},
    {"watch", run_watch, "watch [--job ID] [--logs] [--since EVENT]",
     "print live job events",
     "Prints one line per job event until interrupted (Ctrl-C, exit 0):\n"
     "  #ID EVENT job=JOB state=STATE progress=P% attempts=N/M [error=\"...\"]\n"
     "and, with --logs, each log line as 'job JOB | LINE'.  A dropped\n"
     "connection is resumed where it stopped (Last-Event-ID), retrying after\n"
     "0.5 s, then up to every 5 s; after 5 minutes without a connection it\n"
     "gives up (exit 3).  With --json: one {\"id\",\"event\",\"data\"} object\n"
     "per line.\n"
     "\n"
     "  --job ID              only this job's events\n"
     "  --logs                include the jobs' log lines\n"
     "  --since EVENT         first replay the retained events after EVENT\n"},
    {"cancel", run_cancel, "cancel ID [--reason TEXT]",
     "cancel a queued or running job",
     "Cancels a job: a queued one at once, a running one by stopping its\n"
     "process.  A job that already ended cannot be canceled (exit 1).\n"
     "\n"
     "  --reason TEXT         recorded with the cancellation\n"},
    {"retry", run_retry, "retry ID", "queue a failed or canceled job again",
     "Queues a failed or canceled job again as a new attempt.\n"},
    {"rerun", run_rerun, "rerun ID [--voice-accent A] [--force-tts]",
     "redo the audio of a lesson job as a new job",
     "Creates a new job that redoes the narration of a finished lesson job\n"
     "(the original stays as it was) and prints the new job's id.\n"
     "\n"
     "  --voice-accent A      use this accent this time\n"
     "  --force-tts           do not reuse cached audio\n"},
};

#define NVERBS (sizeof verbs / sizeof verbs[0])

static const struct verb *find_verb(const char *name)
{
    for (size_t k = 0; name && k < NVERBS; k++)
        if (strcmp(verbs[k].name, name) == 0)
            return &verbs[k];
    return NULL;
}

bool cli_client_is_verb(const char *verb) { return find_verb(verb) != NULL; }

void cli_client_usage(FILE *out)
{
    for (size_t k = 0; k < NVERBS; k++) {
        char syn[128];
        snprintf(syn, sizeof syn, "%s", verbs[k].synopsis);
        fprintf(out, "  %-46s %s\n", syn, verbs[k].summary);
    }
}

int cli_client_main(int argc, char **argv)
{
    const struct verb *v = argc >= 1 ? find_verb(argv[0]) : NULL;
    struct ctx c;

    if (!v) {
        fprintf(stderr, "batchbox: unknown command '%s'\nclient commands:\n",
                argc >= 1 && argv[0] ? argv[0] : "");
        cli_client_usage(stderr);
        return CLI_EXIT_USAGE;
    }
    memset(&c, 0, sizeof c);
    c.verb = v;
    if (http_client_init() != 0) {
        errorf(&c, "cannot initialise libcurl");
        return CLI_EXIT_FAILED;
    }
    return v->run(&c, argc, argv);
}
