/* fuzz_lesson.c — libFuzzer target for the lesson parser
 * (src/domain/lesson.c, docs/lesson-format.md).
 *
 * Build and run (from the repository root):
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -std=c11 -D_GNU_SOURCE \
 *       -Isrc tests/fuzz/fuzz_lesson.c src/domain/lesson.c src/util/util.c \
 *       -o build/fuzz_lesson
 *   mkdir -p /tmp/lesson-corpus
 *   build/fuzz_lesson -max_total_time=60 -max_len=8192 \
 *       /tmp/lesson-corpus tests/fuzz/corpus/lesson
 *
 * (the first corpus directory receives new inputs; the checked-in seeds are
 * listed second so they stay read-only).  It needs nothing but the parser
 * and util.c.
 *
 * The input is the lesson's bytes.  It is parsed; on success every mode's
 * segments are listed and the lesson is freed.  Besides the sanitizers, it
 * checks: a failure leaves the lesson zeroed with a non-empty, valid UTF-8
 * message whose line is within the document; a success has a title, every
 * string valid UTF-8 with plain never longer than text, items in line
 * order inside the document, distinct speakers (at most
 * LESSON_SPEAKERS_MAX) each used by a speech item, and segments that point
 * at spoken items with non-empty text; auto equals dialogue or monologue.
 * lesson_plain() on the raw bytes never grows them. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/lesson.h"
#include "util/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(cond)                                                      \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "fuzz_lesson: %s:%d: %s\n", __FILE__,          \
                    __LINE__, #cond);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

static void require_text(const char *s)
{
    REQUIRE(s != NULL);
    REQUIRE(bb_utf8_valid(s, strlen(s)));
}

/* Lines in the input as the parser counts them (CRLF, LF, CR). */
static unsigned count_lines(const uint8_t *d, size_t n)
{
    unsigned lines = n > 0;

    for (size_t i = 0; i < n; i++)
        if ((d[i] == '\n' || d[i] == '\r') && i + 1 < n &&
            !(d[i] == '\r' && d[i + 1] == '\n'))
            lines++;
    return lines;
}

static void check_segments(const struct lesson *l, enum lesson_mode m,
                           struct lesson_segment **keep, size_t *keep_n)
{
    struct lesson_segment *seg = NULL;
    struct lesson_error e;
    size_t n = 0;
    enum lesson_mode r = lesson_mode_resolve(l, m);

    REQUIRE(r == LESSON_MODE_DIALOGUE || r == LESSON_MODE_MONOLOGUE);
    if (lesson_segments(l, m, &seg, &n, &e) != 0) {
        REQUIRE(seg == NULL && n == 0);
        REQUIRE(strncmp(e.message, "the lesson has nothing to speak in ",
                        35) == 0);
        *keep = NULL;
        *keep_n = 0;
        return;
    }
    REQUIRE(seg != NULL && n > 0);
    for (size_t i = 0; i < n; i++) {
        const struct lesson_section *sec;
        const struct lesson_item *it;

        REQUIRE(seg[i].section < l->nsections);
        sec = &l->sections[seg[i].section];
        REQUIRE(seg[i].item < sec->nitems);
        it = &sec->items[seg[i].item];
        REQUIRE(seg[i].text == it->plain && seg[i].text[0] != '\0');
        REQUIRE(seg[i].line_no == it->line_no);
        if (r == LESSON_MODE_DIALOGUE) {
            REQUIRE(it->kind == LESSON_ITEM_SPEECH);
            REQUIRE(seg[i].speaker == it->speaker && it->speaker != NULL);
        } else {
            REQUIRE(it->kind == LESSON_ITEM_PARAGRAPH);
            REQUIRE(seg[i].speaker == NULL);
        }
        if (i > 0)
            REQUIRE(seg[i].section > seg[i - 1].section ||
                    (seg[i].section == seg[i - 1].section &&
                     seg[i].item > seg[i - 1].item));
    }
    *keep = seg;
    *keep_n = n;
}

static int same_segments(const struct lesson_segment *a, size_t an,
                         const struct lesson_segment *b, size_t bn)
{
    if (an != bn)
        return 0;
    for (size_t i = 0; i < an; i++)
        if (a[i].section != b[i].section || a[i].item != b[i].item ||
            a[i].speaker != b[i].speaker)
            return 0;
    return 1;
}

