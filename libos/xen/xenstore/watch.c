/*
 * Watches: registration, the queue of events received, and delivery.
 *
 * Events are queued when they arrive (possibly while some request waits
 * for its reply) and delivered only from xs_poll(), outside any request,
 * so a callback may itself use xenstore. The queue is bounded; when it is
 * full an event is not stored but its watch is marked, and the watch's
 * callback runs once with the watched path: the user re-reads what it
 * cares about, which is what a watch callback does anyway.
 *
 * The token sent to xenstored is "<slot>/<generation>": events of a watch
 * that was removed, and of an earlier watch in a reused slot, are told
 * apart from live ones and discarded.
 *
 * A xenstored that keeps sending, or a callback whose requests make new
 * events, must not keep xs_poll() from returning: one call takes in at
 * most one ring's worth, no more events than the queue holds (the rest
 * stays in the ring, in order), and runs the callbacks of the events
 * queued when delivery starts, then of the watches that lost events;
 * what came in meanwhile waits for the next call, and the store port is
 * raised so that the caller's next evtchn_wait() returns at once.
 */
#include <stdio.h>
#include <string.h>

#include <evtchn/evtchn.h>

#include "internal.h"

static void format_token(char *buf, size_t size, uint32_t slot, uint32_t gen)
{
    (void)snprintf(buf, size, "%u/%u", (unsigned)slot, (unsigned)gen);
}

/* Parse "<slot>/<generation>"; the token came from xenstored. */
static bool parse_token(const char *token, uint32_t *slot, uint32_t *gen)
{
    char copy[24];
    size_t len = strnlen(token, sizeof(copy));
    if (len == sizeof(copy))
        return false;
    memcpy(copy, token, len + 1);
    char *slash = strchr(copy, '/');
    if (slash == NULL)
        return false;
    *slash = '\0';
    return xs_parse_u32(copy, slot) && xs_parse_u32(slash + 1, gen);
}

static int watch_request(uint32_t type, uint32_t slot)
{
    struct xs_watch_slot *w = &xs_state.watches[slot];
    char token[24];
    format_token(token, sizeof(token), slot, w->gen);
    struct xs_part parts[2] = {
        {w->path, strlen(w->path) + 1},
        {token, strlen(token) + 1},
    };
    return xs_request(type, XS_TX_NONE, parts, 2, NULL, 0, NULL);
}

int xs_watch(const char *path, xs_watch_fn fn, void *arg)
{
    struct xs_state *s = &xs_state;
    if (s->intf == NULL)
        return -XENABI_ENOTCONN;
    if (path == NULL || fn == NULL)
        return -XENABI_EINVAL;
    size_t len = strnlen(path, XS_WATCH_PATH_MAX + 1);
    if (len == 0)
        return -XENABI_EINVAL;
    if (len > XS_WATCH_PATH_MAX)
        return -XENABI_E2BIG;

    uint32_t slot = 0;
    while (slot < XS_MAX_WATCHES && s->watches[slot].in_use)
        slot++;
    if (slot == XS_MAX_WATCHES)
        return -XENABI_ENOSPC;

    struct xs_watch_slot *w = &s->watches[slot];
    uint32_t gen = w->gen + 1;
    *w = (struct xs_watch_slot){
        .in_use = true, /* before the request: the first event may be early */
        .gen = gen,
        .fn = fn,
        .arg = arg,
    };
    memcpy(w->path, path, len + 1);

    int rc = watch_request(XENABI_XS_WATCH, slot);
    if (rc < 0) {
        w->in_use = false;
        return rc;
    }
    return (int)slot;
}

int xs_unwatch(int watch)
{
    struct xs_state *s = &xs_state;
    if (s->intf == NULL)
        return -XENABI_ENOTCONN;
    if (watch < 0 || watch >= XS_MAX_WATCHES || !s->watches[watch].in_use)
        return -XENABI_EINVAL;
    int rc = watch_request(XENABI_XS_UNWATCH, (uint32_t)watch);
    /* Gone here whatever xenstored said: queued events become stale. */
    s->watches[watch].in_use = false;
    s->watches[watch].lost = false;
    return rc;
}

void xs_queue_event(const char *path, size_t path_len, const char *token)
{
    struct xs_state *s = &xs_state;
    uint32_t slot, gen;
    if (!parse_token(token, &slot, &gen) || slot >= XS_MAX_WATCHES
        || !s->watches[slot].in_use || s->watches[slot].gen != gen) {
        s->stats.stale_events++;
        return;
    }
    if (s->event_count == XS_EVENT_QUEUE) {
        s->watches[slot].lost = true;
        s->stats.lost_events++;
        return;
    }
    struct xs_event *e =
        &s->events[(s->event_head + s->event_count) % XS_EVENT_QUEUE];
    e->slot = slot;
    e->gen = gen;
    memcpy(e->path, path, path_len);
    e->path[path_len] = '\0';
    s->event_count++;
    s->stats.watch_events++;
}

static void run_callback(uint32_t slot, const char *path)
{
    struct xs_state *s = &xs_state;
    struct xs_watch_slot *w = &s->watches[slot];
    /*
     * The callback may issue requests, which may queue events and reuse
     * the queue entry `path` came from, or even unwatch: work from copies.
     */
    size_t len = strlen(path);
    memmove(s->delivered_path, path, len + 1);
    xs_watch_fn fn = w->fn;
    void *arg = w->arg;
    s->stats.callbacks++;
    fn((int)slot, s->delivered_path, arg);
}

static bool any_lost(const struct xs_state *s)
{
    for (uint32_t slot = 0; slot < XS_MAX_WATCHES; slot++)
        if (s->watches[slot].in_use && s->watches[slot].lost)
            return true;
    return false;
}

int xs_poll(void)
{
    struct xs_state *s = &xs_state;
    if (s->intf == NULL)
        return -XENABI_ENOTCONN;
    bool left = xs_rx_pump(XS_PUMP_POLL);
    if (s->delivering) {
        /* From a callback: the outer call delivers, and raises if needed. */
        return 0;
    }
    s->delivering = true;

    int calls = 0;
    /* The events queued now; those their callbacks cause wait. */
    for (unsigned budget = s->event_count; budget > 0; budget--) {
        struct xs_event *e = &s->events[s->event_head];
        s->event_head = (s->event_head + 1) % XS_EVENT_QUEUE;
        s->event_count--;
        struct xs_watch_slot *w = &s->watches[e->slot];
        if (!w->in_use || w->gen != e->gen) {
            s->stats.stale_events++; /* unwatched since it arrived */
            continue;
        }
        run_callback(e->slot, e->path);
        calls++;
    }
    /* Queue drained: now the watches whose events did not fit, once each. */
    if (s->event_count == 0) {
        for (uint32_t slot = 0; slot < XS_MAX_WATCHES; slot++) {
            struct xs_watch_slot *w = &s->watches[slot];
            if (!(w->in_use && w->lost))
                continue;
            w->lost = false;
            run_callback(slot, w->path);
            calls++;
        }
    }

    s->delivering = false;
    if (left || s->event_count > 0 || any_lost(s)) {
        s->stats.poll_deferrals++;
        (void)evtchn_raise(s->port);
    }
    return calls;
}
