/* test_tts.c — unit tests for src/infra/exec/tts.c: the real espeak-ng
 * (synthesis, cache hits that start no process, forceTts, a bad voice,
 * cancel killing espeak-ng promptly), ElevenLabs against a fake HTTP
 * server in this file (request shape, 200 PCM, 429 + Retry-After, 500
 * then 200, retries exhausted, 401, 422, missing key, a silent server
 * timing out or being canceled), the command provider with a small shell
 * script, the cache key, and voice assignment.  Bounded: the slowest test
 * waits one Retry-After second. */
#define UNIT_MAIN
#include "unit.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cJSON.h"
#include "infra/config.h"
#include "infra/exec/tts.h"
#include "util/util.h"
#include "util/wav.h"

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------- */

static char tmpdir_[512];

static const char *tdir(void)
{
    if (!tmpdir_[0]) {
        const char *t = getenv("TMPDIR");
        snprintf(tmpdir_, sizeof tmpdir_, "%s/tts-XXXXXX", t ? t : "/tmp");
        if (!mkdtemp(tmpdir_))
            tmpdir_[0] = '\0';
    }
    return tmpdir_;
}

static const char *tpath(char *buf, size_t n, const char *name)
{
    snprintf(buf, n, "%s/%s", tdir(), name);
    return buf;
}

static struct tts_env base_env(char *cache, size_t n)
{
    struct tts_env env;
    memset(&env, 0, sizeof env);
    env.cache_dir = tpath(cache, n, "cache");
    return env;
}

static bb_voice mkvoice(const char *provider, const char *pv)
{
    bb_voice v = {.id = (char *)"v1", .label = (char *)"Voice",
                  .accent = (char *)"british_male", .gender = (char *)"male",
                  .provider = (char *)provider, .provider_voice = (char *)pv};
    return v;
}

static int64_t now_ms(void)
{
    return bb_mono_us() / 1000;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Children of this process whose comm is `comm` (zombies included). */
static int count_children(const char *comm)
{
    DIR *d = opendir("/proc");
    int n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        char p[300], line[512];
        snprintf(p, sizeof p, "/proc/%s/stat", e->d_name);
        FILE *f = fopen(p, "r");
        if (!f)
            continue;
        size_t len = fread(line, 1, sizeof line - 1, f);
        fclose(f);
        line[len] = '\0';
        char *lp = strchr(line, '('), *rp = strrchr(line, ')');
        if (!lp || !rp || rp < lp)
            continue;
        *rp = '\0';
        int ppid = 0;
        char state;
        if (sscanf(rp + 2, "%c %d", &state, &ppid) != 2)
            continue;
        if (ppid == getpid() && strcmp(lp + 1, comm) == 0)
            n++;
    }
    closedir(d);
    return n;
}

/* Entries of dir whose name starts with prefix. */
static int count_entries(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d)
        return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strncmp(e->d_name, prefix, strlen(prefix)) == 0)
            n++;
    closedir(d);
    return n;
}

static bool same_file_bytes(const char *a, const char *b)
{
    size_t la = 0, lb = 0;
    char *x = bb_read_file(a, 64u << 20, &la), *y = bb_read_file(b, 64u << 20,
                                                                &lb);
    bool same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* Log lines collected from env->log. */
typedef struct logbuf {
    char text[4096];
    size_t len;
} logbuf;

static void collect_log(void *ud, const char *line)
{
    logbuf *l = ud;
    int n = snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", line);
    if (n > 0 && (size_t)n < sizeof l->text - l->len)
        l->len += (size_t)n;
}

/* Sets *flag after `ms` milliseconds (or, with comm set, `ms` after a
 * child of that name appears), recording when. */
typedef struct canceler {
    atomic_bool *flag;
    long ms;
    const char *comm;
    bool saw_child;
    int64_t at_ms;
    pthread_t th;
} canceler;

static void *canceler_main(void *arg)
{
    canceler *c = arg;
    if (c->comm) {
        for (int i = 0; i < 400 && !c->saw_child; i++) {
            if (count_children(c->comm) > 0)
                c->saw_child = true;
            else
                nap_ms(10);
        }
    }
    nap_ms(c->ms);
    c->at_ms = now_ms();
    atomic_store(c->flag, true);
    return NULL;
}

/* ---------------------------------------------------------------------
 * Fake ElevenLabs
 * ------------------------------------------------------------------- */

#define FAKE_MAX 8

typedef struct fake_resp {
    int status;
    const char *extra;     /* more header lines, each ending in \r\n */
    const char *ctype;     /* NULL: audio/pcm */
    const char *body;      /* NULL: PCM pattern */
    bool hang;             /* read the request, then never answer */
} fake_resp;

typedef struct fake {
    int lfd, port;
    pthread_t th;
    atomic_bool stop;
    fake_resp script[FAKE_MAX];
    int nscript;
    atomic_int nreq;
    int64_t req_ms[FAKE_MAX];
    char check_err[300];   /* first request-shape problem */
    const char *voice, *key, *text;
    unsigned char pcm[44100];   /* 1 s of 22050 Hz mono */
} fake;

static void fake_note(fake *f, const char *fmt, const char *a)
{
    if (!f->check_err[0])
        snprintf(f->check_err, sizeof f->check_err, fmt, a);
}

/* Case-insensitive header lookup in the request head; copies the value. */
static bool req_header(const char *head, const char *name, char *out,
                       size_t outlen)
{
    size_t nl = strlen(name);
    for (const char *p = strstr(head, "\r\n"); p && p[2];
         p = strstr(p + 2, "\r\n")) {
        const char *l = p + 2;
        if (strncasecmp(l, name, nl) == 0 && l[nl] == ':') {
            const char *v = l + nl + 1;
            while (*v == ' ')
                v++;
            const char *e = strstr(v, "\r\n");
            size_t len = e ? (size_t)(e - v) : strlen(v);
            snprintf(out, outlen, "%.*s", (int)len, v);
            return true;
        }
    }
    return false;
}

static void fake_check(fake *f, const char *req, size_t head_len,
                       const char *body, size_t body_len)
{
    char want_line[300], v[300];
    snprintf(want_line, sizeof want_line,
             "POST /v1/text-to-speech/%s?output_format=pcm_22050 HTTP/1.1\r\n",
             f->voice);
    if (strncmp(req, want_line, strlen(want_line)) != 0)
        fake_note(f, "bad request line: %.120s", req);
    if (!req_header(req, "xi-api-key", v, sizeof v) || strcmp(v, f->key) != 0)
        fake_note(f, "bad or missing xi-api-key header%s", "");
    if (!req_header(req, "Content-Type", v, sizeof v) ||
        strcmp(v, "application/json") != 0)
        fake_note(f, "bad Content-Type: %s", v);
    if (req_header(req, "Authorization", v, sizeof v))
        fake_note(f, "unexpected Authorization header%s", "");
    (void)head_len;
    cJSON *j = cJSON_ParseWithLength(body, body_len);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "text");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "model_id");
    if (!cJSON_IsObject(j))
        fake_note(f, "body is not a JSON object: %.100s", body);
    else if (!cJSON_IsString(t) || strcmp(t->valuestring, f->text) != 0)
        fake_note(f, "body text wrong: %.100s", body);
    else if (!cJSON_IsString(m) ||
             strcmp(m->valuestring, "eleven_multilingual_v2") != 0)
        fake_note(f, "body model_id wrong: %.100s", body);
    cJSON_Delete(j);
}

