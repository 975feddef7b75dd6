/* lesson.h — the lesson model (docs/lesson-workflow.md): parses a Markdown lesson (the
 * format in docs/lesson-format.md) into title, front matter, sections and
 * their items, and lists the speech segments for a mode (dialogue,
 * monologue, auto).  Pure: no I/O, no globals, thread-safe.  Every string
 * a parsed lesson points to is owned by it and freed by lesson_free().
 *
 * Each text comes twice: `text` is the Markdown as written (HTML is never
 * interpreted; whoever renders it escapes it), `plain` is the text to
 * speak (emphasis markers, code backticks, link syntax, HTML tags and
 * comments removed, entities decoded, whitespace collapsed). */
#ifndef BB_LESSON_H
#define BB_LESSON_H

#include <stddef.h>

#define LESSON_MAX_BYTES (2u * 1024u * 1024u) /* whole document, BOM included */
#define LESSON_LINE_MAX (64u * 1024u)  /* bytes in a line, line break excluded */
#define LESSON_SPEAKER_MAX 64          /* bytes in a speaker's name */
#define LESSON_SPEAKERS_MAX 64         /* different speakers in a lesson */
#define LESSON_SECTIONS_MAX 200        /* sections in a lesson */
#define LESSON_ITEMS_MAX 50000         /* items over all sections */
#define LESSON_META_MAX 32             /* extra front matter keys kept */
#define LESSON_ERROR_MAX 256           /* bytes in an error message, NUL included */

enum lesson_section_kind {
    LESSON_SECTION_INTRO,      /* text between the title and the first ##; raw lines */
    LESSON_SECTION_DIALOGUE,   /* ## Dialogue: speaker lines */
    LESSON_SECTION_READING,    /* ## Reading / Monologue: paragraphs */
    LESSON_SECTION_VOCABULARY, /* ## Vocabulary: term — meaning entries */
    LESSON_SECTION_EXERCISES,  /* ## Exercises: raw lines */
    LESSON_SECTION_OTHER,      /* any other ## heading: raw lines */
};

enum lesson_item_kind {
    LESSON_ITEM_SPEECH,    /* dialogue line: speaker + text (spoken) */
    LESSON_ITEM_DIRECTION, /* dialogue stage direction "(...)" (not spoken) */
    LESSON_ITEM_PARAGRAPH, /* reading paragraph, its lines joined by ' ' (spoken) */
    LESSON_ITEM_VOCAB,     /* vocabulary entry: term + meaning */
    LESSON_ITEM_HEADING,   /* ### (or deeper) sub-heading in a parsed section */
    LESSON_ITEM_RAW,       /* one line of an intro/exercises/other section */
};

/* One item of a section.  Every string is non-NULL unless noted, owned by
 * the lesson, valid UTF-8 without control characters other than TAB
 * (which only `text` can hold; `plain` turns it into a space). */
struct lesson_item {
    enum lesson_item_kind kind;
    unsigned line_no;    /* 1-based line where the item starts */
    const char *speaker; /* SPEECH: the name, markers removed; else NULL */
    const char *term;    /* VOCAB: the term, plain; else NULL */
    /* As written, trimmed: SPEECH the words after "Speaker:", DIRECTION
     * the whole line, PARAGRAPH the lines joined by one space, VOCAB the
     * meaning ("" when none), HEADING the heading's text, RAW the line
     * with its indentation kept and trailing blanks removed ("" for a
     * blank line between two non-blank ones). */
    const char *text;
    const char *plain;   /* text to speak, derived from text */
};

struct lesson_section {
    const char *name;    /* heading text as written; "" for the intro */
    enum lesson_section_kind kind;
    unsigned line_no;    /* line of the ## heading (intro: its first line) */
    struct lesson_item *items;
    size_t nitems;
};

/* A front matter key other than title, level and topic, in file order. */
struct lesson_meta {
    const char *key;
    const char *value;   /* quotes removed; may be "" */
    unsigned line_no;
};

struct lesson_error {
    unsigned line;       /* 1-based line of the problem; 0 when none applies */
    char message[LESSON_ERROR_MAX]; /* complete, e.g. "line 12: expected ..." */
};

