/*
 * //libos/stream:vchan on the host: the real stream code (libos/stream/
 * vchan.c over //drivers/vchan, event channels on //libos/sched's host
 * runtime) serves an echo, as examples/stream_echo does, to a simulated
 * libxenvchan client in the backend domain of //testing/xensim
 * (//drivers/vchan/tests:peer, written from the protocol, not from the
 * driver). The client logic is tests/xenlab/stream-client.py's: send
 * seeded pseudo-random bytes while reading the echo, compare by SHA-256;
 * then many connections in turn, each echoing a line that names it. Also:
 * small rings wrapped many times with odd sizes, and a client that closes
 * mid-stream (the server's write fails with -EPIPE or its read ends; the
 * next client is served; no grant or mapping is left).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <gnttab/gnttab.h>
#include <hostsched/hostsched.h>
#include <platform/xen/guest.h>
#include <sched/sched.h>
#include <stream/stream.h>
#include <testing/check.h>
#include <time/time.h>
#include <xensim/sim.h>
#include <xenstore/xenstore.h>

#include "drivers/vchan/tests/peer.h"
#include "sha256.h"

#define MS TIME_NS_PER_MS
#define EXCHANGE_NS (120 * TIME_NS_PER_S) /* simulated: stream-client's TIMEOUT */

/* What the image's xen_guest_start() does (//libos/platform/xen:guest),
 * but the toolstack's shutdown watch, which the simulated store does not
 * serve: event channels on the scheduler, grants, xenstore. Once per
 * test (xensim's fixture gives each test a fresh hypervisor). */
static bool started;
static int result;

int xen_guest_start(void)
{
    if (started)
        return result;
    result = evtchn_init();
    if (result == 0)
        result = evtchn_sched_start();
    if (result == 0)
        result = gnttab_init();
    if (result == 0)
        result = xs_init();
    started = true;
    return result;
}

/* ---- the server: examples/stream_echo's loop, for `conns` connections -- */

#define MAX_CONNS 64

struct server {
    uint16_t port;
    int conns;
    int closed;               /* connections served and closed */
    long end[MAX_CONNS];      /* how each ended: 0 (read end) or -errno */
    size_t echoed[MAX_CONNS]; /* bytes written back */
    struct stream_listener *l; /* kept: stream.h has no way to free it */
};

static int serve(void *arg)
{
    struct server *sv = arg;
    if (stream_listen(sv->port, &sv->l) != 0)
        return -1;
    for (int i = 0; i < sv->conns; i++) {
        struct stream *s;
        int rc = stream_accept(sv->l, &s);
        if (rc != 0)
            return rc;
        char buf[4096];
        long n;
        for (;;) {
            n = stream_read(s, buf, sizeof(buf));
            if (n <= 0)
                break;
            long w = stream_write(s, buf, (size_t)n);
            if (w != n) {
                n = w;
                break;
            }
            sv->echoed[i] += (size_t)w;
        }
        sv->end[i] = n;
        stream_close(s);
        sv->closed++;
    }
    return 0;
}

static struct sched_thread *start_server(struct server *sv, uint16_t port,
                                         int conns, unsigned order)
{
    char word[32];
    snprintf(word, sizeof(word), "vchan_ring_order=%u", order);
    char *argv[] = {"test", word};
    char err[STREAM_ERROR_MAX];
    if (!CHECK_EQ(stream_start(2, argv, err), 0))
        puts(err);
    memset(sv, 0, sizeof(*sv));
    sv->port = port;
    sv->conns = conns;
    return sched_spawn("server", serve, sv, NULL);
}

/* ---- the client: stream-client.py's logic ------------------------------ */

static uint32_t grants_in_use(void)
{
    struct gnttab_stats st;
    gnttab_get_stats(&st);
    return st.in_use;
}

