/*
 * vchan against a hostile peer: indexes running ahead or backwards,
 * orders rewritten after the connection, garbage notify bits, and (as a
 * client) a control page with impossible orders. The channel breaks with
 * -XENABI_EIO and counts it; nothing is read or written out of bounds
 * (ASan, UBSan); closing still ends every grant.
 */
#include <stdio.h>

#include "common.h"

static uint8_t buf[70000];

static void test_cons_ahead(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 10, 11, PEER_IDLE, 0);
    CHECK_EQ(vchan_write(v, buf, 10), 10);
    peer_fault(p, PEER_CONS_AHEAD);
    sim_run();
    CHECK_EQ(vchan_write(v, buf, 10), -XENABI_EIO);
    CHECK_EQ(vchan_buffer_space(v), -XENABI_EIO);
    CHECK_EQ(vchan_write_all(v, buf, 10), -XENABI_EIO);
    CHECK_EQ(vchan_read(v, buf, 10), -XENABI_EIO); /* broken for good */
    CHECK_EQ(vstats(v).bad_index, 1);
    finish(v, p);
}

static void test_prod_ahead(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 12, 10, PEER_IDLE, 0);
    peer_fault(p, PEER_PROD_AHEAD);
    sim_run();
    CHECK_EQ(vchan_data_ready(v), -XENABI_EIO);
    CHECK_EQ(vchan_read(v, buf, sizeof(buf)), -XENABI_EIO);
    CHECK_EQ(vchan_read_exact(v, buf, 1), -XENABI_EIO);
    CHECK_EQ(vstats(v).bad_index, 1);
    CHECK_EQ(vstats(v).read, 0);
    finish(v, p);
}

static void test_prod_backwards(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 11, 10, PEER_IDLE, 0);
    peer_send(p, "abc", 3);
    sim_run();
    CHECK_EQ(vchan_read(v, buf, 3), 3);
    peer_fault(p, PEER_PROD_BACK);
    sim_run();
    CHECK_EQ(vchan_read(v, buf, sizeof(buf)), -XENABI_EIO);
    finish(v, p);
}

static void test_orders_rewritten(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 10, 11, PEER_ECHO, 4096);
    peer_fault(p, PEER_REWRITE_ORDERS);
    sim_run();
    /* Our copy of the orders holds: 2 KiB to write, no more. */
    CHECK_EQ(vchan_write_size(v), 2048);
    CHECK_EQ(vchan_write_all(v, "ok", 2), 2);
    char got[2];
    CHECK_EQ(vchan_read_exact(v, got, 2), 2);
    CHECK(memcmp(got, "ok", 2) == 0);
    finish(v, p);
}

static void test_notify_garbage(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 10, 11, PEER_SINK, 4096);
    peer_fault(p, PEER_NOTIFY_GARBAGE);
    sim_run();
    CHECK_EQ(vchan_write(v, buf, 100), 100);
    CHECK_EQ(vchan_write(v, buf, 100), 100); /* one event, then none */
    CHECK_EQ(vstats(v).notifies, 1);
    finish(v, p);
}

/* Random indexes from the peer, many times: never out of bounds. */
static void test_index_fuzz(void)
{
    struct peer *p;
    struct vchan *v = serve(&p, 10, 12, PEER_IDLE, 0);
    struct xenabi_vchan_interface *c = NULL;
    (void)c;
    uint32_t x = 12345;
    int broke = 0;
    for (int i = 0; i < 2000 && !broke; i++) {
        x = x * 1103515245u + 12345u;
        peer_fault(p, (x >> 8) % 3 == 0 ? PEER_CONS_AHEAD
                     : (x >> 8) % 3 == 1 ? PEER_PROD_AHEAD
                                         : PEER_PROD_BACK);
        sim_run();
        long w = vchan_write(v, buf, x % 5000);
        long r = vchan_read(v, buf, x % 7000);
        broke = w < 0 || r < 0;
    }
    CHECK(broke);
    CHECK_EQ(vstats(v).bad_index, 1);
    finish(v, p);
}

static void no_op(uint32_t port, void *arg)
{
    (void)port;
    (void)arg;
}

static _Alignas(4096) uint8_t ctrl_page[4096];

static void test_client_rejects_bad_orders(void)
{
    boot();
    static const uint16_t orders[][2] = {
        {9, 10}, {10, 10}, {11, 11}, {16, 10}, {10, 0xffff}, {0, 0},
    };
    struct xenabi_vchan_interface *c = (void *)ctrl_page;
    xenabi_evtchn_port_t port;
    uint32_t sport;
    CHECK_EQ(evtchn_alloc_unbound(SIM_BACKEND_DOMID, &port), 0);
    CHECK_EQ(sim_evtchn_bind(port, no_op, NULL, &sport), 0);
    for (unsigned i = 0; i < sizeof(orders) / sizeof(orders[0]); i++) {
        memset(ctrl_page, 0, sizeof(ctrl_page));
        c->left_order = orders[i][0];
        c->right_order = orders[i][1];
        struct vchan *v = NULL;
        CHECK_EQ(vchan_client_attach(c, ctrl_page, ctrl_page, port, &v),
                 -XENABI_EINVAL);
        CHECK_EQ(c->cli_live, 0);
    }
    /* A server that runs its prod ahead of a client. */
    memset(ctrl_page, 0, sizeof(ctrl_page));
    c->left_order = 11;
    c->right_order = 10;
    struct vchan *v = NULL;
    CHECK_EQ(vchan_client_attach(c, NULL, NULL, port, &v), 0);
    c->right.prod = 1025;
    CHECK_EQ(vchan_read(v, buf, sizeof(buf)), -XENABI_EIO);
    vchan_close(v);
}

int main(void)
{
    RUN(test_cons_ahead);
    RUN(test_prod_ahead);
    RUN(test_prod_backwards);
    RUN(test_orders_rewritten);
    RUN(test_notify_garbage);
    RUN(test_index_fuzz);
    RUN(test_client_rejects_bad_orders);
    return check_finish();
}
