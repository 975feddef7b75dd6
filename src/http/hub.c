/* hub.c — the stream hub: two epoll threads holding every live stream
 * (event streams and log follows) after its route handed the socket over.
 *
 * DESIGN
 * - Admission (any civetweb thread, under `mu`): hub_admit reserves a slot
 *   before the route writes its head: events.maxSubscribers in all (503)
 *   and events.maxPerUser per user (429).  The slot is held until the
 *   stream closes; a hang-up frees it at once.
 * - Hand-over (civetweb thread): after the head and the Last-Event-ID
 *   replay, hub_adopt takes the socket from civetweb (mg_hijack_socket,
 *   glue/civetweb_glue.c), makes it non-blocking and queues the
 *   subscriber on the `inbox` of one hub thread (round robin, under `mu`),
 *   then wakes that thread through its eventfd.  The civetweb thread
 *   returns to serve short requests.
 * - Threads: HUB_THREADS `loop`s, each with its own epoll set, eventfd and
 *   subscriber list; a subscriber stays on the thread it was handed to.
 *   Two rather than one so that fan-out to thousands of sockets (a send
 *   per subscriber and event) can use both cores of a small machine and
 *   keeps its share of the CPU when the machine is busy.  What they share
 *   (slot counts, statistics) is under `mu`.
 * - A hub thread owns every subscriber in its `subs` (no lock): a bus cursor
 *   (bus_sub), the events it is writing (references to the bus's
 *   pre-serialised frames, up to SUB_BATCH written with one sendmsg, plus a
 *   write offset into the first: a frame is built once by the publisher,
 *   never per subscriber) and `pend`, a small owned buffer for
 *   what is not a bus frame (heartbeats, log text).  Writes never block: a
 *   short write parks the subscriber on EPOLLOUT ("blocked").
 * - Wake-ups: the bus calls hub_notify after each publish (on the db
 *   writer thread: it sets each thread's flag and writes its eventfd at
 *   most once per wake), then each hub thread pumps its subscribers that
 *   are not blocked.  A
 *   blocked subscriber more than a ring behind (bus_sub_lost) is dropped
 *   at once; the client resumes with Last-Event-ID.
 * - Hang-ups: EPOLLRDHUP/EPOLLHUP/EPOLLERR (or a read of 0) close the
 *   stream at once, whether or not anything was being written.
 * - Every HUB_TICK_MS: heartbeats (": hb" after events.heartbeatSec idle),
 *   access-token expiry (the stream closes when the token it was opened
 *   with expires).
 * - Sessions ending (service/auth.c -> bus_control -> hub_control, on the
 *   caller's thread): the notice is queued for every hub thread under `mu`
 *   and applied by each within a wake-up: the session's (or user's) streams close; a
 *   role change re-filters the user's event streams (owner filter) and
 *   closes the log follows of other users' jobs after a demotion.  The
 *   last notices are kept for CTL_KEEP_US, so a stream authenticated just
 *   before its session ended but adopted just after is closed too.
 * - Log follows (HUB_LOGS): the bus tells that the job has new lines or
 *   ended; the lines themselves are read from the database (the one source
 *   of their order, whatever the ring dropped), a page at a time into
 *   `pend`, only when `pend` is empty: a slow reader costs one page.
 * - Shutdown: bus_close notifies (open streams see BUS_CLOSED and close);
 *   hub_stop sets `stop`, wakes the threads and joins them; each closes
 *   what it still holds.
 */
#include "http/hub.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "cJSON.h"
#include "http/http.h"
#include "service/job_reads.h"
#include "service/jobs.h"
#include "util/bb_assert.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/util.h"

#define HUB_THREADS 2                   /* epoll threads; streams are spread over them */
#define HUB_TICK_MS 200
#define HUB_MAX_EVENTS 256
#define UC_BUCKETS 256
#define CTL_KEEP 64                     /* recent control notices kept */
#define CTL_KEEP_US (10 * 1000000LL)    /* ... for this long */
#define LOG_PAGE_LINES 1000
#define LOG_PIECE (64 * 1024)           /* a log page stops after this much text */
#define LOG_PEND_CAP (LOG_PIECE + 64 * 1024)
#define EVS_BATCH 32
#define SUB_BATCH 16                    /* frames written with one sendmsg */
#define FD_HEADROOM 256                 /* descriptors besides the streams */