static void send_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        c += w;
        n -= (size_t)w;
    }
}

static const char *reason(int st)
{
    switch (st) {
    case 200: return "OK";
    case 401: return "Unauthorized";
    case 422: return "Unprocessable Entity";
    case 429: return "Too Many Requests";
    case 500: return "Internal Server Error";
    default: return "Status";
    }
}

static void fake_serve(fake *f, int cfd)
{
    char req[65536];
    size_t len = 0;
    struct timeval tv = {2, 0};
    (void)setsockopt(cfd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char *end = NULL;
    while (len < sizeof req - 1 && !end) {
        ssize_t r = recv(cfd, req + len, sizeof req - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    if (!end)
        return;
    size_t head = (size_t)(end + 4 - req);
    char cl[32] = "0";
    (void)req_header(req, "Content-Length", cl, sizeof cl);
    size_t want = head + (size_t)atol(cl);
    while (len < want && len < sizeof req - 1) {
        ssize_t r = recv(cfd, req + len, sizeof req - 1 - len, 0);
        if (r <= 0)
            return;
        len += (size_t)r;
    }
    req[len] = '\0';
    int k = atomic_load(&f->nreq);
    if (k < FAKE_MAX)
        f->req_ms[k] = now_ms();
    fake_check(f, req, head, req + head, len - head);
    const fake_resp *r = &f->script[k < f->nscript ? k : f->nscript - 1];
    atomic_store(&f->nreq, k + 1);
    if (r->hang) {
        while (!atomic_load(&f->stop))
            nap_ms(20);
        return;
    }
    const char *body = r->body ? r->body : (const char *)f->pcm;
    size_t blen = r->body ? strlen(r->body) : sizeof f->pcm;
    char hdr[1024];
    int n = snprintf(hdr, sizeof hdr,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                     "Content-Length: %zu\r\nConnection: close\r\n%s\r\n",
                     r->status, reason(r->status),
                     r->ctype ? r->ctype
                              : r->body ? "application/json" : "audio/pcm",
                     blen, r->extra ? r->extra : "");
    send_all(cfd, hdr, (size_t)n);
    send_all(cfd, body, blen);
}

static void *fake_main(void *arg)
{
    fake *f = arg;
    while (!atomic_load(&f->stop)) {
        struct pollfd pf = {.fd = f->lfd, .events = POLLIN};
        if (poll(&pf, 1, 50) <= 0)
            continue;
        int cfd = accept(f->lfd, NULL, NULL);
        if (cfd < 0)
            continue;
        fake_serve(f, cfd);
        close(cfd);
    }
    return NULL;
}

static int16_t pattern(size_t i)
{
    return (int16_t)((int)(i * 37) % 20000 - 10000);
}

/* Starts a server on 127.0.0.1:<free port> answering script[0..n) in
 * order (the last entry repeats).  Returns NULL on failure. */
static fake *fake_start(const fake_resp *script, int n)
{
    fake *f = calloc(1, sizeof *f);
    if (!f)
        return NULL;
    for (int i = 0; i < n && i < FAKE_MAX; i++)
        f->script[i] = script[i];
    f->nscript = n;
    f->voice = "Xb7hH8MSUJpSbSDYk0k2";
    f->key = "sk_test_0123456789abcdef";
    f->text = "Good morning, \"Anna\"! Caf\xc3\xa9?";
    for (size_t i = 0; i < sizeof f->pcm / 2; i++) {
        uint16_t s = (uint16_t)pattern(i);
        f->pcm[2 * i] = (unsigned char)(s & 0xFF);
        f->pcm[2 * i + 1] = (unsigned char)(s >> 8);
    }
    atomic_init(&f->stop, false);
    atomic_init(&f->nreq, 0);
    f->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (f->lfd < 0 || bind(f->lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(f->lfd, 16) != 0 ||
        getsockname(f->lfd, (struct sockaddr *)&a, &al) != 0) {
        if (f->lfd >= 0)
            close(f->lfd);
        free(f);
        return NULL;
    }
    f->port = ntohs(a.sin_port);
    if (pthread_create(&f->th, NULL, fake_main, f) != 0) {
        close(f->lfd);
        free(f);
        return NULL;
    }
    return f;
}

static void fake_stop(fake *f)
{
    if (!f)
        return;
    atomic_store(&f->stop, true);
    pthread_join(f->th, NULL);
    close(f->lfd);
    free(f);
}

/* An env pointing at the fake, with fast retries. */
static struct tts_env el_env(fake *f, char *cache, size_t cn, char *url,
                             size_t un)
{
    struct tts_env env = base_env(cache, cn);
    snprintf(url, un, "http://127.0.0.1:%d/", f->port);   /* trailing '/' */
    env.elevenlabs_base_url = url;
    env.elevenlabs_api_key = f->key;
    env.retry_base_ms = 50;
    env.request_timeout_ms = 5000;
    return env;
}

/* ---------------------------------------------------------------------
 * espeak-ng
 * ------------------------------------------------------------------- */

TEST(espeak_synthesizes_caches_and_force_bypasses)
{
    char cache[600], o1[600], o2[600], o3[600], key[65], cpath[700];
    struct tts_env env = base_env(cache, sizeof cache);
    bb_voice v = mkvoice("espeak", "en-gb");
    struct tts_result res;
    const char *text = "Hello from batchbox.";

    CHECK(tdir()[0]);
    int rc = tts_synthesize(&env, &v, text, tpath(o1, sizeof o1, "s1.wav"),
                            NULL, &res);
    if (rc != TTS_OK)
        FAIL("synthesize: %s", res.error);
    CHECK(!res.cache_hit);
    CHECK_EQ_INT(res.attempts, 1);
    CHECK(res.duration_ms > 300);
    CHECK_EQ_INT(res.fmt.sample_rate, 22050);
    CHECK_EQ_INT(res.fmt.channels, 1);
    wav_info in;
    char err[256];
    CHECK_EQ_INT(wav_probe(o1, &in, err, sizeof err), 0);
    CHECK_EQ_INT(in.data_offset, 44);
    CHECK(!in.size_from_file);
    CHECK_EQ_INT(wav_frames_to_ms(in.frames, 22050), res.duration_ms);
    int64_t dur = res.duration_ms;

    /* the cache entry, and no work directory left behind */
    CHECK_EQ_INT(tts_cache_key(&env, &v, text, key), 0);
    snprintf(cpath, sizeof cpath, "%s/%s.wav", cache, key);
    struct stat c1, c2;
    CHECK_EQ_INT(stat(cpath, &c1), 0);
    CHECK_EQ_INT(count_entries(cache, ".tmp-"), 0);

    /* second call: served from the cache — with a program that does not
     * exist, so any attempt to start one would fail */
    env.espeak_program = "/nonexistent/espeak-ng";
    rc = tts_synthesize(&env, &v, text, tpath(o2, sizeof o2, "s2.wav"), NULL,
                        &res);
    if (rc != TTS_OK)
        FAIL("cached synthesize: %s", res.error);
    CHECK(res.cache_hit);
    CHECK_EQ_INT(res.attempts, 0);
    CHECK_EQ_INT(res.duration_ms, dur);
    CHECK(same_file_bytes(o1, o2));
    CHECK_EQ_INT(stat(cpath, &c2), 0);
    CHECK(c1.st_ino == c2.st_ino);
    CHECK(c1.st_mtim.tv_sec == c2.st_mtim.tv_sec &&
          c1.st_mtim.tv_nsec == c2.st_mtim.tv_nsec);

    /* force: the cache is not read, so the missing program is hit */
    env.force = true;
    rc = tts_synthesize(&env, &v, text, tpath(o3, sizeof o3, "s3.wav"), NULL,
                        &res);
    CHECK_EQ_INT(rc, TTS_FAILED);
    CHECK(strstr(res.error, "/nonexistent/espeak-ng") != NULL);
    CHECK(!res.retryable);
    CHECK(access(o3, F_OK) != 0);

    /* force with the real program: synthesized again, entry refreshed */
    env.espeak_program = NULL;
    rc = tts_synthesize(&env, &v, text, o3, NULL, &res);
    if (rc != TTS_OK)
        FAIL("forced synthesize: %s", res.error);
    CHECK(!res.cache_hit);
    CHECK_EQ_INT(res.attempts, 1);
    CHECK_EQ_INT(stat(cpath, &c2), 0);
    CHECK(c1.st_ino != c2.st_ino);
    CHECK_EQ_INT(res.duration_ms, dur);
    CHECK_EQ_INT(count_entries(cache, ".tmp-"), 0);
}

TEST(espeak_bad_voice_is_a_clear_permanent_failure)
{
    char cache[600], o[600];
    struct tts_env env = base_env(cache, sizeof cache);
    bb_voice v = mkvoice("espeak", "zzqq");
    struct tts_result res;
    int rc = tts_synthesize(&env, &v, "Hello.", tpath(o, sizeof o, "b.wav"),
                            NULL, &res);
    CHECK_EQ_INT(rc, TTS_FAILED);
    CHECK(!res.retryable);
    if (!strstr(res.error, "espeak-ng") || !strstr(res.error, "does not exist"))
        FAIL("message: %s", res.error);
    CHECK(access(o, F_OK) != 0);
    CHECK_EQ_INT(count_entries(cache, ".tmp-"), 0);
    CHECK_EQ_INT(count_entries(cache, ""), 2);   /* "." and ".." */
}

TEST(espeak_cancel_kills_it_promptly)
{
    char cache[600], o[600];
    struct tts_env env = base_env(cache, sizeof cache);
    bb_voice v = mkvoice("espeak", "en");
    struct tts_result res;
    /* ~55 KB of text: several seconds of synthesis */
    size_t cap = 56000, len = 0;
    char *text = malloc(cap + 100);
    CHECK(text != NULL);
    for (int i = 0; len < cap; i++)
        len += (size_t)snprintf(text + len, 100, "The quick brown fox jumps "
                                "over the lazy dog number %d. ", i);
    atomic_bool cancel;
    atomic_init(&cancel, false);
    canceler c = {.flag = &cancel, .ms = 200, .comm = "espeak-ng"};
    CHECK_EQ_INT(pthread_create(&c.th, NULL, canceler_main, &c), 0);
    int rc = tts_synthesize(&env, &v, text, tpath(o, sizeof o, "long.wav"),
                            &cancel, &res);
    int64_t done = now_ms();
    pthread_join(c.th, NULL);
    free(text);
    CHECK(c.saw_child);
    CHECK_EQ_INT(rc, TTS_CANCELED);
    CHECK_STR_EQ(res.error, "canceled");
    if (done - c.at_ms > 1000)
        FAIL("returned %lld ms after the cancel", (long long)(done - c.at_ms));
    CHECK_EQ_INT(count_children("espeak-ng"), 0);
    CHECK(access(o, F_OK) != 0);
    CHECK_EQ_INT(count_entries(cache, ".tmp-"), 0);
    CHECK_EQ_INT(count_entries(cache, ""), 2);
}

/* ---------------------------------------------------------------------
 * ElevenLabs
 * ------------------------------------------------------------------- */

TEST(elevenlabs_request_shape_and_pcm_answer)
{
    fake_resp s[] = {{.status = 200}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char cache[600], url[100], o[600], o2[600], err[256];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "el.wav"),
                            NULL, &res);
    int nreq = atomic_load(&f->nreq);
    char shape[300];
    snprintf(shape, sizeof shape, "%s", f->check_err);
    if (rc != TTS_OK) {
        fake_stop(f);
        FAIL("synthesize: %s", res.error);
    }
    CHECK_EQ_INT(nreq, 1);
    if (shape[0]) {
        fake_stop(f);
        FAIL("request shape: %s", shape);
    }
    CHECK_EQ_INT(res.attempts, 1);
    CHECK_EQ_INT(res.duration_ms, 1000);
    CHECK_EQ_INT(res.fmt.sample_rate, 22050);
    CHECK_EQ_INT(res.fmt.channels, 1);
    wav_info in;
    CHECK_EQ_INT(wav_probe(o, &in, err, sizeof err), 0);
    CHECK_EQ_INT(in.frames, 22050);
    size_t len = 0;
    char *data = bb_read_file(o, 1u << 20, &len);
    CHECK(data != NULL);
    bool same = len == 44 + sizeof f->pcm &&
                memcmp(data + 44, f->pcm, sizeof f->pcm) == 0;
    free(data);
    CHECK(same);

    /* same text and voice again: the cache answers, no request */
    rc = tts_synthesize(&env, &v, f->text, tpath(o2, sizeof o2, "el2.wav"),
                        NULL, &res);
    nreq = atomic_load(&f->nreq);
    fake_stop(f);
    CHECK_EQ_INT(rc, TTS_OK);
    CHECK(res.cache_hit);
    CHECK_EQ_INT(nreq, 1);
}

TEST(elevenlabs_429_honours_retry_after)
{
    fake_resp s[] = {
        {.status = 429, .extra = "Retry-After: 1\r\n",
         .body = "{\"detail\":{\"status\":\"too_many_concurrent_requests\","
                 "\"message\":\"Too many concurrent requests\"}}"},
        {.status = 200},
    };
    fake *f = fake_start(s, 2);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    logbuf lb = {.len = 0};
    env.log = collect_log;
    env.log_ud = &lb;
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "r.wav"),
                            NULL, &res);
    int nreq = atomic_load(&f->nreq);
    int64_t gap = f->req_ms[1] - f->req_ms[0];
    char shape[300];
    snprintf(shape, sizeof shape, "%s", f->check_err);
    fake_stop(f);
    if (rc != TTS_OK)
        FAIL("synthesize: %s", res.error);
    CHECK_EQ_INT(nreq, 2);
    CHECK_EQ_INT(res.attempts, 2);
    CHECK_STR_EQ(shape, "");
    if (gap < 950 || gap > 3000)
        FAIL("retry came %lld ms after the 429 (want ~1000)", (long long)gap);
    CHECK(strstr(lb.text, "HTTP 429") != NULL);
    CHECK(strstr(lb.text, "Too many concurrent requests") != NULL);
    CHECK(strstr(lb.text, "sk_test") == NULL);
    CHECK_EQ_INT(res.duration_ms, 1000);
}

TEST(elevenlabs_500_then_200_succeeds)
{
    fake_resp s[] = {
        {.status = 500, .body = "{\"detail\":{\"status\":\"internal_error\","
                                "\"message\":\"Something went wrong\"}}"},
        {.status = 200},
    };
    fake *f = fake_start(s, 2);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "r5.wav"),
                            NULL, &res);
    int nreq = atomic_load(&f->nreq);
    int64_t gap = f->req_ms[1] - f->req_ms[0];
    fake_stop(f);
    if (rc != TTS_OK)
        FAIL("synthesize: %s", res.error);
    CHECK_EQ_INT(nreq, 2);
    CHECK_EQ_INT(res.attempts, 2);
    CHECK(gap >= 45);              /* the backoff (base 50 ms) was waited */
    CHECK_EQ_INT(res.duration_ms, 1000);
}

