/* test_job.c — unit tests for src/domain/job.c: the full 5x5 state
 * transition table (docs/api.md, "The job DTO"), state sets, state names, the job DTO of the HTTP
 * contract (every key present, null for absent values, ids as strings,
 * ISO-8601 times, clamped progress, params as an object) and the retry
 * backoff (exponential growth, jitter bounds, 5-minute cap). */
#define UNIT_MAIN
#include "unit.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>

#include "cJSON.h"
#include "domain/job.h"

#define NSTATES 7
#define FIVE_MIN_MS (5 * 60 * 1000)

static const enum job_state all_states[NSTATES] = {
    JOB_QUEUED, JOB_RUNNING, JOB_SUCCEEDED, JOB_FAILED, JOB_CANCELED, JOB_SCHEDULED,
    JOB_WAITING,
};

/* Every key of the job DTO in the contract, in contract order. */
static const char *const dto_keys[] = {
    "jobId", "state", "md", "preset", "withTts", "upload", "voiceAccent",
    "voiceId", "forceTts", "notionDatabase", "mode", "priority", "params", "progress",
    "attempts", "maxAttempts", "parentJobId", "kind", "batchId", "batch", "sweep",
    "manifestPath", "notionUrl",
    "pageUrl", "error", "waitingFor", "runAt", "scheduleId", "dependsOn", "runWhen", "needs",
    "resources", "ownerId", "createdAt", "updatedAt", "startedAt", "finishedAt",
};
#define NKEYS (sizeof dto_keys / sizeof dto_keys[0])

/* ---- state machine -------------------------------------------------- */

TEST(transition_table_is_exactly_spec)
{
    /* allowed[from][to], as job.h writes the lifecycle */
    static const bool allowed[NSTATES][NSTATES] = {
        /*               queued running succeeded failed canceled scheduled waiting */
        [JOB_QUEUED] = {false, true, false, false, true, false, false},
        [JOB_RUNNING] = {true, false, true, true, true, false, false},
        [JOB_SUCCEEDED] = {false, false, false, false, false, false, false},
        [JOB_FAILED] = {true, false, false, false, false, false, false},
        [JOB_CANCELED] = {true, false, false, false, false, false, false},
        [JOB_SCHEDULED] = {true, false, false, false, true, false, false},
        [JOB_WAITING] = {true, false, false, false, true, true, false},
    };
    int checked = 0;
    for (int f = 0; f < NSTATES; f++) {
        for (int t = 0; t < NSTATES; t++) {
            bool got = job_transition_ok(all_states[f], all_states[t]);
            if (got != allowed[f][t])
                FAIL("%s -> %s: got %s, want %s", job_state_name(all_states[f]),
                     job_state_name(all_states[t]), got ? "allowed" : "forbidden",
                     allowed[f][t] ? "allowed" : "forbidden");
            checked++;
        }
    }
    CHECK_EQ_INT(checked, 49);
}

TEST(no_state_transitions_to_itself)
{
    for (int i = 0; i < NSTATES; i++)
        CHECK(!job_transition_ok(all_states[i], all_states[i]));
}

TEST(terminal_states)
{
    CHECK(!job_state_terminal(JOB_QUEUED));
    CHECK(!job_state_terminal(JOB_RUNNING));
    CHECK(job_state_terminal(JOB_SUCCEEDED));
    CHECK(job_state_terminal(JOB_FAILED));
    CHECK(job_state_terminal(JOB_CANCELED));
    CHECK(!job_state_terminal(JOB_SCHEDULED));
    CHECK(!job_state_terminal(JOB_WAITING));
}

TEST(state_names_round_trip)
{
    static const char *const names[NSTATES] = {"queued", "running", "succeeded",
                                               "failed", "canceled", "scheduled", "waiting"};
    for (int i = 0; i < NSTATES; i++) {
        CHECK_STR_EQ(job_state_name(all_states[i]), names[i]);
        enum job_state s = (enum job_state)-1;
        CHECK_EQ_INT(job_state_parse(names[i], &s), 0);
        CHECK_EQ_INT(s, all_states[i]);
        CHECK_EQ_INT(job_state_parse(job_state_name(all_states[i]), &s), 0);
        CHECK_EQ_INT(s, all_states[i]);
    }
}

