/* test_lesson.c — unit tests for the lesson parser and speech segments
 * (src/domain/lesson.c, docs/lesson-format.md): the shared example
 * lessons (from tests/unit/lessons/, and from ../shared/examples/lessons/
 * too when that directory exists beside the repository), line endings,
 * BOM, UTF-8 names, inline Markdown and HTML, every error with its line
 * number, the size limits, and the mode rules. */
#define UNIT_MAIN
#include "unit.h"

#include "domain/lesson.h"
#include "util/util.h"

#define FIXTURES "tests/unit/lessons/"
#define SHARED "../shared/examples/lessons/"

/* Parses a C string. */
static int parse(const char *s, struct lesson *l, struct lesson_error *e)
{
    return lesson_parse(s, strlen(s), l, e);
}

/* Reads a file (caller frees), NULL when it is missing. */
static char *slurp(const char *path, size_t *len)
{
    return bb_read_file(path, 4u << 20, len);
}

/* Copy of s[0..n) with every "\n" replaced by eol (caller frees). */
static char *with_eol(const char *s, size_t n, const char *eol, size_t *out_n)
{
    size_t el = strlen(eol), lines = 0, o = 0;
    char *d;

    for (size_t i = 0; i < n; i++)
        lines += s[i] == '\n';
    d = malloc(n + lines * el + 1);
    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n') {
            memcpy(d + o, eol, el);
            o += el;
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    *out_n = o;
    return d;
}

static int streq_null(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Checks that two parsed lessons are the same, field by field. */
static void check_same(const struct lesson *a, const struct lesson *b)
{
    CHECK(streq_null(a->title, b->title));
    CHECK(streq_null(a->title_plain, b->title_plain));
    CHECK(streq_null(a->heading, b->heading));
    CHECK_EQ_INT(a->heading_line, b->heading_line);
    CHECK(streq_null(a->level, b->level));
    CHECK(streq_null(a->topic, b->topic));
    CHECK_EQ_INT(a->nlines, b->nlines);
    CHECK_EQ_INT(a->nmeta, b->nmeta);
    for (size_t m = 0; m < a->nmeta; m++) {
        CHECK_STR_EQ(a->meta[m].key, b->meta[m].key);
        CHECK_STR_EQ(a->meta[m].value, b->meta[m].value);
        CHECK_EQ_INT(a->meta[m].line_no, b->meta[m].line_no);
    }
    CHECK_EQ_INT(a->nspeakers, b->nspeakers);
    for (size_t i = 0; i < a->nspeakers; i++)
        CHECK_STR_EQ(a->speakers[i], b->speakers[i]);
    CHECK_EQ_INT(a->nsections, b->nsections);
    for (size_t s = 0; s < a->nsections; s++) {
        const struct lesson_section *x = &a->sections[s], *y = &b->sections[s];

        CHECK_STR_EQ(x->name, y->name);
        CHECK_EQ_INT(x->kind, y->kind);
        CHECK_EQ_INT(x->line_no, y->line_no);
        CHECK_EQ_INT(x->nitems, y->nitems);
        for (size_t i = 0; i < x->nitems; i++) {
            const struct lesson_item *p = &x->items[i], *q = &y->items[i];

            CHECK_EQ_INT(p->kind, q->kind);
            CHECK_EQ_INT(p->line_no, q->line_no);
            CHECK(streq_null(p->speaker, q->speaker));
            CHECK(streq_null(p->term, q->term));
            CHECK_STR_EQ(p->text, q->text);
            CHECK_STR_EQ(p->plain, q->plain);
        }
    }
}

/* ------------------------------------------------- the shared examples */

static void check_a2(const char *src, size_t len)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_section *d, *v;
    struct lesson_segment *seg;
    size_t n;
    static const char *const who[] = {"Tourist", "Local", "Tourist",
                                      "Local", "Tourist", "Local"};

    CHECK_EQ_INT(lesson_parse(src, len, &l, &e), 0);
    CHECK_STR_EQ(l.title, "Asking for Directions");
    CHECK_STR_EQ(l.heading, "Asking for Directions");
    CHECK_EQ_INT(l.heading_line, 1);
    CHECK(l.level == NULL && l.topic == NULL && l.nmeta == 0);
    CHECK_EQ_INT(l.nlines, 15);
    CHECK_EQ_INT(l.nsections, 2);
    d = &l.sections[0];
    v = &l.sections[1];
    CHECK_STR_EQ(d->name, "Dialogue");
    CHECK_EQ_INT(d->kind, LESSON_SECTION_DIALOGUE);
    CHECK_EQ_INT(d->line_no, 3);
    CHECK_EQ_INT(d->nitems, 6);
    for (size_t i = 0; i < 6; i++) {
        CHECK_EQ_INT(d->items[i].kind, LESSON_ITEM_SPEECH);
        CHECK_STR_EQ(d->items[i].speaker, who[i]);
        CHECK_EQ_INT(d->items[i].line_no, 5 + i);
    }
    CHECK_STR_EQ(d->items[0].text,
                 "Excuse me, is there a train station near here?");
    CHECK_STR_EQ(d->items[3].plain,
                 "No, it's about five minutes on foot. You can't miss it.");
    CHECK_EQ_INT(l.nspeakers, 2);
    CHECK_STR_EQ(l.speakers[0], "Tourist");
    CHECK_STR_EQ(l.speakers[1], "Local");
    CHECK_STR_EQ(v->name, "Vocabulary");
    CHECK_EQ_INT(v->kind, LESSON_SECTION_VOCABULARY);
    CHECK_EQ_INT(v->nitems, 2);
    CHECK_STR_EQ(v->items[0].term, "straight on");
    CHECK_STR_EQ(v->items[0].text, "forward, without turning");
    CHECK_EQ_INT(v->items[0].line_no, 14);
    CHECK_STR_EQ(v->items[1].term, "on foot");
    CHECK_STR_EQ(v->items[1].text, "walking");

    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &seg, &n, &e), 0);
    CHECK_EQ_INT(n, 6);
    CHECK_STR_EQ(seg[5].speaker, "Local");
    CHECK_STR_EQ(seg[5].text, "You're welcome. Have a nice day.");
    CHECK_EQ_INT(seg[5].line_no, 10);
    CHECK_EQ_INT(seg[5].section, 0);
    CHECK_EQ_INT(seg[5].item, 5);
    free(seg);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_MONOLOGUE, &seg, &n, &e), -1);
    CHECK(seg == NULL && n == 0);
    lesson_free(&l);
}

