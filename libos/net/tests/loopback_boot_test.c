/*
 * The stack in QEMU with no NIC: threads talk over lwIP's loopback
 * (127.0.0.1) through the BSD sockets, while a ticker thread proves that
 * a blocking call parks only its own thread.
 *
 *   - TCP: 10 MB each way on one connection, a digest of each direction
 *     checked against the sender's generator;
 *   - 200 connections opened, used (4 bytes echoed) and closed;
 *   - UDP: 100 round trips;
 *   - getaddrinfo of a numeric host, and of names through lwIP's DNS
 *     resolver asking a scripted server on 127.0.0.1:53; poll on a
 *     listener;
 *   - 40 connections established before the server accepts any, all
 *     then accepted in order.
 */
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <lwip/dns.h>
#include <lwip/tcpip.h>
#include <net/net.h>
#include <sched/sched.h>
#include <testing/check.h>
#include <time/time.h>

#define BULK_BYTES (10u * 1000u * 1000u)
#define BULK_PORT 7000
#define CONN_PORT 7001
#define UDP_PORT 7002
#define PARK_PORT 7003
#define BACKLOG_PORT 7005
#define BACKLOG_CLIENTS 40 /* more than lwIP's default accept mailbox */
#define CONNECTIONS 200
#define UDP_ROUNDS 100

/* ---- the ticker: runs whenever the others are parked -------------------- */

static volatile uint64_t ticks;
static volatile int ticker_stop;

static int ticker(void *arg)
{
    (void)arg;
    while (!ticker_stop) {
        sched_sleep_ns(TIME_NS_PER_MS);
        ticks++;
    }
    return 0;
}

/* ---- a byte stream both sides can regenerate, and its digest ------------ */

struct stream {
    uint64_t state;
};

static uint8_t stream_byte(struct stream *s)
{
    s->state = s->state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint8_t)(s->state >> 56);
}

static void fill(struct stream *s, uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = stream_byte(s);
}

/* FNV-1a, 64 bits. */
static uint64_t digest(uint64_t h, const uint8_t *buf, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= buf[i];
        h *= 1099511628211ull;
    }
    return h;
}

#define DIGEST_INIT 14695981039346656037ull

static uint64_t expected_digest(uint64_t seed)
{
    static uint8_t buf[4096];
    struct stream s = {seed};
    uint64_t h = DIGEST_INIT;
    for (size_t done = 0; done < BULK_BYTES; done += sizeof(buf)) {
        size_t n = BULK_BYTES - done < sizeof(buf) ? BULK_BYTES - done
                                                   : sizeof(buf);
        fill(&s, buf, n);
        h = digest(h, buf, n);
    }
    return h;
}

static int send_stream(int fd, uint64_t seed)
{
    static uint8_t buf[8192];
    struct stream s = {seed};
    for (size_t done = 0; done < BULK_BYTES;) {
        size_t n = BULK_BYTES - done < sizeof(buf) ? BULK_BYTES - done
                                                   : sizeof(buf);
        fill(&s, buf, n);
        for (size_t off = 0; off < n;) {
            ssize_t w = send(fd, buf + off, n - off, 0);
            if (w <= 0)
                return -1;
            off += (size_t)w;
        }
        done += n;
    }
    return 0;
}

/* Reads exactly BULK_BYTES; their digest, or 0 on a short stream. */
static uint64_t recv_stream(int fd)
{
    static uint8_t buf[8192];
    uint64_t h = DIGEST_INIT;
    size_t got = 0;
    while (got < BULK_BYTES) {
        size_t want = BULK_BYTES - got < sizeof(buf) ? BULK_BYTES - got
                                                     : sizeof(buf);
        ssize_t r = recv(fd, buf, want, 0);
        if (r <= 0)
            return 0;
        h = digest(h, buf, (size_t)r);
        got += (size_t)r;
    }
    return h;
}

static struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_len = sizeof(a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = inet_addr("127.0.0.1");
    return a;
}

