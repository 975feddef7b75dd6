/* repo_webhook.h — SQL for webhook deliveries (docs/integrations.md,
 * "Webhooks"): one row per event sent to one target, with its tries, and
 * the per-job targets (jobs.notify). */
#ifndef BB_REPO_WEBHOOK_H
#define BB_REPO_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "infra/db/db.h"

/* One delivery.  Strings owned (delivery_rec_clear). */
typedef struct delivery_rec {
    int64_t id, job_id, event_id;
    char *event;            /* "job.succeeded" ... */
    char *url;
    char *state;            /* "pending" | "delivered" | "failed" | "dropped" */
    int attempts;
    int last_status;        /* HTTP status of the last try; 0 = no answer */
    char *last_error;       /* NULL = none */
    int64_t created_at, updated_at;
} delivery_rec;

void delivery_rec_clear(delivery_rec *d);

/* Inserts a delivery (state "pending" or "dropped", error may be NULL);
 * *id is its id.  BB_ENOTFOUND when the job is gone. */
int repo_delivery_insert(db *d, int64_t job_id, int64_t event_id, const char *event,
                         const char *url, const char *state, const char *error, int64_t *id);
/* Records a try: state, attempts, the status (0 = none) and error. */
int repo_delivery_update(db *d, int64_t id, const char *state, int attempts, int status,
                         const char *error);
/* The deliveries of a job, newest first, at most max (caller clears each
 * and frees the array). */
int repo_delivery_list(db *d, int64_t job_id, size_t max, delivery_rec **out, size_t *n);

/* The notify targets a job was submitted with (JSON text; caller frees),
 * NULL when none.  BB_OK, BB_ENOTFOUND or an error. */
int repo_job_notify_get(db *d, int64_t job_id, char **json);
/* Stores them on connection c inside a running write operation (the
 * submit's own transaction, so no event of the job goes out before its
 * targets are known). */
int repo_job_notify_store(db_conn *c, int64_t job_id, const char *json);
/* Sets them (json NULL clears). */
int repo_job_notify_set(db *d, int64_t job_id, const char *json);

#endif