TEST(state_parse_rejects_unknown_names)
{
    static const char *const bad[] = {"", "QUEUED", "Queued", "queued ", " queued",
                                      "queue", "queuedx", "done", "cancelled",
                                      "unknown", "running\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        enum job_state s = JOB_FAILED;
        if (job_state_parse(bad[i], &s) != -1)
            FAIL("accepted \"%s\"", bad[i]);
        CHECK_EQ_INT(s, JOB_FAILED);        /* untouched on failure */
    }
    enum job_state s = JOB_FAILED;
    CHECK_EQ_INT(job_state_parse(NULL, &s), -1);
}

TEST(state_name_of_out_of_range_value)
{
    CHECK_STR_EQ(job_state_name((enum job_state)7), "unknown");
    CHECK_STR_EQ(job_state_name((enum job_state)-1), "unknown");
}

/* ---- state sets -------------------------------------------------------- */

TEST(state_set_membership)
{
    job_state_set set = JOB_STATE_BIT(JOB_FAILED) | JOB_STATE_BIT(JOB_CANCELED);
    CHECK(job_state_in(set, JOB_FAILED));
    CHECK(job_state_in(set, JOB_CANCELED));
    CHECK(!job_state_in(set, JOB_QUEUED));
    CHECK(!job_state_in(set, JOB_RUNNING));
    CHECK(!job_state_in(set, JOB_SUCCEEDED));
    CHECK(!job_state_in(0, JOB_QUEUED));
    for (int i = 0; i < NSTATES; i++)
        CHECK(job_state_in(JOB_STATES_ALL, all_states[i]));
    /* a value outside the enum is in no set, not even a full mask */
    CHECK(!job_state_in(~0u, (enum job_state)7));
    CHECK(!job_state_in(~0u, (enum job_state)-1));
}

TEST(state_set_names_in_lifecycle_order)
{
    char out[80];
    job_state_set_names(JOB_STATE_BIT(JOB_CANCELED) | JOB_STATE_BIT(JOB_QUEUED), out,
                        sizeof out);
    CHECK_STR_EQ(out, "queued, canceled");
    job_state_set_names(JOB_STATES_ALL, out, sizeof out);
    CHECK_STR_EQ(out, "queued, running, succeeded, failed, canceled, scheduled, waiting");
    job_state_set_names(0, out, sizeof out);
    CHECK_STR_EQ(out, "");
    job_state_set_names(JOB_STATE_BIT(JOB_RUNNING), out, sizeof out);
    CHECK_STR_EQ(out, "running");
}

TEST(state_set_names_cut_short_stay_terminated)
{
    char out[12];
    memset(out, 'x', sizeof out);
    job_state_set_names(JOB_STATES_ALL, out, sizeof out);
    CHECK(memchr(out, '\0', sizeof out) != NULL);
    CHECK_STR_EQ(out, "queued");            /* the next name did not fit whole */
    char tiny[1] = {'x'};
    job_state_set_names(JOB_STATES_ALL, tiny, sizeof tiny);
    CHECK_EQ_INT(tiny[0], '\0');
}

TEST(state_set_json_lists_names)
{
    cJSON *arr = job_state_set_json(JOB_STATE_BIT(JOB_SUCCEEDED) | JOB_STATE_BIT(JOB_QUEUED));
    CHECK(cJSON_IsArray(arr));
    char *text = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    CHECK(text != NULL);
    int same = strcmp(text, "[\"queued\",\"succeeded\"]") == 0;
    free(text);
    CHECK(same);
    arr = job_state_set_json(0);
    CHECK(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 0);
    cJSON_Delete(arr);
}

/* ---- DTO -------------------------------------------------------------- */

static cJSON *dto_of(const job *j)
{
    char *text = job_dto_json(j);
    if (!text)
        return NULL;
    cJSON *o = strchr(text, '\n') ? NULL : cJSON_Parse(text);   /* one line */
    free(text);
    return o;
}

