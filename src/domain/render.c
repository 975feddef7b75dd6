/* render.c — renders a parsed lesson as a self-contained HTML page (its
 * static stylesheet and script are render_static.c) and writes manifest.json
 * (docs/lesson-workflow.md, steps 3 and 6; see render.h).  The page obeys the server's CSP: no
 * inline script, no inline style, no event-handler attributes, nothing
 * fetched from outside the artifact directory.  Every byte that comes from
 * the lesson passes through esc() (text and attributes alike) or through
 * the inline Markdown renderer, which itself escapes all text it emits and
 * only ever emits balanced <strong>, <em>, <code> and <a href> tags. */
#include "domain/render.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "util/buf.h"

#define INLINE_DEPTH_MAX 6   /* nesting of emphasis / link text */
#define CODE_RUN_MAX 8       /* longest backtick run taken as a code span */
#define LINK_URL_MAX 2048    /* bytes in a link target */

/* ------------------------------------------------------------ the page */

struct page {
    buf b;
    bool failed;                         /* sticky: cap hit or out of memory */
    const struct render_timing **timing; /* per flat item index, or NULL */
    size_t *base;                        /* flat index of section item 0 */
    unsigned nbuttons;
    const struct render_translations *tr; /* or NULL */
    const struct lesson *l;
};

static void put(struct page *pg, const char *s, size_t n)
{
    if (!pg->failed && buf_append(&pg->b, s, n) != 0)
        pg->failed = true;
}

static void puts_(struct page *pg, const char *s) { put(pg, s, strlen(s)); }

__attribute__((format(printf, 2, 3))) static void putf(struct page *pg,
                                                       const char *fmt, ...)
{
    char tmp[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof tmp) {
        pg->failed = true;
        return;
    }
    put(pg, tmp, (size_t)n);
}

/* Appends s[0..n) HTML-escaped (& < > " '), safe in text and in quoted
 * attribute values. */
static void esc(struct page *pg, const char *s, size_t n)
{
    size_t run = 0;

    for (size_t i = 0; i < n; i++) {
        const char *e;

        switch (s[i]) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        default: continue;
        }
        put(pg, s + run, i - run);
        puts_(pg, e);
        run = i + 1;
    }
    put(pg, s + run, n - run);
}

static void escs(struct page *pg, const char *s)
{
    if (s != NULL)
        esc(pg, s, strlen(s));
}

/* ------------------------------------------------------ inline Markdown */

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static bool is_alnum(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

static bool is_punct(char c)
{
    return c > 0x20 && c < 0x7f && !is_alnum(c);
}

/* Case-insensitive: does s[0..n) start with the lower-case ASCII p? */
static bool starts_ci(const char *s, size_t n, const char *p)
{
    size_t pl = strlen(p);

    if (n < pl)
        return false;
    for (size_t i = 0; i < pl; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c != p[i])
            return false;
    }
    return true;
}

/* A link target we emit as href: http(s) with a host part, or relative
 * (no scheme, not protocol-relative); no blanks, controls or backslashes. */
static bool url_allowed(const char *u, size_t n)
{
    if (n == 0 || n > LINK_URL_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)u[i] <= 0x20 || u[i] == 0x7f || u[i] == '\\')
            return false;
    if (starts_ci(u, n, "http://"))
        return n > 7 && u[7] != '/';
    if (starts_ci(u, n, "https://"))
        return n > 8 && u[8] != '/';
    if (n >= 2 && u[0] == '/' && u[1] == '/')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (u[i] == ':')
            return false; /* a scheme: javascript:, data:, mailto:, ... */
        if (u[i] == '/' || u[i] == '?' || u[i] == '#')
            return true;
    }
    return true;
}

/* Where the closer of a k-long run of c (k = 1 or 2) opened before `from`
 * is in s[from..n), or n when there is none.  A closer follows a non-blank
 * character, is not part of a longer run, and for '_' is not followed by
 * a letter or digit. */
static size_t find_closer(const char *s, size_t from, size_t n, char c,
                          size_t k)
{
    for (size_t j = from + 1; j + k <= n; j++) {
        if (s[j] != c || is_blank(s[j - 1]) || s[j - 1] == c)
            continue;
        if (k == 2 && s[j + 1] != c)
            continue;
        if (j + k < n && s[j + k] == c)
            continue;
        if (c == '_' && j + k < n && is_alnum(s[j + k]))
            continue;
        return j;
    }
    return n;
}