struct lesson_block; /* the lesson's private string arena */

struct lesson {
    /* The title as written: front matter `title` when present and not
     * empty, else the `# ` heading's text.  Never NULL after a successful
     * parse (a lesson without either is an error). */
    const char *title;
    const char *title_plain;
    const char *heading;       /* the `# ` heading's text, or NULL */
    unsigned heading_line;     /* its line, 0 when none */
    const char *level;         /* front matter `level`, or NULL */
    const char *topic;         /* front matter `topic`, or NULL */
    struct lesson_meta *meta;  /* other front matter keys */
    size_t nmeta;
    struct lesson_section *sections;
    size_t nsections;
    const char **speakers;     /* distinct speakers, first appearance first */
    size_t nspeakers;
    unsigned nlines;           /* lines in the document */
    struct lesson_block *arena_;  /* private */
};

enum lesson_mode {
    LESSON_MODE_AUTO,      /* dialogue when there is a speaker line, else monologue */
    LESSON_MODE_DIALOGUE,  /* the speaker lines of the dialogue sections */
    LESSON_MODE_MONOLOGUE, /* the paragraphs of the reading sections */
};

/* One piece of speech, in lesson order.  Strings are borrowed from the
 * lesson (valid until lesson_free). */
struct lesson_segment {
    const char *speaker; /* dialogue: the speaker; monologue: NULL */
    const char *text;    /* plain text to speak, never empty */
    unsigned line_no;    /* line where it starts */
    size_t section;      /* index into lesson.sections */
    size_t item;         /* index into that section's items */
};

/* Parses src[0..len) (it need not be NUL-terminated) into *out.  Returns 0
 * on success: *out then owns everything it points to, release it with
 * lesson_free().  Returns -1 on malformed input or out of memory, with
 * err (may be NULL) set and *out left zeroed (lesson_free on it is a
 * no-op).  The rules are in docs/lesson-format.md. */
int lesson_parse(const char *src, size_t len, struct lesson *out,
                 struct lesson_error *err);

/* Frees everything the lesson owns and zeroes it; l may be NULL. */
void lesson_free(struct lesson *l);

/* The distinct speakers of the dialogue sections in order of first
 * appearance (the same array as l->speakers; borrowed).  *n gets the
 * count; n may be NULL. */
const char *const *lesson_speakers(const struct lesson *l, size_t *n);

/* "auto", "dialogue" or "monologue" (any case) into *out; 0, or -1 for
 * anything else, NULL included (*out untouched). */
int lesson_mode_parse(const char *s, enum lesson_mode *out);

/* "auto", "dialogue", "monologue" (static). */
const char *lesson_mode_name(enum lesson_mode m);

/* The mode lesson_segments() uses: DIALOGUE or MONOLOGUE as given; AUTO
 * becomes DIALOGUE when the lesson has at least one speaker line, else
 * MONOLOGUE. */
enum lesson_mode lesson_mode_resolve(const struct lesson *l, enum lesson_mode m);

/* "intro", "dialogue", "reading", "vocabulary", "exercises", "other". */
const char *lesson_section_kind_name(enum lesson_section_kind k);

/* The speech segments of l in mode (resolved as lesson_mode_resolve):
 * dialogue gives every speaker line of the dialogue sections, monologue
 * every paragraph of the reading sections whose plain text is not empty.
 * On success returns 0 with *out a malloc'd array of *n >= 1 segments
 * (caller frees it with free(); the strings stay the lesson's).  Returns
 * -1 with err set and *out = NULL, *n = 0 when there is nothing to speak
 * ("the lesson has nothing to speak in <mode> mode: ...") or out of
 * memory. */
int lesson_segments(const struct lesson *l, enum lesson_mode mode,
                    struct lesson_segment **out, size_t *n,
                    struct lesson_error *err);

/* The plain (speakable) form of the inline Markdown md[0..len), as used
 * for every item's `plain`: malloc'd, NUL-terminated, never longer than
 * len (caller frees); NULL on out of memory.  md should be valid UTF-8. */
char *lesson_plain(const char *md, size_t len);

#endif
