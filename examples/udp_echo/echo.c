/*
 * ARP replies and UDP echo (see echo.h). Frames are parsed by offset;
 * every length is checked against what arrived before it is used.
 */
#include "echo.h"

#include <string.h>

#define ETH_HLEN 14
#define ETH_ARP 0x0806
#define ETH_IPV4 0x0800
#define ARP_LEN 28
#define IP_ICMP 1
#define IP_UDP 17
#define ICMP_ECHO_REQUEST 8
#define ICMP_ECHO_REPLY 0
#define ICMP_HLEN 8
#define UDP_HLEN 8

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int echo_parse_ip(const char *text, uint8_t ip[4])
{
    for (int i = 0; i < 4; i++) {
        unsigned v = 0, digits = 0;
        while (*text >= '0' && *text <= '9' && digits < 4) {
            v = v * 10 + (unsigned)(*text++ - '0');
            digits++;
        }
        if (digits == 0 || digits > 3 || v > 255)
            return -1;
        ip[i] = (uint8_t)v;
        if (*text != (i < 3 ? '.' : '\0'))
            return -1;
        text++;
    }
    return 0;
}

static uint16_t ip_checksum(const uint8_t *p, size_t len)
{
    uint32_t sum = 0;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += get16(p + i);
    if (len & 1) /* an odd last byte, padded with zero (ICMP data) */
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static size_t arp_reply(const struct echo_host *h, const uint8_t *in,
                        size_t len, uint8_t *out)
{
    const uint8_t *a = in + ETH_HLEN;
    if (len < ETH_HLEN + ARP_LEN || get16(a) != 1 || get16(a + 2) != ETH_IPV4
        || a[4] != 6 || a[5] != 4 || get16(a + 6) != 1
        || memcmp(a + 24, h->ip, 4) != 0)
        return 0;
    memcpy(out, in + 6, 6); /* to the asker */
    memcpy(out + 6, h->mac, 6);
    put16(out + 12, ETH_ARP);
    uint8_t *r = out + ETH_HLEN;
    put16(r, 1);
    put16(r + 2, ETH_IPV4);
    r[4] = 6;
    r[5] = 4;
    put16(r + 6, 2); /* reply */
    memcpy(r + 8, h->mac, 6);
    memcpy(r + 14, h->ip, 4);
    memcpy(r + 18, a + 8, 10); /* the asker's MAC and IP */
    return ETH_HLEN + ARP_LEN;
}

static size_t udp_reply(const struct echo_host *h, const uint8_t *in,
                        size_t len, uint8_t *out)
{
    const uint8_t *ip = in + ETH_HLEN;
    if (len < ETH_HLEN + 20 + UDP_HLEN || ip[0] != 0x45 || ip[9] != IP_UDP
        || memcmp(ip + 16, h->ip, 4) != 0)
        return 0;
    size_t total = get16(ip + 2);
    if (total < 20 + UDP_HLEN || ETH_HLEN + total > len
        || (get16(ip + 6) & 0x3fff) != 0 /* a fragment */
        || ip_checksum(ip, 20) != 0)
        return 0;
    const uint8_t *udp = ip + 20;
    size_t ulen = get16(udp + 4);
    if (ulen < UDP_HLEN || ulen > total - 20)
        return 0;

    size_t n = ETH_HLEN + 20 + ulen;
    memcpy(out, in + 6, 6);
    memcpy(out + 6, h->mac, 6);
    put16(out + 12, ETH_IPV4);
    uint8_t *oip = out + ETH_HLEN;
    memcpy(oip, ip, 20);
    put16(oip + 2, (uint16_t)(20 + ulen));
    put16(oip + 6, 0x4000); /* don't fragment */
    oip[8] = 64;
    memcpy(oip + 12, h->ip, 4);
    memcpy(oip + 16, ip + 12, 4);
    put16(oip + 10, 0);
    put16(oip + 10, ip_checksum(oip, 20));
    uint8_t *oudp = oip + 20;
    put16(oudp, get16(udp + 2));
    put16(oudp + 2, get16(udp));
    put16(oudp + 4, (uint16_t)ulen);
    put16(oudp + 6, 0); /* no checksum: allowed over IPv4 */
    memcpy(oudp + UDP_HLEN, udp + UDP_HLEN, ulen - UDP_HLEN);
    return n;
}

/*
 * ICMP echo request (ping) to us: the same datagram back, type 0, with the
 * addresses swapped and both checksums recomputed.
 */
static size_t icmp_reply(const struct echo_host *h, const uint8_t *in,
                         size_t len, uint8_t *out)
{
    const uint8_t *ip = in + ETH_HLEN;
    if (len < ETH_HLEN + 20 + ICMP_HLEN || ip[0] != 0x45 || ip[9] != IP_ICMP
        || memcmp(ip + 16, h->ip, 4) != 0)
        return 0;
    size_t total = get16(ip + 2);
    if (total < 20 + ICMP_HLEN || ETH_HLEN + total > len
        || (get16(ip + 6) & 0x3fff) != 0 /* a fragment */
        || ip_checksum(ip, 20) != 0)
        return 0;
    const uint8_t *icmp = ip + 20;
    size_t ilen = total - 20;
    if (icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0
        || ip_checksum(icmp, ilen) != 0)
        return 0;

    memcpy(out, in + 6, 6);
    memcpy(out + 6, h->mac, 6);
    put16(out + 12, ETH_IPV4);
    uint8_t *oip = out + ETH_HLEN;
    memcpy(oip, ip, 20);
    put16(oip + 6, 0x4000); /* don't fragment */
    oip[8] = 64;
    memcpy(oip + 12, h->ip, 4);
    memcpy(oip + 16, ip + 12, 4);
    put16(oip + 10, 0);
    put16(oip + 10, ip_checksum(oip, 20));
    uint8_t *oicmp = oip + 20;
    memcpy(oicmp, icmp, ilen); /* id, sequence and data unchanged */
    oicmp[0] = ICMP_ECHO_REPLY;
    put16(oicmp + 2, 0);
    put16(oicmp + 2, ip_checksum(oicmp, ilen));
    return ETH_HLEN + total;
}

size_t echo_reply(const struct echo_host *host, const uint8_t *in,
                  size_t len, uint8_t *out)
{
    if (len < ETH_HLEN)
        return 0;
    switch (get16(in + 12)) {
    case ETH_ARP:
        return arp_reply(host, in, len, out);
    case ETH_IPV4:
        if (len > ETH_HLEN + 9 && in[ETH_HLEN + 9] == IP_ICMP)
            return icmp_reply(host, in, len, out);
        return udp_reply(host, in, len, out);
    default:
        return 0;
    }
}
