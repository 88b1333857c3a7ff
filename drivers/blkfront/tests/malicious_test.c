/*
 * blkfront against a hostile blkback: responses with ids that name no
 * request in flight (wrong entry, out of range, an old generation, a
 * duplicate), bogus statuses, the wrong operation, and rsp_prod running
 * ahead of our requests. Each bad response is dropped and counted, the
 * request it pretended to answer stays in flight, nothing crashes (ASan,
 * UBSan), and closing still ends every grant.
 *
 * Then a backend that goes after the application's memory: one that
 * keeps every page it mapped after answering, and one that reads and
 * writes the whole of every page it is given. The simulator's grant
 * table is the judge: no grant ever reaches the application's buffers.
 */
#include <stdio.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
#endif

#include "common.h"

static _Alignas(4096) uint8_t buf[2][4096];

static struct blkfront *bring_up(struct blkback **bb)
{
    *bb = blkback_create(768, 64, 512, BLKBACK_FLUSH);
    boot();
    struct blkfront *bf = NULL;
    CHECK_EQ(blkfront_open(NODE, &bf), 0);
    CHECK_EQ(blkfront_wait_connected(bf), 0);
    return bf;
}

/* One request answered with `fault`: dropped; the device keeps working. */
static void one_bad_response(enum blkback_fault fault, bool flush)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb);
    struct done d = {0};
    blkback_fault(bb, fault);
    if (flush)
        CHECK_EQ(blkfront_flush_async(bf, on_done, &d), 0);
    else
        CHECK_EQ(blkfront_read_async(bf, 0, buf[0], 4096, on_done, &d), 0);
    sim_run();
    CHECK_EQ(blkfront_poll(bf), 0);
    CHECK_EQ(d.calls, 0);
    CHECK_EQ(blkfront_inflight(bf), 1);
    struct blkfront_stats st = fstats(bf);
    CHECK_EQ(st.bad_id + st.bad_op + st.bad_status, 1);
    CHECK_EQ(st.completed, 0);
    /* Still usable. */
    blkback_disk(bb)[512] = 0x5a;
    CHECK_EQ(blkfront_read(bf, 1, buf[1], 512), 0);
    CHECK_EQ(buf[1][0], 0x5a);
    /* Closing completes the orphan and ends all of its grants. */
    CHECK_EQ(blkfront_close(bf), 0);
    CHECK_EQ(d.calls, 1);
    CHECK_EQ(d.status, -XENABI_ENOTCONN);
    check_no_leaks();
    blkback_destroy(bb);
}

static void test_unknown_id(void) { one_bad_response(BLKBACK_BAD_ID, false); }
static void test_id_out_of_range(void)
{
    one_bad_response(BLKBACK_ID_RANGE, false);
}
static void test_stale_generation(void)
{
    one_bad_response(BLKBACK_STALE_GEN, false);
}
static void test_bogus_status(void)
{
    one_bad_response(BLKBACK_BAD_STATUS, false);
}
static void test_wrong_operation(void)
{
    one_bad_response(BLKBACK_WRONG_OP, false);
    one_bad_response(BLKBACK_WRONG_OP, true);
}

static void test_duplicate_response(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb);
    struct done a = {0}, b = {0};
    CHECK_EQ(blkfront_read_async(bf, 0, buf[0], 512, on_done, &a), 0);
    CHECK_EQ(wait_done(bf, &a), 0);
    CHECK_EQ(a.status, 0);
    /* B's response slot carries A's response again: same entry, but
     * A's generation is over, so it must not complete B. */
    blkback_fault(bb, BLKBACK_DUPLICATE);
    CHECK_EQ(blkfront_read_async(bf, 0, buf[1], 512, on_done, &b), 0);
    sim_run();
    CHECK_EQ(blkfront_poll(bf), 0);
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(b.calls, 0);
    CHECK_EQ(fstats(bf).bad_id, 1);
    CHECK_EQ(blkfront_close(bf), 0);
    CHECK_EQ(b.status, -XENABI_ENOTCONN);
    check_no_leaks();
    blkback_destroy(bb);
}