enum close_why { WHY_HANGUP, WHY_DROP, WHY_ENDED, WHY_EXPIRED, WHY_DONE, WHY_SHUTDOWN, WHY_ERROR };

struct hsub {
    int fd;
    struct hub_stream st;
    bus_sub *bs;                 /* owned */
    bus_event *evs[SUB_BATCH];   /* frames being written: one reference each */
    size_t nev;
    size_t ev_off;               /* bytes of evs[0]'s frame already written */
    buf pend;                    /* owned: written before anything else */
    size_t pend_off;
    bool blocked;                /* EPOLLOUT armed: the socket is full */
    bool dirty;                  /* HUB_LOGS: the job may have new lines */
    bool ending;                 /* HUB_LOGS: the job ended; close once drained */
    bool check_end;              /* HUB_LOGS: ask the database whether it ended */
    int64_t auth_us;             /* when the request was authenticated (mono) */
    int64_t last_write_us;
    struct hsub *prev, *next;
};

struct ucount {
    int64_t uid;
    int n;
    struct ucount *next;
};

struct ctl_rec {
    struct bus_ctl c;
    int64_t at_us;
};

/* One hub thread and what it owns. */
struct loop {
    struct hub *hub;
    bb_app *app;
    pthread_t thr;
    bool thr_started;
    int ep, wake_fd;
    atomic_bool woken, bus_pending;
    /* guarded by hub->mu */
    struct hsub *inbox;
    struct ctl_rec *ctls;        /* queued for this thread */
    size_t nctl, ctl_cap;
    /* this thread only */
    struct hsub *subs;
    struct ctl_rec recent[CTL_KEEP];
    size_t nrecent;
    int64_t state_ev_id;         /* the last job_state_changed parsed ... */
    int state_ev_terminal;       /* ... and whether its state is terminal */
};

struct hub {
    bb_app *app;
    atomic_bool stop;
    atomic_uint next_loop;       /* round robin of hub_adopt */
    struct loop loops[HUB_THREADS];
    /* guarded by mu */
    pthread_mutex_t mu;
    struct ucount *users[UC_BUCKETS];
    size_t reserved;             /* slots reserved or held */
    size_t nsubs;                /* streams handed over and not closed */
    uint64_t adopted, drops, hangups, ended;
};

/* ---- per-user slot counts (under mu) ------------------------------------ */

static struct ucount **uc_slot(hub *h, int64_t uid)
{
    struct ucount **p = &h->users[(uint64_t)uid % UC_BUCKETS];
    while (*p && (*p)->uid != uid)
        p = &(*p)->next;
    return p;
}

static void uc_put(hub *h, int64_t uid)
{
    BB_ASSERT(h->reserved > 0);
    h->reserved--;
    struct ucount **p = uc_slot(h, uid);
    BB_ASSERT(*p != NULL);
    if (*p && --(*p)->n == 0) {
        struct ucount *dead = *p;
        *p = dead->next;
        free(dead);
    }
}

int hub_admit(hub *h, int64_t user_id, bb_errctx *e)
{
    const bb_config *cfg = h->app->cfg;
    pthread_mutex_lock(&h->mu);
    int rc = BB_OK;
    struct ucount **p = uc_slot(h, user_id);
    if (atomic_load(&h->stop) || atomic_load(&h->app->stopping)) {
        rc = bb_fail(e, BB_EUNAVAIL, "the server is stopping");
    } else if (h->reserved >= (size_t)cfg->events.max_subscribers) {
        rc = bb_fail(e, BB_EUNAVAIL,
                     "too many live streams (events.maxSubscribers is %d); retry shortly",
                     cfg->events.max_subscribers);
    } else if (*p && (*p)->n >= cfg->events.max_per_user) {
        rc = bb_fail(e, BB_ERATE,
                     "too many live streams for this user (events.maxPerUser is %d): close one",
                     cfg->events.max_per_user);
    } else if (!*p && !(*p = calloc(1, sizeof **p))) {
        rc = bb_fail(e, BB_EINTERNAL, "out of memory");
    } else {
        (*p)->uid = user_id;
        (*p)->n++;
        h->reserved++;
    }
    pthread_mutex_unlock(&h->mu);
    return rc;
}

