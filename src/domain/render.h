/* render.h — the lesson workflow's render and manifest steps
 * (docs/lesson-workflow.md, steps 3 and 6): a parsed lesson becomes a self-contained HTML page
 * (lesson.html) with its two static companions (lesson.css, lesson.js,
 * written next to it as artifacts and referenced relatively, so the page
 * needs no inline script or style and makes no request outside its own
 * directory), and manifest.json.  Pure: no I/O, no globals, thread-safe.
 *
 * Everything taken from the lesson is HTML-escaped (& < > " '), in text
 * and in attributes.  Inline Markdown in lesson text is rendered by a small
 * safe subset: **strong**, __strong__, *em*, _em_, `code`, \-escapes and
 * [text](url) links whose url is http(s) or relative (anything else stays
 * text).  Raw HTML in a lesson is never interpreted: it shows as text. */
#ifndef BB_RENDER_H
#define BB_RENDER_H

#include <stddef.h>
#include <stdint.h>

#include "domain/lesson.h"

#define RENDER_OUTPUT_MAX (64u * 1024u * 1024u) /* cap on one rendered page */

/* Where one speech segment lies in the lesson audio.  section/item index
 * the lesson (lesson.sections[section].items[item]); speaker may be NULL. */
struct render_timing {
    size_t section, item;
    int64_t start_ms, end_ms;
    const char *speaker;
};

struct render_audio {
    const char *wav_name; /* sibling file, e.g. "lesson.wav"; NULL: no audio */
    const struct render_timing *timings; /* may be NULL when ntimings is 0 */
    size_t ntimings;
};

/* Translations of a lesson's lines (a lesson preset's translateTo,
 * docs/lesson-workflow.md "Translations"): text[k] translates item k in
 * lesson order (the items of section 0, then of section 1, ...; n items
 * in all), NULL for an item without one.  The page shows them under
 * dialogue speech lines and vocabulary entries, behind a toggle. */
struct render_translations {
    const char *to;              /* the target language ("es"): label and lang= */
    const char *pair, *engine;   /* for the manifest (NULL -> null) */
    const char *const *text;     /* per flat item (borrowed) */
    size_t n;
    int tm_hits;                 /* lines the translation memory answered */
};

/* The flat index of l's item `item` of section `section` (the index into
 * render_translations.text). */
size_t render_item_index(const struct lesson *l, size_t section, size_t item);

/* render_lesson_html with translations (tr may be NULL: none).  With
 * translations, a checkbox "Show translations" (checked, keyboard
 * reachable, no script needed: CSS hides them when unchecked) comes
 * before <main>, and each translated line carries
 * <span class="tr" lang=TO> (dialogue) or <dd class="tr" lang=TO>
 * (vocabulary) with the escaped text. */
char *render_lesson_html_tr(const struct lesson *l, const struct render_audio *audio,
                            const struct render_translations *tr, size_t *len);

/* The page for l.  audio may be NULL (no audio).  With audio, the page has
 * one <audio id="lesson-audio" controls preload="metadata" src=wav_name>,
 * references lesson.js, and every item named by a valid timing (indexes in
 * range, 0 <= start_ms <= end_ms; the first of duplicates wins; others are
 * ignored) gets <button type="button" class="play" data-start=MS
 * data-end=MS aria-label="Play line N"> (N counts buttons from 1 in page
 * order).  Always references lesson.css.  Returns a malloc'd
 * NUL-terminated UTF-8 document (caller frees) with its length in *len (len
 * may be NULL), or NULL on out of memory or when the page would exceed
 * RENDER_OUTPUT_MAX. */
char *render_lesson_html(const struct lesson *l,
                         const struct render_audio *audio, size_t *len);

/* The static stylesheet and script the page references as "lesson.css"
 * and "lesson.js".  Each returns a malloc'd NUL-terminated copy (caller
 * frees) with its length in *len (may be NULL), or NULL on out of memory. */
char *render_lesson_css(size_t *len);
char *render_lesson_js(size_t *len);

struct render_artifact {
    const char *name;
    int64_t size;
    const char *sha256, *content_type, *url; /* each may be NULL (-> null) */
};

struct render_manifest {
    int64_t job_id;
    const char *preset, *mode, *voice_accent, *created_at; /* NULL -> null */
    const struct render_artifact *artifacts;
    size_t nartifacts;
    const struct render_timing *timings;
    size_t ntimings;
    const char *const *segment_files; /* per timing, may be NULL, entries too */
    const char *notion_url;           /* NULL -> null */
    /* NULL: no "translations" member */
    const struct render_translations *translations;
};

/* manifest.json for l and m, pretty-printed:
 *   {"lesson": {"title" (plain text), "level", "topic", "speakers": [..],
 *               "sections": [{"name", "kind"}]},
 *    "job": {"jobId" (a decimal string, as in the job DTO), "preset", "mode",
 *            "voiceAccent", "createdAt"},
 *    "artifacts": [{"name", "size", "sha256", "contentType", "url"}],
 *    "segments": [{"index" (0-based, timing order), "section", "item",
 *                  "speaker", "text" (the item's plain text), "startMs",
 *                  "endMs", "file"}],
 *    "notionUrl": null | "...",
 *    "translations": {"to", "pair", "engine", "memoryHits",
 *                     "items": [{"section", "item", "text", "translation"}]}}
 *                     (only with m->translations)
 * A missing string is null; a timing whose indexes name no item gets
 * "text": null.  Returns a malloc'd NUL-terminated string (caller frees
 * with free()), or NULL on out of memory. */
char *render_manifest_json(const struct lesson *l,
                           const struct render_manifest *m);

#endif
