/* test_exec.c — unit tests for the command workflow executor
 * (src/infra/exec/command.c): the placeholder language, output line
 * splitting, exit/timeout/cancel handling, process-group cleanup, the
 * child's cwd, environment, descriptors and signal state, and concurrent
 * use from several threads.  Each test is bounded to a few seconds. */
#define UNIT_MAIN
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cJSON.h"
#include "infra/exec/exec.h"

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

#define MAXLINES 64

typedef struct coll {
    char *out[MAXLINES];
    size_t outlen[MAXLINES];
    int nout;
    char *err[MAXLINES];
    size_t errlen[MAXLINES];
    int nerr;
    double prog[16];
    int nprog;
    /* stdout lines consisting only of digits, read by a canceler thread */
    atomic_int pids[8];
    atomic_int npids;
} coll;

static void on_line(void *ud, const char *stream, const char *line,
                    size_t len)
{
    coll *c = ud;
    bool is_out = strcmp(stream, "stdout") == 0;
    if (!is_out && strcmp(stream, "stderr") != 0)
        return;
    int *n = is_out ? &c->nout : &c->nerr;
    if (*n >= MAXLINES)
        return;
    char *copy = malloc(len + 1);
    if (!copy)
        return;
    memcpy(copy, line, len);
    copy[len] = '\0';
    (is_out ? c->out : c->err)[*n] = copy;
    (is_out ? c->outlen : c->errlen)[*n] = len;
    (*n)++;
    if (is_out && len > 0 && len < 12 && strspn(copy, "0123456789") == len) {
        int k = atomic_load(&c->npids);
        if (k < 8) {
            atomic_store(&c->pids[k], atoi(copy));
            atomic_store(&c->npids, k + 1);
        }
    }
}

static void on_progress(void *ud, double f)
{
    coll *c = ud;
    if (c->nprog < 16)
        c->prog[c->nprog++] = f;
}

static void coll_free(coll *c)
{
    for (int i = 0; i < c->nout; i++)
        free(c->out[i]);
    for (int i = 0; i < c->nerr; i++)
        free(c->err[i]);
}

/* A command preset owning copies of args; free with preset_free(). */
static bb_preset *mkpreset(const char *const *args, size_t n, int timeout)
{
    bb_preset *p = calloc(1, sizeof *p);
    if (!p)
        abort();
    p->id = strdup("t");
    p->workflow = BB_WF_COMMAND;
    p->argv = calloc(n + 1, sizeof *p->argv);
    if (!p->id || !p->argv)
        abort();
    for (size_t i = 0; i < n; i++)
        if (!(p->argv[i] = strdup(args[i])))
            abort();
    p->argc = n;
    p->timeout_sec = timeout;
    p->max_attempts = 1;
    return p;
}

static void preset_free(bb_preset *p)
{
    for (size_t i = 0; i < p->argc; i++)
        free(p->argv[i]);
    free(p->argv);
    free(p->id);
    free(p);
}

static bb_preset *sh_preset(const char *script, int timeout)
{
    const char *args[] = {"sh", "-c", script};
    return mkpreset(args, 3, timeout);
}

static void ctx_init(exec_ctx *ctx, const bb_preset *p, coll *c,
                     atomic_bool *cancel)
{
    memset(ctx, 0, sizeof *ctx);
    ctx->job_id = 42;
    ctx->preset = p;
    ctx->input_path = "/in/put.md";
    ctx->outdir = "/tmp";
    ctx->workdir = "/tmp";
    ctx->cancel = cancel;
    ctx->log_line = on_line;
    ctx->progress = on_progress;
    ctx->ud = c;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* A process is gone when it no longer exists, or is a zombie waiting for
 * init (an orphaned grandchild we cannot reap).  Waits up to 1 s, since
 * SIGKILL to other processes lands asynchronously. */
static bool pid_gone(int pid)
{
    if (pid <= 1)
        return false;
    for (int i = 0; i < 100; i++) {
        if (kill(pid, 0) != 0 && errno == ESRCH)
            return true;
        char path[64], buf[256];
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "r");
        if (f) {
            size_t n = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[n] = '\0';
            const char *rp = strrchr(buf, ')');
            if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
                return true;
        }
        sleep_ms(10);
    }
    return false;
}

