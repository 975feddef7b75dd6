/* client.c — the client verbs of the batchbox CLI: submit, jobs, show,
 * logs, watch, cancel, retry, rerun, and the account verbs login, logout,
 * whoami (user documentation: docs/cli.md).
 *
 * Shape:
 *   - a verb table (name, handler, synopsis, summary, help text);
 *   - one small option parser shared by every verb: long options as
 *     "--opt value" or "--opt=value", the short options -h and -f, "--"
 *     ends the options; the common options (--server, --json, --help) are
 *     handled inside it;
 *   - api_do(): every request goes through it, so the common headers
 *     (Accept, Content-Type, User-Agent, Authorization) and timeouts are
 *     set in one place, and a 401 to stored credentials is answered by
 *     one token refresh and one retry (streams included: a reconnect that
 *     gets 401 refreshes first);
 *   - the credentials file written by `batchbox login` (atomic 0600
 *     replacement under a lock file) and the process's session: see the
 *     comments of the "credentials" and "session" sections;
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
 * last, under its mutex), the session (tokens, under g_sess.mu) and the
 * atomic cancel flag g_cancel, which the helper sets to end the stream
 * once it has seen the job finished.
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
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"
#include "cli/users.h"
#include "infra/net/http_client.h"
#include "infra/net/sse_parse.h"
#include "util/buf.h"
#include "util/util.h"

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
#define MAX_CLI_UPLOAD (256 * 1024 * 1024) /* bytes submit reads into memory */
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
/* The server accepts passwords up to 1024 bytes. */
#define LOGIN_PASSWORD_CAP 1100u

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
    bool auth_verb;         /* login/logout: no "not signed in" hint */
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
    "Credentials: the token stored by `batchbox login` for the server\n"
    "(renewed automatically when it expires); BATCHBOX_TOKEN, when set, is\n"
    "sent instead ('Authorization: Bearer <token>').\n"
    "Environment: BATCHBOX_SERVER (default server), BATCHBOX_TOKEN.\n"
    "Exit codes: 0 ok; 1 job failed or canceled (--wait), not signed in,\n"
    "not allowed, not found, wrong state or not implemented; 2 usage error\n"
    "or invalid request (HTTP 400); 3 server unreachable, timed out or\n"
    "failing (5xx).\n";

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

/* ------------------------------------------------------ JSON helpers */

static const char *jstr(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A value as text: strings as they are, integral numbers without
 * decimals; NULL for null/absent.  out holds numbers. */
/* True for a whole number a long long holds (the cast is then defined). */
static bool whole_number(double d)
{
    return d > -9.2e18 && d < 9.2e18 && d == (double)(long long)d;
}

static const char *jtext(const cJSON *o, const char *key, char *out,
                         size_t outlen)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

    if (cJSON_IsString(v))
        return v->valuestring;
    if (cJSON_IsNumber(v)) {
        if (whole_number(v->valuedouble))
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

/* --------------------------------------------------------- requests */

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
    const char *content_type;    /* of body; default "application/json" */
    size_t body_len;             /* 0: strlen(body) */
    const char *idempotency_key; /* or NULL */
    const char *last_event_id;   /* or NULL / "" */
    http_chunk_fn on_chunk;      /* streaming when set */
    void *user;
    long idle_sec;               /* streams: idle timeout, 0 = none */
    long timeout_ms;             /* buffered: 0 = REQUEST_TIMEOUT_MS */
    bool cancelable;             /* watch g_cancel */
    bool no_auth;                /* send no credentials (auth routes) */
};

/* Frees a string that held a secret, wiping it first.  s may be NULL. */
static void free_secret(char *s)
{
    if (s) {
        explicit_bzero(s, strlen(s));
        free(s);
    }
}

/* Releases a response whose body may hold tokens, wiping the body. */
static void response_free_secret(struct http_response *resp)
{
    if (resp->body)
        explicit_bzero(resp->body, resp->body_len);
    http_response_free(resp);
}

/* Sends one request with the common headers and auth (a complete
 * "Authorization: ..." line, or NULL).  resp is always initialised
 * (caller frees it with http_response_free). */
static enum http_result api_send(const char *method, const char *url,
                                 const char *body, const struct req_opts *o,
                                 const char *auth, struct http_response *resp,
                                 char *err, size_t errlen)
{
    char accept[96], idem[MAX_IDEM_KEY_LEN + 32], leid[160], ctype[160];
    const char *hdrs[8];
    size_t n = 0;

    snprintf(accept, sizeof accept, "Accept: %s",
             o->accept ? o->accept : "application/json");
    hdrs[n++] = accept;
    hdrs[n++] = USER_AGENT_HEADER;
    if (body) {
        snprintf(ctype, sizeof ctype, "Content-Type: %s",
                 o->content_type ? o->content_type : "application/json");
        hdrs[n++] = ctype;
    }
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
        .body_len = !body ? 0 : o->body_len ? o->body_len : strlen(body),
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
    return http_client_perform(&r, resp, err, errlen);
}

/* ------------------------------------------------------- credentials */

/* `batchbox login` keeps one entry per server URL in
 * $XDG_CONFIG_HOME/batchbox/credentials.json (default
 * ~/.config/batchbox/credentials.json):
 *
 *   {"http://127.0.0.1:8080": {"server": ..., "email": ...,
 *     "accessToken": ..., "refreshToken": ..., "expiresAt": ISO}, ...}
 *
 * The directory is 0700.  The file is only ever replaced whole: the new
 * content goes to a fresh file opened O_CREAT|O_EXCL with mode 0600, which
 * is then renamed over the old one, so the file is never readable by
 * others, not even for a moment, nor seen half-written.  Every
 * read-modify-write (login, logout, refresh) holds an exclusive flock on
 * credentials.lock beside it: two batchbox processes neither lose each
 * other's entries nor both spend the same refresh token (the second finds
 * the pair the first stored and uses it; a spent refresh token presented
 * again would make the server revoke the whole session). */

#define CRED_FILE_MAX (1024u * 1024u)
#define CRED_LOCK_WAIT_MS 20000L
/* Refresh before a request when the access token expires this soon. */
#define REFRESH_MARGIN_SEC 30

struct cred_paths {
    char dir[PATH_MAX];
    char file[PATH_MAX];
    char lock[PATH_MAX];
};

/* Fills p from $XDG_CONFIG_HOME, else $HOME; 0, or -1 with the reason in
 * why. */
static int cred_paths_get(struct cred_paths *p, char *why, size_t whylen)
{
    const char *xdg = getenv("XDG_CONFIG_HOME");
    const char *home = getenv("HOME");
    int n;

    /* The XDG rule: a relative XDG_CONFIG_HOME is ignored. */
    if (xdg && xdg[0] == '/')
        n = snprintf(p->dir, sizeof p->dir, "%s/batchbox", xdg);
    else if (home && home[0] == '/')
        n = snprintf(p->dir, sizeof p->dir, "%s/.config/batchbox", home);
    else {
        snprintf(why, whylen, "no config directory: neither XDG_CONFIG_HOME "
                              "nor HOME is set to an absolute path");
        return -1;
    }
    if (n < 0 || (size_t)n + sizeof "/credentials.json" > sizeof p->dir) {
        snprintf(why, whylen, "config directory path too long");
        return -1;
    }
    snprintf(p->file, sizeof p->file, "%s/credentials.json", p->dir);
    snprintf(p->lock, sizeof p->lock, "%s/credentials.lock", p->dir);
    return 0;
}

/* Creates the directory and its missing parents with mode 0700 (the XDG
 * rule); an existing batchbox directory open to others is closed to 0700.
 * 0 or -1 with why. */
static int cred_mkdir(const struct cred_paths *p, char *why, size_t whylen)
{
    char tmp[PATH_MAX];
    struct stat st;

    snprintf(tmp, sizeof tmp, "%s", p->dir);
    for (char *q = tmp + 1; *q; q++) {
        if (*q != '/')
            continue;
        *q = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
            snprintf(why, whylen, "cannot create %s: %s", tmp, strerror(errno));
            return -1;
        }
        *q = '/';
    }
    if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
        snprintf(why, whylen, "cannot create %s: %s", tmp, strerror(errno));
        return -1;
    }
    if (stat(p->dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "%s is not a directory", p->dir);
        return -1;
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, whylen, "%s belongs to another user", p->dir);
        return -1;
    }
    if ((st.st_mode & 077) != 0 && chmod(p->dir, 0700) != 0) {
        snprintf(why, whylen, "cannot restrict %s to mode 0700: %s", p->dir,
                 strerror(errno));
        return -1;
    }
    return 0;
}

