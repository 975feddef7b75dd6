/* test_event.c — unit tests for src/domain/event.c: event type names, the
 * exact Server-Sent Events framing of one event (multi-line data split
 * into several "data:" lines) and Last-Event-ID parsing. */
#define UNIT_MAIN
#include "unit.h"

#include <stdbool.h>
#include <stdint.h>

#include "domain/event.h"

/* Frames and compares with the exact expected text and length. */
static void expect_frame_(const char *file, int line, int64_t id, enum ev_type t,
                          const char *data, const char *want)
{
    size_t len = (size_t)-1;
    char *got = sse_frame(id, t, data, &len);
    if (!got) {
        unit_fail_(file, line, "sse_frame returned NULL");
        return;
    }
    if (len != strlen(want) || memcmp(got, want, len) != 0 || got[len] != '\0')
        unit_fail_(file, line, "frame \"%.300s\" (len %zu), want \"%.300s\" (len %zu)",
                   got, len, want, strlen(want));
    free(got);
}
#define EXPECT_FRAME(id, t, data, want) expect_frame_(__FILE__, __LINE__, id, t, data, want)

TEST(frame_is_exact)
{
    EXPECT_FRAME(1, EV_JOB_CREATED, "{\"jobId\":\"1\"}",
                 "id: 1\nevent: job_created\ndata: {\"jobId\":\"1\"}\n\n");
    EXPECT_FRAME(42, EV_JOB_STATE_CHANGED, "{}",
                 "id: 42\nevent: job_state_changed\ndata: {}\n\n");
    EXPECT_FRAME(7, EV_JOB_PROGRESS, "x", "id: 7\nevent: job_progress\ndata: x\n\n");
    EXPECT_FRAME(123456789012345LL, EV_JOB_LOG, "{\"line\":\"a b\"}",
                 "id: 123456789012345\nevent: job_log\ndata: {\"line\":\"a b\"}\n\n");
    EXPECT_FRAME(0, EV_JOB_CREATED, "", "id: 0\nevent: job_created\ndata: \n\n");
}

TEST(frame_splits_lf_into_data_lines)
{
    EXPECT_FRAME(3, EV_JOB_LOG, "a\nb", "id: 3\nevent: job_log\ndata: a\ndata: b\n\n");
    EXPECT_FRAME(3, EV_JOB_LOG, "one\ntwo\nthree",
                 "id: 3\nevent: job_log\ndata: one\ndata: two\ndata: three\n\n");
    /* an empty line in the middle stays an empty data line */
    EXPECT_FRAME(3, EV_JOB_LOG, "a\n\nb",
                 "id: 3\nevent: job_log\ndata: a\ndata: \ndata: b\n\n");
    EXPECT_FRAME(3, EV_JOB_LOG, "\nb", "id: 3\nevent: job_log\ndata: \ndata: b\n\n");
}

TEST(frame_splits_crlf_and_cr_into_data_lines)
{
    /* CRLF is one line break, not two */
    EXPECT_FRAME(9, EV_JOB_LOG, "a\r\nb", "id: 9\nevent: job_log\ndata: a\ndata: b\n\n");
    EXPECT_FRAME(9, EV_JOB_LOG, "a\rb", "id: 9\nevent: job_log\ndata: a\ndata: b\n\n");
    EXPECT_FRAME(9, EV_JOB_LOG, "a\r\n\r\nb",
                 "id: 9\nevent: job_log\ndata: a\ndata: \ndata: b\n\n");
    EXPECT_FRAME(9, EV_JOB_LOG, "a\n\rb",
                 "id: 9\nevent: job_log\ndata: a\ndata: \ndata: b\n\n");
}

TEST(frame_never_contains_a_bare_blank_line_before_the_end)
{
    /* A blank line ends an SSE event: whatever the data, the only "\n\n"
     * in the frame must be its terminator. */
    static const char *const datas[] = {"a\n\nb", "\n\n\n", "x\r\n\r\n\r\ny", "\r\r", "z"};
    for (size_t i = 0; i < sizeof datas / sizeof datas[0]; i++) {
        size_t len;
        char *f = sse_frame(5, EV_JOB_LOG, datas[i], &len);
        CHECK(f != NULL);
        char *blank = strstr(f, "\n\n");
        bool ok = blank == f + len - 2 && strchr(f, '\r') == NULL;
        free(f);
        if (!ok)
            FAIL("data #%zu: frame has an early blank line or a CR", i);
    }
}

