/* fuzz_job_request.c — libFuzzer target for job submission bodies: the
 * JSON body rules of the HTTP layer (src/http/server.c
 * http_json_body_limited_or_reply: valid UTF-8, no NUL byte, no \u0000
 * escape, one JSON value and nothing after it) followed by the real
 * validation code, svc_job_from_request in src/service/jobs.c, against a
 * configuration loaded with config_load_text.  Build and run with
 * tests/fuzz/run.sh; seeds in tests/fuzz/corpus/job_request/.
 *
 * The server's body checks are static functions of server.c, which needs a
 * live civetweb connection; this file restates them (same order, same
 * cJSON call) so the validator sees exactly what the server would let
 * through.  The input tree (BASE/in = inputRoot) holds a.md, sub/b.md, a
 * directory, and symlinks inside and outside; "@ROOT@" in the input is
 * replaced by the root's path so seeds can hold absolute paths.
 *
 * Besides the sanitizers it checks: a rejected body is a 400 with the
 * record cleared; an accepted one names a configured preset, gives an
 * input file inside the root when the preset needs one, stays within the
 * documented ranges (priority, upload, mode, accent, Notion database,
 * params an object of strings), and renders to a DTO that is valid UTF-8
 * JSON. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cJSON.h"
#include "domain/job.h"
#include "infra/config.h"
#include "service/app.h"
#include "service/jobs.h"
#include "util/err.h"
#include "util/util.h"

#define BODY_MAX (64 * 1024)

static char base[PATH_MAX];
static char root[PATH_MAX];
static bb_config cfg;
static bb_app app;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int ok, const char *what)
{
    if (!ok) {
        perror(what);
        abort();
    }
}

static void make(const char *rel, const char *text, const char *link_target)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    if (link_target) {
        must(symlink(link_target, p) == 0, p);
    } else if (!text) {
        must(mkdir(p, 0755) == 0, p);
    } else {
        FILE *f = fopen(p, "w");
        must(f != NULL, p);
        must(fputs(text, f) >= 0 && fclose(f) == 0, p);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char tmpl[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/bbfz-job-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    must(mkdtemp(tmpl) != NULL, "mkdtemp");
    must(realpath(tmpl, base) != NULL, "realpath");
    make("in", NULL, NULL);
    make("in/sub", NULL, NULL);
    make("in/dir", NULL, NULL);
    make("out", NULL, NULL);
    make("in/a.md", "# A\n", NULL);
    make("in/sub/b.md", "# B\n", NULL);
    make("out/secret.md", "secret\n", NULL);
    make("in/link-in.md", NULL, "sub/b.md");
    make("in/link-out.md", NULL, "../out/secret.md");
    snprintf(root, sizeof root, "%s/in", base);

    const char *env;
    for (size_t i = 0; config_env_override(i, &env, NULL); i++)
        unsetenv(env);
    /* Presets with and without {input}, a parameter, voices and a Notion
     * database, so every validation branch has something to match. */
    cJSON *doc = cJSON_Parse(
        "{\"presets\": ["
        " {\"id\": \"noop\", \"workflow\": \"noop\"},"
        " {\"id\": \"cat\", \"workflow\": \"command\", \"argv\": [\"cat\", \"{input}\"]},"
        " {\"id\": \"echo\", \"workflow\": \"command\","
        "  \"argv\": [\"echo\", \"{param.word}\", \"{jobId}\"], \"maxAttempts\": 2}],"
        " \"voices\": [{\"id\": \"v1\", \"label\": \"V\", \"accent\": \"british_male\","
        "   \"gender\": \"male\", \"provider\": \"espeak\", \"providerVoice\": \"en-gb\"}],"
        " \"notionDatabases\": [{\"id\": \"db-1\", \"name\": \"Lessons\"}]}");
    must(doc != NULL && cJSON_AddStringToObject(doc, "inputRoot", root) != NULL, "cJSON");
    char *text = cJSON_PrintUnformatted(doc);
    must(text != NULL, "cJSON_Print");
    char err[512];
    if (config_load_text(text, base, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_job_request: config: %s\n", err);
        abort();
    }
    cJSON_free(text);
    cJSON_Delete(doc);
    app.cfg = &cfg;
    return 0;
}

/* The server's refusal of "\u0000" (cJSON would cut the string there): a
 * backslash starts an escape only after an even number of backslashes. */
static int has_nul_escape(const char *s, size_t len)
{
    for (size_t i = 0; i + 5 < len; i++) {
        if (s[i] != '\\')
            continue;
        if (memcmp(s + i + 1, "u0000", 5) == 0)
            return 1;
        i++;
    }
    return 0;
}

