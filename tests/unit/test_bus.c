/* test_bus.c — unit tests for src/infra/bus/bus.c: delivery order, the
 * subscribe point and last_id, filters (owner, job, logs), coalescing of
 * pending events into one wait, timeouts, ring overflow of a slow
 * subscriber while a fast one keeps up, close waking a waiter in another
 * thread, the counters, the JSON each event carries next to its frame, and
 * bus_wait_events (references that outlive eviction from the ring). */
#define UNIT_MAIN
#include "unit.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "domain/event.h"
#include "infra/bus/bus.h"
#include "util/buf.h"

#define OUT_CAP (4u << 20)

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* The data of event id: "{\"n\":ID}". */
static void data_of(int64_t id, char out[64])
{
    snprintf(out, 64, "{\"n\":%lld}", (long long)id);
}

/* Publishes one event (job, owner, type) with id. */
static void pub1(bus *b, int64_t id, int64_t job, int64_t owner, enum ev_type t)
{
    char d[64];
    data_of(id, d);
    bus_event *ev = bus_event_new(id, job, owner, t, d);
    if (!ev)
        abort();
    bus_publish(b, &ev, 1);
}

/* Publishes ids [from, to] for job 1, owner 1, type state_changed, in one
 * bus_publish call. */
static void pub_range(bus *b, int64_t from, int64_t to)
{
    size_t n = (size_t)(to - from + 1);
    bus_event **evs = calloc(n, sizeof *evs);
    if (!evs)
        abort();
    for (size_t i = 0; i < n; i++) {
        char d[64];
        data_of(from + (int64_t)i, d);
        evs[i] = bus_event_new(from + (int64_t)i, 1, 1, EV_JOB_STATE_CHANGED, d);
        if (!evs[i])
            abort();
    }
    bus_publish(b, evs, n);
    free(evs);
}

/* Appends the expected frame of event id with type t to want. */
static void want_frame(buf *want, int64_t id, enum ev_type t)
{
    char d[64];
    size_t len;
    data_of(id, d);
    char *f = sse_frame(id, t, d, &len);
    if (!f || buf_append(want, f, len) != 0)
        abort();
    free(f);
}

/* Checks that out holds exactly the frames of the ids listed (type t). */
static void expect_ids_(const char *file, int line, const buf *out, enum ev_type t,
                        const int64_t *ids, size_t n)
{
    buf want;
    buf_init(&want, OUT_CAP);
    for (size_t i = 0; i < n; i++)
        want_frame(&want, ids[i], t);
    bool same = want.len == out->len && (want.len == 0 || memcmp(want.data, out->data, want.len) == 0);
    if (!same)
        unit_fail_(file, line, "got \"%.300s\", want \"%.300s\"", out->data ? out->data : "",
                   want.data ? want.data : "");
    buf_free(&want);
}
#define EXPECT_IDS(out, t, ...)                                                  \
    do {                                                                         \
        static const int64_t ids_[] = {__VA_ARGS__};                             \
        expect_ids_(__FILE__, __LINE__, out, t, ids_, sizeof ids_ / sizeof ids_[0]); \
        if (unit_failed_)                                                        \
            return;                                                              \
    } while (0)

/* Counts "id: " lines in a buffer of frames. */
static int count_frames(const buf *b)
{
    int n = 0;
    for (const char *p = b->data; p && (p = strstr(p, "id: ")) != NULL; p += 4)
        n++;
    return n;
}

static const struct bus_filter all_f = {0, 0, false};

TEST(delivers_in_publish_order)
{
    bus *b = bus_new(64);
    CHECK(b != NULL);
    int64_t last = -1;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    CHECK(s != NULL);
    CHECK_EQ_INT(last, 0);
    pub_range(b, 1, 3);
    pub1(b, 4, 1, 1, EV_JOB_STATE_CHANGED);
    pub_range(b, 5, 6);
    buf out;
    buf_init(&out, OUT_CAP);
    CHECK_EQ_INT(bus_wait(b, s, 1000, &out, OUT_CAP), BUS_EVENTS);
    EXPECT_IDS(&out, EV_JOB_STATE_CHANGED, 1, 2, 3, 4, 5, 6);
    /* nothing left: the cursor moved past everything */
    buf_reset(&out);
    CHECK_EQ_INT(bus_wait(b, s, 20, &out, OUT_CAP), BUS_TIMEOUT);
    CHECK_EQ_INT(out.len, 0);
    buf_free(&out);
    bus_unsubscribe(b, s);
    bus_free(b);
}