typedef struct canceler {
    atomic_bool *flag;
    coll *c;
    int want_pids;      /* wait for this many pid lines first */
    int delay_ms;       /* then this long */
    int64_t at;         /* when the flag was set */
} canceler;

static void *cancel_thread(void *arg)
{
    canceler *k = arg;
    for (int i = 0; i < 300 && atomic_load(&k->c->npids) < k->want_pids; i++)
        sleep_ms(10);
    sleep_ms(k->delay_ms);
    k->at = now_ms();
    atomic_store(k->flag, true);
    return NULL;
}

/* ---------------------------------------------------------------------
 * Templates
 * ------------------------------------------------------------------- */

TEST(template_accepts)
{
    char err[256];
    const char *ok[] = {
        "", "plain", "{input}", "--out={outdir}/x.mp3", "{jobId}{workdir}",
        "{param.a_B-9}", "{{literal}}", "a}}b", "{{{input}}}",
        "{param.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}",
        "awk '{{print $1}}'",
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        err[0] = '\0';
        int rc = exec_check_template(ok[i], err, sizeof err);
        if (rc != 0)
            fprintf(stderr, "  rejected \"%s\": %s\n", ok[i], err);
        CHECK_EQ_INT(rc, 0);
    }
}

TEST(template_rejects)
{
    char err[256];
    const char *bad[] = {
        "{foo}", "{", "abc{", "}", "a}b", "{param.}", "{param.bad name}",
        "{param.x.y}", "{Input}", "${HOME}", "{}", "{input", "{{input}",
        "{param.aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        int rc = exec_check_template(bad[i], err, sizeof err);
        if (rc == 0)
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
        CHECK_EQ_INT(rc, -1);
        CHECK(err[0] != '\0');
    }
    exec_check_template("x{nope}", err, sizeof err);
    CHECK(strstr(err, "{nope}") != NULL);
}

/* ---------------------------------------------------------------------
 * Expansion
 * ------------------------------------------------------------------- */

