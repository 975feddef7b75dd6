/* embedgen.c — build-time tool that turns files (web/ and schema.sql) into
 * a C source implementing src/util/assets.h, so the running binary needs no
 * files beside its data directory.
 *
 * Usage: embedgen -o OUT.c [-s PREFIX]... FILE...
 *
 * Each FILE becomes one asset.  Its path is FILE itself, except that a FILE
 * starting with one of the -s prefixes (e.g. "web/") has that prefix
 * replaced by "/" ("web/index.html" -> "/index.html").  Data are written
 * as byte arrays, so any binary file works; each array gets a trailing NUL
 * that `len` does not count.  The table is sorted by path (strcmp order) so
 * bb_asset_find() can binary-search it.  The output is written to OUT.c.tmp
 * and renamed into place, so an interrupted build never leaves half a file.
 *
 * Exit status: 0 ok, 1 I/O or input error, 2 usage error. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_PREFIXES 16
#define MAX_ASSETS 4096
#define MAX_ASSET_BYTES (64L * 1024 * 1024) /* per file */
#define MAX_PATH_CHARS 1024

struct entry {
    const char *file; /* path on disk (borrowed from argv) */
    char *name;       /* asset path; owned, freed in main */
};

struct ctype {
    const char *ext;
    const char *type;
};

/* Content types by file extension (compared case-insensitively). */
static const struct ctype ctypes[] = {
    {"html", "text/html; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"json", "application/json"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
    {"map", "application/json"},
    {"sql", "application/sql"},
    {"md", "text/markdown; charset=utf-8"},
};

static void usage(void)
{
    fprintf(stderr, "usage: embedgen -o OUT.c [-s PREFIX]... FILE...\n");
}

/* Returns the content type for an asset path (static string, never NULL). */
static const char *content_type_for(const char *name)
{
    const char *slash = strrchr(name, '/');
    const char *base = slash ? slash + 1 : name;
    const char *dot = strrchr(base, '.');
    size_t i;

    if (dot == NULL || dot == base)
        return "application/octet-stream";
    for (i = 0; i < sizeof ctypes / sizeof ctypes[0]; i++)
        if (strcasecmp(dot + 1, ctypes[i].ext) == 0)
            return ctypes[i].type;
    return "application/octet-stream";
}

/* Returns the asset path for `file` given the strip prefixes; caller frees.
 * NULL on allocation failure. */
static char *asset_name(const char *file, char **prefixes, size_t nprefixes)
{
    size_t best = 0, i, plen;
    char *out;

    for (i = 0; i < nprefixes; i++) {
        plen = strlen(prefixes[i]);
        if (plen > best && strncmp(file, prefixes[i], plen) == 0 &&
            file[plen] != '\0')
            best = plen;
    }
    if (best == 0)
        return strdup(file);
    out = malloc(strlen(file + best) + 2);
    if (out == NULL)
        return NULL;
    out[0] = '/';
    memcpy(out + 1, file + best, strlen(file + best) + 1);
    return out;
}

static int cmp_entry(const void *a, const void *b)
{
    const struct entry *x = a, *y = b;
    return strcmp(x->name, y->name);
}

/* Writes `s` as a C string literal; every byte outside printable ASCII and
 * the characters " \ ? are octal-escaped.  Returns 0, or -1 on error. */
static int put_c_string(FILE *out, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    if (fputc('"', out) == EOF)
        return -1;
    for (; *p; p++) {
        if (*p >= 0x20 && *p < 0x7f && *p != '"' && *p != '\\' && *p != '?') {
            if (fputc(*p, out) == EOF)
                return -1;
        } else if (fprintf(out, "\\%03o", *p) < 0) {
            return -1;
        }
    }
    return fputc('"', out) == EOF ? -1 : 0;
}

/* Emits `static const unsigned char asset_N[] = {...};` for one file and
 * stores its size in *len.  Returns 0, or -1 after printing why. */
static int put_data(FILE *out, size_t index, const char *file, long *len)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char buf[8192];
    char line[16 * 5 + 2];
    size_t n, i, col = 0, pos = 0;
    long total = 0;
    FILE *in = fopen(file, "rb");

    if (in == NULL) {
        fprintf(stderr, "embedgen: %s: %s\n", file, strerror(errno));
        return -1;
    }
    if (fprintf(out, "static const unsigned char asset_%zu[] = {\n", index) < 0)
        goto write_error;
    while ((n = fread(buf, 1, sizeof buf, in)) > 0) {
        total += (long)n;
        if (total > MAX_ASSET_BYTES) {
            fprintf(stderr, "embedgen: %s: larger than %ld bytes\n", file,
                    MAX_ASSET_BYTES);
            fclose(in);
            return -1;
        }
        for (i = 0; i < n; i++) {
            line[pos++] = '0';
            line[pos++] = 'x';
            line[pos++] = hex[buf[i] >> 4];
            line[pos++] = hex[buf[i] & 15];
            line[pos++] = ',';
            if (++col == 16) {
                line[pos++] = '\n';
                if (fwrite(line, 1, pos, out) != pos)
                    goto write_error;
                col = pos = 0;
            }
        }
    }
    if (ferror(in)) {
        fprintf(stderr, "embedgen: %s: read error\n", file);
        fclose(in);
        return -1;
    }
    if (fclose(in) != 0) {
        fprintf(stderr, "embedgen: %s: %s\n", file, strerror(errno));
        return -1;
    }
    if (pos > 0 && fwrite(line, 1, pos, out) != pos)
        return -1;
    if (fputs("0x00\n};\n", out) == EOF)
        return -1;
    *len = total;
    return 0;

write_error:
    fclose(in);
    return -1;
}