TEST(subscriber_gets_only_events_after_its_subscribe_point)
{
    bus *b = bus_new(64);
    CHECK(b != NULL);
    pub_range(b, 10, 12);
    int64_t last = -1;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    CHECK_EQ_INT(last, 12);
    pub_range(b, 13, 14);
    int64_t last2 = -1;
    bus_sub *s2 = bus_subscribe(b, &all_f, &last2);
    CHECK_EQ_INT(last2, 14);
    pub1(b, 20, 1, 1, EV_JOB_STATE_CHANGED);    /* ids may jump */
    buf out;
    buf_init(&out, OUT_CAP);
    CHECK_EQ_INT(bus_wait(b, s, 1000, &out, OUT_CAP), BUS_EVENTS);
    EXPECT_IDS(&out, EV_JOB_STATE_CHANGED, 13, 14, 20);
    buf_reset(&out);
    CHECK_EQ_INT(bus_wait(b, s2, 1000, &out, OUT_CAP), BUS_EVENTS);
    EXPECT_IDS(&out, EV_JOB_STATE_CHANGED, 20);
    buf_free(&out);
    bus_unsubscribe(b, s);
    bus_unsubscribe(b, s2);
    bus_free(b);
}

TEST(filters_by_owner_job_and_logs)
{
    bus *b = bus_new(64);
    CHECK(b != NULL);
    int64_t last;
    struct bus_filter f_owner7 = {.owner_id = 7};
    struct bus_filter f_job5 = {.job_id = 5};
    struct bus_filter f_logs = {.logs = true};
    struct bus_filter f_job5_logs_owner7 = {.owner_id = 7, .job_id = 5, .logs = true};
    bus_sub *all = bus_subscribe(b, &all_f, &last);
    bus_sub *o7 = bus_subscribe(b, &f_owner7, &last);
    bus_sub *j5 = bus_subscribe(b, &f_job5, &last);
    bus_sub *lg = bus_subscribe(b, &f_logs, &last);
    bus_sub *mix = bus_subscribe(b, &f_job5_logs_owner7, &last);
    CHECK(all && o7 && j5 && lg && mix);
    CHECK_EQ_INT(bus_subscribers(b), 5);
    /* id  job owner type */
    pub1(b, 1, 5, 7, EV_JOB_CREATED);
    pub1(b, 2, 6, 7, EV_JOB_CREATED);
    pub1(b, 3, 5, 8, EV_JOB_CREATED);
    pub1(b, 4, 5, 7, EV_JOB_LOG);
    pub1(b, 5, 6, 8, EV_JOB_LOG);
    pub1(b, 6, 5, 0, EV_JOB_CREATED);

    buf out, want;
    buf_init(&out, OUT_CAP);
    buf_init(&want, OUT_CAP);
    struct { bus_sub *s; const char *name; int64_t ids[6]; enum ev_type types[6]; size_t n; } cases[] = {
        {all, "all", {1, 2, 3, 6}, {EV_JOB_CREATED, EV_JOB_CREATED, EV_JOB_CREATED, EV_JOB_CREATED}, 4},
        {o7, "owner 7", {1, 2}, {EV_JOB_CREATED, EV_JOB_CREATED}, 2},
        {j5, "job 5", {1, 3, 6}, {EV_JOB_CREATED, EV_JOB_CREATED, EV_JOB_CREATED}, 3},
        {lg, "logs", {1, 2, 3, 4, 5, 6},
         {EV_JOB_CREATED, EV_JOB_CREATED, EV_JOB_CREATED, EV_JOB_LOG, EV_JOB_LOG, EV_JOB_CREATED}, 6},
        {mix, "owner 7 job 5 logs", {1, 4}, {EV_JOB_CREATED, EV_JOB_LOG}, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        buf_reset(&out);
        buf_reset(&want);
        for (size_t k = 0; k < cases[i].n; k++)
            want_frame(&want, cases[i].ids[k], cases[i].types[k]);
        int r = bus_wait(b, cases[i].s, 1000, &out, OUT_CAP);
        if (r != BUS_EVENTS || out.len != want.len || memcmp(out.data, want.data, want.len) != 0)
            FAIL("filter %s: result %d, got \"%.300s\", want \"%.300s\"", cases[i].name, r,
                 out.data ? out.data : "", want.data);
    }
    /* filtered-out events only: the wait times out with nothing */
    pub1(b, 7, 9, 9, EV_JOB_LOG);
    buf_reset(&out);
    CHECK_EQ_INT(bus_wait(b, o7, 30, &out, OUT_CAP), BUS_TIMEOUT);
    CHECK_EQ_INT(out.len, 0);
    buf_free(&out);
    buf_free(&want);
    bus_unsubscribe(b, all);
    bus_unsubscribe(b, o7);
    bus_unsubscribe(b, j5);
    bus_unsubscribe(b, lg);
    CHECK_EQ_INT(bus_subscribers(b), 1);
    bus_unsubscribe(b, mix);
    CHECK_EQ_INT(bus_subscribers(b), 0);
    bus_free(b);
}

TEST(coalesces_pending_events_into_one_wait)
{
    bus *b = bus_new(256);
    CHECK(b != NULL);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    for (int64_t i = 1; i <= 50; i++)
        pub1(b, i, 1, 1, EV_JOB_STATE_CHANGED);     /* 50 separate publishes */
    buf out;
    buf_init(&out, OUT_CAP);
    CHECK_EQ_INT(bus_wait(b, s, 1000, &out, OUT_CAP), BUS_EVENTS);
    CHECK_EQ_INT(count_frames(&out), 50);
    buf want;
    buf_init(&want, OUT_CAP);
    for (int64_t i = 1; i <= 50; i++)
        want_frame(&want, i, EV_JOB_STATE_CHANGED);
    bool same = want.len == out.len && memcmp(want.data, out.data, out.len) == 0;
    buf_free(&want);
    buf_free(&out);
    bus_unsubscribe(b, s);
    bus_free(b);
    CHECK(same);
}

TEST(max_bytes_bounds_one_wait_and_the_rest_follows)
{
    bus *b = bus_new(64);
    CHECK(b != NULL);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    pub_range(b, 1, 5);
    buf out;
    buf_init(&out, OUT_CAP);
    /* max_bytes 1: each wait stops after the first frame */
    for (int64_t i = 1; i <= 5; i++) {
        buf_reset(&out);
        CHECK_EQ_INT(bus_wait(b, s, 1000, &out, 1), BUS_EVENTS);
        const int64_t one[1] = {i};
        expect_ids_(__FILE__, __LINE__, &out, EV_JOB_STATE_CHANGED, one, 1);
        if (unit_failed_)
            return;
    }
    buf_reset(&out);
    CHECK_EQ_INT(bus_wait(b, s, 20, &out, 1), BUS_TIMEOUT);
    buf_free(&out);
    bus_unsubscribe(b, s);
    bus_free(b);
}

TEST(timeout_takes_about_the_requested_time)
{
    bus *b = bus_new(16);
    CHECK(b != NULL);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    buf out;
    buf_init(&out, OUT_CAP);
    int64_t t0 = mono_ms();
    CHECK_EQ_INT(bus_wait(b, s, 250, &out, OUT_CAP), BUS_TIMEOUT);
    int64_t el = mono_ms() - t0;
    CHECK(el >= 240);
    CHECK(el < 1000);
    CHECK_EQ_INT(out.len, 0);
    /* a zero timeout returns at once */
    t0 = mono_ms();
    CHECK_EQ_INT(bus_wait(b, s, 0, &out, OUT_CAP), BUS_TIMEOUT);
    CHECK(mono_ms() - t0 < 100);
    /* 1.5 s: the seconds part of the deadline counts too */
    t0 = mono_ms();
    CHECK_EQ_INT(bus_wait(b, s, 1100, &out, OUT_CAP), BUS_TIMEOUT);
    el = mono_ms() - t0;
    CHECK(el >= 1090 && el < 1800);
    buf_free(&out);
    bus_unsubscribe(b, s);
    bus_free(b);
}

TEST(slow_subscriber_overflows_while_fast_one_keeps_up)
{
    const size_t cap = 8;
    bus *b = bus_new(cap);
    CHECK(b != NULL);
    int64_t last;
    bus_sub *fast = bus_subscribe(b, &all_f, &last);
    bus_sub *slow = bus_subscribe(b, &all_f, &last);
    buf out;
    buf_init(&out, OUT_CAP);
    int got_fast = 0;
    for (int64_t i = 1; i <= 40; i++) {
        pub1(b, i, 1, 1, EV_JOB_STATE_CHANGED);
        buf_reset(&out);
        CHECK_EQ_INT(bus_wait(b, fast, 1000, &out, OUT_CAP), BUS_EVENTS);
        const int64_t one[1] = {i};
        expect_ids_(__FILE__, __LINE__, &out, EV_JOB_STATE_CHANGED, one, 1);
        if (unit_failed_)
            return;
        got_fast++;
    }
    CHECK_EQ_INT(got_fast, 40);
    CHECK_EQ_INT(bus_drops(b), 0);
    buf_reset(&out);
    CHECK_EQ_INT(bus_wait(b, slow, 1000, &out, OUT_CAP), BUS_OVERFLOW);
    CHECK_EQ_INT(out.len, 0);
    CHECK_EQ_INT(bus_drops(b), 1);
    /* the fast subscriber is unaffected */
    pub1(b, 41, 1, 1, EV_JOB_STATE_CHANGED);
    buf_reset(&out);
    CHECK_EQ_INT(bus_wait(b, fast, 1000, &out, OUT_CAP), BUS_EVENTS);
    EXPECT_IDS(&out, EV_JOB_STATE_CHANGED, 41);
    CHECK_EQ_INT(bus_drops(b), 1);
    CHECK_EQ_INT(bus_published(b), 41);
    buf_free(&out);
    bus_unsubscribe(b, fast);
    bus_unsubscribe(b, slow);
    bus_free(b);
}

TEST(overflow_boundary_is_exactly_capacity)
{
    bus *b = bus_new(8);
    CHECK(b != NULL);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    bus_sub *s2 = bus_subscribe(b, &all_f, &last);
    pub_range(b, 1, 8);                  /* exactly capacity behind: still fine */
    buf out;
    buf_init(&out, OUT_CAP);
    CHECK_EQ_INT(bus_wait(b, s, 1000, &out, OUT_CAP), BUS_EVENTS);
    EXPECT_IDS(&out, EV_JOB_STATE_CHANGED, 1, 2, 3, 4, 5, 6, 7, 8);
    pub1(b, 9, 1, 1, EV_JOB_STATE_CHANGED); /* s2 now capacity + 1 behind */
    buf_reset(&out);
    CHECK_EQ_INT(bus_wait(b, s2, 1000, &out, OUT_CAP), BUS_OVERFLOW);
    buf_reset(&out);
    CHECK_EQ_INT(bus_wait(b, s, 1000, &out, OUT_CAP), BUS_EVENTS);
    EXPECT_IDS(&out, EV_JOB_STATE_CHANGED, 9);
    CHECK_EQ_INT(bus_drops(b), 1);
    buf_free(&out);
    bus_unsubscribe(b, s);
    bus_unsubscribe(b, s2);
    bus_free(b);
}

TEST(ring_wraps_many_times_without_loss_or_leak)
{
    bus *b = bus_new(5);
    CHECK(b != NULL);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    buf out, want;
    buf_init(&out, OUT_CAP);
    buf_init(&want, OUT_CAP);
    int64_t id = 0;
    for (int round = 0; round < 200; round++) {
        int n = 1 + round % 5;           /* 1..5 events per round, <= capacity */
        buf_reset(&want);
        for (int k = 0; k < n; k++) {
            id++;
            pub1(b, id, 1, 1, EV_JOB_STATE_CHANGED);
            want_frame(&want, id, EV_JOB_STATE_CHANGED);
        }
        buf_reset(&out);
        int r = bus_wait(b, s, 1000, &out, OUT_CAP);
        if (r != BUS_EVENTS || out.len != want.len || memcmp(out.data, want.data, want.len) != 0)
            FAIL("round %d: result %d, got \"%.200s\"", round, r, out.data ? out.data : "");
    }
    /* one publish evicting far more than the ring holds (leaks show under
     * LeakSanitizer) */
    pub_range(b, id + 1, id + 300);
    buf_reset(&out);
    CHECK_EQ_INT(bus_wait(b, s, 1000, &out, OUT_CAP), BUS_OVERFLOW);
    CHECK_EQ_INT(bus_published(b), id + 300);
    buf_free(&out);
    buf_free(&want);
    bus_unsubscribe(b, s);
    bus_free(b);
}

struct waiter {
    bus *b;
    bus_sub *s;
    int timeout_ms;
    size_t out_cap;
    atomic_int result;       /* -1 until bus_wait returned */
    int64_t took_ms;
    buf out;
};

static void *wait_thread(void *arg)
{
    struct waiter *w = arg;
    int64_t t0 = mono_ms();
    int r = bus_wait(w->b, w->s, w->timeout_ms, &w->out, w->out_cap);
    w->took_ms = mono_ms() - t0;
    atomic_store(&w->result, r);
    return NULL;
}

/* Polls until the waiter returned or limit_ms passed; true if it did. */
static bool waiter_done(struct waiter *w, int limit_ms)
{
    int64_t end = mono_ms() + limit_ms;
    while (atomic_load(&w->result) < 0 && mono_ms() < end)
        sleep_ms(5);
    return atomic_load(&w->result) >= 0;
}

TEST(close_wakes_a_waiter_in_another_thread)
{
    bus *b = bus_new(16);
    CHECK(b != NULL);
    int64_t last;
    struct waiter w = {.b = b, .timeout_ms = 30000, .out_cap = OUT_CAP};
    atomic_init(&w.result, -1);
    buf_init(&w.out, OUT_CAP);
    w.s = bus_subscribe(b, &all_f, &last);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, wait_thread, &w), 0);
    sleep_ms(100);
    CHECK_EQ_INT(atomic_load(&w.result), -1);    /* really waiting */
    bus_close(b);
    if (!waiter_done(&w, 10000))
        FAIL("bus_close did not wake the waiter within 10 s");
    pthread_join(t, NULL);
    CHECK_EQ_INT(atomic_load(&w.result), BUS_CLOSED);
    /* BUS_CLOSED (not a timeout) says the close woke the waiter */
    /* later waits return at once; later publishes are dropped (and freed) */
    buf_reset(&w.out);
    int64_t t0 = mono_ms();
    CHECK_EQ_INT(bus_wait(b, w.s, 5000, &w.out, OUT_CAP), BUS_CLOSED);
    CHECK(mono_ms() - t0 < 500);
    pub_range(b, 1, 3);
    CHECK_EQ_INT(bus_published(b), 0);
    buf_free(&w.out);
    bus_unsubscribe(b, w.s);
    bus_free(b);
}

