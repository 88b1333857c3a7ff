/*
 * blkfront behind <blkdev/blkdev.h>, on the host against the simulated
 * blkback, on scheduler threads (//testing/hostsched) with the event
 * glue started: geometry in the disk's own sectors, the blocking forms
 * parking on the vbd's port, requests in flight on bounce pages (never
 * on the caller's), flush as the backend offers it, and the interface's
 * errors.
 */
#include <errno.h>
#include <string.h>

#include <blkdev/blkdev.h>
#include <blkfront/blkfront_blkdev.h>
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

#define NODE "device/vbd/768"
#define SECTORS 1024u /* 512-byte sectors of the simulated disk */

static _Alignas(4096) uint8_t buf[65536], back[65536];

static struct blkback *start(uint32_t sector_size, unsigned flags,
                             struct blkdev **bd)
{
    host_reset();
    struct blkback *bb = blkback_create(768, SECTORS, sector_size, flags);
    evtchn_sched_stop();
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(evtchn_sched_start(), 0);
    CHECK_EQ(gnttab_init(), 0);
    CHECK_EQ(xs_init(), 0);
    *bd = NULL;
    CHECK_EQ(blkfront_blkdev_open(NODE, bd), 0);
    return bb;
}

static void finish(struct blkback *bb, struct blkdev *bd)
{
    if (bd != NULL)
        CHECK_EQ(blkfront_blkdev_close(bd), 0);
    struct gnttab_stats gs;
    gnttab_get_stats(&gs);
    CHECK_EQ(gs.in_use, 0);
    blkback_destroy(bb);
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 29 + seed + (i >> 9));
}

struct done {
    int calls, status;
};

static void on_done(void *arg, int status)
{
    struct done *d = arg;
    d->calls++;
    d->status = status;
}

static void geometry_and_round_trip(void)
{
    struct blkdev *bd;
    struct blkback *bb = start(512, BLKBACK_FLUSH, &bd);
    if (bd == NULL)
        return blkback_destroy(bb);
    const struct blkdev_info *in = blkdev_info(bd);
    CHECK_EQ(in->sector_size, 512);
    CHECK_EQ(in->sectors, SECTORS);
    CHECK(!in->readonly);
    CHECK_EQ(in->features, BLKDEV_F_FLUSH);
    CHECK_EQ(in->queue_depth, 32);
    CHECK_EQ(in->max_request, BLKFRONT_MAX_SEGMENTS * 4096);

    pattern(buf, 8192, 1);
    CHECK_EQ(blkdev_write(bd, 16, buf, 8192), 0);
    CHECK(memcmp(blkback_disk(bb) + 16 * 512, buf, 8192) == 0);
    memset(back, 0, 8192);
    CHECK_EQ(blkdev_read(bd, 16, back, 8192), 0);
    CHECK(memcmp(back, buf, 8192) == 0);
    struct blkback_stats st;
    blkback_get_stats(bb, &st);
    uint64_t flushes = st.flushes;
    CHECK_EQ(blkdev_flush(bd), 0);
    blkback_get_stats(bb, &st);
    CHECK_EQ(st.flushes, flushes + 1);
    finish(bb, bd);
}

/* Requests in flight sit on bounce pages; callbacks run from poll. */
static void in_flight_on_bounce_pages(void)
{
    struct blkdev *bd;
    struct blkback *bb = start(512, BLKBACK_FLUSH, &bd);
    if (bd == NULL)
        return blkback_destroy(bb);
    pattern(blkback_disk(bb), SECTORS * 512, 2);
    blkback_hold(bb, true);
    struct done d[8] = {{0}};
    for (unsigned i = 0; i < 8; i++)
        CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, i * 8, buf + i * 4096,
                               4096, on_done, &d[i]),
                 0);
    CHECK_EQ(sim_gnttab_grants_on(buf, sizeof buf), 0);
    blkback_hold(bb, false);
    unsigned completed = 0;
    while (completed < 8) {
        CHECK(blkdev_poll(bd) >= 0);
        completed = 0;
        for (unsigned i = 0; i < 8; i++)
            completed += (unsigned)d[i].calls;
        if (completed < 8)
            CHECK_EQ(blkdev_wait(bd, 0), 0);
    }
    for (unsigned i = 0; i < 8; i++) {
        CHECK_EQ(d[i].calls, 1);
        CHECK_EQ(d[i].status, 0);
    }
    CHECK(memcmp(buf, blkback_disk(bb), 8 * 4096) == 0);
    finish(bb, bd);
}

