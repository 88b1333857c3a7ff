/*
 * blkfront against the simulated blkback: the handshake and the disk's
 * details, reads, writes and flushes checked byte for byte against what
 * dom0 sees in the disk, many requests in flight, a full ring, argument
 * checks, detach and reconnect, and no grant left behind.
 */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"

#define SECTORS 512 /* 256 KiB */

static _Alignas(4096) uint8_t buf[16 * 4096];
static _Alignas(4096) uint8_t small[32][512 * 8];

static struct blkfront *bring_up(struct blkback **bb, unsigned flags)
{
    *bb = blkback_create(768, SECTORS, 512, flags);
    boot();
    struct blkfront *bf = NULL;
    CHECK_EQ(blkfront_open(NODE, &bf), 0);
    CHECK_EQ(blkfront_wait_connected(bf), 0);
    CHECK(blkfront_connected(bf));
    return bf;
}

static void pattern(uint8_t *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(i * 7 + seed + (i >> 9));
}

static void test_details_read_write_flush(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, BLKBACK_FLUSH);
    struct blkfront_info info;
    CHECK_EQ(blkfront_info(bf, &info), 0);
    CHECK_EQ(info.sectors, SECTORS);
    CHECK_EQ(info.sector_size, 512);
    CHECK(info.flush && !info.barrier && !info.readonly);
    CHECK_EQ(info.ring_slots, 32); /* no max-ring-page-order: one page */
    CHECK_EQ(info.max_segments, BLKFRONT_MAX_SEGMENTS); /* no indirect */
    /* The port a scheduler waits on: bound and unmasked. */
    xenabi_evtchn_port_t port = 0;
    CHECK_EQ(blkfront_port(bf, &port), 0);
    CHECK(port != 0 && !sim_guest_port_masked(port));

    /* Three whole pages at sector 8: dom0 sees exactly those bytes. */
    pattern(buf, 3 * 4096, 1);
    CHECK_EQ(blkfront_write(bf, 8, buf, 3 * 4096), 0);
    CHECK(memcmp(blkback_disk(bb) + 8 * 512, buf, 3 * 4096) == 0);
    CHECK_EQ(blkback_disk(bb)[8 * 512 - 1], 0);
    CHECK_EQ(blkback_disk(bb)[8 * 512 + 3 * 4096], 0);

    /* dom0 writes; a read into a buffer straddling a page boundary. */
    pattern(blkback_disk(bb) + 100 * 512, 2048, 9);
    memset(buf, 0xee, sizeof(buf));
    CHECK_EQ(blkfront_read(bf, 100, buf + 3072, 2048), 0);
    CHECK(memcmp(buf + 3072, blkback_disk(bb) + 100 * 512, 2048) == 0);
    CHECK_EQ(buf[3071], 0xee);
    CHECK_EQ(buf[3072 + 2048], 0xee);

    /* The largest request: 11 pages, the last sector of the disk. */
    pattern(buf, 11 * 4096, 3);
    CHECK_EQ(blkfront_write(bf, SECTORS - 88, buf, 11 * 4096), 0);
    CHECK(memcmp(blkback_disk(bb) + (SECTORS - 88) * 512, buf, 11 * 4096)
          == 0);

    CHECK_EQ(blkfront_flush(bf), 0);
    struct blkback_stats bs;
    blkback_get_stats(bb, &bs);
    CHECK_EQ(bs.flushes, 1);
    CHECK_EQ(bs.writes, 2);
    CHECK_EQ(bs.reads, 1);
    CHECK_EQ(bs.maps, 3 + 1 + 11); /* 2048 bytes: one bounce page */
    CHECK_EQ(bs.errors, 0);
    CHECK_EQ(fstats(bf).completed, 4);
    CHECK_EQ(grants().in_use, 1); /* only the ring while connected */

    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    sim_run();
    CHECK_EQ(blkback_state(bb), XENABI_XENBUS_STATE_CLOSED);
    blkback_destroy(bb);
}

