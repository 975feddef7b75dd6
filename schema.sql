-- schema.sql — batchbox's database, embedded into the binary at build time.
--
-- Migrations are the sections below, each starting with a line
-- "-- migration N" (N = 1, 2, ...).  At start-up db.c runs every section
-- whose N is greater than PRAGMA user_version, each in one transaction that
-- also sets user_version = N.  Sections are append-only: never edit a
-- released one, add a new one.  A database whose user_version is newer than
-- the last section here is refused (an older binary must not touch it).

-- migration 1
CREATE TABLE jobs (
    id               INTEGER PRIMARY KEY,
    owner_id         INTEGER,
    state            TEXT    NOT NULL
                     CHECK (state IN ('queued','running','succeeded','failed','canceled')),
    preset           TEXT    NOT NULL,
    md               TEXT,
    input_path       TEXT,
    with_tts         INTEGER NOT NULL DEFAULT 0,
    upload           TEXT    NOT NULL DEFAULT 'auto',
    voice_accent     TEXT,
    force_tts        INTEGER NOT NULL DEFAULT 0,
    notion_database  TEXT,
    mode             TEXT,
    priority         INTEGER NOT NULL DEFAULT 0,
    params           TEXT    NOT NULL DEFAULT '{}',
    progress         REAL    NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 1,
    parent_job_id    INTEGER REFERENCES jobs(id),
    manifest_path    TEXT,
    notion_url       TEXT,
    page_url         TEXT,
    error            TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    interruptions    INTEGER NOT NULL DEFAULT 0,   -- attempts lost to a crash
    lease_until      INTEGER NOT NULL DEFAULT 0,   -- ms; running jobs only
    run_after        INTEGER NOT NULL DEFAULT 0,   -- ms; queued jobs wait until then
    idem_key         TEXT,
    idem_hash        TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER
);
-- The claim walks this partial index in the order it sorts (priority desc,
-- then age): ~20 µs even with a deep queue (MEASUREMENTS.md).
CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE state = 'queued';
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_preset ON jobs (preset, id);
CREATE INDEX jobs_owner ON jobs (owner_id, id);
CREATE UNIQUE INDEX jobs_idem ON jobs (ifnull(owner_id, 0), idem_key)
    WHERE idem_key IS NOT NULL;

-- The job event log.  id is the SSE event id: AUTOINCREMENT keeps it
-- monotonic even after retention deletes the newest-but-one rows.
CREATE TABLE job_events (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    job_id     INTEGER NOT NULL,
    owner_id   INTEGER,
    type       TEXT    NOT NULL,
    payload    TEXT    NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX job_events_job ON job_events (job_id, id);

-- Output lines of jobs (stdout/stderr of commands, step messages).
CREATE TABLE job_logs (
    id      INTEGER PRIMARY KEY,
    job_id  INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    stream  TEXT    NOT NULL,
    line    TEXT    NOT NULL,
    ts      INTEGER NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);

-- Files a job produced.  storage/location say where the bytes are.
CREATE TABLE artifacts (
    job_id       INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    storage      TEXT    NOT NULL DEFAULT 'fs',
    location     TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (job_id, name)
);

-- migration 2
-- Accounts.  Emails are stored lower-case; password_hash is argon2id
-- (libsodium crypto_pwhash_str).
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    email         TEXT    NOT NULL UNIQUE,
    name          TEXT,
    role          TEXT    NOT NULL CHECK (role IN ('admin','user')),
    password_hash TEXT    NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
);

-- One sign-in = one session = one refresh-token family.
CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

-- Tokens are random; only their SHA-256 is stored.  A refresh token is
-- spent (spent_at) when rotated; presenting it again revokes its session.
CREATE TABLE tokens (
    hash       BLOB    PRIMARY KEY,
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('access','refresh')),
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER
) WITHOUT ROWID;
CREATE INDEX tokens_session ON tokens (session_id);

-- Admin statistics: jobs per hour and durations per preset.
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_finished ON jobs (state, finished_at);

