/* tts.c — text-to-speech providers, cache and voice assignment (see
 * tts.h for the contract).
 *
 * One call of tts_synthesize:
 *   1. validate, compute the cache key; unless env->force, a valid
 *      <cache_dir>/<key>.wav is copied to out_wav and we are done;
 *   2. make a private work directory <cache_dir>/.tmp-XXXXXX;
 *   3. the provider writes work/raw.wav (espeak-ng and the command
 *      provider through exec_command; ElevenLabs through http_client,
 *      streaming the PCM answer into a wav_writer);
 *   4. raw.wav is rewritten as a canonical WAV (wav_concat of one input:
 *      this also validates it and drops odd headers, extra chunks and
 *      streaming placeholders), renamed to <key>.wav (atomic), and copied
 *      to out_wav through a temp file + rename;
 *   5. the work directory is removed, whatever happened.
 *
 * Cancel: exec_command polls the flag every 50 ms and kills the process
 * group.  http_client polls the flag from libcurl's progress callback
 * (cancel_flag), which libcurl calls at least once a second even when the
 * server is silent.  Backoff sleeps
 * poll the flag every 20 ms. */
#include "infra/exec/tts.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cJSON.h"
#include "infra/exec/exec.h"
#include "infra/net/http_client.h"
#include "util/buf.h"
#include "util/util.h"

#define DEF_CONNECT_MS     10000L
#define DEF_REQUEST_MS     120000L
#define DEF_ATTEMPTS       4
#define DEF_RETRY_BASE_MS  1000
#define DEF_RETRY_MAX_MS   30000
#define DEF_RATE           22050u
#define DEF_PROC_TIMEOUT   300
#define DEF_GRACE_MS       1000
#define MAX_ATTEMPTS       20
#define ERR_BODY_MAX       (64u * 1024u)   /* buffered non-2xx answer */
#define ARG_BUF_MAX        (256u * 1024u)  /* one escaped argv element */
#define MAX_SPEAKERS       1024
#define TAIL_MAX           200             /* last stderr line kept */
#define POLL_SLICE_MS      20

/* ---------------------------------------------------------------------
 * Small helpers
 * ------------------------------------------------------------------- */

/* res->error and res->retryable; evaluates to TTS_FAILED. */
#define fail(res, retry, ...)                                                    \
    exec_set_failure((res)->error, sizeof (res)->error, &(res)->retryable, (retry), \
                     TTS_FAILED, __VA_ARGS__)

static int canceled(struct tts_result *res)
{
    snprintf(res->error, sizeof res->error, "canceled");
    res->retryable = false;
    return TTS_CANCELED;
}

static void tlog(const struct tts_env *env, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tlog(const struct tts_env *env, const char *fmt, ...)
{
    char line[512];
    if (!env->log)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    env->log(env->log_ud, line);
}

static bool is_canceled(atomic_bool *cancel)
{
    return cancel && atomic_load(cancel);
}

/* Sleeps ms, waking every POLL_SLICE_MS to look at cancel.  Returns
 * false when canceled. */
static bool sleep_cancelable(long ms, atomic_bool *cancel)
{
    return bb_sleep_cancelable(ms, cancel, POLL_SLICE_MS);
}

static const char *prov_name(const char *p)
{
    if (strcmp(p, "espeak") == 0)
        return "espeak-ng";
    if (strcmp(p, "elevenlabs") == 0)
        return "ElevenLabs";
    return "TTS command";
}

static uint32_t el_rate(const struct tts_env *env)
{
    return env->elevenlabs_sample_rate ? env->elevenlabs_sample_rate
                                       : DEF_RATE;
}

static const char *el_model(const struct tts_env *env)
{
    return env->elevenlabs_model && *env->elevenlabs_model
               ? env->elevenlabs_model : TTS_ELEVENLABS_DEFAULT_MODEL;
}

/* ---------------------------------------------------------------------
 * Cache key
 * ------------------------------------------------------------------- */

int tts_cache_key(const struct tts_env *env, const bb_voice *voice,
                  const char *text, char out[65])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256_state st;
    const char *p = voice ? voice->provider : NULL;
    const char *pv = voice && voice->provider_voice ? voice->provider_voice
                                                    : "";

    out[0] = '\0';
    if (!p || !text || (strcmp(p, "espeak") != 0 &&
                        strcmp(p, "elevenlabs") != 0 &&
                        strcmp(p, "command") != 0))
        return -1;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)p, strlen(p) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)pv, strlen(pv) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)text, strlen(text));
    if (strcmp(p, "elevenlabs") == 0) {
        char s[160];
        int n = snprintf(s, sizeof s, "model_id=%s;output_format=pcm_%u",
                         el_model(env), (unsigned)el_rate(env));
        if (n < 0)
            return -1;
        crypto_hash_sha256_update(&st, (const unsigned char *)"", 1);
        crypto_hash_sha256_update(&st, (const unsigned char *)s,
                                  (size_t)n < sizeof s ? (size_t)n
                                                       : sizeof s - 1);
    } else if (strcmp(p, "command") == 0) {
        crypto_hash_sha256_update(&st, (const unsigned char *)"", 1);
        for (size_t i = 0; env->command_argv && env->command_argv[i]; i++) {
            if (i > 0)
                crypto_hash_sha256_update(&st, (const unsigned char *)"\x1f",
                                          1);
            crypto_hash_sha256_update(
                &st, (const unsigned char *)env->command_argv[i],
                strlen(env->command_argv[i]));
        }
    }
    crypto_hash_sha256_final(&st, h);
    sodium_bin2hex(out, 65, h, sizeof h);
    return 0;
}

