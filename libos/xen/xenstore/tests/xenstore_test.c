/*
 * The xenstore client against the simulated xenstored, speaking the wire
 * protocol over a real xenstore_domain_interface page: nodes, watches,
 * transactions with conflicts, and full rings in both directions.
 */
#include "boot.h"

#include <stdio.h>

static void test_not_connected(void)
{
    char buf[8];
    CHECK_EQ(xs_init(), -XENABI_ENOTCONN); /* no evtchn_init */
    CHECK(!xs_ready());
    CHECK_EQ(xs_read(XS_TX_NONE, "x", buf, sizeof(buf), NULL),
             -XENABI_ENOTCONN);
    CHECK_EQ(xs_watch("x", NULL, NULL), -XENABI_ENOTCONN);
    CHECK_EQ(xs_poll(), -XENABI_ENOTCONN);
    sim_set_absent(true);
    CHECK_EQ(evtchn_init(), -XENABI_ENOSYS);
}

static void test_read_write(void)
{
    boot();
    char buf[64];
    size_t len = 0;
    CHECK_EQ(xs_write(XS_TX_NONE, "data/greeting", "hello"), 0);
    CHECK_EQ(sim_xs_read("/local/domain/1/data/greeting", buf, sizeof(buf)),
             5);
    CHECK(strcmp(buf, "hello") == 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "/local/domain/1/data/greeting", buf,
                     sizeof(buf), &len),
             0);
    CHECK_EQ(len, 5);
    CHECK(strcmp(buf, "hello") == 0);
    /* Written by someone else. */
    sim_xs_write("/local/domain/0/backend/x", "from dom0");
    CHECK_EQ(xs_read(XS_TX_NONE, "/local/domain/0/backend/x", buf,
                     sizeof(buf), &len),
             0);
    CHECK(strcmp(buf, "from dom0") == 0);
    CHECK_EQ(xs_printf(XS_TX_NONE, "data/n", "%d-%s", 42, "x"), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "data/n", buf, sizeof(buf), NULL), 0);
    CHECK(strcmp(buf, "42-x") == 0);
    struct xs_stats st = xstats();
    CHECK_EQ(st.requests, st.replies);
}

static void test_errors(void)
{
    boot();
    char buf[8];
    size_t len = 0;
    CHECK_EQ(xs_read(XS_TX_NONE, "missing", buf, sizeof(buf), NULL),
             -XENABI_ENOENT);
    CHECK(strcmp(xs_error_name(-XENABI_ENOENT), "ENOENT") == 0);
    CHECK(strcmp(xs_error_name(-XENABI_ENOTEMPTY), "ENOTEMPTY") == 0);
    CHECK(strcmp(xs_error_name(-9999), "E?") == 0);
    CHECK_EQ(xs_write(XS_TX_NONE, "bad//path", "x"), -XENABI_EINVAL);
    CHECK_EQ(xs_write(XS_TX_NONE, "", "x"), -XENABI_EINVAL);
    /* Too long for the caller's buffer: the length needed is reported. */
    CHECK_EQ(xs_write(XS_TX_NONE, "long", "0123456789"), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "long", buf, sizeof(buf), &len),
             -XENABI_ERANGE);
    CHECK_EQ(len, 10);
    CHECK_EQ(xs_read(XS_TX_NONE, "long", buf, 0, &len), -XENABI_EINVAL);
}

static void test_binary_values(void)
{
    boot();
    char buf[8];
    size_t len = 0;
    CHECK_EQ(xs_write_bytes(XS_TX_NONE, "bin", "a\0b", 3), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "bin", buf, sizeof(buf), &len), 0);
    CHECK_EQ(len, 3);
    CHECK(memcmp(buf, "a\0b", 4) == 0);
    CHECK_EQ(xs_write_bytes(XS_TX_NONE, "empty", "", 0), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "empty", buf, sizeof(buf), &len), 0);
    CHECK_EQ(len, 0);
}

