/*
 * Scripted xenbus backends: the other end of a frontend's handshake, as
 * a backend driver in dom0 would play it, one step per round:
 *
 *   Initialising -> InitWait
 *   InitWait, frontend Initialised: map ring-ref, bind event-channel,
 *       write the greeting into the ring page -> Connected, notify
 *   Connected, frontend Closing (or sim_backend_close): unmap, unbind
 *       -> Closing (a backend releases our grants before saying Closing)
 *   Closing, frontend Closed -> Closed (SIM_BACKEND_UNMAP_ON_CLOSED: the
 *       unmap and unbind happen here instead, as Linux's blkback does)
 *   Closed, frontend Initialising again -> InitWait (the device is reused)
 *
 * Every event the frontend sends is answered with one back, like a
 * backend posting a response.
 */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define GREETING "sim-backend connected"

struct sim_backend {
    struct sim_backend *next;
    unsigned flags;
    char fe[128]; /* frontend directory */
    char be[128]; /* backend directory */
    enum xenabi_xenbus_state state;
    bool close_requested;
    bool held;
    bool vanished;
    uint32_t ref;
    void *ring; /* mapped: NULL when not */
    uint32_t port;
};

static struct sim_backend *backends;

static void key(char *buf, size_t size, const char *dir, const char *name)
{
    snprintf(buf, size, "%s/%s", dir, name);
}

static void set_state(struct sim_backend *b, enum xenabi_xenbus_state s)
{
    char path[160], value[8];
    key(path, sizeof(path), b->be, "state");
    snprintf(value, sizeof(value), "%u", (unsigned)s);
    b->state = s;
    sim_xs_write(path, value);
}

/* A frontend node as a number; -1 if missing or not a number. */
static long read_front_u32(const struct sim_backend *b, const char *name)
{
    char path[160], value[32];
    key(path, sizeof(path), b->fe, name);
    if (sim_xs_read(path, value, sizeof(value)) <= 0)
        return -1;
    char *end;
    unsigned long v = strtoul(value, &end, 10);
    return *end == '\0' && v <= UINT32_MAX ? (long)v : -1;
}

static void echo(uint32_t port, void *arg)
{
    (void)arg;
    sim_evtchn_notify(port);
}

static void unmap(struct sim_backend *b)
{
    if (b->ring != NULL)
        sim_gnttab_unmap(b->ref, false);
    b->ring = NULL;
}

static void disconnect(struct sim_backend *b, bool keep_map)
{
    if (!keep_map)
        unmap(b);
    if (b->port != 0)
        sim_evtchn_close(b->port);
    b->port = 0;
}

static bool connect(struct sim_backend *b)
{
    long ref = read_front_u32(b, "ring-ref");
    long port = read_front_u32(b, "event-channel");
    if (ref < 0 || port < 0 || (b->flags & SIM_BACKEND_REFUSE))
        return false;
    void *page;
    if (sim_gnttab_map((uint32_t)ref, false, &page) != XENABI_GNTST_OKAY)
        return false;
    b->ref = (uint32_t)ref;
    b->ring = page;
    if (sim_evtchn_bind((uint32_t)port, echo, b, &b->port) != 0) {
        unmap(b);
        return false;
    }
    memcpy(page, GREETING, sizeof(GREETING));
    char path[160];
    key(path, sizeof(path), b->be, "feature-sim");
    sim_xs_write(path, "4096");
    return true;
}

