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
    {"POST", "/auth/register", route_auth_register, PERM_PUBLIC,
     "Create an account (the first one becomes admin and needs the setup token)"},
    {"POST", "/auth/login", route_auth_login, PERM_PUBLIC, "Sign in: a token pair and cookies"},
    {"POST", "/auth/refresh", route_auth_refresh, PERM_PUBLIC, "Rotate a refresh token"},
    {"POST", "/auth/logout", route_auth_logout, PERM_PUBLIC, "End the session"},
    {"GET", "/auth/me", route_auth_me, PERM_USER, "The signed-in user"},
    {"GET", "/user/profile", route_profile_get, PERM_USER, "The signed-in user"},
    {"PATCH", "/user/profile", route_profile_patch, PERM_USER,
     "Change name or password (needs currentPassword)"},
    {"GET", "/user/jobs", route_user_jobs, PERM_USER, "The caller's own jobs"},
    {"GET", "/admin/users", route_admin_users, PERM_ADMIN, "Every user"},
    {"PATCH", "/admin/users/:id", route_admin_user_patch, PERM_ADMIN,
     "Change a user's role or disable them"},
    {"GET", "/admin/jobs", route_admin_jobs, PERM_ADMIN, "Everyone's jobs"},
    {"GET", "/admin/stats", route_admin_stats, PERM_ADMIN, "Statistics"},
    {"POST", "/uploads", route_upload, PERM_USER,
     "Upload a file (multipart field \"file\", or raw body with ?filename=)"},
    {"GET", "/files/:id", route_file_get, PERM_USER, "Download an upload (Range, ETag)"},
    {"DELETE", "/files/:id", route_file_delete, PERM_USER, "Delete an upload not used by a live job"},
    {"GET", "/user/files", route_user_files, PERM_USER, "The caller's uploads and quota use"},
};

const size_t http_nroutes = sizeof http_routes / sizeof http_routes[0];
