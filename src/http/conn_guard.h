/* conn_guard.h — keeping slow or greedy clients from starving the HTTP
 * server: the per-address connection cap (checked when civetweb accepts a
 * socket, before a thread is spent on it), the counters /metrics shows
 * (open connections, connections waiting for their headers, requests in
 * flight and long-held ones, refusals, deadline closures), and the
 * rate-limited log line of each refusal.  See docs/operations.md, "Slow
 * clients and connection limits".
 *
 * Threads: conn_guard_accept runs on civetweb's master thread, everything
 * else on civetweb's worker threads (and the /metrics handler's).  The
 * address table and the log limiter are behind one mutex; the counters
 * are atomics.  One server per process: the state is process-wide, set
 * up by conn_guard_init before civetweb starts and freed by
 * conn_guard_free after it stopped. */
#ifndef BB_CONN_GUARD_H
#define BB_CONN_GUARD_H

#include <stdbool.h>

struct buf;
struct bb_config;

/* Prepares the table for a server with `threads` civetweb worker threads
 * (long-held requests are tracked per thread).  Reads cfg now and keeps
 * the pointer (borrowed: it must outlive the server).  0, or -1 when out
 * of memory. */
int conn_guard_init(const struct bb_config *cfg, int threads);

/* Forgets every address and counter (after mg_stop). */
void conn_guard_free(void);

/* A socket was accepted from addr (text as civetweb formats it).  Returns
 * true to keep it (counted until conn_guard_closed(addr)), false when addr
 * already holds http.maxConnectionsPerAddress connections: the refusal is
 * counted and logged, a 503 is written to sock without blocking, and the
 * caller closes it.  Peers in http.trustedProxies are not capped. */
bool conn_guard_accept(int sock, const char *addr);

/* A socket kept by conn_guard_accept was closed. */
void conn_guard_closed(const char *addr);

/* Brackets one request on the calling (civetweb worker) thread. */
void conn_guard_request_begin(void);
void conn_guard_request_end(void);

/* A connection from addr was closed because its headers (header = true)
 * or its body missed their deadline: counted and logged (rate-limited). */
void conn_guard_timed_out(const char *addr, bool header);

/* Appends the batchbox_http_connections* and related series to out
 * (Prometheus text).  0, or -1 when out is full. */
int conn_guard_metrics(struct buf *out);

#endif