static void check_b1(const char *src, size_t len)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_section *d, *v, *x;
    struct lesson_segment *seg;
    size_t n;

    CHECK_EQ_INT(lesson_parse(src, len, &l, &e), 0);
    CHECK_STR_EQ(l.title, "At the Coffee Shop");
    CHECK_STR_EQ(l.heading, "At the Coffee Shop");
    CHECK_EQ_INT(l.heading_line, 7);
    CHECK_STR_EQ(l.level, "B1");
    CHECK_STR_EQ(l.topic, "Ordering food and drink");
    CHECK_EQ_INT(l.nmeta, 0);
    CHECK_EQ_INT(l.nlines, 29);
    CHECK_EQ_INT(l.nsections, 3);
    d = &l.sections[0];
    v = &l.sections[1];
    x = &l.sections[2];
    CHECK_EQ_INT(d->kind, LESSON_SECTION_DIALOGUE);
    CHECK_EQ_INT(d->nitems, 7);
    for (size_t i = 0; i < 7; i++) {
        CHECK_EQ_INT(d->items[i].kind, LESSON_ITEM_SPEECH);
        CHECK_STR_EQ(d->items[i].speaker, i % 2 == 0 ? "Barista" : "Maya");
        CHECK_EQ_INT(d->items[i].line_no, 11 + i);
    }
    CHECK_STR_EQ(d->items[1].text,
                 "Hi. Could I have a large latte with oat milk, please?");
    CHECK_EQ_INT(l.nspeakers, 2);
    CHECK_STR_EQ(l.speakers[0], "Barista");
    CHECK_STR_EQ(l.speakers[1], "Maya");
    CHECK_EQ_INT(v->kind, LESSON_SECTION_VOCABULARY);
    CHECK_EQ_INT(v->nitems, 3);
    CHECK_STR_EQ(v->items[0].term, "oat milk");
    CHECK_STR_EQ(v->items[0].text,
                 "a milk made from oats, often used instead of cow's milk");
    CHECK_STR_EQ(v->items[1].term, "altogether");
    CHECK_STR_EQ(v->items[1].text, "in total");
    CHECK_STR_EQ(v->items[2].term, "to tap");
    CHECK_STR_EQ(v->items[2].text, "to touch something quickly and lightly");
    CHECK_STR_EQ(x->name, "Exercises");
    CHECK_EQ_INT(x->kind, LESSON_SECTION_EXERCISES);
    CHECK_EQ_INT(x->nitems, 3);
    CHECK_EQ_INT(x->items[0].kind, LESSON_ITEM_RAW);
    CHECK_STR_EQ(x->items[0].text, "1. What size latte does Maya order?");
    CHECK_STR_EQ(x->items[2].text, "3. Write three sentences you could use "
                                   "to order at a caf\xC3\xA9.");
    CHECK_EQ_INT(x->items[2].line_no, 29);

    CHECK_EQ_INT(lesson_mode_resolve(&l, LESSON_MODE_AUTO),
                 LESSON_MODE_DIALOGUE);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_DIALOGUE, &seg, &n, &e), 0);
    CHECK_EQ_INT(n, 7);
    CHECK_STR_EQ(seg[0].speaker, "Barista");
    CHECK_STR_EQ(seg[0].text, "Good morning! What can I get for you today?");
    free(seg);
    lesson_free(&l);
}

static void check_b2(const char *src, size_t len)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_section *r, *v, *x;
    struct lesson_segment *seg;
    size_t n;

    CHECK_EQ_INT(lesson_parse(src, len, &l, &e), 0);
    CHECK_STR_EQ(l.title, "The Rise of Remote Work");
    CHECK_STR_EQ(l.level, "B2");
    CHECK_STR_EQ(l.topic, "Work and technology");
    CHECK_EQ_INT(l.nlines, 27);
    CHECK_EQ_INT(l.nspeakers, 0);
    CHECK_EQ_INT(l.nsections, 3);
    r = &l.sections[0];
    v = &l.sections[1];
    x = &l.sections[2];
    CHECK_STR_EQ(r->name, "Reading");
    CHECK_EQ_INT(r->kind, LESSON_SECTION_READING);
    CHECK_EQ_INT(r->nitems, 3);
    for (size_t i = 0; i < 3; i++) {
        CHECK_EQ_INT(r->items[i].kind, LESSON_ITEM_PARAGRAPH);
        CHECK_EQ_INT(r->items[i].line_no, 11 + 2 * i);
    }
    CHECK(strncmp(r->items[0].text, "Over the last few years, millions", 33) == 0);
    CHECK(strstr(r->items[2].text, "remains to be seen.") != NULL);
    CHECK_EQ_INT(v->nitems, 4);
    CHECK_STR_EQ(v->items[0].term, "to swap");
    CHECK_STR_EQ(v->items[3].term, "compromise");
    CHECK_STR_EQ(v->items[3].text,
                 "an agreement in which each side gives up something");
    CHECK_EQ_INT(x->nitems, 2);
    CHECK_STR_EQ(x->items[1].text, "2. What is a hybrid model?");

    CHECK_EQ_INT(lesson_mode_resolve(&l, LESSON_MODE_AUTO),
                 LESSON_MODE_MONOLOGUE);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &seg, &n, &e), 0);
    CHECK_EQ_INT(n, 3);
    CHECK(seg[0].speaker == NULL);
    CHECK_EQ_INT(seg[1].line_no, 13);
    CHECK(strncmp(seg[1].text, "However, working from home", 26) == 0);
    free(seg);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_DIALOGUE, &seg, &n, &e), -1);
    CHECK_STR_EQ(e.message, "the lesson has nothing to speak in dialogue "
                            "mode: no `Speaker: text` line in a ## "
                            "Dialogue section");
    lesson_free(&l);
}

/* Runs check on the fixture copy and, when ../shared exists, on the
 * shared original too. */
static void check_example(const char *name,
                          void (*check)(const char *, size_t))
{
    char path[256];
    size_t len;
    char *src;

    snprintf(path, sizeof path, FIXTURES "%s", name);
    src = slurp(path, &len);
    CHECK(src != NULL);
    check(src, len);
    free(src);
    if (unit_failed_)
        return;
    snprintf(path, sizeof path, SHARED "%s", name);
    src = slurp(path, &len);
    if (src == NULL)
        return; /* ../shared is not beside this checkout */
    check(src, len);
    free(src);
}

TEST(example_a2_directions)
{
    check_example("a2-directions.md", check_a2);
}

TEST(example_b1_coffee_shop)
{
    check_example("b1-coffee-shop.md", check_b1);
}

TEST(example_b2_remote_work)
{
    check_example("b2-remote-work.md", check_b2);
}

/* The example in docs/lesson-format.md parses as that page says. */
TEST(documented_example_parses_as_described)
{
    static const enum lesson_section_kind kinds[] = {
        LESSON_SECTION_INTRO, LESSON_SECTION_DIALOGUE, LESSON_SECTION_READING,
        LESSON_SECTION_VOCABULARY, LESSON_SECTION_EXERCISES};
    size_t len, n;
    char *doc = slurp("docs/lesson-format.md", &len), *start, *end;
    struct lesson l;
    struct lesson_error e;
    struct lesson_segment *seg;
    const struct lesson_section *d;

    CHECK(doc != NULL);
    start = strstr(doc, "```markdown\n");
    CHECK(start != NULL);
    start += strlen("```markdown\n");
    end = strstr(start, "\n```\n");
    CHECK(end != NULL);
    CHECK_EQ_INT(lesson_parse(start, (size_t)(end - start) + 1, &l, &e), 0);
    free(doc);
    CHECK_STR_EQ(l.title, "At the Coffee Shop");
    CHECK_STR_EQ(l.level, "B1");
    CHECK_STR_EQ(l.topic, "Ordering food and drink");
    CHECK_EQ_INT(l.nmeta, 1);
    CHECK_STR_EQ(l.meta[0].key, "author");
    CHECK_EQ_INT(l.nsections, 5);
    for (size_t i = 0; i < 5; i++)
        CHECK_EQ_INT(l.sections[i].kind, kinds[i]);
    d = &l.sections[1];
    CHECK_EQ_INT(d->nitems, 4);
    CHECK_EQ_INT(d->items[2].kind, LESSON_ITEM_DIRECTION);
    CHECK_EQ_INT(l.nspeakers, 3);
    CHECK_STR_EQ(l.speakers[2], "Jos\xC3\xA9");
    CHECK_EQ_INT(l.sections[2].nitems, 2);
    CHECK_EQ_INT(l.sections[3].nitems, 3);
    CHECK_EQ_INT(l.sections[4].nitems, 2);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &seg, &n, &e), 0);
    CHECK_EQ_INT(n, 3);
    free(seg);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_MONOLOGUE, &seg, &n, &e), 0);
    CHECK_EQ_INT(n, 2);
    free(seg);
    lesson_free(&l);
}