static bool step(struct sim_backend *b)
{
    if (b->vanished || b->held)
        return false;
    long fs = read_front_u32(b, "state");
    bool front_closed = fs < 0 || fs == XENABI_XENBUS_STATE_CLOSED;
    bool front_closing = fs == XENABI_XENBUS_STATE_CLOSING;
    bool keep = (b->flags & SIM_BACKEND_KEEP_MAP) != 0;

    switch (b->state) {
    case XENABI_XENBUS_STATE_INITIALISING:
        set_state(b, XENABI_XENBUS_STATE_INIT_WAIT);
        return true;
    case XENABI_XENBUS_STATE_INIT_WAIT:
        if (b->close_requested || front_closing || front_closed) {
            set_state(b, XENABI_XENBUS_STATE_CLOSING);
            return true;
        }
        if (fs != XENABI_XENBUS_STATE_INITIALISED
            && fs != XENABI_XENBUS_STATE_CONNECTED)
            return false;
        if (!connect(b)) {
            set_state(b, XENABI_XENBUS_STATE_CLOSING);
            return true;
        }
        set_state(b, XENABI_XENBUS_STATE_CONNECTED);
        sim_evtchn_notify(b->port);
        return true;
    case XENABI_XENBUS_STATE_CONNECTED:
        if (!b->close_requested && !front_closing && !front_closed)
            return false;
        if (!(b->flags & SIM_BACKEND_UNMAP_ON_CLOSED))
            disconnect(b, keep);
        set_state(b, XENABI_XENBUS_STATE_CLOSING);
        return true;
    case XENABI_XENBUS_STATE_CLOSING:
        if (!front_closed)
            return false;
        if (b->flags & SIM_BACKEND_UNMAP_ON_CLOSED)
            disconnect(b, keep);
        set_state(b, XENABI_XENBUS_STATE_CLOSED);
        return true;
    case XENABI_XENBUS_STATE_CLOSED:
        if (fs != XENABI_XENBUS_STATE_INITIALISING)
            return false;
        b->close_requested = false;
        set_state(b, XENABI_XENBUS_STATE_INIT_WAIT);
        return true;
    default:
        return false;
    }
}

bool sim_backends_round(void)
{
    bool progress = false;
    for (struct sim_backend *b = backends; b != NULL; b = b->next)
        progress |= step(b);
    return progress;
}

struct sim_backend *sim_backend_create(const char *type, unsigned devid,
                                       unsigned flags)
{
    struct sim_backend *b = calloc(1, sizeof(*b));
    if (b == NULL)
        sim_fatal("out of memory");
    b->flags = flags;
    snprintf(b->fe, sizeof(b->fe), "/local/domain/%d/device/%s/%u",
             SIM_GUEST_DOMID, type, devid);
    snprintf(b->be, sizeof(b->be), "/local/domain/%d/backend/%s/%d/%u",
             SIM_BACKEND_DOMID, type, SIM_GUEST_DOMID, devid);
    char path[160], value[16];

    key(path, sizeof(path), b->fe, "backend");
    sim_xs_write(path, b->be);
    key(path, sizeof(path), b->fe, "backend-id");
    snprintf(value, sizeof(value), "%d", SIM_BACKEND_DOMID);
    sim_xs_write(path, value);
    key(path, sizeof(path), b->fe, "state");
    sim_xs_write(path, "1");
    key(path, sizeof(path), b->be, "frontend");
    sim_xs_write(path, b->fe);
    key(path, sizeof(path), b->be, "frontend-id");
    snprintf(value, sizeof(value), "%d", SIM_GUEST_DOMID);
    sim_xs_write(path, value);
    set_state(b, XENABI_XENBUS_STATE_INITIALISING);

    b->next = backends;
    backends = b;
    return b;
}

enum xenabi_xenbus_state sim_backend_state(const struct sim_backend *b)
{
    return b->state;
}

void sim_backend_hold(struct sim_backend *b, bool hold)
{
    b->held = hold;
}

void sim_backend_close(struct sim_backend *b)
{
    b->close_requested = true;
}

void sim_backend_vanish(struct sim_backend *b)
{
    /* A dead domain's mappings and ports are torn down by Xen. */
    disconnect(b, false);
    b->vanished = true;
    sim_xs_rm(b->be);
}

void sim_backend_unmap(struct sim_backend *b)
{
    unmap(b);
}

void *sim_backend_ring(const struct sim_backend *b)
{
    return b->ring;
}

uint32_t sim_backend_port(const struct sim_backend *b)
{
    return b->port;
}

void sim_backends_reset(void)
{
    while (backends != NULL) {
        struct sim_backend *next = backends->next;
        free(backends);
        backends = next;
    }
}
