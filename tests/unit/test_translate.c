/* test_translate.c — unit tests for the pure translate code (src/domain/tr_*.c,
 * docs/translate.md): protection and restoration byte for byte, sentence splitting,
 * format detection, each format's round trip (a document written back with no
 * translation is the input, byte for byte), targets written with the right escaping
 * and wrapping, QA checks one by one, the glossary, and the reports' escaping. */
#define UNIT_MAIN
#include "unit.h"

#include <stdlib.h>
#include <string.h>

#include "domain/translate.h"

static char err[512];

/* Parses text as fmt into d (CHECKed by the caller through the return). */
static int parse(enum tr_format fmt, const char *text, struct tr_doc *d)
{
    err[0] = '\0';
    return tr_doc_parse(fmt, text, strlen(text), d, err, sizeof err);
}

/* fmt's document written back without translations is text itself. */
static void check_round_trip(enum tr_format fmt, const char *text, size_t want_segs)
{
    struct tr_doc d;
    if (parse(fmt, text, &d) != 0)
        FAIL("parse %s: %s", tr_format_name(fmt), err);
    size_t n = d.nsegs, len = 0;
    char *out = tr_doc_write(&d, &len);
    tr_doc_free(&d);
    if (!out)
        FAIL("write %s", tr_format_name(fmt));
    int same = strcmp(out, text) == 0 && len == strlen(text);
    if (!same) {
        unit_fail_(__FILE__, __LINE__, "%s round trip:\n%s\n---\n%s", tr_format_name(fmt), out,
                   text);
        free(out);
        return;
    }
    free(out);
    CHECK_EQ_INT(n, want_segs);
}

/* The index of the segment whose source is s, or -1. */
static int seg_index(const struct tr_doc *d, const char *s)
{
    for (size_t i = 0; i < d->nsegs; i++)
        if (strcmp(d->segs[i].source, s) == 0)
            return (int)i;
    return -1;
}

/* ---- protection ---------------------------------------------------------------- */

TEST(mask_keeps_code_urls_tags_placeholders_out_and_restores_them)
{
    const char *src = "Run `make x` at https://ex.com/a?b=1, see <b>{name}</b> %s %1$d "
                      "{{user}} %(count)d &amp; 50% off.";
    struct tr_masked m;
    CHECK(tr_mask(src, NULL, 0, &m) == 0);
    const char *want[] = {"`make x`", "https://ex.com/a?b=1", "<b>", "{name}", "</b>", "%s",
                          "%1$d", "{{user}}", "%(count)d", "&amp;"};
    CHECK_EQ_INT(m.nruns, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < m.nruns; i++)
        CHECK_STR_EQ(m.runs[i], want[i]);
    CHECK(strstr(m.text, "50% off.") != NULL);     /* "% o" is no placeholder */
    char *r = tr_masked_render(&m, "[@", "]", "[]\\^$/@<>{}");
    CHECK(r != NULL);
    CHECK(strstr(r, "Run [@0] at [@1], see [@2][@3][@4] [@5] [@6] [@7] [@8] [@9] 50% off.") ==
          r);
    /* the engine answers with the tokens moved; unmask restores the bytes */
    char *back = tr_unmask(&m, "Corre [@0] en [@1], ver [@2][@3][@4] [@5] [@6] [@7] [@8] [@9] "
                              "50\\% menos \\/ \\@", "[@", "]", "[]\\^$/@<>{}%");
    CHECK_STR_EQ(back, "Corre `make x` en https://ex.com/a?b=1, ver <b>{name}</b> %s %1$d "
                       "{{user}} %(count)d &amp; 50% menos / @");
    free(back);
    /* identity: masked text rendered and unmasked is the source */
    back = tr_unmask(&m, r, "[@", "]", "[]\\^$/@<>{}");
    CHECK_STR_EQ(back, src);
    free(back);
    /* a lost token stays lost (QA flags it) */
    back = tr_unmask(&m, "nothing", "[@", "]", NULL);
    CHECK_STR_EQ(back, "nothing");
    free(back);
    free(r);
    tr_masked_free(&m);
}

TEST(mask_uses_fixed_spans_and_merges_overlaps)
{
    const char *src = "**Bold** and `code`";
    struct tr_span fixed[] = {{0, 2}, {6, 8}, {13, 19}};
    struct tr_masked m;
    CHECK(tr_mask(src, fixed, 3, &m) == 0);
    CHECK_EQ_INT(m.nruns, 3);
    CHECK_STR_EQ(m.runs[0], "**");
    CHECK_STR_EQ(m.runs[2], "`code`");
    tr_masked_free(&m);
}

