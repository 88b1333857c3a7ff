/*
 * netfront behind <netdev/netdev.h>, against the simulated netback on
 * //testing/xensim: the MAC and features, frames both ways through the
 * interface, received frames held (in netfront's own page: no copy) and
 * released, a stack that holds every buffer (frames dropped and
 * counted, never overwritten), and the interface's errors.
 */
#include <errno.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <gnttab/gnttab.h>
#include <netfront/netfront_netdev.h>
#include <testing/check.h>
#include <time/time.h>
#include <xenstore/xenstore.h>
#include <xensim/sim.h>

#include "netback.h"

struct seen {
    struct netdev_buf *bufs[NETFRONT_NETDEV_RX_BUFS + 8];
    uint32_t flags[NETFRONT_NETDEV_RX_BUFS + 8]; /* as delivered */
    size_t n;
    bool keep;
};

static void on_rx(void *arg, struct netdev_buf *buf)
{
    struct seen *s = arg;
    if (s->n < sizeof(s->bufs) / sizeof(s->bufs[0])) {
        s->flags[s->n] = buf->flags;
        s->bufs[s->n++] = buf;
    }
    if (!s->keep)
        netdev_buf_release(buf);
}

static struct netback *nb;
/* The next up()'s backend: checksum offload keys, rx flags. */
static bool cfg_no_csum, cfg_ipv6_csum;
static uint16_t cfg_rx_flags;

static struct netdev *up(void)
{
    nb = netback_create(NB_MAC);
    nb->no_csum = cfg_no_csum;
    nb->ipv6_csum = cfg_ipv6_csum;
    nb->rx_flags = cfg_rx_flags;
    cfg_no_csum = cfg_ipv6_csum = false;
    cfg_rx_flags = 0;
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(xs_init(), 0);
    struct netdev *nd = NULL;
    CHECK_EQ(netfront_netdev_open("device/vif/0", &nd), 0);
    return nd;
}

static void down(struct netdev *nd)
{
    netfront_netdev_free(nd);
    struct gnttab_stats st;
    gnttab_get_stats(&st);
    CHECK_EQ(st.in_use, 0);
    CHECK_EQ(nb->fe_errors, 0);
    netback_destroy();
}

static void pump(struct netdev *nd)
{
    for (int i = 0; i < 16; i++) {
        sim_run();
        (void)netdev_poll(nd);
    }
}

static void test_open(void)
{
    struct netdev *nd = up();
    static const uint8_t mac[6] = {0x00, 0x16, 0x3e, 0x12, 0x34, 0x56};
    CHECK(memcmp(nd->mac, mac, 6) == 0);
    CHECK_EQ(nd->mtu, 1500);
    /* IPv4 offload by default, IPv6 not offered: no TX_CSUM. Receive
     * offload asked for: large TCP segments. */
    CHECK_EQ(nd->features, NETDEV_F_RX_CSUM | NETDEV_F_RX_GSO);
    CHECK(nb->fe_gso && nb->fe_csum);
    down(nd);
}

