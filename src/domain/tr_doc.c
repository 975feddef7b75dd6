/* tr_doc.c — documents as literal pieces and translatable segments
 * (docs/translate.md, "Formats"): detection by content and name, and the
 * parsers and writer of Markdown (md4c: block and inline positions), plain
 * text, SubRip, WebVTT and gettext PO.  XLIFF lives in tr_xliff.c.  Pure:
 * works on the caller's buffers only. */
#include "domain/translate.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/tr_int.h"

#ifdef BB_HAVE_MD4C
#include <md4c.h>
#endif

#define DOC_CAP ((size_t)256 << 20)
#define SUB_LINE 42            /* characters per subtitle line */

static const char *const FORMAT_NAMES[] = {"txt", "md", "srt", "vtt", "po", "xliff"};

const char *tr_format_name(enum tr_format f)
{
    return (unsigned)f < 6 ? FORMAT_NAMES[f] : "txt";
}

int tr_format_from_name(const char *name)
{
    for (int i = 0; name && i < 6; i++)
        if (strcmp(FORMAT_NAMES[i], name) == 0)
            return i;
    return -1;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Whether line (up to a newline) is a SubRip timing line. */
static bool srt_timing(const char *l)
{
    return strlen(l) >= 29 && isdigit((unsigned char)l[0]) && l[2] == ':' && l[5] == ':' &&
           (l[8] == ',' || l[8] == '.') && strncmp(l + 12, " --> ", 5) == 0;
}

enum tr_format tr_format_detect(const char *name, const char *data, size_t len)
{
    const char *p = data;
    if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
        p += 3;
    while (*p && isspace((unsigned char)*p))
        p++;
    if (strncmp(p, "WEBVTT", 6) == 0 && (!p[6] || isspace((unsigned char)p[6])))
        return TR_FMT_VTT;
    if ((strncmp(p, "<?xml", 5) == 0 || p[0] == '<') && strstr(p, "<xliff"))
        return TR_FMT_XLIFF;
    if (isdigit((unsigned char)*p)) {
        const char *nl = strchr(p, '\n');
        if (nl && srt_timing(nl + 1))
            return TR_FMT_SRT;
    }
    if ((strncmp(p, "msgid \"", 7) == 0 || strstr(data, "\nmsgid \"")) &&
        strstr(data, "\nmsgstr"))
        return TR_FMT_PO;
    if (name && (ends_with(name, ".md") || ends_with(name, ".markdown")))
        return TR_FMT_MD;
    if (name && (ends_with(name, ".srt")))
        return TR_FMT_SRT;
    if (name && (ends_with(name, ".po") || ends_with(name, ".pot")))
        return TR_FMT_PO;
    if (name && (ends_with(name, ".xlf") || ends_with(name, ".xliff")))
        return TR_FMT_XLIFF;
    if (name && ends_with(name, ".txt"))
        return TR_FMT_TXT;
    /* no name to go by: Markdown when it looks like it */
    if (p[0] == '#' || strstr(data, "\n```") || strstr(data, "](") || strstr(data, "\n# "))
        return TR_FMT_MD;
    return TR_FMT_TXT;
}

/* ---- building a document ----------------------------------------------------- */

struct builder {
    struct tr_doc *d;
    const char *src;
    size_t len, at;          /* bytes before `at` are in pieces already */
    size_t apieces, asegs;
    int rc;                  /* -1 once out of memory */
};

static int grow(void **v, size_t *alloc, size_t n, size_t size)
{
    if (n < *alloc)
        return 0;
    size_t na = *alloc ? *alloc * 2 : 32;
    void *nv = realloc(*v, na * size);
    if (!nv)
        return -1;
    *v = nv;
    *alloc = na;
    return 0;
}

static int add_piece(struct builder *b, char *lit, int seg, enum tr_esc esc, int lines)
{
    struct tr_doc *d = b->d;
    if (grow((void **)&d->pieces, &b->apieces, d->npieces, sizeof *d->pieces) != 0) {
        free(lit);
        return b->rc = -1;
    }
    d->pieces[d->npieces++] = (struct tr_piece){lit, seg, esc, lines, NULL};
    return 0;
}

/* The bytes [at, end) of the source as a literal piece. */
static int literal_to(struct builder *b, size_t end)
{
    if (b->rc || end <= b->at)
        return b->rc;
    char *lit = strndup(b->src + b->at, end - b->at);
    if (!lit)
        return b->rc = -1;
    b->at = end;
    return add_piece(b, lit, 0, TR_ESC_NONE, 0);
}

static int add_literal(struct builder *b, const char *s)
{
    char *lit = strdup(s);
    return lit ? add_piece(b, lit, 0, TR_ESC_NONE, 0) : (b->rc = -1);
}

/* A new segment with text source (copied) and its fixed spans; its
 * index, or -1. */
static int add_seg(struct builder *b, const char *text, size_t len,
                   const struct tr_span *keep, size_t nkeep)
{
    struct tr_doc *d = b->d;
    size_t a = b->asegs;
    if (b->rc || grow((void **)&d->segs, &b->asegs, d->nsegs, sizeof *d->segs) != 0) {
        b->rc = -1;
        return -1;
    }
    if (a != b->asegs) {
        struct tr_span **nk = realloc(d->keep, b->asegs * sizeof *nk);
        size_t *nn = nk ? realloc(d->nkeep, b->asegs * sizeof *nn) : NULL;
        if (nk)
            d->keep = nk;
        if (nn)
            d->nkeep = nn;
        if (!nk || !nn) {
            b->rc = -1;
            return -1;
        }
    }
    size_t i = d->nsegs;
    memset(&d->segs[i], 0, sizeof d->segs[i]);
    d->keep[i] = NULL;
    d->nkeep[i] = 0;
    d->segs[i].n = (int)i + 1;
    d->segs[i].source = strndup(text, len);
    d->segs[i].meta = strdup(tr_format_name(d->fmt));
    if (nkeep && (d->keep[i] = malloc(nkeep * sizeof *keep)) != NULL) {
        memcpy(d->keep[i], keep, nkeep * sizeof *keep);
        d->nkeep[i] = nkeep;
    }
    d->nsegs++;
    if (!d->segs[i].source || !d->segs[i].meta || (nkeep && !d->keep[i])) {
        b->rc = -1;
        return -1;
    }
    return (int)i;
}

/* Whether text has a letter outside its protected runs. */
static bool translatable(const char *text, const struct tr_span *keep, size_t nkeep)
{
    struct tr_masked m;
    if (tr_mask(text, keep, nkeep, &m) != 0)
        return true;
    bool any = false;
    for (const char *p = m.text; *p && !any; p++) {
        if (*p == '\x01') {
            while (*p && *p != '\x02')
                p++;
            if (!*p)
                break;
            continue;
        }
        any = isalpha((unsigned char)*p) || (unsigned char)*p >= 0xC2;
    }
    tr_masked_free(&m);
    return any;
}

/* The unit [start, end) of the source (a block's text), with its protected
 * spans (absolute offsets, sorted), split into sentences: each sentence a
 * segment, what lies between them literal. */
static int add_unit(struct builder *b, size_t start, size_t end, const struct tr_span *keep,
                    size_t nkeep)
{
    if (b->rc || end <= start)
        return b->rc;
    char *text = strndup(b->src + start, end - start);
    struct tr_span *rel = nkeep ? malloc(nkeep * sizeof *rel) : NULL;
    size_t max = (end - start) / 2 + 2;
    struct tr_span *sent = malloc(max * sizeof *sent);
    struct tr_span *sk = nkeep ? malloc(nkeep * sizeof *sk) : NULL;
    if (!text || !sent || (nkeep && (!rel || !sk))) {
        free(text), free(rel), free(sent), free(sk);
        return b->rc = -1;
    }
    for (size_t i = 0; i < nkeep; i++)
        rel[i] = (struct tr_span){keep[i].start - start, keep[i].end - start};
    size_t ns = tr_sentences(text, rel, nkeep, sent, max);
    for (size_t s = 0; s < ns && !b->rc; s++) {
        size_t nk = 0;
        for (size_t i = 0; i < nkeep; i++)
            if (rel[i].start >= sent[s].start && rel[i].end <= sent[s].end)
                sk[nk++] = (struct tr_span){rel[i].start - sent[s].start,
                                            rel[i].end - sent[s].start};
        char *one = strndup(text + sent[s].start, sent[s].end - sent[s].start);
        if (!one) {
            b->rc = -1;
            break;
        }
        bool tr = translatable(one, sk, nk);
        free(one);
        if (!tr)
            continue;
        if (literal_to(b, start + sent[s].start) != 0)
            break;
        int seg = add_seg(b, text + sent[s].start, sent[s].end - sent[s].start, sk, nk);
        if (seg < 0 || add_piece(b, NULL, seg, TR_ESC_NONE, 0) != 0)
            break;
        b->at = start + sent[s].end;
    }
    free(text), free(rel), free(sent), free(sk);
    return b->rc;
}

/* ---- Markdown ----------------------------------------------------------------- */

#ifdef BB_HAVE_MD4C

struct md_state {
    struct builder *b;
    int skip;                        /* inside a code or HTML block */
    size_t first, last;              /* the unit being collected; first == SIZE_MAX: none */
    struct tr_span *keep;            /* its protected spans */
    size_t nkeep, akeep;
};

static int md_keep(struct md_state *m, size_t s, size_t e)
{
    if (e <= s)
        return 0;
    if (grow((void **)&m->keep, &m->akeep, m->nkeep, sizeof *m->keep) != 0)
        return -1;
    m->keep[m->nkeep++] = (struct tr_span){s, e};
    return 0;
}

static int md_flush(struct md_state *m)
{
    if (m->first != (size_t)-1) {
        if (add_unit(m->b, m->first, m->last, m->keep, m->nkeep) != 0)
            return -1;
    }
    m->first = (size_t)-1;
    m->nkeep = 0;
    return 0;
}

static int md_enter(MD_BLOCKTYPE type, void *detail, void *ud)
{
    (void)detail;
    struct md_state *m = ud;
    if (md_flush(m) != 0)
        return -1;
    if (type == MD_BLOCK_CODE || type == MD_BLOCK_HTML)
        m->skip++;
    return 0;
}

static int md_leave(MD_BLOCKTYPE type, void *detail, void *ud)
{
    (void)detail;
    struct md_state *m = ud;
    if (md_flush(m) != 0)
        return -1;
    if (type == MD_BLOCK_CODE || type == MD_BLOCK_HTML)
        m->skip--;
    return 0;
}

static int md_span(MD_SPANTYPE type, void *detail, void *ud)
{
    (void)type, (void)detail, (void)ud;
    return 0;
}

static int md_text(MD_TEXTTYPE type, const MD_CHAR *text, MD_SIZE size, void *ud)
{
    struct md_state *m = ud;
    const char *src = m->b->src;
    if (m->skip || text < src || text + size > src + m->b->len || size == 0)
        return 0;                    /* not in the document: a soft break, NUL */
    size_t s = (size_t)(text - src), e = s + size;
    if (m->first == (size_t)-1) {
        m->first = m->last = s;
    } else if (s > m->last && md_keep(m, m->last, s) != 0) {
        return -1;                   /* the syntax between two texts */
    }
    if (type == MD_TEXT_CODE || type == MD_TEXT_HTML || type == MD_TEXT_ENTITY ||
        type == MD_TEXT_LATEXMATH) {
        if (md_keep(m, s, e) != 0)
            return -1;
    }
    if (e > m->last)
        m->last = e;
    return 0;
}

static int parse_md(struct builder *b)
{
    struct md_state m = {.b = b, .first = (size_t)-1};
    MD_PARSER p = {
        .abi_version = 0,
        .flags = MD_FLAG_TABLES | MD_FLAG_STRIKETHROUGH | MD_FLAG_PERMISSIVEURLAUTOLINKS |
                 MD_FLAG_TASKLISTS,
        .enter_block = md_enter, .leave_block = md_leave,
        .enter_span = md_span, .leave_span = md_span, .text = md_text,
    };
    int rc = md_parse(b->src, (MD_SIZE)b->len, &p, &m);
    if (rc == 0)
        rc = md_flush(&m);
    free(m.keep);
    return rc != 0 || b->rc ? -1 : 0;
}
#else
/* This build has no md4c (the static release: docs/release.md). */
static int parse_md(struct builder *b)
{
    (void)b;
    return -1;
}
#endif

/* ---- line-based formats --------------------------------------------------------- */

/* The line starting at src[at]: its length without the newline (and a
 * '\r' before it), and *next the offset after the newline. */
static size_t line_at(const char *src, size_t len, size_t at, size_t *next)
{
    size_t e = at;
    while (e < len && src[e] != '\n')
        e++;
    *next = e < len ? e + 1 : len;
    size_t n = e - at;
    if (n && src[at + n - 1] == '\r')
        n--;
    return n;
}

static bool blank_line(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)s[i]))
            return false;
    return true;
}

