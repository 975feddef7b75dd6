/* bus.c — in-memory publish/subscribe for job events.
 *
 * DESIGN
 * - One ring of the last `capacity` published events, owned by the bus and
 *   guarded by `mu`.  Events are appended by exactly one thread, the db
 *   writer, right after the transaction that logged them committed, so
 *   their ids are increasing (bus_publish).  Publishing is O(1) per event
 *   whatever the number of subscribers: it never touches a subscriber.
 * - Each subscriber (one per SSE stream, living on that stream's civetweb
 *   thread) holds only a cursor: the sequence number of the next ring slot
 *   it has not read.  bus_wait() copies the frames between its cursor and
 *   the head that pass its filter into the caller's buffer (coalescing
 *   everything pending into one socket write), then advances the cursor.
 *   The subscriber's "bounded queue" is therefore the ring itself: a
 *   subscriber more than `capacity` events behind has lost events and gets
 *   BUS_OVERFLOW; the SSE layer drops it and the client resumes from the
 *   event log with Last-Event-ID.  A stalled client can never block the
 *   writer or other clients, and costs no memory beyond its cursor.
 * - What a wait hands out: bus_wait copies frames (the SSE route);
 *   bus_wait_events hands out references to the events themselves, whose
 *   data is the JSON (the logs follow route reads the state from it).  An
 *   event is freed when the ring has evicted it and the last reader has
 *   dropped its reference, so eviction never pulls one from under a reader.
 * - Waiting: subscribers sleep on one condition variable; the publisher
 *   broadcasts only when someone is waiting.
 * - Asserted (BB_ASSERT, debug and sanitizer builds): one publisher thread
 *   for the life of the bus, ids strictly increasing, a cursor never ahead
 *   of the head, and the subscriber count.
 * - Readers that never sleep here (the stream hub's epoll thread,
 *   http/hub.c) read with bus_poll_events and learn of new events from the
 *   notify callback, which the publisher calls after unlocking; they check
 *   bus_sub_lost for a subscriber they cannot write to, so a stalled one
 *   is dropped as soon as it is a ring behind.
 * - Control notices (bus_control: a session or a user's sessions ended, a
 *   role changed) are handed to the one control handler on the caller's
 *   thread; they bypass the ring.
 * - Shutdown: bus_close() sets `closed`, broadcasts and notifies; every
 *   bus_wait returns BUS_CLOSED so in-process readers return, and the hub
 *   closes its streams.
 */
#include "infra/bus/bus.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/bb_assert.h"
#include "util/buf.h"

struct bus_sub {
    struct bus_filter f;
    uint64_t cursor;          /* next sequence number to read */
    struct bus_sub *prev, *next;
};

struct bus {
    pthread_mutex_t mu;
    pthread_cond_t cond;      /* CLOCK_MONOTONIC */
    bus_event **ring;
    size_t cap;
    uint64_t head;            /* sequence number of the next event */
    int64_t last_id;          /* id of the newest published event */
    pthread_t publisher;      /* the one thread that publishes, once known */
    bool has_publisher;
    bool closed;
    int waiters;
    size_t nsubs;
    struct bus_sub *subs;
    uint64_t drops, published;
    void (*notify)(void *ud);         /* bus_set_notify */
    void *notify_ud;
    void (*control)(void *ud, const struct bus_ctl *c);   /* bus_set_control */
    void *control_ud;
};

bus_event *bus_event_new(int64_t id, int64_t job_id, int64_t owner_id,
                         enum ev_type type, const char *data)
{
    bus_event *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    ev->id = id;
    ev->job_id = job_id;
    ev->owner_id = owner_id;
    ev->type = type;
    atomic_init(&ev->refs, 1);
    ev->data_len = strlen(data);
    ev->data = malloc(ev->data_len + 1);
    ev->frame = sse_frame(id, type, data, &ev->frame_len);
    if (!ev->frame || !ev->data) {
        free(ev->frame);
        free(ev->data);
        free(ev);
        return NULL;
    }
    memcpy(ev->data, data, ev->data_len + 1);
    return ev;
}

void bus_event_free(bus_event *ev)
{
    if (!ev)
        return;
    int before = atomic_fetch_sub(&ev->refs, 1);
    BB_ASSERT(before >= 1);
    if (before != 1)
        return;
    free(ev->frame);
    free(ev->data);
    free(ev);
}

bus *bus_new(size_t capacity)
{
    bus *b = calloc(1, sizeof *b);
    if (!b)
        return NULL;
    b->cap = capacity ? capacity : 4096;
    b->ring = calloc(b->cap, sizeof *b->ring);
    if (!b->ring) {
        free(b);
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cond, &ca);
    pthread_condattr_destroy(&ca);
    return b;
}

