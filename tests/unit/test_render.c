/* test_render.c — unit tests for the lesson page, its static CSS/JS and
 * manifest.json (src/domain/render.c): the shared example lessons render
 * with their title, speakers, vocabulary, one play button per timed line
 * and the audio element; hostile lessons (script tags, attribute
 * injection, javascript: links) come out as text; every tag in the output
 * is one we emit, without style or event-handler attributes; the output is
 * valid UTF-8; the manifest parses back with the expected fields. */
#define UNIT_MAIN
#include "unit.h"

#include <stdbool.h>
#include <time.h>

#include "cJSON.h"
#include "domain/lesson.h"
#include "domain/render.h"
#include "util/util.h"

#define FIXTURES "tests/unit/lessons/"
#define SHARED "../shared/examples/lessons/"

/* Reads a fixture from tests/unit/lessons/, else from the shared examples
 * beside the repository (caller frees); NULL when neither exists. */
static char *read_example(const char *name, size_t *len)
{
    char path[256];
    char *s;

    snprintf(path, sizeof path, FIXTURES "%s", name);
    s = bb_read_file(path, 4u << 20, len);
    if (s == NULL) {
        snprintf(path, sizeof path, SHARED "%s", name);
        s = bb_read_file(path, 4u << 20, len);
    }
    return s;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0, nl = strlen(needle);

    for (const char *p = strstr(hay, needle); p != NULL;
         p = strstr(p + nl, needle))
        n++;
    return n;
}

/* HTML-escaped copy of s (caller frees), the escaping the page uses. */
static char *html_esc(const char *s)
{
    size_t n = strlen(s), o = 0;
    char *d = malloc(n * 6 + 1);

    if (d == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++) {
        const char *e = NULL;

        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        }
        if (e != NULL) {
            memcpy(d + o, e, strlen(e));
            o += strlen(e);
        } else {
            d[o++] = s[i];
        }
    }
    d[o] = '\0';
    return d;
}

/* Does html contain the escaped form of s? */
static bool has_escaped(const char *html, const char *s)
{
    char *e = html_esc(s);
    bool yes = e != NULL && strstr(html, e) != NULL;

    free(e);
    return yes;
}

static const char *const ALLOWED_TAGS[] = {
    "html", "head", "meta", "title", "link", "script", "body", "header",
    "h1", "h2", "h3", "h4", "h5", "h6", "dl", "dt", "dd", "div", "section",
    "main", "footer", "ol", "ul", "li", "p", "span", "button", "audio", "a",
    "strong", "em", "code", "pre", "br", "hr", NULL};

/* Checks every tag of html: a known name, no style or on* attribute, a
 * <script> only with src, an <a href> only http(s) or relative, balanced
 * open/close counts for the paired tags.  Returns NULL when all is well,
 * else a static description of the first problem. */
