/*
 * vchan_echo: a line echo service on a vchan (//drivers/vchan), for a
 * peer in another domain speaking libxenvchan (tests/xenlab's dom0 uses
 * libxenvchan itself, from python3).
 *
 * The unikernel is the server: it shares a channel with domain 0 (or
 * peer=N on the command line), rings of 4 KiB (client -> server) and
 * 8 KiB (server -> client), announced at <home>/data/vchan-echo. Once the
 * client is there it sends "vchan_echo ready\n", then answers every line
 * with "echo " and the line, and "quit" with "bye\n". It then waits for
 * the client to close its end, closes its own (the xenstore nodes go,
 * the grants end once the client has unmapped them) and prints the grant
 * accounting: a clean shutdown leaves no grant outstanding.
 *
 * With "connect=PATH" on the command line the roles swap: the unikernel
 * is the client of a libxenvchan server in domain `peer` that announced
 * itself at the absolute xenstore path PATH (it waits up to a minute for
 * it). It maps the server's pages (over frames it gave back to Xen, see
 * vchan.c) and speaks the same protocol: "vchan_echo ready", echoes,
 * "bye"; then it closes its end (unmapping) and prints the accounting.
 *
 * Lines may be longer than either ring (up to LINE_MAX bytes): both ends
 * then wait for each other through the notify bits and the event channel.
 *
 * Without Xen (QEMU), it says so and exits 0.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <gnttab/gnttab.h>
#include <time/time.h>
#include <vchan/vchan.h>
#include <xencons/xencons.h>
#include <xenstore/xenstore.h>


#define PATH "data/vchan-echo"
#define LEFT_ORDER 12  /* client -> server: one page */
#define RIGHT_ORDER 13 /* server -> client: two pages */
#define LINE_MAX 32768
/* How long to wait (the monotonic clock: Xen's pvclock): */
#define PEER_WAIT_NS 60000000000ULL  /* for the peer to come, and to leave */
#define UNMAP_WAIT_NS 5000000000ULL  /* for it to unmap our pages */
/*
 * How often to look again without an event: some conditions change with
 * no event to us (a xenstore node appearing that we do not watch, the
 * peer unmapping our grants).
 */
#define RECHECK_NS 100000000ULL

/* Wait for events until done(v) or `ns` passed; returns done(v). */
static bool wait_until(bool (*done)(struct vchan *), struct vchan *v,
                       uint64_t ns)
{
    uint64_t end = time_monotonic_ns() + ns;
    while (!done(v)) {
        uint64_t now = time_monotonic_ns();
        if (now >= end)
            return false;
        (void)evtchn_sched_wait_any(now + RECHECK_NS);
    }
    return true;
}

static bool peer_here(struct vchan *v) { return vchan_peer_connected(v); }
static bool peer_left(struct vchan *v) { return !vchan_peer_connected(v); }
static bool unmapped(struct vchan *v)
{
    (void)v;
    return gnttab_reclaim_deferred() == 0;
}

static char line[LINE_MAX + 8];
static const char ECHO[] = "echo ";

/* Read one line (without the newline) into `line`; returns its length. */
static long read_line(struct vchan *v)
{
    size_t n = 0;
    for (;;) {
        if (n == LINE_MAX)
            return -XENABI_E2BIG;
        long rc = vchan_read_exact(v, line + sizeof(ECHO) - 1 + n, 1);
        if (rc < 0)
            return rc;
        if (line[sizeof(ECHO) - 1 + n] == '\n')
            return (long)n;
        n++;
    }
}