void bus_set_last_id(bus *b, int64_t id)
{
    pthread_mutex_lock(&b->mu);
    if (id > b->last_id)
        b->last_id = id;
    pthread_mutex_unlock(&b->mu);
}

void bus_close(bus *b)
{
    pthread_mutex_lock(&b->mu);
    b->closed = true;
    pthread_cond_broadcast(&b->cond);
    void (*fn)(void *) = b->notify;
    void *ud = b->notify_ud;
    pthread_mutex_unlock(&b->mu);
    if (fn)
        fn(ud);
}

void bus_set_notify(bus *b, void (*fn)(void *ud), void *ud)
{
    pthread_mutex_lock(&b->mu);
    b->notify = fn;
    b->notify_ud = ud;
    pthread_mutex_unlock(&b->mu);
}

void bus_set_control(bus *b, void (*fn)(void *ud, const struct bus_ctl *c), void *ud)
{
    pthread_mutex_lock(&b->mu);
    b->control = fn;
    b->control_ud = ud;
    pthread_mutex_unlock(&b->mu);
}

void bus_control(bus *b, const struct bus_ctl *c)
{
    pthread_mutex_lock(&b->mu);
    void (*fn)(void *, const struct bus_ctl *) = b->control;
    void *ud = b->control_ud;
    pthread_mutex_unlock(&b->mu);
    if (fn)
        fn(ud, c);
}

void bus_free(bus *b)
{
    if (!b)
        return;
    for (size_t i = 0; i < b->cap; i++)
        bus_event_free(b->ring[i]);
    free(b->ring);
    pthread_mutex_destroy(&b->mu);
    pthread_cond_destroy(&b->cond);
    free(b);
}

void bus_publish(bus *b, bus_event **evs, size_t n)
{
    bus_event *evicted[64];
    size_t nevicted = 0;
    pthread_mutex_lock(&b->mu);
    if (b->closed) {
        pthread_mutex_unlock(&b->mu);
        for (size_t i = 0; i < n; i++)
            bus_event_free(evs[i]);
        return;
    }
    /* the DESIGN's promises: one publishing thread, ids in order */
    BB_ASSERT(!b->has_publisher || pthread_equal(b->publisher, pthread_self()));
    b->publisher = pthread_self();
    b->has_publisher = true;
    for (size_t i = 0; i < n; i++) {
        BB_ASSERT(evs[i]->id > b->last_id);
        size_t slot = (size_t)(b->head % b->cap);
        bus_event *old = b->ring[slot];
        b->ring[slot] = evs[i];
        b->head++;
        b->last_id = evs[i]->id;
        b->published++;
        if (old) {
            if (nevicted == sizeof evicted / sizeof evicted[0]) {
                /* rare: free under the lock rather than grow */
                bus_event_free(old);
            } else {
                evicted[nevicted++] = old;
            }
        }
    }
    if (b->waiters)
        pthread_cond_broadcast(&b->cond);
    void (*fn)(void *) = b->notify;
    void *ud = b->notify_ud;
    pthread_mutex_unlock(&b->mu);
    for (size_t i = 0; i < nevicted; i++)
        bus_event_free(evicted[i]);
    if (fn && n)
        fn(ud);
}

bus_sub *bus_subscribe(bus *b, const struct bus_filter *f, int64_t *last_id)
{
    bus_sub *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->f = *f;
    pthread_mutex_lock(&b->mu);
    s->cursor = b->head;
    *last_id = b->last_id;
    s->next = b->subs;
    if (b->subs)
        b->subs->prev = s;
    b->subs = s;
    b->nsubs++;
    pthread_mutex_unlock(&b->mu);
    return s;
}

void bus_unsubscribe(bus *b, bus_sub *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&b->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        b->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    BB_ASSERT(b->nsubs > 0);
    b->nsubs--;
    pthread_mutex_unlock(&b->mu);
    free(s);
}

static bool matches(const struct bus_filter *f, const bus_event *ev)
{
    if (ev->type == EV_JOB_LOG && !f->logs)
        return false;
    if (f->job_id && ev->job_id != f->job_id)
        return false;
    if (f->owner_id && ev->owner_id != f->owner_id)
        return false;
    return true;
}

/* What a wait does with each matching event, under the lock. */
enum take { TAKEN, FULL, NEVER };   /* NEVER: can never be taken (a drop) */
struct sink {
    enum take (*take)(struct sink *k, bus_event *ev);
    buf *out;                  /* bus_wait: frames */
    size_t max_bytes;
    bus_event **evs;           /* bus_wait_events: references */
    size_t max, *n;
};

