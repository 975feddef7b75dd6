/* routes.c — the route table: the one list of every HTTP route, its
 * permission and a summary.  The router (server.c) dispatches from it and
 * docs/api.md is checked against it (tests/api/test_routes.py). */
#include "http/http.h"

const struct http_route http_routes[] = {
    {"GET", "/health", route_health, PERM_PUBLIC, "Liveness and database check"},
    {"GET", "/config/job-options", route_job_options, PERM_USER,
     "Presets, voices, accents, Notion databases, upload options, modes, actions, limits"},
    {"POST", "/jobs", route_jobs_submit, PERM_USER, "Submit a job (202 {jobId})"},
    {"GET", "/jobs", route_jobs_list, PERM_USER, "List jobs, newest first, keyset pagination"},
    {"GET", "/jobs/events", route_events, PERM_USER, "Live job events (Server-Sent Events)"},
    {"GET", "/jobs/:id", route_job_get, PERM_USER, "One job's DTO"},
    {"GET", "/jobs/:id/logs", route_job_logs, PERM_USER, "A job's log lines (?follow=1 streams)"},
    {"GET", "/jobs/:id/artifacts", route_job_artifacts, PERM_USER, "Files a job produced"},
    {"GET", "/jobs/:id/artifacts/:name", route_job_artifact, PERM_USER, "Download one artifact"},
    {"POST", "/jobs/:id/actions", route_job_action, PERM_USER,
     "Job action: cancel, retry, edit_metadata, rerun_audio"},
};

const size_t http_nroutes = sizeof http_routes / sizeof http_routes[0];