TEST(dto_of_empty_record_has_every_key_null_where_absent)
{
    job j;
    memset(&j, 0, sizeof j);
    cJSON *o = dto_of(&j);
    CHECK(o != NULL);
    CHECK(cJSON_IsObject(o));
    for (size_t i = 0; i < NKEYS; i++) {
        if (!cJSON_GetObjectItemCaseSensitive(o, dto_keys[i])) {
            cJSON_Delete(o);
            FAIL("missing key %s", dto_keys[i]);
        }
    }
    CHECK_EQ_INT(cJSON_GetArraySize(o), (int)NKEYS);
    static const char *const nulls[] = {
        "jobId", "md", "preset", "upload", "voiceAccent", "notionDatabase", "mode",
        "parentJobId", "manifestPath", "notionUrl", "pageUrl", "error", "ownerId",
        "createdAt", "updatedAt", "startedAt", "finishedAt",
    };
    for (size_t i = 0; i < sizeof nulls / sizeof nulls[0]; i++) {
        if (!cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, nulls[i]))) {
            cJSON_Delete(o);
            FAIL("%s is not null for an absent value", nulls[i]);
        }
    }
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(o, "state")->valuestring, "queued");
    CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "withTts")));
    CHECK(cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(o, "forceTts")));
    const cJSON *params = cJSON_GetObjectItemCaseSensitive(o, "params");
    CHECK(cJSON_IsObject(params));
    CHECK_EQ_INT(cJSON_GetArraySize(params), 0);
    CHECK(cJSON_GetObjectItemCaseSensitive(o, "progress")->valuedouble == 0.0);
    cJSON_Delete(o);
}

static void fill_full(job *j)
{
    memset(j, 0, sizeof *j);
    j->id = 17;
    j->owner_id = 3;
    j->state = JOB_SUCCEEDED;
    j->md = strdup("lessons/a.md");
    j->input_path = strdup("/srv/inputs/lessons/a.md");
    j->preset = strdup("echo");
    j->with_tts = true;
    j->upload = strdup("none");
    j->voice_accent = strdup("en-GB");
    j->force_tts = true;
    j->notion_database = strdup("db1");
    j->mode = strdup("dialogue");
    j->priority = -7;
    j->params = strdup("{\"name\":\"x\\\"y\",\"lang\":\"fr\"}");
    j->progress = 0.5;
    j->attempts = 2;
    j->max_attempts = 3;
    j->parent_job_id = 9007199254740993LL;   /* > 2^53: must survive as text */
    j->manifest_path = strdup("/m.json");
    j->notion_url = strdup("https://notion.example/x");
    j->page_url = strdup("https://page.example/y");
    j->error = strdup("boom \"quoted\"\nnext");
    j->created_at = 1795323600123LL;         /* 2026-11-22T05:00:00.123Z */
    j->updated_at = 951868799007LL;          /* 2000-02-29T23:59:59.007Z */
    j->started_at = 1000;                    /* 1970-01-01T00:00:01.000Z */
    j->finished_at = 1795323600999LL;
}

static const char *str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