/* Writes the whole generated file.  Returns 0, or -1 on error. */
static int generate(FILE *out, struct entry *entries, size_t n)
{
    long *lens;
    size_t i;

    lens = calloc(n ? n : 1, sizeof *lens);
    if (lens == NULL) {
        fprintf(stderr, "embedgen: out of memory\n");
        return -1;
    }
    if (fprintf(out,
                "/* Generated by src/tools/embedgen.c from %zu files; do not "
                "edit. */\n"
                "#include <stddef.h>\n#include <string.h>\n\n"
                "#include \"util/assets.h\"\n\n",
                n) < 0)
        goto fail;
    for (i = 0; i < n; i++)
        if (put_data(out, i, entries[i].file, &lens[i]) != 0)
            goto fail;
    if (fputs("\nconst struct bb_asset bb_assets[] = {\n", out) == EOF)
        goto fail;
    for (i = 0; i < n; i++) {
        if (fputs("    {", out) == EOF || put_c_string(out, entries[i].name) ||
            fprintf(out, ", asset_%zu, %ldu, ", i, lens[i]) < 0 ||
            put_c_string(out, content_type_for(entries[i].name)) ||
            fputs("},\n", out) == EOF)
            goto fail;
    }
    if (fprintf(out,
                "    {NULL, NULL, 0u, NULL} /* end marker, not counted */\n"
                "};\n\n"
                "const size_t bb_nassets = %zu;\n\n"
                "const struct bb_asset *bb_asset_find(const char *path)\n"
                "{\n"
                "    size_t lo = 0, hi = bb_nassets;\n\n"
                "    if (path == NULL)\n"
                "        return NULL;\n"
                "    while (lo < hi) {\n"
                "        size_t mid = lo + (hi - lo) / 2;\n"
                "        int c = strcmp(path, bb_assets[mid].path);\n\n"
                "        if (c == 0)\n"
                "            return &bb_assets[mid];\n"
                "        if (c < 0)\n"
                "            hi = mid;\n"
                "        else\n"
                "            lo = mid + 1;\n"
                "    }\n"
                "    return NULL;\n"
                "}\n",
                n) < 0)
        goto fail;
    free(lens);
    return 0;

fail:
    free(lens);
    return -1;
}

int main(int argc, char **argv)
{
    char *prefixes[MAX_PREFIXES];
    size_t nprefixes = 0, n = 0, i;
    struct entry *entries;
    const char *outpath = NULL;
    char tmppath[MAX_PATH_CHARS + 8];
    FILE *out;
    int argi, rc = 1;

    for (argi = 1; argi < argc && argv[argi][0] == '-'; argi++) {
        if (strcmp(argv[argi], "--") == 0) {
            argi++;
            break;
        }
        if (argi + 1 >= argc) {
            usage();
            return 2;
        }
        if (strcmp(argv[argi], "-o") == 0) {
            outpath = argv[++argi];
        } else if (strcmp(argv[argi], "-s") == 0) {
            if (nprefixes == MAX_PREFIXES) {
                fprintf(stderr, "embedgen: more than %d -s prefixes\n",
                        MAX_PREFIXES);
                return 2;
            }
            prefixes[nprefixes++] = argv[++argi];
        } else {
            usage();
            return 2;
        }
    }
    if (outpath == NULL || strlen(outpath) > MAX_PATH_CHARS) {
        usage();
        return 2;
    }
    if (argc - argi > MAX_ASSETS) {
        fprintf(stderr, "embedgen: more than %d files\n", MAX_ASSETS);
        return 1;
    }

    entries = calloc((size_t)(argc - argi) + 1, sizeof *entries);
    if (entries == NULL) {
        fprintf(stderr, "embedgen: out of memory\n");
        return 1;
    }
    for (; argi < argc; argi++) {
        entries[n].file = argv[argi];
        entries[n].name = asset_name(argv[argi], prefixes, nprefixes);
        if (entries[n].name == NULL) {
            fprintf(stderr, "embedgen: out of memory\n");
            goto done;
        }
        n++;
    }
    qsort(entries, n, sizeof *entries, cmp_entry);
    for (i = 1; i < n; i++) {
        if (strcmp(entries[i - 1].name, entries[i].name) == 0) {
            fprintf(stderr, "embedgen: %s and %s both map to asset %s\n",
                    entries[i - 1].file, entries[i].file, entries[i].name);
            goto done;
        }
    }

    snprintf(tmppath, sizeof tmppath, "%s.tmp", outpath);
    out = fopen(tmppath, "w");
    if (out == NULL) {
        fprintf(stderr, "embedgen: %s: %s\n", tmppath, strerror(errno));
        goto done;
    }
    if (generate(out, entries, n) != 0 || ferror(out)) {
        fprintf(stderr, "embedgen: failed writing %s\n", tmppath);
        fclose(out);
        remove(tmppath);
        goto done;
    }
    if (fclose(out) != 0) {
        fprintf(stderr, "embedgen: %s: %s\n", tmppath, strerror(errno));
        remove(tmppath);
        goto done;
    }
    if (rename(tmppath, outpath) != 0) {
        fprintf(stderr, "embedgen: rename to %s: %s\n", outpath,
                strerror(errno));
        remove(tmppath);
        goto done;
    }
    rc = 0;

done:
    for (i = 0; i < n; i++)
        free(entries[i].name);
    free(entries);
    return rc;
}