static const char *lint_html(const char *html)
{
    static char why[200];
    long depth[64] = {0};
    const char *p = html;

    if (strncmp(p, "<!doctype html>\n", 16) != 0)
        return "no doctype";
    p += 16;
    while ((p = strchr(p, '<')) != NULL) {
        const char *end = strchr(p, '>'), *q = p + 1;
        char name[16];
        size_t nl = 0, k;
        bool closing = false;

        if (end == NULL)
            return "unterminated tag";
        if (*q == '/') {
            closing = true;
            q++;
        }
        while (q < end && nl + 1 < sizeof name && ((*q >= 'a' && *q <= 'z') ||
                                                    (*q >= '0' && *q <= '9')))
            name[nl++] = *q++;
        name[nl] = '\0';
        for (k = 0; ALLOWED_TAGS[k] != NULL; k++)
            if (strcmp(ALLOWED_TAGS[k], name) == 0)
                break;
        if (ALLOWED_TAGS[k] == NULL) {
            snprintf(why, sizeof why, "unexpected tag <%.40s", p + 1);
            return why;
        }
        if (!closing) {
            /* attribute names: after a blank, up to '=' or blank or '>' */
            bool in_quote = false;

            for (const char *a = q; a < end; a++) {
                if (*a == '"') {
                    in_quote = !in_quote;
                    continue;
                }
                if (in_quote || *a != ' ')
                    continue;
                if (strncmp(a + 1, "on", 2) == 0 ||
                    strncmp(a + 1, "style", 5) == 0) {
                    snprintf(why, sizeof why, "bad attribute in <%.60s",
                             p + 1);
                    return why;
                }
            }
            if (in_quote)
                return "unbalanced quote in a tag";
            if (strcmp(name, "script") == 0 &&
                strncmp(q, " src=\"lesson.js\"", 16) != 0)
                return "a <script> without src=lesson.js";
            if (strcmp(name, "a") == 0) {
                if (strncmp(q, " href=\"", 7) != 0)
                    return "<a> without href";
                if (strncmp(q + 7, "http://", 7) != 0 &&
                    strncmp(q + 7, "https://", 8) != 0 &&
                    memchr(q + 7, ':', (size_t)(strchr(q + 7, '"') - q - 7)) !=
                        NULL)
                    return "a link with a scheme other than http(s)";
            }
        }
        if (strcmp(name, "meta") && strcmp(name, "link") &&
            strcmp(name, "br") && strcmp(name, "hr"))
            depth[k] += closing ? -1 : 1;
        p = end + 1;
    }
    for (size_t k = 0; ALLOWED_TAGS[k] != NULL; k++)
        if (depth[k] != 0) {
            snprintf(why, sizeof why, "<%s> opened %ld more times than closed",
                     ALLOWED_TAGS[k], depth[k]);
            return why;
        }
    return NULL;
}

/* Checks what must hold for every page. */
static void check_page_safe(const char *html, size_t len)
{
    const char *why;

    CHECK(html != NULL);
    CHECK_EQ_INT(strlen(html), len);
    CHECK(bb_utf8_valid(html, len));
    CHECK(strstr(html, "<meta charset=\"utf-8\">") != NULL);
    CHECK(strstr(html, "name=\"viewport\"") != NULL);
    CHECK(strstr(html, "<link rel=\"stylesheet\" href=\"lesson.css\">") != NULL);
    CHECK(strstr(html, "style=") == NULL);
    CHECK(strstr(html, "<style") == NULL);
    CHECK(strstr(html, "javascript:") == NULL ||
          strstr(html, "href=\"javascript:") == NULL);
    why = lint_html(html);
    if (why != NULL)
        FAIL("%s", why);
}

