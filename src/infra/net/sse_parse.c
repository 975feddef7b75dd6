/* sse_parse.c — incremental text/event-stream parser (see sse_parse.h for
 * the rules it follows and its limits). */
#include "infra/net/sse_parse.h"

#include <string.h>

#define DEFAULT_MAX_LINE (64u * 1024u)
#define DEFAULT_MAX_DATA (1024u * 1024u)

static const unsigned char utf8_bom[3] = {0xEF, 0xBB, 0xBF};

void sse_parser_init(struct sse_parser *p, size_t max_line, size_t max_data,
                     void *user)
{
    memset(p, 0, sizeof *p);
    p->max_line = max_line ? max_line : DEFAULT_MAX_LINE;
    p->max_data = max_data ? max_data : DEFAULT_MAX_DATA;
    p->user = user;
    p->retry_ms = -1;
    buf_init(&p->line, p->max_line);
    /* +1: the data buffer holds a "\n" after each data line. */
    buf_init(&p->data, p->max_data + 1);
    buf_init(&p->type, p->max_line);
    buf_init(&p->id_pending, p->max_line);
    buf_init(&p->last_id, p->max_line);
}

void sse_parser_free(struct sse_parser *p)
{
    buf_free(&p->line);
    buf_free(&p->data);
    buf_free(&p->type);
    buf_free(&p->id_pending);
    buf_free(&p->last_id);
}

/* Replaces dst's content with len bytes of src; 0 or -1 (no memory). */
static int buf_set(buf *dst, const char *src, size_t len)
{
    buf_reset(dst);
    return buf_append(dst, src, len);
}

/* Adds bytes to the current line, keeping at most max_line of them. */
static int line_append(struct sse_parser *p, const char *s, size_t n)
{
    if (p->line_overflow || n == 0)
        return 0;
    size_t room = p->max_line - p->line.len;
    if (n > room) {
        p->line_overflow = true;
        n = room; /* keep the prefix: it tells a comment from a field */
    }
    return buf_append(&p->line, s, n);
}

static void reset_event(struct sse_parser *p)
{
    buf_reset(&p->data);
    buf_reset(&p->type);
    p->broken = false;
}

/* A blank line: commit the id and deliver the event, if any. */
static int dispatch(struct sse_parser *p, sse_event_fn cb)
{
    if (buf_set(&p->last_id, p->id_pending.data ? p->id_pending.data : "",
                p->id_pending.len) != 0)
        return -1;
    if (p->broken) {
        p->dropped_events++;
        reset_event(p);
        return 0;
    }
    if (p->data.len == 0) {
        reset_event(p);
        return 0;
    }
    p->data.len--; /* the "\n" after the last data line */
    p->data.data[p->data.len] = '\0';

    struct sse_event ev = {
        .type = p->type.len ? p->type.data : "message",
        .data = p->data.data,
        .data_len = p->data.len,
        .id = p->last_id.data ? p->last_id.data : "",
    };
    p->events++;
    int rc = cb ? cb(&ev, p->user) : 0;
    reset_event(p);
    return rc;
}

static bool field_is(const char *f, size_t flen, const char *name)
{
    return strlen(name) == flen && memcmp(f, name, flen) == 0;
}

/* Interprets one complete line (terminator already removed). */
static int process_line(struct sse_parser *p, sse_event_fn cb)
{
    const char *line = p->line.data ? p->line.data : "";
    size_t len = p->line.len;

    if (p->line_overflow) {
        p->dropped_lines++;
        if (!(len > 0 && line[0] == ':'))
            p->broken = true;
        return 0;
    }
    if (len == 0)
        return dispatch(p, cb);
    if (line[0] == ':') {
        p->comments++;
        return 0;
    }

    const char *colon = memchr(line, ':', len);
    size_t flen = colon ? (size_t)(colon - line) : len;
    const char *value = colon ? colon + 1 : line + len;
    size_t vlen = (size_t)(line + len - value);
    if (vlen > 0 && value[0] == ' ') {
        value++;
        vlen--;
    }

    if (field_is(line, flen, "event")) {
        return buf_set(&p->type, value, vlen);
    } else if (field_is(line, flen, "data")) {
        if (p->broken)
            return 0;
        if (vlen + 1 > p->data.cap - p->data.len) {
            p->broken = true;
            return 0;
        }
        if (buf_append(&p->data, value, vlen) != 0 ||
            buf_append(&p->data, "\n", 1) != 0)
            return -1;
    } else if (field_is(line, flen, "id")) {
        if (memchr(value, '\0', vlen) == NULL)
            return buf_set(&p->id_pending, value, vlen);
    } else if (field_is(line, flen, "retry")) {
        long ms = 0;
        size_t k;
        for (k = 0; k < vlen && value[k] >= '0' && value[k] <= '9'; k++)
            if (k < 10) /* more digits than any sane delay: clamp */
                ms = ms * 10 + (value[k] - '0');
        if (vlen > 0 && k == vlen)
            p->retry_ms = ms;
    }
    /* Any other field name is ignored. */
    return 0;
}

int sse_parser_feed(struct sse_parser *p, const char *bytes, size_t len,
                    sse_event_fn cb)
{
    size_t i = 0;

    /* A UTF-8 BOM may open the stream, possibly split across chunks. */
    while (!p->stream_started && i < len) {
        if ((unsigned char)bytes[i] == utf8_bom[p->bom_seen]) {
            i++;
            if (++p->bom_seen == sizeof utf8_bom)
                p->stream_started = true;
        } else {
            p->stream_started = true;
            /* Not a BOM after all: the matched bytes were content. */
            if (line_append(p, (const char *)utf8_bom, p->bom_seen) != 0)
                return -1;
        }
    }

    while (i < len) {
        if (p->skip_lf) {
            p->skip_lf = false;
            if (bytes[i] == '\n') {
                i++;
                continue;
            }
        }
        size_t j = i;
        while (j < len && bytes[j] != '\r' && bytes[j] != '\n')
            j++;
        if (line_append(p, bytes + i, j - i) != 0)
            return -1;
        if (j == len)
            break; /* the line continues in the next chunk */
        if (bytes[j] == '\r') {
            if (j + 1 < len) {
                if (bytes[j + 1] == '\n')
                    j++;
            } else {
                p->skip_lf = true; /* a LF may open the next chunk */
            }
        }
        i = j + 1;

        int rc = process_line(p, cb);
        buf_reset(&p->line);
        p->line_overflow = false;
        if (rc != 0)
            return rc;
    }
    return 0;
}

void sse_parser_finish(struct sse_parser *p)
{
    buf_reset(&p->line);
    p->line_overflow = false;
    p->skip_lf = false;
    p->bom_seen = 0;
    p->stream_started = false;
    reset_event(p);
    /* The next stream starts from the committed id; if this copy fails
     * (no memory), the pending id is simply empty. */
    if (buf_set(&p->id_pending, p->last_id.data ? p->last_id.data : "",
                p->last_id.len) != 0)
        buf_reset(&p->id_pending);
}

const char *sse_parser_last_id(const struct sse_parser *p)
{
    return p->last_id.data ? p->last_id.data : "";
}