/* CRLF, CR-only and BOM + CRLF versions of every example parse to the
 * same lesson as the LF original. */
TEST(line_endings_and_bom_give_the_same_lesson)
{
    static const char *const names[] = {"a2-directions.md",
                                        "b1-coffee-shop.md",
                                        "b2-remote-work.md"};
    static const char *const eols[] = {"\r\n", "\r", "\xEF\xBB\xBF"};

    for (size_t f = 0; f < 3; f++) {
        char path[256];
        size_t len;
        char *src;
        struct lesson a;
        struct lesson_error e;

        snprintf(path, sizeof path, FIXTURES "%s", names[f]);
        src = slurp(path, &len);
        CHECK(src != NULL);
        CHECK_EQ_INT(lesson_parse(src, len, &a, &e), 0);
        for (size_t k = 0; k < 3; k++) {
            struct lesson b;
            size_t n2;
            char *v;

            if (k < 2) {
                v = with_eol(src, len, eols[k], &n2);
            } else { /* BOM, then CRLF */
                char *crlf = with_eol(src, len, "\r\n", &n2);

                CHECK(crlf != NULL);
                v = malloc(n2 + 4);
                CHECK(v != NULL);
                memcpy(v, "\xEF\xBB\xBF", 3);
                memcpy(v + 3, crlf, n2 + 1);
                n2 += 3;
                free(crlf);
            }
            CHECK(v != NULL);
            CHECK_EQ_INT(lesson_parse(v, n2, &b, &e), 0);
            check_same(&a, &b);
            lesson_free(&b);
            free(v);
            if (unit_failed_)
                return;
        }
        lesson_free(&a);
        free(src);
    }
}

/* Line numbers count CRLF, LF and CR breaks alike, even mixed. */
TEST(mixed_line_endings_count_lines)
{
    struct lesson l;
    struct lesson_error e;

    CHECK_EQ_INT(parse("# T\r\n## Dialogue\rA: one\nB: two\r\n\r\nnope\n",
                       &l, &e),
                 -1);
    CHECK_EQ_INT(e.line, 6);
    CHECK_STR_EQ(e.message, "line 6: expected `Speaker: text` in ## "
                            "Dialogue (got `nope`)");
}

/* ----------------------------------------------------------- speakers */

TEST(unicode_speaker_names_in_every_form)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_section *d;
    const char *const *sp;
    size_t n;

    CHECK_EQ_INT(parse("# Names\n"
                       "## Dialogue\n"
                       "**Zo\xC3\xAB:** Hi, I'm Zo\xC3\xAB.\n"
                       "**Jos\xC3\xA9**: Hola.\n"
                       "\xE5\x88\x98\xE6\xB4\x8B: \xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x81\n"
                       "*Zo\xC3\xAB:* Again.\n"
                       "_Jos\xC3\xA9_: Again.\n"
                       "__Mr. O'Brien-Smith:__ Hello there.\n"
                       "- Zo\xC3\xAB: A bullet.\n"
                       "* \xE5\x88\x98\xE6\xB4\x8B: Another.\n"
                       "Speaker 2: Numbers are fine.\n",
                       &l, &e),
                 0);
    d = &l.sections[0];
    CHECK_EQ_INT(d->nitems, 9);
    CHECK_STR_EQ(d->items[0].speaker, "Zo\xC3\xAB");
    CHECK_STR_EQ(d->items[0].text, "Hi, I'm Zo\xC3\xAB.");
    CHECK_STR_EQ(d->items[1].speaker, "Jos\xC3\xA9");
    CHECK_STR_EQ(d->items[1].text, "Hola.");
    CHECK_STR_EQ(d->items[2].speaker, "\xE5\x88\x98\xE6\xB4\x8B");
    CHECK_STR_EQ(d->items[2].text, "\xE4\xBD\xA0\xE5\xA5\xBD\xEF\xBC\x81");
    CHECK_STR_EQ(d->items[3].speaker, "Zo\xC3\xAB");
    CHECK_STR_EQ(d->items[4].speaker, "Jos\xC3\xA9");
    CHECK_STR_EQ(d->items[5].speaker, "Mr. O'Brien-Smith");
    CHECK_STR_EQ(d->items[6].speaker, "Zo\xC3\xAB");
    CHECK_STR_EQ(d->items[6].text, "A bullet.");
    CHECK_STR_EQ(d->items[7].speaker, "\xE5\x88\x98\xE6\xB4\x8B");
    CHECK_STR_EQ(d->items[8].speaker, "Speaker 2");
    sp = lesson_speakers(&l, &n);
    CHECK_EQ_INT(n, 5);
    CHECK(sp == (const char *const *)l.speakers);
    CHECK_STR_EQ(sp[0], "Zo\xC3\xAB");
    CHECK_STR_EQ(sp[1], "Jos\xC3\xA9");
    CHECK_STR_EQ(sp[2], "\xE5\x88\x98\xE6\xB4\x8B");
    CHECK_STR_EQ(sp[3], "Mr. O'Brien-Smith");
    CHECK_STR_EQ(sp[4], "Speaker 2");
    lesson_free(&l);
}

/* Speaker names are compared byte for byte: "maya" is not "Maya". */
TEST(speakers_are_distinct_by_exact_name)
{
    struct lesson l;
    struct lesson_error e;

    CHECK_EQ_INT(parse("# T\n## Dialogue\nMaya: a\nmaya: b\nMaya: c\n", &l,
                       &e),
                 0);
    CHECK_EQ_INT(l.nspeakers, 2);
    CHECK_STR_EQ(l.speakers[1], "maya");
    lesson_free(&l);
}

/* Lines that are not speaker lines, each rejected with its line number. */
TEST(non_speaker_lines_in_dialogue_are_errors)
{
    static const char *const bad[] = {
        "Hello there",                      /* no colon */
        "**Maya: I really like it**",       /* colon inside the bold text */
        "Go straight on, then left: ok",    /* ',' cannot be in a name */
        "1st: one",                         /* a name starts with a letter */
        "[Maya](x): hi",                    /* markup in the name */
        "*Maya* says: hi",
        "A very very very very very very very very very very very very very long name: x",
        "| Maya | hi |",
    };
    const char *prefix =
        "line 6: expected `Speaker: text` in ## Dialogue (got `";

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char doc[256];
        struct lesson l;
        struct lesson_error e;

        snprintf(doc, sizeof doc, "# T\n\n## Dialogue\n\nA: ok\n%s\nB: ok\n",
                 bad[i]);
        CHECK_EQ_INT(parse(doc, &l, &e), -1);
        CHECK_EQ_INT(e.line, 6);
        CHECK(strncmp(e.message, prefix, strlen(prefix)) == 0);
        CHECK(l.sections == NULL && l.nsections == 0 && l.title == NULL);
        lesson_free(&l); /* a no-op on the zeroed lesson */
    }
}

TEST(speaker_without_text_is_an_error)
{
    struct lesson l;
    struct lesson_error e;

    CHECK_EQ_INT(parse("# T\n## Dialogue\nA: hi\n**Maya:**\n", &l, &e), -1);
    CHECK_STR_EQ(e.message, "line 4: `Maya:` has no text to speak");
    CHECK_EQ_INT(parse("# T\n## Dialogue\nMaya: <br> <!-- x -->\n", &l, &e),
                 -1);
    CHECK_STR_EQ(e.message, "line 3: `Maya:` has no text to speak");
}

