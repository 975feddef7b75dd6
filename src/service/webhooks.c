/* webhooks.c — webhook deliveries (webhooks.h, docs/integrations.md
 * "Webhooks").
 *
 * DESIGN.  Two threads, both started by app_open and stopped by
 * app_close:
 *  - the reader subscribes to the event bus in-process (bus_subscribe,
 *    every owner, no log lines) and turns each job_created and
 *    job_state_changed event into deliveries: one per target of the job's
 *    preset (the running configuration) and of the job itself (jobs.notify)
 *    that asked for the event.  Each delivery is logged first (a row in
 *    webhook_deliveries) and queued; when the queue is full
 *    (webhooks.queueSize) the row is written "dropped" instead, so a burst
 *    is visible, never silently lost.  A reader that falls behind the bus
 *    ring counts the missed events and subscribes again.
 *  - the sender takes the queued delivery that is due first, POSTs it with
 *    libcurl (webhooks.timeoutMs), and on a failure (no answer, or a
 *    status outside 2xx) queues it again after retryBaseMs x 2^(tries-1),
 *    up to webhooks.maxAttempts tries; each try updates the row.
 * The queue is guarded by `mu`; the threads wait on `cv`.  Neither thread
 * holds `mu` during network or database work.  Both use the database
 * through db_write/db_prepare_read like any other thread. */
#include "service/webhooks.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cJSON.h"
#include "domain/notify.h"
#include "infra/bus/bus.h"
#include "infra/db/repo_job.h"
#include "infra/db/repo_webhook.h"
#include "infra/net/http_client.h"
#include "util/log.h"
#include "util/util.h"

#define MAX_JOB_NOTIFY 16
#define MAX_BACKOFF_MS 3600000

struct item {
    int64_t delivery_id;
    char *url, *secret, *event, *body;   /* owned */
    int attempts;
    int64_t due_ms;
};

struct webhooks {
    bb_app *app;
    bus_sub *sub;
    pthread_t reader, sender;
    bool reader_started, sender_started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;                  /* guarded by mu */
    struct item *q;             /* guarded by mu: the queue, unordered */
    size_t n, cap;
    atomic_uint_fast64_t delivered, failed, dropped, retries, missed;
    atomic_int cancel;          /* set by stop: aborts a delivery in flight */
};

static void item_free(struct item *it)
{
    free(it->url);
    free(it->secret);
    free(it->event);
    free(it->body);
    memset(it, 0, sizeof *it);
}

void svc_webhook_sign(const char *key, const char *body, size_t len, char out[80])
{
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, (const unsigned char *)key, strlen(key));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    memcpy(out, "sha256=", 7);
    sodium_bin2hex(out + 7, 80 - 7, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}

/* ---- the reader -------------------------------------------------------- */

/* The request body: {event, deliveryId, createdAt, job}.  Caller frees. */
static char *make_body(const char *event, int64_t delivery_id, const char *dto_json)
{
    cJSON *doc = cJSON_CreateObject(), *dto = cJSON_Parse(dto_json);
    char id[32], iso[32];
    snprintf(id, sizeof id, "dlv_%lld", (long long)delivery_id);
    bb_iso8601(bb_now_ms(), iso);
    char *s = NULL;
    if (doc && dto && cJSON_AddStringToObject(doc, "event", event) &&
        cJSON_AddStringToObject(doc, "deliveryId", id) &&
        cJSON_AddStringToObject(doc, "createdAt", iso) && cJSON_AddItemToObject(doc, "job", dto)) {
        dto = NULL;
        s = cJSON_PrintUnformatted(doc);
    }
    cJSON_Delete(dto);
    cJSON_Delete(doc);
    return s;
}

/* Logs one delivery and queues it (or logs it dropped when the queue is
 * full). */