void hub_release(hub *h, int64_t user_id)
{
    pthread_mutex_lock(&h->mu);
    uc_put(h, user_id);
    pthread_mutex_unlock(&h->mu);
}

/* ---- wake-ups ------------------------------------------------------------ */

static void wake(struct loop *lp)
{
    if (atomic_exchange(&lp->woken, true))
        return;
    uint64_t one = 1;
    ssize_t w = write(lp->wake_fd, &one, sizeof one);
    /* EAGAIN: the counter is full, so the hub is awake anyway */
    if (w != (ssize_t)sizeof one && errno != EAGAIN)
        bb_warn("stream hub: cannot wake its thread", "error", strerror(errno));
}

/* The bus's notify callback (db writer thread, or bus_close's caller). */
static void hub_notify(void *ud)
{
    hub *h = ud;
    for (int i = 0; i < HUB_THREADS; i++) {
        atomic_store(&h->loops[i].bus_pending, true);
        wake(&h->loops[i]);
    }
}

/* The bus's control callback (service/auth.c's caller thread): every hub
 * thread gets the notice. */
static void hub_control(void *ud, const struct bus_ctl *c)
{
    hub *h = ud;
    struct ctl_rec rec = {.c = *c, .at_us = bb_mono_us()};
    pthread_mutex_lock(&h->mu);
    for (int i = 0; i < HUB_THREADS; i++) {
        struct loop *lp = &h->loops[i];
        if (lp->nctl == lp->ctl_cap) {
            size_t cap = lp->ctl_cap ? lp->ctl_cap * 2 : 16;
            struct ctl_rec *n = realloc(lp->ctls, cap * sizeof *n);
            if (!n) {
                bb_error("stream hub: out of memory: a session-ending notice was lost");
                continue;
            }
            lp->ctls = n;
            lp->ctl_cap = cap;
        }
        lp->ctls[lp->nctl++] = rec;
    }
    pthread_mutex_unlock(&h->mu);
    for (int i = 0; i < HUB_THREADS; i++)
        wake(&h->loops[i]);
}

/* ---- one subscriber ------------------------------------------------------ */

static void set_out(struct loop *lp, struct hsub *s, bool out)
{
    if (s->blocked == out)
        return;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP | (out ? EPOLLOUT : 0u),
                             .data.ptr = s};
    if (epoll_ctl(lp->ep, EPOLL_CTL_MOD, s->fd, &ev) != 0)
        bb_warn("stream hub: epoll_ctl failed", "error", strerror(errno));
    s->blocked = out;
}

static const char *why_name(enum close_why w)
{
    static const char *const names[] = {"hang-up", "dropped (a ring behind)", "session ended",
                                        "access token expired", "done", "shutdown", "error"};
    return names[w];
}

static void close_sub(struct loop *lp, struct hsub *s, enum close_why why)
{
    if (s->prev)
        s->prev->next = s->next;
    else
        lp->subs = s->next;
    if (s->next)
        s->next->prev = s->prev;
    close(s->fd);                /* also removes it from the epoll set */
    bus_unsubscribe(lp->app->bus, s->bs);
    for (size_t i = 0; i < s->nev; i++)
        bus_event_free(s->evs[i]);
    buf_free(&s->pend);
    if (why == WHY_DROP || why == WHY_ENDED || why == WHY_EXPIRED) {
        char uid[24];
        snprintf(uid, sizeof uid, "%lld", (long long)s->st.user_id);
        bb_info("live stream closed", "reason", why_name(why), "userId", uid);
    }
    pthread_mutex_lock(&lp->hub->mu);
    uc_put(lp->hub, s->st.user_id);
    BB_ASSERT(lp->hub->nsubs > 0);
    lp->hub->nsubs--;
    if (why == WHY_HANGUP)
        lp->hub->hangups++;
    else if (why == WHY_DROP)
        lp->hub->drops++;
    else if (why == WHY_ENDED || why == WHY_EXPIRED)
        lp->hub->ended++;
    pthread_mutex_unlock(&lp->hub->mu);
    free(s);
}

