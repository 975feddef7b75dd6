/* test_netaddr.c — unit tests for src/util/netaddr.c: the address lists of
 * http.trustedProxies (checking them, and whether an address is in one),
 * IPv4, IPv6, CIDR prefixes and IPv4-mapped IPv6 addresses. */
#define UNIT_MAIN
#include "unit.h"

#include <string.h>

#include "util/netaddr.h"

TEST(valid_lists)
{
    char why[160];
    CHECK(bb_addr_list_valid("127.0.0.1", why, sizeof why));
    CHECK(bb_addr_list_valid("10.0.0.0/8, 192.168.1.0/24,::1,fd00::/8", why, sizeof why));
    CHECK(bb_addr_list_valid("0.0.0.0/0", why, sizeof why));
    CHECK(bb_addr_list_valid("::ffff:10.0.0.0/104", why, sizeof why));
}

TEST(invalid_lists_name_the_entry)
{
    char why[160];
    CHECK(!bb_addr_list_valid("", why, sizeof why));
    CHECK(!bb_addr_list_valid("10.0.0.1,", why, sizeof why));
    CHECK(strstr(why, "\"\"") != NULL);
    CHECK(!bb_addr_list_valid("10.0.0.0/33", why, sizeof why));
    CHECK(strstr(why, "10.0.0.0/33") != NULL);
    CHECK(!bb_addr_list_valid("::1/129", why, sizeof why));
    CHECK(!bb_addr_list_valid("10.0.0.0/", why, sizeof why));
    CHECK(!bb_addr_list_valid("10.0.0.0/-1", why, sizeof why));
    CHECK(!bb_addr_list_valid("10.0.0.0/8x", why, sizeof why));
    CHECK(!bb_addr_list_valid("proxy.example", why, sizeof why));
    CHECK(!bb_addr_list_valid("1.2.3", why, sizeof why));
    CHECK(!bb_addr_list_valid("::ffff:10.0.0.0/8", why, sizeof why));
}

TEST(membership)
{
    const char *list = "127.0.0.5, 10.1.0.0/16, fd00::/8";
    CHECK(bb_addr_in_list("127.0.0.5", list));
    CHECK(!bb_addr_in_list("127.0.0.6", list));
    CHECK(bb_addr_in_list("10.1.255.3", list));
    CHECK(!bb_addr_in_list("10.2.0.1", list));
    CHECK(bb_addr_in_list("fd12:3456::1", list));
    CHECK(!bb_addr_in_list("fe80::1", list));
    CHECK(bb_addr_in_list("::ffff:127.0.0.5", list));   /* IPv4-mapped */
    CHECK(!bb_addr_in_list("not-an-address", list));
    CHECK(!bb_addr_in_list("127.0.0.5", ""));
    CHECK(!bb_addr_in_list("127.0.0.5", NULL));
    CHECK(!bb_addr_in_list(NULL, list));
    CHECK(bb_addr_in_list("10.1.2.3", "10.1.2.3/31"));
    CHECK(bb_addr_in_list("10.1.2.2", "10.1.2.3/31"));
    CHECK(!bb_addr_in_list("10.1.2.4", "10.1.2.3/31"));
    CHECK(bb_addr_in_list("8.8.8.8", "0.0.0.0/0"));
    CHECK(!bb_addr_in_list("::1", "0.0.0.0/0"));
}
