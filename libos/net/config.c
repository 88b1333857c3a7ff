/*
 * config.c - the network words of the command line (<net/config.h>).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <net/config.h>

static int fail(char *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(err, NET_CONFIG_ERROR_MAX, "net: ");
    vsnprintf(err + n, NET_CONFIG_ERROR_MAX - (size_t)n, fmt, ap);
    va_end(ap);
    return -1;
}

/* A decimal number of at most 3 digits from s[0..len) into *out (no sign,
 * no leading '+', no spaces). */
static bool parse_small(const char *s, size_t len, unsigned *out)
{
    if (len == 0 || len > 3)
        return false;
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* Dotted quad s[0..len) into *ip; on failure a message about the word
 * `word` (the fix being `fix`). */
static int parse_ip(const char *s, size_t len, uint32_t *ip, const char *word,
                    const char *fix, char *err)
{
    uint32_t v = 0;
    size_t start = 0;
    int parts = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && s[i] != '.')
            continue;
        unsigned byte;
        if (parts == 4 || !parse_small(s + start, i - start, &byte))
            return fail(err, "%s: \"%.*s\" is not an IPv4 address (%s)", word,
                        (int)len, s, fix);
        if (byte > 255)
            return fail(err, "%s: %u is not a number from 0 to 255 (%s)",
                        word, byte, fix);
        v = (v << 8) | byte;
        parts++;
        start = i + 1;
    }
    if (parts != 4)
        return fail(err, "%s: \"%.*s\" is not an IPv4 address (%s)", word,
                    (int)len, s, fix);
    *ip = v;
    return 0;
}

static uint32_t mask_of(unsigned prefix)
{
    return prefix == 0 ? 0 : UINT32_MAX << (32 - prefix);
}

static const char IP_FIX[] = "write ip=A.B.C.D/N or ip=dhcp";

static int parse_ip_word(const char *word, const char *v, struct net_config *c,
                         char *err)
{
    if (strcmp(v, "dhcp") == 0) {
        c->mode = NET_ADDR_DHCP;
        return 0;
    }
    const char *slash = strchr(v, '/');
    if (slash == NULL)
        return fail(err, "%s: the prefix length is missing (%s, e.g. "
                         "ip=10.0.0.2/24)", word, IP_FIX);
    if (parse_ip(v, (size_t)(slash - v), &c->ip, word, IP_FIX, err) != 0)
        return -1;
    unsigned prefix;
    if (!parse_small(slash + 1, strlen(slash + 1), &prefix) || prefix < 1
        || prefix > 32)
        return fail(err, "%s: the prefix length must be a number from 1 to "
                         "32 (%s)", word, IP_FIX);
    c->prefix = (uint8_t)prefix;
    c->netmask = mask_of(prefix);
    uint32_t host = c->ip & ~c->netmask;
    if (prefix < 31 && (host == 0 || host == ~c->netmask))
        return fail(err, "%s: that is the network's %s address, not a "
                         "host's (pick another address in the prefix)",
                    word, host == 0 ? "own" : "broadcast");
    if (c->ip == 0 || (c->ip >> 24) == 127 || (c->ip >> 28) >= 14)
        return fail(err, "%s: not a unicast host address (%s)", word,
                    IP_FIX);
    c->mode = NET_ADDR_STATIC;
    return 0;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* An IPv6 address in RFC 4291's text form (x:x:x:x:x:x:x:x, one "::"
 * for a run of zero groups; no embedded IPv4, no zone) from s[0..len). */
static bool parse_ip6(const char *s, size_t len, uint8_t out[16])
{
    uint16_t head[8], tail[8];
    size_t nhead = 0, ntail = 0, i = 0;
    bool gap = false;
    if (len >= 2 && s[0] == ':' && s[1] == ':') {
        gap = true;
        i = 2;
    } else if (len == 0 || s[0] == ':') {
        return false;
    }
    while (i < len) {
        unsigned v = 0, digits = 0;
        while (i < len && hex_digit(s[i]) >= 0 && digits < 5) {
            v = v * 16 + (unsigned)hex_digit(s[i]);
            digits++;
            i++;
        }
        if (digits == 0 || digits > 4 || nhead + ntail == 8)
            return false;
        if (gap)
            tail[ntail++] = (uint16_t)v;
        else
            head[nhead++] = (uint16_t)v;
        if (i == len)
            break;
        if (s[i] != ':')
            return false;
        i++;
        if (i < len && s[i] == ':') {
            if (gap)
                return false; /* a second "::" */
            gap = true;
            i++;
            if (i == len)
                break;
        } else if (i == len) {
            return false; /* a trailing single ':' */
        }
    }
    size_t zeros = 8 - nhead - ntail;
    if ((gap && zeros == 0) || (!gap && zeros != 0))
        return false;
    uint16_t g[8];
    for (size_t k = 0; k < 8; k++)
        g[k] = k < nhead ? head[k] : k < nhead + zeros ? 0 : tail[k - nhead - zeros];
    for (size_t k = 0; k < 8; k++) {
        out[2 * k] = (uint8_t)(g[k] >> 8);
        out[2 * k + 1] = (uint8_t)g[k];
    }
    return true;
}

static const char IP6_FIX[] = "write ip6=X:X::X/64";

