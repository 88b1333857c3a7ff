/*
 * The PV console against a simulated console daemon: output that wraps
 * the ring many times, a full ring, input larger than the in ring, the
 * daemon's impossible indexes, and finding the console through Xen.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <hypervisor/hypervisor.h>
#include <xencons/xencons.h>
#include <testing/check.h>
#include <xensim/sim.h>

#include "consd.h"

static _Alignas(4096) uint8_t page_mem[4096];
static struct xencons con;

static struct consd *up(uint32_t chunk)
{
    CHECK_EQ(evtchn_init(), 0);
    memset(page_mem, 0, sizeof(page_mem));
    xenabi_evtchn_port_t port;
    /* The toolstack's part: a port bound to the daemon before we start. */
    CHECK_EQ(evtchn_alloc_unbound(SIM_BACKEND_DOMID, &port), 0);
    struct consd *d = consd_create((void *)page_mem, port, chunk);
    CHECK_EQ(xencons_attach(&con, (void *)page_mem, port), 0);
    return d;
}

/* Let the daemon run until it has logged `want` bytes (or gives up). */
static const uint8_t *drain(struct consd *d, size_t want, size_t *len)
{
    const uint8_t *log = consd_log(d, len);
    for (int i = 0; i < 1000 && *len < want; i++) {
        evtchn_dispatch(); /* take the daemon's events, as the upcall would */
        sim_run();
        log = consd_log(d, len);
    }
    return log;
}

static struct xencons_stats stats(void)
{
    struct xencons_stats st;
    xencons_get_stats(&con, &st);
    return st;
}

static void test_output_wraps(void)
{
    struct consd *d = up(300);
    enum { N = 10000 };
    static uint8_t msg[N];
    for (unsigned i = 0; i < N; i++)
        msg[i] = (uint8_t)(' ' + i % 90);
    CHECK_EQ(xencons_write_all(&con, msg, N), N);
    size_t len;
    const uint8_t *log = drain(d, N, &len);
    CHECK_EQ(len, N);
    CHECK(len == N && memcmp(log, msg, N) == 0);
    CHECK(stats().waits > 0);
    CHECK(consd_events(d) > 0);
    consd_destroy(d);
}

static void test_full_ring(void)
{
    struct consd *d = up(1 << 20);
    consd_hold(d, true);
    static uint8_t big[3000];
    memset(big, 'x', sizeof(big));
    CHECK_EQ(xencons_write(&con, big, sizeof(big)), XENABI_CONSOLE_OUT_SIZE);
    CHECK_EQ(xencons_write(&con, big, 1), 0);
    CHECK_EQ(xencons_write_all(&con, big, 1), -XENABI_ETIMEDOUT);
    consd_hold(d, false);
    CHECK_EQ(xencons_write_all(&con, "y", 1), 1);
    size_t len;
    const uint8_t *log = drain(d, XENABI_CONSOLE_OUT_SIZE + 1, &len);
    CHECK_EQ(len, XENABI_CONSOLE_OUT_SIZE + 1);
    CHECK_EQ(log[len - 1], 'y');
    consd_destroy(d);
}

static void test_input(void)
{
    struct consd *d = up(64);
    enum { N = 3000 };
    static uint8_t in[N], got[N];
    for (unsigned i = 0; i < N; i++)
        in[i] = (uint8_t)(i * 13);
    consd_input(d, in, N);
    size_t have = 0;
    while (have < N) {
        long n = xencons_read(&con, got + have, 500);
        if (!CHECK(n >= 0))
            break;
        have += (size_t)n;
        if (n == 0 && !CHECK(sim_run() > 0))
            break;
    }
    CHECK_EQ(have, N);
    CHECK(memcmp(in, got, N) == 0);
    CHECK_EQ(xencons_read(&con, got, 1), 0);
    consd_destroy(d);
}

static void test_daemon_out_cons_ahead(void)
{
    struct consd *d = up(64);
    consd_hold(d, true);
    CHECK_EQ(xencons_write(&con, "abc", 3), 3);
    consd_fault(d, CONSD_OUT_CONS_AHEAD);
    sim_run();
    CHECK_EQ(xencons_write(&con, "abc", 3), -XENABI_EIO);
    CHECK_EQ(xencons_write_all(&con, "abc", 3), -XENABI_EIO);
    CHECK_EQ(xencons_read(&con, page_mem, 1), -XENABI_EIO);
    CHECK_EQ(stats().bad_index, 1);
    consd_destroy(d);
}

static void test_daemon_in_prod_ahead(void)
{
    struct consd *d = up(64);
    consd_fault(d, CONSD_IN_PROD_AHEAD);
    sim_run();
    static uint8_t buf[4096];
    CHECK_EQ(xencons_read(&con, buf, sizeof(buf)), -XENABI_EIO);
    CHECK_EQ(stats().read, 0);
    CHECK_EQ(stats().bad_index, 1);
    consd_destroy(d);
}

static void test_init_through_xen(void)
{
    CHECK_EQ(evtchn_init(), 0);
    struct xencons c;
    CHECK_EQ(xencons_init(&c), -XENABI_ENOENT); /* no console */
    xenabi_evtchn_port_t port;
    CHECK_EQ(evtchn_alloc_unbound(SIM_BACKEND_DOMID, &port), 0);
    memset(page_mem, 0, sizeof(page_mem));
    struct consd *d = consd_create((void *)page_mem, port, 4096);
    sim_set_console(xen_ptr_to_frame(page_mem), port);
    CHECK_EQ(xencons_init(&c), 0);
    CHECK_EQ(xencons_write_all(&c, "found\n", 6), 6);
    evtchn_dispatch();
    sim_run();
    size_t len;
    const uint8_t *log = consd_log(d, &len);
    CHECK(len == 6 && memcmp(log, "found\n", 6) == 0);
    consd_destroy(d);
    sim_set_console(12345, port); /* a frame that is not ours */
    CHECK_EQ(xencons_init(&c), -XENABI_EFAULT);
    sim_set_absent(true);
    CHECK_EQ(xencons_init(&c), -XENABI_ENOSYS);
    sim_set_absent(false);
    CHECK_EQ(xencons_attach(&c, NULL, 1), -XENABI_EINVAL);
}

int main(void)
{
    RUN(test_output_wraps);
    RUN(test_full_ring);
    RUN(test_input);
    RUN(test_daemon_out_cons_ahead);
    RUN(test_daemon_in_prod_ahead);
    RUN(test_init_through_xen);
    return check_finish();
}
