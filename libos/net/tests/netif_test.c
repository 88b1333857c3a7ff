/*
 * The netif over <netdev/netdev.h> (libos/net/netif.c, stack.c) on the
 * host: lwIP (our lwipopts.h) and the port on the scheduler's host
 * runtime, attached to a simulated NIC. Frames the device hands over
 * live in buffers of exactly their size (so ASan catches any read past
 * them); some come with lengths that lie.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lwip/pbuf.h"
#include "lwip/udp.h"
#include "lwip/sockets.h"
#include "lwip/tcpip.h"

#include <net/net.h>
#include <netdev/netdev.h>
#include <sched/sched.h>
#include <testing/check.h>
#include <time/time.h>

#include "libos/net/net_internal.h"

#define MS TIME_NS_PER_MS

uint32_t net_port_rand(void)
{
    return (uint32_t)rng_next();
}

/* ---- a simulated NIC --------------------------------------------------------- */

#define SIM_QUEUE 32
#define SIM_SENT 64

struct sim {
    struct netdev dev;
    struct sched_waitq wq;
    struct netdev_buf *queue[SIM_QUEUE];
    size_t queued;
    unsigned released;
    unsigned sent;
    uint8_t frame[SIM_SENT][2048];
    size_t frame_len[SIM_SENT];
    struct netdev_tx tx[SIM_SENT];
    /* Scatter-gather: a send with a completion is only recorded (the
     * fragments' addresses); sim_complete() reads the bytes then, as a
     * device would, and calls the completion. */
    bool lend;
    struct netdev_frag lent[SIM_SENT][NETDEV_MAX_FRAGS];
    size_t lent_n[SIM_SENT];
    bool pending[SIM_SENT];
    bool refuse; /* every send: -EAGAIN */
};

static uint16_t csum_fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)sum;
}

static uint32_t csum_add(const uint8_t *b, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        sum += (uint32_t)b[n - 1] << 8;
    return sum;
}

static int sim_send(struct netdev *dev, const struct netdev_frag *frags,
                    size_t n, const struct netdev_tx *tx)
{
    struct sim *s = (struct sim *)dev;
    if (n < 1 || n > NETDEV_MAX_FRAGS || s->sent == SIM_SENT)
        return -22;
    if (s->refuse)
        return -11;
    if (tx != NULL && tx->done != NULL) {
        if (!s->lend)
            return -22; /* a completion for a driver without TX_SG */
        memcpy(s->lent[s->sent], frags, n * sizeof(*frags));
        s->lent_n[s->sent] = n;
        s->pending[s->sent] = true;
        s->tx[s->sent] = *tx;
        s->frame_len[s->sent++] = 0;
        return 0;
    }
    uint8_t *f = s->frame[s->sent];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        if (len + frags[i].len > sizeof(s->frame[0]))
            return -90;
        memcpy(f + len, frags[i].data, frags[i].len);
        len += frags[i].len;
    }
    s->tx[s->sent] = tx ? *tx : (struct netdev_tx){0};
    if (tx != NULL && tx->csum) {
        /* What virtio-net's device does: sum from csum_start to the end
         * (the field holds the pseudo-header sum), store the complement. */
        uint16_t c = (uint16_t)~csum_fold(
            csum_add(f + tx->csum_start, len - tx->csum_start, 0));
        f[tx->csum_start + tx->csum_offset] = (uint8_t)(c >> 8);
        f[tx->csum_start + tx->csum_offset + 1] = (uint8_t)c;
    }
    s->frame_len[s->sent++] = len;
    return 0;
}

/* The device reads every lent frame now (but frame `keep`, if it is
 * one) and gives each back. */
static void sim_complete_but(struct sim *s, unsigned keep)
{
    for (unsigned i = 0; i < s->sent; i++) {
        if (!s->pending[i] || i == keep)
            continue;
        s->pending[i] = false;
        uint8_t *f = s->frame[i];
        size_t len = 0;
        for (size_t k = 0; k < s->lent_n[i]; k++) {
            memcpy(f + len, s->lent[i][k].data, s->lent[i][k].len);
            len += s->lent[i][k].len;
        }
        const struct netdev_tx *tx = &s->tx[i];
        if (tx->csum) {
            uint16_t c = (uint16_t)~csum_fold(
                csum_add(f + tx->csum_start, len - tx->csum_start, 0));
            f[tx->csum_start + tx->csum_offset] = (uint8_t)(c >> 8);
            f[tx->csum_start + tx->csum_offset + 1] = (uint8_t)c;
        }
        s->frame_len[i] = len;
        tx->done(tx->done_arg);
    }
}

static void sim_complete(struct sim *s)
{
    sim_complete_but(s, SIM_SENT);
}

static int sim_poll(struct netdev *dev)
{
    struct sim *s = (struct sim *)dev;
    size_t n = s->queued;
    for (size_t i = 0; i < n; i++)
        dev->rx(dev->rx_arg, s->queue[i]);
    s->queued = 0;
    return (int)n;
}

static int sim_wait(struct netdev *dev, uint64_t deadline_ns)
{
    struct sim *s = (struct sim *)dev;
    while (s->queued == 0) {
        if (deadline_ns == 0)
            sched_wait(&s->wq);
        else if (sched_wait_until(&s->wq, deadline_ns) == SCHED_TIMED_OUT)
            return -110;
    }
    return 0;
}

static void sim_release(struct netdev *dev, struct netdev_buf *buf)
{
    struct sim *s = (struct sim *)dev;
    s->released++;
    free(buf->data);
    free(buf);
}

static const struct netdev_ops sim_ops = {
    .send = sim_send,
    .poll = sim_poll,
    .wait = sim_wait,
    .release = sim_release,
};

