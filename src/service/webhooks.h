/* webhooks.h — webhook deliveries (docs/integrations.md, "Webhooks"): the
 * events of jobs whose preset (or submit request) has `notify` targets are
 * POSTed to them, signed with HMAC-SHA256, retried with backoff, and
 * logged per job (GET /jobs/:id/deliveries).  Two threads of their own,
 * so a slow receiver never holds a worker or the database writer. */
#ifndef BB_WEBHOOKS_H
#define BB_WEBHOOKS_H

#include <stddef.h>
#include <stdint.h>

#include "service/app.h"
#include "util/err.h"

struct cJSON;

/* Subscribes to the bus and starts the reader and sender threads
 * (app->webhooks).  0, or -1. */
int svc_webhooks_start(bb_app *app);
/* Stops and joins them (after bus_close, before the database closes);
 * deliveries still waiting stay "pending" in the log.  NULL-safe. */
void svc_webhooks_stop(bb_app *app);

/* The signature header value for body under key: "sha256=" and 64 hex
 * digits of HMAC-SHA256 (libsodium) into out[80]. */
void svc_webhook_sign(const char *key, const char *body, size_t len, char out[80]);

/* Validates a submit request's `notify` member (NULL = absent) and gives
 * its JSON text to store with the job in *json (caller frees; NULL when
 * absent).  A field error names notify[i].url/events/secret. */
int svc_webhooks_parse_job_notify(const struct cJSON *notify, char **json, bb_errctx *e);

/* GET /jobs/:id/deliveries: {items: [{id, event, url, state, attempts,
 * lastStatus, lastError, createdAt, updatedAt}]} for a job who may see.
 * Caller frees *doc. */
int svc_webhook_deliveries(bb_app *app, const struct principal *who, int64_t job_id,
                           struct cJSON **doc, bb_errctx *e);

/* Counters for /metrics and stats. */
struct webhook_totals {
    uint64_t delivered, failed, dropped, retries, missed_events;
    size_t queued;
};
void svc_webhooks_totals(bb_app *app, struct webhook_totals *out);

#endif