/* ---------------------------------------------------------------------
 * Voice assignment
 * ------------------------------------------------------------------- */

typedef struct speaker_slot {
    const char *name;
    const bb_voice *voice;
} speaker_slot;

static bool genders_differ(const bb_voice *a, const bb_voice *b)
{
    return a->gender && b->gender && strcmp(a->gender, b->gender) != 0;
}

int tts_assign_voices(const bb_config *cfg, const char *accent,
                      const char *const *speakers, size_t n,
                      const bb_voice **out, char *err, size_t errlen)
{
    size_t ncand = 0;
    int rc = -1;

    if (!cfg || (n > 0 && (!speakers || !out))) {
        snprintf(err, errlen, "tts_assign_voices: bad arguments");
        return -1;
    }
    for (size_t i = 0; i < cfg->nvoices; i++)
        if (!accent || strcmp(cfg->voices[i].accent, accent) == 0)
            ncand++;
    if (ncand == 0) {
        if (accent)
            snprintf(err, errlen, "no voice is configured for accent \"%.64s\"",
                     accent);
        else
            snprintf(err, errlen, "no voices are configured");
        return -1;
    }
    const bb_voice **cand = calloc(ncand, sizeof *cand);
    bool *used = calloc(ncand, sizeof *used);
    size_t cap = n < MAX_SPEAKERS ? n : MAX_SPEAKERS;
    speaker_slot *seen = calloc(cap ? cap : 1, sizeof *seen);
    if (!cand || !used || !seen) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    ncand = 0;
    for (size_t i = 0; i < cfg->nvoices; i++)
        if (!accent || strcmp(cfg->voices[i].accent, accent) == 0)
            cand[ncand++] = &cfg->voices[i];

    size_t nseen = 0, nused = 0;
    for (size_t i = 0; i < n; i++) {
        const char *name = speakers[i] ? speakers[i] : "";
        const bb_voice *v = NULL;
        for (size_t k = 0; k < nseen && !v; k++)
            if (strcmp(seen[k].name, name) == 0)
                v = seen[k].voice;
        if (!v) {
            if (nseen == MAX_SPEAKERS) {
                snprintf(err, errlen, "more than %d distinct speakers",
                         MAX_SPEAKERS);
                goto out;
            }
            size_t pick = 0;
            if (nseen > 0 && nused < ncand) {
                const bb_voice *prev = seen[nseen - 1].voice;
                size_t first_unused = ncand, first_other = ncand;
                for (size_t c = 0; c < ncand; c++) {
                    if (used[c])
                        continue;
                    if (first_unused == ncand)
                        first_unused = c;
                    if (first_other == ncand && genders_differ(prev, cand[c]))
                        first_other = c;
                }
                pick = first_other < ncand ? first_other : first_unused;
            } else if (nseen > 0) {
                pick = nseen % ncand;
            }
            if (!used[pick]) {
                used[pick] = true;
                nused++;
            }
            v = cand[pick];
            seen[nseen].name = name;
            seen[nseen].voice = v;
            nseen++;
        }
        out[i] = v;
    }
    rc = 0;
out:
    free(cand);
    free(used);
    free(seen);
    return rc;
}