TEST(sentences_split_inside_blocks_but_not_abbreviations_or_numbers)
{
    const char *t = "Dr. Smith paid 3.50 euros. He left! Did he? Yes, e.g. today. "
                    "Look at `a. B` now.";
    struct tr_span keep[] = {{72, 78}};
    struct tr_span out[16];
    size_t n = tr_sentences(t, keep, 1, out, 16);
    CHECK_EQ_INT(n, 5);
    CHECK(strncmp(t + out[0].start, "Dr. Smith paid 3.50 euros.", out[0].end - out[0].start) ==
          0);
    CHECK_EQ_INT(out[0].end - out[0].start, strlen("Dr. Smith paid 3.50 euros."));
    CHECK(strncmp(t + out[3].start, "Yes, e.g. today.", out[3].end - out[3].start) == 0);
    CHECK(strncmp(t + out[4].start, "Look at `a. B` now.", out[4].end - out[4].start) == 0);
    CHECK_EQ_INT(tr_sentences("   \n ", NULL, 0, out, 16), 0);
}

/* ---- formats --------------------------------------------------------------------- */

TEST(detects_formats_by_content_then_name)
{
    CHECK_EQ_INT(tr_format_detect("a.txt", "WEBVTT\n\n", 8), TR_FMT_VTT);
    const char *srt = "1\n00:00:01,000 --> 00:00:02,000\nHi\n";
    CHECK_EQ_INT(tr_format_detect("x", srt, strlen(srt)), TR_FMT_SRT);
    const char *po = "msgid \"a\"\nmsgstr \"\"\n";
    CHECK_EQ_INT(tr_format_detect("x.txt", po, strlen(po)), TR_FMT_PO);
    const char *xl = "<?xml version=\"1.0\"?>\n<xliff version=\"2.0\"/>";
    CHECK_EQ_INT(tr_format_detect("x", xl, strlen(xl)), TR_FMT_XLIFF);
    CHECK_EQ_INT(tr_format_detect("notes.md", "Hello.", 6), TR_FMT_MD);
    CHECK_EQ_INT(tr_format_detect("notes.txt", "# Hello.", 8), TR_FMT_TXT);
    CHECK_EQ_INT(tr_format_detect(NULL, "Hello.", 6), TR_FMT_TXT);
    CHECK_EQ_INT(tr_format_from_name("po"), TR_FMT_PO);
    CHECK_EQ_INT(tr_format_from_name("doc"), -1);
}

static const char MD[] =
    "# The title\n\n"
    "A first sentence. Run `make install` then see [the docs](https://x.org/a_b).\n\n"
    "- Send it to {name}.\n"
    "- **Bold** words here.\n\n"
    "```c\nprintf(\"This is code.\");\n```\n\n"
    "    indented code. Not translated.\n\n"
    "> A quote that spans\n> two lines.\n\n"
    "| Col | Other |\n|-----|-------|\n| One cell | Two cell |\n\n"
    "<div>\nAn HTML block.\n</div>\n";

TEST(markdown_round_trip_and_segments)
{
    check_round_trip(TR_FMT_MD, MD, 10);
    struct tr_doc d;
    CHECK(parse(TR_FMT_MD, MD, &d) == 0);
    CHECK(seg_index(&d, "The title") >= 0);
    CHECK(seg_index(&d, "A first sentence.") >= 0);
    int run = seg_index(&d, "Run `make install` then see [the docs](https://x.org/a_b).");
    CHECK(run >= 0);
    CHECK(d.nkeep[run] >= 2);          /* the backticks+code and the link syntax */
    CHECK(seg_index(&d, "A quote that spans\n> two lines.") >= 0);
    CHECK(seg_index(&d, "One cell") >= 0 && seg_index(&d, "Two cell") >= 0);
    for (size_t i = 0; i < d.nsegs; i++) {
        CHECK(strstr(d.segs[i].source, "code") == NULL || i == (size_t)run);
        CHECK(strstr(d.segs[i].source, "HTML block") == NULL);
        CHECK_STR_EQ(d.segs[i].meta, "md");
        CHECK_EQ_INT(d.segs[i].n, (int)i + 1);
    }
    /* the quote's second line prefix is syntax the engine never sees */
    int q = seg_index(&d, "A quote that spans\n> two lines.");
    struct tr_masked m;
    CHECK(tr_mask(d.segs[q].source, d.keep[q], d.nkeep[q], &m) == 0);
    CHECK(strstr(m.text, ">") == NULL);
    tr_masked_free(&m);
    /* targets go in place; everything else stays */
    d.segs[seg_index(&d, "The title")].target = strdup("El título");
    char *out = tr_doc_write(&d, NULL);
    CHECK(out && strncmp(out, "# El título\n\nA first sentence.", 29) == 0);
    CHECK(strstr(out, "```c\nprintf(\"This is code.\");\n```\n") != NULL);
    free(out);
    tr_doc_free(&d);
}

