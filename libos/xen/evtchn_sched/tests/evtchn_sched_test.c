/*
 * The glue between event channels and the scheduler, on the host: real
 * threads of //libos/sched's core (built for the host), real event
 * channels (//libos/xen/evtchn) on the simulated Xen, and an idle halt
 * in which the simulator's events arrive as the upcall
 * (host_platform.c). Checks that a thread blocked on a port is woken by
 * an event, that waits time out, that several waiters are all woken,
 * that events while nobody waits are kept, that evtchn_wait() parks a
 * thread (never blocking the domain) while other threads run, and that
 * a xenstore request waits that way too.
 */
#include <stdio.h>
#include <string.h>

#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <sched/sched.h>
#include <time/time.h>
#include <testing/check.h>
#include <xensim/sim.h>
#include <xenstore/xenstore.h>

#include <hostsched/hostsched.h>

#define MS TIME_NS_PER_MS

/* A guest port bound by the backend; *backend gets the backend's end.
 * Unmasked, without a handler: the glue's observer sees its events. */
static xenabi_evtchn_port_t connect_port(uint32_t *backend)
{
    xenabi_evtchn_port_t port = 0;
    CHECK_EQ(evtchn_alloc_unbound(SIM_BACKEND_DOMID, &port), 0);
    CHECK_EQ(evtchn_unmask(port), 0);
    CHECK_EQ(sim_evtchn_bind(port, NULL, NULL, backend), 0);
    return port;
}

static void boot(void)
{
    host_reset();
    evtchn_sched_stop(); /* a fresh start: counts from zero */
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(evtchn_sched_start(), 0);
}

/* A waiter thread: waits on `port` until `deadline`, notes what it got. */
struct waiter {
    xenabi_evtchn_port_t port;
    uint64_t deadline;
    int result;
    uint64_t woke_at;
};

static int wait_thread(void *arg)
{
    struct waiter *w = arg;
    w->result = evtchn_sched_wait(w->port, w->deadline);
    w->woke_at = time_monotonic_ns();
    return 0;
}

static struct sched_thread *spawn_waiter(struct waiter *w)
{
    struct sched_thread *t = sched_spawn("waiter", wait_thread, w, NULL);
    CHECK(t != NULL);
    return t;
}

static void test_errors(void)
{
    evtchn_sched_stop();
    CHECK_EQ(evtchn_sched_wait(1, TIME_NEVER), -XENABI_ENOTCONN);
    CHECK_EQ(evtchn_sched_wait_any(TIME_NEVER), -XENABI_ENOTCONN);
    sim_set_absent(true);
    CHECK_EQ(evtchn_init(), -XENABI_ENOSYS);
    CHECK_EQ(evtchn_sched_start(), -XENABI_ENOTCONN);
    sim_set_absent(false);
    boot();
    CHECK_EQ(evtchn_sched_wait(EVTCHN_NR_PORTS, TIME_NEVER), -XENABI_EINVAL);
}

/* Started again after evtchn_init (which drops the hooks): the hooks are
 * back and a thread already waiting is still woken. */
static void test_restart_keeps_waiters(void)
{
    boot();
    uint32_t backend;
    xenabi_evtchn_port_t port = connect_port(&backend);
    uint64_t t0 = time_monotonic_ns();
    struct waiter w = {.port = port, .deadline = TIME_NEVER, .result = -99};
    struct sched_thread *t = spawn_waiter(&w);
    sched_yield(); /* the waiter runs and parks */
    /* The port stays bound in Xen, but evtchn_init masked it. */
    CHECK_EQ(evtchn_init(), 0);
    CHECK_EQ(evtchn_sched_start(), 0);
    CHECK_EQ(evtchn_unmask(port), 0);
    host_event_at(t0 + 3 * MS, backend);
    CHECK_EQ(sched_join(t, NULL), 0);
    CHECK_EQ(w.result, 1);
    CHECK_EQ(w.woke_at - t0, 3 * MS);
}

/* A thread blocked on a port runs again when the event arrives, through
 * the upcall in the idle halt, and not before. */
static void test_woken_by_event(void)
{
    boot();
    uint32_t backend;
    xenabi_evtchn_port_t port = connect_port(&backend);
    uint64_t t0 = time_monotonic_ns();
    struct waiter w = {.port = port, .deadline = TIME_NEVER, .result = -99};
    struct sched_thread *t = spawn_waiter(&w);
    host_event_at(t0 + 5 * MS, backend);
    CHECK_EQ(sched_join(t, NULL), 0);
    CHECK_EQ(w.result, 1);
    CHECK_EQ(w.woke_at - t0, 5 * MS);

    struct host_stats hs;
    host_get_stats(&hs);
    CHECK_EQ(hs.interrupts, 1);
    struct evtchn_sched_stats st;
    evtchn_sched_get_stats(&st);
    CHECK_EQ(st.upcalls, 1);
    CHECK_EQ(st.events, 1);
    CHECK_EQ(st.wakeups, 1);
    CHECK_EQ(st.waits, 1);
    CHECK_EQ(st.timeouts, 0);
    CHECK_EQ(st.interrupts, 1);
    /* The domain never blocked in SCHEDOP_block. */
    struct sim_stats ss;
    sim_get_stats(&ss);
    CHECK_EQ(ss.blocks, 0);
}

