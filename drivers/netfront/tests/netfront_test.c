/*
 * netfront against the simulated netback (netback.h): the handshake up
 * and down, frames both ways with scatter-gather, back-pressure, rx
 * refill under load, a hostile backend whose bad responses must be
 * dropped and counted, never followed, and zero-copy receive (the page
 * the backend filled lent to the caller, a busy grant never lent, the
 * spare pool exhausted).
 */
#include <stdio.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <gnttab/gnttab.h>
#include <netfront/netfront.h>
#include <xenstore/xenstore.h>
#include <testing/check.h>
#include <xensim/sim.h>

#include "netback.h"

/* ---- the test's application: remembers what it received ---------------- */

#define GOT_MAX 64

static struct {
    uint64_t frames;
    uint8_t data[GOT_MAX][NETFRONT_MAX_FRAME];
    size_t len[GOT_MAX];
    unsigned flags[GOT_MAX]; /* netfront_rx_flags in the callback */
    uint32_t last_seq;
    bool in_order;
} got;

static struct netfront *nf;

static void on_frame(void *arg, const uint8_t *frame, size_t len)
{
    (void)arg;
    unsigned i = (unsigned)(got.frames % GOT_MAX);
    memcpy(got.data[i], frame, len);
    got.len[i] = len;
    got.flags[i] = netfront_rx_flags(nf);
    if (len >= 4) {
        uint32_t seq;
        memcpy(&seq, frame, 4);
        if (got.frames > 0 && seq != got.last_seq + 1)
            got.in_order = false;
        got.last_seq = seq;
    }
    got.frames++;
}

/* A frame whose bytes depend on its seed, and its first 4 bytes = seq. */
static void pattern(uint8_t *buf, size_t len, uint32_t seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 8));
    if (len >= 4)
        memcpy(buf, &seed, 4);
}

static uint8_t frame_buf[NETFRONT_MAX_FRAME];

static struct netback *nb;

static struct gnttab_stats grants(void)
{
    struct gnttab_stats st;
    gnttab_get_stats(&st);
    return st;
}

static struct netfront_stats stats(void)
{
    struct netfront_stats st;
    netfront_get_stats(nf, &st);
    return st;
}

/* The platform, a vif, and a netfront opened on it (not yet connected);
 * the backend offers feature-sg / feature-rx-copy as told. */
static void boot_with(const char *mac, bool sg, bool rx_copy)
{
    memset(&got, 0, sizeof(got));
    got.in_order = true;
    nb = netback_create(mac);
    nb->no_sg = !sg;
    nb->no_rx_copy = !rx_copy;
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(xs_init(), 0);
    nf = NULL;
    CHECK_EQ(netfront_open("device/vif/0", on_frame, NULL, &nf), 0);
}

static void boot(const char *mac)
{
    boot_with(mac, true, true);
}

static void up(void)
{
    boot(NB_MAC);
    CHECK_EQ(netfront_wait_connected(nf), 0);
    CHECK(netfront_connected(nf));
}

/* Let the backend run and the frontend poll until nothing moves. */
static void pump(void)
{
    for (int i = 0; i < 64; i++) {
        struct sim_stats before, after;
        sim_get_stats(&before);
        sim_run();
        int frames = netfront_poll(nf);
        sim_get_stats(&after);
        if (frames <= 0 && after.rounds - before.rounds <= 1
            && !sim_guest_port_pending(0))
            break;
    }
}

/* Close, and check nothing is left: no grant, no mapping, no frontend
 * error seen by the backend. */
static void down(void)
{
    CHECK_EQ(netfront_close(nf), 0);
    CHECK(!netfront_connected(nf));
    CHECK_EQ(grants().in_use, 0);
    CHECK_EQ(gnttab_report_leaks(), 0);
    CHECK_EQ(sim_gnttab_mapped(), 0);
    sim_run();
    CHECK_EQ(nb->state, XENABI_XENBUS_STATE_CLOSED);
    CHECK_EQ(nb->fe_errors, 0);
    netfront_free(nf);
    nf = NULL;
    netback_destroy();
}

static void check_node(const char *key, const char *want, int line)
{
    char path[160], buf[64] = "";
    snprintf(path, sizeof(path), "%s/%s", NB_FE, key);
    sim_xs_read(path, buf, sizeof(buf));
    check_true(strcmp(buf, want) == 0, key, __FILE__, line);
}
#define CHECK_NODE(key, want) check_node(key, want, __LINE__)

/* Send one frame of `len` bytes cut into `nfrags` uneven fragments. */
static int send_pattern(size_t len, unsigned nfrags, uint32_t seed)
{
    static uint8_t buf[NETFRONT_MAX_FRAME + 1];
    struct netfront_frag frags[8];
    pattern(buf, len, seed);
    size_t at = 0;
    for (unsigned i = 0; i < nfrags; i++) {
        size_t take = i + 1 == nfrags ? len - at : (len - at) / 3 + 1;
        if (take > len - at)
            take = len - at;
        frags[i].data = buf + at;
        frags[i].len = take;
        at += take;
    }
    return netfront_send(nf, frags, nfrags);
}

/* ---- tests ----------------------------------------------------------------- */

