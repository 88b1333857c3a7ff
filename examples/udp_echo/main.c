/*
 * udp_echo: a network appliance on netfront. It answers ARP for the IPv4
 * address given on the command line ("ip=10.0.0.2"), answers pings
 * (ICMP echo) and echoes every UDP datagram sent to it. Not on Xen (QEMU)
 * there is no vif: it says so and exits with status 0.
 *
 * On Xen it runs on the scheduler (//libos/sched) with event channels
 * wired in (//libos/xen/evtchn_sched): Xen's upcall vector delivers the
 * events, thread "net" waits on the vif's port and answers what arrived,
 * and main waits for xenstore events (evtchn_wait, which parks it) to
 * follow the vif's state. When both wait, the vcpu blocks (HLT, Xen's
 * SCHEDOP_block) until the next event. Runs until the vif goes away
 * (`xl destroy`, or the backend closing), or until a UDP datagram
 * "quit" to port 7 (echoed like any other): then it closes the vif
 * (frontend Closed), prints the grant accounting and exits 0.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <gnttab/gnttab.h>
#include <netfront/netfront.h>
#include <sched/sched.h>
#include <time/time.h>
#include <hypervisor/hypervisor.h>
#include <xenabi/shared_info.h>
#include <xenabi/vcpu.h>
#include <xenabi/xenbus.h>
#include <xenstore/xenstore.h>

#include "echo.h"

#define DEFAULT_IP "10.0.0.2"
#define QUIT_POLL_NS (200 * TIME_NS_PER_MS)
#define ETH_HEADER_LEN 14

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
    /*
     * Scatter-gather: the Ethernet header and the rest go as two
     * fragments, so every reply is one frame over two granted pages.
     */
    struct netfront_frag frags[2] = {
        {.data = reply, .len = ETH_HEADER_LEN},
        {.data = reply + ETH_HEADER_LEN, .len = n - ETH_HEADER_LEN},
    };
    /* Echo is best effort: a full ring drops the reply, as a NIC would. */
    if (n > ETH_HEADER_LEN && netfront_send(nf, frags, 2) == 0) {
        if (echoed++ < LOGGED_REPLIES)
            log_reply(reply, n);
        /* How we got here, now and then: the upcall, not polling. */
        if ((echoed & (echoed - 1)) == 0 && echoed <= LOGGED_REPLIES)
            evtchn_sched_print_stats();
    } else {
        dropped++;
    }
}

/*
 * Wait (up to 60 s) for the vif to be Connected. netfront announces
 * Connected as soon as its rings are published (Linux's netback connects
 * only then); the xenbus watch events delivered by xs_poll() run the rest
 * of the handshake. Each wait parks main until an event (or 1 s).
 */
#define CONNECT_TIMEOUT_NS (60 * TIME_NS_PER_S)
static int wait_connected(void)
{
    uint64_t deadline = time_monotonic_ns() + CONNECT_TIMEOUT_NS;
    for (;;) {
        int rc = xs_poll();
        if (rc < 0)
            return rc;
        if (netfront_connected(nf))
            return 0;
        uint64_t now = time_monotonic_ns();
        if (now >= deadline)
            return -XENABI_ETIMEDOUT;
        rc = evtchn_sched_wait_any(now + TIME_NS_PER_S < deadline
                                       ? now + TIME_NS_PER_S
                                       : deadline);
        if (rc < 0)
            return rc;
    }
}

/*
 * How well the wake-up timer works here: sleeps of 10 ms, measured on
 * the monotonic clock (the pvclock on Xen). Printed for the lab's record.
 */
static void measure_timer(void)
{
    enum { SLEEPS = 5 };
    uint64_t total = 0, worst = 0;
    for (int i = 0; i < SLEEPS; i++) {
        uint64_t t0 = time_monotonic_ns();
        sched_sleep_ns(10 * TIME_NS_PER_MS);
        uint64_t late = time_monotonic_ns() - t0 - 10 * TIME_NS_PER_MS;
        total += late;
        if (late > worst)
            worst = late;
    }
    printf("udp_echo: timer: %d sleeps of 10 ms, late by %llu us on "
           "average, %llu us at most\n",
           SLEEPS, (unsigned long long)(total / SLEEPS / TIME_NS_PER_US),
           (unsigned long long)(worst / TIME_NS_PER_US));
}

/*
 * The alternative wake-up timer, measured the same way for comparison:
 * Xen's single-shot timer (VCPUOP_set_singleshot_timer at Xen system
 * time + 10 ms), whose VIRQ_TIMER event wakes this thread through the
 * upcall. Printed next to the LAPIC figures (docs/architecture.md has
 * the decision).
 */
static uint64_t xen_system_time(void)
{
    const volatile struct xenabi_vcpu_time_info *t =
        &evtchn_shared_info()->vcpu_info[0].time;
    for (;;) {
        uint32_t v = t->version;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        uint64_t stamp = t->tsc_timestamp, sys = t->system_time;
        uint32_t mul = t->tsc_to_system_mul;
        int8_t shift = t->tsc_shift;
        uint32_t lo, hi;
        __asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi));
        uint64_t tsc = (uint64_t)hi << 32 | lo;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if ((v & 1) == 0 && v == t->version)
            return sys + xenabi_pvclock_scale(tsc > stamp ? tsc - stamp : 0,
                                              mul, shift);
    }
}

