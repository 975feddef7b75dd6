/* test_gallery.c — the parts of the gallery service that need no server:
 * which types the ZIP stores rather than deflates, the swept names of a
 * sweep, and gallery_zip_write over an fs store, read back with
 * libarchive's reader (names, bytes, stored/deflated), including the
 * failures that must leave a visibly broken archive (no central
 * directory) and a sink that stops. */
#define UNIT_MAIN
#include "unit.h"

#include <archive.h>
#include <archive_entry.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "infra/storage/storage.h"
#include "service/gallery.h"
#include "util/util.h"

/* A sink into memory, refusing after `fail_after` bytes when non-zero. */
struct mem_sink {
    unsigned char *data;
    size_t len, cap;
    size_t fail_after;
    size_t calls, max_chunk;
};

static int mem_write(void *ud, const void *p, size_t n)
{
    struct mem_sink *m = ud;
    m->calls++;
    if (n > m->max_chunk)
        m->max_chunk = n;
    if (m->fail_after && m->len + n > m->fail_after)
        return -1;
    if (m->len + n > m->cap) {
        size_t cap = (m->len + n) * 2;
        unsigned char *d = realloc(m->data, cap);
        if (!d)
            return -1;
        m->data = d;
        m->cap = cap;
    }
    memcpy(m->data + m->len, p, n);
    m->len += n;
    return 0;
}

struct fixture {
    char dir[256];
    store *s;
};

static bool setup(struct fixture *f)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(f->dir, sizeof f->dir, "%s/gallery.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(f->dir))
        return false;
    struct store_err e;
    f->s = store_fs_open(f->dir, &e);
    return f->s != NULL;
}

static void teardown(struct fixture *f)
{
    store_close(f->s);
    bb_rmtree(f->dir);
}

static bool put(store *s, const char *key, const void *data, size_t n)
{
    struct store_err e;
    store_put *p = store_put_begin(s, key, (int64_t)n, NULL, &e);
    if (!p)
        return false;
    if (store_put_write(p, data, n, &e) != 0) {
        store_put_abort(p);
        return false;
    }
    return store_put_commit(p, NULL, &e) == 0;
}

/* Bytes that deflate well but are not all alike. */
static unsigned char *text_bytes(size_t n)
{
    unsigned char *b = malloc(n);
    for (size_t i = 0; b && i < n; i++)
        b[i] = (unsigned char)("batchbox gallery\n"[i % 17]);
    return b;
}

/* Reads the archive in m back: each entry's path, size, bytes compared
 * with want[i] (n entries, in order).  Returns the number that matched,
 * or -1 when the archive does not open or ends early. */
static int read_back(const struct mem_sink *m, const char *const *paths,
                     const unsigned char *const *want, const size_t *sizes, size_t n)
{
    /* the reader gives a UTF-8 name only where it can convert it */
    setlocale(LC_CTYPE, "C.UTF-8");
    struct archive *a = archive_read_new();
    archive_read_support_format_zip(a);
    if (archive_read_open_memory(a, m->data, m->len) != ARCHIVE_OK) {
        archive_read_free(a);
        return -1;
    }
    int ok = 0;
    struct archive_entry *en;
    for (size_t i = 0; i < n; i++) {
        if (archive_read_next_header(a, &en) != ARCHIVE_OK)
            break;
        unsigned char *buf = malloc(sizes[i] + 1);
        la_ssize_t got = archive_read_data(a, buf, sizes[i] + 1);
        const char *path = archive_entry_pathname_utf8(en);
        if (path && strcmp(path, paths[i]) == 0 && got == (la_ssize_t)sizes[i] &&
            memcmp(buf, want[i], sizes[i]) == 0)
            ok++;
        free(buf);
    }
    bool end = archive_read_next_header(a, &en) == ARCHIVE_EOF;
    archive_read_free(a);
    return end ? ok : -1;
}

/* Whether the bytes hold a ZIP end-of-central-directory record. */
static bool has_eocd(const struct mem_sink *m)
{
    for (size_t i = 0; i + 4 <= m->len; i++)
        if (memcmp(m->data + i, "PK\x05\x06", 4) == 0)
            return true;
    return false;
}

TEST(stored_types)
{
    CHECK(gallery_zip_stored("image/png"));
    CHECK(gallery_zip_stored("image/JPEG"));
    CHECK(gallery_zip_stored("video/mp4"));
    CHECK(gallery_zip_stored("video/webm; codecs=vp9"));
    CHECK(gallery_zip_stored("audio/mpeg"));
    CHECK(gallery_zip_stored("application/zip"));
    CHECK(!gallery_zip_stored("audio/wav"));
    CHECK(!gallery_zip_stored("image/svg+xml"));
    CHECK(!gallery_zip_stored("image/pngx"));
    CHECK(!gallery_zip_stored("text/plain; charset=utf-8"));
    CHECK(!gallery_zip_stored("application/octet-stream"));
    CHECK(!gallery_zip_stored("video"));
    CHECK(!gallery_zip_stored(""));
    CHECK(!gallery_zip_stored(NULL));
}