TEST(directions_headings_breaks_and_comments_in_dialogue)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_section *d;
    struct lesson_segment *seg;
    size_t n;

    CHECK_EQ_INT(parse("# T\n## Dialogue\n"
                       "### Part 1\n"
                       "(Maya walks in.)\n"
                       "A: Hi.\n"
                       "<!-- a note for the teacher -->\n"
                       "---\n"
                       "*(B laughs)*\n"
                       "B: Hello.\n",
                       &l, &e),
                 0);
    d = &l.sections[0];
    CHECK_EQ_INT(d->nitems, 5);
    CHECK_EQ_INT(d->items[0].kind, LESSON_ITEM_HEADING);
    CHECK_STR_EQ(d->items[0].text, "Part 1");
    CHECK_EQ_INT(d->items[1].kind, LESSON_ITEM_DIRECTION);
    CHECK_STR_EQ(d->items[1].text, "(Maya walks in.)");
    CHECK(d->items[1].speaker == NULL);
    CHECK_EQ_INT(d->items[2].kind, LESSON_ITEM_SPEECH);
    CHECK_EQ_INT(d->items[3].kind, LESSON_ITEM_DIRECTION);
    CHECK_STR_EQ(d->items[3].text, "*(B laughs)*");
    CHECK_STR_EQ(d->items[3].plain, "(B laughs)");
    CHECK_EQ_INT(d->items[3].line_no, 8);
    CHECK_EQ_INT(d->items[4].line_no, 9);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &seg, &n, &e), 0);
    CHECK_EQ_INT(n, 2); /* directions and headings are not spoken */
    CHECK_EQ_INT(seg[0].item, 2);
    CHECK_EQ_INT(seg[1].item, 4);
    free(seg);
    lesson_free(&l);
}

TEST(more_than_64_speakers_is_an_error)
{
    char doc[4096];
    size_t o = 0;
    struct lesson l;
    struct lesson_error e;

    o += (size_t)snprintf(doc + o, sizeof doc - o, "# T\n## Dialogue\n");
    for (int i = 0; i < 65; i++)
        o += (size_t)snprintf(doc + o, sizeof doc - o, "P%d: hi\nP0: again\n",
                              i);
    CHECK_EQ_INT(parse(doc, &l, &e), -1);
    CHECK_EQ_INT(e.line, 2 + 64 * 2 + 1);
    CHECK(strstr(e.message, "more than 64 different speakers") != NULL);
}

/* --------------------------------------------------- inline Markdown */

TEST(emphasis_inside_lines)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_item *it;

    CHECK_EQ_INT(parse("# T\n## Dialogue\n"
                       "**Maya:** I *really* __love__ **this** `code` and "
                       "[a link](https://example.com/x) ~~not~~ _this_.\n",
                       &l, &e),
                 0);
    it = &l.sections[0].items[0];
    CHECK_STR_EQ(it->speaker, "Maya");
    CHECK_STR_EQ(it->text, "I *really* __love__ **this** `code` and "
                           "[a link](https://example.com/x) ~~not~~ _this_.");
    CHECK_STR_EQ(it->plain, "I really love this code and a link not this.");
    lesson_free(&l);
}

TEST(html_is_kept_in_text_and_stripped_from_plain)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_item *it;

    CHECK_EQ_INT(parse("---\ntitle: Tom <em>&amp;</em> Jerry\n---\n"
                       "## Dialogue\n"
                       "A: <script>alert('x')</script>Hi <b>there</b> & "
                       "3 < 5 &lt;ok&gt;<br/>bye <!-- hidden --> now\n"
                       "## Reading\n"
                       "<p>One <img src=x onerror=alert(1)>\n"
                       "two</p>\n"
                       "## Vocabulary\n"
                       "- **<i>word</i>** \xE2\x80\x94 a <u>thing</u>\n",
                       &l, &e),
                 0);
    CHECK_STR_EQ(l.title, "Tom <em>&amp;</em> Jerry");
    CHECK_STR_EQ(l.title_plain, "Tom & Jerry");
    it = &l.sections[0].items[0];
    CHECK_STR_EQ(it->text, "<script>alert('x')</script>Hi <b>there</b> & 3 "
                           "< 5 &lt;ok&gt;<br/>bye <!-- hidden --> now");
    CHECK_STR_EQ(it->plain, "alert('x')Hi there & 3 < 5 <ok> bye now");
    it = &l.sections[1].items[0];
    CHECK_STR_EQ(it->text, "<p>One <img src=x onerror=alert(1)> two</p>");
    CHECK_STR_EQ(it->plain, "One two");
    it = &l.sections[2].items[0];
    CHECK_STR_EQ(it->term, "word");
    CHECK_STR_EQ(it->text, "a <u>thing</u>");
    CHECK_STR_EQ(it->plain, "a thing");
    lesson_free(&l);
}

TEST(plain_text_rules)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"", ""},
        {"  a \t b  ", "a b"},
        {"*a* **b** ***c*** _d_ __e__", "a b c d e"},
        {"snake_case and __init__", "snake_case and init"},
        {"5 * 3 = 15", "5 * 3 = 15"},
        {"~5 minutes, ~~gone~~", "~5 minutes, gone"},
        {"``code `x` ``", "code x"},
        {"\\*not emphasis\\* \\\\ \\a", "*not emphasis* \\ \\a"},
        {"[label](http://x) ![alt text](a.png)", "label alt text"},
        {"[no target] and [x] (y)", "[no target] and [x] (y)"},
        {"[a [b](c)", "[a b"},
        {"<a href=\"x\">link</a>", "link"},
        {"line<br>break<BR/>again<p>para</p>", "line break again para"},
        {"a < b > c", "a < b > c"},
        {"<unclosed tag", "<unclosed tag"},
        {"x <!-- note --> y <!-- open", "x y <!-- open"},
        {"&amp; &lt; &gt; &quot; &apos; &nbsp;x", "& < > \" ' x"},
        {"&#233; &#xE9; &#x1F600; &mdash; &hellip;",
         "\xC3\xA9 \xC3\xA9 \xF0\x9F\x98\x80 \xE2\x80\x94 \xE2\x80\xA6"},
        {"&#0; &#x110000; &#xD800; &bogus; &amp", "&#0; &#x110000; &#xD800; "
                                                  "&bogus; &amp"},
        {"caf\xC3\xA9 *\xC3\xA9t\xC3\xA9*", "caf\xC3\xA9 \xC3\xA9t\xC3\xA9"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *p = lesson_plain(cases[i].in, strlen(cases[i].in));

        CHECK(p != NULL);
        if (strcmp(p, cases[i].out) != 0) {
            char got[256];

            snprintf(got, sizeof got, "%s", p);
            free(p);
            FAIL("plain(\"%s\") = \"%s\", want \"%s\"", cases[i].in, got,
                 cases[i].out);
        }
        CHECK(strlen(p) <= strlen(cases[i].in));
        free(p);
    }
}

/* ----------------------------------------------------- front matter */

