/* ca_bundle.h — where the TLS trust anchors come from when libcurl has no
 * compiled-in CA bundle (the static release binary, docs/release.md):
 * BATCHBOX_CA_BUNDLE, else the first readable bundle among the usual
 * Debian/Ubuntu, Fedora/RHEL, Alpine and openSUSE paths.  The lookup runs
 * once per process (thread-safe) and its answer is kept. */
#ifndef BB_CA_BUNDLE_H
#define BB_CA_BUNDLE_H

#include <stddef.h>

/* The env variable that overrides the search. */
#define BB_CA_BUNDLE_ENV "BATCHBOX_CA_BUNDLE"

/* NULL-terminated list of the paths searched, in order (static). */
extern const char *const bb_ca_bundle_paths[];

/* Path of the CA bundle to use, or NULL when none was found (borrowed,
 * valid for the life of the process). */
const char *bb_ca_bundle_path(void);

/* One line saying why no bundle is usable (or which one is used), for
 * error messages and `batchbox version --verbose` (borrowed, static). */
const char *bb_ca_bundle_status(void);

/* Picks the bundle for a path-less search: env (when non-empty; then only
 * it counts) else the first candidate that is a readable regular file.
 * Returns the chosen path or NULL (borrowed from env/candidates).
 * Exposed for the unit test; bb_ca_bundle_path() calls it once. */
const char *bb_ca_bundle_pick(const char *env, const char *const *candidates);

/* Gives a libcurl easy handle (CURL *, passed as void * so this header
 * needs no curl.h) the bundle: CURLOPT_CAINFO when one was found; when
 * none was, a TLS-setup callback that fails every HTTPS transfer with
 * CURLE_SSL_CACERT_BADFILE and logs bb_ca_bundle_status() (plain HTTP is
 * unaffected).  Returns 0, or -1 if libcurl refused an option. */
int bb_ca_bundle_apply(void *curl_handle);

#ifdef BB_CURL_WRAP
/* The release build (-DBB_CURL_WRAP, linked with
 * -Wl,--wrap=curl_easy_init) creates every easy handle, ours and libs3's,
 * through this wrapper: the real curl_easy_init(), then
 * bb_ca_bundle_apply().  Returns the handle or NULL (caller cleans up). */
void *__wrap_curl_easy_init(void);
#endif

#endif