TEST(plain_text_round_trip)
{
    check_round_trip(TR_FMT_TXT, "One. Two here.\nStill two.\n\n\nThree!\n", 4);
    check_round_trip(TR_FMT_TXT, "", 0);
    check_round_trip(TR_FMT_TXT, "12 34\n\n--\n", 0);
}

static const char SRT[] =
    "1\r\n00:00:01,000 --> 00:00:02,500\r\nHello there.\r\n\r\n"
    "2\n00:00:03,000 --> 00:00:04,000\n<i>Two lines</i>\nof text.\n\n"
    "3\n00:00:05,000 --> 00:00:06,000\n...\n";

TEST(subrip_round_trip_timings_and_wrapping)
{
    struct tr_doc d;
    CHECK(parse(TR_FMT_SRT, SRT, &d) == 0);
    CHECK_EQ_INT(d.nsegs, 2);
    CHECK_STR_EQ(d.segs[0].source, "Hello there.");
    CHECK_STR_EQ(d.segs[1].source, "<i>Two lines</i> of text.");
    d.segs[0].target = strdup("Hola.");
    d.segs[1].target = strdup("<i>Dos líneas</i> de un texto bastante más largo que el "
                              "original en español.");
    char *out = tr_doc_write(&d, NULL);
    CHECK(out != NULL);
    CHECK(strstr(out, "1\r\n00:00:01,000 --> 00:00:02,500\r\nHola.\r\n\r\n2\n"
                      "00:00:03,000 --> 00:00:04,000\n<i>Dos") != NULL);
    CHECK(strstr(out, "3\n00:00:05,000 --> 00:00:06,000\n...\n") != NULL);
    /* the long target is wrapped into lines of at most 42 characters */
    const char *t = strstr(out, "<i>Dos");
    for (const char *l = t; l && *l && strncmp(l, "\n\n", 2) != 0;) {
        const char *nl = strchr(l, '\n');
        size_t chars = 0;
        for (const char *p = l; p < (nl ? nl : l + strlen(l)); p++)
            chars += ((unsigned char)*p & 0xC0) != 0x80;
        CHECK(chars <= 42);
        l = nl ? nl + 1 : NULL;
    }
    free(out);
    tr_doc_free(&d);
    check_round_trip(TR_FMT_SRT, "1\n00:00:01,000 --> 00:00:02,000\nHi you.\n", 1);
    CHECK(parse(TR_FMT_SRT, "1\nnot a timing\nHi\n", &d) == -1);
    CHECK(strstr(err, "line 1") != NULL);
}

TEST(webvtt_round_trip_keeps_header_notes_and_settings)
{
    const char *vtt = "WEBVTT - a title\n\nNOTE a note\nthat spans.\n\nSTYLE\n::cue {}\n\n"
                      "id-1\n00:01.000 --> 00:02.000 align:start\nFirst cue.\n\n"
                      "00:03.000 --> 00:04.000\nSecond cue\nwith two lines.\n";
    check_round_trip(TR_FMT_VTT, vtt, 2);
    struct tr_doc d;
    CHECK(parse(TR_FMT_VTT, vtt, &d) == 0);
    CHECK_STR_EQ(d.segs[1].source, "Second cue with two lines.");
    tr_doc_free(&d);
}

static const char PO[] =
    "# header comment\n"
    "msgid \"\"\nmsgstr \"\"\n\"Plural-Forms: nplurals=2; plural=(n != 1);\\n\"\n\n"
    "#: a.c:1\nmsgid \"Say \\\"hi\\\".\"\nmsgstr \"\"\n\n"
    "msgctxt \"menu\"\nmsgid \"One file\"\nmsgid_plural \"%d files\"\nmsgstr[0] \"\"\n"
    "msgstr[1] \"\"\n\n"
    "#, fuzzy\nmsgid \"Old one.\"\nmsgstr \"Viejo.\"\n\n"
    "#~ msgid \"Gone.\"\n#~ msgstr \"Ido.\"\n";