TEST(front_matter_keys_quotes_and_precedence)
{
    struct lesson l;
    struct lesson_error e;

    CHECK_EQ_INT(parse("---\n"
                       "# a comment\n"
                       "Title: \"Front *matter* title\"\n"
                       "level: 'A2'\n"
                       "topic:\n"
                       "author: Zo\xC3\xAB\n"
                       "tags: [travel, directions]\n"
                       "\n"
                       "...\n"
                       "# The heading\n"
                       "## Dialogue\nA: hi\n",
                       &l, &e),
                 0);
    CHECK_STR_EQ(l.title, "Front *matter* title");
    CHECK_STR_EQ(l.title_plain, "Front matter title");
    CHECK_STR_EQ(l.heading, "The heading");
    CHECK_EQ_INT(l.heading_line, 10);
    CHECK_STR_EQ(l.level, "A2");
    CHECK(l.topic == NULL); /* empty value = absent */
    CHECK_EQ_INT(l.nmeta, 2);
    CHECK_STR_EQ(l.meta[0].key, "author");
    CHECK_STR_EQ(l.meta[0].value, "Zo\xC3\xAB");
    CHECK_EQ_INT(l.meta[0].line_no, 6);
    CHECK_STR_EQ(l.meta[1].key, "tags");
    CHECK_STR_EQ(l.meta[1].value, "[travel, directions]");
    lesson_free(&l);

    /* Without a front matter title the heading is the title. */
    CHECK_EQ_INT(parse("---\nlevel: C1\n---\n# Heading *only* #\n", &l, &e),
                 0);
    CHECK_STR_EQ(l.title, "Heading *only*");
    CHECK_STR_EQ(l.title_plain, "Heading only");
    lesson_free(&l);

    /* A front matter title alone is enough. */
    CHECK_EQ_INT(parse("---\ntitle: Only FM\n---\n## Reading\nText.\n", &l,
                       &e),
                 0);
    CHECK_STR_EQ(l.title, "Only FM");
    CHECK(l.heading == NULL);
    CHECK_EQ_INT(l.heading_line, 0);
    lesson_free(&l);
}

TEST(front_matter_errors)
{
    static const struct {
        const char *doc;
        unsigned line;
        const char *msg;
    } cases[] = {
        {"---\ntitle: x\nnot a pair\n---\n# T\n", 3,
         "line 3: expected `key: value` in the front matter opened on line 1 "
         "(got `not a pair`)"},
        {"---\n  nested: x\n---\n# T\n", 2, NULL},
        {"---\nkey:value\n---\n# T\n", 2, NULL},
        {"---\nlevel: A1\nLEVEL: A2\n---\n# T\n", 3,
         "line 3: duplicate front matter key `LEVEL` (first on line 2)"},
        {"---\nx: 1\nX: 2\n---\n# T\n", 3,
         "line 3: duplicate front matter key `X` (first on line 2)"},
        {"---\ntitle: never closed\n# T\n", 1,
         "line 1: the front matter is not closed (no `---` line after line "
         "1)"},
        {"\xEF\xBB\xBF---\r\ntitle: x\r\n-- \r\n", 3, NULL},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct lesson l;
        struct lesson_error e;

        CHECK_EQ_INT(parse(cases[i].doc, &l, &e), -1);
        CHECK_EQ_INT(e.line, cases[i].line);
        if (cases[i].msg != NULL)
            CHECK_STR_EQ(e.message, cases[i].msg);
    }
}

TEST(too_many_front_matter_keys)
{
    char doc[2048];
    size_t o = 0;
    struct lesson l;
    struct lesson_error e;

    o += (size_t)snprintf(doc + o, sizeof doc - o, "---\n");
    for (int i = 0; i < LESSON_META_MAX + 1; i++)
        o += (size_t)snprintf(doc + o, sizeof doc - o, "k%d: v\n", i);
    snprintf(doc + o, sizeof doc - o, "---\n# T\n");
    CHECK_EQ_INT(parse(doc, &l, &e), -1);
    CHECK_EQ_INT(e.line, 2 + LESSON_META_MAX);
}

/* A "---" that is not on line 1 is a thematic break, not front matter. */
TEST(front_matter_only_on_line_one)
{
    struct lesson l;
    struct lesson_error e;

    CHECK_EQ_INT(parse("# T\n---\ntitle: not front matter\n---\n", &l, &e), 0);
    CHECK(l.level == NULL && l.nmeta == 0);
    CHECK_STR_EQ(l.title, "T");
    CHECK_EQ_INT(l.sections[0].kind, LESSON_SECTION_INTRO);
    CHECK_EQ_INT(l.sections[0].nitems, 3);
    CHECK_STR_EQ(l.sections[0].items[1].text, "title: not front matter");
    lesson_free(&l);
}

/* ----------------------------------------------- titles and sections */

TEST(title_errors)
{
    struct lesson l;
    struct lesson_error e;

    CHECK_EQ_INT(parse("## Dialogue\nA: hi\n", &l, &e), -1);
    CHECK_EQ_INT(e.line, 0);
    CHECK_STR_EQ(e.message, "the lesson has no title: add a `# Title` line "
                            "or a `title:` front matter key");
    CHECK_EQ_INT(parse("# One\n## Dialogue\nA: hi\n# Two\n", &l, &e), -1);
    CHECK_STR_EQ(e.message, "line 4: a second `# ` title (the first is on "
                            "line 1); sections start with `## `");
    CHECK_EQ_INT(parse("\n#   \n", &l, &e), -1);
    CHECK_STR_EQ(e.message, "line 2: the `# ` title is empty");
    CHECK_EQ_INT(parse("# <b></b>\n## Reading\nx\n", &l, &e), -1);
    CHECK_STR_EQ(e.message, "line 1: the title has no text");
    CHECK_EQ_INT(parse("# T\n\n## ##\n", &l, &e), -1);
    CHECK_STR_EQ(e.message, "line 3: the `## ` heading has no name");
    CHECK_EQ_INT(parse("", &l, &e), -1);
    CHECK_STR_EQ(e.message, "the lesson is empty");
    CHECK_EQ_INT(parse("\xEF\xBB\xBF \n\t\r\n", &l, &e), -1);
    CHECK_STR_EQ(e.message, "the lesson is empty");
    CHECK_EQ_INT(lesson_parse(NULL, 0, &l, &e), -1);
    CHECK_STR_EQ(e.message, "the lesson is empty");
}

TEST(section_kinds_from_names)
{
    static const struct {
        const char *name;
        enum lesson_section_kind kind;
    } cases[] = {
        {"Dialogue", LESSON_SECTION_DIALOGUE},
        {"dialogues", LESSON_SECTION_DIALOGUE},
        {"Dialog 2: at the station", LESSON_SECTION_DIALOGUE},
        {"1. Conversation", LESSON_SECTION_DIALOGUE},
        {"**Reading**", LESSON_SECTION_READING},
        {"Monologue", LESSON_SECTION_READING},
        {"Text", LESSON_SECTION_READING},
        {"Stories", LESSON_SECTION_READING},
        {"VOCABULARY", LESSON_SECTION_VOCABULARY},
        {"Vocab", LESSON_SECTION_VOCABULARY},
        {"Glossary", LESSON_SECTION_VOCABULARY},
        {"Exercises", LESSON_SECTION_EXERCISES},
        {"Questions", LESSON_SECTION_EXERCISES},
        {"Activities", LESSON_SECTION_EXERCISES},
        {"Homework", LESSON_SECTION_EXERCISES},
        {"Notes", LESSON_SECTION_OTHER},
        {"Key words", LESSON_SECTION_OTHER},
        {"Dialogues\xC3\xA9", LESSON_SECTION_OTHER},
        {"Readingx", LESSON_SECTION_OTHER},
        {"\xE5\xAF\xB9\xE8\xAF\x9D", LESSON_SECTION_OTHER},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char doc[256];
        struct lesson l;
        struct lesson_error e;

        snprintf(doc, sizeof doc, "# T\n## %s\n", cases[i].name);
        CHECK_EQ_INT(parse(doc, &l, &e), 0);
        CHECK_EQ_INT(l.nsections, 1);
        CHECK_STR_EQ(l.sections[0].name, cases[i].name);
        if (l.sections[0].kind != cases[i].kind) {
            lesson_free(&l);
            FAIL("\"%s\" is %s, want %s", cases[i].name,
                 lesson_section_kind_name(l.sections[0].kind),
                 lesson_section_kind_name(cases[i].kind));
        }
        lesson_free(&l);
    }
    CHECK_STR_EQ(lesson_section_kind_name(LESSON_SECTION_INTRO), "intro");
    CHECK_STR_EQ(lesson_section_kind_name(LESSON_SECTION_EXERCISES),
                 "exercises");
}

