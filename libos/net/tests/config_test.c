/*
 * <net/config.h>: the address words of the command line, good and bad.
 * Every bad input gives one line naming the word and the fix, and leaves
 * the caller's config untouched.
 */
#include <stdio.h>
#include <string.h>

#include <net/config.h>
#include <testing/check.h>

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (b) << 16 | (c) << 8 | (d))

static int parse_line(const char *line, struct net_config *c, char *err)
{
    char copy[256];
    char *argv[16];
    int argc = 0;
    snprintf(copy, sizeof(copy), "%s", line);
    char *save = NULL;
    for (char *w = strtok_r(copy, " ", &save); w && argc < 16;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    return net_config_parse(argc, argv, c, err);
}

static void test_static(void)
{
    struct net_config c;
    char err[NET_CONFIG_ERROR_MAX];
    CHECK_EQ(parse_line("app ip=10.0.0.2/24 gw=10.0.0.1 port=80", &c, err), 0);
    CHECK_EQ(c.mode, NET_ADDR_STATIC);
    CHECK_EQ(c.ip, IP(10, 0, 0, 2));
    CHECK_EQ(c.prefix, 24);
    CHECK_EQ(c.netmask, IP(255, 255, 255, 0));
    CHECK_EQ(c.gw, IP(10, 0, 0, 1));
    CHECK_EQ(c.dns_count, 0);
    CHECK_EQ(parse_line("ip=192.168.7.9/32", &c, err), 0);
    CHECK_EQ(c.netmask, 0xffffffffu);
    CHECK_EQ(parse_line("ip=10.0.0.0/8 ", &c, err), -1); /* network */
    CHECK_EQ(parse_line("ip=172.16.0.1/12", &c, err), 0);
    CHECK_EQ(c.netmask, IP(255, 240, 0, 0));
}

static void test_dhcp_and_dns(void)
{
    struct net_config c;
    char err[NET_CONFIG_ERROR_MAX];
    CHECK_EQ(parse_line("ip=dhcp dns=1.1.1.1,9.9.9.9", &c, err), 0);
    CHECK_EQ(c.mode, NET_ADDR_DHCP);
    CHECK_EQ(c.dns_count, 2);
    CHECK_EQ(c.dns[0], IP(1, 1, 1, 1));
    CHECK_EQ(c.dns[1], IP(9, 9, 9, 9));
    CHECK_EQ(parse_line("hello world", &c, err), 0);
    CHECK_EQ(c.mode, NET_ADDR_NONE);
    char buf[16];
    net_config_format_ip(IP(10, 0, 2, 15), buf);
    CHECK(strcmp(buf, "10.0.2.15") == 0);
}

/* Bad input: -1, the config untouched, one line naming `word` and
 * containing `needle`. */
static void bad(const char *line, const char *word, const char *needle)
{
    struct net_config c;
    memset(&c, 0xa5, sizeof(c));
    char err[NET_CONFIG_ERROR_MAX];
    int rc = parse_line(line, &c, err);
    CHECK_MSG(rc == -1, line);
    unsigned char untouched = 1;
    for (size_t i = 0; i < sizeof(c); i++)
        untouched &= ((unsigned char *)&c)[i] == 0xa5;
    CHECK_MSG(untouched, "the config is untouched on error");
    CHECK_MSG(strncmp(err, "net: ", 5) == 0, err);
    CHECK_MSG(strstr(err, word) != NULL, err);
    CHECK_MSG(strstr(err, needle) != NULL, err);
    CHECK_MSG(strchr(err, '\n') == NULL, "one line");
    printf("  %-40s -> %s\n", line, err);
}

static void test_bad_inputs(void)
{
    bad("ip=10.0.0.300/24", "ip=10.0.0.300/24", "0 to 255");
    bad("ip=10.0.0.2", "ip=10.0.0.2", "prefix length is missing");
    bad("ip=10.0.0.2/33", "ip=10.0.0.2/33", "1 to 32");
    bad("ip=10.0.0.2/0", "ip=10.0.0.2/0", "1 to 32");
    bad("ip=10.0.0.2/", "ip=10.0.0.2/", "1 to 32");
    bad("ip=10.0.0.2/2x", "ip=10.0.0.2/2x", "1 to 32");
    bad("ip=10.0.0/24", "ip=10.0.0/24", "not an IPv4 address");
    bad("ip=10.0.0.2.1/24", "ip=10.0.0.2.1/24", "not an IPv4 address");
    bad("ip=10..0.2/24", "ip=10..0.2/24", "not an IPv4 address");
    bad("ip=1234.0.0.2/24", "ip=1234.0.0.2/24", "not an IPv4 address");
    bad("ip=-1.0.0.2/24", "ip=-1.0.0.2/24", "not an IPv4 address");
    bad("ip=a.b.c.d/24", "ip=a.b.c.d/24", "ip=dhcp");
    bad("ip=DHCP", "ip=DHCP", "prefix length is missing");
    bad("ip=10.0.0.0/24", "ip=10.0.0.0/24", "network's own");
    bad("ip=10.0.0.255/24", "ip=10.0.0.255/24", "broadcast");
    bad("ip=127.0.0.2/8", "ip=127.0.0.2/8", "unicast");
    bad("ip=224.0.0.5/4", "ip=224.0.0.5/4", "unicast");
    bad("ip=", "ip=", "no value");
    bad("ip=10.0.0.2/24 ip=dhcp", "ip=dhcp", "twice");
    bad("gw=10.0.0.1", "gw=10.0.0.1", "needs a static address");
    bad("ip=dhcp gw=10.0.0.1", "gw=10.0.0.1", "needs a static address");
    bad("ip=10.0.0.2/24 gw=10.0.1.1", "gw=10.0.1.1", "not another host");
    bad("ip=10.0.0.2/24 gw=10.0.0.2", "gw=10.0.0.2", "not another host");
    bad("ip=10.0.0.2/24 gw=10.0.0", "gw=10.0.0", "gw=A.B.C.D");
    bad("dns=1.1.1.1,2.2.2.2,3.3.3.3", "dns=", "more than 2");
    bad("dns=1.1.1.1,", "dns=1.1.1.1,", "not an IPv4 address");
    bad("dns=8.8.8.256", "dns=8.8.8.256", "0 to 255");
    bad("ip6=2001:db8::2", "ip6=2001:db8::2", "prefix length is missing");
    bad("ip6=2001:db8::2/48", "ip6=2001:db8::2/48", "must be 64");
    bad("ip6=2001:db8::2/", "ip6=2001:db8::2/", "must be 64");
    bad("ip6=2001:db8::2::1/64", "ip6=2001:db8::2::1/64", "not an IPv6 address");
    bad("ip6=2001:db8:1:2:3:4:5:6:7/64", "ip6=2001:db8:1:2:3:4:5:6:7/64", "not an IPv6 address");
    bad("ip6=1:2:3:4:5:6:7/64", "ip6=1:2:3:4:5:6:7/64", "not an IPv6 address");
    bad("ip6=1::2:3:4:5:6:7:8/64", "ip6=1::2:3:4:5:6:7:8/64", "not an IPv6 address");
    bad("ip6=2001:db8:::2/64", "ip6=2001:db8:::2/64", "not an IPv6 address");
    bad("ip6=12345::1/64", "ip6=12345::1/64", "not an IPv6 address");
    bad("ip6=:1::2/64", "ip6=:1::2/64", "not an IPv6 address");
    bad("ip6=1::2:/64", "ip6=1::2:/64", "not an IPv6 address");
    bad("ip6=g::1/64", "ip6=g::1/64", "not an IPv6 address");
    bad("ip6=::ffff:10.0.0.1/64", "ip6=::ffff:10.0.0.1/64", "not an IPv6 address");
    bad("ip6=/64", "ip6=/64", "not an IPv6 address");
    bad("ip6=::/64", "ip6=::/64", "not a global unicast");
    bad("ip6=::1/64", "ip6=::1/64", "not a global unicast");
    bad("ip6=fe80::1/64", "ip6=fe80::1/64", "not a global unicast");
    bad("ip6=ff02::1/64", "ip6=ff02::1/64", "not a global unicast");
    bad("ip6=2001:db8::1/64 ip6=2001:db8::2/64", "ip6=2001:db8::2/64", "twice");
}

/* ip6=: accepted forms, each printed back in its short form. */
static void good6(const char *word, const char *text)
{
    struct net_config c;
    char err[NET_CONFIG_ERROR_MAX], buf[NET_CONFIG_IP6_TEXT];
    if (!CHECK_MSG(parse_line(word, &c, err) == 0, err))
        return;
    CHECK(c.has_ip6);
    net_config_format_ip6(c.ip6, buf);
    CHECK_MSG(strcmp(buf, text) == 0, buf);
}

static void test_ip6(void)
{
    good6("ip6=2001:db8::2/64", "2001:db8::2");
    good6("ip6=2001:DB8:0:0:0:0:0:2/64", "2001:db8::2");
    good6("ip6=fd00:1:2:3:4:5:6:7/64", "fd00:1:2:3:4:5:6:7");
    good6("ip6=2001:db8:0:1::/64", "2001:db8:0:1::");
    good6("ip6=::2001:db8/64", "::2001:db8");
    good6("ip6=2001:0:0:1:0:0:0:1/64", "2001:0:0:1::1");
    struct net_config c;
    char err[NET_CONFIG_ERROR_MAX];
    CHECK_EQ(parse_line("ip=10.0.0.2/24 ip6=2001:db8::2/64", &c, err), 0);
    CHECK_EQ(c.mode, NET_ADDR_STATIC);
    CHECK(c.has_ip6);
    CHECK_EQ(c.ip6[0], 0x20);
    CHECK_EQ(c.ip6[15], 2);
    CHECK_EQ(parse_line("ip=dhcp", &c, err), 0);
    CHECK(!c.has_ip6);
}

/* Random words: the parser never reads out of bounds (ASan) and either
 * accepts or explains. */
static void test_random_words(void)
{
    static const char alphabet[] = "0123456789./,=ipgwdnshc x:abf6";
    rng_seed(11);
    for (int n = 0; n < 20000; n++) {
        char line[40];
        size_t len = (size_t)rng_below(sizeof(line) - 4);
        const char *keys[] = {"ip=", "gw=", "dns=", "ip6="};
        int k = snprintf(line, sizeof(line), "%s", keys[rng_below(4)]);
        for (size_t i = (size_t)k; i < len; i++)
            line[i] = alphabet[rng_below(sizeof(alphabet) - 1)];
        line[len > (size_t)k ? len : (size_t)k] = '\0';
        struct net_config c;
        char err[NET_CONFIG_ERROR_MAX];
        int rc = parse_line(line, &c, err);
        if (rc != 0 && !CHECK_MSG(strncmp(err, "net: ", 5) == 0, line))
            return;
    }
}

int main(void)
{
    RUN(test_static);
    RUN(test_dhcp_and_dns);
    RUN(test_bad_inputs);
    RUN(test_ip6);
    RUN(test_random_words);
    return check_finish();
}
