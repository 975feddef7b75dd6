/* test_sse_parse.c — unit tests for src/infra/net/sse_parse.c: WHATWG
 * event-stream framing under arbitrary chunking, comments, multi-line data,
 * incomplete events at end of stream, ids, retry, BOM and the caps. */
#define UNIT_MAIN
#include "unit.h"

#include "infra/net/sse_parse.h"

/* Collects events as "type|id|data" records separated by "\n--\n". */
struct collect {
    char out[8192];
    size_t len;
    int n;
    int stop_after; /* >0: callback returns 7 once n reaches it */
};

static int on_event(const struct sse_event *ev, void *user)
{
    struct collect *c = user;
    int w = snprintf(c->out + c->len, sizeof c->out - c->len, "%s%s|%s|%.*s",
                     c->n ? "\n--\n" : "", ev->type, ev->id,
                     (int)ev->data_len, ev->data);
    if (w > 0 && (size_t)w < sizeof c->out - c->len)
        c->len += (size_t)w;
    c->n++;
    if (c->stop_after > 0 && c->n >= c->stop_after)
        return 7;
    return 0;
}

/* Parses s fed in pieces of `step` bytes (0 = all at once), then ends the
 * stream; stores the collected events in c. */
static int parse_in_steps(const char *s, size_t step, struct collect *c,
                          size_t max_line, size_t max_data,
                          struct sse_parser *keep)
{
    struct sse_parser local, *p = keep ? keep : &local;
    size_t len = strlen(s), off = 0;
    int rc = 0;

    memset(c, 0, sizeof *c);
    if (!keep)
        sse_parser_init(p, max_line, max_data, c);
    p->user = c;
    while (off < len && rc == 0) {
        size_t n = step == 0 || step > len - off ? len - off : step;
        rc = sse_parser_feed(p, s + off, n, on_event);
        off += n;
    }
    sse_parser_finish(p);
    if (!keep)
        sse_parser_free(p);
    return rc;
}

static const char *stream_lf =
    "retry: 2000\n\n"
    "id: 1\nevent: job_created\ndata: {\"jobId\":\"1\"}\n\n"
    ": hb\n\n"
    "id: 2\nevent: job_state_changed\ndata: {\"state\":\"running\"}\n\n";
static const char *expect_lf =
    "job_created|1|{\"jobId\":\"1\"}\n--\n"
    "job_state_changed|2|{\"state\":\"running\"}";

TEST(basic_events)
{
    struct collect c;
    struct sse_parser p;

    sse_parser_init(&p, 0, 0, NULL);
    CHECK_EQ_INT(parse_in_steps(stream_lf, 0, &c, 0, 0, &p), 0);
    CHECK_EQ_INT(c.n, 2);
    CHECK_STR_EQ(c.out, expect_lf);
    CHECK_EQ_INT(p.retry_ms, 2000);
    CHECK_EQ_INT(p.comments, 1);
    CHECK_EQ_INT(p.events, 2);
    CHECK_STR_EQ(sse_parser_last_id(&p), "2");
    sse_parser_free(&p);
}

TEST(every_chunk_size_gives_same_events)
{
    struct collect c;
    size_t len = strlen(stream_lf);

    for (size_t step = 1; step <= len; step++) {
        CHECK_EQ_INT(parse_in_steps(stream_lf, step, &c, 0, 0, NULL), 0);
        if (strcmp(c.out, expect_lf) != 0)
            FAIL("step %zu: got \"%s\"", step, c.out);
    }
}

TEST(crlf_and_cr_line_endings_split_anywhere)
{
    static const char *crlf =
        "id: 1\r\nevent: job_created\r\ndata: a\r\ndata: b\r\n\r\n"
        "id: 2\r\ndata: c\r\n\r\n";
    static const char *cr = "id: 1\revent: job_created\rdata: a\rdata: b\r\r"
                            "id: 2\rdata: c\r\r";
    static const char *want = "job_created|1|a\nb\n--\nmessage|2|c";
    struct collect c;

    for (size_t step = 0; step <= strlen(crlf); step++) {
        CHECK_EQ_INT(parse_in_steps(crlf, step, &c, 0, 0, NULL), 0);
        if (strcmp(c.out, want) != 0)
            FAIL("crlf step %zu: got \"%s\"", step, c.out);
    }
    for (size_t step = 0; step <= strlen(cr); step++) {
        CHECK_EQ_INT(parse_in_steps(cr, step, &c, 0, 0, NULL), 0);
        if (strcmp(c.out, want) != 0)
            FAIL("cr step %zu: got \"%s\"", step, c.out);
    }
}