static const uint8_t OUR_MAC[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t PEER_MAC[6] = {0x02, 0, 0, 0, 0, 0x01};

static void sim_init(struct sim *s, uint16_t mtu, uint32_t features)
{
    memset(s, 0, sizeof(*s));
    s->dev.ops = &sim_ops;
    s->dev.name = "sim0";
    memcpy(s->dev.mac, OUR_MAC, 6);
    s->dev.mtu = mtu;
    s->dev.features = features;
}

/* Queue a frame: `len` is what the descriptor says, `size` what the
 * buffer really has (a copy of `bytes`, or no buffer when bytes is NULL
 * and size is 0). */
static void sim_inject_flags(struct sim *s, const void *bytes, size_t size,
                             size_t len, uint32_t flags)
{
    struct netdev_buf *b = calloc(1, sizeof(*b));
    b->flags = flags;
    b->data = size ? malloc(size) : NULL;
    if (size)
        memcpy(b->data, bytes, size);
    b->len = len;
    b->dev = &s->dev;
    s->queue[s->queued++] = b;
    sched_wake_all(&s->wq);
}

static void sim_inject(struct sim *s, const void *bytes, size_t size,
                       size_t len)
{
    sim_inject_flags(s, bytes, size, len, 0);
}

/* Let the receive thread and the tcpip thread do their work. */
static void settle(void)
{
    sched_sleep_ns(5 * MS);
}

/* ---- frames -------------------------------------------------------------------- */

static size_t put_eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, PEER_MAC, 6);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
    return 14;
}

static void put_ipv4(uint8_t *ip, uint8_t proto, size_t payload,
                     const uint8_t src[4], const uint8_t dst[4])
{
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + payload) >> 8);
    ip[3] = (uint8_t)(20 + payload);
    ip[8] = 64;
    ip[9] = proto;
    memcpy(ip + 12, src, 4);
    memcpy(ip + 16, dst, 4);
    uint16_t c = (uint16_t)~csum_fold(csum_add(ip, 20, 0));
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
}

static const uint8_t PEER_IP[4] = {10, 0, 0, 1};
static const uint8_t OUR_IP[4] = {10, 0, 0, 2};

/* An L4 checksum over the IPv4 pseudo-header: 0 (folded 0xffff) if valid. */
static uint16_t l4_check(const uint8_t *ip, size_t l4_len)
{
    uint32_t sum = csum_add(ip + 12, 8, 0) + ip[9] + (uint32_t)l4_len;
    return (uint16_t)~csum_fold(csum_add(ip + 20, l4_len, sum));
}

/* ---- the tests -------------------------------------------------------------------- */

static struct sim sim;
static struct net_if *nif;

static void test_unusable_mtu(void)
{
    static struct sim bad;
    sim_init(&bad, 100, 0);
    struct net_config cfg = {0};
    struct net_if *out = NULL;
    CHECK_EQ(net_attach(&bad.dev, &cfg, &out), -1);
    CHECK(out == NULL);
    bad.dev.mtu = 65000;
    CHECK_EQ(net_attach(&bad.dev, &cfg, &out), -1);
}

static void test_bad_lengths_are_dropped(void)
{
    struct net_if_stats st;
    static uint8_t junk[2000];
    memset(junk, 0xee, sizeof(junk));
    unsigned released = sim.released;
    sim_inject(&sim, NULL, 0, 60);           /* no data at all */
    sim_inject(&sim, junk, 1, 0);            /* empty */
    sim_inject(&sim, junk, 13, 13);          /* shorter than Ethernet */
    sim_inject(&sim, junk, 1519, 1519);      /* > MTU 1500 + 14 + 4 */
    sim_inject(&sim, junk, 64, 70000);       /* a length that lies */
    sim_inject(&sim, junk, 64, SIZE_MAX);    /* and another */
    settle();
    net_if_get_stats(nif, &st);
    CHECK_EQ(st.rx_bad_length, 6);
    CHECK_EQ(st.rx_frames, 0);
    CHECK_EQ(sim.released - released, 6); /* every buffer given back */
    /* Frames of the largest and smallest acceptable sizes pass (junk:
     * lwIP drops them as unknown ethertypes, and releases them). */
    sim_inject(&sim, junk, 1518, 1518);
    sim_inject(&sim, junk, 14, 14);
    settle();
    net_if_get_stats(nif, &st);
    CHECK_EQ(st.rx_frames, 2);
    CHECK_EQ(sim.released - released, 8);
}

