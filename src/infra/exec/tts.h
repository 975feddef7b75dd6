/* tts.h — text-to-speech for the lesson workflow (docs/tts.md): voice
 * choice per speaker, one synthesis call per speech segment through three
 * providers behind one function, and an on-disk cache.
 *
 * Providers (bb_voice.provider):
 *   "espeak"      runs `espeak-ng -v <providerVoice> -w <file> -- <text>`
 *                 (the offline default);
 *   "elevenlabs"  POST {base}/v1/text-to-speech/{providerVoice}
 *                 ?output_format=pcm_<rate> with the xi-api-key header and
 *                 a JSON body {"text", "model_id"}; the raw PCM answer is
 *                 wrapped into a WAV; 429 and 5xx are retried with backoff
 *                 (Retry-After honoured, capped);
 *   "command"     runs an argv template (no shell) with {text} {out}
 *                 {voice}; the program must leave a 16-bit PCM WAV at {out}.
 * Processes run through exec_command (exec.h) with a preset built on the
 * fly: no shell, own process group, stdin /dev/null, SIGTERM then SIGKILL
 * on cancel or timeout; their stderr becomes the error message.
 *
 * Every segment WAV this module hands out is canonical (44-byte header,
 * 16-bit PCM) in the provider's native format: espeak-ng 22050 Hz mono,
 * ElevenLabs <rate> Hz mono (22050 by default), command whatever the
 * program wrote.  Joining segments of different formats is wav_concat's
 * job (it converts).
 *
 * Cache: <cache_dir>/<key>.wav, key = hex sha256 of
 *   provider "\0" providerVoice "\0" text                  (espeak)
 *   provider "\0" providerVoice "\0" text "\0" settings    (others)
 * where settings are what else changes the audio: "model_id=M;
 * output_format=pcm_R" for ElevenLabs, the argv template (elements joined
 * by "\x1f") for command.  Entries are written to a temp file in cache_dir
 * and renamed into place, so readers never see half a file; env->force
 * skips the lookup but still refreshes the entry.  Nothing here evicts.
 *
 * Thread-safe: no shared mutable state; any number of workers may
 * synthesize at once (two writers of one key both produce a whole file). */
#ifndef BB_TTS_H
#define BB_TTS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "infra/config.h"
#include "util/wav.h"

#define TTS_MAX_TEXT_BYTES 60000     /* one segment's text */
#define TTS_ELEVENLABS_DEFAULT_URL "https://api.elevenlabs.io"
#define TTS_ELEVENLABS_DEFAULT_MODEL "eleven_multilingual_v2"

enum tts_status {
    TTS_OK = 0,
    TTS_FAILED = -1,      /* res->error says why, res->retryable whether a
                             later attempt of the job may succeed */
    TTS_CANCELED = -2,    /* *cancel became true; the provider was stopped */
};

/* Settings for one lesson run; strings are borrowed for the call.  Zero
 * values mean the defaults in the comments. */
struct tts_env {
    const char *cache_dir;           /* required; created when missing */
    bool force;                      /* forceTts: do not read the cache */

    /* elevenlabs */
    const char *elevenlabs_base_url; /* NULL: TTS_ELEVENLABS_DEFAULT_URL */
    const char *elevenlabs_api_key;  /* from ELEVENLABS_API_KEY (the caller
                                        reads it); NULL/"" fails such voices
                                        before any request */
    const char *elevenlabs_model;    /* NULL: TTS_ELEVENLABS_DEFAULT_MODEL */
    uint32_t elevenlabs_sample_rate; /* 0: 22050; one of 8000 16000 22050
                                        24000 44100 48000 */
    long connect_timeout_ms;         /* 0: 10000 */
    long request_timeout_ms;         /* one HTTP attempt; 0: 120000 */
    int max_attempts;                /* HTTP attempts per segment; 0: 4 */
    int retry_base_ms;               /* first backoff, doubled each retry;
                                        0: 1000 */
    int retry_max_ms;                /* cap of one wait, Retry-After
                                        included; 0: 30000 */

    /* processes (espeak, command) */
    const char *espeak_program;      /* NULL: "espeak-ng" (PATH lookup) */
    const char *const *command_argv; /* provider "command": NULL-terminated
                                        template, see tts_check_command */
    int process_timeout_sec;         /* 0: 300 */
    int kill_grace_ms;               /* SIGTERM → SIGKILL; 0: 1000 */

    /* Optional progress/diagnostic lines ("ElevenLabs: HTTP 429, retrying
     * in 1000 ms"); never contain the API key. */
    void (*log)(void *ud, const char *line);
    void *log_ud;
};

struct tts_result {
    bool cache_hit;       /* served from the cache, no provider call */
    int64_t duration_ms;  /* of out_wav */
    wav_format fmt;       /* of out_wav */
    int attempts;         /* HTTP requests or processes started */
    bool retryable;       /* TTS_FAILED only */
    char error[256];      /* TTS_FAILED / TTS_CANCELED: one line */
};

/* Synthesizes text with voice into out_wav (created or replaced
 * atomically; its directory must exist).  cancel may be NULL; when it
 * becomes true a running espeak-ng/command is killed and an HTTP transfer
 * aborted (within about a second while the server is silent).  Returns a
 * tts_status; *res is always filled. */
int tts_synthesize(const struct tts_env *env, const bb_voice *voice,
                   const char *text, const char *out_wav, atomic_bool *cancel,
                   struct tts_result *res);

/* The cache key of (voice, text) under env, as 64 hex digits + NUL.
 * Returns 0, or -1 for an unknown provider. */
int tts_cache_key(const struct tts_env *env, const bb_voice *voice,
                  const char *text, char out[65]);

/* Gives each speaker a voice for the whole lesson.  speakers[i] is the
 * speaker of slot i (NULL counts as the name ""); slots with the same name
 * get the same voice, so either the distinct speakers or one entry per
 * dialogue line may be passed.  Candidates are the configured voices of
 * `accent` in configuration order (every voice when accent is NULL).
 * Distinct speakers, in order of first appearance, take:
 *   the first candidate for the first speaker; then, while some candidate
 *   is unused, the first unused one whose gender differs from the previous
 *   speaker's voice (when both genders are set), else the first unused
 *   one; once all are used, candidates are reused round-robin
 *   (speaker k gets candidate k mod count).
 * out[i] receives borrowed pointers into cfg.  Returns 0, or -1 with a
 * message when there are no candidates (unknown accent, no voices) or
 * more than 1024 distinct speakers. */
int tts_assign_voices(const bb_config *cfg, const char *accent,
                      const char *const *speakers, size_t n,
                      const bb_voice **out, char *err, size_t errlen);

/* Checks a command-provider template (for config load): argc >= 1, a
 * non-empty program, placeholders only {text} {out} {voice} ("{{" and "}}"
 * are literal braces), and {out} used at least once.  Returns 0 or -1. */
int tts_check_command(const char *const *argv, char *err, size_t errlen);

#endif
