/* translate.h — the pure parts of the translate workflow (docs/translate.md):
 * the segment record, documents parsed into literal pieces and segments
 * (Markdown, plain text, SubRip, WebVTT, gettext PO, XLIFF 1.2/2.0),
 * protection of what the engine must not touch (syntax, code, URLs, tags,
 * placeholders), QA per segment with a TSV glossary, and the writers of the
 * outputs (the document, bilingual.xlf, qa.json, report.html, manifest.json).
 * No I/O beyond reading a glossary file; no threads: every function works on
 * the caller's data only and is safe to call from any thread. */
#ifndef BB_TRANSLATE_H
#define BB_TRANSLATE_H

#include <stdbool.h>
#include <stddef.h>

/* ---- segments --------------------------------------------------------------- */

/* One translatable segment of a document (a sentence inside a block, a
 * subtitle cue, a PO msgid or plural, an XLIFF source).  All strings are
 * owned by the record (tr_seg_clear). */
struct tr_seg {
    int n;               /* 1-based, in document order */
    char *source;        /* as in the document (inline syntax included) */
    char *target;        /* the translation, NULL until there is one */
    char origin[8];      /* "mt" | "tm" | "edited" ("" before translation) */
    char state[12];      /* "translated" | "reviewed" ("" before) */
    char *flags;         /* QA flags: JSON array text ("[]"), or NULL = not run */
    /* What the writers need beyond the text: the document format ("md",
     * "txt", "srt", "vtt", "po", "xliff") so a rebuild parses the same
     * document the same way (a short static-like copy; may be NULL). */
    char *meta;
};

void tr_seg_clear(struct tr_seg *s);
void tr_segs_free(struct tr_seg *s, size_t n);

/* ---- glossary ------------------------------------------------------------- */

/* A preset's glossary (docs/translate.md, "Glossary"): a UTF-8 TSV file, one
 * "source term<TAB>target term" per line; blank lines and lines starting with
 * '#' are skipped.  Matching is case-insensitive (ASCII) on word
 * boundaries. */
struct tr_glossary {
    struct tr_term { char *source, *target; } *terms;
    size_t n;
};

/* Loads path into *g: 0, or -1 with a message naming the line in err.  A
 * missing file is an error.  *g owns everything; tr_glossary_free. */
int tr_glossary_load(const char *path, struct tr_glossary *g, char *err, size_t cap);
/* Parses TSV text (as in a file) into *g: 0, or -1 with a message. */
int tr_glossary_parse(const char *text, struct tr_glossary *g, char *err, size_t cap);
void tr_glossary_free(struct tr_glossary *g);

/* ---- QA --------------------------------------------------------------------- */

/* The checks of one segment (docs/translate.md, "QA checks"): the flags it
 * raises as a JSON array text of check names, "[]" when it is clean, in this
 * order: "empty", "untranslated" (target == source, letters present),
 * "number", "placeholder", "tag", "url", "length" (target/source length
 * outside 0.3..3, sources of 8+ characters), "glossary".  g may be NULL.
 * Returns a new string (caller frees) or NULL when out of memory. */
char *tr_qa_segment(const char *source, const char *target, const struct tr_glossary *g);

/* ---- protection -------------------------------------------------------------- */

/* A byte range [start, end) of a text the engine must not see. */
struct tr_span { size_t start, end; };

/* A segment's text with the protected parts cut out: `text` is the source
 * with each protected run replaced by token i (written by the engine's
 * provider in its own syntax: tr_masked_render); runs[i] are the original
 * bytes.  Owned; tr_masked_free. */
struct tr_masked {
    char *text;          /* NUL-free; tokens are "\x01<i>\x02" */
    char **runs;
    size_t nruns;
};

/* Masks src: the caller's fixed spans (Markdown syntax from md4c; may be
 * NULL) plus inline code, URLs, HTML/XML tags and entities, and
 * placeholders ({name}, {{x}}, %s, %1$d, %(name)s, $1).  0, or -1 when out
 * of memory. */
int tr_mask(const char *src, const struct tr_span *fixed, size_t nfixed,
            struct tr_masked *out);
void tr_masked_free(struct tr_masked *m);
/* The masked text with each token written as open + i + close (e.g. "[@",
 * "]" for apertium superblanks, "<x id=\"", "\"/>" for XML-aware
 * services), and each byte in `escape` preceded by '\\' outside tokens (NULL:
 * none).  Caller frees; NULL when out of memory. */
char *tr_masked_render(const struct tr_masked *m, const char *open, const char *close,
                       const char *escape);
/* Puts the original runs back into an engine's output written with the same
 * open/close: each token found is replaced by its run; a token the engine
 * lost stays lost (QA flags the missing placeholder, tag or URL).
 * `unescape`: remove the backslash before these bytes.  Caller frees; NULL
 * when out of memory. */
