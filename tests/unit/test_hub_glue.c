/* test_hub_glue.c — pins the civetweb glue (glue/civetweb_glue.c):
 * the civetweb version it was written against, and its behaviour on a live
 * request: mg_hijack_socket hands over the socket, civetweb finishes the
 * request without closing it, and what we write to it later reaches the
 * client.  If a civetweb upgrade changes struct mg_connection or
 * close_connection(), this test fails loudly (docs/architecture.md, "The
 * stream hub and civetweb"). */
#define UNIT_MAIN
#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "civetweb.h"
#include "http/hub.h"

static atomic_int taken_fd = -1;
static atomic_int second_take = 0;
static atomic_bool conn_closed = false;

static int begin_request(struct mg_connection *conn)
{
    static const char head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Connection: close\r\n\r\nhead-done\n";
    if (mg_write(conn, head, sizeof head - 1) != (int)(sizeof head - 1))
        return 500;
    atomic_store(&taken_fd, mg_hijack_socket(conn));
    atomic_store(&second_take, mg_hijack_socket(conn));
    return 200;
}

static void connection_closed(const struct mg_connection *conn)
{
    (void)conn;
    atomic_store(&conn_closed, true);
}

static void pause_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reads from fd until want is in got (cap bytes) or the peer closes: the
 * number of bytes read, NUL-terminated. */
static size_t read_until(int fd, char *got, size_t cap, const char *want)
{
    size_t len = 0;
    got[0] = '\0';
    while (len + 1 < cap && !strstr(got, want)) {
        ssize_t r = recv(fd, got + len, cap - 1 - len, 0);
        if (r <= 0)
            break;
        len += (size_t)r;
        got[len] = '\0';
    }
    return len;
}

TEST(pinned_civetweb_version)
{
    CHECK_STR_EQ(mg_glue_pinned_version(), "1.15");
    CHECK_STR_EQ(mg_version(), mg_glue_pinned_version());
    CHECK(mg_hijack_socket(NULL) == -1);
}

TEST(takes_the_socket_of_a_live_request_and_writes_to_it)
{
    struct mg_callbacks cb;
    memset(&cb, 0, sizeof cb);
    cb.begin_request = begin_request;
    cb.connection_closed = connection_closed;
    const char *opts[] = {"listening_ports", "127.0.0.1:0", "num_threads", "2", NULL, NULL};
    struct mg_context *ctx = mg_start(&cb, NULL, opts);
    CHECK(ctx != NULL);
    struct mg_server_port ports[1];
    CHECK(mg_get_server_ports(ctx, 1, ports) == 1);

    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(c >= 0);
    struct timeval tv = {5, 0};
    CHECK(setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) == 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)ports[0].port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0);
    static const char req[] = "GET /x HTTP/1.1\r\nHost: t\r\n\r\n";
    CHECK(send(c, req, sizeof req - 1, 0) == (ssize_t)(sizeof req - 1));

    char got[4096];
    read_until(c, got, sizeof got, "head-done\n");
    CHECK(strstr(got, "head-done\n") != NULL);
    /* civetweb finished the request: its thread has run close_connection */
    for (int i = 0; i < 500 && !atomic_load(&conn_closed); i++)
        pause_ms(10);
    CHECK(atomic_load(&conn_closed));
    int fd = atomic_load(&taken_fd);
    CHECK(fd >= 0);
    CHECK_EQ_INT(atomic_load(&second_take), -1);       /* taken once only */

    /* the socket is still open and ours: a late write reaches the client */
    static const char late[] = "written-after-civetweb-returned\n";
    CHECK(send(fd, late, sizeof late - 1, MSG_NOSIGNAL) == (ssize_t)(sizeof late - 1));
    read_until(c, got, sizeof got, late);
    CHECK_STR_EQ(got, late);
    /* and the client sees the end only when we close it */
    close(fd);
    CHECK(recv(c, got, sizeof got, 0) == 0);
    close(c);
    mg_stop(ctx);
}