TEST(elevenlabs_5xx_exhausts_attempts_retryably)
{
    fake_resp s[] = {{.status = 500,
                      .body = "{\"detail\":{\"status\":\"internal_error\","
                              "\"message\":\"Something went wrong\"}}"}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    env.max_attempts = 3;
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "x.wav"),
                            NULL, &res);
    int nreq = atomic_load(&f->nreq);
    fake_stop(f);
    CHECK_EQ_INT(rc, TTS_FAILED);
    CHECK_EQ_INT(nreq, 3);
    CHECK_EQ_INT(res.attempts, 3);
    CHECK(res.retryable);
    if (!strstr(res.error, "HTTP 500 after 3 attempts") ||
        !strstr(res.error, "Something went wrong"))
        FAIL("message: %s", res.error);
    CHECK(access(o, F_OK) != 0);
    CHECK_EQ_INT(count_entries(cache, ".tmp-"), 0);
}

TEST(elevenlabs_401_is_not_retried)
{
    fake_resp s[] = {{.status = 401,
                      .body = "{\"detail\":{\"status\":\"invalid_api_key\","
                              "\"message\":\"Invalid API key\"}}"}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "k.wav"),
                            NULL, &res);
    int nreq = atomic_load(&f->nreq);
    fake_stop(f);
    CHECK_EQ_INT(rc, TTS_FAILED);
    CHECK_EQ_INT(nreq, 1);
    CHECK(!res.retryable);
    if (!strstr(res.error, "ElevenLabs rejected the API key") ||
        !strstr(res.error, "Invalid API key"))
        FAIL("message: %s", res.error);
    CHECK(strstr(res.error, "sk_test") == NULL);
}

