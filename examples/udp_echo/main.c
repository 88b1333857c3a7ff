/*
 * udp_echo: a network appliance on netfront. It answers ARP for the IPv4
 * address given on the command line ("ip=10.0.0.2"), answers pings
 * (ICMP echo) and echoes every UDP datagram sent to it. Not on Xen (QEMU)
 * there is no vif: it says so and exits with status 0.
 *
 * On Xen it takes no interrupts (no upcall vector yet): evtchn_wait()
 * sleeps in SCHEDOP_poll on the xenstore and vif ports and dispatches
 * from thread context (poll_wait.c). Runs until the vif goes away
 * (`xl destroy`, or the backend closing), or until a UDP datagram
 * "quit" to port 7 (echoed like any other): then it closes the vif
 * (frontend Closed), prints the grant accounting and exits 0.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <netfront/netfront.h>
#include <xenabi/xenbus.h>
#include <xenstore/xenstore.h>

#include "echo.h"
#include "poll_wait.h"

#define DEFAULT_IP "10.0.0.2"

static struct echo_host host;
static struct netfront *nf;
static uint8_t reply[NETFRONT_MAX_FRAME];
static unsigned long echoed, dropped;
static bool quit;

/* A UDP datagram to our port 7 whose payload is "quit". */
static bool is_quit(const uint8_t *f, size_t len)
{
    if (len < 14 + 20 + 8 || f[12] != 0x08 || f[13] != 0x00)
        return false;
    const uint8_t *ip = f + 14;
    size_t ihl = (size_t)(ip[0] & 0x0f) * 4;
    if ((ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 17
        || memcmp(ip + 16, host.ip, 4) != 0 || len < 14 + ihl + 8)
        return false;
    const uint8_t *udp = ip + ihl;
    size_t ulen = (size_t)udp[4] << 8 | udp[5];
    return (udp[2] << 8 | udp[3]) == 7 && ulen == 8 + 4
           && 14 + ihl + ulen <= len && memcmp(udp + 8, "quit", 4) == 0;
}

/* The first replies are logged, so a test can see what was answered. */
#define LOGGED_REPLIES 16

static void log_reply(const uint8_t *r, size_t n)
{
    const char *kind = "?";
    if (n >= 14 && r[12] == 0x08 && r[13] == 0x06)
        kind = "arp";
    else if (n >= 34 && r[12] == 0x08 && r[13] == 0x00)
        kind = r[23] == 1 ? "icmp" : r[23] == 17 ? "udp" : "ip";
    if (n >= 34 && kind[0] != 'a')
        printf("udp_echo: %s reply to %u.%u.%u.%u (%zu bytes)\n", kind,
               r[30], r[31], r[32], r[33], n);
    else if (n >= 42)
        printf("udp_echo: %s reply to %u.%u.%u.%u\n", kind, r[38], r[39],
               r[40], r[41]);
}

static void on_frame(void *arg, const uint8_t *frame, size_t len)
{
    (void)arg;
    size_t n = echo_reply(&host, frame, len, reply);
    if (n == 0)
        return;
    if (is_quit(frame, len))
        quit = true;
    struct netfront_frag frag = {.data = reply, .len = n};
    /* Echo is best effort: a full ring drops the reply, as a NIC would. */
    if (netfront_send(nf, &frag, 1) == 0) {
        if (echoed++ < LOGGED_REPLIES)
            log_reply(reply, n);
    } else {
        dropped++;
    }
}

/*
 * Wait (up to 60 s) for the vif to be Connected. netfront announces
 * Connected as soon as its rings are published (Linux's netback connects
 * only then); the xenbus watch events delivered by xs_poll() run the rest
 * of the handshake.
 */
#define CONNECT_WAITS 600 /* evtchn_wait() sleeps at most 100 ms each */
static int wait_connected(void)
{
    for (unsigned i = 0; i < CONNECT_WAITS; i++) {
        int rc = xs_poll();
        if (rc < 0)
            return rc;
        if (netfront_connected(nf))
            return 0;
        rc = evtchn_wait();
        if (rc < 0)
            return rc;
    }
    return -XENABI_ETIMEDOUT;
}

static const char *ip_from_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "ip=", 3) == 0)
            return argv[i] + 3;
    return DEFAULT_IP;
}

int main(int argc, char **argv)
{
    const char *ip = ip_from_args(argc, argv);
    if (echo_parse_ip(ip, host.ip) != 0) {
        printf("udp_echo: bad ip=%s\n", ip);
        return 2;
    }
    int rc = evtchn_init();
    if (rc == -XENABI_ENOSYS) {
        printf("no Xen: netfront unavailable\n");
        return 0;
    }
    if (rc == 0) {
        poll_wait_install();
        rc = gnttab_init();
    }
    if (rc == 0)
        rc = xs_init();
    if (rc == 0)
        rc = netfront_open("device/vif/0", on_frame, NULL, &nf);
    if (rc == 0) {
        printf("udp_echo: xen core up, connecting device/vif/0\n");
        rc = wait_connected();
    }
    if (rc < 0) {
        printf("udp_echo: no vif: error %d\n", rc);
        return 1;
    }
    netfront_mac(nf, host.mac);
    printf("udp_echo: %02x:%02x:%02x:%02x:%02x:%02x %s, echoing UDP\n",
           host.mac[0], host.mac[1], host.mac[2], host.mac[3], host.mac[4],
           host.mac[5], ip);
    while (!quit && netfront_poll(nf) >= 0) {
        if (quit || evtchn_wait() < 0)
            break;
    }
    struct poll_wait_stats ps;
    poll_wait_get_stats(&ps);
    printf("udp_echo: vif closed after %lu echoes (%lu dropped); waits %llu, "
           "polls %llu, yields %llu, woken %llu\n",
           echoed, dropped, (unsigned long long)ps.waits,
           (unsigned long long)ps.polls, (unsigned long long)ps.yields,
           (unsigned long long)ps.woken);
    if (!quit) {
        netfront_free(nf);
        return 0;
    }
    /* Asked to quit: detach cleanly and account for every grant. */
    printf("udp_echo: quit: closing the vif\n");
    rc = netfront_close(nf);
    netfront_free(nf);
    unsigned held = gnttab_reclaim_deferred();
    for (unsigned i = 0; held != 0 && i < 50; i++) {
        (void)evtchn_wait();
        held = gnttab_reclaim_deferred();
    }
    struct gnttab_stats st;
    gnttab_get_stats(&st);
    size_t live = gnttab_report_leaks();
    printf("udp_echo: closed (frontend Closed): %d; gnttab: %zu grants "
           "outstanding (%u deferred); %llu granted, %llu ended, %llu "
           "refused while the backend held them, peak %u\n",
           rc, live, (unsigned)st.deferred, (unsigned long long)st.granted,
           (unsigned long long)st.ended, (unsigned long long)st.busy,
           (unsigned)st.peak);
    if (live != 0)
        printf("udp_echo: the backend still maps our grants\n");
    return rc < 0 || live != 0 ? 1 : 0;
}
