/* lesson.c — parser for Markdown lessons (docs/lesson-format.md); the
 * plain text of Markdown is lesson_plain.c, the speech segments of a
 * parsed lesson lesson_speech.c.
 *
 * One pass over the lines: each line is first checked (length, NUL,
 * control characters, UTF-8), then interpreted by the state it arrives
 * in — the front matter, or the kind of the current section.  Strings
 * live in a per-lesson arena of 64 KiB blocks; the section, item, meta and
 * speaker arrays are realloc'd, each under a cap from lesson.h.  The
 * document size cap (2 MiB) bounds everything else.  No I/O, no globals. */
#include "domain/lesson.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/lesson_int.h"

#define BLOCK_SIZE ((size_t)64 * 1024)
#define EXCERPT_MAX 48 /* bytes of input quoted in an error message */
#define EXCERPT_BUF (EXCERPT_MAX + 4)

/* ------------------------------------------------------------ arena */

struct lesson_block {
    struct lesson_block *next;
    size_t used, cap;
    char data[];
};

/* n bytes from the arena whose head is *head; NULL on out of memory.
 * A request bigger than a block gets a block of its own, linked behind
 * the head so the head's free space stays usable. */
static char *arena_alloc(struct lesson_block **head, size_t n)
{
    struct lesson_block *b = *head;
    char *p;

    if (b == NULL || b->cap - b->used < n) {
        size_t cap = n > BLOCK_SIZE ? n : BLOCK_SIZE;

        b = malloc(sizeof *b + cap);
        if (b == NULL)
            return NULL;
        b->cap = cap;
        b->used = 0;
        if (cap > BLOCK_SIZE && *head != NULL) {
            b->next = (*head)->next;
            (*head)->next = b;
        } else {
            b->next = *head;
            *head = b;
        }
    }
    p = b->data + b->used;
    b->used += n;
    return p;
}

static void arena_free(struct lesson_block *b)
{
    while (b != NULL) {
        struct lesson_block *next = b->next;

        free(b);
        b = next;
    }
}

/* ------------------------------------------------------ small helpers */

static size_t rtrim_len(const char *s, size_t n)
{
    while (n > 0 && is_blank_char((unsigned char)s[n - 1]))
        n--;
    return n;
}