TEST(po_parses_plurals_fuzzy_obsolete_and_escapes_targets)
{
    struct tr_doc d;
    CHECK(parse(TR_FMT_PO, PO, &d) == 0);
    CHECK_EQ_INT(d.nsegs, 4);
    CHECK_STR_EQ(d.segs[0].source, "Say \"hi\".");
    CHECK_STR_EQ(d.segs[1].source, "One file");
    CHECK_STR_EQ(d.segs[2].source, "%d files");
    CHECK_STR_EQ(d.segs[3].source, "Old one.");
    d.segs[0].target = strdup("Di \"hola\".\nY\tmás\\");
    d.segs[1].target = strdup("Un archivo");
    d.segs[2].target = strdup("%d archivos");
    d.segs[3].target = strdup("Uno viejo.");
    char *out = tr_doc_write(&d, NULL);
    CHECK(out != NULL);
    CHECK(strstr(out, "msgid \"Say \\\"hi\\\".\"\nmsgstr \"\"\n\"Di \\\"hola\\\".\\n\"\n"
                      "\"Y\\tmás\\\\\"\n\n") != NULL);
    CHECK(strstr(out, "msgstr[0] \"Un archivo\"\nmsgstr[1] \"%d archivos\"\n") != NULL);
    CHECK(strstr(out, "#, fuzzy\nmsgid \"Old one.\"\nmsgstr \"Uno viejo.\"\n") != NULL);
    CHECK(strstr(out, "#~ msgid \"Gone.\"\n#~ msgstr \"Ido.\"\n") != NULL);
    CHECK(strncmp(out, PO, strlen("# header comment\nmsgid \"\"\nmsgstr \"\"\n")) == 0);
    free(out);
    tr_doc_free(&d);
    check_round_trip(TR_FMT_PO, "msgid \"\"\nmsgstr \"H: v\\n\"\n\n#~ msgid \"A.\"\n", 0);
    CHECK(parse(TR_FMT_PO, "msgid \"a\"\nbogus\n", &d) == -1);
    CHECK(strstr(err, "line 2") != NULL);
}

TEST(xliff_fills_targets_with_inline_elements_and_states)
{
    const char *x2 =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        "<xliff xmlns=\"urn:oasis:names:tc:xliff:document:2.0\" version=\"2.0\" srcLang=\"en\">"
        "<file id=\"f\"><unit id=\"1\"><segment><source>A <pc id=\"1\">b</pc> &amp; c."
        "</source></segment></unit><unit id=\"2\" translate=\"no\"><segment><source>No."
        "</source></segment></unit><unit id=\"3\"><segment><source><ph id=\"2\"/></source>"
        "</segment></unit></file></xliff>";
    struct tr_doc d;
    CHECK(parse(TR_FMT_XLIFF, x2, &d) == 0);
    CHECK_EQ_INT(d.nsegs, 1);
    CHECK_STR_EQ(d.segs[0].source, "A <pc id=\"1\">b</pc> &amp; c.");
    CHECK_EQ_INT(d.nkeep[0], 1);
    d.segs[0].target = strdup("Un <pc id=\"1\">be</pc> &amp; ce.");
    snprintf(d.segs[0].state, sizeof d.segs[0].state, "reviewed");
    char *out = tr_doc_write(&d, NULL);
    CHECK(out != NULL);
    CHECK(strstr(out, "<segment state=\"reviewed\"><source>A <pc id=\"1\">b</pc> &amp; c."
                      "</source><target>Un <pc id=\"1\">be</pc> &amp; ce.</target>") != NULL);
    free(out);
    tr_doc_free(&d);
    /* a target that is not well-formed XML goes in as escaped text */
    CHECK(parse(TR_FMT_XLIFF, x2, &d) == 0);
    d.segs[0].target = strdup("a < b");
    out = tr_doc_write(&d, NULL);
    CHECK(out && strstr(out, "<target>a &lt; b</target>") != NULL);
    free(out);
    tr_doc_free(&d);
    CHECK(parse(TR_FMT_XLIFF, "<xliff version=\"3.0\"/>", &d) == -1);
    CHECK(parse(TR_FMT_XLIFF, "<xliff version=\"2.0\"><unclosed>", &d) == -1);
    CHECK(strstr(err, "XLIFF") != NULL);
    CHECK(parse(TR_FMT_XLIFF, "<html version=\"2.0\"/>", &d) == -1);
}

/* ---- QA --------------------------------------------------------------------------- */

