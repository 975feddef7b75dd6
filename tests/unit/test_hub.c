/* test_hub.c — unit tests for the bus calls the stream hub is built on
 * (src/infra/bus/bus.c: bus_poll_events, bus_sub_lost, bus_count_drop,
 * bus_sub_set_owner, the notify and control callbacks) and for the log
 * line format the hub and the logs route share (hub_log_line). */
#define UNIT_MAIN
#include "unit.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/event.h"
#include "http/hub.h"
#include "infra/bus/bus.h"
#include "util/buf.h"

static const struct bus_filter all_f = {.owner_id = 0, .job_id = 0, .logs = true};

static void pub(bus *b, int64_t id, int64_t owner, enum ev_type t)
{
    bus_event *ev = bus_event_new(id, id, owner, t, "{\"x\":1}");
    if (!ev)
        abort();
    bus_publish(b, &ev, 1);
}

static void free_all(bus_event **evs, size_t n)
{
    for (size_t i = 0; i < n; i++)
        bus_event_free(evs[i]);
}

TEST(poll_hands_out_pending_events_without_waiting)
{
    bus *b = bus_new(16);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    bus_event *evs[8];
    size_t n = 0;
    CHECK_EQ_INT(bus_poll_events(b, s, evs, 8, &n), BUS_TIMEOUT);
    CHECK_EQ_INT(n, 0);
    pub(b, 1, 1, EV_JOB_CREATED);
    pub(b, 2, 1, EV_JOB_STATE_CHANGED);
    pub(b, 3, 1, EV_JOB_LOG);
    CHECK_EQ_INT(bus_poll_events(b, s, evs, 2, &n), BUS_EVENTS);
    CHECK_EQ_INT(n, 2);
    CHECK_EQ_INT(evs[0]->id, 1);
    CHECK_EQ_INT(evs[1]->id, 2);
    /* the frame is the publisher's, shared: one serialisation per event */
    CHECK(strncmp(evs[0]->frame, "id: 1\n", 6) == 0);
    free_all(evs, n);
    n = 0;
    CHECK_EQ_INT(bus_poll_events(b, s, evs, 8, &n), BUS_EVENTS);
    CHECK_EQ_INT(n, 1);
    CHECK_EQ_INT(evs[0]->id, 3);
    free_all(evs, n);
    n = 0;
    CHECK_EQ_INT(bus_poll_events(b, s, evs, 8, &n), BUS_TIMEOUT);
    bus_unsubscribe(b, s);
    bus_free(b);
}

TEST(two_cursors_share_one_frame)
{
    bus *b = bus_new(16);
    int64_t last;
    bus_sub *s1 = bus_subscribe(b, &all_f, &last);
    bus_sub *s2 = bus_subscribe(b, &all_f, &last);
    pub(b, 7, 1, EV_JOB_CREATED);
    bus_event *a = NULL, *c = NULL;
    size_t n1 = 0, n2 = 0;
    CHECK_EQ_INT(bus_poll_events(b, s1, &a, 1, &n1), BUS_EVENTS);
    CHECK_EQ_INT(bus_poll_events(b, s2, &c, 1, &n2), BUS_EVENTS);
    CHECK(a == c);
    CHECK(a->frame == c->frame);
    bus_event_free(a);
    bus_event_free(c);
    bus_unsubscribe(b, s1);
    bus_unsubscribe(b, s2);
    bus_free(b);
}

TEST(lost_once_a_whole_ring_behind)
{
    bus *b = bus_new(4);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    for (int64_t id = 1; id <= 4; id++)
        pub(b, id, 1, EV_JOB_CREATED);
    CHECK(!bus_sub_lost(b, s));          /* exactly a ring behind: nothing lost yet */
    pub(b, 5, 1, EV_JOB_CREATED);
    CHECK(bus_sub_lost(b, s));
    CHECK_EQ_INT(bus_drops(b), 0);       /* asking counts nothing */
    bus_count_drop(b);
    CHECK_EQ_INT(bus_drops(b), 1);
    bus_event *ev[2];
    size_t n = 0;
    CHECK_EQ_INT(bus_poll_events(b, s, ev, 2, &n), BUS_OVERFLOW);
    CHECK_EQ_INT(n, 0);
    bus_unsubscribe(b, s);
    bus_free(b);
}