static int serve(struct vchan *v)
{
    unsigned lines = 0;
    unsigned long long bytes_in = 0, bytes_out = 0;
    static const char ready[] = "vchan_echo ready\n";
    long rc = vchan_write_all(v, ready, sizeof(ready) - 1);
    bytes_out += sizeof(ready) - 1;
    while (rc >= 0) {
        rc = read_line(v);
        if (rc < 0)
            break;
        size_t n = (size_t)rc;
        bytes_in += n + 1;
        char *text = line + sizeof(ECHO) - 1;
        if (n == 4 && memcmp(text, "quit", 4) == 0) {
            rc = vchan_write_all(v, "bye\n", 4);
            bytes_out += 4;
            printf("vchan_echo: quit after %u lines (%llu bytes in, %llu "
                   "out)\n",
                   lines, bytes_in, bytes_out);
            break;
        }
        lines++;
        if (n <= 60)
            printf("vchan_echo: line %u: \"%.*s\"\n", lines, (int)n, text);
        else
            printf("vchan_echo: line %u: %zu bytes\n", lines, n);
        memcpy(line, ECHO, sizeof(ECHO) - 1);
        text[n] = '\n';
        rc = vchan_write_all(v, line, sizeof(ECHO) - 1 + n + 1);
        bytes_out += sizeof(ECHO) - 1 + n + 1;
    }
    return rc < 0 ? (int)rc : 0;
}

static int report(int rc);

static unsigned peer_from_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "peer=", 5) == 0)
            return (unsigned)strtoul(argv[i] + 5, NULL, 10);
    return 0;
}

static const char *connect_from_args(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], "connect=", 8) == 0)
            return argv[i] + 8;
    return NULL;
}

/*
 * After the unmap, the pages the mappings used are back in the heap: new
 * allocations (which reuse them first) must be memory again, not holes
 * in the p2m where writes vanish.
 */
#define HEAP_CHECK_PAGES 16
static int heap_check(void)
{
    uint32_t *pages[HEAP_CHECK_PAGES];
    unsigned bad = 0;
    for (unsigned i = 0; i < HEAP_CHECK_PAGES; i++) {
        pages[i] = aligned_alloc(4096, 4096);
        if (pages[i] == NULL)
            return -XENABI_ENOMEM;
        for (unsigned w = 0; w < 1024; w++)
            pages[i][w] = i << 16 | w;
    }
    for (unsigned i = 0; i < HEAP_CHECK_PAGES; i++) {
        for (unsigned w = 0; w < 1024; w++)
            if (pages[i][w] != (i << 16 | w)) {
                bad++;
                break;
            }
        free(pages[i]);
    }
    printf("vchan_echo: heap after the unmap: %u pages written and read "
           "back, %u bad\n",
           HEAP_CHECK_PAGES, bad);
    return bad == 0 ? 0 : -XENABI_EIO;
}

/* The client role: wait for the server's nodes, connect, serve, close. */
static int client(unsigned peer, const char *path)
{
    char key[256];
    snprintf(key, sizeof(key), "%s/event-channel", path);
    uint32_t port;
    uint64_t end = time_monotonic_ns() + PEER_WAIT_NS;
    while (xs_read_u32(XS_TX_NONE, key, &port) < 0
           && time_monotonic_ns() < end)
        (void)evtchn_sched_wait_any(time_monotonic_ns() + RECHECK_NS);
    struct vchan *v = NULL;
    int rc = vchan_client_open((xenabi_domid_t)peer, path, &v);
    if (rc < 0) {
        printf("vchan_echo: cannot connect to dom%u at %s: error %d\n", peer,
               path, rc);
        return rc;
    }
    printf("vchan_echo: connected to dom%u at %s as the client (rings %zu "
           "in, %zu out)\n",
           peer, path, vchan_read_size(v), vchan_write_size(v));
    rc = serve(v);
    struct vchan_stats vs;
    vchan_get_stats(v, &vs);
    printf("vchan_echo: %llu bytes read, %llu written, %llu events sent, "
           "%llu waits\n",
           (unsigned long long)vs.read, (unsigned long long)vs.written,
           (unsigned long long)vs.notifies, (unsigned long long)vs.waits);
    vchan_close(v); /* unmaps the server's pages */
    printf("vchan_echo: closed the client end\n");
    int heap = heap_check();
    return rc < 0 ? rc : heap;
}