TEST(publish_wakes_a_waiter_in_another_thread)
{
    bus *b = bus_new(16);
    CHECK(b != NULL);
    int64_t last;
    struct waiter w = {.b = b, .timeout_ms = 30000, .out_cap = OUT_CAP};
    atomic_init(&w.result, -1);
    buf_init(&w.out, OUT_CAP);
    w.s = bus_subscribe(b, &all_f, &last);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, wait_thread, &w), 0);
    sleep_ms(50);
    pub1(b, 1, 2, 3, EV_JOB_PROGRESS);
    bool done = waiter_done(&w, 10000);
    if (!done) {
        bus_close(b);
        pthread_join(t, NULL);
        FAIL("publish did not wake the waiter within 10 s");
    }
    pthread_join(t, NULL);
    CHECK_EQ_INT(atomic_load(&w.result), BUS_EVENTS);
    /* BUS_EVENTS (not a timeout) says the publish woke the waiter */
    EXPECT_IDS(&w.out, EV_JOB_PROGRESS, 1);
    buf_free(&w.out);
    bus_unsubscribe(b, w.s);
    bus_free(b);
}

TEST(wait_returns_when_a_frame_exceeds_the_output_cap)
{
    /* A frame bigger than the caller's buffer can never be copied; the
     * wait must still return within its timeout (any result), not spin
     * holding the bus lock, which would also block the publisher. */
    bus *b = bus_new(16);
    CHECK(b != NULL);
    int64_t last;
    struct waiter w = {.b = b, .timeout_ms = 200, .out_cap = 64};
    atomic_init(&w.result, -1);
    buf_init(&w.out, 64);                 /* frames below are ~100 bytes */
    struct bus_filter lf = {.logs = true};
    w.s = bus_subscribe(b, &lf, &last);
    char big[128];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    bus_event *ev = bus_event_new(1, 1, 1, EV_JOB_LOG, big);
    CHECK(ev != NULL);
    bus_publish(b, &ev, 1);
    pthread_t t;
    CHECK_EQ_INT(pthread_create(&t, NULL, wait_thread, &w), 0);
    if (!waiter_done(&w, 1500)) {
        pthread_detach(t);
        FAIL("bus_wait still running after 1.5 s (timeout was 200 ms): it spins "
             "when a frame does not fit in the output buffer");
    }
    pthread_join(t, NULL);
    CHECK(w.out.len <= 64);
    buf_free(&w.out);
    bus_unsubscribe(b, w.s);
    bus_free(b);
}

