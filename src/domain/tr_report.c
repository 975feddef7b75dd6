/* tr_report.c — the translate workflow's reports (docs/translate.md,
 * "Outputs"): bilingual.xlf (XLIFF 2.0 with segment states), qa.json,
 * report.html (self-contained, every text escaped) and manifest.json.
 * Pure: builds strings from the caller's segments. */
#include "domain/translate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cJSON.h"
#include "domain/tr_int.h"

#define REPORT_CAP ((size_t)256 << 20)

static const char *const CHECKS[] = {
    "empty", "untranslated", "number", "placeholder", "tag", "url", "length", "glossary", NULL,
};

int tr_xml_escape(buf *b, const char *s)
{
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; p && *p && rc == 0; p++) {
        switch (*p) {
        case '&': rc = buf_puts(b, "&amp;"); break;
        case '<': rc = buf_puts(b, "&lt;"); break;
        case '>': rc = buf_puts(b, "&gt;"); break;
        case '"': rc = buf_puts(b, "&quot;"); break;
        case '\'': rc = buf_puts(b, "&#39;"); break;
        default:
            /* XML 1.0 allows no control characters but tab, LF and CR */
            if (*p >= 0x20 || *p == '\t' || *p == '\n' || *p == '\r')
                rc = buf_append(b, p, 1);
        }
    }
    return rc;
}

static const char *target_state(const struct tr_seg *s)
{
    if (!s->target)
        return "initial";
    return strcmp(s->state, "reviewed") == 0 ? "reviewed" : "translated";
}

/* The two language halves of pair "eng-spa" into src/tgt. */
static void split_pair(const char *pair, char *src, char *tgt, size_t cap)
{
    const char *dash = pair ? strchr(pair, '-') : NULL;
    snprintf(src, cap, "%.*s", dash ? (int)(dash - pair) : 3, pair ? pair : "und");
    snprintf(tgt, cap, "%s", dash ? dash + 1 : "und");
}

char *tr_write_bilingual(const struct tr_run_info *ri, const struct tr_seg *s, size_t n)
{
    char sl[64], tl[64];
    split_pair(ri->pair, sl, tl, sizeof sl);
    buf b;
    buf_init(&b, REPORT_CAP);
    int rc = buf_puts(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                          "<xliff xmlns=\"urn:oasis:names:tc:xliff:document:2.0\" "
                          "version=\"2.0\" srcLang=\"");
    rc = rc ? rc : tr_xml_escape(&b, sl);
    rc = rc ? rc : buf_puts(&b, "\" trgLang=\"");
    rc = rc ? rc : tr_xml_escape(&b, tl);
    rc = rc ? rc : buf_puts(&b, "\">\n  <file id=\"f1\" original=\"");
    rc = rc ? rc : tr_xml_escape(&b, ri->input_name ? ri->input_name : "input");
    rc = rc ? rc : buf_puts(&b, "\">\n");
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = buf_printf(&b, "    <unit id=\"u%d\">\n      <segment id=\"s%d\" state=\"%s\">\n"
                            "        <source>", s[i].n, s[i].n, target_state(&s[i]));
        rc = rc ? rc : tr_xml_escape(&b, s[i].source);
        rc = rc ? rc : buf_puts(&b, "</source>\n");
        if (s[i].target) {
            rc = rc ? rc : buf_puts(&b, "        <target>");
            rc = rc ? rc : tr_xml_escape(&b, s[i].target);
            rc = rc ? rc : buf_puts(&b, "</target>\n");
        }
        rc = rc ? rc : buf_puts(&b, "      </segment>\n    </unit>\n");
    }
    rc = rc ? rc : buf_puts(&b, "  </file>\n</xliff>\n");
    char *r = rc == 0 ? buf_take(&b) : NULL;
    buf_free(&b);
    return r;
}

/* Whether flags (JSON array text) holds anything. */
static bool flagged(const struct tr_seg *s)
{
    return s->flags && strcmp(s->flags, "[]") != 0;
}

/* counts[i] += 1 for each check of CHECKS in s's flags. */
static void count_flags(const struct tr_seg *s, size_t *counts)
{
    for (size_t c = 0; CHECKS[c]; c++) {
        char quoted[32];
        snprintf(quoted, sizeof quoted, "\"%s\"", CHECKS[c]);
        if (s->flags && strstr(s->flags, quoted))
            counts[c]++;
    }
}

