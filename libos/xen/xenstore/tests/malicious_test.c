/*
 * A xenstored that lies. Each kind of bad input must be dropped and
 * counted, the request it pretended to answer must still get the genuine
 * reply (or fail cleanly), and nothing may touch memory it should not:
 * ASan and UBSan watch every byte of it.
 */
#include "boot.h"

#include <stdio.h>
#include <xenabi/xenstore.h>

/* A read whose reply is bent by `fault`; the genuine reply still wins. */
static void read_through(enum sim_xs_fault fault)
{
    char buf[16];
    CHECK_EQ(xs_write(XS_TX_NONE, "k", "value"), 0);
    sim_xs_fault(fault);
    CHECK_EQ(xs_read(XS_TX_NONE, "k", buf, sizeof(buf), NULL), 0);
    CHECK(strcmp(buf, "value") == 0);
    (void)xs_poll(); /* take in anything that trailed the reply */
}

static void test_length_beyond_payload_max(void)
{
    boot();
    read_through(SIM_XS_HUGE_LEN);
    CHECK_EQ(xstats().bad_length, 1);
    CHECK_ALIVE();
}

static void test_prod_ahead_by_more_than_the_ring(void)
{
    boot();
    read_through(SIM_XS_PROD_AHEAD);
    CHECK(xstats().bad_index >= 1);
    CHECK_ALIVE();
}

static void test_unknown_request_id(void)
{
    boot();
    read_through(SIM_XS_UNKNOWN_ID);
    CHECK_EQ(xstats().unexpected_id, 1);
    CHECK_ALIVE();
}

static void test_duplicate_reply(void)
{
    boot();
    read_through(SIM_XS_DUPLICATE);
    CHECK_EQ(xstats().unexpected_id, 1);
    CHECK_ALIVE();
    CHECK_EQ(xstats().unexpected_id, 1);
}

static void test_garbage_type(void)
{
    boot();
    read_through(SIM_XS_GARBAGE_TYPE);
    CHECK_EQ(xstats().bad_type, 1);
    CHECK_ALIVE();
}

static void test_wrong_reply_type(void)
{
    boot();
    read_through(SIM_XS_WRONG_TYPE);
    CHECK_EQ(xstats().bad_type, 1);
    CHECK_ALIVE();
}

static void test_malformed_ack_fails_the_request(void)
{
    boot();
    sim_xs_fault(SIM_XS_BAD_ACK);
    CHECK_EQ(xs_write(XS_TX_NONE, "k", "v"), -XENABI_EIO);
    CHECK_EQ(xstats().bad_payload, 1);
    CHECK_ALIVE();
}

static void test_unknown_error_name(void)
{
    boot();
    char buf[8];
    sim_xs_fault(SIM_XS_BAD_ERROR);
    CHECK_EQ(xs_read(XS_TX_NONE, "k", buf, sizeof(buf), NULL), -XENABI_EIO);
    CHECK_EQ(xstats().bad_payload, 1);
    CHECK_ALIVE();
}

static void test_req_cons_beyond_req_prod(void)
{
    boot();
    sim_xs_fault(SIM_XS_REQ_CONS_AHEAD);
    sim_run(); /* xenstored publishes the bogus index */
    /* Writing now must not trust the claimed free space. */
    CHECK_EQ(xs_write(XS_TX_NONE, "k", "v"), 0);
    CHECK(xstats().bad_index >= 1);
    CHECK_ALIVE();
}

/* Replies whose payload cannot be what the request asked for. */
static void test_garbled_payloads(void)
{
    boot();
    xs_tx_t tx;
    char buf[16];
    sim_xs_fault(SIM_XS_GARBLE); /* a transaction id that is no number */
    CHECK_EQ(xs_transaction_start(&tx), -XENABI_EIO);
    sim_xs_fault(SIM_XS_GARBLE); /* a listing without terminators */
    CHECK_EQ(xs_directory(XS_TX_NONE, "/", buf, sizeof(buf)), -XENABI_EIO);
    sim_xs_fault(SIM_XS_GARBLE); /* no "OK" */
    CHECK_EQ(xs_rm(XS_TX_NONE, "k"), -XENABI_EIO);
    CHECK_EQ(xstats().bad_payload, 3);
    /* Any bytes are a valid value, though. */
    CHECK_EQ(xs_write(XS_TX_NONE, "k", "v"), 0);
    sim_xs_fault(SIM_XS_GARBLE);
    CHECK_EQ(xs_read(XS_TX_NONE, "k", buf, sizeof(buf), NULL), 0);
    CHECK(strcmp(buf, "12ab") == 0);
    CHECK_ALIVE();
}

