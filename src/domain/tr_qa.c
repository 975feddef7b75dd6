/* tr_qa.c — QA checks of one translated segment and the TSV glossary they
 * use (docs/translate.md, "QA checks" and "Glossary").  Pure: the glossary
 * loader is the only I/O (one file read). */
#include "domain/translate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/tr_int.h"
#include "util/files.h"

#define GLOSSARY_MAX_BYTES ((size_t)8 << 20)
#define GLOSSARY_MAX_TERMS 100000

/* ---- glossary ------------------------------------------------------------ */

void tr_glossary_free(struct tr_glossary *g)
{
    for (size_t i = 0; g->terms && i < g->n; i++) {
        free(g->terms[i].source);
        free(g->terms[i].target);
    }
    free(g->terms);
    g->terms = NULL;
    g->n = 0;
}

static char *trimmed(const char *s, size_t n)
{
    while (n && isspace((unsigned char)*s)) {
        s++;
        n--;
    }
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    return strndup(s, n);
}

int tr_glossary_parse(const char *text, struct tr_glossary *g, char *err, size_t cap)
{
    memset(g, 0, sizeof *g);
    size_t alloc = 0, line = 0;
    for (const char *p = text; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        line++;
        const char *tab = memchr(p, '\t', n);
        bool blank = true;
        for (size_t i = 0; i < n; i++)
            if (!isspace((unsigned char)p[i]))
                blank = false;
        if (!blank && p[0] != '#') {
            if (!tab) {
                snprintf(err, cap, "glossary line %zu: expected \"source<TAB>target\"", line);
                tr_glossary_free(g);
                return -1;
            }
            if (g->n == GLOSSARY_MAX_TERMS) {
                snprintf(err, cap, "glossary: more than %d terms", GLOSSARY_MAX_TERMS);
                tr_glossary_free(g);
                return -1;
            }
            if (g->n == alloc) {
                alloc = alloc ? alloc * 2 : 16;
                struct tr_term *nt = realloc(g->terms, alloc * sizeof *nt);
                if (!nt) {
                    snprintf(err, cap, "out of memory");
                    tr_glossary_free(g);
                    return -1;
                }
                g->terms = nt;
            }
            const char *t2 = tab + 1, *end = p + n;
            const char *tab2 = memchr(t2, '\t', (size_t)(end - t2));  /* extra columns */
            struct tr_term t = {trimmed(p, (size_t)(tab - p)),
                                trimmed(t2, (size_t)((tab2 ? tab2 : end) - t2))};
            if (!t.source || !t.target || !*t.source || !*t.target) {
                bool oom = !t.source || !t.target;
                free(t.source);
                free(t.target);
                snprintf(err, cap, oom ? "out of memory"
                                       : "glossary line %zu: an empty term", line);
                tr_glossary_free(g);
                return -1;
            }
            g->terms[g->n++] = t;
        }
        p += n + (nl ? 1 : 0);
    }
    return 0;
}

int tr_glossary_load(const char *path, struct tr_glossary *g, char *err, size_t cap)
{
    size_t len = 0;
    char *text = bb_read_file(path, GLOSSARY_MAX_BYTES, &len);
    if (!text) {
        memset(g, 0, sizeof *g);
        snprintf(err, cap, "cannot read the glossary %s", path);
        return -1;
    }
    int rc = tr_glossary_parse(text, g, err, cap);
    free(text);
    return rc;
}

/* ---- the checks -------------------------------------------------------------- */

/* Whether needle occurs in hay, ASCII case-insensitively, on word
 * boundaries (bytes >= 0x80 count as letters). */
static bool has_term(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *p = hay; *p; p++) {
        if (strncasecmp(p, needle, n) != 0)
            continue;
        unsigned char before = p > hay ? (unsigned char)p[-1] : ' ';
        unsigned char after = (unsigned char)p[n];
        if (!isalnum(before) && before < 0x80 && !isalnum(after) && after < 0x80)
            return true;
    }
    return false;
}

/* The runs of one kind in s, each "text\n", sorted: a multiset to compare.
 * Numbers (kind < 0) are digit strings outside every protected run, their
 * separators dropped (1,000.5 and 1.000,5 compare equal). */
