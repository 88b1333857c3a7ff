/*
 * The Xen PV idle step (idle.c) against a model of Xen's side of
 * the calls it makes: the vcpu's event mask and upcall-pending flag,
 * the timer port's pending bit, the single-shot timer, and what
 * SCHEDOP_block and SCHEDOP_poll do with them (Xen's public sched.h and
 * vcpu.h: block enables event delivery and returns at once if an event
 * is pending; poll returns at once if a listed port is pending; a timer
 * set in the past fires at once). Each test checks the calls' order and
 * arguments, that events are masked on return, and that no wait sleeps
 * through its deadline or an event that was already there.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <platform/xen/idle.h>
#include <testing/check.h>

#define PORT 3u

struct xen {
    uint64_t now;          /* Xen's system time */
    bool mask;             /* vcpu_info.evtchn_upcall_mask */
    bool upcall_pending;   /* vcpu_info.evtchn_upcall_pending */
    bool port_pending;     /* the timer port's bit */
    bool port_unmasked;    /* the port raises the upcall (block mode) */
    bool armed;
    uint64_t timer_at;
    /* What happened. */
    char calls[64];        /* one letter per call, in order */
    unsigned n;
    uint64_t poll_timeout;
    bool slept_forever;    /* a wait nothing could end */
    bool woke_at_once;     /* a wait that returned without sleeping */
    unsigned upcalls;
    long fail_set_timer, fail_block;
};

static void record(struct xen *x, char c)
{
    if (x->n + 1 < sizeof x->calls)
        x->calls[x->n++] = c;
}

/* The timer fires: the port's bit, and the upcall if the port is open. */
static void fire(struct xen *x)
{
    x->armed = false;
    x->port_pending = true;
    if (x->port_unmasked)
        x->upcall_pending = true;
}

/* Back in the guest with delivery unmasked: the upcall dispatches. */
static void deliver(struct xen *x)
{
    if (!x->mask && x->upcall_pending) {
        x->upcalls++;
        x->upcall_pending = false;
        x->port_pending = false; /* the dispatcher clears what it takes */
    }
}

static long set_timer(void *ctx, uint64_t at)
{
    struct xen *x = ctx;
    record(x, 'T');
    if (x->fail_set_timer)
        return x->fail_set_timer;
    x->armed = true;
    x->timer_at = at;
    if (at <= x->now)
        fire(x);
    return 0;
}

static long stop_timer(void *ctx)
{
    struct xen *x = ctx;
    record(x, 'S');
    x->armed = false;
    return 0;
}

static long block(void *ctx)
{
    struct xen *x = ctx;
    record(x, 'B');
    CHECK(x->mask); /* the guest runs masked until here */
    if (x->fail_block)
        return x->fail_block;
    x->mask = false; /* Xen: local_event_delivery_enable */
    if (x->upcall_pending) {
        x->woke_at_once = true;
    } else if (x->armed) {
        x->now = x->timer_at;
        fire(x);
    } else {
        x->slept_forever = true;
    }
    deliver(x);
    return 0;
}

static long poll(void *ctx, uint32_t port, uint64_t timeout)
{
    struct xen *x = ctx;
    record(x, 'P');
    CHECK(port == PORT);
    CHECK(x->mask); /* polling never unmasks delivery */
    x->poll_timeout = timeout;
    if (x->port_pending) {
        x->woke_at_once = true;
    } else if (x->armed && (timeout == 0 || x->timer_at <= timeout)) {
        x->now = x->timer_at;
        fire(x);
    } else if (timeout != 0) {
        if (timeout > x->now)
            x->now = timeout;
    } else {
        x->slept_forever = true;
    }
    return 0;
}

static void clear_pending(void *ctx, uint32_t port)
{
    struct xen *x = ctx;
    record(x, 'C');
    CHECK(port == PORT);
    x->port_pending = false;
}

static void mask_events(void *ctx)
{
    struct xen *x = ctx;
    record(x, 'M');
    x->mask = true;
}

static struct xenplat_idle_ops ops_for(struct xen *x)
{
    return (struct xenplat_idle_ops){
        .ctx = x,
        .set_timer = set_timer,
        .stop_timer = stop_timer,
        .block = block,
        .poll = poll,
        .clear_pending = clear_pending,
        .mask_events = mask_events,
    };
}

static struct xen fresh(uint64_t now, bool on_events)
{
    struct xen x;
    memset(&x, 0, sizeof x);
    x.now = now;
    x.mask = true; /* PV guests start, and the library OS runs, masked */
    x.port_unmasked = on_events;
    return x;
}

/* monotonic = system - offset throughout. */
#define OFFSET UINT64_C(5000000000)

static void test_deadline_passed(void)
{
    for (int on = 0; on < 2; on++) {
        struct xenplat_idle idle = {PORT, on, OFFSET};
        struct xen x = fresh(OFFSET + 100, on);
        struct xenplat_idle_ops ops = ops_for(&x);
        CHECK(xenplat_idle_wait(&idle, &ops, 100, 100) == XENPLAT_IDLE_NONE);
        CHECK(xenplat_idle_wait(&idle, &ops, 50, 100) == XENPLAT_IDLE_NONE);
        CHECK(x.n == 0); /* no hypercall at all */
    }
}