static void test_full_ring_async(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, 0);
    for (unsigned i = 0; i < 32; i++)
        pattern(blkback_disk(bb) + i * 4096, 4096, i);
    blkback_hold(bb, true);
    struct done d[33] = {{0}};
    for (unsigned i = 0; i < 32; i++)
        CHECK_EQ(blkfront_read_async(bf, i * 8, small[i], 4096, on_done,
                                     &d[i]),
                 0);
    CHECK_EQ(blkfront_inflight(bf), 32);
    CHECK_EQ(grants().in_use, 33);
    /* What the backend may touch are the driver's pages, not ours. */
    CHECK_EQ(sim_gnttab_grants_on(small, sizeof(small)), 0);
    CHECK_EQ(fstats(bf).pool_pages, 32);
    CHECK_EQ(blkfront_read_async(bf, 0, buf, 512, on_done, &d[32]),
             -XENABI_EBUSY);
    sim_run();
    CHECK_EQ(blkfront_poll(bf), 0);
    blkback_hold(bb, false);
    CHECK_EQ(wait_done(bf, &d[31]), 0);
    for (unsigned i = 0; i < 32; i++) {
        CHECK_EQ(d[i].calls, 1);
        CHECK_EQ(d[i].status, 0);
        CHECK(memcmp(small[i], blkback_disk(bb) + i * 4096, 4096) == 0);
    }
    CHECK_EQ(blkfront_inflight(bf), 0);
    CHECK_EQ(grants().in_use, 1);
    /* The ring wraps: another 100 requests through the same slots. */
    for (unsigned i = 0; i < 100; i++) {
        pattern(buf, 512, i);
        CHECK_EQ(blkfront_write(bf, i % SECTORS, buf, 512), 0);
        CHECK(memcmp(blkback_disk(bb) + (i % SECTORS) * 512, buf, 512) == 0);
    }
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

static void test_multi_page_ring(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, BLKBACK_MULTI_PAGE);
    char order[8] = "";
    sim_xs_read("/local/domain/1/" NODE "/ring-page-order", order,
                sizeof(order));
    CHECK(strcmp(order, "2") == 0); /* the backend's 3, capped at ours */
    struct blkfront_info info;
    CHECK_EQ(blkfront_info(bf, &info), 0);
    CHECK_EQ(info.ring_slots, 128);
    struct blkback_stats bs;
    blkback_get_stats(bb, &bs);
    CHECK_EQ(bs.ring_pages, 4);
    /* 128 requests in flight at once, one sector each. */
    pattern(blkback_disk(bb), 128 * 512, 11);
    static struct done d[129];
    memset(d, 0, sizeof(d));
    memset(buf, 0, sizeof(buf));
    blkback_hold(bb, true);
    for (unsigned i = 0; i < 128; i++)
        CHECK_EQ(blkfront_read_async(bf, i, buf + i * 512, 512, on_done,
                                     &d[i]),
                 0);
    CHECK_EQ(blkfront_read_async(bf, 0, buf, 512, on_done, &d[128]),
             -XENABI_EBUSY);
    CHECK_EQ(grants().in_use, 4 + 128);
    blkback_hold(bb, false);
    for (int i = 0; i < 1000 && blkfront_inflight(bf) != 0; i++) {
        blkfront_poll(bf);
        if (blkfront_inflight(bf) != 0 && !CHECK_EQ(evtchn_wait(), 0))
            break;
    }
    for (unsigned i = 0; i < 128; i++)
        CHECK_EQ(d[i].calls, 1);
    CHECK(memcmp(buf, blkback_disk(bb), 128 * 512) == 0);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

static _Alignas(4096) uint8_t wide[33 * 4096];