TEST(elevenlabs_422_reports_validation_detail)
{
    fake_resp s[] = {{.status = 422,
                      .body = "{\"detail\":[{\"loc\":[\"body\",\"text\"],"
                              "\"msg\":\"field required\",\"type\":"
                              "\"value_error.missing\"}]}"}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "u.wav"),
                            NULL, &res);
    int nreq = atomic_load(&f->nreq);
    fake_stop(f);
    CHECK_EQ_INT(rc, TTS_FAILED);
    CHECK_EQ_INT(nreq, 1);
    CHECK(!res.retryable);
    if (!strstr(res.error, "HTTP 422") || !strstr(res.error, "field required"))
        FAIL("message: %s", res.error);
}

TEST(elevenlabs_json_200_is_not_audio)
{
    fake_resp s[] = {{.status = 200, .body = "{\"audio\":\"...\"}"}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "j.wav"),
                            NULL, &res);
    fake_stop(f);
    CHECK_EQ_INT(rc, TTS_FAILED);
    CHECK(strstr(res.error, "not PCM audio") != NULL);
    CHECK_EQ_INT(count_entries(cache, ""), 2);
}

TEST(elevenlabs_missing_key_fails_before_any_request)
{
    fake_resp s[] = {{.status = 200}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    env.elevenlabs_api_key = NULL;
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "m.wav"),
                            NULL, &res);
    env.elevenlabs_api_key = "";
    struct tts_result res2;
    int rc2 = tts_synthesize(&env, &v, f->text, o, NULL, &res2);
    nap_ms(100);
    int nreq = atomic_load(&f->nreq);
    fake_stop(f);
    CHECK_EQ_INT(rc, TTS_FAILED);
    CHECK_EQ_INT(rc2, TTS_FAILED);
    CHECK(!res.retryable);
    CHECK(strstr(res.error, "ELEVENLABS_API_KEY") != NULL);
    CHECK_EQ_INT(res.attempts, 0);
    CHECK_EQ_INT(nreq, 0);
}

