/*
 * The frontend state machine. Each backend state change arrives as a
 * watch event; step() decides what it means for us.
 */
#include <string.h>

#include <evtchn/evtchn.h>

#include "internal.h"

/*
 * Publish and announce it in one transaction: Initialised, or Connected
 * for backends that wait for that (ops->announce_connected). Our own view
 * stays Initialised until the backend has connected and the connect hook
 * has accepted it.
 */
static int publish_body(xs_tx_t tx, void *arg)
{
    struct xenbus_front *f = arg;
    int rc = f->ops->publish != NULL ? f->ops->publish(f, tx) : 0;
    if (rc == 0)
        rc = xenbus_write_state(f, tx,
                                f->ops->announce_connected
                                    ? XENABI_XENBUS_STATE_CONNECTED
                                    : XENABI_XENBUS_STATE_INITIALISED);
    return rc;
}

/* Remember the first error only: it is the reason for what followed. */
static void fail(struct xenbus_front *f, int rc)
{
    if (f->error == 0)
        f->error = rc;
}

static void teardown(struct xenbus_front *f)
{
    if (!f->set_up)
        return;
    f->set_up = false;
    if (f->ops->teardown != NULL)
        f->ops->teardown(f);
}

static void become(struct xenbus_front *f, enum xenabi_xenbus_state state)
{
    int rc = xenbus_write_state(f, XS_TX_NONE, state);
    if (rc < 0)
        fail(f, rc);
    /* Our own view moves on regardless: the backend watches the node,
     * and there is nothing better to do if writing it failed. */
    f->state = state;
}

static void backend_initwait(struct xenbus_front *f)
{
    int rc = 0;
    if (f->ops->setup != NULL)
        rc = f->ops->setup(f);
    if (rc == 0) {
        f->set_up = true;
        rc = xs_transaction(publish_body, f, XENBUS_TX_ATTEMPTS);
    }
    if (rc < 0) {
        /* Cannot offer what the backend waits for: give up the device. */
        fail(f, rc);
        become(f, XENABI_XENBUS_STATE_CLOSING);
        return;
    }
    f->state = XENABI_XENBUS_STATE_INITIALISED;
}

static void backend_connected(struct xenbus_front *f)
{
    int rc = f->ops->connect != NULL ? f->ops->connect(f) : 0;
    if (rc < 0) {
        fail(f, rc);
        become(f, XENABI_XENBUS_STATE_CLOSING);
        return;
    }
    become(f, XENABI_XENBUS_STATE_CONNECTED);
}

/*
 * The backend is leaving (Closing), has left (Closed) or is gone: release
 * our side and say Closed. Whatever the backend still maps (Linux's
 * blkback keeps the ring until our Closed), the driver's teardown defers.
 */
static void detach(struct xenbus_front *f)
{
    if (f->state != XENABI_XENBUS_STATE_CLOSING)
        become(f, XENABI_XENBUS_STATE_CLOSING);
    teardown(f);
    become(f, XENABI_XENBUS_STATE_CLOSED);
}

static void step(struct xenbus_front *f)
{
    enum xenabi_xenbus_state be = f->backend_state;
    bool leaving = f->backend_gone || be == XENABI_XENBUS_STATE_CLOSING
                   || be == XENABI_XENBUS_STATE_CLOSED;

    switch (f->state) {
    case XENABI_XENBUS_STATE_INITIALISING:
        /*
         * A Closing or Closed backend may be left over from an earlier
         * connection and about to offer a new one: wait for InitWait.
         * Only a backend that is gone ends the wait.
         */
        if (f->backend_gone)
            become(f, XENABI_XENBUS_STATE_CLOSED); /* nothing to release */
        else if (be == XENABI_XENBUS_STATE_INIT_WAIT)
            backend_initwait(f);
        break;
    case XENABI_XENBUS_STATE_INITIALISED:
        if (leaving)
            detach(f);
        else if (be == XENABI_XENBUS_STATE_CONNECTED)
            backend_connected(f);
        break;
    case XENABI_XENBUS_STATE_CONNECTED:
    case XENABI_XENBUS_STATE_CLOSING: /* we asked; the backend answers */
        if (leaving)
            detach(f);
        break;
    default:
        break; /* Closed: the connection is over until re-initialised. */
    }
}