static void render_inline(struct page *pg, const char *s, size_t n, int depth,
                          bool links);

/* Emphasis at s[i] (c is '*' or '_'): emits it and returns the index
 * after it, or returns i when s[i] opens nothing.  none[] remembers which
 * closers are known absent from here to n. */
static size_t emphasis(struct page *pg, const char *s, size_t i, size_t n,
                       int depth, bool links, bool none[2])
{
    char c = s[i];
    size_t k = (i + 1 < n && s[i + 1] == c) ? 2 : 1, j;

    if (depth >= INLINE_DEPTH_MAX || none[k - 1] || i + k >= n)
        return i;
    if (is_blank(s[i + k]) || s[i + k] == c)
        return i;
    if (c == '_' && i > 0 && is_alnum(s[i - 1]))
        return i;
    j = find_closer(s, i + k, n, c, k);
    if (j >= n) {
        none[k - 1] = true;
        return i;
    }
    puts_(pg, k == 2 ? "<strong>" : "<em>");
    render_inline(pg, s + i + k, j - i - k, depth + 1, links);
    puts_(pg, k == 2 ? "</strong>" : "</em>");
    return j + k;
}

/* Renders the inline Markdown s[0..n): all text escaped; tags emitted only
 * in matched pairs. */
static void render_inline(struct page *pg, const char *s, size_t n, int depth,
                          bool links)
{
    bool none_star[2] = {false, false}, none_under[2] = {false, false};
    bool none_code[CODE_RUN_MAX + 1] = {false};
    size_t close_br = 0, paren_end = 0, i = 0, text = 0;
    bool have_br = false, no_br = false, paren_done = false;

    while (i < n && !pg->failed) {
        char c = s[i];
        size_t next = i;

        if (c == '\\' && i + 1 < n && is_punct(s[i + 1])) {
            esc(pg, s + text, i - text);
            esc(pg, s + i + 1, 1);
            i += 2;
            text = i;
            continue;
        }
        if (c == '`') {
            size_t r = 0, j;

            while (i + r < n && s[i + r] == '`')
                r++;
            if (r <= CODE_RUN_MAX && !none_code[r]) {
                for (j = i + r; j < n; j++) {
                    size_t q = 0;

                    if (s[j] != '`')
                        continue;
                    while (j + q < n && s[j + q] == '`')
                        q++;
                    if (q == r)
                        break;
                    j += q - 1;
                }
                if (j < n) {
                    esc(pg, s + text, i - text);
                    puts_(pg, "<code>");
                    esc(pg, s + i + r, j - i - r);
                    puts_(pg, "</code>");
                    i = j + r;
                    text = i;
                    continue;
                }
                none_code[r] = true;
            }
            i += r; /* the run stays text */
            continue;
        }
        if (c == '*' || c == '_') {
            esc(pg, s + text, i - text);
            text = i;
            next = emphasis(pg, s, i, n, depth, links,
                            c == '*' ? none_star : none_under);
            if (next != i) {
                i = text = next;
                continue;
            }
            /* not an opener: the run stays text */
            while (i < n && s[i] == c)
                i++;
            continue;
        }
        if (c == '[' && links && depth < INLINE_DEPTH_MAX && !no_br) {
            if (!have_br || close_br <= i) {
                const char *p = memchr(s + i + 1, ']', n - i - 1);

                if (p == NULL) {
                    no_br = true;
                    i++;
                    continue;
                }
                close_br = (size_t)(p - s);
                have_br = true;
                paren_done = false;
            }
            if (close_br + 1 < n && s[close_br + 1] == '(') {
                if (!paren_done) {
                    size_t e = close_br + 2;

                    while (e < n && e - close_br - 2 <= LINK_URL_MAX &&
                           s[e] != ')' && !is_blank(s[e]))
                        e++;
                    paren_end = (e < n && s[e] == ')') ? e : 0;
                    paren_done = true;
                }
                if (paren_end != 0) {
                    const char *u = s + close_br + 2;
                    size_t ul = paren_end - close_br - 2;

                    esc(pg, s + text, i - text);
                    if (url_allowed(u, ul)) {
                        puts_(pg, "<a href=\"");
                        esc(pg, u, ul);
                        puts_(pg, starts_ci(u, ul, "http")
                                      ? "\" rel=\"noopener noreferrer\">"
                                      : "\">");
                        render_inline(pg, s + i + 1, close_br - i - 1,
                                      depth + 1, false);
                        puts_(pg, "</a>");
                    } else {
                        esc(pg, s + i, paren_end + 1 - i);
                    }
                    i = text = paren_end + 1;
                    continue;
                }
            }
        }
        i++;
    }
    esc(pg, s + text, n - text);
}

