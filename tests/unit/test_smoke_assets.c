/* test_smoke_assets.c — checks the table that src/tools/embedgen.c
 * generates for src/util/assets.h against the files it was made from:
 * schema.sql and every file under web/ are embedded byte for byte, with a
 * NUL terminator, the right content type, a sorted table and a working
 * bb_asset_find().  Run from the repository root (tests/unit/run.sh does). */
#define UNIT_MAIN
#include "unit.h"

#include <dirent.h>
#include <strings.h>
#include <sys/stat.h>

#include "util/assets.h"

#define MAX_FILE_BYTES (64L * 1024 * 1024)
#define MAX_DEPTH 16

/* Reads a whole file; caller frees.  NULL if missing, unreadable or huge. */
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    long size;

    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 ||
        size > MAX_FILE_BYTES || fseek(f, 0, SEEK_SET) != 0)
        goto out;
    buf = malloc((size_t)size + 1);
    if (buf == NULL)
        goto out;
    if (fread(buf, 1, (size_t)size, f) != (size_t)size) {
        free(buf);
        buf = NULL;
        goto out;
    }
    *len = (size_t)size;
out:
    fclose(f);
    return buf;
}

/* Where the asset came from on disk: "/x" -> "web/x", else as is. */
static void source_path(const char *asset, char *out, size_t cap)
{
    if (asset[0] == '/')
        snprintf(out, cap, "web%s", asset);
    else
        snprintf(out, cap, "%s", asset);
}

/* The content types embedgen promises, restated independently. */
static const char *expected_type(const char *path)
{
    static const char *const table[][2] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".map", "application/json"},
        {".sql", "application/sql"},
        {".md", "text/markdown; charset=utf-8"},
    };
    size_t plen = strlen(path), i, elen;

    for (i = 0; i < sizeof table / sizeof table[0]; i++) {
        elen = strlen(table[i][0]);
        if (plen > elen && strcasecmp(path + plen - elen, table[i][0]) == 0 &&
            path[plen - elen - 1] != '/')
            return table[i][1];
    }
    return "application/octet-stream";
}

TEST(schema_sql_is_embedded)
{
    const struct bb_asset *a = bb_asset_find("schema.sql");

    CHECK(a != NULL);
    CHECK(a->len > 0);
    CHECK_STR_EQ(a->path, "schema.sql");
    CHECK_STR_EQ(a->content_type, "application/sql");
    CHECK_EQ_INT(a->data[a->len], 0);
    CHECK(strcasestr((const char *)a->data, "create table") != NULL);
}

TEST(every_asset_is_well_formed_and_findable)
{
    size_t i;

    CHECK(bb_nassets >= 1);
    for (i = 0; i < bb_nassets; i++) {
        const struct bb_asset *a = &bb_assets[i];

        CHECK(a->path != NULL && a->path[0] != '\0');
        CHECK(a->data != NULL);
        CHECK(a->content_type != NULL && a->content_type[0] != '\0');
        CHECK_EQ_INT(a->data[a->len], 0);
        CHECK_STR_EQ(a->content_type, expected_type(a->path));
        if (i > 0)
            CHECK(strcmp(bb_assets[i - 1].path, a->path) < 0);
        CHECK(bb_asset_find(a->path) == a);
    }
}

TEST(find_misses_cleanly)
{
    CHECK(bb_asset_find(NULL) == NULL);
    CHECK(bb_asset_find("") == NULL);
    CHECK(bb_asset_find("/no/such/asset.html") == NULL);
    CHECK(bb_asset_find("schema.sql/") == NULL);
    CHECK(bb_asset_find("/schema.sql") == NULL);
    CHECK(bb_asset_find("web/index.html") == NULL);
}

TEST(assets_match_their_source_files_byte_for_byte)
{
    char path[1024];
    size_t i, len = 0;

    for (i = 0; i < bb_nassets; i++) {
        const struct bb_asset *a = &bb_assets[i];
        unsigned char *disk;
        int same;

        source_path(a->path, path, sizeof path);
        disk = slurp(path, &len);
        if (disk == NULL)
            FAIL("cannot read %s (run from the repository root)", path);
        same = len == a->len && memcmp(disk, a->data, len) == 0;
        free(disk);
        if (!same)
            FAIL("%s differs from embedded asset %s", path, a->path);
    }
}

/* Walks web/ like the Makefile (skipping dot-files, node_modules and the
 * npm manifests package.json / package-lock.json, which are build inputs,
 * not pages) and fails the test for any regular file that is not
 * embedded. */
static void check_dir_embedded(const char *dir, int depth, size_t *seen)
{
    char path[1024];
    struct dirent *de;
    struct stat st;
    DIR *d;

    if (depth > MAX_DEPTH)
        FAIL("%s: deeper than %d levels", dir, MAX_DEPTH);
    d = opendir(dir);
    if (d == NULL && errno == ENOENT && depth == 0)
        return; /* no web/ at all: nothing to embed */
    if (d == NULL)
        FAIL("cannot open %s: %s", dir, strerror(errno));
    while ((de = readdir(d)) != NULL) {
        int n;

        if (de->d_name[0] == '.' || strcmp(de->d_name, "node_modules") == 0 ||
            (depth == 0 && (strcmp(de->d_name, "package.json") == 0 ||
                            strcmp(de->d_name, "package-lock.json") == 0)))
            continue;
        n = snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        if (n < 0 || (size_t)n >= sizeof path || stat(path, &st) != 0) {
            closedir(d);
            FAIL("cannot stat %s", path);
        }
        if (S_ISDIR(st.st_mode)) {
            check_dir_embedded(path, depth + 1, seen);
            if (unit_failed_)
                break;
        } else if (S_ISREG(st.st_mode)) {
            (*seen)++;
            if (bb_asset_find(path + strlen("web")) == NULL) {
                closedir(d);
                FAIL("%s is not embedded as %s", path, path + strlen("web"));
            }
        }
    }
    closedir(d);
}

TEST(every_web_file_is_embedded)
{
    size_t seen = 0, web_assets = 0, i;

    check_dir_embedded("web", 0, &seen);
    if (unit_failed_)
        return;
    for (i = 0; i < bb_nassets; i++)
        if (bb_assets[i].path[0] == '/')
            web_assets++;
    CHECK_EQ_INT(web_assets, seen);
    CHECK_EQ_INT(bb_nassets, seen + 2); /* + schema.sql, src/infra/config_defaults.json */
}