int main(int argc, char **argv)
{
    /* Event channels on the scheduler: waits park main, the vcpu blocks. */
    int rc = evtchn_sched_init();
    if (rc == -XENABI_ENOSYS) {
        puts("no Xen: vchan unavailable");
        return 0;
    }
    unsigned peer = peer_from_args(argc, argv);
    /* From here on the console is //drivers/xencons's, not the boot's. */
    if (rc == 0 && (rc = xencons_stdout_init()) == 0)
        puts("vchan_echo: console through //drivers/xencons");
    if (rc == 0) {
        time_print_info();
        rc = gnttab_init();
    }
    if (rc == 0)
        rc = xs_init();
    uint32_t self = 0;
    if (rc == 0)
        rc = xs_read_u32(XS_TX_NONE, "domid", &self);
    const char *connect = connect_from_args(argc, argv);
    if (rc == 0 && connect != NULL) {
        rc = client(peer, connect);
        return report(rc);
    }
    struct vchan *v = NULL;
    if (rc == 0)
        rc = vchan_server_open((xenabi_domid_t)peer, PATH, LEFT_ORDER,
                               RIGHT_ORDER, &v);
    if (rc < 0) {
        printf("vchan_echo: no channel: error %d\n", rc);
        return 1;
    }
    printf("vchan_echo: serving dom%u at /local/domain/%u/" PATH
           " (rings %zu in, %zu out)\n",
           peer, (unsigned)self, vchan_read_size(v), vchan_write_size(v));
    if (!wait_until(peer_here, v, PEER_WAIT_NS)) {
        printf("vchan_echo: no client came\n");
        rc = -XENABI_ETIMEDOUT;
    } else {
        printf("vchan_echo: client connected\n");
        rc = serve(v);
    }
    /* Let the client close first: it unmaps our pages as it goes. */
    if (rc == 0)
        (void)wait_until(peer_left, v, PEER_WAIT_NS);
    struct vchan_stats vs;
    vchan_get_stats(v, &vs);
    printf("vchan_echo: client %s; %llu bytes read, %llu written, %llu "
           "events sent, %llu waits\n",
           vchan_peer_connected(v) ? "still connected" : "closed",
           (unsigned long long)vs.read, (unsigned long long)vs.written,
           (unsigned long long)vs.notifies, (unsigned long long)vs.waits);
    vchan_close(v);
    /* Grants the client still mapped were deferred: retry a while. */
    (void)wait_until(unmapped, NULL, UNMAP_WAIT_NS);
    return report(rc);
}

/* The grant accounting (0 outstanding after a clean close), the verdict. */
static int report(int rc)
{
    evtchn_sched_print_stats();
    struct time_stats ts;
    time_get_stats(&ts);
    printf("vchan_echo: time: %llu ms since boot, %llu idle blocks, %llu "
           "timer events (%llu already past, %llu early by up to %llu "
           "us), %llu ms idle\n",
           (unsigned long long)(time_monotonic_ns() / TIME_NS_PER_MS),
           (unsigned long long)ts.blocks,
           (unsigned long long)ts.timer_interrupts,
           (unsigned long long)ts.timer_past,
           (unsigned long long)ts.timer_early,
           (unsigned long long)(ts.timer_early_max_ns / TIME_NS_PER_US),
           (unsigned long long)(ts.idle_ns / TIME_NS_PER_MS));
    printf("vchan_echo: pvclock: %llu reads with the TSC behind the stamp, "
           "by up to %llu ticks\n",
           (unsigned long long)ts.pvclock_behind,
           (unsigned long long)ts.pvclock_behind_max_ticks);
    if (gnttab_print_summary("vchan_echo") != 0 && rc == 0)
        rc = -XENABI_EBUSY;
    if (rc < 0)
        printf("vchan_echo: failed: %d\n", rc);
    else
        printf("vchan_echo: ok\n");
    return rc < 0 ? 1 : 0;
}
