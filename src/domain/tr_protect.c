/* tr_protect.c — what the translation engine must not see, cut out and put
 * back byte for byte (docs/translate.md, "Protection"), and sentence
 * splitting inside blocks.  Pure: works on the caller's strings only. */
#include "domain/translate.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/tr_int.h"
#include "util/buf.h"

#define TEXT_CAP ((size_t)64 << 20)   /* one segment's text, any form */

void tr_seg_clear(struct tr_seg *s)
{
    free(s->source);
    free(s->target);
    free(s->flags);
    free(s->meta);
    memset(s, 0, sizeof *s);
}

void tr_segs_free(struct tr_seg *s, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        tr_seg_clear(&s[i]);
    free(s);
}

/* ---- finding protected runs ------------------------------------------------ */

struct spans {
    struct tr_span *v;
    size_t n, alloc;
};

static int add_span(struct spans *s, size_t start, size_t end)
{
    if (end <= start)
        return 0;
    if (s->n == s->alloc) {
        size_t na = s->alloc ? s->alloc * 2 : 16;
        struct tr_span *nv = realloc(s->v, na * sizeof *nv);
        if (!nv)
            return -1;
        s->v = nv;
        s->alloc = na;
    }
    s->v[s->n++] = (struct tr_span){start, end};
    return 0;
}

static bool is_name_char(unsigned char c)
{
    return isalnum(c) || c == '_' || c == '.' || c == ':' || c == '-' || c == '[' ||
           c == ']';
}

/* Length of a placeholder starting at p, or 0. */
static size_t placeholder_len(const char *p)
{
    if (p[0] == '{' && p[1] == '{') {
        const char *e = strstr(p + 2, "}}");
        if (e && e - p <= 200 && !memchr(p, '\n', (size_t)(e - p)))
            return (size_t)(e - p) + 2;
        return 0;
    }
    if (p[0] == '{') {
        size_t i = 1;
        while (i <= 64 && is_name_char((unsigned char)p[i]))
            i++;
        return p[i] == '}' ? i + 1 : 0;
    }
    if (p[0] == '%') {
        size_t i = 1;
        if (p[1] == '%')
            return 2;
        if (p[1] == '(') {               /* %(name)s */
            const char *e = strchr(p + 2, ')');
            if (!e || e - p > 66)
                return 0;
            for (const char *q = p + 2; q < e; q++)
                if (!is_name_char((unsigned char)*q))
                    return 0;
            i = (size_t)(e - p) + 1;
        } else {
            size_t d = i;                 /* %1$d */
            while (isdigit((unsigned char)p[d]))
                d++;
            if (d > i && p[d] == '$')
                i = d + 1;
        }
        while (strchr("-+#0", p[i]) && p[i])
            i++;
        while (isdigit((unsigned char)p[i]))
            i++;
        if (p[i] == '.') {
            i++;
            while (isdigit((unsigned char)p[i]))
                i++;
        }
        static const char *const LEN[] = {"hh", "ll", "h", "l", "z", "j", "t", "L", NULL};
        for (const char *const *l = LEN; *l; l++)
            if (strncmp(p + i, *l, strlen(*l)) == 0) {
                i += strlen(*l);
                break;
            }
        return p[i] && strchr("diouxXeEfgGcsp@", p[i]) ? i + 1 : 0;
    }
    return 0;
}

/* Length of a URL starting at p (http://, https://, ftp://, mailto:, www.),
 * trailing punctuation left out; 0 when none starts there. */
static size_t url_len(const char *s, size_t at)
{
    const char *p = s + at;
    if (at > 0 && (isalnum((unsigned char)s[at - 1]) || s[at - 1] == '/'))
        return 0;
    if (strncmp(p, "http://", 7) && strncmp(p, "https://", 8) && strncmp(p, "ftp://", 6) &&
        strncmp(p, "mailto:", 7) && strncmp(p, "www.", 4))
        return 0;
    size_t i = 0;
    while (p[i] && !isspace((unsigned char)p[i]) && p[i] != '<' && p[i] != '>' &&
           p[i] != '"' && p[i] != '\x01')
        i++;
    while (i > 0 && strchr(".,;:!?)]'", p[i - 1])) {
        if (p[i - 1] == ')' && memchr(p, '(', i))
            break;
        i--;
    }
    return i > 7 ? i : 0;
}