/* ---------------------------------------------------------------------
 * Processes (espeak-ng, command) through exec_command
 * ------------------------------------------------------------------- */

/* Appends s to b with every brace doubled: exec_command's template
 * grammar then gives back s unchanged. */
static int put_escaped(buf *b, const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if ((s[i] == '{' || s[i] == '}') && buf_append(b, &s[i], 1) != 0)
            return -1;
        if (buf_append(b, &s[i], 1) != 0)
            return -1;
    }
    return 0;
}

/* An exec_command argv element that expands to exactly s.  Returns a
 * malloc'd string (caller frees) or NULL when too long / out of memory. */
static char *literal_arg(const char *s)
{
    buf b;
    buf_init(&b, ARG_BUF_MAX);
    if (put_escaped(&b, s, strlen(s)) != 0) {
        buf_free(&b);
        return NULL;
    }
    return buf_take(&b);
}

/* Walks one command-provider template element.  Values NULL: check only.
 * Otherwise appends the expansion, escaped for exec_command, to b.
 * Sets *uses_out when {out} occurs.  Returns 0 or -1 with err. */
static int expand_cmd(const char *tmpl, const char *text, const char *outp,
                      const char *voice, buf *b, bool *uses_out, char *err,
                      size_t errlen)
{
    const char *p = tmpl;
    while (*p) {
        if ((p[0] == '{' || p[0] == '}') && p[1] == p[0]) {
            if (b && put_escaped(b, p, 1) != 0)
                goto toolong;
            p += 2;
            continue;
        }
        if (*p == '}') {
            snprintf(err, errlen, "unmatched \"}\" in \"%.80s\" (write }} for "
                     "a literal brace)", tmpl);
            return -1;
        }
        if (*p != '{') {
            if (b && put_escaped(b, p, 1) != 0)
                goto toolong;
            p++;
            continue;
        }
        const char *close = strchr(p + 1, '}');
        if (!close) {
            snprintf(err, errlen, "unterminated \"{\" in \"%.80s\" (write {{ "
                     "for a literal brace)", tmpl);
            return -1;
        }
        size_t n = (size_t)(close - p - 1);
        const char *val;
        if (n == 4 && memcmp(p + 1, "text", 4) == 0) {
            val = text;
        } else if (n == 3 && memcmp(p + 1, "out", 3) == 0) {
            val = outp;
            *uses_out = true;
        } else if (n == 5 && memcmp(p + 1, "voice", 5) == 0) {
            val = voice;
        } else {
            snprintf(err, errlen, "unknown placeholder \"{%.*s}\" (known: "
                     "{text} {out} {voice})", (int)(n > 40 ? 40 : n), p + 1);
            return -1;
        }
        if (b && put_escaped(b, val, strlen(val)) != 0)
            goto toolong;
        p = close + 1;
    }
    return 0;
toolong:
    snprintf(err, errlen, "argument too long after expansion");
    return -1;
}

int tts_check_command(const char *const *argv, char *err, size_t errlen)
{
    bool uses_out = false;
    if (!argv || !argv[0] || !argv[0][0]) {
        snprintf(err, errlen, "the TTS command template needs a program");
        return -1;
    }
    for (size_t i = 0; argv[i]; i++) {
        char msg[200];
        if (expand_cmd(argv[i], NULL, NULL, NULL, NULL, &uses_out, msg,
                       sizeof msg) != 0) {
            snprintf(err, errlen, "argv[%zu]: %s", i, msg);
            return -1;
        }
    }
    if (!uses_out) {
        snprintf(err, errlen, "the TTS command template must use {out} (the "
                 "WAV file to write)");
        return -1;
    }
    return 0;
}

/* What a process printed, for the error message. */
typedef struct proc_tail {
    const struct tts_env *env;
    const char *who;
    char err[TAIL_MAX];      /* last non-empty stderr line */
    char out[TAIL_MAX];      /* last non-empty stdout line */
} proc_tail;