-- migration 3
-- Uploaded files.  The bytes live in the storage driver under `key`
-- (fs: below the data directory; s3: in the bucket); filename is the
-- sanitized name the client gave and is never used as a path.
CREATE TABLE files (
    id           INTEGER PRIMARY KEY,
    owner_id     INTEGER,
    filename     TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    sha256       TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    storage      TEXT    NOT NULL,
    key          TEXT    NOT NULL,
    created_at   INTEGER NOT NULL
);
CREATE INDEX files_owner ON files (owner_id, id);
ALTER TABLE jobs ADD COLUMN file_id INTEGER REFERENCES files(id);
CREATE INDEX jobs_file ON jobs (file_id) WHERE file_id IS NOT NULL;

-- migration 4
-- The lesson workflow: a rerun_audio job may name one voice for every
-- speaker (voiceId); NULL = chosen by voiceAccent.
ALTER TABLE jobs ADD COLUMN voice_id TEXT;

-- migration 5
-- Batches (docs/batches.md): a parent job of kind 'batch' and its children,
-- ordinary jobs whose batch_id names the parent.  Picks mark the outputs a
-- user keeps; templates are saved form values of a preset.
ALTER TABLE jobs ADD COLUMN kind TEXT NOT NULL DEFAULT 'job'
    CHECK (kind IN ('job','batch'));