TEST(cr_then_lf_in_next_chunk_is_one_line_end)
{
    struct sse_parser p;
    struct collect c;

    memset(&c, 0, sizeof c);
    sse_parser_init(&p, 0, 0, &c);
    /* If the LF opening the second chunk were taken as a blank line, "x"
     * would be dispatched alone. */
    CHECK_EQ_INT(sse_parser_feed(&p, "data: x\r", 8, on_event), 0);
    CHECK_EQ_INT(c.n, 0);
    CHECK_EQ_INT(sse_parser_feed(&p, "\ndata: y\r", 9, on_event), 0);
    CHECK_EQ_INT(c.n, 0);
    CHECK_EQ_INT(sse_parser_feed(&p, "\n", 1, on_event), 0);
    CHECK_EQ_INT(c.n, 0);
    CHECK_EQ_INT(sse_parser_feed(&p, "\r\n", 2, on_event), 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_STR_EQ(c.out, "message||x\ny");
    sse_parser_free(&p);
}

TEST(multi_line_data_and_field_forms)
{
    struct collect c;

    /* "data" without colon adds an empty line; only one space is
     * stripped; "data:b" has no space to strip. */
    CHECK_EQ_INT(parse_in_steps("data: a\ndata:b\ndata\ndata:  c\n\n", 0, &c,
                                0, 0, NULL),
                 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_STR_EQ(c.out, "message||a\nb\n\n c");
    /* A lone "data:" gives an event with empty data. */
    CHECK_EQ_INT(parse_in_steps("data:\n\n", 0, &c, 0, 0, NULL), 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_STR_EQ(c.out, "message||");
    /* Unknown fields are ignored; the value may contain colons. */
    CHECK_EQ_INT(parse_in_steps("foo: bar\ndata: a:b: c\n\n", 0, &c, 0, 0,
                                NULL),
                 0);
    CHECK_STR_EQ(c.out, "message||a:b: c");
}

TEST(comments_are_ignored_even_inside_an_event)
{
    struct sse_parser p;
    struct collect c;

    sse_parser_init(&p, 0, 0, NULL);
    CHECK_EQ_INT(parse_in_steps(": hb\n\n:\n\ndata: a\n: mid\ndata: b\n\n", 3,
                                &c, 0, 0, &p),
                 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_STR_EQ(c.out, "message||a\nb");
    CHECK_EQ_INT(p.comments, 3);
    sse_parser_free(&p);
}

TEST(event_without_data_is_not_dispatched_and_resets_type)
{
    struct collect c;

    CHECK_EQ_INT(parse_in_steps("event: job_log\n\ndata: x\n\n", 0, &c, 0, 0,
                                NULL),
                 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_STR_EQ(c.out, "message||x");
}

TEST(missing_trailing_blank_line_discards_incomplete_event)
{
    struct sse_parser p;
    struct collect c;

    sse_parser_init(&p, 0, 0, NULL);
    CHECK_EQ_INT(parse_in_steps("id: 3\ndata: done\n\nid: 4\ndata: half\n", 0,
                                &c, 0, 0, &p),
                 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_STR_EQ(c.out, "message|3|done");
    /* The incomplete event's id was never committed: a reconnect resumes
     * after 3 and gets event 4 again. */
    CHECK_STR_EQ(sse_parser_last_id(&p), "3");

    /* Unterminated last line, too. */
    CHECK_EQ_INT(parse_in_steps("data: x\n\ndata: y", 0, &c, 0, 0, &p), 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_STR_EQ(c.out, "message|3|x");

    /* The next stream starts clean: no leftover data or type. */
    CHECK_EQ_INT(parse_in_steps("event: e\ndata: a", 0, &c, 0, 0, &p), 0);
    CHECK_EQ_INT(c.n, 0);
    CHECK_EQ_INT(parse_in_steps("data: b\n\n", 0, &c, 0, 0, &p), 0);
    CHECK_STR_EQ(c.out, "message|3|b");
    sse_parser_free(&p);
}

TEST(id_persists_and_nul_id_is_ignored)
{
    struct sse_parser p;
    struct collect c;
    static const char s[] = "id: 9\ndata: a\n\ndata: b\n\nid: x\0y\ndata: c\n\n"
                            "id\ndata: d\n\n";

    memset(&c, 0, sizeof c);
    sse_parser_init(&p, 0, 0, &c);
    CHECK_EQ_INT(sse_parser_feed(&p, s, sizeof s - 1, on_event), 0);
    CHECK_EQ_INT(c.n, 4);
    CHECK_STR_EQ(c.out, "message|9|a\n--\nmessage|9|b\n--\nmessage|9|c\n--\n"
                        "message||d");
    sse_parser_free(&p);
}

TEST(retry_needs_digits_only)
{
    struct sse_parser p;
    struct collect c;

    sse_parser_init(&p, 0, 0, NULL);
    CHECK_EQ_INT(parse_in_steps("retry: 1500\n\nretry: 12a\n\nretry:\n\n", 0,
                                &c, 0, 0, &p),
                 0);
    CHECK_EQ_INT(p.retry_ms, 1500);
    CHECK_EQ_INT(c.n, 0);
    sse_parser_free(&p);
}

TEST(leading_bom_is_skipped_even_when_split)
{
    static const char *s = "\xEF\xBB\xBF"
                           "data: a\n\n";
    struct collect c;

    for (size_t step = 0; step <= 4; step++) {
        CHECK_EQ_INT(parse_in_steps(s, step, &c, 0, 0, NULL), 0);
        if (strcmp(c.out, "message||a") != 0)
            FAIL("step %zu: got \"%s\"", step, c.out);
    }
    /* Only at the very start: a later BOM is content. */
    CHECK_EQ_INT(parse_in_steps("data: \xEF\xBB\xBFx\n\n", 0, &c, 0, 0, NULL),
                 0);
    CHECK_STR_EQ(c.out, "message||\xEF\xBB\xBFx");
}

TEST(line_cap_drops_the_event_and_recovers)
{
    struct sse_parser p;
    struct collect c;
    char s[512];

    /* max_line 32: a 60-byte data line is too long. */
    snprintf(s, sizeof s,
             "id: 1\ndata: ok\n\n"
             "id: 2\ndata: %s\ndata: tail\n\n"
             ": %s\n"
             "id: 3\ndata: fine\n\n",
             "0123456789012345678901234567890123456789012345678901234",
             "a comment that is far longer than thirty-two bytes");
    for (size_t step = 0; step <= 7; step++) {
        sse_parser_init(&p, 32, 0, NULL);
        CHECK_EQ_INT(parse_in_steps(s, step, &c, 0, 0, &p), 0);
        if (strcmp(c.out, "message|1|ok\n--\nmessage|3|fine") != 0)
            FAIL("step %zu: got \"%s\"", step, c.out);
        CHECK_EQ_INT(p.dropped_lines, 2);
        CHECK_EQ_INT(p.dropped_events, 1);
        /* The dropped event's id still counts as seen. */
        CHECK_STR_EQ(sse_parser_last_id(&p), "3");
        sse_parser_free(&p);
    }
}

TEST(line_exactly_at_cap_is_kept)
{
    struct sse_parser p;
    struct collect c;

    sse_parser_init(&p, 10, 0, NULL);
    /* "data: abcd" is exactly 10 bytes. */
    CHECK_EQ_INT(parse_in_steps("data: abcd\n\ndata: abcde\n\n", 1, &c, 0, 0,
                                &p),
                 0);
    CHECK_EQ_INT(c.n, 1);
    CHECK_STR_EQ(c.out, "message||abcd");
    CHECK_EQ_INT(p.dropped_lines, 1);
    sse_parser_free(&p);
}

TEST(data_cap_drops_the_event)
{
    struct sse_parser p;
    struct collect c;

    sse_parser_init(&p, 0, 8, NULL);
    /* "abc\ndef" is 7 bytes: fits; "abc\ndef\nghi" is 11: does not. */
    CHECK_EQ_INT(parse_in_steps("data: abc\ndata: def\n\n"
                                "data: abc\ndata: def\ndata: ghi\n\n"
                                "data: z\n\n",
                                0, &c, 0, 0, &p),
                 0);
    CHECK_STR_EQ(c.out, "message||abc\ndef\n--\nmessage||z");
    CHECK_EQ_INT(p.dropped_events, 1);
    sse_parser_free(&p);
}

TEST(callback_can_stop_parsing)
{
    struct sse_parser p;
    struct collect c;

    memset(&c, 0, sizeof c);
    c.stop_after = 1;
    sse_parser_init(&p, 0, 0, &c);
    CHECK_EQ_INT(sse_parser_feed(&p, "data: a\n\ndata: b\n\n", 18, on_event),
                 7);
    CHECK_EQ_INT(c.n, 1);
    CHECK_STR_EQ(c.out, "message||a");
    sse_parser_free(&p);
}