static void test_read_u32(void)
{
    boot();
    uint32_t v = 0;
    const struct {
        const char *text;
        int rc;
        uint32_t value;
    } cases[] = {
        {"0", 0, 0},          {"42", 0, 42},   {"4294967295", 0, UINT32_MAX},
        {"4294967296", -XENABI_EINVAL, 0}, {"042", -XENABI_EINVAL, 0},
        {"-1", -XENABI_EINVAL, 0},         {" 1", -XENABI_EINVAL, 0},
        {"1x", -XENABI_EINVAL, 0},         {"", -XENABI_EINVAL, 0},
        {"99999999999999999999", -XENABI_EINVAL, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK_EQ(xs_write(XS_TX_NONE, "num", cases[i].text), 0);
        int rc = xs_read_u32(XS_TX_NONE, "num", &v);
        CHECK_EQ(rc, cases[i].rc);
        if (rc == 0)
            CHECK_EQ(v, cases[i].value);
    }
    CHECK_EQ(xs_write_bytes(XS_TX_NONE, "num", "1\0002", 3), 0);
    CHECK_EQ(xs_read_u32(XS_TX_NONE, "num", &v), -XENABI_EINVAL);
}

/* A value far larger than the 1 KiB rings crosses both in pieces. */
static void test_values_larger_than_the_ring(void)
{
    boot();
    static char big[3000], back[3001];
    for (size_t i = 0; i < sizeof(big); i++)
        big[i] = (char)('a' + i % 26);
    size_t len = 0;
    CHECK_EQ(xs_write_bytes(XS_TX_NONE, "big", big, sizeof(big)), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "big", back, sizeof(back), &len), 0);
    CHECK_EQ(len, sizeof(big));
    CHECK(memcmp(big, back, sizeof(big)) == 0);
    struct sim_xs_stats sst;
    sim_xs_get_stats(&sst);
    CHECK(sst.max_req_fill <= XENABI_XENSTORE_RING_SIZE);
}

static void test_payload_limit(void)
{
    boot();
    static char value[XENABI_XENSTORE_PAYLOAD_MAX];
    memset(value, 'v', sizeof(value));
    /* "lim\0" + value = exactly the limit. */
    size_t fits = XENABI_XENSTORE_PAYLOAD_MAX - 4;
    CHECK_EQ(xs_write_bytes(XS_TX_NONE, "lim", value, fits), 0);
    CHECK_EQ(xs_write_bytes(XS_TX_NONE, "lim", value, fits + 1),
             -XENABI_E2BIG);
    char back[16];
    size_t len;
    CHECK_EQ(xs_read(XS_TX_NONE, "lim", back, sizeof(back), &len),
             -XENABI_ERANGE);
    CHECK_EQ(len, fits);
}

static void test_directory_mkdir_rm(void)
{
    boot();
    char buf[64];
    CHECK_EQ(xs_write(XS_TX_NONE, "dir/b", "1"), 0);
    CHECK_EQ(xs_write(XS_TX_NONE, "dir/c/deep", "2"), 0);
    CHECK_EQ(xs_mkdir(XS_TX_NONE, "dir/d"), 0);
    CHECK_EQ(xs_directory(XS_TX_NONE, "dir", buf, sizeof(buf)), 3);
    CHECK(memcmp(buf, "b\0c\0d\0", 6) == 0);
    CHECK_EQ(xs_directory(XS_TX_NONE, "dir/d", buf, sizeof(buf)), 0);
    CHECK_EQ(xs_directory(XS_TX_NONE, "dir", buf, 4), -XENABI_ERANGE);
    CHECK_EQ(xs_directory(XS_TX_NONE, "nodir", buf, sizeof(buf)),
             -XENABI_ENOENT);
    CHECK_EQ(xs_rm(XS_TX_NONE, "dir/c"), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "dir/c/deep", buf, sizeof(buf), NULL),
             -XENABI_ENOENT);
    CHECK_EQ(xs_directory(XS_TX_NONE, "dir", buf, sizeof(buf)), 2);
    CHECK_EQ(xs_rm(XS_TX_NONE, "nodir/x"), -XENABI_ENOENT);
}

/* ---- watches ------------------------------------------------------------------ */