TEST(elevenlabs_silent_server_times_out)
{
    fake_resp s[] = {{.hang = true}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    env.request_timeout_ms = 700;
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    int64_t t0 = now_ms();
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "t.wav"),
                            NULL, &res);
    int64_t took = now_ms() - t0;
    int nreq = atomic_load(&f->nreq);
    fake_stop(f);
    CHECK_EQ_INT(rc, TTS_FAILED);
    CHECK(res.retryable);
    if (!strstr(res.error, "timed out"))
        FAIL("message: %s", res.error);
    CHECK_EQ_INT(nreq, 1);
    if (took < 600 || took > 3000)
        FAIL("took %lld ms (timeout 700)", (long long)took);
}

TEST(elevenlabs_cancel_aborts_the_transfer)
{
    fake_resp s[] = {{.hang = true}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    env.request_timeout_ms = 20000;
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    atomic_bool cancel;
    atomic_init(&cancel, false);
    canceler c = {.flag = &cancel, .ms = 300};
    CHECK_EQ_INT(pthread_create(&c.th, NULL, canceler_main, &c), 0);
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "c.wav"),
                            &cancel, &res);
    int64_t done = now_ms();
    pthread_join(c.th, NULL);
    int nreq = atomic_load(&f->nreq);
    fake_stop(f);
    CHECK_EQ_INT(rc, TTS_CANCELED);
    CHECK_EQ_INT(nreq, 1);
    if (done - c.at_ms > 1500)
        FAIL("returned %lld ms after the cancel", (long long)(done - c.at_ms));
    CHECK(access(o, F_OK) != 0);
    CHECK_EQ_INT(count_entries(cache, ".tmp-"), 0);
}