/* Writes p[*off..len): 1 all written, 0 the socket is full, -1 the client
 * is gone. */
static int put(struct hsub *s, const char *p, size_t len, size_t *off)
{
    while (*off < len) {
        ssize_t w = send(s->fd, p + *off, len - *off, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0) {
            *off += (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        return -1;
    }
    return 1;
}

/* Writes the frames in s->evs (from ev_off in the first) with one
 * sendmsg, dropping the references of those written whole: 1 all written,
 * 0 the socket is full, -1 the client is gone. */
static int put_frames(struct hsub *s)
{
    while (s->nev) {
        struct iovec iov[SUB_BATCH];
        for (size_t i = 0; i < s->nev; i++) {
            size_t off = i == 0 ? s->ev_off : 0;
            iov[i].iov_base = s->evs[i]->frame + off;
            iov[i].iov_len = s->evs[i]->frame_len - off;
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = s->nev};
        ssize_t w = sendmsg(s->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return 0;
        if (w <= 0)
            return -1;
        size_t done = 0, left = (size_t)w;
        while (done < s->nev && left >= iov[done].iov_len) {
            left -= iov[done].iov_len;
            bus_event_free(s->evs[done++]);
        }
        memmove(s->evs, s->evs + done, (s->nev - done) * sizeof s->evs[0]);
        s->nev -= done;
        s->ev_off = done ? left : s->ev_off + left;
        if (s->nev)
            return 0;            /* a short write: the socket is full */
    }
    return 1;
}

/* Whether ev (a job_state_changed) moves its job to a terminal state, read
 * from its JSON once per event whatever the number of followers. */
static bool event_terminal(struct loop *lp, const bus_event *ev)
{
    if (ev->id != lp->state_ev_id) {
        cJSON *dto = cJSON_ParseWithLength(ev->data, ev->data_len);
        const cJSON *st = cJSON_GetObjectItemCaseSensitive(dto, "state");
        enum job_state s;
        lp->state_ev_terminal = cJSON_IsString(st) && job_state_parse(st->valuestring, &s) == 0 &&
                               job_state_terminal(s);
        lp->state_ev_id = ev->id;
        cJSON_Delete(dto);
    }
    return lp->state_ev_terminal;
}

static int collect_line(void *ud, const char *stream, const char *line)
{
    struct hsub *s = ud;
    if (hub_log_line(&s->pend, stream, line) != 0)
        return 1;            /* cannot happen below the cap; stop the page */
    return s->pend.len >= LOG_PIECE;
}

/* Whether the followed job has ended (a job that vanished or cannot be
 * read counts as ended). */
static bool job_ended(struct loop *lp, struct hsub *s)
{
    struct principal who = {.user_id = s->st.user_id, .admin = s->st.admin};
    job cur;
    bb_errctx e = {0};
    if (svc_job_get(lp->app, &who, s->st.f.job_id, &cur, &e) != BB_OK) {
        bb_err_clear(&e);
        return true;
    }
    bool ended = job_state_terminal(cur.state);
    job_clear(&cur);
    return ended;
}

/* A log follow's step when nothing is left to write: reads the bus (new
 * lines? the end?) and the next page of lines.  1 = pend has text, 0 =
 * idle, -1 = closed. */
static int logs_step(struct loop *lp, struct hsub *s)
{
    bus *b = lp->app->bus;
    for (;;) {
        bus_event *evs[EVS_BATCH];
        size_t n = 0;
        enum bus_wait_result w = bus_poll_events(b, s->bs, evs, EVS_BATCH, &n);
        for (size_t i = 0; i < n; i++) {
            if (evs[i]->type == EV_JOB_LOG)
                s->dirty = true;
            else if (evs[i]->type == EV_JOB_STATE_CHANGED && event_terminal(lp, evs[i]))
                s->ending = s->dirty = true;
            bus_event_free(evs[i]);
        }
        if (w == BUS_CLOSED) {
            close_sub(lp, s, WHY_SHUTDOWN);
            return -1;
        }
        if (w == BUS_OVERFLOW) {
            /* the lines are in the database: read on from a fresh cursor */
            int64_t published;
            bus_unsubscribe(b, s->bs);
            s->bs = bus_subscribe(b, &s->st.f, &published);
            if (!s->bs) {
                close_sub(lp, s, WHY_ERROR);
                return -1;
            }
            s->dirty = s->check_end = true;
            continue;
        }
        if (n < EVS_BATCH)
            break;
    }
    if (s->check_end) {
        s->check_end = false;
        if (job_ended(lp, s))
            s->ending = s->dirty = true;
    }
    if (s->dirty) {
        int64_t before = s->st.log_last;
        bb_errctx e = {0};
        if (svc_job_logs(lp->app, s->st.f.job_id, before, LOG_PAGE_LINES, collect_line, s,
                         &s->st.log_last, &e) != BB_OK) {
            bb_err_clear(&e);
            close_sub(lp, s, WHY_ERROR);
            return -1;
        }
        if (s->st.log_last == before)
            s->dirty = false;
        if (s->pend.len)
            return 1;
    }
    if (s->ending && !s->dirty) {
        close_sub(lp, s, WHY_DONE);
        return -1;
    }
    return 0;
}

/* Writes what the subscriber has pending and then what the bus has for
 * it, until done or the socket is full.  May close s. */
static void pump(struct loop *lp, struct hsub *s)
{
    for (;;) {
        int w = 1;
        if (s->pend_off < s->pend.len) {
            w = put(s, s->pend.data, s->pend.len, &s->pend_off);
            if (w == 1) {
                buf_reset(&s->pend);
                s->pend_off = 0;
            }
        } else if (s->nev) {
            w = put_frames(s);
        } else if (s->st.kind == HUB_EVENTS) {
            size_t n = 0;
            enum bus_wait_result r = bus_poll_events(lp->app->bus, s->bs, s->evs, SUB_BATCH, &n);
            if (n) {
                s->nev = n;
                s->ev_off = 0;
                continue;
            }
            if (r == BUS_OVERFLOW || r == BUS_CLOSED) {
                close_sub(lp, s, r == BUS_OVERFLOW ? WHY_DROP : WHY_SHUTDOWN);
                return;
            }
            set_out(lp, s, false);
            return;
        } else {
            int r = logs_step(lp, s);
            if (r < 0)
                return;
            if (r == 0) {
                set_out(lp, s, false);
                return;
            }
            continue;
        }
        if (w < 0) {
            close_sub(lp, s, WHY_HANGUP);
            return;
        }
        if (w == 0) {
            set_out(lp, s, true);
            return;
        }
        s->last_write_us = bb_mono_us();
    }
}

/* Applies one control notice to s.  May close s. */
static void apply_ctl(struct loop *lp, struct hsub *s, const struct bus_ctl *c)
{
    switch (c->kind) {
    case BUS_CTL_SESSION_ENDED:
        if (s->st.session_id && s->st.session_id == c->session_id)
            close_sub(lp, s, WHY_ENDED);
        return;
    case BUS_CTL_USER_ENDED:
        if (s->st.user_id == c->user_id)
            close_sub(lp, s, WHY_ENDED);
        return;
    case BUS_CTL_ROLE_CHANGED:
        if (s->st.user_id != c->user_id)
            return;
        s->st.admin = c->admin;
        if (s->st.kind == HUB_LOGS) {
            if (!c->admin && s->st.job_owner != c->user_id)
                close_sub(lp, s, WHY_ENDED);
            return;
        }
        s->st.f.owner_id = c->admin ? 0 : c->user_id;
        bus_sub_set_owner(lp->app->bus, s->bs, s->st.f.owner_id);
        return;
    }
}

static void on_socket(struct loop *lp, struct hsub *s, uint32_t events)
{
    if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP)) {
        close_sub(lp, s, WHY_HANGUP);
        return;
    }
    if (events & EPOLLIN) {
        /* a stream's client has nothing to say: read and forget, noticing
         * the end of its side */
        char junk[512];
        ssize_t r = recv(s->fd, junk, sizeof junk, MSG_DONTWAIT);
        if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
            close_sub(lp, s, WHY_HANGUP);
            return;
        }
    }
    if (events & EPOLLOUT)
        pump(lp, s);
}