static void test_prod_running_ahead(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb);
    struct done a = {0}, b = {0};
    blkback_hold(bb, true);
    CHECK_EQ(blkfront_read_async(bf, 0, buf[0], 512, on_done, &a), 0);
    CHECK_EQ(blkfront_read_async(bf, 8, buf[1], 512, on_done, &b), 0);
    blkback_fault(bb, BLKBACK_PROD_AHEAD);
    blkback_hold(bb, false);
    sim_run();
    CHECK_EQ(blkfront_poll(bf), -XENABI_EIO);
    CHECK_EQ(fstats(bf).bad_index, 1);
    CHECK_EQ(a.status, -XENABI_EIO);
    CHECK_EQ(b.status, -XENABI_EIO);
    CHECK_EQ(a.calls + b.calls, 2);
    CHECK(!blkfront_connected(bf));
    CHECK_EQ(blkfront_read(bf, 0, buf[0], 512), -XENABI_EIO);
    CHECK_EQ(blkfront_poll(bf), -XENABI_EIO);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

/*
 * Every fault in turn on a busy ring until no entry is free: counted,
 * never a crash or a leak.
 */
static void test_storm(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb);
    static const enum blkback_fault faults[] = {
        BLKBACK_BAD_ID,     BLKBACK_ID_RANGE,  BLKBACK_STALE_GEN,
        BLKBACK_BAD_STATUS, BLKBACK_WRONG_OP,  BLKBACK_DUPLICATE,
    };
    struct done d[60] = {{0}};
    unsigned submitted = 0, duplicates = 0;
    for (unsigned i = 0; i < 60; i++) {
        blkback_fault(bb, faults[i % 6]);
        int rc = blkfront_read_async(bf, i % 64, buf[i % 2], 512, on_done,
                                     &d[i]);
        if (rc == -XENABI_EBUSY)
            break;
        CHECK_EQ(rc, 0);
        submitted++;
        duplicates += faults[i % 6] == BLKBACK_DUPLICATE;
        sim_run();
        CHECK(blkfront_poll(bf) >= 0);
    }
    struct blkfront_stats st = fstats(bf);
    /* A "duplicate" repeats the previous request's genuine response, and
     * that request is still in flight (its own response was mangled): a
     * valid answer, which completes it. Everything else is dropped. */
    CHECK_EQ(st.bad_id + st.bad_op + st.bad_status, submitted - duplicates);
    CHECK_EQ(st.completed, duplicates);
    CHECK(submitted > 32); /* the ring went round with orphans in flight */
    CHECK_EQ(blkfront_close(bf), 0);
    for (unsigned i = 0; i < submitted; i++)
        CHECK_EQ(d[i].calls, 1);
    check_no_leaks();
    blkback_destroy(bb);
}

/* Bytes that differ from seed to seed and never repeat within a page
 * (xorshift32), so that finding 64 of them elsewhere means a copy. */
static void fill(uint8_t *p, size_t n, unsigned seed)
{
    uint32_t x = 0x9e3779b9u ^ seed;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (uint8_t)(x >> 24);
    }
}

