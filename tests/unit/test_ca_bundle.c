/* test_ca_bundle.c — unit tests for src/infra/net/ca_bundle.c: which CA
 * bundle the release binary picks (BATCHBOX_CA_BUNDLE alone when set, else
 * the first readable regular file of the search list) and that the search
 * list covers the distributions docs/release.md names. */
#define UNIT_MAIN
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "infra/net/ca_bundle.h"

/* Creates dir/name with some content; returns a malloc'd path (caller frees). */
static char *touch(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (!p)
        return NULL;
    snprintf(p, n, "%s/%s", dir, name);
    FILE *f = fopen(p, "w");
    if (!f || fputs("-----BEGIN CERTIFICATE-----\n", f) == EOF || fclose(f) != 0) {
        free(p);
        return NULL;
    }
    return p;
}

static char *tmpdir(void)
{
    static char tmpl[256];
    const char *t = getenv("TMPDIR");
    snprintf(tmpl, sizeof tmpl, "%s/bbca.XXXXXX", t && *t ? t : "/tmp");
    return mkdtemp(tmpl);
}

TEST(pick_first_readable_candidate)
{
    char *d = tmpdir();
    CHECK(d != NULL);
    char *second = touch(d, "second.pem");
    char *third = touch(d, "third.pem");
    CHECK(second && third);
    char missing[300], dir_not_file[300];
    snprintf(missing, sizeof missing, "%s/missing.pem", d);
    snprintf(dir_not_file, sizeof dir_not_file, "%s", d);
    const char *list[] = {missing, dir_not_file, second, third, NULL};
    CHECK_STR_EQ(bb_ca_bundle_pick(NULL, list), second);
    CHECK_STR_EQ(bb_ca_bundle_pick("", list), second);     /* empty env: ignored */
    const char *none[] = {missing, NULL};
    CHECK(bb_ca_bundle_pick(NULL, none) == NULL);
    CHECK(bb_ca_bundle_pick(NULL, NULL) == NULL);
    unlink(second);
    unlink(third);
    rmdir(d);
    free(second);
    free(third);
}

TEST(env_alone_decides)
{
    char *d = tmpdir();
    CHECK(d != NULL);
    char *env = touch(d, "mine.pem");
    char *cand = touch(d, "system.pem");
    CHECK(env && cand);
    const char *list[] = {cand, NULL};
    CHECK_STR_EQ(bb_ca_bundle_pick(env, list), env);
    char missing[300];
    snprintf(missing, sizeof missing, "%s/missing.pem", d);
    /* a wrong BATCHBOX_CA_BUNDLE is an error, not a reason to trust another file */
    CHECK(bb_ca_bundle_pick(missing, list) == NULL);
    unlink(env);
    unlink(cand);
    rmdir(d);
    free(env);
    free(cand);
}

TEST(search_list_covers_the_distributions)
{
    const char *want[] = {"/etc/ssl/certs/ca-certificates.crt",          /* Debian/Ubuntu */
                          "/etc/pki/tls/certs/ca-bundle.crt",            /* Fedora/RHEL */
                          "/etc/ssl/cert.pem",                           /* Alpine */
                          "/var/lib/ca-certificates/ca-bundle.pem"};     /* openSUSE */
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        int found = 0;
        for (size_t k = 0; bb_ca_bundle_paths[k]; k++)
            found |= strcmp(bb_ca_bundle_paths[k], want[i]) == 0;
        CHECK(found);
    }
    CHECK(strlen(bb_ca_bundle_status()) > 0);
}