static cJSON *counts_object(const struct tr_seg *s, size_t n, size_t *nflagged)
{
    size_t counts[16] = {0};
    *nflagged = 0;
    for (size_t i = 0; i < n; i++) {
        count_flags(&s[i], counts);
        *nflagged += flagged(&s[i]);
    }
    cJSON *o = cJSON_CreateObject();
    for (size_t c = 0; o && CHECKS[c]; c++)
        if (!cJSON_AddNumberToObject(o, CHECKS[c], (double)counts[c])) {
            cJSON_Delete(o);
            return NULL;
        }
    return o;
}

char *tr_write_qa_json(const struct tr_seg *s, size_t n)
{
    size_t nf = 0;
    cJSON *root = cJSON_CreateObject(), *items = cJSON_CreateArray();
    cJSON *counts = counts_object(s, n, &nf);
    bool ok = root && items && counts;
    ok = ok && cJSON_AddNumberToObject(root, "segments", (double)n) &&
         cJSON_AddNumberToObject(root, "flagged", (double)nf);
    if (ok) {
        cJSON_AddItemToObject(root, "counts", counts);
        counts = NULL;
        cJSON_AddItemToObject(root, "items", items);
        items = NULL;
    }
    cJSON *arr = ok ? cJSON_GetObjectItemCaseSensitive(root, "items") : NULL;
    for (size_t i = 0; ok && i < n; i++) {
        if (!flagged(&s[i]))
            continue;
        cJSON *it = cJSON_CreateObject(), *fl = cJSON_Parse(s[i].flags);
        ok = it && fl && cJSON_AddNumberToObject(it, "n", s[i].n);
        if (ok) {
            cJSON_AddItemToObject(it, "flags", fl);
            fl = NULL;
            ok = cJSON_AddStringToObject(it, "source", s[i].source) &&
                 cJSON_AddStringToObject(it, "target", s[i].target ? s[i].target : "");
        }
        cJSON_Delete(fl);
        if (ok)
            cJSON_AddItemToArray(arr, it);
        else
            cJSON_Delete(it);
    }
    char *r = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    cJSON_Delete(items);
    cJSON_Delete(counts);
    return r;
}

static int html_text(buf *b, const char *s)
{
    return tr_xml_escape(b, s ? s : "");
}

char *tr_write_report_html(const struct tr_run_info *ri, const struct tr_seg *s, size_t n)
{
    size_t nf = 0;
    for (size_t i = 0; i < n; i++)
        nf += flagged(&s[i]);
    buf b;
    buf_init(&b, REPORT_CAP);
    int rc = buf_puts(&b,
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        "<title>Translation report: ");
    rc = rc ? rc : html_text(&b, ri->input_name);
    rc = rc ? rc : buf_puts(&b,
        "</title>\n<style>\n"
        "body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}\n"
        "table{border-collapse:collapse;width:100%}\n"
        "th,td{border:1px solid #ccc;padding:.4rem .6rem;vertical-align:top;text-align:left;"
        "white-space:pre-wrap;overflow-wrap:anywhere}\n"
        "th{background:#f1f1f1}\n"
        "tr.flagged td{background:#fff4e0}\n"
        ".flag{display:inline-block;background:#b3261e;color:#fff;border-radius:3px;"
        "padding:0 .35rem;margin:0 .2rem .2rem 0;font-size:13px}\n"
        ".origin{color:#555;font-size:13px}\n"
        "</style></head><body>\n<h1>Translation report</h1>\n<p>");
    rc = rc ? rc : html_text(&b, ri->input_name);
    rc = rc ? rc : buf_puts(&b, " · ");
    rc = rc ? rc : html_text(&b, ri->engine);
    rc = rc ? rc : buf_puts(&b, " · ");
    rc = rc ? rc : html_text(&b, ri->pair);
    rc = rc ? rc : buf_printf(&b, " · %zu segments, %zu flagged%s</p>\n", n, nf,
                              ri->rebuild ? " · rebuilt from reviewed segments" : "");
    rc = rc ? rc : buf_puts(&b, "<table>\n<thead><tr><th>#</th><th>Source</th><th>Target</th>"
                                "<th>QA</th></tr></thead>\n<tbody>\n");
    for (size_t i = 0; i < n && rc == 0; i++) {
        bool f = flagged(&s[i]);
        rc = buf_printf(&b, "<tr id=\"s%d\"%s><td>%d<br><span class=\"origin\">", s[i].n,
                        f ? " class=\"flagged\"" : "", s[i].n);
        rc = rc ? rc : html_text(&b, s[i].origin);
        rc = rc ? rc : buf_puts(&b, "</span></td><td>");
        rc = rc ? rc : html_text(&b, s[i].source);
        rc = rc ? rc : buf_puts(&b, "</td><td>");
        rc = rc ? rc : html_text(&b, s[i].target);
        rc = rc ? rc : buf_puts(&b, "</td><td>");
        cJSON *fl = f ? cJSON_Parse(s[i].flags) : NULL;
        for (cJSON *e = fl ? fl->child : NULL; e && rc == 0; e = e->next) {
            rc = buf_puts(&b, "<span class=\"flag\">");
            rc = rc ? rc : html_text(&b, cJSON_IsString(e) ? e->valuestring : "?");
            rc = rc ? rc : buf_puts(&b, "</span>");
        }
        cJSON_Delete(fl);
        rc = rc ? rc : buf_puts(&b, "</td></tr>\n");
    }
    rc = rc ? rc : buf_puts(&b, "</tbody></table>\n</body></html>\n");
    char *r = rc == 0 ? buf_take(&b) : NULL;
    buf_free(&b);
    return r;
}