static void inline_md(struct page *pg, const char *s)
{
    if (s != NULL)
        render_inline(pg, s, strlen(s), 0, true);
}

/* --------------------------------------------------- block Markdown */

enum block { BLK_NONE, BLK_P, BLK_UL, BLK_OL, BLK_PRE };

struct blocks {
    enum block cur;
};

static void close_block(struct page *pg, struct blocks *bs)
{
    static const char *const end[] = {"", "</p>\n", "</li>\n</ul>\n",
                                      "</li>\n</ol>\n", "</code></pre>\n"};

    puts_(pg, end[bs->cur]);
    bs->cur = BLK_NONE;
}

static bool is_fence(const char *s, size_t n)
{
    return n >= 3 && (memcmp(s, "```", 3) == 0 || memcmp(s, "~~~", 3) == 0);
}

static bool is_hr(const char *s, size_t n)
{
    size_t count = 0;
    char c = n > 0 ? s[0] : 0;

    if (c != '-' && c != '*' && c != '_')
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == c)
            count++;
        else if (!is_blank(s[i]))
            return false;
    }
    return count >= 3;
}

static bool is_comment(const char *s, size_t n)
{
    return n >= 7 && memcmp(s, "<!--", 4) == 0 &&
           memcmp(s + n - 3, "-->", 3) == 0;
}

/* One raw line of an intro, exercises or other section. */
static void raw_line(struct page *pg, struct blocks *bs, const char *s)
{
    size_t n = strlen(s), ind = 0, h = 0, m = 0;
    const char *r;

    if (bs->cur == BLK_PRE) {
        while (ind < n && is_blank(s[ind]))
            ind++;
        if (is_fence(s + ind, n - ind)) {
            close_block(pg, bs);
        } else {
            esc(pg, s, n);
            puts_(pg, "\n");
        }
        return;
    }
    while (ind < n && is_blank(s[ind]))
        ind++;
    r = s + ind;
    n -= ind;
    if (n == 0) {
        close_block(pg, bs);
        return;
    }
    if (is_fence(r, n)) {
        close_block(pg, bs);
        puts_(pg, "<pre><code>");
        bs->cur = BLK_PRE;
        return;
    }
    if (is_comment(r, n))
        return;
    while (h < n && h < 7 && r[h] == '#')
        h++;
    if (h >= 1 && h <= 6 && (h == n || is_blank(r[h]))) {
        unsigned lvl = h < 3 ? 3 : (unsigned)h;
        size_t t = h;

        while (t < n && is_blank(r[t]))
            t++;
        close_block(pg, bs);
        putf(pg, "<h%u>", lvl);
        render_inline(pg, r + t, n - t, 0, true);
        putf(pg, "</h%u>\n", lvl);
        return;
    }
    if (is_hr(r, n)) {
        close_block(pg, bs);
        puts_(pg, "<hr>\n");
        return;
    }
    if (n >= 2 && (r[0] == '-' || r[0] == '*' || r[0] == '+') &&
        is_blank(r[1])) {
        if (bs->cur == BLK_UL) {
            puts_(pg, "</li>\n<li>");
        } else {
            close_block(pg, bs);
            puts_(pg, "<ul>\n<li>");
            bs->cur = BLK_UL;
        }
        m = 2;
    } else {
        unsigned long num = 0;

        while (m < n && m < 9 && r[m] >= '0' && r[m] <= '9')
            num = num * 10 + (unsigned long)(r[m++] - '0');
        if (m > 0 && m + 1 < n && (r[m] == '.' || r[m] == ')') &&
            is_blank(r[m + 1])) {
            if (bs->cur == BLK_OL) {
                puts_(pg, "</li>\n<li>");
            } else {
                close_block(pg, bs);
                if (num == 1)
                    puts_(pg, "<ol>\n<li>");
                else
                    putf(pg, "<ol start=\"%lu\">\n<li>", num);
                bs->cur = BLK_OL;
            }
            m += 2;
        } else {
            m = 0;
            if ((bs->cur == BLK_UL || bs->cur == BLK_OL) && ind > 0) {
                puts_(pg, " ");       /* continuation of the list item */
            } else if (bs->cur == BLK_P) {
                puts_(pg, "<br>\n");
            } else {
                close_block(pg, bs);
                puts_(pg, "<p>");
                bs->cur = BLK_P;
            }
        }
    }
    while (m < n && is_blank(r[m]))
        m++;
    render_inline(pg, r + m, n - m, 0, true);
}