/* Plain text: each paragraph (lines up to a blank line) a unit. */
static int parse_txt(struct builder *b)
{
    size_t at = 0, start = (size_t)-1, end = 0;
    while (at < b->len && !b->rc) {
        size_t next, n = line_at(b->src, b->len, at, &next);
        if (blank_line(b->src + at, n)) {
            if (start != (size_t)-1)
                add_unit(b, start, end, NULL, 0);
            start = (size_t)-1;
        } else {
            if (start == (size_t)-1)
                start = at;
            end = at + n;
        }
        at = next;
    }
    if (start != (size_t)-1)
        add_unit(b, start, end, NULL, 0);
    return b->rc;
}

/* The text lines of a cue, from at to the blank line ending it: one segment
 * (lines joined with spaces) written back re-wrapped. */
static int add_cue_text(struct builder *b, size_t at, size_t *after)
{
    size_t start = at, end = at, lines = 0;
    char *joined = malloc(b->len - at + 1);
    if (!joined)
        return b->rc = -1;
    size_t w = 0;
    while (at < b->len) {
        size_t next, n = line_at(b->src, b->len, at, &next);
        if (blank_line(b->src + at, n))
            break;
        if (w)
            joined[w++] = ' ';
        memcpy(joined + w, b->src + at, n);
        w += n;
        end = at + n;
        lines++;
        at = next;
    }
    joined[w] = '\0';
    *after = at;
    if (lines && translatable(joined, NULL, 0)) {
        if (literal_to(b, start) == 0) {
            int seg = add_seg(b, joined, w, NULL, 0);
            if (seg >= 0 && add_piece(b, NULL, seg, TR_ESC_SUBTITLE, (int)lines) == 0) {
                b->at = end;
                char **orig = &b->d->pieces[b->d->npieces - 1].orig;
                if (!(*orig = strndup(b->src + start, end - start)))
                    b->rc = -1;
            }
        }
    }
    free(joined);
    return b->rc;
}