/* Takes the exclusive lock of the credentials file, waiting up to
 * CRED_LOCK_WAIT_MS.  Returns the lock's descriptor (release it with
 * close) or -1 with why. */
static int cred_lock(const struct cred_paths *p, char *why, size_t whylen)
{
    int fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

    if (fd < 0) {
        snprintf(why, whylen, "cannot open %s: %s", p->lock, strerror(errno));
        return -1;
    }
    for (long waited = 0;; waited += 50) {
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            return fd;
        if (errno != EWOULDBLOCK && errno != EINTR) {
            snprintf(why, whylen, "cannot lock %s: %s", p->lock,
                     strerror(errno));
            break;
        }
        if (waited >= CRED_LOCK_WAIT_MS) {
            snprintf(why, whylen, "%s stayed locked by another batchbox "
                                  "process for %ld s", p->lock,
                     CRED_LOCK_WAIT_MS / 1000);
            break;
        }
        struct timespec ts = {0, 50L * 1000000L};
        (void)nanosleep(&ts, NULL);
    }
    (void)close(fd);
    return -1;
}

/* Reads the credentials file.  Returns its top-level object (caller frees
 * with cJSON_Delete): empty when there is no file yet, or when it is not a
 * JSON object (a warning says so; the next write replaces it).  NULL with
 * why on a read error or out of memory. */
static cJSON *cred_read(const struct cred_paths *p, char *why, size_t whylen)
{
    static atomic_int warned_mode, warned_json;
    struct stat st;
    size_t len = 0;
    char *text = bb_read_file(p->file, CRED_FILE_MAX, &len);
    cJSON *all;

    if (!text) {
        if (errno != ENOENT) {
            snprintf(why, whylen, "cannot read %s: %s", p->file,
                     strerror(errno));
            return NULL;
        }
        all = cJSON_CreateObject();
        if (!all)
            snprintf(why, whylen, "out of memory");
        return all;
    }
    if (stat(p->file, &st) == 0 && (st.st_mode & 077) != 0 &&
        atomic_exchange(&warned_mode, 1) == 0)
        fprintf(stderr, "batchbox: warning: %s can be read by other users; "
                        "run: chmod 600 %s\n", p->file, p->file);
    all = cJSON_ParseWithLength(text, len);
    explicit_bzero(text, len);
    free(text);
    if (!cJSON_IsObject(all)) {
        cJSON_Delete(all);
        if (atomic_exchange(&warned_json, 1) == 0)
            fprintf(stderr, "batchbox: warning: %s is not a JSON object; "
                            "ignoring it\n", p->file);
        all = cJSON_CreateObject();
        if (!all)
            snprintf(why, whylen, "out of memory");
    }
    return all;
}

/* Replaces the credentials file with all, atomically (a new 0600 file
 * renamed over the old one).  0 or -1 with why. */