/* 4 KiB disk sectors: the interface counts in them. */
static void large_sectors(void)
{
    struct blkdev *bd;
    struct blkback *bb = start(4096, BLKBACK_FLUSH, &bd);
    if (bd == NULL)
        return blkback_destroy(bb);
    CHECK_EQ(blkdev_info(bd)->sector_size, 4096);
    CHECK_EQ(blkdev_info(bd)->sectors, SECTORS / 8);
    pattern(buf, 4096, 3);
    CHECK_EQ(blkdev_write(bd, 5, buf, 4096), 0);
    CHECK(memcmp(blkback_disk(bb) + 5 * 4096, buf, 4096) == 0);
    CHECK_EQ(blkdev_write(bd, 5, buf, 512), -EINVAL);
    CHECK_EQ(blkdev_write(bd, SECTORS / 8, buf, 4096), -ERANGE);
    finish(bb, bd);
}

/* No flush, no barrier: flush completes with 0 at the next poll and
 * sends nothing. */
static void backend_without_flush(void)
{
    struct blkdev *bd;
    struct blkback *bb = start(512, 0, &bd);
    if (bd == NULL)
        return blkback_destroy(bb);
    CHECK_EQ(blkdev_info(bd)->features, 0);
    /* Nothing to do, no event coming: a wait times out. */
    int waited = 0;
    for (int i = 0; i < 10 && waited == 0; i++) {
        waited = blkdev_wait(bd, time_monotonic_ns() + TIME_NS_PER_MS);
        (void)blkdev_poll(bd); /* events of the handshake, if any */
    }
    CHECK_EQ(waited, -ETIMEDOUT);
    struct done f = {0};
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_FLUSH, 0, NULL, 0, on_done, &f), 0);
    CHECK_EQ(f.calls, 0);
    /* Something to do: returns at once, not at the deadline. */
    CHECK_EQ(blkdev_wait(bd, time_monotonic_ns() + TIME_NS_PER_MS), 0);
    CHECK(blkdev_poll(bd) >= 1);
    CHECK_EQ(f.calls, 1);
    CHECK_EQ(f.status, 0);
    CHECK_EQ(blkdev_flush(bd), 0);
    struct blkback_stats st;
    blkback_get_stats(bb, &st);
    CHECK_EQ(st.flushes + st.barriers, 0);
    finish(bb, bd);

    /* A barrier-only backend: flushes go out as barriers. */
    bb = start(512, BLKBACK_BARRIER, &bd);
    if (bd == NULL)
        return blkback_destroy(bb);
    CHECK_EQ(blkdev_info(bd)->features, BLKDEV_F_FLUSH);
    CHECK_EQ(blkdev_flush(bd), 0);
    blkback_get_stats(bb, &st);
    CHECK_EQ(st.barriers, 1);
    finish(bb, bd);
}

static void errors(void)
{
    struct blkdev *bd;
    struct blkback *bb = start(512, BLKBACK_READONLY, &bd);
    if (bd == NULL)
        return blkback_destroy(bb);
    CHECK(blkdev_info(bd)->readonly);
    CHECK_EQ(blkdev_write(bd, 0, buf, 512), -EROFS);
    CHECK_EQ(blkdev_read(bd, 0, buf + 1, 512), -EINVAL);
    CHECK_EQ(blkdev_read(bd, 0, buf, 100), -EINVAL);
    CHECK_EQ(blkdev_read(bd, SECTORS, buf, 512), -ERANGE);
    CHECK_EQ(blkdev_read(bd, 0, buf, 65536), -EMSGSIZE);
    CHECK_EQ(blkdev_submit(bd, (enum blkdev_op)7, 0, buf, 512, on_done,
                           &(struct done){0}),
             -EINVAL);
    /* Every slot in flight: the next is refused, not queued. */
    blkback_hold(bb, true);
    struct done d[32] = {{0}};
    for (unsigned i = 0; i < 32; i++)
        CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, i, back + i * 512, 512,
                               on_done, &d[i]),
                 0);
    CHECK_EQ(blkdev_submit(bd, BLKDEV_OP_READ, 0, buf, 512, on_done,
                           &(struct done){0}),
             -EAGAIN);
    blkback_hold(bb, false);
    /* Closing completes what is in flight. */
    finish(bb, bd);
    for (unsigned i = 0; i < 32; i++)
        CHECK_EQ(d[i].calls, 1);
}

int main(void)
{
    sched_init();
    RUN(geometry_and_round_trip);
    RUN(in_flight_on_bounce_pages);
    RUN(large_sectors);
    RUN(backend_without_flush);
    RUN(errors);
    return check_finish();
}
