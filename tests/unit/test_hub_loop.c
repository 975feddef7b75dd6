/* test_hub_loop.c — unit tests for the stream hub's threads (src/http/hub.c)
 * on one end of a socketpair, without civetweb or a database: live frames,
 * the per-user and total slot limits, a hang-up freeing its slot at once,
 * the access token's expiry, a session-ending notice, a role change
 * re-filtering an open stream, and a stalled reader dropped once it is a
 * ring behind. */
#define UNIT_MAIN
#include "unit.h"

#include <poll.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "domain/event.h"
#include "http/hub.h"
#include "infra/bus/bus.h"
#include "util/clock.h"

struct fixture {
    bb_config cfg;
    bb_app app;
    hub *h;
};

static void fx_start(struct fixture *f, int ring)
{
    memset(f, 0, sizeof *f);
    f->cfg.events.heartbeat_sec = 3600;   /* no heartbeat unless a test wants one */
    f->cfg.events.max_subscribers = 3;
    f->cfg.events.max_per_user = 2;
    f->app.cfg = &f->cfg;
    f->app.bus = bus_new((size_t)ring);
    char err[200];
    f->h = hub_start(&f->app, err, sizeof err);
    if (!f->h || !f->app.bus) {
        fprintf(stderr, "hub_start: %s\n", err);
        abort();
    }
}

static void fx_stop(struct fixture *f)
{
    hub_stop(f->h);
    bus_free(f->app.bus);
}

/* Admits user, adopts one end of a socketpair as an event stream of all
 * owners; returns the client's end (-1 on failure). */
static int open_stream(struct fixture *f, int64_t user, int64_t session, int64_t expires_ms,
                       bool admin)
{
    bb_errctx e = {0};
    if (hub_admit(f->h, user, &e) != BB_OK) {
        bb_err_clear(&e);
        return -1;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        abort();
    struct hub_stream st = {.kind = HUB_EVENTS, .f = {.owner_id = admin ? 0 : user},
                            .user_id = user, .admin = admin, .session_id = session,
                            .expires_ms = expires_ms};
    int64_t last;
    bus_sub *sub = bus_subscribe(f->app.bus, &st.f, &last);
    if (hub_adopt_fd(f->h, sv[0], &st, sub, bb_mono_us()) != 0)
        abort();
    return sv[1];
}

/* Reads what arrives on fd within ms into out (cap): bytes read, 0 at
 * end of stream, -1 when nothing came. */
static ssize_t read_within(int fd, char *out, size_t cap, int ms)
{
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, ms) != 1)
        return -1;
    ssize_t n = recv(fd, out, cap - 1, 0);
    if (n >= 0)
        out[n] = '\0';
    return n;
}

static struct hub_stats stats(struct fixture *f)
{
    struct hub_stats st;
    hub_get_stats(f->h, &st);
    return st;
}