static void on_line(void *ud, const char *stream, const char *line,
                    size_t len)
{
    proc_tail *t = ud;
    if (len == 0)
        return;
    bool is_err = strcmp(stream, "stderr") == 0;
    bb_one_line(is_err ? t->err : t->out, TAIL_MAX, line, len);
    if (is_err)
        tlog(t->env, "%s: %s", t->who, t->err);
}

static void free_args(char **a, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(a[i]);
}

/* Runs eargv (already escaped for exec_command).  exit_retryable says
 * whether a non-zero exit status is worth another attempt of the job. */
static int run_process(const struct tts_env *env, const char *who,
                       char **eargv, size_t argc, const char *workdir,
                       atomic_bool *cancel, bool exit_retryable,
                       struct tts_result *res)
{
    bb_preset pr = {
        .id = (char *)"tts",
        .label = (char *)"tts",
        .workflow = BB_WF_COMMAND,
        .argv = eargv,
        .argc = argc,
        .timeout_sec = env->process_timeout_sec > 0 ? env->process_timeout_sec
                                                    : DEF_PROC_TIMEOUT,
        .max_attempts = 1,
    };
    proc_tail tail = {.env = env, .who = who};
    exec_ctx ctx;
    memset(&ctx, 0, sizeof ctx);
    ctx.preset = &pr;
    ctx.workdir = workdir;
    ctx.cancel = cancel;
    ctx.kill_grace_ms = env->kill_grace_ms > 0 ? env->kill_grace_ms
                                               : DEF_GRACE_MS;
    ctx.log_line = on_line;
    ctx.ud = &tail;

    res->attempts++;
    enum exec_result r = exec_command(&ctx);
    if (r == EXEC_OK)
        return TTS_OK;
    if (r == EXEC_CANCELED)
        return canceled(res);
    bool retry = ctx.retryable;
    if (strncmp(ctx.error, "exited with status", 18) == 0)
        retry = exit_retryable;
    const char *detail = tail.err[0] ? tail.err : tail.out;
    return fail(res, retry, "%s %s%s%s", who, ctx.error, detail[0] ? ": " : "",
                detail);
}

static int espeak_synth(const struct tts_env *env, const bb_voice *v,
                        const char *text, const char *raw,
                        const char *workdir, atomic_bool *cancel,
                        struct tts_result *res)
{
    const char *prog = env->espeak_program && *env->espeak_program
                           ? env->espeak_program : "espeak-ng";
    /* The text goes through a file (-f, UTF-8 with -b 1), not argv: one
     * argument may hold at most 128 KiB (MAX_ARG_STRLEN) and a long
     * reading paragraph is more; it also keeps lesson text out of ps. */
    char txt[PATH_MAX];
    snprintf(txt, sizeof txt, "%s/text.txt", workdir);
    int fd = open(txt, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool written = fd >= 0 && bb_write_all(fd, text, strlen(text)) == 0;
    int saved = errno;
    if (fd >= 0 && close(fd) != 0 && written) {
        written = false;
        saved = errno;
    }
    if (!written)
        return fail(res, true, "espeak-ng: cannot write the text file: %s", strerror(saved));
    const char *lit[9] = {prog, "-b", "1", "-v", v->provider_voice, "-w", raw, "-f", txt};
    char *a[9] = {0};
    for (size_t i = 0; i < 9; i++) {
        a[i] = literal_arg(lit[i]);
        if (!a[i]) {
            free_args(a, 9);
            return fail(res, false, "espeak-ng: out of memory");
        }
    }
    /* A non-zero exit is a bad voice or similar: not worth retrying. */
    int rc = run_process(env, "espeak-ng", a, 9, workdir, cancel, false,
                         res);
    free_args(a, 9);
    return rc;
}

static int command_synth(const struct tts_env *env, const bb_voice *v,
                         const char *text, const char *raw,
                         const char *workdir, atomic_bool *cancel,
                         struct tts_result *res)
{
    char msg[200];
    if (tts_check_command(env->command_argv, msg, sizeof msg) != 0)
        return fail(res, false, "TTS command: %s", msg);
    size_t argc = 0;
    while (env->command_argv[argc])
        argc++;
    char **a = calloc(argc + 1, sizeof *a);
    if (!a)
        return fail(res, true, "out of memory");
    for (size_t i = 0; i < argc; i++) {
        buf b;
        bool uses_out = false;
        buf_init(&b, ARG_BUF_MAX);
        if (expand_cmd(env->command_argv[i], text, raw, v->provider_voice, &b,
                       &uses_out, msg, sizeof msg) != 0 ||
            !(a[i] = buf_take(&b))) {
            buf_free(&b);
            free_args(a, argc);
            free(a);
            return fail(res, false, "TTS command argv[%zu]: %s", i,
                        msg[0] ? msg : "out of memory");
        }
    }
    int rc = run_process(env, "TTS command", a, argc, workdir, cancel,
                         true, res);
    free_args(a, argc);
    free(a);
    return rc;
}

/* ---------------------------------------------------------------------
 * ElevenLabs
 * ------------------------------------------------------------------- */

/* Streaming sink: 2xx body bytes go straight into the WAV file. */
typedef struct chunk_sink {
    wav_writer *w;
    char err[200];
} chunk_sink;

static int on_chunk(void *user, const char *data, size_t len)
{
    chunk_sink *cs = user;
    return wav_writer_write(cs->w, data, len, cs->err, sizeof cs->err) == 0
               ? 0 : 1;
}

/* The human part of an ElevenLabs error answer: detail.message,
 * detail.status, detail[0].msg or a string detail; else the start of the
 * body. */
static void api_detail(const struct http_response *resp, char *out,
                       size_t outlen)
{
    cJSON *doc = resp->body_len ? cJSON_ParseWithLength(resp->body,
                                                        resp->body_len)
                                : NULL;
    const cJSON *d = doc ? cJSON_GetObjectItemCaseSensitive(doc, "detail")
                         : NULL;
    const cJSON *s = NULL;
    if (cJSON_IsString(d)) {
        s = d;
    } else if (cJSON_IsObject(d)) {
        s = cJSON_GetObjectItemCaseSensitive(d, "message");
        if (!cJSON_IsString(s))
            s = cJSON_GetObjectItemCaseSensitive(d, "status");
    } else if (cJSON_IsArray(d)) {
        const cJSON *e = cJSON_GetArrayItem(d, 0);
        s = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "msg")
                              : NULL;
    }
    http_response_error_line(resp, cJSON_IsString(s) ? s->valuestring : NULL,
                             out, outlen);
    cJSON_Delete(doc);
}