static void enqueue(struct webhooks *w, const bus_event *ev, const char *event,
                    const bb_notify *t)
{
    bb_app *app = w->app;
    pthread_mutex_lock(&w->mu);
    size_t limit = (size_t)app->cfg->webhooks.queue_size;
    bool full = w->n >= limit;
    pthread_mutex_unlock(&w->mu);
    int64_t id = 0;
    if (full) {
        atomic_fetch_add(&w->dropped, 1);
        if (repo_delivery_insert(app->db, ev->job_id, ev->id, event, t->url, "dropped",
                                 "the delivery queue was full (webhooks.queueSize)", &id) != BB_OK)
            bb_warn("webhooks: cannot log a dropped delivery");
        return;
    }
    if (repo_delivery_insert(app->db, ev->job_id, ev->id, event, t->url, "pending", NULL, &id) !=
        BB_OK)
        return;                     /* the job is gone already */
    struct item it = {.delivery_id = id, .url = strdup(t->url),
                      .secret = t->secret ? strdup(t->secret) : NULL,
                      .event = strdup(event), .body = make_body(event, id, ev->data),
                      .due_ms = bb_now_ms()};
    if (!it.url || !it.event || !it.body || (t->secret && !it.secret)) {
        item_free(&it);
        (void)repo_delivery_update(app->db, id, "failed", 0, 0, "out of memory");
        return;
    }
    pthread_mutex_lock(&w->mu);
    if (w->n == w->cap) {
        size_t cap = w->cap ? w->cap * 2 : 64;
        struct item *v = realloc(w->q, cap * sizeof *v);
        if (v) {
            w->q = v;
            w->cap = cap;
        }
    }
    bool queued = w->n < w->cap;
    if (queued)
        w->q[w->n++] = it;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (!queued) {
        item_free(&it);
        (void)repo_delivery_update(app->db, id, "failed", 0, 0, "out of memory");
    }
}

/* The event name of a bus event ("job.succeeded"...) and its bit; 0 when
 * webhooks do not carry it (progress, logs, back to queued). */
static unsigned event_of(const bus_event *ev, const cJSON *dto, const char **name)
{
    unsigned bit = 0;
    if (ev->type == EV_JOB_CREATED) {
        bit = NOTIFY_CREATED;
    } else if (ev->type == EV_JOB_STATE_CHANGED) {
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(dto, "state");
        bit = cJSON_IsString(s) ? notify_event_of_state(s->valuestring) : 0;
        if (bit == NOTIFY_CREATED)
            bit = 0;
    }
    for (size_t i = 0; bit && i < NOTIFY_NEVENTS; i++)
        if (bit == 1u << i)
            *name = notify_event_name(i);
    return bit;
}

static void handle_event(struct webhooks *w, const bus_event *ev)
{
    if (ev->type != EV_JOB_CREATED && ev->type != EV_JOB_STATE_CHANGED)
        return;
    cJSON *dto = cJSON_Parse(ev->data);
    const char *name = NULL;
    unsigned bit = dto ? event_of(ev, dto, &name) : 0;
    const cJSON *preset = dto ? cJSON_GetObjectItemCaseSensitive(dto, "preset") : NULL;
    if (!bit || !cJSON_IsString(preset)) {
        cJSON_Delete(dto);
        return;
    }
    const bb_config *cfg = w->app->cfg;
    const bb_preset *p = config_preset(cfg, preset->valuestring);
    for (size_t i = 0; p && i < p->nnotify; i++)
        if (p->notify[i].events & bit)
            enqueue(w, ev, name, &p->notify[i]);
    char *json = NULL;
    if (repo_job_notify_get(w->app->db, ev->job_id, &json) == BB_OK && json) {
        cJSON *arr = cJSON_Parse(json);
        bb_notify *v = NULL;
        size_t n = 0;
        char field[64], msg[160];
        if (arr && notify_parse(arr, "notify", MAX_JOB_NOTIFY, &v, &n, field, sizeof field, msg,
                                sizeof msg) == 0)
            for (size_t i = 0; i < n; i++)
                if (v[i].events & bit)
                    enqueue(w, ev, name, &v[i]);
        notify_free_list(v, n);
        cJSON_Delete(arr);
    }
    free(json);
    cJSON_Delete(dto);
}

static bool stopping(struct webhooks *w)
{
    pthread_mutex_lock(&w->mu);
    bool s = w->stop;
    pthread_mutex_unlock(&w->mu);
    return s;
}

static void *reader_main(void *arg)
{
    struct webhooks *w = arg;
    bus *b = w->app->bus;
    while (!stopping(w)) {
        bus_event *evs[64];
        size_t n = 0;
        enum bus_wait_result r = bus_wait_events(b, w->sub, 1000, evs, 64, &n);
        for (size_t i = 0; i < n; i++) {
            handle_event(w, evs[i]);
            bus_event_free(evs[i]);
        }
        if (r == BUS_CLOSED)
            break;
        if (r == BUS_OVERFLOW) {
            /* fell behind the ring: what was missed is counted and logged */
            atomic_fetch_add(&w->missed, 1);
            bb_warn("webhooks: the reader fell behind the event bus; some events were missed");
            bus_unsubscribe(b, w->sub);
            struct bus_filter f = {0};
            int64_t last = 0;
            w->sub = bus_subscribe(b, &f, &last);
            if (!w->sub)
                break;
        }
    }
    return NULL;
}

/* ---- the sender -------------------------------------------------------- */

/* POSTs it once: 0 on a 2xx answer, else -1 with the status (0 = none)
 * and a reason. */