static int listener(uint16_t port, int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in a = loopback(port);
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0
        || listen(fd, backlog) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int connect_to(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = loopback(port);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* ---- the tests ------------------------------------------------------------ */

static int bulk_listen_fd;
static volatile uint64_t server_got;

static int bulk_server(void *arg)
{
    (void)arg;
    int c = accept(bulk_listen_fd, NULL, NULL);
    if (c < 0)
        return 1;
    server_got = recv_stream(c);
    int rc = send_stream(c, 2);
    close(c);
    return rc;
}

static void test_bulk_both_ways(void)
{
    bulk_listen_fd = listener(BULK_PORT, 1);
    CHECK(bulk_listen_fd >= 0);
    struct sched_thread *srv = sched_spawn("bulk server", bulk_server, NULL,
                                           NULL);
    CHECK(srv != NULL);
    int fd = connect_to(BULK_PORT);
    CHECK(fd >= 0);
    uint64_t t0 = time_monotonic_ns();
    CHECK_EQ(send_stream(fd, 1), 0);
    uint64_t back = recv_stream(fd);
    uint64_t ms = (time_monotonic_ns() - t0) / TIME_NS_PER_MS;
    close(fd);
    int status = -1;
    sched_join(srv, &status);
    close(bulk_listen_fd);
    CHECK_EQ(status, 0);
    CHECK_EQ(server_got, expected_digest(1));
    CHECK_EQ(back, expected_digest(2));
    printf("bulk: %u bytes each way in %llu ms, digests checked\n",
           BULK_BYTES, (unsigned long long)ms);
}

static int conn_listen_fd;

static int echo_server(void *arg)
{
    (void)arg;
    for (int i = 0; i < CONNECTIONS; i++) {
        int c = accept(conn_listen_fd, NULL, NULL);
        if (c < 0)
            return 1;
        char buf[4];
        size_t got = 0;
        while (got < sizeof(buf)) {
            ssize_t r = recv(c, buf + got, sizeof(buf) - got, 0);
            if (r <= 0)
                break;
            got += (size_t)r;
        }
        if (got != sizeof(buf) || send(c, buf, got, 0) != (ssize_t)got) {
            close(c);
            return 1;
        }
        close(c);
    }
    return 0;
}

static void test_many_connections(void)
{
    conn_listen_fd = listener(CONN_PORT, 8);
    CHECK(conn_listen_fd >= 0);
    struct sched_thread *srv = sched_spawn("echo server", echo_server, NULL,
                                           NULL);
    int ok = 0;
    for (int i = 0; i < CONNECTIONS; i++) {
        int fd = connect_to(CONN_PORT);
        if (fd < 0)
            break;
        char out[4] = {(char)i, (char)(i >> 8), 'o', 'k'}, in[4];
        size_t got = 0;
        if (send(fd, out, sizeof(out), 0) == (ssize_t)sizeof(out)) {
            while (got < sizeof(in)) {
                ssize_t r = recv(fd, in + got, sizeof(in) - got, 0);
                if (r <= 0)
                    break;
                got += (size_t)r;
            }
        }
        if (got == sizeof(in) && memcmp(in, out, sizeof(in)) == 0)
            ok++;
        close(fd);
    }
    int status = -1;
    sched_join(srv, &status);
    close(conn_listen_fd);
    CHECK_EQ(status, 0);
    CHECK_EQ(ok, CONNECTIONS);
    printf("connections: %d of %d opened, echoed and closed\n", ok,
           CONNECTIONS);
}

/* A burst of connections the listener has not accepted yet waits in its
 * backlog: each is established, and accept() then takes them in order. */
static void test_backlog_before_accept(void)
{
    int lfd = listener(BACKLOG_PORT, BACKLOG_CLIENTS + 10);
    CHECK(lfd >= 0);
    int clients[BACKLOG_CLIENTS];
    int opened = 0;
    for (int i = 0; i < BACKLOG_CLIENTS; i++) {
        clients[i] = connect_to(BACKLOG_PORT);
        if (clients[i] < 0)
            break;
        char id = (char)i;
        CHECK_EQ(send(clients[i], &id, 1, 0), 1);
        opened++;
    }
    CHECK_EQ(opened, BACKLOG_CLIENTS);
    int in_order = 0;
    for (int i = 0; i < opened; i++) {
        int c = accept(lfd, NULL, NULL);
        CHECK(c >= 0);
        if (c < 0)
            break;
        char id = 0;
        if (recv(c, &id, 1, 0) == 1 && id == (char)i)
            in_order++;
        close(c);
    }
    for (int i = 0; i < opened; i++)
        close(clients[i]);
    close(lfd);
    CHECK_EQ(in_order, BACKLOG_CLIENTS);
    printf("backlog: %d connections established before accept(), %d "
           "accepted in order\n", opened, in_order);
}

static int udp_fd;

static int udp_server(void *arg)
{
    (void)arg;
    for (int i = 0; i < UDP_ROUNDS; i++) {
        char buf[64];
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        ssize_t r = recvfrom(udp_fd, buf, sizeof(buf), 0,
                             (struct sockaddr *)&from, &len);
        if (r <= 0)
            return 1;
        for (ssize_t j = 0; j < r; j++)
            buf[j] = (char)(buf[j] ^ 0x5a);
        if (sendto(udp_fd, buf, (size_t)r, 0, (struct sockaddr *)&from, len)
            != r)
            return 1;
    }
    return 0;
}

static void test_udp_round_trips(void)
{
    udp_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = loopback(UDP_PORT);
    CHECK(udp_fd >= 0);
    CHECK_EQ(bind(udp_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    struct sched_thread *srv = sched_spawn("udp server", udp_server, NULL,
                                           NULL);
    int c = socket(AF_INET, SOCK_DGRAM, 0);
    int ok = 0;
    for (int i = 0; i < UDP_ROUNDS; i++) {
        char out[32], in[64];
        int n = snprintf(out, sizeof(out), "datagram %d", i);
        if (sendto(c, out, (size_t)n, 0, (struct sockaddr *)&a, sizeof(a))
            != n)
            continue;
        ssize_t r = recvfrom(c, in, sizeof(in), 0, NULL, NULL);
        if (r != n)
            continue;
        int same = 1;
        for (int j = 0; j < n; j++)
            same &= in[j] == (char)(out[j] ^ 0x5a);
        ok += same;
    }
    int status = -1;
    sched_join(srv, &status);
    close(c);
    close(udp_fd);
    CHECK_EQ(status, 0);
    CHECK_EQ(ok, UDP_ROUNDS);
    printf("udp: %d of %d round trips\n", ok, UDP_ROUNDS);
}

static void test_getaddrinfo_numeric(void)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    hints.ai_socktype = SOCK_STREAM;
    CHECK_EQ(getaddrinfo("127.0.0.1", "7000", &hints, &res), 0);
    CHECK(res != NULL);
    if (res != NULL) {
        const struct sockaddr_in *sa = (const void *)res->ai_addr;
        CHECK_EQ(res->ai_family, AF_INET);
        CHECK_EQ(ntohs(sa->sin_port), 7000);
        CHECK_EQ(ntohl(sa->sin_addr.s_addr), 0x7f000001u);
        freeaddrinfo(res);
    }
    res = NULL;
    CHECK(getaddrinfo("not an address", "7000", &hints, &res) != 0);
    char text[INET_ADDRSTRLEN];
    struct in_addr ia;
    CHECK_EQ(inet_pton(AF_INET, "10.1.2.3", &ia), 1);
    CHECK(inet_ntop(AF_INET, &ia, text, sizeof(text)) != NULL);
    CHECK(strcmp(text, "10.1.2.3") == 0);
}

/* A DNS server of two names on 127.0.0.1:53, answering A queries. */
#define DNS_QUERIES 2
static int dns_fd;
static uint16_t dns_ids[DNS_QUERIES], dns_ports[DNS_QUERIES];

static int dns_server(void *arg)
{
    (void)arg;
    for (int q = 0; q < DNS_QUERIES; q++) {
        uint8_t m[512];
        struct sockaddr_in from;
        socklen_t len = sizeof(from);
        ssize_t n = recvfrom(dns_fd, m, sizeof(m) - 16, 0,
                             (struct sockaddr *)&from, &len);
        if (n < 12 + 5)
            return 1;
        dns_ids[q] = (uint16_t)(m[0] << 8 | m[1]);
        dns_ports[q] = ntohs(from.sin_port);
        /* The name's first label picks the address: "one" 10.9.8.1,
         * anything else 10.9.8.2. */
        uint8_t last = (m[12] == 3 && memcmp(m + 13, "one", 3) == 0) ? 1 : 2;
        m[2] = 0x81, m[3] = 0x80;  /* response, recursion available */
        m[6] = 0, m[7] = 1;        /* one answer */
        m[8] = m[9] = m[10] = m[11] = 0;
        static const uint8_t answer[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60,
                                         0, 4, 10, 9, 8, 0};
        memcpy(m + n, answer, sizeof(answer));
        m[n + sizeof(answer) - 1] = last;
        if (sendto(dns_fd, m, (size_t)n + sizeof(answer), 0,
                   (struct sockaddr *)&from, len)
            != n + (ssize_t)sizeof(answer))
            return 1;
    }
    return 0;
}

static uint32_t resolve(const char *name)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_INET;
    if (getaddrinfo(name, NULL, &hints, &res) != 0 || res == NULL)
        return 0;
    uint32_t a = ntohl(((const struct sockaddr_in *)(const void *)
                            res->ai_addr)->sin_addr.s_addr);
    freeaddrinfo(res);
    return a;
}

static void test_getaddrinfo_by_dns(void)
{
    dns_fd = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = loopback(53);
    CHECK_EQ(bind(dns_fd, (struct sockaddr *)&a, sizeof(a)), 0);
    ip_addr_t server = IPADDR4_INIT(PP_HTONL(0x7f000001));
    LOCK_TCPIP_CORE(); /* lwIP's raw API: with the core lock */
    dns_setserver(0, &server);
    UNLOCK_TCPIP_CORE();
    struct sched_thread *srv = sched_spawn("dns server", dns_server, NULL,
                                           NULL);
    CHECK_EQ(resolve("one.example"), 0x0a090801);
    CHECK_EQ(resolve("two.example"), 0x0a090802);
    int status = -1;
    sched_join(srv, &status);
    close(dns_fd);
    CHECK_EQ(status, 0);
    /* Ids and source ports come from LWIP_RAND(): not lwIP's fixed ones. */
    CHECK(dns_ports[0] != 0 && dns_ports[1] != 0);
    printf("dns: 2 names resolved; query ids %u %u, source ports %u %u\n",
           dns_ids[0], dns_ids[1], dns_ports[0], dns_ports[1]);
}

/* A thread blocked in accept() or recv() lets the ticker run; poll()
 * sees nothing before the connection and POLLIN after it. */
static int park_listen_fd;

static int late_sender(void *arg)
{
    (void)arg;
    int c = accept(park_listen_fd, NULL, NULL);
    if (c < 0)
        return 1;
    sched_sleep_ns(100 * TIME_NS_PER_MS);
    int rc = send(c, "late", 4, 0) == 4 ? 0 : 1;
    close(c);
    return rc;
}

static void test_blocking_parks_only_its_thread(void)
{
    park_listen_fd = listener(PARK_PORT, 1);
    CHECK(park_listen_fd >= 0);
    struct pollfd pfd = {.fd = park_listen_fd, .events = POLLIN};
    CHECK_EQ(poll(&pfd, 1, 0), 0);
    struct sched_thread *srv = sched_spawn("late sender", late_sender, NULL,
                                           NULL);
    int fd = connect_to(PARK_PORT);
    CHECK(fd >= 0);
    uint64_t before = ticks;
    uint64_t t0 = time_monotonic_ns();
    char buf[8];
    ssize_t r = recv(fd, buf, sizeof(buf), 0); /* blocks ~100 ms */
    uint64_t waited_ms = (time_monotonic_ns() - t0) / TIME_NS_PER_MS;
    uint64_t ticked = ticks - before;
    CHECK_EQ(r, 4);
    CHECK(waited_ms >= 90);
    /* A 1 ms ticker: at least half its ticks while recv() waited. */
    CHECK_MSG(ticked >= waited_ms / 2, "the ticker ran while recv blocked");
    printf("park: recv waited %llu ms, the ticker ticked %llu times\n",
           (unsigned long long)waited_ms, (unsigned long long)ticked);
    pfd.revents = 0;
    int status = -1;
    sched_join(srv, &status);
    CHECK_EQ(status, 0);
    close(fd);
    close(park_listen_fd);
}

/* Full duplex: one thread reads a connection while another writes it
 * (LWIP_NETCONN_FULLDUPLEX, a semaphore per thread). */
#define DUPLEX_PORT 7004
#define DUPLEX_BYTES (1u << 20)
static int duplex_listen_fd, duplex_fd;
static volatile uint64_t duplex_read_digest;

static int duplex_echo(void *arg)
{
    (void)arg;
    int c = accept(duplex_listen_fd, NULL, NULL);
    if (c < 0)
        return 1;
    static uint8_t buf[4096];
    ssize_t n;
    while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
        for (ssize_t off = 0; off < n;) {
            ssize_t w = send(c, buf + off, (size_t)(n - off), 0);
            if (w <= 0) {
                close(c);
                return 1;
            }
            off += w;
        }
    close(c);
    return 0;
}

static int duplex_reader(void *arg)
{
    (void)arg;
    static uint8_t buf[4096];
    uint64_t h = DIGEST_INIT;
    size_t got = 0;
    while (got < DUPLEX_BYTES) {
        ssize_t r = recv(duplex_fd, buf, sizeof(buf), 0);
        if (r <= 0)
            return 1;
        h = digest(h, buf, (size_t)r);
        got += (size_t)r;
    }
    duplex_read_digest = h;
    return 0;
}

static void test_full_duplex(void)
{
    duplex_listen_fd = listener(DUPLEX_PORT, 1);
    struct sched_thread *echo = sched_spawn("duplex echo", duplex_echo, NULL,
                                            NULL);
    duplex_fd = connect_to(DUPLEX_PORT);
    CHECK(duplex_fd >= 0);
    /* The reader blocks in recv() on the socket main writes to. */
    struct sched_thread *reader = sched_spawn("duplex reader", duplex_reader,
                                              NULL, NULL);
    static uint8_t buf[4096];
    struct stream s = {3};
    uint64_t want = DIGEST_INIT;
    int ok = 1;
    for (size_t done = 0; done < DUPLEX_BYTES && ok; done += sizeof(buf)) {
        fill(&s, buf, sizeof(buf));
        want = digest(want, buf, sizeof(buf));
        for (size_t off = 0; off < sizeof(buf) && ok;) {
            ssize_t w = send(duplex_fd, buf + off, sizeof(buf) - off, 0);
            ok = w > 0;
            off += ok ? (size_t)w : 0;
        }
    }
    CHECK(ok);
    int rstatus = -1, estatus = -1;
    sched_join(reader, &rstatus);
    close(duplex_fd);
    sched_join(echo, &estatus);
    close(duplex_listen_fd);
    CHECK_EQ(rstatus, 0);
    CHECK_EQ(estatus, 0);
    CHECK_EQ(duplex_read_digest, want);
    printf("duplex: %u bytes written by one thread, read back by another\n",
           DUPLEX_BYTES);
}

/* The stack keeps running while its timers fire (IPv6 reassembly's first
 * one, after a second, once stopped the image). */
/* The server closes first, so its side of 127.0.0.1:REOPEN_CLIENT_PORT
 * <-> :REOPEN_PORT stays in TIME-WAIT; a new connection from the same
 * client port must still open (tcp_hook.c), not wait out 2 MSL. */
#define REOPEN_PORT 7004
#define REOPEN_CLIENT_PORT 7104
static int reopen_listen_fd;
static volatile int reopen_got[2];

static int reopen_server(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        int c = accept(reopen_listen_fd, NULL, NULL);
        if (c < 0)
            return 1;
        char b = (char)('x' + i);
        send(c, &b, 1, 0);
        close(c); /* first: this side keeps TIME-WAIT */
    }
    return 0;
}

static int reopen_client(void *arg)
{
    int round = (int)(intptr_t)arg;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    struct sockaddr_in local = loopback(REOPEN_CLIENT_PORT);
    struct sockaddr_in a = loopback(REOPEN_PORT);
    char b = 0;
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) == 0
        && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0
        && recv(fd, &b, 1, 0) == 1) {
        char rest;
        while (recv(fd, &rest, 1, 0) > 0) {
        }
        reopen_got[round] = b;
    }
    close(fd);
    return 0;
}