/* Wait (simulated time) until cond(arg) or the deadline; true if cond. */
static bool await(bool (*cond)(void *), void *arg, uint64_t ns)
{
    uint64_t deadline = time_monotonic_ns() + ns;
    while (!cond(arg)) {
        if (time_monotonic_ns() >= deadline)
            return false;
        sched_sleep_ns(MS);
    }
    return true;
}

struct wait_closed {
    struct server *sv;
    int n;
};

static bool closed_n(void *arg)
{
    struct wait_closed *w = arg;
    return w->sv->closed >= w->n;
}

/* Connect a new client to the server's next channel: only once the
 * previous connection is closed, since its nodes stay until then (the
 * Python client waits for a new ring-ref for the same reason). */
static struct peer *connect_client(struct server *sv, int conn,
                                   uint32_t chunk)
{
    struct wait_closed w = {sv, conn};
    if (!CHECK(await(closed_n, &w, EXCHANGE_NS)))
        return NULL;
    char rel[40];
    snprintf(rel, sizeof(rel), "data/stream/%u", (unsigned)sv->port);
    return peer_create(rel, PEER_SINK, chunk);
}

struct want {
    struct peer *p;
    size_t len;
};

static bool received_all(void *arg)
{
    struct want *w = arg;
    size_t got;
    (void)peer_received(w->p, &got);
    return got >= w->len;
}

/* Send `data` while the echo comes back; true if the same bytes came
 * back (SHA-256 and length, as stream-client.py reports it). */
static bool exchange(struct peer *p, const uint8_t *data, size_t len,
                     const char *what)
{
    peer_send(p, data, len);
    struct want w = {p, len};
    (void)await(received_all, &w, EXCHANGE_NS);
    size_t got_len;
    const uint8_t *got = peer_received(p, &got_len);
    uint8_t want_sum[SHA256_LEN], got_sum[SHA256_LEN];
    sha256(data, len, want_sum);
    sha256(got, got_len, got_sum);
    bool same = got_len == len && memcmp(want_sum, got_sum, SHA256_LEN) == 0;
    if (!same)
        printf("  %s: %zu of %zu bytes came back, sha256 %02x%02x%02x%02x.. != "
               "%02x%02x%02x%02x..\n",
               what, got_len, len, got_sum[0], got_sum[1], got_sum[2],
               got_sum[3], want_sum[0], want_sum[1], want_sum[2], want_sum[3]);
    return same;
}

static void fill(uint8_t *buf, size_t len, uint64_t seed)
{
    rng_seed(seed);
    for (size_t i = 0; i < len; i += 8) {
        uint64_t r = rng_next();
        for (size_t k = 0; k < 8 && i + k < len; k++)
            buf[i + k] = (uint8_t)(r >> (8 * k));
    }
}

static uint8_t big[(1 << 20) + 3];

static void boot(void)
{
    evtchn_sched_stop(); /* the previous test's hypervisor is gone */
    started = false;
    host_reset();
    CHECK_EQ(xen_guest_start(), 0);
}

/* stream-client.py's default run: 1 MiB echoed, then 20 connections. */
static void test_bulk_and_connections(void)
{
    boot();
    uint32_t grants = grants_in_use();
    struct server sv;
    struct sched_thread *t = start_server(&sv, 7, 21, 15);
    CHECK(t != NULL);

    struct peer *p = connect_client(&sv, 0, 65536);
    fill(big, 1 << 20, 7);
    CHECK(exchange(p, big, 1 << 20, "bulk"));
    peer_close(p);
    peer_destroy(p);

    int ok = 0;
    for (int i = 1; i <= 20; i++) {
        char line[32];
        int n = snprintf(line, sizeof(line), "connection %d\n", i - 1);
        p = connect_client(&sv, i, 65536);
        if (p == NULL)
            break;
        ok += exchange(p, (const uint8_t *)line, (size_t)n, "connection");
        peer_close(p);
        peer_destroy(p);
    }
    CHECK_EQ(ok, 20);
    int status = -99;
    CHECK_EQ(sched_join(t, &status), 0);
    CHECK_EQ(status, 0);
    CHECK_EQ(sv.closed, 21);
    CHECK_EQ(sv.echoed[0], (size_t)1 << 20);
    for (int i = 0; i < 21; i++)
        CHECK_EQ(sv.end[i], 0); /* each ended by the client's close */
    CHECK_EQ(grants_in_use(), grants);
    CHECK_EQ(sim_gnttab_mapped(), 0);
}