/* New subscribers and control notices from other threads. */
static void take_queues(struct loop *lp)
{
    pthread_mutex_lock(&lp->hub->mu);
    struct hsub *in = lp->inbox;
    lp->inbox = NULL;
    struct ctl_rec *ctls = lp->ctls;
    size_t nctl = lp->nctl;
    lp->ctls = NULL;
    lp->nctl = lp->ctl_cap = 0;
    pthread_mutex_unlock(&lp->hub->mu);

    int64_t now = bb_mono_us();
    for (size_t i = 0; i < nctl; i++) {
        for (struct hsub *s = lp->subs, *next; s; s = next) {
            next = s->next;
            apply_ctl(lp, s, &ctls[i].c);
        }
        if (lp->nrecent == CTL_KEEP) {
            memmove(lp->recent, lp->recent + 1, (CTL_KEEP - 1) * sizeof lp->recent[0]);
            lp->nrecent--;
        }
        lp->recent[lp->nrecent++] = ctls[i];
    }
    free(ctls);
    while (lp->nrecent && now - lp->recent[0].at_us > CTL_KEEP_US) {
        memmove(lp->recent, lp->recent + 1, (lp->nrecent - 1) * sizeof lp->recent[0]);
        lp->nrecent--;
    }

    while (in) {
        struct hsub *s = in;
        in = in->next;
        s->prev = NULL;
        s->next = lp->subs;
        if (lp->subs)
            lp->subs->prev = s;
        lp->subs = s;
        struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
        if (epoll_ctl(lp->ep, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
            bb_warn("stream hub: epoll_ctl failed", "error", strerror(errno));
            close_sub(lp, s, WHY_ERROR);
            continue;
        }
        /* notices that arrived between its authentication and now */
        bool closed = false;
        for (size_t i = 0; i < lp->nrecent && !closed; i++) {
            if (lp->recent[i].at_us < s->auth_us)
                continue;
            const struct bus_ctl *c = &lp->recent[i].c;
            closed = (c->kind == BUS_CTL_SESSION_ENDED && s->st.session_id == c->session_id) ||
                     (c->kind == BUS_CTL_USER_ENDED && s->st.user_id == c->user_id) ||
                     (c->kind == BUS_CTL_ROLE_CHANGED && s->st.kind == HUB_LOGS &&
                      s->st.user_id == c->user_id && !c->admin &&
                      s->st.job_owner != c->user_id);
            if (closed)
                close_sub(lp, s, WHY_ENDED);
            else
                apply_ctl(lp, s, c);
        }
        if (!closed)
            pump(lp, s);
    }
}

/* New events: every subscriber that can write gets them; a blocked one
 * that fell a ring behind is dropped now. */
static void on_bus(struct loop *lp)
{
    for (struct hsub *s = lp->subs, *next; s; s = next) {
        next = s->next;
        if (!s->blocked) {
            pump(lp, s);
        } else if (s->st.kind == HUB_EVENTS && bus_sub_lost(lp->app->bus, s->bs)) {
            bus_count_drop(lp->app->bus);
            close_sub(lp, s, WHY_DROP);
        }
    }
}

/* Heartbeats and token expiry. */
static void tick(struct loop *lp)
{
    int64_t now_us = bb_mono_us(), now_ms = bb_now_ms();
    int64_t hb_us = (int64_t)lp->app->cfg->events.heartbeat_sec * 1000000;
    for (struct hsub *s = lp->subs, *next; s; s = next) {
        next = s->next;
        if (s->st.expires_ms && now_ms >= s->st.expires_ms) {
            close_sub(lp, s, WHY_EXPIRED);
            continue;
        }
        if (s->st.kind != HUB_EVENTS || s->blocked || s->nev || s->pend.len ||
            now_us - s->last_write_us < hb_us)
            continue;
        if (buf_puts(&s->pend, ": hb\n\n") == 0)
            pump(lp, s);
    }
}

static void *hub_main(void *arg)
{
    struct loop *lp = arg;
    struct epoll_event evs[HUB_MAX_EVENTS];
    int64_t last_tick = bb_mono_us();
    while (!atomic_load(&lp->hub->stop)) {
        int n = epoll_wait(lp->ep, evs, HUB_MAX_EVENTS, HUB_TICK_MS);
        if (n < 0) {
            if (errno != EINTR)
                bb_error("stream hub: epoll_wait failed", "error", strerror(errno));
            n = 0;
        }
        bool woke = false;
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL)
                woke = true;
            else
                on_socket(lp, evs[i].data.ptr, evs[i].events);
        }
        if (woke) {
            uint64_t v;
            if (read(lp->wake_fd, &v, sizeof v) < 0 && errno != EAGAIN)
                bb_warn("stream hub: cannot read its eventfd", "error", strerror(errno));
            atomic_store(&lp->woken, false);
        }
        /* notices first: one queued before an event was published (a role
         * change, then an event) is applied before that event is written */
        bool events = atomic_exchange(&lp->bus_pending, false);
        if (woke || events)
            take_queues(lp);
        if (events)
            on_bus(lp);
        int64_t now = bb_mono_us();
        if (now - last_tick >= HUB_TICK_MS * 1000LL) {
            last_tick = now;
            tick(lp);
        }
    }
    take_queues(lp);
    while (lp->subs)
        close_sub(lp, lp->subs, WHY_SHUTDOWN);
    return NULL;
}