static int parse_srt(struct builder *b, char *err, size_t cap)
{
    size_t at = 0;
    while (at < b->len && !b->rc) {
        size_t next, n = line_at(b->src, b->len, at, &next);
        if (blank_line(b->src + at, n)) {
            at = next;
            continue;
        }
        size_t tnext, tn = line_at(b->src, b->len, next, &tnext);
        char timing[64] = "";
        memcpy(timing, b->src + next, tn < 63 ? tn : 63);
        if (next >= b->len || !srt_timing(timing)) {
            size_t line = 1;
            for (size_t i = 0; i < at; i++)
                line += b->src[i] == '\n';
            snprintf(err, cap, "SubRip: cue at line %zu has no timing line "
                     "(\"00:00:01,000 --> 00:00:02,000\")", line);
            return -1;
        }
        add_cue_text(b, tnext, &at);
    }
    return b->rc;
}

static int parse_vtt(struct builder *b)
{
    size_t at = 0;
    bool header = true;
    while (at < b->len && !b->rc) {
        size_t next, n = line_at(b->src, b->len, at, &next);
        if (blank_line(b->src + at, n)) {
            header = false;
            at = next;
            continue;
        }
        const char *l = b->src + at;
        if (header || (n >= 4 && strncmp(l, "NOTE", 4) == 0) ||
            (n >= 5 && strncmp(l, "STYLE", 5) == 0) ||
            (n >= 6 && strncmp(l, "REGION", 6) == 0)) {
            while (at < b->len) {     /* a block kept as it is */
                n = line_at(b->src, b->len, at, &next);
                if (blank_line(b->src + at, n))
                    break;
                at = next;
            }
            header = false;
            continue;
        }
        /* an optional identifier line, then the timing line */
        size_t tat = at;
        if (!memmem(l, n, "-->", 3))
            tat = next;
        size_t tn = line_at(b->src, b->len, tat, &next);
        if (tat >= b->len || !memmem(b->src + tat, tn, "-->", 3)) {
            at = next;                /* not a cue: kept */
            continue;
        }
        add_cue_text(b, next, &at);
    }
    return b->rc;
}

