/*
 * Fuzz target: the network stack's input path. Frames come from a
 * simulated NIC (in buffers of exactly their length, so ASan sees any
 * read past one) through //libos/net's netdev glue (net_if_rx) into lwIP
 * (Ethernet, ARP, IPv4 with reassembly, ICMP, UDP, TCP, IPv6 with ND and
 * MLD; not the DHCP client or the DNS resolver, which a static address
 * and no query in flight leave idle), with the scheduler's host runtime
 * running the receive and tcpip threads in simulated time
 * (//testing/hostsched). A UDP socket and a listening TCP socket give the
 * transport layers somewhere to deliver.
 *
 * The stack is started once (fuzz_init) and lives across inputs, as a
 * real one lives across packets. An input is up to MAX_FRAMES frames,
 * each <fix: u8> <len: u16 little-endian> <len bytes>. `fix` bit 0
 * recomputes the IPv4 header checksum and bit 1 the ICMP/UDP/TCP
 * checksum, so mutants get past the checksums into the parsers behind.
 * (A buffer's length is the driver's word, checked against its own
 * buffer by the driver; the drivers' targets fuzz that.)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lwip/sockets.h"

#include <net/net.h>
#include <netdev/netdev.h>
#include <sched/sched.h>
#include <testing/fuzz.h>
#include <time/time.h>
#include <xensim/sim.h>

#define MAX_FRAMES 8
#define QUEUE 16

static uint64_t rand_state = 0x9e3779b97f4a7c15ull;

uint32_t net_port_rand(void)
{
    rand_state = rand_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rand_state >> 32);
}

/* ---- the simulated NIC -------------------------------------------------- */

struct nic {
    struct netdev dev;
    struct sched_waitq wq;
    struct netdev_buf *queue[QUEUE];
    size_t queued;
};

static struct nic nic;
static unsigned long sent; /* frames the stack sent */

static int nic_send(struct netdev *dev, const struct netdev_frag *frags,
                    size_t n, const struct netdev_tx *tx)
{
    (void)dev;
    (void)frags;
    (void)tx;
    if (n < 1 || n > NETDEV_MAX_FRAGS)
        return -22;
    sent++;
    return 0;
}

static int nic_poll(struct netdev *dev)
{
    struct nic *s = (struct nic *)dev;
    size_t n = s->queued;
    s->queued = 0;
    for (size_t i = 0; i < n; i++)
        dev->rx(dev->rx_arg, s->queue[i]);
    return (int)n;
}

static int nic_wait(struct netdev *dev, uint64_t deadline_ns)
{
    struct nic *s = (struct nic *)dev;
    while (s->queued == 0) {
        if (deadline_ns == 0)
            sched_wait(&s->wq);
        else if (sched_wait_until(&s->wq, deadline_ns) == SCHED_TIMED_OUT)
            return -110;
    }
    return 0;
}

static void nic_release(struct netdev *dev, struct netdev_buf *buf)
{
    (void)dev;
    free(buf->data);
    free(buf);
}

static const struct netdev_ops nic_ops = {
    .send = nic_send,
    .poll = nic_poll,
    .wait = nic_wait,
    .release = nic_release,
};

static const uint8_t OUR_MAC[6] = {0x02, 0, 0, 0, 0, 0x02};
static const uint8_t PEER_MAC[6] = {0x02, 0, 0, 0, 0, 0x01};
static const uint8_t OUR_IP[4] = {10, 0, 0, 2};
static const uint8_t PEER_IP[4] = {10, 0, 0, 1};

static void start_stack(void)
{
    sim_reset();
    memset(&nic, 0, sizeof nic);
    nic.dev.ops = &nic_ops;
    nic.dev.name = "fuzz0";
    memcpy(nic.dev.mac, OUR_MAC, 6);
    nic.dev.mtu = 1500;
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    char *argv[] = {"ip=10.0.0.2/24", "gw=10.0.0.1", "dns=10.0.0.1"};
    struct net_if *nif;
    if (net_start() != 0 || net_config_parse(3, argv, &cfg, err) != 0
        || net_attach(&nic.dev, &cfg, &nif) != 0
        || net_wait_up(nif, 10 * TIME_NS_PER_MS) != 0)
        abort();
    /* Somewhere for UDP and TCP to deliver. */
    int u = lwip_socket(AF_INET, SOCK_DGRAM, 0);
    int t = lwip_socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_port = lwip_htons(7);
    if (u < 0 || lwip_bind(u, (struct sockaddr *)&a, sizeof a) != 0)
        abort();
    a.sin_port = lwip_htons(80);
    if (t < 0 || lwip_bind(t, (struct sockaddr *)&a, sizeof a) != 0
        || lwip_listen(t, 4) != 0)
        abort();
}