/* Watch callback for <backend>/state. */
static void backend_changed(int watch, const char *path, void *arg)
{
    (void)watch;
    (void)path; /* any change below the backend: re-read the state */
    struct xenbus_front *f = arg;
    uint32_t value;
    int rc = xenbus_backend_read_u32(f, "state", &value);
    if (rc == -XENABI_ENOENT) {
        f->backend_gone = true;
        f->backend_state = XENABI_XENBUS_STATE_UNKNOWN;
    } else if (rc < 0 || value > XENABI_XENBUS_STATE_RECONFIGURED) {
        /* Unreadable or nonsense: wait for the next change. */
        return;
    } else {
        f->backend_state = (enum xenabi_xenbus_state)value;
    }
    /* Closed: still follow the backend (xenbus_front_wait_backend_closed),
     * but the connection is over for us. */
    if (f->state != XENABI_XENBUS_STATE_CLOSED)
        step(f);
}

int xenbus_front_init(struct xenbus_front *f, const char *nodename,
                      const struct xenbus_front_ops *ops, void *arg)
{
    if (f == NULL || nodename == NULL || ops == NULL)
        return -XENABI_EINVAL;
    size_t len = strnlen(nodename, XENBUS_PATH_MAX + 1);
    if (len == 0 || len > XENBUS_PATH_MAX)
        return -XENABI_EINVAL;
    memset(f, 0, sizeof(*f));
    memcpy(f->nodename, nodename, len + 1);
    f->ops = ops;
    f->arg = arg;
    f->watch = -1;
    f->state = XENABI_XENBUS_STATE_INITIALISING;

    int rc = xenbus_read_backend(f);
    if (rc == 0)
        rc = xenbus_write_state(f, XS_TX_NONE, f->state);
    if (rc < 0)
        return rc;

    char path[XENBUS_PATH_MAX + sizeof("/state")];
    memcpy(path, f->backend, strlen(f->backend));
    memcpy(path + strlen(f->backend), "/state", sizeof("/state"));
    rc = xs_watch(path, backend_changed, f);
    if (rc < 0)
        return rc;
    f->watch = rc;
    return 0;
}

/* Deliver watch events until our state is `target` (or Closed). */
static int wait_for(struct xenbus_front *f, enum xenabi_xenbus_state target)
{
    for (;;) {
        int rc = xs_poll();
        if (rc < 0)
            return rc;
        if (f->state == target)
            return 0;
        if (f->state == XENABI_XENBUS_STATE_CLOSED)
            return f->error != 0 ? f->error : -XENABI_ENOTCONN;
        rc = evtchn_wait();
        if (rc < 0)
            return rc;
    }
}

int xenbus_front_wait_connected(struct xenbus_front *f)
{
    return wait_for(f, XENABI_XENBUS_STATE_CONNECTED);
}

int xenbus_front_wait_closed(struct xenbus_front *f)
{
    return wait_for(f, XENABI_XENBUS_STATE_CLOSED);
}

int xenbus_front_close(struct xenbus_front *f)
{
    if (f->state == XENABI_XENBUS_STATE_CLOSED)
        return 0;
    if (f->state != XENABI_XENBUS_STATE_CLOSING)
        become(f, XENABI_XENBUS_STATE_CLOSING);
    /* The backend may already be Closed: then no event will come. */
    step(f);
    int rc = wait_for(f, XENABI_XENBUS_STATE_CLOSED);
    if (rc < 0 && f->state != XENABI_XENBUS_STATE_CLOSED) {
        /* The backend does not answer: detach on our own. */
        fail(f, rc);
        detach(f);
    }
    return rc;
}

int xenbus_front_wait_backend_closed(struct xenbus_front *f,
                                     unsigned max_waits)
{
    for (unsigned i = 0;; i++) {
        int rc = xs_poll();
        if (rc < 0)
            return rc;
        if (f->backend_gone
            || f->backend_state == XENABI_XENBUS_STATE_CLOSED)
            return 0;
        if (i == max_waits)
            return -XENABI_ETIMEDOUT;
        rc = evtchn_wait();
        if (rc < 0)
            return rc;
    }
}

void xenbus_front_destroy(struct xenbus_front *f)
{
    if (f->watch >= 0)
        (void)xs_unwatch(f->watch);
    f->watch = -1;
}