static long backoff_ms(const struct tts_env *env, int attempt,
                       uint64_t *seed)
{
    long base = env->retry_base_ms > 0 ? env->retry_base_ms
                                       : DEF_RETRY_BASE_MS;
    long cap = env->retry_max_ms > 0 ? env->retry_max_ms : DEF_RETRY_MAX_MS;
    long w = base;
    for (int i = 1; i < attempt && w < cap; i++)
        w *= 2;
    /* up to +25% jitter (xorshift), so workers do not retry in step */
    *seed ^= *seed << 13;
    *seed ^= *seed >> 7;
    *seed ^= *seed << 17;
    w += (long)(*seed % (uint64_t)(w / 4 + 1));
    return w < cap ? w : cap;
}

static bool rate_ok(uint32_t r)
{
    static const uint32_t ok[] = {8000, 16000, 22050, 24000, 44100, 48000};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i] == r)
            return true;
    return false;
}

/* Builds the URL, the JSON body and the key header line.  Returns 0 with
 * *url, *body and *keyhdr malloc'd (caller frees all three), or
 * TTS_FAILED via res with all three NULL. */
static int el_prepare(const struct tts_env *env, const bb_voice *v,
                      const char *text, char **url, char **body,
                      char **keyhdr, struct tts_result *res)
{
    const char *key = env->elevenlabs_api_key;
    const char *base = env->elevenlabs_base_url && *env->elevenlabs_base_url
                           ? env->elevenlabs_base_url
                           : TTS_ELEVENLABS_DEFAULT_URL;
    *url = *body = *keyhdr = NULL;
    if (!key || !*key)
        return fail(res, false, "ElevenLabs API key is not set "
                    "(ELEVENLABS_API_KEY)");
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7F)
            return fail(res, false, "ElevenLabs API key contains spaces or "
                        "control characters");
    if (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0)
        return fail(res, false, "ElevenLabs base URL must start with http:// "
                    "or https://");
    if (!rate_ok(el_rate(env)))
        return fail(res, false, "ElevenLabs sample rate %u is not one of "
                    "8000 16000 22050 24000 44100 48000",
                    (unsigned)el_rate(env));
    if (!v->provider_voice || !*v->provider_voice)
        return fail(res, false, "voice \"%s\" has no ElevenLabs voice id",
                    v->id);

    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/')
        bl--;
    char *vid = http_client_escape(v->provider_voice);
    buf b;
    buf_init(&b, 64 * 1024);
    if (!vid ||
        buf_printf(&b, "%.*s/v1/text-to-speech/%s?output_format=pcm_%u",
                   (int)bl, base, vid, (unsigned)el_rate(env)) != 0) {
        free(vid);
        buf_free(&b);
        return fail(res, false, "ElevenLabs URL too long");
    }
    free(vid);
    *url = buf_take(&b);
    if (!*url)
        return fail(res, true, "out of memory");

    buf_init(&b, 4096);
    if (buf_printf(&b, "xi-api-key: %s", key) != 0 ||
        !(*keyhdr = buf_take(&b))) {
        buf_free(&b);
        free(*url);
        *url = NULL;
        return fail(res, false, "ElevenLabs API key too long");
    }

    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddStringToObject(o, "text", text) ||
        !cJSON_AddStringToObject(o, "model_id", el_model(env)) ||
        !(*body = cJSON_PrintUnformatted(o))) {
        cJSON_Delete(o);
        free(*url);
        free(*keyhdr);
        *url = *keyhdr = NULL;
        return fail(res, true, "out of memory");
    }
    cJSON_Delete(o);
    return 0;
}