/* ---- life cycle ---------------------------------------------------------- */

/* RLIMIT_NOFILE up to its hard limit; a warning when that is below what
 * events.maxSubscribers needs. */
static void raise_fd_limit(const bb_config *cfg)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return;
    if (rl.rlim_cur < rl.rlim_max) {
        struct rlimit want = {.rlim_cur = rl.rlim_max, .rlim_max = rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &want) == 0)
            rl = want;
    }
    rlim_t need = (rlim_t)cfg->events.max_subscribers + FD_HEADROOM;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        char have[24], want_s[24];
        snprintf(have, sizeof have, "%llu", (unsigned long long)rl.rlim_cur);
        snprintf(want_s, sizeof want_s, "%llu", (unsigned long long)need);
        bb_warn("the open-file limit is below what events.maxSubscribers needs: raise the "
                "hard limit (ulimit -Hn, LimitNOFILE=) or lower events.maxSubscribers",
                "limit", have, "needed", want_s);
    }
}

/* Opens a loop's epoll set and eventfd: 0, or -1 with err set. */
static int loop_open(struct loop *lp, char *err, size_t cap)
{
    lp->ep = epoll_create1(EPOLL_CLOEXEC);
    lp->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    if (lp->ep < 0 || lp->wake_fd < 0 || epoll_ctl(lp->ep, EPOLL_CTL_ADD, lp->wake_fd, &ev) != 0) {
        snprintf(err, cap, "stream hub: %s", strerror(errno));
        return -1;
    }
    return 0;
}