/* Length of an HTML/XML tag or entity at p, or 0. */
static size_t tag_len(const char *p)
{
    if (p[0] == '<') {
        size_t i = 1;
        if (p[i] == '/' || p[i] == '!' || p[i] == '?')
            i++;
        if (!isalpha((unsigned char)p[i]) && !(p[1] == '!' && p[2] == '-'))
            return 0;
        while (p[i] && p[i] != '>' && p[i] != '<' && p[i] != '\n' && i < 4096)
            i++;
        return p[i] == '>' ? i + 1 : 0;
    }
    if (p[0] == '&') {
        size_t i = 1;
        if (p[i] == '#')
            i++;
        size_t s = i;
        while (isalnum((unsigned char)p[i]) && i < 32)
            i++;
        return i > s && p[i] == ';' ? i + 1 : 0;
    }
    return 0;
}

/* Length of an inline code span at p (a run of backticks closed by the same
 * run), or 0. */
static size_t code_len(const char *p)
{
    size_t ticks = 0;
    while (p[ticks] == '`')
        ticks++;
    if (ticks == 0)
        return 0;
    for (const char *q = p + ticks; *q; q++) {
        if (*q != '`')
            continue;
        size_t t = 0;
        while (q[t] == '`')
            t++;
        if (t == ticks)
            return (size_t)(q - p) + t;
        q += t - 1;
    }
    return 0;
}

size_t tr_run_at(const char *s, size_t at, enum tr_run_kind *kind)
{
    size_t k;
    if ((k = code_len(s + at))) {
        *kind = TR_RUN_CODE;
    } else if ((k = url_len(s, at))) {
        *kind = TR_RUN_URL;
    } else if ((k = tag_len(s + at))) {
        *kind = s[at] == '<' ? TR_RUN_TAG : TR_RUN_ENTITY;
    } else if ((k = placeholder_len(s + at))) {
        *kind = TR_RUN_PLACEHOLDER;
    }
    return k;
}

static int cmp_span(const void *a, const void *b)
{
    const struct tr_span *x = a, *y = b;
    return x->start < y->start ? -1 : x->start > y->start ? 1 : 0;
}

/* Every protected run of src, sorted and merged where they overlap. */
static int find_runs(const char *src, const struct tr_span *fixed, size_t nfixed,
                     struct spans *out)
{
    size_t len = strlen(src);
    for (size_t i = 0; i < nfixed; i++)
        if (fixed[i].end <= len && add_span(out, fixed[i].start, fixed[i].end) != 0)
            return -1;
    for (size_t i = 0; i < len;) {
        enum tr_run_kind kind;
        size_t k = tr_run_at(src, i, &kind);
        if (k) {
            if (add_span(out, i, i + k) != 0)
                return -1;
            i += k;
        } else {
            i++;
        }
    }
    if (out->n == 0)
        return 0;
    qsort(out->v, out->n, sizeof *out->v, cmp_span);
    size_t w = 0;
    for (size_t i = 1; i < out->n; i++) {
        if (out->v[i].start < out->v[w].end) {
            if (out->v[i].end > out->v[w].end)
                out->v[w].end = out->v[i].end;
        } else {
            out->v[++w] = out->v[i];
        }
    }
    out->n = w + 1;
    return 0;
}

/* ---- masking ------------------------------------------------------------------ */

void tr_masked_free(struct tr_masked *m)
{
    free(m->text);
    for (size_t i = 0; m->runs && i < m->nruns; i++)
        free(m->runs[i]);
    free(m->runs);
    memset(m, 0, sizeof *m);
}

int tr_mask(const char *src, const struct tr_span *fixed, size_t nfixed,
            struct tr_masked *out)
{
    memset(out, 0, sizeof *out);
    struct spans sp = {0};
    if (find_runs(src, fixed, nfixed, &sp) != 0) {
        free(sp.v);
        return -1;
    }
    buf b;
    buf_init(&b, TEXT_CAP);
    int rc = 0;
    if (sp.n && !(out->runs = calloc(sp.n, sizeof *out->runs)))
        rc = -1;
    size_t at = 0;
    for (size_t i = 0; rc == 0 && i < sp.n; i++) {
        /* whitespace stays outside the run so the engine spaces words */
        size_t s = sp.v[i].start, e = sp.v[i].end;
        if (buf_append(&b, src + at, s - at) != 0 || buf_printf(&b, "\x01%zu\x02", i) != 0 ||
            !(out->runs[i] = strndup(src + s, e - s))) {
            rc = -1;
            break;
        }
        out->nruns = i + 1;
        at = e;
    }
    if (rc == 0 && buf_puts(&b, src + at) != 0)
        rc = -1;
    free(sp.v);
    if (rc == 0 && !(out->text = buf_take(&b)))
        rc = -1;
    buf_free(&b);
    if (rc != 0)
        tr_masked_free(out);
    return rc;
}

