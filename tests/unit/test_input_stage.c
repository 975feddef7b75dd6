/* test_input_stage.c — unit tests for svc_input_stage() in
 * src/service/inputs.c: a job's input path is opened again beneath the
 * input root when the attempt starts, and the very file checked is
 * hard-linked (or, across filesystems, copied) into the work directory.
 * Builds a real tree with files and symlinks in a temporary directory. */
#define UNIT_MAIN
#include "unit.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "infra/config.h"
#include "service/inputs.h"

/* Tests must not see BATCHBOX_* variables from whoever runs them. */
__attribute__((constructor)) static void clear_env(void)
{
    const char *e;
    for (size_t i = 0; config_env_override(i, &e, NULL); i++)
        unsetenv(e);
}

static char base[PATH_MAX];      /* realpath of the temp dir */
static char shm_work[PATH_MAX];  /* a work dir on /dev/shm, "" if none */
static bb_config cfg;

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p) == 0 ? 0 : -1;
}

static bool put(const char *rel, const char *text)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    if (!text)
        return mkdir(p, 0755) == 0;
    FILE *f = fopen(p, "w");
    if (!f)
        return false;
    bool ok = fputs(text, f) >= 0;
    return fclose(f) == 0 && ok;
}

static void path_of(char *out, size_t cap, const char *rel)
{
    snprintf(out, cap, "%s/%s", base, rel);
}

/* base/{outside.md, work/, in/a.md, in/sub/b.md, in/dir/} with the
 * config's input root base/in. */
static bool make_tree(void)
{
    const char *tmp = getenv("TMPDIR");
    char t[PATH_MAX], err[256], json[PATH_MAX * 2 + 64];
    snprintf(t, sizeof t, "%s/bbstage.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t) || !realpath(t, base))
        return false;
    if (!(put("outside.md", "secret") && put("work", NULL) && put("in", NULL) &&
          put("in/a.md", "# a") && put("in/sub", NULL) && put("in/sub/b.md", "# b") &&
          put("in/dir", NULL)))
        return false;
    snprintf(json, sizeof json, "{\"inputRoot\": \"%s/in\"}", base);
    memset(&cfg, 0, sizeof cfg);
    return config_load_text(json, NULL, &cfg, err, sizeof err) == 0;
}

static void remove_tree(void)
{
    config_free(&cfg);
    if (base[0])
        nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    if (shm_work[0])
        nftw(shm_work, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    base[0] = shm_work[0] = '\0';
}

#define SETUP()                                                               \
    do {                                                                      \
        if (!make_tree()) {                                                   \
            remove_tree();                                                    \
            FAIL("cannot build the test tree");                               \
        }                                                                     \
    } while (0)

/* Stages the input at base/rel into workdir; returns 0 or -1 and fills
 * staged and err. */
static int stage(const char *rel, const char *workdir, char *staged, char *err, bool *retry)
{
    char abs[PATH_MAX * 2];
    path_of(abs, sizeof abs, rel);
    err[0] = '\0';
    return svc_input_stage(&cfg, abs, workdir, staged, PATH_MAX, err, 512, retry);
}

static bool file_is(const char *path, const char *want)
{
    char buf[64] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    return strcmp(buf, want) == 0;
}

TEST(a_file_in_the_root_is_linked_into_the_work_dir)
{
    SETUP();
    char work[PATH_MAX * 2], staged[PATH_MAX], err[512], want[PATH_MAX * 2];
    bool retry = true;
    path_of(work, sizeof work, "work");
    CHECK_EQ_INT(stage("in/sub/b.md", work, staged, err, &retry), 0);
    snprintf(want, sizeof want, "%s/b.md", work);
    CHECK_STR_EQ(staged, want);
    CHECK(file_is(staged, "# b"));
    struct stat a, b;
    char orig[PATH_MAX * 2];
    path_of(orig, sizeof orig, "in/sub/b.md");
    CHECK(stat(staged, &a) == 0 && stat(orig, &b) == 0);
    CHECK(a.st_ino == b.st_ino);           /* the same file, not a copy */
    remove_tree();
}

TEST(a_symlink_swapped_in_is_refused_and_not_read)
{
    SETUP();
    char work[PATH_MAX * 2], staged[PATH_MAX], err[512], p[PATH_MAX * 2], out[PATH_MAX * 2];
    bool retry = true;
    path_of(work, sizeof work, "work");
    path_of(p, sizeof p, "in/a.md");
    path_of(out, sizeof out, "outside.md");
    CHECK(unlink(p) == 0 && symlink(out, p) == 0);
    CHECK_EQ_INT(stage("in/a.md", work, staged, err, &retry), -1);
    CHECK(strstr(err, "outside the input root") != NULL);
    CHECK(!retry);
    /* a directory on the way swapped for a link out of the root */
    char sub[PATH_MAX * 2], old[PATH_MAX * 2], work_rel[PATH_MAX * 2];
    path_of(sub, sizeof sub, "in/sub");
    path_of(old, sizeof old, "in/sub.old");
    path_of(work_rel, sizeof work_rel, "work");
    CHECK(put("work/b.md", "not the input"));
    CHECK(rename(sub, old) == 0 && symlink(work_rel, sub) == 0);
    CHECK_EQ_INT(stage("in/sub/b.md", work, staged, err, &retry), -1);
    CHECK(strstr(err, "outside the input root") != NULL);
    remove_tree();
}

TEST(gone_not_regular_and_outside_paths_fail_clearly)
{
    SETUP();
    char work[PATH_MAX * 2], staged[PATH_MAX], err[512], p[PATH_MAX * 2];
    bool retry = true;
    path_of(work, sizeof work, "work");
    path_of(p, sizeof p, "in/a.md");
    CHECK(unlink(p) == 0);
    CHECK_EQ_INT(stage("in/a.md", work, staged, err, &retry), -1);
    CHECK(strstr(err, "no longer exists") != NULL);
    CHECK(!retry);
    CHECK_EQ_INT(stage("in/dir", work, staged, err, &retry), -1);
    CHECK(strstr(err, "not a regular file") != NULL || strstr(err, "no longer a regular") != NULL);
    CHECK_EQ_INT(stage("outside.md", work, staged, err, &retry), -1);
    CHECK(strstr(err, "not inside the input root") != NULL);
    CHECK_EQ_INT(stage("in/../outside.md", work, staged, err, &retry), -1);
    CHECK(strstr(err, "not inside the input root") != NULL);
    remove_tree();
}

TEST(across_filesystems_the_input_is_copied)
{
    SETUP();
    struct stat shm, in;
    char inroot[PATH_MAX * 2], staged[PATH_MAX], err[512];
    bool retry = true;
    path_of(inroot, sizeof inroot, "in");
    if (stat("/dev/shm", &shm) != 0 || stat(inroot, &in) != 0 || shm.st_dev == in.st_dev) {
        /* no second filesystem here: the link path is covered above */
        remove_tree();
        return;
    }
    snprintf(shm_work, sizeof shm_work, "/dev/shm/bbstage.XXXXXX");
    CHECK(mkdtemp(shm_work) != NULL);
    CHECK_EQ_INT(stage("in/a.md", shm_work, staged, err, &retry), 0);
    CHECK(file_is(staged, "# a"));
    struct stat a;
    CHECK(stat(staged, &a) == 0 && S_ISREG(a.st_mode));
    CHECK((a.st_mode & 0777) == 0600);
    /* a second attempt into the same (cleaned) directory works again */
    CHECK(unlink(staged) == 0);
    CHECK_EQ_INT(stage("in/a.md", shm_work, staged, err, &retry), 0);
    remove_tree();
}