/* ---- checksums, for the `fix` bits ----------------------------------------- */

static uint32_t sum16(const uint8_t *b, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(b[i] << 8 | b[i + 1]);
    if (n & 1)
        sum += (uint32_t)b[n - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void fix_checksums(uint8_t *f, size_t len, uint8_t fix)
{
    if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
        return;
    uint8_t *ip = f + 14;
    size_t ihl = (size_t)(ip[0] & 15) * 4;
    if (ihl < 20 || 14 + ihl > len)
        return;
    if (fix & 1) {
        put16(ip + 10, 0);
        put16(ip + 10, fold(sum16(ip, ihl, 0)));
    }
    size_t total = (size_t)(ip[2] << 8 | ip[3]);
    if (!(fix & 2) || total < ihl || 14 + total > len
        || (ip[6] & 0x3f) != 0 || ip[7] != 0) /* whole datagrams only */
        return;
    uint8_t *l4 = ip + ihl;
    size_t l4_len = total - ihl;
    size_t at;
    uint32_t pseudo = sum16(ip + 12, 8, 0) + ip[9] + (uint32_t)l4_len;
    switch (ip[9]) {
    case 1: at = 2, pseudo = 0; break;  /* ICMP: no pseudo-header */
    case 6: at = 16; break;             /* TCP */
    case 17: at = 6; break;             /* UDP */
    default: return;
    }
    if (l4_len < at + 2)
        return;
    put16(l4 + at, 0);
    put16(l4 + at, fold(sum16(l4, l4_len, pseudo)));
}

/* ---- seeds -------------------------------------------------------------------- */

static uint8_t seed[2048];
static size_t seed_len;

static uint8_t *frame(uint8_t fix, size_t len)
{
    seed[seed_len] = fix;
    seed[seed_len + 1] = (uint8_t)len;
    seed[seed_len + 2] = (uint8_t)(len >> 8);
    uint8_t *f = seed + seed_len + 3;
    memset(f, 0, len);
    seed_len += 3 + len;
    return f;
}

static uint8_t *eth(uint8_t *f, uint16_t type)
{
    memcpy(f, OUR_MAC, 6);
    memcpy(f + 6, PEER_MAC, 6);
    put16(f + 12, type);
    return f + 14;
}

static uint8_t *ipv4(uint8_t *p, uint8_t proto, size_t payload)
{
    p[0] = 0x45;
    put16(p + 2, (uint16_t)(20 + payload));
    p[8] = 64;
    p[9] = proto;
    memcpy(p + 12, PEER_IP, 4);
    memcpy(p + 16, OUR_IP, 4);
    return p + 20;
}

int fuzz_one(const uint8_t *data, size_t len);

/* With add NULL: only the first seed, left in seed[]. */
void fuzz_seeds(fuzz_add_fn add)
{
    /* ARP request for our address. */
    seed_len = 0;
    uint8_t *a = eth(frame(0, 42), 0x0806);
    put16(a, 1), put16(a + 2, 0x0800), a[4] = 6, a[5] = 4, put16(a + 6, 1);
    memcpy(a + 8, PEER_MAC, 6), memcpy(a + 14, PEER_IP, 4);
    memcpy(a + 24, OUR_IP, 4);
    if (add == NULL)
        return;
    add(seed, seed_len);

    /* ICMP echo request. */
    seed_len = 0;
    uint8_t *i = ipv4(eth(frame(3, 14 + 20 + 16), 0x0800), 1, 16);
    i[0] = 8, i[5] = 7, i[7] = 1;
    add(seed, seed_len);

    /* A UDP datagram to port 7, and a DNS-looking answer from port 53. */
    seed_len = 0;
    uint8_t *u = ipv4(eth(frame(3, 14 + 20 + 8 + 12), 0x0800), 17, 20);
    put16(u, 4000), put16(u + 2, 7), put16(u + 4, 20);
    memcpy(u + 8, "hello, fuzz!", 12);
    uint8_t *d = ipv4(eth(frame(3, 14 + 20 + 8 + 17), 0x0800), 17, 25);
    put16(d, 53), put16(d + 2, 49153), put16(d + 4, 25);
    put16(d + 8, 0x1234), put16(d + 10, 0x8180), put16(d + 12, 1);
    d[20] = 1, d[21] = 'a';
    add(seed, seed_len);

    /* A TCP SYN to port 80, then an ACK with data. */
    seed_len = 0;
    uint8_t *t = ipv4(eth(frame(3, 14 + 20 + 24), 0x0800), 6, 24);
    put16(t, 5000), put16(t + 2, 80), t[7] = 1, t[12] = 0x60, t[13] = 0x02;
    put16(t + 14, 8192), t[20] = 2, t[21] = 4, put16(t + 22, 1460);
    t = ipv4(eth(frame(3, 14 + 20 + 20 + 5), 0x0800), 6, 25);
    put16(t, 5000), put16(t + 2, 80), t[7] = 2, t[11] = 1, t[12] = 0x50;
    t[13] = 0x18, put16(t + 14, 8192);
    memcpy(t + 20, "GET /", 5);
    add(seed, seed_len);

    /* Two fragments of one UDP datagram. */
    seed_len = 0;
    uint8_t *g = ipv4(eth(frame(1, 14 + 20 + 16), 0x0800), 17, 16);
    g[-20 + 5] = 9, g[-20 + 6] = 0x20; /* id 9, more fragments */
    put16(g, 4000), put16(g + 2, 7), put16(g + 4, 24);
    g = ipv4(eth(frame(1, 14 + 20 + 8), 0x0800), 17, 8);
    g[-20 + 5] = 9, g[-20 + 7] = 2; /* offset 16 bytes */
    add(seed, seed_len);

    /* An IPv6 neighbour solicitation for a link-local address. */
    seed_len = 0;
    uint8_t *v = eth(frame(0, 14 + 40 + 32), 0x86dd);
    v[0] = 0x60, put16(v + 4, 32), v[6] = 58, v[7] = 255;
    v[8] = 0xfe, v[9] = 0x80, v[23] = 1;
    v[24] = 0xff, v[25] = 0x02, v[35] = 1, v[36] = 0xff, v[39] = 2;
    v[40] = 135;
    v[48] = 0xfe, v[49] = 0x80, v[63] = 2;
    v[64] = 1, v[65] = 1, memcpy(v + 66, PEER_MAC, 6);
    add(seed, seed_len);
}

/*
 * The stack must really answer, or every input would pass untested: the
 * ARP request of the first seed gets a reply.
 */
static void check_the_stack_answers(void)
{
    fuzz_seeds(NULL);
    unsigned long before = sent;
    (void)fuzz_one(seed, seed_len);
    if (sent == before) {
        fprintf(stderr, "input_fuzz: the stack did not answer an ARP request "
                        "(the harness is broken)\n");
        abort();
    }
}

void fuzz_init(void)
{
    start_stack();
    check_the_stack_answers();
}

/* ---- one input ---------------------------------------------------------------- */

int fuzz_one(const uint8_t *data, size_t len)
{
    struct fuzz_bytes in = {data, len, 0};
    for (int k = 0; k < MAX_FRAMES && fuzz_left(&in) > 0 && nic.queued < QUEUE;
         k++) {
        uint8_t fix = fuzz_u8(&in);
        size_t n = fuzz_u8(&in);
        n |= (size_t)fuzz_u8(&in) << 8;
        if (n > fuzz_left(&in))
            n = fuzz_left(&in);
        struct netdev_buf *b = calloc(1, sizeof *b);
        b->data = n ? malloc(n) : NULL;
        if (n)
            fuzz_take(&in, b->data, n);
        fix_checksums(b->data, n, fix);
        b->len = n;
        b->dev = &nic.dev;
        nic.queue[nic.queued++] = b;
    }
    sched_wake_all(&nic.wq);
    /* Let the receive and tcpip threads (and lwIP's timers) work. */
    sched_sleep_ns(2 * TIME_NS_PER_MS);
    return 0;
}