TEST(expand_placeholders)
{
    char err[256];
    cJSON *params = cJSON_Parse("{\"lang\":\"en-GB\",\"n\":5,\"empty\":\"\"}");
    CHECK(params != NULL);
    exec_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.job_id = 1234567890123LL;
    ctx.input_path = "/data/in/a b.md";
    ctx.outdir = "/data/out/7";
    ctx.workdir = "/data/work/7";
    ctx.params = params;

    struct { const char *t, *want; } cases[] = {
        {"{input}", "/data/in/a b.md"},
        {"{outdir}", "/data/out/7"},
        {"{workdir}", "/data/work/7"},
        {"{jobId}", "1234567890123"},
        {"{param.lang}", "en-GB"},
        {"x{param.empty}y", "xy"},
        {"--out={outdir}/x.mp3", "--out=/data/out/7/x.mp3"},
        {"{jobId}-{param.lang}:{input}|{workdir}",
         "1234567890123-en-GB:/data/in/a b.md|/data/work/7"},
        {"{{jobId}} }}", "{jobId} }"},
        {"", ""},
        {"no placeholders", "no placeholders"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *s = exec_expand_arg(cases[i].t, &ctx, err, sizeof err);
        CHECK(s != NULL);
        if (s)
            CHECK_STR_EQ(s, cases[i].want);
        free(s);
    }

    char *s = exec_expand_arg("{param.missing}", &ctx, err, sizeof err);
    CHECK(s == NULL);
    CHECK_STR_EQ(err, "missing param \"missing\"");
    /* typed values substitute their canonical text (docs/parameters.md) */
    s = exec_expand_arg("-n={param.n}", &ctx, err, sizeof err);
    CHECK(s != NULL);
    if (s)
        CHECK_STR_EQ(s, "-n=5");
    free(s);
    s = exec_expand_arg("{bogus}", &ctx, err, sizeof err);
    CHECK(s == NULL);
    CHECK(strstr(err, "{bogus}") != NULL);

    ctx.input_path = NULL;
    s = exec_expand_arg("a{input}", &ctx, err, sizeof err);
    CHECK(s == NULL);
    CHECK(strstr(err, "{input}") != NULL);

    ctx.params = NULL;
    s = exec_expand_arg("{param.lang}", &ctx, err, sizeof err);
    CHECK(s == NULL);
    CHECK_STR_EQ(err, "missing param \"lang\"");
    ctx.job_id = -5;
    s = exec_expand_arg("{jobId}", &ctx, err, sizeof err);
    CHECK_STR_EQ(s, "-5");
    free(s);
    cJSON_Delete(params);
}

TEST(expand_length_cap)
{
    char err[256];
    char *big = malloc(40001);
    CHECK(big != NULL);
    if (!big)
        return;
    memset(big, 'z', 40000);
    big[40000] = '\0';
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "big", big);
    exec_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.params = params;
    char *s = exec_expand_arg("{param.big}", &ctx, err, sizeof err);
    CHECK(s != NULL);
    if (s)
        CHECK_EQ_INT((long long)strlen(s), 40000);
    free(s);
    s = exec_expand_arg("{param.big}{param.big}", &ctx, err, sizeof err);
    CHECK(s == NULL);
    CHECK(strstr(err, "longer") != NULL);
    cJSON_Delete(params);
    free(big);
}

/* ---------------------------------------------------------------------
 * Running commands
 * ------------------------------------------------------------------- */

TEST(output_lines_both_streams)
{
    bb_preset *p = sh_preset(
        "printf 'a\\nb\\r\\n\\nc\\n'; printf 'e1\\n' >&2; printf 'd'; "
        "printf 'e2\\r\\ne3' >&2", 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_OK);
    CHECK_EQ_INT(c.nout, 5);
    if (c.nout == 5) {
        CHECK_STR_EQ(c.out[0], "a");
        CHECK_STR_EQ(c.out[1], "b");
        CHECK_STR_EQ(c.out[2], "");
        CHECK_STR_EQ(c.out[3], "c");
        CHECK_STR_EQ(c.out[4], "d");      /* partial last line */
    }
    CHECK_EQ_INT(c.nerr, 3);
    if (c.nerr == 3) {
        CHECK_STR_EQ(c.err[0], "e1");
        CHECK_STR_EQ(c.err[1], "e2");
        CHECK_STR_EQ(c.err[2], "e3");
    }
    coll_free(&c);
    preset_free(p);
}

TEST(output_long_lines_split)
{
    bb_preset *p = sh_preset(
        "head -c 20000 /dev/zero | tr '\\000' x; echo; "
        "head -c 8192 /dev/zero | tr '\\000' y; printf '\\r\\nz\\n'; "
        "head -c 8192 /dev/zero | tr '\\000' w; printf '\\n'", 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_OK);
    CHECK_EQ_INT(c.nout, 6);
    if (c.nout == 6) {
        CHECK_EQ_INT((long long)c.outlen[0], 8192);
        CHECK_EQ_INT((long long)c.outlen[1], 8192);
        CHECK_EQ_INT((long long)c.outlen[2], 20000 - 2 * 8192);
        CHECK(strspn(c.out[0], "x") == 8192 && strspn(c.out[2], "x") == 3616);
        CHECK_EQ_INT((long long)c.outlen[3], 8192);   /* "\r\n" stripped */
        CHECK(strspn(c.out[3], "y") == 8192);
        CHECK_STR_EQ(c.out[4], "z");
        CHECK_EQ_INT((long long)c.outlen[5], 8192);   /* no empty tail */
    }
    CHECK_EQ_INT(c.nerr, 0);
    coll_free(&c);
    preset_free(p);
}

