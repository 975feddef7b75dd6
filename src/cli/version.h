/* version.h — the `version` verb: batchbox's version and, with --verbose,
 * its commit, how it was built, the CA bundle and every bundled library
 * with its version and licence (docs/release.md). */
#ifndef BB_CLI_VERSION_H
#define BB_CLI_VERSION_H

struct cli_call;

/* The `version` verb (a row of the verb table in verbs.c).  Options:
 * --verbose (-v), --check-url URL (one GET through the bundled HTTP/TLS
 * stack; prints the status or the reason it failed).  Returns 0 ok, 1 the
 * --check-url request failed. */
int cli_version(const struct cli_call *call);

/* Defined only in the release binary, by a file build.sh generates
 * (build/release/gen/release_info.c): the value for key "commit",
 * "built", "libc" or a Debian source package name ("curl", "zlib", ...,
 * answered with its pinned version), or NULL.  Static strings.  Weak, so
 * other builds link without it and the pointer is NULL. */
const char *bb_release_info(const char *key) __attribute__((weak));

#endif