TEST(empty_sections)
{
    struct lesson l;
    struct lesson_error e;
    struct lesson_segment *seg = (struct lesson_segment *)&e;
    size_t n = 99;

    CHECK_EQ_INT(parse("# Empty\n## Dialogue\n\n## Reading\n\n\n## "
                       "Vocabulary\n## Exercises\n\n## Notes\n",
                       &l, &e),
                 0);
    CHECK_EQ_INT(l.nsections, 5);
    for (size_t i = 0; i < 5; i++)
        CHECK_EQ_INT(l.sections[i].nitems, 0);
    CHECK_EQ_INT(l.sections[4].line_no, 10);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &seg, &n, &e), -1);
    CHECK(seg == NULL && n == 0);
    CHECK_EQ_INT(e.line, 0);
    CHECK_STR_EQ(e.message, "the lesson has nothing to speak in auto mode: "
                            "no `Speaker: text` line in a ## Dialogue "
                            "section and no paragraph in a ## Reading "
                            "section");
    lesson_free(&l);
}

TEST(intro_and_raw_sections_keep_lines)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_section *in, *ex;

    CHECK_EQ_INT(parse("# T\n\nWelcome to *this* lesson.\n\n\n\n  - indented\n"
                       "## Exercises\n\n\n1. One\n   a) sub\n\n\n2. Two\n"
                       "### Bonus\n\t<b>x</b>  \n\n",
                       &l, &e),
                 0);
    CHECK_EQ_INT(l.nsections, 2);
    in = &l.sections[0];
    CHECK_STR_EQ(in->name, "");
    CHECK_EQ_INT(in->kind, LESSON_SECTION_INTRO);
    CHECK_EQ_INT(in->line_no, 3);
    CHECK_EQ_INT(in->nitems, 3);
    CHECK_STR_EQ(in->items[0].text, "Welcome to *this* lesson.");
    CHECK_STR_EQ(in->items[0].plain, "Welcome to this lesson.");
    CHECK_STR_EQ(in->items[1].text, "");
    CHECK_EQ_INT(in->items[1].line_no, 4);
    CHECK_STR_EQ(in->items[2].text, "  - indented");
    ex = &l.sections[1];
    CHECK_EQ_INT(ex->nitems, 6);
    CHECK_STR_EQ(ex->items[0].text, "1. One");
    CHECK_EQ_INT(ex->items[0].line_no, 11);
    CHECK_STR_EQ(ex->items[1].text, "   a) sub");
    CHECK_STR_EQ(ex->items[2].text, "");
    CHECK_STR_EQ(ex->items[3].text, "2. Two");
    CHECK_EQ_INT(ex->items[4].kind, LESSON_ITEM_RAW);
    CHECK_STR_EQ(ex->items[4].text, "### Bonus");
    CHECK_STR_EQ(ex->items[5].text, "\t<b>x</b>");
    CHECK_STR_EQ(ex->items[5].plain, "x");
    lesson_free(&l);
}

/* ------------------------------------------------------------ reading */

TEST(reading_paragraphs_join_lines)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_section *r;

    CHECK_EQ_INT(parse("# T\n## Reading\n\n  First line\nsecond   line.  \n"
                       "<!-- skipped -->\nthird.\n\n### Part two\nNext "
                       "paragraph.\n***\nAfter a break.\n<br>\n",
                       &l, &e),
                 0);
    r = &l.sections[0];
    CHECK_EQ_INT(r->nitems, 4);
    CHECK_EQ_INT(r->items[0].kind, LESSON_ITEM_PARAGRAPH);
    CHECK_STR_EQ(r->items[0].text, "First line second   line. third.");
    CHECK_STR_EQ(r->items[0].plain, "First line second line. third.");
    CHECK_EQ_INT(r->items[0].line_no, 4);
    CHECK_EQ_INT(r->items[1].kind, LESSON_ITEM_HEADING);
    CHECK_STR_EQ(r->items[1].text, "Part two");
    CHECK_STR_EQ(r->items[2].text, "Next paragraph.");
    CHECK_EQ_INT(r->items[2].line_no, 10);
    CHECK_STR_EQ(r->items[3].text, "After a break. <br>");
    CHECK_EQ_INT(r->items[3].line_no, 12);
    lesson_free(&l);
}

/* --------------------------------------------------------- vocabulary */

TEST(vocabulary_forms)
{
    struct lesson l;
    struct lesson_error e;
    const struct lesson_section *v;
    static const struct {
        const char *term, *meaning;
    } want[] = {
        {"oat milk", "milk made from oats"}, /* em dash */
        {"to tap", "to touch lightly"},      /* en dash */
        {"well-known", "famous"},            /* " - " */
        {"a - b", "bold term with a dash"},  /* bold protects the term */
        {"altogether", "in total"},          /* "**term**: meaning" */
        {"commute", "the trip to work"},     /* "**term:** meaning" */
        {"swap", "exchange"},                /* "term: meaning" */
        {"blurred", "not clear"},            /* "* " and "*term*" */
        {"isolated", "alone"},               /* "1. " */
        {"hybrid", "mixed"},                 /* "2) " and "+ " ... */
        {"lonely", ""},                      /* a term alone */
        {"10:30", "half past ten"},          /* ':' needs a blank after */
        {"draft", "a first version"},        /* bold without a separator */
    };

    CHECK_EQ_INT(parse("# T\n## Vocabulary\n\n"
                       "- **oat milk** \xE2\x80\x94 milk made from oats\n"
                       "- **to tap** \xE2\x80\x93 to touch lightly\n"
                       "- well-known - famous\n"
                       "- **a - b** \xE2\x80\x94 bold term with a dash\n"
                       "- **altogether**: in total\n"
                       "- **commute:** the trip to work\n"
                       "- swap: exchange\n"
                       "* *blurred* \xE2\x80\x94 not clear\n"
                       "### More\n"
                       "1. isolated \xE2\x80\x94 alone\n"
                       "2) __hybrid__ - mixed\n"
                       "+ lonely\n"
                       "- 10:30 \xE2\x80\x94 half past ten\n"
                       "- **draft** a first version\n"
                       "<!-- end -->\n",
                       &l, &e),
                 0);
    v = &l.sections[0];
    CHECK_EQ_INT(v->nitems, 14);
    for (size_t i = 0, k = 0; i < v->nitems; i++) {
        const struct lesson_item *it = &v->items[i];

        if (i == 8) {
            CHECK_EQ_INT(it->kind, LESSON_ITEM_HEADING);
            CHECK_STR_EQ(it->text, "More");
            continue;
        }
        CHECK_EQ_INT(it->kind, LESSON_ITEM_VOCAB);
        CHECK_STR_EQ(it->term, want[k].term);
        CHECK_STR_EQ(it->text, want[k].meaning);
        CHECK_EQ_INT(it->line_no, 4 + i);
        k++;
    }
    lesson_free(&l);
}

