/* log.h — structured logging: one JSON object per line on stderr
 * (time, level, msg, then the key/value pairs given).  Thread-safe.
 * Never pass secrets (tokens, passwords, keys) as values. */
#ifndef BB_LOG_H
#define BB_LOG_H

enum bb_log_level { BB_LOG_DEBUG, BB_LOG_INFO, BB_LOG_WARN, BB_LOG_ERROR };

void bb_log_set_level(enum bb_log_level lvl);
/* text=1: human-readable "time level msg k=v" lines instead of JSON. */
void bb_log_set_text(int text);

/* bb_log(LVL, "msg", "key1", "val1", "key2", "val2", NULL):
 * keys and values are strings; the list ends with NULL. */
void bb_log(enum bb_log_level lvl, const char *msg, ...)
    __attribute__((sentinel));

/* The same line, written by a background thread within a few milliseconds
 * together with others (one write(2) per batch instead of one per line).
 * For high-volume INFO lines such as the access log; lines logged later
 * with bb_log still come after it.  Never for warnings or errors. */
void bb_log_deferred(enum bb_log_level lvl, const char *msg, ...)
    __attribute__((sentinel));

#define bb_info(...)  bb_log(BB_LOG_INFO, __VA_ARGS__, (char *)0)
#define bb_warn(...)  bb_log(BB_LOG_WARN, __VA_ARGS__, (char *)0)
#define bb_error(...) bb_log(BB_LOG_ERROR, __VA_ARGS__, (char *)0)
#define bb_debug(...) bb_log(BB_LOG_DEBUG, __VA_ARGS__, (char *)0)

#endif