TEST(dto_of_full_record)
{
    job j;
    fill_full(&j);
    cJSON *o = dto_of(&j);
    job_clear(&j);
    CHECK(o != NULL);
    CHECK_EQ_INT(cJSON_GetArraySize(o), (int)NKEYS);
    CHECK_STR_EQ(str_of(o, "jobId"), "17");
    CHECK_STR_EQ(str_of(o, "ownerId"), "3");
    CHECK_STR_EQ(str_of(o, "parentJobId"), "9007199254740993");
    CHECK_STR_EQ(str_of(o, "state"), "succeeded");
    CHECK_STR_EQ(str_of(o, "md"), "lessons/a.md");
    CHECK_STR_EQ(str_of(o, "preset"), "echo");
    CHECK_STR_EQ(str_of(o, "upload"), "none");
    CHECK_STR_EQ(str_of(o, "voiceAccent"), "en-GB");
    CHECK_STR_EQ(str_of(o, "notionDatabase"), "db1");
    CHECK_STR_EQ(str_of(o, "mode"), "dialogue");
    CHECK_STR_EQ(str_of(o, "manifestPath"), "/m.json");
    CHECK_STR_EQ(str_of(o, "notionUrl"), "https://notion.example/x");
    CHECK_STR_EQ(str_of(o, "pageUrl"), "https://page.example/y");
    CHECK_STR_EQ(str_of(o, "error"), "boom \"quoted\"\nnext");
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "withTts")));
    CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "forceTts")));
    CHECK(cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "priority")));
    CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(o, "priority")->valuedouble, -7);
    CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(o, "attempts")->valuedouble, 2);
    CHECK_EQ_INT(cJSON_GetObjectItemCaseSensitive(o, "maxAttempts")->valuedouble, 3);
    CHECK(cJSON_GetObjectItemCaseSensitive(o, "progress")->valuedouble == 0.5);
    CHECK_STR_EQ(str_of(o, "createdAt"), "2026-11-22T05:00:00.123Z");
    CHECK_STR_EQ(str_of(o, "updatedAt"), "2000-02-29T23:59:59.007Z");
    CHECK_STR_EQ(str_of(o, "startedAt"), "1970-01-01T00:00:01.000Z");
    CHECK_STR_EQ(str_of(o, "finishedAt"), "2026-11-22T05:00:00.999Z");
    /* internal fields never leak into the DTO */
    CHECK(cJSON_GetObjectItemCaseSensitive(o, "inputPath") == NULL);
    CHECK(cJSON_GetObjectItemCaseSensitive(o, "input_path") == NULL);
    char *text = cJSON_PrintUnformatted(o);
    CHECK(text != NULL);
    bool leaks = strstr(text, "/srv/inputs") != NULL;
    free(text);
    cJSON_Delete(o);
    CHECK(!leaks);
}

TEST(dto_params_stay_an_object)
{
    job j;
    fill_full(&j);
    cJSON *o = job_to_dto(&j);
    job_clear(&j);
    CHECK(o != NULL);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "params");
    CHECK(cJSON_IsObject(p));
    CHECK_EQ_INT(cJSON_GetArraySize(p), 2);
    CHECK_STR_EQ(str_of(p, "name"), "x\"y");
    CHECK_STR_EQ(str_of(p, "lang"), "fr");
    cJSON_Delete(o);

    /* absent or unreadable params become {} rather than a string or null */
    memset(&j, 0, sizeof j);
    j.params = strdup("not json");
    o = job_to_dto(&j);
    job_clear(&j);
    CHECK(o != NULL);
    p = cJSON_GetObjectItemCaseSensitive(o, "params");
    CHECK(cJSON_IsObject(p));
    CHECK_EQ_INT(cJSON_GetArraySize(p), 0);
    cJSON_Delete(o);
}

static double progress_of(double v)
{
    job j;
    memset(&j, 0, sizeof j);
    j.progress = v;
    cJSON *o = job_to_dto(&j);
    if (!o)
        return -100;
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(o, "progress");
    double r = cJSON_IsNumber(p) ? p->valuedouble : -200;
    cJSON_Delete(o);
    return r;
}

TEST(dto_progress_is_clamped)
{
    CHECK(progress_of(-0.5) == 0.0);
    CHECK(progress_of(-1e300) == 0.0);
    CHECK(progress_of(1.5) == 1.0);
    CHECK(progress_of(1e300) == 1.0);
    CHECK(progress_of(0.0) == 0.0);
    CHECK(progress_of(1.0) == 1.0);
    CHECK(progress_of(0.25) == 0.25);
    double third = progress_of(1.0 / 3.0);
    CHECK(third > 0.33 && third < 0.34);
}

TEST(dto_json_is_one_line_and_ids_are_strings)
{
    job j;
    fill_full(&j);
    char *text = job_dto_json(&j);
    job_clear(&j);
    CHECK(text != NULL);
    bool one_line = strchr(text, '\n') == NULL && strchr(text, '\r') == NULL;
    bool id_str = strstr(text, "\"jobId\":\"17\"") != NULL;
    free(text);
    CHECK(one_line);
    CHECK(id_str);
}

