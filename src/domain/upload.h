/* upload.h — checks on uploaded files (docs/api.md, Uploads): the stored filename is
 * sanitized, and the content type is decided from the bytes (magic
 * numbers, or valid UTF-8 text), never from the name alone.  Pure
 * functions: no I/O, no allocation. */
#ifndef BB_UPLOAD_H
#define BB_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>

#define UPLOAD_FILENAME_MAX 200      /* bytes, NUL excluded */
#define UPLOAD_SNIFF_MAX (64 * 1024) /* bytes of the head sniffed as text */
#define UPLOAD_TYPE_MAX 48           /* longest type string, NUL included */

/* Writes a filename safe to store and to send back in a
 * Content-Disposition into out[cap]:
 *   - only the last path component is kept ('/' and '\\' both separate);
 *   - invalid UTF-8 is dropped byte by byte, and so are control
 *     characters: C0 (< 0x20), DEL, C1 (U+0080..U+009F) and the bidi
 *     embedding/override/isolate controls (U+202A..U+202E, U+2066..U+2069,
 *     which can make "txt.exe" display as "exe.txt");
 *   - the characters : * ? " < > | become '_';
 *   - spaces and dots are trimmed at both ends;
 *   - the result is capped at UPLOAD_FILENAME_MAX bytes (or cap - 1 when
 *     smaller) without cutting a UTF-8 sequence; an extension of up to 16
 *     bytes is kept when the stem has to be shortened;
 *   - a Windows device name (CON, PRN, AUX, NUL, COM1-9, LPT1-9, with or
 *     without an extension, any case) gets a '_' prefix;
 *   - when nothing is left the name is "upload".
 * `in` is a C string, so it cannot carry a NUL: callers must refuse input
 * with an embedded NUL (e.g. a %00 in a query, which the HTTP layer
 * already rejects; the multipart parser refuses NUL in headers) rather
 * than let it cut the name short.  NULL is treated as "".  Returns the
 * length written, or -1 (out untouched beyond "") when cap < 8. */
int upload_sanitize_filename(const char *in, char *out, size_t cap);

/* Decides from the first bytes of a file whether its content is an
 * allowed type, writing the type into type_out[cap] (cap >=
 * UPLOAD_TYPE_MAX; "" when rejected).  `head` is the first
 * min(file size, UPLOAD_SNIFF_MAX) bytes: when n < UPLOAD_SNIFF_MAX it is
 * taken as the whole file, when n >= UPLOAD_SNIFF_MAX only the first
 * UPLOAD_SNIFF_MAX bytes are looked at and a UTF-8 sequence cut by that
 * window's end is accepted.
 *
 * Allowed, by magic number: WAV (RIFF....WAVE, audio/wav), WebP
 * (RIFF....WEBP, image/webp), AVI (RIFF....AVI , video/x-msvideo), MP3
 * (an ID3v2 tag, or two consecutive MPEG audio frame headers, the second
 * where the first frame ends; audio/mpeg), AAC in ADTS frames (the same
 * rule; audio/aac), FLAC (audio/flac), Ogg (audio/ogg; with Opus
 * "audio/ogg; codecs=opus", with Theora video/ogg), the ISO base media
 * format by its ftyp brand (M4A audio/mp4, QuickTime video/quicktime,
 * 3GP video/3gpp, MP4 video/mp4; HEIC/AVIF and unknown brands are not
 * accepted), EBML by its DocType (video/webm, video/x-matroska), PNG,
 * JPEG, GIF (image/...), PDF (application/pdf), ZIP (local, empty or
 * spanned archive signature; application/zip).  Otherwise text: valid UTF-8
 * (optional BOM) with no NUL and no C0 control other than TAB, LF, VT,
 * FF, CR and ESC — as text/markdown; charset=utf-8 when the filename ends
 * in .md or .markdown (any case), else application/json when the first
 * non-blank character is '{' or '[' followed by something a JSON value
 * can continue with, else text/plain; charset=utf-8.  An empty file is
 * text.  Everything else (ELF, random bytes, UTF-16, ...) is rejected,
 * whatever its name.  filename may be NULL.  Returns true when allowed. */
bool upload_sniff(const unsigned char *head, size_t n, const char *filename,
                  char *type_out, size_t cap);

#endif
