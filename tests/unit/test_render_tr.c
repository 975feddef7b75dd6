/* test_render_tr.c — the lesson page and manifest with translations
 * (render_lesson_html_tr, render_manifest_json's "translations";
 * docs/lesson-workflow.md "Translations"): translations sit under their
 * dialogue line and vocabulary entry, escaped, with lang=; the toggle is a
 * checkbox before <main>; without translations nothing changes. */
#define UNIT_MAIN
#include "unit.h"

#include "cJSON.h"
#include "domain/lesson.h"
#include "domain/render.h"

static const char LESSON[] =
    "# Market\n\n## Dialogue\n\nAna: Good morning.\nBen: (waves)\nBen: The cat.\n\n"
    "## Vocabulary\n\n- **apple** \xe2\x80\x94 a fruit\n- **house**: a home\n";

static size_t count(const char *s, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

TEST(translations_on_the_page_and_in_the_manifest)
{
    struct lesson l;
    CHECK_EQ_INT(lesson_parse(LESSON, sizeof LESSON - 1, &l, NULL), 0);
    size_t n = 0;
    for (size_t s = 0; s < l.nsections; s++)
        n += l.sections[s].nitems;
    const char **text = calloc(n, sizeof *text);
    CHECK(text != NULL);
    size_t dia = 0, voc = 0;
    for (size_t s = 0; s < l.nsections; s++) {
        if (l.sections[s].kind == LESSON_SECTION_DIALOGUE)
            dia = s;
        if (l.sections[s].kind == LESSON_SECTION_VOCABULARY)
            voc = s;
    }
    CHECK(dia != voc);
    text[render_item_index(&l, dia, 0)] = "Buenos <b>d\xc3\xad" "as</b> & \"ya\"";
    text[render_item_index(&l, dia, 2)] = "El gato.";
    text[render_item_index(&l, voc, 1)] = "casa";
    struct render_translations tr = {.to = "es", .pair = "eng-spa", .engine = "apertium",
                                     .text = text, .n = n, .tm_hits = 1};
    size_t len = 0;
    char *html = render_lesson_html_tr(&l, NULL, &tr, &len);
    CHECK(html != NULL && len == strlen(html));
    CHECK(strstr(html, "<span class=\"tr\" lang=\"es\">Buenos &lt;b&gt;d\xc3\xad" "as&lt;/b&gt; "
                       "&amp; &quot;ya&quot;</span>") != NULL);
    CHECK(strstr(html, "<span class=\"tr\" lang=\"es\">El gato.</span></p></li>") != NULL);
    CHECK(strstr(html, "</dd><dd class=\"tr\" lang=\"es\">casa</dd></div>") != NULL);
    CHECK_EQ_INT(count(html, "class=\"tr\""), 3);
    const char *box = strstr(html, "<input type=\"checkbox\" id=\"tr-toggle\"");
    const char *label = strstr(html, "<label for=\"tr-toggle\" class=\"tr-label\">"
                                     "Show translations (es)</label>");
    const char *main_ = strstr(html, "<main");
    CHECK(box && label && main_ && box < label && label < main_);
    CHECK(strstr(html, "<script") == NULL);   /* the toggle needs none */
    free(html);

    /* a tag that is no language tag gets no lang= (still escaped text) */
    tr.to = "x\"><script>";
    html = render_lesson_html_tr(&l, NULL, &tr, NULL);
    CHECK(html != NULL);
    CHECK(strstr(html, "<span class=\"tr\">El gato.</span>") != NULL);
    CHECK(strstr(html, "<script>") == NULL);
    free(html);
    tr.to = "es";

    struct render_manifest m = {.job_id = 3, .translations = &tr};
    char *json = render_manifest_json(&l, &m);
    CHECK(json != NULL);
    cJSON *doc = cJSON_Parse(json);
    free(json);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(doc, "translations");
    CHECK(cJSON_IsObject(t));
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(t, "to")->valuestring, "es");
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(t, "pair")->valuestring, "eng-spa");
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(t, "engine")->valuestring, "apertium");
    CHECK(cJSON_GetObjectItemCaseSensitive(t, "memoryHits")->valueint == 1);
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(t, "items");
    CHECK(cJSON_GetArraySize(items) == 3);
    const cJSON *last = cJSON_GetArrayItem(items, 2);
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(last, "text")->valuestring, "house");
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(last, "translation")->valuestring, "casa");
    CHECK(cJSON_GetObjectItemCaseSensitive(last, "section")->valueint == (int)voc);
    CHECK(cJSON_GetObjectItemCaseSensitive(last, "item")->valueint == 1);
    const cJSON *first = cJSON_GetArrayItem(items, 0);
    CHECK_STR_EQ(cJSON_GetObjectItemCaseSensitive(first, "text")->valuestring, "Good morning.");
    cJSON_Delete(doc);
    free(text);
    lesson_free(&l);
}

TEST(no_translations_no_change)
{
    struct lesson l;
    CHECK_EQ_INT(lesson_parse(LESSON, sizeof LESSON - 1, &l, NULL), 0);
    char *a = render_lesson_html(&l, NULL, NULL);
    char *b = render_lesson_html_tr(&l, NULL, NULL, NULL);
    CHECK(a && b);
    CHECK_STR_EQ(a, b);
    CHECK(strstr(a, "tr-toggle") == NULL && strstr(a, "class=\"tr\"") == NULL);
    free(a);
    free(b);
    struct render_manifest m = {.job_id = 3};
    char *json = render_manifest_json(&l, &m);
    CHECK(json != NULL && strstr(json, "\"translations\"") == NULL);
    free(json);
    lesson_free(&l);
}