/* Renders one example with a timing per speech segment and checks it. */
static void check_example(const char *name)
{
    size_t len = 0, hlen = 0, nseg = 0;
    char *src = read_example(name, &len), *html;
    struct lesson l;
    struct lesson_error err;
    struct lesson_segment *segs = NULL;
    struct render_timing *tm;
    struct render_audio audio;

    CHECK(src != NULL);
    CHECK_EQ_INT(lesson_parse(src, len, &l, &err), 0);
    free(src);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &segs, &nseg, &err), 0);
    CHECK(nseg > 0);
    tm = calloc(nseg, sizeof *tm);
    CHECK(tm != NULL);
    for (size_t i = 0; i < nseg; i++) {
        tm[i].section = segs[i].section;
        tm[i].item = segs[i].item;
        tm[i].start_ms = (int64_t)i * 1500 + 7;
        tm[i].end_ms = (int64_t)i * 1500 + 1234;
        tm[i].speaker = segs[i].speaker;
    }
    audio.wav_name = "lesson.wav";
    audio.timings = tm;
    audio.ntimings = nseg;
    html = render_lesson_html(&l, &audio, &hlen);
    check_page_safe(html, hlen);
    if (unit_failed_)
        return;
    CHECK(has_escaped(html, l.title_plain));
    CHECK(strstr(html, "<title>") != NULL);
    for (size_t i = 0; i < l.nspeakers; i++)
        CHECK(has_escaped(html, l.speakers[i]));
    for (size_t s = 0; s < l.nsections; s++)
        for (size_t i = 0; i < l.sections[s].nitems; i++)
            if (l.sections[s].items[i].kind == LESSON_ITEM_VOCAB)
                CHECK(has_escaped(html, l.sections[s].items[i].term));
    CHECK_EQ_INT(count(html, "<button "), nseg);
    CHECK_EQ_INT(count(html, "<button type=\"button\""), nseg);
    for (size_t i = 0; i < nseg; i++) {
        char want[160];

        snprintf(want, sizeof want,
                 "data-start=\"%lld\" data-end=\"%lld\" aria-label=\"Play "
                 "line %zu\"",
                 (long long)tm[i].start_ms, (long long)tm[i].end_ms, i + 1);
        CHECK(strstr(html, want) != NULL);
    }
    CHECK_EQ_INT(count(html, "<audio "), 1);
    CHECK(strstr(html, "<audio id=\"lesson-audio\" controls "
                       "preload=\"metadata\" src=\"lesson.wav\">") != NULL);
    CHECK(strstr(html, "<script src=\"lesson.js\" defer></script>") != NULL);
    if (l.level != NULL)
        CHECK(has_escaped(html, l.level));
    if (l.topic != NULL)
        CHECK(has_escaped(html, l.topic));
    free(html);

    /* Without audio: no player, no buttons, no script. */
    html = render_lesson_html(&l, NULL, &hlen);
    check_page_safe(html, hlen);
    if (unit_failed_)
        return;
    CHECK(strstr(html, "<audio") == NULL);
    CHECK(strstr(html, "<button") == NULL);
    CHECK(strstr(html, "<script") == NULL);
    free(html);
    free(tm);
    free(segs);
    lesson_free(&l);
}

TEST(renders_a2_directions) { check_example("a2-directions.md"); }
TEST(renders_b1_coffee_shop) { check_example("b1-coffee-shop.md"); }
TEST(renders_b2_remote_work) { check_example("b2-remote-work.md"); }

TEST(b1_structure)
{
    size_t len = 0, hlen = 0;
    char *src = read_example("b1-coffee-shop.md", &len), *html;
    struct lesson l;

    CHECK(src != NULL);
    CHECK_EQ_INT(lesson_parse(src, len, &l, NULL), 0);
    free(src);
    html = render_lesson_html(&l, NULL, &hlen);
    CHECK(html != NULL);
    CHECK(strstr(html, "<title>At the Coffee Shop</title>") != NULL);
    CHECK(strstr(html, "<h1>At the Coffee Shop</h1>") != NULL);
    CHECK(strstr(html, "<dd class=\"level\">B1</dd>") != NULL);
    CHECK(strstr(html, "<dd class=\"topic\">Ordering food and drink</dd>") !=
          NULL);
    CHECK(strstr(html, "<dt>oat milk</dt><dd>a milk made from oats, often "
                       "used instead of cow&#39;s milk</dd>") != NULL);
    CHECK(strstr(html, "<span class=\"speaker sp-0\">Barista<span "
                       "class=\"vh\">:</span></span> <span class=\"text\">"
                       "Good morning! What can I get for you today?</span>") !=
          NULL);
    CHECK(strstr(html, "<span class=\"speaker sp-1\">Maya") != NULL);
    /* exercises: a numbered list of three items */
    CHECK(strstr(html, "<ol>\n<li>What size latte does Maya order?</li>\n"
                       "<li>How does Maya pay?</li>\n<li>Write three") != NULL);
    CHECK(strstr(html, "<dl class=\"vocab\">") != NULL);
    free(html);
    lesson_free(&l);
}