/* ------------------------------------------------------------ sections */

static const struct render_timing *timing_of(const struct page *pg, size_t sec,
                                             size_t item)
{
    return pg->timing != NULL ? pg->timing[pg->base[sec] + item] : NULL;
}

static void play_button(struct page *pg, const struct render_timing *t)
{
    pg->nbuttons++;
    putf(pg,
         "<button type=\"button\" class=\"play\" data-start=\"%lld\" "
         "data-end=\"%lld\" aria-label=\"Play line %u\" aria-pressed=\"false\">"
         "<span class=\"play-icon\" aria-hidden=\"true\"></span></button>",
         (long long)t->start_ms, (long long)t->end_ms, pg->nbuttons);
}

static size_t speaker_index(const struct lesson *l, const char *name)
{
    for (size_t i = 0; i < l->nspeakers; i++)
        if (strcmp(l->speakers[i], name) == 0)
            return i;
    return 0;
}

/* before, then text rendered as inline Markdown, then after: the shape
 * of every text element of the page. */
static void md_between(struct page *pg, const char *before, const char *text,
                       const char *after)
{
    puts_(pg, before);
    inline_md(pg, text);
    puts_(pg, after);
}

static void heading3(struct page *pg, const char *text)
{
    md_between(pg, "<h3>", text, "</h3>\n");
}

size_t render_item_index(const struct lesson *l, size_t section, size_t item)
{
    size_t k = 0;
    for (size_t s = 0; s < section && s < l->nsections; s++)
        k += l->sections[s].nitems;
    return k + item;
}

/* The translation of item `item` of section si, or NULL. */
static const char *translation_of(const struct page *pg, size_t si, size_t item)
{
    if (pg->tr == NULL || pg->tr->text == NULL)
        return NULL;
    size_t k = render_item_index(pg->l, si, item);
    return k < pg->tr->n ? pg->tr->text[k] : NULL;
}

static bool lang_ok(const char *s);

/* <TAG class="tr" lang="TO">text</TAG> for a translated line. */
static void put_translation(struct page *pg, const char *tag, const char *text)
{
    putf(pg, "<%s class=\"tr\"", tag);
    if (lang_ok(pg->tr->to)) {
        puts_(pg, " lang=\"");
        escs(pg, pg->tr->to);
        puts_(pg, "\"");
    }
    puts_(pg, ">");
    escs(pg, text);
    putf(pg, "</%s>", tag);
}

static void section_dialogue(struct page *pg, const struct lesson *l, size_t si)
{
    const struct lesson_section *sec = &l->sections[si];
    bool open = false;

    for (size_t i = 0; i < sec->nitems; i++) {
        const struct lesson_item *it = &sec->items[i];
        const struct render_timing *t = timing_of(pg, si, i);

        if (it->kind == LESSON_ITEM_HEADING) {
            if (open)
                puts_(pg, "</ol>\n");
            open = false;
            heading3(pg, it->text);
            continue;
        }
        if (!open)
            puts_(pg, "<ol class=\"dialogue\">\n");
        open = true;
        if (it->kind == LESSON_ITEM_SPEECH && it->speaker != NULL) {
            putf(pg, "<li class=\"line%s\">", t != NULL ? " timed" : "");
            if (t != NULL)
                play_button(pg, t);
            putf(pg, "<p class=\"utterance\"><span class=\"speaker sp-%zu\">",
                 speaker_index(l, it->speaker) % 6);
            escs(pg, it->speaker);
            md_between(pg, "<span class=\"vh\">:</span></span> <span class=\"text\">",
                       it->text, "</span>");
            const char *tr = translation_of(pg, si, i);
            if (tr != NULL)
                put_translation(pg, "span", tr);
            puts_(pg, "</p></li>\n");
        } else {
            md_between(pg, "<li class=\"direction\"><p>", it->text, "</p></li>\n");
        }
    }
    if (open)
        puts_(pg, "</ol>\n");
}

