/*
 * iperf: lwIP's own lwiperf (an iperf 2 server on lwIP's raw API) on the
 * image's NIC (<netdev/nic.h>; addresses from the command line: ip=...,
 * gw=...), port 5001: an iperf 2 client (`iperf -c`) sends to it.
 * `send=A.B.C.D:PORT` on the command line makes it also an iperf 2
 * client once the NIC is up: lwiperf sends to that iperf server for
 * lwiperf's fixed 10 s. (iperf 2.1's `-r`/`-d`, which would make lwiperf
 * connect back, send a header lwiperf 2.1.3 refuses: README.md.) Each
 * finished or aborted test prints one line on the console:
 *
 *   iperf: received 123456 bytes in 3002 ms, 329 kbit/s (10.0.2.2 port 40000)
 *
 * README.md.
 */
#include <stdio.h>
#include <string.h>

#include <lwip/apps/lwiperf.h>
#include <lwip/ip_addr.h>
#include <lwip/tcpip.h>

#include <net/net.h>
#include <netdev/nic.h>
#include <sched/sched.h>
#include <time/time.h>

static const char *verb(enum lwiperf_report_type type)
{
    switch (type) {
    case LWIPERF_TCP_DONE_SERVER: return "received";
    case LWIPERF_TCP_DONE_CLIENT: return "sent";
    case LWIPERF_TCP_ABORTED_LOCAL: return "aborted here after";
    case LWIPERF_TCP_ABORTED_LOCAL_DATAERROR: return "aborted (bad header) after";
    case LWIPERF_TCP_ABORTED_LOCAL_TXERROR: return "aborted (send failed) after";
    case LWIPERF_TCP_ABORTED_REMOTE: return "aborted by the peer after";
    }
    return "ended after";
}

static struct netdev *dev;

/* Called by lwiperf in the tcpip thread, with the core lock held. */
static void report(void *arg, enum lwiperf_report_type type,
                   const ip_addr_t *local, u16_t local_port,
                   const ip_addr_t *remote, u16_t remote_port, u32_t bytes,
                   u32_t ms, u32_t kbit_per_s)
{
    (void)arg;
    (void)local;
    (void)local_port;
    char peer[IPADDR_STRLEN_MAX];
    ipaddr_ntoa_r(remote, peer, sizeof(peer));
    printf("iperf: %s %lu bytes in %lu ms, %lu kbit/s (%s port %u)\n",
           verb(type), (unsigned long)bytes, (unsigned long)ms,
           (unsigned long)kbit_per_s, peer, (unsigned)remote_port);
    char line[256]; /* the NIC's counters so far (netfront: GSO frames) */
    nic_format_stats(dev, line, sizeof(line));
    printf("iperf: nic: %s\n", line);
}

/* `send=A.B.C.D:PORT` from the command line into *addr and *port: 1 if
 * the word is there, 0 if not, -1 (with one line printed) if malformed. */
static int parse_send(int argc, char **argv, ip_addr_t *addr, u16_t *port)
{
    static const char key[] = "send=";
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], key, sizeof(key) - 1) != 0)
            continue;
        const char *v = argv[i] + sizeof(key) - 1;
        const char *colon = strchr(v, ':');
        char host[16];
        size_t n = colon != NULL ? (size_t)(colon - v) : 0;
        unsigned long p = 0;
        const char *d = colon != NULL ? colon + 1 : "";
        for (; *d >= '0' && *d <= '9' && p <= 65535; d++)
            p = p * 10 + (unsigned long)(*d - '0');
        if (colon == NULL || n == 0 || n >= sizeof(host) || *d != '\0'
            || d == colon + 1 || p == 0 || p > 65535) {
            printf("iperf: %s: not an iperf server (write send=A.B.C.D:PORT, "
                   "e.g. send=10.0.2.2:5001)\n", argv[i]);
            return -1;
        }
        memcpy(host, v, n);
        host[n] = '\0';
        if (!ipaddr_aton(host, addr)) {
            printf("iperf: %s: %s is not an IPv4 address (write "
                   "send=A.B.C.D:PORT)\n", argv[i], host);
            return -1;
        }
        *port = (u16_t)p;
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    if (net_config_parse(argc, argv, &cfg, err) != 0) {
        puts(err);
        return 2;
    }
    ip_addr_t peer;
    u16_t peer_port = 0;
    int send = parse_send(argc, argv, &peer, &peer_port);
    if (send < 0)
        return 2;
    net_start();
    struct net_if *nif;
    int rc = nic_open_first(&dev);
    if (rc != 0) {
        printf("iperf: no NIC (error %d): give the image one\n", rc);
        return 1;
    }
    if (net_attach(dev, &cfg, &nif) != 0
        || net_wait_up(nif, 20 * TIME_NS_PER_S) != 0) {
        puts("iperf: the NIC did not come up (no address within 20 s)");
        return 1;
    }
    char ip[16];
    net_config_format_ip(net_if_ipv4(nif), ip);
    printf("iperf: %s up, NIC from %s\n", ip, nic_driver_name());

    LOCK_TCPIP_CORE(); /* the raw API runs under the core lock */
    void *server = lwiperf_start_tcp_server_default(report, NULL);
    UNLOCK_TCPIP_CORE();
    if (server == NULL) {
        puts("iperf: cannot listen on port 5001 (out of lwIP memory)");
        return 1;
    }
    printf("iperf: listening on port %d\n", LWIPERF_TCP_PORT_DEFAULT);
    if (send) {
        char text[IPADDR_STRLEN_MAX];
        ipaddr_ntoa_r(&peer, text, sizeof(text));
        LOCK_TCPIP_CORE();
        void *client = lwiperf_start_tcp_client(&peer, peer_port, LWIPERF_CLIENT,
                                                report, NULL);
        UNLOCK_TCPIP_CORE();
        if (client == NULL)
            printf("iperf: cannot send to %s port %u (out of lwIP memory)\n",
                   text, (unsigned)peer_port);
        else
            printf("iperf: sending to %s port %u\n", text, (unsigned)peer_port);
    }
    for (;;) /* lwiperf lives in the tcpip thread's callbacks */
        sched_sleep_ns(TIME_NS_PER_S);
}
