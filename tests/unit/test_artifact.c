/* test_artifact.c — unit tests for the artifact URL and storage-key
 * layout (src/domain/artifact.c): local URLs with escaped names, keys,
 * S3 URLs in both styles, and snprintf-like truncation. */
#define UNIT_MAIN
#include "unit.h"

#include "domain/artifact.h"

TEST(local_prefix_and_url_escape_the_name)
{
    char b[256];
    CHECK_EQ_INT((int)artifact_local_prefix(b, sizeof b, 12), 26);
    CHECK_STR_EQ(b, "/api/v1/jobs/12/artifacts/");
    artifact_local_url(b, sizeof b, 12, "out.txt");
    CHECK_STR_EQ(b, "/api/v1/jobs/12/artifacts/out.txt");
    size_t n = artifact_local_url(b, sizeof b, 7, "a b/c?\xc3\xa9");
    CHECK_STR_EQ(b, "/api/v1/jobs/7/artifacts/a%20b%2Fc%3F%C3%A9");
    CHECK_EQ_INT((int)n, (int)strlen(b));
}

TEST(storage_key)
{
    char b[64];
    artifact_key(b, sizeof b, 42, "manifest.json");
    CHECK_STR_EQ(b, "artifacts/42/manifest.json");
    artifact_key(b, sizeof b, 42, "");
    CHECK_STR_EQ(b, "artifacts/42/");
}

TEST(s3_url_path_and_virtual_host_style)
{
    char b[256];
    struct artifact_s3 s3 = {.endpoint = "127.0.0.1:9000", .bucket = "bb", .path_style = true};
    artifact_s3_url(b, sizeof b, &s3, "artifacts/3/");
    CHECK_STR_EQ(b, "http://127.0.0.1:9000/bb/artifacts/3/");
    s3.https = true;
    s3.path_style = false;
    s3.endpoint = "s3.example.com";
    artifact_s3_url(b, sizeof b, &s3, "artifacts/3/a b.txt");
    CHECK_STR_EQ(b, "https://bb.s3.example.com/artifacts/3/a%20b.txt");
}

TEST(too_small_buffer_is_cut_and_reports_the_full_length)
{
    char b[20];
    size_t n = artifact_local_url(b, sizeof b, 12, "name with spaces");
    CHECK_EQ_INT((int)n, (int)strlen("/api/v1/jobs/12/artifacts/name%20with%20spaces"));
    CHECK(strlen(b) < sizeof b);
    struct artifact_s3 s3 = {.endpoint = "e", .bucket = "b", .path_style = true};
    n = artifact_s3_url(b, 8, &s3, "artifacts/1/x");
    CHECK_EQ_INT((int)n, (int)strlen("http://e/b/artifacts/1/x"));
    CHECK(strlen(b) < 8);
}
