/*
 * The udp_echo protocol on the host: ARP requests for us are answered,
 * UDP to us comes back with addresses and ports swapped, and anything
 * malformed or not for us gets no reply.
 */
#include <stdio.h>
#include <string.h>

#include <testing/check.h>
#include "echo.h"


static const struct echo_host host = {
    .mac = {0x00, 0x16, 0x3e, 0x00, 0x00, 0x01},
    .ip = {10, 0, 0, 2},
};
static const uint8_t peer_mac[6] = {0x02, 0, 0, 0, 0, 0x99};
static const uint8_t peer_ip[4] = {10, 0, 0, 1};

static size_t arp_request(uint8_t *f, const uint8_t target[4])
{
    memset(f, 0xff, 6);
    memcpy(f + 6, peer_mac, 6);
    f[12] = 0x08, f[13] = 0x06;
    uint8_t *a = f + 14;
    a[0] = 0, a[1] = 1, a[2] = 0x08, a[3] = 0, a[4] = 6, a[5] = 4;
    a[6] = 0, a[7] = 1;
    memcpy(a + 8, peer_mac, 6);
    memcpy(a + 14, peer_ip, 4);
    memset(a + 18, 0, 6);
    memcpy(a + 24, target, 4);
    return 60; /* padded to the Ethernet minimum */
}