char *tr_write_manifest(const struct tr_run_info *ri, const struct tr_seg *s, size_t n,
                        const char *output_name)
{
    size_t nf = 0, mt = 0, tm = 0, edited = 0, reviewed = 0;
    for (size_t i = 0; i < n; i++) {
        mt += strcmp(s[i].origin, "mt") == 0;
        tm += strcmp(s[i].origin, "tm") == 0;
        edited += strcmp(s[i].origin, "edited") == 0;
        reviewed += strcmp(s[i].state, "reviewed") == 0;
    }
    cJSON *root = cJSON_CreateObject(), *origins = cJSON_CreateObject();
    cJSON *qa = counts_object(s, n, &nf), *outs = cJSON_CreateArray();
    bool ok = root && origins && qa && outs;
    ok = ok && cJSON_AddStringToObject(root, "workflow", "translate") &&
         cJSON_AddStringToObject(root, "engine", ri->engine ? ri->engine : "") &&
         cJSON_AddStringToObject(root, "pair", ri->pair ? ri->pair : "") &&
         cJSON_AddStringToObject(root, "format", tr_format_name(ri->fmt)) &&
         cJSON_AddStringToObject(root, "input", ri->input_name ? ri->input_name : "") &&
         cJSON_AddStringToObject(root, "mode", ri->rebuild ? "rebuild" : "translate") &&
         cJSON_AddNumberToObject(root, "segments", (double)n) &&
         cJSON_AddNumberToObject(root, "reviewed", (double)reviewed) &&
         cJSON_AddNumberToObject(origins, "mt", (double)mt) &&
         cJSON_AddNumberToObject(origins, "tm", (double)tm) &&
         cJSON_AddNumberToObject(origins, "edited", (double)edited) &&
         cJSON_AddNumberToObject(qa, "flagged", (double)nf);
    const char *names[] = {output_name, "bilingual.xlf", "qa.json", "report.html",
                           "manifest.json"};
    for (size_t i = 0; ok && i < 5; i++) {
        cJSON *str = cJSON_CreateString(names[i] ? names[i] : "");
        ok = str != NULL;
        if (ok)
            cJSON_AddItemToArray(outs, str);
    }
    if (ok) {
        cJSON_AddItemToObject(root, "origins", origins);
        cJSON_AddItemToObject(root, "tmHits", cJSON_CreateNumber((double)tm));
        cJSON_AddItemToObject(root, "qa", qa);
        cJSON_AddItemToObject(root, "outputs", outs);
        origins = qa = outs = NULL;
    }
    char *r = ok ? cJSON_Print(root) : NULL;
    cJSON_Delete(root);
    cJSON_Delete(origins);
    cJSON_Delete(qa);
    cJSON_Delete(outs);
    return r;
}