/* No event: the wait ends at its deadline, with 0; an event after it
 * is kept for the next wait. */
static void test_timeout(void)
{
    boot();
    uint32_t backend;
    xenabi_evtchn_port_t port = connect_port(&backend);
    uint64_t t0 = time_monotonic_ns();
    host_event_at(t0 + 50 * MS, backend);
    CHECK_EQ(evtchn_sched_wait(port, t0 + 10 * MS), 0);
    CHECK_EQ(time_monotonic_ns() - t0, 10 * MS);
    /* A deadline already passed: no halt at all. */
    struct host_stats before, after;
    host_get_stats(&before);
    CHECK_EQ(evtchn_sched_wait(port, t0), 0);
    host_get_stats(&after);
    CHECK_EQ(after.halts, before.halts);
    /* The event at 50 ms wakes the next wait. */
    CHECK_EQ(evtchn_sched_wait(port, t0 + 100 * MS), 1);
    CHECK_EQ(time_monotonic_ns() - t0, 50 * MS);
    struct evtchn_sched_stats st;
    evtchn_sched_get_stats(&st);
    CHECK_EQ(st.timeouts, 2);
}

/* Several threads on one port all wake on its event; a thread on
 * another port does not, until that port's event. */
static void test_several_waiters(void)
{
    boot();
    uint32_t backend_a, backend_b;
    xenabi_evtchn_port_t a = connect_port(&backend_a);
    xenabi_evtchn_port_t b = connect_port(&backend_b);
    uint64_t t0 = time_monotonic_ns();
    struct waiter w[4];
    struct sched_thread *t[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (struct waiter){
            .port = i < 3 ? a : b, .deadline = TIME_NEVER, .result = -99};
        t[i] = spawn_waiter(&w[i]);
    }
    host_event_at(t0 + 5 * MS, backend_a);
    host_event_at(t0 + 9 * MS, backend_b);
    for (int i = 0; i < 4; i++)
        CHECK_EQ(sched_join(t[i], NULL), 0);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(w[i].result, 1);
        CHECK_EQ(w[i].woke_at - t0, 5 * MS);
    }
    CHECK_EQ(w[3].result, 1);
    CHECK_EQ(w[3].woke_at - t0, 9 * MS);
    struct evtchn_sched_stats st;
    evtchn_sched_get_stats(&st);
    CHECK_EQ(st.events, 2);
    CHECK_EQ(st.wakeups, 4);
}

/* Events while nobody waits: one that is still pending in Xen's bitmap,
 * and one the upcall took while the only thread slept; each makes the
 * next wait on its port return at once, without halting. */
static void test_not_lost(void)
{
    boot();
    uint32_t backend_a, backend_b;
    xenabi_evtchn_port_t a = connect_port(&backend_a);
    xenabi_evtchn_port_t b = connect_port(&backend_b);

    /* Posted while the thread runs: pending, not yet dispatched. */
    CHECK_EQ(sim_evtchn_notify(backend_a), 0);
    CHECK(sim_guest_port_pending(a));
    struct host_stats before, after;
    host_get_stats(&before);
    CHECK_EQ(evtchn_sched_wait(a, TIME_NEVER), 1);
    host_get_stats(&after);
    CHECK_EQ(after.halts, before.halts);
    CHECK(!sim_guest_port_pending(a));

    /* Taken by the upcall while we slept for something else. */
    uint64_t t0 = time_monotonic_ns();
    host_event_at(t0 + 2 * MS, backend_b);
    sched_sleep_ns(10 * MS);
    CHECK_EQ(time_monotonic_ns() - t0, 10 * MS);
    host_get_stats(&before);
    CHECK_EQ(before.interrupts, 1);
    CHECK_EQ(evtchn_sched_wait(b, TIME_NEVER), 1);
    host_get_stats(&after);
    CHECK_EQ(after.halts, before.halts);

    /* Both consumed: the next wait on each times out. */
    CHECK_EQ(evtchn_sched_wait(a, time_monotonic_ns() + MS), 0);
    CHECK_EQ(evtchn_sched_wait(b, time_monotonic_ns() + MS), 0);
}

/* evtchn_wait(), as drivers call it, parks only its thread: another
 * thread keeps running (sleeping and waking on timers) until the event,
 * and SCHEDOP_block is never used. */
static int ticks;
static bool stop_ticking;

static int ticker(void *arg)
{
    (void)arg;
    while (!stop_ticking) {
        ticks++;
        sched_sleep_ns(1 * MS);
    }
    return 0;
}

static int driver_wait(void *arg)
{
    int *rc = arg;
    *rc = evtchn_wait();
    stop_ticking = true;
    return 0;
}