/* Trims blanks at both ends of the string *s of length *n. */
static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_blank_char((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    *n = rtrim_len(*s, *n);
}

/* Cuts s at its last UTF-8 sequence if that sequence is incomplete (after
 * a truncating snprintf). */
static void utf8_cut_tail(char *s)
{
    size_t len = strlen(s), j, need;
    unsigned char c;

    if (len == 0)
        return;
    j = len - 1;
    while (j > 0 && ((unsigned char)s[j] & 0xC0) == 0x80)
        j--;
    c = (unsigned char)s[j];
    need = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
    if (j + need > len)
        s[j] = '\0';
}

/* Copies at most EXCERPT_MAX bytes of s[0..n) into buf[EXCERPT_BUF]
 * without cutting a UTF-8 sequence, ending in "…" when shortened. */
static void excerpt(char buf[EXCERPT_BUF], const char *s, size_t n)
{
    size_t k;

    if (n <= EXCERPT_MAX) {
        memcpy(buf, s, n);
        buf[n] = '\0';
        return;
    }
    k = EXCERPT_MAX;
    while (k > 0 && ((unsigned char)s[k] & 0xC0) == 0x80)
        k--;
    memcpy(buf, s, k);
    memcpy(buf + k, "\xE2\x80\xA6", 4); /* "…" and the NUL */
}

static void verror(struct lesson_error *err, unsigned line, const char *fmt,
                   va_list ap)
{
    int k = 0;

    if (err == NULL)
        return;
    err->line = line;
    err->message[0] = '\0';
    if (line > 0)
        k = snprintf(err->message, sizeof err->message, "line %u: ", line);
    if (k < 0)
        k = 0;
    if ((size_t)k < sizeof err->message)
        (void)vsnprintf(err->message + k, sizeof err->message - (size_t)k,
                        fmt, ap);
    utf8_cut_tail(err->message);
}

int lesson_set_error(struct lesson_error *err, unsigned line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verror(err, line, fmt, ap);
    va_end(ap);
    return -1;
}

/* ----------------------------------------------------------- parser */

enum fm_state { FM_NONE, FM_OPEN, FM_DONE };

struct parser {
    struct lesson *l;
    struct lesson_error *err;
    unsigned line;            /* the line being handled, 1-based */
    bool any_content;         /* a non-blank line was seen */
    enum fm_state fm;
    unsigned fm_title_line, fm_level_line, fm_topic_line; /* 0: unseen */
    const char *fm_title;
    size_t sections_cap;
    size_t items_cap;         /* of the last section */
    size_t meta_cap;
    size_t items_total;
    char *para;               /* the reading paragraph being collected */
    size_t para_len, para_cap;
    unsigned para_line;
    bool blank_pending;       /* raw section: blank line(s) before the next */
    unsigned blank_line;
};

__attribute__((format(printf, 3, 4))) static int
fail(struct parser *p, unsigned line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    verror(p->err, line, fmt, ap);
    va_end(ap);
    return -1;
}

static int oom(struct parser *p)
{
    return fail(p, 0, "out of memory");
}

static const char *arena_copy(struct parser *p, const char *s, size_t n)
{
    char *d = arena_alloc(&p->l->arena_, n + 1);

    if (d == NULL)
        return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

static const char *arena_plain(struct parser *p, const char *s, size_t n)
{
    char *d = arena_alloc(&p->l->arena_, n + 1);

    if (d == NULL)
        return NULL;
    lesson_plain_into(s, n, d);
    return d;
}

/* Checks one line's bytes: length, NUL, control characters, UTF-8
 * (no overlongs, surrogates or code points over U+10FFFF). */
static int check_line(struct parser *p, const unsigned char *s, size_t n)
{
    size_t i = 0;

    if (n > LESSON_LINE_MAX)
        return fail(p, p->line, "the line is longer than %u bytes",
                    LESSON_LINE_MAX);
    while (i < n) {
        unsigned c = s[i], len, k;
        uint32_t cp, min;

        if (c < 0x80) {
            if (c == 0)
                return fail(p, p->line, "NUL byte at column %zu", i + 1);
            if ((c < 0x20 && c != '\t') || c == 0x7F)
                return fail(p, p->line,
                            "control character U+%04X at column %zu", c,
                            i + 1);
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            len = 3;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            len = 4;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return fail(p, p->line, "invalid UTF-8 at column %zu", i + 1);
        }
        if (i + len > n)
            return fail(p, p->line, "invalid UTF-8 at column %zu", i + 1);
        for (k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return fail(p, p->line, "invalid UTF-8 at column %zu",
                            i + 1);
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail(p, p->line, "invalid UTF-8 at column %zu", i + 1);
        if (cp < 0xA0)
            return fail(p, p->line,
                        "control character U+%04X at column %zu",
                        (unsigned)cp, i + 1);
        i += len;
    }
    return 0;
}

/* Grows the array v of *cap elements of size bytes: to first elements, then
 * doubling, never past max.  Returns the new array (*cap updated), or NULL
 * when out of memory (v and *cap unchanged; the caller still owns v). */
static void *grow(void *v, size_t *cap, size_t first, size_t max, size_t size)
{
    size_t nc = *cap ? *cap * 2 : first;
    void *nv;

    if (nc > max)
        nc = max;
    nv = realloc(v, nc * size);
    if (nv != NULL)
        *cap = nc;
    return nv;
}

static struct lesson_section *cur_section(struct parser *p)
{
    return p->l->nsections > 0 ? &p->l->sections[p->l->nsections - 1]
                               : NULL;
}

static int new_section(struct parser *p, const char *name, size_t nlen,
                       enum lesson_section_kind kind, unsigned line)
{
    struct lesson *l = p->l;
    struct lesson_section *sec;

    if (l->nsections == LESSON_SECTIONS_MAX)
        return fail(p, line, "more than %d sections", LESSON_SECTIONS_MAX);
    if (l->nsections == p->sections_cap) {
        struct lesson_section *ns = grow(l->sections, &p->sections_cap, 8,
                                         LESSON_SECTIONS_MAX, sizeof *ns);
        if (ns == NULL)
            return oom(p);
        l->sections = ns;
    }
    sec = &l->sections[l->nsections];
    memset(sec, 0, sizeof *sec);
    sec->name = arena_copy(p, name, nlen);
    if (sec->name == NULL)
        return oom(p);
    sec->kind = kind;
    sec->line_no = line;
    l->nsections++;
    p->items_cap = 0;
    p->blank_pending = false;
    return 0;
}

/* Appends an item to the last section with text s[0..n) and its plain
 * form.  Returns the item (valid until the next add) or NULL. */
static struct lesson_item *add_item(struct parser *p,
                                    enum lesson_item_kind kind,
                                    unsigned line, const char *s, size_t n)
{
    struct lesson_section *sec = cur_section(p);
    struct lesson_item *it;

    if (p->items_total == LESSON_ITEMS_MAX) {
        fail(p, line, "more than %d items", LESSON_ITEMS_MAX);
        return NULL;
    }
    if (sec->nitems == p->items_cap) {
        struct lesson_item *ni = grow(sec->items, &p->items_cap, 16,
                                      LESSON_ITEMS_MAX, sizeof *ni);
        if (ni == NULL) {
            oom(p);
            return NULL;
        }
        sec->items = ni;
    }
    it = &sec->items[sec->nitems];
    memset(it, 0, sizeof *it);
    it->kind = kind;
    it->line_no = line;
    it->text = arena_copy(p, s, n);
    it->plain = arena_plain(p, s, n);
    if (it->text == NULL || it->plain == NULL) {
        oom(p);
        return NULL;
    }
    sec->nitems++;
    p->items_total++;
    return it;
}

/* Ends the reading paragraph being collected, if any. */
static int flush_para(struct parser *p)
{
    if (p->para_len == 0)
        return 0;
    if (add_item(p, LESSON_ITEM_PARAGRAPH, p->para_line, p->para,
                 p->para_len) == NULL)
        return -1;
    p->para_len = 0;
    return 0;
}

static int para_append(struct parser *p, const char *s, size_t n)
{
    size_t need = p->para_len + (p->para_len > 0) + n;

    if (need > LESSON_MAX_BYTES)
        return fail(p, p->line, "the paragraph is longer than %u bytes",
                    LESSON_MAX_BYTES);
    if (need > p->para_cap) {
        size_t cap = p->para_cap ? p->para_cap : 1024;
        char *np;

        while (cap < need)
            cap *= 2;
        if (cap > LESSON_MAX_BYTES)
            cap = LESSON_MAX_BYTES;
        np = realloc(p->para, cap);
        if (np == NULL)
            return oom(p);
        p->para = np;
        p->para_cap = cap;
    }
    if (p->para_len == 0)
        p->para_line = p->line;
    else
        p->para[p->para_len++] = ' ';
    memcpy(p->para + p->para_len, s, n);
    p->para_len += n;
    return 0;
}

/* If s[0..n) (right-trimmed) is an ATX heading ("#".."######", then a
 * blank or the end), returns its level with its text — trimmed, an
 * optional closing run of '#' removed — in *t and *tn; else 0.  Up to three
 * spaces of indentation are allowed, as in CommonMark. */
static int heading_level(const char *s, size_t n, const char **t, size_t *tn)
{
    size_t i = 0, h = 0, k;
    const char *x;
    size_t xn;

    while (i < n && i < 3 && s[i] == ' ')
        i++;
    while (i < n && s[i] == '#' && h < 7) {
        i++;
        h++;
    }
    if (h == 0 || h > 6)
        return 0;
    if (i < n && !is_blank_char((unsigned char)s[i]))
        return 0;
    x = s + i;
    xn = n - i;
    trim(&x, &xn);
    k = xn;
    while (k > 0 && x[k - 1] == '#')
        k--;
    if (k == 0)
        xn = 0;
    else if (k < xn && is_blank_char((unsigned char)x[k - 1]))
        xn = rtrim_len(x, k);
    *t = x;
    *tn = xn;
    return (int)h;
}

/* A line of three or more '-', '*' or '_' (the same one), blanks allowed. */
static bool is_thematic_break(const char *s, size_t n)
{
    size_t i, count = 0;
    char m = 0;

    for (i = 0; i < n; i++) {
        char c = s[i];

        if (is_blank_char((unsigned char)c))
            continue;
        if (c != '-' && c != '*' && c != '_')
            return false;
        if (m == 0)
            m = c;
        else if (c != m)
            return false;
        count++;
    }
    return count >= 3;
}

/* A line that is one whole HTML comment. */
static bool is_comment_line(const char *s, size_t n)
{
    trim(&s, &n);
    return n >= 7 && starts_with(s, n, "<!--") &&
           memcmp(s + n - 3, "-->", 3) == 0;
}

static bool is_blank_line(const char *s, size_t n)
{
    return rtrim_len(s, n) == 0;
}

/* ------------------------------------------------------ front matter */

static int fm_line(struct parser *p, const char *s, size_t n)
{
    struct lesson *l = p->l;
    const char *v;
    size_t i = 0, vn;
    char ex[EXCERPT_BUF];
    unsigned *seen = NULL;
    const char **slot = NULL;

    if ((n == 3 && memcmp(s, "---", 3) == 0) ||
        (n == 3 && memcmp(s, "...", 3) == 0)) {
        p->fm = FM_DONE;
        return 0;
    }
    if (n == 0 || s[0] == '#')
        return 0;
    if (is_alpha((unsigned char)s[0]) || s[0] == '_')
        while (i < n && (is_alpha((unsigned char)s[i]) ||
                         is_digit((unsigned char)s[i]) || s[i] == '_' ||
                         s[i] == '-'))
            i++;
    if (i == 0 || i >= n || s[i] != ':' ||
        (i + 1 < n && !is_blank_char((unsigned char)s[i + 1]))) {
        excerpt(ex, s, n);
        return fail(p, p->line,
                    "expected `key: value` in the front matter opened on "
                    "line 1 (got `%s`)",
                    ex);
    }
    v = s + i + 1;
    vn = n - i - 1;
    trim(&v, &vn);
    if (vn >= 2 && (v[0] == '"' || v[0] == '\'') && v[vn - 1] == v[0]) {
        v++;
        vn -= 2;
    }
    if (ieq(s, i, "title")) {
        seen = &p->fm_title_line;
        slot = &p->fm_title;
    } else if (ieq(s, i, "level")) {
        seen = &p->fm_level_line;
        slot = &l->level;
    } else if (ieq(s, i, "topic")) {
        seen = &p->fm_topic_line;
        slot = &l->topic;
    }
    if (seen != NULL) {
        if (*seen != 0)
            return fail(p, p->line,
                        "duplicate front matter key `%.*s` (first on line "
                        "%u)",
                        (int)i, s, *seen);
        *seen = p->line;
        if (vn == 0)
            return 0; /* an empty value counts as absent */
        *slot = arena_copy(p, v, vn);
        return *slot == NULL ? oom(p) : 0;
    }
    for (size_t m = 0; m < l->nmeta; m++) {
        const char *k = l->meta[m].key;
        size_t kl = strlen(k), j;

        if (kl != i)
            continue;
        for (j = 0; j < i; j++)
            if (lower((unsigned char)k[j]) != lower((unsigned char)s[j]))
                break;
        if (j == i)
            return fail(p, p->line,
                        "duplicate front matter key `%.*s` (first on line "
                        "%u)",
                        (int)i, s, l->meta[m].line_no);
    }
    if (l->nmeta == LESSON_META_MAX)
        return fail(p, p->line,
                    "more than %d front matter keys (is the front matter "
                    "closed with `---`?)",
                    LESSON_META_MAX);
    if (l->nmeta == p->meta_cap) {
        struct lesson_meta *nm = grow(l->meta, &p->meta_cap, 4,
                                      LESSON_META_MAX, sizeof *nm);
        if (nm == NULL)
            return oom(p);
        l->meta = nm;
    }
    l->meta[l->nmeta].key = arena_copy(p, s, i);
    l->meta[l->nmeta].value = arena_copy(p, v, vn);
    l->meta[l->nmeta].line_no = p->line;
    if (l->meta[l->nmeta].key == NULL || l->meta[l->nmeta].value == NULL)
        return oom(p);
    l->nmeta++;
    return 0;
}

/* ---------------------------------------------------------- sections */

static const struct {
    const char *word;
    enum lesson_section_kind kind;
} section_words[] = {
    {"dialogue", LESSON_SECTION_DIALOGUE},
    {"dialog", LESSON_SECTION_DIALOGUE},
    {"conversation", LESSON_SECTION_DIALOGUE},
    {"reading", LESSON_SECTION_READING},
    {"monologue", LESSON_SECTION_READING},
    {"text", LESSON_SECTION_READING},
    {"story", LESSON_SECTION_READING},
    {"stories", LESSON_SECTION_READING},
    {"passage", LESSON_SECTION_READING},
    {"vocabulary", LESSON_SECTION_VOCABULARY},
    {"vocab", LESSON_SECTION_VOCABULARY},
    {"glossary", LESSON_SECTION_VOCABULARY},
    {"exercise", LESSON_SECTION_EXERCISES},
    {"question", LESSON_SECTION_EXERCISES},
    {"practice", LESSON_SECTION_EXERCISES},
    {"activity", LESSON_SECTION_EXERCISES},
    {"activities", LESSON_SECTION_EXERCISES},
    {"task", LESSON_SECTION_EXERCISES},
    {"homework", LESSON_SECTION_EXERCISES},
};

/* The kind a section name stands for: its first word (the first run of
 * ASCII letters, not followed by another letter of any script), any case,
 * matched against section_words[] with or without a final "s". */
static enum lesson_section_kind section_kind(const char *plain)
{
    size_t i = 0, j;

    while (plain[i] != '\0' && !is_alpha((unsigned char)plain[i]))
        i++;
    for (j = i; is_alpha((unsigned char)plain[j]); j++)
        ;
    if (j == i || (unsigned char)plain[j] >= 0x80)
        return LESSON_SECTION_OTHER;
    for (size_t k = 0; k < sizeof section_words / sizeof section_words[0];
         k++) {
        const char *w = section_words[k].word;

        if (ieq(plain + i, j - i, w) ||
            (j - i == strlen(w) + 1 && lower((unsigned char)plain[j - 1]) == 's' &&
             ieq(plain + i, j - i - 1, w)))
            return section_words[k].kind;
    }
    return LESSON_SECTION_OTHER;
}

static int title_line(struct parser *p, const char *t, size_t tn)
{
    struct lesson *l = p->l;

    if (flush_para(p) < 0)
        return -1;
    if (l->heading != NULL)
        return fail(p, p->line,
                    "a second `# ` title (the first is on line %u); "
                    "sections start with `## `",
                    l->heading_line);
    if (tn == 0)
        return fail(p, p->line, "the `# ` title is empty");
    l->heading = arena_copy(p, t, tn);
    if (l->heading == NULL)
        return oom(p);
    l->heading_line = p->line;
    return 0;
}

static int section_line(struct parser *p, const char *t, size_t tn)
{
    char *plain;
    enum lesson_section_kind kind;

    if (flush_para(p) < 0)
        return -1;
    if (tn == 0)
        return fail(p, p->line, "the `## ` heading has no name");
    plain = lesson_plain(t, tn);
    if (plain == NULL)
        return oom(p);
    kind = section_kind(plain);
    free(plain);
    return new_section(p, t, tn, kind, p->line);
}

/* Intro, exercises and other sections: every line as written, with runs
 * of blank lines kept as one "" item between non-blank lines. */
static int raw_line(struct parser *p, const char *s, size_t n)
{
    struct lesson_section *sec = cur_section(p);

    if (is_blank_line(s, n)) {
        if (sec != NULL && sec->nitems > 0 && !p->blank_pending) {
            p->blank_pending = true;
            p->blank_line = p->line;
        }
        return 0;
    }
    if (sec == NULL) {
        if (new_section(p, "", 0, LESSON_SECTION_INTRO, p->line) < 0)
            return -1;
    }
    if (p->blank_pending) {
        p->blank_pending = false;
        if (add_item(p, LESSON_ITEM_RAW, p->blank_line, "", 0) == NULL)
            return -1;
    }
    return add_item(p, LESSON_ITEM_RAW, p->line, s, n) == NULL ? -1 : 0;
}

static int sub_heading(struct parser *p, const char *t, size_t tn)
{
    if (flush_para(p) < 0)
        return -1;
    if (tn == 0)
        return 0;
    return add_item(p, LESSON_ITEM_HEADING, p->line, t, tn) == NULL ? -1
                                                                     : 0;
}

static int reading_line(struct parser *p, const char *s, size_t n, int h,
                        const char *t, size_t tn)
{
    if (is_blank_line(s, n) || is_thematic_break(s, n))
        return flush_para(p);
    if (is_comment_line(s, n))
        return 0;
    if (h >= 3)
        return sub_heading(p, t, tn);
    trim(&s, &n);
    return para_append(p, s, n);
}

/* Characters a speaker's name cannot hold (besides ':' and controls). */
static bool name_char_ok(int c)
{
    return c != '\t' && strchr("*_`[](){}<>#,;!?\"|\\", c) == NULL;
}

/* If s[0..n) (trimmed) is a speaker line — "Name: text", "**Name:**
 * text", "**Name**: text", or the same with "__", "*" or "_" — returns
 * true with the name and the text (both trimmed; text may be empty). */
static bool parse_speaker(const char *s, size_t n, const char **name,
                          size_t *name_len, const char **text,
                          size_t *text_len)
{
    const char *nm, *tx;
    size_t nl, tl, i;

    if (n > 0 && (s[0] == '*' || s[0] == '_')) {
        char m = s[0];
        size_t ml = n >= 2 && s[1] == m ? 2 : 1, j;

        for (j = ml; j + ml <= n; j++)
            if (s[j] == m && (ml == 1 || s[j + 1] == m))
                break;
        if (j + ml > n)
            return false;
        nm = s + ml;
        nl = j - ml;
        nl = rtrim_len(nm, nl);
        if (nl > 0 && nm[nl - 1] == ':') {
            nl--;
            tx = s + j + ml;
            tl = n - j - ml;
        } else if (j + ml < n && s[j + ml] == ':') {
            tx = s + j + ml + 1;
            tl = n - j - ml - 1;
        } else {
            return false;
        }
    } else {
        const char *colon = memchr(s, ':', n);

        if (colon == NULL)
            return false;
        nm = s;
        nl = (size_t)(colon - s);
        tx = colon + 1;
        tl = n - nl - 1;
    }
    trim(&nm, &nl);
    trim(&tx, &tl);
    if (nl == 0 || nl > LESSON_SPEAKER_MAX)
        return false;
    if (!is_alpha((unsigned char)nm[0]) && (unsigned char)nm[0] < 0x80)
        return false;
    for (i = 0; i < nl; i++)
        if (nm[i] == ':' || !name_char_ok((unsigned char)nm[i]))
            return false;
    *name = nm;
    *name_len = nl;
    *text = tx;
    *text_len = tl;
    return true;
}

/* A stage direction: "(...)", possibly wrapped in '*' or '_' markers. */
static bool is_direction(const char *s, size_t n)
{
    while (n >= 2 && (s[0] == '*' || s[0] == '_') && s[n - 1] == s[0]) {
        s++;
        n -= 2;
    }
    return n >= 2 && s[0] == '(' && s[n - 1] == ')';
}

/* Skips a list marker ("- ", "* ", "+ ") at the start of s. */
static void skip_bullet(const char **s, size_t *n)
{
    if (*n >= 2 && ((*s)[0] == '-' || (*s)[0] == '*' || (*s)[0] == '+') &&
        is_blank_char((unsigned char)(*s)[1])) {
        *s += 2;
        *n -= 2;
        trim(s, n);
    }
}

static int add_speaker(struct parser *p, const char *name)
{
    struct lesson *l = p->l;

    for (size_t i = 0; i < l->nspeakers; i++)
        if (strcmp(l->speakers[i], name) == 0)
            return 0;
    if (l->nspeakers == LESSON_SPEAKERS_MAX)
        return fail(p, p->line, "more than %d different speakers",
                    LESSON_SPEAKERS_MAX);
    if (l->speakers == NULL) {
        l->speakers = malloc(LESSON_SPEAKERS_MAX * sizeof *l->speakers);
        if (l->speakers == NULL)
            return oom(p);
    }
    l->speakers[l->nspeakers++] = name;
    return 0;
}

/* The start of every line of a dialogue or vocabulary section: blank
 * lines, thematic breaks and comments are skipped (*rc = 0), "###" and
 * deeper headings become sub-headings.  Returns true when the line was
 * handled here, with its result in *rc. */
static bool section_line_common(struct parser *p, const char *s, size_t n,
                                int h, const char *t, size_t tn, int *rc)
{
    if (is_blank_line(s, n) || is_thematic_break(s, n) ||
        is_comment_line(s, n)) {
        *rc = 0;
        return true;
    }
    if (h >= 3) {
        *rc = sub_heading(p, t, tn);
        return true;
    }
    return false;
}

/* Fails the line s[0..n) of the current section, which is not of the
 * shape `want`. */
static int unexpected_line(struct parser *p, const char *s, size_t n,
                           const char *want)
{
    const struct lesson_section *sec = cur_section(p);
    char ex[EXCERPT_BUF], exn[EXCERPT_BUF];

    excerpt(ex, s, n);
    excerpt(exn, sec->name, strlen(sec->name));
    return fail(p, p->line, "expected `%s` in ## %s (got `%s`)", want, exn,
                ex);
}

static int dialogue_line(struct parser *p, const char *s, size_t n, int h,
                         const char *t, size_t tn)
{
    const char *name, *text;
    size_t name_len, text_len;
    char ex[EXCERPT_BUF];
    int rc;

    if (section_line_common(p, s, n, h, t, tn, &rc))
        return rc;
    trim(&s, &n);
    skip_bullet(&s, &n);
    if (parse_speaker(s, n, &name, &name_len, &text, &text_len)) {
        struct lesson_item *it;
        const char *speaker;

        it = add_item(p, LESSON_ITEM_SPEECH, p->line, text, text_len);
        if (it == NULL)
            return -1;
        if (it->plain[0] == '\0') {
            excerpt(ex, name, name_len);
            return fail(p, p->line, "`%s:` has no text to speak", ex);
        }
        speaker = arena_copy(p, name, name_len);
        if (speaker == NULL)
            return oom(p);
        it->speaker = speaker;
        return add_speaker(p, speaker);
    }
    if (is_direction(s, n))
        return add_item(p, LESSON_ITEM_DIRECTION, p->line, s, n) == NULL
                   ? -1
                   : 0;
    return unexpected_line(p, s, n, "Speaker: text");
}

/* Where the earliest term/meaning separator of s[0..n) starts, with its
 * length in *sl: an em dash, an en dash, " - ", or ':' followed by a blank
 * or the end.  Returns n when there is none. */
static size_t find_separator(const char *s, size_t n, size_t *sl)
{
    for (size_t i = 0; i < n; i++) {
        if (i + 3 <= n && (unsigned char)s[i] == 0xE2 &&
            (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0x94 ||
             (unsigned char)s[i + 2] == 0x93)) {
            *sl = 3;
            return i;
        }
        if (s[i] == '-' && i > 0 && i + 1 < n &&
            is_blank_char((unsigned char)s[i - 1]) &&
            is_blank_char((unsigned char)s[i + 1])) {
            *sl = 1;
            return i;
        }
        if (s[i] == ':' && (i + 1 == n || is_blank_char((unsigned char)s[i + 1]))) {
            *sl = 1;
            return i;
        }
    }
    *sl = 0;
    return n;
}

/* The length of a separator at the very start of s[0..n) — an em dash,
 * an en dash, or '-' or ':' followed by a blank or the end — or 0. */
static size_t separator_at_start(const char *s, size_t n)
{
    if (n >= 3 && (unsigned char)s[0] == 0xE2 &&
        (unsigned char)s[1] == 0x80 &&
        ((unsigned char)s[2] == 0x94 || (unsigned char)s[2] == 0x93))
        return 3;
    if (n >= 1 && (s[0] == '-' || s[0] == ':') &&
        (n == 1 || is_blank_char((unsigned char)s[1])))
        return 1;
    return 0;
}

/* Parses a vocabulary list item ("- ", "* ", "+ ", "1. " or "1) " then
 * the entry).  Returns false when s is not a list item. */
static bool parse_vocab(const char *s, size_t n, const char **term,
                        size_t *term_len, const char **meaning,
                        size_t *meaning_len)
{
    const char *r, *tm = NULL, *mn;
    size_t rn, tl = 0, ml, i = 0, sep, sl;

    if (n >= 2 && (s[0] == '-' || s[0] == '*' || s[0] == '+') &&
        is_blank_char((unsigned char)s[1])) {
        i = 2;
    } else {
        while (i < n && i < 9 && is_digit((unsigned char)s[i]))
            i++;
        if (i == 0 || i + 1 >= n || (s[i] != '.' && s[i] != ')') ||
            !is_blank_char((unsigned char)s[i + 1]))
            return false;
        i += 2;
    }
    r = s + i;
    rn = n - i;
    trim(&r, &rn);
    if (rn >= 4 && (starts_with(r, rn, "**") || starts_with(r, rn, "__"))) {
        size_t j;

        for (j = 2; j + 2 <= rn; j++)
            if (r[j] == r[0] && r[j + 1] == r[0])
                break;
        if (j + 2 <= rn) {
            tm = r + 2;
            tl = rtrim_len(tm, j - 2);
            if (tl > 0 && tm[tl - 1] == ':')
                tl--;
            mn = r + j + 2;
            ml = rn - j - 2;
            trim(&mn, &ml);
            sl = separator_at_start(mn, ml);
            mn += sl;
            ml -= sl;
        }
    }
    if (tm == NULL) {
        sep = find_separator(r, rn, &sl);
        tm = r;
        tl = sep;
        if (sep < rn) {
            mn = r + sep + sl;
            ml = rn - sep - sl;
        } else {
            mn = r + rn;
            ml = 0;
        }
    }
    trim(&tm, &tl);
    trim(&mn, &ml);
    *term = tm;
    *term_len = tl;
    *meaning = mn;
    *meaning_len = ml;
    return true;
}

static int vocab_line(struct parser *p, const char *s, size_t n, int h,
                      const char *t, size_t tn)
{
    const char *term, *meaning;
    size_t term_len, meaning_len;
    int rc;

    if (section_line_common(p, s, n, h, t, tn, &rc))
        return rc;
    trim(&s, &n);
    if (parse_vocab(s, n, &term, &term_len, &meaning, &meaning_len)) {
        struct lesson_item *it;
        const char *tp = arena_plain(p, term, term_len);

        if (tp == NULL)
            return oom(p);
        if (tp[0] == '\0')
            return fail(p, p->line, "the vocabulary entry has no term");
        it = add_item(p, LESSON_ITEM_VOCAB, p->line, meaning, meaning_len);
        if (it == NULL)
            return -1;
        it->term = tp;
        return 0;
    }
    return unexpected_line(p, s, n, "- **term** \xE2\x80\x94 meaning");
}

/* One line, already checked, without its line break. */
static int handle_line(struct parser *p, const char *s, size_t n)
{
    const struct lesson_section *sec;
    const char *t = NULL;
    size_t tn = 0;
    int h;

    n = rtrim_len(s, n);
    if (p->fm == FM_OPEN)
        return fm_line(p, s, n);
    if (p->line == 1 && n == 3 && memcmp(s, "---", 3) == 0) {
        p->fm = FM_OPEN;
        p->any_content = true;
        return 0;
    }
    if (n > 0)
        p->any_content = true;
    h = heading_level(s, n, &t, &tn);
    if (h == 1)
        return title_line(p, t, tn);
    if (h == 2)
        return section_line(p, t, tn);
    sec = cur_section(p);
    switch (sec != NULL ? sec->kind : LESSON_SECTION_INTRO) {
    case LESSON_SECTION_DIALOGUE:
        return dialogue_line(p, s, n, h, t, tn);
    case LESSON_SECTION_READING:
        return reading_line(p, s, n, h, t, tn);
    case LESSON_SECTION_VOCABULARY:
        return vocab_line(p, s, n, h, t, tn);
    case LESSON_SECTION_INTRO:
    case LESSON_SECTION_EXERCISES:
    case LESSON_SECTION_OTHER:
        break;
    }
    return raw_line(p, s, n);
}

static int finish(struct parser *p)
{
    struct lesson *l = p->l;
    unsigned line;

    if (p->fm == FM_OPEN)
        return fail(p, 1,
                    "the front matter is not closed (no `---` line after "
                    "line 1)");
    if (flush_para(p) < 0)
        return -1;
    if (!p->any_content)
        return fail(p, 0, "the lesson is empty");
    if (p->fm_title != NULL) {
        l->title = p->fm_title;
        line = p->fm_title_line;
    } else if (l->heading != NULL) {
        l->title = l->heading;
        line = l->heading_line;
    } else {
        return fail(p, 0,
                    "the lesson has no title: add a `# Title` line or a "
                    "`title:` front matter key");
    }
    l->title_plain = arena_plain(p, l->title, strlen(l->title));
    if (l->title_plain == NULL)
        return oom(p);
    if (l->title_plain[0] == '\0')
        return fail(p, line, "the title has no text");
    l->nlines = p->line;
    return 0;
}

/* The line holding byte `at` of src (1-based), counting CRLF, LF and CR
 * as line breaks. */
static unsigned line_of(const char *src, size_t at)
{
    unsigned line = 1;

    for (size_t i = 0; i < at; i++)
        if (src[i] == '\n' || (src[i] == '\r' && src[i + 1] != '\n'))
            line++;
    return line;
}

int lesson_parse(const char *src, size_t len, struct lesson *out,
                 struct lesson_error *err)
{
    struct parser p;
    size_t pos = 0;

    memset(out, 0, sizeof *out);
    memset(&p, 0, sizeof p);
    p.l = out;
    p.err = err;
    if (err != NULL) {
        err->line = 0;
        err->message[0] = '\0';
    }
    if (src == NULL)
        len = 0;
    if (len > LESSON_MAX_BYTES)
        return lesson_set_error(err, line_of(src, LESSON_MAX_BYTES),
                         "the lesson is larger than 2 MiB (%u bytes)",
                         LESSON_MAX_BYTES);
    if (len >= 3 && memcmp(src, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < len) {
        size_t end = pos, next;

        while (end < len && src[end] != '\n' && src[end] != '\r')
            end++;
        next = end;
        if (end < len)
            next = (src[end] == '\r' && end + 1 < len && src[end + 1] == '\n')
                       ? end + 2
                       : end + 1;
        p.line++;
        if (check_line(&p, (const unsigned char *)src + pos, end - pos) < 0 ||
            handle_line(&p, src + pos, end - pos) < 0)
            goto fail;
        pos = next;
    }
    if (finish(&p) < 0)
        goto fail;
    free(p.para);
    return 0;
fail:
    free(p.para);
    lesson_free(out);
    return -1;
}

void lesson_free(struct lesson *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->nsections; i++)
        free(l->sections[i].items);
    free(l->sections);
    free(l->meta);
    free((void *)l->speakers);
    arena_free(l->arena_);
    memset(l, 0, sizeof *l);
}
