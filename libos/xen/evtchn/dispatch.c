/*
 * The upcall: find pending, unmasked ports in the 2-level bitmaps of the
 * shared info page and run their handlers.
 *
 * Xen's side, for an event on port p: set pending[p/64] bit p%64; if the
 * port is unmasked, set bit p/64 of vcpu_info.evtchn_pending_sel, then
 * evtchn_upcall_pending, then interrupt the vcpu. Our side mirrors that
 * order backwards: clear upcall_pending first, then take the selector
 * with an atomic exchange, then scan the words it names. An event that
 * lands during the scan sets upcall_pending again and the outer loop
 * takes another round, so nothing is lost.
 *
 * Scanning always starts at port 0. Fine for the handful of ports a
 * unikernel has; a busy low port could delay higher ones, and a rotating
 * start is the fix if that ever matters.
 */
#include "internal.h"

static void deliver(xenabi_evtchn_port_t port)
{
    struct evtchn_state *s = &evtchn_state;
    evtchn_handler_fn fn = NULL;
    void *arg = NULL;
    if (port < EVTCHN_NR_PORTS) {
        fn = __atomic_load_n(&s->ports[port].fn, __ATOMIC_SEQ_CST);
        arg = s->ports[port].arg;
        evtchn_handler_fn observer =
            __atomic_load_n(&s->observer, __ATOMIC_SEQ_CST);
        if (observer != NULL) {
            /* Before the handler; whoever it wakes runs only after the
             * whole upcall, when the handler has done its part too. */
            s->stats.observed++;
            observer(port, s->observer_arg);
            if (fn == NULL)
                return;
        }
    }
    if (fn == NULL) {
        s->stats.spurious++;
        return;
    }
    s->stats.dispatched++;
    fn(port, arg);
}

/* Take and deliver every pending, unmasked port of bitmap word `w`. */
static unsigned scan_word(struct xenabi_shared_info *shared, unsigned w)
{
    unsigned taken = 0;
    uint64_t ready =
        __atomic_load_n(&shared->evtchn_pending[w], __ATOMIC_SEQ_CST)
        & ~__atomic_load_n(&shared->evtchn_mask[w], __ATOMIC_SEQ_CST);
    while (ready != 0) {
        unsigned b = (unsigned)__builtin_ctzll(ready);
        ready &= ready - 1;
        uint64_t bit = UINT64_C(1) << b;
        /*
         * Clear before calling the handler: an event arriving while the
         * handler runs sets the bit again and is seen next round.
         */
        uint64_t old = __atomic_fetch_and(&shared->evtchn_pending[w], ~bit,
                                          __ATOMIC_SEQ_CST);
        if ((old & bit) == 0)
            continue; /* someone (evtchn_close) took it meanwhile */
        taken++;
        deliver((xenabi_evtchn_port_t)(w * 64 + b));
    }
    return taken;
}

unsigned evtchn_dispatch(void)
{
    struct evtchn_state *s = &evtchn_state;
    struct xenabi_shared_info *shared = s->shared;
    if (shared == NULL || s->dispatching)
        return 0;
    s->dispatching = true;

    struct xenabi_vcpu_info *vcpu = &shared->vcpu_info[0];
    unsigned taken = 0;
    while (__atomic_load_n(&vcpu->evtchn_upcall_pending, __ATOMIC_SEQ_CST)) {
        __atomic_store_n(&vcpu->evtchn_upcall_pending, 0, __ATOMIC_SEQ_CST);
        uint64_t sel = __atomic_exchange_n(&vcpu->evtchn_pending_sel, 0,
                                           __ATOMIC_SEQ_CST);
        s->stats.upcalls++;
        while (sel != 0) {
            unsigned w = (unsigned)__builtin_ctzll(sel);
            sel &= sel - 1;
            taken += scan_word(shared, w);
        }
    }

    s->dispatching = false;
    return taken;
}
