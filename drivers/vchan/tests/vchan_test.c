/*
 * vchan as a server against a simulated client (round trips both ways,
 * a full ring, large transfers wrapping small and multi-page rings, the
 * notify bits, the xenstore nodes), and as a client attached to pages a
 * test server set up.
 */
#include <stdio.h>

#include "common.h"

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 31 + seed + (i >> 8));
}

static void test_handshake_nodes(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 10, 11, PEER_IDLE, 0);
    char buf[32];
    CHECK(sim_xs_read("/local/domain/1/" REL "/ring-ref", buf, sizeof(buf))
          > 0);
    CHECK(sim_xs_read("/local/domain/1/" REL "/event-channel", buf,
                      sizeof(buf))
          > 0);
    CHECK_EQ(vchan_read_size(v), 1024);
    CHECK_EQ(vchan_write_size(v), 2048);
    CHECK_EQ(grants_in_use(), 1); /* rings inside the control page */
    struct sim_xs_stats xst;
    sim_xs_get_stats(&xst);
    CHECK_EQ(xst.perms_set, 2); /* ring-ref and event-channel */
    finish(v, p);
    /* The nodes went with the channel. */
    CHECK(sim_xs_read("/local/domain/1/" REL "/ring-ref", buf, sizeof(buf))
          < 0);
}

static void test_round_trip(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 11, 10, PEER_ECHO, 4096);
    char got[6] = "";
    CHECK_EQ(vchan_write_all(v, "hello", 5), 5);
    CHECK_EQ(vchan_read_exact(v, got, 5), 5);
    CHECK(memcmp(got, "hello", 5) == 0);
    /* The client speaks first. */
    peer_set_mode(p, PEER_IDLE);
    peer_send(p, "from the client", 15);
    char buf[16] = "";
    CHECK_EQ(vchan_read_exact(v, buf, 15), 15);
    CHECK(memcmp(buf, "from the client", 15) == 0);
    CHECK_EQ(vstats(v).bad_index, 0);
    finish(v, p);
}

/* Stream n bytes through the echoing client, never blocking both ways. */
static void stream(unsigned lo, unsigned ro, size_t n, uint32_t chunk)
{
    struct peer *p;
    struct vchan *v = serve(&p, lo, ro, PEER_ECHO, chunk);
    uint8_t *src = malloc(n), *dst = malloc(n);
    pattern(src, n, lo + ro);
    size_t sent = 0, got = 0;
    while (got < n) {
        long w = vchan_write(v, src + sent, n - sent);
        long r = vchan_read(v, dst + got, n - got);
        if (!CHECK(w >= 0 && r >= 0))
            break;
        sent += (size_t)w;
        got += (size_t)r;
        if (w == 0 && r == 0 && !CHECK(sim_run() > 0))
            break;
    }
    CHECK_EQ(got, n);
    CHECK(memcmp(src, dst, n) == 0);
    CHECK_EQ(vstats(v).written, n);
    CHECK_EQ(vstats(v).read, n);
    free(src);
    free(dst);
    finish(v, p);
}

static void test_large_transfer_small_rings(void)
{
    stream(10, 11, 100000, 700); /* 700: chunks that straddle the wrap */
}

static void test_large_transfer_page_rings(void)
{
    stream(13, 12, 300000, 5000);
    stream(15, 10, 200000, 40000);
}

static void test_blocking_forms_wait(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 10, 10 + 1, PEER_ECHO, 300);
    enum { N = 20000 };
    static uint8_t src[N], dst[N];
    pattern(src, N, 7);
    /* More than both rings hold: alternate blocking writes and reads. */
    for (size_t off = 0; off < N; off += 1000) {
        CHECK_EQ(vchan_write_all(v, src + off, 1000), 1000);
        CHECK_EQ(vchan_read_exact(v, dst + off, 1000), 1000);
    }
    CHECK(memcmp(src, dst, N) == 0);
    CHECK(vstats(v).waits > 0);
    finish(v, p);
}

static void test_ring_full_and_notify_bits(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 10, 11, PEER_IDLE, 1 << 16);
    static uint8_t big[5000];
    uint64_t events = peer_events_received(p);
    /* The client asked for nothing: writing sends no event. */
    CHECK_EQ(vchan_write(v, big, 100), 100);
    CHECK_EQ(peer_events_received(p), events);
    /* Now it asks to hear of writes: one event, and the bit is consumed. */
    peer_request(p, XENABI_VCHAN_NOTIFY_WRITE);
    CHECK_EQ(vchan_write(v, big, 100), 100);
    sim_run();
    CHECK_EQ(peer_events_received(p), events + 1);
    CHECK_EQ(vchan_write(v, big, 100), 100);
    sim_run();
    CHECK_EQ(peer_events_received(p), events + 1);
    /* Fill the 2 KiB ring. */
    CHECK_EQ(vchan_write(v, big, sizeof(big)), 2048 - 300);
    CHECK_EQ(vchan_write(v, big, 1), 0);
    CHECK_EQ(vchan_buffer_space(v), 0);
    /* A blocking write on a ring nobody drains: the simulator proves no
     * one can wake us; on the way we asked to hear of the next read. */
    CHECK_EQ(vchan_write_all(v, big, 10), -XENABI_ETIMEDOUT);
    CHECK_EQ(peer_cli_notify(p) & XENABI_VCHAN_NOTIFY_READ,
             XENABI_VCHAN_NOTIFY_READ);
    /* The client drains, sees our request and signals. */
    peer_set_mode(p, PEER_SINK);
    sim_run();
    CHECK_EQ(vchan_buffer_space(v), 2048);
    CHECK_EQ(peer_cli_notify(p) & XENABI_VCHAN_NOTIFY_READ, 0);
    CHECK_EQ(vchan_write_all(v, big, 10), 10);
    size_t len;
    peer_received(p, &len);
    sim_run();
    peer_received(p, &len);
    CHECK_EQ(len, 2048 + 10); /* the full ring, then the 10 */
    finish(v, p);
}