static int cred_write(const struct cred_paths *p, const cJSON *all, char *why,
                      size_t whylen)
{
    static atomic_uint seq;
    char tmp[PATH_MAX];
    char *text = cJSON_Print(all);
    size_t len;
    int fd = -1, rc = -1;

    if (!text) {
        snprintf(why, whylen, "out of memory");
        return -1;
    }
    len = strlen(text);
    for (int attempt = 0; attempt < 16 && fd < 0; attempt++) {
        snprintf(tmp, sizeof tmp, "%s/.credentials.json.%ld.%u", p->dir,
                 (long)getpid(), atomic_fetch_add(&seq, 1u));
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
                  0600);
        if (fd < 0 && errno != EEXIST)
            break;
    }
    if (fd < 0) {
        snprintf(why, whylen, "cannot create a file in %s: %s", p->dir,
                 strerror(errno));
        goto out;
    }
    if (bb_write_all(fd, text, len) != 0 || bb_write_all(fd, "\n", 1) != 0 ||
        fsync(fd) != 0) {
        snprintf(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
        (void)close(fd);
        (void)unlink(tmp);
        goto out;
    }
    if (close(fd) != 0) {
        snprintf(why, whylen, "cannot write %s: %s", tmp, strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    if (rename(tmp, p->file) != 0) {
        snprintf(why, whylen, "cannot replace %s: %s", p->file,
                 strerror(errno));
        (void)unlink(tmp);
        goto out;
    }
    /* Make the rename itself durable. */
    int dfd = open(p->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        (void)close(dfd);
    }
    rc = 0;
out:
    explicit_bzero(text, len);
    free(text);
    return rc;
}

/* Unix seconds as "2026-11-22T05:00:00Z" into out[32]. */
static void iso_utc(int64_t t, char out[32])
{
    time_t tt = (time_t)t;
    struct tm tm;

    if (!gmtime_r(&tt, &tm) ||
        strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, 32, "1970-01-01T00:00:00Z");
}

/* "2026-11-22T05:00:00Z" (fraction allowed) → unix seconds; 0 if not
 * that shape. */
static int64_t parse_iso_utc(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec;

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi,
                     &sec) != 6)
        return 0;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    return t == (time_t)-1 ? 0 : (int64_t)t;
}

/* A token we are willing to store and send: 1..MAX_TOKEN_LEN printable
 * ASCII characters, no spaces. */
static bool token_ok(const char *t)
{
    size_t n = t ? strlen(t) : 0;

    if (n == 0 || n > MAX_TOKEN_LEN)
        return false;
    for (size_t k = 0; k < n; k++)
        if ((unsigned char)t[k] <= 0x20 || (unsigned char)t[k] >= 0x7f)
            return false;
    return true;
}

/* A new credentials entry, or NULL when out of memory (caller frees with
 * cJSON_Delete, or hands it to cred_put). */
static cJSON *cred_entry_new(const char *server, const char *email,
                             const char *access_tok, const char *refresh_tok,
                             int64_t expires_at)
{
    cJSON *e = cJSON_CreateObject();
    char exp[32];

    iso_utc(expires_at, exp);
    if (!e || !cJSON_AddStringToObject(e, "server", server) ||
        !cJSON_AddStringToObject(e, "email", email ? email : "") ||
        !cJSON_AddStringToObject(e, "accessToken", access_tok) ||
        !cJSON_AddStringToObject(e, "refreshToken", refresh_tok) ||
        !cJSON_AddStringToObject(e, "expiresAt", exp)) {
        cJSON_Delete(e);
        return NULL;
    }
    return e;
}

/* Under the lock: stores entry as server's (takes ownership), or removes
 * server's entry when entry is NULL.  0 or -1 with why. */
static int cred_put(const char *server, cJSON *entry, char *why,
                    size_t whylen)
{
    struct cred_paths p;
    cJSON *all = NULL;
    int lfd = -1, rc = -1;

    if (cred_paths_get(&p, why, whylen) != 0)
        goto out;
    if (entry && cred_mkdir(&p, why, whylen) != 0)
        goto out;
    if (!entry && access(p.file, F_OK) != 0) {
        rc = 0; /* no file: nothing to remove */
        goto out;
    }
    if ((lfd = cred_lock(&p, why, whylen)) < 0)
        goto out;
    if (!(all = cred_read(&p, why, whylen)))
        goto out;
    if (!entry && !cJSON_GetObjectItemCaseSensitive(all, server)) {
        rc = 0;
        goto out;
    }
    cJSON_DeleteItemFromObjectCaseSensitive(all, server);
    if (entry) {
        if (!cJSON_AddItemToObject(all, server, entry)) {
            snprintf(why, whylen, "out of memory");
            goto out;
        }
        entry = NULL; /* all owns it now */
    }
    rc = cred_write(&p, all, why, whylen);
out:
    if (lfd >= 0)
        (void)close(lfd);
    cJSON_Delete(all);
    cJSON_Delete(entry);
    return rc;
}

/* ----------------------------------------------------------- session */

/* The process's credentials for the chosen server, loaded on first use
 * and shared by the main thread and the `submit --wait` checker thread
 * (everything under mu).  gen counts token changes: of two threads that
 * both got a 401 with generation g, the first refreshes and the second
 * finds gen != g and just retries with the new token. */
static struct {
    pthread_mutex_t mu;
    bool loaded;
    char server[1024];
    bool env_set;          /* BATCHBOX_TOKEN is set: it wins, no refresh */
    char *env_header;      /* its header line; NULL when unusable */
    char *access, *refresh, *email; /* from the credentials file */
    int64_t expires_at;    /* unix seconds; 0 unknown */
    unsigned gen;
    unsigned early_tried;  /* gen + 1 of the last refresh-before-expiry */
    bool expired;          /* refresh refused: entry removed, user told */
} g_sess = {.mu = PTHREAD_MUTEX_INITIALIZER};

enum { REFRESH_OK, REFRESH_EXPIRED, REFRESH_FAILED };

/* Why a refresh could not be done (server unreachable, 5xx, 429). */
struct refresh_fail {
    enum http_result res;
    struct http_response resp; /* owned when set */
    char err[512];
    bool set;
};

/* "Authorization: Bearer <tok>" (malloc'd; caller frees with
 * free_secret), or NULL when out of memory. */
static char *bearer(const char *tok)
{
    size_t n = strlen(tok) + sizeof "Authorization: Bearer ";
    char *h = malloc(n);

    if (h)
        snprintf(h, n, "Authorization: Bearer %s", tok);
    return h;
}

/* Header line for BATCHBOX_TOKEN, or NULL when it is unusable (a warning
 * says so, once).  Caller frees with free_secret. */
static char *env_token_header(const char *tok)
{
    static atomic_int warned;

    if (!token_ok(tok)) {
        if (atomic_exchange(&warned, 1) == 0)
            fputs(strlen(tok) > MAX_TOKEN_LEN
                      ? "batchbox: BATCHBOX_TOKEN is too long; not sent\n"
                      : "batchbox: BATCHBOX_TOKEN contains spaces or control "
                        "characters; not sent\n",
                  stderr);
        return NULL;
    }
    return bearer(tok);
}

