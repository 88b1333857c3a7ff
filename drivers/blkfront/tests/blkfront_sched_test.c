/*
 * blkfront on scheduler threads, on the host: the simulated blkback
 * (//drivers/blkfront/tests:blkback) serves a memory disk, and blkfront
 * runs with the glue started. A thread that drives async requests waits
 * on the device's port: the backend's event wakes it from the upcall and
 * its blkfront_poll completes the requests. The blocking forms park
 * their thread in evtchn_wait the same way. Meanwhile another thread
 * keeps running, and the domain never blocks (SCHEDOP_block).
 */
#include <string.h>

#include <blkfront/blkfront.h>
#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <gnttab/gnttab.h>
#include <sched/sched.h>
#include <time/time.h>
#include <testing/check.h>
#include <xensim/sim.h>
#include <xenstore/xenstore.h>

#include "blkback.h"
#include <hostsched/hostsched.h>

#define SECTORS 256
#define NODE "device/vbd/768"
#define REQUESTS 4
#define SECTORS_PER_REQUEST 8

static _Alignas(4096) uint8_t bufs[REQUESTS][SECTORS_PER_REQUEST * 512];
static _Alignas(4096) uint8_t blocking_buf[SECTORS_PER_REQUEST * 512];

static struct blkfront *bf;
static int completed, failed;
static int ticks;
static bool stop_ticking;

static int ticker(void *arg)
{
    (void)arg;
    while (!stop_ticking) {
        ticks++;
        sched_sleep_ns(TIME_NS_PER_MS);
    }
    return 0;
}

static void on_done(void *arg, int status)
{
    (void)arg;
    completed++;
    if (status != 0)
        failed++;
}

/* Queue REQUESTS reads, then wait on the port until all completed. */
static int async_driver(void *arg)
{
    int *waits = arg;
    xenabi_evtchn_port_t port;
    if (blkfront_port(bf, &port) != 0)
        return -1;
    for (int i = 0; i < REQUESTS; i++)
        if (blkfront_read_async(bf, (uint64_t)i * SECTORS_PER_REQUEST,
                                bufs[i], sizeof bufs[i], on_done, NULL)
            != 0)
            return -2;
    /* In flight, the backend holds grants on bounce pages, not on ours. */
    if (sim_gnttab_grants_on(bufs, sizeof bufs) != 0) {
        stop_ticking = true;
        return -5;
    }
    while (completed < REQUESTS) {
        if (blkfront_poll(bf) < 0)
            return -3;
        if (completed == REQUESTS)
            break;
        int rc = evtchn_sched_wait(port, TIME_NEVER);
        if (rc < 0)
            return -4;
        (*waits)++;
    }
    stop_ticking = true;
    return 0;
}

static int blocking_reader(void *arg)
{
    int *ticks_seen = arg;
    int rc = blkfront_read(bf, 100, blocking_buf, sizeof blocking_buf);
    *ticks_seen = ticks;
    stop_ticking = true;
    return rc;
}

static void pattern(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 13 + (i >> 9));
}

static void test_blkfront_on_threads(void)
{
    host_reset();
    struct blkback *bb = blkback_create(768, SECTORS, 512, 0);
    evtchn_sched_stop(); /* a fresh start: counts from zero */
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(evtchn_sched_start(), 0);
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(xs_init(), 0);
    CHECK_EQ(blkfront_open(NODE, &bf), 0);
    CHECK_EQ(blkfront_wait_connected(bf), 0); /* main parks meanwhile */
    pattern(blkback_disk(bb), SECTORS * 512);

    /* Async requests, completed by the thread the port's events wake. */
    completed = failed = ticks = 0;
    stop_ticking = false;
    int waits = 0, status = -99;
    struct sched_thread *tick = sched_spawn("ticker", ticker, NULL, NULL);
    struct sched_thread *drv =
        sched_spawn("blk", async_driver, &waits, NULL);
    CHECK(tick != NULL && drv != NULL);
    CHECK_EQ(sched_join(drv, &status), 0);
    CHECK_EQ(sched_join(tick, NULL), 0);
    CHECK_EQ(status, 0);
    CHECK_EQ(completed, REQUESTS);
    CHECK_EQ(failed, 0);
    CHECK(waits >= 1);
    for (int i = 0; i < REQUESTS; i++)
        CHECK(memcmp(bufs[i],
                     blkback_disk(bb) + i * SECTORS_PER_REQUEST * 512,
                     sizeof bufs[i])
              == 0);

    /* The blocking form in a thread: parks in evtchn_wait; the ticker
     * runs while it waits. */
    ticks = 0;
    stop_ticking = false;
    int ticks_seen = -1;
    tick = sched_spawn("ticker", ticker, NULL, NULL);
    struct sched_thread *rd =
        sched_spawn("reader", blocking_reader, &ticks_seen, NULL);
    CHECK(tick != NULL && rd != NULL);
    CHECK_EQ(sched_join(rd, &status), 0);
    CHECK_EQ(sched_join(tick, NULL), 0);
    CHECK_EQ(status, 0);
    CHECK(ticks_seen >= 1);
    CHECK(memcmp(blocking_buf, blkback_disk(bb) + 100 * 512,
                 sizeof blocking_buf)
          == 0);

    struct evtchn_sched_stats st;
    evtchn_sched_get_stats(&st);
    CHECK(st.interrupts >= 2);
    CHECK(st.wakeups >= 2);
    struct evtchn_stats es;
    evtchn_get_stats(&es);
    CHECK_EQ(es.blocks, 0);
    struct sim_stats ss;
    sim_get_stats(&ss);
    CHECK_EQ(ss.blocks, 0);

    struct blkfront_stats bs;
    blkfront_get_stats(bf, &bs);
    CHECK_EQ(bs.pages_lost, 0);
    CHECK(bs.pool_pages >= 2 && bs.pool_pages <= REQUESTS * 2);
    CHECK_EQ(blkfront_close(bf), 0);
    struct gnttab_stats gs;
    gnttab_get_stats(&gs);
    CHECK_EQ(gs.in_use, 0);
    blkback_destroy(bb);
}

int main(void)
{
    sched_init();
    RUN(test_blkfront_on_threads);
    evtchn_sched_print_stats();
    return check_finish();
}