static void test_indirect_requests(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, BLKBACK_INDIRECT | BLKBACK_FLUSH);
    struct blkfront_info info;
    CHECK_EQ(blkfront_info(bf, &info), 0);
    CHECK_EQ(info.max_indirect_segments, 32);
    CHECK_EQ(info.max_segments, 32);
    /* 32 pages (128 KiB) in one request, through one indirect page. */
    pattern(wide, 32 * 4096, 4);
    CHECK_EQ(blkfront_write(bf, 16, wide, 32 * 4096), 0);
    CHECK(memcmp(blkback_disk(bb) + 16 * 512, wide, 32 * 4096) == 0);
    /* Unaligned within pages: 19 pages of data (the buffer spans 20),
     * read back. */
    memset(wide, 0, sizeof(wide));
    CHECK_EQ(blkfront_read(bf, 17, wide + 512, 19 * 4096), 0);
    CHECK(memcmp(wide + 512, blkback_disk(bb) + 17 * 512, 19 * 4096) == 0);
    /* Small requests still go in the slot itself. */
    CHECK_EQ(blkfront_read(bf, 0, wide, 4096), 0);
    struct blkback_stats bs;
    blkback_get_stats(bb, &bs);
    CHECK_EQ(bs.indirect, 2);
    CHECK_EQ(bs.requests, 3);
    CHECK_EQ(bs.errors, 0);
    CHECK_EQ(blkfront_read(bf, 0, wide, 33 * 4096), -XENABI_E2BIG);
    CHECK_EQ(grants().in_use, 1);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

/*
 * The bounce pool is bounded by the ring (BLKFRONT_POOL_PAGES: 352 pages
 * for 32 slots): indirect requests of 32 pages (33 with their page of
 * segments) exhaust it before the ring, and it stops growing.
 */
static void test_bounce_pool_is_bounded(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, BLKBACK_INDIRECT);
    pattern(blkback_disk(bb), 32 * 4096, 6);
    blkback_hold(bb, true);
    struct done d[12] = {{0}};
    unsigned n = 0;
    while (n < 11 && blkfront_read_async(bf, 0, wide, 32 * 4096, on_done,
                                         &d[n]) == 0)
        n++;
    CHECK_EQ(n, 10); /* 330 pages */
    CHECK_EQ(blkfront_read_async(bf, 0, wide, 32 * 4096, on_done, &d[11]),
             -XENABI_EBUSY);
    CHECK_EQ(blkfront_inflight(bf), 10);
    /* What is left (22 pages) still serves a direct request. */
    CHECK_EQ(blkfront_read_async(bf, 0, wide, 11 * 4096, on_done, &d[10]),
             0);
    CHECK_EQ(fstats(bf).pool_pages, 341);
    CHECK_EQ(sim_gnttab_grants_on(wide, sizeof(wide)), 0);
    blkback_hold(bb, false);
    CHECK_EQ(wait_done(bf, &d[10]), 0);
    for (unsigned i = 0; i < 11; i++) {
        CHECK_EQ(d[i].calls, 1);
        CHECK_EQ(d[i].status, 0);
    }
    CHECK(memcmp(wide, blkback_disk(bb), 32 * 4096) == 0);
    /* Pages are reused, not added. */
    for (unsigned i = 0; i < 20; i++)
        CHECK_EQ(blkfront_read(bf, 0, wide, 32 * 4096), 0);
    CHECK_EQ(fstats(bf).pool_pages, 341);
    CHECK_EQ(fstats(bf).pages_lost, 0);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

static void test_destroy_and_reconnect(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, BLKBACK_FLUSH);
    pattern(buf, 4096, 5);
    CHECK_EQ(blkfront_write(bf, 40, buf, 4096), 0);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    sim_run();
    CHECK_EQ(blkback_state(bb), XENABI_XENBUS_STATE_CLOSED);

    bf = NULL;
    CHECK_EQ(blkfront_open(NODE, &bf), 0);
    CHECK_EQ(blkfront_wait_connected(bf), 0);
    memset(small[0], 0, 4096);
    CHECK_EQ(blkfront_read(bf, 40, small[0], 4096), 0);
    CHECK(memcmp(small[0], buf, 4096) == 0);
    struct blkback_stats bs;
    blkback_get_stats(bb, &bs);
    CHECK_EQ(bs.connects, 2);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