static void section_reading(struct page *pg, const struct lesson *l, size_t si)
{
    const struct lesson_section *sec = &l->sections[si];

    for (size_t i = 0; i < sec->nitems; i++) {
        const struct lesson_item *it = &sec->items[i];
        const struct render_timing *t = timing_of(pg, si, i);

        if (it->kind == LESSON_ITEM_HEADING) {
            heading3(pg, it->text);
            continue;
        }
        if (t != NULL) {
            puts_(pg, "<div class=\"line timed para\">");
            play_button(pg, t);
        } else {
            puts_(pg, "<div class=\"para\">");
        }
        md_between(pg, "<p>", it->text, "</p></div>\n");
    }
}

static void section_vocabulary(struct page *pg, const struct lesson *l,
                               size_t si)
{
    const struct lesson_section *sec = &l->sections[si];
    bool open = false;

    for (size_t i = 0; i < sec->nitems; i++) {
        const struct lesson_item *it = &sec->items[i];

        if (it->kind != LESSON_ITEM_VOCAB) {
            if (open)
                puts_(pg, "</dl>\n");
            open = false;
            if (it->kind == LESSON_ITEM_HEADING) {
                heading3(pg, it->text);
            } else {
                md_between(pg, "<p>", it->text, "</p>\n");
            }
            continue;
        }
        if (!open)
            puts_(pg, "<dl class=\"vocab\">\n");
        open = true;
        puts_(pg, "<div class=\"entry\"><dt>");
        escs(pg, it->term);
        md_between(pg, "</dt><dd>", it->text, "</dd>");
        const char *tr = translation_of(pg, si, i);
        if (tr != NULL)
            put_translation(pg, "dd", tr);
        puts_(pg, "</div>\n");
    }
    if (open)
        puts_(pg, "</dl>\n");
}

static void section_raw(struct page *pg, const struct lesson *l, size_t si)
{
    const struct lesson_section *sec = &l->sections[si];
    struct blocks bs = {BLK_NONE};

    for (size_t i = 0; i < sec->nitems; i++) {
        const struct lesson_item *it = &sec->items[i];

        if (it->kind == LESSON_ITEM_RAW) {
            raw_line(pg, &bs, it->text);
            continue;
        }
        close_block(pg, &bs);
        if (it->kind == LESSON_ITEM_HEADING) {
            heading3(pg, it->text);
        } else {
            md_between(pg, "<p>", it->text, "</p>\n");
        }
    }
    close_block(pg, &bs);
}

/* A language tag worth putting in <html lang>: letters first, then
 * letters, digits and '-', at most 35 bytes. */
static bool lang_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n < 2 || n > 35 || !((s[0] >= 'a' && s[0] <= 'z') ||
                             (s[0] >= 'A' && s[0] <= 'Z')))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!is_alnum(s[i]) && s[i] != '-')
            return false;
    return true;
}

static const char *lesson_lang(const struct lesson *l)
{
    for (size_t i = 0; i < l->nmeta; i++)
        if ((strcmp(l->meta[i].key, "lang") == 0 ||
             strcmp(l->meta[i].key, "language") == 0) &&
            lang_ok(l->meta[i].value))
            return l->meta[i].value;
    return "en";
}

/* The audio file name as a relative URL: every byte outside
 * [A-Za-z0-9._~-] percent-encoded, so it can only name a sibling. */
static void put_file_url(struct page *pg, const char *name)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        char e[3];

        if (is_alnum((char)*p) || *p == '.' || *p == '_' || *p == '~' ||
            *p == '-') {
            put(pg, (const char *)p, 1);
            continue;
        }
        e[0] = '%';
        e[1] = hex[*p >> 4];
        e[2] = hex[*p & 15];
        put(pg, e, 3);
    }
}