static void test_handshake_up_and_down(void)
{
    up();
    CHECK_EQ(nb->state, XENABI_XENBUS_STATE_CONNECTED);
    CHECK_NODE("request-rx-copy", "1");
    CHECK_NODE("feature-rx-notify", "1");
    CHECK_NODE("feature-sg", "1");
    /* Frames handed up must carry their checksums (the lab's tcp-echo-pv:
     * Linux's netback passed dom0's TCP on with blank ones). */
    CHECK_NODE("feature-no-csum-offload", "1");
    CHECK_NODE("state", "4");
    char ref[16];
    snprintf(ref, sizeof(ref), "%u", nb->tx_ref);
    CHECK_NODE("tx-ring-ref", ref);
    CHECK(nb->tx_ref != nb->rx_ref);
    CHECK(nb->tx_page != NULL && nb->rx_page != NULL);
    uint8_t mac[6];
    netfront_mac(nf, mac);
    const uint8_t want[6] = {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56};
    CHECK(memcmp(mac, want, 6) == 0);
    /* The port a scheduler waits on is the one netback bound to. */
    xenabi_evtchn_port_t port = 0;
    CHECK_EQ(netfront_port(nf, &port), 0);
    CHECK_EQ(port, sim_evtchn_peer(nb->port));
    /* Every rx slot carries a posted buffer: 2 ring grants + 256. */
    CHECK_EQ(stats().rx_posted, NETFRONT_RX_SLOTS);
    CHECK_EQ(grants().in_use, 2 + NETFRONT_RX_SLOTS);
    CHECK_EQ(xenabi_back_ring_pending(&nb->rx), NETFRONT_RX_SLOTS);
    down();
}

static void test_backend_closes(void)
{
    up();
    netback_close();
    sim_run();
    CHECK_EQ(netfront_poll(nf), -XENABI_ENOTCONN);
    CHECK_EQ(sim_gnttab_mapped(), 0);
    CHECK_EQ(grants().in_use, 0);
    CHECK_EQ(send_pattern(60, 1, 1), -XENABI_ENOTCONN);
    netfront_free(nf);
    sim_run();
    CHECK_EQ(nb->state, XENABI_XENBUS_STATE_CLOSED);
    netback_destroy();
}

static void test_bad_mac_fails_the_handshake(void)
{
    const char *bad[] = {"zz:16:3e:12:34:56", "01:16:3e:12:34:56",
                         "00:00:00:00:00:00", "00:16:3e:12:34",
                         "00:16:3e:12:34:56:", "00-16-3e-12-34-56"};
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sim_reset();
        boot(bad[i]);
        CHECK_EQ(netfront_wait_connected(nf), -XENABI_EINVAL);
        CHECK_EQ(grants().in_use, 0);
        netfront_free(nf);
        netback_destroy();
    }
    sim_reset();
    boot(NULL);
    CHECK_EQ(netfront_wait_connected(nf), -XENABI_ENOENT);
    netfront_free(nf);
    netback_destroy();
}

static void test_parse_mac(void)
{
    uint8_t mac[6] = {0};
    CHECK_EQ(netfront_parse_mac("AA:bb:0C:d0:E0:ff", mac), 0);
    CHECK(mac[0] == 0xaa && mac[2] == 0x0c && mac[5] == 0xff);
    CHECK_EQ(netfront_parse_mac("", mac), -XENABI_EINVAL);
    CHECK_EQ(netfront_parse_mac("aa:bb:cc:dd:ee:f", mac), -XENABI_EINVAL);
    CHECK_EQ(netfront_parse_mac("aa:bb:cc:dd:ee:fff", mac), -XENABI_EINVAL);
}

static void test_backend_without_rx_copy(void)
{
    boot_with(NB_MAC, true, false);
    CHECK_EQ(netfront_wait_connected(nf), -XENABI_EOPNOTSUPP);
    CHECK_EQ(grants().in_use, 0);
    netfront_free(nf);
    netback_destroy();
}

/* More fragments than slots a backend must accept: packed into a page. */
static void test_tx_many_fragments_are_packed(void)
{
    static uint8_t bytes[60];
    struct netfront_frag frags[NETFRONT_MAX_FRAME_SLOTS + 2];
    const size_t n = sizeof(frags) / sizeof(frags[0]);

    up();
    pattern(bytes, sizeof(bytes), 7);
    for (size_t i = 0; i < n; i++)
        frags[i] = (struct netfront_frag){bytes + i * 3, 3};
    CHECK_EQ(netfront_send(nf, frags, n), 0);
    pump();
    CHECK_EQ(nb->tx_frames, 1);
    CHECK_EQ(nb->sent[0].slots, 1);
    CHECK(nb->sent[0].len == 3 * n
          && memcmp(nb->sent[0].data, bytes, 3 * n) == 0);
    /* Exactly the limit: one slot each. */
    CHECK_EQ(netfront_send(nf, frags, NETFRONT_MAX_FRAME_SLOTS), 0);
    pump();
    CHECK_EQ(nb->sent[1].slots, NETFRONT_MAX_FRAME_SLOTS);
    down();
}

static void test_tx_frames_with_scatter_gather(void)
{
    up();
    const size_t sizes[] = {1, 60, 1514, 4095, 4096, 4097, 8192, 9000, 12288};
    /*
     * send_pattern splits size i into 1 + i % 4 fragments; each fragment
     * takes ceil(len / 4096) slots of its own: 1 | 60 = 21+39 |
     * 1514 = 505+505+504 | 4095 = 1366+910+607+1212 | 4096 | 4097 =
     * 1366+2731 | 8192 = 2731+1821+3640 | 9000 = 3001+2000+1334+2665 |
     * 12288.
     */
    const unsigned slots[] = {1, 2, 3, 4, 1, 2, 3, 4, 3};
    for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        CHECK_EQ(send_pattern(sizes[i], 1 + i % 4, 100 + i), 0);
        pump();
        CHECK_EQ(nb->tx_frames, i + 1);
        const struct nb_frame *f = &nb->sent[i];
        pattern(frame_buf, sizes[i], 100 + i);
        CHECK_EQ(f->len, sizes[i]);
        CHECK_EQ(f->slots, slots[i]);
        CHECK(f->len == sizes[i] && memcmp(f->data, frame_buf, f->len) == 0);
    }
    CHECK_EQ(stats().tx_frames, 9);
    CHECK_EQ(stats().tx_slots, 23);
    /* Every tx answer taken back: only the rings and rx buffers remain. */
    CHECK_EQ(grants().in_use, 2 + NETFRONT_RX_SLOTS);
    CHECK(nb->kicks > 0);
    CHECK_EQ(send_pattern(0, 1, 0), -XENABI_EINVAL);
    CHECK_EQ(send_pattern(NETFRONT_MAX_FRAME + 1, 2, 0), -XENABI_E2BIG);
    down();
}