/* ---- gettext PO ----------------------------------------------------------------- */

/* Appends the unescaped body of the quoted PO string at s (up to n bytes)
 * to out: 0, or -1 when it is not a quoted string. */
static int po_unquote(const char *s, size_t n, buf *out)
{
    while (n && isspace((unsigned char)*s))
        s++, n--;
    while (n && isspace((unsigned char)s[n - 1]))
        n--;
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return -1;
    for (size_t i = 1; i + 1 < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 2 < n) {
            char e = s[++i];
            c = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'a' ? '\a'
                : e == 'b' ? '\b' : e == 'f' ? '\f' : e == 'v' ? '\v' : e;
        }
        if (buf_append(out, &c, 1) != 0)
            return -1;
    }
    return 0;
}

struct po_entry {
    buf id, plural;
    bool has_plural, obsolete, header;
    size_t str_start, str_end;        /* the msgstr lines */
    int nforms;                       /* msgstr[N] lines, 0: a plain msgstr */
    int field;                        /* 0 none, 1 msgid, 2 plural, 3 msgstr, 4 ctxt */
};

static void po_entry_reset(struct po_entry *e)
{
    buf_reset(&e->id);
    buf_reset(&e->plural);
    e->has_plural = e->obsolete = e->header = false;
    e->str_start = e->str_end = (size_t)-1;
    e->nforms = 0;
    e->field = 0;
}