TEST(exit_status_nonzero)
{
    bb_preset *p = sh_preset("echo bye; exit 3", 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_FAILED);
    CHECK(ctx.retryable);
    CHECK_STR_EQ(ctx.error, "exited with status 3");
    CHECK_EQ_INT(c.nout, 1);
    coll_free(&c);
    preset_free(p);
}

TEST(killed_by_signal)
{
    bb_preset *p = sh_preset("kill -USR1 $$; sleep 5", 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_FAILED);
    CHECK(ctx.retryable);
    CHECK_STR_EQ(ctx.error, "killed by signal SIGUSR1");
    coll_free(&c);
    preset_free(p);
}

TEST(missing_program_not_retryable)
{
    const char *args[] = {"/nonexistent/bb-no-such-program", "x"};
    bb_preset *p = mkpreset(args, 2, 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_FAILED);
    CHECK(!ctx.retryable);
    CHECK_STR_EQ(ctx.error, "cannot run \"/nonexistent/bb-no-such-program\": "
                 "No such file or directory");
    preset_free(p);

    const char *args2[] = {"bb-no-such-program-on-path"};
    p = mkpreset(args2, 1, 5);
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_FAILED);
    CHECK(!ctx.retryable);
    CHECK(strstr(ctx.error, "cannot run \"bb-no-such-program-on-path\"") != NULL);
    CHECK_EQ_INT(c.nout + c.nerr, 0);
    preset_free(p);
}

TEST(bad_template_not_retryable)
{
    const char *args[] = {"echo", "{param.lang}"};
    bb_preset *p = mkpreset(args, 2, 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_FAILED);
    CHECK(!ctx.retryable);
    CHECK(strstr(ctx.error, "missing param \"lang\"") != NULL);
    CHECK_EQ_INT(c.nout, 0);
    preset_free(p);

    const char *args2[] = {"echo", "{input}"};
    p = mkpreset(args2, 2, 5);
    ctx_init(&ctx, p, &c, &cancel);
    ctx.input_path = NULL;
    CHECK_EQ_INT(exec_command(&ctx), EXEC_FAILED);
    CHECK(!ctx.retryable);
    CHECK(strstr(ctx.error, "{input}") != NULL);
    preset_free(p);
}

TEST(argv_no_shell)
{
    /* Placeholders inside arguments; spaces and $ pass through verbatim. */
    const char *args[] = {"printf", "%s|%s|%s\\n", "--in={input}",
                          "job {jobId}", "$HOME;{param.v}"};
    bb_preset *p = mkpreset(args, 5, 5);
    cJSON *params = cJSON_Parse("{\"v\":\"a'b\\\"c\"}");
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    ctx.params = params;
    CHECK_EQ_INT(exec_command(&ctx), EXEC_OK);
    CHECK_EQ_INT(c.nout, 1);
    if (c.nout == 1)
        CHECK_STR_EQ(c.out[0], "--in=/in/put.md|job 42|$HOME;a'b\"c");
    coll_free(&c);
    cJSON_Delete(params);
    preset_free(p);
}

TEST(timeout_kills_group)
{
    bb_preset *p = sh_preset("echo $$; sleep 30", 1);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    ctx.kill_grace_ms = 300;
    int64_t t0 = now_ms();
    CHECK_EQ_INT(exec_command(&ctx), EXEC_FAILED);
    int64_t took = now_ms() - t0;
    /* ended by the 1 s timeout, not by the 30 s sleep (upper bound far
     * from both: the suites also run under TSan on a loaded machine) */
    CHECK(took >= 900 && took < 15000);
    CHECK(ctx.retryable);
    CHECK_STR_EQ(ctx.error, "timed out after 1 s");
    CHECK(c.nout >= 1);
    CHECK_EQ_INT(atomic_load(&c.npids), 1);
    int pid = atomic_load(&c.pids[0]);
    CHECK(pid > 1);
    CHECK(kill(pid, 0) != 0 && errno == ESRCH);     /* reaped by us */
    coll_free(&c);
    preset_free(p);
}

