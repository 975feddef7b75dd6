/* notify.h — webhook targets (docs/integrations.md, "Webhooks"): the
 * `notify` list of a preset or of a submitted job, [{url, events,
 * secret?}], its validation and the event names it may subscribe to.
 * Pure: no I/O.  The dispatcher lives in service/webhooks.c. */
#ifndef BB_NOTIFY_H
#define BB_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>

struct cJSON;

/* Events a target may ask for, as bits (names: notify_event_name). */
enum {
    NOTIFY_CREATED = 1u << 0,     /* "job.created" */
    NOTIFY_RUNNING = 1u << 1,     /* "job.running": an attempt started */
    NOTIFY_SUCCEEDED = 1u << 2,   /* "job.succeeded" */
    NOTIFY_FAILED = 1u << 3,      /* "job.failed" */
    NOTIFY_CANCELED = 1u << 4,    /* "job.canceled" */
};
#define NOTIFY_FINISHED (NOTIFY_SUCCEEDED | NOTIFY_FAILED | NOTIFY_CANCELED)
#define NOTIFY_NEVENTS 5

/* One target.  Strings owned by the record (notify_free). */
typedef struct bb_notify {
    char *url;          /* http:// or https://, at most 2048 bytes */
    unsigned events;    /* NOTIFY_* bits, at least one */
    char *secret;       /* HMAC-SHA256 key; NULL = deliveries are unsigned */
} bb_notify;

/* "job.created" ... for bit i (0..NOTIFY_NEVENTS-1); NULL past the end.
 * Static. */
const char *notify_event_name(size_t i);
/* The bit of a job state reached ("running", "succeeded", ...) or of
 * "created"; 0 for any other. */
unsigned notify_event_of_state(const char *state);

/* Parses arr, a JSON array of targets at most max long, into *out (caller
 * frees with notify_free_list) and *n.  On an error returns -1 with
 * *field set to the offending member ("notify[1].url": written into
 * field[fcap]) and the message in msg[mcap]; *out NULL. */
int notify_parse(const struct cJSON *arr, const char *path, size_t max, bb_notify **out,
                 size_t *n, char *field, size_t fcap, char *msg, size_t mcap);
/* Frees n targets and the array; NULL is fine. */
void notify_free_list(bb_notify *v, size_t n);
/* The targets as a JSON array (secrets left out unless with_secret).
 * Caller frees; NULL on OOM. */
struct cJSON *notify_to_json(const bb_notify *v, size_t n, bool with_secret);

#endif