/* The ack fault waits for an ack: here one inside a transaction. */
static void test_bad_ack_inside_transaction(void)
{
    boot();
    sim_xs_fault(SIM_XS_BAD_ACK);
    xs_tx_t tx;
    CHECK_EQ(xs_transaction_start(&tx), 0); /* not an ack: answered */
    CHECK_EQ(xs_write(tx, "k", "v"), -XENABI_EIO);
    CHECK_EQ(xs_transaction_end(tx, false), 0);
    CHECK_EQ(xstats().bad_payload, 1);
}

static void inject(uint32_t type, uint32_t req_id, const void *payload,
                   uint32_t len)
{
    sim_xs_inject(type, req_id, payload, len);
    drain();
}

static void test_malformed_watch_events(void)
{
    boot();
    int w = xs_watch("w", NULL, NULL);
    CHECK_EQ(w, -XENABI_EINVAL); /* a callback is required */
    uint64_t bad = xstats().bad_payload;
    inject(XENABI_XS_WATCH_EVENT, 0, "no-terminator", 13);
    inject(XENABI_XS_WATCH_EVENT, 0, "path-only", 10);
    inject(XENABI_XS_WATCH_EVENT, 0, "\0token", 7);          /* empty path */
    inject(XENABI_XS_WATCH_EVENT, 0, "p\0tok\0extra", 12);   /* 3 strings */
    inject(XENABI_XS_WATCH_EVENT, 0, "p\0tok", 5);           /* no NUL */
    inject(XENABI_XS_WATCH_EVENT, 0, "", 0);
    CHECK_EQ(xstats().bad_payload, bad + 6);
    /* Well formed, but not our tokens. */
    inject(XENABI_XS_WATCH_EVENT, 0, "p\0" "99/1", 7);
    inject(XENABI_XS_WATCH_EVENT, 0, "p\0" "0/1", 6); /* slot not in use */
    inject(XENABI_XS_WATCH_EVENT, 0, "p\0" "x", 4);
    inject(XENABI_XS_WATCH_EVENT, 0, "p\0" "4294967296/1", 15);
    CHECK_EQ(xstats().stale_events, 4);
    CHECK_EQ(xstats().watch_events, 0);
    CHECK_ALIVE();
}

static int calls;
static char last_path[64];
static void count_call(int watch, const char *path, void *arg)
{
    (void)watch;
    (void)arg;
    calls++;
    snprintf(last_path, sizeof(last_path), "%s", path);
}

/* An event for an old watch whose slot now holds a new one. */
static void test_event_of_a_previous_watch_in_the_same_slot(void)
{
    boot();
    calls = 0;
    int w = xs_watch("a", count_call, NULL);
    CHECK_EQ(w, 0);
    CHECK_EQ(xs_unwatch(w), 0);
    CHECK_EQ(xs_watch("b", count_call, NULL), 0); /* slot 0 again */
    CHECK_EQ(xs_poll(), 1); /* "a"'s initial event is stale by now */
    CHECK_EQ(calls, 1);
    CHECK_EQ(xstats().stale_events, 1);
    inject(XENABI_XS_WATCH_EVENT, 0, "a\0" "0/1", 6); /* generation 1 */
    CHECK_EQ(calls, 1);
    CHECK_EQ(xstats().stale_events, 2);
    inject(XENABI_XS_WATCH_EVENT, 0, "b\0" "0/2", 6); /* the live one */
    CHECK_EQ(calls, 2);
}

/*
 * A flood of events for a dead watch arriving while a request waits must
 * not take the queue's room: the live event behind them still gets
 * through with its own path.
 */
static void test_stale_events_take_no_queue_room(void)
{
    boot();
    calls = 0;
    CHECK_EQ(xs_watch("a", count_call, NULL), 0);
    CHECK_EQ(xs_unwatch(0), 0);
    CHECK_EQ(xs_watch("b", count_call, NULL), 0); /* slot 0, generation 2 */
    CHECK_EQ(xs_poll(), 1);
    for (int i = 0; i < XS_EVENT_QUEUE; i++)
        sim_xs_inject(XENABI_XS_WATCH_EVENT, 0, "a\0" "0/1", 6);
    sim_xs_inject(XENABI_XS_WATCH_EVENT, 0, "b/live\0" "0/2", 11);
    CHECK_ALIVE(); /* they all arrive while this waits for its replies */
    calls = 0;
    CHECK_EQ(xs_poll(), 1);
    CHECK(strcmp(last_path, "b/live") == 0);
    CHECK_EQ(xstats().lost_events, 0);
}