/* What to do after one HTTP attempt. */
enum el_next { EL_DONE, EL_RETRY, EL_STOP };

static int elevenlabs_synth(const struct tts_env *env, const bb_voice *v,
                            const char *text, const char *raw,
                            atomic_bool *cancel, struct tts_result *res)
{
    char *url = NULL, *body = NULL, *keyhdr = NULL;
    if (el_prepare(env, v, text, &url, &body, &keyhdr, res) != 0)
        return TTS_FAILED;

    const char *headers[] = {keyhdr, "Content-Type: application/json", NULL};
    int max = env->max_attempts > 0 ? env->max_attempts : DEF_ATTEMPTS;
    if (max > MAX_ATTEMPTS)
        max = MAX_ATTEMPTS;
    uint64_t seed = (uint64_t)bb_mono_us() | 1u;
    wav_format fmt = {.sample_rate = el_rate(env), .channels = 1, .bits = 16};
    wav_writer w;
    char msg[256];
    int rc = TTS_FAILED;
    if (wav_writer_open(&w, raw, &fmt, msg, sizeof msg) != 0) {
        rc = fail(res, true, "%s", msg);
        goto out;
    }

    for (int attempt = 1; attempt <= max; attempt++) {
        chunk_sink cs = {.w = &w};
        struct http_request req = {
            .method = "POST",
            .url = url,
            .headers = headers,
            .body = body,
            .body_len = strlen(body),
            .connect_timeout_ms = env->connect_timeout_ms > 0
                                      ? env->connect_timeout_ms
                                      : DEF_CONNECT_MS,
            .timeout_ms = env->request_timeout_ms > 0 ? env->request_timeout_ms
                                                      : DEF_REQUEST_MS,
            .max_body = ERR_BODY_MAX,
            .on_chunk = on_chunk,
            .user = &cs,
            .cancel_flag = cancel,
        };
        struct http_response resp;
        enum el_next next = EL_STOP;
        long wait = 0;

        if (attempt > 1 && wav_writer_reset(&w, msg, sizeof msg) != 0) {
            rc = fail(res, true, "%s", msg);
            break;
        }
        res->attempts = attempt;
        enum http_result hr = http_client_perform(&req, &resp, msg,
                                                  sizeof msg);
        if (hr == HTTP_RES_CANCELED || is_canceled(cancel)) {
            http_response_free(&resp);
            rc = canceled(res);
            break;
        }
        long st = resp.status;
        char detail[200];
        if (hr == HTTP_RES_OK && st >= 200 && st < 300) {
            char ct[128];
            uint64_t frames = 0;
            if (http_response_header(&resp, "Content-Type", ct, sizeof ct) &&
                (strstr(ct, "json") || strstr(ct, "mpeg") ||
                 strstr(ct, "text/"))) {
                rc = fail(res, false, "ElevenLabs answered HTTP %ld with %s, "
                          "not PCM audio", st, ct);
            } else if (wav_writer_finish(&w, &frames, msg, sizeof msg) != 0) {
                rc = fail(res, true, "ElevenLabs returned no audio (HTTP %ld)",
                          st);
            } else {
                rc = TTS_OK;
            }
            next = EL_DONE;
        } else if (hr == HTTP_RES_OK || hr == HTTP_RES_TOO_LARGE) {
            api_detail(&resp, detail, sizeof detail);
            if (st == 429 || st == 408 || st >= 500) {
                if (attempt < max) {
                    long ra = http_response_retry_after_ms(&resp);
                    long cap = env->retry_max_ms > 0 ? env->retry_max_ms
                                                     : DEF_RETRY_MAX_MS;
                    wait = ra >= 0 ? (ra < cap ? ra : cap)
                                   : backoff_ms(env, attempt, &seed);
                    tlog(env, "ElevenLabs: HTTP %ld (%s), retrying in %ld ms "
                         "(attempt %d of %d)", st, detail, wait, attempt + 1,
                         max);
                    next = EL_RETRY;
                } else {
                    rc = fail(res, true, "ElevenLabs: HTTP %ld after %d "
                              "attempts: %s", st, attempt, detail);
                }
            } else if (st == 401) {
                rc = fail(res, false, "ElevenLabs rejected the API key "
                          "(HTTP 401: %s)", detail);
            } else {
                rc = fail(res, false, "ElevenLabs: HTTP %ld: %s", st, detail);
            }
        } else if (hr == HTTP_RES_TIMEOUT) {
            rc = fail(res, true, "ElevenLabs request timed out: %s", msg);
        } else if (hr == HTTP_RES_CONNECT || hr == HTTP_RES_FAILED) {
            if (attempt < max) {
                wait = backoff_ms(env, attempt, &seed);
                tlog(env, "ElevenLabs: %s; retrying in %ld ms (attempt %d of "
                     "%d)", msg, wait, attempt + 1, max);
                next = EL_RETRY;
            } else {
                rc = fail(res, true, "ElevenLabs: %s (after %d attempts)", msg,
                          attempt);
            }
        } else if (hr == HTTP_RES_ABORTED) {
            rc = fail(res, true, "ElevenLabs: %s", cs.err);
        } else {
            rc = fail(res, false, "ElevenLabs: %s", msg);
        }
        http_response_free(&resp);
        if (next != EL_RETRY)
            break;
        if (!sleep_cancelable(wait, cancel)) {
            rc = canceled(res);
            break;
        }
    }
    wav_writer_abort(&w);    /* no-op after a successful finish */
out:
    free(url);
    free(body);
    if (keyhdr) {
        sodium_memzero(keyhdr, strlen(keyhdr));
        free(keyhdr);
    }
    return rc;
}

