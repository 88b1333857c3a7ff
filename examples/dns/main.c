/*
 * dns: an authoritative DNS server for the zone linked into the image
 * (the dns_zone rule), on port 53 over UDP and TCP, on the image's NIC
 * (<netdev/nic.h>: the Xen vif on Xen, else virtio-net; addresses from
 * the command line: ip=...) and the loopback. The UDP loop runs in main; TCP (RFC 7766: 2-byte length
 * prefix, several queries per connection) gets one thread per connection,
 * at most MAX_TCP at once, each dropped after IDLE_S seconds of silence.
 * All the DNS is in server.c (<dns/server.h>); this file moves bytes.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <dns/server.h>
#include <net/up.h>
#include <sched/sched.h>
#include <time/time.h>

#define PORT 53
#define MAX_TCP 32
#define IDLE_S 10

static int tcp_open; /* cooperative threads: no lock needed */

static bool recv_all(int c, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t got = recv(c, p, n, 0);
        if (got <= 0)
            return false;
        p += got;
        n -= (size_t)got;
    }
    return true;
}

static bool send_all(int c, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t sent = send(c, p, n, 0);
        if (sent <= 0)
            return false;
        p += sent;
        n -= (size_t)sent;
    }
    return true;
}

static int serve_tcp(void *arg)
{
    int c = (int)(intptr_t)arg;
    uint8_t *query = malloc(DNS_TCP_MAX);
    uint8_t *resp = malloc(2 + DNS_TCP_MAX);
    struct timeval idle = {.tv_sec = IDLE_S};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &idle, sizeof(idle));
    uint8_t prefix[2];
    while (query && resp && recv_all(c, prefix, 2)) {
        size_t len = (size_t)prefix[0] << 8 | prefix[1];
        if (!recv_all(c, query, len))
            break;
        size_t n = dns_respond(&dns_zone, query, len, resp + 2, DNS_TCP_MAX,
                               true);
        if (n == 0)
            continue;
        resp[0] = (uint8_t)(n >> 8);
        resp[1] = (uint8_t)n;
        if (!send_all(c, resp, 2 + n))
            break;
    }
    free(query);
    free(resp);
    close(c);
    tcp_open--;
    return 0;
}

static int accept_tcp(void *arg)
{
    int s = (int)(intptr_t)arg;
    struct sched_attr detached = {.priority = SCHED_PRIORITY_DEFAULT,
                                  .detached = true};
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0)
            continue;
        if (tcp_open >= MAX_TCP
            || !sched_spawn("dns-tcp", serve_tcp, (void *)(intptr_t)c,
                            &detached)) {
            close(c);
            continue;
        }
        tcp_open++;
    }
}

static int listen_on(int type)
{
    int s = socket(AF_INET, type, 0);
    struct sockaddr_in any = {.sin_len = sizeof(any), .sin_family = AF_INET,
                              .sin_port = htons(PORT)};
    if (s < 0 || bind(s, (struct sockaddr *)&any, sizeof(any)) != 0
        || (type == SOCK_STREAM && listen(s, 16) != 0))
        return -1;
    return s;
}

int main(int argc, char **argv)
{
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    if (net_config_parse(argc, argv, &cfg, err) != 0) {
        puts(err);
        return 2;
    }
    struct net_if *nif;
    (void)net_up("dns", &cfg, 20 * TIME_NS_PER_S, &nif);
    int u = listen_on(SOCK_DGRAM), t = listen_on(SOCK_STREAM);
    struct sched_attr detached = {.priority = SCHED_PRIORITY_DEFAULT,
                                  .detached = true};
    if (u < 0 || t < 0
        || !sched_spawn("dns-accept", accept_tcp, (void *)(intptr_t)t,
                        &detached)) {
        puts("dns: cannot listen on port 53");
        return 1;
    }
    char apex[256];
    size_t at = 0;
    for (size_t i = 0; dns_zone.apex[i] != 0; i += 1u + dns_zone.apex[i]) {
        memcpy(apex + at, dns_zone.apex + i + 1, dns_zone.apex[i]);
        at += dns_zone.apex[i];
        apex[at++] = '.';
    }
    apex[at] = 0;
    printf("dns: serving %s (%u names) on port %d, udp and tcp\n",
           at ? apex : ".", (unsigned)dns_zone.node_count, PORT);
    static uint8_t query[DNS_TCP_MAX], resp[DNS_EDNS_UDP_SIZE];
    unsigned long recv_errors = 0;
    for (;;) {
        struct sockaddr_in from;
        socklen_t from_len = sizeof(from);
        ssize_t len = recvfrom(u, query, sizeof(query), 0,
                               (struct sockaddr *)&from, &from_len);
        if (len < 0) {
            /* Never spin on an error: the scheduler is cooperative, and a
             * loop that does not block starves every other thread (the
             * stack's receive thread included). Say it, and back off. */
            if (recv_errors++ % 1000 == 0)
                printf("dns: recvfrom: errno %d (%lu errors)\n", errno,
                       recv_errors);
            sched_sleep_ns(TIME_NS_PER_MS);
            continue;
        }
        size_t n = dns_respond(&dns_zone, query, (size_t)len, resp,
                               sizeof(resp), false);
        if (n > 0)
            sendto(u, resp, n, 0, (struct sockaddr *)&from, from_len);
    }
}