static void test_evtchn_wait_parks_thread(void)
{
    boot();
    uint32_t backend;
    (void)connect_port(&backend);
    uint64_t t0 = time_monotonic_ns();
    ticks = 0;
    stop_ticking = false;
    int rc = -99;
    struct sched_thread *tick = sched_spawn("ticker", ticker, NULL, NULL);
    struct sched_thread *drv = sched_spawn("driver", driver_wait, &rc, NULL);
    CHECK(tick != NULL && drv != NULL);
    host_event_at(t0 + 20 * MS, backend);
    CHECK_EQ(sched_join(drv, NULL), 0);
    CHECK_EQ(sched_join(tick, NULL), 0);
    CHECK_EQ(rc, 0);
    /* The ticker ran every millisecond until the event at 20 ms. */
    CHECK(ticks >= 19 && ticks <= 22);
    struct evtchn_stats es;
    evtchn_get_stats(&es);
    CHECK_EQ(es.blocks, 0);
    struct sim_stats ss;
    sim_get_stats(&ss);
    CHECK_EQ(ss.blocks, 0);
}

/* A xenstore round trip from a thread: the request waits for xenstored's
 * reply through evtchn_wait, i.e. parked, while the simulated backend
 * answers during the halt. */
static int store_client(void *arg)
{
    int *rc = arg;
    char buf[32];
    *rc = xs_write(XS_TX_NONE, "data/greeting", "hello");
    if (*rc == 0)
        *rc = xs_read(XS_TX_NONE, "data/greeting", buf, sizeof buf, NULL);
    if (*rc == 0 && strcmp(buf, "hello") != 0)
        *rc = -1;
    return 0;
}

static void test_xenstore_waits_in_thread(void)
{
    boot();
    CHECK_EQ(xs_init(), 0);
    int rc = -99;
    struct sched_thread *t = sched_spawn("xs", store_client, &rc, NULL);
    CHECK(t != NULL);
    CHECK_EQ(sched_join(t, NULL), 0);
    CHECK_EQ(rc, 0);
    struct evtchn_sched_stats st;
    evtchn_sched_get_stats(&st);
    CHECK(st.waits >= 1);
    CHECK(st.events >= 2); /* one reply per request, at least */
    struct sim_stats ss;
    sim_get_stats(&ss);
    CHECK_EQ(ss.blocks, 0);
    struct evtchn_stats es;
    evtchn_get_stats(&es);
    CHECK_EQ(es.blocks, 0);
}

/* A thread waiting for any event; notes when it woke and what it got. */
static int wait_any_thread(void *arg)
{
    struct waiter *w = arg;
    w->result = evtchn_sched_wait_any(w->deadline);
    w->woke_at = time_monotonic_ns();
    return 0;
}

/*
 * Xen PV's wake-up timer is an event channel too (//libos/time binds
 * VIRQ_TIMER). Its events must neither count as the threads' events nor
 * wake threads parked on "any event" (that would shorten every
 * evtchn_wait() to the next sleeper's deadline), while other ports work
 * as before; evtchn_sched_stop() forgets the port.
 */
static void test_timer_port_ignored(void)
{
    boot();
    uint32_t timer_backend, backend;
    xenabi_evtchn_port_t timer = connect_port(&timer_backend);
    xenabi_evtchn_port_t port = connect_port(&backend);
    evtchn_sched_set_timer_port(timer);
    uint64_t t0 = time_monotonic_ns();
    struct waiter w = {.deadline = t0 + 100 * MS, .result = -99};
    struct sched_thread *t = sched_spawn("any", wait_any_thread, &w, NULL);
    CHECK(t != NULL);
    host_event_at(t0 + 5 * MS, timer_backend);
    host_event_at(t0 + 20 * MS, backend);
    CHECK_EQ(sched_join(t, NULL), 0);
    CHECK_EQ(w.result, 1);
    CHECK_EQ(w.woke_at - t0, 20 * MS); /* not at the timer's 5 ms */
    struct evtchn_sched_stats st;
    evtchn_sched_get_stats(&st);
    CHECK_EQ(st.events, 1);
    CHECK_EQ(st.upcalls, 2); /* the timer's upcall was taken all the same */
    /* The device port's own count has it; the timer's has nothing. */
    CHECK_EQ(evtchn_sched_wait(port, t0), 1);
    CHECK_EQ(evtchn_sched_wait(timer, t0), 0);

    /* Stopped and started again: an ordinary port once more. */
    evtchn_sched_stop();
    CHECK_EQ(evtchn_sched_start(), 0);
    host_event_at(time_monotonic_ns() + 1 * MS, timer_backend);
    CHECK_EQ(evtchn_sched_wait(timer, time_monotonic_ns() + 10 * MS), 1);
}

int main(void)
{
    sched_init();
    RUN(test_errors);
    RUN(test_woken_by_event);
    RUN(test_restart_keeps_waiters);
    RUN(test_timeout);
    RUN(test_several_waiters);
    RUN(test_not_lost);
    RUN(test_evtchn_wait_parks_thread);
    RUN(test_xenstore_waits_in_thread);
    RUN(test_timer_port_ignored);
    evtchn_sched_print_stats();
    return check_finish();
}
