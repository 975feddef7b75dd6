/* wav.h — RIFF/WAVE files of 16-bit PCM: reading a file's format and
 * locating its samples, writing canonical files (44-byte header), and
 * joining several files into one with optional silence between them,
 * converting sample rate and channel count on the way.
 *
 * Accepted input: "RIFF" ... "WAVE" with a "fmt " chunk of
 * WAVE_FORMAT_PCM (1) or WAVE_FORMAT_EXTENSIBLE (0xFFFE) whose sub-format
 * is PCM, 16 bits per sample, 1..16 channels, 1..768000 Hz, followed
 * somewhere by a "data" chunk.  Unknown chunks (LIST, fact, ...) are
 * skipped, including their pad byte when their size is odd.  A data size
 * of 0x7FFFF000 or more that runs past the end of the file is a streaming
 * placeholder (what `espeak-ng --stdout` writes, and what any writer leaves
 * when it is stopped before fixing its header): the samples then run to
 * the end of the file.  Any other size larger than what the file holds is
 * a truncated file and an error.  Everything else (RIFX, RF64, float,
 * 8/24/32-bit, A-law, ...) is refused with a message saying what it is.
 *
 * All functions work on plain files with a fixed-size buffer: memory use
 * does not grow with the size of the audio.  Messages go into err (one
 * line, may be NULL).  Thread-safe: no shared state. */
#ifndef BB_WAV_H
#define BB_WAV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WAV_HEADER_BYTES 44u      /* canonical header written here */
#define WAV_MAX_CHANNELS 16u
#define WAV_MAX_RATE     768000u

typedef struct wav_format {
    uint32_t sample_rate;         /* frames per second */
    uint16_t channels;            /* interleaved */
    uint16_t bits;                /* always 16 */
} wav_format;

typedef struct wav_info {
    wav_format fmt;
    uint64_t data_offset;         /* file offset of the first sample */
    uint64_t data_bytes;          /* whole frames only (rounded down) */
    uint64_t frames;              /* data_bytes / (channels * 2) */
    bool size_from_file;          /* the header held a streaming
                                     placeholder; the size is the file's */
    bool extensible;              /* WAVE_FORMAT_EXTENSIBLE header */
} wav_info;

/* One segment's place in a joined file, in milliseconds from its start. */
typedef struct wav_span {
    int64_t start_ms, end_ms;
} wav_span;

/* Reads path's header.  Returns 0 and fills *info, or -1 with a message
 * naming the file and the problem. */
int wav_probe(const char *path, wav_info *info, char *err, size_t errlen);

/* Duration of frames at rate, in ms, rounded to nearest. */
int64_t wav_frames_to_ms(uint64_t frames, uint32_t rate);

/* Fills out[WAV_HEADER_BYTES] with a canonical PCM header for data_bytes
 * of samples.  Returns 0, or -1 when the format is out of range or the
 * file would exceed the 4 GiB RIFF limit. */
int wav_header(unsigned char out[WAV_HEADER_BYTES], const wav_format *fmt,
               uint64_t data_bytes);

/* Writes a complete file: header + pcm[0..len) (little-endian 16-bit
 * samples, interleaved).  len must be a multiple of channels * 2.  The
 * file is created or truncated with mode 0644.  Returns 0 or -1. */
int wav_write_file(const char *path, const wav_format *fmt, const void *pcm,
                   size_t len, char *err, size_t errlen);

/* A file being written piece by piece (e.g. audio arriving over HTTP).
 * open writes a placeholder header; write appends bytes (any split, even
 * inside a sample); finish drops a trailing partial frame, fixes the
 * header and closes; abort closes and removes the file.  After finish or
 * abort the writer is closed (both are safe to call on a closed writer). */
typedef struct wav_writer {
    int fd;                       /* -1 when closed */
    wav_format fmt;
    uint64_t bytes;               /* sample bytes written so far */
    char *path;                   /* owned copy, for abort */
} wav_writer;

int wav_writer_open(wav_writer *w, const char *path, const wav_format *fmt,
                    char *err, size_t errlen);
int wav_writer_write(wav_writer *w, const void *data, size_t len, char *err,
                     size_t errlen);
/* Throws away what was written so far (keeps the file open, empty). */
int wav_writer_reset(wav_writer *w, char *err, size_t errlen);
/* Returns 0 with *frames_out (may be NULL) set, or -1 (the file is then
 * removed).  An empty file (no whole frame) is an error. */
int wav_writer_finish(wav_writer *w, uint64_t *frames_out, char *err,
                      size_t errlen);
void wav_writer_abort(wav_writer *w);

/* Joins inputs[0..n) into out_path (n >= 1), with gap_ms of silence
 * between consecutive inputs (none before the first or after the last).
 * The output format is *fmt, or the first input's when fmt is NULL;
 * inputs in another format are converted: channels are mixed (to mono:
 * the average; from mono: copied to every channel; otherwise output
 * channel c takes input channel c when there is one, else channel
 * c mod inputs), then the rate is converted by linear interpolation.
 * Streams in fixed-size blocks.  spans (may be NULL) receives n entries:
 * each input's start and end in the output, computed from frame counts.
 * out_path is written in place (a failure removes it); write to a temp
 * name and rename if readers may look at it meanwhile.  Returns 0 or -1
 * with a message naming the input at fault. */
int wav_concat(const char *const *inputs, size_t n, const char *out_path,
               const wav_format *fmt, int gap_ms, wav_span *spans,
               char *err, size_t errlen);

#endif