static void measure_xen_timer(void)
{
    enum { SHOTS = 5 };
    xenabi_evtchn_port_t port;
    uint32_t timer_port;
    if (time_xen_timer_port(&timer_port)) {
        /* PV: VIRQ_TIMER is //libos/time's, and the sleeps above used it. */
        printf("udp_echo: xen timer: the wake-up timer itself (port %u)\n",
               timer_port);
        return;
    }
    int rc = evtchn_bind_virq(XENABI_VIRQ_TIMER, &port);
    if (rc == 0)
        rc = evtchn_unmask(port);
    uint64_t total = 0, worst = 0;
    for (int i = 0; rc == 0 && i < SHOTS; i++) {
        uint64_t t0 = time_monotonic_ns();
        struct xenabi_vcpu_set_singleshot_timer shot = {
            .timeout_abs_ns = xen_system_time() + 10 * TIME_NS_PER_MS,
        };
        long xrc = xen_hypercall(XENABI_HYPERCALL_VCPU_OP,
                                 XENABI_VCPUOP_SET_SINGLESHOT_TIMER, 0,
                                 xenabi_handle(&shot), 0, 0);
        if (xrc < 0) {
            rc = (int)xrc;
            break;
        }
        if (evtchn_sched_wait(port, t0 + TIME_NS_PER_S) <= 0) {
            rc = -XENABI_ETIMEDOUT;
            break;
        }
        uint64_t late = time_monotonic_ns() - t0 - 10 * TIME_NS_PER_MS;
        total += late;
        if (late > worst)
            worst = late;
    }
    if (rc == 0)
        (void)evtchn_close(port);
    if (rc < 0) {
        printf("udp_echo: xen timer: unavailable (error %d)\n", rc);
        return;
    }
    printf("udp_echo: xen timer: %d single-shot timers of 10 ms, late by "
           "%llu us on average, %llu us at most\n",
           SHOTS, (unsigned long long)(total / SHOTS / TIME_NS_PER_US),
           (unsigned long long)(worst / TIME_NS_PER_US));
}

/* Thread "net": answer what the vif delivered, then wait on its port. */
static int net_thread(void *arg)
{
    (void)arg;
    xenabi_evtchn_port_t port;
    while (netfront_poll(nf) >= 0 && !quit) {
        if (netfront_port(nf, &port) < 0
            || evtchn_sched_wait(port, TIME_NEVER) < 0)
            break;
    }
    return 0;
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
    int rc = evtchn_sched_init();
    if (rc == -XENABI_ENOSYS) {
        printf("no Xen: netfront unavailable\n");
        return 0;
    }
    if (rc == 0) {
        time_print_info();
        measure_timer();
        measure_xen_timer();
        measure_timer(); /* again: the host's load varies */
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
    evtchn_sched_print_stats();
    struct sched_thread *net = sched_spawn("net", net_thread, NULL, NULL);
    if (net == NULL) {
        printf("udp_echo: cannot start thread net\n");
        return 1;
    }
    /*
     * main follows the vif's state through xenstore's watch events, and
     * looks for "quit" (set by thread net) at least every 200 ms.
     */
    while (!quit && netfront_connected(nf)) {
        if (xs_poll() < 0
            || evtchn_sched_wait_any(time_monotonic_ns() + QUIT_POLL_NS) < 0)
            break;
    }
    printf("udp_echo: vif closed after %lu echoes (%lu dropped)\n", echoed,
           dropped);
    struct netfront_stats ns;
    netfront_get_stats(nf, &ns);
    printf("udp_echo: tx: %llu frames in %llu ring slots (scatter-gather)\n",
           (unsigned long long)ns.tx_frames, (unsigned long long)ns.tx_slots);
    evtchn_sched_print_stats();
    sched_print_stats();
    if (!quit) {
        netfront_free(nf);
        return 0;
    }
    /* Asked to quit: net has ended; detach cleanly, count every grant. */
    sched_join(net, NULL);
    printf("udp_echo: quit: closing the vif\n");
    rc = netfront_close(nf);
    netfront_free(nf);
    /* Grants the backend still held at Closed: give it 5 s to let go. */
    unsigned held = gnttab_reclaim_deferred();
    uint64_t give_up = time_monotonic_ns() + 5 * TIME_NS_PER_S;
    while (held != 0 && time_monotonic_ns() < give_up) {
        (void)evtchn_sched_wait_any(time_monotonic_ns() + QUIT_POLL_NS);
        held = gnttab_reclaim_deferred();
    }
    printf("udp_echo: closed (frontend Closed): %d\n", rc);
    size_t live = gnttab_print_summary("udp_echo");
    return rc < 0 || live != 0 ? 1 : 0;
}