static void test_reopen_from_time_wait(void)
{
    reopen_listen_fd = listener(REOPEN_PORT, 4);
    CHECK(reopen_listen_fd >= 0);
    struct sched_attr attr = {.priority = SCHED_PRIORITY_DEFAULT,
                              .detached = true};
    CHECK(sched_spawn("reopen_srv", reopen_server, NULL, &attr) != NULL);
    for (int round = 0; round < 2; round++) {
        CHECK(sched_spawn("reopen_cli", reopen_client,
                          (void *)(intptr_t)round, &attr) != NULL);
        /* Without the hook the second connect waits for minutes. */
        for (int i = 0; i < 50 && reopen_got[round] == 0; i++)
            sched_sleep_ns(100 * TIME_NS_PER_MS);
        CHECK_EQ(reopen_got[round], 'x' + round);
    }
    if (reopen_got[1] == 'y')
        printf("reopen: a SYN on a TIME-WAIT 4-tuple opened a new "
               "connection\n");
    close(reopen_listen_fd);
}

static void test_timers_run(void)
{
    uint64_t before = ticks;
    sched_sleep_ns(2 * TIME_NS_PER_S);
    CHECK(ticks - before >= 1000);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    CHECK(fd >= 0);
    close(fd);
}

int main(void)
{
    printf("net loopback test\n");
    CHECK_EQ(net_start(), 0);
    struct sched_attr attr = {.priority = SCHED_PRIORITY_DEFAULT,
                              .detached = true};
    CHECK(sched_spawn("ticker", ticker, NULL, &attr) != NULL);
    RUN(test_getaddrinfo_numeric);
    RUN(test_getaddrinfo_by_dns);
    RUN(test_blocking_parks_only_its_thread);
    RUN(test_udp_round_trips);
    RUN(test_many_connections);
    RUN(test_backlog_before_accept);
    RUN(test_bulk_both_ways);
    RUN(test_full_duplex);
    RUN(test_reopen_from_time_wait);
    RUN(test_timers_run);
    ticker_stop = 1;
    return check_finish();
}