/* Fills pg->timing / pg->base from the valid timings. */
static int index_timings(struct page *pg, const struct lesson *l,
                         const struct render_audio *audio)
{
    size_t total = 0;

    if (audio == NULL || audio->wav_name == NULL || audio->ntimings == 0 ||
        audio->timings == NULL || l->nsections == 0)
        return 0;
    pg->base = calloc(l->nsections, sizeof *pg->base);
    if (pg->base == NULL)
        return -1;
    for (size_t s = 0; s < l->nsections; s++) {
        pg->base[s] = total;
        total += l->sections[s].nitems;
    }
    if (total == 0)
        return 0;
    pg->timing = calloc(total, sizeof *pg->timing);
    if (pg->timing == NULL)
        return -1;
    for (size_t k = 0; k < audio->ntimings; k++) {
        const struct render_timing *t = &audio->timings[k];
        size_t at;

        if (t->section >= l->nsections ||
            t->item >= l->sections[t->section].nitems || t->start_ms < 0 ||
            t->end_ms < t->start_ms)
            continue;
        at = pg->base[t->section] + t->item;
        if (pg->timing[at] == NULL)
            pg->timing[at] = t;
    }
    return 0;
}

char *render_lesson_html(const struct lesson *l,
                         const struct render_audio *audio, size_t *len)
{
    return render_lesson_html_tr(l, audio, NULL, len);
}

char *render_lesson_html_tr(const struct lesson *l, const struct render_audio *audio,
                            const struct render_translations *tr, size_t *len)
{
    struct page pg;
    bool has_audio = audio != NULL && audio->wav_name != NULL &&
                     audio->wav_name[0] != '\0';
    char *out;

    if (len != NULL)
        *len = 0;
    memset(&pg, 0, sizeof pg);
    buf_init(&pg.b, RENDER_OUTPUT_MAX);
    if (index_timings(&pg, l, has_audio ? audio : NULL) != 0)
        pg.failed = true;
    pg.l = l;
    pg.tr = tr != NULL && tr->text != NULL && tr->to != NULL ? tr : NULL;

    puts_(&pg, "<!doctype html>\n<html lang=\"");
    escs(&pg, lesson_lang(l));
    puts_(&pg, "\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, "
               "initial-scale=1\">\n"
               "<meta name=\"generator\" content=\"batchbox\">\n<title>");
    escs(&pg, l->title_plain != NULL ? l->title_plain : l->title);
    puts_(&pg, "</title>\n<link rel=\"stylesheet\" href=\"lesson.css\">\n");
    if (has_audio)
        puts_(&pg, "<script src=\"lesson.js\" defer></script>\n");
    puts_(&pg, "</head>\n<body>\n<header class=\"lesson-header\">\n<h1>");
    inline_md(&pg, l->title);
    puts_(&pg, "</h1>\n");
    if (l->level != NULL || l->topic != NULL || l->nspeakers > 0) {
        puts_(&pg, "<dl class=\"meta\">\n");
        if (l->level != NULL) {
            puts_(&pg, "<div><dt>Level</dt><dd class=\"level\">");
            escs(&pg, l->level);
            puts_(&pg, "</dd></div>\n");
        }
        if (l->topic != NULL) {
            puts_(&pg, "<div><dt>Topic</dt><dd class=\"topic\">");
            escs(&pg, l->topic);
            puts_(&pg, "</dd></div>\n");
        }
        if (l->nspeakers > 0) {
            puts_(&pg, "<div><dt>Speakers</dt><dd class=\"speakers\">");
            for (size_t i = 0; i < l->nspeakers; i++) {
                putf(&pg, "%s<span class=\"speaker sp-%zu\">",
                     i ? ", " : "", i % 6);
                escs(&pg, l->speakers[i]);
                puts_(&pg, "</span>");
            }
            puts_(&pg, "</dd></div>\n");
        }
        puts_(&pg, "</dl>\n");
    }
    puts_(&pg, "</header>\n");
    if (has_audio) {
        puts_(&pg, "<div class=\"player\" role=\"region\" "
                   "aria-label=\"Lesson audio\">\n"
                   "<audio id=\"lesson-audio\" controls preload=\"metadata\" "
                   "src=\"");
        put_file_url(&pg, audio->wav_name);
        puts_(&pg, "\">Your browser cannot play this audio: <a href=\"");
        put_file_url(&pg, audio->wav_name);
        puts_(&pg, "\">download it</a>.</audio>\n</div>\n");
    }
    if (pg.tr != NULL) {
        /* the toggle: a checkbox the CSS reads (.tr-toggle:not(:checked)
         * ~ main .tr), so it works without script */
        puts_(&pg, "<input type=\"checkbox\" id=\"tr-toggle\" class=\"tr-toggle\" checked>\n"
                   "<label for=\"tr-toggle\" class=\"tr-label\">Show translations (");
        escs(&pg, pg.tr->to);
        puts_(&pg, ")</label>\n");
    }
    puts_(&pg, "<main id=\"main\">\n");
    for (size_t s = 0; s < l->nsections && !pg.failed; s++) {
        const struct lesson_section *sec = &l->sections[s];

        putf(&pg, "<section class=\"section section-%s\"",
             lesson_section_kind_name(sec->kind));
        if (sec->kind != LESSON_SECTION_INTRO) {
            putf(&pg, " aria-labelledby=\"s%zu\">\n<h2 id=\"s%zu\">", s, s);
            inline_md(&pg, sec->name);
            puts_(&pg, "</h2>\n");
        } else {
            puts_(&pg, ">\n");
        }
        switch (sec->kind) {
        case LESSON_SECTION_DIALOGUE:
            section_dialogue(&pg, l, s);
            break;
        case LESSON_SECTION_READING:
            section_reading(&pg, l, s);
            break;
        case LESSON_SECTION_VOCABULARY:
            section_vocabulary(&pg, l, s);
            break;
        case LESSON_SECTION_INTRO:
        case LESSON_SECTION_EXERCISES:
        case LESSON_SECTION_OTHER:
            section_raw(&pg, l, s);
            break;
        }
        puts_(&pg, "</section>\n");
    }
    puts_(&pg, "</main>\n<footer class=\"lesson-footer\"><p>Made with "
               "batchbox</p></footer>\n</body>\n</html>\n");

    free(pg.timing);
    free(pg.base);
    if (pg.failed) {
        buf_free(&pg.b);
        return NULL;
    }
    if (len != NULL)
        *len = pg.b.len;
    out = buf_take(&pg.b);
    return out;
}