static void test_arp_reply(void)
{
    uint8_t f[42];
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    size_t o = put_eth(f, bcast, 0x0806);
    static const uint8_t arp_head[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    memcpy(f + o, arp_head, 8);
    memcpy(f + o + 8, PEER_MAC, 6);
    memcpy(f + o + 14, PEER_IP, 4);
    memset(f + o + 18, 0, 6);
    memcpy(f + o + 24, OUR_IP, 4);
    unsigned sent = sim.sent, released = sim.released;
    sim_inject(&sim, f, sizeof(f), sizeof(f));
    settle();
    CHECK_EQ(sim.sent - sent, 1);
    CHECK_EQ(sim.released - released, 1);
    const uint8_t *r = sim.frame[sent];
    CHECK(memcmp(r, PEER_MAC, 6) == 0);
    CHECK(memcmp(r + 6, OUR_MAC, 6) == 0);
    CHECK(r[12] == 0x08 && r[13] == 0x06);
    CHECK_EQ(r[14 + 7], 2); /* reply */
    CHECK(memcmp(r + 14 + 8, OUR_MAC, 6) == 0);
    CHECK(memcmp(r + 14 + 14, OUR_IP, 4) == 0);
}

static void test_icmp_echo(void)
{
    uint8_t f[14 + 20 + 8 + 32];
    size_t o = put_eth(f, OUR_MAC, 0x0800);
    uint8_t *icmp = f + o + 20;
    memset(icmp, 0, 8);
    icmp[0] = 8; /* echo request */
    icmp[5] = 7; /* id 7 */
    icmp[7] = 1; /* seq 1 */
    for (int i = 0; i < 32; i++)
        icmp[8 + i] = (uint8_t)i;
    uint16_t c = (uint16_t)~csum_fold(csum_add(icmp, 40, 0));
    icmp[2] = (uint8_t)(c >> 8);
    icmp[3] = (uint8_t)c;
    put_ipv4(f + o, 1, 40, PEER_IP, OUR_IP);
    unsigned sent = sim.sent;
    sim_inject(&sim, f, sizeof(f), sizeof(f));
    settle();
    CHECK_EQ(sim.sent - sent, 1);
    const uint8_t *r = sim.frame[sent];
    CHECK_EQ(sim.frame_len[sent], sizeof(f));
    CHECK(memcmp(r, PEER_MAC, 6) == 0);
    CHECK_EQ(csum_fold(csum_add(r + 14, 20, 0)), 0xffff); /* IP header */
    CHECK_EQ(r[14 + 20], 0);                              /* echo reply */
    CHECK_EQ(csum_fold(csum_add(r + 34, 40, 0)), 0xffff); /* ICMP */
    CHECK(memcmp(r + 34 + 8, icmp + 8, 32) == 0);
}

/* A datagram waits in the socket inside the device's own buffer (no
 * copy): the buffer goes back only when the application has read it. */
static void test_udp_receive_is_zero_copy(void)
{
    int s = lwip_socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(s >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_len = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(5000);
    CHECK_EQ(lwip_bind(s, (struct sockaddr *)&a, sizeof(a)), 0);

    uint8_t f[14 + 20 + 8 + 5];
    size_t o = put_eth(f, OUR_MAC, 0x0800);
    uint8_t *udp = f + o + 20;
    udp[0] = 0x30, udp[1] = 0x39; /* 12345 */
    udp[2] = 0x13, udp[3] = 0x88; /* 5000 */
    udp[4] = 0, udp[5] = 13;
    udp[6] = udp[7] = 0;
    memcpy(udp + 8, "hello", 5);
    put_ipv4(f + o, 17, 13, PEER_IP, OUR_IP);
    uint16_t c = l4_check(f + o, 13);
    udp[6] = (uint8_t)(c >> 8);
    udp[7] = (uint8_t)c;
    CHECK_EQ(l4_check(f + o, 13), 0);

    unsigned released = sim.released;
    sim_inject(&sim, f, sizeof(f), sizeof(f));
    settle();
    CHECK_EQ(sim.released - released, 0); /* held by the socket */
    char buf[16];
    CHECK_EQ(lwip_recvfrom(s, buf, sizeof(buf), 0, NULL, NULL), 5);
    CHECK(memcmp(buf, "hello", 5) == 0);
    CHECK_EQ(sim.released - released, 1);
    lwip_close(s);
}

/* UDP keeps lwIP's own checksum even on an offloading device (lwIP
 * fragments large datagrams after summing them). */
static void test_udp_send_keeps_lwip_checksum(void)
{
    int s = lwip_socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to;
    memset(&to, 0, sizeof(to));
    to.sin_len = sizeof(to);
    to.sin_family = AF_INET;
    to.sin_port = lwip_htons(7);
    to.sin_addr.s_addr = lwip_htonl(0x0a000001);
    struct net_if_stats before, after;
    net_if_get_stats(nif, &before);
    unsigned sent = sim.sent;
    CHECK_EQ(lwip_sendto(s, "datagram", 8, 0, (struct sockaddr *)&to,
                         sizeof(to)), 8);
    settle();
    CHECK_EQ(sim.sent - sent, 1);
    net_if_get_stats(nif, &after);
    CHECK_EQ(after.tx_csum_offloaded, before.tx_csum_offloaded);
    const uint8_t *r = sim.frame[sent];
    CHECK(!sim.tx[sent].csum);
    CHECK_EQ(r[23], 17);
    CHECK(r[40] != 0 || r[41] != 0);
    CHECK_EQ(l4_check(r + 14, 8 + 8), 0);
    CHECK(memcmp(r + 42, "datagram", 8) == 0);
    lwip_close(s);
}

/* The device has NETDEV_F_TX_CSUM: lwIP leaves TCP checksums to it, the
 * netif puts the pseudo-header sum in the field and says where the
 * header is; what the device finishes is a valid segment. Here: the RST
 * lwIP sends for a SYN to a closed port. */
/* A TCP SYN from PEER_IP:src_port to OUR_IP:dst_port, queued on sim. */
static void inject_syn(uint16_t src_port, uint16_t dst_port)
{
    uint8_t f[14 + 20 + 20];
    size_t o = put_eth(f, OUR_MAC, 0x0800);
    uint8_t *tcp = f + o + 20;
    memset(tcp, 0, 20);
    tcp[0] = (uint8_t)(src_port >> 8), tcp[1] = (uint8_t)src_port;
    tcp[2] = (uint8_t)(dst_port >> 8), tcp[3] = (uint8_t)dst_port;
    tcp[7] = 0x10; /* seq 0x1000 */
    tcp[12] = 5 << 4;
    tcp[13] = 0x02; /* SYN */
    tcp[14] = 0xff, tcp[15] = 0xff;
    put_ipv4(f + o, 6, 20, PEER_IP, OUR_IP);
    uint16_t c = l4_check(f + o, 20);
    tcp[16] = (uint8_t)(c >> 8);
    tcp[17] = (uint8_t)c;
    sim_inject(&sim, f, sizeof(f), sizeof(f));
}

static void test_tcp_checksum_offloaded(void)
{
    inject_syn(40000, 81); /* a closed port: lwIP answers RST */
    struct net_if_stats before, after;
    net_if_get_stats(nif, &before);
    unsigned sent = sim.sent;
    settle();
    CHECK_EQ(sim.sent - sent, 1);
    net_if_get_stats(nif, &after);
    CHECK_EQ(after.tx_csum_offloaded - before.tx_csum_offloaded, 1);
    const uint8_t *r = sim.frame[sent];
    CHECK(sim.tx[sent].csum);
    CHECK_EQ(sim.tx[sent].csum_start, 34);
    CHECK_EQ(sim.tx[sent].csum_offset, 16);
    CHECK_EQ(r[23], 6);
    CHECK(r[34 + 13] & 0x04); /* RST */
    size_t l4_len = sim.frame_len[sent] - 34;
    CHECK_EQ(l4_check(r + 14, l4_len), 0);
}

/* Initial sequence numbers are not lwIP's predictable counter: two SYNs
 * to a listener, a moment apart, get SYN-ACKs whose sequence numbers are
 * far apart (a keyed hash of each connection; LWIP_RAND is seeded here,
 * so the run is reproducible). */
static uint32_t syn_ack_seq(uint16_t src_port)
{
    unsigned sent = sim.sent;
    inject_syn(src_port, 8080);
    settle();
    if (!CHECK_EQ(sim.sent - sent, 1))
        return 0;
    const uint8_t *r = sim.frame[sent];
    CHECK_EQ(r[34 + 13], 0x12); /* SYN|ACK */
    return (uint32_t)r[38] << 24 | (uint32_t)r[39] << 16
           | (uint32_t)r[40] << 8 | r[41];
}

static void test_initial_sequence_numbers(void)
{
    int s = lwip_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_len = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(8080);
    CHECK_EQ(lwip_bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_EQ(lwip_listen(s, 4), 0);
    uint32_t isn1 = syn_ack_seq(40001);
    uint32_t isn2 = syn_ack_seq(40002);
    uint32_t gap = isn2 - isn1;
    printf("  ISNs %08x %08x\n", isn1, isn2);
    CHECK(gap > (1u << 20) && gap < 0u - (1u << 20));
    lwip_close(s);
}

/* A chain of more pieces than NETDEV_MAX_FRAGS goes out as one copy. */
static void test_long_chain_is_linearized(void)
{
    static uint8_t pieces[NETDEV_MAX_FRAGS + 4][10];
    struct pbuf *head = pbuf_alloc(PBUF_RAW, 14, PBUF_RAM);
    CHECK(head != NULL);
    put_eth(head->payload, PEER_MAC, 0x88b5); /* a local experimental type */
    for (size_t i = 0; i < NETDEV_MAX_FRAGS + 4; i++) {
        memset(pieces[i], (int)i, sizeof(pieces[i]));
        struct pbuf *p = pbuf_alloc(PBUF_RAW, 10, PBUF_REF);
        p->payload = pieces[i];
        pbuf_cat(head, p);
    }
    struct net_if_stats before, after;
    net_if_get_stats(nif, &before);
    unsigned sent = sim.sent;
    LOCK_TCPIP_CORE();
    err_t e = nif->netif.linkoutput(&nif->netif, head);
    UNLOCK_TCPIP_CORE();
    CHECK_EQ(e, ERR_OK);
    pbuf_free(head);
    net_if_get_stats(nif, &after);
    CHECK_EQ(after.tx_linearized - before.tx_linearized, 1);
    CHECK_EQ(sim.sent - sent, 1);
    CHECK_EQ(sim.frame_len[sent], 14 + 10 * (NETDEV_MAX_FRAGS + 4));
    bool same = true;
    for (size_t i = 0; i < NETDEV_MAX_FRAGS + 4; i++)
        same &= memcmp(sim.frame[sent] + 14 + 10 * i, pieces[i], 10) == 0;
    CHECK(same);
}

/* ---- scatter-gather transmit, checksums the device checked -------------------- */

/* The attached device as one with NETDEV_F_TX_SG (and RX_CSUM) for a
 * test: the netif read the features at attach, so both sides change. */
static void sg_mode(bool on)
{
    sim_complete(&sim);
    sim.sent = 0; /* room for what the test sends */
    sim.lend = on;
    nif->tx_sg = on;
    if (on)
        sim.dev.features |= NETDEV_F_TX_SG;
    else
        sim.dev.features &= ~NETDEV_F_TX_SG;
}

static bool custom_freed;

static void custom_free(struct pbuf *p)
{
    (void)p;
    custom_freed = true;
}

/* A chain lent to the device stays alive until the device is done with
 * it, though lwIP (here the test) drops its own reference at once; a
 * refused send gives it back at once. */
static void test_lent_chain_lives_until_done(void)
{
    sg_mode(true);
    static struct pbuf_custom head_pc;
    static uint8_t head_bytes[14], piece[3][300];
    put_eth(head_bytes, PEER_MAC, 0x88b5);
    custom_freed = false;
    head_pc.custom_free_function = custom_free;
    struct pbuf *head = pbuf_alloced_custom(PBUF_RAW, 14, PBUF_RAM, &head_pc,
                                            head_bytes, 14);
    struct pbuf *body[3];
    for (size_t i = 0; i < 3; i++) {
        memset(piece[i], 0x40 + (int)i, sizeof(piece[i]));
        body[i] = pbuf_alloc(PBUF_RAW, 300, PBUF_RAM);
        memcpy(body[i]->payload, piece[i], 300);
        pbuf_cat(head, body[i]);
    }
    struct net_if_stats before, after;
    net_if_get_stats(nif, &before);
    unsigned sent = sim.sent;
    LOCK_TCPIP_CORE();
    err_t e = nif->netif.linkoutput(&nif->netif, head);
    UNLOCK_TCPIP_CORE();
    CHECK_EQ(e, ERR_OK);
    pbuf_free(head); /* lwIP's reference */
    CHECK(!custom_freed); /* the device's keeps it */
    CHECK_EQ(sim.sent - sent, 1);
    CHECK(sim.pending[sent]);
    CHECK_EQ(sim.lent_n[sent], 4);
    CHECK(sim.lent[sent][1].data != piece[0]); /* pbuf memory, lent */
    sim_complete(&sim); /* reads it now: ASan sees any early free */
    CHECK(custom_freed);
    CHECK_EQ(sim.frame_len[sent], 14 + 900);
    CHECK_EQ(sim.frame[sent][14], 0x40);
    CHECK_EQ(sim.frame[sent][14 + 899], 0x42);
    net_if_get_stats(nif, &after);
    CHECK_EQ(after.tx_lent - before.tx_lent, 1);

    /* Refused: the reference taken for the device is dropped. */
    custom_freed = false;
    head = pbuf_alloced_custom(PBUF_RAW, 14, PBUF_RAM, &head_pc, head_bytes,
                               14);
    sim.refuse = true;
    LOCK_TCPIP_CORE();
    e = nif->netif.linkoutput(&nif->netif, head);
    UNLOCK_TCPIP_CORE();
    sim.refuse = false;
    CHECK(e != ERR_OK);
    pbuf_free(head);
    CHECK(custom_freed);
    sg_mode(false);
}

/* A UDP socket's datagram is a PBUF_REF to the application's buffer,
 * which the application may change once sendto returns: never lent. */
static void test_udp_socket_data_is_copied(void)
{
    sg_mode(true);
    int s = lwip_socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in to;
    memset(&to, 0, sizeof(to));
    to.sin_len = sizeof(to);
    to.sin_family = AF_INET;
    to.sin_port = lwip_htons(7);
    to.sin_addr.s_addr = lwip_htonl(0x0a000001);
    static char data[600];
    memset(data, 'a', sizeof(data));
    unsigned sent = sim.sent;
    CHECK_EQ(lwip_sendto(s, data, sizeof(data), 0, (struct sockaddr *)&to,
                         sizeof(to)), (int)sizeof(data));
    memset(data, 'b', sizeof(data)); /* the application's next datagram */
    settle();
    sim_complete(&sim);
    CHECK_EQ(sim.sent - sent, 1);
    CHECK_EQ(sim.frame_len[sent], 14 + 20 + 8 + sizeof(data));
    CHECK_EQ(sim.frame[sent][42], 'a');
    CHECK_EQ(sim.frame[sent][42 + sizeof(data) - 1], 'a');
    CHECK_EQ(l4_check(sim.frame[sent] + 14, 8 + sizeof(data)), 0);
    lwip_close(s);
    sg_mode(false);
}

static bool is_syn_ack_to(const uint8_t *r, size_t len, uint16_t port)
{
    return len >= 54 && r[12] == 0x08 && r[13] == 0x00 && r[23] == 6
           && r[34 + 2] == (uint8_t)(port >> 8) && r[34 + 3] == (uint8_t)port
           && r[34 + 13] == 0x12;
}

/* SYN-ACKs to PEER's `port` among the frames sent from `from` on. */
static unsigned syn_acks_to(uint16_t port, unsigned from)
{
    unsigned n = 0;
    for (unsigned i = from; i < sim.sent; i++)
        n += !sim.pending[i] && is_syn_ack_to(sim.frame[i], sim.frame_len[i],
                                               port);
    return n;
}

/* TCP's segments are lent (lwIP's own PBUF_RAM). While the device holds
 * the SYN-ACK, lwIP does not rewrite it for a retransmission; once it
 * is back, the retransmission comes, and each frame is a valid one. */
static void test_tcp_segment_held_by_the_device(void)
{
    sg_mode(true);
    int s = lwip_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_len = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(8082);
    CHECK_EQ(lwip_bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_EQ(lwip_listen(s, 4), 0);
    struct net_if_stats before, after;
    net_if_get_stats(nif, &before);
    unsigned sent = sim.sent;
    inject_syn(40100, 8082);
    settle();
    CHECK_EQ(sim.sent - sent, 1);
    CHECK(sim.pending[sent]);
    net_if_get_stats(nif, &after);
    CHECK_EQ(after.tx_lent - before.tx_lent, 1);
    /* Past lwIP's first retransmission timeout (3 s for a SYN-ACK's
     * first RTO in 2.1.3's initial estimate): no second SYN-ACK while
     * the device holds the first (the other frames, lwIP's timers'
     * IPv6 and ARP traffic, the device sends at once). */
    sched_sleep_ns(4 * TIME_NS_PER_S);
    sim_complete_but(&sim, sent);
    CHECK_EQ(syn_acks_to(40100, sent + 1), 0);
    CHECK(sim.pending[sent]);
    sim_complete(&sim);
    const uint8_t *r = sim.frame[sent];
    CHECK_EQ(r[34 + 13], 0x12); /* SYN|ACK */
    CHECK(sim.tx[sent].csum);
    CHECK_EQ(l4_check(r + 14, sim.frame_len[sent] - 34), 0);
    /* Given back: the next timeout retransmits it, intact. */
    unsigned later = sim.sent;
    sched_sleep_ns(8 * TIME_NS_PER_S);
    sim_complete(&sim);
    CHECK(syn_acks_to(40100, later) >= 1);
    for (unsigned i = later; i < sim.sent; i++) {
        const uint8_t *again = sim.frame[i];
        if (!is_syn_ack_to(again, sim.frame_len[i], 40100))
            continue;
        CHECK(memcmp(again + 38, r + 38, 4) == 0); /* the same ISN */
        CHECK_EQ(l4_check(again + 14, sim.frame_len[i] - 34), 0);
    }
    lwip_close(s);
    settle();
    sg_mode(false);
}

/* A UDP datagram to OUR_IP:5001 from PEER_IP, `frag`: 0 whole, 1 the
 * first 16 bytes of UDP (MF), 2 the rest (offset 16); `good` whether
 * its UDP checksum is right. Returns the frame length. */
static size_t udp_frame(uint8_t *f, int frag, bool good)
{
    static const char text[] = "checked by the device"; /* 21 bytes */
    uint8_t udp[8 + 21];
    udp[0] = 0x30, udp[1] = 0x39;
    udp[2] = 0x13, udp[3] = 0x89; /* 5001 */
    udp[4] = 0, udp[5] = sizeof(udp);
    udp[6] = udp[7] = 0;
    memcpy(udp + 8, text, 21);
    uint8_t ip[20];
    put_ipv4(ip, 17, sizeof(udp), PEER_IP, OUR_IP);
    uint32_t sum = csum_add(ip + 12, 8, 0) + 17 + sizeof(udp);
    uint16_t c = (uint16_t)~csum_fold(csum_add(udp, sizeof(udp), sum));
    c = (uint16_t)(good ? c : c ^ 0x5555);
    udp[6] = (uint8_t)(c >> 8);
    udp[7] = (uint8_t)c;
    size_t o = put_eth(f, OUR_MAC, 0x0800);
    size_t from = frag == 2 ? 16 : 0;
    size_t len = frag == 0 ? sizeof(udp) : frag == 1 ? 16 : sizeof(udp) - 16;
    put_ipv4(f + o, 17, len, PEER_IP, OUR_IP);
    f[o + 4] = 0x12, f[o + 5] = 0x34; /* id */
    f[o + 6] = (uint8_t)(frag == 1 ? 0x20 : 0);
    f[o + 7] = (uint8_t)(frag == 2 ? 2 : 0); /* 16 bytes = 2 units */
    f[o + 10] = f[o + 11] = 0;
    uint16_t ic = (uint16_t)~csum_fold(csum_add(f + o, 20, 0));
    f[o + 10] = (uint8_t)(ic >> 8);
    f[o + 11] = (uint8_t)ic;
    memcpy(f + o + 20, udp + from, len);
    return o + 20 + len;
}

static int udp_received(int s)
{
    char buf[64];
    int n, got = 0;
    while ((n = lwip_recvfrom(s, buf, sizeof(buf), MSG_DONTWAIT, NULL,
                              NULL)) > 0)
        got++;
    return got;
}

/* NETDEV_RX_CSUM_VALID: lwIP skips its UDP/TCP check for that frame
 * (a wrong checksum passes: the device vouched for it), not for others,
 * and never for a fragment. */
static void test_rx_checksum_trusted_per_frame(void)
{
    nif->rx_csum = true;
    int s = lwip_socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_len = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(5001);
    CHECK_EQ(lwip_bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    uint8_t f[128];
    size_t n;
    struct net_if_stats before, after;
    net_if_get_stats(nif, &before);

    n = udp_frame(f, 0, false);
    sim_inject_flags(&sim, f, n, n, NETDEV_RX_CSUM_VALID);
    settle();
    CHECK_EQ(udp_received(s), 1); /* trusted */
    sim_inject(&sim, f, n, n);
    settle();
    CHECK_EQ(udp_received(s), 0); /* checked: dropped */
    n = udp_frame(f, 0, true);
    sim_inject(&sim, f, n, n);
    settle();
    CHECK_EQ(udp_received(s), 1); /* the flag is per frame */

    /* Fragments: reassembled and checked whatever the flag says. */
    for (int good = 1; good >= 0; good--) {
        n = udp_frame(f, 1, good);
        sim_inject_flags(&sim, f, n, n, NETDEV_RX_CSUM_VALID);
        n = udp_frame(f, 2, good);
        sim_inject_flags(&sim, f, n, n, NETDEV_RX_CSUM_VALID);
        settle();
        CHECK_EQ(udp_received(s), good);
    }
    net_if_get_stats(nif, &after);
    CHECK_EQ(after.rx_csum_trusted - before.rx_csum_trusted, 1);

    /* A device without NETDEV_F_RX_CSUM: the flag means nothing. */
    nif->rx_csum = false;
    n = udp_frame(f, 0, false);
    sim_inject_flags(&sim, f, n, n, NETDEV_RX_CSUM_VALID);
    settle();
    CHECK_EQ(udp_received(s), 0);
    lwip_close(s);
}

/* Inside a RUN: the host runtime's idle step runs the simulated Xen,
 * which the harness starts for each test. */
static void test_attach(void)
{
    CHECK_EQ(net_start(), 0);
    sim_init(&sim, 1500, NETDEV_F_TX_CSUM);
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    char *argv[] = {"ip=10.0.0.2/24", "gw=10.0.0.1"};
    CHECK_EQ(net_config_parse(2, argv, &cfg, err), 0);
    CHECK_EQ(net_attach(&sim.dev, &cfg, &nif), 0);
    CHECK_EQ(net_wait_up(nif, 10 * MS), 0);
    CHECK_EQ(net_if_ipv4(nif), 0x0a000002);
    settle();
    sim.sent = 0; /* whatever the attach sent (IPv6 ND, gratuitous ARP) */
}

/* lwIP's timers (ARP, IPv4 and IPv6 reassembly, ND, MLD, DHCP, TCP) run
 * for a while: a configuration error that only a timer notices stops
 * the stack here (it did: IPv6 reassembly on 64-bit). */
static void test_timers_run(void)
{
    uint64_t t0 = time_monotonic_ns();
    sched_sleep_ns(30 * TIME_NS_PER_S);
    CHECK(time_monotonic_ns() - t0 >= 30 * TIME_NS_PER_S);
    struct net_if_stats st;
    net_if_get_stats(nif, &st);
    CHECK(st.tx_frames > 0);
}

/* The raw API without the core lock stops the program (in a child
 * process here), with the lock it works. */
static void test_raw_api_needs_the_core_lock(void)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        (void)udp_new(); /* no LOCK_TCPIP_CORE(): must abort */
        _exit(0);
    }
    int status = 0;
    CHECK(pid > 0 && waitpid(pid, &status, 0) == pid);
    CHECK_MSG(WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT,
              "udp_new() without the core lock aborts");
    LOCK_TCPIP_CORE();
    struct udp_pcb *pcb = udp_new();
    CHECK(pcb != NULL);
    udp_remove(pcb);
    UNLOCK_TCPIP_CORE();
}

/* A device that is gone: its wait returns at once and its poll fails.
 * The receive thread must not spin (it would stop every other thread). */
static int dead_wait(struct netdev *dev, uint64_t deadline_ns)
{
    (void)dev, (void)deadline_ns;
    return 0;
}

static int dead_poll(struct netdev *dev)
{
    (void)dev;
    return -107; /* ENOTCONN */
}

static void test_dead_device_does_not_spin(void)
{
    static struct sim dead;
    static struct netdev_ops ops;
    sim_init(&dead, 1500, 0);
    ops = sim_ops;
    ops.wait = dead_wait;
    ops.poll = dead_poll;
    dead.dev.ops = &ops;
    dead.dev.name = "dead0";
    struct net_config cfg = {0};
    struct net_if *dnif = NULL;
    CHECK_EQ(net_attach(&dead.dev, &cfg, &dnif), 0);
    uint64_t t0 = time_monotonic_ns();
    sched_sleep_ns(100 * MS); /* returns only if the receive thread parks */
    CHECK(time_monotonic_ns() - t0 >= 100 * MS);
    struct net_if_stats st;
    net_if_get_stats(dnif, &st);
    CHECK(st.poll_errors >= 5 && st.poll_errors <= 11);
}

/* ---- DHCP: a second NIC gets its address from a scripted server ------ */

static struct sim dhcp_sim;

/* The last frame dhcp_sim sent that is a DHCP message of `type`
 * (UDP to port 67), or NULL. */
static const uint8_t *find_dhcp(uint8_t type)
{
    for (unsigned i = dhcp_sim.sent; i-- > 0;) {
        const uint8_t *f = dhcp_sim.frame[i];
        if (dhcp_sim.frame_len[i] < 14 + 20 + 8 + 240 + 3 || f[12] != 0x08
            || f[13] != 0 || f[23] != 17 || f[36] != 0 || f[37] != 67)
            continue;
        const uint8_t *opt = f + 14 + 20 + 8 + 240;
        if (opt[0] == 53 && opt[2] == type)
            return f;
    }
    return NULL;
}

/* A server's answer (2: OFFER, 5: ACK) to the client's xid: 10.0.5.7/24,
 * router 10.0.5.1, an hour's lease. */
static void inject_dhcp_reply(const uint8_t *request, uint8_t type)
{
    static const uint8_t server[4] = {10, 0, 5, 1};
    static const uint8_t bcast_ip[4] = {255, 255, 255, 255};
    uint8_t f[14 + 20 + 8 + 240 + 32];
    memset(f, 0, sizeof(f));
    size_t o = put_eth(f, OUR_MAC, 0x0800);
    uint8_t *udp = f + o + 20, *b = udp + 8;
    size_t udp_len = 8 + 240 + 32;
    udp[1] = 67, udp[3] = 68;
    udp[4] = (uint8_t)(udp_len >> 8), udp[5] = (uint8_t)udp_len;
    b[0] = 2, b[1] = 1, b[2] = 6;
    memcpy(b + 4, request + 14 + 20 + 8 + 4, 4); /* xid */
    b[16] = 10, b[17] = 0, b[18] = 5, b[19] = 7;  /* yiaddr */
    memcpy(b + 28, OUR_MAC, 6);
    b[236] = 99, b[237] = 130, b[238] = 83, b[239] = 99;
    uint8_t opts[] = {53, 1, type, 54, 4, 10, 0, 5, 1, 51, 4, 0, 0, 14, 16,
                      1, 4, 255, 255, 255, 0, 3, 4, 10, 0, 5, 1, 255};
    memcpy(b + 240, opts, sizeof(opts));
    put_ipv4(f + o, 17, udp_len, server, bcast_ip);
    sim_inject(&dhcp_sim, f, sizeof(f), sizeof(f));
}

static void test_dhcp_client(void)
{
    sim_init(&dhcp_sim, 1500, 0);
    dhcp_sim.dev.name = "sim1";
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    char *argv[] = {"ip=dhcp"};
    CHECK_EQ(net_config_parse(1, argv, &cfg, err), 0);
    struct net_if *dnif = NULL;
    CHECK_EQ(net_attach(&dhcp_sim.dev, &cfg, &dnif), 0);
    CHECK_EQ(net_if_ipv4(dnif), 0);
    settle();
    const uint8_t *discover = find_dhcp(1);
    CHECK(discover != NULL);
    if (discover == NULL)
        return;
    inject_dhcp_reply(discover, 2);
    settle();
    const uint8_t *request = find_dhcp(3);
    CHECK(request != NULL);
    if (request == NULL)
        return;
    CHECK(memcmp(request + 14 + 20 + 8 + 4, discover + 14 + 20 + 8 + 4, 4)
          == 0); /* the same transaction */
    CHECK_EQ(net_if_ipv4(dnif), 0); /* not before the ACK */
    inject_dhcp_reply(request, 5);
    /* lwIP probes the address with ARP before it takes it (simulated
     * seconds). */
    CHECK_EQ(net_wait_up(dnif, 30 * TIME_NS_PER_S), 0);
    CHECK_EQ(net_if_ipv4(dnif), 0x0a000507);
}

/* ---- large TCP segments: a NETDEV_F_RX_GSO NIC ------------------------- */

static struct sim gso_sim;
static const uint8_t GSO_PEER_IP[4] = {10, 0, 9, 1};
static const uint8_t GSO_OUR_IP[4] = {10, 0, 9, 2};

/* A frame of `len` bytes handed over in pieces of `cut[i]` bytes (each
 * its own exact-size buffer), chained; the rest in the last. */
static void gso_inject_chain(const uint8_t *f, size_t len, const size_t *cut,
                             size_t ncut, uint32_t flags)
{
    struct netdev_buf *head = NULL, **link = &head;
    size_t at = 0;
    for (size_t i = 0; at < len; i++) {
        size_t n = i < ncut ? cut[i] : len - at;
        if (n > len - at)
            n = len - at;
        struct netdev_buf *b = calloc(1, sizeof(*b));
        b->data = malloc(n);
        memcpy(b->data, f + at, n);
        b->len = n;
        b->flags = flags;
        b->dev = &gso_sim.dev;
        *link = b;
        link = &b->next;
        at += n;
    }
    gso_sim.queue[gso_sim.queued++] = head;
    sched_wake_all(&gso_sim.wq);
}

/* A TCP segment from GSO_PEER_IP:41000 to GSO_OUR_IP:9000; the checksum
 * left blank (the pseudo-header sum only) unless `good`. */
static size_t gso_tcp(uint8_t *f, uint32_t seq, uint32_t ack, uint8_t flags,
                      const uint8_t *data, size_t n, bool good)
{
    size_t o = put_eth(f, OUR_MAC, 0x0800);
    uint8_t *tcp = f + o + 20;
    memset(tcp, 0, 20);
    tcp[0] = 41000 >> 8, tcp[1] = (uint8_t)41000;
    tcp[2] = 9000 >> 8, tcp[3] = (uint8_t)9000;
    for (int i = 0; i < 4; i++) {
        tcp[4 + i] = (uint8_t)(seq >> (24 - 8 * i));
        tcp[8 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    tcp[12] = 5 << 4;
    tcp[13] = flags;
    tcp[14] = 0xff, tcp[15] = 0xff;
    if (n > 0)
        memcpy(tcp + 20, data, n);
    put_ipv4(f + o, 6, 20 + n, GSO_PEER_IP, GSO_OUR_IP);
    uint16_t c;
    if (good) {
        c = l4_check(f + o, 20 + n);
    } else {
        uint32_t sum = csum_add(f + o + 12, 8, 0) + 6 + (uint32_t)(20 + n);
        c = csum_fold(sum);
    }
    tcp[16] = (uint8_t)(c >> 8);
    tcp[17] = (uint8_t)c;
    return o + 20 + 20 + n;
}

/*
 * A device that merges TCP segments (netfront with GSO) hands up one of
 * 40,000 bytes, longer than the MTU, in pieces, its checksum left blank
 * and the frame marked valid: lwIP takes it whole and the socket reads
 * every byte; each piece goes back. A frame over 64 KiB, or a chain on a
 * device without NETDEV_F_RX_GSO that is longer than its MTU, is dropped.
 */
static void test_large_tcp_segment_in_pieces(void)
{
    sim_init(&gso_sim, 1500, NETDEV_F_RX_CSUM | NETDEV_F_RX_GSO);
    gso_sim.dev.name = "sim2";
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    char *argv[] = {"ip=10.0.9.2/24"};
    CHECK_EQ(net_config_parse(1, argv, &cfg, err), 0);
    struct net_if *gnif = NULL;
    CHECK_EQ(net_attach(&gso_sim.dev, &cfg, &gnif), 0);
    CHECK_EQ(net_wait_up(gnif, 10 * MS), 0);
    int ls = lwip_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_len = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_port = lwip_htons(9000);
    CHECK_EQ(lwip_bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    CHECK_EQ(lwip_listen(ls, 1), 0);

    /* The peer's ARP request (lwIP learns its MAC), then the handshake. */
    static uint8_t f[65536 + 64];
    static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    size_t o = put_eth(f, bcast, 0x0806);
    static const uint8_t arp_head[8] = {0, 1, 8, 0, 6, 4, 0, 1};
    memcpy(f + o, arp_head, 8);
    memcpy(f + o + 8, PEER_MAC, 6);
    memcpy(f + o + 14, GSO_PEER_IP, 4);
    memset(f + o + 18, 0, 6);
    memcpy(f + o + 24, GSO_OUR_IP, 4);
    sim_inject_flags(&gso_sim, f, 42, 42, 0);
    settle();
    unsigned sent = gso_sim.sent;
    size_t n = gso_tcp(f, 0x1000, 0, 0x02, NULL, 0, true);
    sim_inject_flags(&gso_sim, f, n, n, 0);
    settle();
    const uint8_t *sa = NULL;
    for (unsigned i = sent; i < gso_sim.sent; i++)
        if (gso_sim.frame_len[i] >= 54 && gso_sim.frame[i][23] == 6
            && gso_sim.frame[i][34 + 13] == 0x12)
            sa = gso_sim.frame[i];
    CHECK(sa != NULL);
    if (sa == NULL)
        return;
    uint32_t isn = (uint32_t)sa[38] << 24 | (uint32_t)sa[39] << 16
                   | (uint32_t)sa[40] << 8 | sa[41];
    n = gso_tcp(f, 0x1001, isn + 1, 0x10, NULL, 0, true);
    sim_inject_flags(&gso_sim, f, n, n, 0);
    int s = lwip_accept(ls, NULL, NULL);
    CHECK(s >= 0);

    static uint8_t data[40000], back[40000];
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 13 + (i >> 10));
    struct net_if_stats before, after;
    net_if_get_stats(gnif, &before);
    unsigned released = gso_sim.released;
    n = gso_tcp(f, 0x1001, isn + 1, 0x18, data, sizeof(data), false);
    /* Headers and some data, then pages, as netfront's adapter cuts. */
    static const size_t cut[] = {4096, 4096, 4096, 4096, 4096, 4096,
                                 4096, 4096, 4096};
    gso_inject_chain(f, n, cut, 9, NETDEV_RX_CSUM_VALID);
    settle();
    size_t got = 0;
    while (got < sizeof(data)) {
        ssize_t r = lwip_recv(s, back + got, sizeof(back) - got,
                              MSG_DONTWAIT);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    CHECK_EQ(got, sizeof(data));
    CHECK(memcmp(back, data, sizeof(data)) == 0);
    settle();
    CHECK_EQ(gso_sim.released - released, 10); /* every piece */
    net_if_get_stats(gnif, &after);
    CHECK_EQ(after.rx_frames - before.rx_frames, 1);
    CHECK_EQ(after.rx_csum_trusted - before.rx_csum_trusted, 1);

    /* The same blank checksum, not marked valid: lwIP drops it (nothing
     * more to read, the connection goes on). */
    released = gso_sim.released;
    n = gso_tcp(f, 0x1001 + 40000, isn + 1, 0x18, data, 3000, false);
    gso_inject_chain(f, n, cut, 1, 0);
    settle();
    CHECK_EQ(gso_sim.released - released, 1);
    CHECK_EQ(lwip_recv(s, back, sizeof(back), MSG_DONTWAIT), -1);

    /* Over 64 KiB in pieces: dropped before lwIP, every piece back. */
    net_if_get_stats(gnif, &before);
    memset(f, 0, 65536 + 64);
    gso_inject_chain(f, 65536, cut, 9, NETDEV_RX_CSUM_VALID);
    /* Headers cut short of the IPv4 header in the first piece. */
    n = gso_tcp(f, 0x1001 + 40000, isn + 1, 0x18, data, 3000, true);
    static const size_t tiny[] = {20};
    gso_inject_chain(f, n, tiny, 1, 0);
    settle();
    net_if_get_stats(gnif, &after);
    CHECK_EQ(after.rx_bad_length - before.rx_bad_length, 2);
    CHECK_EQ(gso_sim.released - released, 1 + 10 + 2);
    lwip_close(s);
    lwip_close(ls);

    /* A chain longer than the MTU to a device without RX_GSO. */
    net_if_get_stats(nif, &before);
    released = sim.released;
    n = gso_tcp(f, 1, 1, 0x18, data, 3000, true);
    struct netdev_buf *b1 = calloc(1, sizeof(*b1)), *b2 = calloc(1, sizeof(*b2));
    b1->data = malloc(2000), b2->data = malloc(n - 2000);
    memcpy(b1->data, f, 2000), memcpy(b2->data, f + 2000, n - 2000);
    b1->len = 2000, b2->len = n - 2000;
    b1->dev = b2->dev = &sim.dev;
    b1->next = b2;
    sim.queue[sim.queued++] = b1;
    sched_wake_all(&sim.wq);
    settle();
    net_if_get_stats(nif, &after);
    CHECK_EQ(after.rx_bad_length - before.rx_bad_length, 1);
    CHECK_EQ(sim.released - released, 2);
}

int main(void)
{
    rng_seed(7);
    RUN(test_attach);
    if (nif == NULL)
        return check_finish();
    RUN(test_unusable_mtu);
    RUN(test_bad_lengths_are_dropped);
    RUN(test_arp_reply);
    RUN(test_icmp_echo);
    RUN(test_udp_receive_is_zero_copy);
    RUN(test_udp_send_keeps_lwip_checksum);
    RUN(test_tcp_checksum_offloaded);
    RUN(test_initial_sequence_numbers);
    RUN(test_long_chain_is_linearized);
    RUN(test_lent_chain_lives_until_done);
    RUN(test_udp_socket_data_is_copied);
    RUN(test_tcp_segment_held_by_the_device);
    RUN(test_rx_checksum_trusted_per_frame);
    RUN(test_timers_run);
    RUN(test_raw_api_needs_the_core_lock);
    RUN(test_dhcp_client);
    RUN(test_large_tcp_segment_in_pieces);
    RUN(test_dead_device_does_not_spin);
    return check_finish();
}
