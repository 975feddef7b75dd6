/*
 * bbbench.c — the batchbox benchmark driver (the targets in docs/benchmarks.md).
 *
 * Starts a real batchbox server on a temporary data directory and a free
 * loopback port, drives it with its own minimal HTTP/1.1 and SSE clients
 * (raw sockets, libc + pthreads only; the event-stream lines go through
 * the project's SSE parser, src/infra/net/sse_parse.c), and prints each target of docs/benchmarks.md with
 * the measured figure and PASS/MISS.  Phases (all on by default, pick with
 * --only):
 *
 *   idle     server RSS right after start, after e2e, and peak (VmHWM)
 *   e2e      K SSE listeners + C keep-alive submitters POST N noop jobs as fast
 *            as they can; submit req/s, end-to-end jobs/s (first send until
 *            every listener has seen the last succeeded event), latency
 *            submit→succeeded (per job, the maximum across listeners), and
 *            exactly-once delivery of every succeeded event to every listener
 *   paced    the same at a fixed rate (default half the measured e2e rate)
 *   get      50 keep-alive connections GET /api/v1/jobs/<id> for D seconds
 *   fanout   S SSE subscribers (default 10,000) on a few epoll threads, held
 *            by the server's stream hub in its default configuration; M jobs
 *            100 ms apart; job_created delivery latency to every subscriber
 *            and to all of them (the slowest per event), the server's RSS
 *            per subscriber, and the latency of GET /health on fresh
 *            connections meanwhile
 *   batch    a 1,000-child sweep of noop: creation time (POST → 201, five times),
 *            then batch vs 1,000 single submits, POST → the succeeded event
 *   startup  SIGTERM the server, restart on the existing database 3 times,
 *            time fork → first 200 from /health
 *   lesson   (off by default: --only lesson, or list it with the others) the
 *            lesson workflow (docs/lesson-workflow.md) with espeak-ng: upload the lesson
 *            embedded below, then L jobs with forceTts (every segment goes
 *            through espeak-ng: "cold") and the same L jobs without it (every
 *            segment a cache hit: "warm"); lessons/s, segments/s, latency
 *            submit→succeeded, server CPU split into its own and espeak-ng's
 *            (reaped children), peak server RSS; each manifest is checked
 *            (segment count, cache hits).  No target: reported as "info".
 *
 * Bounded everywhere: socket timeouts, no-progress timeouts per phase, and a
 * watchdog thread that kills the server, removes the data directory and exits
 * non-zero when the overall deadline passes or SIGINT/SIGTERM arrives.
 *
 * Exit status: 0 ran (targets may still be MISS), 1 setup/server failure,
 * 2 correctness failure (lost or duplicated events, failed submits, a lesson
 * job that did not succeed or whose manifest is wrong), 3 watchdog / signal.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "infra/net/sse_parse.h"

/* ------------------------------------------------------------------ limits */

#define RBUF_CAP        65536   /* HTTP client receive buffer */
#define BODY_CAP        16384   /* response body kept by the client (rest dropped) */
#define SSE_HDR_CAP     4096    /* SSE response header block */
#define SSE_LINE_CAP    8192    /* one SSE line / one event's data */
#define SAMPLES_CAP     (16L * 1000 * 1000) /* latency samples per collector */
#define MAX_THREADS     512
#define MAX_SSE         256
#define MAX_FANOUT      15000
#define MAX_FAN_EVENTS  1000
#define GET_CONNS       50
#define FAN_THREADS     2
#define SSE_RECONNECTS  20
#define IO_TIMEOUT_MS   10000
#define NO_PROGRESS_NS  (15LL * 1000000000LL)
#define LESSON_NO_PROGRESS_NS (30LL * 1000000000LL) /* no lesson job finished for this long */
#define LESSON_SUBMITTERS 4     /* connections submitting lesson jobs */
#define MAX_LESSON_JOBS 10000
#define REQ_STACK_CAP   2048    /* requests up to this size are built on the stack */
#define REQ_BODY_CAP    (1024 * 1024) /* largest request body the client sends */

#define NS_PER_MS 1000000LL
#define NS_PER_S  1000000000LL

/* ------------------------------------------------------------------ options */

enum phase_bit {
    PH_IDLE = 1, PH_E2E = 2, PH_PACED = 4, PH_GET = 8, PH_FANOUT = 16, PH_STARTUP = 32,
    PH_LESSON = 64, PH_BATCH = 128
};

struct opts {
    const char *bin;
    long jobs;          /* e2e accepted jobs wanted */
    int sse;            /* e2e/paced SSE listeners */
    int conc;           /* submitter connections */
    int fanout;         /* fanout subscribers */
    int fan_events;     /* fanout jobs submitted */
    double get_seconds;
    double rate;        /* paced rate; 0 = half the e2e rate */
    long paced_jobs;    /* 0 = rate × 4 s */
    int workers;
    long lesson_jobs;   /* lesson jobs per pass (cold, then warm) */
    int timeout_s;      /* watchdog */
    unsigned only;
    bool keep;
    bool json;
    const char *compare_dir;   /* --compare: bench/compare with node_modules */
};

/* ------------------------------------------------------------------ globals */

static struct opts g_o;
static atomic_int g_server_pid;          /* 0 when no server runs */
static atomic_int g_redis_pid;           /* --compare: redis-server, 0 when none */
static char g_datadir[PATH_MAX];
static atomic_bool g_cleanup_claimed;
static atomic_bool g_done;               /* main finished; watchdog leaves */
static int g_port;

/* Per-jobId bookkeeping (jobIds are small decimal integers in order). */
static long g_id_cap;                    /* valid ids are 1 .. g_id_cap-1 */
static int64_t *g_submit_ns;             /* send time of the accepted POST */
static unsigned char *g_phase_of_id;     /* which phase accepted the id (0 none) */
static long *g_all_ids;                  /* every accepted id, in acceptance order */
static atomic_long g_all_ids_n;
static long g_all_ids_cap;

/* ------------------------------------------------------------------ small helpers */

static int64_t now_ns(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return 0;
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static void sleep_until(int64_t t)
{
    struct timespec ts = { .tv_sec = (time_t)(t / NS_PER_S), .tv_nsec = (long)(t % NS_PER_S) };
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
        ;
}

static void sleep_ms(double ms)
{
    sleep_until(now_ns() + (int64_t)(ms * NS_PER_MS));
}

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void logmsg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("bbbench: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* Allocates zeroed memory or exits; caller frees with free(). */
static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) {
        logmsg("out of memory (%zu x %zu)", n, sz);
        exit(1);
    }
    return p;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* ------------------------------------------------------------------ latency samples */

/* A growable array of latencies in ns, capped at SAMPLES_CAP. */
struct samples {
    int64_t *v;
    long n;
    long cap;
    long dropped;
};

static void samples_add(struct samples *s, int64_t x)
{
    if (s->n == s->cap) {
        if (s->cap >= SAMPLES_CAP) {
            s->dropped++;
            return;
        }
        long nc = s->cap ? s->cap * 2 : 4096;
        if (nc > SAMPLES_CAP)
            nc = SAMPLES_CAP;
        int64_t *nv = realloc(s->v, (size_t)nc * sizeof *nv);
        if (!nv) {
            s->dropped++;
            return;
        }
        s->v = nv;
        s->cap = nc;
    }
    s->v[s->n++] = x;
}

static void samples_merge(struct samples *dst, const struct samples *src)
{
    for (long i = 0; i < src->n; i++)
        samples_add(dst, src->v[i]);
    dst->dropped += src->dropped;
}

static void samples_free(struct samples *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}

struct pct {
    long n;
    double p50, p95, p99, max, mean; /* milliseconds */
};

/* Sorts s in place and fills percentiles (nearest-rank). */
static struct pct samples_pct(struct samples *s)
{
    struct pct p = { 0 };
    p.n = s->n;
    if (s->n == 0)
        return p;
    qsort(s->v, (size_t)s->n, sizeof s->v[0], cmp_i64);
    double sum = 0;
    for (long i = 0; i < s->n; i++)
        sum += (double)s->v[i];
    long i50 = (long)((double)s->n * 0.50 + 0.999999) - 1;
    long i95 = (long)((double)s->n * 0.95 + 0.999999) - 1;
    long i99 = (long)((double)s->n * 0.99 + 0.999999) - 1;
    if (i50 < 0) i50 = 0;
    if (i95 < 0) i95 = 0;
    if (i99 < 0) i99 = 0;
    p.p50 = (double)s->v[i50] / NS_PER_MS;
    p.p95 = (double)s->v[i95] / NS_PER_MS;
    p.p99 = (double)s->v[i99] / NS_PER_MS;
    p.max = (double)s->v[s->n - 1] / NS_PER_MS;
    p.mean = sum / (double)s->n / NS_PER_MS;
    return p;
}

/* ------------------------------------------------------------------ JSON-ish field parsing */

/* Finds "key" : <value> in a one-line JSON object and parses a decimal
 * integer value (quoted or not).  Returns -1 when absent or not a number. */
static long json_int_field(const char *s, size_t n, const char *key)
{
    char pat[64];
    int pl = snprintf(pat, sizeof pat, "\"%s\"", key);
    if (pl <= 0 || (size_t)pl >= sizeof pat)
        return -1;
    const char *end = s + n;
    const char *p = memmem(s, n, pat, (size_t)pl);
    if (!p)
        return -1;
    p += pl;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p != ':')
        return -1;
    p++;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p < end && *p == '"')
        p++;
    if (p >= end || !isdigit((unsigned char)*p))
        return -1;
    long v = 0;
    while (p < end && isdigit((unsigned char)*p)) {
        if (v > (LONG_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*p - '0');
        p++;
    }
    return v;
}

/* True when "key":"value" occurs (spaces around the colon allowed). */
static bool json_str_field_is(const char *s, size_t n, const char *key, const char *want)
{
    char pat[64];
    int pl = snprintf(pat, sizeof pat, "\"%s\"", key);
    if (pl <= 0 || (size_t)pl >= sizeof pat)
        return false;
    const char *end = s + n;
    const char *p = memmem(s, n, pat, (size_t)pl);
    if (!p)
        return false;
    p += pl;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p != ':')
        return false;
    p++;
    while (p < end && *p == ' ')
        p++;
    if (p >= end || *p != '"')
        return false;
    p++;
    size_t wl = strlen(want);
    return (size_t)(end - p) > wl && memcmp(p, want, wl) == 0 && p[wl] == '"';
}

/* Copies the string value of "key":"value" into out (NUL-terminated, cut
 * at cap-1 bytes; \" \\ \/ are unescaped, other escapes left as written).
 * Returns the copied length, or -1 when the key is absent or its value is
 * not a string. */
static long json_str_field_copy(const char *s, size_t n, const char *key, char *out, size_t cap)
{
    char pat[64];
    int pl = snprintf(pat, sizeof pat, "\"%s\"", key);
    if (pl <= 0 || (size_t)pl >= sizeof pat || cap == 0)
        return -1;
    const char *end = s + n;
    const char *p = memmem(s, n, pat, (size_t)pl);
    if (!p)
        return -1;
    p += pl;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p != ':')
        return -1;
    p++;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    if (p >= end || *p != '"')
        return -1;
    p++;
    size_t k = 0;
    while (p < end && *p != '"') {
        if (*p == '\\' && p + 1 < end) {
            if (p[1] != '"' && p[1] != '\\' && p[1] != '/' && k + 1 < cap)
                out[k++] = *p;
            p++;
        }
        if (k + 1 < cap)
            out[k++] = *p;
        p++;
    }
    out[k] = '\0';
    return p < end ? (long)k : -1;
}

/* ------------------------------------------------------------------ sockets */

static int set_timeouts(int fd, int ms)
{
    struct timeval tv = { .tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000 };
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0)
        return -1;
    return 0;
}

/* Opens a blocking TCP connection to 127.0.0.1:port with TCP_NODELAY and
 * send/receive timeouts of timeout_ms.  Returns the fd (caller closes) or -1. */