/* ---------------------------------------------------------------------
 * Files and the cache
 * ------------------------------------------------------------------- */

/* Copies src to dst through dst.tmp-XXXXXX + rename.  Returns 0 or -1
 * with a message. */
static int copy_atomic(const char *src, const char *dst, char *err,
                       size_t errlen)
{
    char tmp[PATH_MAX];
    char blk[65536];
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp-XXXXXX", dst) >= sizeof tmp) {
        snprintf(err, errlen, "output path too long");
        return -1;
    }
    int in = open(src, O_RDONLY | O_CLOEXEC);
    if (in < 0) {
        snprintf(err, errlen, "%s: %s", src, strerror(errno));
        return -1;
    }
    int out = mkostemp(tmp, O_CLOEXEC);
    if (out < 0) {
        snprintf(err, errlen, "%s: %s", dst, strerror(errno));
        close(in);
        return -1;
    }
    int rc = fchmod(out, 0644);
    while (rc == 0) {
        ssize_t r = read(in, blk, sizeof blk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 0)
            break;
        if (bb_write_all(out, blk, (size_t)r) != 0)
            rc = -1;
    }
    int e = errno;
    close(in);
    if (close(out) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc == 0 && rename(tmp, dst) != 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s", dst, strerror(e));
        (void)unlink(tmp);
    }
    return rc;
}

