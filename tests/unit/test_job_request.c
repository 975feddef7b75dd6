/* test_job_request.c — regression tests for the "priority" rule of
 * svc_job_from_request() (src/service/jobs.c): an integer from -1000 to
 * 1000, anything else a field error on "priority".
 *
 * Found by tests/fuzz/fuzz_job_request.c: a number outside the range of
 * int (1e10, -1.199e31, 1e999 = infinity) reaches `(int)pr->valuedouble`
 * before the range is checked, which is undefined behaviour (clang's
 * UBSan: "1e+10 is outside the range of representable values of type
 * 'int'", src/service/jobs.c:177).  On x86-64 with gcc the conversion
 * happens to give INT_MIN and the body is refused, so these tests pass
 * here; under clang -fsanitize=undefined (the fuzz build) the server
 * aborts on such a body.  They pin the behaviour the fix must keep. */
#define UNIT_MAIN
#include "unit.h"

#include <stdbool.h>

#include "cJSON.h"
#include "domain/job.h"
#include "infra/config.h"
#include "service/app.h"
#include "service/jobs.h"
#include "util/err.h"

/* Tests must not see BATCHBOX_* variables from whoever runs them. */
__attribute__((constructor)) static void clear_env(void)
{
    const char *e;
    for (size_t i = 0; config_env_override(i, &e, NULL); i++)
        unsetenv(e);
}

/* Runs body (JSON text) through svc_job_from_request on the built-in
 * configuration (its "noop" preset needs no input).  Returns BB_OK and
 * *priority, or the error code with *bad_field = whether "priority" was
 * named. */
static int submit(const char *json, int *priority, bool *bad_field)
{
    bb_config cfg;
    char err[512];
    *priority = -9999;
    *bad_field = false;
    if (config_load_text(NULL, "/", &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return -1;
    }
    bb_app app;
    memset(&app, 0, sizeof app);
    app.cfg = &cfg;
    cJSON *body = cJSON_Parse(json);
    if (!body) {
        config_free(&cfg);
        return -2;
    }
    job j;
    bb_errctx e = {0};
    int rc = svc_job_from_request(&app, body, &j, &e);
    if (rc == BB_OK) {
        *priority = j.priority;
        job_clear(&j);
    } else {
        *bad_field = e.fields && cJSON_GetObjectItemCaseSensitive(e.fields, "priority");
    }
    bb_err_clear(&e);
    cJSON_Delete(body);
    config_free(&cfg);
    return rc;
}

#define EXPECT_PRIORITY(json, want)                                     \
    do {                                                                \
        int p_;                                                         \
        bool f_;                                                        \
        CHECK_EQ_INT(submit(json, &p_, &f_), BB_OK);                    \
        CHECK_EQ_INT(p_, want);                                         \
    } while (0)

#define EXPECT_REFUSED(json)                                            \
    do {                                                                \
        int p_;                                                         \
        bool f_;                                                        \
        CHECK_EQ_INT(submit(json, &p_, &f_), BB_EINVAL);                \
        CHECK(f_);                                                      \
    } while (0)

TEST(priority_in_range_is_accepted)
{
    EXPECT_PRIORITY("{\"preset\":\"noop\"}", 0);
    EXPECT_PRIORITY("{\"preset\":\"noop\",\"priority\":null}", 0);
    EXPECT_PRIORITY("{\"preset\":\"noop\",\"priority\":7}", 7);
    EXPECT_PRIORITY("{\"preset\":\"noop\",\"priority\":7.0}", 7);
    EXPECT_PRIORITY("{\"preset\":\"noop\",\"priority\":-1000}", -1000);
    EXPECT_PRIORITY("{\"preset\":\"noop\",\"priority\":1000}", 1000);
    EXPECT_PRIORITY("{\"preset\":\"noop\",\"priority\":-0}", 0);
}

TEST(priority_out_of_range_or_fractional_is_refused)
{
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":1001}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":-1001}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":1.5}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":\"5\"}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":true}");
}

/* The fuzzer's finding: numbers int cannot hold. */
TEST(priority_beyond_int_is_refused)
{
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":1e10}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":2147483648}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":-2147483649}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":-11990000000000000000000000000000}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":1e300}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":1e999}");
    EXPECT_REFUSED("{\"preset\":\"noop\",\"priority\":-1e999}");
}