TEST(vocabulary_errors)
{
    struct lesson l;
    struct lesson_error e;

    CHECK_EQ_INT(parse("# T\n## Vocabulary\n- a \xE2\x80\x94 b\nA sentence "
                       "that is not an entry.\n",
                       &l, &e),
                 -1);
    CHECK_STR_EQ(e.message, "line 4: expected `- **term** \xE2\x80\x94 "
                            "meaning` in ## Vocabulary (got `A sentence "
                            "that is not an entry.`)");
    CHECK_EQ_INT(parse("# T\n## Glossary\n\n-\n", &l, &e), -1);
    CHECK_EQ_INT(e.line, 4);
    CHECK_EQ_INT(parse("# T\n## Vocabulary\n- \xE2\x80\x94 no term\n", &l, &e),
                 -1);
    CHECK_STR_EQ(e.message, "line 3: the vocabulary entry has no term");
    CHECK_EQ_INT(parse("# T\n## Vocabulary\n- <b></b>: x\n", &l, &e), -1);
    CHECK_STR_EQ(e.message, "line 3: the vocabulary entry has no term");
}

/* ------------------------------------------------- encoding and limits */

TEST(invalid_utf8_and_control_bytes)
{
    static const struct {
        const char *line;
        size_t len;
        const char *msg;
    } cases[] = {
        {"A: caf\xC3", 7, "line 4: invalid UTF-8 at column 7"},
        {"A: \xFF", 4, "line 4: invalid UTF-8 at column 4"},
        {"A: \xC0\x80", 5, "line 4: invalid UTF-8 at column 4"},     /* overlong */
        {"A: \xE0\x80\xAF", 6, "line 4: invalid UTF-8 at column 4"}, /* overlong */
        {"A: \xED\xA0\x80", 6, "line 4: invalid UTF-8 at column 4"}, /* surrogate */
        {"A: \xF4\x90\x80\x80", 7, "line 4: invalid UTF-8 at column 4"},
        {"A: \xE2\x82x", 6, "line 4: invalid UTF-8 at column 4"},
        {"A: a\0b", 6, "line 4: NUL byte at column 5"},
        {"A: \x1B[31m", 8, "line 4: control character U+001B at column 4"},
        {"A: \x7F", 4, "line 4: control character U+007F at column 4"},
        {"A: \xC2\x85", 5, "line 4: control character U+0085 at column 4"},
        {"\x0C", 1, "line 4: control character U+000C at column 1"},
    };

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char doc[128];
        const char *head = "# T\n## Dialogue\nA: ok\n", *tail = "\nB: ok\n";
        size_t hl = strlen(head), n;
        struct lesson l;
        struct lesson_error e;

        memcpy(doc, head, hl);
        memcpy(doc + hl, cases[i].line, cases[i].len);
        memcpy(doc + hl + cases[i].len, tail, strlen(tail));
        n = hl + cases[i].len + strlen(tail);
        CHECK_EQ_INT(lesson_parse(doc, n, &l, &e), -1);
        CHECK_EQ_INT(e.line, 4);
        CHECK_STR_EQ(e.message, cases[i].msg);
    }
}

/* Tabs are allowed; a valid 4-byte sequence at the very end is fine. */
TEST(tabs_and_edge_sequences_are_valid)
{
    struct lesson l;
    struct lesson_error e;

    CHECK_EQ_INT(parse("# T\n## Dialogue\nA:\tone\ttwo \xF0\x9F\x98\x80", &l,
                       &e),
                 0);
    CHECK_STR_EQ(l.sections[0].items[0].text, "one\ttwo \xF0\x9F\x98\x80");
    CHECK_STR_EQ(l.sections[0].items[0].plain, "one two \xF0\x9F\x98\x80");
    lesson_free(&l);
}

/* Builds "# Long\n## Dialogue\nA: hi\nB: " + n bytes of text + "\nC: end\n". */
static char *long_line_doc(size_t n, size_t *len)
{
    const char *head = "# Long\n## Dialogue\nA: hi\nB: ", *tail = "\nC: end\n";
    size_t hl = strlen(head), tl = strlen(tail);
    char *d = malloc(hl + n + tl + 1);

    if (d == NULL)
        return NULL;
    memcpy(d, head, hl);
    for (size_t i = 0; i < n; i++)
        d[hl + i] = i % 7 == 6 ? ' ' : 'a';
    memcpy(d + hl + n, tail, tl + 1);
    *len = hl + n + tl;
    return d;
}

TEST(very_long_lines)
{
    struct lesson l;
    struct lesson_error e;
    size_t len;
    char *d;

    /* 60 KiB of text: fine. */
    d = long_line_doc(60 * 1024, &len);
    CHECK(d != NULL);
    CHECK_EQ_INT(lesson_parse(d, len, &l, &e), 0);
    CHECK_EQ_INT(strlen(l.sections[0].items[1].text), 60 * 1024);
    CHECK_EQ_INT(l.sections[0].items[2].line_no, 5);
    lesson_free(&l);
    free(d);
    /* The line is "B: " + text: exactly LESSON_LINE_MAX bytes is fine. */
    d = long_line_doc(LESSON_LINE_MAX - 3, &len);
    CHECK(d != NULL);
    CHECK_EQ_INT(lesson_parse(d, len, &l, &e), 0);
    lesson_free(&l);
    free(d);
    d = long_line_doc(LESSON_LINE_MAX - 2, &len);
    CHECK(d != NULL);
    CHECK_EQ_INT(lesson_parse(d, len, &l, &e), -1);
    CHECK_EQ_INT(e.line, 4);
    free(d);
    /* 70 KiB: an error naming line 4. */
    d = long_line_doc(70 * 1024, &len);
    CHECK(d != NULL);
    CHECK_EQ_INT(lesson_parse(d, len, &l, &e), -1);
    CHECK_EQ_INT(e.line, 4);
    CHECK_STR_EQ(e.message, "line 4: the line is longer than 65536 bytes");
    free(d);
}

/* A reading paragraph may be far longer than a line: 30 lines of 60 KiB
 * join into one 1.8 MB paragraph. */
TEST(long_paragraph_from_many_lines)
{
    size_t per = 60 * 1024, nl = 30, o;
    char *d = malloc(32 + nl * (per + 1));
    struct lesson l;
    struct lesson_error e;

    CHECK(d != NULL);
    o = (size_t)sprintf(d, "# T\n## Reading\n");
    for (size_t k = 0; k < nl; k++) {
        memset(d + o, 'w', per);
        o += per;
        d[o++] = '\n';
    }
    CHECK_EQ_INT(lesson_parse(d, o, &l, &e), 0);
    CHECK_EQ_INT(l.sections[0].nitems, 1);
    CHECK_EQ_INT(strlen(l.sections[0].items[0].text), nl * per + nl - 1);
    lesson_free(&l);
    free(d);
}

TEST(document_over_2_mib)
{
    size_t len = LESSON_MAX_BYTES + 1, i;
    char *d = malloc(len);
    struct lesson l;
    struct lesson_error e;

    CHECK(d != NULL);
    /* 100-byte lines: byte 2097152 is on line 2097152 / 100 + 1. */
    for (i = 0; i < len; i++)
        d[i] = i % 100 == 99 ? '\n' : 'x';
    CHECK_EQ_INT(lesson_parse(d, len, &l, &e), -1);
    CHECK_EQ_INT(e.line, LESSON_MAX_BYTES / 100 + 1);
    CHECK_STR_EQ(e.message, "line 20972: the lesson is larger than 2 MiB "
                            "(2097152 bytes)");
    /* Exactly the limit is accepted (as far as size goes). */
    memcpy(d, "# T\n", 4);
    CHECK_EQ_INT(lesson_parse(d, LESSON_MAX_BYTES, &l, &e), 0);
    lesson_free(&l);
    free(d);
}