static enum take take_frame(struct sink *k, bus_event *ev)
{
    if (k->out->len >= k->max_bytes)
        return FULL;
    if (buf_append(k->out, ev->frame, ev->frame_len) == 0)
        return TAKEN;
    /* a frame larger than the caller's whole buffer can never be delivered */
    return k->out->len == 0 ? NEVER : FULL;
}

static enum take take_event(struct sink *k, bus_event *ev)
{
    if (*k->n >= k->max)
        return FULL;
    atomic_fetch_add(&ev->refs, 1);
    k->evs[(*k->n)++] = ev;
    return TAKEN;
}

/* The one wait loop of bus_wait and bus_wait_events: hands the events
 * between the cursor and the head that match the filter to the sink,
 * sleeping up to timeout_ms for the first one. */
static enum bus_wait_result wait_into(bus *b, bus_sub *s, int timeout_ms, struct sink *k)
{
    struct timespec deadline = {0, 0};
    if (timeout_ms > 0)
        clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    enum bus_wait_result res = BUS_TIMEOUT;
    pthread_mutex_lock(&b->mu);
    for (;;) {
        BB_ASSERT(s->cursor <= b->head);
        if (b->closed) {
            res = BUS_CLOSED;
            break;
        }
        if (b->head - s->cursor > b->cap) {
            b->drops++;
            res = BUS_OVERFLOW;
            break;
        }
        bool copied = false, full = false;
        while (s->cursor < b->head) {
            bus_event *ev = b->ring[s->cursor % b->cap];
            BB_ASSERT(ev != NULL);
            if (!matches(&s->f, ev)) {
                s->cursor++;
                continue;
            }
            enum take t = k->take(k, ev);
            if (t == NEVER) {
                s->cursor++;
                b->drops++;
                res = BUS_OVERFLOW;
                goto out;
            }
            if (t == FULL) {
                full = true;
                break;
            }
            s->cursor++;
            copied = true;
        }
        if (copied || full) {
            res = BUS_EVENTS;   /* full: the caller must drain first */
            break;
        }
        if (timeout_ms <= 0) {
            res = BUS_TIMEOUT;
            break;
        }
        b->waiters++;
        int rc = pthread_cond_timedwait(&b->cond, &b->mu, &deadline);
        b->waiters--;
        if (rc != 0 && s->cursor == b->head && !b->closed) {
            res = BUS_TIMEOUT;
            break;
        }
    }
out:
    pthread_mutex_unlock(&b->mu);
    return res;
}

enum bus_wait_result bus_wait(bus *b, bus_sub *s, int timeout_ms, buf *out,
                              size_t max_bytes)
{
    struct sink k = {.take = take_frame, .out = out, .max_bytes = max_bytes};
    return wait_into(b, s, timeout_ms, &k);
}

enum bus_wait_result bus_wait_events(bus *b, bus_sub *s, int timeout_ms, bus_event **evs,
                                     size_t max, size_t *n)
{
    struct sink k = {.take = take_event, .evs = evs, .max = max, .n = n};
    return wait_into(b, s, timeout_ms, &k);
}

enum bus_wait_result bus_poll_events(bus *b, bus_sub *s, bus_event **evs, size_t max,
                                     size_t *n)
{
    struct sink k = {.take = take_event, .evs = evs, .max = max, .n = n};
    return wait_into(b, s, 0, &k);
}

bool bus_sub_lost(bus *b, bus_sub *s)
{
    pthread_mutex_lock(&b->mu);
    BB_ASSERT(s->cursor <= b->head);
    bool lost = b->head - s->cursor > b->cap;
    pthread_mutex_unlock(&b->mu);
    return lost;
}

void bus_count_drop(bus *b)
{
    pthread_mutex_lock(&b->mu);
    b->drops++;
    pthread_mutex_unlock(&b->mu);
}

void bus_sub_set_owner(bus *b, bus_sub *s, int64_t owner_id)
{
    pthread_mutex_lock(&b->mu);
    s->f.owner_id = owner_id;
    pthread_mutex_unlock(&b->mu);
}

/* The counters, read under the lock. */
struct counters {
    size_t subscribers;
    uint64_t drops, published;
};

static struct counters read_counters(bus *b)
{
    pthread_mutex_lock(&b->mu);
    struct counters c = {b->nsubs, b->drops, b->published};
    pthread_mutex_unlock(&b->mu);
    return c;
}

size_t bus_subscribers(bus *b)
{
    return read_counters(b).subscribers;
}

uint64_t bus_drops(bus *b)
{
    return read_counters(b).drops;
}

uint64_t bus_published(bus *b)
{
    return read_counters(b).published;
}