static void test_flush_negotiation(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, BLKBACK_BARRIER);
    CHECK_EQ(blkfront_flush(bf), 0);
    struct blkback_stats bs;
    blkback_get_stats(bb, &bs);
    CHECK_EQ(bs.barriers, 1);
    CHECK_EQ(bs.flushes, 0);
    CHECK_EQ(blkfront_close(bf), 0);
    blkback_destroy(bb);

    sim_reset();
    bf = bring_up(&bb, BLKBACK_BARRIER | BLKBACK_FLUSH);
    CHECK_EQ(blkfront_flush(bf), 0); /* flush preferred */
    blkback_get_stats(bb, &bs);
    CHECK_EQ(bs.flushes, 1);
    CHECK_EQ(bs.barriers, 0);
    CHECK_EQ(blkfront_close(bf), 0);
    blkback_destroy(bb);

    sim_reset();
    bf = bring_up(&bb, 0);
    CHECK_EQ(blkfront_flush(bf), -XENABI_EOPNOTSUPP);
    CHECK_EQ(fstats(bf).submitted, 0);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

static void test_argument_checks(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, BLKBACK_READONLY);
    struct done d = {0};
    CHECK_EQ(blkfront_read(bf, 0, buf + 1, 512), -XENABI_EINVAL);
    CHECK_EQ(blkfront_read(bf, 0, buf, 0), -XENABI_EINVAL);
    CHECK_EQ(blkfront_read(bf, 0, buf, 700), -XENABI_EINVAL);
    CHECK_EQ(blkfront_read(bf, 0, NULL, 512), -XENABI_EINVAL);
    CHECK_EQ(blkfront_read(bf, SECTORS, buf, 512), -XENABI_ERANGE);
    CHECK_EQ(blkfront_read(bf, SECTORS - 1, buf, 1024), -XENABI_ERANGE);
    CHECK_EQ(blkfront_read(bf, UINT64_MAX, buf, 512), -XENABI_ERANGE);
    /* The limit is in bytes (max_segments pages), whatever the buffer's
     * alignment: the data travels in bounce pages. */
    CHECK_EQ(blkfront_read(bf, 0, buf + 512, 11 * 4096 + 512), -XENABI_E2BIG);
    CHECK_EQ(blkfront_read(bf, 0, buf + 512, 11 * 4096), 0);
    CHECK_EQ(blkfront_write_async(bf, 0, buf, 512, on_done, &d),
             -XENABI_EROFS);
    CHECK_EQ(blkfront_read(bf, SECTORS - 1, buf, 512), 0); /* the last one */
    CHECK_EQ(d.calls, 0);
    CHECK_EQ(fstats(bf).submitted, 2);
    CHECK_EQ(grants().in_use, 1);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

static void test_large_sectors(void)
{
    struct blkback *bb = blkback_create(768, SECTORS, 4096, 0);
    boot();
    struct blkfront *bf = NULL;
    CHECK_EQ(blkfront_open(NODE, &bf), 0);
    CHECK_EQ(blkfront_wait_connected(bf), 0);
    CHECK_EQ(blkfront_read(bf, 0, buf, 512), -XENABI_EINVAL);
    CHECK_EQ(blkfront_read(bf, 4, buf, 4096), -XENABI_EINVAL);
    CHECK_EQ(blkfront_read(bf, 8, buf, 4096), 0);
    CHECK_EQ(blkfront_close(bf), 0);
    blkback_destroy(bb);
}

/* The disk's details are validated: each bad one refuses the device. */
static void try_details(const char *key, const char *value)
{
    sim_reset();
    struct blkback *bb = blkback_create(768, SECTORS, 512, 0);
    blkback_set_node(bb, key, value);
    boot();
    struct blkfront *bf = NULL;
    CHECK_EQ(blkfront_open(NODE, &bf), 0);
    int rc = blkfront_wait_connected(bf);
    if (!CHECK(rc == -XENABI_EINVAL || rc == -XENABI_ENOENT))
        printf("     %s = \"%s\": %d\n", key, value, rc);
    CHECK(!blkfront_connected(bf));
    CHECK_EQ(blkfront_read(bf, 0, buf, 512), -XENABI_ENOTCONN);
    blkfront_close(bf);
    check_no_leaks();
    blkback_destroy(bb);
}