/* Writes the pieces of one finished entry: its msgstr lines generated from
 * the segments of msgid and msgid_plural. */
static int po_finish(struct builder *b, struct po_entry *e)
{
    if (e->str_start == (size_t)-1 || e->obsolete || e->id.len == 0)
        return 0;                    /* header, obsolete or incomplete: kept */
    const char *id = e->id.data ? e->id.data : "";
    if (!translatable(id, NULL, 0))
        return 0;
    if (literal_to(b, e->str_start) != 0)
        return -1;
    int s1 = add_seg(b, id, strlen(id), NULL, 0), s2 = s1;
    if (s1 < 0)
        return -1;
    if (e->has_plural && e->plural.len &&
        (s2 = add_seg(b, e->plural.data, e->plural.len, NULL, 0)) < 0)
        return -1;
    if (e->nforms == 0) {
        if (add_literal(b, "msgstr ") || add_piece(b, NULL, s1, TR_ESC_PO, 0) ||
            add_literal(b, "\n"))
            return -1;
    }
    for (int f = 0; f < e->nforms; f++) {
        char head[32];
        snprintf(head, sizeof head, "msgstr[%d] ", f);
        if (add_literal(b, head) || add_piece(b, NULL, f == 0 ? s1 : s2, TR_ESC_PO, 0) ||
            add_literal(b, "\n"))
            return -1;
    }
    b->at = e->str_end;
    return 0;
}