static void test_rx_frames_with_scatter_gather(void)
{
    up();
    const size_t sizes[] = {1, 64, 1514, 4096, 4097, 8192, 12288, 65535};
    unsigned n = sizeof(sizes) / sizeof(sizes[0]);
    for (unsigned i = 0; i < n; i++) {
        pattern(frame_buf, sizes[i], 200 + i);
        netback_queue_rx(frame_buf, sizes[i]);
    }
    pump();
    CHECK_EQ(got.frames, n);
    for (unsigned i = 0; i < n && i < got.frames; i++) {
        pattern(frame_buf, sizes[i], 200 + i);
        CHECK_EQ(got.len[i], sizes[i]);
        CHECK(memcmp(got.data[i], frame_buf, sizes[i]) == 0);
    }
    CHECK_EQ(stats().rx_frames, n);
    CHECK_EQ(stats().bad_responses, 0);
    /* The ring is full of buffers again. */
    CHECK_EQ(grants().in_use, 2 + NETFRONT_RX_SLOTS);
    down();
}

static void test_echo_both_ways(void)
{
    up();
    nb->echo = true;
    for (uint32_t i = 0; i < 3; i++)
        CHECK_EQ(send_pattern(4096 * (i + 1) - 100, 3, 300 + i), 0);
    pump();
    CHECK_EQ(got.frames, 3);
    for (uint32_t i = 0; i < 3 && i < got.frames; i++) {
        size_t len = 4096 * (i + 1) - 100;
        pattern(frame_buf, len, 300 + i);
        CHECK(got.len[i] == len && memcmp(got.data[i], frame_buf, len) == 0);
    }
    down();
}

static void test_tx_ring_full_and_recovery(void)
{
    up();
    nb->manual_tx = true; /* the backend stops taking tx requests */
    unsigned sent = 0;
    while (send_pattern(60, 1, sent) == 0)
        sent++;
    CHECK_EQ(sent, NETFRONT_TX_SLOTS);
    CHECK_EQ(stats().tx_full, 1);
    CHECK_EQ(send_pattern(60, 1, 0), -XENABI_EAGAIN);
    /* The backend catches up; the slots come back. */
    nb->manual_tx = false;
    pump();
    CHECK_EQ(nb->tx_frames, NETFRONT_TX_SLOTS);
    /* A 3-page frame does not fit in 2 free slots. */
    nb->manual_tx = true;
    for (unsigned i = 0; i < NETFRONT_TX_SLOTS - 2; i++)
        CHECK_EQ(send_pattern(60, 1, i), 0);
    CHECK_EQ(send_pattern(9000, 2, 7), -XENABI_EAGAIN);
    CHECK_EQ(send_pattern(8000, 1, 8), 0); /* one fragment: 2 pages */
    nb->manual_tx = false;
    pump();
    CHECK_EQ(send_pattern(9000, 2, 9), 0);
    pump();
    CHECK_EQ(nb->tx_frames, 2 * NETFRONT_TX_SLOTS);
    pattern(frame_buf, 9000, 9);
    const struct nb_frame *f = &nb->sent[(nb->tx_frames - 1) % NB_SENT_MAX];
    CHECK(f->len == 9000 && memcmp(f->data, frame_buf, 9000) == 0);
    down();
}

static void test_backend_without_sg(void)
{
    boot_with(NB_MAC, false, true);
    CHECK_EQ(netfront_wait_connected(nf), 0);
    CHECK_EQ(send_pattern(4097, 2, 1), -XENABI_E2BIG);
    CHECK_EQ(send_pattern(4096, 2, 1), 0);
    pump();
    CHECK_EQ(nb->tx_frames, 1);
    down();
}

static void test_rx_refill_under_load(void)
{
    up();
    /* Four ring's worth of frames at once: netfront must repost
     * buffers as it receives, or the backend starves. */
    const uint32_t total = 4 * NETFRONT_RX_SLOTS + 17;
    for (uint32_t i = 0; i < total; i++) {
        size_t len = 60 + (i * 97) % 5000; /* some take two slots */
        pattern(frame_buf, len, i);
        netback_queue_rx(frame_buf, len);
    }
    for (int i = 0; i < 200 && got.frames < total; i++)
        pump();
    CHECK_EQ(got.frames, total);
    CHECK(got.in_order);
    CHECK_EQ(nb->rxq_len, 0);
    CHECK(stats().rx_posted >= total + NETFRONT_RX_SLOTS);
    CHECK(grants().peak <= 2 + NETFRONT_RX_SLOTS);
    CHECK_EQ(grants().in_use, 2 + NETFRONT_RX_SLOTS);
    CHECK_EQ(stats().bad_responses, 0);
    down();
}

/* ---- a hostile backend ------------------------------------------------------- */