static void test_bad_details(void)
{
    try_details("sector-size", "1000");
    try_details("sector-size", "256");
    try_details("sector-size", "8192");
    try_details("sectors", "12x");
    try_details("sectors", "99999999999999999999999");
    try_details("sectors", "");
    try_details("info", "-1");
    try_details("feature-flush-cache", "2");
    try_details("feature-barrier", "yes");
    sim_reset();
    struct blkback *bb = blkback_create(768, 513, 4096, 0);
    boot();
    struct blkfront *bf = NULL;
    CHECK_EQ(blkfront_open(NODE, &bf), 0);
    CHECK_EQ(blkfront_wait_connected(bf), -XENABI_EINVAL);
    blkfront_close(bf);
    blkback_destroy(bb);
    CHECK_EQ(blkfront_open("device/vbd/x", &bf), -XENABI_EINVAL);
}

static void test_backend_leaves_with_requests_in_flight(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, 0);
    blkback_hold(bb, true);
    struct done d1 = {0}, d2 = {0};
    CHECK_EQ(blkfront_read_async(bf, 0, small[0], 4096, on_done, &d1), 0);
    CHECK_EQ(blkfront_write_async(bf, 8, small[1], 1024, on_done, &d2), 0);
    CHECK_EQ(grants().in_use, 3);
    blkback_close(bb);
    for (int i = 0; i < 10 && blkfront_connected(bf); i++) {
        sim_run();
        xs_poll();
    }
    CHECK(!blkfront_connected(bf));
    CHECK_EQ(d1.calls, 1);
    CHECK_EQ(d1.status, -XENABI_ENOTCONN);
    CHECK_EQ(d2.status, -XENABI_ENOTCONN);
    CHECK_EQ(blkfront_inflight(bf), 0);
    check_no_leaks();
    CHECK_EQ(blkfront_read(bf, 0, buf, 512), -XENABI_ENOTCONN);
    blkfront_close(bf);
    blkback_destroy(bb);
}

static void test_blocking_read_on_a_hung_backend(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, 0);
    blkback_hold(bb, true);
    pattern(blkback_disk(bb), 512, 8);
    memset(buf, 0xee, 512);
    /* The simulator proves nothing can wake us: waiting fails. */
    CHECK_EQ(blkfront_read(bf, 0, buf, 512), -XENABI_ETIMEDOUT);
    CHECK_EQ(blkfront_inflight(bf), 1);
    CHECK_EQ(sim_gnttab_grants_on(buf, 512), 0);
    blkback_hold(bb, false);
    sim_run();
    CHECK_EQ(blkfront_poll(bf), 1); /* completes, nobody to tell */
    CHECK_EQ(blkfront_inflight(bf), 0);
    /* The caller gave up on it: its buffer is not written any more. */
    CHECK_EQ(buf[0], 0xee);
    CHECK_EQ(buf[511], 0xee);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

/*
 * Linux's blkback keeps the ring mapped until it sees our Closed: the
 * ring grant cannot be ended at teardown, so close waits for the
 * backend's Closed and reclaims it then. Nothing is left behind.
 */
static void test_backend_unmaps_only_after_our_closed(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb, BLKBACK_UNMAP_ON_CLOSED);
    pattern(buf, 4096, 5);
    CHECK_EQ(blkfront_write(bf, 0, buf, 4096), 0);
    CHECK_EQ(grants().in_use, 1); /* the ring */
    CHECK_EQ(blkfront_close(bf), 0);
    CHECK_EQ(blkback_state(bb), XENABI_XENBUS_STATE_CLOSED);
    struct gnttab_stats st = grants();
    CHECK(st.busy >= 1); /* refused at teardown: still mapped then */
    CHECK_EQ(st.deferred, 0);
    check_no_leaks();
    blkback_destroy(bb);
}

int main(void)
{
    RUN(test_details_read_write_flush);
    RUN(test_full_ring_async);
    RUN(test_multi_page_ring);
    RUN(test_indirect_requests);
    RUN(test_bounce_pool_is_bounded);
    RUN(test_destroy_and_reconnect);
    RUN(test_flush_negotiation);
    RUN(test_argument_checks);
    RUN(test_large_sectors);
    RUN(test_bad_details);
    RUN(test_backend_leaves_with_requests_in_flight);
    RUN(test_blocking_read_on_a_hung_backend);
    RUN(test_backend_unmaps_only_after_our_closed);
    return check_finish();
}
