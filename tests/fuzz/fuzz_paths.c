/* fuzz_paths.c — libFuzzer target for input path normalization
 * (svc_resolve_input in src/service/jobs.c): a job's "md" must resolve to
 * a regular file inside the input root, whatever ".."s, slashes, absolute
 * paths and symlinks it uses.  Build and run with tests/fuzz/run.sh; seeds
 * in tests/fuzz/corpus/paths/.
 *
 * A temporary tree is made once:
 *   BASE/in/                 the input root
 *     a.md  sub/b.md  sub/deep/c.md  dir/      files and a directory
 *     link-in.md  -> sub/b.md             a symlink that stays inside
 *     link-out.md -> ../out/secret.md     one that leaves the root
 *     link-dir    -> sub                  a directory symlink
 *     link-abs    -> /etc/passwd          an absolute one outside
 *     loop        -> loop                 a symlink loop
 *   BASE/out/secret.md       outside the root
 *   BASE/in-evil/x.md        a sibling whose name starts like the root's
 * The input (cut at the first NUL) is the md value; "@ROOT@" and "@BASE@"
 * in it are replaced by the real paths, so seeds can hold absolute paths.
 *
 * Besides the sanitizers it checks: an accepted path is the real path of
 * one of the three regular files inside the root (never the outside ones,
 * whatever the route); a refused one is a 400 naming the field "md". */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cJSON.h"
#include "infra/config.h"
#include "service/jobs.h"
#include "util/err.h"

#define TEXT_MAX 4096

static char base[PATH_MAX];
static char root[PATH_MAX];
static char inside[3][PATH_MAX];   /* the only acceptable answers */
static bb_config cfg;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void must(int ok, const char *what)
{
    if (!ok) {
        perror(what);
        abort();
    }
}

static void put(const char *rel, const char *text)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    must(f != NULL, p);
    must(fputs(text, f) >= 0, p);
    must(fclose(f) == 0, p);
}

static void dir(const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    must(mkdir(p, 0755) == 0, p);
}

static void link_to(const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    must(symlink(target, p) == 0, p);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    char tmpl[PATH_MAX];
    const char *tmp = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/bbfz-paths-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    must(mkdtemp(tmpl) != NULL, "mkdtemp");
    must(realpath(tmpl, base) != NULL, "realpath");
    dir("in");
    dir("in/sub");
    dir("in/sub/deep");
    dir("in/dir");
    dir("out");
    dir("in-evil");
    put("in/a.md", "# A\n");
    put("in/sub/b.md", "# B\n");
    put("in/sub/deep/c.md", "# C\n");
    put("out/secret.md", "secret\n");
    put("in-evil/x.md", "evil\n");
    link_to("sub/b.md", "in/link-in.md");
    link_to("../out/secret.md", "in/link-out.md");
    link_to("sub", "in/link-dir");
    link_to("/etc/passwd", "in/link-abs");
    link_to("loop", "in/loop");
    snprintf(root, sizeof root, "%s/in", base);
    snprintf(inside[0], PATH_MAX, "%s/a.md", root);
    snprintf(inside[1], PATH_MAX, "%s/sub/b.md", root);
    snprintf(inside[2], PATH_MAX, "%s/sub/deep/c.md", root);

    const char *env;
    for (size_t i = 0; config_env_override(i, &env, NULL); i++)
        unsetenv(env);
    cJSON *doc = cJSON_CreateObject();
    must(doc && cJSON_AddStringToObject(doc, "inputRoot", root) != NULL, "cJSON");
    char *text = cJSON_PrintUnformatted(doc);
    must(text != NULL, "cJSON_Print");
    char err[512];
    if (config_load_text(text, base, &cfg, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz_paths: config: %s\n", err);
        abort();
    }
    cJSON_free(text);
    cJSON_Delete(doc);
    return 0;
}

/* Copies in to out (cap) replacing @ROOT@ and @BASE@; false if too long. */
static int expand(const char *in, char *out, size_t cap)
{
    size_t o = 0;
    while (*in) {
        const char *sub = NULL;
        if (strncmp(in, "@ROOT@", 6) == 0)
            sub = root;
        else if (strncmp(in, "@BASE@", 6) == 0)
            sub = base;
        size_t n = sub ? strlen(sub) : 1;
        if (o + n >= cap)
            return 0;
        memcpy(out + o, sub ? sub : in, n);
        o += n;
        in += sub ? 6 : 1;
    }
    out[o] = '\0';
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > TEXT_MAX)
        return 0;
    char raw[TEXT_MAX + 1];
    memcpy(raw, data, size);
    raw[size] = '\0';
    static char md[PATH_MAX * 4];
    if (!expand(raw, md, sizeof md))
        return 0;

    bb_errctx e = {0};
    char *got = svc_resolve_input(&cfg, md, &e);
    if (got) {
        if (e.code != BB_OK)
            abort();
        int known = 0;
        for (int i = 0; i < 3; i++)
            known |= strcmp(got, inside[i]) == 0;
        if (!known) {
            fprintf(stderr, "fuzz_paths: \"%s\" resolved to \"%s\"\n", md, got);
            abort();
        }
        struct stat st;
        if (lstat(got, &st) != 0 || !S_ISREG(st.st_mode))
            abort();
        free(got);
    } else {
        if (e.code != BB_EINVAL || !cJSON_GetObjectItemCaseSensitive(e.fields, "md"))
            abort();
    }
    bb_err_clear(&e);
    return 0;
}
