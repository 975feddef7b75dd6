/* netaddr.h — IP addresses and address ranges (CIDR) as text: checking a
 * comma-separated list of addresses/ranges (the http.trustedProxies
 * setting, docs/configuration.md) and asking whether an address is in
 * one.  Parsing is inet_pton's; no I/O, no allocation. */
#ifndef BB_NETADDR_H
#define BB_NETADDR_H

#include <stdbool.h>
#include <stddef.h>

/* Whether list ("10.0.0.1, 192.168.0.0/16, ::1") holds only valid IPv4 or
 * IPv6 addresses and ranges (prefix up to 32 / 128), at least one.  On
 * false, why (cap whylen) names the bad entry. */
bool bb_addr_list_valid(const char *list, char *why, size_t whylen);

/* Whether addr (an IPv4 or IPv6 address as text; IPv4-mapped IPv6 counts
 * as IPv4) is in one of the entries of list.  False for NULL/empty list
 * or an address that does not parse. */
bool bb_addr_in_list(const char *addr, const char *list);

#endif