char *tr_masked_render(const struct tr_masked *m, const char *open, const char *close,
                       const char *escape)
{
    buf b;
    buf_init(&b, TEXT_CAP);
    for (const char *p = m->text; *p; p++) {
        int rc = 0;
        if (*p == '\x01') {
            char *end = NULL;
            unsigned long i = strtoul(p + 1, &end, 10);
            rc = buf_printf(&b, "%s%lu%s", open, i, close);
            p = *end == '\x02' ? end : end - 1;
        } else {
            if (escape && strchr(escape, *p))
                rc = buf_append(&b, "\\", 1);
            if (rc == 0)
                rc = buf_append(&b, p, 1);
        }
        if (rc != 0) {
            buf_free(&b);
            return NULL;
        }
    }
    char *r = buf_take(&b);
    buf_free(&b);
    return r;
}

char *tr_unmask(const struct tr_masked *m, const char *out, const char *open,
                const char *close, const char *unescape)
{
    buf b;
    buf_init(&b, TEXT_CAP);
    size_t ol = strlen(open), cl = strlen(close);
    int rc = 0;
    for (const char *p = out; *p && rc == 0;) {
        if (strncmp(p, open, ol) == 0 && isdigit((unsigned char)p[ol])) {
            char *end = NULL;
            unsigned long i = strtoul(p + ol, &end, 10);
            if (strncmp(end, close, cl) == 0 && i < m->nruns) {
                rc = buf_puts(&b, m->runs[i]);
                p = end + cl;
                continue;
            }
        }
        if (unescape && p[0] == '\\' && p[1] && strchr(unescape, p[1]))
            p++;
        rc = buf_append(&b, p, 1);
        p++;
    }
    char *r = rc == 0 ? buf_take(&b) : NULL;
    buf_free(&b);
    return r;
}

/* ---- sentences ------------------------------------------------------------------- */

static bool in_spans(const struct tr_span *k, size_t n, size_t at)
{
    for (size_t i = 0; i < n; i++)
        if (at >= k[i].start && at < k[i].end)
            return true;
    return false;
}

/* Whether the word ending right before text[end] (the '.') is an
 * abbreviation or a single letter. */
static bool abbreviation(const char *text, size_t end)
{
    static const char *const ABBR[] = {
        "mr", "mrs", "ms", "dr", "prof", "st", "vs", "etc", "e.g", "i.e", "inc", "ltd",
        "jr", "sr", "no", "fig", "cf", "approx", "dept", "sec", "vol", "p", NULL,
    };
    size_t s = end;
    while (s > 0 && (isalpha((unsigned char)text[s - 1]) || text[s - 1] == '.'))
        s--;
    size_t n = end - s;
    if (n == 1)
        return true;
    for (const char *const *a = ABBR; *a; a++)
        if (strlen(*a) == n && strncasecmp(text + s, *a, n) == 0)
            return true;
    return false;
}

size_t tr_sentences(const char *text, const struct tr_span *keep, size_t nkeep,
                    struct tr_span *out, size_t max)
{
    size_t len = strlen(text), n = 0, start = 0;
    for (size_t i = 0; i <= len && n < max; i++) {
        size_t cut = 0;   /* end of a sentence found at i */
        if (i == len) {
            cut = len;
        } else if (!in_spans(keep, nkeep, i)) {
            unsigned char c = (unsigned char)text[i];
            size_t after = 0;
            if (c == '.' || c == '!' || c == '?')
                after = i + 1;
            else if (c == 0xE2 && (unsigned char)text[i + 1] == 0x80 &&
                     (unsigned char)text[i + 2] == 0xA6)
                after = i + 3;             /* … */
            if (after) {
                while (text[after] == '"' || text[after] == '\'' || text[after] == ')' ||
                       text[after] == '.' || text[after] == '!' || text[after] == '?')
                    after++;
                size_t sp = after;
                while (text[sp] == ' ' || text[sp] == '\t' || text[sp] == '\n')
                    sp++;
                unsigned char nx = (unsigned char)text[sp];
                bool next_ok = sp > after && (isupper(nx) || isdigit(nx) || nx == '"' ||
                                              nx == '\'' || nx >= 0xC2 || nx == '[' ||
                                              nx == '*' || nx == '_');
                if (next_ok && !(c == '.' && abbreviation(text, i)))
                    cut = after;
            }
        }
        if (!cut)
            continue;
        size_t s = start, e = cut;
        while (s < e && isspace((unsigned char)text[s]))
            s++;
        while (e > s && isspace((unsigned char)text[e - 1]))
            e--;
        if (e > s)
            out[n++] = (struct tr_span){s, e};
        start = cut;
        i = cut - (cut > 0 ? 1 : 0);
        if (cut == len)
            break;
    }
    return n;
}