static uint16_t csum(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    for (size_t i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

static size_t udp_packet(uint8_t *f, const char *payload)
{
    size_t plen = strlen(payload), ulen = 8 + plen, total = 20 + ulen;
    memcpy(f, host.mac, 6);
    memcpy(f + 6, peer_mac, 6);
    f[12] = 0x08, f[13] = 0x00;
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(total >> 8), ip[3] = (uint8_t)total;
    ip[8] = 64, ip[9] = 17;
    memcpy(ip + 12, peer_ip, 4);
    memcpy(ip + 16, host.ip, 4);
    uint16_t c = csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
    uint8_t *u = ip + 20;
    u[0] = 0x30, u[1] = 0x39; /* 12345 */
    u[2] = 0x00, u[3] = 0x07; /* echo */
    u[4] = (uint8_t)(ulen >> 8), u[5] = (uint8_t)ulen;
    u[6] = u[7] = 0;
    memcpy(u + 8, payload, plen);
    return 14 + total;
}

/* The Internet checksum, odd lengths padded with a zero byte. */
static uint16_t csum_odd(const uint8_t *p, size_t n)
{
    uint32_t s = 0;
    size_t i;
    for (i = 0; i + 1 < n; i += 2)
        s += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (i < n)
        s += (uint32_t)p[i] << 8;
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return (uint16_t)~s;
}

/* An ICMP echo request (ping) to us, id 0x1234, sequence `seq`. */
static size_t icmp_echo(uint8_t *f, const char *payload, uint16_t seq)
{
    size_t plen = strlen(payload), ilen = 8 + plen, total = 20 + ilen;
    memcpy(f, host.mac, 6);
    memcpy(f + 6, peer_mac, 6);
    f[12] = 0x08, f[13] = 0x00;
    uint8_t *ip = f + 14;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)(total >> 8), ip[3] = (uint8_t)total;
    ip[8] = 64, ip[9] = 1;
    memcpy(ip + 12, peer_ip, 4);
    memcpy(ip + 16, host.ip, 4);
    uint16_t c = csum(ip, 20);
    ip[10] = (uint8_t)(c >> 8), ip[11] = (uint8_t)c;
    uint8_t *m = ip + 20;
    m[0] = 8, m[1] = 0, m[2] = m[3] = 0;
    m[4] = 0x12, m[5] = 0x34;
    m[6] = (uint8_t)(seq >> 8), m[7] = (uint8_t)seq;
    memcpy(m + 8, payload, plen);
    c = csum_odd(m, ilen);
    m[2] = (uint8_t)(c >> 8), m[3] = (uint8_t)c;
    return 14 + total;
}

int main(void)
{
    uint8_t in[128], out[128];
    uint8_t ip[4];
    CHECK(echo_parse_ip("10.0.0.2", ip) == 0 && ip[0] == 10 && ip[3] == 2);
    CHECK(echo_parse_ip("256.0.0.1", ip) == -1);
    CHECK(echo_parse_ip("1.2.3", ip) == -1);
    CHECK(echo_parse_ip("1.2.3.4.", ip) == -1);
    CHECK(echo_parse_ip("", ip) == -1);

    size_t n = arp_request(in, host.ip);
    CHECK(echo_reply(&host, in, n, out) == 42);
    CHECK(memcmp(out, peer_mac, 6) == 0 && memcmp(out + 6, host.mac, 6) == 0);
    CHECK(out[14 + 7] == 2); /* ARP reply */
    CHECK(memcmp(out + 14 + 8, host.mac, 6) == 0);
    CHECK(memcmp(out + 14 + 24, peer_ip, 4) == 0);
    const uint8_t other[4] = {10, 0, 0, 3};
    n = arp_request(in, other);
    CHECK(echo_reply(&host, in, n, out) == 0);
    CHECK(echo_reply(&host, in, 30, out) == 0);

    n = udp_packet(in, "ping");
    size_t r = echo_reply(&host, in, n, out);
    CHECK(r == n);
    CHECK(memcmp(out, peer_mac, 6) == 0);
    CHECK(memcmp(out + 14 + 16, peer_ip, 4) == 0);
    CHECK(csum(out + 14, 20) == 0);
    CHECK(out[34] == 0x00 && out[35] == 0x07 && out[36] == 0x30);
    CHECK(memcmp(out + 42, "ping", 4) == 0);
    /* Truncated, corrupted, fragmented, or for someone else: silence. */
    CHECK(echo_reply(&host, in, n - 1, out) == 0);
    in[14 + 8] ^= 1; /* TTL changed, checksum now wrong */
    CHECK(echo_reply(&host, in, n, out) == 0);
    n = udp_packet(in, "ping");
    in[14 + 6] = 0x20; /* more fragments */
    CHECK(echo_reply(&host, in, n, out) == 0);
    n = udp_packet(in, "ping");
    in[14 + 20 + 5] = 200; /* UDP length beyond the packet */
    CHECK(echo_reply(&host, in, n, out) == 0);
    CHECK(echo_reply(&host, in, 10, out) == 0);

    /* ICMP echo: a reply with the same id, sequence and data. */
    const char *pl[] = {"abcdefgh", "odd"}; /* even and odd lengths */
    for (int k = 0; k < 2; k++) {
        n = icmp_echo(in, pl[k], (uint16_t)(7 + k));
        r = echo_reply(&host, in, n, out);
        CHECK(r == n);
        CHECK(memcmp(out, peer_mac, 6) == 0);
        CHECK(memcmp(out + 6, host.mac, 6) == 0);
        CHECK(out[14 + 9] == 1);
        CHECK(memcmp(out + 14 + 12, host.ip, 4) == 0);
        CHECK(memcmp(out + 14 + 16, peer_ip, 4) == 0);
        CHECK(csum(out + 14, 20) == 0);
        CHECK(out[34] == 0 && out[35] == 0); /* echo reply */
        CHECK(csum_odd(out + 34, r - 34) == 0);
        CHECK(memcmp(out + 38, in + 38, r - 38) == 0);
    }
    n = icmp_echo(in, "abcdefgh", 1);
    in[34 + 8] ^= 1; /* data changed, ICMP checksum now wrong */
    CHECK(echo_reply(&host, in, n, out) == 0);
    n = icmp_echo(in, "abcdefgh", 1);
    in[34] = 0; /* an echo reply: not answered */
    CHECK(echo_reply(&host, in, n, out) == 0);
    n = icmp_echo(in, "abcdefgh", 1);
    CHECK(echo_reply(&host, in, n - 1, out) == 0); /* truncated */

    return check_finish();
}