TEST(counters)
{
    bus *b = bus_new(0);                 /* 0 = default capacity */
    CHECK(b != NULL);
    CHECK_EQ_INT(bus_subscribers(b), 0);
    CHECK_EQ_INT(bus_published(b), 0);
    CHECK_EQ_INT(bus_drops(b), 0);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    pub_range(b, 1, 100);
    CHECK_EQ_INT(bus_published(b), 100);
    buf out;
    buf_init(&out, OUT_CAP);
    CHECK_EQ_INT(bus_wait(b, s, 1000, &out, OUT_CAP), BUS_EVENTS);
    CHECK_EQ_INT(count_frames(&out), 100);   /* default capacity holds 100 */
    buf_free(&out);
    CHECK_EQ_INT(bus_subscribers(b), 1);
    bus_unsubscribe(b, s);
    bus_unsubscribe(b, NULL);            /* harmless */
    CHECK_EQ_INT(bus_subscribers(b), 0);
    bus_free(b);
    bus_free(NULL);
}

TEST(event_carries_its_json_next_to_the_frame)
{
    const char *json = "{\"jobId\":\"7\",\"state\":\"running\"}";
    bus_event *ev = bus_event_new(42, 7, 3, EV_JOB_STATE_CHANGED, json);
    CHECK(ev != NULL);
    CHECK_STR_EQ(ev->data, json);
    CHECK_EQ_INT(ev->data_len, strlen(json));
    size_t len;
    char *frame = sse_frame(42, EV_JOB_STATE_CHANGED, json, &len);
    bool same = frame && len == ev->frame_len && memcmp(frame, ev->frame, len) == 0;
    free(frame);
    bus_event_free(ev);
    CHECK(same);
    bus_event_free(NULL);                /* harmless */
}