static void test_malicious_rx_responses(void)
{
    up();
    nb->manual_rx = true;
    struct xenabi_netif_rx_request r[8];
    for (int i = 0; i < 8; i++)
        CHECK(netback_take_rx(&r[i]));
    const char hello[] = "hello";
    netback_fill(r[0].gref, 0, hello, 5);
    netback_put_rx(r[0].id, 0, 0, 5);                   /* good */
    netback_put_rx(r[0].id, 0, 0, 5);                   /* duplicate */
    netback_put_rx(999, 0, 0, 5);                       /* id out of range */
    netback_put_rx(r[1].id, 4000, 0, 200);              /* beyond the page */
    netback_put_rx(r[2].id, 0, 0, 0);                   /* empty */
    netback_put_rx(r[3].id, 0, 0, -7);                  /* bogus status */
    netback_put_rx(r[4].id, 2, 0, 4095);                /* a byte over */
    /* A chain with a bad middle slot: dropped whole. */
    netback_put_rx(r[5].id, 0, XENABI_NETRXF_MORE_DATA, 100);
    netback_put_rx(0xffff, 0, XENABI_NETRXF_MORE_DATA, 100);
    netback_put_rx(r[6].id, 0, 0, 100);
    /* A frame the backend reports as failed: counted, not delivered. */
    netback_put_rx(r[7].id, 0, 0, XENABI_NETIF_RSP_ERROR);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 1);
    CHECK_EQ(got.frames, 1);
    CHECK(got.len[0] == 5 && memcmp(got.data[0], hello, 5) == 0);
    struct netfront_stats st = stats();
    CHECK_EQ(st.bad_responses, 7);
    CHECK_EQ(st.bad_frames, 7); /* dup, 999, page, empty, -7, over, chain */
    CHECK_EQ(st.rx_errors, 1);
    /* Buffers of bad slots with good ids came back and were reposted. */
    CHECK_EQ(xenabi_back_ring_pending(&nb->rx), NETFRONT_RX_SLOTS - 8 + 8);
    down();
}

static void test_malicious_tx_responses(void)
{
    up();
    nb->manual_tx = true;
    for (uint32_t i = 0; i < 4; i++)
        CHECK_EQ(send_pattern(60, 1, i), 0);
    struct xenabi_netif_tx_request q[4];
    for (int i = 0; i < 4; i++)
        CHECK(netback_take_tx(&q[i]));
    netback_put_tx(q[0].id, XENABI_NETIF_RSP_OKAY);
    netback_put_tx(q[0].id, XENABI_NETIF_RSP_OKAY);    /* duplicate */
    netback_put_tx(4321, XENABI_NETIF_RSP_OKAY);       /* out of range */
    netback_put_tx(q[1].id, XENABI_NETIF_RSP_NULL);    /* no extras sent */
    netback_push();
    CHECK(netfront_poll(nf) >= 0);
    struct netfront_stats st = stats();
    CHECK_EQ(st.bad_responses, 3);
    CHECK_EQ(st.bad_prod, 0);
    /* Four requests, four answers consumed: q[2] and q[3] never got
     * theirs (the bad ones took their places), so they are reclaimed. */
    CHECK_EQ(st.reclaimed, 2);
    CHECK_EQ(grants().in_use, 2 + NETFRONT_RX_SLOTS);
    /* An error answer is a failed frame, not a bad response. */
    CHECK_EQ(send_pattern(60, 1, 9), 0);
    CHECK(netback_take_tx(&q[0]));
    netback_put_tx(q[0].id, XENABI_NETIF_RSP_ERROR);
    netback_push();
    netfront_poll(nf);
    CHECK_EQ(stats().tx_errors, 1);
    CHECK_EQ(stats().bad_responses, 3);
    nb->manual_tx = false;
    CHECK_EQ(send_pattern(1514, 2, 10), 0);
    pump();
    CHECK_EQ(nb->tx_frames, 1);
    down();
}

static void test_rsp_prod_running_ahead(void)
{
    up();
    nb->manual_rx = true;
    nb->manual_tx = true;
    CHECK_EQ(send_pattern(60, 1, 1), 0);
    /* The backend claims answers for requests never made. */
    netback_set_rsp_prod(false, nb->rx.prod + NETFRONT_RX_SLOTS + 1);
    netback_set_rsp_prod(true, nb->tx.prod + 2);
    CHECK_EQ(netfront_poll(nf), 0);
    CHECK_EQ(stats().bad_prod, 2);
    CHECK_EQ(got.frames, 0);
    /* It comes to its senses; the driver goes on. */
    netback_set_rsp_prod(false, nb->rx.prod);
    netback_set_rsp_prod(true, nb->tx.prod);
    nb->manual_rx = false;
    nb->manual_tx = false;
    netback_queue_rx("abcd", 4);
    pump();
    CHECK_EQ(got.frames, 1);
    CHECK_EQ(nb->tx_frames, 1);
    down();
}

static void test_oversized_chain(void)
{
    up();
    nb->manual_rx = true;
    struct xenabi_netif_rx_request r;
    /* 17 full pages: more than any frame may be. */
    for (int i = 0; i < 17 && netback_take_rx(&r); i++)
        netback_put_rx(r.id, 0, i < 16 ? XENABI_NETRXF_MORE_DATA : 0, 4096);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 0);
    CHECK_EQ(stats().bad_frames, 1);
    /* 19 small slots: more slots than a frame may use. */
    for (int i = 0; i < 19 && netback_take_rx(&r); i++)
        netback_put_rx(r.id, 0, i < 18 ? XENABI_NETRXF_MORE_DATA : 0, 10);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 0);
    CHECK_EQ(stats().bad_frames, 2);
    CHECK_EQ(got.frames, 0);
    down();
}

static void test_chain_that_never_ends(void)
{
    up();
    nb->manual_rx = true;
    struct xenabi_netif_rx_request r;
    unsigned n = 0;
    while (netback_take_rx(&r)) {
        netback_put_rx(r.id, 0, XENABI_NETRXF_MORE_DATA, 10);
        n++;
    }
    CHECK_EQ(n, NETFRONT_RX_SLOTS);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 0);
    CHECK_EQ(got.frames, 0);
    CHECK_EQ(stats().bad_frames, 1);
    CHECK_EQ(xenabi_back_ring_pending(&nb->rx), NETFRONT_RX_SLOTS);
    nb->manual_rx = false;
    netback_queue_rx("good", 4);
    pump();
    CHECK_EQ(got.frames, 1);
    down();
}