/* A watch event path longer than any valid path. */
static void test_watch_event_path_too_long(void)
{
    boot();
    static char payload[XENABI_XENSTORE_ABS_PATH_MAX + 8];
    memset(payload, 'a', XENABI_XENSTORE_ABS_PATH_MAX + 1);
    memcpy(payload + XENABI_XENSTORE_ABS_PATH_MAX + 1, "\0" "0/1", 5);
    inject(XENABI_XS_WATCH_EVENT, 0, payload,
           XENABI_XENSTORE_ABS_PATH_MAX + 5);
    CHECK_EQ(xstats().bad_payload, 1);
    CHECK_ALIVE();
}

static void test_unsolicited_replies(void)
{
    boot();
    inject(XENABI_XS_READ, 12345, "unasked", 7);
    inject(XENABI_XS_ERROR, 1, "ENOENT", 7); /* an id long answered */
    inject(20, 7, "x", 1);                   /* XS_RESTRICT, removed */
    inject(XENABI_XS_TYPE_COUNT, 7, "x", 1);
    inject(0xffffffffu, 7, "x", 1);
    CHECK_EQ(xstats().unexpected_id, 2);
    CHECK_EQ(xstats().bad_type, 3);
    CHECK_ALIVE();
}

static void test_raw_garbage(void)
{
    boot();
    /* A header claiming ~4 GiB of payload. */
    struct xenabi_xsd_sockmsg h = {XENABI_XS_READ, 1, 0, 0xffffffffu};
    sim_xs_inject_raw(&h, sizeof(h));
    drain();
    CHECK_EQ(xstats().bad_length, 1);
    /* A full ring of 0xff bytes: its first header is garbage too. */
    static uint8_t junk[XENABI_XENSTORE_RING_SIZE];
    memset(junk, 0xff, sizeof(junk));
    sim_xs_inject_raw(junk, sizeof(junk));
    drain();
    CHECK_EQ(xstats().bad_length, 2);
    CHECK_ALIVE();
}

/* xorshift: deterministic, so a failure can be replayed. */
static uint32_t rng = 0x2545f491u;
static uint32_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/*
 * Hundreds of random, self-consistently framed messages (random types,
 * ids, lengths up to the limit and beyond, random bytes), interleaved
 * with real requests that must keep working throughout.
 */
static void test_random_messages(void)
{
    boot();
    static uint8_t payload[XENABI_XENSTORE_PAYLOAD_MAX + 64];
    uint64_t injected = 0, oversized = 0;
    for (int round = 0; round < 300; round++) {
        uint32_t len = next() % (XENABI_XENSTORE_PAYLOAD_MAX + 1);
        if (next() % 4 == 0)
            len = next() % 64; /* many short ones */
        for (uint32_t i = 0; i < len; i++)
            payload[i] = (uint8_t)next();
        if (next() % 3 == 0 && len > 2)
            payload[len - 1] = 0; /* sometimes string-like */
        uint32_t type = next() % 3 == 0 ? next() : next() % 24;
        /* Ids with the top bit set: never one the client has in flight. */
        uint32_t id = next() | 0x80000000u;
        if (next() % 16 == 0) {
            /* Over the limit: header and a little payload only. */
            struct xenabi_xsd_sockmsg h = {
                type, id, 0, XENABI_XENSTORE_PAYLOAD_MAX + 1 + next() % 9999};
            sim_xs_inject_raw(&h, sizeof(h));
            oversized++;
        } else {
            sim_xs_inject(type, id, payload, len);
            injected++;
        }
        if (round % 10 == 0) {
            char value[16], back[16];
            snprintf(value, sizeof(value), "v%d", round);
            CHECK_EQ(xs_write(XS_TX_NONE, "fuzz", value), 0);
            CHECK_EQ(xs_read(XS_TX_NONE, "fuzz", back, sizeof(back), NULL), 0);
            CHECK(strcmp(value, back) == 0);
        }
    }
    drain();
    struct xs_stats st = xstats();
    uint64_t dropped = st.bad_type + st.unexpected_id + st.bad_payload
                       + st.stale_events;
    CHECK_EQ(st.bad_length, oversized);
    CHECK_EQ(dropped, injected); /* every framed message accounted for */
    CHECK_EQ(st.watch_events, 0);
    CHECK_ALIVE();
}

/* ---- livelocks: a xenstored that keeps talking ------------------------------- */

/* The most callbacks one xs_poll() may run (xenstore.h). */
#define POLL_CALLS_MAX (XS_EVENT_QUEUE + XS_MAX_WATCHES)

static uint64_t flood_next; /* n of the next "flood/<n>" expected */
static bool flood_in_order;
static void flood_call(int watch, const char *path, void *arg)
{
    (void)watch;
    (void)arg;
    char want[32];
    snprintf(want, sizeof(want), "flood/%llu", (unsigned long long)flood_next);
    flood_in_order &= strcmp(path, want) == 0;
    flood_next++;
}