TEST(swept_names)
{
    static const struct {
        const char *sweep, *want;
    } cases[] = {
        {"{\"size\": [1, 2], \"seed\": {\"count\": 4}}", "[\"size\",\"seed\"]"},
        {"{\"md\": {\"dir\": \"in\", \"glob\": \"*.png\"}}", "[\"md\"]"},
        {"{}", "[]"},
        {"[1, 2]", "[]"},
        {"not json", "[]"},
        {NULL, "[]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cJSON *names = gallery_swept_names(cases[i].sweep);
        char *text = cJSON_PrintUnformatted(names);
        CHECK_STR_EQ(text, cases[i].want);
        free(text);
        cJSON_Delete(names);
    }
}

TEST(zip_round_trip)
{
    struct fixture f;
    CHECK(setup(&f));
    size_t big = 3 * GALLERY_ZIP_BLOCK + 123;
    unsigned char *text = text_bytes(big);
    static const unsigned char png[] = "\x89PNG\r\n\x1a\n not really an image";
    CHECK(put(f.s, "artifacts/7/notes.txt", text, big));
    CHECK(put(f.s, "artifacts/7/a.png", png, sizeof png));
    CHECK(put(f.s, "artifacts/8/empty.txt", "", 0));
    const struct zip_entry ents[] = {
        {"job-7/notes.txt", f.s, "artifacts/7/notes.txt", (int64_t)big, "text/plain", 0},
        {"job-7/\xc3\xbcn\xc3\xaf.png", f.s, "artifacts/7/a.png", sizeof png, "image/png",
         1700000000000},
        {"job-8/empty.txt", f.s, "artifacts/8/empty.txt", 0, NULL, 0},
    };
    struct mem_sink m = {0};
    const struct zip_sink sink = {.write = mem_write, .ud = &m};
    char err[256];
    CHECK_EQ_INT(gallery_zip_write(ents, 3, &sink, err, sizeof err), 0);
    CHECK(m.max_chunk <= GALLERY_ZIP_BLOCK);
    CHECK(has_eocd(&m));
    /* deflated: the repetitive text made the archive smaller than it */
    CHECK(m.len < big);
    const char *paths[] = {ents[0].path, ents[1].path, ents[2].path};
    const unsigned char *want[] = {text, png, (const unsigned char *)""};
    const size_t sizes[] = {big, sizeof png, 0};
    CHECK_EQ_INT(read_back(&m, paths, want, sizes, 3), 3);
    free(m.data);
    free(text);
    teardown(&f);
}

TEST(zip_of_nothing_is_a_valid_empty_archive)
{
    struct mem_sink m = {0};
    const struct zip_sink sink = {.write = mem_write, .ud = &m};
    char err[256];
    CHECK_EQ_INT(gallery_zip_write(NULL, 0, &sink, err, sizeof err), 0);
    CHECK(has_eocd(&m));
    CHECK_EQ_INT(read_back(&m, NULL, NULL, NULL, 0), 0);
    free(m.data);
}

TEST(size_mismatch_leaves_no_central_directory)
{
    struct fixture f;
    CHECK(setup(&f));
    CHECK(put(f.s, "artifacts/1/a.txt", "hello", 5));
    CHECK(put(f.s, "artifacts/1/b.txt", "world", 5));
    /* the row says 9 bytes; the store holds 5 */
    const struct zip_entry ents[] = {
        {"job-1/a.txt", f.s, "artifacts/1/a.txt", 5, "text/plain", 0},
        {"job-1/b.txt", f.s, "artifacts/1/b.txt", 9, "image/png", 0},
    };
    struct mem_sink m = {0};
    const struct zip_sink sink = {.write = mem_write, .ud = &m};
    char err[256];
    CHECK_EQ_INT(gallery_zip_write(ents, 2, &sink, err, sizeof err), -1);
    CHECK(strstr(err, "job-1/b.txt") != NULL);
    CHECK(strstr(err, "5 bytes") != NULL);
    CHECK(!has_eocd(&m));
    free(m.data);
    teardown(&f);
}

TEST(missing_object_fails_without_central_directory)
{
    struct fixture f;
    CHECK(setup(&f));
    CHECK(put(f.s, "artifacts/1/a.txt", "hello", 5));
    const struct zip_entry ents[] = {
        {"job-1/a.txt", f.s, "artifacts/1/a.txt", 5, "text/plain", 0},
        {"job-1/gone.txt", f.s, "artifacts/1/gone.txt", 3, "text/plain", 0},
    };
    struct mem_sink m = {0};
    const struct zip_sink sink = {.write = mem_write, .ud = &m};
    char err[256];
    CHECK_EQ_INT(gallery_zip_write(ents, 2, &sink, err, sizeof err), -1);
    CHECK(strstr(err, "job-1/gone.txt") != NULL);
    CHECK(!has_eocd(&m));
    free(m.data);
    teardown(&f);
}

TEST(sink_that_stops_ends_the_archive)
{
    struct fixture f;
    CHECK(setup(&f));
    size_t big = 8 * GALLERY_ZIP_BLOCK;
    unsigned char *bytes = malloc(big);
    for (size_t i = 0; i < big; i++)
        bytes[i] = (unsigned char)(i * 2654435761u >> 13);
    CHECK(put(f.s, "artifacts/2/x.bin", bytes, big));
    const struct zip_entry ents[] = {
        {"job-2/x.bin", f.s, "artifacts/2/x.bin", (int64_t)big, "video/mp4", 0},
    };
    struct mem_sink m = {.fail_after = 2 * GALLERY_ZIP_BLOCK};
    const struct zip_sink sink = {.write = mem_write, .ud = &m};
    char err[256];
    CHECK_EQ_INT(gallery_zip_write(ents, 1, &sink, err, sizeof err), -1);
    CHECK(strstr(err, "stopped reading") != NULL);
    /* nothing was written after the refusal */
    CHECK(m.len <= 2 * GALLERY_ZIP_BLOCK);
    CHECK(!has_eocd(&m));
    free(m.data);
    free(bytes);
    teardown(&f);
}
