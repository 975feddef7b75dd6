/* routes.c — the route table: the one list of every HTTP route, its
 * permission, its body (kind and limit), a summary and what the OpenAPI
 * document says about it.  The router (router.c) dispatches from it and
 * applies its permission and body rules, GET /openapi.json is generated
 * from it (openapi.c), and docs/api.md is checked against it
 * (tests/unit/test_routes.c). */
#include "http/http.h"

#define JOB_LIST .query = "state,preset,q,limit,cursor,children,batch", .response = "JobList", \
    .errors = "400"
#define AUTH_BODY_MAX 16384   /* sign-in and profile bodies are small */
#define JSON .body = HTTP_BODY_JSON
#define SMALL_JSON .body = HTTP_BODY_JSON, .body_max = AUTH_BODY_MAX
#define OPTIONAL_JSON .body = HTTP_BODY_JSON_OPTIONAL, .body_max = AUTH_BODY_MAX

const struct http_route http_routes[] = {
    {"GET", "/health", route_health, PERM_PUBLIC, "Liveness and database check",
     .tag = "operations", .response = "Health", .errors = "503"},
    {"GET", "/config/job-options", route_job_options, PERM_USER,
     "Presets, voices, accents, Notion databases, upload options, modes, actions, limits",
     .tag = "jobs", .response = "JobOptions"},
    {"POST", "/jobs", route_jobs_submit, PERM_USER,
     "Submit a job (202 {jobId}), or a batch with sweep (201 parent)",
     JSON, .request = "SubmitJob", .ok = 202, .response = "JobCreated",
     .errors = "400,409,413,415"},
    {"GET", "/jobs", route_jobs_list, PERM_USER, "List jobs, newest first, keyset pagination",
     JOB_LIST},
    {"GET", "/jobs/events", route_events, PERM_USER, "Live job events (Server-Sent Events)",
     .query = "jobId,logs,lastEventId", .response = "sse", .errors = "400,503"},
    {"GET", "/jobs/:id", route_job_get, PERM_USER, "One job's DTO",
     .response = "Job", .errors = "404"},
    {"GET", "/jobs/:id/children", route_job_children, PERM_USER,
     "A batch's children, newest first, keyset pagination", .query = "state,preset,q,limit,cursor",
     .response = "JobList", .errors = "400,404,422"},
    {"GET", "/jobs/:id/logs", route_job_logs, PERM_USER, "A job's log lines (?follow=1 streams)",
     .query = "follow", .response = "text", .errors = "404"},
    {"GET", "/jobs/:id/artifacts", route_job_artifacts, PERM_USER, "Files a job produced",
     .response = "ArtifactList", .errors = "404"},
    {"GET", "/jobs/:id/artifacts/:name", route_job_artifact, PERM_USER, "Download one artifact",
     .response = "binary", .errors = "206,304,404,416"},
    {"POST", "/jobs/:id/actions", route_job_action, PERM_USER,
     "Job action: cancel, retry, edit_metadata, rerun_audio",
     JSON, .request = "JobAction", .response = "ActionResult", .errors = "202,400,404,415,422"},
    {"POST", "/jobs/:id/rerun/audio", route_job_rerun_audio, PERM_USER,
     "Redo a finished lesson job's audio as a new child job (rerun_audio)",
     .body = HTTP_BODY_JSON_OPTIONAL, .request = "RerunAudio", .response = "ActionResult",
     .ok = 202,
     .errors = "400,404,415,422"},
    {"POST", "/auth/register", route_auth_register, PERM_PUBLIC,
     "Create an account (the first one becomes admin and needs the setup token)",
     SMALL_JSON, .request = "Register", .ok = 201, .response = "Session",
     .errors = "400,403,409,415,429"},
    {"POST", "/auth/login", route_auth_login, PERM_PUBLIC, "Sign in: a token pair and cookies",
     SMALL_JSON, .request = "Login", .response = "Session", .errors = "400,401,415,429"},
    {"POST", "/auth/refresh", route_auth_refresh, PERM_PUBLIC, "Rotate a refresh token",
     OPTIONAL_JSON, .request = "Refresh", .response = "Session", .errors = "400,401,415"},
    {"POST", "/auth/logout", route_auth_logout, PERM_PUBLIC, "End the session", OPTIONAL_JSON,
     .ok = 204},
    {"GET", "/auth/me", route_auth_me, PERM_USER, "The signed-in user", .response = "User"},
    {"GET", "/user/profile", route_profile_get, PERM_USER, "The signed-in user",
     .response = "User"},
    {"PATCH", "/user/profile", route_profile_patch, PERM_USER,
     "Change name or password (needs currentPassword)",
     SMALL_JSON, .request = "ProfileChange", .response = "User", .errors = "400,403,415"},
    {"GET", "/user/jobs", route_user_jobs, PERM_USER, "The caller's own jobs",
     JOB_LIST},
    {"GET", "/admin/users", route_admin_users, PERM_ADMIN, "Every user", .response = "UserList"},
    {"PATCH", "/admin/users/:id", route_admin_user_patch, PERM_ADMIN,
     "Change a user's role or disable them",
     SMALL_JSON, .request = "UserChange", .response = "User", .errors = "400,404,409,415"},
    {"GET", "/admin/jobs", route_admin_jobs, PERM_ADMIN, "Everyone's jobs",
     JOB_LIST},
    {"GET", "/admin/stats", route_admin_stats, PERM_ADMIN, "Statistics", .response = "Stats"},
    {"POST", "/admin/backup", route_admin_backup, PERM_ADMIN,
     "Online backup of the database into DATA/backups/, integrity-checked",
     .tag = "operations", .ok = 201, .response = "Backup",
     .body_max = 16384 /* none expected: a small one is dropped */},
    {"POST", "/uploads", route_upload, PERM_USER,
     "Upload a file (multipart field \"file\", or raw body with ?filename=)",
     .body = HTTP_BODY_UPLOAD, .query = "filename", .request = "upload", .ok = 201,
     .response = "Upload", .errors = "400,413,415"},
    {"GET", "/files/:id", route_file_get, PERM_USER, "Download an upload (Range, ETag)",
     .response = "binary", .errors = "206,304,404,416"},
    {"DELETE", "/files/:id", route_file_delete, PERM_USER,
     "Delete an upload not used by a live job",
     .ok = 204, .errors = "404,409"},
    {"GET", "/user/files", route_user_files, PERM_USER, "The caller's uploads and quota use",
     .response = "FileList"},
    {"GET", "/metrics", route_metrics, PERM_PUBLIC,
     "Prometheus metrics (admin, or the configured metrics token)",
     .tag = "operations", .response = "metrics", .auth = "metrics"},
    {"GET", "/openapi.json", route_openapi, PERM_PUBLIC, "This API as an OpenAPI 3.1 document",
     .tag = "operations", .response = "OpenApi"},
    {"GET", "/*", route_static, PERM_PUBLIC, "The web UI (embedded assets)",
     .fallback = true},
};

const size_t http_nroutes = sizeof http_routes / sizeof http_routes[0];