static int parse_po(struct builder *b, char *err, size_t cap)
{
    struct po_entry e = {0};
    buf_init(&e.id, DOC_CAP);
    buf_init(&e.plural, DOC_CAP);
    po_entry_reset(&e);
    size_t at = 0, lineno = 0;
    int rc = 0;
    while (at <= b->len && rc == 0 && !b->rc) {
        size_t next = b->len + 1, n = at < b->len ? line_at(b->src, b->len, at, &next) : 0;
        if (at == b->len)
            next = b->len + 1;
        lineno++;
        const char *l = b->src + at;
        bool obsolete = n >= 2 && l[0] == '#' && l[1] == '~';
        if (at >= b->len || blank_line(l, n)) {
            rc = po_finish(b, &e);
            po_entry_reset(&e);
        } else if (obsolete) {
            e.obsolete = true;
        } else if (l[0] == '#') {
            if (e.field >= 3) {          /* a comment starts the next entry */
                rc = po_finish(b, &e);
                po_entry_reset(&e);
            }
        } else if (strncmp(l, "msgctxt", 7) == 0 || strncmp(l, "msgid ", 6) == 0) {
            if (e.field >= 3) {          /* entries without a blank line between */
                rc = po_finish(b, &e);
                po_entry_reset(&e);
            }
            if (l[5] == ' ') {
                e.field = 1;
                rc = po_unquote(l + 6, n - 6, &e.id);
            } else {
                e.field = 4;
            }
        } else if (strncmp(l, "msgid_plural ", 13) == 0) {
            e.field = 2;
            e.has_plural = true;
            rc = po_unquote(l + 13, n - 13, &e.plural);
        } else if (strncmp(l, "msgstr", 6) == 0) {
            if (e.str_start == (size_t)-1)
                e.str_start = at;
            if (l[6] == '[')
                e.nforms++;
            e.field = 3;
            e.str_end = next;
        } else if (l[0] == '"') {
            buf scratch;
            buf_init(&scratch, DOC_CAP);
            buf *to = e.field == 1 ? &e.id : e.field == 2 ? &e.plural : &scratch;
            rc = e.field == 0 ? -1 : po_unquote(l, n, to);
            buf_free(&scratch);
            if (e.field == 3)
                e.str_end = next;
        } else {
            rc = -1;
        }
        if (rc != 0 && !b->rc)
            snprintf(err, cap, "PO: line %zu is not valid gettext syntax", lineno);
        at = next;
    }
    buf_free(&e.id);
    buf_free(&e.plural);
    return rc != 0 || b->rc ? -1 : 0;
}

/* ---- parse / write / free -------------------------------------------------------- */

int tr_doc_parse(enum tr_format fmt, const char *data, size_t len, struct tr_doc *d,
                 char *err, size_t cap)
{
    memset(d, 0, sizeof *d);
    d->fmt = fmt;
    snprintf(err, cap, "out of memory");
    if (fmt == TR_FMT_XLIFF)
        return tr_xliff_parse(data, len, d, err, cap);
    struct builder b = {.d = d, .src = data, .len = len};
    int rc;
    switch (fmt) {
    case TR_FMT_MD: rc = parse_md(&b); break;
    case TR_FMT_SRT: rc = parse_srt(&b, err, cap); break;
    case TR_FMT_VTT: rc = parse_vtt(&b); break;
    case TR_FMT_PO: rc = parse_po(&b, err, cap); break;
    default: rc = parse_txt(&b); break;
    }
    if (rc == 0 && !b.rc)
        rc = literal_to(&b, len);
    if (rc != 0 || b.rc) {
#ifdef BB_HAVE_MD4C
        if (fmt == TR_FMT_MD && !b.rc)
            snprintf(err, cap, "Markdown: the parser gave up on this document");
#else
        if (fmt == TR_FMT_MD && !b.rc)
            snprintf(err, cap, "Markdown documents need md4c, which this static release "
                     "build does not include (docs/release.md): use a build from source, or "
                     "give the document a .txt name to translate it as plain text");
#endif
        tr_doc_free(d);
        return -1;
    }
    return 0;
}

