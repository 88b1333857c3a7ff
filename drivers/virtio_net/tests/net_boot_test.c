/*
 * virtio-net in QEMU with user networking (slirp: gateway 10.0.2.2,
 * DHCP server, guest 10.0.2.15), raw frames and no stack: an ARP
 * request for the gateway must be answered, and a DHCP DISCOVER must
 * bring an OFFER. Without a NIC the image says so and exits 0.
 */
#include <errno.h>
#include <netdev/netdev.h>
#include <stdio.h>
#include <string.h>
#include <testing/check.h>
#include <sched/sched.h>
#include <time/time.h>
#include <virtio/virtio.h>
#include <virtio_net/virtio_net.h>

#define ETH_ARP 0x0806
#define ETH_IP 0x0800
#define XID 0x5eed1e55u

static const uint8_t BROADCAST[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t GATEWAY_IP[4] = {10, 0, 2, 2};
static const uint8_t GUEST_IP[4] = {10, 0, 2, 15};

struct state {
    struct netdev *nd;
    bool arp_reply, dhcp_offer;
    uint8_t gw_mac[6];
    uint8_t offered[4], server[4];
    unsigned frames;
};

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t csum(const uint8_t *p, size_t len, uint32_t sum)
{
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void eth_header(uint8_t *f, const uint8_t *dst, const uint8_t *src,
                       uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    put16(f + 12, type);
}

static int send_arp_request(struct state *s)
{
    uint8_t f[42];
    eth_header(f, BROADCAST, s->nd->mac, ETH_ARP);
    uint8_t *a = f + 14;
    put16(a, 1);          /* Ethernet */
    put16(a + 2, ETH_IP); /* IPv4 */
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1); /* request */
    memcpy(a + 8, s->nd->mac, 6);
    memcpy(a + 14, GUEST_IP, 4);
    memset(a + 18, 0, 6);
    memcpy(a + 24, GATEWAY_IP, 4);
    /* Header and body as two fragments: the gather path. */
    struct netdev_frag frags[2] = {{f, 14}, {f + 14, 28}};
    return netdev_send(s->nd, frags, 2, NULL);
}

static int send_dhcp_discover(struct state *s)
{
    uint8_t f[14 + 20 + 8 + 240 + 8] = {0};
    uint8_t *ip = f + 14, *udp = ip + 20, *bootp = udp + 8;
    size_t bootp_len = 240 + 8;
    eth_header(f, BROADCAST, s->nd->mac, ETH_IP);

    bootp[0] = 1; /* BOOTREQUEST */
    bootp[1] = 1;
    bootp[2] = 6;
    bootp[4] = (uint8_t)(XID >> 24);
    bootp[5] = (uint8_t)(XID >> 16);
    bootp[6] = (uint8_t)(XID >> 8);
    bootp[7] = (uint8_t)XID;
    put16(bootp + 10, 0x8000); /* broadcast the answer */
    memcpy(bootp + 28, s->nd->mac, 6);
    static const uint8_t options[] = {99, 130, 83, 99, /* magic cookie */
                                      53, 1, 1,        /* DISCOVER */
                                      55, 2, 1, 3,     /* mask, router */
                                      255};
    memcpy(bootp + 236, options, sizeof(options));

    size_t udp_len = 8 + bootp_len;
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, (uint16_t)udp_len);
    /* Pseudo-header: 0.0.0.0 -> 255.255.255.255, UDP, length. */
    uint32_t pseudo = 0xffff + 0xffff + 17 + (uint32_t)udp_len;
    uint16_t uc = csum(udp, udp_len, pseudo);
    put16(udp + 6, uc == 0 ? 0xffff : uc);

    ip[0] = 0x45;
    put16(ip + 2, (uint16_t)(20 + udp_len));
    ip[8] = 64;
    ip[9] = 17;
    memset(ip + 16, 0xff, 4);
    put16(ip + 10, csum(ip, 20, 0));

    struct netdev_frag frag = {f, sizeof(f)};
    return netdev_send(s->nd, &frag, 1, NULL);
}

static void on_frame(void *arg, struct netdev_buf *b)
{
    struct state *s = arg;
    const uint8_t *f = b->data;
    s->frames++;
    if (b->len >= 42 && be16(f + 12) == ETH_ARP && be16(f + 20) == 2
        && memcmp(f + 28, GATEWAY_IP, 4) == 0
        && memcmp(f + 32, s->nd->mac, 6) == 0) {
        memcpy(s->gw_mac, f + 22, 6);
        s->arp_reply = true;
    }
    if (b->len >= 14 + 20 + 8 + 240 && be16(f + 12) == ETH_IP
        && (f[14] >> 4) == 4 && f[23] == 17) {
        size_t ihl = (size_t)(f[14] & 15) * 4;
        const uint8_t *udp = f + 14 + ihl;
        const uint8_t *bp = udp + 8;
        if (ihl >= 20 && b->len >= 14 + ihl + 8 + 240 && be16(udp) == 67
            && be16(udp + 2) == 68 && bp[0] == 2
            && ((uint32_t)bp[4] << 24 | (uint32_t)bp[5] << 16
                | (uint32_t)bp[6] << 8 | bp[7]) == XID) {
            /* Options after the cookie: look for 53 (type) = 2, 54. */
            const uint8_t *o = bp + 240, *end = f + b->len;
            bool offer = false;
            while (o < end && *o != 255) {
                if (*o == 0) {
                    o++;
                    continue;
                }
                if (o + 2 > end || o + 2 + o[1] > end)
                    break;
                if (o[0] == 53 && o[1] == 1 && o[2] == 2)
                    offer = true;
                if (o[0] == 54 && o[1] == 4)
                    memcpy(s->server, o + 2, 4);
                o += 2 + o[1];
            }
            if (offer) {
                memcpy(s->offered, bp + 16, 4);
                s->dhcp_offer = true;
            }
        }
    }
    netdev_buf_release(b);
}