TEST(job_clear_zeroes_record)
{
    job j;
    fill_full(&j);
    job_clear(&j);
    static const job zero;
    CHECK(memcmp(&j, &zero, sizeof j) == 0);
    job_clear(&j);                         /* clearing twice is harmless */
    CHECK(j.md == NULL);
}

/* ---- backoff ----------------------------------------------------------- */

/* The delay before jitter, computed independently of the code under test. */
static int64_t full_delay(int base, int attempt)
{
    int64_t d = base;
    for (int i = 1; i < attempt; i++) {
        d *= 2;
        if (d >= FIVE_MIN_MS)
            return FIVE_MIN_MS;
    }
    return d < FIVE_MIN_MS ? d : FIVE_MIN_MS;
}

TEST(backoff_grows_exponentially)
{
    /* rnd 0 gives the low end (half the delay): it doubles per attempt */
    int64_t prev = job_backoff_ms(1000, 1, 0);
    CHECK_EQ_INT(prev, 500);
    for (int a = 2; a <= 9; a++) {
        int64_t v = job_backoff_ms(1000, a, 0);
        CHECK_EQ_INT(v, prev * 2);
        prev = v;
    }
    CHECK_EQ_INT(prev, 128000);           /* attempt 9: 256 s delay */
    /* the high end is the full delay */
    CHECK_EQ_INT(job_backoff_ms(1000, 1, 500), 1000);
    CHECK_EQ_INT(job_backoff_ms(1000, 3, 2000), 4000);
    CHECK_EQ_INT(job_backoff_ms(200, 2, 200), 400);
}

TEST(backoff_caps_at_five_minutes)
{
    CHECK_EQ_INT(job_backoff_ms(1000, 10, 0), FIVE_MIN_MS / 2);
    CHECK_EQ_INT(job_backoff_ms(1000, 10, FIVE_MIN_MS / 2), FIVE_MIN_MS);
    static const int attempts[] = {10, 11, 20, 31, 32, 63, 64, 100, 1000, INT_MAX};
    static const uint32_t rnds[] = {0, 1, 12345, 150000, 150001, 0x7fffffffu, UINT32_MAX};
    for (size_t i = 0; i < sizeof attempts / sizeof attempts[0]; i++) {
        for (size_t k = 0; k < sizeof rnds / sizeof rnds[0]; k++) {
            int64_t v = job_backoff_ms(1000, attempts[i], rnds[k]);
            if (v < FIVE_MIN_MS / 2 || v > FIVE_MIN_MS)
                FAIL("attempt %d rnd %u: %lld outside [150000, 300000]", attempts[i],
                     rnds[k], (long long)v);
        }
    }
    /* a base above the cap is capped too */
    int64_t v = job_backoff_ms(INT_MAX, 1, UINT32_MAX);
    CHECK(v >= FIVE_MIN_MS / 2 && v <= FIVE_MIN_MS);
    v = job_backoff_ms(INT_MAX, INT_MAX, 7);
    CHECK(v >= FIVE_MIN_MS / 2 && v <= FIVE_MIN_MS);
}

TEST(backoff_zero_base_is_zero)
{
    CHECK_EQ_INT(job_backoff_ms(0, 1, 0), 0);
    CHECK_EQ_INT(job_backoff_ms(0, 5, 123456), 0);
    CHECK_EQ_INT(job_backoff_ms(0, INT_MAX, UINT32_MAX), 0);
    CHECK_EQ_INT(job_backoff_ms(-5, 3, 99), 0);
}

TEST(backoff_attempt_below_one_counts_as_first)
{
    for (uint32_t r = 0; r < 2000; r += 7) {
        int64_t v0 = job_backoff_ms(800, 0, r), vn = job_backoff_ms(800, -3, r);
        CHECK(v0 >= 400 && v0 <= 800);
        CHECK_EQ_INT(v0, job_backoff_ms(800, 1, r));
        CHECK_EQ_INT(vn, v0);
    }
}

static uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

