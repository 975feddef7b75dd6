/* client_addr.c — the client address of a request: the peer's address,
 * or, when the peer is one of the trusted proxies (http.trustedProxies,
 * docs/configuration.md), the address its X-Forwarded-For names.  One
 * function, so every user of the address (sign-in limits, the access log,
 * the event stream's per-client limits) believes the same thing.  Runs on
 * the request's civetweb thread; reads the configuration only. */
#include <string.h>

#include "civetweb.h"
#include "http/http.h"
#include "util/netaddr.h"
#include "util/util.h"

/* The entry of an X-Forwarded-For list that ends at end (exclusive),
 * trimmed, into out.  Returns the start of that entry. */
static const char *entry_before(const char *list, const char *end, char *out, size_t cap)
{
    const char *start = end;
    while (start > list && start[-1] != ',')
        start--;
    const char *a = start, *b = end;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    size_t n = (size_t)(b - a);
    if (n >= cap)
        n = 0;                       /* too long for an address: unusable */
    memcpy(out, a, n);
    out[n] = '\0';
    return start;
}

const char *http_client_addr(http_req *r, char *out, size_t cap)
{
    const char *peer = r->ri && r->ri->remote_addr[0] ? r->ri->remote_addr : "";
    bb_strlcpy(out, peer, cap);
    const char *trusted = r->app && r->app->cfg ? r->app->cfg->http.trusted_proxies : NULL;
    if (!trusted || !bb_addr_in_list(peer, trusted))
        return out;
    const char *xff = mg_get_header(r->conn, "X-Forwarded-For");
    if (!xff)
        return out;
    /* Right to left: each hop was added by the proxy before it; the first
     * hop that is not a trusted proxy is the client.  A hop that is not an
     * address stops the walk at the last proxy that vouched for it. */
    const char *end = xff + strlen(xff);
    char hop[64];
    for (int i = 0; i < 32 && end > xff; i++) {
        const char *start = entry_before(xff, end, hop, sizeof hop);
        if (!bb_addr_in_list(hop, "0.0.0.0/0,::/0"))
            return out;
        bb_strlcpy(out, hop, cap);
        if (!bb_addr_in_list(hop, trusted))
            return out;
        end = start > xff ? start - 1 : xff;
    }
    return out;
}