static void sess_forget_locked(void)
{
    free_secret(g_sess.access);
    free_secret(g_sess.refresh);
    free(g_sess.email);
    g_sess.access = g_sess.refresh = g_sess.email = NULL;
    g_sess.expires_at = 0;
}

/* Takes the tokens of a credentials entry; 0, or -1 when the entry is
 * malformed (the session is then left empty). */
static int sess_adopt_locked(const cJSON *entry)
{
    const char *acc = jstr(entry, "accessToken");
    const char *ref = jstr(entry, "refreshToken");
    const char *email = jstr(entry, "email");

    sess_forget_locked();
    if (!token_ok(acc) || (ref && !token_ok(ref)))
        return -1;
    g_sess.access = strdup(acc);
    g_sess.refresh = ref ? strdup(ref) : NULL;
    g_sess.email = strdup(email ? email : "");
    if (!g_sess.access || (ref && !g_sess.refresh) || !g_sess.email) {
        sess_forget_locked();
        return -1;
    }
    g_sess.expires_at = parse_iso_utc(jstr(entry, "expiresAt"));
    return 0;
}

/* Loads the credentials for server (once per server). */
static void sess_load_locked(const char *server)
{
    struct cred_paths p;
    char why[512];
    const char *env = getenv("BATCHBOX_TOKEN");

    if (g_sess.loaded && strcmp(g_sess.server, server) == 0)
        return;
    sess_forget_locked();
    free_secret(g_sess.env_header);
    g_sess.env_header = NULL;
    g_sess.loaded = true;
    g_sess.expired = false;
    g_sess.gen++;
    snprintf(g_sess.server, sizeof g_sess.server, "%s", server);
    g_sess.env_set = env && *env;
    if (g_sess.env_set) {
        g_sess.env_header = env_token_header(env);
        return;
    }
    if (cred_paths_get(&p, why, sizeof why) != 0)
        return; /* no config directory: not signed in */
    cJSON *all = cred_read(&p, why, sizeof why);
    if (!all) {
        fprintf(stderr, "batchbox: %s; continuing without stored "
                        "credentials\n", why);
        return;
    }
    const cJSON *entry = cJSON_GetObjectItemCaseSensitive(all, server);
    if (entry && sess_adopt_locked(entry) != 0)
        fprintf(stderr, "batchbox: ignoring the malformed credentials "
                        "stored for %s in %s\n", server, p.file);
    cJSON_Delete(all);
}

/* Frees the session (end of a verb). */
static void sess_clear(void)
{
    pthread_mutex_lock(&g_sess.mu);
    sess_forget_locked();
    free_secret(g_sess.env_header);
    g_sess.env_header = NULL;
    g_sess.loaded = false;
    pthread_mutex_unlock(&g_sess.mu);
}

char *client_auth_header(const char *server)
{
    char *h = NULL;

    pthread_mutex_lock(&g_sess.mu);
    sess_load_locked(server);
    if (g_sess.env_set)
        h = g_sess.env_header ? strdup(g_sess.env_header) : NULL;
    else if (g_sess.access)
        h = bearer(g_sess.access);
    pthread_mutex_unlock(&g_sess.mu);
    return h;
}

/* True when credentials of any kind will be sent. */
static bool sess_has_credentials(const char *server)
{
    bool have;

    pthread_mutex_lock(&g_sess.mu);
    sess_load_locked(server);
    have = g_sess.env_set ? g_sess.env_header != NULL : g_sess.access != NULL;
    pthread_mutex_unlock(&g_sess.mu);
    return have;
}

/* True once a refresh was refused (the user has been told). */
static bool sess_expired(void)
{
    bool e;

    pthread_mutex_lock(&g_sess.mu);
    e = g_sess.expired;
    pthread_mutex_unlock(&g_sess.mu);
    return e;
}

/* The session ended on the server: forget it here and in the file. */
static void sess_expire_locked(const struct ctx *c, cJSON *all,
                               const struct cred_paths *p)
{
    char why[512];

    if (all && cJSON_GetObjectItemCaseSensitive(all, g_sess.server)) {
        cJSON_DeleteItemFromObjectCaseSensitive(all, g_sess.server);
        if (cred_write(p, all, why, sizeof why) != 0)
            errorf(c, "cannot remove the expired credentials: %s", why);
    }
    sess_forget_locked();
    g_sess.expired = true;
    g_sess.gen++;
    if (strcmp(g_sess.server, DEFAULT_SERVER) == 0)
        errorf(c, "session expired: run batchbox login");
    else
        errorf(c, "session expired: run batchbox login --server %s", c->shown);
}

/* Gets a new token pair with the stored refresh token (POST
 * /auth/refresh), unless the tokens changed since generation used_gen
 * (another thread, or another batchbox process that stored a new pair in
 * the file, refreshed already).  The new pair is stored in the file.
 * REFRESH_OK: retry with the current token.  REFRESH_EXPIRED: the server
 * refused (the entry is removed, "session expired" printed).
 * REFRESH_FAILED: the server could not be asked; when f is non-NULL it
 * receives the failed call (caller frees f->resp). */
static int sess_refresh(const struct ctx *c, unsigned used_gen,
                        struct refresh_fail *f)
{
    struct cred_paths p;
    struct http_response resp;
    char why[512], err[512];
    cJSON *all = NULL, *answer = NULL, *body = NULL;
    char *json = NULL, *url = NULL;
    int lfd = -1, rc = REFRESH_FAILED;
    bool have_paths;
    enum http_result res;

    memset(&resp, 0, sizeof resp);
    pthread_mutex_lock(&g_sess.mu);
    if (g_sess.gen != used_gen) {
        rc = g_sess.access ? REFRESH_OK : REFRESH_EXPIRED;
        goto unlock;
    }
    if (g_sess.expired || g_sess.env_set || !g_sess.refresh) {
        rc = REFRESH_EXPIRED;
        goto unlock;
    }