static void test_frames_both_ways(void)
{
    struct netdev *nd = up();
    struct seen seen = {.keep = true};
    netdev_set_rx(nd, on_rx, &seen);

    uint8_t hdr[14], body[300];
    memset(hdr, 0x11, sizeof(hdr));
    for (size_t i = 0; i < sizeof(body); i++)
        body[i] = (uint8_t)i;
    struct netdev_frag frags[2] = {{hdr, sizeof(hdr)}, {body, sizeof(body)}};
    CHECK_EQ(netdev_send(nd, frags, 2, NULL), 0);
    pump(nd);
    CHECK_EQ(nb->tx_frames, 1);
    const struct nb_frame *sent = &nb->sent[0];
    CHECK_EQ(sent->len, 314);
    CHECK(memcmp(sent->data + 14, body, sizeof(body)) == 0);

    netback_queue_rx(body, sizeof(body));
    pump(nd);
    CHECK_EQ(seen.n, 1);
    struct netdev_buf *b = seen.bufs[0];
    CHECK_EQ(b->len, sizeof(body));
    CHECK(memcmp(b->data, body, sizeof(body)) == 0);
    CHECK(b->dev == nd);
    /* No copy: the buffer is netfront's page, its grant ended. */
    struct netfront_stats nst;
    netfront_get_stats(netfront_netdev_netfront(nd), &nst);
    CHECK_EQ(nst.rx_loaned, 1);
    CHECK_EQ(nst.rx_copied, 0);
    CHECK_EQ(sim_gnttab_grants_on(b->data, b->len), 0);
    /* A second frame while the first is held: its own page. */
    netback_queue_rx(hdr, sizeof(hdr));
    pump(nd);
    CHECK_EQ(seen.n, 2);
    CHECK(seen.bufs[1]->data != b->data);
    CHECK(memcmp(b->data, body, sizeof(body)) == 0);
    netdev_buf_release(b);
    netdev_buf_release(seen.bufs[1]);
    netdev_buf_release(b); /* twice */
    struct netfront_netdev_stats st;
    netfront_netdev_get_stats(nd, &st);
    CHECK_EQ(st.bad_release, 1);
    CHECK_EQ(st.rx_copied, 0);
    /* Both pages went back to netfront's pool, once. */
    netfront_get_stats(netfront_netdev_netfront(nd), &nst);
    CHECK_EQ(nst.rx_loaned, 2);
    CHECK_EQ(nst.bad_page_release, 0);
    char line[200];
    netfront_netdev_format_stats(nd, line, sizeof(line));
    const char *want = "netfront: rx 2 frames: 2 lent (no copy), 0 copied, "
                       "0 dropped; tx 1 frames in 2 slots; rx 0 gso; events ";
    CHECK_MSG(strncmp(line, want, strlen(want)) == 0, line);
    down(nd);
}

static void test_stack_holds_every_buffer(void)
{
    struct netdev *nd = up();
    struct seen seen = {.keep = true};
    netdev_set_rx(nd, on_rx, &seen);
    uint8_t frame[60] = {1};
    for (unsigned i = 0; i < NETFRONT_NETDEV_RX_BUFS + 3; i++) {
        frame[1] = (uint8_t)i;
        netback_queue_rx(frame, sizeof(frame));
        pump(nd);
    }
    CHECK_EQ(seen.n, NETFRONT_NETDEV_RX_BUFS);
    struct netfront_netdev_stats st;
    netfront_netdev_get_stats(nd, &st);
    CHECK_EQ(st.rx_no_buffer, 3);
    CHECK_EQ(st.rx_copied, 0);
    for (unsigned i = 0; i < NETFRONT_NETDEV_RX_BUFS; i++)
        CHECK_EQ(seen.bufs[i]->data[1], i); /* none overwritten */
    for (unsigned i = 0; i < NETFRONT_NETDEV_RX_BUFS; i++)
        netdev_buf_release(seen.bufs[i]);
    seen.keep = false;
    netback_queue_rx(frame, sizeof(frame));
    pump(nd);
    CHECK_EQ(seen.n, NETFRONT_NETDEV_RX_BUFS + 1);
    down(nd);
}

static void test_errors(void)
{
    struct netdev *nd = up();
    uint8_t frame[1515] = {0};
    struct netdev_frag f = {frame, sizeof(frame)};
    CHECK_EQ(netdev_send(nd, &f, 1, NULL), -EMSGSIZE);
    f.len = 60;
    struct netdev_tx tx = {.csum = true, .csum_start = 34,
                           .csum_offset = 6};
    CHECK_EQ(netdev_send(nd, &f, 1, &tx), -EINVAL); /* no offload */
    CHECK_EQ(netdev_send(nd, &f, 0, NULL), -EINVAL);
    /* No receiver: dropped and counted. */
    netback_queue_rx(frame, 60);
    pump(nd);
    struct netfront_netdev_stats st;
    netfront_netdev_get_stats(nd, &st);
    CHECK_EQ(st.rx_dropped, 1);
    /* evtchn_sched not started: the wait says so instead of hanging. */
    CHECK_EQ(netdev_wait(nd, 1), -ENOTCONN);
    CHECK_EQ(netfront_close(netfront_netdev_netfront(nd)), 0);
    CHECK_EQ(netdev_send(nd, &f, 1, NULL), -ENOTCONN);
    CHECK_EQ(netdev_poll(nd), -ENOTCONN);
    CHECK_EQ(netdev_wait(nd, 1), -ENOTCONN);
    sim_run();
    down(nd);
}

