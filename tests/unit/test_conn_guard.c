/* test_conn_guard.c — the per-address connection cap (src/http/conn_guard.c):
 * counting per address, the 503 written to a refused socket, trusted
 * proxies not capped, closing frees a place, and the metrics it renders. */
#define UNIT_MAIN
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/conn_guard.h"
#include "infra/config.h"
#include "util/buf.h"

/* The value of the sample `name` in the metrics text (-1 when absent). */
static double sample(const char *text, const char *name)
{
    char key[128];
    snprintf(key, sizeof key, "\n%s ", name);
    const char *p = strstr(text, key);
    return p ? strtod(p + strlen(key), NULL) : -1;
}

static void metrics_text(buf *b)
{
    buf_init(b, 1 << 16);
    CHECK_EQ_INT(conn_guard_metrics(b), 0);
    CHECK(b->data != NULL);
}

TEST(cap_counts_per_address_and_closing_frees_a_place)
{
    bb_config c;
    memset(&c, 0, sizeof c);
    c.http.max_connections_per_address = 2;
    CHECK_EQ_INT(conn_guard_init(&c, 8), 0);
    CHECK(conn_guard_accept(-1, "127.0.0.2"));
    CHECK(conn_guard_accept(-1, "127.0.0.2"));
    CHECK(conn_guard_accept(-1, "127.0.0.1"));   /* another address has its own count */
    int sv[2];
    CHECK_EQ_INT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    CHECK(!conn_guard_accept(sv[0], "127.0.0.2"));
    char got[1024] = "";
    ssize_t n = read(sv[1], got, sizeof got - 1);
    CHECK(n > 0);
    got[n > 0 ? n : 0] = '\0';
    CHECK(strncmp(got, "HTTP/1.1 503 ", 13) == 0);
    CHECK(strstr(got, "Retry-After: 5\r\n") != NULL);
    CHECK(strstr(got, "\"error\":\"unavailable\"") != NULL);
    CHECK(strstr(got, "127.0.0.2") != NULL);
    close(sv[0]);
    close(sv[1]);
    conn_guard_closed("127.0.0.2");
    CHECK(conn_guard_accept(-1, "127.0.0.2"));   /* the closed one's place */

    buf b;
    metrics_text(&b);
    CHECK(sample(b.data, "batchbox_http_connections_open") == 3);
    CHECK(sample(b.data, "batchbox_http_connections_refused_total") == 1);
    CHECK(sample(b.data, "batchbox_http_connections_accepted_total") == 4);
    CHECK(sample(b.data, "batchbox_http_connections_waiting_for_headers") == 3);
    buf_free(&b);

    conn_guard_request_begin();
    conn_guard_timed_out("127.0.0.2", true);
    conn_guard_timed_out("127.0.0.2", false);
    metrics_text(&b);
    CHECK(sample(b.data, "batchbox_http_requests_in_flight") == 1);
    CHECK(sample(b.data, "batchbox_http_connections_waiting_for_headers") == 2);
    CHECK(sample(b.data, "batchbox_http_requests_long_held") == 0);
    CHECK(sample(b.data, "batchbox_http_header_timeouts_total") == 1);
    CHECK(sample(b.data, "batchbox_http_body_timeouts_total") == 1);
    buf_free(&b);
    conn_guard_request_end();
    conn_guard_closed("127.0.0.2");
    conn_guard_closed("127.0.0.2");
    conn_guard_closed("127.0.0.1");
    conn_guard_free();
}

TEST(trusted_proxies_are_not_capped)
{
    bb_config c;
    memset(&c, 0, sizeof c);
    c.http.max_connections_per_address = 1;
    char proxies[] = "10.0.0.0/8";
    c.http.trusted_proxies = proxies;
    CHECK_EQ_INT(conn_guard_init(&c, 4), 0);
    for (int i = 0; i < 5; i++)
        CHECK(conn_guard_accept(-1, "10.1.2.3"));
    CHECK(conn_guard_accept(-1, "192.0.2.1"));
    CHECK(!conn_guard_accept(-1, "192.0.2.1"));
    for (int i = 0; i < 5; i++)
        conn_guard_closed("10.1.2.3");
    conn_guard_closed("192.0.2.1");
    buf b;
    metrics_text(&b);
    CHECK(sample(b.data, "batchbox_http_connections_open") == 0);
    buf_free(&b);
    conn_guard_free();
}