/* Deterministic pseudo-random numbers for the garbage test. */
static uint32_t rng = 12345;
static uint32_t rnd(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

/*
 * Rounds of random answers: each round the backend answers every pending
 * rx and tx request with a response of random id, flags, offset and
 * status (ids mostly near the valid range, to hit the checks behind
 * them), and now and then scribbles rsp_prod. ASan/UBSan watch; after
 * it, an honest backend must get frames through both ways again.
 */
static void test_random_garbage(void)
{
    up();
    nb->manual_rx = true;
    nb->manual_tx = true;
    for (int round = 0; round < 300; round++) {
        for (int i = 0; i < 3; i++)
            (void)send_pattern(1 + rnd() % 9000, 2, (uint32_t)round);
        struct xenabi_netif_rx_request r;
        while (netback_take_rx(&r)) {
            uint32_t k = rnd();
            uint16_t id = k % 4 == 0 ? (uint16_t)rnd() : (uint16_t)(rnd() % 300);
            if (k % 3 == 0)
                id = r.id;
            netback_fill(r.gref, 0, "junk", 4);
            netback_put_rx(id, (uint16_t)(rnd() % 5000), (uint16_t)(rnd() % 32),
                           (int16_t)(rnd() % 6000 - 100));
        }
        struct xenabi_netif_tx_request q;
        while (netback_take_tx(&q)) {
            uint16_t id = rnd() % 2 ? q.id : (uint16_t)(rnd() % 300);
            netback_put_tx(id, (int16_t)(rnd() % 5) - 2);
        }
        netback_push();
        if (rnd() % 16 == 0) {
            uint32_t real = nb->rx.prod;
            netback_set_rsp_prod(false, real + 1 + rnd() % 1000);
            (void)netfront_poll(nf);
            netback_set_rsp_prod(false, real);
        }
        (void)netfront_poll(nf);
    }
    struct netfront_stats st = stats();
    CHECK(st.bad_responses > 100);
    CHECK(st.bad_prod > 0);
    CHECK(st.rx_posted > 1000);
    /* Every request answered: nothing is outstanding, nothing was lost. */
    CHECK_EQ(grants().in_use, 2 + NETFRONT_RX_SLOTS);
    nb->manual_rx = false;
    nb->manual_tx = false;
    uint64_t before = got.frames;
    netback_queue_rx("after the storm", 15);
    CHECK_EQ(send_pattern(5000, 3, 77), 0);
    pump();
    CHECK_EQ(got.frames, before + 1);
    CHECK_EQ(nb->tx_frames, 1);
    down();
}

/* ---- zero-copy receive: pages lent to the caller --------------------------- */

#define LENT_MAX (NETFRONT_RX_LOANS + 8)

static struct {
    uint8_t *page[LENT_MAX];
    size_t offset[LENT_MAX], len[LENT_MAX];
    unsigned n;
    bool refuse;        /* give every page back at once */
    uint32_t reachable; /* grants the backend had on pages when lent */
} lent;

static bool on_page(void *arg, uint8_t *page, size_t offset, size_t len)
{
    (void)arg;
    lent.reachable += sim_gnttab_grants_on(page, XENABI_PAGE_SIZE);
    if (lent.refuse || lent.n == LENT_MAX)
        return false;
    lent.page[lent.n] = page;
    lent.offset[lent.n] = offset;
    lent.len[lent.n] = len;
    lent.n++;
    return true;
}

static void up_lending(void)
{
    memset(&lent, 0, sizeof(lent));
    up();
    netfront_set_rx_page(nf, on_page);
}

static void release_lent(void)
{
    for (unsigned i = 0; i < lent.n; i++)
        netfront_rx_page_release(nf, lent.page[i]);
    lent.n = 0;
}

static void test_rx_lends_the_granted_page(void)
{
    up_lending();
    nb->manual_rx = true;
    struct xenabi_netif_rx_request r;
    CHECK(netback_take_rx(&r));
    void *granted = NULL;
    CHECK_EQ(sim_gnttab_map(r.gref, false, &granted), XENABI_GNTST_OKAY);
    CHECK_EQ(sim_gnttab_unmap(r.gref, false), XENABI_GNTST_OKAY);
    const char hello[] = "a frame read where the backend wrote it";
    netback_fill(r.gref, 100, hello, sizeof(hello));
    netback_put_rx(r.id, 100, 0, sizeof(hello));
    netback_push();
    CHECK_EQ(netfront_poll(nf), 1);
    /* The very page granted, and no copy made. */
    CHECK_EQ(lent.n, 1);
    uint8_t *page = lent.page[0];
    CHECK(page == granted);
    CHECK_EQ(lent.offset[0], 100);
    CHECK_EQ(lent.len[0], sizeof(hello));
    CHECK(memcmp(page + 100, hello, sizeof(hello)) == 0);
    CHECK_EQ(lent.reachable, 0);
    CHECK_EQ(got.frames, 0);
    CHECK_EQ(stats().rx_loaned, 1);
    CHECK_EQ(stats().rx_copied, 0);
    /* A fresh page took its place: the ring is full again. */
    CHECK_EQ(xenabi_back_ring_pending(&nb->rx), NETFRONT_RX_SLOTS);

    /* Two rings' worth of traffic while the page is held: never
     * reposted (posting grants it), never written. */
    nb->manual_rx = false;
    lent.refuse = true;
    for (uint32_t i = 0; i < 2 * NETFRONT_RX_SLOTS; i++) {
        pattern(frame_buf, 64, i);
        netback_queue_rx(frame_buf, 64);
    }
    for (int i = 0; i < 50 && nb->rxq_len > 0; i++)
        pump();
    CHECK_EQ(nb->rxq_len, 0);
    CHECK_EQ(stats().rx_loaned, 1 + 2 * NETFRONT_RX_SLOTS);
    CHECK_EQ(stats().rx_copied, 0);
    CHECK_EQ(sim_gnttab_grants_on(page, XENABI_PAGE_SIZE), 0);
    CHECK(memcmp(page + 100, hello, sizeof(hello)) == 0);

    /* Given back, it is the next spare page posted. */
    release_lent();
    CHECK_EQ(sim_gnttab_grants_on(page, XENABI_PAGE_SIZE), 0);
    netback_queue_rx(hello, sizeof(hello));
    pump();
    CHECK_EQ(sim_gnttab_grants_on(page, XENABI_PAGE_SIZE), 1);
    CHECK_EQ(lent.reachable, 0);
    CHECK_EQ(stats().bad_page_release, 0);
    down();
}

static void test_rx_busy_grant_is_never_lent(void)
{
    up_lending();
    nb->manual_rx = true;
    struct xenabi_netif_rx_request r;
    CHECK(netback_take_rx(&r));
    /* The backend answers but keeps the page mapped. */
    void *held = NULL;
    CHECK_EQ(sim_gnttab_map(r.gref, false, &held), XENABI_GNTST_OKAY);
    netback_fill(r.gref, 0, "held", 4);
    netback_put_rx(r.id, 0, 0, 4);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 0);
    CHECK_EQ(lent.n, 0);
    CHECK_EQ(got.frames, 0);
    struct netfront_stats st = stats();
    CHECK_EQ(st.busy_grants, 1);
    CHECK_EQ(st.bad_frames, 1);
    CHECK_EQ(st.rx_loaned, 0);
    /* Its buffer is retired, not reposted. */
    CHECK_EQ(xenabi_back_ring_pending(&nb->rx), NETFRONT_RX_SLOTS - 1);
    /* Other frames still arrive in their pages. */
    nb->manual_rx = false;
    netback_queue_rx("fine", 4);
    pump();
    CHECK_EQ(lent.n, 1);
    CHECK(lent.page[0] != held);
    CHECK_EQ(lent.reachable, 0);
    release_lent();
    /* Once the backend lets go, the deferred grant ends. */
    CHECK_EQ(sim_gnttab_unmap(r.gref, false), XENABI_GNTST_OKAY);
    CHECK_EQ(gnttab_reclaim_deferred(), 0);
    down();
}

