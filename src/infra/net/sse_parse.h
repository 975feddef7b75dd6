/* sse_parse.h — incremental parser for a text/event-stream body, following
 * the WHATWG HTML "server-sent events" interpretation rules: lines end in
 * CRLF, LF or CR; a leading UTF-8 BOM is skipped; lines starting with ':'
 * are comments; "field: value" (one space after the colon is dropped) with
 * the fields event, data (repeatable, joined with "\n"), id and retry; a
 * blank line dispatches the event.  Bytes may arrive in chunks split
 * anywhere (inside a line, between CR and LF, inside the BOM).
 *
 * Used by the CLI's `watch` and `submit --wait`; kept free of libcurl and
 * I/O so it can be unit-tested and fuzzed on its own.
 *
 * Limits: a line longer than max_line bytes is discarded (and counted in
 * dropped_lines); if it was not a comment, the event being built is marked
 * broken.  An event whose data would exceed max_data is marked broken too.
 * A broken event is not delivered at its blank line (dropped_events counts
 * it); its id field, if parsed, still becomes the last event id. */
#ifndef BB_SSE_PARSE_H
#define BB_SSE_PARSE_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"

/* One dispatched event.  All pointers are borrowed from the parser and
 * valid only during the callback. */
struct sse_event {
    const char *type;   /* the event field, or "message" when none was sent */
    const char *data;   /* data lines joined with "\n" (no trailing "\n") */
    size_t data_len;
    const char *id;     /* last event id after this event ("" if never set) */
};

/* Called once per dispatched event with the user pointer given to
 * sse_parser_init().  Return 0 to go on; any other value stops
 * sse_parser_feed(), which then returns that value. */
typedef int (*sse_event_fn)(const struct sse_event *ev, void *user);

struct sse_parser {
    /* Configuration (set by sse_parser_init). */
    size_t max_line;            /* longest line kept, terminator excluded */
    size_t max_data;            /* largest data of one event */
    void *user;
    /* Counters, readable by the caller. */
    unsigned long events;       /* events delivered */
    unsigned long comments;     /* comment lines seen (e.g. heartbeats) */
    unsigned long dropped_lines;
    unsigned long dropped_events;
    long retry_ms;              /* last valid retry field, -1 if none */
    /* Private state. */
    buf line;                   /* the line being assembled */
    bool line_overflow;         /* line exceeded max_line; rest skipped */
    bool skip_lf;               /* previous chunk ended in CR */
    unsigned bom_seen;          /* BOM bytes matched at stream start */
    bool stream_started;        /* past the BOM check */
    buf data;                   /* data buffer of the event being built */
    bool have_data;             /* at least one data field seen */
    buf type;                   /* event type buffer */
    buf id_pending;             /* last event ID buffer */
    buf last_id;                /* committed last event id */
    bool broken;                /* event being built lost a line */
};

/* Prepares p.  max_line/max_data of 0 select 64 KiB / 1 MiB.  user is
 * passed to every callback.  Free with sse_parser_free(). */
void sse_parser_init(struct sse_parser *p, size_t max_line, size_t max_data,
                     void *user);
/* Releases p's buffers; p may be re-initialised afterwards. */
void sse_parser_free(struct sse_parser *p);

/* Feeds len bytes of the stream; calls cb for each complete event.
 * Returns 0 when all bytes were consumed, the callback's non-zero value
 * when it asked to stop (the rest of the chunk is not parsed), or -1 when
 * memory ran out (the parser is then unusable until sse_parser_finish). */
int sse_parser_feed(struct sse_parser *p, const char *bytes, size_t len,
                    sse_event_fn cb);

/* Ends the current stream: an unterminated last line and an event without
 * its closing blank line are discarded (WHATWG: incomplete events are not
 * dispatched).  The committed last id is kept, so the parser is ready for
 * the next connection of the same event source. */
void sse_parser_finish(struct sse_parser *p);

/* The committed last event id ("" when none), to send as Last-Event-ID on
 * reconnect.  Borrowed; valid until the next feed/finish/free. */
const char *sse_parser_last_id(const struct sse_parser *p);

#endif