static bool all(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

static _Alignas(4096) uint8_t app[4][4096];

/*
 * A backend that answers OKAY and never unmaps. The application's pages
 * were never granted, so nothing it keeps reaches them; the pages it
 * keeps are the driver's bounce pages, quarantined: the requests fail
 * (a read's bytes are not taken from a page the backend still controls),
 * the pages are never handed out again, and closing reclaims them once
 * the backend lets go.
 */
static void test_backend_keeps_its_mappings(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb);
    blkback_set_flags(bb, BLKBACK_FLUSH | BLKBACK_KEEP_MAPS);
    fill(blkback_disk(bb), 64 * 512, 3);

    memset(app[0], 0x11, sizeof(app[0]));
    struct done w = {0};
    CHECK_EQ(blkfront_write_async(bf, 0, app[0], 4096, on_done, &w), 0);
    CHECK_EQ(wait_done(bf, &w), 0);
    CHECK_EQ(w.status, -XENABI_EIO);
    CHECK(all(blkback_disk(bb), 4096, 0x11)); /* it did write the disk */
    memset(app[1], 0x22, sizeof(app[1]));
    CHECK_EQ(blkfront_read(bf, 8, app[1], 4096), -XENABI_EIO);
    CHECK(all(app[1], 4096, 0x22)); /* nothing taken from its page */
    CHECK_EQ(blkback_kept(bb), 2);
    CHECK_EQ(sim_gnttab_grants_on(app, sizeof(app)), 0);

    /* It writes every page it still maps: the application's memory is
     * not among them. */
    CHECK_EQ(blkback_scribble(bb, 0xee), 1); /* the read's page */
    CHECK(all(app[0], 4096, 0x11));
    CHECK(all(app[1], 4096, 0x22));
    struct blkfront_stats st = fstats(bf);
    CHECK_EQ(st.pages_lost, 2);
    CHECK_EQ(st.errors, 2);

    /* It behaves again: the device works on, never with a page it lost. */
    blkback_set_flags(bb, BLKBACK_FLUSH);
    for (unsigned i = 0; i < 40; i++) {
        fill(app[2], 4096, i);
        CHECK_EQ(blkfront_write(bf, 16, app[2], 4096), 0);
        memset(app[3], 0, sizeof(app[3]));
        CHECK_EQ(blkfront_read(bf, 16, app[3], 4096), 0);
        CHECK(memcmp(app[2], app[3], 4096) == 0);
    }
    struct blkback_stats bs;
    blkback_get_stats(bb, &bs);
    CHECK_EQ(bs.kept_reused, 0);
    CHECK_EQ(fstats(bf).pages_lost, 2);
    CHECK_EQ(sim_gnttab_grants_on(app, sizeof(app)), 0);

    /* At last it lets go: closing reclaims every grant. */
    blkback_release(bb);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

/* The same with indirect requests: the data pages and the page of
 * segments are kept; all of them are quarantined. */
static _Alignas(4096) uint8_t wide[16][4096];

static void test_backend_keeps_indirect_pages(void)
{
    struct blkback *bb = blkback_create(768, 256, 512, BLKBACK_INDIRECT);
    boot();
    struct blkfront *bf = NULL;
    CHECK_EQ(blkfront_open(NODE, &bf), 0);
    CHECK_EQ(blkfront_wait_connected(bf), 0);
    blkback_set_flags(bb, BLKBACK_INDIRECT | BLKBACK_KEEP_MAPS);
    fill(blkback_disk(bb), 256 * 512, 5);
    memset(wide, 0x33, sizeof(wide));
    CHECK_EQ(blkfront_read(bf, 0, wide, sizeof(wide)), -XENABI_EIO);
    CHECK(all(&wide[0][0], sizeof(wide), 0x33));
    CHECK_EQ(blkback_kept(bb), 17); /* 16 data pages, 1 of segments */
    CHECK_EQ(fstats(bf).pages_lost, 17);
    CHECK_EQ(sim_gnttab_grants_on(wide, sizeof(wide)), 0);
    CHECK_EQ(blkback_scribble(bb, 0xee), 16);
    CHECK(all(&wide[0][0], sizeof(wide), 0x33));

    blkback_set_flags(bb, BLKBACK_INDIRECT);
    CHECK_EQ(blkfront_read(bf, 0, wide, sizeof(wide)), 0);
    CHECK(memcmp(wide, blkback_disk(bb), sizeof(wide)) == 0);
    struct blkback_stats bs;
    blkback_get_stats(bb, &bs);
    CHECK_EQ(bs.kept_reused, 0);
    blkback_release(bb);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

/*
 * A backend that never lets go, even after the device closed: its pages
 * stay granted (listed as leaks) and are never freed, so its writes land
 * in memory nobody else will be given (ASan would see a write to freed
 * memory).
 */
static void test_backend_never_lets_go(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb);
    blkback_set_flags(bb, BLKBACK_FLUSH | BLKBACK_KEEP_MAPS);
    memset(app[0], 0x44, sizeof(app[0]));
    CHECK_EQ(blkfront_read(bf, 0, app[0], 2048), -XENABI_EIO);
    CHECK_EQ(blkfront_close(bf), 0);
    CHECK_EQ(blkback_kept(bb), 1);
    CHECK_EQ(grants().in_use, 1);
    CHECK_EQ(grants().deferred, 1);
    CHECK_EQ(sim_gnttab_grants_on(app, sizeof(app)), 0);
    CHECK_EQ(blkback_scribble(bb, 0xee), 1);
    CHECK(all(app[0], 4096, 0x44));
#if defined(__SANITIZE_ADDRESS__)
    /* The driver left the page to the backend on purpose. */
    for (unsigned i = 0; i < blkback_kept(bb); i++)
        __lsan_ignore_object(blkback_kept_page(bb, i));
#endif
    blkback_destroy(bb);
}

/*
 * XSA-403's class: a buffer smaller than a page, between two canaries in
 * the same page. A backend that writes the whole page it is given and
 * reads the whole page of a write never touches or sees the canaries;
 * the read's bytes arrive intact and the write's reach the disk.
 */
static struct {
    _Alignas(4096) uint8_t low[1024];
    uint8_t data[1024];
    uint8_t high[2048];
} page;

static void test_sub_page_buffer_between_canaries(void)
{
    struct blkback *bb;
    struct blkfront *bf = bring_up(&bb);
    blkback_set_flags(bb, BLKBACK_FLUSH | BLKBACK_WHOLE_PAGE);
    uint8_t low[sizeof(page.low)], high[sizeof(page.high)];
    fill(page.low, sizeof(page.low), 101);
    fill(page.high, sizeof(page.high), 202);
    memcpy(low, page.low, sizeof(low));
    memcpy(high, page.high, sizeof(high));
    fill(blkback_disk(bb), 64 * 512, 7);

    memset(page.data, 0, sizeof(page.data));
    CHECK_EQ(blkfront_read(bf, 4, page.data, sizeof(page.data)), 0);
    CHECK(memcmp(page.data, blkback_disk(bb) + 4 * 512, 1024) == 0);
    CHECK(memcmp(page.low, low, sizeof(low)) == 0);
    CHECK(memcmp(page.high, high, sizeof(high)) == 0);

    /* The canaries again (whatever happened to them), then a write. */
    memcpy(page.low, low, sizeof(low));
    memcpy(page.high, high, sizeof(high));
    fill(page.data, sizeof(page.data), 77);
    CHECK_EQ(blkfront_write(bf, 10, page.data, sizeof(page.data)), 0);
    CHECK(memcmp(blkback_disk(bb) + 10 * 512, page.data, 1024) == 0);
    CHECK(!blkback_saw(bb, low, 64));
    CHECK(!blkback_saw(bb, low + sizeof(low) - 64, 64));
    CHECK(!blkback_saw(bb, high, 64));
    CHECK(!blkback_saw(bb, high + sizeof(high) - 64, 64));
    CHECK(blkback_saw(bb, page.data, 64)); /* it did read the page */
    CHECK(memcmp(page.low, low, sizeof(low)) == 0);
    CHECK(memcmp(page.high, high, sizeof(high)) == 0);
    CHECK_EQ(sim_gnttab_grants_on(&page, sizeof(page)), 0);
    CHECK_EQ(blkfront_close(bf), 0);
    check_no_leaks();
    blkback_destroy(bb);
}

int main(void)
{
    RUN(test_unknown_id);
    RUN(test_id_out_of_range);
    RUN(test_stale_generation);
    RUN(test_bogus_status);
    RUN(test_wrong_operation);
    RUN(test_duplicate_response);
    RUN(test_prod_running_ahead);
    RUN(test_storm);
    RUN(test_backend_keeps_its_mappings);
    RUN(test_backend_keeps_indirect_pages);
    RUN(test_backend_never_lets_go);
    RUN(test_sub_page_buffer_between_canaries);
    return check_finish();
}
