/* beneath.h — opening a path inside a root directory without ever leaving
 * it (docs/templates-and-inputs.md, "Staying inside the input root").  The
 * input browser (GET /inputs), and the worker when it stages a job's input
 * path, resolve user-given paths through here, so a symlink pointing out of
 * the root (even one swapped in after a job was submitted) is never
 * followed.  Stateless: any thread may call these. */
#ifndef BB_BENEATH_H
#define BB_BENEATH_H

#include <stdbool.h>

/* Checks a path given relative to a root: not absolute, no ".."
 * component, no control characters, at most 4,095 bytes.  "" and "."
 * name the root itself; empty components ("a//b") and "." are allowed.
 * Returns NULL when acceptable, else a static sentence saying what is
 * wrong ("must be relative to the input root"). */
const char *beneath_rel_problem(const char *rel);

/* Opens the directory root (following symlinks: the root is configuration,
 * trusted) for use as the base of beneath_open.  Returns a file
 * descriptor (O_CLOEXEC; caller closes) or -1 with errno set. */
int beneath_open_root(const char *root);

/* Opens rel (see beneath_rel_problem; it is not re-checked here, but a
 * ".." that would leave the root still fails) beneath the directory
 * rootfd with open(2) flags (O_RDONLY, O_DIRECTORY, O_NONBLOCK, ...;
 * O_CLOEXEC is added).  Resolution never leaves rootfd: with openat2(2)
 * (Linux 5.6+) RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS, so a relative
 * symlink that stays inside is followed and an absolute one or one that
 * climbs out fails; on older kernels, component by component with
 * O_NOFOLLOW, so every symlink fails.  Returns a descriptor (caller
 * closes) or -1 with errno set: EXDEV or ELOOP when the path would leave
 * the root (or, in the fallback, meets a symlink), ENOENT, ENOTDIR, ... */
int beneath_open(int rootfd, const char *rel, int flags);

/* The component-by-component fallback of beneath_open, exposed so tests
 * cover it on kernels that have openat2. */
int beneath_open_walk(int rootfd, const char *rel, int flags);

/* True when errno from beneath_open means "leaves the root" (EXDEV,
 * ELOOP) rather than "does not exist" or an I/O error. */
bool beneath_escaped(int err);

#endif