ALTER TABLE jobs ADD COLUMN batch_id INTEGER REFERENCES jobs(id);
ALTER TABLE jobs ADD COLUMN sweep TEXT;  -- batch parents: the request's sweep (JSON)
CREATE INDEX jobs_batch ON jobs (batch_id, id) WHERE batch_id IS NOT NULL;
ALTER TABLE artifacts ADD COLUMN picked INTEGER NOT NULL DEFAULT 0;
CREATE TABLE templates (
    id         INTEGER PRIMARY KEY,
    owner_id   INTEGER REFERENCES users(id) ON DELETE CASCADE,
    preset     TEXT    NOT NULL,
    name       TEXT    NOT NULL,
    params     TEXT    NOT NULL DEFAULT '{}',
    sweep      TEXT,
    shared     INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE UNIQUE INDEX templates_name ON templates (ifnull(owner_id, 0), preset, name);

-- migration 6
-- Data integrity (docs/operations.md, "Crash recovery" and "Health"): the
-- process group of each running command attempt, so start-up can end the
-- groups a killed server left behind (only those whose leader still has
-- the recorded start time and boot), the table the write probe of /health
-- and of start-up writes (one row; a second is rolled back), and the event
-- id epochs: each start raises the job_events id sequence to at least the
-- clock (microseconds), so SSE ids never go backwards, even after a backup
-- is restored; an id inside an epoch's gap belongs to a lost timeline.
CREATE TABLE job_procs (
    job_id   INTEGER PRIMARY KEY REFERENCES jobs(id) ON DELETE CASCADE,
    attempt  INTEGER NOT NULL,
    pgid     INTEGER NOT NULL,
    started  INTEGER NOT NULL,   -- the leader's start, clock ticks after boot
    boot_id  TEXT    NOT NULL    -- /proc/sys/kernel/random/boot_id then
);
CREATE TABLE write_probe (
    id  INTEGER PRIMARY KEY,
    at  INTEGER NOT NULL,
    pad BLOB                     -- the probe's page allocation, rolled back
);
CREATE TABLE event_epochs (
    floor    INTEGER PRIMARY KEY,   -- the sequence was raised to this id
    prev_max INTEGER NOT NULL,      -- the newest event id the database had then
    at       INTEGER NOT NULL
);

-- migration 7
-- The bytes of each job's log lines (docs/operations.md): kept as lines are
-- stored, so the log cap (limits.maxLogBytes) and the user quota, which
-- counts logs and artifacts besides uploads, need no scan of job_logs.
ALTER TABLE jobs ADD COLUMN log_bytes INTEGER NOT NULL DEFAULT 0;
UPDATE jobs SET log_bytes = (SELECT ifnull(sum(length(CAST(line AS BLOB))), 0)
                             FROM job_logs WHERE job_logs.job_id = jobs.id);

-- migration 8
-- Batch parents (docs/batches.md): the counts of their children by state,
-- refreshed in the transaction that changes a child, and when the parent's
-- last coalesced update was published.  Parents are never claimed: the
-- claim index holds ordinary queued jobs only.
ALTER TABLE jobs ADD COLUMN batch_total INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN batch_queued INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN batch_running INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN batch_succeeded INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN batch_failed INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN batch_canceled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE jobs ADD COLUMN batch_event_at INTEGER NOT NULL DEFAULT 0;
DROP INDEX jobs_claim;
CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE state = 'queued' AND kind = 'job';
CREATE INDEX jobs_batch_state ON jobs (batch_id, state) WHERE batch_id IS NOT NULL;
CREATE INDEX jobs_batch_open ON jobs (updated_at) WHERE kind = 'batch'
    AND state IN ('queued', 'running');

-- migration 9
-- Why a job that has not started cannot start yet (the DTO's waitingFor):
-- the jobs it depends on, a resource pool, a paused queue, a rate limit.
-- NULL when nothing holds it back.
ALTER TABLE jobs ADD COLUMN waiting_for TEXT;

-- migration 10
-- foreign_keys: off
-- Scheduling (docs/scheduling.md).  Two more job states: `scheduled` (runAt
-- in the future) and `waiting` (dependencies not met yet).  SQLite cannot
-- alter a CHECK constraint, so the jobs table is rebuilt with SQLite's
-- documented procedure (create, copy, drop, rename, indexes again).  The
-- line "-- foreign_keys: off" above makes the migration runner run this
-- section with foreign keys off (a DROP TABLE with them on would delete
-- the job_logs, artifacts and job_procs rows that cascade) and check them
-- (PRAGMA foreign_key_check) before it commits.  New columns: run_at (ms,
-- the time a scheduled job becomes queued), schedule_id (the schedule
-- that created the job) and run_when (the dependency condition).
CREATE TABLE jobs_new (
    id               INTEGER PRIMARY KEY,
    owner_id         INTEGER,
    state            TEXT    NOT NULL
                     CHECK (state IN ('queued','running','succeeded','failed','canceled',
                                      'scheduled','waiting')),
    preset           TEXT    NOT NULL,
    md               TEXT,
    input_path       TEXT,
    with_tts         INTEGER NOT NULL DEFAULT 0,
    upload           TEXT    NOT NULL DEFAULT 'auto',
    voice_accent     TEXT,
    force_tts        INTEGER NOT NULL DEFAULT 0,
    notion_database  TEXT,
    mode             TEXT,
    priority         INTEGER NOT NULL DEFAULT 0,
    params           TEXT    NOT NULL DEFAULT '{}',
    progress         REAL    NOT NULL DEFAULT 0,
    attempts         INTEGER NOT NULL DEFAULT 0,
    max_attempts     INTEGER NOT NULL DEFAULT 1,
    parent_job_id    INTEGER REFERENCES jobs(id),
    manifest_path    TEXT,
    notion_url       TEXT,
    page_url         TEXT,
    error            TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    interruptions    INTEGER NOT NULL DEFAULT 0,
    lease_until      INTEGER NOT NULL DEFAULT 0,
    run_after        INTEGER NOT NULL DEFAULT 0,
    idem_key         TEXT,
    idem_hash        TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    started_at       INTEGER,
    finished_at      INTEGER,
    file_id          INTEGER REFERENCES files(id),
    voice_id         TEXT,
    kind             TEXT    NOT NULL DEFAULT 'job' CHECK (kind IN ('job','batch')),
    batch_id         INTEGER REFERENCES jobs(id),
    sweep            TEXT,
    log_bytes        INTEGER NOT NULL DEFAULT 0,
    batch_total      INTEGER NOT NULL DEFAULT 0,
    batch_queued     INTEGER NOT NULL DEFAULT 0,
    batch_running    INTEGER NOT NULL DEFAULT 0,
    batch_succeeded  INTEGER NOT NULL DEFAULT 0,
    batch_failed     INTEGER NOT NULL DEFAULT 0,
    batch_canceled   INTEGER NOT NULL DEFAULT 0,
    batch_event_at   INTEGER NOT NULL DEFAULT 0,
    waiting_for      TEXT,
    run_at           INTEGER,
    schedule_id      INTEGER,
    run_when         TEXT    CHECK (run_when IN ('success','failure','always'))
);
INSERT INTO jobs_new (id, owner_id, state, preset, md, input_path, with_tts, upload,
    voice_accent, force_tts, notion_database, mode, priority, params, progress, attempts,
    max_attempts, parent_job_id, manifest_path, notion_url, page_url, error,
    cancel_requested, interruptions, lease_until, run_after, idem_key, idem_hash, created_at,
    updated_at, started_at, finished_at, file_id, voice_id, kind, batch_id, sweep, log_bytes,
    batch_total, batch_queued, batch_running, batch_succeeded, batch_failed, batch_canceled,
    batch_event_at, waiting_for)
SELECT id, owner_id, state, preset, md, input_path, with_tts, upload,
    voice_accent, force_tts, notion_database, mode, priority, params, progress, attempts,
    max_attempts, parent_job_id, manifest_path, notion_url, page_url, error,
    cancel_requested, interruptions, lease_until, run_after, idem_key, idem_hash, created_at,
    updated_at, started_at, finished_at, file_id, voice_id, kind, batch_id, sweep, log_bytes,
    batch_total, batch_queued, batch_running, batch_succeeded, batch_failed, batch_canceled,
    batch_event_at, waiting_for FROM jobs;
DROP TABLE jobs;
ALTER TABLE jobs_new RENAME TO jobs;
CREATE INDEX jobs_claim ON jobs (priority DESC, id) WHERE state = 'queued' AND kind = 'job';
CREATE INDEX jobs_running ON jobs (lease_until) WHERE state = 'running';
CREATE INDEX jobs_state ON jobs (state, id);
CREATE INDEX jobs_preset ON jobs (preset, id);
CREATE INDEX jobs_owner ON jobs (owner_id, id);
CREATE UNIQUE INDEX jobs_idem ON jobs (ifnull(owner_id, 0), idem_key)
    WHERE idem_key IS NOT NULL;
CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_finished ON jobs (state, finished_at);
CREATE INDEX jobs_file ON jobs (file_id) WHERE file_id IS NOT NULL;
CREATE INDEX jobs_batch ON jobs (batch_id, id) WHERE batch_id IS NOT NULL;
CREATE INDEX jobs_batch_state ON jobs (batch_id, state) WHERE batch_id IS NOT NULL;
CREATE INDEX jobs_batch_open ON jobs (updated_at) WHERE kind = 'batch'
    AND state IN ('queued', 'running');
-- the scheduler's next due time and its promotion pass
CREATE INDEX jobs_scheduled ON jobs (run_at) WHERE state = 'scheduled';
-- Dependencies: job_id runs once its dep_ids ended as its run_when asks.
CREATE TABLE job_deps (
    job_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    dep_id INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, dep_id)
) WITHOUT ROWID;
CREATE INDEX job_deps_dep ON job_deps (dep_id, job_id);
-- Recurring schedules: `job` is a submit body (JSON); next_run_at is NULL
-- while paused.  Times are ms since the epoch.
CREATE TABLE schedules (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER REFERENCES users(id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    cron        TEXT    NOT NULL,
    timezone    TEXT    NOT NULL DEFAULT 'UTC',
    job         TEXT    NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    overlap     TEXT    NOT NULL DEFAULT 'skip' CHECK (overlap IN ('skip','queue')),
    catch_up    TEXT    NOT NULL DEFAULT 'none' CHECK (catch_up IN ('none','one')),
    next_run_at INTEGER,
    last_run_at INTEGER,
    last_job_id INTEGER,
    last_error  TEXT,               -- why the last due run created no job
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX schedules_due ON schedules (next_run_at) WHERE next_run_at IS NOT NULL;
CREATE INDEX schedules_owner ON schedules (owner_id, id);

-- migration 11
-- Translation review (docs/translate.md, "Review" and "Memory"): the
-- segments of a translate job, one row per translatable unit in document
-- order (n from 1), edited through the review API; `version` grows with
-- each edit so a stale edit is refused.  `meta` is the writers' own JSON
-- (where the segment sits in the document), opaque to everything else.
CREATE TABLE segments (
    job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    n          INTEGER NOT NULL,
    source     TEXT    NOT NULL,
    target     TEXT    NOT NULL DEFAULT '',
    origin     TEXT    NOT NULL DEFAULT 'mt' CHECK (origin IN ('mt','tm','edited')),
    state      TEXT    NOT NULL DEFAULT 'translated'
               CHECK (state IN ('translated','reviewed')),
    flags      TEXT    NOT NULL DEFAULT '[]',   -- JSON array of QA findings
    nflags     INTEGER NOT NULL DEFAULT 0,      -- its length (the flagged filter)
    version    INTEGER NOT NULL DEFAULT 1,
    meta       TEXT,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (job_id, n)
) WITHOUT ROWID;
CREATE INDEX segments_flagged ON segments (job_id, n) WHERE nflags > 0;
-- The translation memory: reviewed targets by owner (0 = shared by an
-- admin with everybody), language pair and source text.  source_hash
-- (BLAKE2b of the source, hex) keeps the unique index small; lookups
-- compare the text too.
CREATE TABLE tm_entries (
    id          INTEGER PRIMARY KEY,
    owner_id    INTEGER NOT NULL DEFAULT 0,
    pair        TEXT    NOT NULL,
    source_hash TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    target      TEXT    NOT NULL,
    job_id      INTEGER,                        -- the job it was reviewed in
    updated_at  INTEGER NOT NULL,
    UNIQUE (owner_id, pair, source_hash)
);

-- migration 12
-- Flow control (docs/scheduling.md): what a job needs from the resource
-- pools (JSON object, e.g. {"gpu": 1, "vram": 12}; NULL = nothing) and the
-- units it holds while running (JSON, e.g. {"gpu": [0], "vram": 12}; NULL
-- otherwise: cleared by every transition out of running, so units held are
-- always derived from the running jobs).  queue_pauses: the paused queues,
-- one row per paused preset, preset '' = every preset.
ALTER TABLE jobs ADD COLUMN needs TEXT;
ALTER TABLE jobs ADD COLUMN resources TEXT;
CREATE TABLE queue_pauses (
    preset TEXT PRIMARY KEY,
    paused_at INTEGER NOT NULL,
    paused_by INTEGER
);

-- migration 13
-- Integrations (docs/integrations.md).  API keys: only the SHA-256 of a
-- key is kept (a key is 256 random bits, so a fast hash is enough: there
-- is nothing to guess); prefix is the key's first characters, shown in
-- lists so a user can tell keys apart.  last_used_at is written at most
-- once a minute per key.  Webhook deliveries: one row per event sent to
-- one target, with its tries; deleted with the job.  jobs.notify: the
-- webhook targets a job was submitted with (JSON array), NULL = none.
CREATE TABLE api_keys (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    scope        TEXT    NOT NULL CHECK (scope IN ('read','submit','admin')),
    hash         BLOB    NOT NULL UNIQUE,
    prefix       TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER,
    last_used_at INTEGER,
    revoked_at   INTEGER
);
CREATE INDEX api_keys_user ON api_keys (user_id, id);
CREATE TABLE webhook_deliveries (
    id          INTEGER PRIMARY KEY,
    job_id      INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    event_id    INTEGER NOT NULL,
    event       TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    state       TEXT    NOT NULL
                CHECK (state IN ('pending','delivered','failed','dropped')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_status INTEGER,
    last_error  TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX webhook_deliveries_job ON webhook_deliveries (job_id, id);
ALTER TABLE jobs ADD COLUMN notify TEXT;

-- migration 14
-- Each owner's stored bytes (the quota, docs/operations.md): uploads, the
-- artifacts of their jobs and their jobs' log bytes, kept by triggers in
-- the transactions that change them, so a submit reads one row instead of
-- summing every job the owner has (which grew with the history: ~3.6 ms of
-- CPU per submit at 20,000 jobs).  owner_key is the owner id, 0 = none.
-- An artifact deleted by the cascade of its job's delete finds no job and
-- changes nothing: the job's BEFORE DELETE trigger subtracted it already.
-- A migration that rebuilds jobs, files or artifacts must create these
-- triggers again.
CREATE TABLE user_usage (
    owner_key INTEGER PRIMARY KEY,
    bytes     INTEGER NOT NULL DEFAULT 0
);
INSERT INTO user_usage (owner_key, bytes)
    SELECT k, sum(b) FROM (
        SELECT ifnull(owner_id, 0) AS k, size AS b FROM files
        UNION ALL SELECT ifnull(j.owner_id, 0), a.size FROM artifacts a
            JOIN jobs j ON j.id = a.job_id
        UNION ALL SELECT ifnull(owner_id, 0), log_bytes FROM jobs WHERE log_bytes <> 0)
    GROUP BY k;
CREATE TRIGGER usage_file_add AFTER INSERT ON files BEGIN
    INSERT INTO user_usage (owner_key, bytes) VALUES (ifnull(NEW.owner_id, 0), NEW.size)
        ON CONFLICT (owner_key) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER usage_file_del AFTER DELETE ON files BEGIN
    UPDATE user_usage SET bytes = bytes - OLD.size WHERE owner_key = ifnull(OLD.owner_id, 0);
END;
CREATE TRIGGER usage_artifact_add AFTER INSERT ON artifacts BEGIN
    INSERT INTO user_usage (owner_key, bytes)
        SELECT ifnull(owner_id, 0), NEW.size FROM jobs WHERE id = NEW.job_id
        ON CONFLICT (owner_key) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER usage_artifact_del AFTER DELETE ON artifacts BEGIN
    UPDATE user_usage SET bytes = bytes - OLD.size
        WHERE owner_key = (SELECT ifnull(owner_id, 0) FROM jobs WHERE id = OLD.job_id);
END;
CREATE TRIGGER usage_job_logs AFTER UPDATE OF log_bytes ON jobs
    WHEN NEW.log_bytes <> OLD.log_bytes BEGIN
    INSERT INTO user_usage (owner_key, bytes)
        VALUES (ifnull(NEW.owner_id, 0), NEW.log_bytes - OLD.log_bytes)
        ON CONFLICT (owner_key) DO UPDATE SET bytes = bytes + excluded.bytes;
END;
CREATE TRIGGER usage_job_del BEFORE DELETE ON jobs BEGIN
    UPDATE user_usage SET bytes = bytes - OLD.log_bytes
        - (SELECT ifnull(sum(size), 0) FROM artifacts WHERE job_id = OLD.id)
        WHERE owner_key = ifnull(OLD.owner_id, 0);
END;

-- migration 15
-- ComfyUI (docs/comfyui.md).  comfyui_servers: the servers admins added
-- or changed at run time; those of the configuration are merged in at
-- start (source 'config': the file's url wins, an admin's enabled, slots
-- and labels stay).  comfyui_prompts: every prompt batchbox made for a
-- job, stored BEFORE it is posted, so a restarted batchbox asks the server
-- about it instead of posting it again.  comfyui_meta: 'client_id', the
-- install's WebSocket client id.
CREATE TABLE comfyui_servers (
    id         TEXT    PRIMARY KEY,
    url        TEXT    NOT NULL,
    slots      INTEGER NOT NULL DEFAULT 1 CHECK (slots BETWEEN 1 AND 64),
    labels     TEXT    NOT NULL DEFAULT '[]',
    enabled    INTEGER NOT NULL DEFAULT 1,
    source     TEXT    NOT NULL DEFAULT 'api' CHECK (source IN ('config','api')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE TABLE comfyui_prompts (
    prompt_id  TEXT    PRIMARY KEY,
    job_id     INTEGER NOT NULL REFERENCES jobs(id) ON DELETE CASCADE,
    attempt    INTEGER NOT NULL,
    server_id  TEXT    NOT NULL,
    state      TEXT    NOT NULL
               CHECK (state IN ('posting','queued','running','succeeded','failed',
                                'interrupted','lost')),
    error      TEXT,
    detail     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX comfyui_prompts_job ON comfyui_prompts (job_id, created_at);
CREATE TABLE comfyui_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- migration 16
-- The earliest future run_after of a queued job (a delayed retry), which
-- every claim cycle that finds nothing to run reads to know how long to
-- sleep: without this index that read visits every queued row.
CREATE INDEX jobs_due ON jobs (run_after) WHERE state = 'queued' AND kind = 'job';
-- The prompts still open on a server, read when it comes back up to take
-- off it those whose job no longer follows them (docs/comfyui.md).
CREATE INDEX comfyui_prompts_open ON comfyui_prompts (server_id, created_at)
    WHERE state IN ('posting', 'queued', 'running', 'lost');
