/* test_beneath.c — unit tests for src/util/beneath.c: relative-path checks
 * and opening paths inside a root directory, with openat2 and with the
 * component-by-component fallback, against a real tree holding symlinks
 * that stay inside and symlinks that leave. */
#define UNIT_MAIN
#include "unit.h"

#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "util/beneath.h"

static char base[PATH_MAX];   /* realpath of the temp dir */
static int rootfd = -1;       /* base/in */

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

static bool put_link(const char *target, const char *rel)
{
    char p[PATH_MAX * 2];
    snprintf(p, sizeof p, "%s/%s", base, rel);
    return symlink(target, p) == 0;
}

/* base/outside.txt, base/outdir/c.txt, and the root base/in:
 *   a.txt  sub/b.txt  sub/up.txt -> ../a.txt  link_in.txt -> sub/b.txt
 *   link_out.txt -> ../outside.txt  abs_out.txt -> BASE/outside.txt
 *   dirout -> ../outdir */
static bool make_tree(void)
{
    const char *tmp = getenv("TMPDIR");
    char t[PATH_MAX], abs_out[PATH_MAX * 2];
    snprintf(t, sizeof t, "%s/bbbeneath.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(t) || !realpath(t, base))
        return false;
    snprintf(abs_out, sizeof abs_out, "%s/outside.txt", base);
    bool ok = put("outside.txt", "secret") && put("outdir", NULL) &&
              put("outdir/c.txt", "c") && put("in", NULL) && put("in/a.txt", "a") &&
              put("in/sub", NULL) && put("in/sub/b.txt", "b") &&
              put_link("../a.txt", "in/sub/up.txt") && put_link("sub/b.txt", "in/link_in.txt") &&
              put_link("../outside.txt", "in/link_out.txt") &&
              put_link(abs_out, "in/abs_out.txt") && put_link("../outdir", "in/dirout");
    if (!ok)
        return false;
    char in[PATH_MAX * 2];
    snprintf(in, sizeof in, "%s/in", base);
    rootfd = beneath_open_root(in);
    return rootfd >= 0;
}

static void remove_tree(void)
{
    if (rootfd >= 0)
        close(rootfd);
    rootfd = -1;
    if (base[0])
        nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    base[0] = '\0';
}

#define SETUP()                                                               \
    do {                                                                      \
        if (!make_tree()) {                                                   \
            remove_tree();                                                    \
            FAIL("cannot build the test tree");                               \
        }                                                                     \
    } while (0)

/* The first byte of the file open as fd ('\0' when unreadable); closes fd. */
static char first_byte(int fd)
{
    char c = '\0';
    if (fd >= 0) {
        if (read(fd, &c, 1) != 1)
            c = '\0';
        close(fd);
    }
    return c;
}

typedef int (*open_fn)(int, const char *, int);

/* opening rel must fail because it leaves the root */
static bool escapes(open_fn fn, const char *rel, int flags)
{
    errno = 0;
    int fd = fn(rootfd, rel, flags);
    if (fd >= 0) {
        close(fd);
        return false;
    }
    return beneath_escaped(errno);
}

TEST(rel_problem_refuses_absolute_dotdot_and_controls)
{
    CHECK(beneath_rel_problem("/etc/passwd") != NULL);
    CHECK(beneath_rel_problem("..") != NULL);
    CHECK(beneath_rel_problem("../x") != NULL);
    CHECK(beneath_rel_problem("a/../b") != NULL);
    CHECK(beneath_rel_problem("a/..") != NULL);
    CHECK(beneath_rel_problem("a//../b") != NULL);
    CHECK(beneath_rel_problem("a\nb") != NULL);
    CHECK(beneath_rel_problem(NULL) != NULL);
    char long_path[5000];
    memset(long_path, 'a', sizeof long_path - 1);
    long_path[sizeof long_path - 1] = '\0';
    CHECK(beneath_rel_problem(long_path) != NULL);
    CHECK(beneath_rel_problem("") == NULL);
    CHECK(beneath_rel_problem(".") == NULL);
    CHECK(beneath_rel_problem("a/b.txt") == NULL);
    CHECK(beneath_rel_problem("a//b/./c") == NULL);
    CHECK(beneath_rel_problem("..a/b..") == NULL);
    CHECK(beneath_rel_problem("...") == NULL);
}

/* What both resolvers must agree on. */
static void common_cases(open_fn fn)
{
    CHECK_EQ_INT(first_byte(fn(rootfd, "a.txt", O_RDONLY)), 'a');
    CHECK_EQ_INT(first_byte(fn(rootfd, "sub/b.txt", O_RDONLY)), 'b');
    CHECK_EQ_INT(first_byte(fn(rootfd, "./sub//b.txt", O_RDONLY)), 'b');
    int d = fn(rootfd, "", O_RDONLY | O_DIRECTORY);
    CHECK(d >= 0);
    close(d);
    d = fn(rootfd, "sub/.", O_RDONLY | O_DIRECTORY);
    CHECK(d >= 0);
    close(d);
    CHECK(escapes(fn, "link_out.txt", O_RDONLY));
    CHECK(escapes(fn, "abs_out.txt", O_RDONLY));
    CHECK(escapes(fn, "dirout/c.txt", O_RDONLY));
    CHECK(escapes(fn, "dirout", O_RDONLY | O_DIRECTORY));
    CHECK(escapes(fn, "../outside.txt", O_RDONLY));
    CHECK(escapes(fn, "sub/../../outside.txt", O_RDONLY));
    errno = 0;
    CHECK(fn(rootfd, "missing.txt", O_RDONLY) < 0);
    CHECK_EQ_INT(errno, ENOENT);
    CHECK(!beneath_escaped(ENOENT));
    errno = 0;
    CHECK(fn(rootfd, "a.txt/x", O_RDONLY) < 0);
    CHECK_EQ_INT(errno, ENOTDIR);
}

TEST(open_stays_beneath_the_root)
{
    SETUP();
    common_cases(beneath_open);
    /* openat2 follows a relative link that stays inside; the fallback
     * refuses every link (ELOOP) */
    errno = 0;
    int fd = beneath_open(rootfd, "link_in.txt", O_RDONLY);
    if (fd >= 0)
        CHECK_EQ_INT(first_byte(fd), 'b');
    else
        CHECK_EQ_INT(errno, ELOOP);
    remove_tree();
}

TEST(walk_stays_beneath_the_root_and_refuses_every_link)
{
    SETUP();
    common_cases(beneath_open_walk);
    CHECK(escapes(beneath_open_walk, "link_in.txt", O_RDONLY));
    CHECK(escapes(beneath_open_walk, "sub/up.txt", O_RDONLY));
    remove_tree();
}

TEST(a_directory_swapped_for_a_link_is_not_followed)
{
    SETUP();
    CHECK_EQ_INT(first_byte(beneath_open(rootfd, "sub/b.txt", O_RDONLY)), 'b');
    char sub[PATH_MAX * 2], moved[PATH_MAX * 2], out[PATH_MAX * 2];
    snprintf(sub, sizeof sub, "%s/in/sub", base);
    snprintf(moved, sizeof moved, "%s/in/sub.old", base);
    snprintf(out, sizeof out, "%s/outdir", base);
    CHECK(rename(sub, moved) == 0);
    CHECK(symlink(out, sub) == 0);
    CHECK(put("outdir/b.txt", "X"));
    CHECK(escapes(beneath_open, "sub/b.txt", O_RDONLY));
    CHECK(escapes(beneath_open_walk, "sub/b.txt", O_RDONLY));
    remove_tree();
}
