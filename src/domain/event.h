/* event.h — job events and their Server-Sent Events framing (WHATWG).
 * Pure functions. */
#ifndef BB_EVENT_H
#define BB_EVENT_H

#include <stddef.h>
#include <stdint.h>

enum ev_type { EV_JOB_CREATED, EV_JOB_STATE_CHANGED, EV_JOB_PROGRESS, EV_JOB_LOG };

const char *ev_type_name(enum ev_type t);
int ev_type_parse(const char *name, enum ev_type *out);

/* Formats one SSE event: "id: ID\nevent: NAME\ndata: DATA\n\n".  DATA must
 * be one line (compact JSON); any CR/LF in it is split into several
 * "data:" lines as the spec requires.  Returns a malloc'd string (caller
 * frees) and its length in *len; NULL on OOM. */
char *sse_frame(int64_t id, enum ev_type type, const char *data, size_t *len);

/* Parses a Last-Event-ID value: a decimal id >= 0 of at most 18 digits,
 * surrounding spaces ignored.  0 and *out on success, -1 otherwise. */
int sse_parse_last_event_id(const char *s, int64_t *out);

#endif