TEST(frame_of_large_data)
{
    size_t n = 200000;
    char *data = malloc(n + 1);
    CHECK(data != NULL);
    memset(data, 'q', n);
    data[n] = '\0';
    size_t len;
    char *f = sse_frame(11, EV_JOB_PROGRESS, data, &len);
    free(data);
    CHECK(f != NULL);
    const char *head = "id: 11\nevent: job_progress\ndata: ";
    bool ok = len == strlen(head) + n + 2 && strncmp(f, head, strlen(head)) == 0 &&
              f[len - 2] == '\n' && f[len - 1] == '\n' && f[len - 3] == 'q';
    free(f);
    CHECK(ok);
}

TEST(event_type_names_round_trip)
{
    static const struct { enum ev_type t; const char *name; } all[] = {
        {EV_JOB_CREATED, "job_created"},
        {EV_JOB_STATE_CHANGED, "job_state_changed"},
        {EV_JOB_PROGRESS, "job_progress"},
        {EV_JOB_LOG, "job_log"},
    };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        CHECK_STR_EQ(ev_type_name(all[i].t), all[i].name);
        enum ev_type t = (enum ev_type)99;
        CHECK_EQ_INT(ev_type_parse(all[i].name, &t), 0);
        CHECK_EQ_INT(t, all[i].t);
    }
    enum ev_type t = EV_JOB_LOG;
    CHECK_EQ_INT(ev_type_parse("job_deleted", &t), -1);
    CHECK_EQ_INT(ev_type_parse("", &t), -1);
    CHECK_EQ_INT(ev_type_parse("JOB_LOG", &t), -1);
    CHECK_EQ_INT(ev_type_parse(NULL, &t), -1);
    CHECK_EQ_INT(t, EV_JOB_LOG);
    CHECK_STR_EQ(ev_type_name((enum ev_type)4), "unknown");
}

/* ---- Last-Event-ID ----------------------------------------------------- */

static void expect_id_(const char *file, int line, const char *s, int64_t want)
{
    int64_t got = -12345;
    if (sse_parse_last_event_id(s, &got) != 0)
        unit_fail_(file, line, "rejected \"%s\"", s);
    else if (got != want)
        unit_fail_(file, line, "\"%s\" parsed as %lld, want %lld", s, (long long)got,
                   (long long)want);
}
#define EXPECT_ID(s, want) expect_id_(__FILE__, __LINE__, s, want)

static void expect_bad_(const char *file, int line, const char *s)
{
    int64_t got = -12345;
    if (sse_parse_last_event_id(s, &got) != -1)
        unit_fail_(file, line, "accepted \"%s\" as %lld", s ? s : "(null)",
                   (long long)got);
}
#define EXPECT_BAD(s) expect_bad_(__FILE__, __LINE__, s)

TEST(last_event_id_accepts)
{
    EXPECT_ID("0", 0);
    EXPECT_ID("42", 42);
    EXPECT_ID(" 7 ", 7);
    EXPECT_ID("   7", 7);
    EXPECT_ID("7   ", 7);
    EXPECT_ID("007", 7);
    EXPECT_ID("999999999999999999", 999999999999999999LL);   /* 18 digits */
    EXPECT_ID("123456789012345678", 123456789012345678LL);
}

TEST(last_event_id_rejects)
{
    EXPECT_BAD("");
    EXPECT_BAD(" ");
    EXPECT_BAD("-1");
    EXPECT_BAD("-0");
    EXPECT_BAD("+1");
    EXPECT_BAD("abc");
    EXPECT_BAD("1x");
    EXPECT_BAD("x1");
    EXPECT_BAD("1 2");
    EXPECT_BAD("1.5");
    EXPECT_BAD("0x10");
    EXPECT_BAD("1234567890123456789");              /* 19 digits */
    EXPECT_BAD("9223372036854775807");              /* INT64_MAX: 19 digits */
    EXPECT_BAD("99999999999999999999999999999999"); /* 32 digits */
    EXPECT_BAD(" 12345678901234567890123 ");
    EXPECT_BAD(NULL);
}