/* Waits (bounded) until the hub holds n streams. */
static bool holds(struct fixture *f, size_t n)
{
    for (int i = 0; i < 300; i++) {
        if (stats(f).subscribers == n)
            return true;
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return false;
}

static void pub(bus *b, int64_t id, int64_t owner)
{
    bus_event *ev = bus_event_new(id, id, owner, EV_JOB_CREATED, "{\"n\":1}");
    if (!ev)
        abort();
    bus_publish(b, &ev, 1);
}

TEST(live_frames_reach_the_socket)
{
    struct fixture f;
    fx_start(&f, 64);
    int c = open_stream(&f, 1, 10, 0, true);
    CHECK(c >= 0);
    CHECK(holds(&f, 1));
    pub(f.app.bus, 5, 9);
    char got[256];
    CHECK(read_within(c, got, sizeof got, 3000) > 0);
    CHECK_STR_EQ(got, "id: 5\nevent: job_created\ndata: {\"n\":1}\n\n");
    close(c);
    fx_stop(&f);
}

TEST(slot_limits_and_a_hangup_frees_its_slot_at_once)
{
    struct fixture f;
    fx_start(&f, 64);
    int a = open_stream(&f, 1, 10, 0, false);
    int b = open_stream(&f, 1, 10, 0, false);
    CHECK(a >= 0 && b >= 0);
    bb_errctx e = {0};
    CHECK_EQ_INT(hub_admit(f.h, 1, &e), BB_ERATE);           /* maxPerUser 2 */
    CHECK(strstr(e.message, "events.maxPerUser") != NULL);
    bb_err_clear(&e);
    int c = open_stream(&f, 2, 20, 0, false);
    CHECK(c >= 0);
    CHECK_EQ_INT(hub_admit(f.h, 3, &e), BB_EUNAVAIL);        /* maxSubscribers 3 */
    bb_err_clear(&e);
    CHECK(holds(&f, 3));
    close(a);                                                 /* the client goes */
    CHECK(holds(&f, 2));
    CHECK_EQ_INT(stats(&f).hangups, 1);
    CHECK_EQ_INT(hub_admit(f.h, 1, &e), BB_OK);              /* its slot is free */
    hub_release(f.h, 1);
    close(b);
    close(c);
    CHECK(holds(&f, 0));
    fx_stop(&f);
}

TEST(the_access_tokens_expiry_closes_the_stream)
{
    struct fixture f;
    fx_start(&f, 64);
    int c = open_stream(&f, 1, 10, bb_now_ms() + 300, false);
    int other = open_stream(&f, 2, 20, 0, false);
    CHECK(c >= 0 && other >= 0);
    char got[64];
    CHECK_EQ_INT(read_within(c, got, sizeof got, 5000), 0);  /* end of stream */
    CHECK(holds(&f, 1));
    CHECK_EQ_INT(stats(&f).ended, 1);
    CHECK_EQ_INT(read_within(other, got, sizeof got, 50), -1);   /* still open */
    close(c);
    close(other);
    fx_stop(&f);
}

TEST(a_session_ending_notice_closes_that_sessions_streams)
{
    struct fixture f;
    fx_start(&f, 64);
    int mine = open_stream(&f, 1, 10, 0, false);
    int other = open_stream(&f, 1, 11, 0, false);
    CHECK(mine >= 0 && other >= 0);
    CHECK(holds(&f, 2));
    bus_control(f.app.bus, &(struct bus_ctl){.kind = BUS_CTL_SESSION_ENDED, .session_id = 10});
    char got[64];
    CHECK_EQ_INT(read_within(mine, got, sizeof got, 3000), 0);
    CHECK(holds(&f, 1));
    bus_control(f.app.bus, &(struct bus_ctl){.kind = BUS_CTL_USER_ENDED, .user_id = 1});
    CHECK_EQ_INT(read_within(other, got, sizeof got, 3000), 0);
    CHECK(holds(&f, 0));
    CHECK_EQ_INT(stats(&f).ended, 2);
    close(mine);
    close(other);
    fx_stop(&f);
}

TEST(a_demotion_refilters_an_open_stream)
{
    struct fixture f;
    fx_start(&f, 64);
    int c = open_stream(&f, 1, 10, 0, true);
    CHECK(c >= 0);
    CHECK(holds(&f, 1));
    bus_control(f.app.bus, &(struct bus_ctl){.kind = BUS_CTL_ROLE_CHANGED, .user_id = 1,
                                             .admin = false});
    /* the hub applies a notice queued before an event before it writes
     * that event, so no wait is needed here */
    pub(f.app.bus, 1, 9);          /* someone else's */
    pub(f.app.bus, 2, 1);          /* the user's own */
    char got[256];
    CHECK(read_within(c, got, sizeof got, 3000) > 0);
    CHECK(strncmp(got, "id: 2\n", 6) == 0);
    close(c);
    fx_stop(&f);
}

TEST(a_stalled_reader_is_dropped_a_ring_behind)
{
    struct fixture f;
    fx_start(&f, 16);
    int c = open_stream(&f, 1, 10, 0, true);
    CHECK(c >= 0);
    CHECK(holds(&f, 1));
    /* never read: fill the socket, then a ring more */
    static char big[4096];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    char data[sizeof big + 16];
    snprintf(data, sizeof data, "\"%.4000s\"", big);
    for (int64_t id = 1; id <= 2000 && stats(&f).drops == 0; id++) {
        bus_event *ev = bus_event_new(id, id, 1, EV_JOB_CREATED, data);
        if (!ev)
            abort();
        bus_publish(f.app.bus, &ev, 1);
        if (id % 64 == 0) {
            struct timespec ts = {0, 5 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    CHECK(holds(&f, 0));
    CHECK_EQ_INT(stats(&f).drops, 1);
    CHECK(bus_drops(f.app.bus) >= 1);
    close(c);
    fx_stop(&f);
}
