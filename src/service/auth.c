/* auth.c — accounts and sessions (see auth.h).
 *
 * Passwords: argon2id via crypto_pwhash_str with the INTERACTIVE limits
 * (64 MiB, 2 passes: ~60 ms per hash on this machine).  Each hash needs its
 * 64 MiB, so at most HASH_SLOTS run at once (a semaphore); a burst of logins
 * queues instead of exhausting memory.
 * Tokens: 32 random bytes (randombytes_buf), base64url, with a prefix
 * saying their kind; the database keeps only their SHA-256.
 * Login failures are counted in memory (ratelimit below): per client
 * address + email (5 in 15 min) and per email over all addresses (50 in
 * 15 min) — the per-account limits, which refuse (429) — and per client
 * address (20 in 15 min), which only slows that address down: past it
 * the address gets one attempt per pause, ADDR_DELAY_STEP_MS longer with
 * each failure past the budget, up to ADDR_DELAY_MAX_MS; an attempt
 * inside the pause is answered 429 with Retry-After at once (no sleeping:
 * a sleep would hold one of the server's few request threads, and a flood
 * of them would hold them all), and one after it is answered on its
 * merits, so a correct password is never refused for the address's sake
 * once the client waits as told (behind a proxy every user may share one;
 * the address is the one http_client_addr believes, docs/operations.md).
 * Wrong email and wrong password give the same answer in about the same
 * time: an unknown email is verified against a dummy hash. */
#include "service/auth.h"

#include <ctype.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "cJSON.h"
#include "util/log.h"
#include "util/util.h"

#define HASH_SLOTS 2
#define RL_WINDOW_MS (15 * 60 * 1000)
#define RL_PAIR_LIMIT 5
#define RL_ADDR_LIMIT 20
#define RL_EMAIL_LIMIT 50
#define RL_SLOTS 4096
#define ADDR_DELAY_STEP_MS 250
#define ADDR_DELAY_MAX_MS 3000

/* ---- hashing ------------------------------------------------------------ */

static sem_t hash_slots;
static pthread_once_t hash_once = PTHREAD_ONCE_INIT;
static char dummy_hash[crypto_pwhash_STRBYTES];