/*
 * xenstored writes watch events as fast as the guest reads them (every
 * signal of the store port refills the ring at once). xs_poll() must
 * return after bounded work, and over the usual loop of xs_poll() and
 * evtchn_wait() every event must arrive once, in order.
 */
static void test_flooding_xenstored_cannot_hold_xs_poll(void)
{
    enum { COUNT = 3000 };
    boot();
    CHECK_EQ(xs_watch("flood", flood_call, NULL), 0); /* token "0/1" */
    CHECK_EQ(xs_poll(), 1);                           /* its first event */
    flood_next = 0;
    flood_in_order = true;

    sim_xs_flood("flood", "0/1", COUNT);
    int calls = xs_poll();
    CHECK(calls >= 1 && calls <= POLL_CALLS_MAX);
    /* One call took in about a ring's worth (~40 events), not the flood. */
    CHECK(sim_xs_flood_sent() < 200);

    unsigned passes = 0;
    while (flood_next < COUNT && passes < 4 * COUNT) {
        calls = xs_poll();
        CHECK(calls >= 0 && calls <= POLL_CALLS_MAX);
        if (flood_next < COUNT)
            CHECK_EQ(evtchn_wait(), 0); /* never sleeps on work already here */
        passes++;
    }
    CHECK_EQ(flood_next, COUNT);
    CHECK(flood_in_order);
    CHECK_EQ(xstats().lost_events, 0);
    CHECK(xstats().pump_stops > 0);
    CHECK_ALIVE();
}

static int echo_calls;
static void echo_call(int watch, const char *path, void *arg)
{
    (void)watch;
    (void)path;
    (void)arg;
    char value[16];
    echo_calls++;
    snprintf(value, sizeof(value), "%d", echo_calls);
    if (echo_calls < 500)
        check_true(xs_write(XS_TX_NONE, "echo", value) == 0, "echo write",
                   __FILE__, __LINE__);
}

/* A callback whose write fires its own watch: each xs_poll() still ends. */
static void test_callbacks_that_fire_their_own_watch(void)
{
    boot();
    echo_calls = 0;
    CHECK_EQ(xs_watch("echo", echo_call, NULL), 0);
    int calls = xs_poll();
    CHECK(calls >= 1 && calls <= POLL_CALLS_MAX);
    CHECK(echo_calls <= POLL_CALLS_MAX);

    unsigned passes = 0;
    while (echo_calls < 500 && passes < 5000) {
        calls = xs_poll();
        CHECK(calls >= 0 && calls <= POLL_CALLS_MAX);
        if (echo_calls < 500)
            CHECK_EQ(evtchn_wait(), 0);
        passes++;
    }
    CHECK_EQ(echo_calls, 500);
    CHECK(xstats().poll_deferrals > 0);
    CHECK_ALIVE();
}

/* A request made during a flood still gets its reply, and the flood ends. */
static void test_request_during_a_flood(void)
{
    boot();
    CHECK_EQ(xs_watch("flood", flood_call, NULL), 0);
    CHECK_EQ(xs_poll(), 1);
    flood_next = 0;
    flood_in_order = true;
    sim_xs_flood("flood", "0/1", 500);
    CHECK_ALIVE(); /* events beyond the queue merge into one callback */
    unsigned passes = 0;
    while (sim_xs_flood_sent() < 500 && passes < 2000) {
        (void)xs_poll();
        CHECK_EQ(evtchn_wait(), 0);
        passes++;
    }
    drain();
    CHECK_EQ(sim_xs_flood_sent(), 500);
    CHECK_ALIVE();
}

int main(void)
{
    RUN(test_length_beyond_payload_max);
    RUN(test_prod_ahead_by_more_than_the_ring);
    RUN(test_unknown_request_id);
    RUN(test_duplicate_reply);
    RUN(test_garbage_type);
    RUN(test_wrong_reply_type);
    RUN(test_malformed_ack_fails_the_request);
    RUN(test_unknown_error_name);
    RUN(test_req_cons_beyond_req_prod);
    RUN(test_garbled_payloads);
    RUN(test_bad_ack_inside_transaction);
    RUN(test_malformed_watch_events);
    RUN(test_event_of_a_previous_watch_in_the_same_slot);
    RUN(test_stale_events_take_no_queue_room);
    RUN(test_watch_event_path_too_long);
    RUN(test_unsolicited_replies);
    RUN(test_raw_garbage);
    RUN(test_random_messages);
    RUN(test_flooding_xenstored_cannot_hold_xs_poll);
    RUN(test_callbacks_that_fire_their_own_watch);
    RUN(test_request_during_a_flood);
    return check_finish();
}
