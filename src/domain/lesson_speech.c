/* lesson_speech.c — what a parsed lesson says aloud: its speakers, the
 * speech modes and the segments the TTS step speaks
 * (docs/lesson-workflow.md).  No I/O. */
#include "domain/lesson.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "domain/lesson_int.h"

const char *const *lesson_speakers(const struct lesson *l, size_t *n)
{
    if (n != NULL)
        *n = l->nspeakers;
    return (const char *const *)l->speakers;
}

/* The modes' names, indexed by enum lesson_mode. */
static const char *const MODE_NAMES[] = {
    [LESSON_MODE_AUTO] = "auto",
    [LESSON_MODE_DIALOGUE] = "dialogue",
    [LESSON_MODE_MONOLOGUE] = "monologue",
};
#define NMODES (sizeof MODE_NAMES / sizeof MODE_NAMES[0])

int lesson_mode_parse(const char *s, enum lesson_mode *out)
{
    if (s == NULL)
        return -1;
    size_t n = strlen(s);
    for (size_t m = 0; m < NMODES; m++)
        if (ieq(s, n, MODE_NAMES[m])) {
            *out = (enum lesson_mode)m;
            return 0;
        }
    return -1;
}

const char *lesson_mode_name(enum lesson_mode m)
{
    return (size_t)m < NMODES ? MODE_NAMES[m] : "auto";
}

const char *lesson_section_kind_name(enum lesson_section_kind k)
{
    switch (k) {
    case LESSON_SECTION_INTRO:
        return "intro";
    case LESSON_SECTION_DIALOGUE:
        return "dialogue";
    case LESSON_SECTION_READING:
        return "reading";
    case LESSON_SECTION_VOCABULARY:
        return "vocabulary";
    case LESSON_SECTION_EXERCISES:
        return "exercises";
    case LESSON_SECTION_OTHER:
        return "other";
    }
    return "other";
}

/* True if item it is spoken in the resolved mode m. */
static bool spoken(const struct lesson_section *sec,
                   const struct lesson_item *it, enum lesson_mode m)
{
    if (m == LESSON_MODE_DIALOGUE)
        return sec->kind == LESSON_SECTION_DIALOGUE &&
               it->kind == LESSON_ITEM_SPEECH;
    return sec->kind == LESSON_SECTION_READING &&
           it->kind == LESSON_ITEM_PARAGRAPH && it->plain[0] != '\0';
}

enum lesson_mode lesson_mode_resolve(const struct lesson *l,
                                     enum lesson_mode m)
{
    if (m != LESSON_MODE_AUTO)
        return m;
    for (size_t s = 0; s < l->nsections; s++)
        for (size_t i = 0; i < l->sections[s].nitems; i++)
            if (spoken(&l->sections[s], &l->sections[s].items[i],
                       LESSON_MODE_DIALOGUE))
                return LESSON_MODE_DIALOGUE;
    return LESSON_MODE_MONOLOGUE;
}

int lesson_segments(const struct lesson *l, enum lesson_mode mode,
                    struct lesson_segment **out, size_t *n,
                    struct lesson_error *err)
{
    enum lesson_mode m = lesson_mode_resolve(l, mode);
    struct lesson_segment *seg;
    size_t count = 0, k = 0;

    *out = NULL;
    *n = 0;
    for (size_t s = 0; s < l->nsections; s++)
        for (size_t i = 0; i < l->sections[s].nitems; i++)
            count += spoken(&l->sections[s], &l->sections[s].items[i], m);
    if (count == 0) {
        const char *why =
            mode == LESSON_MODE_DIALOGUE
                ? "no `Speaker: text` line in a ## Dialogue section"
            : mode == LESSON_MODE_MONOLOGUE
                ? "no paragraph in a ## Reading section"
                : "no `Speaker: text` line in a ## Dialogue section and no "
                  "paragraph in a ## Reading section";

        return lesson_set_error(err, 0, "the lesson has nothing to speak in %s "
                                 "mode: %s",
                         lesson_mode_name(mode), why);
    }
    seg = malloc(count * sizeof *seg);
    if (seg == NULL)
        return lesson_set_error(err, 0, "out of memory");
    for (size_t s = 0; s < l->nsections; s++)
        for (size_t i = 0; i < l->sections[s].nitems; i++) {
            const struct lesson_item *it = &l->sections[s].items[i];

            if (!spoken(&l->sections[s], it, m))
                continue;
            seg[k].speaker = m == LESSON_MODE_DIALOGUE ? it->speaker : NULL;
            seg[k].text = it->plain;
            seg[k].line_no = it->line_no;
            seg[k].section = s;
            seg[k].item = i;
            k++;
        }
    *out = seg;
    *n = count;
    return 0;
}