static void hash_init(void)
{
    sem_init(&hash_slots, 0, HASH_SLOTS);
    char pw[32];
    randombytes_buf(pw, sizeof pw - 1);
    for (size_t i = 0; i < sizeof pw - 1; i++)
        pw[i] = (char)('a' + (unsigned char)pw[i] % 26);
    pw[sizeof pw - 1] = '\0';
    if (crypto_pwhash_str(dummy_hash, pw, strlen(pw), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0';
}

static void slot_take(void)
{
    pthread_once(&hash_once, hash_init);
    while (sem_wait(&hash_slots) != 0)
        ;
}

static void slot_give(void) { sem_post(&hash_slots); }

int auth_hash_password(const char *password, char out[AUTH_HASH_MAX])
{
    char h[crypto_pwhash_STRBYTES];
    slot_take();
    int rc = crypto_pwhash_str(h, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                               crypto_pwhash_MEMLIMIT_INTERACTIVE);
    slot_give();
    if (rc != 0)
        return -1;
    bb_strlcpy(out, h, AUTH_HASH_MAX);
    return 0;
}

bool auth_verify_password(const char *hash, const char *password)
{
    slot_take();
    bool ok = hash && *hash && crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
    slot_give();
    return ok;
}

/* ---- validation --------------------------------------------------------- */

bool auth_check_password(const char *password, const char *field, bb_errctx *e)
{
    size_t n = password ? strlen(password) : 0;
    if (!password) {
        bb_fail_field(e, field, "is required");
        return false;
    }
    if (n < 8) {
        bb_fail_field(e, field, "must be at least 8 characters");
        return false;
    }
    if (n > 1024) {
        bb_fail_field(e, field, "must be at most 1024 characters");
        return false;
    }
    if (!bb_utf8_valid(password, n)) {
        bb_fail_field(e, field, "must be valid UTF-8");
        return false;
    }
    return true;
}

bool auth_normalize_email(const char *email, char out[256], const char *field, bb_errctx *e)
{
    if (!email || !*email) {
        bb_fail_field(e, field, "is required");
        return false;
    }
    size_t n = strlen(email);
    const char *at = strchr(email, '@');
    bool ok = n <= 254 && at && at != email && at[1] && !strchr(at + 1, '@') &&
              strchr(at + 1, '.') && email[n - 1] != '.';
    for (const char *p = email; ok && *p; p++)
        ok = (unsigned char)*p > 0x20 && *p != 0x7f && *p != '<' && *p != '>' && *p != ',';
    if (!ok || !bb_utf8_valid(email, n)) {
        bb_fail_field(e, field, "is not an email address");
        return false;
    }
    for (size_t i = 0; i <= n; i++)
        out[i] = (char)tolower((unsigned char)email[i]);
    return true;
}

int auth_create_user(db *d, const char *email, const char *name, const char *role,
                     const char *password, bool first_only, user *out, bb_errctx *e)
{
    char norm[256];
    memset(out, 0, sizeof *out);
    auth_normalize_email(email, norm, "email", e);
    auth_check_password(password, "password", e);
    if (name && strlen(name) > 200)
        bb_fail_field(e, "name", "must be at most 200 characters");
    if (!user_role_valid(role))
        bb_fail_field(e, "role", "must be admin or user");
    if (e->code != BB_OK)
        return e->code;
    char hash[AUTH_HASH_MAX];
    if (auth_hash_password(password, hash) != 0)
        return bb_fail(e, BB_EINTERNAL, "password hashing failed (out of memory)");
    out->email = strdup(norm);
    out->name = name && *name ? strdup(name) : NULL;
    out->role = strdup(role);
    out->password_hash = strdup(hash);
    sodium_memzero(hash, sizeof hash);
    int rc = repo_user_create(d, out, first_only);
    if (rc == BB_ECONFLICT)
        return first_only ? bb_fail(e, BB_EFORBIDDEN, "an account already exists")
                          : bb_fail(e, BB_ECONFLICT, "an account with this email already exists");
    if (rc != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    return BB_OK;
}

/* ---- tokens ------------------------------------------------------------- */

static void token_hash(const char *token, unsigned char out[TOKEN_HASH_BYTES])
{
    crypto_hash_sha256(out, (const unsigned char *)token, strlen(token));
}

static void make_token(const char *prefix, char out[64])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    size_t pl = strlen(prefix);
    memcpy(out, prefix, pl);
    sodium_bin2base64(out + pl, 64 - pl, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

/* Opens a session for u and fills t. */
static int issue(bb_app *app, const user *u, struct auth_tokens *t, bb_errctx *e)
{
    memset(t, 0, sizeof *t);
    make_token("bba_", t->access);
    make_token("bbr_", t->refresh);
    unsigned char ah[TOKEN_HASH_BYTES], rh[TOKEN_HASH_BYTES];
    token_hash(t->access, ah);
    token_hash(t->refresh, rh);
    int64_t now = bb_now_ms();
    t->expires_in = app->cfg->auth.access_ttl_sec;
    int rc = repo_session_create(app->db, u->id, ah, now + app->cfg->auth.access_ttl_sec * 1000,
                                 rh, now + app->cfg->auth.refresh_ttl_sec * 1000, &t->session_id);
    if (rc != BB_OK) {
        sodium_memzero(t, sizeof *t);
        return bb_fail(e, BB_EIO, "database error");
    }
    return BB_OK;
}

int auth_check_access(bb_app *app, const char *token, struct token_info *out)
{
    if (!token || strncmp(token, "bba_", 4) != 0 || strlen(token) > 100)
        return BB_EAUTH;
    unsigned char h[TOKEN_HASH_BYTES];
    token_hash(token, h);
    /* the lookup is by hash: timing reveals nothing about the token */
    return repo_token_check(app->db, h, bb_now_ms(), out);
}

void auth_csrf_value(const char *refresh_token, char out[AUTH_CSRF_MAX])
{
    static const char ctx[] = "batchbox csrf v1\x1f";
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)ctx, sizeof ctx - 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)refresh_token, strlen(refresh_token));
    crypto_hash_sha256_final(&st, h);
    sodium_bin2base64(out, AUTH_CSRF_MAX, h, 24, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(h, sizeof h);
}

bool auth_csrf_ok(bb_app *app, int64_t session_id, const char *refresh_token,
                  const char *given)
{
    if (!refresh_token || strncmp(refresh_token, "bbr_", 4) != 0 || strlen(refresh_token) > 100 ||
        !given)
        return false;
    char want[AUTH_CSRF_MAX];
    auth_csrf_value(refresh_token, want);
    size_t n = strlen(want);
    bool ok = strlen(given) == n && sodium_memcmp(given, want, n) == 0;
    sodium_memzero(want, sizeof want);
    if (!ok || !session_id)
        return ok;
    unsigned char h[TOKEN_HASH_BYTES];
    token_hash(refresh_token, h);
    int64_t sid = 0;
    return repo_session_of_refresh(app->db, h, &sid) == BB_OK && sid == session_id;
}

/* ---- rate limiting ------------------------------------------------------ */

struct rl_entry {
    uint64_t key;            /* 0 = free */
    int64_t window_start;
    int count;
    int64_t next_ms;         /* per-address pacing: no attempt before this */
};

static struct rl_entry rl_table[RL_SLOTS];
static pthread_mutex_t rl_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned char rl_key_secret[crypto_shorthash_KEYBYTES];
static pthread_once_t rl_once = PTHREAD_ONCE_INIT;

static void rl_init(void) { randombytes_buf(rl_key_secret, sizeof rl_key_secret); }

static uint64_t rl_key(const char *kind, const char *a, const char *b)
{
    pthread_once(&rl_once, rl_init);
    char buf[600];
    snprintf(buf, sizeof buf, "%s\x1f%s\x1f%s", kind, a ? a : "", b ? b : "");
    uint64_t k;
    crypto_shorthash((unsigned char *)&k, (const unsigned char *)buf, strlen(buf), rl_key_secret);
    return k ? k : 1;
}

/* Finds (or, with create, makes) the entry for key.  Caller holds rl_mu.
 * The table is open-addressed; expired entries are reused, and when full
 * the oldest in the probe window is evicted. */
static struct rl_entry *rl_find(uint64_t key, int64_t now, bool create)
{
    size_t start = (size_t)(key % RL_SLOTS);
    struct rl_entry *victim = NULL;
    for (size_t i = 0; i < 64; i++) {
        struct rl_entry *en = &rl_table[(start + i) % RL_SLOTS];
        if (en->key == key) {
            if (now - en->window_start >= RL_WINDOW_MS) {
                en->window_start = now;
                en->count = 0;
            }
            return en;
        }
        bool expired = en->key == 0 || now - en->window_start >= RL_WINDOW_MS;
        if (expired && !victim)
            victim = en;
    }
    if (!create)
        return NULL;
    if (!victim) {
        victim = &rl_table[start];
        for (size_t i = 1; i < 64; i++) {
            struct rl_entry *en = &rl_table[(start + i) % RL_SLOTS];
            if (en->window_start < victim->window_start)
                victim = en;
        }
    }
    victim->key = key;
    victim->window_start = now;
    victim->count = 0;
    victim->next_ms = 0;
    return victim;
}

/* Seconds until key may try again (0 = allowed). */
static int rl_wait(uint64_t key, int limit, int64_t now)
{
    struct rl_entry *en = rl_find(key, now, false);
    if (!en || en->count < limit)
        return 0;
    int64_t left = en->window_start + RL_WINDOW_MS - now;
    return (int)((left + 999) / 1000);
}

/* How many failures key has past limit - 1 (0 while under it). */
static int rl_excess(uint64_t key, int limit, int64_t now)
{
    struct rl_entry *en = rl_find(key, now, false);
    return en && en->count >= limit ? en->count - limit + 1 : 0;
}

/* The pause of an address `excess` failures past its budget. */
static int64_t rl_pause_ms(int excess)
{
    int64_t pause = (int64_t)excess * ADDR_DELAY_STEP_MS;
    return pause > ADDR_DELAY_MAX_MS ? ADDR_DELAY_MAX_MS : pause;
}

/* Pacing of an address past its budget (excess failures over it): 0 when
 * an attempt may go ahead now (the next one then waits a pause: attempts
 * in parallel do not slip through together), else the seconds to wait.
 * A failure starts the pause again (rl_count).  Caller holds rl_mu. */
static int rl_pace(uint64_t key, int excess, int64_t now)
{
    struct rl_entry *en = rl_find(key, now, false);
    if (!en || excess <= 0)
        return 0;
    if (now < en->next_ms)
        return (int)((en->next_ms - now + 999) / 1000);
    en->next_ms = now + rl_pause_ms(excess);
    return 0;
}

/* Counts a failure of key at now; a failure past limit starts a pause. */
static void rl_count(uint64_t key, int limit, int64_t now)
{
    struct rl_entry *en = rl_find(key, now, true);
    if (!en)
        return;
    en->count++;
    if (en->count > limit)
        en->next_ms = now + rl_pause_ms(en->count - limit);
}

static void rl_clear(uint64_t key, int64_t now)
{
    struct rl_entry *en = rl_find(key, now, false);
    if (en)
        en->count = 0;
}

/* ---- use cases ---------------------------------------------------------- */

static void reject_unknown(const cJSON *body, const char *const *known, size_t n, bb_errctx *e)
{
    for (const cJSON *it = body->child; it; it = it->next) {
        bool ok = false;
        for (size_t i = 0; i < n && it->string; i++)
            ok |= strcmp(it->string, known[i]) == 0;
        if (!ok)
            bb_fail_field(e, it->string ? it->string : "?", "unknown field");
    }
}

/* A body must be a JSON object (else BB_EINVAL, returned) whose members
 * are all known (each unknown one is a field error; BB_OK is returned so
 * the caller goes on to report the other fields too). */
static int object_with_known(const cJSON *body, const char *const *known, size_t n,
                             bb_errctx *e)
{
    if (!cJSON_IsObject(body))
        return bb_fail(e, BB_EINVAL, "the request body must be a JSON object");
    reject_unknown(body, known, n, e);
    return BB_OK;
}

int auth_first_run(bb_app *app, char *setup_token, char *err, size_t errlen)
{
    setup_token[0] = '\0';
    atomic_store(&app->setup_open, false);
    int64_t n = 0;
    if (repo_user_count(app->db, &n) != BB_OK) {
        snprintf(err, errlen, "cannot count users (database error)");
        return -1;
    }
    if (n > 0)
        return 0;
    const char *email = getenv("BATCHBOX_ADMIN_EMAIL");
    const char *password = getenv("BATCHBOX_ADMIN_PASSWORD");
    if (email && *email && password && *password) {
        bb_errctx e = {0};
        user u;
        int rc = auth_create_user(app->db, email, NULL, "admin", password, true, &u, &e);
        if (rc != BB_OK && rc != BB_EFORBIDDEN) {
            snprintf(err, errlen, "BATCHBOX_ADMIN_EMAIL/BATCHBOX_ADMIN_PASSWORD: %s", e.message);
            bb_err_clear(&e);
            return -1;
        }
        if (rc == BB_OK)
            bb_info("created the first admin from the environment", "email", u.email);
        user_clear(&u);
        bb_err_clear(&e);
        return 0;
    }
    make_token("bbs_", setup_token);
    crypto_hash_sha256(app->setup_hash, (const unsigned char *)setup_token, strlen(setup_token));
    atomic_store(&app->setup_open, true);
    return 0;
}

int auth_register(bb_app *app, const cJSON *body, user *u, struct auth_tokens *t, bb_errctx *e)
{
    static const char *const known[] = {"email", "password", "name", "setupToken"};
    memset(u, 0, sizeof *u);
    if (object_with_known(body, known, 4, e) != BB_OK)
        return e->code;
    const char *email = bb_json_opt_string(body, "email", e);
    const char *password = bb_json_opt_string(body, "password", e);
    const char *name = bb_json_opt_string(body, "name", e);
    const char *setup = bb_json_opt_string(body, "setupToken", e);
    if (e->code != BB_OK)
        return e->code;
    int64_t n = 0;
    if (repo_user_count(app->db, &n) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    bool first = n == 0;
    if (first) {
        unsigned char h[32];
        bool ok = false;
        if (setup && atomic_load(&app->setup_open)) {
            crypto_hash_sha256(h, (const unsigned char *)setup, strlen(setup));
            ok = sodium_memcmp(h, app->setup_hash, sizeof h) == 0;
        }
        if (!ok)
            return bb_fail(e, BB_EFORBIDDEN,
                           "no account exists yet: the first account needs the setup token "
                           "that `batchbox serve` printed");
    } else if (strcmp(app->cfg->auth.registration, "open") != 0) {
        return bb_fail(e, BB_EFORBIDDEN, "registration is closed: ask an admin for an account");
    }
    int rc = auth_create_user(app->db, email, name, first ? "admin" : "user", password, first,
                              u, e);
    if (rc != BB_OK)
        return rc;
    if (first) {
        atomic_store(&app->setup_open, false);
        bb_info("first admin registered", "email", u->email);
    }
    return issue(app, u, t, e);
}

int auth_login(bb_app *app, const cJSON *body, const char *addr, user *u, struct auth_tokens *t,
               int *retry_after, bb_errctx *e)
{
    static const char *const known[] = {"email", "password"};
    memset(u, 0, sizeof *u);
    *retry_after = 0;
    if (object_with_known(body, known, 2, e) != BB_OK)
        return e->code;
    const char *email = bb_json_opt_string(body, "email", e);
    const char *password = bb_json_opt_string(body, "password", e);
    if (!email)
        bb_fail_field(e, "email", "is required");
    if (!password)
        bb_fail_field(e, "password", "is required");
    if (e->code != BB_OK)
        return e->code;
    char norm[256];
    bb_errctx ignore = {0};
    if (!auth_normalize_email(email, norm, "email", &ignore))
        bb_strlcpy(norm, "\x01invalid", sizeof norm);
    bb_err_clear(&ignore);

    int64_t now = bb_now_ms();
    uint64_t k_pair = rl_key("pair", addr, norm), k_addr = rl_key("addr", addr, NULL),
             k_email = rl_key("email", norm, NULL);
    pthread_mutex_lock(&rl_mu);
    int wait = rl_wait(k_pair, RL_PAIR_LIMIT, now);
    int excess = rl_excess(k_addr, RL_ADDR_LIMIT, now);
    int w3 = rl_wait(k_email, RL_EMAIL_LIMIT, now);
    int pace = wait > 0 || w3 > 0 ? 0 : rl_pace(k_addr, excess, now);
    pthread_mutex_unlock(&rl_mu);
    if (w3 > wait)
        wait = w3;
    if (wait > 0) {
        *retry_after = wait;
        return bb_fail(e, BB_ERATE, "too many failed sign-ins: try again in %d seconds", wait);
    }
    if (pace > 0) {
        *retry_after = pace;
        return bb_fail(e, BB_ERATE, "too many failed sign-ins from this address: try again in "
                       "%d second%s", pace, pace == 1 ? "" : "s");
    }

    user found;
    int rc = repo_user_by_email(app->db, norm, &found);
    if (rc != BB_OK && rc != BB_ENOTFOUND)
        return bb_fail(e, BB_EIO, "database error");
    bool ok = auth_verify_password(rc == BB_OK ? found.password_hash : dummy_hash, password);
    if (rc != BB_OK || !ok || found.disabled) {
        if (rc == BB_OK)
            user_clear(&found);
        int64_t failed_at = bb_now_ms();
        pthread_mutex_lock(&rl_mu);
        rl_count(k_pair, RL_PAIR_LIMIT, failed_at);
        rl_count(k_addr, RL_ADDR_LIMIT, failed_at);
        rl_count(k_email, RL_EMAIL_LIMIT, failed_at);
        pthread_mutex_unlock(&rl_mu);
        bb_info("sign-in failed", "addr", addr);
        return bb_fail(e, BB_EAUTH, "wrong email or password");
    }
    pthread_mutex_lock(&rl_mu);
    rl_clear(k_pair, now);
    pthread_mutex_unlock(&rl_mu);
    *u = found;
    return issue(app, u, t, e);
}

/* Session-ending hooks: the live streams opened with a session (or by a
 * user) close, or re-filter after a role change, through the bus's control
 * notices (infra/bus/bus.h; the stream hub, http/hub.c, applies them). */
static void end_session_streams(bb_app *app, int64_t session_id)
{
    if (session_id)
        bus_control(app->bus, &(struct bus_ctl){.kind = BUS_CTL_SESSION_ENDED,
                                                .session_id = session_id});
}

static void end_user_streams(bb_app *app, int64_t user_id)
{
    bus_control(app->bus, &(struct bus_ctl){.kind = BUS_CTL_USER_ENDED, .user_id = user_id});
}

int auth_refresh(bb_app *app, const char *refresh_token, user *u, struct auth_tokens *t,
                 bb_errctx *e)
{
    memset(u, 0, sizeof *u);
    if (!refresh_token || strncmp(refresh_token, "bbr_", 4) != 0 || strlen(refresh_token) > 100)
        return bb_fail(e, BB_EAUTH, "invalid or expired refresh token");
    unsigned char old[TOKEN_HASH_BYTES], ah[TOKEN_HASH_BYTES], rh[TOKEN_HASH_BYTES];
    token_hash(refresh_token, old);
    memset(t, 0, sizeof *t);
    make_token("bba_", t->access);
    make_token("bbr_", t->refresh);
    token_hash(t->access, ah);
    token_hash(t->refresh, rh);
    int64_t now = bb_now_ms();
    struct token_info info;
    bool reused = false;
    int rc = repo_session_rotate(app->db, old, now, ah, now + app->cfg->auth.access_ttl_sec * 1000,
                                 rh, now + app->cfg->auth.refresh_ttl_sec * 1000, &info, &reused);
    if (rc != BB_OK) {
        sodium_memzero(t, sizeof *t);
        if (reused)
            end_session_streams(app, info.session_id);
        if (rc == BB_EAUTH)
            return bb_fail(e, BB_EAUTH, reused ? "this refresh token was already used: the "
                                                 "session has been ended, sign in again"
                                               : "invalid or expired refresh token");
        return bb_fail(e, BB_EIO, "database error");
    }
    t->expires_in = app->cfg->auth.access_ttl_sec;
    t->session_id = info.session_id;
    if (repo_user_get(app->db, info.user_id, u) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    return BB_OK;
}

void auth_logout(bb_app *app, int64_t session_id, const char *refresh_token)
{
    if (session_id) {
        repo_session_revoke(app->db, session_id);
        end_session_streams(app, session_id);
    }
    if (refresh_token && strncmp(refresh_token, "bbr_", 4) == 0 && strlen(refresh_token) <= 100) {
        unsigned char h[TOKEN_HASH_BYTES];
        token_hash(refresh_token, h);
        int64_t sid = 0;
        if (repo_session_of_refresh(app->db, h, &sid) == BB_OK && sid && sid != session_id) {
            repo_session_revoke(app->db, sid);
            end_session_streams(app, sid);
        }
    }
}

int auth_update_profile(bb_app *app, int64_t user_id, const cJSON *body, user *u,
                        struct auth_tokens *t, bb_errctx *e)
{
    static const char *const known[] = {"name", "password", "currentPassword"};
    memset(u, 0, sizeof *u);
    memset(t, 0, sizeof *t);
    if (object_with_known(body, known, 3, e) != BB_OK)
        return e->code;
    const cJSON *nv = cJSON_GetObjectItemCaseSensitive(body, "name");
    const char *name = NULL;
    if (nv && cJSON_IsNull(nv))
        name = "";
    else if (nv && !cJSON_IsString(nv))
        bb_fail_field(e, "name", "must be a string or null");
    else if (nv) {
        name = nv->valuestring;
        if (strlen(name) > 200)
            bb_fail_field(e, "name", "must be at most 200 characters");
    }
    const char *password = bb_json_opt_string(body, "password", e);
    const char *current = bb_json_opt_string(body, "currentPassword", e);
    if (password)
        auth_check_password(password, "password", e);
    if (e->code != BB_OK)
        return e->code;
    if (!nv && !password)
        return bb_fail_field(e, "name", "give a name and/or a password to change");
    user cur;
    if (repo_user_get(app->db, user_id, &cur) != BB_OK)
        return bb_fail(e, BB_ENOTFOUND, "no such user");
    if (password && (!current || !auth_verify_password(cur.password_hash, current))) {
        user_clear(&cur);
        return bb_fail_field(e, "currentPassword",
                             current ? "is wrong" : "is required to change the password");
    }
    char hash[AUTH_HASH_MAX] = "";
    if (password && auth_hash_password(password, hash) != 0) {
        user_clear(&cur);
        return bb_fail(e, BB_EINTERNAL, "password hashing failed (out of memory)");
    }
    struct user_change c = {.name = name, .password_hash = password ? hash : NULL,
                            .disabled = -1, .revoke_sessions = password != NULL};
    int rc = repo_user_update(app->db, user_id, &c, u);
    sodium_memzero(hash, sizeof hash);
    user_clear(&cur);
    if (rc != BB_OK)
        return bb_fail(e, rc == BB_ENOTFOUND ? BB_ENOTFOUND : BB_EIO,
                       "could not update the profile");
    if (password) {
        end_user_streams(app, user_id);
        return issue(app, u, t, e);
    }
    return BB_OK;
}

int auth_admin_update(bb_app *app, int64_t user_id, const cJSON *body, user *u, bb_errctx *e)
{
    static const char *const known[] = {"role", "disabled"};
    memset(u, 0, sizeof *u);
    if (object_with_known(body, known, 2, e) != BB_OK)
        return e->code;
    const char *role = bb_json_opt_string(body, "role", e);
    if (role && !user_role_valid(role))
        bb_fail_field(e, "role", "must be admin or user");
    const cJSON *dv = cJSON_GetObjectItemCaseSensitive(body, "disabled");
    int disabled = -1;
    if (dv && !cJSON_IsBool(dv))
        bb_fail_field(e, "disabled", "must be true or false");
    else if (dv)
        disabled = cJSON_IsTrue(dv) ? 1 : 0;
    if (e->code == BB_OK && !role && disabled < 0)
        bb_fail_field(e, "role", "give role and/or disabled");
    if (e->code != BB_OK)
        return e->code;
    struct user_change c = {.role = role, .disabled = disabled, .revoke_sessions = disabled == 1};
    int rc = repo_user_update(app->db, user_id, &c, u);
    if (rc == BB_ENOTFOUND)
        return bb_fail(e, BB_ENOTFOUND, "no such user");
    if (rc == BB_ECONFLICT)
        return bb_fail(e, BB_ECONFLICT, "this is the last active admin: make another admin first");
    if (rc != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    if (disabled == 1)
        end_user_streams(app, user_id);
    else if (role)
        bus_control(app->bus, &(struct bus_ctl){.kind = BUS_CTL_ROLE_CHANGED, .user_id = user_id,
                                                .admin = strcmp(role, "admin") == 0});
    return BB_OK;
}

int auth_user_get(bb_app *app, int64_t user_id, user *out, bb_errctx *e)
{
    memset(out, 0, sizeof *out);
    if (repo_user_get(app->db, user_id, out) != BB_OK)
        return bb_fail(e, BB_ENOTFOUND, "no such user");
    return BB_OK;
}

int auth_user_list(bb_app *app, user **out, size_t *n, bb_errctx *e)
{
    *out = NULL;
    *n = 0;
    if (repo_user_list(app->db, out, n) != BB_OK)
        return bb_fail(e, BB_EIO, "database error");
    return BB_OK;
}