static int parse_ip6_word(const char *word, const char *v, struct net_config *c, char *err)
{
    const char *slash = strchr(v, '/');
    if (slash == NULL)
        return fail(err, "%s: the prefix length is missing (%s, e.g. ip6=2001:db8::2/64)", word,
                    IP6_FIX);
    if (!parse_ip6(v, (size_t)(slash - v), c->ip6))
        return fail(err, "%s: \"%.*s\" is not an IPv6 address (%s)", word, (int)(slash - v), v,
                    IP6_FIX);
    unsigned prefix;
    if (!parse_small(slash + 1, strlen(slash + 1), &prefix) || prefix != 64)
        return fail(err, "%s: the prefix length must be 64 (the stack takes an address's /64 as "
                         "on-link; %s)", word, IP6_FIX);
    static const uint8_t unspecified[16], loopback[16] = {[15] = 1};
    bool zero = memcmp(c->ip6, unspecified, 16) == 0;
    bool loop = memcmp(c->ip6, loopback, 16) == 0;
    if (zero || loop || c->ip6[0] == 0xff || (c->ip6[0] == 0xfe && (c->ip6[1] & 0xc0) == 0x80))
        return fail(err, "%s: not a global unicast address (link-local, multicast, loopback and :: "
                         "are not assigned this way; %s)", word, IP6_FIX);
    c->has_ip6 = true;
    return 0;
}

void net_config_format_ip6(const uint8_t ip6[16], char buf[NET_CONFIG_IP6_TEXT])
{
    /* The longest run of two or more zero groups becomes "::" (RFC 5952). */
    int best = -1, best_len = 0;
    for (int k = 0; k < 8;) {
        int n = 0;
        while (k + n < 8 && ip6[2 * (k + n)] == 0 && ip6[2 * (k + n) + 1] == 0)
            n++;
        if (n > best_len && n >= 2) {
            best = k;
            best_len = n;
        }
        k += n ? n : 1;
    }
    size_t at = 0;
    for (int k = 0; k < 8; k++) {
        if (k == best) {
            at += (size_t)snprintf(buf + at, NET_CONFIG_IP6_TEXT - at, "::");
            k += best_len - 1;
            continue;
        }
        unsigned g = (unsigned)ip6[2 * k] << 8 | ip6[2 * k + 1];
        at += (size_t)snprintf(buf + at, NET_CONFIG_IP6_TEXT - at, "%s%x",
                               (k == 0 || k == best + best_len) ? "" : ":", g);
    }
}

static int parse_dns_word(const char *word, const char *v,
                          struct net_config *c, char *err)
{
    static const char fix[] = "write dns=A.B.C.D or dns=A.B.C.D,A.B.C.D";
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (c->dns_count == NET_CONFIG_DNS_MAX)
            return fail(err, "%s: more than %d resolvers (%s)", word,
                        NET_CONFIG_DNS_MAX, fix);
        if (parse_ip(p, len, &c->dns[c->dns_count], word, fix, err) != 0)
            return -1;
        c->dns_count++;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

int net_config_parse(int argc, char *const argv[], struct net_config *out,
                     char *err)
{
    struct net_config c = {0};
    bool seen_ip = false, seen_gw = false, seen_dns = false, seen_ip6 = false;
    const char *gw_word = NULL;
    err[0] = '\0';
    for (int i = 0; i < argc; i++) {
        const char *w = argv[i];
        if (w == NULL)
            continue;
        const char *v;
        bool *seen;
        if (strncmp(w, "ip=", 3) == 0)
            seen = &seen_ip;
        else if (strncmp(w, "ip6=", 4) == 0)
            seen = &seen_ip6;
        else if (strncmp(w, "gw=", 3) == 0)
            seen = &seen_gw;
        else if (strncmp(w, "dns=", 4) == 0)
            seen = &seen_dns;
        else
            continue;
        v = strchr(w, '=') + 1;
        if (*seen)
            return fail(err, "%s: %.*s given twice (keep one)", w,
                        (int)(v - w - 1), w);
        *seen = true;
        if (*v == '\0')
            return fail(err, "%s: no value (remove the word or give one)", w);
        int rc;
        if (seen == &seen_ip) {
            rc = parse_ip_word(w, v, &c, err);
        } else if (seen == &seen_ip6) {
            rc = parse_ip6_word(w, v, &c, err);
        } else if (seen == &seen_gw) {
            gw_word = w;
            rc = parse_ip(v, strlen(v), &c.gw, w, "write gw=A.B.C.D", err);
        } else {
            rc = parse_dns_word(w, v, &c, err);
        }
        if (rc != 0)
            return -1;
    }
    if (gw_word != NULL) {
        if (c.mode != NET_ADDR_STATIC)
            return fail(err, "%s: a gateway needs a static address (add "
                             "ip=A.B.C.D/N, or drop gw= with ip=dhcp)",
                        gw_word);
        if ((c.gw & c.netmask) != (c.ip & c.netmask) || c.gw == c.ip)
            return fail(err, "%s: the gateway is not another host of the "
                             "prefix /%u of ip= (fix gw= or the prefix)",
                        gw_word, c.prefix);
    }
    *out = c;
    return 0;
}

void net_config_format_ip(uint32_t ip, char buf[16])
{
    snprintf(buf, 16, "%u.%u.%u.%u", (unsigned)(ip >> 24),
             (unsigned)(ip >> 16) & 255, (unsigned)(ip >> 8) & 255,
             (unsigned)ip & 255);
}