/* Poll until `done` or 5 s; resend every second. */
static bool exchange(struct state *s, int (*send)(struct state *),
                     const bool *done)
{
    uint64_t start = time_monotonic_ns();
    for (unsigned attempt = 0; attempt < 5 && !*done; attempt++) {
        int rc = send(s);
        if (rc != 0)
            printf("send failed: %d\n", rc);
        uint64_t deadline = start + (uint64_t)(attempt + 1) * 1000000000u;
        while (!*done) {
            if (netdev_wait(s->nd, deadline) == -ETIMEDOUT)
                break;
            if (netdev_poll(s->nd) < 0)
                return false;
        }
    }
    return *done;
}

/* A request sent once the main thread is parked in netdev_wait, so the
 * answer comes while it is. */
static int send_arp_later(void *arg)
{
    sched_sleep_ns(5000000);
    return send_arp_request(arg);
}

int main(void)
{
    struct state s = {0};
    int rc = virtio_net_open_first(&s.nd);
    if (rc == -ENODEV) {
        printf("virtio-net: no device (%u virtio devices found); nothing "
               "to test\n", (unsigned)virtio_count());
        return 0;
    }
    if (!check_verdict(rc == 0, "virtio-net brought up")) {
        printf("virtio_net_open_first: %d\n", rc);
        return check_finish();
    }
    const uint8_t *m = s.nd->mac;
    printf("%s: mac %02x:%02x:%02x:%02x:%02x:%02x mtu %u features %#x\n",
           s.nd->name, m[0], m[1], m[2], m[3], m[4], m[5], s.nd->mtu,
           (unsigned)s.nd->features);
    netdev_set_rx(s.nd, on_frame, &s);

    if (check_verdict(exchange(&s, send_arp_request, &s.arp_reply),
                      "ARP reply from the gateway"))
        printf("arp: 10.0.2.2 is at %02x:%02x:%02x:%02x:%02x:%02x\n",
               s.gw_mac[0], s.gw_mac[1], s.gw_mac[2], s.gw_mac[3],
               s.gw_mac[4], s.gw_mac[5]);
    if (check_verdict(exchange(&s, send_dhcp_discover, &s.dhcp_offer),
                      "DHCP OFFER for our DISCOVER"))
        printf("dhcp: offer %u.%u.%u.%u from %u.%u.%u.%u\n", s.offered[0],
               s.offered[1], s.offered[2], s.offered[3], s.server[0],
               s.server[1], s.server[2], s.server[3]);
    CHECK_EQ(memcmp(s.offered, GUEST_IP, 4), 0);

    struct virtio_net_stats st;
    virtio_net_get_stats(virtio_net_from_netdev(s.nd), &st);
    printf("frames received: %u, sent: %llu\n", s.frames,
           (unsigned long long)st.tx_frames);
    CHECK_EQ(st.bad_id + st.bad_len + st.bad_idx + st.bad_rx_len, 0);
    if (st.interrupts) {
        /* The device is asked to interrupt only while a thread is parked
         * in netdev_wait: a request sent by another thread while this one
         * is parked, and its answer's interrupt must arrive. */
        uint64_t before = virtio_irq_count();
        for (unsigned i = 0; i < 5 && virtio_irq_count() == before; i++) {
            struct sched_thread *t =
                sched_spawn("arp-later", send_arp_later, &s, NULL);
            CHECK(t != NULL);
            if (netdev_wait(s.nd, time_monotonic_ns() + 500000000u) == 0)
                CHECK(netdev_poll(s.nd) >= 0);
            int status = -1;
            CHECK_EQ(sched_join(t, &status), 0);
            CHECK_EQ(status, 0);
        }
        CHECK(virtio_irq_count() > before);
        /* A handful of frames each way: a handful of interrupts, not a
         * storm of a level-triggered line nobody acknowledged. */
        CHECK_MSG(virtio_irq_count() < 100, "no interrupt storm");
        printf("wait: interrupts (%llu taken)\n",
               (unsigned long long)virtio_irq_count());
    } else {
        printf("wait: polling every %u us\n", VIRTIO_NET_POLL_NS / 1000);
    }
    return check_finish();
}
