/*
 * State of the event channel library, shared by its source files.
 */
#ifndef EVTCHN_INTERNAL_H
#define EVTCHN_INTERNAL_H

#include <evtchn/evtchn.h>

struct evtchn_port_slot {
    evtchn_handler_fn fn;
    void *arg;
};

struct evtchn_state {
    struct xenabi_shared_info *shared; /* NULL until evtchn_init succeeds */
    struct evtchn_port_slot ports[EVTCHN_NR_PORTS];
    bool dispatching;                  /* evtchn_dispatch is on the stack */
    evtchn_handler_fn observer;
    void *observer_arg;
    evtchn_wait_fn wait_fn;
    void *wait_arg;
    struct evtchn_stats stats;
};

extern struct evtchn_state evtchn_state;

/* Word and bit of `port` in the 2-level bitmaps. */
static inline unsigned evtchn_word(xenabi_evtchn_port_t port)
{
    return port / 64;
}

static inline uint64_t evtchn_bit(xenabi_evtchn_port_t port)
{
    return UINT64_C(1) << (port % 64);
}

#endif /* EVTCHN_INTERNAL_H */