/* ------------------------------------------------------------ manifest */

/* Adds key: s (or null); false on out of memory. */
static bool add_str(cJSON *o, const char *key, const char *s)
{
    cJSON *v = s != NULL ? cJSON_CreateString(s) : cJSON_CreateNull();

    if (v == NULL)
        return false;
    if (!cJSON_AddItemToObject(o, key, v)) {
        cJSON_Delete(v);
        return false;
    }
    return true;
}

static bool add_num(cJSON *o, const char *key, int64_t n)
{
    return cJSON_AddNumberToObject(o, key, (double)n) != NULL;
}

static bool manifest_lesson(cJSON *root, const struct lesson *l)
{
    cJSON *o = cJSON_AddObjectToObject(root, "lesson"), *a;

    if (o == NULL ||
        !add_str(o, "title", l->title_plain ? l->title_plain : l->title) ||
        !add_str(o, "level", l->level) || !add_str(o, "topic", l->topic))
        return false;
    a = cJSON_AddArrayToObject(o, "speakers");
    if (a == NULL)
        return false;
    for (size_t i = 0; i < l->nspeakers; i++) {
        cJSON *s = cJSON_CreateString(l->speakers[i]);

        if (s == NULL || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            return false;
        }
    }
    a = cJSON_AddArrayToObject(o, "sections");
    if (a == NULL)
        return false;
    for (size_t i = 0; i < l->nsections; i++) {
        cJSON *s = cJSON_CreateObject();

        if (s == NULL || !cJSON_AddItemToArray(a, s)) {
            cJSON_Delete(s);
            return false;
        }
        if (!add_str(s, "name", l->sections[i].name) ||
            !add_str(s, "kind", lesson_section_kind_name(l->sections[i].kind)))
            return false;
    }
    return true;
}

static bool manifest_job(cJSON *root, const struct render_manifest *m)
{
    cJSON *o = cJSON_AddObjectToObject(root, "job");
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)m->job_id);  /* a string, as in the job DTO */

    return o != NULL && add_str(o, "jobId", id) &&
           add_str(o, "preset", m->preset) && add_str(o, "mode", m->mode) &&
           add_str(o, "voiceAccent", m->voice_accent) &&
           add_str(o, "createdAt", m->created_at);
}