/* Rings of 4 KiB each way (vchan_ring_order=12), sizes around and far
 * beyond them, read by the client in odd chunks: the indices wrap the
 * rings hundreds of times at every offset. */
static void test_ring_wrap_odd_sizes(void)
{
    boot();
    static const size_t sizes[] = {1, 4095, 4096, 4097, 12289, 65537,
                                   (1 << 20) + 3};
    static const uint32_t chunks[] = {1, 4093, 1000, 4096, 777, 4099, 2049};
    const int n = (int)(sizeof(sizes) / sizeof(sizes[0]));
    struct server sv;
    struct sched_thread *t = start_server(&sv, 8, n, 12);
    CHECK(t != NULL);
    for (int i = 0; i < n; i++) {
        struct peer *p = connect_client(&sv, i, chunks[i]);
        if (p == NULL)
            break;
        fill(big, sizes[i], 100 + (uint64_t)i);
        char what[48];
        snprintf(what, sizeof(what), "%zu bytes, chunks of %u", sizes[i],
                 (unsigned)chunks[i]);
        CHECK_MSG(exchange(p, big, sizes[i], what), what);
        peer_close(p);
        peer_destroy(p);
    }
    int status = -99;
    CHECK_EQ(sched_join(t, &status), 0);
    CHECK_EQ(status, 0);
    for (int i = 0; i < n; i++)
        CHECK_EQ(sv.echoed[i], sizes[i]);
}

/* The client closes with most of its bytes still to come back: it
 * reads the echo of its first 20,000 bytes, then sends 280,000 more but
 * stops reading (the server's ring to it fills, so the server waits in
 * stream_write) and closes. The server's write fails with -EPIPE, it
 * closes, and the next client is served on a new channel. */
static void test_client_closes_mid_stream(void)
{
    boot();
    uint32_t grants = grants_in_use();
    struct server sv;
    struct sched_thread *t = start_server(&sv, 9, 2, 12);
    CHECK(t != NULL);
    struct peer *p = connect_client(&sv, 0, 1500);
    fill(big, 300000, 9);
    CHECK(exchange(p, big, 20000, "first part"));
    peer_set_mode(p, PEER_IDLE);
    peer_send(p, big + 20000, 280000);
    sched_sleep_ns(100 * MS);
    CHECK_EQ(sv.closed, 0); /* stuck writing to a client that does not read */
    peer_close(p);
    peer_destroy(p);
    p = connect_client(&sv, 1, 4096);
    CHECK(p != NULL);
    if (p != NULL) {
        CHECK(exchange(p, (const uint8_t *)"after\n", 6, "after"));
        peer_close(p);
        peer_destroy(p);
    }
    int status = -99;
    CHECK_EQ(sched_join(t, &status), 0);
    CHECK_EQ(status, 0);
    printf("  mid-stream close: the server echoed %zu bytes, then %ld\n",
           sv.echoed[0], sv.end[0]);
    CHECK_EQ(sv.end[0], -EPIPE);
    CHECK(sv.echoed[0] >= 20000 && sv.echoed[0] < 300000);
    CHECK_EQ(sv.end[1], 0);
    CHECK_EQ(grants_in_use(), grants);
    CHECK_EQ(sim_gnttab_mapped(), 0);
}

int main(void)
{
    sched_init();
    RUN(test_bulk_and_connections);
    RUN(test_ring_wrap_odd_sizes);
    RUN(test_client_closes_mid_stream);
    return check_finish();
}