TEST(cancel_escalates_to_sigkill)
{
    bb_preset *p = sh_preset("trap '' TERM; echo $$; sleep 30", 0);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    ctx.kill_grace_ms = 300;
    canceler k = {.flag = &cancel, .c = &c, .want_pids = 1, .delay_ms = 100};
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, cancel_thread, &k), 0);
    int64_t t0 = now_ms();
    enum exec_result r = exec_command(&ctx);
    int64_t end = now_ms();
    CHECK_EQ_INT(pthread_join(th, NULL), 0);
    CHECK_EQ_INT(r, EXEC_CANCELED);
    CHECK_STR_EQ(ctx.error, "canceled");
    /* TERM is ignored, so only the SIGKILL after the grace ends it. */
    CHECK(end - k.at >= 280);
    CHECK(end - k.at < 1500);
    CHECK(end - t0 < 3000);
    CHECK_EQ_INT(atomic_load(&c.npids), 1);
    int pid = atomic_load(&c.pids[0]);
    CHECK(pid > 1 && kill(pid, 0) != 0 && errno == ESRCH);
    coll_free(&c);
    preset_free(p);
}

TEST(cancel_kills_grandchild)
{
    bb_preset *p = sh_preset("echo $$; sleep 30 & echo $!; wait", 0);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    ctx.kill_grace_ms = 300;
    canceler k = {.flag = &cancel, .c = &c, .want_pids = 2, .delay_ms = 50};
    pthread_t th;
    CHECK_EQ_INT(pthread_create(&th, NULL, cancel_thread, &k), 0);
    enum exec_result r = exec_command(&ctx);
    int64_t end = now_ms();
    CHECK_EQ_INT(pthread_join(th, NULL), 0);
    CHECK_EQ_INT(r, EXEC_CANCELED);
    CHECK(end - k.at < 1500);
    CHECK_EQ_INT(atomic_load(&c.npids), 2);
    int leader = atomic_load(&c.pids[0]), grandchild = atomic_load(&c.pids[1]);
    CHECK(leader > 1 && grandchild > 1 && leader != grandchild);
    CHECK(kill(leader, 0) != 0 && errno == ESRCH);
    CHECK(pid_gone(grandchild));
    coll_free(&c);
    preset_free(p);
}

TEST(cancel_before_start)
{
    bb_preset *p = sh_preset("echo should-not-run", 0);
    coll c = {0};
    atomic_bool cancel = true;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_CANCELED);
    CHECK_EQ_INT(c.nout, 0);
    preset_free(p);
}

TEST(grandchild_holding_pipe_is_bounded)
{
    /* The main child exits at once with status 0, but a background sleep
     * keeps stdout open: reading stops ~2 s later and the group is killed. */
    bb_preset *p = sh_preset("sleep 30 & echo $!", 10);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    int64_t t0 = now_ms();
    CHECK_EQ_INT(exec_command(&ctx), EXEC_OK);
    int64_t took = now_ms() - t0;
    CHECK(took >= 1900 && took < 15000);   /* the ~2 s bound, not the 30 s sleep */
    CHECK_EQ_INT(atomic_load(&c.npids), 1);
    CHECK(pid_gone(atomic_load(&c.pids[0])));
    coll_free(&c);
    preset_free(p);
}

TEST(leftover_group_members_killed)
{
    /* A background process that let go of the pipes: the command returns
     * at once, and the process is still removed with its group. */
    bb_preset *p = sh_preset("sleep 30 >/dev/null 2>&1 & echo $!", 10);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    int64_t t0 = now_ms();
    CHECK_EQ_INT(exec_command(&ctx), EXEC_OK);
    CHECK(now_ms() - t0 < 10000);   /* did not wait for the 30 s sleep */
    CHECK_EQ_INT(atomic_load(&c.npids), 1);
    CHECK(pid_gone(atomic_load(&c.pids[0])));
    coll_free(&c);
    preset_free(p);
}