static const char HOSTILE[] =
    "---\n"
    "title: <script>alert(1)</script> Title\n"
    "level: B1\" onmouseover=\"x\n"
    "topic: <img src=x onerror=alert(1)>\n"
    "---\n"
    "\n"
    "# Ignored heading\n"
    "\n"
    "Intro with <b onclick=\"x\">html</b> and [bad](javascript:alert(1)).\n"
    "\n"
    "## Dialogue <script>alert(1)</script>\n"
    "\n"
    "Ann: <script>alert(1)</script> and \" onmouseover=\"x\n"
    "Bob: a [x](JavaScript:alert(1)) and [ok](https://example.org/a?b=1&c=\"2) "
    "and [rel](notes.html#x) and [d](data:text/html,hi) and [p](//evil.example/)\n"
    "\n"
    "## Vocabulary\n"
    "\n"
    "- **<script>alert(1)</script>** \xE2\x80\x94 \" onmouseover=\"x <i>\n"
    "\n"
    "## Exercises\n"
    "\n"
    "1. <script>alert(1)</script> **bold** *em* `<code>` and ' \" &amp;\n"
    "2. [y](javascript:alert(2))\n";

TEST(hostile_lesson_is_text)
{
    struct lesson l;
    struct lesson_error err;
    struct render_timing tm[2];
    struct render_audio audio = {"lesson.wav", tm, 2};
    size_t hlen = 0, nseg = 0;
    struct lesson_segment *segs = NULL;
    char *html;

    if (lesson_parse(HOSTILE, sizeof HOSTILE - 1, &l, &err) != 0)
        FAIL("parse: %s", err.message);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_DIALOGUE, &segs, &nseg, &err),
                 0);
    CHECK_EQ_INT(nseg, 2);
    for (size_t i = 0; i < 2; i++) {
        tm[i].section = segs[i].section;
        tm[i].item = segs[i].item;
        tm[i].start_ms = (int64_t)i * 1000;
        tm[i].end_ms = (int64_t)i * 1000 + 999;
        tm[i].speaker = segs[i].speaker;
    }
    free(segs);
    html = render_lesson_html(&l, &audio, &hlen);
    check_page_safe(html, hlen);
    if (unit_failed_)
        return;
    CHECK(strstr(html, "<script>") == NULL);
    CHECK(strstr(html, "<script src=") != NULL);
    CHECK_EQ_INT(count(html, "<script"), 1);
    CHECK(strstr(html, "<img") == NULL);
    CHECK(strstr(html, "<b ") == NULL);
    CHECK(strstr(html, "<i>") == NULL);
    /* <h1> title, section name, line, exercise show the tag as text; the
     * <title> and the vocabulary term use the lesson's plain forms, which
     * drop HTML tags */
    CHECK_EQ_INT(count(html, "&lt;script&gt;alert(1)&lt;/script&gt;"), 4);
    CHECK(strstr(html, "<h1>&lt;script&gt;alert(1)&lt;/script&gt; "
                       "Title</h1>") != NULL);
    CHECK(strstr(html, "<title>alert(1) Title</title>") != NULL);
    CHECK(strstr(html, "<dt>alert(1)</dt>") != NULL);
    CHECK(strstr(html, "B1&quot; onmouseover=&quot;x") != NULL);
    CHECK(strstr(html, "&quot; onmouseover=&quot;x") != NULL);
    CHECK(strstr(html, "\" onmouseover") == NULL);
    CHECK(strstr(html, "&lt;img src=x onerror=alert(1)&gt;") != NULL);
    /* links: only http(s) and relative ones become <a> */
    CHECK(strstr(html, "href=\"javascript") == NULL);
    CHECK(strstr(html, "href=\"JavaScript") == NULL);
    CHECK(strstr(html, "href=\"data:") == NULL);
    CHECK(strstr(html, "href=\"//") == NULL);
    CHECK(strstr(html, "[bad](javascript:alert(1))") != NULL);
    CHECK(strstr(html, "[y](javascript:alert(2))") != NULL);
    CHECK(strstr(html, "<a href=\"https://example.org/a?b=1&amp;c=&quot;2\" "
                       "rel=\"noopener noreferrer\">ok</a>") != NULL);
    CHECK(strstr(html, "<a href=\"notes.html#x\">rel</a>") != NULL);
    CHECK_EQ_INT(count(html, "<a "), 3); /* ok, rel, the audio fallback */
    /* inline Markdown in the exercise */
    CHECK(strstr(html, "<strong>bold</strong> <em>em</em> "
                       "<code>&lt;code&gt;</code> and &#39; &quot; "
                       "&amp;amp;") != NULL);
    CHECK_EQ_INT(count(html, "<button "), 2);
    free(html);
    lesson_free(&l);
}