TEST(elevenlabs_cancel_during_backoff)
{
    fake_resp s[] = {{.status = 429, .extra = "Retry-After: 30\r\n",
                      .body = "{\"detail\":{\"status\":\"rate_limited\","
                              "\"message\":\"slow down\"}}"}};
    fake *f = fake_start(s, 1);
    CHECK(f != NULL);
    char cache[600], url[100], o[600];
    struct tts_env env = el_env(f, cache, sizeof cache, url, sizeof url);
    env.retry_max_ms = 20000;
    bb_voice v = mkvoice("elevenlabs", f->voice);
    struct tts_result res;
    atomic_bool cancel;
    atomic_init(&cancel, false);
    canceler c = {.flag = &cancel, .ms = 300};
    CHECK_EQ_INT(pthread_create(&c.th, NULL, canceler_main, &c), 0);
    int rc = tts_synthesize(&env, &v, f->text, tpath(o, sizeof o, "cb.wav"),
                            &cancel, &res);
    int64_t done = now_ms();
    pthread_join(c.th, NULL);
    int nreq = atomic_load(&f->nreq);
    fake_stop(f);
    CHECK_EQ_INT(rc, TTS_CANCELED);
    CHECK_EQ_INT(nreq, 1);
    CHECK(done - c.at_ms < 500);
}

/* ---------------------------------------------------------------------
 * command provider
 * ------------------------------------------------------------------- */

/* Writes the helper script; returns its path in out. */
static int write_script(char *out, size_t n)
{
    static const char script[] =
        "#!/bin/sh\n"
        "# args: text out voice log\n"
        "printf '%s|%s\\n' \"$1\" \"$3\" >> \"$4\"\n"
        "exec sox -q -n -r 16000 -c 1 -b 16 \"$2\" synth 0.25 sine 440\n";
    tpath(out, n, "tts.sh");
    FILE *f = fopen(out, "w");
    if (!f)
        return -1;
    size_t w = fwrite(script, 1, sizeof script - 1, f);
    return fclose(f) == 0 && w == sizeof script - 1 ? 0 : -1;
}

static int count_lines(const char *path)
{
    size_t len = 0;
    char *d = bb_read_file(path, 1u << 20, &len);
    int n = 0;
    if (!d)
        return 0;
    for (size_t i = 0; i < len; i++)
        n += d[i] == '\n';
    free(d);
    return n;
}

TEST(command_provider_runs_the_template)
{
    char cache[600], script[600], logp[600], o[600], o2[600];
    CHECK_EQ_INT(write_script(script, sizeof script), 0);
    tpath(logp, sizeof logp, "calls.log");
    const char *argv[] = {"/bin/sh", script, "{text}", "{out}", "{voice}",
                          logp, NULL};
    struct tts_env env = base_env(cache, sizeof cache);
    env.command_argv = argv;
    bb_voice v = mkvoice("command", "narrator-2");
    struct tts_result res;
    const char *text = "Say {this} & 'that' $HOME; `ls`";
    int rc = tts_synthesize(&env, &v, text, tpath(o, sizeof o, "cmd.wav"),
                            NULL, &res);
    if (rc != TTS_OK)
        FAIL("synthesize: %s", res.error);
    CHECK_EQ_INT(res.duration_ms, 250);
    CHECK_EQ_INT(res.fmt.sample_rate, 16000);
    size_t len = 0;
    char *calls = bb_read_file(logp, 4096, &len);
    CHECK(calls != NULL);
    bool ok = strcmp(calls, "Say {this} & 'that' $HOME; `ls`|narrator-2\n") == 0;
    if (!ok) {
        char copy[300];
        snprintf(copy, sizeof copy, "%s", calls);
        free(calls);
        FAIL("script saw: %s", copy);
    }
    free(calls);

    /* cached: the script does not run again */
    rc = tts_synthesize(&env, &v, text, tpath(o2, sizeof o2, "cmd2.wav"),
                        NULL, &res);
    CHECK_EQ_INT(rc, TTS_OK);
    CHECK(res.cache_hit);
    CHECK_EQ_INT(count_lines(logp), 1);

    /* another template is another cache key */
    const char *argv2[] = {"/bin/sh", script, "{text}", "{out}", "{{v}}",
                           logp, NULL};
    env.command_argv = argv2;
    rc = tts_synthesize(&env, &v, text, o2, NULL, &res);
    CHECK_EQ_INT(rc, TTS_OK);
    CHECK(!res.cache_hit);
    CHECK_EQ_INT(count_lines(logp), 2);
}

