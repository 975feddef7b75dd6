/* test_paths.c — unit tests for svc_resolve_input() in src/service/jobs.c:
 * a job's "md" must resolve (realpath) to an existing regular file inside
 * the configured input root.  Builds a real tree in a temporary directory
 * with files, directories and symlinks pointing inside and outside, and
 * checks every refusal names the field "md". */
#define UNIT_MAIN
#include "unit.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <ftw.h>

#include "cJSON.h"
#include "infra/config.h"
#include "service/jobs.h"
#include "util/err.h"

/* Tests must not see BATCHBOX_* variables from whoever runs them. */
__attribute__((constructor)) static void clear_env(void)
{
    const char *e;
    for (size_t i = 0; config_env_override(i, &e, NULL); i++)
        unsetenv(e);
}

static char base[PATH_MAX];      /* realpath of the temp dir */
static char in_root[PATH_MAX];   /* base/in */

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p) == 0 ? 0 : -1;
}

static bool put_file(const char *rel, const char *text)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    FILE *f = fopen(p, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static bool put_dir(const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    return mkdir(p, 0755) == 0;
}

static bool put_link(const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    return symlink(target, p) == 0;
}

/* Builds:
 *   base/outside.md            base/outdir/c.md       base/in2/evil.md
 *   base/in/a.md   base/in/sub/b.md   base/in/sub/dir/
 *   base/in/link_in.md  -> sub/b.md          (relative, inside)
 *   base/in/abs_in.md   -> BASE/in/a.md      (absolute, inside)
 *   base/in/link_out.md -> ../outside.md     (escapes)
 *   base/in/abs_out.md  -> BASE/outside.md   (escapes)
 *   base/in/dirlink     -> ../outdir         (directory outside)
 *   base/in/dangling.md -> nowhere.md
 *   base/in/fifo        (a FIFO)
 *   base/rootlink       -> in                (the root via a symlink) */
static bool make_tree(void)
{
    const char *tmp = getenv("TMPDIR");
    char t[PATH_MAX];
    snprintf(t, sizeof t, "%s/bbpaths.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t) || !realpath(t, base))
        return false;
    snprintf(in_root, sizeof in_root, "%s/in", base);
    char abs_in[PATH_MAX * 2], abs_out[PATH_MAX * 2], fifo[PATH_MAX * 2];
    snprintf(abs_in, sizeof abs_in, "%s/in/a.md", base);
    snprintf(abs_out, sizeof abs_out, "%s/outside.md", base);
    snprintf(fifo, sizeof fifo, "%s/in/fifo", base);
    return put_file("outside.md", "secret\n") && put_dir("outdir") &&
           put_file("outdir/c.md", "c\n") && put_dir("in2") && put_file("in2/evil.md", "e\n") &&
           put_dir("in") && put_file("in/a.md", "# a\n") && put_dir("in/sub") &&
           put_file("in/sub/b.md", "# b\n") && put_dir("in/sub/dir") &&
           put_link("sub/b.md", "in/link_in.md") && put_link(abs_in, "in/abs_in.md") &&
           put_link("../outside.md", "in/link_out.md") && put_link(abs_out, "in/abs_out.md") &&
           put_link("../outdir", "in/dirlink") && put_link("nowhere.md", "in/dangling.md") &&
           mkfifo(fifo, 0600) == 0 && put_link("in", "rootlink");
}

static void remove_tree(void)
{
    if (base[0])
        nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    base[0] = '\0';
}

static bool load_cfg(bb_config *cfg, const char *root)
{
    char json[PATH_MAX * 2 + 64], err[512];
    snprintf(json, sizeof json, "{\"inputRoot\": \"%s\"}", root);
    if (config_load_text(json, NULL, cfg, err, sizeof err) != 0) {
        fprintf(stderr, "config: %s\n", err);
        return false;
    }
    return true;
}

/* md must resolve to base/want_rel. */
static void expect_ok_(const char *file, int line, const bb_config *cfg, const char *md,
                       const char *want_rel)
{
    bb_errctx e = {0};
    char want[PATH_MAX * 2];
    snprintf(want, sizeof want, "%s/%s", base, want_rel);
    char *got = svc_resolve_input(cfg, md, &e);
    if (!got)
        unit_fail_(file, line, "\"%s\" refused: %s", md, e.message);
    else if (strcmp(got, want) != 0)
        unit_fail_(file, line, "\"%s\" resolved to %s, want %s", md, got, want);
    else if (e.code != BB_OK || e.fields != NULL)
        unit_fail_(file, line, "\"%s\" accepted but an error was recorded", md);
    free(got);
    bb_err_clear(&e);
}
#define EXPECT_OK(cfg, md, want_rel)                                          \
    do {                                                                      \
        expect_ok_(__FILE__, __LINE__, cfg, md, want_rel);                    \
        if (unit_failed_)                                                     \
            goto out;                                                         \
    } while (0)

/* md must be refused with a field error on "md" (and only "md"). */
static void expect_refused_(const char *file, int line, const bb_config *cfg, const char *md)
{
    bb_errctx e = {0};
    char *got = svc_resolve_input(cfg, md, &e);
    const cJSON *m = e.fields ? cJSON_GetObjectItemCaseSensitive(e.fields, "md") : NULL;
    if (got)
        unit_fail_(file, line, "\"%.200s\" accepted as %s", md, got);
    else if (e.code != BB_EINVAL)
        unit_fail_(file, line, "\"%.200s\": code %d, want BB_EINVAL", md, (int)e.code);
    else if (!cJSON_IsObject(e.fields) || !cJSON_IsString(m) || !m->valuestring[0])
        unit_fail_(file, line, "\"%.200s\": no field error on md", md);
    else if (cJSON_GetArraySize(e.fields) != 1)
        unit_fail_(file, line, "\"%.200s\": fields other than md were set", md);
    free(got);
    bb_err_clear(&e);
}
#define EXPECT_REFUSED(cfg, md)                                               \
    do {                                                                      \
        expect_refused_(__FILE__, __LINE__, cfg, md);                         \
        if (unit_failed_)                                                     \
            goto out;                                                         \
    } while (0)

/* Sets up the tree and a config rooted at base/<root_rel>; jumps to out
 * (which must free the config and remove the tree) on failure. */
#define SETUP(cfg, root_rel)                                                  \
    bb_config cfg;                                                            \
    memset(&cfg, 0, sizeof cfg);                                              \
    if (!make_tree()) {                                                       \
        remove_tree();                                                        \
        FAIL("cannot build the test tree");                                   \
    }                                                                         \
    {                                                                         \
        char root_[PATH_MAX * 2];                                             \
        snprintf(root_, sizeof root_, "%s/%s", base, root_rel);               \
        if (!load_cfg(&cfg, root_)) {                                         \
            remove_tree();                                                    \
            FAIL("cannot load the config");                                   \
        }                                                                     \
    }

TEST(relative_paths_inside_resolve_to_the_real_path)
{
    SETUP(cfg, "in");
    EXPECT_OK(&cfg, "a.md", "in/a.md");
    EXPECT_OK(&cfg, "sub/b.md", "in/sub/b.md");
    EXPECT_OK(&cfg, "./sub/../a.md", "in/a.md");
    EXPECT_OK(&cfg, "sub//b.md", "in/sub/b.md");
    EXPECT_OK(&cfg, "sub/dir/../b.md", "in/sub/b.md");
out:
    config_free(&cfg);
    remove_tree();
}

TEST(dot_dot_escape_is_refused)
{
    SETUP(cfg, "in");
    EXPECT_REFUSED(&cfg, "../outside.md");
    EXPECT_REFUSED(&cfg, "sub/../../outside.md");
    EXPECT_REFUSED(&cfg, "../in2/evil.md");         /* sibling sharing the prefix */
    EXPECT_REFUSED(&cfg, "../../../../../../../../../../etc/passwd");
out:
    config_free(&cfg);
    remove_tree();
}

TEST(absolute_paths)
{
    SETUP(cfg, "in");
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/in/sub/b.md", base);
    EXPECT_OK(&cfg, p, "in/sub/b.md");
    snprintf(p, sizeof p, "%s/outside.md", base);
    EXPECT_REFUSED(&cfg, p);
    snprintf(p, sizeof p, "%s/in2/evil.md", base);
    EXPECT_REFUSED(&cfg, p);
    snprintf(p, sizeof p, "%s/in/../outside.md", base);
    EXPECT_REFUSED(&cfg, p);
    EXPECT_REFUSED(&cfg, "/etc/passwd");
out:
    config_free(&cfg);
    remove_tree();
}

TEST(symlinks_pointing_outside_are_refused)
{
    SETUP(cfg, "in");
    EXPECT_REFUSED(&cfg, "link_out.md");
    EXPECT_REFUSED(&cfg, "abs_out.md");
    EXPECT_REFUSED(&cfg, "dirlink/c.md");
    EXPECT_REFUSED(&cfg, "dangling.md");
out:
    config_free(&cfg);
    remove_tree();
}

TEST(symlinks_pointing_inside_are_accepted)
{
    SETUP(cfg, "in");
    EXPECT_OK(&cfg, "link_in.md", "in/sub/b.md");
    EXPECT_OK(&cfg, "abs_in.md", "in/a.md");
out:
    config_free(&cfg);
    remove_tree();
}

TEST(directories_and_special_files_are_refused)
{
    SETUP(cfg, "in");
    EXPECT_REFUSED(&cfg, "sub");
    EXPECT_REFUSED(&cfg, "sub/dir");
    EXPECT_REFUSED(&cfg, "sub/dir/");
    EXPECT_REFUSED(&cfg, ".");
    EXPECT_REFUSED(&cfg, in_root);
    EXPECT_REFUSED(&cfg, "fifo");
out:
    config_free(&cfg);
    remove_tree();
}

TEST(missing_empty_and_overlong_are_refused)
{
    SETUP(cfg, "in");
    EXPECT_REFUSED(&cfg, "nope.md");
    EXPECT_REFUSED(&cfg, "sub/nope.md");
    EXPECT_REFUSED(&cfg, "a.md/x");
    EXPECT_REFUSED(&cfg, "");
    {
        char *lng = malloc(PATH_MAX + 10);
        if (!lng)
            FAIL("out of memory");
        memset(lng, 'a', PATH_MAX + 9);
        lng[PATH_MAX + 9] = '\0';
        expect_refused_(__FILE__, __LINE__, &cfg, lng);
        free(lng);
        if (unit_failed_)
            goto out;
    }
out:
    config_free(&cfg);
    remove_tree();
}

TEST(missing_input_root_is_refused)
{
    SETUP(cfg, "no-such-root");
    EXPECT_REFUSED(&cfg, "a.md");
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/in/a.md", base);
    EXPECT_REFUSED(&cfg, p);
out:
    config_free(&cfg);
    remove_tree();
}

TEST(input_root_through_a_symlink)
{
    SETUP(cfg, "rootlink");
    EXPECT_OK(&cfg, "a.md", "in/a.md");
    EXPECT_OK(&cfg, "link_in.md", "in/sub/b.md");
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/in/a.md", base);       /* real path of the root */
    EXPECT_OK(&cfg, p, "in/a.md");
    EXPECT_REFUSED(&cfg, "../outside.md");
    EXPECT_REFUSED(&cfg, "link_out.md");
out:
    config_free(&cfg);
    remove_tree();
}
