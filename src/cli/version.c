/* version.c — `batchbox version [--verbose] [--check-url URL]`: prints the
 * version; --verbose adds the commit, the kind of build, the CA bundle in
 * use and one line per bundled library (runtime version where the library
 * reports one, the pinned Debian source version in a release build, the
 * licence); --check-url makes one GET through the same libcurl/TLS stack
 * the integrations use (docs/release.md: how the release is checked).
 * Single-threaded: runs on main's thread before anything else starts. */
#include "cli/version.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <archive.h>
#include <civetweb.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <sodium.h>
#ifdef __GLIBC__
#include <gnu/libc-version.h>
#endif

#include "cli/args.h"
#include "infra/db/db_version.h"
#include "infra/net/ca_bundle.h"
#include "infra/net/http_client.h"
#include "service/app.h"

/* libxml2's version number as a string ("20914"); weak because only
 * libs3 links libxml2 and this file must not pull it in by itself. */
extern const char *const xmlParserVersion __attribute__((weak));

struct lib {
    const char *name;     /* as printed */
    const char *pkg;      /* Debian source package (bb_release_info key) */
    const char *licence;
};

static const struct lib libs[] = {
    {"libcurl", "curl", "curl (MIT-style)"},
    {"TLS", "mbedtls", "Apache-2.0"},     /* name from libcurl: mbedTLS or OpenSSL */
    {"zlib", "zlib", "Zlib"},
    {"libxml2", "libxml2", "MIT"},
    {"libs3", "libs3", "GPL-3 with an OpenSSL exception"},
    {"SQLite", "sqlite3", "public domain"},
    {"libsodium", "libsodium", "ISC"},
    {"libarchive", "libarchive", "BSD-2-Clause"},
    {"civetweb", "civetweb", "MIT"},
    {"cJSON", "cjson", "MIT"},
};

/* "20914" -> "2.9.14" into out; "?" when absent or malformed. */
static void xml_version(char *out, size_t outlen)
{
    const char *v = &xmlParserVersion ? xmlParserVersion : NULL;
    long n = v ? strtol(v, NULL, 10) : 0;
    if (n <= 0)
        snprintf(out, outlen, "not linked");
    else
        snprintf(out, outlen, "%ld.%ld.%ld", n / 10000, n / 100 % 100, n % 100);
}

/* Runtime version of libs[i], written into out. */
static void runtime_version(const struct lib *l, char *out, size_t outlen)
{
    const curl_version_info_data *ci = curl_version_info(CURLVERSION_NOW);
    const char *v = NULL;
    if (strcmp(l->pkg, "curl") == 0)
        v = ci ? ci->version : NULL;
    else if (strcmp(l->pkg, "mbedtls") == 0 && ci && ci->ssl_version) {
        const char *slash = strchr(ci->ssl_version, '/');   /* "mbedTLS/2.28.3" */
        v = slash ? slash + 1 : ci->ssl_version;
    }
    else if (strcmp(l->pkg, "zlib") == 0)
        v = ci ? ci->libz_version : NULL;
    else if (strcmp(l->pkg, "libxml2") == 0) {
        xml_version(out, outlen);
        return;
    } else if (strcmp(l->pkg, "sqlite3") == 0)
        v = db_sqlite_version();
    else if (strcmp(l->pkg, "libsodium") == 0)
        v = sodium_version_string();
    else if (strcmp(l->pkg, "libarchive") == 0) {
        v = archive_version_string();   /* "libarchive 3.6.2" */
        if (v && strncmp(v, "libarchive ", 11) == 0)
            v += 11;
    }
    else if (strcmp(l->pkg, "civetweb") == 0)
        v = mg_version();
    else if (strcmp(l->pkg, "cjson") == 0)
        v = cJSON_Version();
    snprintf(out, outlen, "%s", v ? v : "(reports none)");
}

/* The printed name: libs[i].name, except for the TLS row, which is named
 * after the library libcurl reports ("mbedTLS", "OpenSSL"). */
static void tls_name(const struct lib *l, char *out, size_t outlen)
{
    const curl_version_info_data *ci = curl_version_info(CURLVERSION_NOW);
    const char *s = ci ? ci->ssl_version : NULL;
    size_t n = s ? strcspn(s, "/") : 0;
    if (strcmp(l->pkg, "mbedtls") != 0 || n == 0)
        snprintf(out, outlen, "%s", l->name);
    else
        snprintf(out, outlen, "%.*s", (int)n, s);
}

static const char *release_info(const char *key)
{
    return bb_release_info ? bb_release_info(key) : NULL;
}

static void print_verbose(void)
{
    const char *commit = release_info("commit");
    const char *built = release_info("built");
    const char *libc = release_info("libc");
    printf("batchbox %s\n", BB_VERSION);
    printf("commit:   %s\n", commit ? commit : "unknown (only release builds record it)");
    if (bb_release_info)
        printf("build:    release: x86_64, static, musl libc %s%s%s\n", libc ? libc : "?",
               built ? ", built " : "", built ? built : "");
    else
#ifdef __GLIBC__
        printf("build:    development: dynamic, glibc %s\n", gnu_get_libc_version());
#else
        printf("build:    development\n");
#endif
    if (bb_release_info)
        printf("TLS:      %s\n", bb_ca_bundle_status());
    else
        printf("TLS:      the system libcurl's own CA store\n");
    printf("libraries (name, version%s, licence):\n",
           bb_release_info ? ", Debian source package" : "");
    for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
        char ver[64], name[32], from[96] = "";
        const char *pinned = release_info(libs[i].pkg);
        runtime_version(&libs[i], ver, sizeof ver);
        tls_name(&libs[i], name, sizeof name);
        if (bb_release_info)
            snprintf(from, sizeof from, "%s %s", libs[i].pkg, pinned ? pinned : "?");
        printf("  %-10s %-18s %-*s%s\n", name, ver, bb_release_info ? 37 : 0, from,
               libs[i].licence);
    }
    if (bb_release_info)
        printf("  %-10s %-18s %-36s %s\n", "musl", libc ? libc : "?", "musl (Debian binary)",
               "MIT");
}

/* One GET of url; prints the outcome.  Returns 0 when a response arrived. */
static int check_url(const char *url)
{
    struct http_request req = {.method = "GET", .url = url, .timeout_ms = 15000};
    struct http_response resp;
    char err[512];
    enum http_result r = http_client_perform(&req, &resp, err, sizeof err);
    int rc = 0;
    if (r == HTTP_RES_OK) {
        printf("ok: HTTP %ld\n", resp.status);
    } else {
        fprintf(stderr, "batchbox: %s: %s (%s)\n", http_result_name(r), err,
                bb_ca_bundle_status());
        rc = 1;
    }
    http_response_free(&resp);
    return rc;
}

int cli_version(const struct cli_call *call)
{
    const char *url = cli_str(call, "check-url");
    if (cli_flag(call, "verbose"))
        print_verbose();
    else if (!url)
        printf("batchbox %s\n", BB_VERSION);
    return url ? (check_url(url) == 0 ? CLI_EXIT_OK : CLI_EXIT_FAILED) : CLI_EXIT_OK;
}