static int post(struct webhooks *w, const bb_config *cfg, const struct item *it, int *status,
                char *err, size_t cap)
{
    char sig[100] = "", ev[80], dlv[64];
    snprintf(ev, sizeof ev, "X-Batchbox-Event: %s", it->event);
    snprintf(dlv, sizeof dlv, "X-Batchbox-Delivery: dlv_%lld", (long long)it->delivery_id);
    const char *headers[6] = {"Content-Type: application/json",
                              "User-Agent: batchbox/" BB_VERSION, ev, dlv, NULL, NULL};
    if (it->secret) {
        char v[80];
        svc_webhook_sign(it->secret, it->body, strlen(it->body), v);
        snprintf(sig, sizeof sig, "X-Batchbox-Signature: %s", v);
        headers[4] = sig;
    }
    long timeout = cfg->webhooks.timeout_ms;
    struct http_request req = {.method = "POST", .url = it->url, .headers = headers,
                               .body = it->body, .body_len = strlen(it->body),
                               .connect_timeout_ms = timeout < 5000 ? timeout : 5000,
                               .timeout_ms = timeout, .max_body = 65536,
                               .cancel = &w->cancel};
    struct http_response resp;
    char why[200] = "";
    enum http_result r = http_client_perform(&req, &resp, why, sizeof why);
    *status = (int)resp.status;
    int rc = r == HTTP_RES_OK && resp.status >= 200 && resp.status < 300 ? 0 : -1;
    if (rc != 0 && r == HTTP_RES_OK)
        snprintf(err, cap, "the receiver answered %ld", resp.status);
    else if (rc != 0)
        snprintf(err, cap, "%s: %s", http_result_name(r), why);
    http_response_free(&resp);
    return rc;
}

/* Takes the due item with the earliest due time; waits while none is due.
 * false when stopping.  Called with mu held. */
static bool take_due(struct webhooks *w, struct item *out)
{
    while (!w->stop) {
        size_t best = w->n;
        for (size_t i = 0; i < w->n; i++)
            if (best == w->n || w->q[i].due_ms < w->q[best].due_ms)
                best = i;
        int64_t now = bb_now_ms();
        if (best < w->n && w->q[best].due_ms <= now) {
            *out = w->q[best];
            w->q[best] = w->q[--w->n];
            return true;
        }
        if (best == w->n) {
            pthread_cond_wait(&w->cv, &w->mu);
            continue;
        }
        int64_t wait_ms = w->q[best].due_ms - now;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += (time_t)(wait_ms / 1000);
        ts.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&w->cv, &w->mu, &ts);
    }
    return false;
}