static void check_flags(const char *src, const char *tgt, const struct tr_glossary *g,
                        const char *want)
{
    char *f = tr_qa_segment(src, tgt, g);
    CHECK_STR_EQ(f, want);
    free(f);
}

TEST(qa_checks_one_by_one)
{
    check_flags("The cat is black.", "El gato es negro.", NULL, "[]");
    check_flags("The cat is black.", "  ", NULL, "[\"empty\"]");
    check_flags("The cat is black.", "The cat is black.", NULL, "[\"untranslated\"]");
    check_flags("12:30", "12:30", NULL, "[]");                 /* no letters */
    check_flags("I have 3 cats.", "Tengo 4 gatos.", NULL, "[\"number\"]");
    check_flags("It costs 1,000.50 now.", "Cuesta 1.000,50 ahora.", NULL, "[]");
    check_flags("Hello {name}, %s!", "Hola %s!", NULL, "[\"placeholder\"]");
    check_flags("Hello {name}, %s!", "¡%s, hola {name}!", NULL, "[]");
    check_flags("A <b>bold</b> word.", "Una palabra negrita.", NULL, "[\"tag\"]");
    check_flags("See https://a.org/x now.", "Ver https://a.org/y ahora.", NULL, "[\"url\"]");
    check_flags("A rather long sentence here.", "Sí.", NULL, "[\"length\"]");
    check_flags("Short.", "Una frase muchísimo más larga que la original.", NULL, "[]");
    struct tr_glossary g;
    CHECK(tr_glossary_parse("# comment\n\ndashboard\tpanel\nCat\tgato\textra col\n", &g, err,
                            sizeof err) == 0);
    CHECK_EQ_INT(g.n, 2);
    check_flags("Open the dashboard.", "Abre el tablero.", &g, "[\"glossary\"]");
    check_flags("Open the Dashboard.", "Abre el Panel.", &g, "[]");
    check_flags("The cats sleep.", "Los felinos duermen.", &g, "[]");   /* word boundary */
    check_flags("I have 3 cats {x}.", "", &g, "[\"empty\"]");
    check_flags("3 {x} dashboard", "4 tablero", &g,
                "[\"number\",\"placeholder\",\"glossary\"]");
    tr_glossary_free(&g);
    CHECK(tr_glossary_parse("no tab here\n", &g, err, sizeof err) == -1);
    CHECK(strstr(err, "line 1") != NULL);
    CHECK(tr_glossary_parse("a\t \n", &g, err, sizeof err) == -1);
    CHECK(tr_glossary_load("/nonexistent/g.tsv", &g, err, sizeof err) == -1);
}

/* ---- reports --------------------------------------------------------------------- */

TEST(reports_escape_everything_and_count)
{
    struct tr_seg s[2] = {
        {.n = 1, .source = "<script>alert(1)</script> & \"q\"", .target = "x < y",
         .origin = "mt", .state = "translated", .flags = "[\"tag\"]"},
        {.n = 2, .source = "Fine.", .target = NULL, .origin = "tm", .state = "reviewed",
         .flags = "[]"},
    };
    struct tr_run_info ri = {"apertium", "eng-spa", "a<b>.md", TR_FMT_MD, false};
    char *x = tr_write_bilingual(&ri, s, 2);
    CHECK(x && strstr(x, "<source>&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;"
                         "</source>") != NULL);
    CHECK(strstr(x, "state=\"initial\"") != NULL && strstr(x, "<target>x &lt; y</target>"));
    CHECK(strstr(x, "srcLang=\"eng\" trgLang=\"spa\"") != NULL);
    free(x);
    char *h = tr_write_report_html(&ri, s, 2);
    CHECK(h && strstr(h, "<script>") == NULL && strstr(h, "a&lt;b&gt;.md") != NULL);
    CHECK(strstr(h, "<span class=\"flag\">tag</span>") != NULL);
    free(h);
    char *q = tr_write_qa_json(s, 2);
    CHECK(q && strstr(q, "\"flagged\":\t1") != NULL && strstr(q, "\"tag\":\t1") != NULL);
    free(q);
    char *m = tr_write_manifest(&ri, s, 2, "a<b>.spa.md");
    CHECK(m && strstr(m, "\"tmHits\":\t1") != NULL && strstr(m, "\"reviewed\":\t1") != NULL);
    CHECK(strstr(m, "\"outputs\":\t[\"a<b>.spa.md\", \"bilingual.xlf\"") != NULL);
    free(m);
}