static int one_of(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}

/* True if two members of object o share a name.  JSON leaves repeated
 * names undefined; today's validator lets them through (the first one
 * counts for top-level fields, params keeps them all). */
static int has_repeated_name(const cJSON *o)
{
    for (const cJSON *a = o->child; a; a = a->next)
        for (const cJSON *b = a->next; b; b = b->next)
            if (a->string && b->string && strcmp(a->string, b->string) == 0)
                return 1;
    return 0;
}

static void check_job(const job *j, const cJSON *body)
{
    static const char *const uploads[] = {"auto", "none"};
    static const char *const modes[] = {"auto", "dialogue", "monologue"};
    const bb_preset *p = j->preset ? config_preset(&cfg, j->preset) : NULL;
    if (!p || j->state != JOB_QUEUED || j->max_attempts != p->max_attempts)
        abort();
    if (!one_of(j->upload, uploads, 2) || !one_of(j->mode, modes, 3))
        abort();
    if (j->priority < -1000 || j->priority > 1000)
        abort();
    if (j->voice_accent && !config_has_accent(&cfg, j->voice_accent))
        abort();
    if (j->notion_database && !config_notion_db(&cfg, j->notion_database))
        abort();
    if (p->uses_input && !j->md)
        abort();
    if (j->input_path) {
        size_t rl = strlen(root);
        struct stat st;
        char real[PATH_MAX];
        if (strncmp(j->input_path, root, rl) != 0 || j->input_path[rl] != '/' ||
            !realpath(j->input_path, real) || strcmp(real, j->input_path) != 0 ||
            lstat(j->input_path, &st) != 0 || !S_ISREG(st.st_mode))
            abort();
    } else if (j->md && !j->file_id) {
        abort();   /* a path md was given but not resolved */
    }
    if (j->file_id && (!j->md || strncmp(j->md, "upl_", 4) != 0 || j->file_id < 1))
        abort();
    /* params: an object of strings, equal to the request's */
    cJSON *params = j->params ? cJSON_Parse(j->params) : NULL;
    if (!cJSON_IsObject(params))
        abort();
    for (const cJSON *it = params->child; it; it = it->next)
        if (!cJSON_IsString(it))
            abort();
    /* (cJSON_Compare looks members up by name, so it cannot compare
     * objects with a repeated name: the validator accepts and keeps those,
     * see has_repeated_name) */
    const cJSON *given = cJSON_GetObjectItemCaseSensitive(body, "params");
    if (cJSON_IsObject(given) && !has_repeated_name(given) &&
        !cJSON_Compare(params, given, 1))
        abort();
    cJSON_Delete(params);
    /* the DTO the API would send */
    char *dto = job_dto_json(j);
    if (!dto || !bb_utf8_valid(dto, strlen(dto)))
        abort();
    cJSON *back = cJSON_Parse(dto);
    if (!cJSON_IsObject(back))
        abort();
    cJSON_Delete(back);
    free(dto);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > BODY_MAX)
        return 0;
    /* expand @ROOT@, then NUL-terminate as the server's body buffer is */
    size_t cap = size + 1 + (size / 6 + 1) * strlen(root);
    char *body = malloc(cap);
    if (!body)
        return 0;
    size_t len = 0;
    for (size_t i = 0; i < size;) {
        if (size - i >= 6 && memcmp(data + i, "@ROOT@", 6) == 0) {
            memcpy(body + len, root, strlen(root));
            len += strlen(root);
            i += 6;
        } else {
            body[len++] = (char)data[i++];
        }
    }
    body[len] = '\0';

    /* the HTTP layer's rules, in its order */
    if (!bb_utf8_valid(body, len) || memchr(body, '\0', len) || has_nul_escape(body, len)) {
        free(body);
        return 0;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithLengthOpts(body, len + 1, &end, 1);
    if (!doc) {
        free(body);
        return 0;
    }


    job j;
    bb_errctx e = {0};
    int rc = svc_job_from_request(&app, doc, &j, &e);
    if (rc == BB_OK) {
        if (e.code != BB_OK)
            abort();
        check_job(&j, doc);
        job_clear(&j);
    } else {
        if (rc != (int)e.code || rc != BB_EINVAL || e.message[0] == '\0')
            abort();
        if (j.preset || j.input_path || j.md || j.params)
            abort();   /* nothing leaks out of a refusal */
    }
    bb_err_clear(&e);
    cJSON_Delete(doc);
    free(body);
    return 0;
}