static void *sender_main(void *arg)
{
    struct webhooks *w = arg;
    bb_app *app = w->app;
    pthread_mutex_lock(&w->mu);
    struct item it;
    while (take_due(w, &it)) {
        pthread_mutex_unlock(&w->mu);
        const bb_config *cfg = app->cfg;
        int status = 0;
        char err[300] = "";
        it.attempts++;
        bool ok = post(w, cfg, &it, &status, err, sizeof err) == 0;
        bool again = !ok && it.attempts < cfg->webhooks.max_attempts;
        (void)repo_delivery_update(app->db, it.delivery_id,
                                   ok ? "delivered" : again ? "pending" : "failed", it.attempts,
                                   status, ok ? NULL : err);
        if (ok)
            atomic_fetch_add(&w->delivered, 1);
        else if (!again)
            atomic_fetch_add(&w->failed, 1);
        pthread_mutex_lock(&w->mu);
        if (again && w->n < w->cap) {
            int64_t backoff = cfg->webhooks.retry_base_ms;
            for (int i = 1; i < it.attempts && backoff < MAX_BACKOFF_MS; i++)
                backoff *= 2;
            it.due_ms = bb_now_ms() + (backoff < MAX_BACKOFF_MS ? backoff : MAX_BACKOFF_MS);
            w->q[w->n++] = it;
            atomic_fetch_add(&w->retries, 1);
        } else {
            item_free(&it);
        }
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- start, stop, reads ------------------------------------------------ */

int svc_webhooks_start(bb_app *app)
{
    struct webhooks *w = calloc(1, sizeof *w);
    if (!w)
        return -1;
    w->app = app;
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    app->webhooks = w;
    if (http_client_init() != 0)
        bb_warn("webhooks: libcurl did not initialise; deliveries will fail");
    struct bus_filter f = {0};
    int64_t last = 0;
    w->sub = bus_subscribe(app->bus, &f, &last);
    if (!w->sub || pthread_create(&w->reader, NULL, reader_main, w) != 0) {
        svc_webhooks_stop(app);
        return -1;
    }
    w->reader_started = true;
    if (pthread_create(&w->sender, NULL, sender_main, w) != 0) {
        svc_webhooks_stop(app);
        return -1;
    }
    w->sender_started = true;
    return 0;
}

void svc_webhooks_stop(bb_app *app)
{
    struct webhooks *w = app->webhooks;
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->stop = true;
    atomic_store(&w->cancel, 1);
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    if (w->reader_started)
        pthread_join(w->reader, NULL);
    if (w->sender_started)
        pthread_join(w->sender, NULL);
    if (w->sub)
        bus_unsubscribe(app->bus, w->sub);
    for (size_t i = 0; i < w->n; i++)
        item_free(&w->q[i]);
    free(w->q);
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
    app->webhooks = NULL;
}

void svc_webhooks_totals(bb_app *app, struct webhook_totals *out)
{
    memset(out, 0, sizeof *out);
    struct webhooks *w = app->webhooks;
    if (!w)
        return;
    out->delivered = atomic_load(&w->delivered);
    out->failed = atomic_load(&w->failed);
    out->dropped = atomic_load(&w->dropped);
    out->retries = atomic_load(&w->retries);
    out->missed_events = atomic_load(&w->missed);
    pthread_mutex_lock(&w->mu);
    out->queued = w->n;
    pthread_mutex_unlock(&w->mu);
}

int svc_webhooks_parse_job_notify(const cJSON *notify, char **json, bb_errctx *e)
{
    *json = NULL;
    if (!notify || cJSON_IsNull(notify))
        return BB_OK;
    bb_notify *v = NULL;
    size_t n = 0;
    char field[64], msg[200];
    if (notify_parse(notify, "notify", MAX_JOB_NOTIFY, &v, &n, field, sizeof field, msg,
                     sizeof msg) != 0)
        return bb_fail_field(e, field, "%s", msg);
    cJSON *arr = n ? notify_to_json(v, n, true) : NULL;
    notify_free_list(v, n);
    if (n && !arr)
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    *json = arr ? cJSON_PrintUnformatted(arr) : NULL;
    cJSON_Delete(arr);
    return arr && !*json ? bb_fail(e, BB_EINTERNAL, "out of memory") : BB_OK;
}

static bool add_time(cJSON *o, const char *key, int64_t ms)
{
    char iso[32];
    bb_iso8601(ms, iso);
    return cJSON_AddStringToObject(o, key, iso) != NULL;
}

static cJSON *delivery_dto(const delivery_rec *d)
{
    cJSON *o = cJSON_CreateObject();
    char id[32];
    snprintf(id, sizeof id, "dlv_%lld", (long long)d->id);
    bool ok = o && cJSON_AddStringToObject(o, "id", id) &&
              cJSON_AddStringToObject(o, "event", d->event) &&
              cJSON_AddStringToObject(o, "url", d->url) &&
              cJSON_AddStringToObject(o, "state", d->state) &&
              cJSON_AddNumberToObject(o, "attempts", d->attempts) &&
              (d->last_status ? cJSON_AddNumberToObject(o, "lastStatus", d->last_status)
                              : cJSON_AddNullToObject(o, "lastStatus")) &&
              (d->last_error ? cJSON_AddStringToObject(o, "lastError", d->last_error)
                             : cJSON_AddNullToObject(o, "lastError")) &&
              add_time(o, "createdAt", d->created_at) && add_time(o, "updatedAt", d->updated_at);
    if (!ok) {
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

int svc_webhook_deliveries(bb_app *app, const struct principal *who, int64_t job_id,
                           cJSON **doc, bb_errctx *e)
{
    *doc = NULL;
    job j;
    int rc = repo_job_get(app->db, job_id, principal_scope(who), &j);
    if (rc != BB_OK)
        return bb_fail(e, rc, rc == BB_ENOTFOUND ? "no such job" : "cannot read the job");
    job_clear(&j);
    delivery_rec *items = NULL;
    size_t n = 0;
    if ((rc = repo_delivery_list(app->db, job_id, 500, &items, &n)) != BB_OK)
        return bb_fail(e, rc, "cannot read the deliveries");
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = o ? cJSON_AddArrayToObject(o, "items") : NULL;
    for (size_t i = 0; i < n; i++) {
        cJSON *d = arr ? delivery_dto(&items[i]) : NULL;
        if (d)
            cJSON_AddItemToArray(arr, d);
        else
            arr = NULL;
        delivery_rec_clear(&items[i]);
    }
    free(items);
    if (!arr) {
        cJSON_Delete(o);
        return bb_fail(e, BB_EINTERNAL, "out of memory");
    }
    *doc = o;
    return BB_OK;
}