char *tr_unmask(const struct tr_masked *m, const char *out, const char *open,
                const char *close, const char *unescape);

/* Splits text into sentences (". ", "! ", "? ", "…" followed by a space
 * and an upper-case letter, digit or quote; not after common abbreviations
 * and single letters; never inside a protected span).  Writes up to max
 * [start, end) ranges into out (whitespace between sentences is left out)
 * and returns how many; 0 when the text is blank. */
size_t tr_sentences(const char *text, const struct tr_span *keep, size_t nkeep,
                    struct tr_span *out, size_t max);

/* ---- documents -------------------------------------------------------------- */

enum tr_format { TR_FMT_TXT, TR_FMT_MD, TR_FMT_SRT, TR_FMT_VTT, TR_FMT_PO, TR_FMT_XLIFF };

/* "txt", "md", "srt", "vtt", "po", "xliff" (static), and back (-1: unknown). */
const char *tr_format_name(enum tr_format f);
int tr_format_from_name(const char *name);
/* Recognises a document by its content first (WEBVTT header, SRT cue
 * numbers and arrows, PO msgid/msgstr, an <xliff> root) and then its file
 * name's extension (.md/.markdown, .txt...); plain text otherwise. */
enum tr_format tr_format_detect(const char *name, const char *data, size_t len);

/* How a piece of the output writes a segment's target. */
enum tr_esc {
    TR_ESC_NONE,      /* as is (Markdown, plain text) */
    TR_ESC_SUBTITLE,  /* re-wrapped into lines of at most 42 characters */
    TR_ESC_PO,        /* a PO string body: quoted, escaped, split on \n */
};

/* A parsed document: the output is the concatenation of its pieces, each a
 * literal kept as it was or a segment's target written with an escape.
 * XLIFF keeps its DOM instead (xml). */
struct tr_piece {
    char *lit;           /* owned literal, or NULL for a segment */
    int seg;             /* index into segs when lit is NULL */
    enum tr_esc esc;
    int lines;           /* TR_ESC_SUBTITLE: the source's line count */
    char *orig;          /* TR_ESC_SUBTITLE: the cue's lines as they were (owned),
                            written when the target is the source */
};

struct tr_doc {
    enum tr_format fmt;
    struct tr_piece *pieces;
    size_t npieces;
    struct tr_seg *segs;     /* n = 1..nsegs; source set, target NULL */
    size_t nsegs;
    /* per segment: the fixed protected spans found by the parser (Markdown
     * syntax and inline code from md4c, XLIFF inline elements), owned */
    struct tr_span **keep;
    size_t *nkeep;
    void *xml;               /* XLIFF: the libxml2 document (owned) */
    void **xml_src;          /* XLIFF: each segment's <source> node */
    int xliff_version;       /* 1 (1.2) or 2 (2.0) */
};

/* Parses data (len bytes of NUL-free UTF-8, NUL-terminated at len) as fmt into *d: 0, or -1 with
 * a message in err (malformed SubRip timing, PO syntax, XML...).  *d owns
 * everything; tr_doc_free. */
int tr_doc_parse(enum tr_format fmt, const char *data, size_t len, struct tr_doc *d,
                 char *err, size_t cap);
void tr_doc_free(struct tr_doc *d);
/* The document with every segment's target in place (a segment without a
 * target keeps its source).  XLIFF: targets filled, state attributes set.
 * Returns a new string (caller frees; *len_out its length) or NULL. */
char *tr_doc_write(struct tr_doc *d, size_t *len_out);

/* ---- reports ----------------------------------------------------------------- */

/* Everything the report writers show about a run. */
struct tr_run_info {
    const char *engine;      /* provider name */
    const char *pair;        /* "eng-spa" */
    const char *input_name;  /* the document's file name */
    enum tr_format fmt;
    bool rebuild;            /* written from stored segments */
};

/* bilingual.xlf: XLIFF 2.0, one <unit> per segment with <segment
 * state="translated|reviewed|initial">, source and target escaped.  Caller
 * frees; NULL when out of memory. */
char *tr_write_bilingual(const struct tr_run_info *ri, const struct tr_seg *s, size_t n);
/* qa.json: {"segments": N, "flagged": F, "counts": {check: k},
 * "items": [{"n", "flags", "source", "target"}] (flagged ones)}.  Caller
 * frees. */
char *tr_write_qa_json(const struct tr_seg *s, size_t n);
/* report.html: self-contained (inline CSS, no script), every text
 * escaped, source and target side by side with flags highlighted. */
char *tr_write_report_html(const struct tr_run_info *ri, const struct tr_seg *s, size_t n);
/* manifest.json: segments, origins {"mt","tm","edited"}, QA counts, engine,
 * pair, format, outputs. tm_hits is the memory hits of this run.  Caller
 * frees. */
char *tr_write_manifest(const struct tr_run_info *ri, const struct tr_seg *s, size_t n,
                        const char *output_name);

#endif