/* Hands a valid cached file to the caller. */
static int deliver(const char *cached, const char *out_wav,
                   const wav_info *info, struct tts_result *res)
{
    char msg[200];
    if (copy_atomic(cached, out_wav, msg, sizeof msg) != 0)
        return fail(res, true, "cannot write the segment: %s", msg);
    res->fmt = info->fmt;
    res->duration_ms = wav_frames_to_ms(info->frames, info->fmt.sample_rate);
    return TTS_OK;
}

int tts_synthesize(const struct tts_env *env, const bb_voice *voice,
                   const char *text, const char *out_wav, atomic_bool *cancel,
                   struct tts_result *res)
{
    char key[65], cached[PATH_MAX], work[PATH_MAX], raw[PATH_MAX],
        norm[PATH_MAX], msg[256];
    wav_info info;

    memset(res, 0, sizeof *res);
    if (!env || !env->cache_dir || !*env->cache_dir || !voice || !out_wav)
        return fail(res, false, "tts_synthesize: missing argument");
    if (!voice->provider || !voice->provider_voice)
        return fail(res, false, "voice \"%s\" has no provider",
                    voice->id ? voice->id : "?");
    if (!text || !text[strspn(text, " \t\r\n")])
        return fail(res, false, "nothing to say: the text is empty");
    size_t tl = strlen(text);
    if (tl > TTS_MAX_TEXT_BYTES)
        return fail(res, false, "text of %zu bytes is over the %d-byte limit "
                    "of one segment", tl, TTS_MAX_TEXT_BYTES);
    if (!bb_utf8_valid(text, tl))
        return fail(res, false, "the text is not valid UTF-8");
    if (tts_cache_key(env, voice, text, key) != 0)
        return fail(res, false, "voice \"%s\": unknown provider \"%s\"",
                    voice->id ? voice->id : "?", voice->provider);
    if (is_canceled(cancel))
        return canceled(res);

    if (bb_mkdirs(env->cache_dir, false) != 0)
        return fail(res, true, "cannot create the TTS cache %s: %s",
                    env->cache_dir, strerror(errno));
    if ((size_t)snprintf(cached, sizeof cached, "%s/%s.wav", env->cache_dir,
                         key) >= sizeof cached ||
        (size_t)snprintf(work, sizeof work, "%s/.tmp-XXXXXX",
                         env->cache_dir) >= sizeof work - 16)
        return fail(res, false, "TTS cache path too long");

    if (!env->force) {
        if (wav_probe(cached, &info, msg, sizeof msg) == 0 &&
            info.frames > 0) {
            res->cache_hit = true;
            return deliver(cached, out_wav, &info, res);
        }
        if (access(cached, F_OK) == 0)
            tlog(env, "TTS cache entry unusable, synthesizing again: %s", msg);
    }

    if (!mkdtemp(work))
        return fail(res, true, "cannot create a work directory in %s: %s",
                    env->cache_dir, strerror(errno));
    snprintf(raw, sizeof raw, "%s/raw.wav", work);
    snprintf(norm, sizeof norm, "%s/seg.wav", work);

    const char *p = voice->provider;
    int rc;
    if (strcmp(p, "espeak") == 0)
        rc = espeak_synth(env, voice, text, raw, work, cancel, res);
    else if (strcmp(p, "elevenlabs") == 0)
        rc = elevenlabs_synth(env, voice, text, raw, cancel, res);
    else
        rc = command_synth(env, voice, text, raw, work, cancel, res);

    if (rc == TTS_OK && access(raw, F_OK) != 0)
        rc = fail(res, false, "%s did not write the WAV file",
                  prov_name(p));
    if (rc == TTS_OK) {
        const char *in[1] = {raw};
        if (wav_concat(in, 1, norm, NULL, 0, NULL, msg, sizeof msg) != 0 ||
            wav_probe(norm, &info, msg, sizeof msg) != 0)
            rc = fail(res, false, "%s output is not a usable WAV: %s",
                      prov_name(p), msg);
        else if (info.frames == 0)
            rc = fail(res, false, "%s produced no audio", prov_name(p));
    }
    if (rc == TTS_OK && rename(norm, cached) != 0)
        rc = fail(res, true, "cannot store %s: %s", cached, strerror(errno));
    if (rc == TTS_OK)
        rc = deliver(cached, out_wav, &info, res);
    if (bb_rmtree(work) != 0)
        tlog(env, "cannot remove %s: %s", work, strerror(errno));
    return rc;
}
