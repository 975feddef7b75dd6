/* conn_guard.c — the per-address connection cap, the slow-client counters
 * of /metrics and the rate-limited refusal log (see conn_guard.h;
 * docs/operations.md, "Slow clients and connection limits").
 *
 * State and threads: `addrs` (open connections per client address, a
 * chained hash whose entries exist only while their count is above 0) and
 * the log limiter are guarded by `mu`; the master thread takes it once per
 * accepted socket, a worker once per closed one.  Counters are atomics.
 * Each civetweb worker thread owns one slot of `held` (the start of the
 * request it is serving, 0 when idle), found through a thread-local
 * index; /metrics reads all slots to count long-held requests. */
#include "http/conn_guard.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "http/http_int.h"
#include "infra/config.h"
#include "infra/metrics.h"
#include "util/bb_assert.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/netaddr.h"
#include "util/util.h"

#define BUCKETS 1024
#define LONG_HELD_MS 10000     /* a request in flight this long is "long-held" */
#define LOG_WINDOW_MS 1000     /* the refusal log: at most LOG_PER_WINDOW lines */
#define LOG_PER_WINDOW 10      /* per window, then one summary line */

struct addr_entry {
    struct addr_entry *next;
    int open;                  /* connections open from addr, > 0 */
    char addr[48];             /* civetweb's text form (IPv6 fits) */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct addr_entry *addrs[BUCKETS];          /* guarded by mu */
static int64_t log_window_start;                     /* guarded by mu */
static int log_lines, log_skipped;                   /* guarded by mu */

static const bb_config *cfg;            /* borrowed; set before civetweb starts */
static int64_t long_held_us;
static _Atomic int64_t *held;           /* one per worker thread: request start (us) */
static int nheld;
static atomic_int next_slot;
static atomic_uint generation;          /* a new server: threads take new slots */
static _Thread_local int my_slot = -1;
static _Thread_local unsigned my_generation;

static atomic_int open_conns, in_flight;
static atomic_uint_fast64_t accepted_total, refused_total, header_timeouts, body_timeouts;

int conn_guard_init(const bb_config *c, int threads)
{
    conn_guard_free();
    _Atomic int64_t *h = calloc((size_t)threads + 8, sizeof *h);
    if (!h)
        return -1;
    cfg = c;
    held = h;
    nheld = threads + 8;
    atomic_store(&next_slot, 0);
    atomic_fetch_add(&generation, 1);
    /* Tests shorten the threshold (digits only; else 10 s). */
    const char *t = getenv("BB_TEST_LONG_HELD_MS");
    int64_t ms = LONG_HELD_MS;
    if (t && *t && strspn(t, "0123456789") == strlen(t) && strlen(t) <= 7)
        (void)bb_parse_i64(t, &ms);
    long_held_us = ms * 1000;
    return 0;
}

void conn_guard_free(void)
{
    pthread_mutex_lock(&mu);
    for (int i = 0; i < BUCKETS; i++) {
        while (addrs[i]) {
            struct addr_entry *e = addrs[i];
            addrs[i] = e->next;
            free(e);
        }
    }
    log_window_start = 0;
    log_lines = log_skipped = 0;
    pthread_mutex_unlock(&mu);
    free((void *)held);
    held = NULL;
    nheld = 0;
    atomic_store(&open_conns, 0);
    atomic_store(&in_flight, 0);
    atomic_store(&accepted_total, 0);
    atomic_store(&refused_total, 0);
    atomic_store(&header_timeouts, 0);
    atomic_store(&body_timeouts, 0);
}

static unsigned bucket_of(const char *addr)
{
    uint32_t h = 2166136261u;             /* FNV-1a */
    for (const char *p = addr; *p; p++)
        h = (h ^ (unsigned char)*p) * 16777619u;
    return h % BUCKETS;
}

/* The entry of addr, or NULL.  Caller holds mu. */
static struct addr_entry **find(const char *addr)
{
    struct addr_entry **pp = &addrs[bucket_of(addr)];
    while (*pp && strcmp((*pp)->addr, addr) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* Logs one refusal of addr (reason), at most LOG_PER_WINDOW a second; the
 * first line of a later window says how many were left out before it. */
static void log_refusal(const char *addr, const char *reason)
{
    int64_t now = bb_mono_us() / 1000;
    int skipped = 0;
    bool say = false;
    pthread_mutex_lock(&mu);
    if (now - log_window_start >= LOG_WINDOW_MS) {
        skipped = log_skipped;
        log_window_start = now;
        log_lines = log_skipped = 0;
    }
    if (log_lines < LOG_PER_WINDOW) {
        log_lines++;
        say = true;
    } else {
        log_skipped++;
    }
    pthread_mutex_unlock(&mu);
    if (!say)
        return;
    char n[16];
    snprintf(n, sizeof n, "%d", skipped);
    bb_log(BB_LOG_WARN, "connection refused", "addr", addr, "reason", reason,
           "notLoggedBefore", n, (char *)0);
}

/* The 503 a refused socket gets, written without blocking (a client that
 * does not read simply misses it).  What the client already sent is read
 * first, so closing does not turn into a reset that discards the answer. */
static void send_refusal(int sock, const char *addr, int cap)
{
    char sink[4096];
    (void)!recv(sock, sink, sizeof sink, MSG_DONTWAIT);
    bb_errctx e = {.code = BB_EUNAVAIL};
    char msg[160];
    snprintf(msg, sizeof msg, "too many connections from %s (http.maxConnectionsPerAddress "
             "is %d): close idle ones and retry", addr, cap);
    char *body = http_error_text(NULL, &e, msg);
    if (!body)
        return;
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\nRetry-After: 5\r\nCache-Control: no-store\r\n"
                     "Connection: close\r\n\r\n", strlen(body));
    if (n > 0 && (size_t)n < sizeof head &&
        send(sock, head, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n)
        (void)!send(sock, body, strlen(body), MSG_DONTWAIT | MSG_NOSIGNAL);
    free(body);
}

bool conn_guard_accept(int sock, const char *addr)
{
    BB_ASSERT(cfg != NULL);
    int cap = cfg->http.max_connections_per_address;
    bool proxy = cfg->http.trusted_proxies && bb_addr_in_list(addr, cfg->http.trusted_proxies);
    bool keep = true;
    pthread_mutex_lock(&mu);
    struct addr_entry **pp = find(addr);
    if (*pp && (*pp)->open >= cap && !proxy) {
        keep = false;
    } else if (*pp) {
        (*pp)->open++;
    } else {
        struct addr_entry *e = calloc(1, sizeof *e);
        if (e) {
            bb_strlcpy(e->addr, addr, sizeof e->addr);
            e->open = 1;
            *pp = e;
        } else {
            keep = false;              /* cannot count it: refuse rather than not cap */
        }
    }
    pthread_mutex_unlock(&mu);
    if (!keep) {
        atomic_fetch_add(&refused_total, 1);
        send_refusal(sock, addr, cap);
        log_refusal(addr, "too many connections from this address");
        return false;
    }
    atomic_fetch_add(&open_conns, 1);
    atomic_fetch_add(&accepted_total, 1);
    return true;
}

void conn_guard_closed(const char *addr)
{
    bool known = false;
    pthread_mutex_lock(&mu);
    struct addr_entry **pp = find(addr);
    if (*pp) {
        known = true;
        if (--(*pp)->open <= 0) {
            struct addr_entry *e = *pp;
            *pp = e->next;
            free(e);
        }
    }
    pthread_mutex_unlock(&mu);
    BB_ASSERT(known);
    if (known)
        atomic_fetch_sub(&open_conns, 1);
}

/* The calling thread's slot of held, or -1. */
static int my_held_slot(void)
{
    unsigned g = atomic_load(&generation);
    if (my_slot < 0 || my_generation != g) {
        my_slot = atomic_fetch_add(&next_slot, 1);
        my_generation = g;
    }
    return held && my_slot < nheld ? my_slot : -1;
}

void conn_guard_request_begin(void)
{
    atomic_fetch_add(&in_flight, 1);
    int s = my_held_slot();
    if (s >= 0)
        atomic_store(&held[s], bb_mono_us());
}

void conn_guard_request_end(void)
{
    atomic_fetch_sub(&in_flight, 1);
    int s = my_held_slot();
    if (s >= 0)
        atomic_store(&held[s], 0);
}

void conn_guard_timed_out(const char *addr, bool header)
{
    atomic_fetch_add(header ? &header_timeouts : &body_timeouts, 1);
    log_refusal(addr && *addr ? addr : "?", header ? "request headers missed their deadline"
                                                   : "request body missed its deadline");
}

int conn_guard_metrics(buf *out)
{
    int open = atomic_load(&open_conns), busy = atomic_load(&in_flight), long_held = 0;
    int64_t now = bb_mono_us();
    for (int i = 0; held && i < nheld; i++) {
        int64_t t = atomic_load(&held[i]);
        if (t != 0 && now - t >= long_held_us)
            long_held++;
    }
    const struct {
        const char *name, *type, *help;
        double value;
    } rows[] = {
        {"batchbox_http_connections_open", "gauge",
         "Client connections open (accepted, not yet closed).", (double)open},
        {"batchbox_http_connections_waiting_for_headers", "gauge",
         "Open connections with no request in progress: waiting for a thread or for the "
         "client's next request headers.", (double)(open > busy ? open - busy : 0)},
        {"batchbox_http_requests_in_flight", "gauge", "Requests being served now.",
         (double)busy},
        {"batchbox_http_requests_long_held", "gauge",
         "Requests in flight for more than 10 s (event and log streams included).",
         (double)long_held},
        {"batchbox_http_connections_accepted_total", "counter", "Connections accepted.",
         (double)atomic_load(&accepted_total)},
        {"batchbox_http_connections_refused_total", "counter",
         "Connections refused at accept: the address had http.maxConnectionsPerAddress open.",
         (double)atomic_load(&refused_total)},
        {"batchbox_http_header_timeouts_total", "counter",
         "Connections closed because the request headers missed http.headerTimeoutMs.",
         (double)atomic_load(&header_timeouts)},
        {"batchbox_http_body_timeouts_total", "counter",
         "Requests closed because the body missed http.bodyTimeoutMs or the upload rate.",
         (double)atomic_load(&body_timeouts)},
    };
    int rc = 0;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        rc |= metrics_put_single(out, rows[i].name, rows[i].type, rows[i].help, rows[i].value);
    return rc ? -1 : 0;
}
