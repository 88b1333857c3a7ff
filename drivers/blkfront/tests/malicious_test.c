/*
 * blkfront against a hostile blkback: responses with ids that name no
 * request in flight (wrong entry, out of range, an old generation, a
 * duplicate), bogus statuses, the wrong operation, and rsp_prod running
 * ahead of our requests. Each bad response is dropped and counted, the
 * request it pretended to answer stays in flight, nothing crashes (ASan,
 * UBSan), and closing still ends every grant.
 */
#include <stdio.h>

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
    return check_finish();
}
