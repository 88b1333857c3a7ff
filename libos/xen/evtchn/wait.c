/*
 * evtchn_wait: how code without a scheduler waits for an event. The
 * default blocks the whole domain; a scheduler replaces it with one that
 * parks only the calling thread.
 */
#include <hypervisor/hypervisor.h>

#include "internal.h"

static int block_domain(void *arg)
{
    (void)arg;
    if (evtchn_dispatch() > 0)
        return 0;
    evtchn_state.stats.blocks++;
    /*
     * Returns at once if an event became pending after the dispatch above
     * (Xen checks before sleeping), so there is no lost wake-up.
     */
    long rc = xen_sched_op(XENABI_SCHEDOP_BLOCK, NULL);
    if (rc < 0)
        return (int)rc;
    (void)evtchn_dispatch();
    return 0;
}

int evtchn_wait(void)
{
    struct evtchn_state *s = &evtchn_state;
    if (!evtchn_ready())
        return -XENABI_ENOTCONN;
    if (s->wait_fn != NULL)
        return s->wait_fn(s->wait_arg);
    return block_domain(NULL);
}

void evtchn_set_wait(evtchn_wait_fn fn, void *arg)
{
    evtchn_state.wait_fn = fn;
    evtchn_state.wait_arg = arg;
}

void evtchn_set_observer(evtchn_handler_fn fn, void *arg)
{
    struct evtchn_state *s = &evtchn_state;
    /* As for handlers: never the new function with the old argument. */
    __atomic_store_n(&s->observer, NULL, __ATOMIC_SEQ_CST);
    s->observer_arg = arg;
    __atomic_store_n(&s->observer, fn, __ATOMIC_SEQ_CST);
}
