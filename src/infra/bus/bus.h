/* bus.h — the in-memory event bus between the writer (publisher) and the
 * SSE streams (subscribers).  See the DESIGN comment in bus.c. */
#ifndef BB_BUS_H
#define BB_BUS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/event.h"

/* One published event.  frame is the complete SSE text of the event;
 * data is its payload as JSON text (the job DTO, or the log line object of
 * a job_log), so a reader that wants the JSON parses data, never the
 * frame's "data:" lines.  Immutable once made; shared by reference count
 * between the ring and the readers of bus_wait_events. */
typedef struct bus_event {
    int64_t id;          /* event-log id (= SSE id), strictly increasing */
    int64_t job_id;
    int64_t owner_id;    /* 0 = none */
    enum ev_type type;
    char *frame;         /* owned */
    size_t frame_len;
    char *data;          /* owned, NUL-terminated JSON */
    size_t data_len;
    atomic_int refs;     /* references; the last bus_event_free frees */
} bus_event;

/* Makes an event owning data (copied) and a fresh SSE frame built from it,
 * with one reference.  Caller owns the result (bus_event_free); NULL on
 * OOM. */
bus_event *bus_event_new(int64_t id, int64_t job_id, int64_t owner_id,
                         enum ev_type type, const char *data);
/* Drops one reference; the last one frees the event.  NULL is a no-op. */
void bus_event_free(bus_event *ev);

typedef struct bus bus;
typedef struct bus_sub bus_sub;

/* What a subscriber wants.  owner_id 0 = every owner (admin/no auth). */
struct bus_filter {
    int64_t owner_id;
    int64_t job_id;      /* 0 = every job */
    bool logs;           /* include job_log events */
};

/* capacity: how many events the ring keeps (power of two not required). */
bus *bus_new(size_t capacity);
/* Before the first publish: the id of the newest event already in the
 * event log, so subscribers that connect before anything new happens still
 * replay up to it (Last-Event-ID after a restart). */
void bus_set_last_id(bus *b, int64_t id);
/* Wakes every subscriber with BUS_CLOSED; later publishes are dropped. */
void bus_close(bus *b);
void bus_free(bus *b);

/* Publishes (takes ownership of every event).  Called by one thread only
 * (the db writer), in id order: each id above every id published before
 * (and above bus_set_last_id's).  Both are asserted (BB_ASSERT). */
void bus_publish(bus *b, bus_event **evs, size_t n);

/* Subscribes; *last_id receives the id of the newest event already
 * published (events after it will reach this subscriber).  Caller owns the
 * subscription (bus_unsubscribe). */
bus_sub *bus_subscribe(bus *b, const struct bus_filter *f, int64_t *last_id);
void bus_unsubscribe(bus *b, bus_sub *s);

enum bus_wait_result { BUS_EVENTS, BUS_TIMEOUT, BUS_OVERFLOW, BUS_CLOSED };

/* Waits up to timeout_ms for events newer than the subscriber's cursor and
 * appends the frames of those matching its filter to out (at most about
 * max_bytes).  BUS_OVERFLOW: the subscriber fell more than the ring's
 * capacity behind and must be dropped (it can resume from the log). */
struct buf;
enum bus_wait_result bus_wait(bus *b, bus_sub *s, int timeout_ms,
                              struct buf *out, size_t max_bytes);

/* Like bus_wait, but hands out the matching events themselves: up to max
 * of them into evs[*n...] (*n grows; start it at 0), each one reference
 * the caller drops with bus_event_free.  For readers that want an event's
 * type or JSON (ev->data) rather than its SSE frame. */
enum bus_wait_result bus_wait_events(bus *b, bus_sub *s, int timeout_ms,
                                     bus_event **evs, size_t max, size_t *n);

/* ---- for readers that never sleep in the bus (the stream hub) --------- */

/* Like bus_wait_events with no wait at all: hands out what is pending now
 * (BUS_TIMEOUT when nothing is). */
enum bus_wait_result bus_poll_events(bus *b, bus_sub *s, bus_event **evs, size_t max,
                                     size_t *n);
/* Whether the subscriber fell more than the ring's capacity behind (it has
 * lost events: its next read answers BUS_OVERFLOW).  Counts nothing. */
bool bus_sub_lost(bus *b, bus_sub *s);
/* Counts one subscriber dropped by its reader for bus_sub_lost (bus_drops). */
void bus_count_drop(bus *b);
/* Changes the owner filter of a subscription (a role change re-filters an
 * open stream); 0 = every owner. */
void bus_sub_set_owner(bus *b, bus_sub *s, int64_t owner_id);

/* The one wake-up callback: called after each bus_publish (and by
 * bus_close) on the publishing thread, outside the bus lock, so a reader
 * that does not sleep in bus_wait (an epoll loop) learns of new events.
 * It must not block.  Set it before publishing starts; NULL removes it. */
void bus_set_notify(bus *b, void (*fn)(void *ud), void *ud);

/* Session-ending notices (service/auth.c -> the stream hub): the bus
 * carries them so the service layer needs no HTTP include.  Not events:
 * they have no id, are not in the ring and reach only the control
 * handler. */
enum bus_ctl_kind {
    BUS_CTL_SESSION_ENDED,   /* session_id ended (logout, refresh-token reuse) */
    BUS_CTL_USER_ENDED,      /* every session of user_id ended (password, disable) */
    BUS_CTL_ROLE_CHANGED,    /* user_id is now admin or not */
};
struct bus_ctl {
    enum bus_ctl_kind kind;
    int64_t session_id;
    int64_t user_id;
    bool admin;
};
/* The one control handler (NULL removes it); called on the caller's thread
 * of bus_control, which must not block. */
void bus_set_control(bus *b, void (*fn)(void *ud, const struct bus_ctl *c), void *ud);
/* Hands c to the control handler; a no-op without one. */
void bus_control(bus *b, const struct bus_ctl *c);

/* Counters for stats/metrics. */
size_t bus_subscribers(bus *b);
uint64_t bus_drops(bus *b);
uint64_t bus_published(bus *b);

#endif