static void test_rx_pool_exhausted(void)
{
    up_lending();
    /* The caller keeps every page: frames beyond the spare pool are
     * copied, the ring stays full, nothing hangs or is overwritten. */
    for (uint32_t i = 0; i < NETFRONT_RX_LOANS + 10; i++) {
        pattern(frame_buf, 60, i);
        netback_queue_rx(frame_buf, 60);
    }
    for (int i = 0; i < 50 && nb->rxq_len > 0; i++)
        pump();
    CHECK_EQ(nb->rxq_len, 0);
    CHECK_EQ(lent.n, NETFRONT_RX_LOANS);
    CHECK_EQ(got.frames, 10);
    CHECK(got.in_order);
    struct netfront_stats st = stats();
    CHECK_EQ(st.rx_loaned, NETFRONT_RX_LOANS);
    CHECK_EQ(st.rx_copied, 10);
    CHECK_EQ(st.rx_no_spare, 10);
    CHECK_EQ(grants().in_use, 2 + NETFRONT_RX_SLOTS);
    for (uint32_t i = 0; i < lent.n; i++) {
        uint32_t seq;
        memcpy(&seq, lent.page[i] + lent.offset[i], 4);
        CHECK_EQ(seq, i);
        CHECK_EQ(sim_gnttab_grants_on(lent.page[i], XENABI_PAGE_SIZE), 0);
    }
    uint8_t *first = lent.page[0];
    release_lent();
    /* Bad releases: twice, not a page of ours, inside a page. */
    netfront_rx_page_release(nf, first);
    netfront_rx_page_release(nf, frame_buf);
    netfront_rx_page_release(nf, first + 1);
    CHECK_EQ(stats().bad_page_release, 3);
    netback_queue_rx("again", 5);
    pump();
    CHECK_EQ(lent.n, 1);
    CHECK_EQ(got.frames, 10);
    release_lent();
    down();
}

static void test_rx_lending_copies_chains(void)
{
    up_lending();
    pattern(frame_buf, 5000, 7); /* two slots */
    netback_queue_rx(frame_buf, 5000);
    pump();
    CHECK_EQ(lent.n, 0);
    CHECK_EQ(got.frames, 1);
    CHECK(got.len[0] == 5000 && memcmp(got.data[0], frame_buf, 5000) == 0);
    CHECK_EQ(stats().rx_copied, 1);
    CHECK_EQ(stats().rx_no_spare, 0);
    down();
}

static void test_rx_lending_bad_responses(void)
{
    up_lending();
    nb->manual_rx = true;
    struct xenabi_netif_rx_request r[5];
    for (int i = 0; i < 5; i++)
        CHECK(netback_take_rx(&r[i]));
    uint8_t tail[96];
    memset(tail, 0xab, sizeof(tail));
    netback_fill(r[0].gref, 4000, tail, sizeof(tail));
    netback_put_rx(r[0].id, 4000, 0, 96);     /* good: ends the page */
    netback_put_rx(r[0].id, 4000, 0, 96);     /* duplicate */
    netback_put_rx(999, 0, 0, 5);             /* id out of range */
    netback_put_rx(r[1].id, 4000, 0, 97);     /* beyond the page */
    netback_put_rx(r[2].id, 0, 0, 0);         /* empty */
    netback_put_rx(r[3].id, 0xffff, 0, 1);    /* offset beyond the page */
    netback_put_rx(r[4].id, 0, 0, 0x7fff);    /* longer than a page */
    netback_push();
    CHECK_EQ(netfront_poll(nf), 1);
    CHECK_EQ(lent.n, 1);
    CHECK_EQ(lent.offset[0], 4000);
    CHECK_EQ(lent.len[0], 96);
    CHECK(memcmp(lent.page[0] + 4000, tail, sizeof(tail)) == 0);
    CHECK_EQ(stats().bad_responses, 6);
    CHECK_EQ(stats().rx_loaned, 1);
    CHECK_EQ(got.frames, 0);
    release_lent();
    CHECK_EQ(stats().bad_page_release, 0);
    down();
}