static int tcp_connect(int port, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0 ||
        set_timeouts(fd, timeout_ms) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc;
    do {
        rc = connect(fd, (struct sockaddr *)&sa, sizeof sa);
    } while (rc != 0 && errno == EINTR);
    if (rc != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* A free loopback port (bound then released; racy but fine on a test box). */
static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = 0 };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t sl = sizeof sa;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

/* ------------------------------------------------------------------ HTTP/1.1 client */

/* One keep-alive client connection.  fd < 0 means "connect on next use". */
struct conn {
    int fd;
    int port;
    bool reused;        /* a response was already read on this fd */
    size_t rlen, roff;
    char rbuf[RBUF_CAP];
};

struct http_resp {
    int status;
    bool close;
    size_t body_len;    /* bytes stored in body (truncated at BODY_CAP-1) */
    size_t body_total;  /* bytes the server sent */
    char body[BODY_CAP];
};

enum { HTTP_OK = 0, HTTP_EIO = -1, HTTP_EOF_CLEAN = -2, HTTP_EPROTO = -3 };

static void conn_init(struct conn *c, int port)
{
    c->fd = -1;
    c->port = port;
    c->reused = false;
    c->rlen = c->roff = 0;
}

static void conn_close(struct conn *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->reused = false;
    c->rlen = c->roff = 0;
}

/* Reads more bytes into rbuf.  Returns >0 bytes, 0 on EOF, -1 on error/timeout. */
static ssize_t conn_fill(struct conn *c)
{
    if (c->roff == c->rlen)
        c->roff = c->rlen = 0;
    if (c->rlen == RBUF_CAP) {
        if (c->roff == 0)
            return -1;
        memmove(c->rbuf, c->rbuf + c->roff, c->rlen - c->roff);
        c->rlen -= c->roff;
        c->roff = 0;
    }
    for (;;) {
        ssize_t r = recv(c->fd, c->rbuf + c->rlen, RBUF_CAP - c->rlen, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r > 0)
            c->rlen += (size_t)r;
        return r;
    }
}

/* Reads one CRLF-terminated line into out (NUL-terminated, CRLF stripped). */
static int conn_line(struct conn *c, char *out, size_t cap)
{
    for (int guard = 0; guard < 1000; guard++) {
        char *s = c->rbuf + c->roff;
        char *nl = memchr(s, '\n', c->rlen - c->roff);
        if (nl) {
            size_t l = (size_t)(nl - s);
            size_t k = l;
            if (k > 0 && s[k - 1] == '\r')
                k--;
            if (k >= cap)
                return HTTP_EPROTO;
            memcpy(out, s, k);
            out[k] = '\0';
            c->roff += l + 1;
            return HTTP_OK;
        }
        ssize_t r = conn_fill(c);
        if (r <= 0)
            return HTTP_EIO;
    }
    return HTTP_EPROTO;
}

/* Consumes n body bytes, keeping what fits in resp->body. */
static int conn_take(struct conn *c, uint64_t n, struct http_resp *resp)
{
    while (n > 0) {
        if (c->roff == c->rlen) {
            ssize_t r = conn_fill(c);
            if (r <= 0)
                return HTTP_EIO;
        }
        size_t avail = c->rlen - c->roff;
        size_t k = avail < n ? avail : (size_t)n;
        size_t room = BODY_CAP - 1 - resp->body_len;
        size_t cp = k < room ? k : room;
        memcpy(resp->body + resp->body_len, c->rbuf + c->roff, cp);
        resp->body_len += cp;
        resp->body_total += k;
        c->roff += k;
        n -= k;
    }
    return HTTP_OK;
}

/* Reads one response (status line, headers, Content-Length / chunked /
 * until-close body).  HTTP_EOF_CLEAN when the peer closed before any byte. */
static int http_read_response(struct conn *c, struct http_resp *resp)
{
    resp->status = 0;
    resp->close = false;
    resp->body_len = resp->body_total = 0;
    resp->body[0] = '\0';

    if (c->roff == c->rlen) {
        ssize_t r = conn_fill(c);
        if (r == 0)
            return HTTP_EOF_CLEAN;
        if (r < 0)
            return HTTP_EIO;
    }
    char line[2048];
    int rc = conn_line(c, line, sizeof line);
    if (rc != HTTP_OK)
        return rc;
    if (strncmp(line, "HTTP/1.", 7) != 0 || strlen(line) < 12)
        return HTTP_EPROTO;
    resp->status = atoi(line + 9);
    if (line[7] == '0')
        resp->close = true;

    long long clen = -1;
    bool chunked = false;
    for (int h = 0; h < 200; h++) {
        rc = conn_line(c, line, sizeof line);
        if (rc != HTTP_OK)
            return rc;
        if (line[0] == '\0')
            break;
        if (strncasecmp(line, "content-length:", 15) == 0)
            clen = atoll(line + 15);
        else if (strncasecmp(line, "transfer-encoding:", 18) == 0 && strcasestr(line + 18, "chunked"))
            chunked = true;
        else if (strncasecmp(line, "connection:", 11) == 0) {
            if (strcasestr(line + 11, "close"))
                resp->close = true;
            else if (strcasestr(line + 11, "keep-alive"))
                resp->close = false;
        }
    }
    if ((resp->status >= 100 && resp->status < 200) || resp->status == 204 || resp->status == 304)
        return HTTP_OK;
    if (chunked) {
        for (int guard = 0; guard < 1000000; guard++) {
            rc = conn_line(c, line, sizeof line);
            if (rc != HTTP_OK)
                return rc;
            char *e;
            unsigned long long sz = strtoull(line, &e, 16);
            if (e == line)
                return HTTP_EPROTO;
            if (sz == 0) {
                for (int t = 0; t < 100; t++) { /* trailers */
                    rc = conn_line(c, line, sizeof line);
                    if (rc != HTTP_OK)
                        return rc;
                    if (line[0] == '\0')
                        break;
                }
                break;
            }
            rc = conn_take(c, sz, resp);
            if (rc != HTTP_OK)
                return rc;
            rc = conn_line(c, line, sizeof line);
            if (rc != HTTP_OK)
                return rc;
        }
    } else if (clen >= 0) {
        rc = conn_take(c, (uint64_t)clen, resp);
        if (rc != HTTP_OK)
            return rc;
    } else {
        /* until close */
        resp->close = true;
        for (long guard = 0; guard < 100000; guard++) {
            size_t avail = c->rlen - c->roff;
            if (avail > 0 && conn_take(c, avail, resp) != HTTP_OK)
                return HTTP_EIO;
            ssize_t r = conn_fill(c);
            if (r == 0)
                break;
            if (r < 0)
                return HTTP_EIO;
        }
    }
    resp->body[resp->body_len] = '\0';
    return HTTP_OK;
}

/* The benchmark's account: created by the server at first start from
 * BATCHBOX_ADMIN_EMAIL/BATCHBOX_ADMIN_PASSWORD (set before the fork). */
#define BENCH_EMAIL "bench@example.com"
#define BENCH_PASSWORD "bench-password-1"

/* "Authorization: Bearer <token>\r\n" once the benchmark has signed in
 * (empty before); written once in main before any load thread starts. */
static char g_auth[256] = "";

/* Sends one request on c (connecting if needed) and reads the response.
 * body (blen bytes, at most REQ_BODY_CAP) goes with Content-Type ctype; no
 * body when body is NULL.  Requests up to REQ_STACK_CAP bytes are built on
 * the stack (the hot path), larger ones in a heap buffer freed here; either
 * way the request goes out in one send.  Retries once on a fresh connection
 * when a reused keep-alive connection turns out to be closed by the server
 * before answering.  Returns HTTP_OK or a negative HTTP_* code (connection is
 * then closed). */
static int http_request_ct(struct conn *c, const char *method, const char *path,
                           const char *ctype, const char *body, size_t blen,
                           struct http_resp *resp)
{
    char head[1024];
    int hn;
    if (body)
        hn = snprintf(head, sizeof head,
                      "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
                      "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                      method, path, c->port, g_auth, ctype, blen);
    else
        hn = snprintf(head, sizeof head, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s\r\n",
                      method, path, c->port, g_auth);
    if (hn <= 0 || (size_t)hn >= sizeof head || (body && blen > REQ_BODY_CAP))
        return HTTP_EPROTO;
    if (!body)
        blen = 0;
    size_t n = (size_t)hn + blen;
    char stackbuf[REQ_STACK_CAP];
    char *req = n <= sizeof stackbuf ? stackbuf : malloc(n);
    if (!req)
        return HTTP_EPROTO;
    memcpy(req, head, (size_t)hn);
    if (blen > 0)
        memcpy(req + hn, body, blen);

    int result = HTTP_EIO;
    for (int attempt = 0; attempt < 2; attempt++) {
        if (c->fd < 0) {
            c->fd = tcp_connect(c->port, IO_TIMEOUT_MS);
            if (c->fd < 0) {
                result = HTTP_EIO;
                break;
            }
            c->reused = false;
            c->rlen = c->roff = 0;
        }
        bool was_reused = c->reused;
        if (send_all(c->fd, req, n) != 0) {
            conn_close(c);
            if (was_reused)
                continue;
            result = HTTP_EIO;
            break;
        }
        int rc = http_read_response(c, resp);
        if (rc == HTTP_EOF_CLEAN && was_reused) {
            conn_close(c);
            continue;
        }
        if (rc != HTTP_OK) {
            conn_close(c);
            result = rc == HTTP_EOF_CLEAN ? HTTP_EIO : rc;
            break;
        }
        c->reused = true;
        if (resp->close)
            conn_close(c);
        result = HTTP_OK;
        break;
    }
    if (req != stackbuf)
        free(req);
    return result;
}

/* http_request_ct with a JSON body (NUL-terminated) or none. */
static int http_request(struct conn *c, const char *method, const char *path,
                        const char *body, struct http_resp *resp)
{
    return http_request_ct(c, method, path, "application/json", body, body ? strlen(body) : 0,
                           resp);
}

/* GET path on a fresh connection; returns status or negative error. */
static int http_get_once(int port, const char *path, int timeout_ms)
{
    struct conn *c = xcalloc(1, sizeof *c);
    struct http_resp *r = xcalloc(1, sizeof *r);
    conn_init(c, port);
    c->fd = tcp_connect(port, timeout_ms);
    int st = -1;
    if (c->fd >= 0 && http_request(c, "GET", path, NULL, r) == HTTP_OK)
        st = r->status;
    conn_close(c);
    free(c);
    free(r);
    return st;
}

/* ------------------------------------------------------------------ SSE parser */

typedef void (*sse_cb)(void *ctx, const char *event, const char *data, size_t dlen, int64_t t);

/* Incremental reader of an SSE HTTP response: header block and optional
 * chunked transfer coding here; the event-stream lines go through the
 * project's own parser (src/infra/net/sse_parse.c, linked in by the
 * Makefile), the one the CLI uses. */
struct sse {
    int stage;          /* 0 headers, 1 body, 2 error */
    size_t hlen;
    int status;
    bool chunked;
    int cstate;         /* 0 size line, 1 data, 2 CRLF after data, 3 done */
    char csz[32];
    size_t cszlen;
    uint64_t cremain;
    bool got_retry;     /* this connection sent a retry field */
    long long last_id;  /* last event id seen, across reconnects */
    long overflows;     /* lines over SSE_LINE_CAP, across reconnects */
    bool ev_ready;      /* ev initialised (lazily: structs are calloc'd) */
    struct sse_parser ev;
    sse_cb cb;          /* the current feed's callback, context and time */
    void *ctx;
    int64_t t;
    char hdr[SSE_HDR_CAP];
};

static void sse_reset(struct sse *p)
{
    p->stage = 0;
    p->hlen = 0;
    p->status = 0;
    p->chunked = false;
    p->cstate = 0;
    p->cszlen = 0;
    p->cremain = 0;
    p->got_retry = false;
    /* an unfinished event is dropped; last_id and overflows survive reconnects */
    if (p->ev_ready)
        sse_parser_finish(&p->ev);
}

static void sse_free(struct sse *p)
{
    if (p->ev_ready)
        sse_parser_free(&p->ev);
    p->ev_ready = false;
}

static int sse_on_event(const struct sse_event *ev, void *user)
{
    struct sse *p = user;
    if (ev->id[0])
        p->last_id = strtoll(ev->id, NULL, 10);
    p->cb(p->ctx, ev->type, ev->data, ev->data_len, p->t);
    return 0;
}

static void sse_body(struct sse *p, const char *b, size_t n, sse_cb cb, void *ctx, int64_t t)
{
    if (!p->ev_ready) {
        sse_parser_init(&p->ev, SSE_LINE_CAP, SSE_LINE_CAP, p);
        p->ev_ready = true;
    }
    unsigned long dropped = p->ev.dropped_lines;
    p->cb = cb;
    p->ctx = ctx;
    p->t = t;
    if (sse_parser_feed(&p->ev, b, n, sse_on_event) < 0)
        logmsg("SSE parser: out of memory");
    p->overflows += (long)(p->ev.dropped_lines - dropped);
    if (p->ev.retry_ms >= 0)
        p->got_retry = true;
}

static void sse_dechunk(struct sse *p, const char *b, size_t n, sse_cb cb, void *ctx, int64_t t)
{
    while (n > 0 && p->stage == 1) {
        if (p->cstate == 0) {
            char ch = *b++;
            n--;
            if (ch == '\n') {
                p->csz[p->cszlen] = '\0';
                p->cremain = strtoull(p->csz, NULL, 16);
                p->cszlen = 0;
                p->cstate = p->cremain ? 1 : 3;
            } else if (ch != '\r' && p->cszlen + 1 < sizeof p->csz) {
                p->csz[p->cszlen++] = ch;
            }
        } else if (p->cstate == 1) {
            size_t k = n < p->cremain ? n : (size_t)p->cremain;
            sse_body(p, b, k, cb, ctx, t);
            b += k;
            n -= k;
            p->cremain -= k;
            if (p->cremain == 0)
                p->cstate = 2;
        } else if (p->cstate == 2) {
            char ch = *b++;
            n--;
            if (ch == '\n')
                p->cstate = 0;
        } else {
            return; /* terminal chunk seen; ignore the rest */
        }
    }
}

/* Feeds received bytes.  Returns 0, or -1 when the response is not a 200
 * (p->status says which). */
static int sse_feed(struct sse *p, const char *b, size_t n, sse_cb cb, void *ctx, int64_t t)
{
    if (p->stage == 2)
        return -1;
    if (p->stage == 0) {
        size_t room = SSE_HDR_CAP - 1 - p->hlen;
        size_t k = n < room ? n : room;
        memcpy(p->hdr + p->hlen, b, k);
        size_t old = p->hlen;
        p->hlen += k;
        p->hdr[p->hlen] = '\0';
        char *end = strstr(p->hdr, "\r\n\r\n");
        if (!end) {
            if (p->hlen == SSE_HDR_CAP - 1) {
                p->stage = 2;
                return -1;
            }
            return 0;
        }
        size_t hdr_bytes = (size_t)(end - p->hdr) + 4;
        if (strncmp(p->hdr, "HTTP/1.", 7) == 0 && p->hlen > 12)
            p->status = atoi(p->hdr + 9);
        *end = '\0';
        for (char *h = strstr(p->hdr, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
            if (strncasecmp(h + 2, "transfer-encoding:", 18) == 0 && strcasestr(h + 20, "chunked"))
                p->chunked = true;
        }
        if (p->status != 200) {
            p->stage = 2;
            return -1;
        }
        p->stage = 1;
        size_t used = hdr_bytes - old;   /* bytes of this call that were header */
        b += used;
        n -= used;
    }
    if (p->chunked)
        sse_dechunk(p, b, n, cb, ctx, t);
    else
        sse_body(p, b, n, cb, ctx, t);
    return 0;
}

/* ------------------------------------------------------------------ server process */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *f)
{
    (void)st;
    (void)flag;
    (void)f;
    if (remove(path) != 0 && errno != ENOENT)
        return 0; /* keep going; best effort */
    return 0;
}

static void remove_datadir(void)
{
    if (g_datadir[0] == '\0')
        return;
    if (nftw(g_datadir, rm_entry, 32, FTW_DEPTH | FTW_PHYS) != 0)
        logmsg("warning: could not fully remove %s", g_datadir);
}

/* Kills the server (if any) and removes the data dir unless --keep.  Only the
 * first caller does the work. */
static bool cleanup_once(void)
{
    if (atomic_exchange(&g_cleanup_claimed, true))
        return false;
    atomic_int *const slots[] = { &g_server_pid, &g_redis_pid };
    for (size_t i = 0; i < sizeof slots / sizeof slots[0]; i++) {
        int pid = atomic_exchange(slots[i], 0);
        if (pid <= 0)
            continue;
        if (kill(pid, SIGKILL) != 0 && errno != ESRCH)
            logmsg("warning: kill(%d): %s", pid, strerror(errno));
        int st;
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    }
    if (g_o.keep)
        logmsg("data dir kept: %s", g_datadir);
    else
        remove_datadir();
    return true;
}

static void print_server_log_tail(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/server.stderr.log", g_datadir);
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    static char ring[20][512];
    int n = 0;
    while (fgets(ring[n % 20], sizeof ring[0], f))
        n++;
    if (fclose(f) != 0)
        return;
    int start = n > 20 ? n - 20 : 0;
    if (n > 0)
        logmsg("last %d line(s) of the server's stderr:", n - start);
    for (int i = start; i < n; i++)
        fprintf(stderr, "  | %s", ring[i % 20]);
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    int64_t deadline = now_ns() + (int64_t)g_o.timeout_s * NS_PER_S;
    while (!atomic_load(&g_done)) {
        struct timespec ts = { .tv_sec = 0, .tv_nsec = 200 * 1000 * 1000 };
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig > 0) {
            logmsg("signal %d: stopping", sig);
            break;
        }
        if (now_ns() > deadline) {
            logmsg("watchdog: overall time limit of %d s reached", g_o.timeout_s);
            break;
        }
    }
    if (atomic_load(&g_done))
        return NULL;
    print_server_log_tail();
    cleanup_once();
    _exit(3);
}

/* fork/execs the server.  *t_fork gets the time just before fork.
 * Returns the pid or -1. */
static int server_spawn(int port, int64_t *t_fork)
{
    char listen[64], workers[16], outp[PATH_MAX + 32], errp[PATH_MAX + 32];
    snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    snprintf(workers, sizeof workers, "%d", g_o.workers);
    snprintf(outp, sizeof outp, "%s/server.stdout.log", g_datadir);
    snprintf(errp, sizeof errp, "%s/server.stderr.log", g_datadir);
    char *argv[] = { (char *)g_o.bin, "serve", "--data", g_datadir, "--listen", listen,
                     "--workers", workers, NULL };
    int fo = open(outp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int fe = open(errp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int fi = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fo < 0 || fe < 0 || fi < 0) {
        logmsg("cannot open server log files in %s: %s", g_datadir, strerror(errno));
        if (fo >= 0) close(fo);
        if (fe >= 0) close(fe);
        if (fi >= 0) close(fi);
        return -1;
    }
    sigset_t empty;
    sigemptyset(&empty);
    setenv("BATCHBOX_ADMIN_EMAIL", BENCH_EMAIL, 1);
    setenv("BATCHBOX_ADMIN_PASSWORD", BENCH_PASSWORD, 1);
    *t_fork = now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        /* child: async-signal-safe calls only */
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void)signal(SIGPIPE, SIG_DFL);
        (void)pthread_sigmask(SIG_SETMASK, &empty, NULL);
        if (dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(126);
        execv(argv[0], argv);
        _exit(127);
    }
    close(fo);
    close(fe);
    close(fi);
    if (pid < 0) {
        logmsg("fork: %s", strerror(errno));
        return -1;
    }
    atomic_store(&g_server_pid, (int)pid);
    return (int)pid;
}

/* Polls /api/v1/health on fresh connections until 200.  Returns the time of
 * the first 200, or -1 (server died or timeout_ms passed). */
static int64_t wait_healthy(int pid, int port, int timeout_ms)
{
    int64_t deadline = now_ns() + (int64_t)timeout_ms * NS_PER_MS;
    while (now_ns() < deadline) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            atomic_store(&g_server_pid, 0);
            if (WIFEXITED(st))
                logmsg("server exited with status %d before answering /health", WEXITSTATUS(st));
            else if (WIFSIGNALED(st))
                logmsg("server killed by signal %d before answering /health", WTERMSIG(st));
            return -1;
        }
        int code = http_get_once(port, "/api/v1/health", 2000);
        if (code == 200)
            return now_ns();
        sleep_ms(code < 0 ? 0.5 : 5);
    }
    logmsg("server did not answer /health with 200 within %d ms", timeout_ms);
    return -1;
}

struct stop_result {
    double ms;
    int exit_code;      /* -1 killed by signal, -2 had to SIGKILL */
};

/* SIGTERM, wait up to timeout_ms, SIGKILL if needed. */
static struct stop_result server_stop(int pid, int timeout_ms)
{
    struct stop_result r = { 0, -1 };
    int64_t t0 = now_ns();
    if (kill(pid, SIGTERM) != 0)
        logmsg("kill(SIGTERM): %s", strerror(errno));
    int64_t deadline = t0 + (int64_t)timeout_ms * NS_PER_MS;
    int st = 0;
    for (;;) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            break;
        if (w < 0 && errno != EINTR) {
            r.exit_code = -3;
            break;
        }
        if (now_ns() > deadline) {
            logmsg("server did not exit within %d ms of SIGTERM; SIGKILL", timeout_ms);
            if (kill(pid, SIGKILL) != 0)
                logmsg("kill(SIGKILL): %s", strerror(errno));
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            r.exit_code = -2;
            r.ms = (double)(now_ns() - t0) / NS_PER_MS;
            atomic_store(&g_server_pid, 0);
            return r;
        }
        sleep_ms(2);
    }
    atomic_store(&g_server_pid, 0);
    r.ms = (double)(now_ns() - t0) / NS_PER_MS;
    if (r.exit_code != -3)
        r.exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return r;
}

/* VmRSS / VmHWM of pid in kB, -1 when unreadable. */
static long proc_status_kb(int pid, const char *key)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    long v = -1;
    size_t kl = strlen(key);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
            v = atol(line + kl + 1);
            break;
        }
    }
    if (fclose(f) != 0)
        return -1;
    return v;
}

static long proc_threads(int pid)
{
    return proc_status_kb(pid, "Threads");
}

/* User+system CPU seconds used so far by pid (from /proc/PID/stat), -1 when
 * unreadable. */
static double proc_cpu_s(int pid)
{
    char path[64], rbuf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, rbuf, sizeof rbuf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    rbuf[n] = '\0';
    char *p = strrchr(rbuf, ')');
    if (!p)
        return -1;
    /* after ") " come fields 3.. ; utime is field 14, stime field 15 */
    unsigned long long ut = 0, stt = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &stt) != 2)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    return hz > 0 ? (double)(ut + stt) / (double)hz : -1;
}

/* CPU seconds of pid from /proc/PID/stat: *self = its own user+system time,
 * *children = user+system time of the children it has reaped (for the lesson
 * workflow: the espeak-ng processes).  0, or -1 when unreadable. */
static int proc_cpu_split(int pid, double *self, double *children)
{
    char path[64], rbuf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, rbuf, sizeof rbuf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    rbuf[n] = '\0';
    char *p = strrchr(rbuf, ')');
    if (!p)
        return -1;
    /* fields 14-17: utime stime cutime cstime */
    unsigned long long ut = 0, stt = 0;
    long long cut = 0, cst = 0;
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %lld %lld",
               &ut, &stt, &cut, &cst) != 4)
        return -1;
    long hz = sysconf(_SC_CLK_TCK);
    if (hz <= 0)
        return -1;
    *self = (double)(ut + stt) / (double)hz;
    *children = (double)(cut + cst) / (double)hz;
    return 0;
}

/* Resets the peak RSS (VmHWM) of pid to its current RSS (Linux ≥ 4.0:
 * "5" into /proc/PID/clear_refs).  0, or -1 when the kernel refused. */
static int proc_reset_hwm(int pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/clear_refs", pid);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, "5", 1);
    int rc = close(fd);
    return w == 1 && rc == 0 ? 0 : -1;
}

