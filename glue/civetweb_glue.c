/* civetweb_glue.c — civetweb itself plus the one call batchbox needs that
 * civetweb does not export: taking a connection's socket away from it.
 *
 * The Makefile compiles this file instead of civetweb.c (same flags, the
 * civetweb source directory on the include path), so the function below
 * sees civetweb's private struct mg_connection.  The coupling is on
 * purpose and small (docs/architecture.md, "The stream hub and civetweb"):
 *
 *   - conn->client.sock is the accepted socket;
 *   - close_connection() closes it only when it is not INVALID_SOCKET;
 *   - must_close = 1 ends the keep-alive loop of process_new_connection()
 *     and makes handle_request() skip reading the rest of the body.
 *
 * So after mg_hijack_socket() civetweb finishes the request as usual but
 * neither reads, writes, shuts down nor closes the descriptor: the caller
 * owns it.  tests/unit/test_hub_glue.c takes the socket of a live request
 * and writes to it, and fails if the version below changes. */
#include "civetweb.c"

#if CIVETWEB_VERSION_MAJOR != 1 || CIVETWEB_VERSION_MINOR != 15
#error "civetweb_glue.c was written against civetweb 1.15: check close_connection(), \
process_new_connection() and struct mg_connection's client.sock and must_close in the \
new version, then update this pin and tests/unit/test_hub_glue.c"
#endif

/* Declared in src/http/hub.h (our code does not see civetweb's internals). */
const char *mg_glue_pinned_version(void);
int mg_hijack_socket(struct mg_connection *conn);

const char *mg_glue_pinned_version(void)
{
    return "1.15";
}

/* Returns the connection's socket, now owned by the caller, or -1 (no
 * connection, not a plain server-side request, or taken already).  Call
 * it on the request's own thread, from the request handler, after the
 * response head is written: civetweb then leaves the socket alone. */
int mg_hijack_socket(struct mg_connection *conn)
{
    if (!conn || conn->connection_type != CONNECTION_TYPE_REQUEST ||
        conn->client.sock == INVALID_SOCKET || conn->phys_ctx == NULL ||
        conn->phys_ctx->context_type != CONTEXT_SERVER)
        return -1;
    int fd = (int)conn->client.sock;
    conn->client.sock = INVALID_SOCKET;
    conn->must_close = 1;
    return fd;
}
