/*
 * tcp_echo: a TCP echo server on BSD sockets, one thread per connection
 * (a blocking recv() parks only its own thread), on the image's NIC if
 * there is one (<netdev/nic.h>: the Xen vif on Xen, else virtio-net;
 * addresses from the command line: ip=..., ip6=...), over IPv4 and IPv6,
 * and on the loopback. `selftest` on the command line makes it connect to
 * itself, say what came back, and exit. README.md.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <net/net.h>
#include <netdev/nic.h>
#include <sched/sched.h>
#include <time/time.h>

#define PORT 7

static struct netdev *nic; /* NULL without a NIC */

static int serve(void *arg)
{
    int c = (int)(intptr_t)arg;
    char buf[1024];
    ssize_t n;
    while ((n = recv(c, buf, sizeof(buf), 0)) > 0)
        if (send(c, buf, (size_t)n, 0) != n)
            break;
    close(c);
    if (nic != NULL) { /* the NIC's counters so far (the lab checks them) */
        char line[256];
        nic_format_stats(nic, line, sizeof(line));
        printf("tcp_echo: connection closed; %s\n", line);
    }
    return 0;
}

static int self_test(void *arg)
{
    (void)arg;
    struct sockaddr_in a = {.sin_len = sizeof(a), .sin_family = AF_INET,
                            .sin_port = htons(PORT),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    char back[16] = {0};
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(s, (struct sockaddr *)&a, sizeof(a)) != 0
        || send(s, "hello", 5, 0) != 5 || recv(s, back, 5, 0) != 5)
        exit(1);
    printf("tcp_echo: selftest got \"%s\" back\n", back);
    exit(0); /* the whole image */
}

int main(int argc, char **argv)
{
    struct net_config cfg;
    char err[NET_CONFIG_ERROR_MAX];
    if (net_config_parse(argc, argv, &cfg, err) != 0) {
        puts(err);
        return 2;
    }
    net_start();
    struct netdev *dev;
    struct net_if *nif;
    int rc = nic_open_first(&dev);
    if (rc == 0)
        printf("tcp_echo: NIC from %s\n", nic_driver_name());
    else if (rc != -ENODEV)
        printf("tcp_echo: no NIC: error %d\n", rc);
    if (rc == 0)
        nic = dev;
    if (rc == 0 && net_attach(dev, &cfg, &nif) == 0
        && net_wait_up(nif, 20 * TIME_NS_PER_S) == 0) {
        char ip[16];
        net_config_format_ip(net_if_ipv4(nif), ip);
        printf("tcp_echo: %s up\n", ip);
    }
    /* One socket for IPv4 and IPv6: bound to "::", not IPv6-only. */
    int s = socket(AF_INET6, SOCK_STREAM, 0);
    struct sockaddr_in6 any = {.sin6_len = sizeof(any), .sin6_family = AF_INET6,
                               .sin6_port = htons(PORT)};
    if (bind(s, (struct sockaddr *)&any, sizeof(any)) != 0 || listen(s, 8)) {
        puts("tcp_echo: cannot listen");
        return 1;
    }
    printf("tcp_echo: listening on port %d\n", PORT);
    struct sched_attr detached = {.priority = SCHED_PRIORITY_DEFAULT,
                                  .detached = true};
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "selftest") == 0)
            sched_spawn("selftest", self_test, NULL, &detached);
    for (;;) {
        int c = accept(s, NULL, NULL);
        if (c < 0) /* out of sockets, say: back off, never spin */
            sched_sleep_ns(TIME_NS_PER_MS);
        else if (!sched_spawn("conn", serve, (void *)(intptr_t)c, &detached))
            close(c);
    }
}