TEST(command_provider_failures)
{
    char cache[600], o[600];
    struct tts_env env = base_env(cache, sizeof cache);
    bb_voice v = mkvoice("command", "x");
    struct tts_result res;
    tpath(o, sizeof o, "cf.wav");

    /* writes nothing */
    const char *nothing[] = {"/bin/sh", "-c", "exit 0", "sh", "{out}", NULL};
    env.command_argv = nothing;
    CHECK_EQ_INT(tts_synthesize(&env, &v, "hi", o, NULL, &res), TTS_FAILED);
    if (!strstr(res.error, "did not write"))
        FAIL("message: %s", res.error);

    /* writes something that is not a WAV */
    const char *garbage[] = {"/bin/sh", "-c", "echo hello > \"$1\"", "sh",
                             "{out}", NULL};
    env.command_argv = garbage;
    CHECK_EQ_INT(tts_synthesize(&env, &v, "hi", o, NULL, &res), TTS_FAILED);
    if (!strstr(res.error, "not a usable WAV"))
        FAIL("message: %s", res.error);
    CHECK(!res.retryable);

    /* fails with a message on stderr */
    const char *loud[] = {"/bin/sh", "-c", "echo 'model not loaded' >&2; "
                          "exit 3", "sh", "{out}", NULL};
    env.command_argv = loud;
    CHECK_EQ_INT(tts_synthesize(&env, &v, "hi", o, NULL, &res), TTS_FAILED);
    if (!strstr(res.error, "exited with status 3") ||
        !strstr(res.error, "model not loaded"))
        FAIL("message: %s", res.error);
    CHECK(res.retryable);

    /* no template */
    env.command_argv = NULL;
    CHECK_EQ_INT(tts_synthesize(&env, &v, "hi", o, NULL, &res), TTS_FAILED);
    CHECK(!res.retryable);
    CHECK(access(o, F_OK) != 0);
    CHECK_EQ_INT(count_entries(cache, ".tmp-"), 0);
}

TEST(command_template_check)
{
    char err[200];
    const char *good[] = {"tts", "--voice={voice}", "-o", "{out}", "{{x}}",
                          "{text}", NULL};
    const char *noout[] = {"tts", "{text}", NULL};
    const char *unknown[] = {"tts", "{out}", "{input}", NULL};
    const char *brace[] = {"tts", "{out}", "a}b", NULL};
    const char *empty[] = {"", "{out}", NULL};
    const char *none[] = {NULL};
    CHECK_EQ_INT(tts_check_command(good, err, sizeof err), 0);
    CHECK_EQ_INT(tts_check_command(noout, err, sizeof err), -1);
    CHECK(strstr(err, "{out}") != NULL);
    CHECK_EQ_INT(tts_check_command(unknown, err, sizeof err), -1);
    CHECK(strstr(err, "{input}") != NULL);
    CHECK_EQ_INT(tts_check_command(brace, err, sizeof err), -1);
    CHECK_EQ_INT(tts_check_command(empty, err, sizeof err), -1);
    CHECK_EQ_INT(tts_check_command(none, err, sizeof err), -1);
    CHECK_EQ_INT(tts_check_command(NULL, err, sizeof err), -1);
}

/* ---------------------------------------------------------------------
 * Cache key, validation, voices
 * ------------------------------------------------------------------- */

TEST(cache_key_is_the_documented_hash)
{
    struct tts_env env;
    memset(&env, 0, sizeof env);
    bb_voice es = mkvoice("espeak", "en-gb");
    char k[65], k2[65], want[65];
    unsigned char h[32];
    static const char in[] = "espeak\0en-gb\0hello";
    crypto_hash_sha256(h, (const unsigned char *)in, sizeof in - 1);
    sodium_bin2hex(want, sizeof want, h, sizeof h);
    CHECK_EQ_INT(tts_cache_key(&env, &es, "hello", k), 0);
    CHECK_STR_EQ(k, want);

    CHECK_EQ_INT(tts_cache_key(&env, &es, "hello!", k2), 0);
    CHECK(strcmp(k, k2) != 0);
    bb_voice es2 = mkvoice("espeak", "en-us");
    CHECK_EQ_INT(tts_cache_key(&env, &es2, "hello", k2), 0);
    CHECK(strcmp(k, k2) != 0);

    /* ElevenLabs: the model and output format are part of the key */
    bb_voice el = mkvoice("elevenlabs", "en-gb");
    static const char in2[] = "elevenlabs\0en-gb\0hello\0model_id="
                              "eleven_multilingual_v2;output_format=pcm_22050";
    crypto_hash_sha256(h, (const unsigned char *)in2, sizeof in2 - 1);
    sodium_bin2hex(want, sizeof want, h, sizeof h);
    CHECK_EQ_INT(tts_cache_key(&env, &el, "hello", k2), 0);
    CHECK_STR_EQ(k2, want);
    env.elevenlabs_model = "eleven_turbo_v2_5";
    CHECK_EQ_INT(tts_cache_key(&env, &el, "hello", k), 0);
    CHECK(strcmp(k, k2) != 0);

    bb_voice bad = mkvoice("festival", "x");
    CHECK_EQ_INT(tts_cache_key(&env, &bad, "hello", k), -1);
}