/* ---- receive offload: large TCP segments with a GSO extra ----------- */

static void up_offload(void)
{
    boot(NB_MAC);
    netfront_set_rx_offload(nf, true);
    CHECK_EQ(netfront_wait_connected(nf), 0);
}

static void test_rx_offload_keys(void)
{
    up();
    CHECK_NODE("feature-no-csum-offload", "1");
    CHECK_NODE("feature-gso-tcpv4", "0");
    CHECK(!nb->fe_gso && !nb->fe_csum);
    /* A GSO frame is not sent to a frontend that did not ask. */
    pattern(frame_buf, 9000, 1);
    netback_queue_rx_gso(frame_buf, 9000, 1448);
    pump();
    CHECK_EQ(got.frames, 0);
    CHECK_EQ(nb->rx_dropped, 1);
    down();

    up_offload();
    CHECK_NODE("feature-no-csum-offload", "0");
    CHECK_NODE("feature-ipv6-csum-offload", "1");
    CHECK_NODE("feature-gso-tcpv4", "1");
    CHECK_NODE("feature-gso-tcpv6", "1");
    CHECK(nb->fe_gso && nb->fe_csum);
    down();
}

static void test_rx_gso_frames(void)
{
    up_offload();
    /* 16 pages less a little (a 64 KiB segment), 3000 bytes (one data
     * slot: its extra comes after its only slot), and 5000 (two). */
    const size_t lens[] = {NETFRONT_MAX_FRAME, 3000, 5000, 61};
    for (unsigned i = 0; i < 4; i++) {
        pattern(frame_buf, lens[i], i);
        if (i < 3)
            netback_queue_rx_gso(frame_buf, lens[i], 1448);
        else
            netback_queue_rx(frame_buf, lens[i]); /* a plain one after */
    }
    pump();
    CHECK_EQ(got.frames, 4);
    for (unsigned i = 0; i < 4; i++) {
        pattern(frame_buf, lens[i], i);
        CHECK_EQ(got.len[i], lens[i]);
        CHECK(memcmp(got.data[i], frame_buf, lens[i]) == 0);
        /* csum_blank honoured: the checksum was never computed. */
        CHECK_EQ(got.flags[i], i < 3 ? NETFRONT_RX_CSUM_VALID | NETFRONT_RX_GSO
                                     : 0);
    }
    struct netfront_stats st = stats();
    CHECK_EQ(st.rx_gso, 3);
    CHECK_EQ(st.rx_extras, 3);
    CHECK_EQ(st.bad_responses, 0);
    CHECK_EQ(st.bad_frames, 0);
    /* The extras' buffers came back and were posted again. */
    CHECK_EQ(xenabi_back_ring_pending(&nb->rx), NETFRONT_RX_SLOTS);
    CHECK_EQ(grants().in_use, 2 + NETFRONT_RX_SLOTS);
    down();
}

/* Manual ring: a data slot of `len` bytes of pattern(seed) at `off`. */
static void put_data(uint16_t flags, size_t len, uint32_t seed)
{
    struct xenabi_netif_rx_request r;
    CHECK(netback_take_rx(&r));
    uint8_t bytes[XENABI_PAGE_SIZE];
    pattern(bytes, len, seed);
    netback_fill(r.gref, 0, bytes, len);
    netback_put_rx(r.id, 0, flags, (int16_t)len);
}

static void put_extra(uint8_t type, uint8_t flags, uint16_t size,
                      uint8_t gso_type)
{
    struct xenabi_netif_rx_request r;
    CHECK(netback_take_rx(&r));
    netback_put_rx_extra(type, flags, size, gso_type);
}

#define MORE XENABI_NETRXF_MORE_DATA
#define EXTRA XENABI_NETRXF_EXTRA_INFO
#define XMORE XENABI_NETIF_EXTRA_FLAG_MORE
#define GSO XENABI_NETIF_EXTRA_TYPE_GSO
#define TCPV4 XENABI_NETIF_GSO_TYPE_TCPV4

/* A good two-slot frame after whatever came before: delivered. */
static void check_still_works(uint64_t frames_before)
{
    put_data(EXTRA | MORE, 4096, 40);
    put_extra(GSO, 0, 1448, TCPV4);
    put_data(0, 100, 41);
    netback_push();
    netfront_poll(nf);
    CHECK_EQ(got.frames, frames_before + 1);
    CHECK_EQ(got.len[frames_before % GOT_MAX], 4196);
}