static struct {
    int calls;
    int watch;
    char path[256];
    int reads_ok; /* requests made from inside the callback */
} ev;

static void on_change(int watch, const char *path, void *arg)
{
    CHECK(arg == &ev);
    ev.calls++;
    ev.watch = watch;
    snprintf(ev.path, sizeof(ev.path), "%s", path);
    /* A callback may use xenstore itself. */
    char buf[32];
    int rc = xs_read(XS_TX_NONE, path, buf, sizeof(buf), NULL);
    if (rc == 0 || rc == -XENABI_ENOENT)
        ev.reads_ok++;
}

static void test_watch_events(void)
{
    boot();
    memset(&ev, 0, sizeof(ev));
    int w = xs_watch("data", on_change, &ev);
    CHECK(w >= 0);
    /* xenstored fires every new watch once. */
    CHECK_EQ(xs_poll(), 1);
    CHECK_EQ(ev.watch, w);
    CHECK(strcmp(ev.path, "data") == 0);

    CHECK_EQ(xs_write(XS_TX_NONE, "data/k", "v"), 0);
    CHECK_EQ(xs_poll(), 1);
    CHECK(strcmp(ev.path, "data/k") == 0); /* relative, as registered */
    CHECK_EQ(ev.reads_ok, 2);

    /* Someone else's write below the watch, and one elsewhere. */
    sim_xs_write("/local/domain/1/data/other", "x");
    sim_xs_write("/local/domain/1/elsewhere", "x");
    sim_run();
    CHECK_EQ(xs_poll(), 1);
    CHECK(strcmp(ev.path, "data/other") == 0);
    CHECK_EQ(xs_poll(), 0);

    /* Removing the parent fires a watch below it, with its own path. */
    int w2 = xs_watch("/local/domain/1/data/k", on_change, &ev);
    CHECK(w2 >= 0 && w2 != w);
    CHECK_EQ(xs_poll(), 1);
    CHECK_EQ(xs_rm(XS_TX_NONE, "data"), 0);
    CHECK_EQ(xs_poll(), 2);

    CHECK_EQ(xs_unwatch(w), 0);
    CHECK_EQ(xs_unwatch(w2), 0);
    CHECK_EQ(xs_unwatch(w2), -XENABI_EINVAL);
    int before = ev.calls;
    CHECK_EQ(xs_write(XS_TX_NONE, "data/k", "v2"), 0);
    CHECK_EQ(xs_poll(), 0);
    CHECK_EQ(ev.calls, before);
}

static void test_watch_events_of_a_removed_watch_are_stale(void)
{
    boot();
    memset(&ev, 0, sizeof(ev));
    int w = xs_watch("data", on_change, &ev);
    CHECK(w >= 0);
    /* The event arrives (and is queued) during the unwatch request. */
    sim_xs_write("/local/domain/1/data/x", "1");
    CHECK_EQ(xs_unwatch(w), 0);
    CHECK_EQ(xs_poll(), 0);
    CHECK_EQ(ev.calls, 0);
    CHECK(xstats().stale_events >= 1);
    /* Same slot, new generation: only the new watch's events count. */
    int again = xs_watch("data", on_change, &ev);
    CHECK_EQ(again, w);
    CHECK_EQ(xs_poll(), 1);
}

static void test_watch_limits(void)
{
    boot();
    char path[XS_WATCH_PATH_MAX + 2];
    memset(path, 'p', sizeof(path) - 1);
    path[sizeof(path) - 1] = '\0';
    CHECK_EQ(xs_watch(path, on_change, &ev), -XENABI_E2BIG);
    CHECK_EQ(xs_watch("x", NULL, NULL), -XENABI_EINVAL);
    for (int i = 0; i < XS_MAX_WATCHES; i++) {
        char p[16];
        snprintf(p, sizeof(p), "w%d", i);
        CHECK(xs_watch(p, on_change, &ev) >= 0);
    }
    CHECK_EQ(xs_watch("one-more", on_change, &ev), -XENABI_ENOSPC);
    CHECK_EQ(xs_watch("bad//path", on_change, &ev), -XENABI_ENOSPC);
}