static void test_wait_parks_on_the_port(void)
{
    struct netdev *nd = up();
    evtchn_sched_stop();
    CHECK_EQ(evtchn_sched_start(), 0);
    struct seen seen = {0};
    netdev_set_rx(nd, on_rx, &seen);
    pump(nd);
    /* Nothing pending: the deadline ends the wait. */
    uint64_t t0 = time_monotonic_ns();
    CHECK_EQ(netdev_wait(nd, t0 + 1000000), -ETIMEDOUT);
    CHECK(time_monotonic_ns() >= t0 + 1000000);
    /* The backend delivers a frame and signals: the wait returns. */
    uint8_t frame[60] = {7};
    netback_queue_rx(frame, sizeof(frame));
    sim_run();
    CHECK_EQ(netdev_wait(nd, time_monotonic_ns() + 1000000000u), 0);
    CHECK_EQ(netdev_poll(nd), 1);
    CHECK_EQ(seen.n, 1);
    evtchn_sched_stop();
    down(nd);
}

static void never_done(void *arg)
{
    (void)arg;
    CHECK_MSG(false, "a completion from a driver without NETDEV_F_TX_SG");
}

/* A backend that takes csum_blank for IPv4 and IPv6: a send that asks
 * for the checksum carries csum_blank|data_validated on its first slot
 * only, one that does not carries neither; a backend that refuses
 * either family gets no such send. Frames the backend marks
 * data_validated arrive marked valid, others not. */
static void test_checksum_offload(void)
{
    cfg_ipv6_csum = true;
    cfg_rx_flags = XENABI_NETRXF_DATA_VALIDATED;
    struct netdev *nd = up();
    CHECK_EQ(nd->features,
             NETDEV_F_RX_CSUM | NETDEV_F_TX_CSUM | NETDEV_F_RX_GSO);
    static uint8_t head[54], payload[1400];
    memset(payload, 0x5a, sizeof(payload));
    struct netdev_frag two[2] = {{head, sizeof(head)},
                                 {payload, sizeof(payload)}};
    struct netdev_tx tx = {.csum = true, .csum_start = 34,
                           .csum_offset = 16};
    const uint16_t both = XENABI_NETTXF_CSUM_BLANK
                          | XENABI_NETTXF_DATA_VALIDATED;
    CHECK_EQ(netdev_send(nd, two, 2, &tx), 0);
    CHECK_EQ(netdev_send(nd, two, 2, NULL), 0);
    pump(nd);
    CHECK_EQ(nb->tx_frames, 2);
    CHECK_EQ(nb->sent[0].slots, 2); /* scatter-gather: one per fragment */
    CHECK_EQ(nb->sent[0].flags & both, both);
    CHECK_EQ(nb->sent[0].len, sizeof(head) + sizeof(payload));
    CHECK_EQ(nb->sent[1].flags & both, 0);
    /* A completion is for NETDEV_F_TX_SG drivers: refused. */
    tx.done = never_done;
    CHECK_EQ(netdev_send(nd, two, 2, &tx), -EINVAL);
    struct netfront *nf = netfront_netdev_netfront(nd);
    struct netfront_frag nf1 = {head, sizeof(head)};
    CHECK_EQ(netfront_send_flags(nf, &nf1, 1, 1u << 7), -XENABI_EINVAL);

    struct seen seen = {0};
    netdev_set_rx(nd, on_rx, &seen);
    uint8_t frame[60] = {1};
    netback_queue_rx(frame, sizeof(frame));
    pump(nd);
    nb->rx_flags = 0;
    netback_queue_rx(frame, sizeof(frame));
    pump(nd);
    CHECK_EQ(seen.n, 2);
    CHECK_EQ(seen.flags[0], NETDEV_RX_CSUM_VALID);
    CHECK_EQ(seen.flags[1], 0);
    down(nd);

    /* No IPv4 offload (feature-no-csum-offload), or no IPv6 offload. */
    for (int which = 0; which < 2; which++) {
        cfg_no_csum = which == 0;
        cfg_ipv6_csum = which == 0;
        nd = up();
        CHECK(!(nd->features & NETDEV_F_TX_CSUM));
        tx.done = NULL;
        CHECK_EQ(netdev_send(nd, two, 2, &tx), -EINVAL);
        nf = netfront_netdev_netfront(nd);
        CHECK_EQ(netfront_send_flags(nf, &nf1, 1, NETFRONT_TX_CSUM_BLANK),
                 -XENABI_EOPNOTSUPP);
        pump(nd);
        CHECK_EQ(nb->tx_frames, 0);
        down(nd);
    }
}