static void test_block_until_deadline(void)
{
    struct xenplat_idle idle = {PORT, true, OFFSET};
    struct xen x = fresh(OFFSET + 1000, true);
    struct xenplat_idle_ops ops = ops_for(&x);

    CHECK(xenplat_idle_wait(&idle, &ops, 1000 + 10000000, 1000)
          == XENPLAT_IDLE_BLOCK);
    CHECK(strcmp(x.calls, "TBM") == 0); /* timer, block, mask */
    CHECK(x.timer_at == OFFSET + 1000 + 10000000);
    CHECK(x.now == x.timer_at);          /* slept until the deadline */
    CHECK(x.mask);                       /* masked again */
    CHECK(x.upcalls == 1);               /* the timer's event was taken */
    CHECK(!x.slept_forever && !x.woke_at_once);
}

static void test_block_never(void)
{
    struct xenplat_idle idle = {PORT, true, OFFSET};
    struct xen x = fresh(OFFSET, true);
    struct xenplat_idle_ops ops = ops_for(&x);

    /* A device event is already pending: the block must not sleep. */
    x.upcall_pending = true;
    CHECK(xenplat_idle_wait(&idle, &ops, XENPLAT_IDLE_NEVER, 0)
          == XENPLAT_IDLE_BLOCK);
    CHECK(strcmp(x.calls, "SBM") == 0); /* no deadline: timer stopped */
    CHECK(x.woke_at_once && !x.slept_forever);
    CHECK(x.upcalls == 1 && x.mask);
}

/* The timer fires between arming and blocking: the block returns. */
static void test_block_timer_already_due(void)
{
    struct xenplat_idle idle = {PORT, true, OFFSET};
    /* Xen's clock is ahead of the guest's reading of it. */
    struct xen x = fresh(OFFSET + 2000000, true);
    struct xenplat_idle_ops ops = ops_for(&x);

    CHECK(xenplat_idle_wait(&idle, &ops, 1500000, 1000000)
          == XENPLAT_IDLE_BLOCK);
    CHECK(strcmp(x.calls, "TBM") == 0);
    CHECK(x.woke_at_once && !x.slept_forever && x.mask);
}

static void test_block_errors(void)
{
    struct xenplat_idle idle = {PORT, true, OFFSET};
    struct xen x = fresh(OFFSET, true);
    struct xenplat_idle_ops ops = ops_for(&x);

    x.fail_set_timer = -62; /* ETIME: Xen's clock is past the deadline */
    CHECK(xenplat_idle_wait(&idle, &ops, 100, 0) == XENPLAT_IDLE_NONE);
    CHECK(strcmp(x.calls, "T") == 0 && x.mask);

    x = fresh(OFFSET, true);
    ops = ops_for(&x);
    x.fail_set_timer = -22;
    CHECK(xenplat_idle_wait(&idle, &ops, 100, 0) == -22);
    CHECK(strcmp(x.calls, "T") == 0); /* no block without a timer */
    CHECK(x.mask);

    x = fresh(OFFSET, true);
    ops = ops_for(&x);
    x.fail_block = -38;
    CHECK(xenplat_idle_wait(&idle, &ops, 100, 0) == -38);
    CHECK(strcmp(x.calls, "TBM") == 0 && x.mask);
}

static void test_poll(void)
{
    struct xenplat_idle idle = {PORT, false, OFFSET};
    struct xen x = fresh(OFFSET + 10, false);
    struct xenplat_idle_ops ops = ops_for(&x);

    /* A stale pending bit from an earlier firing must not end the poll. */
    x.port_pending = true;
    CHECK(xenplat_idle_wait(&idle, &ops, 20000000, 10)
          == XENPLAT_IDLE_POLL);
    CHECK(strcmp(x.calls, "CP") == 0); /* clear, then poll; no unmask */
    CHECK(x.poll_timeout == OFFSET + 20000000);
    CHECK(x.now == OFFSET + 20000000 && !x.woke_at_once);
    CHECK(x.mask && x.upcalls == 0);

    /* No deadline: no timeout (0), the port alone can end it. */
    x = fresh(OFFSET, false);
    ops = ops_for(&x);
    CHECK(xenplat_idle_wait(&idle, &ops, XENPLAT_IDLE_NEVER, 0)
          == XENPLAT_IDLE_POLL);
    CHECK(x.poll_timeout == 0 && x.slept_forever);

    /* A deadline at system time 0 (wrapped) still has a timeout. */
    struct xenplat_idle wrap = {PORT, false, UINT64_MAX - 99};
    x = fresh(0, false);
    ops = ops_for(&x);
    CHECK(xenplat_idle_wait(&wrap, &ops, 100, 50) == XENPLAT_IDLE_POLL);
    CHECK(x.poll_timeout == 1);
}

static void test_system_time(void)
{
    for (int i = 0; i < 10000; i++) {
        struct xenplat_idle idle = {PORT, true, rng_next()};
        uint64_t ns = rng_next();
        uint64_t sys = xenplat_idle_system_time(&idle, ns);
        CHECK(sys - idle.offset == ns); /* modular, both ways */
    }
}

int main(void)
{
    rng_seed(20261126);
    test_deadline_passed();
    test_block_until_deadline();
    test_block_never();
    test_block_timer_already_due();
    test_block_errors();
    test_poll();
    test_system_time();
    return check_finish();
}