void tr_doc_free(struct tr_doc *d)
{
    for (size_t i = 0; d->pieces && i < d->npieces; i++) {
        free(d->pieces[i].lit);
        free(d->pieces[i].orig);
    }
    free(d->pieces);
    for (size_t i = 0; d->keep && i < d->nsegs; i++)
        free(d->keep[i]);
    free(d->keep);
    free(d->nkeep);
    tr_segs_free(d->segs, d->nsegs);
    tr_xliff_free(d);
    memset(d, 0, sizeof *d);
}

/* A PO string: quoted and escaped; split after each \n inside. */
static int write_po(buf *o, const char *s)
{
    const char *nl = strchr(s, '\n');
    bool multi = nl && nl[1];
    int rc = buf_puts(o, multi ? "\"\"\n\"" : "\"");
    for (const char *p = s; *p && rc == 0; p++) {
        switch (*p) {
        case '"': rc = buf_puts(o, "\\\""); break;
        case '\\': rc = buf_puts(o, "\\\\"); break;
        case '\t': rc = buf_puts(o, "\\t"); break;
        case '\r': rc = buf_puts(o, "\\r"); break;
        case '\n': rc = buf_puts(o, p[1] && multi ? "\\n\"\n\"" : "\\n"); break;
        default: rc = buf_append(o, p, 1);
        }
    }
    return rc ? rc : buf_puts(o, "\"");
}

/* A subtitle text re-wrapped: as many lines as it needs at SUB_LINE
 * characters, and at least the source's count when long enough; lines
 * broken at the space nearest an even split. */
static int write_subtitle(buf *o, const char *s, int src_lines)
{
    char *t = strdup(s);
    if (!t)
        return -1;
    size_t chars = 0;
    for (char *p = t; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
        chars += ((unsigned char)*p & 0xC0) != 0x80;
    }
    size_t lines = (chars + SUB_LINE - 1) / SUB_LINE;
    if (lines < (size_t)src_lines && chars >= (size_t)src_lines * 12)
        lines = (size_t)src_lines;
    if (lines < 1)
        lines = 1;
    size_t len = strlen(t), from = 0;
    int rc = 0;
    for (size_t l = 1; l < lines && rc == 0; l++) {
        size_t ideal = from + (len - from) / (lines - l + 1), best = 0;
        for (size_t d = 0; d < len && !best; d++) {
            if (ideal + d < len && ideal + d > from && t[ideal + d] == ' ')
                best = ideal + d;
            else if (ideal >= d && ideal - d > from && t[ideal - d] == ' ')
                best = ideal - d;
        }
        if (!best)
            break;
        rc = buf_append(o, t + from, best - from);
        rc = rc ? rc : buf_append(o, "\n", 1);
        from = best + 1;
    }
    rc = rc ? rc : buf_puts(o, t + from);
    free(t);
    return rc;
}

char *tr_doc_write(struct tr_doc *d, size_t *len_out)
{
    if (d->fmt == TR_FMT_XLIFF)
        return tr_xliff_write(d, len_out);
    buf o;
    buf_init(&o, DOC_CAP);
    int rc = 0;
    for (size_t i = 0; i < d->npieces && rc == 0; i++) {
        const struct tr_piece *p = &d->pieces[i];
        if (p->lit) {
            rc = buf_puts(&o, p->lit);
            continue;
        }
        const struct tr_seg *s = &d->segs[p->seg];
        const char *text = s->target ? s->target : s->source;
        if (p->esc == TR_ESC_PO)
            rc = write_po(&o, text);
        else if (p->esc == TR_ESC_SUBTITLE && p->orig && strcmp(text, s->source) == 0)
            rc = buf_puts(&o, p->orig);
        else if (p->esc == TR_ESC_SUBTITLE)
            rc = write_subtitle(&o, text, p->lines);
        else
            rc = buf_puts(&o, text);
    }
    size_t len = o.len;
    char *r = rc == 0 ? buf_take(&o) : NULL;
    buf_free(&o);
    if (r && len_out)
        *len_out = len;
    return r;
}
