/* client_stream.c — SIGINT/SIGTERM for the long-running client verbs and
 * the one reconnecting Server-Sent-Events loop shared by `watch` and
 * `submit --wait` (Last-Event-ID, bounded backoff, Retry-After).  See
 * client.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/client.h"

/* The server sends a heartbeat every events.heartbeatSec (default 25 s);
 * three missed heartbeats mean a dead connection. */
#define STREAM_IDLE_SEC 90L
#define BACKOFF_MIN_MS 500L
#define BACKOFF_MAX_MS 5000L
#define RETRY_AFTER_MAX_MS 30000L
#define RECONNECT_GIVE_UP_MS (5L * 60L * 1000L)

atomic_int cl_cancel;
volatile sig_atomic_t cl_signaled;

static void on_signal(int sig)
{
    (void)sig;
    cl_signaled = 1;
    atomic_store(&cl_cancel, 1);
}

/* Routes SIGINT/SIGTERM to on_signal (no SA_RESTART, so blocking waits
 * return early); cl_signals_restore() puts the old handlers back. */
void cl_signals_catch(struct cl_sigsave *s)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    cl_signaled = 0;
    atomic_store(&cl_cancel, 0);
    s->have_intr = sigaction(SIGINT, &sa, &s->intr) == 0;
    s->have_term = sigaction(SIGTERM, &sa, &s->term) == 0;
}

void cl_signals_restore(struct cl_sigsave *s)
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
    while (ms > 0 && !cl_signaled) {
        long step = ms < 50 ? ms : 50;
        struct timespec ts = {0, step * 1000000L};
        (void)nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* ------------------------------------------------------ event stream */

static int stream_sse_event(const struct sse_event *ev, void *user)
{
    struct cl_stream *s = user;
    return s->on_event(s, ev);
}

static int stream_chunk(void *user, const char *data, size_t len)
{
    struct cl_stream *s = user;
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
int cl_run_stream(struct cl_stream *s, const char *query)
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

        if (cl_signaled)
            return s->signal_code;
        atomic_store(&cl_cancel, 0);
        if (cl_signaled) /* raced with the store above */
            atomic_store(&cl_cancel, 1);

        url = cl_api_url(c, "/jobs/events%s", query);
        if (!url) {
            errorf(c, "request URL too long");
            return CLI_EXIT_USAGE;
        }
        struct cl_req o = {
            .accept = "text/event-stream",
            .last_event_id = sse_parser_last_id(&s->parser),
            .on_chunk = stream_chunk,
            .user = s,
            .idle_sec = STREAM_IDLE_SEC,
            .cancelable = true,
        };
        s->connected = false;
        r = cl_api_do(c, "GET", url, NULL, &o, &resp, err, sizeof err);
        free(url);
        sse_parser_finish(&s->parser);
        if (s->connected) {
            ever_connected = true;
            delay = BACKOFF_MIN_MS;
            last_ok = now_ms();
        }
        if (s->after)
            s->after(s);
        if (s->stop_code >= 0 || cl_signaled) {
            http_response_free(&resp);
            return s->stop_code >= 0 ? s->stop_code : s->signal_code;
        }

        wait_ms = delay;
        if (r == HTTP_RES_OK && cl_is_2xx(resp.status)) {
            snprintf(why, sizeof why, "the server closed the stream");
        } else if (r == HTTP_RES_OK &&
                   (resp.status == 429 || resp.status == 503 ||
                    resp.status >= 500) &&
                   resp.status != 501) {
            char ra[32];
            const char *m = NULL;
            cJSON *j = cJSON_ParseWithLength(resp.body, resp.body_len);
            if (!(m = cl_jstr(j, "message")))
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
                int code = cl_report_failure(c, r, &resp, err);
                http_response_free(&resp);
                return code;
            }
            snprintf(why, sizeof why, "%s", err);
        } else {
            int code = cl_report_failure(c, r, &resp, err);
            http_response_free(&resp);
            return code;
        }
        http_response_free(&resp);

        if (now_ms() - last_ok > RECONNECT_GIVE_UP_MS) {
            errorf(c, "giving up: no connection to %s for %ld s (%s)",
                   c->shown, RECONNECT_GIVE_UP_MS / 1000, why);
            return CLI_EXIT_UNREACHABLE;
        }
        fprintf(stderr, "batchbox %s: connection lost (", c->call->name);
        cl_put_clean(stderr, why);
        fprintf(stderr, "); reconnecting in %.1f s", wait_ms / 1000.0);
        if (*sse_parser_last_id(&s->parser)) {
            fputs(" after event #", stderr);
            cl_put_clean(stderr, sse_parser_last_id(&s->parser));
        }
        fputc('\n', stderr);
        sleep_ms(wait_ms);
        delay = delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay * 2;
    }
}