/* More events than the queue holds: none lost without a trace. */
static void test_event_queue_overflow(void)
{
    boot();
    memset(&ev, 0, sizeof(ev));
    int w = xs_watch("flood", on_change, &ev);
    CHECK_EQ(xs_poll(), 1);
    for (int i = 0; i < 20; i++) {
        char p[64];
        snprintf(p, sizeof(p), "/local/domain/1/flood/n%d", i);
        sim_xs_write(p, "x");
    }
    sim_run();
    ev.calls = 0;
    /*
     * One call runs the queue's worth (the rest waits in the ring). The
     * callbacks read, and a request takes in everything before its reply:
     * what does not fit the queue then is merged into one call with the
     * watched path, which comes after the events queued before it.
     */
    CHECK_EQ(xs_poll(), XS_EVENT_QUEUE);
    int later = 0, calls;
    while ((calls = xs_poll()) > 0)
        later += calls;
    CHECK(xstats().lost_events > 0);
    /* Each event had a call of its own, or was merged into the last one. */
    CHECK_EQ(XS_EVENT_QUEUE + later - 1 + (int)xstats().lost_events, 20);
    CHECK_EQ(ev.watch, w);
    CHECK(strcmp(ev.path, "flood") == 0); /* the merged call: watch path */
    CHECK_EQ(xs_poll(), 0);
}

/* ---- transactions ---------------------------------------------------------------- */

static void test_transaction_commit_and_abort(void)
{
    boot();
    char buf[16];
    xs_tx_t tx;
    CHECK_EQ(xs_transaction_start(&tx), 0);
    CHECK(tx != XS_TX_NONE);
    CHECK_EQ(xs_write(tx, "t/a", "1"), 0);
    CHECK_EQ(xs_read(tx, "t/a", buf, sizeof(buf), NULL), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "t/a", buf, sizeof(buf), NULL),
             -XENABI_ENOENT); /* not visible outside yet */
    CHECK_EQ(xs_transaction_end(tx, true), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "t/a", buf, sizeof(buf), NULL), 0);
    CHECK(strcmp(buf, "1") == 0);

    CHECK_EQ(xs_transaction_start(&tx), 0);
    CHECK_EQ(xs_write(tx, "t/a", "2"), 0);
    CHECK_EQ(xs_transaction_end(tx, false), 0);
    CHECK_EQ(xs_read(XS_TX_NONE, "t/a", buf, sizeof(buf), NULL), 0);
    CHECK(strcmp(buf, "1") == 0);
    /* Ended: the id is gone. */
    CHECK_EQ(xs_write(tx, "t/a", "3"), -XENABI_ENOENT);
    CHECK_EQ(xs_transaction_end(XS_TX_NONE, true), -XENABI_EINVAL);
}

static void test_transaction_conflict(void)
{
    boot();
    xs_tx_t tx;
    CHECK_EQ(xs_transaction_start(&tx), 0);
    CHECK_EQ(xs_write(tx, "t/a", "mine"), 0);
    sim_xs_write("/local/domain/1/t/b", "theirs");
    CHECK_EQ(xs_transaction_end(tx, true), -XENABI_EAGAIN);
    char buf[16];
    CHECK_EQ(xs_read(XS_TX_NONE, "t/a", buf, sizeof(buf), NULL),
             -XENABI_ENOENT);
}

struct body {
    int runs;
    int conflicts; /* how many runs get a concurrent write */
    int fail_with;
};

static int tx_body(xs_tx_t tx, void *arg)
{
    struct body *b = arg;
    b->runs++;
    int rc = xs_printf(tx, "t/counter", "%d", b->runs);
    if (rc < 0)
        return rc;
    if (b->fail_with != 0)
        return b->fail_with;
    if (b->runs <= b->conflicts)
        sim_xs_write("/local/domain/0/noise", "x");
    return 0;
}