hub *hub_start(bb_app *app, char *err, size_t cap)
{
    hub *h = calloc(1, sizeof *h);
    if (!h) {
        snprintf(err, cap, "out of memory");
        return NULL;
    }
    h->app = app;
    pthread_mutex_init(&h->mu, NULL);
    for (int i = 0; i < HUB_THREADS; i++) {
        h->loops[i].hub = h;
        h->loops[i].app = app;
        h->loops[i].ep = h->loops[i].wake_fd = -1;
    }
    for (int i = 0; i < HUB_THREADS; i++) {
        if (loop_open(&h->loops[i], err, cap) != 0) {
            hub_stop(h);
            return NULL;
        }
    }
    raise_fd_limit(app->cfg);
    bus_set_notify(app->bus, hub_notify, h);
    bus_set_control(app->bus, hub_control, h);
    for (int i = 0; i < HUB_THREADS; i++) {
        int rc = pthread_create(&h->loops[i].thr, NULL, hub_main, &h->loops[i]);
        if (rc != 0) {
            snprintf(err, cap, "stream hub: cannot start its thread: %s", strerror(rc));
            hub_stop(h);
            return NULL;
        }
        h->loops[i].thr_started = true;
    }
    return h;
}

void hub_stop(hub *h)
{
    if (!h)
        return;
    bus_set_notify(h->app->bus, NULL, NULL);
    bus_set_control(h->app->bus, NULL, NULL);
    atomic_store(&h->stop, true);
    for (int i = 0; i < HUB_THREADS; i++) {
        struct loop *lp = &h->loops[i];
        if (lp->thr_started) {
            wake(lp);
            pthread_join(lp->thr, NULL);
        }
        if (lp->ep >= 0)
            close(lp->ep);
        if (lp->wake_fd >= 0)
            close(lp->wake_fd);
        free(lp->ctls);
    }
    for (size_t i = 0; i < UC_BUCKETS; i++)
        while (h->users[i]) {
            struct ucount *u = h->users[i];
            h->users[i] = u->next;
            free(u);
        }
    pthread_mutex_destroy(&h->mu);
    free(h);
}