static char *collect(const char *s, int kind)
{
    size_t len = strlen(s), n = 0;
    char **items = calloc(len + 1, sizeof *items);
    if (!items)
        return NULL;
    for (size_t i = 0; i < len;) {
        enum tr_run_kind k;
        size_t rl = tr_run_at(s, i, &k);
        if (rl) {
            if ((int)k == kind || (kind == TR_RUN_URL && k == TR_RUN_URL))
                items[n++] = strndup(s + i, rl);
            i += rl;
            continue;
        }
        if (kind < 0 && isdigit((unsigned char)s[i]) &&
            (i == 0 || !isalpha((unsigned char)s[i - 1]))) {
            char num[64];
            size_t w = 0;
            while (isdigit((unsigned char)s[i]) ||
                   ((s[i] == ',' || s[i] == '.') && isdigit((unsigned char)s[i + 1]))) {
                if (isdigit((unsigned char)s[i]) && w < sizeof num - 1)
                    num[w++] = s[i];
                i++;
            }
            num[w] = '\0';
            items[n++] = strdup(num);
            continue;
        }
        i++;
    }
    for (size_t a = 1; a < n; a++)        /* insertion sort: few items */
        for (size_t b = a; b > 0 && items[b - 1] && items[b] &&
                           strcmp(items[b - 1], items[b]) > 0; b--) {
            char *t = items[b];
            items[b] = items[b - 1];
            items[b - 1] = t;
        }
    buf out;
    buf_init(&out, (size_t)1 << 26);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        ok = ok && items[i] && buf_puts(&out, items[i]) == 0 && buf_append(&out, "\n", 1) == 0;
        free(items[i]);
    }
    free(items);
    char *r = ok ? buf_take(&out) : NULL;
    buf_free(&out);
    return r;
}

/* 1 when s and t hold different runs of kind, 0 when the same, -1 on OOM. */
static int differs(const char *s, const char *t, int kind)
{
    char *a = collect(s, kind), *b = collect(t, kind);
    int r = a && b ? strcmp(a, b) != 0 : -1;
    free(a);
    free(b);
    return r;
}

static size_t utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static bool blank(const char *s)
{
    for (; s && *s; s++)
        if (!isspace((unsigned char)*s))
            return false;
    return true;
}

static bool has_letter(const char *s)
{
    for (; *s; s++)
        if (isalpha((unsigned char)*s) || (unsigned char)*s >= 0xC2)
            return true;
    return false;
}

char *tr_qa_segment(const char *source, const char *target, const struct tr_glossary *g)
{
    buf b;
    buf_init(&b, (size_t)1 << 16);
    int rc = buf_puts(&b, "[");
    size_t nflags = 0;
#define FLAG(name) \
    do { rc = rc ? rc : buf_printf(&b, "%s\"%s\"", nflags++ ? "," : "", name); } while (0)
    if (blank(target)) {
        FLAG("empty");
    } else {
        if (strcmp(source, target) == 0 && has_letter(source))
            FLAG("untranslated");
        static const struct { int kind; const char *name; } CHECKS[] = {
            {-1, "number"}, {TR_RUN_PLACEHOLDER, "placeholder"}, {TR_RUN_TAG, "tag"},
            {TR_RUN_URL, "url"},
        };
        for (size_t i = 0; i < sizeof CHECKS / sizeof CHECKS[0]; i++) {
            int d = differs(source, target, CHECKS[i].kind);
            if (d < 0)
                rc = -1;
            else if (d)
                FLAG(CHECKS[i].name);
        }
        size_t sl = utf8_chars(source), tl = utf8_chars(target);
        if (sl >= 8 && (tl * 10 < sl * 3 || tl > sl * 3))
            FLAG("length");
        bool miss = false;
        for (size_t i = 0; g && i < g->n && !miss; i++)
            if (has_term(source, g->terms[i].source) && !has_term(target, g->terms[i].target))
                miss = true;
        if (miss)
            FLAG("glossary");
    }
#undef FLAG
    if (rc == 0)
        rc = buf_puts(&b, "]");
    char *r = rc == 0 ? buf_take(&b) : NULL;
    buf_free(&b);
    return r;
}