static void test_transaction_retry_helper(void)
{
    boot();
    char buf[16];
    struct body b = {.conflicts = 2};
    CHECK_EQ(xs_transaction(tx_body, &b, 5), 0);
    CHECK_EQ(b.runs, 3);
    CHECK_EQ(xstats().tx_retries, 2);
    CHECK_EQ(xs_read(XS_TX_NONE, "t/counter", buf, sizeof(buf), NULL), 0);
    CHECK(strcmp(buf, "3") == 0);

    /* Never succeeds: EAGAIN after the last attempt. */
    b = (struct body){.conflicts = 100};
    CHECK_EQ(xs_transaction(tx_body, &b, 4), -XENABI_EAGAIN);
    CHECK_EQ(b.runs, 4);

    /* A body error aborts, and nothing is written. */
    b = (struct body){.fail_with = -XENABI_EPERM};
    CHECK_EQ(xs_transaction(tx_body, &b, 4), -XENABI_EPERM);
    CHECK_EQ(b.runs, 1);
    CHECK_EQ(xs_read(XS_TX_NONE, "t/counter", buf, sizeof(buf), NULL), 0);
    CHECK(strcmp(buf, "3") == 0);
}

/* ---- full rings and silence ------------------------------------------------------- */

static void test_request_ring_full_waits(void)
{
    boot();
    static char big[4000];
    memset(big, 'q', sizeof(big));
    sim_xs_pause(5); /* xenstored reads nothing for a while */
    CHECK_EQ(xs_write_bytes(XS_TX_NONE, "full", big, sizeof(big)), 0);
    CHECK(xstats().ring_full_waits >= 3);
    struct sim_xs_stats sst;
    sim_xs_get_stats(&sst);
    /* The ring was filled to the brim, never beyond (the simulator would
     * also have reported a violation). */
    CHECK_EQ(sst.max_req_fill, XENABI_XENSTORE_RING_SIZE);
    static char back[4001];
    size_t len = 0;
    CHECK_EQ(xs_read(XS_TX_NONE, "full", back, sizeof(back), &len), 0);
    CHECK_EQ(len, sizeof(big));
    CHECK(memcmp(back, big, sizeof(big)) == 0);
}

static void test_stalled_xenstored(void)
{
    boot();
    static char big[4000];
    memset(big, 'q', sizeof(big));
    sim_xs_pause(SIM_FOREVER);
    /* Cut off half way: the connection cannot be used any more. */
    CHECK_EQ(xs_write_bytes(XS_TX_NONE, "full", big, sizeof(big)),
             -XENABI_ETIMEDOUT);
    struct sim_xs_stats sst;
    sim_xs_get_stats(&sst);
    CHECK_EQ(sst.max_req_fill, 0); /* it never looked */
    sim_xs_pause(0);
    char buf[8];
    CHECK_EQ(xs_read(XS_TX_NONE, "full", buf, sizeof(buf), NULL),
             -XENABI_EIO);
}

static void test_reply_never_comes(void)
{
    boot();
    char buf[8];
    CHECK_EQ(xs_write(XS_TX_NONE, "x", "1"), 0);
    sim_xs_fault(SIM_XS_DROP);
    CHECK_EQ(xs_read(XS_TX_NONE, "x", buf, sizeof(buf), NULL),
             -XENABI_ETIMEDOUT);
    /* The request was complete: the connection is fine. */
    CHECK_ALIVE();
}

int main(void)
{
    RUN(test_not_connected);
    RUN(test_read_write);
    RUN(test_errors);
    RUN(test_binary_values);
    RUN(test_read_u32);
    RUN(test_values_larger_than_the_ring);
    RUN(test_payload_limit);
    RUN(test_directory_mkdir_rm);
    RUN(test_watch_events);
    RUN(test_watch_events_of_a_removed_watch_are_stale);
    RUN(test_watch_limits);
    RUN(test_event_queue_overflow);
    RUN(test_transaction_commit_and_abort);
    RUN(test_transaction_conflict);
    RUN(test_transaction_retry_helper);
    RUN(test_request_ring_full_waits);
    RUN(test_stalled_xenstored);
    RUN(test_reply_never_comes);
    return check_finish();
}
