/*
 * Per-port waiting: the observer that counts events and wakes waiters,
 * and the wait functions. Host-buildable: the tests drive it against
 * //testing/xensim with //libos/sched's runtime built for the host (//testing/hostsched).
 */
#include <evtchn/evtchn.h>
#include <evtchn_sched/evtchn_sched.h>
#include <limits.h>
#include <sched/sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time/time.h>

#include "internal.h"

struct port_state {
    struct sched_waitq waiters;
    uint64_t events; /* observed on this port */
    uint64_t taken;  /* `events` when a wait last returned */
};

static struct {
    bool started;
    struct port_state ports[EVTCHN_NR_PORTS];
    struct sched_waitq any;
    uint64_t any_events;
    struct evtchn_sched_stats stats;
} es;

/* The wake-up timer's port, if it is one (Xen PV); not part of `es`. */
static bool has_timer_port;
static xenabi_evtchn_port_t timer_port;

void evtchn_sched_set_timer_port(xenabi_evtchn_port_t port)
{
    timer_port = port;
    has_timer_port = true;
}

/* Interrupt context (or a thread's own dispatch): count and wake. */
static void observe(xenabi_evtchn_port_t port, void *arg)
{
    (void)arg;
    /*
     * The timer ends the idle by itself (the scheduler then looks at its
     * sleepers): waking the threads parked on "any event" for it would
     * shorten their waits, and counting it would make every sleep look
     * like device traffic.
     */
    if (has_timer_port && port == timer_port)
        return;
    struct port_state *p = &es.ports[port]; /* evtchn checked the range */
    p->events++;
    es.any_events++;
    es.stats.events++;
    es.stats.wakeups += sched_wake_all(&p->waiters);
    es.stats.wakeups += sched_wake_all(&es.any);
}

/*
 * evtchn_wait() once started: park this thread until any event, or for
 * EVTCHN_SCHED_PARK_NS at most. evtchn_wait() may return without an
 * event ("look again"), and the bound turns the drivers' loops that
 * count waits (a backend that never answers) into loops bounded in time.
 */
static int park(void *arg)
{
    (void)arg;
    int rc = evtchn_sched_wait_any(time_monotonic_ns() + EVTCHN_SCHED_PARK_NS);
    return rc < 0 ? rc : 0;
}

int evtchn_sched_start(void)
{
    if (!evtchn_ready())
        return -XENABI_ENOTCONN;
    /*
     * Started already: only the hooks again (evtchn_init may have removed
     * them); the counts and the queues, which threads may be waiting on,
     * stay.
     */
    if (!es.started) {
        memset(&es, 0, sizeof es);
        for (unsigned i = 0; i < EVTCHN_NR_PORTS; i++)
            sched_waitq_init(&es.ports[i].waiters);
        sched_waitq_init(&es.any);
        es.started = true;
    }
    evtchn_set_observer(observe, NULL);
    evtchn_set_wait(park, NULL);
    return 0;
}

void evtchn_sched_stop(void)
{
    has_timer_port = false;
    evtchn_set_wait(NULL, NULL);
    evtchn_set_observer(NULL, NULL);
    /* Whoever still waits is woken: its wait reports a timeout. */
    for (unsigned i = 0; i < EVTCHN_NR_PORTS; i++)
        sched_wake_all(&es.ports[i].waiters);
    sched_wake_all(&es.any);
    es.started = false;
}

void evtchn_sched_upcall(void)
{
    es.stats.upcalls++;
    (void)evtchn_dispatch();
}

static int clamp(uint64_t n)
{
    return n > INT_MAX ? INT_MAX : (int)n;
}

int evtchn_sched_wait(xenabi_evtchn_port_t port, uint64_t deadline_ns)
{
    if (!es.started)
        return -XENABI_ENOTCONN;
    if (port >= EVTCHN_NR_PORTS)
        return -XENABI_EINVAL;
    struct port_state *p = &es.ports[port];

    /*
     * Events Xen posted while threads ran are still in its bitmaps (the
     * upcall is taken only in the idle halt): take them now, so that
     * they count before we decide to sleep.
     */
    (void)evtchn_dispatch();
    if (p->events != p->taken) {
        uint64_t n = p->events - p->taken;
        p->taken = p->events;
        return clamp(n);
    }
    uint64_t start = p->events;
    es.stats.waits++;
    while (p->events == start && es.started) {
        if (sched_wait_until(&p->waiters, deadline_ns) == SCHED_TIMED_OUT)
            break;
    }
    if (p->events == start) {
        es.stats.timeouts++;
        return 0;
    }
    /* Every thread woken by these events returns them; the next wait
     * starts after them. */
    p->taken = p->events;
    return clamp(p->events - start);
}

int evtchn_sched_wait_any(uint64_t deadline_ns)
{
    if (!es.started)
        return -XENABI_ENOTCONN;
    unsigned now = evtchn_dispatch();
    if (now > 0)
        return clamp(now);
    uint64_t start = es.any_events;
    es.stats.waits++;
    while (es.any_events == start && es.started) {
        if (sched_wait_until(&es.any, deadline_ns) == SCHED_TIMED_OUT)
            break;
    }
    if (es.any_events == start) {
        es.stats.timeouts++;
        return 0;
    }
    return clamp(es.any_events - start);
}

void evtchn_sched_get_stats(struct evtchn_sched_stats *out)
{
    *out = es.stats;
    out->interrupts = evtchn_sched_interrupts();
}

void evtchn_sched_print_stats(void)
{
    struct evtchn_sched_stats s;
    struct evtchn_stats e;

    evtchn_sched_get_stats(&s);
    evtchn_get_stats(&e);
    printf("[evtchn] upcalls %llu (interrupts %llu), events %llu, handled "
           "%llu, spurious %llu, thread waits %llu, woken %llu, timeouts "
           "%llu, domain blocks %llu\n",
           (unsigned long long)s.upcalls, (unsigned long long)s.interrupts,
           (unsigned long long)s.events, (unsigned long long)e.dispatched,
           (unsigned long long)e.spurious, (unsigned long long)s.waits,
           (unsigned long long)s.wakeups, (unsigned long long)s.timeouts,
           (unsigned long long)e.blocks);
}