    have_paths = cred_paths_get(&p, why, sizeof why) == 0;
    if (have_paths && (lfd = cred_lock(&p, why, sizeof why)) < 0)
        errorf(c, "warning: %s", why);
    if (have_paths && !(all = cred_read(&p, why, sizeof why)))
        errorf(c, "warning: %s", why);
    if (all) {
        const cJSON *entry = cJSON_GetObjectItemCaseSensitive(all,
                                                              g_sess.server);
        const char *facc = jstr(entry, "accessToken");
        if (!entry) {
            /* `batchbox logout` ran meanwhile. */
            sess_expire_locked(c, all, &p);
            rc = REFRESH_EXPIRED;
            goto unlock;
        }
        if (facc && strcmp(facc, g_sess.access) != 0 &&
            sess_adopt_locked(entry) == 0) {
            g_sess.gen++;
            rc = REFRESH_OK;
            goto unlock;
        }
    }

    body = cJSON_CreateObject();
    if (!body || !cJSON_AddStringToObject(body, "refreshToken", g_sess.refresh) ||
        !(json = cJSON_PrintUnformatted(body)) ||
        !(url = api_url(c, "/auth/refresh"))) {
        errorf(c, "out of memory");
        goto unlock;
    }
    struct req_opts o = {.no_auth = true};
    res = api_send("POST", url, json, &o, NULL, &resp, err, sizeof err);

    if (res == HTTP_RES_OK && resp.status == 200) {
        answer = cJSON_ParseWithLength(resp.body, resp.body_len);
        const char *acc = jstr(answer, "accessToken");
        const char *ref = jstr(answer, "refreshToken");
        int ttl = jint(answer, "expiresIn", 0);
        char *nacc = token_ok(acc) ? strdup(acc) : NULL;
        char *nref = token_ok(ref) ? strdup(ref) : NULL;
        if (!nacc || !nref) {
            free_secret(nacc);
            free_secret(nref);
            errorf(c, "unexpected answer from the server to a token refresh");
            sess_expire_locked(c, all, have_paths ? &p : NULL);
            rc = REFRESH_EXPIRED;
            goto unlock;
        }
        free_secret(g_sess.access);
        free_secret(g_sess.refresh);
        g_sess.access = nacc;
        g_sess.refresh = nref;
        g_sess.expires_at = ttl > 0 ? (int64_t)time(NULL) + ttl : 0;
        g_sess.gen++;
        rc = REFRESH_OK;
        if (all) {
            cJSON *entry = cred_entry_new(g_sess.server, g_sess.email, nacc,
                                          nref, g_sess.expires_at);
            cJSON_DeleteItemFromObjectCaseSensitive(all, g_sess.server);
            if (!entry || !cJSON_AddItemToObject(all, g_sess.server, entry)) {
                cJSON_Delete(entry);
                snprintf(why, sizeof why, "out of memory");
            } else if (cred_write(&p, all, why, sizeof why) == 0) {
                goto unlock;
            }
        }
        errorf(c, "warning: cannot save the refreshed tokens (%s); the next "
                  "command will have to sign in again", why);
    } else if (res == HTTP_RES_OK && resp.status >= 400 && resp.status < 500 &&
               resp.status != 429) {
        /* 400/401/403: the refresh token is spent, expired or revoked. */
        sess_expire_locked(c, all, have_paths ? &p : NULL);
        rc = REFRESH_EXPIRED;
    } else {
        rc = REFRESH_FAILED;
        if (f) {
            f->res = res;
            f->resp = resp;
            memset(&resp, 0, sizeof resp);
            snprintf(f->err, sizeof f->err, "%s", err);
            f->set = true;
        }
    }

unlock:
    pthread_mutex_unlock(&g_sess.mu);
    if (lfd >= 0)
        (void)close(lfd);
    cJSON_Delete(all);
    cJSON_Delete(answer);
    cJSON_Delete(body);
    free_secret(json);
    free(url);
    response_free_secret(&resp);
    return rc;
}

/* The Authorization line for a request to c's server (caller frees with
 * free_secret; NULL: none).  *gen receives the tokens' generation and
 * *refreshable whether a 401 may be answered by refreshing.  A stored
 * access token that expires within REFRESH_MARGIN_SEC is refreshed first
 * (once per token; a failure leaves the old token in use). */
static char *sess_header(const struct ctx *c, unsigned *gen,
                         bool *refreshable)
{
    char *h = NULL;
    bool early;

    pthread_mutex_lock(&g_sess.mu);
    sess_load_locked(c->server);
    early = !g_sess.env_set && g_sess.access && g_sess.refresh &&
            g_sess.expires_at > 0 &&
            (int64_t)time(NULL) >= g_sess.expires_at - REFRESH_MARGIN_SEC &&
            g_sess.early_tried != g_sess.gen + 1;
    if (early) {
        unsigned g = g_sess.gen;
        g_sess.early_tried = g + 1;
        pthread_mutex_unlock(&g_sess.mu);
        (void)sess_refresh(c, g, NULL);
        pthread_mutex_lock(&g_sess.mu);
    }
    *gen = g_sess.gen;
    *refreshable = !g_sess.env_set && g_sess.refresh != NULL;
    if (g_sess.env_set)
        h = g_sess.env_header ? strdup(g_sess.env_header) : NULL;
    else if (g_sess.access)
        h = bearer(g_sess.access);
    pthread_mutex_unlock(&g_sess.mu);
    return h;
}

/* Sends one API request with the common headers and the credentials
 * (unless o->no_auth).  A 401 answered to stored credentials is followed
 * by one token refresh and one retry; when the refresh is refused the 401
 * stays (the user was told the session expired), when the server cannot
 * be asked the refresh's failure is returned instead.  resp is always
 * initialised (caller frees it with http_response_free). */