TEST(backoff_stays_within_half_and_full_for_random_inputs)
{
    uint32_t seed = 0x9e3779b9u;
    int64_t lo_seen = INT64_MAX, hi_seen = 0;
    for (int i = 0; i < 200000; i++) {
        int base = (int)(xorshift(&seed) % 400000) + 1;
        int attempt = (int)(xorshift(&seed) % 40) + 1;
        uint32_t rnd = xorshift(&seed);
        int64_t d = full_delay(base, attempt), half = d / 2;
        int64_t v = job_backoff_ms(base, attempt, rnd);
        if (v < half || v > d)
            FAIL("base %d attempt %d rnd %u: %lld outside [%lld, %lld]", base, attempt,
                 rnd, (long long)v, (long long)half, (long long)d);
        /* where in [half, full] it landed, in per mille */
        if (d - half > 1000) {
            int64_t pm = (v - half) * 1000 / (d - half);
            if (pm < lo_seen)
                lo_seen = pm;
            if (pm > hi_seen)
                hi_seen = pm;
        }
    }
    /* the jitter really spreads over the interval */
    CHECK(lo_seen <= 5);
    CHECK(hi_seen >= 995);
}

/* ---- batch parents ---------------------------------------------------- */

TEST(batch_state_is_derived_from_the_children)
{
    /* {total, queued, running, succeeded, failed, canceled}, user canceled, expected */
    static const struct {
        struct batch_counts n;
        bool user_canceled;
        enum job_state want;
    } cases[] = {
        {{3, 3, 0, 0, 0, 0}, false, JOB_QUEUED},      /* nothing started */
        {{3, 2, 1, 0, 0, 0}, false, JOB_RUNNING},     /* one running */
        {{3, 2, 0, 1, 0, 0}, false, JOB_RUNNING},     /* one done, none running */
        {{3, 0, 1, 0, 2, 0}, false, JOB_RUNNING},     /* failures while one runs */
        {{3, 0, 0, 3, 0, 0}, false, JOB_SUCCEEDED},
        {{3, 0, 0, 2, 1, 0}, false, JOB_FAILED},
        {{3, 0, 0, 1, 1, 1}, false, JOB_FAILED},      /* a failure wins over a cancel */
        {{3, 0, 0, 2, 0, 1}, false, JOB_CANCELED},    /* a child canceled on its own */
        {{3, 0, 0, 1, 1, 1}, true, JOB_CANCELED},     /* the user canceled the batch */
        {{3, 0, 1, 0, 0, 2}, true, JOB_RUNNING},      /* canceled, one still stopping */
        {{0, 0, 0, 0, 0, 0}, false, JOB_QUEUED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (job_batch_state(&cases[i].n, cases[i].user_canceled) != cases[i].want)
            FAIL("case %zu: %s, want %s", i,
                 job_state_name(job_batch_state(&cases[i].n, cases[i].user_canceled)),
                 job_state_name(cases[i].want));
}

TEST(batch_dto_has_kind_counts_and_sweep)
{
    job j;
    memset(&j, 0, sizeof j);
    j.id = 5;
    j.kind = strdup("batch");
    j.sweep = strdup("{\"size\":[1,2]}");
    j.batch_total = 2;
    j.batch_running = 1;
    j.batch_succeeded = 1;
    cJSON *o = job_to_dto(&j);
    CHECK(o != NULL);
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(o, "kind")->valuestring, "batch");
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "batch");
    CHECK(cJSON_IsObject(b));
    CHECK_EQ_INT((int)cJSON_GetObjectItemCaseSensitive(b, "total")->valuedouble, 2);
    CHECK_EQ_INT((int)cJSON_GetObjectItemCaseSensitive(b, "succeeded")->valuedouble, 1);
    CHECK(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, "sweep"), "size")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "batchId")));
    cJSON_Delete(o);
    job_clear(&j);
    /* a plain job: kind "job" even when unset, batch and sweep null */
    j.id = 6;
    j.batch_id = 5;
    o = job_to_dto(&j);
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(o, "kind")->valuestring, "job");
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(o, "batchId")->valuestring, "5");
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "batch")));
    CHECK(cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(o, "sweep")));
    cJSON_Delete(o);
    job_clear(&j);
}