static void test_peer_exit_ends_waits(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 10, 11, PEER_IDLE, 0);
    peer_send(p, "bye", 3);
    sim_run();
    peer_disconnect(p);
    char buf[8];
    CHECK(!vchan_peer_connected(v));
    CHECK_EQ(vchan_read_exact(v, buf, 3), 3); /* what it sent is still read */
    CHECK_EQ(vchan_read_exact(v, buf, 1), -XENABI_ENOTCONN);
    CHECK_EQ(vchan_write_all(v, buf, 1), -XENABI_ENOTCONN);
    finish(v, p);
}

static void test_bad_server_arguments(void)
{
    boot();
    struct vchan *v = NULL;
    CHECK_EQ(vchan_server_open(0, REL, 9, 11, &v), -XENABI_EINVAL);
    CHECK_EQ(vchan_server_open(0, REL, 11, 11, &v), -XENABI_EINVAL);
    CHECK_EQ(vchan_server_open(0, REL, 10, 16, &v), -XENABI_EINVAL);
    CHECK_EQ(vchan_server_open(0, NULL, 10, 11, &v), -XENABI_EINVAL);
    CHECK(v == NULL);
    CHECK_EQ(grants_in_use(), 0);
    /* Client open needs grant mapping, which the simulator lacks. */
    CHECK_EQ(vchan_client_open(0, "/local/domain/0/" REL, &v),
             -XENABI_ENOENT);
}

/* ---- the client role, on pages a test "server" set up by hand ---- */

static _Alignas(4096) uint8_t ctrl_page[4096];
static _Alignas(4096) uint8_t left_pages[2 * 4096];

static void no_op(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
}

static struct vchan *client(unsigned lo, unsigned ro, uint32_t *peer_port)
{
    boot();
    memset(ctrl_page, 0, sizeof(ctrl_page));
    memset(left_pages, 0, sizeof(left_pages));
    struct xenabi_vchan_interface *c = (void *)ctrl_page;
    c->left_order = (uint16_t)lo;
    c->right_order = (uint16_t)ro;
    c->cli_live = XENABI_VCHAN_LIVE_WAITING;
    c->srv_live = XENABI_VCHAN_LIVE_CONNECTED;
    xenabi_evtchn_port_t port;
    CHECK_EQ(evtchn_alloc_unbound(SIM_BACKEND_DOMID, &port), 0);
    CHECK_EQ(sim_evtchn_bind(port, no_op, NULL, peer_port), 0);
    struct vchan *v = NULL;
    CHECK_EQ(vchan_client_attach(c, lo >= 12 ? left_pages : NULL, NULL, port,
                                 &v),
             0);
    CHECK_EQ(c->cli_live, XENABI_VCHAN_LIVE_CONNECTED);
    return v;
}

static void test_client_role(void)
{
    uint32_t sport;
    struct vchan *v = client(13, 10, &sport);
    struct xenabi_vchan_interface *c = (void *)ctrl_page;
    CHECK_EQ(vchan_write_size(v), 8192);
    CHECK_EQ(vchan_read_size(v), 1024);
    CHECK_EQ(sim_evtchn_received(sport), 1); /* "I am here" */
    /* The server writes 1000 bytes, twice, wrapping the 1 KiB ring. */
    uint8_t *right = ctrl_page + 1024;
    uint8_t got[1000], want[1000];
    for (int round = 0; round < 2; round++) {
        pattern(want, sizeof(want), (unsigned)round);
        for (unsigned i = 0; i < 1000; i++)
            right[(c->right.prod + i) & 1023] = want[i];
        c->right.prod += 1000;
        CHECK_EQ(vchan_read_exact(v, got, 1000), 1000);
        CHECK(memcmp(got, want, 1000) == 0);
        CHECK_EQ(c->right.cons, c->right.prod);
    }
    /* The client writes into the 8 KiB left ring. */
    pattern(want, sizeof(want), 9);
    c->cli_notify = XENABI_VCHAN_NOTIFY_WRITE; /* the server asked */
    CHECK_EQ(vchan_write(v, want, 1000), 1000);
    CHECK(memcmp(left_pages, want, 1000) == 0);
    CHECK_EQ(c->left.prod, 1000);
    CHECK_EQ(c->cli_notify, 0);
    sim_run();
    CHECK_EQ(sim_evtchn_received(sport), 2);
    /* A ring that needs pages but got none. */
    struct vchan *w = NULL;
    CHECK_EQ(vchan_client_attach(c, NULL, NULL, 0, &w), -XENABI_EINVAL);
    vchan_close(v);
    CHECK_EQ(c->cli_live, XENABI_VCHAN_LIVE_EXITED);
}

int main(void)
{
    RUN(test_handshake_nodes);
    RUN(test_round_trip);
    RUN(test_large_transfer_small_rings);
    RUN(test_large_transfer_page_rings);
    RUN(test_blocking_forms_wait);
    RUN(test_ring_full_and_notify_bits);
    RUN(test_peer_exit_ends_waits);
    RUN(test_bad_server_arguments);
    RUN(test_client_role);
    return check_finish();
}