/* A large TCP segment (GSO extra, csum_blank) comes up as one frame in
 * a chain of the adapter's pages, marked valid; when the stack holds too
 * many pages for it, it is dropped and counted. */
static void test_gso_frame_is_a_chain(void)
{
    struct netdev *nd = up();
    struct seen seen = {.keep = true};
    netdev_set_rx(nd, on_rx, &seen);
    static uint8_t big[40000];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (uint8_t)(i * 7 + (i >> 9));
    netback_queue_rx_gso(big, sizeof(big), 1448);
    pump(nd);
    CHECK_EQ(seen.n, 1);
    CHECK_EQ(seen.flags[0], NETDEV_RX_CSUM_VALID);
    size_t at = 0, pieces = 0;
    for (struct netdev_buf *b = seen.bufs[0]; b != NULL; b = b->next) {
        CHECK(b->len <= 4096 && at + b->len <= sizeof(big));
        CHECK(memcmp(b->data, big + at, b->len) == 0);
        at += b->len;
        pieces++;
    }
    CHECK_EQ(at, sizeof(big));
    CHECK_EQ(pieces, 10);
    struct netfront_stats nst;
    netfront_get_stats(netfront_netdev_netfront(nd), &nst);
    CHECK_EQ(nst.rx_gso, 1);
    /* Hold it, and 54 one-page frames: 64 pages; one more big frame
     * does not fit. */
    uint8_t small[60] = {0};
    for (int i = 0; i < 54; i++)
        netback_queue_rx(small, sizeof(small));
    netback_queue_rx_gso(big, sizeof(big), 1448);
    pump(nd);
    CHECK_EQ(seen.n, 55);
    struct netfront_netdev_stats st;
    netfront_netdev_get_stats(nd, &st);
    CHECK_EQ(st.rx_no_buffer, 1);
    /* Pieces go back one by one, in any order. */
    struct netdev_buf *b = seen.bufs[0], *next;
    struct netdev_buf *second = b->next;
    for (b = second->next; b != NULL; b = next) {
        next = b->next;
        netdev_buf_release(b);
    }
    netdev_buf_release(second);
    netdev_buf_release(seen.bufs[0]);
    for (size_t i = 1; i < seen.n; i++)
        netdev_buf_release(seen.bufs[i]);
    netfront_netdev_get_stats(nd, &st);
    CHECK_EQ(st.bad_release, 0);
    /* All back: the big frame fits again. */
    netback_queue_rx_gso(big, sizeof(big), 1448);
    pump(nd);
    CHECK_EQ(seen.n, 56);
    for (b = seen.bufs[55]; b != NULL; b = next) {
        next = b->next;
        netdev_buf_release(b);
    }
    down(nd);
}

int main(void)
{
    RUN(test_open);
    RUN(test_frames_both_ways);
    RUN(test_stack_holds_every_buffer);
    RUN(test_errors);
    RUN(test_checksum_offload);
    RUN(test_wait_parks_on_the_port);
    RUN(test_gso_frame_is_a_chain);
    return check_finish();
}