static bool manifest_artifacts(cJSON *root, const struct render_manifest *m)
{
    cJSON *a = cJSON_AddArrayToObject(root, "artifacts");

    if (a == NULL)
        return false;
    for (size_t i = 0; i < m->nartifacts && m->artifacts != NULL; i++) {
        const struct render_artifact *r = &m->artifacts[i];
        cJSON *o = cJSON_CreateObject();

        if (o == NULL || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            return false;
        }
        if (!add_str(o, "name", r->name) || !add_num(o, "size", r->size) ||
            !add_str(o, "sha256", r->sha256) ||
            !add_str(o, "contentType", r->content_type) ||
            !add_str(o, "url", r->url))
            return false;
    }
    return true;
}

/* "translations": the translated lines, in lesson order. */
static bool manifest_translations(cJSON *root, const struct lesson *l,
                                  const struct render_translations *tr)
{
    cJSON *o = cJSON_AddObjectToObject(root, "translations");
    cJSON *a = NULL;

    if (o == NULL || !add_str(o, "to", tr->to) || !add_str(o, "pair", tr->pair) ||
        !add_str(o, "engine", tr->engine) || !add_num(o, "memoryHits", tr->tm_hits) ||
        (a = cJSON_AddArrayToObject(o, "items")) == NULL)
        return false;
    for (size_t s = 0, k = 0; s < l->nsections; s++) {
        for (size_t i = 0; i < l->sections[s].nitems; i++, k++) {
            const char *t = k < tr->n && tr->text != NULL ? tr->text[k] : NULL;
            cJSON *e;

            if (t == NULL)
                continue;
            e = cJSON_CreateObject();
            if (e == NULL || !cJSON_AddItemToArray(a, e)) {
                cJSON_Delete(e);
                return false;
            }
            const struct lesson_item *it = &l->sections[s].items[i];
            if (!add_num(e, "section", (int64_t)s) || !add_num(e, "item", (int64_t)i) ||
                !add_str(e, "text", it->term != NULL ? it->term : it->plain) ||
                !add_str(e, "translation", t))
                return false;
        }
    }
    return true;
}

static bool manifest_segments(cJSON *root, const struct lesson *l,
                              const struct render_manifest *m)
{
    cJSON *a = cJSON_AddArrayToObject(root, "segments");

    if (a == NULL)
        return false;
    for (size_t i = 0; i < m->ntimings && m->timings != NULL; i++) {
        const struct render_timing *t = &m->timings[i];
        const struct lesson_item *it = NULL;
        const char *speaker = t->speaker;
        cJSON *o = cJSON_CreateObject();

        if (o == NULL || !cJSON_AddItemToArray(a, o)) {
            cJSON_Delete(o);
            return false;
        }
        if (t->section < l->nsections &&
            t->item < l->sections[t->section].nitems)
            it = &l->sections[t->section].items[t->item];
        if (speaker == NULL && it != NULL)
            speaker = it->speaker;
        if (!add_num(o, "index", (int64_t)i) ||
            !add_num(o, "section", (int64_t)t->section) ||
            !add_num(o, "item", (int64_t)t->item) ||
            !add_str(o, "speaker", speaker) ||
            !add_str(o, "text", it != NULL ? it->plain : NULL) ||
            !add_num(o, "startMs", t->start_ms) ||
            !add_num(o, "endMs", t->end_ms) ||
            !add_str(o, "file",
                     m->segment_files != NULL ? m->segment_files[i] : NULL))
            return false;
    }
    return true;
}

char *render_manifest_json(const struct lesson *l,
                           const struct render_manifest *m)
{
    cJSON *root = cJSON_CreateObject();
    char *text = NULL, *out = NULL;

    if (root != NULL && manifest_lesson(root, l) && manifest_job(root, m) &&
        manifest_artifacts(root, m) && manifest_segments(root, l, m) &&
        add_str(root, "notionUrl", m->notion_url) &&
        (m->translations == NULL || manifest_translations(root, l, m->translations)))
        text = cJSON_Print(root);
    cJSON_Delete(root);
    if (text != NULL) {
        size_t n = strlen(text);

        out = malloc(n + 2);
        if (out != NULL) {
            memcpy(out, text, n);
            out[n] = '\n';
            out[n + 1] = '\0';
        }
        cJSON_free(text);
    }
    return out;
}