static void check_lesson(const struct lesson *l, unsigned lines)
{
    size_t speech = 0;

    require_text(l->title);
    require_text(l->title_plain);
    REQUIRE(l->title_plain[0] != '\0');
    REQUIRE(strlen(l->title_plain) <= strlen(l->title));
    if (l->heading != NULL) {
        require_text(l->heading);
        REQUIRE(l->heading_line >= 1 && l->heading_line <= lines);
    }
    if (l->level != NULL)
        require_text(l->level);
    if (l->topic != NULL)
        require_text(l->topic);
    REQUIRE(l->nmeta <= LESSON_META_MAX);
    for (size_t m = 0; m < l->nmeta; m++) {
        require_text(l->meta[m].key);
        require_text(l->meta[m].value);
    }
    REQUIRE(l->nlines == lines);
    REQUIRE(l->nsections <= LESSON_SECTIONS_MAX);
    REQUIRE(l->nspeakers <= LESSON_SPEAKERS_MAX);
    for (size_t i = 0; i < l->nspeakers; i++) {
        require_text(l->speakers[i]);
        REQUIRE(l->speakers[i][0] != '\0');
        REQUIRE(strlen(l->speakers[i]) <= LESSON_SPEAKER_MAX);
        for (size_t j = 0; j < i; j++)
            REQUIRE(strcmp(l->speakers[i], l->speakers[j]) != 0);
    }
    for (size_t s = 0; s < l->nsections; s++) {
        const struct lesson_section *sec = &l->sections[s];
        unsigned prev = sec->line_no;

        require_text(sec->name);
        REQUIRE(sec->line_no >= 1 && sec->line_no <= lines);
        REQUIRE(sec->nitems == 0 || sec->items != NULL);
        for (size_t i = 0; i < sec->nitems; i++) {
            const struct lesson_item *it = &sec->items[i];

            require_text(it->text);
            require_text(it->plain);
            REQUIRE(strlen(it->plain) <= strlen(it->text));
            REQUIRE(it->line_no >= prev && it->line_no <= lines);
            prev = it->line_no;
            REQUIRE((it->kind == LESSON_ITEM_SPEECH) == (it->speaker != NULL));
            REQUIRE((it->kind == LESSON_ITEM_VOCAB) == (it->term != NULL));
            if (it->kind == LESSON_ITEM_SPEECH) {
                size_t k;

                REQUIRE(sec->kind == LESSON_SECTION_DIALOGUE);
                REQUIRE(it->plain[0] != '\0');
                for (k = 0; k < l->nspeakers; k++)
                    if (strcmp(l->speakers[k], it->speaker) == 0)
                        break;
                REQUIRE(k < l->nspeakers);
                speech++;
            }
            if (it->kind == LESSON_ITEM_VOCAB) {
                require_text(it->term);
                REQUIRE(it->term[0] != '\0');
            }
        }
    }
    REQUIRE((speech > 0) == (l->nspeakers > 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct lesson l;
    struct lesson_error e;
    unsigned lines = count_lines(data, size);
    char *plain;

    if (lesson_parse((const char *)data, size, &l, &e) != 0) {
        static const struct lesson zero;

        REQUIRE(memcmp(&l, &zero, sizeof l) == 0);
        REQUIRE(e.message[0] != '\0');
        REQUIRE(strlen(e.message) < sizeof e.message);
        require_text(e.message);
        REQUIRE(e.line <= lines);
        lesson_free(&l);
    } else {
        struct lesson_segment *a, *d, *m;
        size_t an, dn, mn;

        check_lesson(&l, lines);
        check_segments(&l, LESSON_MODE_AUTO, &a, &an);
        check_segments(&l, LESSON_MODE_DIALOGUE, &d, &dn);
        check_segments(&l, LESSON_MODE_MONOLOGUE, &m, &mn);
        REQUIRE(same_segments(a, an, d, dn) || same_segments(a, an, m, mn));
        REQUIRE(dn == 0 || same_segments(a, an, d, dn));
        free(a);
        free(d);
        free(m);
        lesson_free(&l);
        REQUIRE(l.sections == NULL && l.title == NULL);
    }
    plain = lesson_plain((const char *)data, size);
    REQUIRE(plain != NULL);
    REQUIRE(strlen(plain) <= size);
    if (bb_utf8_valid((const char *)data, size))
        require_text(plain);
    free(plain);
    return 0;
}