TEST(rejects_bad_text_and_providers)
{
    char cache[600], o[600];
    struct tts_env env = base_env(cache, sizeof cache);
    bb_voice v = mkvoice("espeak", "en");
    struct tts_result res;
    tpath(o, sizeof o, "bad.wav");
    CHECK_EQ_INT(tts_synthesize(&env, &v, "  \n", o, NULL, &res), TTS_FAILED);
    CHECK(strstr(res.error, "empty") != NULL);
    CHECK(!res.retryable);
    CHECK_EQ_INT(tts_synthesize(&env, &v, "caf\xc3", o, NULL, &res),
                 TTS_FAILED);
    CHECK(strstr(res.error, "UTF-8") != NULL);
    char *big = malloc(TTS_MAX_TEXT_BYTES + 2);
    CHECK(big != NULL);
    memset(big, 'a', TTS_MAX_TEXT_BYTES + 1);
    big[TTS_MAX_TEXT_BYTES + 1] = '\0';
    int rc = tts_synthesize(&env, &v, big, o, NULL, &res);
    free(big);
    CHECK_EQ_INT(rc, TTS_FAILED);
    CHECK(strstr(res.error, "limit") != NULL);
    bb_voice bad = mkvoice("festival", "x");
    CHECK_EQ_INT(tts_synthesize(&env, &bad, "hi", o, NULL, &res), TTS_FAILED);
    CHECK(strstr(res.error, "festival") != NULL);
    atomic_bool cancel;
    atomic_init(&cancel, true);
    CHECK_EQ_INT(tts_synthesize(&env, &v, "hi", o, &cancel, &res),
                 TTS_CANCELED);
    CHECK(access(o, F_OK) != 0);
}

static const char VOICES_JSON[] =
    "{\"presets\": [{\"id\": \"n\", \"workflow\": \"noop\"}], \"voices\": ["
    " {\"id\": \"gb-m1\", \"accent\": \"british\", \"gender\": \"male\","
    "  \"provider\": \"espeak\", \"providerVoice\": \"en-gb\"},"
    " {\"id\": \"gb-m2\", \"accent\": \"british\", \"gender\": \"male\","
    "  \"provider\": \"espeak\", \"providerVoice\": \"en-gb+m3\"},"
    " {\"id\": \"us-f1\", \"accent\": \"american\", \"gender\": \"female\","
    "  \"provider\": \"espeak\", \"providerVoice\": \"en-us+f3\"},"
    " {\"id\": \"gb-f1\", \"accent\": \"british\", \"gender\": \"female\","
    "  \"provider\": \"elevenlabs\", \"providerVoice\": \"abc\"}"
    "]}";

TEST(assign_voices_alternates_stably)
{
    bb_config cfg;
    char err[256];
    if (config_load_text(VOICES_JSON, "/tmp", &cfg, err, sizeof err) != 0)
        FAIL("config: %s", err);
    const char *sp[] = {"Anna", "Ben", "Anna", "Carl", "Dora", "Ben", NULL};
    const bb_voice *out[7] = {0};
    int rc = tts_assign_voices(&cfg, "british", sp, 7, out, err, sizeof err);
    /* candidates gb-m1 gb-m2 gb-f1; distinct speakers Anna Ben Carl Dora ""
     * get: the first; the other gender first; the last unused; then round
     * robin (3 % 3 = 0, 4 % 3 = 1) */
    static const char *const want[7] = {"gb-m1", "gb-f1", "gb-m1", "gb-m2",
                                        "gb-m1", "gb-f1", "gb-m2"};
    bool ok = rc == 0;
    for (int i = 0; ok && i < 7; i++)
        ok = out[i] && strcmp(out[i]->id, want[i]) == 0;
    ok = ok && out[2] == out[0] && out[5] == out[1];   /* same pointers */
    if (!ok) {
        char got[200];
        snprintf(got, sizeof got, "rc=%d %s %s %s %s %s %s %s", rc,
                 out[0] ? out[0]->id : "-", out[1] ? out[1]->id : "-",
                 out[2] ? out[2]->id : "-", out[3] ? out[3]->id : "-",
                 out[4] ? out[4]->id : "-", out[5] ? out[5]->id : "-",
                 out[6] ? out[6]->id : "-");
        config_free(&cfg);
        FAIL("assignment: %s", got);
    }

    /* one voice for the accent: everyone shares it */
    const char *two[] = {"A", "B"};
    rc = tts_assign_voices(&cfg, "american", two, 2, out, err, sizeof err);
    ok = rc == 0 && strcmp(out[0]->id, "us-f1") == 0 && out[1] == out[0];
    /* no accent: every voice is a candidate, alternation still applies */
    int rc2 = tts_assign_voices(&cfg, NULL, two, 2, out, err, sizeof err);
    bool ok2 = rc2 == 0 && strcmp(out[0]->id, "gb-m1") == 0 &&
               strcmp(out[1]->id, "us-f1") == 0;
    int rc3 = tts_assign_voices(&cfg, "scottish", two, 2, out, err,
                                sizeof err);
    config_free(&cfg);
    CHECK(ok);
    CHECK(ok2);
    CHECK_EQ_INT(rc3, -1);
    CHECK(strstr(err, "scottish") != NULL);
}
