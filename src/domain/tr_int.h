/* tr_int.h — what the files of the pure translate code share (tr_protect.c,
 * tr_qa.c, tr_doc.c, tr_xliff.c, tr_report.c); other modules use
 * domain/translate.h. */
#ifndef BB_TR_INT_H
#define BB_TR_INT_H

#include <stddef.h>

#include "domain/translate.h"
#include "util/buf.h"

enum tr_run_kind { TR_RUN_CODE, TR_RUN_URL, TR_RUN_TAG, TR_RUN_ENTITY, TR_RUN_PLACEHOLDER };

/* The protected run starting at s[at] (inline code, URL, tag, entity,
 * placeholder): its length and *kind, or 0 when none starts there. */
size_t tr_run_at(const char *s, size_t at, enum tr_run_kind *kind);

/* Appends s XML-escaped (& < > " and characters XML 1.0 forbids dropped):
 * 0, or -1 when the buffer's cap is reached. */
int tr_xml_escape(buf *b, const char *s);

/* XLIFF (tr_xliff.c): parse into d (fmt already set), write back. */
int tr_xliff_parse(const char *data, size_t len, struct tr_doc *d, char *err, size_t cap);
char *tr_xliff_write(struct tr_doc *d, size_t *len_out);
void tr_xliff_free(struct tr_doc *d);

#endif