TEST(cwd_env_stdin_fds)
{
    const char *tmp = getenv("TMPDIR");
    char wd[PATH_MAX];
    snprintf(wd, sizeof wd, "%s/bb-test-exec-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(wd) != NULL);
    char real[PATH_MAX];
    CHECK(realpath(wd, real) != NULL);
    /* A stale value in our environment must be replaced, not duplicated;
     * other variables pass through.  Single-threaded here, so setenv is
     * safe. */
    CHECK_EQ_INT(setenv("BATCHBOX_JOB_ID", "stale", 1), 0);
    CHECK_EQ_INT(setenv("BB_UNIT_MARK", "mark-1", 1), 0);
    int leak = open("/dev/null", O_RDONLY);   /* no O_CLOEXEC on purpose */
    CHECK(leak >= 3);

    bb_preset *p = sh_preset(
        "pwd -P; printf '%s|%s|%s|%s\\n' \"$BATCHBOX_JOB_ID\" "
        "\"$BATCHBOX_OUTDIR\" \"$BATCHBOX_WORKDIR\" \"$BB_UNIT_MARK\"; "
        "env | grep -c '^BATCHBOX_JOB_ID='; cat; echo cat-done; "
        "ls /proc/$$/fd | tr '\\n' ' '; echo", 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    ctx.workdir = wd;
    ctx.outdir = "/some/outdir";
    ctx.job_id = 7;
    CHECK_EQ_INT(exec_command(&ctx), EXEC_OK);
    CHECK_EQ_INT(c.nout, 5);
    if (c.nout == 5) {
        CHECK_STR_EQ(c.out[0], real);
        char want[PATH_MAX + 64];
        snprintf(want, sizeof want, "7|/some/outdir|%s|mark-1", wd);
        CHECK_STR_EQ(c.out[1], want);
        CHECK_STR_EQ(c.out[2], "1");
        CHECK_STR_EQ(c.out[3], "cat-done");   /* stdin was /dev/null */
        CHECK_STR_EQ(c.out[4], "0 1 2 ");      /* nothing else inherited */
    }
    CHECK_EQ_INT(c.nerr, 0);
    coll_free(&c);
    preset_free(p);
    close(leak);
    unsetenv("BATCHBOX_JOB_ID");
    unsetenv("BB_UNIT_MARK");
    CHECK_EQ_INT(rmdir(wd), 0);
}

TEST(bad_workdir)
{
    bb_preset *p = sh_preset("true", 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    ctx.workdir = "/nonexistent/bb-workdir";
    CHECK_EQ_INT(exec_command(&ctx), EXEC_FAILED);
    CHECK(strstr(ctx.error, "workdir") != NULL);
    preset_free(p);
}

TEST(child_signal_state_reset)
{
    /* The server may ignore SIGPIPE and block signals in its threads; the
     * child must start with defaults and an empty mask. */
    struct sigaction ign, old_term, old_pipe;
    memset(&ign, 0, sizeof ign);
    ign.sa_handler = SIG_IGN;
    CHECK_EQ_INT(sigaction(SIGTERM, &ign, &old_term), 0);
    CHECK_EQ_INT(sigaction(SIGPIPE, &ign, &old_pipe), 0);
    sigset_t block, oldmask;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGCHLD);
    CHECK_EQ_INT(pthread_sigmask(SIG_BLOCK, &block, &oldmask), 0);

    /* No shell here: dash blocks every signal around its own fork(), so
     * the spawned program must be the one that reads its status. */
    const char *args[] = {"grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"};
    bb_preset *p = mkpreset(args, 4, 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_OK);

    CHECK_EQ_INT(pthread_sigmask(SIG_SETMASK, &oldmask, NULL), 0);
    CHECK_EQ_INT(sigaction(SIGTERM, &old_term, NULL), 0);
    CHECK_EQ_INT(sigaction(SIGPIPE, &old_pipe, NULL), 0);

    CHECK_EQ_INT(c.nout, 2);
    if (c.nout == 2) {
        CHECK_STR_EQ(c.out[0], "SigBlk:\t0000000000000000");
        unsigned long long ignmask = strtoull(c.out[1] + 7, NULL, 16);
        CHECK((ignmask & (1ULL << (SIGTERM - 1))) == 0);
        CHECK((ignmask & (1ULL << (SIGPIPE - 1))) == 0);
    }
    coll_free(&c);
    preset_free(p);
}

TEST(progress_lines)
{
    bb_preset *p = sh_preset(
        "echo 'BATCHBOX_PROGRESS 0.42'; echo 'BATCHBOX_PROGRESS 1.5'; "
        "echo 'BATCHBOX_PROGRESS x'; echo 'BATCHBOX_PROGRESS -1'; "
        "echo 'BATCHBOX_PROGRESS 0.5 more'; echo 'BATCHBOX_PROGRESS 0.25' >&2; "
        "printf 'BATCHBOX_PROGRESS .75\\r\\n'", 5);
    coll c = {0};
    atomic_bool cancel = false;
    exec_ctx ctx;
    ctx_init(&ctx, p, &c, &cancel);
    CHECK_EQ_INT(exec_command(&ctx), EXEC_OK);
    CHECK_EQ_INT(c.nout, 6);            /* still logged */
    CHECK_EQ_INT(c.nerr, 1);
    CHECK_EQ_INT(c.nprog, 4);
    if (c.nprog == 4) {
        CHECK(c.prog[0] > 0.4199 && c.prog[0] < 0.4201);
        CHECK(c.prog[1] == 1.0);
        CHECK(c.prog[2] == 0.0);
        CHECK(c.prog[3] > 0.7499 && c.prog[3] < 0.7501);
    }
    coll_free(&c);

    /* progress may be NULL */
    coll c2 = {0};
    ctx_init(&ctx, p, &c2, &cancel);
    ctx.progress = NULL;
    CHECK_EQ_INT(exec_command(&ctx), EXEC_OK);
    CHECK_EQ_INT(c2.nout, 6);
    coll_free(&c2);
    preset_free(p);
}

typedef struct par {
    int64_t job_id;
    int ok;
} par;

static void *par_thread(void *arg)
{
    par *w = arg;
    const char *args[] = {"sh", "-c", "sleep 0.05; echo {jobId} $BATCHBOX_JOB_ID"};
    bb_preset *p = mkpreset(args, 3, 5);
    for (int i = 0; i < 5; i++) {
        coll c = {0};
        atomic_bool cancel = false;
        exec_ctx ctx;
        ctx_init(&ctx, p, &c, &cancel);
        ctx.job_id = w->job_id * 100 + i;
        char want[64];
        snprintf(want, sizeof want, "%lld %lld", (long long)ctx.job_id,
                 (long long)ctx.job_id);
        if (exec_command(&ctx) == EXEC_OK && c.nout == 1 &&
            strcmp(c.out[0], want) == 0)
            w->ok++;
        coll_free(&c);
    }
    preset_free(p);
    return NULL;
}

TEST(concurrent_threads)
{
    enum { N = 6 };
    pthread_t th[N];
    par w[N];
    for (int i = 0; i < N; i++) {
        w[i].job_id = i + 1;
        w[i].ok = 0;
        CHECK_EQ_INT(pthread_create(&th[i], NULL, par_thread, &w[i]), 0);
    }
    for (int i = 0; i < N; i++) {
        CHECK_EQ_INT(pthread_join(th[i], NULL), 0);
        CHECK_EQ_INT(w[i].ok, 5);
    }
}
