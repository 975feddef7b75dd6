/* storage_impl.h — what the storage drivers (fs.c, s3.c) share with the
 * dispatch layer (store.c); not for use outside src/infra/storage/.
 *
 * Every store begins with a `struct store` naming its driver's operation
 * table, every writer with a `struct store_put` pointing back at its
 * store.  store.c checks the arguments common to all drivers (a valid key,
 * non-NULL pointers, a clean error struct) before it calls a driver, so
 * drivers may assume a valid key. */
#ifndef BB_STORAGE_IMPL_H
#define BB_STORAGE_IMPL_H

#include "infra/storage/storage.h"

#include <stdarg.h>

struct store_ops {
    const char *name;                   /* "fs" or "s3" */
    void (*close)(store *s);
    store_put *(*put_begin)(store *s, const char *key, int64_t size_hint,
                            const char *content_type, struct store_err *e);
    int (*put_write)(store_put *p, const void *data, size_t len,
                     struct store_err *e);
    /* Both consume p (free it), whatever the outcome. */
    int (*put_commit)(store_put *p, atomic_bool *cancel, struct store_err *e);
    void (*put_abort)(store_put *p);
    /* Optional: copies the regular file open as fd (size bytes) under key
     * without going through put_write; NULL to use the generic loop. */
    int (*put_fd)(store *s, const char *key, int fd, int64_t size,
                  const char *content_type, atomic_bool *cancel,
                  struct store_err *e);
    int (*get)(store *s, const char *key, int64_t offset, int64_t len,
               int (*fn)(void *ud, const void *data, size_t n), void *ud,
               struct store_err *e);
    int (*stat)(store *s, const char *key, struct store_stat *st,
                struct store_err *e);
    int (*del)(store *s, const char *key, struct store_err *e);
    void (*url)(store *s, const char *key, char *out, size_t cap);
    const char *(*local_path)(store *s, const char *key, char *out, size_t cap);
};

struct store {
    const struct store_ops *ops;
};

struct store_put {
    store *s;
};

/* Fills e (may be NULL) with a printf-style message; returns -1 so a
 * driver can `return store_fail(e, false, "...")`. */
int store_fail(struct store_err *e, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Copy size for reads and file copies (one heap buffer per call). */
#define STORE_CHUNK (64 * 1024)

#endif