int hub_adopt(hub *h, struct http_req *r, const struct hub_stream *st, bus_sub *sub)
{
    return hub_adopt_fd(h, mg_hijack_socket(r->conn), st, sub, r->t0_us);
}

int hub_adopt_fd(hub *h, int fd, const struct hub_stream *st, bus_sub *sub, int64_t auth_us)
{
    struct hsub *s = fd >= 0 ? calloc(1, sizeof *s) : NULL;
    int fl = fd >= 0 ? fcntl(fd, F_GETFL) : -1;
    if (!s || fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) != 0) {
        if (fd >= 0)
            close(fd);
        free(s);
        bus_unsubscribe(h->app->bus, sub);
        hub_release(h, st->user_id);
        return -1;
    }
    s->fd = fd;
    s->st = *st;
    s->bs = sub;
    s->auth_us = auth_us;
    s->last_write_us = bb_mono_us();
    s->dirty = st->kind == HUB_LOGS;   /* lines may have come since the route read */
    buf_init(&s->pend, LOG_PEND_CAP);
    struct loop *lp = &h->loops[atomic_fetch_add(&h->next_loop, 1) % HUB_THREADS];
    pthread_mutex_lock(&h->mu);
    s->next = lp->inbox;
    lp->inbox = s;
    h->nsubs++;
    h->adopted++;
    pthread_mutex_unlock(&h->mu);
    wake(lp);
    return 0;
}

int hub_log_line(buf *b, const char *stream, const char *line)
{
    bool forged = strcmp(stream, "system") != 0 && strncmp(line, "[batchbox", 9) == 0;
    size_t before = b->len;
    if ((forged && buf_puts(b, "[job] ") != 0) || buf_puts(b, line) != 0 ||
        buf_puts(b, "\n") != 0) {
        b->len = before;
        if (b->data)
            b->data[before] = '\0';
        return -1;
    }
    return 0;
}

void hub_get_stats(hub *h, struct hub_stats *out)
{
    pthread_mutex_lock(&h->mu);
    *out = (struct hub_stats){.subscribers = h->nsubs, .adopted = h->adopted,
                              .drops = h->drops, .hangups = h->hangups, .ended = h->ended};
    pthread_mutex_unlock(&h->mu);
}