static void test_rx_several_extras(void)
{
    up_offload();
    nb->manual_rx = true;
    /* A hash extra (not asked for: ignored), then the GSO one. */
    put_data(EXTRA | MORE | XENABI_NETRXF_CSUM_BLANK, 4096, 1);
    put_extra(XENABI_NETIF_EXTRA_TYPE_HASH, XMORE, 0, 0);
    put_extra(GSO, 0, 1448, TCPV4);
    put_data(MORE, 4096, 2);
    put_data(0, 808, 3);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 1);
    CHECK_EQ(got.len[0], 4096 * 2 + 808);
    uint8_t want[XENABI_PAGE_SIZE];
    pattern(want, 4096, 1);
    CHECK(memcmp(got.data[0], want, 4096) == 0);
    pattern(want, 4096, 2);
    CHECK(memcmp(got.data[0] + 4096, want, 4096) == 0);
    pattern(want, 808, 3);
    CHECK(memcmp(got.data[0] + 8192, want, 808) == 0);
    CHECK_EQ(got.flags[0], NETFRONT_RX_CSUM_VALID | NETFRONT_RX_GSO);
    CHECK_EQ(stats().rx_extras, 2);
    CHECK_EQ(stats().bad_frames, 0);
    /* Five requests used, five buffers back. */
    netfront_poll(nf);
    CHECK_EQ(xenabi_back_ring_pending(&nb->rx), NETFRONT_RX_SLOTS);
    CHECK_EQ(grants().in_use, 2 + NETFRONT_RX_SLOTS);
    down();
}

static void test_rx_malformed_extras(void)
{
    up_offload();
    nb->manual_rx = true;
    uint64_t bad = 0;
    /* The flag on the last slot of a chain, not the first. */
    put_data(MORE, 4096, 1);
    put_data(EXTRA, 100, 2);
    put_extra(GSO, 0, 1448, TCPV4);
    /* An unknown type, and type none. */
    put_data(EXTRA, 100, 3);
    put_extra(XENABI_NETIF_EXTRA_TYPE_MAX, 0, 1448, TCPV4);
    put_data(EXTRA, 100, 4);
    put_extra(XENABI_NETIF_EXTRA_TYPE_NONE, 0, 1448, TCPV4);
    /* Two GSO extras; one of size 0; one not TCP. */
    put_data(EXTRA, 100, 5);
    put_extra(GSO, XMORE, 1448, TCPV4);
    put_extra(GSO, 0, 1448, TCPV4);
    put_data(EXTRA, 100, 6);
    put_extra(GSO, 0, 0, TCPV4);
    put_data(EXTRA, 100, 7);
    put_extra(GSO, 0, 1448, 3);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 0);
    CHECK_EQ(got.frames, 0);
    bad += 6;
    CHECK_EQ(stats().bad_frames, bad);
    CHECK_EQ(stats().rx_extras, 7);
    netfront_poll(nf); /* repost */
    CHECK_EQ(xenabi_back_ring_pending(&nb->rx), NETFRONT_RX_SLOTS);
    check_still_works(0);

    /* More than 64 KiB: 16 full pages and one byte. */
    put_data(EXTRA | MORE, 4096, 8);
    put_extra(GSO, 0, 1448, TCPV4);
    for (int i = 0; i < 15; i++)
        put_data(MORE, 4096, 9);
    put_data(0, 1, 10);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 0);
    CHECK_EQ(stats().bad_frames, ++bad);
    check_still_works(1);

    /* An extra chain that runs off the ring: every request it could
     * use is used up, the frame can never end. */
    netfront_poll(nf);
    put_data(EXTRA, 100, 11);
    while (xenabi_back_ring_pending(&nb->rx) > 0)
        put_extra(XENABI_NETIF_EXTRA_TYPE_HASH, XMORE, 0, 0);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 0);
    CHECK_EQ(stats().bad_frames, ++bad);
    CHECK_EQ(xenabi_back_ring_pending(&nb->rx), NETFRONT_RX_SLOTS);
    check_still_works(2);
    CHECK_EQ(grants().peak <= 2 + NETFRONT_RX_SLOTS, true);
    down();

    /* A GSO extra to a frontend that did not ask for one. */
    up();
    nb->manual_rx = true;
    put_data(EXTRA, 100, 12);
    put_extra(GSO, 0, 1448, TCPV4);
    put_data(0, 60, 13);
    netback_push();
    CHECK_EQ(netfront_poll(nf), 1);
    CHECK_EQ(got.len[0], 60);
    CHECK_EQ(stats().bad_frames, 1);
    down();
}

static void test_reconnect(void)
{
    up();
    CHECK_EQ(netfront_close(nf), 0);
    sim_run();
    CHECK_EQ(grants().in_use, 0);
    netfront_free(nf);
    CHECK_EQ(netfront_open("device/vif/0", on_frame, NULL, &nf), 0);
    CHECK_EQ(netfront_wait_connected(nf), 0);
    netback_queue_rx("again", 5);
    pump();
    CHECK_EQ(got.frames, 1);
    down();
}

int main(void)
{
    RUN(test_handshake_up_and_down);
    RUN(test_backend_closes);
    RUN(test_bad_mac_fails_the_handshake);
    RUN(test_parse_mac);
    RUN(test_backend_without_rx_copy);
    RUN(test_tx_frames_with_scatter_gather);
    RUN(test_tx_many_fragments_are_packed);
    RUN(test_rx_frames_with_scatter_gather);
    RUN(test_echo_both_ways);
    RUN(test_tx_ring_full_and_recovery);
    RUN(test_backend_without_sg);
    RUN(test_rx_refill_under_load);
    RUN(test_malicious_rx_responses);
    RUN(test_malicious_tx_responses);
    RUN(test_rsp_prod_running_ahead);
    RUN(test_oversized_chain);
    RUN(test_chain_that_never_ends);
    RUN(test_random_garbage);
    RUN(test_reconnect);
    RUN(test_rx_lends_the_granted_page);
    RUN(test_rx_busy_grant_is_never_lent);
    RUN(test_rx_pool_exhausted);
    RUN(test_rx_lending_copies_chains);
    RUN(test_rx_lending_bad_responses);
    RUN(test_rx_offload_keys);
    RUN(test_rx_gso_frames);
    RUN(test_rx_several_extras);
    RUN(test_rx_malformed_extras);
    netback_destroy();
    return check_finish();
}