TEST(wait_events_hands_out_matching_events_in_order)
{
    bus *b = bus_new(64);
    CHECK(b != NULL);
    int64_t last;
    struct bus_filter f = {.job_id = 5, .logs = true};
    bus_sub *s = bus_subscribe(b, &f, &last);
    pub1(b, 1, 5, 1, EV_JOB_CREATED);
    pub1(b, 2, 6, 1, EV_JOB_LOG);        /* other job: filtered out */
    pub1(b, 3, 5, 1, EV_JOB_LOG);
    pub1(b, 4, 5, 1, EV_JOB_STATE_CHANGED);
    bus_event *evs[2];
    size_t n = 0;
    CHECK_EQ_INT(bus_wait_events(b, s, 1000, evs, 2, &n), BUS_EVENTS);
    CHECK_EQ_INT(n, 2);                  /* max bounds one wait */
    CHECK_EQ_INT(evs[0]->id, 1);
    CHECK_EQ_INT(evs[1]->id, 3);
    CHECK_EQ_INT(evs[1]->type, EV_JOB_LOG);
    CHECK_STR_EQ(evs[1]->data, "{\"n\":3}");
    bus_event_free(evs[0]);
    bus_event_free(evs[1]);
    n = 0;
    CHECK_EQ_INT(bus_wait_events(b, s, 1000, evs, 2, &n), BUS_EVENTS);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(evs[0]->id, 4);
    bus_event_free(evs[0]);
    n = 0;
    CHECK_EQ_INT(bus_wait_events(b, s, 20, evs, 2, &n), BUS_TIMEOUT);
    CHECK_EQ_INT(n, 0);
    bus_close(b);
    CHECK_EQ_INT(bus_wait_events(b, s, 1000, evs, 2, &n), BUS_CLOSED);
    CHECK_EQ_INT(n, 0);
    bus_unsubscribe(b, s);
    bus_free(b);
}

TEST(handed_out_event_outlives_its_eviction_from_the_ring)
{
    bus *b = bus_new(2);
    CHECK(b != NULL);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    pub1(b, 1, 1, 1, EV_JOB_STATE_CHANGED);
    bus_event *ev = NULL;
    size_t n = 0;
    CHECK_EQ_INT(bus_wait_events(b, s, 1000, &ev, 1, &n), BUS_EVENTS);
    CHECK_EQ_INT(n, 1);
    pub_range(b, 2, 5);                  /* the ring (2) evicts event 1 */
    /* still ours: read it (ASan would see a use after free) */
    CHECK_EQ_INT(ev->id, 1);
    CHECK_STR_EQ(ev->data, "{\"n\":1}");
    CHECK(strstr(ev->frame, "id: 1\n") == ev->frame);
    bus_event_free(ev);
    bus_unsubscribe(b, s);
    bus_free(b);                          /* frees the rest, once each */
}