/* A lesson built by hand: a speaker name and other fields the parser
 * would refuse, to check they are escaped everywhere. */
TEST(hand_built_lesson_escapes_every_field)
{
    static const char *speakers[] = {"<script>alert(1)</script>",
                                     "O'Brien \" onmouseover=\"x & co"};
    struct lesson_item items[3];
    struct lesson_item vitems[1];
    struct lesson_section secs[2];
    struct lesson_meta meta[1];
    struct lesson l;
    struct render_timing tm[5];
    struct render_audio audio = {"my \"audio\".wav", tm, 5};
    size_t hlen = 0;
    char *html;

    memset(&l, 0, sizeof l);
    memset(items, 0, sizeof items);
    memset(vitems, 0, sizeof vitems);
    memset(secs, 0, sizeof secs);
    items[0].kind = LESSON_ITEM_SPEECH;
    items[0].speaker = speakers[0];
    items[0].text = items[0].plain = "hello";
    items[1].kind = LESSON_ITEM_SPEECH;
    items[1].speaker = speakers[1];
    items[1].text = items[1].plain = "</span></li><script>x()</script>";
    items[2].kind = LESSON_ITEM_DIRECTION;
    items[2].text = items[2].plain = "(<script>leaves</script>)";
    vitems[0].kind = LESSON_ITEM_VOCAB;
    vitems[0].term = "\" onfocus=\"x";
    vitems[0].text = vitems[0].plain = "";
    secs[0].name = "Dialogue \" onclick=\"x";
    secs[0].kind = LESSON_SECTION_DIALOGUE;
    secs[0].items = items;
    secs[0].nitems = 3;
    secs[1].name = "Vocabulary";
    secs[1].kind = LESSON_SECTION_VOCABULARY;
    secs[1].items = vitems;
    secs[1].nitems = 1;
    meta[0].key = "lang";
    meta[0].value = "en\" onload=\"x";
    l.title = l.title_plain = "T \" onload='x' <script>";
    l.level = "<script>";
    l.topic = "\" onclick=\"x";
    l.meta = meta;
    l.nmeta = 1;
    l.sections = secs;
    l.nsections = 2;
    l.speakers = speakers;
    l.nspeakers = 2;
    /* two valid timings, one out of range (ignored) */
    tm[0] = (struct render_timing){0, 0, 0, 500, NULL};
    tm[1] = (struct render_timing){0, 1, 500, 1500, NULL};
    tm[2] = (struct render_timing){0, 7, 0, 10, NULL};
    tm[3] = (struct render_timing){0, 1, 9000, 9500, NULL}; /* duplicate */
    tm[4] = (struct render_timing){0, 2, 800, 700, NULL};   /* end < start */
    html = render_lesson_html(&l, &audio, &hlen);
    check_page_safe(html, hlen);
    if (unit_failed_)
        return;
    CHECK_EQ_INT(count(html, "<script"), 1);
    CHECK(strstr(html, "<html lang=\"en\">") != NULL); /* bad lang refused */
    CHECK(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;") != NULL);
    CHECK(strstr(html, "O&#39;Brien &quot; onmouseover=&quot;x &amp; co") !=
          NULL);
    CHECK(strstr(html, "&lt;/span&gt;&lt;/li&gt;&lt;script&gt;x()") != NULL);
    CHECK(strstr(html, "<dt>&quot; onfocus=&quot;x</dt>") != NULL);
    CHECK(strstr(html, "Dialogue &quot; onclick=&quot;x") != NULL);
    CHECK(strstr(html, "<title>T &quot; onload=&#39;x&#39; &lt;script&gt;"
                       "</title>") != NULL);
    CHECK(strstr(html, "src=\"my%20%22audio%22.wav\"") != NULL);
    CHECK_EQ_INT(count(html, "<button "), 2);
    CHECK(strstr(html, "data-start=\"500\" data-end=\"1500\" "
                       "aria-label=\"Play line 2\"") != NULL);
    CHECK(strstr(html, "data-start=\"9000\"") == NULL);
    CHECK(strstr(html, "data-start=\"800\"") == NULL);
    free(html);
}

TEST(inline_markdown_edges)
{
    static const char doc[] =
        "# T\n\n## Exercises\n\n"
        "snake_case_name and 2 * 3 * 4 stay text\n"
        "***\n"
        "- **unclosed and *also\n"
        "- `` a ` b `` then ```x\n"
        "- \\*not em\\* and [no close](http://x\n"
        "- *a **b** c* and __u__ and _v_\n"
        "\n"
        "### Part 2\n"
        "```\n"
        "<pre> & *raw*\n"
        "```\n";
    struct lesson l;
    struct lesson_error err;
    size_t hlen = 0;
    char *html;

    if (lesson_parse(doc, sizeof doc - 1, &l, &err) != 0)
        FAIL("parse: %s", err.message);
    html = render_lesson_html(&l, NULL, &hlen);
    check_page_safe(html, hlen);
    if (unit_failed_)
        return;
    CHECK(strstr(html, "snake_case_name and 2 * 3 * 4 stay text") != NULL);
    CHECK(strstr(html, "<hr>") != NULL);
    CHECK(strstr(html, "<li>**unclosed and *also</li>") != NULL);
    CHECK(strstr(html, "<code> a ` b </code> then ```x") != NULL);
    CHECK(strstr(html, "<li>*not em* and [no close](http://x</li>") != NULL);
    CHECK(strstr(html, "<em>a <strong>b</strong> c</em> and "
                       "<strong>u</strong> and <em>v</em>") != NULL);
    CHECK(strstr(html, "<h3>Part 2</h3>") != NULL);
    CHECK(strstr(html, "<pre><code>&lt;pre&gt; &amp; *raw*\n</code></pre>") !=
          NULL);
    free(html);
    lesson_free(&l);
}

TEST(pathological_inline_is_fast_and_balanced)
{
    /* 30 lines of 60 000 bytes full of openers that never close: each
     * opener scanning to the end of its line would take minutes (quadratic);
     * the renderer remembers which closers are absent and stays linear. */
    static const char unit[] = "*a **b _c __d [e ";
    const size_t lines = 32, width = 64000;
    size_t hlen = 0, o;
    char *doc = malloc(lines * (width + 1) + 64), *html;
    struct lesson l;
    struct lesson_error err;
    clock_t t0;
    double secs;

    CHECK(doc != NULL);
    o = (size_t)snprintf(doc, 64, "# T\n\n## Exercises\n\n");
    for (size_t k = 0; k < lines; k++) {
        for (size_t i = 0; i < width; i++)
            doc[o++] = unit[i % (sizeof unit - 1)];
        doc[o++] = '\n';
    }
    if (lesson_parse(doc, o, &l, &err) != 0)
        FAIL("parse: %s", err.message);
    free(doc);
    t0 = clock();
    html = render_lesson_html(&l, NULL, &hlen);
    secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    check_page_safe(html, hlen);
    if (unit_failed_)
        return;
    if (secs > 1.0)
        FAIL("rendering took %.2f s of CPU", secs);
    CHECK(strstr(html, "<em>") == NULL && strstr(html, "<strong>") == NULL);
    free(html);
    lesson_free(&l);
}

TEST(static_css_and_js)
{
    size_t clen = 0, jlen = 0;
    char *css = render_lesson_css(&clen), *js = render_lesson_js(&jlen);

    CHECK(css != NULL && js != NULL);
    CHECK_EQ_INT(strlen(css), clen);
    CHECK_EQ_INT(strlen(js), jlen);
    CHECK(bb_utf8_valid(css, clen) && bb_utf8_valid(js, jlen));
    CHECK(strstr(css, ":focus-visible") != NULL);
    CHECK(strstr(css, ".is-playing") != NULL);
    CHECK(strstr(css, "@import") == NULL && strstr(css, "url(") == NULL);
    CHECK(strstr(js, "button[data-start][data-end]") != NULL);
    CHECK(strstr(js, "currentTime = seg.start") != NULL);
    CHECK(strstr(js, "audio.pause()") != NULL);
    CHECK(strstr(js, "'is-playing'") != NULL);
    CHECK(strstr(js, "lesson-audio") != NULL);
    CHECK(strstr(js, "eval(") == NULL && strstr(js, "innerHTML") == NULL);
    CHECK(strstr(js, "fetch(") == NULL && strstr(js, "http") == NULL);
    free(css);
    free(js);
}

static const cJSON *get(const cJSON *o, const char *k)
{
    return cJSON_GetObjectItemCaseSensitive(o, k);
}

TEST(manifest_parses_with_expected_fields)
{
    size_t len = 0, nseg = 0;
    char *src = read_example("b1-coffee-shop.md", &len), *json;
    struct lesson l;
    struct lesson_segment *segs = NULL;
    struct render_timing tm[16];
    const char *files[16];
    struct render_artifact arts[2] = {
        {"lesson.html", 12345, "ab12", "text/html; charset=utf-8",
         "/api/v1/jobs/42/artifacts/lesson.html"},
        {"lesson.wav", 9876543210LL, NULL, "audio/wav", NULL}};
    struct render_manifest m;
    cJSON *root;
    const cJSON *o, *a, *e;

    CHECK(src != NULL);
    CHECK_EQ_INT(lesson_parse(src, len, &l, NULL), 0);
    free(src);
    CHECK_EQ_INT(lesson_segments(&l, LESSON_MODE_AUTO, &segs, &nseg, NULL), 0);
    CHECK(nseg == 7);
    for (size_t i = 0; i < nseg; i++) {
        tm[i] = (struct render_timing){segs[i].section, segs[i].item,
                                       (int64_t)i * 2000,
                                       (int64_t)i * 2000 + 1900,
                                       segs[i].speaker};
        files[i] = i == 3 ? NULL : "seg.wav";
    }
    tm[nseg] = (struct render_timing){99, 0, 1, 2, NULL}; /* names no item */
    files[nseg] = NULL;
    memset(&m, 0, sizeof m);
    m.job_id = 42;
    m.preset = "lesson";
    m.mode = "dialogue";
    m.voice_accent = NULL;
    m.created_at = "2026-11-22T05:00:00.000Z";
    m.artifacts = arts;
    m.nartifacts = 2;
    m.timings = tm;
    m.ntimings = nseg + 1;
    m.segment_files = files;
    m.notion_url = NULL;
    json = render_manifest_json(&l, &m);
    CHECK(json != NULL);
    CHECK(bb_utf8_valid(json, strlen(json)));
    root = cJSON_Parse(json);
    free(json);
    CHECK(root != NULL);

    o = get(root, "lesson");
    CHECK(cJSON_IsObject(o));
    CHECK_STR_EQ(cJSON_GetStringValue(get(o, "title")), "At the Coffee Shop");
    CHECK_STR_EQ(cJSON_GetStringValue(get(o, "level")), "B1");
    CHECK_STR_EQ(cJSON_GetStringValue(get(o, "topic")),
                 "Ordering food and drink");
    a = get(o, "speakers");
    CHECK_EQ_INT(cJSON_GetArraySize(a), 2);
    CHECK_STR_EQ(cJSON_GetStringValue(cJSON_GetArrayItem(a, 0)), "Barista");
    CHECK_STR_EQ(cJSON_GetStringValue(cJSON_GetArrayItem(a, 1)), "Maya");
    a = get(o, "sections");
    CHECK_EQ_INT(cJSON_GetArraySize(a), (int)l.nsections);
    e = cJSON_GetArrayItem(a, 0);
    CHECK_STR_EQ(cJSON_GetStringValue(get(e, "name")), "Dialogue");
    CHECK_STR_EQ(cJSON_GetStringValue(get(e, "kind")), "dialogue");

    o = get(root, "job");
    CHECK_STR_EQ(cJSON_GetStringValue(get(o, "jobId")), "42");
    CHECK_STR_EQ(cJSON_GetStringValue(get(o, "preset")), "lesson");
    CHECK_STR_EQ(cJSON_GetStringValue(get(o, "mode")), "dialogue");
    CHECK(cJSON_IsNull(get(o, "voiceAccent")));
    CHECK_STR_EQ(cJSON_GetStringValue(get(o, "createdAt")),
                 "2026-11-22T05:00:00.000Z");

    a = get(root, "artifacts");
    CHECK_EQ_INT(cJSON_GetArraySize(a), 2);
    e = cJSON_GetArrayItem(a, 0);
    CHECK_STR_EQ(cJSON_GetStringValue(get(e, "name")), "lesson.html");
    CHECK_EQ_INT(cJSON_GetNumberValue(get(e, "size")), 12345);
    CHECK_STR_EQ(cJSON_GetStringValue(get(e, "sha256")), "ab12");
    CHECK_STR_EQ(cJSON_GetStringValue(get(e, "contentType")),
                 "text/html; charset=utf-8");
    CHECK_STR_EQ(cJSON_GetStringValue(get(e, "url")),
                 "/api/v1/jobs/42/artifacts/lesson.html");
    e = cJSON_GetArrayItem(a, 1);
    CHECK_EQ_INT(cJSON_GetNumberValue(get(e, "size")), 9876543210LL);
    CHECK(cJSON_IsNull(get(e, "sha256")) && cJSON_IsNull(get(e, "url")));

    a = get(root, "segments");
    CHECK_EQ_INT(cJSON_GetArraySize(a), (int)nseg + 1);
    e = cJSON_GetArrayItem(a, 1);
    CHECK_EQ_INT(cJSON_GetNumberValue(get(e, "index")), 1);
    CHECK_STR_EQ(cJSON_GetStringValue(get(e, "speaker")), "Maya");
    CHECK_STR_EQ(cJSON_GetStringValue(get(e, "text")),
                 "Hi. Could I have a large latte with oat milk, please?");
    CHECK_EQ_INT(cJSON_GetNumberValue(get(e, "startMs")), 2000);
    CHECK_EQ_INT(cJSON_GetNumberValue(get(e, "endMs")), 3900);
    CHECK_STR_EQ(cJSON_GetStringValue(get(e, "file")), "seg.wav");
    CHECK(cJSON_IsNull(get(cJSON_GetArrayItem(a, 3), "file")));
    e = cJSON_GetArrayItem(a, (int)nseg);
    CHECK(cJSON_IsNull(get(e, "text")));
    CHECK(cJSON_IsNull(get(e, "speaker")));
    CHECK(cJSON_IsNull(get(root, "notionUrl")));
    cJSON_Delete(root);

    /* notionUrl set, no artifacts, no timings */
    m.notion_url = "https://notion.so/page-1";
    m.nartifacts = 0;
    m.ntimings = 0;
    m.segment_files = NULL;
    json = render_manifest_json(&l, &m);
    CHECK(json != NULL);
    root = cJSON_Parse(json);
    free(json);
    CHECK(root != NULL);
    CHECK_STR_EQ(cJSON_GetStringValue(get(root, "notionUrl")),
                 "https://notion.so/page-1");
    CHECK_EQ_INT(cJSON_GetArraySize(get(root, "artifacts")), 0);
    CHECK_EQ_INT(cJSON_GetArraySize(get(root, "segments")), 0);
    cJSON_Delete(root);
    free(segs);
    lesson_free(&l);
}
