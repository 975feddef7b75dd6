/* assets.h — files embedded into the binary at build time by
 * src/tools/embedgen.c (web/ and schema.sql).  The table is generated into
 * build/.../gen/assets.c; nothing here is checked in as a blob. */
#ifndef BB_ASSETS_H
#define BB_ASSETS_H

#include <stddef.h>

struct bb_asset {
    const char *path;          /* "/index.html" for web/index.html; "schema.sql" */
    const unsigned char *data; /* NUL-terminated (len excludes the NUL) */
    size_t len;
    const char *content_type;  /* from the extension */
};

extern const struct bb_asset bb_assets[];
extern const size_t bb_nassets;

/* Returns the asset with this exact path, or NULL. */
const struct bb_asset *bb_asset_find(const char *path);

#endif
