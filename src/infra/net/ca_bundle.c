/* ca_bundle.c — finds the CA bundle TLS verification trusts and hands it
 * to libcurl (see ca_bundle.h and docs/release.md).  The static release
 * binary's libcurl has no compiled-in bundle path, because the binary runs
 * on any distribution; Debian's own libcurl (the normal build) knows its
 * path and does not use this file's wrapper.
 * Thread safety: the search runs once under pthread_once; afterwards the
 * result is read-only. */
#include "infra/net/ca_bundle.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "util/log.h"

/* Where distributions keep their PEM bundle (the same list Go and
 * curl's own docs use). */
const char *const bb_ca_bundle_paths[] = {
    "/etc/ssl/certs/ca-certificates.crt",                /* Debian, Ubuntu, Gentoo, Arch */
    "/etc/pki/tls/certs/ca-bundle.crt",                  /* Fedora, RHEL 6 */
    "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem", /* Fedora, RHEL 7+, CentOS */
    "/etc/ssl/ca-bundle.pem",                            /* openSUSE */
    "/var/lib/ca-certificates/ca-bundle.pem",            /* openSUSE (newer) */
    "/etc/ssl/cert.pem",                                 /* Alpine */
    NULL,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static const char *found;       /* NULL: none usable */
static char status[512];

static int readable_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode) && access(p, R_OK) == 0;
}

const char *bb_ca_bundle_pick(const char *env, const char *const *candidates)
{
    if (env && *env)
        return readable_file(env) ? env : NULL;
    for (size_t i = 0; candidates && candidates[i]; i++)
        if (readable_file(candidates[i]))
            return candidates[i];
    return NULL;
}

static void search(void)
{
    const char *env = getenv(BB_CA_BUNDLE_ENV);
    found = bb_ca_bundle_pick(env, bb_ca_bundle_paths);
    if (found)
        snprintf(status, sizeof status, "CA bundle %s%s", found,
                 env && *env ? " (from " BB_CA_BUNDLE_ENV ")" : "");
    else if (env && *env)
        snprintf(status, sizeof status,
                 "no CA bundle: %s=%.300s is not a readable file, so HTTPS cannot be verified",
                 BB_CA_BUNDLE_ENV, env);
    else
        snprintf(status, sizeof status,
                 "no CA bundle found (looked in /etc/ssl/certs/ca-certificates.crt, "
                 "/etc/pki/tls/certs/ca-bundle.crt, /etc/pki/ca-trust/extracted/pem/, "
                 "/etc/ssl/ca-bundle.pem, /var/lib/ca-certificates/ca-bundle.pem, "
                 "/etc/ssl/cert.pem), so HTTPS cannot be verified: install the "
                 "distribution's ca-certificates package or set %s to a PEM file",
                 BB_CA_BUNDLE_ENV);
}

const char *bb_ca_bundle_path(void)
{
    if (pthread_once(&once, search) != 0)
        return NULL;
    return found;
}

const char *bb_ca_bundle_status(void)
{
    if (pthread_once(&once, search) != 0)
        return "CA bundle search failed (pthread_once)";
    return status;
}

/* TLS-setup callback installed when there is no bundle: runs only for
 * https:// transfers, which it fails with a reason in the log. */
static CURLcode no_bundle_cb(CURL *h, void *ssl_ctx, void *user)
{
    bb_error("https needs a CA bundle", "reason", bb_ca_bundle_status());
    return CURLE_SSL_CACERT_BADFILE;
}

int bb_ca_bundle_apply(void *curl_handle)
{
    CURL *h = curl_handle;
    const char *p = bb_ca_bundle_path();
    if (!h)
        return -1;
    if (p)
        return curl_easy_setopt(h, CURLOPT_CAINFO, p) == CURLE_OK ? 0 : -1;
    return curl_easy_setopt(h, CURLOPT_SSL_CTX_FUNCTION, no_bundle_cb) == CURLE_OK ? 0 : -1;
}

#ifdef BB_CURL_WRAP
/* Only the release link (-Wl,--wrap=curl_easy_init) defines this name. */
CURL *__real_curl_easy_init(void);

void *__wrap_curl_easy_init(void)
{
    CURL *h = __real_curl_easy_init();
    if (h && bb_ca_bundle_apply(h) != 0) {
        curl_easy_cleanup(h);
        return NULL;
    }
    return h;
}
#endif