/* User+system CPU seconds used so far by this driver process. */
static double self_cpu_s(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return -1;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* CPU used by server and driver over one phase. */
struct cpu_span {
    double srv0, cli0, t0;
    double srv, cli, wall;  /* filled by cpu_span_end */
};

static void cpu_span_begin(struct cpu_span *c)
{
    c->srv0 = proc_cpu_s(atomic_load(&g_server_pid));
    c->cli0 = self_cpu_s();
    c->t0 = (double)now_ns() / NS_PER_S;
}

static void cpu_span_end(struct cpu_span *c)
{
    c->srv = proc_cpu_s(atomic_load(&g_server_pid)) - c->srv0;
    c->cli = self_cpu_s() - c->cli0;
    c->wall = (double)now_ns() / NS_PER_S - c->t0;
}

/* ------------------------------------------------------------------ results */

/* One pass of the lesson phase (cold or warm). */
struct lesson_pass {
    bool ran;
    long wanted, accepted, succeeded, failed, unfinished;
    long manifest_ok, manifest_bad, cache_hits;
    double wall_s, lps, sps;            /* first send → last succeeded event */
    struct pct lat;                     /* submit → succeeded, per job */
    double srv_self_s, srv_child_s, cli_s, cpu_wall_s;
};

struct results {
    /* idle */
    bool idle_ran;
    long rss_start_kb, rss_after_e2e_kb, hwm_kb, threads_start;
    /* e2e */
    bool e2e_ran;
    long e2e_wanted, e2e_accepted, e2e_submit_fail, e2e_missing, e2e_dups, e2e_unexpected;
    long e2e_reconnects, e2e_overflows;
    double e2e_submit_rps, e2e_jps, e2e_wall_s;
    struct pct e2e_lat, e2e_lat_pairs;
    /* paced */
    bool paced_ran;
    double paced_rate, paced_achieved;
    long paced_wanted, paced_accepted, paced_submit_fail, paced_missing, paced_dups, paced_unexpected;
    long paced_reconnects;
    double paced_max_lag_ms;
    struct pct paced_lat, paced_lat_pairs;
    /* get */
    bool get_ran;
    long get_requests, get_errors;
    double get_rps, get_seconds;
    struct pct get_lat;
    /* fanout */
    bool fan_ran;
    int fan_wanted, fan_ready, fan_rejected, fan_closed, fan_events;
    double fan_connect_s;
    long fan_missing, fan_dups, fan_rss_kb, fan_rss0_kb, fan_threads;
    struct pct fan_lat, fan_all_lat, health_lat;
    long health_fail;
    /* startup */
    bool startup_ran;
    int startup_runs;
    double startup_ms[3], startup_best, startup_median;
    double stop_ms_first;
    int stop_exit_first;
    long startup_rss_kb;
    /* lesson */
    bool lesson_ran, lesson_uploaded, lesson_hwm_reset;
    char lesson_file_id[64];
    size_t lesson_bytes;
    struct lesson_pass lesson_cold, lesson_warm;
    long lesson_rss_before_kb, lesson_rss_max_kb, lesson_hwm_kb;
    long lesson_dups, lesson_reconnects;
    /* CPU per phase */
    struct cpu_span cpu_e2e, cpu_paced, cpu_get, cpu_fan;
    /* general */
    long server_error_lines;
    bool correctness_fail;
    bool server_fail;
};

static struct results R;

/* The batch phase (docs/batches.md), apart from struct results. */
#define BATCH_CHILDREN 1000
#define BATCH_CREATES 5
static struct {
    bool ran, ok;
    double create_ms[BATCH_CREATES];   /* POST with a 1,000-value sweep → 201 */
    double create_median, create_best;
    double batch_jps;                  /* 1,000-child batch: POST → parent's succeeded event */
    double single_jps;                 /* 1,000 single POSTs → the last one's succeeded event */
} RB;

/* ------------------------------------------------------------------ id bookkeeping */

static void ids_alloc(long cap)
{
    g_id_cap = cap;
    g_submit_ns = xcalloc((size_t)cap, sizeof *g_submit_ns);
    g_phase_of_id = xcalloc((size_t)cap, 1);
    g_all_ids_cap = cap;
    g_all_ids = xcalloc((size_t)cap, sizeof *g_all_ids);
}

/* ------------------------------------------------------------------ submitters */

struct submit_phase {
    int phase;              /* value stored in g_phase_of_id */
    const char *body;       /* POST /jobs body; NULL = {"preset":"noop"} */
    long target;
    double rate;            /* 0 = unpaced */
    int64_t t0;
    atomic_long next_slot;
    atomic_long accepted;
    atomic_long failed;
    atomic_long bad_id;
    atomic_bool abort;
    long *ids;              /* accepted ids of this phase (size target) */
    atomic_long ids_n;
    atomic_int last_status; /* last non-202 status seen (diagnostics) */
    char last_body[256];
};

struct submitter {
    struct submit_phase *ph;
    pthread_t th;
    int64_t first_send, last_ok;
    double max_lag_ms;
    struct conn c;
    struct http_resp r;
};

static void record_accepted(struct submit_phase *ph, long id, int64_t t_send)
{
    g_submit_ns[id] = t_send;
    g_phase_of_id[id] = (unsigned char)ph->phase;
    long k = atomic_fetch_add(&ph->ids_n, 1);
    if (k < ph->target)
        ph->ids[k] = id;
    long a = atomic_fetch_add(&g_all_ids_n, 1);
    if (a < g_all_ids_cap)
        g_all_ids[a] = id;
}

static void *submitter_main(void *arg)
{
    struct submitter *s = arg;
    struct submit_phase *ph = s->ph;
    s->first_send = INT64_MAX;
    s->last_ok = 0;
    while (!atomic_load(&ph->abort)) {
        long slot = atomic_fetch_add(&ph->next_slot, 1);
        if (slot >= ph->target)
            break;
        if (ph->rate > 0) {
            int64_t due = ph->t0 + (int64_t)((double)slot * (double)NS_PER_S / ph->rate);
            sleep_until(due);
            double lag = (double)(now_ns() - due) / NS_PER_MS;
            if (lag > s->max_lag_ms)
                s->max_lag_ms = lag;
        }
        bool ok = false;
        for (int attempt = 0; attempt < 3 && !ok && !atomic_load(&ph->abort); attempt++) {
            int64_t t_send = now_ns();
            if (t_send < s->first_send)
                s->first_send = t_send;
            int rc = http_request(&s->c, "POST", "/api/v1/jobs",
                                  ph->body ? ph->body : "{\"preset\":\"noop\"}", &s->r);
            if (rc != HTTP_OK) {
                atomic_store(&ph->last_status, rc);
                sleep_ms(10);
                continue;
            }
            if (s->r.status != 202) {
                atomic_store(&ph->last_status, s->r.status);
                snprintf(ph->last_body, sizeof ph->last_body, "%.200s", s->r.body);
                sleep_ms(10);
                continue;
            }
            int64_t t_ok = now_ns();
            long id = json_int_field(s->r.body, s->r.body_len, "jobId");
            if (id <= 0 || id >= g_id_cap) {
                atomic_fetch_add(&ph->bad_id, 1);
                snprintf(ph->last_body, sizeof ph->last_body, "%.200s", s->r.body);
                atomic_store(&ph->abort, true);
                break;
            }
            record_accepted(ph, id, t_send);
            atomic_fetch_add(&ph->accepted, 1);
            s->last_ok = t_ok;
            ok = true;
        }
        if (!ok)
            atomic_fetch_add(&ph->failed, 1);
        if (atomic_load(&ph->failed) > 100 + ph->target / 10) {
            atomic_store(&ph->abort, true);
            break;
        }
    }
    conn_close(&s->c);
    return NULL;
}

struct submit_outcome {
    int64_t first_send, last_ok;
    double max_lag_ms;
    bool ok;
};

/* Runs a submit phase with conc connections; blocks until done. */
static struct submit_outcome run_submitters(struct submit_phase *ph, int conc)
{
    struct submit_outcome out = { INT64_MAX, 0, 0, true };
    struct submitter *subs = xcalloc((size_t)conc, sizeof *subs);
    int started = 0;
    ph->t0 = now_ns() + 2 * NS_PER_MS;
    for (int i = 0; i < conc; i++) {
        subs[i].ph = ph;
        conn_init(&subs[i].c, g_port);
        if (pthread_create(&subs[i].th, NULL, submitter_main, &subs[i]) != 0) {
            logmsg("pthread_create failed for submitter %d", i);
            atomic_store(&ph->abort, true);
            out.ok = false;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) {
        if (pthread_join(subs[i].th, NULL) != 0)
            logmsg("pthread_join failed");
        if (subs[i].first_send < out.first_send)
            out.first_send = subs[i].first_send;
        if (subs[i].last_ok > out.last_ok)
            out.last_ok = subs[i].last_ok;
        if (subs[i].max_lag_ms > out.max_lag_ms)
            out.max_lag_ms = subs[i].max_lag_ms;
    }
    free(subs);
    if (atomic_load(&ph->bad_id) > 0) {
        logmsg("a 202 carried a jobId outside 1..%ld (body: %s)", g_id_cap - 1, ph->last_body);
        out.ok = false;
    }
    if (atomic_load(&ph->failed) > 0)
        logmsg("%ld submit(s) failed after 3 tries; last status/error %d, last body: %s",
               atomic_load(&ph->failed), atomic_load(&ph->last_status), ph->last_body);
    return out;
}

/* ------------------------------------------------------------------ SSE listeners (thread each) */

struct listener {
    int idx;
    pthread_t th;
    atomic_bool *stop;
    atomic_long *seen_total;
    int64_t *seen_ns;        /* by jobId: first succeeded event arrival */
    uint16_t *seen_cnt;      /* by jobId: how many succeeded events */
    atomic_bool ready;
    atomic_bool dead;
    long reconnects;
    long out_of_range;
    long non200;
    int last_status;
    struct sse p;
};

static void listener_cb(void *ctx, const char *event, const char *data, size_t dlen, int64_t t)
{
    struct listener *l = ctx;
    if (strcmp(event, "job_state_changed") != 0)
        return;
    if (!json_str_field_is(data, dlen, "state", "succeeded"))
        return;
    long id = json_int_field(data, dlen, "jobId");
    if (id <= 0 || id >= g_id_cap) {
        l->out_of_range++;
        return;
    }
    if (l->seen_cnt[id] == 0) {
        l->seen_ns[id] = t;
        atomic_fetch_add(l->seen_total, 1);
    }
    if (l->seen_cnt[id] < UINT16_MAX)
        l->seen_cnt[id]++;
}

/* Opens the SSE request on a new socket with a short receive timeout. */
static int sse_open(int port, long long last_id, int rcv_ms)
{
    int fd = tcp_connect(port, IO_TIMEOUT_MS);
    if (fd < 0)
        return -1;
    char req[512];
    int n;
    if (last_id > 0)
        n = snprintf(req, sizeof req,
                     "GET /api/v1/jobs/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
                     "Accept: text/event-stream\r\nLast-Event-ID: %lld\r\n\r\n", port, g_auth,
                     last_id);
    else
        n = snprintf(req, sizeof req,
                     "GET /api/v1/jobs/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n%s"
                     "Accept: text/event-stream\r\n\r\n", port, g_auth);
    if (n <= 0 || (size_t)n >= sizeof req || send_all(fd, req, (size_t)n) != 0 ||
        (rcv_ms > 0 && set_timeouts(fd, rcv_ms) != 0)) {
        close(fd);
        return -1;
    }
    return fd;
}

/* One reconnecting SSE subscription (an e2e listener, the lesson watcher):
 * reads until *stop, reconnecting with Last-Event-ID at most
 * SSE_RECONNECTS times (then *dead); *ready once the stream sent retry:.
 * The counters are owned by the thread running the loop. */
struct sse_loop {
    const char *who;          /* "SSE listener 3", "lesson: SSE listener" */
    struct sse *p;
    const atomic_bool *stop;
    atomic_bool *ready, *dead;
    long *reconnects, *non200; /* non200 may be NULL */
    int *last_status;
    sse_cb cb;
    void *ctx;
};

static void sse_loop_run(const struct sse_loop *s)
{
    char *rbuf = xcalloc(1, RBUF_CAP);
    int fd = -1;
    int attempts = 0;
    while (!atomic_load(s->stop)) {
        if (fd < 0) {
            if (attempts > SSE_RECONNECTS) {
                logmsg("%s: giving up after %d reconnects", s->who, SSE_RECONNECTS);
                atomic_store(s->dead, true);
                break;
            }
            if (attempts > 0) {
                (*s->reconnects)++;
                sleep_ms(50);
            }
            attempts++;
            sse_reset(s->p);
            fd = sse_open(g_port, s->p->last_id, 200);
            if (fd < 0)
                continue;
        }
        ssize_t r = recv(fd, rbuf, RBUF_CAP, 0);
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
            continue;
        if (r <= 0) {
            if (!atomic_load(s->stop))
                logmsg("%s: connection %s (last event id %lld)", s->who,
                       r == 0 ? "closed by server" : "error", s->p->last_id);
            close(fd);
            fd = -1;
            continue;
        }
        if (sse_feed(s->p, rbuf, (size_t)r, s->cb, s->ctx, now_ns()) != 0) {
            if (s->non200)
                (*s->non200)++;
            *s->last_status = s->p->status;
            close(fd);
            fd = -1;
            continue;
        }
        if (s->p->got_retry && !atomic_load(s->ready))
            atomic_store(s->ready, true);
    }
    if (fd >= 0)
        close(fd);
    free(rbuf);
}

static void *listener_main(void *arg)
{
    struct listener *l = arg;
    char who[48];
    snprintf(who, sizeof who, "SSE listener %d", l->idx);
    struct sse_loop s = {
        .who = who, .p = &l->p, .stop = l->stop, .ready = &l->ready, .dead = &l->dead,
        .reconnects = &l->reconnects, .non200 = &l->non200, .last_status = &l->last_status,
        .cb = listener_cb, .ctx = l,
    };
    sse_loop_run(&s);
    return NULL;
}

/* ------------------------------------------------------------------ e2e / paced phase */

struct flow_result {
    long wanted, accepted, failed, missing, dups, unexpected, reconnects, overflows;
    double submit_rps, jps, wall_s, max_lag_ms, achieved_rate;
    struct pct lat, lat_pairs;
    struct cpu_span cpu;
    bool ok;
};

static struct flow_result run_flow(int phase, long njobs, double rate, const char *name)
{
    struct flow_result fr = { 0 };
    fr.wanted = njobs;
    fr.ok = true;
    int k = g_o.sse;
    atomic_bool stop = false;
    atomic_long seen_total = 0;
    struct listener *ls = xcalloc((size_t)k, sizeof *ls);
    int started = 0;
    for (int i = 0; i < k; i++) {
        ls[i].idx = i;
        ls[i].stop = &stop;
        ls[i].seen_total = &seen_total;
        ls[i].seen_ns = xcalloc((size_t)g_id_cap, sizeof *ls[i].seen_ns);
        ls[i].seen_cnt = xcalloc((size_t)g_id_cap, sizeof *ls[i].seen_cnt);
        if (pthread_create(&ls[i].th, NULL, listener_main, &ls[i]) != 0) {
            logmsg("pthread_create failed for SSE listener %d", i);
            fr.ok = false;
            break;
        }
        started++;
    }
    /* wait until every listener got the retry: line */
    int64_t deadline = now_ns() + 15 * NS_PER_S;
    int ready = 0;
    while (fr.ok && now_ns() < deadline) {
        ready = 0;
        for (int i = 0; i < started; i++)
            ready += atomic_load(&ls[i].ready) ? 1 : 0;
        if (ready == k)
            break;
        sleep_ms(5);
    }
    if (ready != k) {
        logmsg("%s: only %d of %d SSE listeners connected (last status %d)", name, ready, k,
               started > 0 ? ls[0].last_status : 0);
        fr.ok = false;
    }

    struct submit_phase *ph = xcalloc(1, sizeof *ph);
    ph->phase = phase;
    ph->target = njobs;
    ph->rate = rate;
    ph->ids = xcalloc((size_t)njobs, sizeof *ph->ids);
    struct submit_outcome so = { INT64_MAX, 0, 0, false };
    cpu_span_begin(&fr.cpu);
    if (fr.ok) {
        if (rate > 0)
            logmsg("%s: submitting %ld noop jobs at %.0f/s over %d connections, %d SSE listeners",
                   name, njobs, rate, g_o.conc, k);
        else
            logmsg("%s: submitting %ld noop jobs over %d connections, %d SSE listeners",
                   name, njobs, g_o.conc, k);
        so = run_submitters(ph, g_o.conc);
        if (!so.ok)
            fr.ok = false;
    }
    fr.accepted = atomic_load(&ph->accepted);
    fr.failed = njobs - fr.accepted; /* failed after retries, or never sent (abort) */
    fr.max_lag_ms = so.max_lag_ms;

    /* wait for all succeeded events to reach all listeners (no-progress timeout) */
    if (fr.ok && fr.accepted > 0) {
        long want = fr.accepted * k;
        long last = -1;
        int64_t last_change = now_ns();
        for (;;) {
            long cur = atomic_load(&seen_total);
            if (cur >= want)
                break;
            int dead = 0;
            for (int i = 0; i < started; i++)
                dead += atomic_load(&ls[i].dead) ? 1 : 0;
            if (dead > 0) {
                logmsg("%s: %d SSE listener(s) gave up", name, dead);
                break;
            }
            if (cur != last) {
                last = cur;
                last_change = now_ns();
            } else if (now_ns() - last_change > NO_PROGRESS_NS) {
                logmsg("%s: no succeeded events for %lld s; %ld of %ld deliveries seen", name,
                       NO_PROGRESS_NS / NS_PER_S, cur, want);
                break;
            }
            sleep_ms(2);
        }
    }
    cpu_span_end(&fr.cpu);
    sleep_ms(300); /* let stray duplicates arrive before counting */
    atomic_store(&stop, true);
    for (int i = 0; i < started; i++)
        if (pthread_join(ls[i].th, NULL) != 0)
            logmsg("pthread_join failed");

    /* account */
    long n_ids = atomic_load(&ph->ids_n);
    if (n_ids > njobs)
        n_ids = njobs;
    struct samples lat = { 0 }, pairs = { 0 };
    int64_t t_end = 0;
    for (long j = 0; j < n_ids; j++) {
        long id = ph->ids[j];
        int64_t worst = -1;
        bool all = true;
        for (int i = 0; i < k; i++) {
            uint16_t c = ls[i].seen_cnt[id];
            if (c == 0) {
                fr.missing++;
                all = false;
                continue;
            }
            if (c > 1)
                fr.dups += c - 1;
            int64_t d = ls[i].seen_ns[id] - g_submit_ns[id];
            samples_add(&pairs, d);
            if (d > worst)
                worst = d;
            if (ls[i].seen_ns[id] > t_end)
                t_end = ls[i].seen_ns[id];
        }
        if (all)
            samples_add(&lat, worst);
    }
    for (int i = 0; i < k; i++) {
        for (long id = 1; id < g_id_cap; id++)
            if (ls[i].seen_cnt[id] > 0 && g_phase_of_id[id] != phase)
                fr.unexpected++;
        fr.unexpected += ls[i].out_of_range;
        fr.reconnects += ls[i].reconnects;
        fr.overflows += ls[i].p.overflows;
    }
    fr.lat = samples_pct(&lat);
    fr.lat_pairs = samples_pct(&pairs);
    if (fr.accepted > 0 && so.last_ok > so.first_send) {
        fr.submit_rps = (double)fr.accepted / ((double)(so.last_ok - so.first_send) / NS_PER_S);
        fr.achieved_rate = fr.submit_rps;
    }
    if (fr.accepted > 0 && t_end > so.first_send) {
        fr.wall_s = (double)(t_end - so.first_send) / NS_PER_S;
        fr.jps = (double)fr.accepted / fr.wall_s;
    }
    if (fr.missing > 0 || fr.failed > 0 || fr.dups > 0 || fr.unexpected > 0)
        fr.ok = false;
    logmsg("%s: accepted %ld/%ld, submit %.0f req/s, end-to-end %.0f jobs/s, latency p50 %.2f "
           "p99 %.2f max %.2f ms, missing %ld, duplicates %ld, unexpected %ld, reconnects %ld",
           name, fr.accepted, njobs, fr.submit_rps, fr.jps, fr.lat.p50, fr.lat.p99, fr.lat.max,
           fr.missing, fr.dups, fr.unexpected, fr.reconnects);
    samples_free(&lat);
    samples_free(&pairs);
    for (int i = 0; i < k; i++) {
        free(ls[i].seen_ns);
        free(ls[i].seen_cnt);
        sse_free(&ls[i].p);
    }
    free(ls);
    free(ph->ids);
    free(ph);
    return fr;
}

/* ------------------------------------------------------------------ seed jobs (for --only get) */

static bool seed_jobs(long n)
{
    struct submit_phase *ph = xcalloc(1, sizeof *ph);
    ph->phase = 9;
    ph->target = n;
    ph->ids = xcalloc((size_t)n, sizeof *ph->ids);
    struct submit_outcome so = run_submitters(ph, g_o.conc);
    bool ok = so.ok && atomic_load(&ph->accepted) == n;
    free(ph->ids);
    free(ph);
    return ok;
}

/* ------------------------------------------------------------------ GET phase */

struct getter {
    pthread_t th;
    int64_t deadline;
    uint64_t rng;
    long requests, errors;
    struct samples lat;
    struct conn c;
    struct http_resp r;
};

static void *getter_main(void *arg)
{
    struct getter *g = arg;
    long nids = atomic_load(&g_all_ids_n);
    if (nids > g_all_ids_cap)
        nids = g_all_ids_cap;
    char path[64];
    for (long guard = 0; guard < 100000000L; guard++) {
        int64_t t0 = now_ns();
        if (t0 >= g->deadline)
            break;
        g->rng ^= g->rng << 13;
        g->rng ^= g->rng >> 7;
        g->rng ^= g->rng << 17;
        long id = g_all_ids[(long)(g->rng % (uint64_t)nids)];
        snprintf(path, sizeof path, "/api/v1/jobs/%ld", id);
        int rc = http_request(&g->c, "GET", path, NULL, &g->r);
        int64_t t1 = now_ns();
        g->requests++;
        if (rc != HTTP_OK || g->r.status != 200 || json_int_field(g->r.body, g->r.body_len, "jobId") != id) {
            g->errors++;
            if (rc != HTTP_OK)
                sleep_ms(5);
            continue;
        }
        samples_add(&g->lat, t1 - t0);
    }
    conn_close(&g->c);
    return NULL;
}

static void run_get(void)
{
    long nids = atomic_load(&g_all_ids_n);
    if (nids == 0) {
        logmsg("get: no jobs yet; seeding 2000");
        if (!seed_jobs(2000)) {
            logmsg("get: seeding failed");
            R.server_fail = true;
            return;
        }
    }
    logmsg("get: %d keep-alive connections for %.1f s over %ld job ids", GET_CONNS,
           g_o.get_seconds, atomic_load(&g_all_ids_n));
    struct getter *gs = xcalloc(GET_CONNS, sizeof *gs);
    cpu_span_begin(&R.cpu_get);
    int64_t t0 = now_ns();
    int64_t deadline = t0 + (int64_t)(g_o.get_seconds * NS_PER_S);
    int started = 0;
    for (int i = 0; i < GET_CONNS; i++) {
        gs[i].deadline = deadline;
        gs[i].rng = 0x9E3779B97F4A7C15ULL * (uint64_t)(i + 1);
        conn_init(&gs[i].c, g_port);
        if (pthread_create(&gs[i].th, NULL, getter_main, &gs[i]) != 0) {
            logmsg("pthread_create failed for getter %d", i);
            break;
        }
        started++;
    }
    struct samples all = { 0 };
    for (int i = 0; i < started; i++) {
        if (pthread_join(gs[i].th, NULL) != 0)
            logmsg("pthread_join failed");
        R.get_requests += gs[i].requests;
        R.get_errors += gs[i].errors;
        samples_merge(&all, &gs[i].lat);
        samples_free(&gs[i].lat);
    }
    double secs = (double)(now_ns() - t0) / NS_PER_S;
    cpu_span_end(&R.cpu_get);
    R.get_ran = true;
    R.get_seconds = secs;
    R.get_rps = (double)(R.get_requests - R.get_errors) / secs;
    R.get_lat = samples_pct(&all);
    samples_free(&all);
    free(gs);
    logmsg("get: %.0f req/s, p50 %.2f ms, p99 %.2f ms, errors %ld", R.get_rps, R.get_lat.p50,
           R.get_lat.p99, R.get_errors);
}

/* ------------------------------------------------------------------ fan-out phase */

struct fev {
    long id;
    int64_t t;
};

struct fsub {
    int fd;
    bool ready;
    bool rejected;
    bool closed;
    int nev, evcap;
    struct fev *ev;
    struct sse p;
};

struct fan_worker {
    pthread_t th;
    int ep;
    atomic_bool *stop;
};

static atomic_int g_fan_ready, g_fan_rejected, g_fan_closed;
static atomic_long g_fan_created;

static void fan_cb(void *ctx, const char *event, const char *data, size_t dlen, int64_t t)
{
    struct fsub *s = ctx;
    if (strcmp(event, "job_created") != 0)
        return;
    long id = json_int_field(data, dlen, "jobId");
    if (id <= 0)
        return;
    if (s->nev < s->evcap) {
        s->ev[s->nev].id = id;
        s->ev[s->nev].t = t;
        s->nev++;
    }
    atomic_fetch_add(&g_fan_created, 1);
}

static void fsub_close(struct fsub *s)
{
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    s->closed = true;
}

static void *fan_worker_main(void *arg)
{
    struct fan_worker *w = arg;
    struct epoll_event evs[128];
    char *rbuf = xcalloc(1, RBUF_CAP);
    while (!atomic_load(w->stop)) {
        int n = epoll_wait(w->ep, evs, 128, 100);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            logmsg("epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            struct fsub *s = evs[i].data.ptr;
            for (int rounds = 0; rounds < 16 && s->fd >= 0; rounds++) {
                ssize_t r = recv(s->fd, rbuf, RBUF_CAP, 0);
                if (r < 0 && errno == EINTR)
                    continue;
                if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
                    break;
                if (r <= 0) {
                    fsub_close(s);
                    atomic_fetch_add(&g_fan_closed, 1);
                    break;
                }
                if (sse_feed(&s->p, rbuf, (size_t)r, fan_cb, s, now_ns()) != 0) {
                    s->rejected = true;
                    atomic_fetch_add(&g_fan_rejected, 1);
                    fsub_close(s);
                    break;
                }
                if (s->p.got_retry && !s->ready) {
                    s->ready = true;
                    atomic_fetch_add(&g_fan_ready, 1);
                }
            }
        }
    }
    free(rbuf);
    return NULL;
}

static void raise_nofile(long want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    rlim_t target = (rlim_t)want;
    if (rl.rlim_max != RLIM_INFINITY && target > rl.rlim_max)
        target = rl.rlim_max;
    if (rl.rlim_cur < target) {
        rl.rlim_cur = target;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
            logmsg("setrlimit(NOFILE, %ld): %s", (long)target, strerror(errno));
    }
}

static void run_fanout(int pid)
{
    int S = g_o.fanout, M = g_o.fan_events;
    R.fan_ran = true;
    R.fan_wanted = S;
    R.fan_events = M;
    atomic_store(&g_fan_ready, 0);
    atomic_store(&g_fan_rejected, 0);
    atomic_store(&g_fan_closed, 0);
    atomic_store(&g_fan_created, 0);
    atomic_bool stop = false;
    struct fsub *subs = xcalloc((size_t)S, sizeof *subs);
    struct fan_worker ws[FAN_THREADS];
    int wstarted = 0;
    for (int i = 0; i < FAN_THREADS; i++) {
        ws[i].stop = &stop;
        ws[i].ep = epoll_create1(EPOLL_CLOEXEC);
        if (ws[i].ep < 0 || pthread_create(&ws[i].th, NULL, fan_worker_main, &ws[i]) != 0) {
            logmsg("fanout: cannot start epoll thread %d", i);
            if (ws[i].ep >= 0)
                close(ws[i].ep);
            break;
        }
        wstarted++;
    }
    R.fan_rss0_kb = proc_status_kb(pid, "VmRSS");
    logmsg("fanout: opening %d SSE subscribers (server RSS before: %ld kB)", S, R.fan_rss0_kb);
    int64_t tc0 = now_ns();
    int opened = 0;
    for (int i = 0; i < S && wstarted == FAN_THREADS; i++) {
        struct fsub *s = &subs[i];
        s->evcap = M + 16;
        s->ev = xcalloc((size_t)s->evcap, sizeof *s->ev);
        s->fd = sse_open(g_port, 0, 0);
        if (s->fd < 0) {
            logmsg("fanout: connect/send failed for subscriber %d: %s", i, strerror(errno));
            s->closed = true;
            break;
        }
        int fl = fcntl(s->fd, F_GETFL);
        struct epoll_event ev = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = s };
        if (fl < 0 || fcntl(s->fd, F_SETFL, fl | O_NONBLOCK) != 0 ||
            epoll_ctl(ws[i % FAN_THREADS].ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
            logmsg("fanout: fcntl/epoll_ctl failed for subscriber %d", i);
            fsub_close(s);
            break;
        }
        opened++;
    }
    int64_t deadline = now_ns() + 60 * NS_PER_S;
    while (now_ns() < deadline &&
           atomic_load(&g_fan_ready) + atomic_load(&g_fan_rejected) + atomic_load(&g_fan_closed) < opened)
        sleep_ms(5);
    R.fan_connect_s = (double)(now_ns() - tc0) / NS_PER_S;
    R.fan_ready = atomic_load(&g_fan_ready);
    R.fan_rejected = atomic_load(&g_fan_rejected);
    R.fan_rss_kb = proc_status_kb(pid, "VmRSS");
    R.fan_threads = proc_threads(pid);
    logmsg("fanout: %d opened, %d streaming, %d rejected (non-200), %d closed, in %.2f s; "
           "server RSS %ld kB, %ld threads", opened, R.fan_ready, R.fan_rejected,
           atomic_load(&g_fan_closed), R.fan_connect_s, R.fan_rss_kb, R.fan_threads);

    /* submit M jobs 100 ms apart; a /health on a fresh connection after each */
    struct conn *c = xcalloc(1, sizeof *c);
    struct http_resp *r = xcalloc(1, sizeof *r);
    conn_init(c, g_port);
    long *ids = xcalloc((size_t)M, sizeof *ids);
    int64_t *sent = xcalloc((size_t)M, sizeof *sent);
    struct samples hl = { 0 };
    int64_t t0 = now_ns() + 50 * NS_PER_MS;
    int submitted = 0;
    cpu_span_begin(&R.cpu_fan);
    for (int m = 0; m < M && R.fan_ready > 0; m++) {
        sleep_until(t0 + (int64_t)m * 100 * NS_PER_MS);
        int64_t ts = now_ns();
        int rc = http_request(c, "POST", "/api/v1/jobs", "{\"preset\":\"noop\"}", r);
        if (rc != HTTP_OK || r->status != 202) {
            logmsg("fanout: submit %d failed (rc %d, status %d)", m, rc, r->status);
            continue;
        }
        long id = json_int_field(r->body, r->body_len, "jobId");
        if (id <= 0 || id >= g_id_cap) {
            logmsg("fanout: bad jobId in %s", r->body);
            continue;
        }
        ids[submitted] = id;
        sent[submitted] = ts;
        submitted++;
        g_phase_of_id[id] = 5;
        g_submit_ns[id] = ts;
        int64_t h0 = now_ns();
        int st = http_get_once(g_port, "/api/v1/health", IO_TIMEOUT_MS);
        int64_t h1 = now_ns();
        if (st == 200)
            samples_add(&hl, h1 - h0);
        else
            R.health_fail++;
    }
    conn_close(c);
    /* wait for delivery to every streaming subscriber */
    long want = (long)submitted * R.fan_ready;
    int64_t last_change = now_ns();
    long last = -1;
    for (;;) {
        long cur = atomic_load(&g_fan_created);
        if (cur >= want)
            break;
        if (cur != last) {
            last = cur;
            last_change = now_ns();
        } else if (now_ns() - last_change > 10 * NS_PER_S) {
            logmsg("fanout: delivery stalled at %ld of %ld", cur, want);
            break;
        }
        sleep_ms(5);
    }
    cpu_span_end(&R.cpu_fan);
    sleep_ms(200);
    atomic_store(&stop, true);
    for (int i = 0; i < wstarted; i++) {
        if (pthread_join(ws[i].th, NULL) != 0)
            logmsg("pthread_join failed");
        close(ws[i].ep);
    }
    R.fan_closed = atomic_load(&g_fan_closed);
    struct samples pairs = { 0 }, toall = { 0 };
    for (int m = 0; m < submitted; m++) {
        int64_t worst = -1;
        bool all = true;
        for (int i = 0; i < S; i++) {
            struct fsub *s = &subs[i];
            if (!s->ready)
                continue;
            int found = 0;
            int64_t t = 0;
            for (int e = 0; e < s->nev; e++)
                if (s->ev[e].id == ids[m]) {
                    if (found == 0)
                        t = s->ev[e].t;
                    found++;
                }
            if (found == 0) {
                R.fan_missing++;
                all = false;
                continue;
            }
            R.fan_dups += found - 1;
            int64_t d = t - sent[m];
            samples_add(&pairs, d);
            if (d > worst)
                worst = d;
        }
        if (all && worst >= 0)
            samples_add(&toall, worst);
    }
    R.fan_lat = samples_pct(&pairs);
    R.fan_all_lat = samples_pct(&toall);
    R.health_lat = samples_pct(&hl);
    R.fan_events = submitted;
    logmsg("fanout: %d events to %d subscribers: p50 %.2f ms, p99 %.2f ms, max %.2f ms, "
           "missing %ld; /health max %.2f ms", submitted, R.fan_ready, R.fan_lat.p50,
           R.fan_lat.p99, R.fan_lat.max, R.fan_missing, R.health_lat.max);
    if (R.fan_missing > 0 || R.fan_dups > 0)
        R.correctness_fail = true;
    for (int i = 0; i < S; i++) {
        fsub_close(&subs[i]);
        free(subs[i].ev);
        sse_free(&subs[i].p);
    }
    samples_free(&pairs);
    samples_free(&toall);
    samples_free(&hl);
    free(subs);
    free(c);
    free(r);
    free(ids);
    free(sent);
}

/* ------------------------------------------------------------------ lesson phase */

/* The lesson every lesson job narrates (docs/lesson-format.md): a two-speaker
 * dialogue of LESSON_SEGMENTS speaker lines (the stage direction is not
 * spoken), plus vocabulary and exercises that are rendered but not spoken.
 * In the preset's auto mode the speaker lines are the speech segments. */
static const char LESSON_MD[] =
    "---\n"
    "title: Booking a Table\n"
    "level: A2\n"
    "topic: Restaurants and phone calls\n"
    "---\n"
    "\n"
    "# Booking a Table\n"
    "\n"
    "Sam phones a small Italian restaurant to book a table for Saturday.\n"
    "\n"
    "## Dialogue\n"
    "\n"
    "**Waiter:** Good evening, Luigi's Trattoria. How can I help you?\n"
    "**Sam:** Hello. I'd like to book a table for four people, please.\n"
    "**Waiter:** Of course. For which day?\n"
    "**Sam:** This Saturday, at about half past seven.\n"
    "**Waiter:** Let me check. Yes, we have a table by the window at seven thirty.\n"
    "**Sam:** Perfect. Do you have any vegetarian dishes?\n"
    "**Waiter:** Yes, several. Our mushroom risotto is very popular.\n"
    "(Sam writes down the time.)\n"
    "**Sam:** Great. The booking is under the name Taylor.\n"
    "**Waiter:** Thank you, Ms Taylor. See you on Saturday!\n"
    "**Sam:** Thanks a lot. Goodbye!\n"
    "\n"
    "## Vocabulary\n"
    "\n"
    "- **to book** — to arrange something for later, such as a table or a ticket\n"
    "- **by the window** — next to the window\n"
    "- **vegetarian** — without meat or fish\n"
    "- **popular** — liked by many people\n"
    "\n"
    "## Exercises\n"
    "\n"
    "1. How many people is the table for?\n"
    "2. What time is the booking?\n"
    "3. Write a short phone call in which you book a table for two.\n";
#define LESSON_SEGMENTS 10
#define LESSON_FILENAME "bench-lesson.md"

enum { LW_NONE = 0, LW_SUCCEEDED = 1, LW_FAILED = 2, LW_CANCELED = 3 };

/* One SSE listener for the whole lesson phase: records, per jobId, the first
 * terminal job_state_changed event (state and arrival time). */
struct lesson_watch {
    pthread_t th;
    atomic_bool stop, ready, dead, have_error;
    atomic_long dups;        /* terminal events for a job already terminal */
    atomic_int *state;       /* by jobId: LW_* (stored after done_ns) */
    int64_t *done_ns;        /* by jobId: arrival of the terminal event */
    long reconnects;
    int last_status;
    char first_error[384];   /* set once, before have_error */
    struct sse p;
};

static void lesson_cb(void *ctx, const char *event, const char *data, size_t dlen, int64_t t)
{
    struct lesson_watch *w = ctx;
    if (strcmp(event, "job_state_changed") != 0)
        return;
    int st;
    if (json_str_field_is(data, dlen, "state", "succeeded"))
        st = LW_SUCCEEDED;
    else if (json_str_field_is(data, dlen, "state", "failed"))
        st = LW_FAILED;
    else if (json_str_field_is(data, dlen, "state", "canceled"))
        st = LW_CANCELED;
    else
        return;
    long id = json_int_field(data, dlen, "jobId");
    if (id <= 0 || id >= g_id_cap)
        return;
    if (atomic_load(&w->state[id]) != LW_NONE) {
        atomic_fetch_add(&w->dups, 1);
        return;
    }
    w->done_ns[id] = t;
    if (st != LW_SUCCEEDED && !atomic_load(&w->have_error)) {
        char err[300];
        if (json_str_field_copy(data, dlen, "error", err, sizeof err) < 0)
            snprintf(err, sizeof err, "(no error text in the event)");
        snprintf(w->first_error, sizeof w->first_error, "job %ld %s: %s", id,
                 st == LW_FAILED ? "failed" : "was canceled", err);
        atomic_store(&w->have_error, true);
    }
    atomic_store(&w->state[id], st);
}

static void *lesson_watch_main(void *arg)
{
    struct lesson_watch *w = arg;
    struct sse_loop s = {
        .who = "lesson: SSE listener", .p = &w->p, .stop = &w->stop, .ready = &w->ready,
        .dead = &w->dead, .reconnects = &w->reconnects, .last_status = &w->last_status,
        .cb = lesson_cb, .ctx = w,
    };
    sse_loop_run(&s);
    return NULL;
}

/* Uploads LESSON_MD; fills R.lesson_file_id.  0, or -1 (logged). */
static int lesson_upload(void)
{
    struct conn *c = xcalloc(1, sizeof *c);
    struct http_resp *r = xcalloc(1, sizeof *r);
    conn_init(c, g_port);
    size_t len = strlen(LESSON_MD);
    int rc = http_request_ct(c, "POST", "/api/v1/uploads?filename=" LESSON_FILENAME,
                             "text/markdown", LESSON_MD, len, r);
    int out = -1;
    if (rc != HTTP_OK)
        logmsg("lesson: uploading %s failed (client error %d)", LESSON_FILENAME, rc);
    else if (r->status != 201)
        logmsg("lesson: uploading %s answered %d, not 201: %.300s", LESSON_FILENAME, r->status,
               r->body);
    else if (json_str_field_copy(r->body, r->body_len, "fileId", R.lesson_file_id,
                                 sizeof R.lesson_file_id) <= 0 ||
             strspn(R.lesson_file_id, "abcdefghijklmnopqrstuvwxyz0123456789_-") !=
                 strlen(R.lesson_file_id))
        logmsg("lesson: the upload's 201 carries no usable fileId: %.300s", r->body);
    else {
        R.lesson_bytes = len;
        logmsg("lesson: uploaded %s as %s (%zu bytes, %d speaker lines)", LESSON_FILENAME,
               R.lesson_file_id, len, LESSON_SEGMENTS);
        out = 0;
    }
    conn_close(c);
    free(c);
    free(r);
    return out;
}

/* Fetches job id's manifest.json and checks its tts block: LESSON_SEGMENTS
 * segments, and none (cold) or all (warm) from the cache.  Returns 0 when it
 * holds, -1 with the reason in why. */
static int lesson_check_manifest(struct conn *c, struct http_resp *r, long id, bool cold,
                                 long *hits, char *why, size_t cap)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/jobs/%ld/artifacts/manifest.json", id);
    int rc = http_request(c, "GET", path, NULL, r);
    if (rc != HTTP_OK) {
        snprintf(why, cap, "GET %s failed (client error %d)", path, rc);
        return -1;
    }
    if (r->status != 200) {
        snprintf(why, cap, "GET %s answered %d: %.120s", path, r->status, r->body);
        return -1;
    }
    if (r->body_total > r->body_len) {
        snprintf(why, cap, "manifest.json of job %ld is %zu bytes; the driver keeps %d", id,
                 r->body_total, BODY_CAP - 1);
        return -1;
    }
    /* the tts block is the last "tts" key of the document */
    const char *tts = NULL;
    for (const char *p = r->body; p < r->body + r->body_len;) {
        const char *q = memmem(p, (size_t)(r->body + r->body_len - p), "\"tts\":", 6);
        if (!q)
            break;
        tts = q;
        p = q + 6;
    }
    if (!tts) {
        snprintf(why, cap, "manifest.json of job %ld has no \"tts\" block", id);
        return -1;
    }
    size_t rest = (size_t)(r->body + r->body_len - tts);
    long segs = json_int_field(tts, rest, "segments");
    long h = json_int_field(tts, rest, "cacheHits");
    if (segs < 0 || h < 0) {
        snprintf(why, cap, "manifest.json of job %ld: tts.segments / tts.cacheHits missing", id);
        return -1;
    }
    *hits = h;
    if (segs != LESSON_SEGMENTS) {
        snprintf(why, cap, "job %ld: the manifest lists %ld segments, the lesson has %d", id,
                 segs, LESSON_SEGMENTS);
        return -1;
    }
    if (cold && h != 0) {
        snprintf(why, cap, "job %ld ran with forceTts but %ld of %ld segments came from the "
                 "cache", id, h, segs);
        return -1;
    }
    if (!cold && h != segs) {
        snprintf(why, cap, "job %ld ran warm but only %ld of %ld segments came from the cache",
                 id, h, segs);
        return -1;
    }
    return 0;
}

/* True while the server process is alive; reaps it (and says so) when not. */
static bool lesson_server_alive(int pid)
{
    if (atomic_load(&g_server_pid) != pid)
        return false;
    int st;
    pid_t w = waitpid(pid, &st, WNOHANG);
    if (w != pid)
        return true;
    atomic_store(&g_server_pid, 0);
    logmsg("the server died during the lesson phase (status 0x%x)", st);
    R.server_fail = true;
    return false;
}

/* One pass: L lesson jobs submitted as fast as LESSON_SUBMITTERS connections
 * go, then waits (no-progress timeout) for every job's terminal event,
 * measures, and checks every succeeded job's manifest.  Returns true when all
 * L jobs succeeded with a correct manifest. */
static bool lesson_pass_run(struct lesson_watch *w, int pid, bool cold, struct lesson_pass *lp)
{
    const char *name = cold ? "lesson cold" : "lesson warm";
    long L = g_o.lesson_jobs;
    char body[256];
    snprintf(body, sizeof body, "{\"preset\":\"lesson\",\"md\":\"%s\",\"withTts\":true%s}",
             R.lesson_file_id, cold ? ",\"forceTts\":true" : "");
    lp->ran = true;
    lp->wanted = L;

    struct submit_phase *ph = xcalloc(1, sizeof *ph);
    ph->phase = cold ? 6 : 7;
    ph->body = body;
    ph->target = L;
    ph->ids = xcalloc((size_t)L, sizeof *ph->ids);
    int conc = L < LESSON_SUBMITTERS ? (int)L : LESSON_SUBMITTERS;
    logmsg("%s: submitting %ld lesson jobs (%s) over %d connections", name, L,
           cold ? "forceTts: espeak-ng for every segment" : "every segment from the TTS cache",
           conc);

    double self0 = 0, child0 = 0, self1 = 0, child1 = 0;
    if (proc_cpu_split(pid, &self0, &child0) != 0)
        logmsg("%s: cannot read /proc/%d/stat", name, pid);
    double cli0 = self_cpu_s();
    int64_t wall0 = now_ns();
    struct submit_outcome so = run_submitters(ph, conc);
    lp->accepted = atomic_load(&ph->accepted);
    long n_ids = atomic_load(&ph->ids_n);
    if (n_ids > L)
        n_ids = L;
    if (lp->accepted < L)
        logmsg("%s: only %ld of %ld submits were accepted", name, lp->accepted, L);

    /* wait for every accepted job's terminal event */
    long finished = 0, last = -1;
    int64_t last_change = now_ns();
    bool waited_ok = so.ok;
    while (waited_ok && n_ids > 0) {
        finished = 0;
        for (long j = 0; j < n_ids; j++)
            finished += atomic_load(&w->state[ph->ids[j]]) != LW_NONE;
        long rss = proc_status_kb(pid, "VmRSS");
        if (rss > R.lesson_rss_max_kb)
            R.lesson_rss_max_kb = rss;
        if (finished >= n_ids)
            break;
        if (atomic_load(&w->dead)) {
            logmsg("%s: the SSE listener gave up; %ld of %ld jobs seen finished", name,
                   finished, n_ids);
            waited_ok = false;
            break;
        }
        if (!lesson_server_alive(pid)) {
            waited_ok = false;
            break;
        }
        if (finished != last) {
            last = finished;
            last_change = now_ns();
        } else if (now_ns() - last_change > LESSON_NO_PROGRESS_NS) {
            logmsg("%s: no lesson job finished for %lld s; %ld of %ld finished", name,
                   LESSON_NO_PROGRESS_NS / NS_PER_S, finished, n_ids);
            waited_ok = false;
            break;
        }
        sleep_ms(5);
    }
    if (atomic_load(&g_server_pid) == pid && proc_cpu_split(pid, &self1, &child1) == 0) {
        lp->srv_self_s = self1 - self0;
        lp->srv_child_s = child1 - child0;
    }
    lp->cli_s = self_cpu_s() - cli0;
    lp->cpu_wall_s = (double)(now_ns() - wall0) / NS_PER_S;

    /* account */
    struct samples lat = { 0 };
    int64_t t_end = 0;
    for (long j = 0; j < n_ids; j++) {
        long id = ph->ids[j];
        int st = atomic_load(&w->state[id]);
        if (st == LW_SUCCEEDED) {
            lp->succeeded++;
            samples_add(&lat, w->done_ns[id] - g_submit_ns[id]);
            if (w->done_ns[id] > t_end)
                t_end = w->done_ns[id];
        } else if (st == LW_NONE) {
            lp->unfinished++;
        } else {
            lp->failed++;
        }
    }
    lp->lat = samples_pct(&lat);
    samples_free(&lat);
    if (lp->succeeded > 0 && t_end > so.first_send) {
        lp->wall_s = (double)(t_end - so.first_send) / NS_PER_S;
        lp->lps = (double)lp->succeeded / lp->wall_s;
        lp->sps = (double)lp->succeeded * LESSON_SEGMENTS / lp->wall_s;
    }
    if (lp->failed > 0 && atomic_load(&w->have_error))
        logmsg("%s: %ld of %ld lesson jobs did not succeed; first: %s", name, lp->failed,
               n_ids, w->first_error);
    if (lp->unfinished > 0)
        logmsg("%s: %ld of %ld lesson jobs never reported a final state", name,
               lp->unfinished, n_ids);

    /* every succeeded job's manifest: segment count and cache use */
    if (lp->succeeded > 0 && atomic_load(&g_server_pid) == pid) {
        struct conn *c = xcalloc(1, sizeof *c);
        struct http_resp *r = xcalloc(1, sizeof *r);
        conn_init(c, g_port);
        for (long j = 0; j < n_ids; j++) {
            long id = ph->ids[j];
            if (atomic_load(&w->state[id]) != LW_SUCCEEDED)
                continue;
            char why[300];
            long hits = 0;
            if (lesson_check_manifest(c, r, id, cold, &hits, why, sizeof why) == 0) {
                lp->manifest_ok++;
                lp->cache_hits += hits;
            } else {
                if (lp->manifest_bad == 0)
                    logmsg("%s: wrong manifest: %s", name, why);
                lp->manifest_bad++;
            }
        }
        conn_close(c);
        free(c);
        free(r);
    }
    logmsg("%s: %ld/%ld succeeded, %ld failed, %ld unfinished in %.2f s: %.2f lessons/s, "
           "%.1f segments/s; latency p50 %.0f p99 %.0f max %.0f ms; server CPU own %.2f s, "
           "espeak-ng %.2f s; manifests ok %ld, wrong %ld", name, lp->succeeded, L, lp->failed,
           lp->unfinished, lp->wall_s, lp->lps, lp->sps, lp->lat.p50, lp->lat.p99, lp->lat.max,
           lp->srv_self_s, lp->srv_child_s, lp->manifest_ok, lp->manifest_bad);
    free(ph->ids);
    free(ph);
    return lp->succeeded == L && lp->manifest_bad == 0 && lp->manifest_ok == L;
}

static void run_lesson(int pid)
{
    R.lesson_ran = true;
    if (lesson_upload() != 0) {
        logmsg("lesson: cannot run without the uploaded lesson");
        R.correctness_fail = true;
        return;
    }
    R.lesson_uploaded = true;
    struct lesson_watch *w = xcalloc(1, sizeof *w);
    w->state = xcalloc((size_t)g_id_cap, sizeof *w->state);
    w->done_ns = xcalloc((size_t)g_id_cap, sizeof *w->done_ns);
    if (pthread_create(&w->th, NULL, lesson_watch_main, w) != 0) {
        logmsg("lesson: pthread_create failed for the SSE listener");
        R.correctness_fail = true;
        free(w->state);
        free(w->done_ns);
        free(w);
        return;
    }
    int64_t deadline = now_ns() + 15 * NS_PER_S;
    while (!atomic_load(&w->ready) && !atomic_load(&w->dead) && now_ns() < deadline)
        sleep_ms(5);
    bool ok = atomic_load(&w->ready);
    if (!ok) {
        logmsg("lesson: the SSE listener did not connect (last status %d)", w->last_status);
        R.correctness_fail = true;
    }
    R.lesson_rss_before_kb = proc_status_kb(pid, "VmRSS");
    R.lesson_rss_max_kb = R.lesson_rss_before_kb;
    R.lesson_hwm_reset = proc_reset_hwm(pid) == 0;
    if (!R.lesson_hwm_reset)
        logmsg("lesson: cannot reset VmHWM (/proc/%d/clear_refs); the peak is the "
               "process's lifetime peak", pid);
    if (ok && !lesson_pass_run(w, pid, true, &R.lesson_cold))
        ok = false;
    if (ok && !R.server_fail && !lesson_pass_run(w, pid, false, &R.lesson_warm))
        ok = false;
    if (!ok)
        R.correctness_fail = true;
    if (atomic_load(&g_server_pid) == pid)
        R.lesson_hwm_kb = proc_status_kb(pid, "VmHWM");
    sleep_ms(200); /* let stray duplicate events arrive before counting */
    atomic_store(&w->stop, true);
    if (pthread_join(w->th, NULL) != 0)
        logmsg("pthread_join failed");
    R.lesson_dups = atomic_load(&w->dups);
    R.lesson_reconnects = w->reconnects;
    if (R.lesson_dups > 0) {
        logmsg("lesson: %ld repeated final-state events", R.lesson_dups);
        R.correctness_fail = true;
    }
    if (w->reconnects > 0)
        logmsg("lesson: the SSE listener reconnected %ld time(s)", w->reconnects);
    sse_free(&w->p);
    free(w->state);
    free(w->done_ns);
    free(w);
}

/* ------------------------------------------------------------------ batch phase */

static int cmp_double(const void *a, const void *b);

/* POSTs a batch of BATCH_CHILDREN noop children; returns the parent's id
 * (and the request's round trip in *ms), or -1 (logged). */
static long batch_post(struct conn *c, struct http_resp *r, double *ms)
{
    static char body[BATCH_CHILDREN * 8 + 128];
    size_t n = (size_t)snprintf(body, sizeof body, "{\"preset\":\"noop\",\"sweep\":{\"i\":[");
    for (int i = 0; i < BATCH_CHILDREN; i++)
        n += (size_t)snprintf(body + n, sizeof body - n, "%s%d", i ? "," : "", i);
    n += (size_t)snprintf(body + n, sizeof body - n, "]}}");
    int64_t t0 = now_ns();
    int rc = http_request_ct(c, "POST", "/api/v1/jobs", "application/json", body, n, r);
    *ms = (double)(now_ns() - t0) / NS_PER_MS;
    if (rc != HTTP_OK || r->status != 201) {
        logmsg("batch: POST answered %d (client error %d): %.200s", r->status, rc, r->body);
        return -1;
    }
    long id = json_int_field(r->body, r->body_len, "jobId");
    if (id <= 0 || id >= g_id_cap) {
        logmsg("batch: no usable jobId in the 201: %.200s", r->body);
        return -1;
    }
    return id;
}

/* Waits (60 s at most) until the listener saw job id end; its arrival time or -1. */
static int64_t batch_wait(struct lesson_watch *w, long id)
{
    int64_t deadline = now_ns() + 60 * NS_PER_S;
    while (atomic_load(&w->state[id]) == LW_NONE && now_ns() < deadline &&
           !atomic_load(&w->dead))
        sleep_ms(1);
    int st = atomic_load(&w->state[id]);
    if (st != LW_SUCCEEDED) {
        logmsg("batch: job %ld %s", id, st == LW_NONE ? "did not end in 60 s" : "did not succeed");
        return -1;
    }
    return w->done_ns[id];
}

/* Creation time of a 1,000-child batch (BATCH_CREATES times, each after the
 * previous one ended), then a 1,000-child noop batch from its POST to the
 * parent's succeeded event against 1,000 single POSTs to the last one's. */
static void run_batch(void)
{
    RB.ran = true;
    struct lesson_watch *w = xcalloc(1, sizeof *w);
    w->state = xcalloc((size_t)g_id_cap, sizeof *w->state);
    w->done_ns = xcalloc((size_t)g_id_cap, sizeof *w->done_ns);
    struct conn *c = xcalloc(1, sizeof *c);
    struct http_resp *r = xcalloc(1, sizeof *r);
    conn_init(c, g_port);
    bool ok = pthread_create(&w->th, NULL, lesson_watch_main, w) == 0;
    int64_t deadline = now_ns() + 15 * NS_PER_S;
    while (ok && !atomic_load(&w->ready) && !atomic_load(&w->dead) && now_ns() < deadline)
        sleep_ms(5);
    ok = ok && atomic_load(&w->ready);
    for (int i = 0; ok && i < BATCH_CREATES; i++) {
        long pid = batch_post(c, r, &RB.create_ms[i]);
        ok = pid > 0 && batch_wait(w, pid) > 0;
    }
    if (ok) {
        double sorted[BATCH_CREATES];
        memcpy(sorted, RB.create_ms, sizeof sorted);
        qsort(sorted, BATCH_CREATES, sizeof sorted[0], cmp_double);
        RB.create_best = sorted[0];
        RB.create_median = sorted[BATCH_CREATES / 2];
        double ms;
        int64_t t0 = now_ns();
        long pid = batch_post(c, r, &ms);
        int64_t t1 = pid > 0 ? batch_wait(w, pid) : -1;
        ok = t1 > 0;
        if (ok)
            RB.batch_jps = BATCH_CHILDREN / ((double)(t1 - t0) / NS_PER_S);
    }
    if (ok) {
        long last = -1;
        int64_t t0 = now_ns();
        for (int i = 0; ok && i < BATCH_CHILDREN; i++) {
            int rc = http_request_ct(c, "POST", "/api/v1/jobs", "application/json",
                                     "{\"preset\":\"noop\"}", 17, r);
            ok = rc == HTTP_OK && r->status == 202;
            last = ok ? json_int_field(r->body, r->body_len, "jobId") : -1;
            ok = ok && last > 0 && last < g_id_cap;
        }
        int64_t t1 = -1;
        for (long id = last - BATCH_CHILDREN + 1; ok && id <= last; id++)
            if ((t1 = batch_wait(w, id)) < 0)
                ok = false;
        /* the last to end is the latest arrival among them */
        int64_t end = 0;
        for (long id = last - BATCH_CHILDREN + 1; ok && id <= last; id++)
            if (w->done_ns[id] > end)
                end = w->done_ns[id];
        if (ok)
            RB.single_jps = BATCH_CHILDREN / ((double)(end - t0) / NS_PER_S);
        else
            logmsg("batch: the single submits did not all succeed");
    }
    RB.ok = ok;
    if (!ok)
        R.correctness_fail = true;
    logmsg("batch: create %d children median %.1f ms (best %.1f); batch %.0f jobs/s, "
           "singles %.0f jobs/s", BATCH_CHILDREN, RB.create_median, RB.create_best,
           RB.batch_jps, RB.single_jps);
    atomic_store(&w->stop, true);
    if (w->th && pthread_join(w->th, NULL) != 0)
        logmsg("pthread_join failed");
    conn_close(c);
    free(c);
    free(r);
    sse_free(&w->p);
    free(w->state);
    free(w->done_ns);
    free(w);
}

/* ------------------------------------------------------------------ startup phase */

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Stops the running server, restarts 3 times on the same db, timing fork →
 * first 200 from /health.  Leaves no server running. */
static void run_startup(int pid)
{
    R.startup_ran = true;
    struct stop_result sr = server_stop(pid, 20000);
    R.stop_ms_first = sr.ms;
    R.stop_exit_first = sr.exit_code;
    logmsg("startup: graceful stop took %.0f ms, exit code %d", sr.ms, sr.exit_code);
    for (int run = 0; run < 3; run++) {
        int64_t tf;
        int np = server_spawn(g_port, &tf);
        if (np < 0) {
            R.server_fail = true;
            return;
        }
        int64_t th = wait_healthy(np, g_port, 10000);
        if (th < 0) {
            R.server_fail = true;
            return;
        }
        R.startup_ms[run] = (double)(th - tf) / NS_PER_MS;
        R.startup_runs++;
        if (run == 0) {
            sleep_ms(100);
            R.startup_rss_kb = proc_status_kb(np, "VmRSS");
        }
        struct stop_result s2 = server_stop(np, 20000);
        logmsg("startup: run %d: %.1f ms to first 200 from /health (stop %.0f ms, exit %d)",
               run + 1, R.startup_ms[run], s2.ms, s2.exit_code);
    }
    double sorted[3];
    memcpy(sorted, R.startup_ms, sizeof sorted);
    qsort(sorted, 3, sizeof sorted[0], cmp_double);
    R.startup_best = sorted[0];
    R.startup_median = sorted[1];
}

/* ------------------------------------------------------------------ reporting */

static const char *pf(bool pass)
{
    return pass ? "PASS" : "MISS";
}

static long count_server_errors(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/server.stderr.log", g_datadir);
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    char line[4096];
    long n = 0;
    while (fgets(line, sizeof line, f))
        if (strstr(line, "\"level\":\"error\"") || strstr(line, "\"level\": \"error\""))
            n++;
    if (fclose(f) != 0)
        return -1;
    return n;
}

static void print_table(FILE *o)
{
    fprintf(o, "\nbatchbox benchmark results (server %s, --workers %d)\n", g_o.bin, g_o.workers);
    fprintf(o, "%-58s %-30s %s\n", "SPEC §9 target", "measured", "result");
    fprintf(o, "%.*s\n", 96, "------------------------------------------------------------------------------------------------");
    char m[128];
    if (R.e2e_ran) {
        snprintf(m, sizeof m, "%.0f jobs/s", R.e2e_jps);
        fprintf(o, "%-58s %-30s %s\n", "e2e no-op jobs/s (submit→worker→SSE), >= 5000", m,
                pf(R.e2e_jps >= 5000 && R.e2e_missing == 0));
    }
    if (R.paced_ran) {
        snprintf(m, sizeof m, "p99 %.1f ms at %.0f/s", R.paced_lat.p99, R.paced_achieved);
        fprintf(o, "%-58s %-30s %s\n", "p99 submit→succeeded at half that rate, < 50 ms", m,
                pf(R.paced_lat.p99 < 50 && R.paced_missing == 0 && R.paced_lat.n > 0));
    }
    if (RB.ran) {
        snprintf(m, sizeof m, "median %.1f ms (best %.1f)", RB.create_median, RB.create_best);
        fprintf(o, "%-58s %-30s %s\n", "create a 1,000-child batch (POST → 201), < 100 ms", m,
                pf(RB.ok && RB.create_median < 100));
        snprintf(m, sizeof m, "%.0f vs %.0f jobs/s", RB.batch_jps, RB.single_jps);
        fprintf(o, "%-58s %-30s %s\n", "1,000-child noop batch vs 1,000 singles → succeeded", m,
                RB.ok ? "info" : "MISS");
    }
    if (R.get_ran) {
        snprintf(m, sizeof m, "%.0f req/s", R.get_rps);
        fprintf(o, "%-58s %-30s %s\n", "GET /jobs/:id, 50 keep-alive conns, >= 20000 req/s", m,
                pf(R.get_rps >= 20000 && R.get_errors == 0));
    }
    if (R.fan_ran) {
        snprintf(m, sizeof m, "%d of %d", R.fan_ready, R.fan_wanted);
        fprintf(o, "%-58s %-30s %s\n", "10,000 concurrent SSE subscribers held (default config)",
                m, pf(R.fan_ready >= 10000 && R.fan_ready == R.fan_wanted));
        snprintf(m, sizeof m, "p99 %.1f ms (goal 100)", R.fan_all_lat.p99);
        fprintf(o, "%-58s %-30s %s\n", "one event to all subscribers, p99 < 200 ms", m,
                pf(R.fan_all_lat.n > 0 && R.fan_all_lat.p99 < 200 && R.fan_missing == 0));
        snprintf(m, sizeof m, "%.2f kB",
                 R.fan_ready > 0 ? (double)(R.fan_rss_kb - R.fan_rss0_kb) / R.fan_ready : 0.0);
        fprintf(o, "%-58s %-30s %s\n", "server RSS per subscriber", m, "info");
        snprintf(m, sizeof m, "max %.1f ms (%ld ok, %ld failed)", R.health_lat.max,
                 R.health_lat.n, R.health_fail);
        fprintf(o, "%-58s %-30s %s\n", "API answered promptly meanwhile (/health < 100 ms)", m,
                pf(R.health_lat.n > 0 && R.health_fail == 0 && R.health_lat.max < 100));
    }
    if (R.idle_ran) {
        snprintf(m, sizeof m, "%.1f MB", (double)R.rss_start_kb / 1024);
        fprintf(o, "%-58s %-30s %s\n", "idle RSS < 20 MB", m,
                pf(R.rss_start_kb > 0 && R.rss_start_kb < 20 * 1024));
    }
    if (R.startup_ran && R.startup_runs == 3) {
        snprintf(m, sizeof m, "median %.1f ms (best %.1f)", R.startup_median, R.startup_best);
        fprintf(o, "%-58s %-30s %s\n", "start-up to serving on an existing db < 100 ms", m,
                pf(R.startup_median < 100));
    }
    if (R.lesson_ran) {
        /* no target: "info" (never PASS), or FAILED when a job did not
         * succeed or its manifest was wrong */
        const struct { const char *label; const struct lesson_pass *p; } lp[] = {
            { "lesson cold: forceTts, espeak-ng for every segment", &R.lesson_cold },
            { "lesson warm: every segment from the TTS cache", &R.lesson_warm },
        };
        for (size_t i = 0; i < sizeof lp / sizeof lp[0]; i++) {
            const struct lesson_pass *p = lp[i].p;
            if (!p->ran)
                continue;
            bool good = p->succeeded == p->wanted && p->manifest_bad == 0;
            if (p->succeeded > 0)
                snprintf(m, sizeof m, "%.1f lessons/s, %.0f seg/s", p->lps, p->sps);
            else
                snprintf(m, sizeof m, "-");
            fprintf(o, "%-58s %-30s %s\n", lp[i].label, m, good ? "info" : "FAILED");
            if (p->succeeded > 0)
                snprintf(m, sizeof m, "p50 %.0f ms, p99 %.0f ms", p->lat.p50, p->lat.p99);
            fprintf(o, "%-58s %-30s %s\n", "  submit→succeeded per job (queue wait included)", m,
                    good ? "info" : "FAILED");
        }
        if (R.lesson_hwm_kb > 0) {
            snprintf(m, sizeof m, "%.1f MB", (double)R.lesson_hwm_kb / 1024);
            fprintf(o, "%-58s %-30s %s\n", R.lesson_hwm_reset
                    ? "peak server RSS during the lesson phase (VmHWM)"
                    : "peak server RSS, process lifetime (VmHWM)", m, "info");
        }
    }

    fprintf(o, "\ndetails\n");
    if (R.e2e_ran) {
        fprintf(o, "  e2e: %ld/%ld accepted (%ld failed) over %d conns, %d SSE listeners\n",
                R.e2e_accepted, R.e2e_wanted, R.e2e_submit_fail, g_o.conc, g_o.sse);
        fprintf(o, "       submit %.0f req/s; end-to-end %.0f jobs/s (%.2f s first send → last "
                "event at every listener)\n", R.e2e_submit_rps, R.e2e_jps, R.e2e_wall_s);
        fprintf(o, "       submit→succeeded, per job max across listeners: p50 %.1f  p95 %.1f  "
                "p99 %.1f  max %.1f ms\n", R.e2e_lat.p50, R.e2e_lat.p95, R.e2e_lat.p99, R.e2e_lat.max);
        fprintf(o, "       (all job×listener pairs: p50 %.1f  p99 %.1f ms)\n", R.e2e_lat_pairs.p50,
                R.e2e_lat_pairs.p99);
        fprintf(o, "       delivery: missing %ld, duplicates %ld, unexpected %ld, SSE reconnects %ld, "
                "overlong lines %ld\n", R.e2e_missing, R.e2e_dups, R.e2e_unexpected,
                R.e2e_reconnects, R.e2e_overflows);
    }
    if (R.paced_ran) {
        fprintf(o, "  paced: target %.0f/s, achieved %.0f/s, %ld/%ld accepted, max send lag %.1f ms\n",
                R.paced_rate, R.paced_achieved, R.paced_accepted, R.paced_wanted, R.paced_max_lag_ms);
        fprintf(o, "       submit→succeeded, per job max across listeners: p50 %.1f  p95 %.1f  "
                "p99 %.1f  max %.1f ms\n", R.paced_lat.p50, R.paced_lat.p95, R.paced_lat.p99,
                R.paced_lat.max);
        fprintf(o, "       (all pairs: p50 %.1f  p99 %.1f ms); missing %ld, duplicates %ld, "
                "unexpected %ld, reconnects %ld\n", R.paced_lat_pairs.p50, R.paced_lat_pairs.p99,
                R.paced_missing, R.paced_dups, R.paced_unexpected, R.paced_reconnects);
    }
    if (R.get_ran)
        fprintf(o, "  get: %ld requests in %.2f s, %ld errors; latency p50 %.2f  p99 %.2f  max %.2f ms\n",
                R.get_requests, R.get_seconds, R.get_errors, R.get_lat.p50, R.get_lat.p99,
                R.get_lat.max);
    if (R.fan_ran) {
        fprintf(o, "  fanout: %d/%d subscribers streaming (%d rejected, %d closed) after %.2f s; "
                "server RSS %.1f MB (%.1f MB before), %ld threads\n", R.fan_ready, R.fan_wanted,
                R.fan_rejected, R.fan_closed, R.fan_connect_s, (double)R.fan_rss_kb / 1024,
                (double)R.fan_rss0_kb / 1024, R.fan_threads);
        fprintf(o, "       %d job_created events, 100 ms apart: per delivery p50 %.1f  p99 %.1f  "
                "max %.1f ms; to all: p50 %.1f  p99 %.1f  max %.1f ms; missing %ld, "
                "duplicates %ld\n", R.fan_events, R.fan_lat.p50, R.fan_lat.p99, R.fan_lat.max,
                R.fan_all_lat.p50, R.fan_all_lat.p99, R.fan_all_lat.max, R.fan_missing,
                R.fan_dups);
        fprintf(o, "       GET /health on fresh connections meanwhile: p50 %.2f  max %.2f ms\n",
                R.health_lat.p50, R.health_lat.max);
    }
    if (R.lesson_ran) {
        fprintf(o, "  lesson: %s (%s, %zu bytes, %d segments per lesson), %ld jobs per pass over "
                "%d connections, preset lesson (auto mode, default voices), --workers %d\n",
                LESSON_FILENAME, R.lesson_uploaded ? R.lesson_file_id : "upload failed",
                R.lesson_bytes, LESSON_SEGMENTS, g_o.lesson_jobs,
                g_o.lesson_jobs < LESSON_SUBMITTERS ? (int)g_o.lesson_jobs : LESSON_SUBMITTERS,
                g_o.workers);
        const struct { const char *n; const struct lesson_pass *p; } lp[] = {
            { "cold", &R.lesson_cold }, { "warm", &R.lesson_warm },
        };
        for (size_t i = 0; i < sizeof lp / sizeof lp[0]; i++) {
            const struct lesson_pass *p = lp[i].p;
            if (!p->ran)
                continue;
            long segs = p->succeeded * LESSON_SEGMENTS;
            fprintf(o, "       %s: %ld/%ld succeeded (%ld failed, %ld unfinished, %ld not accepted) "
                    "in %.2f s: %.2f lessons/s, %.1f segments/s\n", lp[i].n, p->succeeded,
                    p->wanted, p->failed, p->unfinished, p->wanted - p->accepted, p->wall_s,
                    p->lps, p->sps);
            fprintf(o, "             submit→succeeded: p50 %.0f  p95 %.0f  p99 %.0f  max %.0f ms; "
                    "manifests ok %ld, wrong %ld; cache hits %ld of %ld segments\n", p->lat.p50,
                    p->lat.p95, p->lat.p99, p->lat.max, p->manifest_ok, p->manifest_bad,
                    p->cache_hits, p->manifest_ok * LESSON_SEGMENTS);
            fprintf(o, "             CPU over %.2f s: server's own %.2f s (%.1f ms per lesson), "
                    "espeak-ng children %.2f s (%.1f ms per segment), driver %.2f s\n",
                    p->cpu_wall_s, p->srv_self_s,
                    p->succeeded > 0 ? 1000 * p->srv_self_s / (double)p->succeeded : 0,
                    p->srv_child_s, segs > 0 ? 1000 * p->srv_child_s / (double)segs : 0,
                    p->cli_s);
        }
        fprintf(o, "       server RSS: %.1f MB before, max sampled %.1f MB, peak (VmHWM%s) %.1f MB; "
                "repeated final events %ld, SSE reconnects %ld\n",
                (double)R.lesson_rss_before_kb / 1024, (double)R.lesson_rss_max_kb / 1024,
                R.lesson_hwm_reset ? ", reset at the phase start" : ", process lifetime",
                (double)R.lesson_hwm_kb / 1024, R.lesson_dups, R.lesson_reconnects);
    }
    const struct { const char *n; bool ran; const struct cpu_span *c; } cs[] = {
        { "e2e", R.e2e_ran, &R.cpu_e2e }, { "paced", R.paced_ran, &R.cpu_paced },
        { "get", R.get_ran, &R.cpu_get }, { "fanout", R.fan_ran, &R.cpu_fan },
    };
    for (size_t i = 0; i < sizeof cs / sizeof cs[0]; i++)
        if (cs[i].ran && cs[i].c->wall > 0)
            fprintf(o, "  cpu during %s (%.1f s): server %.1f s (%.0f%% of one core), driver %.1f s "
                    "(%.0f%%)\n", cs[i].n, cs[i].c->wall, cs[i].c->srv,
                    100 * cs[i].c->srv / cs[i].c->wall, cs[i].c->cli, 100 * cs[i].c->cli / cs[i].c->wall);
    if (R.idle_ran) {
        char after[32] = "-";
        if (R.rss_after_e2e_kb > 0)
            snprintf(after, sizeof after, "%.1f MB", (double)R.rss_after_e2e_kb / 1024);
        fprintf(o, "  rss: start %.1f MB (%ld threads), after e2e %s, peak (VmHWM) %.1f MB\n",
                (double)R.rss_start_kb / 1024, R.threads_start, after, (double)R.hwm_kb / 1024);
    }
    if (R.startup_ran)
        fprintf(o, "  startup: runs %.1f / %.1f / %.1f ms; RSS after restart %.1f MB; graceful "
                "stop after load %.0f ms (exit %d)\n", R.startup_ms[0], R.startup_ms[1],
                R.startup_ms[2], (double)R.startup_rss_kb / 1024, R.stop_ms_first, R.stop_exit_first);
    if (R.get_ran && R.get_requests > 0)
        fprintf(o, "  server CPU per GET: %.1f µs; per e2e job: %.1f µs\n",
                1e6 * R.cpu_get.srv / (double)R.get_requests,
                R.e2e_accepted > 0 ? 1e6 * R.cpu_e2e.srv / (double)R.e2e_accepted : 0.0);
    fprintf(o, "  server stderr lines with level error: %ld\n", R.server_error_lines);
}

static void json_pct(FILE *o, const char *name, const struct pct *p)
{
    fprintf(o, "\"%s\":{\"n\":%ld,\"p50\":%.3f,\"p95\":%.3f,\"p99\":%.3f,\"max\":%.3f}", name, p->n,
            p->p50, p->p95, p->p99, p->max);
}

static void compare_json(FILE *o);

static void print_json(FILE *o)
{
    fprintf(o, "{\"workers\":%d,\"jobs\":%ld,\"sse\":%d,\"conc\":%d", g_o.workers, g_o.jobs,
            g_o.sse, g_o.conc);
    if (R.e2e_ran) {
        fprintf(o, ",\"e2e\":{\"accepted\":%ld,\"failed\":%ld,\"submitRps\":%.1f,\"jobsPerSec\":%.1f,"
                "\"wallSec\":%.3f,\"missing\":%ld,\"duplicates\":%ld,\"unexpected\":%ld,\"reconnects\":%ld,",
                R.e2e_accepted, R.e2e_submit_fail, R.e2e_submit_rps, R.e2e_jps, R.e2e_wall_s,
                R.e2e_missing, R.e2e_dups, R.e2e_unexpected, R.e2e_reconnects);
        json_pct(o, "latencyMsMaxAcrossListeners", &R.e2e_lat);
        fputc(',', o);
        json_pct(o, "latencyMsPairs", &R.e2e_lat_pairs);
        fputc('}', o);
    }
    if (RB.ran)
        fprintf(o, ",\"batch\":{\"ok\":%s,\"children\":%d,\"createMsMedian\":%.2f,"
                "\"createMsBest\":%.2f,\"batchJobsPerSec\":%.1f,\"singleJobsPerSec\":%.1f}",
                RB.ok ? "true" : "false", BATCH_CHILDREN, RB.create_median, RB.create_best,
                RB.batch_jps, RB.single_jps);
    if (R.paced_ran) {
        fprintf(o, ",\"paced\":{\"rate\":%.1f,\"achieved\":%.1f,\"accepted\":%ld,\"failed\":%ld,"
                "\"maxLagMs\":%.3f,\"missing\":%ld,\"duplicates\":%ld,\"unexpected\":%ld,\"reconnects\":%ld,",
                R.paced_rate, R.paced_achieved, R.paced_accepted, R.paced_submit_fail,
                R.paced_max_lag_ms, R.paced_missing, R.paced_dups, R.paced_unexpected,
                R.paced_reconnects);
        json_pct(o, "latencyMsMaxAcrossListeners", &R.paced_lat);
        fputc(',', o);
        json_pct(o, "latencyMsPairs", &R.paced_lat_pairs);
        fputc('}', o);
    }
    if (R.get_ran) {
        fprintf(o, ",\"get\":{\"requests\":%ld,\"errors\":%ld,\"seconds\":%.3f,\"rps\":%.1f,",
                R.get_requests, R.get_errors, R.get_seconds, R.get_rps);
        json_pct(o, "latencyMs", &R.get_lat);
        fputc('}', o);
    }
    if (R.fan_ran) {
        fprintf(o, ",\"fanout\":{\"wanted\":%d,\"streaming\":%d,\"rejected\":%d,\"closed\":%d,"
                "\"connectSec\":%.3f,\"events\":%d,\"missing\":%ld,\"duplicates\":%ld,\"rssKb\":%ld,"
                "\"rssBeforeKb\":%ld,\"threads\":%ld,\"healthFailed\":%ld,", R.fan_wanted,
                R.fan_ready, R.fan_rejected, R.fan_closed, R.fan_connect_s, R.fan_events,
                R.fan_missing, R.fan_dups, R.fan_rss_kb, R.fan_rss0_kb, R.fan_threads,
                R.health_fail);
        json_pct(o, "deliveryMs", &R.fan_lat);
        fputc(',', o);
        json_pct(o, "toAllMs", &R.fan_all_lat);
        fputc(',', o);
        json_pct(o, "healthMs", &R.health_lat);
        fputc('}', o);
    }
    if (R.idle_ran)
        fprintf(o, ",\"rss\":{\"startKb\":%ld,\"startThreads\":%ld,\"afterE2eKb\":%ld,\"hwmKb\":%ld}",
                R.rss_start_kb, R.threads_start, R.rss_after_e2e_kb, R.hwm_kb);
    if (R.startup_ran)
        fprintf(o, ",\"startup\":{\"runsMs\":[%.3f,%.3f,%.3f],\"bestMs\":%.3f,\"medianMs\":%.3f,"
                "\"rssKb\":%ld,\"stopMs\":%.1f,\"stopExit\":%d}", R.startup_ms[0], R.startup_ms[1],
                R.startup_ms[2], R.startup_best, R.startup_median, R.startup_rss_kb,
                R.stop_ms_first, R.stop_exit_first);
    if (R.lesson_ran) {
        fprintf(o, ",\"lesson\":{\"jobsPerPass\":%ld,\"segmentsPerLesson\":%d,\"uploaded\":%s,"
                "\"rssBeforeKb\":%ld,\"rssMaxKb\":%ld,\"hwmKb\":%ld,\"hwmReset\":%s,"
                "\"repeatedFinalEvents\":%ld,\"reconnects\":%ld", g_o.lesson_jobs, LESSON_SEGMENTS,
                R.lesson_uploaded ? "true" : "false", R.lesson_rss_before_kb, R.lesson_rss_max_kb,
                R.lesson_hwm_kb, R.lesson_hwm_reset ? "true" : "false", R.lesson_dups,
                R.lesson_reconnects);
        const struct { const char *n; const struct lesson_pass *p; } lp[] = {
            { "cold", &R.lesson_cold }, { "warm", &R.lesson_warm },
        };
        for (size_t i = 0; i < sizeof lp / sizeof lp[0]; i++) {
            const struct lesson_pass *p = lp[i].p;
            if (!p->ran)
                continue;
            fprintf(o, ",\"%s\":{\"accepted\":%ld,\"succeeded\":%ld,\"failed\":%ld,"
                    "\"unfinished\":%ld,\"wallSec\":%.3f,\"lessonsPerSec\":%.3f,"
                    "\"segmentsPerSec\":%.2f,\"manifestOk\":%ld,\"manifestWrong\":%ld,"
                    "\"cacheHits\":%ld,\"cpuWallSec\":%.3f,\"serverOwnCpuSec\":%.3f,"
                    "\"espeakCpuSec\":%.3f,\"driverCpuSec\":%.3f,", lp[i].n, p->accepted,
                    p->succeeded, p->failed, p->unfinished, p->wall_s, p->lps, p->sps,
                    p->manifest_ok, p->manifest_bad, p->cache_hits, p->cpu_wall_s, p->srv_self_s,
                    p->srv_child_s, p->cli_s);
            json_pct(o, "latencyMs", &p->lat);
            fputc('}', o);
        }
        fputc('}', o);
    }
    fprintf(o, ",\"cpuSec\":{\"e2e\":[%.2f,%.2f,%.2f],\"paced\":[%.2f,%.2f,%.2f],"
            "\"get\":[%.2f,%.2f,%.2f],\"fanout\":[%.2f,%.2f,%.2f]}",
            R.cpu_e2e.wall, R.cpu_e2e.srv, R.cpu_e2e.cli, R.cpu_paced.wall, R.cpu_paced.srv,
            R.cpu_paced.cli, R.cpu_get.wall, R.cpu_get.srv, R.cpu_get.cli, R.cpu_fan.wall,
            R.cpu_fan.srv, R.cpu_fan.cli);
    fprintf(o, ",\"serverErrorLines\":%ld,\"correctnessFail\":%s,\"serverFail\":%s",
            R.server_error_lines, R.correctness_fail ? "true" : "false",
            R.server_fail ? "true" : "false");
    compare_json(o);
    fprintf(o, "}\n");
}

/* ------------------------------------------------------------------ options */

static void usage(FILE *o)
{
    fprintf(o,
            "usage: bbbench --bin PATH [options]\n"
            "  --jobs N          e2e jobs (default 20000)\n"
            "  --sse K           SSE listeners in e2e/paced (default 10)\n"
            "  --conc C          submitter connections (default 32)\n"
            "  --rate R          paced rate in jobs/s (default: half the e2e rate, or 2500)\n"
            "  --paced-jobs N    paced jobs (default: rate x 4 s, within 500..jobs)\n"
            "  --fanout S        fan-out SSE subscribers (default 10000)\n"
            "  --fan-events M    fan-out jobs, 100 ms apart (default 20)\n"
            "  --get-seconds D   GET phase length (default 5)\n"
            "  --workers W       server --workers (default 2)\n"
            "  --lesson-jobs L   lesson jobs per pass, cold then warm (default 40)\n"
            "  --timeout SEC     overall watchdog (default 600)\n"
            "  --only LIST       comma list of idle,e2e,paced,get,fanout,startup,lesson\n"
            "                    (default: all but lesson)\n"
            "  --compare DIR     also run idle/e2e/paced/get against the original stack in DIR\n"
            "                    (bench/compare: node server.js + redis-server; npm ci first)\n"
            "  --keep            keep the temporary data dir\n"
            "  --json            machine-readable results on stdout (table on stderr)\n");
}

static bool parse_long(const char *s, long lo, long hi, long *out)
{
    char *e;
    errno = 0;
    long v = strtol(s, &e, 10);
    if (errno || e == s || *e || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

static bool parse_only(const char *s, unsigned *mask)
{
    static const struct { const char *n; unsigned b; } names[] = {
        { "idle", PH_IDLE }, { "e2e", PH_E2E }, { "paced", PH_PACED }, { "get", PH_GET },
        { "fanout", PH_FANOUT }, { "sse-fanout", PH_FANOUT }, { "startup", PH_STARTUP },
        { "lesson", PH_LESSON }, { "batch", PH_BATCH },
    };
    *mask = 0;
    const char *p = s;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t l = e ? (size_t)(e - p) : strlen(p);
        bool found = false;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strlen(names[i].n) == l && strncmp(names[i].n, p, l) == 0) {
                *mask |= names[i].b;
                found = true;
            }
        if (!found)
            return false;
        p += l;
        if (*p == ',')
            p++;
    }
    return *mask != 0;
}

static int parse_args(int argc, char **argv)
{
    g_o.bin = NULL;
    g_o.jobs = 20000;
    g_o.sse = 10;
    g_o.conc = 32;
    g_o.fanout = 10000;
    g_o.fan_events = 20;
    g_o.get_seconds = 5;
    g_o.workers = 2;
    g_o.lesson_jobs = 40;
    g_o.timeout_s = 600;
    g_o.only = PH_IDLE | PH_E2E | PH_PACED | PH_GET | PH_FANOUT | PH_STARTUP | PH_BATCH;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long x;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            exit(0);
        } else if (strcmp(a, "--keep") == 0) {
            g_o.keep = true;
            continue;
        } else if (strcmp(a, "--json") == 0) {
            g_o.json = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "bbbench: %s needs a value (or is unknown)\n", a);
            return -1;
        }
        i++;
        if (strcmp(a, "--bin") == 0)
            g_o.bin = v;
        else if (strcmp(a, "--jobs") == 0 && parse_long(v, 1, 2000000, &x))
            g_o.jobs = x;
        else if (strcmp(a, "--sse") == 0 && parse_long(v, 1, MAX_SSE, &x))
            g_o.sse = (int)x;
        else if (strcmp(a, "--conc") == 0 && parse_long(v, 1, MAX_THREADS, &x))
            g_o.conc = (int)x;
        else if (strcmp(a, "--fanout") == 0 && parse_long(v, 1, MAX_FANOUT, &x))
            g_o.fanout = (int)x;
        else if (strcmp(a, "--fan-events") == 0 && parse_long(v, 1, MAX_FAN_EVENTS, &x))
            g_o.fan_events = (int)x;
        else if (strcmp(a, "--get-seconds") == 0 && parse_long(v, 1, 600, &x))
            g_o.get_seconds = (double)x;
        else if (strcmp(a, "--rate") == 0 && parse_long(v, 1, 10000000, &x))
            g_o.rate = (double)x;
        else if (strcmp(a, "--paced-jobs") == 0 && parse_long(v, 1, 2000000, &x))
            g_o.paced_jobs = x;
        else if (strcmp(a, "--workers") == 0 && parse_long(v, 1, 256, &x))
            g_o.workers = (int)x;
        else if (strcmp(a, "--lesson-jobs") == 0 && parse_long(v, 1, MAX_LESSON_JOBS, &x))
            g_o.lesson_jobs = x;
        else if (strcmp(a, "--timeout") == 0 && parse_long(v, 10, 86400, &x))
            g_o.timeout_s = (int)x;
        else if (strcmp(a, "--only") == 0 && parse_only(v, &g_o.only))
            ;
        else if (strcmp(a, "--compare") == 0)
            g_o.compare_dir = v;
        else {
            fprintf(stderr, "bbbench: bad option or value: %s %s\n", a, v);
            usage(stderr);
            return -1;
        }
    }
    if (!g_o.bin) {
        fprintf(stderr, "bbbench: --bin PATH is required\n");
        usage(stderr);
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ main */


/* Signs in and fills g_auth.  0 or -1. */
static int sign_in(int port)
{
    struct conn *c = xcalloc(1, sizeof *c);
    struct http_resp *r = xcalloc(1, sizeof *r);
    conn_init(c, port);
    int rc = -1;
    if (http_request(c, "POST", "/api/v1/auth/login",
                     "{\"email\":\"" BENCH_EMAIL "\",\"password\":\"" BENCH_PASSWORD "\"}",
                     r) == HTTP_OK && r->status == 200) {
        const char *k = strstr(r->body, "\"accessToken\":\"");
        if (k) {
            k += 15;
            size_t len = strcspn(k, "\"");
            if (len > 0 && len < 128) {
                snprintf(g_auth, sizeof g_auth, "Authorization: Bearer %.*s\r\n", (int)len, k);
                rc = 0;
            }
        }
    }
    if (rc != 0)
        logmsg("sign-in failed (status %d)", r->status);
    conn_close(c);
    free(c);
    free(r);
    return rc;
}

static int write_config(void)
{
    char path[PATH_MAX + 32];
    snprintf(path, sizeof path, "%s/batchbox.json", g_datadir);
    FILE *f = fopen(path, "we");
    if (!f)
        return -1;
    /* events: the server's defaults (maxSubscribers 10,000), except the
     * per-user stream limit: the driver is one user holding every stream,
     * where a real audience is many users (docs/benchmarks.md) */
    int per_user = g_o.fanout + 100;
    /* the lesson preset keeps the built-in voices (two espeak-ng voices per
     * accent; the first voice's accent is its default) */
    int n = fprintf(f, "{\"presets\":[{\"id\":\"noop\",\"workflow\":\"noop\",\"maxAttempts\":1},"
                       " {\"id\":\"lesson\",\"workflow\":\"lesson\",\"maxAttempts\":1}],"
                       " \"events\": {\"maxPerUser\": %d},"
                       " \"auth\": {\"accessTokenTtlSec\": 86400}}\n", per_user);
    if (fclose(f) != 0 || n < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ compare (--compare DIR) */

/* The stack batchbox replaces (bench/compare/server.js: Fastify + BullMQ +
 * Redis), driven by the same phases after the batchbox server has stopped:
 * idle RSS (node + redis), e2e, paced at half its own e2e rate, and get.
 * Redis is Debian's redis-server on a free loopback port, persistence off,
 * its directory inside the data directory; both children die with the
 * driver (PR_SET_PDEATHSIG) and cleanup_once kills them. */

static struct {
    bool ran, ok;
    long node_rss_kb, redis_rss_kb;
    struct flow_result e2e, paced;
    double paced_rate;
    long get_requests, get_errors;
    double get_rps;
    struct pct get_lat;
    double get_node_cpu_s, get_redis_cpu_s;
    double e2e_node_cpu_s, e2e_redis_cpu_s;
} RC;

/* fork/execs argv[0] (looked up in PATH) with stdout and stderr appended to
 * log; env_kv are "NAME=value" strings added to the environment (NULL
 * terminated).  Returns the pid or -1. */
static int compare_spawn(char *const argv[], const char *log, char *const env_kv[])
{
    int fo = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int fi = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (fo < 0 || fi < 0) {
        logmsg("compare: cannot open %s: %s", log, strerror(errno));
        if (fo >= 0) close(fo);
        if (fi >= 0) close(fi);
        return -1;
    }
    for (int i = 0; env_kv && env_kv[i]; i++)
        if (putenv(env_kv[i]) != 0)
            logmsg("compare: putenv failed");
    sigset_t empty;
    sigemptyset(&empty);
    pid_t pid = fork();
    if (pid == 0) {
        (void)prctl(PR_SET_PDEATHSIG, SIGKILL);
        (void)signal(SIGPIPE, SIG_DFL);
        (void)pthread_sigmask(SIG_SETMASK, &empty, NULL);
        if (dup2(fi, 0) < 0 || dup2(fo, 1) < 0 || dup2(fo, 2) < 0)
            _exit(126);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fo);
    close(fi);
    if (pid < 0)
        logmsg("compare: fork: %s", strerror(errno));
    return pid < 0 ? -1 : (int)pid;
}

/* Waits until redis answers PING on port (10 s at most).  0 or -1. */
static int redis_wait(int pid, int port)
{
    int64_t deadline = now_ns() + 10 * NS_PER_S;
    while (now_ns() < deadline) {
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            atomic_store(&g_redis_pid, 0);
            logmsg("compare: redis-server exited (status 0x%x)", st);
            return -1;
        }
        int fd = tcp_connect(port, 1000);
        if (fd >= 0) {
            char pong[16] = "";
            ssize_t n = -1;
            if (send_all(fd, "PING\r\n", 6) == 0)
                n = recv(fd, pong, sizeof pong - 1, 0);
            close(fd);
            if (n >= 5 && strncmp(pong, "+PONG", 5) == 0)
                return 0;
        }
        sleep_ms(20);
    }
    logmsg("compare: redis-server did not answer PING on port %d", port);
    return -1;
}

/* Stops a compare child: SIGTERM, then SIGKILL after 5 s. */
static void compare_stop(atomic_int *slot)
{
    int pid = atomic_exchange(slot, 0);
    if (pid <= 0)
        return;
    if (kill(pid, SIGTERM) != 0 && errno != ESRCH)
        logmsg("compare: kill(%d): %s", pid, strerror(errno));
    int64_t deadline = now_ns() + 5 * NS_PER_S;
    int st;
    while (waitpid(pid, &st, WNOHANG) == 0) {
        if (now_ns() > deadline) {
            if (kill(pid, SIGKILL) != 0 && errno != ESRCH)
                logmsg("compare: kill(%d, SIGKILL): %s", pid, strerror(errno));
            while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
            return;
        }
        sleep_ms(5);
    }
}

/* Forgets every job id the batchbox phases recorded: the other stack
 * numbers its jobs from 1 again. */
static void ids_reset(void)
{
    memset(g_submit_ns, 0, (size_t)g_id_cap * sizeof *g_submit_ns);
    memset(g_phase_of_id, 0, (size_t)g_id_cap);
    atomic_store(&g_all_ids_n, 0);
}

static void run_compare(void)
{
    RC.ran = true;
    char dir[PATH_MAX + 32], script[PATH_MAX + 64], log_redis[PATH_MAX + 32],
        log_node[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/redis", g_datadir);
    snprintf(script, sizeof script, "%s/server.js", g_o.compare_dir);
    snprintf(log_redis, sizeof log_redis, "%s/compare-redis.log", g_datadir);
    snprintf(log_node, sizeof log_node, "%s/compare-node.log", g_datadir);
    if (mkdir(dir, 0700) != 0 || access(script, R_OK) != 0) {
        logmsg("compare: cannot use %s (or make %s): %s", script, dir, strerror(errno));
        return;
    }
    int rport = free_port(), nport = free_port();
    if (rport <= 0 || nport <= 0 || rport == nport) {
        logmsg("compare: no free ports");
        return;
    }
    char rport_s[16];
    snprintf(rport_s, sizeof rport_s, "%d", rport);
    char *rargv[] = { "redis-server", "--port", rport_s, "--bind", "127.0.0.1", "--dir", dir,
                      "--save", "", "--appendonly", "no", NULL };
    int rpid = compare_spawn(rargv, log_redis, NULL);
    if (rpid < 0)
        return;
    atomic_store(&g_redis_pid, rpid);
    if (redis_wait(rpid, rport) != 0) {
        compare_stop(&g_redis_pid);
        return;
    }
    static char env_port[32], env_rport[32], env_email[64], env_pw[64];
    snprintf(env_port, sizeof env_port, "PORT=%d", nport);
    snprintf(env_rport, sizeof env_rport, "REDIS_PORT=%d", rport);
    snprintf(env_email, sizeof env_email, "BENCH_EMAIL=%s", BENCH_EMAIL);
    snprintf(env_pw, sizeof env_pw, "BENCH_PASSWORD=%s", BENCH_PASSWORD);
    char *env[] = { env_port, env_rport, env_email, env_pw, NULL };
    char *nargv[] = { "node", script, NULL };
    int64_t tf = now_ns();
    int npid = compare_spawn(nargv, log_node, env);
    int saved_port = g_port;
    struct results saved = R;
    if (npid < 0) {
        compare_stop(&g_redis_pid);
        return;
    }
    atomic_store(&g_server_pid, npid);
    g_port = nport;
    if (wait_healthy(npid, nport, 15000) < 0 || sign_in(nport) != 0) {
        logmsg("compare: the node server did not start; see %s", log_node);
        goto stop;
    }
    logmsg("compare: node server pid %d on 127.0.0.1:%d (up in %.0f ms), redis pid %d on %d",
           npid, nport, (double)(now_ns() - tf) / NS_PER_MS, rpid, rport);
    ids_reset();
    sleep_ms(200);
    RC.node_rss_kb = proc_status_kb(npid, "VmRSS");
    RC.redis_rss_kb = proc_status_kb(rpid, "VmRSS");
    double r0 = proc_cpu_s(rpid);
    RC.e2e = run_flow(1, g_o.jobs, 0, "compare e2e");
    RC.e2e_node_cpu_s = RC.e2e.cpu.srv;
    RC.e2e_redis_cpu_s = proc_cpu_s(rpid) - r0;
    RC.paced_rate = RC.e2e.jps > 0 ? RC.e2e.jps / 2 : 500;
    long n = (long)(RC.paced_rate * 4);
    n = n < 500 ? 500 : n > g_o.jobs ? g_o.jobs : n;
    RC.paced = run_flow(2, n, RC.paced_rate, "compare paced");
    memset(&R, 0, sizeof R);
    r0 = proc_cpu_s(rpid);
    run_get();
    RC.get_redis_cpu_s = proc_cpu_s(rpid) - r0;
    RC.get_node_cpu_s = R.cpu_get.srv;
    RC.get_requests = R.get_requests;
    RC.get_errors = R.get_errors;
    RC.get_rps = R.get_rps;
    RC.get_lat = R.get_lat;
    RC.ok = RC.e2e.ok && RC.paced.ok && R.get_ran && !R.server_fail;
stop:
    R = saved;
    g_port = saved_port;
    compare_stop(&g_server_pid);
    compare_stop(&g_redis_pid);
}

/* "3.2x" (a/b), or "-" when either side is missing. */
static const char *ratio(char *out, size_t cap, double a, double b)
{
    if (a > 0 && b > 0)
        snprintf(out, cap, "%.2fx", a / b);
    else
        snprintf(out, cap, "-");
    return out;
}

static void print_compare(FILE *o)
{
    if (!RC.ran)
        return;
    char a[64], b[64], r[32];
    fprintf(o, "\nside by side: batchbox vs the original stack (bench/compare: Fastify + BullMQ + "
               "Redis), same driver, one after the other%s\n", RC.ok ? "" : " (INCOMPLETE)");
    fprintf(o, "%-40s %-24s %-28s %s\n", "measure", "batchbox", "Fastify+BullMQ+Redis",
            "batchbox better by");
    fprintf(o, "%.*s\n", 104, "--------------------------------------------------------------"
                              "------------------------------------------");
    snprintf(a, sizeof a, "%.0f", R.e2e_jps);
    snprintf(b, sizeof b, "%.0f", RC.e2e.jps);
    fprintf(o, "%-40s %-24s %-28s %s\n", "e2e no-op jobs/s", a, b,
            ratio(r, sizeof r, R.e2e_jps, RC.e2e.jps));
    snprintf(a, sizeof a, "%.1f ms at %.0f/s", R.paced_lat.p99, R.paced_achieved);
    snprintf(b, sizeof b, "%.1f ms at %.0f/s", RC.paced.lat.p99, RC.paced.achieved_rate);
    fprintf(o, "%-40s %-24s %-28s %s\n", "p99 submit→succeeded at half load", a, b,
            ratio(r, sizeof r, RC.paced.lat.p99, R.paced_ran ? R.paced_lat.p99 : 0));
    snprintf(a, sizeof a, "%.0f (p99 %.1f ms)", R.get_rps, R.get_lat.p99);
    snprintf(b, sizeof b, "%.0f (p99 %.1f ms)", RC.get_rps, RC.get_lat.p99);
    fprintf(o, "%-40s %-24s %-28s %s\n", "GET /jobs/:id req/s, 50 conns", a, b,
            ratio(r, sizeof r, R.get_rps, RC.get_rps));
    double bb_us = R.get_requests > 0 ? 1e6 * R.cpu_get.srv / (double)R.get_requests : 0;
    double rc_us = RC.get_requests > 0 ? 1e6 * (RC.get_node_cpu_s + RC.get_redis_cpu_s) /
                                             (double)RC.get_requests : 0;
    snprintf(a, sizeof a, "%.1f µs", bb_us);
    snprintf(b, sizeof b, "%.1f µs (node+redis)", rc_us);
    fprintf(o, "%-40s %-24s %-28s %s\n", "server CPU per GET", a, b, ratio(r, sizeof r, rc_us, bb_us));
    double bb_job = R.e2e_accepted > 0 ? 1e6 * R.cpu_e2e.srv / (double)R.e2e_accepted : 0;
    double rc_job = RC.e2e.accepted > 0 ? 1e6 * (RC.e2e_node_cpu_s + RC.e2e_redis_cpu_s) /
                                              (double)RC.e2e.accepted : 0;
    snprintf(a, sizeof a, "%.1f µs", bb_job);
    snprintf(b, sizeof b, "%.1f µs (node+redis)", rc_job);
    fprintf(o, "%-40s %-24s %-28s %s\n", "server CPU per e2e job", a, b,
            ratio(r, sizeof r, rc_job, bb_job));
    double rc_rss = (double)(RC.node_rss_kb + RC.redis_rss_kb) / 1024;
    snprintf(a, sizeof a, "%.1f MB", (double)R.rss_start_kb / 1024);
    snprintf(b, sizeof b, "%.1f MB (%.1f + %.1f)", rc_rss, (double)RC.node_rss_kb / 1024,
             (double)RC.redis_rss_kb / 1024);
    fprintf(o, "%-40s %-24s %-28s %s\n", "idle RSS", a, b,
            ratio(r, sizeof r, rc_rss, R.idle_ran ? (double)R.rss_start_kb / 1024 : 0));
    fprintf(o, "  original stack: e2e accepted %ld/%ld, missing %ld, duplicates %ld; paced "
               "accepted %ld/%ld, missing %ld; get %ld requests, %ld errors\n",
            RC.e2e.accepted, RC.e2e.wanted, RC.e2e.missing, RC.e2e.dups, RC.paced.accepted,
            RC.paced.wanted, RC.paced.missing, RC.get_requests, RC.get_errors);
}

static void compare_json(FILE *o)
{
    if (!RC.ran)
        return;
    fprintf(o, ",\"compare\":{\"ok\":%s,\"nodeRssKb\":%ld,\"redisRssKb\":%ld,\"e2eJps\":%.1f,",
            RC.ok ? "true" : "false", RC.node_rss_kb, RC.redis_rss_kb, RC.e2e.jps);
    json_pct(o, "e2eLatMs", &RC.e2e.lat);
    fprintf(o, ",\"pacedRate\":%.1f,", RC.paced.achieved_rate);
    json_pct(o, "pacedLatMs", &RC.paced.lat);
    fprintf(o, ",\"getRps\":%.1f,\"getRequests\":%ld,\"getCpuNodeS\":%.3f,\"getCpuRedisS\":%.3f,",
            RC.get_rps, RC.get_requests, RC.get_node_cpu_s, RC.get_redis_cpu_s);
    json_pct(o, "getLatMs", &RC.get_lat);
    fprintf(o, "}");
}

int main(int argc, char **argv)
{
    if (parse_args(argc, argv) != 0)
        return 1;
    if (access(g_o.bin, X_OK) != 0) {
        fprintf(stderr, "bbbench: %s is not an executable: %s\n", g_o.bin, strerror(errno));
        return 1;
    }
    if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
        return 1;
    raise_nofile((long)g_o.fanout + 1024);

    /* ids: generous; verified on every 202 */
    long paced_max = g_o.paced_jobs > 0 ? g_o.paced_jobs : g_o.jobs;
    ids_alloc(2 * (g_o.jobs + paced_max + 2000 + g_o.fan_events + 2 * g_o.lesson_jobs) + 4096 +
              (BATCH_CREATES + 2) * (BATCH_CHILDREN + 1));

    snprintf(g_datadir, sizeof g_datadir, "/tmp/bbbench.XXXXXX");
    if (!mkdtemp(g_datadir)) {
        fprintf(stderr, "bbbench: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    /* signals go to the watchdog thread only */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_t wd;
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0 ||
        pthread_create(&wd, NULL, watchdog_main, NULL) != 0) {
        fprintf(stderr, "bbbench: cannot start watchdog\n");
        remove_datadir();
        return 1;
    }
    int rc = 0;
    if (write_config() != 0) {
        logmsg("cannot write %s/batchbox.json", g_datadir);
        rc = 1;
        goto out;
    }
    g_port = free_port();
    if (g_port <= 0) {
        logmsg("no free port");
        rc = 1;
        goto out;
    }
    int64_t tf;
    int pid = server_spawn(g_port, &tf);
    if (pid < 0 || wait_healthy(pid, g_port, 15000) < 0) {
        print_server_log_tail();
        rc = 1;
        goto out;
    }
    logmsg("server pid %d on 127.0.0.1:%d, data %s", pid, g_port, g_datadir);
    if (sign_in(g_port) != 0) {
        print_server_log_tail();
        rc = 1;
        goto out;
    }
    sleep_ms(200);
    R.idle_ran = (g_o.only & PH_IDLE) != 0;
    R.rss_start_kb = proc_status_kb(pid, "VmRSS");
    R.threads_start = proc_threads(pid);
    R.rss_after_e2e_kb = -1;

    if (g_o.only & PH_E2E) {
        struct flow_result fr = run_flow(1, g_o.jobs, 0, "e2e");
        R.e2e_ran = true;
        R.e2e_wanted = fr.wanted;
        R.e2e_accepted = fr.accepted;
        R.e2e_submit_fail = fr.failed;
        R.e2e_missing = fr.missing;
        R.e2e_dups = fr.dups;
        R.e2e_unexpected = fr.unexpected;
        R.e2e_reconnects = fr.reconnects;
        R.e2e_overflows = fr.overflows;
        R.e2e_submit_rps = fr.submit_rps;
        R.e2e_jps = fr.jps;
        R.e2e_wall_s = fr.wall_s;
        R.e2e_lat = fr.lat;
        R.e2e_lat_pairs = fr.lat_pairs;
        R.cpu_e2e = fr.cpu;
        if (!fr.ok)
            R.correctness_fail = true;
        R.rss_after_e2e_kb = proc_status_kb(pid, "VmRSS");
    }
    if ((g_o.only & PH_PACED) && !R.server_fail) {
        double rate = g_o.rate;
        if (rate <= 0)
            rate = R.e2e_ran && R.e2e_jps > 0 ? R.e2e_jps / 2 : 2500;
        long n = g_o.paced_jobs;
        if (n <= 0) {
            n = (long)(rate * 4);
            if (n < 500) n = 500;
            if (n > g_o.jobs) n = g_o.jobs;
        }
        if (n > paced_max)
            n = paced_max;
        struct flow_result fr = run_flow(2, n, rate, "paced");
        R.paced_ran = true;
        R.paced_rate = rate;
        R.paced_achieved = fr.achieved_rate;
        R.paced_wanted = fr.wanted;
        R.paced_accepted = fr.accepted;
        R.paced_submit_fail = fr.failed;
        R.paced_missing = fr.missing;
        R.paced_dups = fr.dups;
        R.paced_unexpected = fr.unexpected;
        R.paced_reconnects = fr.reconnects;
        R.paced_max_lag_ms = fr.max_lag_ms;
        R.paced_lat = fr.lat;
        R.paced_lat_pairs = fr.lat_pairs;
        R.cpu_paced = fr.cpu;
        if (!fr.ok)
            R.correctness_fail = true;
    }
    if ((g_o.only & PH_GET) && !R.server_fail)
        run_get();
    if ((g_o.only & PH_FANOUT) && !R.server_fail)
        run_fanout(pid);
    R.hwm_kb = proc_status_kb(pid, "VmHWM");
    if ((g_o.only & PH_BATCH) && !R.server_fail)
        run_batch();
    if ((g_o.only & PH_LESSON) && !R.server_fail)
        run_lesson(pid); /* after the VmHWM read above: it resets the peak */
    if (atomic_load(&g_server_pid) != pid) {
        logmsg("the server is no longer running");
        R.server_fail = true;
    } else {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) {
            atomic_store(&g_server_pid, 0);
            logmsg("the server died during the benchmark (status 0x%x)", st);
            R.server_fail = true;
            print_server_log_tail();
        }
    }
    if ((g_o.only & PH_STARTUP) && !R.server_fail)
        run_startup(pid);
    if (g_o.compare_dir && !R.server_fail) {
        if (atomic_load(&g_server_pid) == pid)
            server_stop(pid, 20000); /* the other stack runs alone */
        run_compare();
    }
    R.server_error_lines = count_server_errors();

    print_table(g_o.json ? stderr : stdout);
    print_compare(g_o.json ? stderr : stdout);
    if (g_o.json)
        print_json(stdout);
    if (R.server_fail)
        rc = 1;
    else if (R.correctness_fail)
        rc = 2;
out:
    if (rc == 1)
        print_server_log_tail();
    atomic_store(&g_done, true);
    if (!cleanup_once())
        for (;;)
            pause(); /* the watchdog is exiting the process */
    if (pthread_join(wd, NULL) != 0)
        logmsg("pthread_join(watchdog) failed");
    free(g_submit_ns);
    free(g_phase_of_id);
    free(g_all_ids);
    return rc;
}