TEST(error_excerpts_stay_valid_utf8)
{
    char doc[1024];
    size_t o;
    struct lesson l;
    struct lesson_error e;

    o = (size_t)snprintf(doc, sizeof doc, "# T\n## Dialogue ");
    for (int i = 0; i < 60; i++)
        o += (size_t)snprintf(doc + o, sizeof doc - o, "\xC3\xA9");
    o += (size_t)snprintf(doc + o, sizeof doc - o, "\n");
    for (int i = 0; i < 100; i++)
        o += (size_t)snprintf(doc + o, sizeof doc - o, "\xE5\x88\x98");
    snprintf(doc + o, sizeof doc - o, "\n");
    CHECK_EQ_INT(parse(doc, &l, &e), -1);
    CHECK_EQ_INT(e.line, 3);
    CHECK(strlen(e.message) < sizeof e.message);
    CHECK(bb_utf8_valid(e.message, strlen(e.message)));
    CHECK(strstr(e.message, "\xE2\x80\xA6") != NULL); /* shortened with … */
    /* err may be NULL. */
    CHECK_EQ_INT(parse(doc, &l, NULL), -1);
}

/* --------------------------------------------------------------- modes */

TEST(mode_names)
{
    enum lesson_mode m = LESSON_MODE_DIALOGUE;

    CHECK_EQ_INT(lesson_mode_parse("auto", &m), 0);
    CHECK_EQ_INT(m, LESSON_MODE_AUTO);
    CHECK_EQ_INT(lesson_mode_parse("Dialogue", &m), 0);
    CHECK_EQ_INT(m, LESSON_MODE_DIALOGUE);
    CHECK_EQ_INT(lesson_mode_parse("MONOLOGUE", &m), 0);
    CHECK_EQ_INT(m, LESSON_MODE_MONOLOGUE);
    CHECK_EQ_INT(lesson_mode_parse("", &m), -1);
    CHECK_EQ_INT(lesson_mode_parse("dialog", &m), -1);
    CHECK_EQ_INT(lesson_mode_parse("auto ", &m), -1);
    CHECK_EQ_INT(lesson_mode_parse(NULL, &m), -1);
    CHECK_EQ_INT(m, LESSON_MODE_MONOLOGUE);
    CHECK_STR_EQ(lesson_mode_name(LESSON_MODE_AUTO), "auto");
    CHECK_STR_EQ(lesson_mode_name(LESSON_MODE_DIALOGUE), "dialogue");
    CHECK_STR_EQ(lesson_mode_name(LESSON_MODE_MONOLOGUE), "monologue");
}

/* A lesson with both a dialogue and a reading: auto picks the dialogue,
 * monologue reads the paragraphs; segment indexes point at the items. */
TEST(mode_choice_with_dialogue_and_reading)
{
    struct lesson l;
    struct lesson_error e;
    struct lesson_segment *seg;
    size_t n;

    CHECK_EQ_INT(parse("# Both\n"
                       "## Reading\nA *short* text.\n\nSecond paragraph.\n\n"
                       "<img src=x>\n"
                       "## Dialogue\n(Nobody yet.)\nAna: Hi!\nBen: Hello, "
                       "Ana.\n"
                       "## Dialogue 2\nAna: Bye.\n",
                       &l, &e),
                 0);
    CHECK_EQ_INT(lesson_mode_resolve(&l, LESSON_MODE_AUTO),
                 LESSON_MODE_DIALOGUE);
    CHECK_EQ_INT(lesson_mode_resolve(&l, LESSON_MODE_MONOLOGUE),
                 LESSON_MODE_MONOLOGUE);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &seg, &n, &e), 0);
    CHECK_EQ_INT(n, 3);
    CHECK_STR_EQ(seg[0].speaker, "Ana");
    CHECK_STR_EQ(seg[1].speaker, "Ben");
    CHECK_STR_EQ(seg[1].text, "Hello, Ana.");
    CHECK_EQ_INT(seg[1].section, 1);
    CHECK_EQ_INT(seg[1].item, 2);
    CHECK_EQ_INT(seg[2].section, 2);
    CHECK_EQ_INT(seg[2].line_no, 13);
    free(seg);
    /* Monologue: the paragraphs with something to say (not the image). */
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_MONOLOGUE, &seg, &n, &e), 0);
    CHECK_EQ_INT(n, 2);
    CHECK(seg[0].speaker == NULL && seg[1].speaker == NULL);
    CHECK_STR_EQ(seg[0].text, "A short text.");
    CHECK_EQ_INT(seg[0].line_no, 3);
    CHECK_STR_EQ(seg[1].text, "Second paragraph.");
    CHECK_EQ_INT(l.sections[0].nitems, 3); /* the image is still an item */
    free(seg);
    lesson_free(&l);
}

/* Auto falls back to monologue when the dialogue sections hold only
 * directions; nothing to speak names the mode. */
TEST(mode_auto_fallback_and_nothing_to_speak)
{
    struct lesson l;
    struct lesson_error e;
    struct lesson_segment *seg;
    size_t n;

    CHECK_EQ_INT(parse("# T\n## Dialogue\n(silence)\n## Text\nWords.\n", &l,
                       &e),
                 0);
    CHECK_EQ_INT(lesson_mode_resolve(&l, LESSON_MODE_AUTO),
                 LESSON_MODE_MONOLOGUE);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &seg, &n, &e), 0);
    CHECK_EQ_INT(n, 1);
    CHECK_STR_EQ(seg[0].text, "Words.");
    free(seg);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_DIALOGUE, &seg, &n, &e), -1);
    CHECK(strncmp(e.message, "the lesson has nothing to speak in dialogue mode",
                  47) == 0);
    lesson_free(&l);

    /* Title, vocabulary and exercises only: nothing to speak anywhere. */
    CHECK_EQ_INT(parse("# Only words\n## Vocabulary\n- **a** \xE2\x80\x94 b\n"
                       "## Exercises\n1. Say it.\n",
                       &l, &e),
                 0);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_MONOLOGUE, &seg, &n, &e), -1);
    CHECK_STR_EQ(e.message, "the lesson has nothing to speak in monologue "
                            "mode: no paragraph in a ## Reading section");
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &seg, &n, &e), -1);
    CHECK(strncmp(e.message, "the lesson has nothing to speak in auto mode: ",
                  46) == 0);
    lesson_free(&l);
}

/* ------------------------------------------------------------- limits */

TEST(too_many_sections)
{
    size_t cap = 16 + (LESSON_SECTIONS_MAX + 1) * 8, o;
    char *d = malloc(cap);
    struct lesson l;
    struct lesson_error e;

    CHECK(d != NULL);
    o = (size_t)snprintf(d, cap, "# T\n");
    for (int i = 0; i < LESSON_SECTIONS_MAX + 1; i++)
        o += (size_t)snprintf(d + o, cap - o, "## N\n");
    CHECK_EQ_INT(lesson_parse(d, o, &l, &e), -1);
    CHECK_EQ_INT(e.line, LESSON_SECTIONS_MAX + 2);
    free(d);
}

TEST(too_many_items)
{
    size_t cap = 32 + (LESSON_ITEMS_MAX + 1) * 3, o;
    char *d = malloc(cap);
    struct lesson l;
    struct lesson_error e;

    CHECK(d != NULL);
    o = (size_t)snprintf(d, cap, "# T\n## Exercises\n");
    for (int i = 0; i < LESSON_ITEMS_MAX + 1; i++)
        o += (size_t)snprintf(d + o, cap - o, "x\n");
    CHECK_EQ_INT(lesson_parse(d, o, &l, &e), -1);
    CHECK_EQ_INT(e.line, LESSON_ITEMS_MAX + 3);
    CHECK_EQ_INT(lesson_parse(d, o - 2, &l, &e), 0);
    lesson_free(&l);
    free(d);
}