TEST(set_owner_refilters_the_cursor)
{
    bus *b = bus_new(16);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    pub(b, 1, 5, EV_JOB_CREATED);
    bus_sub_set_owner(b, s, 9);          /* demoted: only owner 9 from now on */
    pub(b, 2, 5, EV_JOB_CREATED);
    pub(b, 3, 9, EV_JOB_CREATED);
    bus_event *evs[8];
    size_t n = 0;
    CHECK_EQ_INT(bus_poll_events(b, s, evs, 8, &n), BUS_EVENTS);
    CHECK_EQ_INT(n, 1);                  /* the filter applies when read */
    CHECK_EQ_INT(evs[0]->id, 3);
    free_all(evs, n);
    bus_unsubscribe(b, s);
    bus_free(b);
}

static atomic_int notified;
static void on_notify(void *ud)
{
    (void)ud;
    atomic_fetch_add(&notified, 1);
}

TEST(notify_after_each_publish_and_on_close)
{
    bus *b = bus_new(16);
    atomic_store(&notified, 0);
    bus_set_notify(b, on_notify, NULL);
    pub(b, 1, 1, EV_JOB_CREATED);
    pub(b, 2, 1, EV_JOB_CREATED);
    CHECK_EQ_INT(atomic_load(&notified), 2);
    bus_publish(b, NULL, 0);             /* nothing published: nobody woken */
    CHECK_EQ_INT(atomic_load(&notified), 2);
    bus_close(b);
    CHECK_EQ_INT(atomic_load(&notified), 3);
    bus_set_notify(b, NULL, NULL);
    bus_free(b);
}

static struct bus_ctl seen;
static int nseen;
static void on_control(void *ud, const struct bus_ctl *c)
{
    (void)ud;
    seen = *c;
    nseen++;
}

TEST(control_notices_reach_the_handler_only)
{
    bus *b = bus_new(16);
    struct bus_ctl c = {.kind = BUS_CTL_SESSION_ENDED, .session_id = 42};
    bus_control(b, &c);                  /* no handler: a no-op */
    nseen = 0;
    bus_set_control(b, on_control, NULL);
    int64_t last;
    bus_sub *s = bus_subscribe(b, &all_f, &last);
    c = (struct bus_ctl){.kind = BUS_CTL_ROLE_CHANGED, .user_id = 3, .admin = false};
    bus_control(b, &c);
    CHECK_EQ_INT(nseen, 1);
    CHECK_EQ_INT(seen.kind, BUS_CTL_ROLE_CHANGED);
    CHECK_EQ_INT(seen.user_id, 3);
    CHECK(!seen.admin);
    bus_event *ev;
    size_t n = 0;
    CHECK_EQ_INT(bus_poll_events(b, s, &ev, 1, &n), BUS_TIMEOUT);   /* not an event */
    CHECK_EQ_INT(bus_published(b), 0);
    bus_unsubscribe(b, s);
    bus_free(b);
}

TEST(log_line_marks_forged_system_lines)
{
    buf b;
    buf_init(&b, 64);
    CHECK_EQ_INT(hub_log_line(&b, "stdout", "hello"), 0);
    CHECK_EQ_INT(hub_log_line(&b, "stderr", "[batchbox] fake"), 0);
    CHECK_EQ_INT(hub_log_line(&b, "system", "[batchbox] real"), 0);
    CHECK_STR_EQ(b.data, "hello\n[job] [batchbox] fake\n[batchbox] real\n");
    size_t len = b.len;
    /* a line that does not fit leaves the buffer as it was */
    CHECK_EQ_INT(hub_log_line(&b, "stdout", "a line far too long for the rest of the cap"), -1);
    CHECK_EQ_INT(b.len, len);
    CHECK_STR_EQ(b.data, "hello\n[job] [batchbox] fake\n[batchbox] real\n");
    buf_free(&b);
}
