/* tr_xliff.c — XLIFF 1.2 and 2.0 documents through libxml2
 * (docs/translate.md, "Formats"): every <source> of a translatable unit
 * becomes a segment (its inline elements protected), and the document is
 * written back with each <target> filled and its state set.  Pure: works on
 * the caller's buffer; libxml2 never touches the network (XML_PARSE_NONET)
 * and expands no external entities. */
#include "domain/translate.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/tr_int.h"

#define SEG_CAP ((size_t)16 << 20)

static bool named(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

static xmlNode *child_named(xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (named(c, name))
            return c;
    return NULL;
}

/* The inner XML of n as text: text escaped as XML writes it, each child
 * element serialised whole and recorded as a protected span. */
static char *inner_xml(xmlDoc *doc, xmlNode *n, struct tr_span **keep, size_t *nkeep)
{
    buf b;
    buf_init(&b, SEG_CAP);
    size_t alloc = 0;
    *keep = NULL;
    *nkeep = 0;
    int rc = 0;
    for (xmlNode *c = n->children; c && rc == 0; c = c->next) {
        if (c->type == XML_TEXT_NODE || c->type == XML_CDATA_SECTION_NODE) {
            rc = tr_xml_escape(&b, (const char *)c->content);
            continue;
        }
        if (c->type != XML_ELEMENT_NODE)
            continue;
        xmlBuffer *xb = xmlBufferCreate();
        if (!xb || xmlNodeDump(xb, doc, c, 0, 0) < 0) {
            xmlBufferFree(xb);
            rc = -1;
            break;
        }
        size_t start = b.len;
        rc = buf_puts(&b, (const char *)xmlBufferContent(xb));
        xmlBufferFree(xb);
        if (rc == 0 && *nkeep == alloc) {
            alloc = alloc ? alloc * 2 : 8;
            struct tr_span *nk = realloc(*keep, alloc * sizeof *nk);
            if (!nk)
                rc = -1;
            else
                *keep = nk;
        }
        if (rc == 0)
            (*keep)[(*nkeep)++] = (struct tr_span){start, b.len};
    }
    char *r = rc == 0 ? buf_take(&b) : NULL;
    buf_free(&b);
    if (!r) {
        free(*keep);
        *keep = NULL;
        *nkeep = 0;
    }
    return r;
}

struct xl {
    struct tr_doc *d;
    size_t alloc;
    int rc;
};

static void add_source(struct xl *x, xmlNode *src)
{
    struct tr_doc *d = x->d;
    if (x->rc)
        return;
    if (d->nsegs == x->alloc) {
        size_t na = x->alloc ? x->alloc * 2 : 32;
        struct tr_seg *ns = realloc(d->segs, na * sizeof *ns);
        if (ns)
            d->segs = ns;
        struct tr_span **nk = ns ? realloc(d->keep, na * sizeof *nk) : NULL;
        if (nk)
            d->keep = nk;
        size_t *nn = nk ? realloc(d->nkeep, na * sizeof *nn) : NULL;
        if (nn)
            d->nkeep = nn;
        void **nx = nn ? realloc(d->xml_src, na * sizeof *nx) : NULL;
        if (nx)
            d->xml_src = nx;
        if (!nx) {
            x->rc = -1;
            return;
        }
        x->alloc = na;
    }
    struct tr_span *keep = NULL;
    size_t nkeep = 0;
    char *text = inner_xml((xmlDoc *)d->xml, src, &keep, &nkeep);
    if (!text) {
        x->rc = -1;
        return;
    }
    /* only what has words: an empty or tag-only source is left alone */
    bool words = false;
    for (size_t i = 0, k = 0; text[i] && !words; i++) {
        while (k < nkeep && keep[k].end <= i)
            k++;
        if (k < nkeep && i >= keep[k].start)
            continue;
        words = (text[i] >= 'A' && text[i] <= 'Z') || (text[i] >= 'a' && text[i] <= 'z') ||
                (unsigned char)text[i] >= 0xC2;
    }
    if (!words) {
        free(text);
        free(keep);
        return;
    }
    size_t i = d->nsegs++;
    memset(&d->segs[i], 0, sizeof d->segs[i]);
    d->segs[i].n = (int)i + 1;
    d->segs[i].source = text;
    d->segs[i].meta = strdup("xliff");
    d->keep[i] = keep;
    d->nkeep[i] = nkeep;
    d->xml_src[i] = src;
    if (!d->segs[i].meta)
        x->rc = -1;
}

static bool no_translate(xmlNode *n)
{
    xmlChar *t = xmlGetProp(n, (const xmlChar *)"translate");
    bool no = t && strcmp((const char *)t, "no") == 0;
    xmlFree(t);
    return no;
}

static void walk(struct xl *x, xmlNode *n)
{
    for (xmlNode *c = n; c && !x->rc; c = c->next) {
        if (c->type != XML_ELEMENT_NODE)
            continue;
        if (no_translate(c))
            continue;
        if (x->d->xliff_version == 1 && named(c, "trans-unit")) {
            xmlNode *s = child_named(c, "source");
            if (s)
                add_source(x, s);
            continue;
        }
        if (x->d->xliff_version == 2 && named(c, "segment")) {
            xmlNode *s = child_named(c, "source");
            if (s)
                add_source(x, s);
            continue;
        }
        walk(x, c->children);
    }
}

int tr_xliff_parse(const char *data, size_t len, struct tr_doc *d, char *err, size_t cap)
{
    xmlDoc *doc = xmlReadMemory(data, (int)len, "input.xlf", NULL,
                                XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc) {
        const xmlError *e = xmlGetLastError();
        snprintf(err, cap, "XLIFF: not well-formed XML%s%s", e && e->message ? ": " : "",
                 e && e->message ? e->message : "");
        size_t n = strlen(err);
        if (n && err[n - 1] == '\n')
            err[n - 1] = '\0';
        return -1;
    }
    d->xml = doc;
    xmlNode *root = xmlDocGetRootElement(doc);
    xmlChar *v = root ? xmlGetProp(root, (const xmlChar *)"version") : NULL;
    if (!named(root, "xliff") || !v) {
        xmlFree(v);
        snprintf(err, cap, "XLIFF: the root element must be <xliff version=...>");
        tr_doc_free(d);
        return -1;
    }
    d->xliff_version = strncmp((const char *)v, "1.", 2) == 0 ? 1
                     : strncmp((const char *)v, "2.", 2) == 0 ? 2 : 0;
    xmlFree(v);
    if (!d->xliff_version) {
        snprintf(err, cap, "XLIFF: version must be 1.2 or 2.0");
        tr_doc_free(d);
        return -1;
    }
    struct xl x = {.d = d};
    walk(&x, root->children);
    if (x.rc) {
        snprintf(err, cap, "out of memory");
        tr_doc_free(d);
        return -1;
    }
    return 0;
}

void tr_xliff_free(struct tr_doc *d)
{
    if (d->xml)
        xmlFreeDoc((xmlDoc *)d->xml);
    d->xml = NULL;
    free(d->xml_src);
    d->xml_src = NULL;
}

/* Fills src's sibling <target> with text (inner XML: parsed into nodes,
 * or kept as text when it does not parse). */
static int fill_target(xmlDoc *doc, xmlNode *src, const char *text)
{
    xmlNode *parent = src->parent, *tgt = child_named(parent, "target");
    if (!tgt) {
        tgt = xmlNewDocNode(doc, src->ns, (const xmlChar *)"target", NULL);
        if (!tgt || !xmlAddNextSibling(src, tgt)) {
            xmlFreeNode(tgt);
            return -1;
        }
    }
    xmlNode *c = tgt->children;
    while (c) {
        xmlNode *next = c->next;
        xmlUnlinkNode(c);
        xmlFreeNode(c);
        c = next;
    }
    xmlNode *list = NULL;
    if (xmlParseInNodeContext(tgt, text, (int)strlen(text), XML_PARSE_NONET | XML_PARSE_NOERROR,
                              &list) == XML_ERR_OK) {
        if (list && !xmlAddChildList(tgt, list)) {
            xmlFreeNodeList(list);
            return -1;
        }
        return 0;
    }
    xmlFreeNodeList(list);
    xmlNode *t = xmlNewDocText(doc, (const xmlChar *)text);
    if (!t || !xmlAddChild(tgt, t)) {
        xmlFreeNode(t);
        return -1;
    }
    return 0;
}

char *tr_xliff_write(struct tr_doc *d, size_t *len_out)
{
    xmlDoc *doc = d->xml;
    for (size_t i = 0; i < d->nsegs; i++) {
        const struct tr_seg *s = &d->segs[i];
        if (!s->target)
            continue;
        xmlNode *src = d->xml_src[i];
        if (fill_target(doc, src, s->target) != 0)
            return NULL;
        bool reviewed = strcmp(s->state, "reviewed") == 0;
        if (d->xliff_version == 1) {
            xmlNode *tgt = child_named(src->parent, "target");
            if (!xmlSetProp(tgt, (const xmlChar *)"state",
                            (const xmlChar *)(reviewed ? "signed-off" : "translated")))
                return NULL;
        } else if (!xmlSetProp(src->parent, (const xmlChar *)"state",
                               (const xmlChar *)(reviewed ? "reviewed" : "translated"))) {
            return NULL;
        }
    }
    xmlChar *mem = NULL;
    int size = 0;
    xmlDocDumpMemoryEnc(doc, &mem, &size, "UTF-8");
    if (!mem)
        return NULL;
    char *r = strndup((const char *)mem, (size_t)size);
    xmlFree(mem);
    if (r && len_out)
        *len_out = (size_t)size;
    return r;
}