static enum http_result api_do(const struct ctx *c, const char *method,
                               const char *url, const char *body,
                               const struct req_opts *o,
                               struct http_response *resp, char *err,
                               size_t errlen)
{
    static const struct req_opts none;
    unsigned gen = 0;
    bool refreshable = false;
    char *auth;
    enum http_result res;
    struct refresh_fail f;

    if (!o)
        o = &none;
    auth = o->no_auth ? NULL : sess_header(c, &gen, &refreshable);
    res = api_send(method, url, body, o, auth, resp, err, errlen);
    free_secret(auth);
    if (res != HTTP_RES_OK || resp->status != 401 || !refreshable)
        return res;

    memset(&f, 0, sizeof f);
    switch (sess_refresh(c, gen, &f)) {
    case REFRESH_OK:
        http_response_free(resp);
        auth = sess_header(c, &gen, &refreshable);
        res = api_send(method, url, body, o, auth, resp, err, errlen);
        free_secret(auth);
        break;
    case REFRESH_FAILED:
        if (f.set) {
            http_response_free(resp);
            *resp = f.resp;
            if (err && errlen)
                snprintf(err, errlen, "%s", f.err);
            res = f.res;
        }
        break;
    default:
        break; /* expired: keep the 401 */
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
    /* A refused refresh has already said "session expired". */
    if (r == HTTP_RES_OK && resp->status == 401 && sess_expired())
        return CLI_EXIT_FAILED;
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
    if (resp->status == 401 && !c->auth_verb &&
        !sess_has_credentials(c->server))
        fputs("  not signed in: run 'batchbox login' (or set "
              "BATCHBOX_TOKEN)\n", stderr);
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

/* Turns the FILE argument into the job's "md" value.  By default FILE is
 * read here and uploaded (POST /uploads?filename=NAME, the server sniffs
 * its type), so it may live anywhere on this machine and the server may be
 * remote; md is then the upload's id ("upl_7").  With --server-path, FILE
 * is sent as written: a path the server resolves inside its inputRoot.
 * On success *md_out is malloc'd (caller frees); else returns the exit
 * code (message printed). */
static int resolve_input(struct ctx *c, const char *file, bool server_path, char **md_out)
{
    if (server_path) {
        if (!(*md_out = strdup(file))) {
            errorf(c, "out of memory");
            return CLI_EXIT_FAILED;
        }
        return CLI_EXIT_OK;
    }
    struct stat st;
    if (stat(file, &st) != 0) {
        errorf(c, "%s: %s", file, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    if (!S_ISREG(st.st_mode)) {
        errorf(c, "%s: not a regular file", file);
        return CLI_EXIT_USAGE;
    }
    size_t len = 0;
    char *data = bb_read_file(file, MAX_CLI_UPLOAD, &len);
    if (!data) {
        if (errno == EFBIG)
            errorf(c, "%s: larger than %d MiB; upload it with curl (POST /api/v1/uploads)",
                   file, MAX_CLI_UPLOAD >> 20);
        else
            errorf(c, "%s: %s", file, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    const char *base = strrchr(file, '/');
    base = base ? base + 1 : file;
    char *name = http_client_escape(base);
    char *path = NULL, *url = NULL;
    int code = CLI_EXIT_FAILED;
    if (name && asprintf(&path, "/uploads?filename=%s", name) >= 0)
        url = api_url(c, path);
    if (!url) {
        errorf(c, "out of memory");
    } else {
        struct req_opts o = {.content_type = bb_content_type_for(base), .body_len = len,
                             .timeout_ms = 600000};
        cJSON *answer = len ? api_json(c, "POST", url, data, &o, &code, NULL) : NULL;
        const char *id = answer ? jstr(answer, "fileId") : NULL;
        if (!len) {
            errorf(c, "%s: the file is empty", file);
            code = CLI_EXIT_USAGE;
        } else if (answer && !id) {
            errorf(c, "unexpected answer from the server: no fileId");
            code = CLI_EXIT_FAILED;
        } else if (id && !(*md_out = strdup(id))) {
            errorf(c, "out of memory");
            code = CLI_EXIT_FAILED;
        } else if (id) {
            if (!c->json)
                printf("uploaded %s as %s (%zu bytes)\n", base, id, len);
            code = CLI_EXIT_OK;
        }
        cJSON_Delete(answer);
    }
    free(data);
    free(name);
    free(path);
    free(url);
    return code;
}

/* The preset `submit FILE` uses without --preset: the first lesson preset
 * of the server's job options.  malloc'd id, or NULL (message printed). */
static char *default_lesson_preset(struct ctx *c, int *code)
{
    char *url = api_url(c, "/config/job-options");
    cJSON *opts = url ? api_json(c, "GET", url, NULL, NULL, code, NULL) : NULL;
    free(url);
    char *id = NULL;
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(opts, "presets")) {
        const char *wf = jstr(p, "workflow"), *pid = jstr(p, "id");
        if (wf && pid && strcmp(wf, "lesson") == 0) {
            id = strdup(pid);
            break;
        }
    }
    if (opts && !id) {
        usage_error(c, "--preset is required (the server has no lesson preset)");
        *code = CLI_EXIT_USAGE;
    }
    cJSON_Delete(opts);
    return id;
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
    if (state && strcmp(state, "succeeded") == 0) {
        /* a finished lesson: where to open it */
        const char *page = jstr(dto, "pageUrl"), *notion = jstr(dto, "notionUrl");
        if (!w->c->json && page && page[0] == '/') {
            fputs("lesson page: ", stdout);
            put_clean(stdout, w->c->server);
            put_clean(stdout, page);
            fputc('\n', stdout);
        }
        if (!w->c->json && notion) {
            fputs("notion page: ", stdout);
            put_clean(stdout, notion);
            fputc('\n', stdout);
        }
        return CLI_EXIT_OK;
    }
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
        O_PRIORITY, O_NOTION, O_PARAM, O_IDEM, O_WAIT, O_SERVER_PATH
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
        {"server-path", 0, false, O_SERVER_PATH},
        {NULL, 0, false, 0},
    };
    struct args a = {argc, argv, 1, false};
    bool server_path = false;
    char *preset_owned = NULL;
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
        case O_SERVER_PATH: server_path = true; break;
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
    if ((preset && !*preset) || (!preset && !file)) {
        usage_error(c, "--preset is required");
        goto out;
    }
    if ((code = setup_server(c)) != 0)
        goto out;
    if (!preset && !(preset = preset_owned = default_lesson_preset(c, &code)))
        goto out;
    if (file && (code = resolve_input(c, file, server_path, &md)) != 0)
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
    free(preset_owned);
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
    } else if (cJSON_IsNumber(v) && whole_number(v->valuedouble)) {
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

/* ---------------------------------------------------------- accounts */

/* The server's USER object printed as "email:/name:/role:" lines. */
static void print_user(const cJSON *u)
{
    const char *name = jstr(u, "name");

    fputs("email: ", stdout);
    put_clean(stdout, jstr(u, "email") ? jstr(u, "email") : "-");
    fputs("\nname:  ", stdout);
    put_clean(stdout, name && *name ? name : "-");
    fputs("\nrole:  ", stdout);
    put_clean(stdout, jstr(u, "role") ? jstr(u, "role") : "-");
    fputc('\n', stdout);
    fflush(stdout);
}

/* Explains a cli_read_secret() failure; returns the exit code. */
static int secret_failure(const struct ctx *c, enum cli_secret_result r,
                          const char *what, bool from_stdin)
{
    switch (r) {
    case CLI_SECRET_EOF:
        return usage_error(c, "no %s %s", what,
                           from_stdin ? "on stdin" : "given");
    case CLI_SECRET_TOO_LONG:
        return usage_error(c, "%s too long", what);
    case CLI_SECRET_INTERRUPTED:
        errorf(c, "interrupted");
        return CLI_EXIT_FAILED;
    default:
        errorf(c, "cannot read the %s: %s", what,
               errno ? strerror(errno) : "no terminal");
        return CLI_EXIT_FAILED;
    }
}

static int run_login(struct ctx *c, int argc, char **argv)
{
    enum { O_EMAIL = 1, O_PWSTDIN };
    static const struct optspec opts[] = {
        {"email", 0, true, O_EMAIL},
        {"password-stdin", 0, false, O_PWSTDIN},
        {NULL, 0, false, 0},
    };
    struct args a = {argc, argv, 1, false};
    const char *email_opt = NULL, *val;
    bool pw_stdin = false;
    char email[320], pw[LOGIN_PASSWORD_CAP], why[512];
    int k, id = 0, code;
    enum cli_secret_result sr;

    c->auth_verb = true;
    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        if (k == ARG_POS)
            return usage_error(c, "unexpected argument '%s'", val);
        if (id == O_EMAIL)
            email_opt = val;
        else
            pw_stdin = true;
    }
    if ((code = setup_server(c)) != 0)
        return code;

    if (email_opt) {
        if (!*email_opt || strlen(email_opt) >= sizeof email)
            return usage_error(c, "--email: expected an e-mail address");
        snprintf(email, sizeof email, "%s", email_opt);
    } else if (pw_stdin || !isatty(STDIN_FILENO)) {
        return usage_error(c, "--email E is needed when %s",
                           pw_stdin ? "the password comes from stdin"
                                    : "stdin is not a terminal");
    } else {
        fprintf(stderr, "signing in to %s\n", c->shown);
        if ((sr = cli_read_secret("email: ", false, email, sizeof email)) !=
            CLI_SECRET_OK)
            return secret_failure(c, sr, "e-mail address", false);
        if (!*email)
            return usage_error(c, "no e-mail address given");
    }
    if (!pw_stdin && !isatty(STDIN_FILENO))
        return usage_error(c, "stdin is not a terminal: give the password "
                              "with --password-stdin");
    sr = cli_read_secret(pw_stdin ? NULL : "password: ", true, pw, sizeof pw);
    if (sr != CLI_SECRET_OK)
        return secret_failure(c, sr, "password", pw_stdin);
    if (!*pw)
        return usage_error(c, "the password is empty");

    cJSON *body = cJSON_CreateObject();
    char *json = NULL, *url = api_url(c, "/auth/login");
    if (body && cJSON_AddStringToObject(body, "email", email) &&
        cJSON_AddStringToObject(body, "password", pw))
        json = cJSON_PrintUnformatted(body);
    explicit_bzero(pw, sizeof pw);
    /* The tree holds the password too. */
    cJSON *pwi = cJSON_GetObjectItemCaseSensitive(body, "password");
    if (cJSON_IsString(pwi))
        explicit_bzero(pwi->valuestring, strlen(pwi->valuestring));
    cJSON_Delete(body);
    if (!json || !url) {
        free_secret(json);
        free(url);
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }

    struct req_opts o = {.no_auth = true};
    struct http_response resp;
    char err[512];
    enum http_result r = api_do(c, "POST", url, json, &o, &resp, err,
                                sizeof err);
    free_secret(json);
    free(url);
    if (r != HTTP_RES_OK || !is_2xx(resp.status)) {
        code = report_failure(c, r, &resp, err);
        /* Wrong credentials and too many attempts are refusals, not an
         * unreachable server. */
        if (r == HTTP_RES_OK && resp.status == 429)
            code = CLI_EXIT_FAILED;
        response_free_secret(&resp);
        return code;
    }

    cJSON *answer = cJSON_ParseWithLength(resp.body, resp.body_len);
    response_free_secret(&resp);
    const cJSON *user = cJSON_GetObjectItemCaseSensitive(answer, "user");
    const char *acc = jstr(answer, "accessToken");
    const char *ref = jstr(answer, "refreshToken");
    const char *who = jstr(user, "email");
    int ttl = jint(answer, "expiresIn", 0);
    if (!token_ok(acc) || !token_ok(ref)) {
        cJSON_Delete(answer);
        errorf(c, "unexpected answer from the server: no usable tokens");
        return CLI_EXIT_FAILED;
    }
    struct cred_paths p;
    cJSON *entry = cred_entry_new(c->server, who ? who : email, acc, ref,
                                  ttl > 0 ? (int64_t)time(NULL) + ttl : 0);
    if (!entry) {
        cJSON_Delete(answer);
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    if (cred_put(c->server, entry, why, sizeof why) != 0 ||
        cred_paths_get(&p, why, sizeof why) != 0) {
        cJSON_Delete(answer);
        errorf(c, "signed in, but cannot store the credentials: %s", why);
        return CLI_EXIT_FAILED;
    }
    if (c->json) {
        print_json(user);
    } else {
        printf("signed in to %s as ", c->shown);
        put_clean(stdout, who ? who : email);
        if (jstr(user, "role")) {
            fputs(" (", stdout);
            put_clean(stdout, jstr(user, "role"));
            fputc(')', stdout);
        }
        printf("\ncredentials saved in %s\n", p.file);
        fflush(stdout);
    }
    const char *env = getenv("BATCHBOX_TOKEN");
    if (env && *env)
        errorf(c, "note: BATCHBOX_TOKEN is set and is used instead of the "
                  "stored credentials until you unset it");
    cJSON_Delete(answer);
    return CLI_EXIT_OK;
}

static int run_logout(struct ctx *c, int argc, char **argv)
{
    static const struct optspec opts[] = {{NULL, 0, false, 0}};
    struct args a = {argc, argv, 1, false};
    const char *val;
    char why[512], err[512];
    char *auth = NULL, *json = NULL, *url = NULL;
    int k, id = 0, code;

    c->auth_verb = true;
    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        return usage_error(c, "unexpected argument '%s'", val);
    }
    if ((code = setup_server(c)) != 0)
        return code;

    /* The stored session, whatever BATCHBOX_TOKEN says. */
    struct cred_paths p;
    cJSON *all = NULL, *body = NULL;
    const cJSON *entry = NULL;
    if (cred_paths_get(&p, why, sizeof why) == 0 &&
        (all = cred_read(&p, why, sizeof why)) != NULL)
        entry = cJSON_GetObjectItemCaseSensitive(all, c->server);
    const char *acc = jstr(entry, "accessToken");
    const char *ref = jstr(entry, "refreshToken");
    if (!entry) {
        cJSON_Delete(all);
        printf("not signed in to %s\n", c->shown);
        return CLI_EXIT_OK;
    }

    /* Revoke the session on the server (it answers 204 even for an
     * unknown session), then forget it here in any case. */
    bool revoked = false;
    body = cJSON_CreateObject();
    if (body && token_ok(ref))
        (void)cJSON_AddStringToObject(body, "refreshToken", ref);
    json = body ? cJSON_PrintUnformatted(body) : NULL;
    url = api_url(c, "/auth/logout");
    auth = token_ok(acc) ? bearer(acc) : NULL;
    if (json && url) {
        struct req_opts o = {.timeout_ms = CHECK_TIMEOUT_MS};
        struct http_response resp;
        enum http_result r = api_send("POST", url, json, &o, auth, &resp,
                                      err, sizeof err);
        if (r == HTTP_RES_OK && is_2xx(resp.status)) {
            revoked = true;
        } else if (r == HTTP_RES_OK) {
            snprintf(why, sizeof why, "the server answered HTTP %ld",
                     resp.status);
        } else {
            snprintf(why, sizeof why, "%s", err);
        }
        response_free_secret(&resp);
    } else {
        snprintf(why, sizeof why, "out of memory");
    }
    free_secret(auth);
    free_secret(json);
    free(url);
    cJSON_Delete(body);
    cJSON_Delete(all);

    if (cred_put(c->server, NULL, err, sizeof err) != 0) {
        errorf(c, "cannot remove the stored credentials: %s", err);
        return CLI_EXIT_FAILED;
    }
    if (!revoked)
        errorf(c, "could not sign out on the server (%s); the session stays "
                  "valid there until it expires", why);
    printf("signed out of %s\n", c->shown);
    fflush(stdout);
    return CLI_EXIT_OK;
}

static int run_whoami(struct ctx *c, int argc, char **argv)
{
    static const struct optspec opts[] = {{NULL, 0, false, 0}};
    struct args a = {argc, argv, 1, false};
    const char *val;
    int k, id = 0, code;

    while ((k = next_arg(c, &a, opts, &id, &val)) != ARG_END) {
        if (k == ARG_ERR)
            return CLI_EXIT_USAGE;
        if (k == ARG_HELP)
            return CLI_EXIT_OK;
        return usage_error(c, "unexpected argument '%s'", val);
    }
    if ((code = setup_server(c)) != 0)
        return code;
    if (!sess_has_credentials(c->server)) {
        errorf(c, "not signed in to %s: run batchbox login%s%s", c->shown,
               strcmp(c->server, DEFAULT_SERVER) == 0 ? "" : " --server ",
               strcmp(c->server, DEFAULT_SERVER) == 0 ? "" : c->shown);
        return CLI_EXIT_FAILED;
    }

    char *url = api_url(c, "/auth/me");
    struct http_response resp;
    cJSON *u;
    if (!url) {
        errorf(c, "out of memory");
        return CLI_EXIT_FAILED;
    }
    u = api_json(c, "GET", url, NULL, NULL, &code, &resp);
    free(url);
    if (!u)
        return code;
    if (c->json)
        print_raw(&resp);
    else
        print_user(u);
    http_response_free(&resp);
    cJSON_Delete(u);
    return CLI_EXIT_OK;
}

/* ------------------------------------------------------------- table */

static const struct verb verbs[] = {
    {"submit", run_submit, "submit [FILE] [--preset P] [options]",
     "submit a job (--wait: follow it to the end)",
     "Submits a job to a preset and prints its id.  FILE is uploaded to the\n"
     "server first (POST /uploads) and the job reads the upload; it may be\n"
     "left out when the preset does not use {input}.\n"
     "\n"
     "  --preset P            preset id (default with FILE: the server's\n"
     "                        first lesson preset)\n"
     "  --server-path         send FILE as a path inside the server's\n"
     "                        inputRoot instead of uploading it\n"
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
    {"login", run_login, "login [--email E] [--password-stdin]",
     "sign in and store the token for the other commands",
     "Signs in to the server and stores the session's tokens in\n"
     "$XDG_CONFIG_HOME/batchbox/credentials.json (default\n"
     "~/.config/batchbox/credentials.json; directory 0700, file 0600), one\n"
     "entry per server URL.  The other commands send the stored access\n"
     "token and renew it with the refresh token when it expires.  Without\n"
     "options the e-mail and password are asked for on the terminal (the\n"
     "password without echo).  Wrong credentials, a disabled account or too\n"
     "many attempts (HTTP 429): exit 1.\n"
     "\n"
     "  --email E             the account's e-mail address\n"
     "  --password-stdin      read the password from the first line of\n"
     "                        stdin (needs --email)\n"},
    {"logout", run_logout, "logout", "sign out and forget the stored token",
     "Ends the stored session on the server (its tokens stop working) and\n"
     "removes it from the credentials file.  When the server cannot be\n"
     "reached the local entry is removed anyway, with a warning (exit 0).\n"},
    {"whoami", run_whoami, "whoami", "show the signed-in account",
     "Prints the e-mail, name and role of the account the credentials\n"
     "belong to (BATCHBOX_TOKEN, else the stored ones).  Not signed in or\n"
     "the session ended: exit 1.  With --json: the server's user object.\n"},
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
    int code = v->run(&c, argc, argv);
    sess_clear();
    return code;
}
