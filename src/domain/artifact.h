/* artifact.h — where a job's artifact lives, as strings: the URL batchbox
 * serves it at, the storage key it is stored under (fs and S3 alike) and
 * the URL of that key in an S3 bucket.  One place for the layout, so the
 * worker (which writes the keys and the lesson manifest's URLs) and the
 * routes (which list the artifacts) cannot drift apart.  Pure string
 * building, no I/O; every function writes into the caller's buffer and,
 * like snprintf, returns the length the whole string needs (a result
 * >= cap means the buffer was too small and holds a cut, NUL-terminated
 * prefix).  See docs/storage.md for the layout. */
#ifndef BB_DOMAIN_ARTIFACT_H
#define BB_DOMAIN_ARTIFACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where an S3 bucket is reached (borrowed strings). */
struct artifact_s3 {
    const char *endpoint;      /* "s3.example.com:9000" */
    const char *bucket;
    bool https;                /* https:// rather than http:// */
    bool path_style;           /* endpoint/bucket/key, else bucket.endpoint/key */
};

/* "/api/v1/jobs/ID/artifacts/" — the directory of a job's artifacts on
 * this server, ending in '/'. */
size_t artifact_local_prefix(char *out, size_t cap, int64_t job_id);

/* "/api/v1/jobs/ID/artifacts/NAME" with NAME URL-escaped (every byte but
 * A-Z a-z 0-9 - _ . ~ as %XX).  NAME is the artifact's name as listed. */
size_t artifact_local_url(char *out, size_t cap, int64_t job_id, const char *name);

/* "artifacts/ID/NAME": the storage key (and, under the data directory,
 * the relative path) of a stored artifact.  NAME is the key-safe stored
 * name; an empty NAME gives the job's key prefix "artifacts/ID/". */
size_t artifact_key(char *out, size_t cap, int64_t job_id, const char *name);

/* The URL of key in the bucket: "http[s]://ENDPOINT/BUCKET/KEY" (path
 * style) or "http[s]://BUCKET.ENDPOINT/KEY" (virtual-host style), KEY
 * URL-escaped with '/' kept. */
size_t artifact_s3_url(char *out, size_t cap, const struct artifact_s3 *s3, const char *key);

#endif
