/* netaddr.c — IP addresses and CIDR ranges as text (see netaddr.h). */
#include "util/netaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* One address in network byte order: 4 bytes (IPv4) or 16 (IPv6). */
struct ip {
    unsigned char b[16];
    int len;
};

static const unsigned char V4_MAPPED[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

/* Parses text (no surrounding space) into *out; IPv4-mapped IPv6 becomes
 * IPv4.  false when it is not an address. */
static bool parse_ip(const char *text, struct ip *out)
{
    if (inet_pton(AF_INET, text, out->b) == 1) {
        out->len = 4;
        return true;
    }
    if (inet_pton(AF_INET6, text, out->b) != 1)
        return false;
    out->len = 16;
    if (memcmp(out->b, V4_MAPPED, sizeof V4_MAPPED) == 0) {
        memmove(out->b, out->b + 12, 4);
        out->len = 4;
    }
    return true;
}

/* One entry "ADDR" or "ADDR/BITS" (spaces around it allowed) into *net
 * and *bits.  false when malformed. */
static bool parse_entry(const char *s, size_t n, struct ip *net, int *bits)
{
    while (n && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    char text[64];
    if (n == 0 || n >= sizeof text)
        return false;
    memcpy(text, s, n);
    text[n] = '\0';
    char *slash = strchr(text, '/');
    long prefix = -1;
    if (slash) {
        *slash = '\0';
        char *end = NULL;
        if (!slash[1] || slash[1] < '0' || slash[1] > '9')
            return false;
        prefix = strtol(slash + 1, &end, 10);
        if (*end)
            return false;
    }
    /* a range must be written in its own family: "::ffff:10.0.0.0/104"
     * is not accepted, "10.0.0.0/8" is */
    bool v6_text = strchr(text, ':') != NULL;
    if (!parse_ip(text, net))
        return false;
    int max = v6_text ? 128 : 32;
    if (prefix > max)
        return false;
    if (v6_text && net->len == 4 && prefix >= 0) {
        if (prefix < 96)
            return false;
        prefix -= 96;
    }
    *bits = prefix < 0 ? net->len * 8 : (int)prefix;
    return true;
}

static bool in_net(const struct ip *a, const struct ip *net, int bits)
{
    if (a->len != net->len)
        return false;
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a->b, net->b, (size_t)whole) != 0)
        return false;
    if (rest == 0)
        return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a->b[whole] & mask) == (net->b[whole] & mask);
}

bool bb_addr_list_valid(const char *list, char *why, size_t whylen)
{
    if (why && whylen)
        why[0] = '\0';
    if (!list || !*list) {
        if (why && whylen)
            snprintf(why, whylen, "the list is empty");
        return false;
    }
    /* every entry, empty ones ("a,,b", "a,") included, must parse */
    for (const char *p = list;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        struct ip net;
        int bits;
        if (!parse_entry(p, n, &net, &bits)) {
            if (why && whylen)
                snprintf(why, whylen, "\"%.*s\" is not an IP address or a CIDR range (e.g. "
                         "10.0.0.1 or 10.0.0.0/8)", (int)(n > 64 ? 64 : n), p);
            return false;
        }
        if (!comma)
            return true;
        p = comma + 1;
    }
}

bool bb_addr_in_list(const char *addr, const char *list)
{
    struct ip a;
    if (!addr || !list || !*list || !parse_ip(addr, &a))
        return false;
    for (const char *p = list; *p;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        struct ip net;
        int bits;
        if (parse_entry(p, n, &net, &bits) && in_net(&a, &net, bits))
            return true;
        p = comma ? comma + 1 : p + n;
    }
    return false;
}
